-- Bulk edit journal (sergas_nb.journal): what a plan changed, written BEFORE each batch is sent,
-- so every edit can be audited and undone, and a re-applied plan skips what already succeeded.

CREATE TABLE IF NOT EXISTS edit_plans (
    plan_id     text PRIMARY KEY,            -- <module>-<field>-<content hash>, see sergas_nb.bulk
    module      text NOT NULL,
    field       text NOT NULL,
    selection   text NOT NULL,               -- the criteria, COQL query, or "DataFrame of N rows"
    rule        text NOT NULL,               -- the constant or the rule that computed new values
    planned     integer NOT NULL,            -- rows to change when the plan was built
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS edit_journal (
    entry_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    plan_id     text NOT NULL REFERENCES edit_plans (plan_id),
    action      text NOT NULL CHECK (action IN ('apply', 'undo')),
    module      text NOT NULL,
    record_id   text NOT NULL,
    field       text NOT NULL,
    old_value   jsonb,                       -- the value in the CRM just before this write
    new_value   jsonb,                       -- the value this write sent
    status      text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'success', 'error')),
    code        text,                        -- Zoho's per-record code (SUCCESS, INVALID_DATA, ...)
    message     text,
    created_at  timestamptz NOT NULL DEFAULT now(),  -- journaled, before the batch was sent
    applied_at  timestamptz,                 -- outcome recorded
    undone_at   timestamptz                  -- on an 'apply' row: when an undo restored old_value
);

CREATE INDEX IF NOT EXISTS edit_journal_plan_record_idx ON edit_journal (plan_id, action, record_id);

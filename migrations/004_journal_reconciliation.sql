-- The CRM is the journal's truth (sergas_nb.edits.plans): before an apply, a resume or an undo the
-- plan's records are read back, and where the journal's last word disagrees with what the CRM
-- holds (a lost answer, a killed process) the reconciliation is recorded here.

-- A write whose answer was lost and could not be read back is 'unknown', not 'error'.
ALTER TABLE edit_journal DROP CONSTRAINT IF EXISTS edit_journal_status_check;
ALTER TABLE edit_journal ADD CONSTRAINT edit_journal_status_check
    CHECK (status IN ('pending', 'success', 'error', 'unknown'));

-- Plans over several fields: edit_plans.field holds them joined by "+"; the list is kept here.
ALTER TABLE edit_plans ADD COLUMN IF NOT EXISTS fields text[];

CREATE TABLE IF NOT EXISTS edit_reconciliations (
    reconciliation_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    plan_id        text NOT NULL REFERENCES edit_plans (plan_id),
    action         text NOT NULL CHECK (action IN ('apply', 'undo')),  -- what was about to run
    record_id      text NOT NULL,
    field          text NOT NULL,
    journal_status text,                      -- the journal's last word (pending, error, unknown, success)
    crm_state      text NOT NULL CHECK (crm_state IN ('new', 'old', 'other', 'missing')),
    verdict        text NOT NULL,             -- applied | not_applied | restored | not_restored
    reconciled_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS edit_reconciliations_plan_idx ON edit_reconciliations (plan_id, record_id);
CREATE INDEX IF NOT EXISTS edit_journal_plan_field_idx ON edit_journal (plan_id, record_id, field, entry_id);

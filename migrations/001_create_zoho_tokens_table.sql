-- OAuth tokens for the Zoho SDK's token store (sergas_nb.tokens.PostgresTokenStore).
-- One row per (namespace, user): namespace is "<API host>|<client id>", so tokens of the emulator,
-- of different data centres / sandboxes and of different OAuth clients never mix. user_name is the
-- SDK's user signature "<email>:<org zgid>" (NULL until the SDK has looked the user up).
CREATE TABLE IF NOT EXISTS zoho_tokens (
    id            text PRIMARY KEY DEFAULT gen_random_uuid()::text,
    namespace     text NOT NULL,
    user_name     text,
    client_id     text,
    client_secret text,              -- NULL unless the store is told to keep it (it lives in .env)
    refresh_token text,
    access_token  text,
    grant_token   text,
    expiry_time   bigint,            -- access token expiry, milliseconds since the epoch (SDK format)
    redirect_url  text,
    api_domain    text,
    refresh_count integer NOT NULL DEFAULT 0,
    refreshed_at  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX IF NOT EXISTS zoho_tokens_namespace_user
    ON zoho_tokens (namespace, user_name) WHERE user_name IS NOT NULL;
CREATE INDEX IF NOT EXISTS zoho_tokens_namespace_refresh ON zoho_tokens (namespace, refresh_token);
CREATE INDEX IF NOT EXISTS zoho_tokens_namespace_access ON zoho_tokens (namespace, access_token);

-- Tokens encrypted at rest (sergas_nb._token_key): the token columns now hold "fernet:<ciphertext>",
-- which differs at every encryption, so rows are found by SHA-256 digest columns instead.
-- Plaintext rows written before this migration get their digests here; their values are encrypted
-- by the application (it holds the key, the database never does) when a token store first
-- connects: PostgresTokenStore.encrypt_plaintext_rows().
ALTER TABLE zoho_tokens ADD COLUMN IF NOT EXISTS refresh_token_hash text;
ALTER TABLE zoho_tokens ADD COLUMN IF NOT EXISTS access_token_hash text;
ALTER TABLE zoho_tokens ADD COLUMN IF NOT EXISTS grant_token_hash text;
-- The access token's lifetime when it was issued: the refresh margin scales with it.
ALTER TABLE zoho_tokens ADD COLUMN IF NOT EXISTS lifetime_ms bigint;

UPDATE zoho_tokens SET
    refresh_token_hash = encode(sha256(convert_to(refresh_token, 'UTF8')), 'hex')
WHERE refresh_token IS NOT NULL AND refresh_token NOT LIKE 'fernet:%';
UPDATE zoho_tokens SET
    access_token_hash = encode(sha256(convert_to(access_token, 'UTF8')), 'hex')
WHERE access_token IS NOT NULL AND access_token NOT LIKE 'fernet:%';
UPDATE zoho_tokens SET
    grant_token_hash = encode(sha256(convert_to(grant_token, 'UTF8')), 'hex')
WHERE grant_token IS NOT NULL AND grant_token NOT LIKE 'fernet:%';

DROP INDEX IF EXISTS zoho_tokens_namespace_refresh;
DROP INDEX IF EXISTS zoho_tokens_namespace_access;
CREATE INDEX IF NOT EXISTS zoho_tokens_namespace_refresh_hash ON zoho_tokens (namespace, refresh_token_hash);
CREATE INDEX IF NOT EXISTS zoho_tokens_namespace_access_hash ON zoho_tokens (namespace, access_token_hash);

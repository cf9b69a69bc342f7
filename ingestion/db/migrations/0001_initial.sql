-- ragway schema, version 1: pgvector and the API keys that every process checks.
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE api_keys (
    id              text PRIMARY KEY,
    key_hash        bytea NOT NULL UNIQUE,          -- sha256 of the full key; the key itself is never stored
    display_prefix  text NOT NULL,                  -- first characters, to recognise a key in lists
    name            text NOT NULL,
    owner           text,
    role            text NOT NULL CHECK (role IN ('admin', 'member')),
    metadata        jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz,
    revoked_at      timestamptz
);

CREATE INDEX api_keys_role_idx ON api_keys (role) WHERE revoked_at IS NULL;

-- API key allowances (what a key may use and how much) and the per-request usage ledger.
ALTER TABLE api_keys
    ADD COLUMN allowed_models        text[] NOT NULL DEFAULT '{*}',  -- fnmatch globs over model aliases
    ADD COLUMN allowed_tools         text[] NOT NULL DEFAULT '{*}',  -- fnmatch globs over tool names
    ADD COLUMN readable_collections  text[] NOT NULL DEFAULT '{*}',  -- fnmatch globs over collection ids
    ADD COLUMN rpm                   integer CHECK (rpm > 0),        -- NULL: no limit
    ADD COLUMN tpm                   integer CHECK (tpm > 0),
    ADD COLUMN tokens_per_day        bigint CHECK (tokens_per_day > 0),
    ADD COLUMN monthly_budget_usd    numeric(14, 4) CHECK (monthly_budget_usd >= 0),
    ADD COLUMN pii_policy            text;                           -- NULL: the deployment's default

CREATE INDEX api_keys_owner_idx ON api_keys (owner);

-- One row per request that reached the gateway's usage step. No foreign key to api_keys:
-- spend history outlives a deleted key. request_id makes retried batch inserts idempotent.
CREATE TABLE usage_events (
    request_id         text PRIMARY KEY,
    key_id             text NOT NULL,
    model              text NOT NULL,                -- the alias the client asked for
    deployment         text,                         -- the deployment that served it (NULL: none reached)
    endpoint           text NOT NULL,
    prompt_tokens      integer NOT NULL DEFAULT 0,
    completion_tokens  integer NOT NULL DEFAULT 0,
    cost_usd           numeric(18, 8) NOT NULL DEFAULT 0,
    latency_ms         double precision NOT NULL,
    status             smallint NOT NULL,            -- HTTP status the client received
    streamed           boolean NOT NULL DEFAULT false,
    created_at         timestamptz NOT NULL
);

CREATE INDEX usage_events_created_idx ON usage_events (created_at);
CREATE INDEX usage_events_key_created_idx ON usage_events (key_id, created_at);

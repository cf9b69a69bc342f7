-- Audit trail of policy decisions: every tool-call decision and every request in which the
-- PII step found something. Rows never hold a PII value: tools are named and their
-- arguments hashed (sha256 of the upstream's form); PII rows carry entity counts only.
-- No foreign key to api_keys: the trail outlives a deleted key. id makes retried batch
-- inserts idempotent.
CREATE TABLE audit_events (
    id                text PRIMARY KEY,
    created_at        timestamptz NOT NULL,
    kind              text NOT NULL CHECK (kind IN ('tool', 'pii')),
    key_id            text,
    request_id        text,
    model             text,
    stage             text NOT NULL CHECK (stage IN ('request', 'response')),
    subject           text NOT NULL,                 -- the tool's name, or the PII policy's
    decision          text NOT NULL,                 -- allowed, blocked, removed, rejected, masked, ...
    reason            text NOT NULL,
    arguments_sha256  text,
    details           jsonb NOT NULL DEFAULT '{}'::jsonb
);

CREATE INDEX audit_events_created_idx ON audit_events (created_at DESC, id DESC);
CREATE INDEX audit_events_key_created_idx ON audit_events (key_id, created_at DESC);

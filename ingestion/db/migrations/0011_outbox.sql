-- The transactional outbox: a job is written here in the same transaction as the state
-- change that needs it (a file queued for ingestion, a batch line, a webhook delivery), so
-- that a commit can never lose its message and a rollback never sends one. Relays
-- (`ragway worker`) publish rows to the Dramatiq broker and delete them; a relay killed
-- between the two publishes the row again, and the actors are idempotent. A relay takes
-- only the rows of its own broker namespace (worker.namespace), so stacks that share a
-- database but not a broker never carry each other's jobs.
CREATE TABLE outbox (
    id            bigserial PRIMARY KEY,
    message_id    uuid NOT NULL DEFAULT gen_random_uuid(),  -- the Dramatiq message id
    namespace     text NOT NULL,                            -- the broker's namespace
    queue_name    text NOT NULL,
    actor_name    text NOT NULL,
    args          jsonb NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    available_at  timestamptz NOT NULL DEFAULT now()    -- not published before
);

CREATE INDEX outbox_due_idx ON outbox (namespace, available_at, id);

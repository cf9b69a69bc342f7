-- Idempotency-Key: one row per (API key, Idempotency-Key) a creating POST was sent with.
-- A request claims the row ('running', with a lease its process renews), runs, then keeps
-- its answer ('done': status, content type, body) for replays until expires_at; an answer
-- not kept (an error) deletes the row, so a retry runs again. A claim whose lease ran out
-- (its process died) is taken over by the next request with the key. body_sha256 is the
-- fingerprint of the first request's body (multipart parts without their boundary), compared
-- with a replay's together with method and path. No foreign key to api_keys (as responses):
-- rows expire on their own and are purged a bounded number at a time.
CREATE TABLE idempotency_keys (
    key_id           text NOT NULL,                    -- the API key (principal) that sent it
    idempotency_key  text NOT NULL,
    method           text NOT NULL,
    path             text NOT NULL,                    -- with its query string, if any
    owner            uuid NOT NULL,                    -- the attempt that claimed the row
    state            text NOT NULL CHECK (state IN ('running', 'done')),
    locked_until     timestamptz,                      -- running: the owner's lease
    body_sha256      bytea,                            -- done: the request's fingerprint
    status           smallint,                         -- done: the answer
    content_type     text,
    body             bytea,
    created_at       timestamptz NOT NULL DEFAULT now(),
    expires_at       timestamptz NOT NULL,
    PRIMARY KEY (key_id, idempotency_key)
);

CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);

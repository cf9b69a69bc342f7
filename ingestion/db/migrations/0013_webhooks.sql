-- Webhooks: endpoints admins register, the events recorded for them and one delivery per
-- (event, endpoint). An event is recorded, its deliveries inserted and their jobs staged in
-- the outbox in the transaction of the state change it reports (a file completed, a batch
-- finished), and only if some enabled endpoint subscribes to its type. A delivery's id is
-- the `webhook-id` header of every attempt, so a receiver can drop duplicates; attempts,
-- the last answer and the next attempt's time are its log. A worker attempting a delivery
-- holds a lease on it (locked_until), not a row lock, while it waits for the receiver.
-- Deleting an endpoint deletes its deliveries (a job still queued for one does nothing).
CREATE TABLE webhook_endpoints (
    id                  text PRIMARY KEY,                   -- whep_...
    name                text NOT NULL DEFAULT '',
    url                 text NOT NULL,
    event_types         text[] NOT NULL,
    -- whsec_ + base64 of 32 random bytes: kept, since every delivery is signed with it;
    -- shown in full only when created or rotated.
    secret              text NOT NULL,
    -- After a rotation that keeps the old secret for a while, deliveries carry a second
    -- signature made with it until previous_secret_until.
    previous_secret     text,
    previous_secret_until timestamptz,
    enabled             boolean NOT NULL DEFAULT true,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX webhook_endpoints_types_idx ON webhook_endpoints USING gin (event_types)
    WHERE enabled;

CREATE TABLE webhook_events (
    id          text PRIMARY KEY,                           -- evt_...
    type        text NOT NULL,                              -- vector_store.file.completed, ...
    data        jsonb NOT NULL,                             -- the event's `data` object
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE webhook_deliveries (
    id                text PRIMARY KEY,                     -- msg_...: the webhook-id header
    endpoint_id       text NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id          text NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    status            text NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'retrying', 'delivered', 'gave_up')),
    attempts          integer NOT NULL DEFAULT 0,
    last_status_code  smallint,                             -- of the last attempt's answer
    last_error        text,                                 -- why the last attempt failed
    last_attempt_at   timestamptz,
    next_attempt_at   timestamptz,                          -- pending / retrying
    locked_until      timestamptz,                          -- an attempt's lease
    delivered_at      timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, created_at, id);
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_id);

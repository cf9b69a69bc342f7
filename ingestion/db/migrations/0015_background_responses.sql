-- Background responses (POST /v1/responses with background: true): the response row is
-- written 'queued' with the client's request, a worker claims it ('in_progress', under a
-- lease it renews while it runs), and the finished object replaces the body. A streamed
-- one keeps its events, so a client can resume it from a sequence_number.
-- status is NULL for a response answered in the request (its body says how it ended).
ALTER TABLE responses
    ADD COLUMN status       text CHECK (status IN ('queued', 'in_progress', 'completed',
                                'failed', 'cancelled', 'incomplete')),
    ADD COLUMN request      json,           -- the client's body, until a worker has run it
    ADD COLUMN attempts     integer NOT NULL DEFAULT 0,
    ADD COLUMN lease_until  timestamptz;    -- a worker runs it until then (renewed)

-- The events of a streamed background response, each as the SSE frame sent.
CREATE TABLE response_events (
    response_id      text NOT NULL REFERENCES responses (id) ON DELETE CASCADE,
    sequence_number  integer NOT NULL,
    frame            text NOT NULL,
    PRIMARY KEY (response_id, sequence_number)
);

-- Running background responses, for the sweep that finds those whose worker died.
CREATE INDEX responses_running_idx ON responses (lease_until) WHERE status = 'in_progress';

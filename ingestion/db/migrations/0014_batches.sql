-- The Batch API (/v1/batches): a batch of requests read from an uploaded JSONL file, each
-- line run on a worker through the same policy as a live request; output and error files
-- written when every line is done. Lines keep their own result, so a line finished is never
-- run again and a worker killed mid-batch loses none.
CREATE TABLE batches (
    id                 text PRIMARY KEY,
    key_id             text NOT NULL,           -- the API key that made it (its policy runs)
    endpoint           text NOT NULL,
    input_file_id      text NOT NULL,
    completion_window  text NOT NULL,
    status             text NOT NULL CHECK (status IN ('validating', 'failed', 'in_progress',
                           'finalizing', 'completed', 'expired', 'cancelling', 'cancelled')),
    metadata           jsonb,
    errors             jsonb,                   -- validation errors (status failed)
    total              integer NOT NULL DEFAULT 0,
    completed          integer NOT NULL DEFAULT 0,
    failed             integer NOT NULL DEFAULT 0,
    output_file_id     text,
    error_file_id      text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    expires_at         timestamptz NOT NULL,
    in_progress_at     timestamptz,
    finalizing_at      timestamptz,
    completed_at       timestamptz,
    failed_at          timestamptz,
    expired_at         timestamptz,
    cancelling_at      timestamptz,
    cancelled_at       timestamptz
);

CREATE INDEX batches_key_idx ON batches (key_id, created_at DESC, id DESC);

CREATE TABLE batch_lines (
    batch_id     text NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
    line         integer NOT NULL,                -- 0-based position in the input file
    custom_id    text NOT NULL,
    body         json NOT NULL,                   -- the request body, as the file held it
    state        text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
    status_code  integer,                         -- the answer's HTTP status
    request_id   text,
    response     json,                            -- the answer's body (done and failed)
    finished_at  timestamptz,
    PRIMARY KEY (batch_id, line)
);

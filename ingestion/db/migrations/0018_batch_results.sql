-- A batch line's answer as a row of its own, inserted once (its key the line's), instead of
-- an update of the line: recording a group of answers is an insert that touches no line
-- (no new version of each line's row, no second index entry) and cannot scan a batch's
-- other lines, whatever the planner knows of them. A line with no row here has not run.
--
-- No foreign key: its check would run per answer; the rows go with their lines (nothing
-- deletes a batch today; whatever does must delete its results too).
CREATE TABLE batch_results (
    batch_id     text NOT NULL,
    line         integer NOT NULL,
    status_code  integer NOT NULL,               -- 2xx: the line is done, else failed
    request_id   text,
    response     json,                           -- the answer's body
    finished_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (batch_id, line)
);

-- Batches running across the upgrade keep what their lines recorded.
INSERT INTO batch_results (batch_id, line, status_code, request_id, response, finished_at)
SELECT batch_id, line, coalesce(status_code, 500), request_id, response,
       coalesce(finished_at, now())
FROM batch_lines WHERE state <> 'pending';

-- batch_lines' answer columns (state, status_code, request_id, response, finished_at) are
-- no longer written; they stay until no worker of an older revision can run.

-- Stored /v1/responses responses (store: true), read back by GET /v1/responses/{id} and
-- continued by previous_response_id. Bodies are json, not jsonb: they come back exactly as
-- the client first received them (key order kept, \u0000 in text accepted). No foreign key
-- to api_keys (as files): rows expire on their own; previous_response_id may name a
-- response that expired or was deleted since, which ends a chain there.
CREATE TABLE responses (
    id                    text PRIMARY KEY,
    key_id                text,                      -- the API key that made it
    previous_response_id  text,
    created_at            timestamptz NOT NULL DEFAULT now(),
    expires_at            timestamptz NOT NULL,
    body                  json NOT NULL
);

CREATE INDEX responses_key_idx ON responses (key_id);
CREATE INDEX responses_expires_idx ON responses (expires_at);

-- A response's own input items then its output items, in one sequence (position).
CREATE TABLE response_items (
    response_id  text NOT NULL REFERENCES responses (id) ON DELETE CASCADE,
    position     integer NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('input', 'output')),
    item_id      text,
    item         json NOT NULL,
    PRIMARY KEY (response_id, position)
);

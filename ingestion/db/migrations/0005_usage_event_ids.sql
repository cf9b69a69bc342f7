-- Usage rows get their own id. request_id stays (it joins the access log) but is not unique:
-- clients may send their own X-Request-ID, and a repeated one must not swallow a usage row.
ALTER TABLE usage_events DROP CONSTRAINT usage_events_pkey;
ALTER TABLE usage_events ADD COLUMN event_id uuid NOT NULL DEFAULT gen_random_uuid();
ALTER TABLE usage_events ALTER COLUMN event_id DROP DEFAULT;
ALTER TABLE usage_events ADD PRIMARY KEY (event_id);
CREATE INDEX usage_events_request_idx ON usage_events (request_id);

-- A stream that ends before the upstream's usage report (the client went away, the upstream
-- broke off) is charged for the text it sent, counted by the gateway: such rows say so.
ALTER TABLE usage_events ADD COLUMN tokens_estimated boolean NOT NULL DEFAULT false;

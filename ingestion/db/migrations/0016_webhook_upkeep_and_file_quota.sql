-- Webhooks: a delivery whose retries ran out (or whose job was lost past its window) is
-- 'failed', no longer 'gave_up'. Workers purge delivered and failed deliveries, and events
-- left without deliveries, after webhooks.retention_days, and sweep open deliveries whose
-- job was lost: the partial indexes keep both scans to the rows they look at.
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_status_check;
UPDATE webhook_deliveries SET status = 'failed' WHERE status = 'gave_up';
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_status_check
    CHECK (status IN ('pending', 'retrying', 'delivered', 'failed'));

CREATE INDEX webhook_deliveries_open_idx ON webhook_deliveries (next_attempt_at)
    WHERE status IN ('pending', 'retrying');
CREATE INDEX webhook_deliveries_ended_idx ON webhook_deliveries (updated_at)
    WHERE status IN ('delivered', 'failed');
CREATE INDEX webhook_events_created_idx ON webhook_events (created_at);

-- Files: a member key's stored bytes and file count, summed under a per-key lock when it
-- uploads (files.member_max_bytes_per_key, files.member_max_files_per_key).
CREATE INDEX files_owner_idx ON files (owner_key_id) INCLUDE (bytes);

-- A member key's open uploads hold room in its storage limit (files.member_max_bytes_per_key)
-- until they complete, are cancelled or expire: the quota check sums them by owner.
CREATE INDEX uploads_owner_open_idx ON uploads (owner_key_id) WHERE status IN ('pending', 'completing');

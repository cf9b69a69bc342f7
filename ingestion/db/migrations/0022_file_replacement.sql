-- A changed file (same filename, new bytes) added to a store replaces the older versions of
-- that filename there, in the transaction that commits its chunks; the ids it replaced are
-- kept on its row (the API shows them as ragway.replaced_file_ids).
ALTER TABLE vector_store_files ADD COLUMN replaced_file_ids text[] NOT NULL DEFAULT '{}';

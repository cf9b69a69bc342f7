-- ragway schema, version 6: keep chunk rows, and above all their vectors, inline.
--
-- A 384-d vector is 1.5 kB; with the chunk's text and tsvector a row passes the default 2 kB
-- TOAST threshold and Postgres moved the vector out of line, so every distance an exact scan
-- (or an HNSW result) computes fetched it from the TOAST table: 6 µs per chunk instead of <1.
-- Rows up to a page now stay whole; bigger ones give up their text before their vector.
-- Applies to rows written from now on.
ALTER TABLE chunks ALTER COLUMN embedding SET STORAGE MAIN;
ALTER TABLE chunks SET (toast_tuple_target = 8160);

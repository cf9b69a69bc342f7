-- ragway schema, version 3: document collections (OpenAI Files and Vector Stores) and their chunks.

-- Uploaded files. The bytes live in object storage under their sha256 (shared by equal uploads).
CREATE TABLE files (
    id              text PRIMARY KEY,               -- file-<random>
    owner_key_id    text,                           -- the API key that uploaded it
    filename        text NOT NULL,
    purpose         text NOT NULL,
    bytes           bigint NOT NULL,
    sha256          text NOT NULL,
    content_type    text,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX files_sha256_idx ON files (sha256);
CREATE INDEX files_created_idx ON files (created_at, id);

-- Collections. The embedding model and dimension are fixed when a store is created.
CREATE TABLE vector_stores (
    id                  text PRIMARY KEY,           -- vs_<random>
    owner_key_id        text,
    name                text,
    metadata            jsonb NOT NULL DEFAULT '{}'::jsonb,
    embedding_model     text NOT NULL,
    embedding_dimension integer NOT NULL CHECK (embedding_dimension > 0),
    expires_after       jsonb,
    created_at          timestamptz NOT NULL DEFAULT now(),
    last_active_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX vector_stores_created_idx ON vector_stores (created_at, id);

CREATE TABLE vector_store_file_batches (
    id              text PRIMARY KEY,               -- vsfb_<random>
    vector_store_id text NOT NULL REFERENCES vector_stores (id) ON DELETE CASCADE,
    cancelled_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- A file in a store: the unit the ingestion actor processes (by these two ids).
CREATE TABLE vector_store_files (
    vector_store_id         text NOT NULL REFERENCES vector_stores (id) ON DELETE CASCADE,
    file_id                 text NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    batch_id                text REFERENCES vector_store_file_batches (id) ON DELETE SET NULL,
    sha256                  text NOT NULL,
    status                  text NOT NULL
                            CHECK (status IN ('in_progress', 'completed', 'failed', 'cancelled')),
    last_error_code         text,
    last_error_message      text,
    attributes              jsonb NOT NULL DEFAULT '{}'::jsonb,
    chunking_type           text NOT NULL CHECK (chunking_type IN ('auto', 'static')),
    max_chunk_size_tokens   integer NOT NULL,
    chunk_overlap_tokens    integer NOT NULL,
    duplicate_of            text,                   -- file in this store whose chunks hold these bytes
    chunks_total            integer,
    chunks_done             integer NOT NULL DEFAULT 0,
    usage_bytes             bigint NOT NULL DEFAULT 0,
    attempts                integer NOT NULL DEFAULT 0,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    completed_at            timestamptz,
    PRIMARY KEY (vector_store_id, file_id)
);
CREATE INDEX vector_store_files_file_idx ON vector_store_files (file_id);
CREATE INDEX vector_store_files_content_idx ON vector_store_files (vector_store_id, sha256);
CREATE INDEX vector_store_files_batch_idx ON vector_store_files (batch_id) WHERE batch_id IS NOT NULL;
CREATE INDEX vector_store_files_status_idx ON vector_store_files (status);

-- Searchable chunks. One dimension per store; vectors of every dimension share the column and
-- each dimension in use gets its own partial HNSW index (384: the default embedder's).
CREATE TABLE chunks (
    id              bigserial PRIMARY KEY,
    vector_store_id text NOT NULL,
    file_id         text NOT NULL,
    chunk_index     integer NOT NULL,
    content         text NOT NULL,
    content_tsv     tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED,
    embedding       vector NOT NULL,
    dimension       integer NOT NULL,
    token_count     integer NOT NULL,
    page_number     integer,
    section         text,
    FOREIGN KEY (vector_store_id, file_id)
        REFERENCES vector_store_files (vector_store_id, file_id) ON DELETE CASCADE,
    UNIQUE (vector_store_id, file_id, chunk_index)
);
CREATE INDEX chunks_embedding_384_hnsw ON chunks
    USING hnsw ((embedding::vector(384)) vector_cosine_ops) WHERE dimension = 384;
CREATE INDEX chunks_content_tsv_idx ON chunks USING gin (content_tsv);

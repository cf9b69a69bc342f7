-- OpenAI's Uploads API (/v1/uploads): a file sent in parts (each at most 64 MiB), then
-- completed into a File. The parts wait in object storage, a row each here, until the upload
-- is completed, cancelled or expires; gateways sweep expired uploads, remove their parts and,
-- files.uploads.keep_ended_s later, their rows.
CREATE TABLE uploads (
    id            text PRIMARY KEY,                -- upload_<random>
    owner_key_id  text,                            -- the API key that made it
    filename      text NOT NULL,
    purpose       text NOT NULL,
    mime_type     text NOT NULL,
    bytes         bigint NOT NULL CHECK (bytes >= 0),   -- what the client declared
    received      bigint NOT NULL DEFAULT 0,       -- bytes of its parts so far
    -- 'completing': a request is joining its parts (shown as pending)
    status        text NOT NULL DEFAULT 'pending' CHECK (status IN
                      ('pending', 'completing', 'completed', 'cancelled', 'expired')),
    file_id       text,                            -- the File it became
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX uploads_open_idx ON uploads (expires_at) WHERE status IN ('pending', 'completing');
CREATE INDEX uploads_ended_idx ON uploads (expires_at)
    WHERE status IN ('completed', 'cancelled', 'expired');

CREATE TABLE upload_parts (
    id          text PRIMARY KEY,                  -- part_<random>
    upload_id   text NOT NULL REFERENCES uploads (id) ON DELETE CASCADE,
    bytes       bigint NOT NULL CHECK (bytes >= 0),
    sha256      text NOT NULL,                     -- of the part's own bytes
    token       text NOT NULL,                     -- where object storage keeps it
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX upload_parts_upload_idx ON upload_parts (upload_id);

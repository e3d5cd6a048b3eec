-- The end of each instance's console output, as its node last saw it: how an API server of a
-- cluster answers GetInstanceConsoleOutput for an instance on another host. Base64 text, so
-- the column is TEXT on both backends; `updated_at` is when the console file last changed.

CREATE TABLE console_tails (
    instance_id TEXT PRIMARY KEY,
    tail TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

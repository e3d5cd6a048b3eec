-- Schema rules for every migration: portable between SQLite and PostgreSQL.
-- TEXT for strings and timestamps (RFC 3339 UTC), BIGINT for numbers and booleans (0/1),
-- no autoincrement: ordering columns are written by the application.

CREATE TABLE tags (
    resource_type TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    tag_key       TEXT NOT NULL,
    tag_value     TEXT NOT NULL,
    PRIMARY KEY (resource_type, resource_id, tag_key)
);
CREATE INDEX tags_by_key ON tags (resource_type, tag_key, tag_value);

-- ClientToken idempotency: the first answer to a token is kept and given again.
CREATE TABLE client_tokens (
    action      TEXT NOT NULL,
    token       TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    response    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (action, token)
);

-- Sign-in sessions (password mode). The cookie holds a random token; only its SHA-256 is
-- stored, so a copy of the database cannot be used to sign in. Replicas sharing this
-- database share sessions.
CREATE TABLE sessions (
    token_sha256 TEXT   PRIMARY KEY,
    user_name    TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);

CREATE INDEX sessions_expires_at ON sessions (expires_at);

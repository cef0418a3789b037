-- Rollback operations: the state machine's durable record (the audit log holds the
-- append-only story; this row is updated as the operation moves on). The partial unique index
-- is the database lock: at most one unfinished rollback per service and environment, also
-- across replicas sharing one database.
CREATE TABLE rollback_operations (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key    TEXT    NOT NULL UNIQUE,
    service            TEXT    NOT NULL,
    environment        TEXT    NOT NULL,
    provider           TEXT    NOT NULL,
    actor              TEXT    NOT NULL,
    remote_addr        TEXT,
    reason             TEXT    NOT NULL,
    from_id            TEXT    NOT NULL,
    from_sha           TEXT,
    from_summary       TEXT,
    to_id              TEXT    NOT NULL,
    to_sha             TEXT,
    to_summary         TEXT,
    place_hold         INTEGER NOT NULL,
    state              TEXT    NOT NULL,
    detail             TEXT,
    new_deployment_id  TEXT,
    provider_reference TEXT,
    hold               TEXT,
    hold_release       TEXT,
    hold_released_by   TEXT,
    hold_released_at   INTEGER,
    requested_at       INTEGER NOT NULL,
    started_at         INTEGER,
    finished_at        INTEGER
);

CREATE UNIQUE INDEX rollback_operations_one_in_flight
    ON rollback_operations (service, environment) WHERE finished_at IS NULL;
CREATE INDEX rollback_operations_by_service ON rollback_operations (service, environment, id);

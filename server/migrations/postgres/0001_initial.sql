-- Lookout's store, PostgreSQL dialect. Never edit this file once released: add 0002_….sql instead.
-- Timestamps are epoch milliseconds (UTC) in BIGINT columns, as in the SQLite dialect; enums are
-- their snake_case names. Every integer column is BIGINT so both backends decode to i64.

-- One row per deployment a provider reported, keyed by (provider, provider_id).
CREATE TABLE deployments (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider         TEXT   NOT NULL,
    provider_id      TEXT   NOT NULL,
    service          TEXT   NOT NULL,
    environment      TEXT   NOT NULL,
    environment_kind TEXT   NOT NULL,
    state            TEXT   NOT NULL,
    provider_state   TEXT   NOT NULL,
    commit_sha       TEXT,
    commit_message   TEXT,
    author           TEXT,
    branch           TEXT,
    pr_number        BIGINT,
    creator          TEXT,
    created_at       BIGINT NOT NULL,
    finished_at      BIGINT,
    url              TEXT,
    dashboard_url    TEXT,
    observed_at      BIGINT NOT NULL,
    first_seen_at    BIGINT NOT NULL,
    state_changed_at BIGINT NOT NULL,
    CONSTRAINT deployments_provider_id UNIQUE (provider, provider_id)
);

-- The history page: newest first, keyset-paginated on (created_at, id), optionally filtered.
CREATE INDEX deployments_history ON deployments (created_at DESC, id DESC);
CREATE INDEX deployments_service_history ON deployments (service, created_at DESC, id DESC);
CREATE INDEX deployments_environment_history ON deployments (environment, created_at DESC, id DESC);
CREATE INDEX deployments_state_history ON deployments (state, created_at DESC, id DESC);
-- The monitor's "backfill or only new pages?" question.
CREATE INDEX deployments_provider_service ON deployments (provider, service, created_at);

-- Every state a deployment was seen in, with when Lookout saw it (from_state NULL = first seen).
CREATE TABLE deployment_state_changes (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    deployment_id BIGINT NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    from_state    TEXT,
    to_state      TEXT   NOT NULL,
    at            BIGINT NOT NULL
);
CREATE INDEX deployment_state_changes_deployment ON deployment_state_changes (deployment_id, id);

-- Raw health-check results, kept for the raw retention window (48 h by default).
CREATE TABLE health_samples (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service     TEXT   NOT NULL,
    environment TEXT   NOT NULL,
    at          BIGINT NOT NULL,
    state       TEXT   NOT NULL,
    latency_ms  BIGINT
);
CREATE INDEX health_samples_series ON health_samples (service, environment, at);
-- Retention walks the oldest samples first.
CREATE INDEX health_samples_at ON health_samples (at, id);

-- Hourly roll-ups of raw samples older than the raw window, kept 90 days by default.
-- samples/failures count only up, degraded and down samples (what uptime counts);
-- latency_samples is how many latencies p50/p95 summarise (the weight when merging).
CREATE TABLE health_rollups (
    service         TEXT   NOT NULL,
    environment     TEXT   NOT NULL,
    hour_start      BIGINT NOT NULL,
    samples         BIGINT NOT NULL,
    failures        BIGINT NOT NULL,
    latency_samples BIGINT NOT NULL,
    p50_ms          BIGINT,
    p95_ms          BIGINT,
    PRIMARY KEY (service, environment, hour_start)
);
CREATE INDEX health_rollups_hour ON health_rollups (hour_start);

-- Who did what, when, from where, with what outcome. Append-only: the trigger refuses
-- UPDATE, DELETE and TRUNCATE, so the invariant holds even against hand-written SQL.
CREATE TABLE audit_log (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          BIGINT NOT NULL,
    actor       TEXT   NOT NULL,
    action      TEXT   NOT NULL,
    target      TEXT   NOT NULL,
    outcome     TEXT   NOT NULL,
    detail      TEXT,
    remote_addr TEXT
);

CREATE FUNCTION audit_log_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;

CREATE TRIGGER audit_log_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();

CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();

//! The authorization table: every server function with what it requires. The middleware
//! refuses a server function that is not listed here (403), and the authorization matrix test
//! (`server/tests/security.rs`) fails when a registered server function is missing, so a new
//! one cannot ship unguarded. Each server function also calls `app::access::authorize` itself.

/// What a server function requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requirement {
    /// Anyone: it only describes the caller's own session.
    Anyone,
    /// Read access (anonymous only when `public_status`).
    Read,
    /// The admin role.
    Audit,
    /// The deployer role for the environment named in the request.
    RollBack,
}

/// One server function: its path (under `/api`), what it requires, and a valid query for the
/// authorization matrix test.
#[derive(Clone, Copy, Debug)]
pub struct Endpoint {
    pub path: &'static str,
    pub requirement: Requirement,
    pub sample_query: &'static str,
}

pub const SERVER_FUNCTIONS: &[Endpoint] = &[
    Endpoint {
        path: "/api/status",
        requirement: Requirement::Read,
        sample_query: "",
    },
    Endpoint {
        path: "/api/history",
        requirement: Requirement::Read,
        sample_query: "query%5Bservice%5D=api",
    },
    Endpoint {
        path: "/api/service",
        requirement: Requirement::Read,
        sample_query: "name=api",
    },
    Endpoint {
        path: "/api/session",
        requirement: Requirement::Anyone,
        sample_query: "",
    },
    Endpoint {
        path: "/api/runbooks",
        requirement: Requirement::Read,
        sample_query: "query%5Bq%5D=rollback",
    },
    Endpoint {
        path: "/api/runbook",
        requirement: Requirement::Read,
        sample_query: "slug=rollback",
    },
    Endpoint {
        path: "/api/runbook_links",
        requirement: Requirement::Read,
        sample_query: "",
    },
    Endpoint {
        path: "/api/audit",
        requirement: Requirement::Audit,
        sample_query: "",
    },
];

/// The table entry for a server-function path.
pub fn lookup(path: &str) -> Option<&'static Endpoint> {
    SERVER_FUNCTIONS
        .iter()
        .find(|endpoint| endpoint.path == path)
}

/// Whether a path is in the server functions' namespace (`/api/…` except the JSON API and
/// the live stream, which are axum routes with their own checks).
pub fn is_server_function_path(path: &str) -> bool {
    path.starts_with("/api/") && !path.starts_with("/api/v1/") && path != "/api/events"
}

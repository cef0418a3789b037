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
    /// A valid query (GET) or form body (POST) for the test. POST samples are built to be
    /// refused after authorization (a missing one-time key, an unknown operation), so the
    /// matrix never starts a rollback.
    pub sample_query: &'static str,
    pub method: EndpointMethod,
}

/// How a server function is called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndpointMethod {
    Get,
    /// A form post (CSRF-checked).
    Post,
}

pub const SERVER_FUNCTIONS: &[Endpoint] = &[
    Endpoint {
        path: "/api/status",
        requirement: Requirement::Read,
        sample_query: "",
        method: EndpointMethod::Get,
    },
    Endpoint {
        path: "/api/history",
        requirement: Requirement::Read,
        sample_query: "query%5Bservice%5D=api",
        method: EndpointMethod::Get,
    },
    Endpoint {
        path: "/api/service",
        requirement: Requirement::Read,
        sample_query: "name=api",
        method: EndpointMethod::Get,
    },
    Endpoint {
        path: "/api/session",
        requirement: Requirement::Anyone,
        sample_query: "",
        method: EndpointMethod::Get,
    },
    Endpoint {
        path: "/api/runbooks",
        requirement: Requirement::Read,
        sample_query: "query%5Bq%5D=rollback",
        method: EndpointMethod::Get,
    },
    Endpoint {
        path: "/api/runbook",
        requirement: Requirement::Read,
        sample_query: "slug=rollback",
        method: EndpointMethod::Get,
    },
    Endpoint {
        path: "/api/runbook_links",
        requirement: Requirement::Read,
        sample_query: "",
        method: EndpointMethod::Get,
    },
    Endpoint {
        path: "/api/audit",
        requirement: Requirement::Audit,
        sample_query: "query%5Baction%5D=login",
        method: EndpointMethod::Get,
    },
    Endpoint {
        path: "/api/rollback_plan",
        requirement: Requirement::RollBack,
        sample_query: "service=api&environment=production&target=dep-unknown",
        method: EndpointMethod::Get,
    },
    Endpoint {
        path: "/api/rollback",
        requirement: Requirement::Read,
        sample_query: "id=999999",
        method: EndpointMethod::Get,
    },
    Endpoint {
        path: "/api/roll_back_service",
        requirement: Requirement::RollBack,
        sample_query: "form%5Bservice%5D=api&form%5Benvironment%5D=production\
                       &form%5Btarget%5D=x&form%5Bexpected_live%5D=y\
                       &form%5Bidempotency_key%5D=short",
        method: EndpointMethod::Post,
    },
    Endpoint {
        path: "/api/release_rollback_hold",
        requirement: Requirement::RollBack,
        sample_query: "id=999999&release=resume",
        method: EndpointMethod::Post,
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

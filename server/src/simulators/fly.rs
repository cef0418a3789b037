//! Fly.io simulator: the GraphQL endpoint `POST /graphql` answering `app(name:)` with
//! `releasesUnprocessed(first, after, status)` (Relay paging) and `currentReleaseUnprocessed`,
//! and the Machines API list `GET /v1/apps/{app}/machines` — with Fly's payload shapes,
//! release statuses, `Bearer`/`FlyV1` token schemes, GraphQL error bodies and the Machines
//! API's `{"error"}` body. A client's `graphql_base` is the nest prefix + [`GRAPHQL_PATH`] and
//! its `machines_base` the prefix + [`MACHINES_PATH`].
//!
//! This is not a GraphQL engine. It finds `app(…)`, `releasesUnprocessed(…)` and
//! `currentReleaseUnprocessed` by name in the query text (with their aliases), reads their
//! arguments (variables or simple literals), and returns every field of a release whatever the
//! selection; a client reads the ones it selected.
//!
//! The scenario is a set of apps, each with releases and machines. A pushed release that goes
//! live moves every machine to its image (creating two machines on the first one), as
//! `fly deploy` does; Fly keeps the older releases `complete`, so "superseded" is only the
//! fact that a newer release is current. [`FlySimulator::roll_machines_to`] swaps the machines'
//! image without a release record, as a rollback through the Machines API does.
//!
//! `POST /v1/apps/{app}/machines/{id}` ("Update a Machine") takes the machine's entire
//! `config` and answers 200 with the machine `starting` on a new instance; it is `started`
//! (or `failed`) when the configured rollback settles, applied lazily on the next read. Like
//! the contract infers, such an update creates no release record.

// `timestamp`: ISO 8601 in UTC with whole seconds, as Fly's `ISO8601DateTime` values.
use super::skeleton::{html_page, mix, timestamp_secs as timestamp, Simulated};
use super::{
    fault_status, lock, sim_id, SimDeploymentSpec, SimFault, SimOutcome, SimRollbackOutcome,
};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

mod query;
use query::*;

mod api;
use api::*;

/// Where the GraphQL endpoint sits under the simulator's prefix.
pub const GRAPHQL_PATH: &str = "/graphql";
/// The Machines API base under the simulator's prefix (the real one is `…machines.dev/v1`).
pub const MACHINES_PATH: &str = "/v1";

/// The page size when `first` is not given, and the most one page holds. Fly's limits are
/// UNCONFIRMED; GraphQL-Ruby (Fly's API server) cuts larger pages to its `max_page_size`
/// silently, and so does the simulator.
const MAX_PAGE_SIZE: usize = 100;
/// How long a simulated deploy takes.
const DEPLOY_MINUTES: i64 = 2;
/// The regions the first live release creates a machine in.
const MACHINE_REGIONS: [&str; 2] = ["ord", "ams"];
/// The scheme each kind of token must come with (see [`FlySimulator::authorized`]).
const MACAROON_PREFIXES: [&str; 2] = ["fm1r", "fm2"];

/// A simulated Fly organization: apps, their releases and machines.
pub type FlySimulator = Simulated<Scenario>;

#[derive(Debug, Default)]
pub struct Scenario {
    apps: HashMap<String, SimApp>,
    /// Seeds release and machine ids.
    last_seed: u64,
}

#[derive(Debug, Default)]
struct SimApp {
    releases: Vec<SimRelease>,
    machines: Vec<SimMachine>,
    /// Images the registry no longer has (`fly deploy --image` of them fails).
    pruned_images: HashSet<String>,
    /// The latest Machines-API image rollout: its image, outcome, settle time and the
    /// machines it updated. An update of another machine to the same image belongs to it, so
    /// one rollback (one update per machine) asks [`SimRollbacks::next`] once.
    rollout: Option<SimRollout>,
    /// Whether a Machines-API image update records a release (see
    /// [`FlySimulator::set_release_on_machine_update`]).
    records_updates: bool,
}

#[derive(Clone, Debug)]
struct SimRollout {
    image: String,
    outcome: SimRollbackOutcome,
    settles: Instant,
    updated: HashSet<String>,
    /// The release recorded for it, when the app records machine updates.
    release_id: Option<String>,
}

#[derive(Clone, Debug)]
struct SimRelease {
    seed: u64,
    id: String,
    version: i64,
    status: &'static str,
    image_ref: String,
    image_tag: String,
    image_digest: String,
    user_name: String,
    user_email: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
struct SimMachine {
    id: String,
    name: String,
    region: &'static str,
    state: String,
    /// `config.image` and the `image_ref` parts it came from.
    image: String,
    image_tag: String,
    image_digest: String,
    /// The metadata flyctl writes on deploy; a Machines-API image swap leaves it alone.
    release_id: String,
    release_version: i64,
    instance_seed: u64,
    private_ip: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// An update in progress: when the machine settles, and in which state.
    settles: Option<(Instant, &'static str)>,
}

impl SimRelease {
    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "version": self.version,
            "description": "Release",
            "reason": "deploy",
            "status": self.status,
            "imageRef": self.image_ref,
            // What `stable` means for Machines apps is UNCONFIRMED; here it marks success.
            "stable": self.status == "complete",
            "inProgress": self.status == "running",
            "revertedTo": Value::Null,
            "deploymentStrategy": "ROLLING",
            "evaluationId": Value::Null,
            "user": {
                "id": sim_id("usr_", self.seed, 6),
                "email": self.user_email,
                "name": self.user_name,
            },
            "createdAt": timestamp(self.created_at),
            "updatedAt": timestamp(self.updated_at),
        })
    }
}

impl SimMachine {
    fn to_json(&self, app: &str) -> Value {
        let started = self.state == "started";
        json!({
            "id": self.id,
            "name": self.name,
            "state": self.state,
            "region": self.region,
            "instance_id": instance_id(self.instance_seed),
            "private_ip": self.private_ip,
            "config": {
                "image": self.image,
                "metadata": {
                    "fly_release_id": self.release_id,
                    "fly_release_version": self.release_version.to_string(),
                    "fly_process_group": "app",
                    "fly_platform_version": "v2",
                },
                "guest": { "cpu_kind": "shared", "cpus": 1, "memory_mb": 256 },
                "restart": { "policy": "on-failure" },
                "services": [{
                    "protocol": "tcp",
                    "internal_port": 8080,
                    "autostart": true,
                    "autostop": "stop",
                    "ports": [{ "port": 443, "handlers": ["tls", "http"] }],
                }],
            },
            "image_ref": {
                "registry": "registry.fly.io",
                "repository": app,
                "tag": self.image_tag,
                "digest": self.image_digest,
                "labels": {},
            },
            "created_at": timestamp(self.created_at),
            "updated_at": timestamp(self.updated_at),
            "events": [
                {
                    "type": if started { "start" } else { "exit" },
                    "status": self.state,
                    "source": "flyd",
                    "timestamp": self.updated_at.timestamp_millis(),
                },
                {
                    "type": "launch",
                    "status": "created",
                    "source": "user",
                    "timestamp": self.created_at.timestamp_millis(),
                },
            ],
            "checks": [{
                "name": "servicecheck-00-http-8080",
                "status": if started { "passing" } else { "critical" },
                "output": if started { "Success" } else { "machine is not running" },
                "updated_at": timestamp(self.updated_at),
            }],
            "host_status": "ok",
        })
    }
}

impl SimApp {
    /// Newest first, by version.
    fn releases_newest_first(&self) -> Vec<&SimRelease> {
        let mut releases: Vec<&SimRelease> = self.releases.iter().collect();
        releases.sort_by_key(|release| std::cmp::Reverse(release.version));
        releases
    }

    /// What `currentReleaseUnprocessed` answers: the newest successful release. Fly's schema
    /// says "the latest release"; whether a failed or running one can be current is
    /// UNCONFIRMED (the client copes with both).
    fn current_release(&self) -> Option<&SimRelease> {
        self.releases
            .iter()
            .filter(|release| release.status == "complete")
            .max_by_key(|release| release.version)
    }

    /// Puts every machine on `release`'s image, as a deploy or a Machines-API update does;
    /// `metadata` says whether the release metadata moves too (flyctl) or not (a bare image
    /// swap).
    fn move_machines_to(&mut self, release: &SimRelease, metadata: MachineMetadata, seed: u64) {
        for (index, machine) in self
            .machines
            .iter_mut()
            .filter(|machine| !matches!(machine.state.as_str(), "destroyed" | "destroying"))
            .enumerate()
        {
            machine.image = release.image_ref.clone();
            machine.image_tag = release.image_tag.clone();
            machine.image_digest = release.image_digest.clone();
            if metadata == MachineMetadata::FollowsRelease {
                machine.release_id = release.id.clone();
                machine.release_version = release.version;
            }
            // An update reboots the machine into a new instance.
            machine.instance_seed = seed * 16 + index as u64;
            machine.state = "started".into();
            machine.updated_at = release.updated_at;
            machine.settles = None;
        }
    }

    /// Settles machine updates whose time has come, and the release recorded for a rollout
    /// once all its machines settled.
    fn advance(&mut self, now: Instant, at: DateTime<Utc>) {
        for machine in &mut self.machines {
            if let Some((when, state)) = machine.settles {
                if when <= now {
                    machine.state = state.to_string();
                    machine.settles = None;
                    machine.updated_at = at;
                }
            }
        }
        let Some(rollout) = &self.rollout else {
            return;
        };
        let settled = self
            .machines
            .iter()
            .filter(|machine| rollout.updated.contains(&machine.id))
            .all(|machine| machine.settles.is_none());
        let failed = self
            .machines
            .iter()
            .any(|machine| rollout.updated.contains(&machine.id) && machine.state == "failed");
        if let (true, Some(release_id)) = (settled, &rollout.release_id) {
            if let Some(release) = self
                .releases
                .iter_mut()
                .find(|release| &release.id == release_id && release.status == "running")
            {
                release.status = if failed { "failed" } else { "complete" };
                release.updated_at = at;
            }
        }
    }
}

/// Whether a machine update rewrites the release metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MachineMetadata {
    FollowsRelease,
    Untouched,
}

/// A GraphQL failure: the HTTP status and the message of the one error.
#[derive(Debug)]
struct GraphQlFailure {
    status: StatusCode,
    message: String,
    code: Option<&'static str>,
    /// The response key whose field failed (`app`), answered as `null` in `data`.
    path: Option<String>,
}

impl GraphQlFailure {
    fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::OK,
            message: message.into(),
            code: None,
            path: None,
        }
    }
}

impl FlySimulator {
    /// A simulator that accepts `token` (see [`FlySimulator::authorized`] for the scheme).
    pub fn new(token: &str) -> Self {
        Self::assemble(token, Scenario::default(), ())
    }

    /// Adds an app with no releases and no machines; an existing one keeps its history.
    pub fn add_app(&self, app: &str) {
        lock(&self.scenario)
            .apps
            .entry(app.to_string())
            .or_default();
    }

    /// Adds a release (version = the app's newest + 1) and returns its id. `Ready` is
    /// `complete` and moves every machine to its image (the first one creates two started
    /// machines); `Failed` is `failed`, `Building` is `running`, `Canceled` is `interrupted`,
    /// and those leave the machines alone. The image is `registry.fly.io/<app>:deployment-…`,
    /// as flyctl tags it. Fly releases have no commit, branch or PR, so those fields of `spec`
    /// are dropped; `author` becomes the release's user. An app never added is created.
    pub fn push_deployment(&self, app: &str, spec: &SimDeploymentSpec) -> String {
        let mut guard = lock(&self.scenario);
        let scenario = &mut *guard;
        scenario.last_seed += 1;
        let seed = scenario.last_seed;
        let sim_app = scenario.apps.entry(app.to_string()).or_default();
        let version = sim_app
            .releases
            .iter()
            .map(|release| release.version)
            .max()
            .unwrap_or(0)
            + 1;
        let status = match spec.outcome {
            SimOutcome::Ready => "complete",
            SimOutcome::Failed => "failed",
            SimOutcome::Building => "running",
            SimOutcome::Canceled => "interrupted",
        };
        let updated_at = match spec.outcome {
            SimOutcome::Building => spec.created_at,
            SimOutcome::Ready | SimOutcome::Failed | SimOutcome::Canceled => spec
                .created_at
                .checked_add_signed(chrono::Duration::minutes(DEPLOY_MINUTES))
                .unwrap_or(spec.created_at),
        };
        let image_tag = format!("deployment-{}", ulid_like(seed));
        let release = SimRelease {
            seed,
            id: sim_id("rel_", seed, 16),
            version,
            status,
            image_ref: format!("registry.fly.io/{app}:{image_tag}"),
            image_tag,
            image_digest: format!(
                "sha256:{:016x}{:016x}{:016x}{:016x}",
                mix(seed),
                mix(seed + 1),
                mix(seed + 2),
                mix(seed + 3)
            ),
            user_name: spec.author.clone(),
            user_email: format!("{}@example.com", slug(&spec.author)),
            created_at: spec.created_at,
            updated_at,
        };
        if spec.outcome == SimOutcome::Ready {
            if sim_app.machines.is_empty() {
                for (index, region) in MACHINE_REGIONS.iter().enumerate() {
                    let machine_seed = seed * 16 + index as u64;
                    sim_app.machines.push(SimMachine {
                        id: format!("{:014x}", mix(machine_seed) & 0x00ff_ffff_ffff_ffff),
                        name: machine_name(machine_seed),
                        region,
                        state: "started".into(),
                        image: String::new(),
                        image_tag: String::new(),
                        image_digest: String::new(),
                        release_id: String::new(),
                        release_version: 0,
                        instance_seed: machine_seed,
                        private_ip: format!("fdaa:0:18:a7b:196:e274:9ce1:{:x}", index + 2),
                        created_at: updated_at,
                        updated_at,
                        settles: None,
                    });
                }
            }
            sim_app.move_machines_to(&release, MachineMetadata::FollowsRelease, seed);
        }
        let id = release.id.clone();
        sim_app.releases.push(release);
        id
    }

    /// Puts every machine of `app` on the image of an earlier release through the "Machines
    /// API", as Lookout's or a user's rollback would: no release record is created, and the
    /// machines' `fly_release_*` metadata keeps naming the release they were deployed with.
    /// Returns false for an unknown app or release.
    pub fn roll_machines_to(&self, app: &str, release_id: &str) -> bool {
        let mut guard = lock(&self.scenario);
        let scenario = &mut *guard;
        scenario.last_seed += 1;
        let seed = scenario.last_seed;
        let Some(sim_app) = scenario.apps.get_mut(app) else {
            return false;
        };
        let Some(mut release) = sim_app
            .releases
            .iter()
            .find(|release| release.id == release_id)
            .cloned()
        else {
            return false;
        };
        let last_change = sim_app
            .machines
            .iter()
            .map(|machine| machine.updated_at)
            .max()
            .unwrap_or(release.updated_at);
        release.updated_at = last_change
            .checked_add_signed(chrono::Duration::minutes(1))
            .unwrap_or(last_change);
        sim_app.move_machines_to(&release, MachineMetadata::Untouched, seed);
        true
    }

    /// Sets one machine's `state` (`stopped`, `suspended`, `destroyed`, …). Returns false for
    /// an unknown app or machine.
    pub fn set_machine_state(&self, app: &str, machine_id: &str, state: &str) -> bool {
        let mut scenario = lock(&self.scenario);
        let Some(machine) = scenario
            .apps
            .get_mut(app)
            .and_then(|sim_app| sim_app.machines.iter_mut().find(|m| m.id == machine_id))
        else {
            return false;
        };
        machine.state = state.to_string();
        true
    }

    /// The ids of an app's machines, in creation order.
    pub fn machine_ids(&self, app: &str) -> Vec<String> {
        lock(&self.scenario)
            .apps
            .get(app)
            .map(|sim_app| sim_app.machines.iter().map(|m| m.id.clone()).collect())
            .unwrap_or_default()
    }

    /// The id of what `currentReleaseUnprocessed` answers.
    pub fn current_release_id(&self, app: &str) -> Option<String> {
        lock(&self.scenario)
            .apps
            .get(app)
            .and_then(SimApp::current_release)
            .map(|release| release.id.clone())
    }

    /// Removes a release's image from the simulated registry: updating a machine to it fails
    /// afterwards. Returns false for an unknown app or release.
    pub fn prune_image(&self, app: &str, release_id: &str) -> bool {
        let mut scenario = lock(&self.scenario);
        let Some(sim_app) = scenario.apps.get_mut(app) else {
            return false;
        };
        let Some(image) = sim_app
            .releases
            .iter()
            .find(|release| release.id == release_id)
            .map(|release| release.image_ref.clone())
        else {
            return false;
        };
        sim_app.pruned_images.insert(image);
        true
    }

    /// Whether a Machines-API image update records a release (a `running` release with the
    /// new image, `complete` or `failed` once the rollout's machines settle). The contract
    /// infers Fly does not (the default); this is the other possibility, so the client is
    /// tested both ways.
    pub fn set_release_on_machine_update(&self, app: &str, records: bool) {
        if let Some(sim_app) = lock(&self.scenario).apps.get_mut(app) {
            sim_app.records_updates = records;
        }
    }

    /// The image each machine of `app` is configured with, and its state, in creation order.
    pub fn machine_images(&self, app: &str) -> Vec<(String, String)> {
        let mut scenario = lock(&self.scenario);
        let Some(sim_app) = scenario.apps.get_mut(app) else {
            return Vec::new();
        };
        sim_app.advance(Instant::now(), Utc::now());
        sim_app
            .machines
            .iter()
            .map(|machine| (machine.image.clone(), machine.state.clone()))
            .collect()
    }

    /// "Update a Machine": the body's entire `config` replaces the machine's. The simulator
    /// models only `image` and the `fly_release_*` metadata of a config; it refuses a config
    /// without `guest` or `services` (which a real update would drop: "We don't support
    /// partial updates"). The image must be one of the app's releases and still in the
    /// registry. The machine reboots into a new instance (`starting`) and settles as the
    /// rollout's [`SimRollbackOutcome`] says: `started`, `failed`, or never.
    fn update_machine(
        &self,
        app: &str,
        machine_id: &str,
        body: &Value,
    ) -> Result<Value, (StatusCode, String)> {
        let mut guard = lock(&self.scenario);
        let scenario = &mut *guard;
        scenario.last_seed += 1;
        let seed = scenario.last_seed;
        let sim_app = scenario
            .apps
            .get_mut(app)
            .ok_or((StatusCode::NOT_FOUND, "app not found".to_string()))?;
        sim_app.advance(Instant::now(), Utc::now());
        let Some(config) = body.get("config").and_then(Value::as_object) else {
            return Err((StatusCode::BAD_REQUEST, "config is required".into()));
        };
        let Some(image) = config.get("image").and_then(Value::as_str) else {
            return Err((StatusCode::BAD_REQUEST, "config.image is required".into()));
        };
        if let Some(missing) = ["guest", "services"]
            .into_iter()
            .find(|key| !config.contains_key(*key))
        {
            return Err((
                StatusCode::BAD_REQUEST,
                format!("partial config updates are not supported: `{missing}` is missing"),
            ));
        }
        let index = sim_app
            .machines
            .iter()
            .position(|machine| machine.id == machine_id && machine.state != "destroyed")
            .ok_or((StatusCode::NOT_FOUND, "machine not found".to_string()))?;
        // UNCONFIRMED wording: the registry's "manifest unknown", as Docker reports it.
        let release = sim_app
            .releases
            .iter()
            .find(|release| release.image_ref == image)
            .filter(|release| !sim_app.pruned_images.contains(&release.image_ref))
            .cloned()
            .ok_or_else(|| {
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("failed to resolve image {image}: manifest unknown"),
                )
            })?;
        let mut rollout = match sim_app.rollout.take() {
            Some(rollout)
                if rollout.image == release.image_ref && !rollout.updated.contains(machine_id) =>
            {
                rollout
            }
            _ => {
                let (outcome, settles) = self.rollbacks.next();
                SimRollout {
                    image: release.image_ref.clone(),
                    outcome,
                    settles,
                    updated: HashSet::new(),
                    release_id: None,
                }
            }
        };
        if rollout.outcome == SimRollbackOutcome::Refused {
            // UNCONFIRMED wording and status: a lease held by another deploy.
            return Err((
                StatusCode::CONFLICT,
                format!("machine {machine_id} is leased by another deploy; try again later"),
            ));
        }
        if sim_app.records_updates && rollout.release_id.is_none() {
            let now = Utc::now();
            let recorded = SimRelease {
                seed,
                id: sim_id("rel_", seed, 16),
                version: sim_app
                    .releases
                    .iter()
                    .map(|r| r.version)
                    .max()
                    .unwrap_or(0)
                    + 1,
                status: "running",
                user_name: "Lookout".into(),
                user_email: "lookout@example.com".into(),
                created_at: now,
                updated_at: now,
                ..release.clone()
            };
            rollout.release_id = Some(recorded.id.clone());
            sim_app.releases.push(recorded);
        }
        rollout.updated.insert(machine_id.to_string());
        let (outcome, settles) = (rollout.outcome, rollout.settles);
        sim_app.rollout = Some(rollout);
        let metadata = config.get("metadata").and_then(Value::as_object);
        let machine = &mut sim_app.machines[index];
        machine.image = release.image_ref.clone();
        machine.image_tag = release.image_tag.clone();
        machine.image_digest = release.image_digest.clone();
        if let Some(release_id) = metadata
            .and_then(|metadata| metadata.get("fly_release_id"))
            .and_then(Value::as_str)
        {
            machine.release_id = release_id.to_string();
        }
        if let Some(version) = metadata
            .and_then(|metadata| metadata.get("fly_release_version"))
            .and_then(Value::as_str)
            .and_then(|version| version.parse().ok())
        {
            machine.release_version = version;
        }
        machine.instance_seed = seed * 16 + index as u64;
        machine.state = "starting".into();
        machine.updated_at = Utc::now();
        machine.settles = match outcome {
            SimRollbackOutcome::GoesLive | SimRollbackOutcome::Refused => {
                Some((settles, "started"))
            }
            SimRollbackOutcome::Fails => Some((settles, "failed")),
            SimRollbackOutcome::NeverLive => Some((
                Instant::now() + std::time::Duration::from_secs(365 * 24 * 3600),
                "started",
            )),
        };
        Ok(machine.to_json(app))
    }

    /// The Fly routes, relative to the simulator's prefix.
    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route(GRAPHQL_PATH, post(graphql))
            .route(
                &format!("{MACHINES_PATH}/apps/{{app}}/machines"),
                get(list_machines),
            )
            .route(
                &format!("{MACHINES_PATH}/apps/{{app}}/machines/{{machine_id}}"),
                post(update_machine),
            )
            .fallback(unknown_route)
            .with_state(self)
    }

    /// fly-go sends `FlyV1 <token>` for macaroon tokens (`fm1r_…`, `fm2_…`) and `Bearer
    /// <token>` for the others. Whether Fly also accepts the other scheme is UNCONFIRMED; the
    /// simulator insists on fly-go's choice, so the client's choice is tested.
    fn authorized(&self, headers: &HeaderMap) -> bool {
        let is_macaroon = self
            .token
            .split(',')
            .any(|part| MACAROON_PREFIXES.contains(&part.split('_').next().unwrap_or_default()));
        let scheme = if is_macaroon { "FlyV1 " } else { "Bearer " };
        headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix(scheme))
            .is_some_and(|given| given == self.token)
    }

    /// Answers the `app(name:)` field of a query.
    fn execute(
        &self,
        query: &str,
        variables: &Map<String, Value>,
    ) -> Result<Value, GraphQlFailure> {
        let app_call = find_field(query, "app", variables).ok_or_else(|| {
            GraphQlFailure::bad_request("the Fly simulator answers only app(name:) queries")
        })?;
        let Some(name) = app_call.arguments.get("name").and_then(Value::as_str) else {
            return Err(GraphQlFailure::bad_request(
                "Argument 'name' on Field 'app' is required here",
            ));
        };
        let scenario = lock(&self.scenario);
        let Some(sim_app) = scenario.apps.get(name) else {
            // Fly's wording and code for an unknown app are UNCONFIRMED; this follows the
            // common GraphQL shape (null field, error with its path and a NOT_FOUND code).
            return Err(GraphQlFailure {
                status: StatusCode::OK,
                message: format!("Could not find App \"{name}\""),
                code: Some("NOT_FOUND"),
                path: Some(app_call.key),
            });
        };
        let mut app_json = Map::new();
        app_json.insert("id".into(), json!(name));
        app_json.insert("name".into(), json!(name));
        if let Some(call) = find_field(query, "currentReleaseUnprocessed", variables) {
            let current = sim_app
                .current_release()
                .map_or(Value::Null, SimRelease::to_json);
            app_json.insert(call.key, current);
        }
        if let Some(call) = find_field(query, "releasesUnprocessed", variables) {
            app_json.insert(call.key, releases_connection(sim_app, &call.arguments)?);
        }
        Ok(json!({ app_call.key: app_json }))
    }

    fn machines(&self, app: &str, query: Option<&str>) -> Option<Vec<Value>> {
        let mut include_deleted = false;
        let mut region: Option<String> = None;
        let mut metadata: Vec<(String, String)> = Vec::new();
        for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            match key.as_ref() {
                "include_deleted" => include_deleted = value == "true",
                "region" => region = Some(value.into_owned()),
                key => {
                    if let Some(name) = key.strip_prefix("metadata.") {
                        metadata.push((name.to_string(), value.into_owned()));
                    }
                }
            }
        }
        let mut scenario = lock(&self.scenario);
        let sim_app = scenario.apps.get_mut(app)?;
        sim_app.advance(Instant::now(), Utc::now());
        Some(
            sim_app
                .machines
                .iter()
                .filter(|machine| include_deleted || machine.state != "destroyed")
                .filter(|machine| region.as_deref().is_none_or(|r| r == machine.region))
                .map(|machine| machine.to_json(app))
                .filter(|machine| {
                    metadata.iter().all(|(key, value)| {
                        machine["config"]["metadata"][key.as_str()].as_str() == Some(value.as_str())
                    })
                })
                .collect(),
        )
    }
}

/// `releasesUnprocessed(first, after, status)`: newest first, Relay cursors.
fn releases_connection(
    sim_app: &SimApp,
    arguments: &Map<String, Value>,
) -> Result<Value, GraphQlFailure> {
    if ["last", "before"]
        .iter()
        .any(|name| arguments.get(*name).is_some_and(|value| !value.is_null()))
    {
        return Err(GraphQlFailure::bad_request(
            "the Fly simulator pages forwards only (first/after)",
        ));
    }
    let first =
        match arguments.get("first") {
            None | Some(Value::Null) => MAX_PAGE_SIZE,
            Some(value) => match value.as_i64() {
                Some(first) if first >= 0 => (first as usize).min(MAX_PAGE_SIZE),
                _ => return Err(GraphQlFailure::bad_request(
                    "Argument 'first' on Field 'releasesUnprocessed' must be a non-negative Int",
                )),
            },
        };
    let status = arguments.get("status").and_then(Value::as_str);
    let releases: Vec<&SimRelease> = sim_app
        .releases_newest_first()
        .into_iter()
        .filter(|release| status.is_none_or(|status| release.status == status))
        .collect();
    let start = match arguments.get("after").and_then(Value::as_str) {
        None => 0,
        Some(cursor) => {
            let invalid = || GraphQlFailure::bad_request(format!("Invalid cursor: {cursor}"));
            let seed = decode_cursor(cursor).ok_or_else(invalid)?;
            releases
                .iter()
                .position(|release| release.seed == seed)
                .ok_or_else(invalid)?
                + 1
        }
    };
    let page: Vec<&SimRelease> = releases.iter().skip(start).take(first).copied().collect();
    let has_next_page = start + page.len() < releases.len();
    Ok(json!({
        "nodes": page.iter().map(|release| release.to_json()).collect::<Vec<_>>(),
        "edges": page
            .iter()
            .map(|release| json!({ "cursor": encode_cursor(release.seed), "node": release.to_json() }))
            .collect::<Vec<_>>(),
        "pageInfo": {
            "endCursor": page.last().map(|release| encode_cursor(release.seed)),
            "startCursor": page.first().map(|release| encode_cursor(release.seed)),
            "hasNextPage": has_next_page,
            "hasPreviousPage": start > 0,
        },
        "totalCount": releases.len(),
    }))
}

// ---------------------------------------------------------------------------------------------
// A tiny field finder (not a GraphQL parser)
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests;

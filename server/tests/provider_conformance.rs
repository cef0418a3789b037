//! What every provider client must do against its simulator, as one table: a row per client
//! (every provider with a client in `server::providers`), the same cases for each. A row says
//! where its provider genuinely differs, with the reason. Each `provider_*.rs` keeps only
//! what is that provider's own (API shapes, live markers, rollback semantics, previews).
//!
//! Cases: paging newest-first up to the depth; the live deployment against a newer failed
//! decoy (and how the ready one it replaced reads); a wrong token and an injected 401 (typed,
//! the token never echoed); a resource the token cannot see (403 where the provider says so);
//! 429 with its wait; 5xx; a timeout; garbage JSON; and, for providers with rollbacks, a rollback the provider fails and one that
//! never goes live (reported as failed / still waiting, in the provider's words, with the live
//! deployment left alone). A failure names its (provider, case) pair.

mod common;

use app::model::DeployState;
use common::providers::{ids, named, Kit, PushOrder, Simulated};
use futures::future::LocalBoxFuture;
use server::providers::rollback::{RollbackProgress, RollbackRequest};
use server::providers::{list_recent_deployments, DeploymentProvider, PageCursor, ProviderError};
use server::simulators::cloudflare::CloudflarePagesSimulator;
use server::simulators::digitalocean::DigitalOceanSimulator;
use server::simulators::fly::FlySimulator;
use server::simulators::github::GithubSimulator;
use server::simulators::heroku::HerokuSimulator;
use server::simulators::netlify::NetlifySimulator;
use server::simulators::railway::RailwaySimulator;
use server::simulators::render::RenderSimulator;
use server::simulators::supabase::SupabaseSimulator;
use server::simulators::vercel::VercelSimulator;
use server::simulators::{SimFault, SimOutcome, SimRollbackOutcome};
use std::time::Duration;

/// The typed error a case expects, by variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Unauthorized,
    Forbidden,
    NotFound,
    RateLimited,
    Timeout,
    Unavailable,
    Malformed,
    Other,
}

fn kind(error: &ProviderError) -> Kind {
    match error {
        ProviderError::Unauthorized { .. } => Kind::Unauthorized,
        ProviderError::Forbidden { .. } => Kind::Forbidden,
        ProviderError::NotFound { .. } => Kind::NotFound,
        ProviderError::RateLimited { .. } => Kind::RateLimited,
        ProviderError::Timeout => Kind::Timeout,
        ProviderError::Unavailable { .. } => Kind::Unavailable,
        ProviderError::Malformed { .. } => Kind::Malformed,
        _ => Kind::Other,
    }
}

fn message(error: &ProviderError) -> &str {
    match error {
        ProviderError::Unauthorized { message }
        | ProviderError::Forbidden { message }
        | ProviderError::NotFound { message }
        | ProviderError::RateLimited { message, .. }
        | ProviderError::Unavailable { message, .. } => message,
        _ => "",
    }
}

/// An expected error: its variant and, where the provider's body is worth pinning, the text
/// the client must carry from it.
#[derive(Clone, Copy, Debug)]
struct Want {
    kind: Kind,
    says: Option<&'static str>,
}

const fn want(kind: Kind) -> Want {
    Want { kind, says: None }
}

const fn saying(kind: Kind, says: &'static str) -> Want {
    Want {
        kind,
        says: Some(says),
    }
}

/// How a provider's history reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum History {
    /// Deployments in pages (every deployment provider pages).
    Paged,
    /// No deployments at all (the provider is a health source).
    None,
}

/// How a provider words a rollback that fails and one that never goes live.
#[derive(Clone, Copy, Debug)]
struct RollbackWords {
    /// Whether the request places the provider's hold (as the page asks by default where the
    /// provider has one).
    place_hold: bool,
    /// What the failed rollback's reason carries from the provider (its failed state).
    failed_says: &'static str,
    /// What the still-waiting rollback's detail carries (the provider's in-progress state);
    /// `None` where the check is only that it is still waiting.
    waiting_says: Option<&'static str>,
    /// Whether the deployment that was live still reads as live while the rollback waits.
    waiting_keeps_live: bool,
}

const fn rollback_words(
    place_hold: bool,
    failed_says: &'static str,
    waiting_says: Option<&'static str>,
) -> RollbackWords {
    RollbackWords {
        place_hold,
        failed_says,
        waiting_says,
        waiting_keeps_live: true,
    }
}

/// How a ready deployment reads once a newer one took over (beside its state in `states`).
#[derive(Clone, Copy, Debug)]
struct Replaced {
    /// The provider's own state for it.
    says: &'static str,
    /// It no longer names a URL (the address now serves the newer one).
    url_cleared: bool,
    /// It keeps the time it finished, not the time it was replaced.
    finish_kept: bool,
}

const fn replaced(says: &'static str, url_cleared: bool, finish_kept: bool) -> Option<Replaced> {
    Some(Replaced {
        says,
        url_cleared,
        finish_kept,
    })
}

struct Row {
    provider: &'static str,
    run: for<'a> fn(&'a Row) -> LocalBoxFuture<'a, Vec<String>>,
    history: History,
    /// A token the provider does not know.
    wrong_token: Want,
    /// An injected 401.
    unauthorized: Want,
    /// A resource (team, account, app, …) the token cannot see; `None` where the API answers
    /// it with an empty list rather than an error.
    elsewhere: Option<Want>,
    /// The states of the mixed history (`MIXED_HISTORY`), newest first, in Lookout's terms.
    states: [DeployState; 8],
    /// API requests for a depth of five in pages of two, then for the whole history of eight
    /// in pages of three (on the same client).
    paging_requests: [u64; 2],
    rate_limited: Want,
    /// How far below the announced wait the reported one may be (a reset clock rounds).
    retry_after_slack: Duration,
    /// `None` where the provider's own file tells the story (no superseded state, or more to it).
    replaced: Option<Replaced>,
    /// An id the provider does not know, in its own id format, and how reading it fails.
    unknown_id: Option<(&'static str, Want)>,
    /// The status with which a cursor the provider never issued is rejected.
    bad_cursor: Option<u16>,
    /// `None` where Lookout does not roll the provider back.
    rollbacks: Option<RollbackWords>,
}

use DeployState::{Building, Canceled, Deploying, Failed, Ready, Superseded};

/// Newest first: building, live, and each earlier ready one superseded.
const SUPERSEDING: [DeployState; 8] = [
    Building, Ready, Superseded, Canceled, Superseded, Failed, Superseded, Failed,
];

/// Where the provider has no superseded state: a replaced deployment stays ready, only no
/// longer live.
const REPLACED_STAY_READY: [DeployState; 8] = [
    Building, Ready, Ready, Canceled, Ready, Failed, Ready, Failed,
];

const DEFAULTS: Row = Row {
    provider: "",
    run: |_| Box::pin(async { vec!["a row without a runner".into()] }),
    history: History::Paged,
    wrong_token: want(Kind::Unauthorized),
    unauthorized: want(Kind::Unauthorized),
    elsewhere: Some(want(Kind::NotFound)),
    paging_requests: [3, 3],
    states: SUPERSEDING,
    rate_limited: want(Kind::RateLimited),
    retry_after_slack: Duration::ZERO,
    replaced: None,
    unknown_id: None,
    bad_cursor: None,
    rollbacks: None,
};

fn rows() -> Vec<Row> {
    vec![
        Row {
            provider: "cloudflare",
            run: |row| Box::pin(run::<CloudflarePagesSimulator>(row)),
            states: REPLACED_STAY_READY,
            // Cloudflare answers a bad token with 403 and its error code 10000.
            wrong_token: saying(Kind::Forbidden, "Authentication error (code 10000)"),
            // Another account's project is refused, not hidden.
            elsewhere: Some(want(Kind::Forbidden)),
            rate_limited: saying(Kind::RateLimited, "code 971"),
            ..DEFAULTS
        },
        Row {
            provider: "digitalocean",
            run: |row| Box::pin(run::<DigitalOceanSimulator>(row)),
            wrong_token: saying(Kind::Unauthorized, "Unable to authenticate you."),
            rate_limited: saying(Kind::RateLimited, "API rate limit exceeded."),
            // The deployment's phase: `ERROR`, or still `DEPLOYING`.
            replaced: replaced("SUPERSEDED", false, true),
            unknown_id: Some((
                "no-such-deployment",
                saying(
                    Kind::NotFound,
                    "The resource you requested could not be found.",
                ),
            )),
            bad_cursor: Some(400),
            rollbacks: Some(rollback_words(false, "ERROR", Some("DEPLOYING"))),
            ..DEFAULTS
        },
        Row {
            provider: "fly",
            run: |row| Box::pin(run::<FlySimulator>(row)),
            // GraphQL answers a wrong token with 200 and an error body; the body decides.
            // A release being rolled out onto the machines is `running`: deploying, not building.
            states: [
                Deploying, Ready, Superseded, Canceled, Superseded, Failed, Superseded, Failed,
            ],
            // The release's status; a rollback the machines never finish stays `starting`.
            // While they start, every machine already carries the target's image (updated in
            // place), so live reads as the target before the rollback settles.
            // The replaced release is `complete`; only the live one has the app's URL.
            replaced: replaced("complete", true, false),
            unknown_id: Some(("rel_doesnotexist", want(Kind::NotFound))),
            // GraphQL: a cursor it cannot read is an error in a 200 body.
            bad_cursor: Some(200),
            rollbacks: Some(RollbackWords {
                waiting_keeps_live: false,
                ..rollback_words(true, "failed", Some("starting"))
            }),
            ..DEFAULTS
        },
        Row {
            provider: "github",
            run: |row| Box::pin(run::<GithubSimulator>(row)),
            // N+1: a status call per deployment listed, on top of the list pages; a terminal
            // status other than `success` is cached per client (success can still turn
            // `inactive`), so the second read asks again only for the rest.
            paging_requests: [9, 7],
            wrong_token: saying(Kind::Unauthorized, "Bad credentials"),
            // `in_progress` is deploying; GitHub has no canceled state (it goes `inactive`).
            states: [
                Deploying, Ready, Superseded, Superseded, Superseded, Failed, Superseded, Failed,
            ],
            // The new deployment's latest status: `failure`, or still `in_progress`.
            rollbacks: Some(rollback_words(true, "failure", Some("in_progress"))),
            ..DEFAULTS
        },
        Row {
            provider: "heroku",
            run: |row| Box::pin(run::<HerokuSimulator>(row)),
            // Each release's slug is looked up once per client (the commit lives there).
            paging_requests: [9, 5],
            wrong_token: saying(Kind::Unauthorized, "Invalid credentials provided."),
            rate_limited: saying(Kind::RateLimited, "Your account reached the API rate limit"),
            // A release is `pending` until it is current, and Heroku has no canceled release.
            states: [
                Deploying, Ready, Superseded, Failed, Superseded, Failed, Superseded, Failed,
            ],
            // The rollback release's status: `failed`, or still `pending`.
            // A replaced release stays `succeeded`; only `current` moves on.
            replaced: replaced("succeeded", false, false),
            rollbacks: Some(rollback_words(true, "failed", Some("pending"))),
            ..DEFAULTS
        },
        Row {
            provider: "netlify",
            run: |row| Box::pin(run::<NetlifySimulator>(row)),
            states: REPLACED_STAY_READY,
            // Netlify announces a reset time (`X-RateLimit-Reset`), not a wait: by the time
            // the client reads it, up to a second of it has passed.
            retry_after_slack: Duration::from_secs(1),
            wrong_token: saying(Kind::Unauthorized, "Access Denied"),
            rate_limited: saying(Kind::RateLimited, "Rate limit exceeded"),
            ..DEFAULTS
        },
        Row {
            provider: "railway",
            run: |row| Box::pin(run::<RailwaySimulator>(row)),
            // GraphQL: an unknown token is an error in a 200 body, which the client still
            // types as Unauthorized.
            wrong_token: saying(Kind::Unauthorized, "Not Authorized"),
            // Deployments are filtered by project and service: another's reads as empty.
            elsewhere: None,
            // The redeployed deployment's status: `FAILED`; while waiting the detail is only
            // checked to be a wait.
            rollbacks: Some(rollback_words(false, "FAILED", None)),
            ..DEFAULTS
        },
        Row {
            provider: "render",
            run: |row| Box::pin(run::<RenderSimulator>(row)),
            // The rollback deploy's status: `update_failed`; a wait is only checked as a wait.
            replaced: replaced("deactivated", true, false),
            unknown_id: Some((
                "dep-doesnotexist",
                saying(Kind::NotFound, "deploy not found"),
            )),
            bad_cursor: Some(400),
            rollbacks: Some(rollback_words(false, "update_failed", None)),
            ..DEFAULTS
        },
        Row {
            provider: "supabase",
            run: |row| Box::pin(run::<SupabaseSimulator>(row)),
            // A health source: no deployments to page or to find live; the cases read the
            // project's health.
            history: History::None,
            wrong_token: saying(Kind::Unauthorized, "Unauthorized"),
            // Another organisation's project is refused, not hidden.
            elsewhere: Some(saying(Kind::Forbidden, "does not have access")),
            ..DEFAULTS
        },
        Row {
            provider: "vercel",
            run: |row| Box::pin(run::<VercelSimulator>(row)),
            states: REPLACED_STAY_READY,
            // Vercel documents `forbidden` (403) for a bad token.
            wrong_token: want(Kind::Forbidden),
            unauthorized: saying(Kind::Unauthorized, "Not authorized"),
            // Another team's project is refused, not hidden.
            elsewhere: Some(want(Kind::Forbidden)),
            rate_limited: saying(Kind::RateLimited, "rate limit"),
            // The promotion's status: `failed`, or still `pending`.
            rollbacks: Some(rollback_words(false, "failed", Some("pending"))),
            ..DEFAULTS
        },
    ]
}

#[tokio::test]
async fn every_provider_client_passes_every_case() {
    let rows = rows();
    let failures: Vec<String> = futures::future::join_all(rows.iter().map(|row| (row.run)(row)))
        .await
        .into_iter()
        .flatten()
        .collect();
    assert!(
        failures.is_empty(),
        "{} failing (provider, case) pairs:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

type Outcome = Result<(), String>;

/// Every case of the table for one row; the failures, each named `(provider, case)`.
async fn run<S: Simulated>(row: &Row) -> Vec<String> {
    let mut outcomes = vec![
        ("wrong token", wrong_token::<S>(row).await),
        ("401", unauthorized::<S>(row).await),
        ("403 elsewhere", elsewhere::<S>(row).await),
        ("429", rate_limited::<S>(row).await),
        ("5xx", server_error::<S>().await),
        ("timeout", timeout::<S>().await),
        ("garbage", garbage::<S>().await),
    ];
    if row.history == History::Paged {
        outcomes.push(("paging", paging::<S>(row).await));
        outcomes.push((
            "live vs a newer failed decoy",
            live_not_newest::<S>(row).await,
        ));
        outcomes.push(("by id and unknown ids", by_id::<S>(row).await));
    }
    if let Some(words) = row.rollbacks {
        outcomes.push((
            "rollback fails",
            failed_rollback::<S>(words, SimRollbackOutcome::Fails).await,
        ));
        outcomes.push((
            "rollback never goes live",
            failed_rollback::<S>(words, SimRollbackOutcome::NeverLive).await,
        ));
    }
    outcomes
        .into_iter()
        .filter_map(|(case, outcome)| {
            outcome
                .err()
                .map(|why| format!("({}, {case}): {why}", row.provider))
        })
        .collect()
}

fn ensure(holds: bool, why: impl FnOnce() -> String) -> Outcome {
    if holds {
        Ok(())
    } else {
        Err(why())
    }
}

/// The read failed as `want` says.
fn expect_error(result: Result<(), ProviderError>, want: Want) -> Result<ProviderError, String> {
    let error = match result {
        Ok(()) => return Err(format!("expected {:?}, the call succeeded", want.kind)),
        Err(error) => error,
    };
    ensure(kind(&error) == want.kind, || {
        format!("expected {:?}, got {error:?}", want.kind)
    })?;
    if let Some(says) = want.says {
        ensure(message(&error).contains(says), || {
            format!("expected the message to say {says:?}, got {error:?}")
        })?;
    }
    Ok(error)
}

/// Neither the error nor the client's `Debug` shows `token`.
fn never_echoed(error: &ProviderError, client: &impl std::fmt::Debug, token: &str) -> Outcome {
    ensure(
        !format!("{error:?} {error} {client:?}").contains(token),
        || format!("the token {token:?} is echoed in {error:?} or the client"),
    )
}

/// A fault is used once: the read after it is served.
async fn served_after<S: Simulated>(client: &S::Client) -> Outcome {
    S::read(client)
        .await
        .map_err(|error| format!("the call after the fault failed too: {error:?}"))
}

async fn wrong_token<S: Simulated>(row: &Row) -> Outcome {
    let kit = Kit::<S>::start().await;
    let wrong = format!("{}_but_wrong", S::TOKEN);
    let client = kit.client_with_token(&wrong);
    let error = expect_error(S::read(&client).await, row.wrong_token)?;
    never_echoed(&error, &client, &wrong)
}

async fn unauthorized<S: Simulated>(row: &Row) -> Outcome {
    let kit = Kit::<S>::start().await;
    let client = kit.client();
    kit.faults().push_once(SimFault::Unauthorized);
    let error = expect_error(S::read(&client).await, row.unauthorized)?;
    never_echoed(&error, &client, S::TOKEN)?;
    served_after::<S>(&client).await
}

async fn elsewhere<S: Simulated>(row: &Row) -> Outcome {
    let kit = Kit::<S>::start().await;
    kit.sim.push(&common::providers::spec(1, SimOutcome::Ready));
    let client = kit.client_elsewhere();
    let Some(want) = row.elsewhere else {
        return match S::provider(&client) {
            Some(provider) => {
                let page = provider.list_deployments(None, 10).await;
                ensure(
                    page.as_ref().is_ok_and(|page| page.deployments.is_empty()),
                    || format!("expected an empty list for another resource, got {page:?}"),
                )
            }
            None => Err("a row without deployments must say how another resource fails".into()),
        };
    };
    let error = expect_error(S::read(&client).await, want)?;
    never_echoed(&error, &client, S::TOKEN)
}

async fn rate_limited<S: Simulated>(row: &Row) -> Outcome {
    let kit = Kit::<S>::start().await;
    let client = kit.client();
    let announced = Duration::from_secs(17);
    kit.faults().push_once(SimFault::RateLimited {
        retry_after_secs: announced.as_secs(),
    });
    let error = expect_error(S::read(&client).await, row.rate_limited)?;
    let waits = error.retry_after();
    ensure(
        waits.is_some_and(|wait| wait <= announced && wait >= announced - row.retry_after_slack),
        || format!("expected retry_after {announced:?}, got {waits:?}"),
    )?;
    served_after::<S>(&client).await
}

async fn server_error<S: Simulated>() -> Outcome {
    let kit = Kit::<S>::start().await;
    let client = kit.client();
    kit.faults().push_once(SimFault::ServerError);
    let error = expect_error(S::read(&client).await, want(Kind::Unavailable))?;
    ensure(
        matches!(
            error,
            ProviderError::Unavailable {
                status: Some(503),
                ..
            }
        ),
        || format!("expected the 503 to be kept, got {error:?}"),
    )?;
    served_after::<S>(&client).await
}

async fn timeout<S: Simulated>() -> Outcome {
    let kit = Kit::<S>::start().await;
    kit.faults().push_once(SimFault::Slow { millis: 1_500 });
    expect_error(S::read(&kit.impatient_client()).await, want(Kind::Timeout)).map(drop)
}

/// Every read (the list, what is live, one deployment) is Malformed, not a panic or a guess.
async fn garbage<S: Simulated>() -> Outcome {
    let kit = Kit::<S>::start().await;
    let id = kit.sim.push(&common::providers::spec(1, SimOutcome::Ready));
    let client = kit.client();
    kit.faults().set_sticky(SimFault::Garbage);
    expect_error(S::read(&client).await, want(Kind::Malformed))?;
    if let (Some(provider), Some(id)) = (S::provider(&client), id) {
        expect_error(
            provider.live_deployments().await.map(drop),
            want(Kind::Malformed),
        )?;
        expect_error(
            provider.deployment(&id).await.map(drop),
            want(Kind::Malformed),
        )?;
    }
    kit.faults().clear();
    served_after::<S>(&client).await
}

fn provider_of<S: Simulated>(client: &S::Client) -> &dyn DeploymentProvider {
    S::provider(client).expect("a row with a history has a deployment provider")
}

/// Eight deployments read newest first, two a page: a depth of five takes three pages and no
/// more; the whole history reads once, with no request past the last page.
async fn paging<S: Simulated>(row: &Row) -> Outcome {
    let kit = Kit::<S>::start().await;
    let newest_first = kit.push_mixed_history(PushOrder::OldestFirst);
    let client = kit.client();
    let provider = provider_of::<S>(&client);

    let before = kit.requests();
    let five = list_recent_deployments(provider, 5, 2)
        .await
        .map_err(|error| format!("listing failed: {error:?}"))?;
    ensure(ids(&five) == newest_first[..5], || {
        format!("expected {:?}, got {:?}", &newest_first[..5], ids(&five))
    })?;
    ensure(
        five.windows(2)
            .all(|pair| pair[0].created_at > pair[1].created_at),
        || "not newest first by created_at".into(),
    )?;
    let requests = kit.requests() - before;
    ensure(requests == row.paging_requests[0], || {
        format!(
            "expected {} requests (pages 1, 2 and 3 of two each), made {requests}",
            row.paging_requests[0]
        )
    })?;

    let before = kit.requests();
    let all = list_recent_deployments(provider, 100, 3)
        .await
        .map_err(|error| format!("listing failed: {error:?}"))?;
    ensure(ids(&all) == newest_first, || {
        format!(
            "expected every deployment once: {newest_first:?}, got {:?}",
            ids(&all)
        )
    })?;
    let states: Vec<DeployState> = all.iter().map(|d| d.state).collect();
    ensure(states == row.states, || {
        format!("expected the states {:?}, got {states:?}", row.states)
    })?;
    let requests = kit.requests() - before;
    ensure(requests == row.paging_requests[1], || {
        format!(
            "expected {} requests (three pages of three, none past the last), made {requests}",
            row.paging_requests[1]
        )
    })
}

/// The live deployment is the one the provider serves, not the newest: a newer failed build
/// leaves it alone, and an older ready one is no longer live.
async fn live_not_newest<S: Simulated>(row: &Row) -> Outcome {
    let kit = Kit::<S>::start().await;
    let replaced = kit.push(1, SimOutcome::Ready);
    let live = kit.push(5, SimOutcome::Ready);
    let decoy = kit.push(9, SimOutcome::Failed);
    let client = kit.client();
    let provider = provider_of::<S>(&client);

    let found = provider
        .live_deployments()
        .await
        .map_err(|error| format!("live failed: {error:?}"))?;
    let production: Vec<&str> = found
        .iter()
        .filter(|d| d.environment == named("production"))
        .map(|d| d.id.as_str())
        .collect();
    ensure(production == [live.as_str()], || {
        format!("expected {live} live in production (not {replaced} or the decoy {decoy}), got {found:#?}")
    })?;
    let decoy = provider
        .deployment(&decoy)
        .await
        .map_err(|error| format!("the decoy by id failed: {error:?}"))?;
    ensure(decoy.state == DeployState::Failed, || {
        format!("the decoy should read as failed: {decoy:?}")
    })?;
    let Some(expected) = row.replaced else {
        return Ok(());
    };
    let replaced = provider
        .deployment(&replaced)
        .await
        .map_err(|error| format!("the replaced one by id failed: {error:?}"))?;
    ensure(
        replaced.state == DeployState::Superseded && replaced.provider_state == expected.says,
        || {
            format!(
                "the replaced one should be superseded ({}): {replaced:?}",
                expected.says
            )
        },
    )?;
    ensure(!expected.url_cleared || replaced.url.is_none(), || {
        format!("the replaced one should name no URL: {replaced:?}")
    })?;
    ensure(
        !expected.finish_kept || replaced.finished_at == Some(common::providers::created(3)),
        || format!("the replaced one keeps when it finished (minute 3): {replaced:?}"),
    )
}

/// A rollback to the previous deployment that the provider fails (reported as failed, with the
/// provider's state in the reason) or that never goes live (still waiting when patience runs
/// out, in the provider's words): either way the live deployment is left alone.
async fn failed_rollback<S: Simulated>(
    words: RollbackWords,
    outcome: SimRollbackOutcome,
) -> Outcome {
    let kit = Kit::<S>::start().await;
    let [_, target, live] = kit.live_in_turn::<3>().await;
    let environment = named("production");
    let request = RollbackRequest {
        environment: &environment,
        target: &target,
        live: &live,
        reason: "bad release",
        place_hold: words.place_hold,
    };
    let patience = match outcome {
        SimRollbackOutcome::NeverLive => Duration::from_millis(600),
        _ => Duration::from_secs(5),
    };
    let progress = kit
        .settle_rollback((outcome, Duration::from_millis(100)), request, patience)
        .await;
    match (outcome, &progress) {
        (SimRollbackOutcome::Fails, RollbackProgress::Failed { reason }) => {
            ensure(reason.contains(words.failed_says), || {
                format!("the reason should say {:?}: {reason:?}", words.failed_says)
            })?
        }
        (SimRollbackOutcome::NeverLive, RollbackProgress::Waiting { detail }) => ensure(
            words.waiting_says.is_none_or(|says| detail.contains(says)),
            || format!("the detail should say {:?}: {detail:?}", words.waiting_says),
        )?,
        _ => return Err(format!("{outcome:?}: unexpected progress {progress:?}")),
    }
    let client = kit.client();
    let found = provider_of::<S>(&client)
        .live_deployments()
        .await
        .map_err(|error| format!("live failed: {error:?}"))?;
    let production: Vec<&str> = found
        .iter()
        .filter(|d| d.environment == named("production"))
        .map(|d| d.id.as_str())
        .collect();
    let expected = match outcome {
        SimRollbackOutcome::NeverLive if !words.waiting_keeps_live => &target.id,
        _ => &live.id,
    };
    ensure(production == [expected.as_str()], || {
        format!("{expected} should be live, got {found:#?}")
    })
}

/// Each deployment of the mixed history read by its id reads as it does in the list; an id the
/// provider does not know and a cursor it never issued fail as the row says.
async fn by_id<S: Simulated>(row: &Row) -> Outcome {
    let kit = Kit::<S>::start().await;
    let newest_first = kit.push_mixed_history(PushOrder::OldestFirst);
    let client = kit.client();
    let provider = provider_of::<S>(&client);
    for (id, state) in newest_first.iter().zip(row.states) {
        let found = provider
            .deployment(id)
            .await
            .map_err(|error| format!("{id} by id failed: {error:?}"))?;
        ensure(found.id == *id && found.state == state, || {
            format!("{id} should read as {state:?} by id, got {found:?}")
        })?;
    }
    if let Some((unknown, want)) = row.unknown_id {
        expect_error(provider.deployment(unknown).await.map(drop), want)?;
    }
    if let Some(status) = row.bad_cursor {
        let cursor = PageCursor("not-a-cursor".into());
        match provider.list_deployments(Some(&cursor), 10).await {
            Err(ProviderError::Rejected { status: got, .. }) if got == status => {}
            other => {
                return Err(format!(
                    "a cursor never issued should be rejected with {status}, got {other:?}"
                ))
            }
        }
    }
    Ok(())
}

//! Rollback as the page sees it: whether a deployment can be a target and why not, the plan
//! the confirmation page shows, the form it posts, and the operation the result page follows.
//! The flow itself (preflight, locks, provider calls, verification, audit) is the server's
//! (`server::rollback`).

use super::url::encode_component;
use super::{DeploymentView, EnvironmentKind, ProviderKind};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Whether a deployment can be rolled back to, shown on every history row and service row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "reason", rename_all = "snake_case")]
pub enum RollbackEligibility {
    Eligible,
    /// It is what is live now.
    Live,
    /// It cannot be a target; the reason is shown next to the row.
    Ineligible(String),
}

/// A hold a rollback placed (or may place) so the next push does not undo it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldKind {
    AutoDeployPaused,
    PublishingLocked,
    Pinned,
}

impl HoldKind {
    /// What the row says while it is in place.
    pub fn label(self) -> &'static str {
        match self {
            Self::AutoDeployPaused => "auto-deploy paused",
            Self::PublishingLocked => "auto publishing locked",
            Self::Pinned => "pinned to the rollback",
        }
    }

    /// What the dialog offers.
    pub fn offer(self) -> &'static str {
        match self {
            Self::AutoDeployPaused => "Pause auto-deploy, so the next push does not deploy again",
            Self::PublishingLocked => {
                "Lock auto publishing, so the next Git deploy does not replace the rollback"
            }
            Self::Pinned => "The app stays pinned to the rollback until you commit or revert it",
        }
    }
}

/// How a hold ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldRelease {
    Resume,
    Commit,
    Revert,
}

impl HoldRelease {
    pub fn name(self) -> &'static str {
        match self {
            Self::Resume => "resume",
            Self::Commit => "commit",
            Self::Revert => "revert",
        }
    }

    /// The button's words for a hold of `kind`.
    pub fn label(self, kind: HoldKind) -> &'static str {
        match (self, kind) {
            (Self::Resume, HoldKind::PublishingLocked) => "Unlock auto publishing",
            (Self::Resume, _) => "Resume auto-deploy",
            (Self::Commit, _) => "Commit the rollback (unpin)",
            (Self::Revert, _) => "Revert the rollback",
        }
    }
}

/// Whether the provider places the hold by itself or the dialog offers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldPlacement {
    Offered,
    Always,
}

/// Everything the confirmation page shows before the user commits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RollbackPlan {
    pub service: String,
    pub environment: String,
    pub environment_kind: EnvironmentKind,
    pub provider: ProviderKind,
    /// What is live now (the request carries its id; preflight refuses if it changed).
    pub from: DeploymentView,
    pub to: DeploymentView,
    /// Deployments between the target and the live one, newest first: what is undone.
    pub undone: Vec<DeploymentView>,
    /// What the provider will do, one sentence.
    pub action: String,
    pub caveats: Vec<String>,
    pub hold: Option<(HoldKind, HoldPlacement)>,
    /// Production asks for the service name to be typed.
    pub requires_typed_name: bool,
    /// Why it cannot go ahead (target ineligible, already in progress); the form is not shown.
    pub refusal: Option<String>,
    /// A fresh key for this confirmation: a double click or a retried post runs once.
    pub idempotency_key: String,
    /// When the plan was read.
    pub generated_at: DateTime<Utc>,
}

/// What the confirmation form posts (field names are the form's input names).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollbackRequestForm {
    pub service: String,
    pub environment: String,
    pub target: String,
    pub expected_live: String,
    pub idempotency_key: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub typed_name: String,
    /// A checkbox: present ("on") when ticked.
    #[serde(default)]
    pub place_hold: Option<String>,
}

impl RollbackRequestForm {
    /// The confirmation page again, with an error to show.
    pub fn retry_path(&self, error: &str) -> String {
        format!(
            "{}&error={}",
            confirm_path(&self.service, &self.environment, &self.target),
            encode_component(error)
        )
    }
}

/// Where a rollback operation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RollbackState {
    /// Recorded; the provider has not been called yet.
    Pending,
    /// The provider accepted it; waiting for the target to go live.
    Running,
    /// Verified: the provider's live deployment is the target.
    Succeeded,
    /// Refused by the provider, failed, or did not go live in time.
    Failed,
}

impl RollbackState {
    pub fn name(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Pending, Self::Running, Self::Succeeded, Self::Failed]
            .into_iter()
            .find(|state| state.name() == name)
    }

    pub fn is_finished(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "Starting",
            Self::Running => "Rolling back",
            Self::Succeeded => "Rolled back, verified",
            Self::Failed => "Failed",
        }
    }

    pub fn css_class(self) -> &'static str {
        match self {
            Self::Pending | Self::Running => "busy",
            Self::Succeeded => "ok",
            Self::Failed => "bad",
        }
    }
}

/// A short description of a deployment kept with the operation (the provider may forget it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentRef {
    pub id: String,
    pub commit_sha: Option<String>,
    pub summary: Option<String>,
}

impl DeploymentRef {
    /// "abc1234 Fix checkout" or the id.
    pub fn describe(&self) -> String {
        match (&self.commit_sha, &self.summary) {
            (Some(sha), Some(summary)) => {
                format!("{} {summary}", sha.get(..7).unwrap_or(sha))
            }
            (Some(sha), None) => sha.get(..7).unwrap_or(sha).to_string(),
            (None, Some(summary)) => format!("{} ({summary})", self.id),
            (None, None) => self.id.clone(),
        }
    }
}

/// A hold as the pages show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldView {
    pub kind: HoldKind,
    /// `None` while it is in place; who ended it is `None` for anonymous readers.
    pub released: Option<(HoldRelease, Option<String>, DateTime<Utc>)>,
}

/// One rollback operation: the result page, and the note on the service row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollbackView {
    pub id: i64,
    pub service: String,
    pub environment: String,
    pub provider: ProviderKind,
    /// Who asked and why: `None` for anonymous readers of a public dashboard, who see that a
    /// rollback happened but not who or why ([`RollbackView::for_anonymous`]).
    pub actor: Option<String>,
    pub reason: Option<String>,
    pub from: DeploymentRef,
    pub to: DeploymentRef,
    pub state: RollbackState,
    /// The latest progress or the failure, in the provider's words where it gave some.
    pub detail: Option<String>,
    pub new_deployment_id: Option<String>,
    pub requested_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub hold: Option<HoldView>,
    /// Whether the visitor may release the hold (a deployer of this environment).
    pub may_release_hold: bool,
    /// The server's clock when this was read.
    pub generated_at: DateTime<Utc>,
}

impl RollbackView {
    /// The result page of this operation.
    pub fn path(&self) -> String {
        rollback_path(self.id)
    }

    /// The operation as `audience` may see it.
    pub fn for_audience(self, audience: crate::auth::Audience) -> Self {
        match audience {
            crate::auth::Audience::SignedIn => self,
            crate::auth::Audience::Anonymous => self.for_anonymous(),
        }
    }

    /// What an anonymous reader may see: the operation without who asked, why, or who
    /// ended its hold.
    pub fn for_anonymous(mut self) -> Self {
        self.actor = None;
        self.reason = None;
        if let Some(hold) = self.hold.as_mut() {
            if let Some((_, by, _)) = hold.released.as_mut() {
                *by = None;
            }
        }
        self
    }
}

/// The SSE event name of `/api/v1/rollbacks/{id}/events`.
pub const ROLLBACK_EVENT: &str = "rollback";

/// `/rollbacks/{id}`.
pub fn rollback_path(id: i64) -> String {
    format!("/rollbacks/{id}")
}

/// The most recent rollback of a service in an environment, for the service row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollbackNote {
    pub id: i64,
    pub state: RollbackState,
    pub to: DeploymentRef,
    /// Who started it; `None` for anonymous readers.
    pub actor: Option<String>,
    pub at: DateTime<Utc>,
    /// A hold still in place.
    pub hold: Option<HoldKind>,
}

/// What the row offers for "Roll back to previous".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RollbackOffer {
    /// The newest earlier deployment that can be a target.
    Previous { target: Box<DeploymentView> },
    /// Why there is nothing to roll back to.
    Unavailable { reason: String },
}

/// The confirmation page's link for rolling `service` in `environment` back to `target`.
pub fn confirm_path(service: &str, environment: &str, target: &str) -> String {
    format!(
        "/rollback?service={}&environment={}&target={}",
        encode_component(service),
        encode_component(environment),
        encode_component(target)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confirm_links_encode_their_values() {
        assert_eq!(
            confirm_path("api", "preview/feature x", "dep-1&x=2"),
            "/rollback?service=api&environment=preview%2Ffeature%20x&target=dep-1%26x%3D2"
        );
    }

    #[test]
    fn state_names_round_trip() {
        for state in [
            RollbackState::Pending,
            RollbackState::Running,
            RollbackState::Succeeded,
            RollbackState::Failed,
        ] {
            assert_eq!(RollbackState::from_name(state.name()), Some(state));
        }
    }

    #[test]
    fn deployment_refs_describe_themselves() {
        let reference = DeploymentRef {
            id: "dep-1".into(),
            commit_sha: Some("0123456789".into()),
            summary: Some("Fix it".into()),
        };
        assert_eq!(reference.describe(), "0123456 Fix it");
    }
}

//! Rollback notifications: each `[[notifications]]` webhook hears when a rollback starts and
//! how it ended. Sending never holds up or fails a rollback: each message is its own task
//! with a short timeout, and a failure is logged (naming the URL's variable, never the URL).

use crate::config::{NotificationFormat, NotificationTarget};
use crate::store::RollbackRecord;
use app::rollback::{rollback_path, RollbackState};
use serde_json::json;
use std::time::Duration;

/// How long one webhook may take to answer.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// Which moment of a rollback a message is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RollbackMoment {
    Started,
    Finished,
}

impl RollbackMoment {
    fn event(self) -> &'static str {
        match self {
            Self::Started => "rollback.started",
            Self::Finished => "rollback.finished",
        }
    }
}

pub struct Notifier {
    http: reqwest::Client,
    targets: Vec<NotificationTarget>,
    /// `server.public_url`, for links back to the result page.
    public_url: Option<String>,
}

impl Notifier {
    pub fn new(
        http: reqwest::Client,
        targets: Vec<NotificationTarget>,
        public_url: Option<String>,
    ) -> Self {
        Self {
            http,
            targets,
            public_url,
        }
    }

    /// Sends `moment` of `record` to every webhook that wants its environment.
    pub fn announce(&self, record: &RollbackRecord, moment: RollbackMoment) {
        for target in self
            .targets
            .iter()
            .filter(|target| target.wants(&record.environment))
        {
            let body = match target.format {
                NotificationFormat::Slack => json!({ "text": self.text(record, moment) }),
                NotificationFormat::Json => self.structured(record, moment),
            };
            let request = self
                .http
                .post(target.url.expose())
                .timeout(SEND_TIMEOUT)
                .json(&body);
            let variable = target.url_env.clone();
            tokio::spawn(async move {
                match request.send().await {
                    Ok(response) if response.status().is_success() => {}
                    Ok(response) => {
                        tracing::warn!(webhook = %variable, status = %response.status(), "a rollback notification was refused");
                    }
                    Err(error) => {
                        tracing::warn!(webhook = %variable, error = %error.without_url(), "a rollback notification could not be sent");
                    }
                }
            });
        }
    }

    fn link(&self, record: &RollbackRecord) -> Option<String> {
        self.public_url
            .as_ref()
            .map(|base| format!("{base}{}", rollback_path(record.id)))
    }

    /// One line for chat.
    fn text(&self, record: &RollbackRecord, moment: RollbackMoment) -> String {
        let what = format!(
            "{} in {} ({}): {} → {}",
            record.service,
            record.environment,
            record.provider,
            record.from.describe(),
            record.to.describe()
        );
        let mut text = match (moment, record.state) {
            (RollbackMoment::Started, _) | (_, RollbackState::Pending | RollbackState::Running) => {
                format!(
                    "↶ {} is rolling back {what}. Reason: {}",
                    record.actor, record.reason
                )
            }
            (RollbackMoment::Finished, RollbackState::Succeeded) => format!(
                "✅ Rollback #{} of {what} succeeded: {}",
                record.id,
                record.detail.as_deref().unwrap_or("verified")
            ),
            (RollbackMoment::Finished, RollbackState::Failed) => format!(
                "❌ Rollback #{} of {what} failed: {}",
                record.id,
                record.detail.as_deref().unwrap_or("no detail")
            ),
        };
        if let Some(link) = self.link(record) {
            text.push_str(&format!(" <{link}>"));
        }
        text
    }

    fn structured(&self, record: &RollbackRecord, moment: RollbackMoment) -> serde_json::Value {
        json!({
            "event": moment.event(),
            "rollback": {
                "id": record.id,
                "service": record.service,
                "environment": record.environment,
                "provider": record.provider,
                "actor": record.actor,
                "reason": record.reason,
                "from": record.from,
                "to": record.to,
                "state": record.state,
                "detail": record.detail,
                "new_deployment_id": record.new_deployment_id,
                "requested_at": record.requested_at,
                "finished_at": record.finished_at,
                "url": self.link(record),
            }
        })
    }
}

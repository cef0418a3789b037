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

    /// One line for chat. Everything that is not Lookout's own (the reason, the actor, commit
    /// messages, the provider's detail) is escaped, so it reads as text and cannot mention
    /// `<!channel>` or disguise a link.
    fn text(&self, record: &RollbackRecord, moment: RollbackMoment) -> String {
        let what = escape_mrkdwn(&format!(
            "{} in {} ({}): {} → {}",
            record.service,
            record.environment,
            record.provider,
            record.from.describe(),
            record.to.describe()
        ));
        let mut text = match (moment, record.state) {
            (RollbackMoment::Started, _) | (_, RollbackState::Pending | RollbackState::Running) => {
                format!(
                    "↶ {} is rolling back {what}. Reason: {}",
                    escape_mrkdwn(&record.actor),
                    escape_mrkdwn(&record.reason)
                )
            }
            (RollbackMoment::Finished, RollbackState::Succeeded) => format!(
                "✅ Rollback #{} of {what} succeeded: {}",
                record.id,
                escape_mrkdwn(record.detail.as_deref().unwrap_or("verified"))
            ),
            (RollbackMoment::Finished, RollbackState::Failed) => format!(
                "❌ Rollback #{} of {what} failed: {}",
                record.id,
                escape_mrkdwn(record.detail.as_deref().unwrap_or("no detail"))
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

/// Slack's mrkdwn escaping: `&`, `<` and `>` are its only control characters in text
/// (mentions, links, `<!channel>`), and the three it asks senders to escape.
fn escape_mrkdwn(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::model::ProviderKind;
    use app::rollback::DeploymentRef;
    use chrono::Utc;

    fn record(reason: &str) -> RollbackRecord {
        let deployment = |id: &str| DeploymentRef {
            id: id.into(),
            commit_sha: None,
            summary: Some("Fix <b> & more".into()),
        };
        RollbackRecord {
            id: 7,
            idempotency_key: "k".repeat(16),
            service: "api".into(),
            environment: "production".into(),
            provider: ProviderKind::Render,
            actor: "eve<@U123>".into(),
            remote_addr: None,
            reason: reason.into(),
            from: deployment("dep-new"),
            to: deployment("dep-old"),
            place_hold: false,
            state: RollbackState::Pending,
            detail: None,
            new_deployment_id: None,
            provider_reference: None,
            hold: None,
            hold_release: None,
            requested_at: Utc::now(),
            started_at: None,
            finished_at: None,
        }
    }

    #[test]
    fn slack_text_escapes_the_reason_and_everything_else_not_lookouts_own() {
        let notifier = Notifier::new(
            reqwest::Client::new(),
            Vec::new(),
            Some("https://lookout.example".into()),
        );
        let text = notifier.text(
            &record("<!channel> see <https://evil.example|click> & run"),
            RollbackMoment::Started,
        );
        assert!(
            text.contains(
                "Reason: &lt;!channel&gt; see &lt;https://evil.example|click&gt; &amp; run"
            ),
            "{text}"
        );
        assert!(text.contains("eve&lt;@U123&gt;"), "{text}");
        assert!(text.contains("Fix &lt;b&gt; &amp; more"), "{text}");
        assert!(!text.contains("<!channel>") && !text.contains("<https://evil"));
        // Lookout's own link stays a link.
        assert!(
            text.ends_with(" <https://lookout.example/rollbacks/7>"),
            "{text}"
        );
    }
}

//! `[[notifications]]`: where Lookout announces rollbacks (started, then the outcome). A
//! Slack-compatible incoming webhook gets `{"text": …}`; a generic JSON webhook gets the
//! structured event. Webhook URLs carry their credential in the path, so the file names the
//! environment variable that holds the URL (`url_env`), as it does for provider tokens.

use super::env_lookup::EnvLookup;
use super::raw::RawNotification;
use super::schema::{NotificationFormat, NotificationTarget};
use super::validate::Validator;
use crate::secret::Secret;
use toml::Spanned;

impl Validator<'_> {
    pub(super) fn notifications(
        &mut self,
        raw: &[Spanned<RawNotification>],
        environments: &[String],
        env: EnvLookup<'_>,
    ) -> Vec<NotificationTarget> {
        let mut targets = Vec::new();
        for (index, entry) in raw.iter().enumerate() {
            let key = format!("notifications[{index}]");
            let notification = entry.get_ref();
            let format = match notification.kind.get_ref().as_str() {
                "slack" => NotificationFormat::Slack,
                "json" => NotificationFormat::Json,
                other => {
                    self.error(
                        &notification.kind,
                        &format!("{key}.kind"),
                        format!("`{other}` is not a notification kind: use slack or json"),
                    );
                    continue;
                }
            };
            let Some(url_env) = &notification.url_env else {
                self.error(
                    entry,
                    &format!("{key}.url_env"),
                    "missing: name the environment variable that holds the webhook URL",
                );
                continue;
            };
            let Some(url) = env(url_env.get_ref()) else {
                self.error(
                    url_env,
                    &format!("{key}.url_env"),
                    format!("environment variable {} is not set", url_env.get_ref()),
                );
                continue;
            };
            let url = url.trim().to_string();
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                self.error(
                    url_env,
                    &format!("{key}.url_env"),
                    format!("{} does not hold an http(s) URL", url_env.get_ref()),
                );
                continue;
            }
            let mut names = Vec::new();
            for (position, name) in notification.environments.iter().enumerate() {
                if environments.iter().any(|known| known == name.get_ref()) {
                    names.push(name.get_ref().clone());
                } else {
                    self.error(
                        name,
                        &format!("{key}.environments[{position}]"),
                        format!("`{}` is not a configured environment", name.get_ref()),
                    );
                }
            }
            targets.push(NotificationTarget {
                format,
                url: Secret::new(url),
                url_env: url_env.get_ref().clone(),
                environments: names,
            });
        }
        targets
    }
}

/// The `check-config` lines for the webhooks (never the URLs).
pub(super) fn describe(targets: &[NotificationTarget]) -> String {
    if targets.is_empty() {
        return "notifications: none\n".to_string();
    }
    let mut out = String::from("notifications:\n");
    for target in targets {
        let scope = if target.environments.is_empty() {
            "all environments".to_string()
        } else {
            target.environments.join(", ")
        };
        out.push_str(&format!(
            "  {} webhook from {} ({scope})\n",
            match target.format {
                NotificationFormat::Slack => "slack",
                NotificationFormat::Json => "json",
            },
            target.url_env
        ));
    }
    out
}

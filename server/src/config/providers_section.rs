//! The `[providers.NAME]` connections: which API, where, and with which token.

use super::defaults::default_api_base;
use super::env_lookup::EnvLookup;
use super::raw::RawProvider;
use super::schema::Connection;
use super::validate::Validator;
use app::model::ProviderKind;
use std::collections::BTreeMap;
use toml::Spanned;

/// Which config keys a provider kind takes, for validation and messages.
pub(super) fn provider_from_name(value: &str) -> Option<ProviderKind> {
    Some(match value {
        "vercel" => ProviderKind::Vercel,
        "render" => ProviderKind::Render,
        "railway" => ProviderKind::Railway,
        "netlify" => ProviderKind::Netlify,
        "github" => ProviderKind::Github,
        "digitalocean" => ProviderKind::Digitalocean,
        "heroku" => ProviderKind::Heroku,
        "fly" => ProviderKind::Fly,
        "cloudflare_pages" => ProviderKind::CloudflarePages,
        "supabase" => ProviderKind::Supabase,
        _ => return None,
    })
}

const PROVIDER_NAMES: &str =
    "vercel, render, railway, netlify, github, digitalocean, heroku, fly, cloudflare_pages, supabase";
/// The per-environment id key a provider needs, if its resources are per environment.
pub(super) fn environment_id_key(kind: ProviderKind) -> Option<&'static str> {
    match kind {
        ProviderKind::Render => Some("service_id"),
        ProviderKind::Railway => Some("environment_id"),
        ProviderKind::Digitalocean => Some("app_id"),
        ProviderKind::Heroku | ProviderKind::Fly => Some("app"),
        ProviderKind::Supabase => Some("project_ref"),
        _ => None,
    }
}

impl Validator<'_> {
    pub(super) fn providers(
        &mut self,
        raw: &BTreeMap<String, Spanned<RawProvider>>,
        env: EnvLookup<'_>,
    ) -> BTreeMap<String, Connection> {
        let mut providers = BTreeMap::new();
        for (name, entry) in raw {
            let provider = entry.get_ref();
            let key = format!("providers.{name}");
            let Some(kind) = provider_from_name(provider.kind.get_ref()) else {
                self.error(
                    &provider.kind,
                    &format!("{key}.kind"),
                    format!(
                        "`{}` is not a supported provider ({PROVIDER_NAMES})",
                        provider.kind.get_ref()
                    ),
                );
                continue;
            };
            let Some((token, token_env)) = self.token(provider, entry, &key, env) else {
                continue;
            };
            let api_base = match &provider.api_base {
                Some(base) => match self.url(base, &format!("{key}.api_base")) {
                    Some(base) => base.trim_end_matches('/').to_string(),
                    None => continue,
                },
                None => default_api_base(kind).to_string(),
            };
            let only_for = |value: &Option<Spanned<String>>,
                            field: &str,
                            owner: ProviderKind,
                            validator: &mut Self| {
                match value {
                    Some(value) if kind != owner => {
                        validator.error(
                            value,
                            &format!("{key}.{field}"),
                            format!("only {} connections take `{field}`", owner.display_name()),
                        );
                        None
                    }
                    Some(value) => Some(value.get_ref().trim().to_string()),
                    None => None,
                }
            };
            let team_id = only_for(&provider.team_id, "team_id", ProviderKind::Vercel, self);
            let token_kind = only_for(
                &provider.token_kind,
                "token_kind",
                ProviderKind::Railway,
                self,
            );
            let account_id = only_for(
                &provider.account_id,
                "account_id",
                ProviderKind::CloudflarePages,
                self,
            );
            let machines_base = only_for(
                &provider.machines_base,
                "machines_base",
                ProviderKind::Fly,
                self,
            );
            let status_base = only_for(
                &provider.status_base,
                "status_base",
                ProviderKind::Supabase,
                self,
            );
            let project_token = match token_kind.as_deref() {
                None | Some("bearer") => false,
                Some("project") => true,
                Some(other) => {
                    if let Some(value) = &provider.token_kind {
                        self.error(
                            value,
                            &format!("{key}.token_kind"),
                            format!("`{other}` is not one of bearer, project"),
                        );
                    }
                    false
                }
            };
            if kind == ProviderKind::CloudflarePages && account_id.is_none() {
                self.error(
                    entry,
                    &format!("{key}.account_id"),
                    "missing: Cloudflare Pages needs the account id",
                );
                continue;
            }
            providers.insert(
                name.clone(),
                Connection {
                    name: name.clone(),
                    kind,
                    api_base,
                    token,
                    token_env,
                    team_id,
                    project_token,
                    account_id,
                    machines_base: machines_base.map(|base| base.trim_end_matches('/').to_string()),
                    status_base: status_base.map(|base| base.trim_end_matches('/').to_string()),
                },
            );
        }
        providers
    }
}

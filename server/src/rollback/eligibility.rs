//! Which deployments can be rollback targets, and why not: one pure function per provider's
//! documented rules, used for every history row, the service row's "Roll back to previous" and
//! preflight. The provider's own flag (`ProviderDeployment::rollback_refusal`) and its answer to
//! the rollback call have the last word; these rules only keep the page from offering what the
//! provider would refuse.

use app::model::{DeployState, EnvironmentKind, ProviderKind};
use app::rollback::RollbackEligibility;

/// Render keeps the build artifacts of this many newest deploys on the Hobby plan (Free: 2,
/// Pro: 15, Scale: 30); older deploys cannot be rolled back to. UNCONFIRMED which plan a user
/// is on, so the common paid one is assumed and Render's refusal covers the rest.
pub const RENDER_ARTIFACT_RETENTION: u32 = 5;

/// What the rules look at.
#[derive(Clone, Copy, Debug)]
pub struct Candidate<'a> {
    pub provider: ProviderKind,
    pub state: DeployState,
    pub environment_kind: EnvironmentKind,
    /// It is what serves traffic now.
    pub is_live: bool,
    /// How many deployments of the same environment that were live once are newer than it.
    pub newer_successful: u32,
    /// The provider's own refusal, where it reports one.
    pub provider_refusal: Option<&'a str>,
}

/// Whether a deployment that has been live (or is a finished success) counts as a target.
fn was_successful(state: DeployState) -> bool {
    matches!(
        state,
        DeployState::Ready | DeployState::Superseded | DeployState::RolledBack
    )
}

pub fn eligibility(candidate: &Candidate<'_>) -> RollbackEligibility {
    use RollbackEligibility::{Eligible, Ineligible, Live};
    let provider = candidate.provider;
    if !provider.has_deployments() {
        return Ineligible(format!("{provider} has no deployments to roll back"));
    }
    if candidate.is_live {
        return Live;
    }
    if !was_successful(candidate.state) {
        return Ineligible(format!(
            "not a successful deployment ({})",
            candidate.state.label()
        ));
    }
    if candidate.environment_kind == EnvironmentKind::Preview {
        return Ineligible("previews are not rolled back; push to the branch instead".into());
    }
    let production_only = matches!(
        provider,
        ProviderKind::Vercel | ProviderKind::Netlify | ProviderKind::CloudflarePages
    );
    if production_only && candidate.environment_kind != EnvironmentKind::Production {
        return Ineligible(format!("{provider} rolls back production deployments only"));
    }
    if provider == ProviderKind::Render && candidate.newer_successful >= RENDER_ARTIFACT_RETENTION {
        return Ineligible(format!(
            "build artifact past Render's retention (the {RENDER_ARTIFACT_RETENTION} newest deploys)"
        ));
    }
    if let Some(refusal) = candidate.provider_refusal {
        return Ineligible(refusal.to_string());
    }
    Eligible
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(provider: ProviderKind) -> Candidate<'static> {
        Candidate {
            provider,
            state: DeployState::Superseded,
            environment_kind: EnvironmentKind::Production,
            is_live: false,
            newer_successful: 1,
            provider_refusal: None,
        }
    }

    #[test]
    fn a_superseded_production_deployment_is_a_target_everywhere() {
        for provider in [
            ProviderKind::Vercel,
            ProviderKind::Render,
            ProviderKind::Railway,
            ProviderKind::Netlify,
            ProviderKind::Github,
            ProviderKind::Digitalocean,
            ProviderKind::Heroku,
            ProviderKind::Fly,
            ProviderKind::CloudflarePages,
        ] {
            assert_eq!(
                eligibility(&candidate(provider)),
                RollbackEligibility::Eligible,
                "{provider}"
            );
        }
    }

    #[test]
    fn every_refusal_says_why() {
        let cases = [
            (
                Candidate {
                    state: DeployState::Failed,
                    ..candidate(ProviderKind::Render)
                },
                "not a successful deployment (failed)",
            ),
            (
                Candidate {
                    environment_kind: EnvironmentKind::Staging,
                    ..candidate(ProviderKind::Vercel)
                },
                "Vercel rolls back production deployments only",
            ),
            (
                Candidate {
                    environment_kind: EnvironmentKind::Preview,
                    ..candidate(ProviderKind::Railway)
                },
                "previews are not rolled back",
            ),
            (
                Candidate {
                    newer_successful: 5,
                    ..candidate(ProviderKind::Render)
                },
                "past Render's retention",
            ),
            (
                Candidate {
                    provider_refusal: Some("Railway no longer keeps this image"),
                    ..candidate(ProviderKind::Railway)
                },
                "no longer keeps",
            ),
            (
                candidate(ProviderKind::Supabase),
                "has no deployments to roll back",
            ),
        ];
        for (candidate, expected) in cases {
            match eligibility(&candidate) {
                RollbackEligibility::Ineligible(reason) => {
                    assert!(reason.contains(expected), "{reason} / {expected}")
                }
                other => panic!("{candidate:?} gave {other:?}"),
            }
        }
        assert_eq!(
            eligibility(&Candidate {
                is_live: true,
                ..candidate(ProviderKind::Render)
            }),
            RollbackEligibility::Live
        );
    }
}

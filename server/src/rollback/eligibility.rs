//! Which deployments can be rollback targets, and why not: one pure function per provider's
//! documented rules, used for every history row, the service row's "Roll back to previous" and
//! preflight. The provider's own flag (`ProviderDeployment::rollback_refusal`) and its answer to
//! the rollback call have the last word; these rules only keep the page from offering what the
//! provider would refuse.

use crate::providers::{
    ProviderDeployment, ProviderEnvironment, ScopeCompare, ScopePresence, ScopeRule,
};
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

/// Where a rollback is pointed: the configured service and environment, the provider's name
/// for that environment, and what its client says a target there must carry.
#[derive(Clone, Copy, Debug)]
pub struct Destination<'a> {
    pub provider: ProviderKind,
    pub service: &'a str,
    pub environment: &'a str,
    pub provider_environment: &'a ProviderEnvironment,
    /// [`crate::providers::DeploymentProvider::target_scope`]; `None` refuses every target.
    pub rules: Option<&'a [ScopeRule]>,
}

/// Why `wanted` cannot be a rollback target of `destination` because it is not that
/// service's deployment in that environment (another environment's, a preview's, another
/// project's or service's), or `None` when it is. One check for every provider: the
/// environment the client mapped it to, then each of the client's rules against the
/// provider's own fields on the deployment. A field the provider did not report fails a
/// required rule: Lookout refuses what it cannot confirm.
pub fn scope_refusal(destination: &Destination<'_>, wanted: &ProviderDeployment) -> Option<String> {
    let Destination {
        provider,
        service,
        environment,
        ..
    } = *destination;
    let not_ours = |why: String| {
        Some(format!(
            "{} is not a deployment of {service} in {environment} ({why})",
            wanted.id
        ))
    };
    if &wanted.environment != destination.provider_environment {
        let elsewhere = match &wanted.environment {
            ProviderEnvironment::Named(_) => "another environment",
            ProviderEnvironment::Preview { .. } => "a preview",
        };
        return not_ours(format!("{provider} reports it as {elsewhere}'s"));
    }
    let Some(rules) = destination.rules else {
        return not_ours(format!(
            "Lookout cannot tell which {provider} environment it belongs to"
        ));
    };
    for rule in rules {
        let mut reported = wanted
            .origin
            .iter()
            .filter(|fact| fact.field == rule.field)
            .peekable();
        if reported.peek().is_none() {
            match rule.presence {
                ScopePresence::IfReported => continue,
                ScopePresence::Required => {
                    return not_ours(format!("{provider} does not report its {}", rule.field))
                }
            }
        }
        let matches = reported.any(|fact| {
            rule.accepted.iter().any(|accepted| match rule.compare {
                ScopeCompare::Exact => accepted == &fact.value,
                ScopeCompare::IgnoreAsciiCase => accepted.eq_ignore_ascii_case(&fact.value),
            })
        });
        if !matches {
            return not_ours(format!("{provider} reports another {}", rule.field));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::{CommitInfo, OriginFact};

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

    fn named(name: &str) -> ProviderEnvironment {
        ProviderEnvironment::Named(name.into())
    }

    fn deployment(environment: ProviderEnvironment, origin: Vec<OriginFact>) -> ProviderDeployment {
        ProviderDeployment {
            id: "dep-1".into(),
            state: DeployState::Superseded,
            provider_state: "SUCCESS".into(),
            environment,
            commit: CommitInfo::default(),
            pr_number: None,
            creator: None,
            created_at: None,
            finished_at: None,
            url: None,
            dashboard_url: None,
            rollback_refusal: None,
            origin,
        }
    }

    fn railway_rules() -> Vec<ScopeRule> {
        vec![
            ScopeRule::required("serviceId", ["svc-worker".to_string()]),
            ScopeRule {
                presence: ScopePresence::IfReported,
                ..ScopeRule::required("projectId", ["prj-shop".to_string()])
            },
            ScopeRule::required("environmentId", ["env-staging".to_string()]),
        ]
    }

    fn staging<'a>(
        rules: Option<&'a [ScopeRule]>,
        environment: &'a ProviderEnvironment,
    ) -> Destination<'a> {
        Destination {
            provider: ProviderKind::Railway,
            service: "worker",
            environment: "staging",
            provider_environment: environment,
            rules,
        }
    }

    #[test]
    fn a_target_of_this_service_and_environment_passes() {
        let rules = railway_rules();
        let environment = named("staging");
        let wanted = deployment(
            named("staging"),
            vec![
                OriginFact::new("serviceId", "svc-worker"),
                OriginFact::new("projectId", "prj-shop"),
                OriginFact::new("environmentId", "env-staging"),
            ],
        );
        assert_eq!(
            scope_refusal(&staging(Some(&rules), &environment), &wanted),
            None
        );
        // projectId only double-checks: its absence is fine.
        let without_project = deployment(
            named("staging"),
            vec![
                OriginFact::new("serviceId", "svc-worker"),
                OriginFact::new("environmentId", "env-staging"),
            ],
        );
        assert_eq!(
            scope_refusal(&staging(Some(&rules), &environment), &without_project),
            None
        );
    }

    /// Issue #15: a production deployment named as the target of a staging rollback.
    #[test]
    fn another_environments_deployment_is_refused_by_its_mapping_or_its_id() {
        let rules = railway_rules();
        let environment = named("staging");
        let mapped_elsewhere = deployment(
            named("production"),
            vec![
                OriginFact::new("serviceId", "svc-worker"),
                OriginFact::new("environmentId", "env-production"),
            ],
        );
        let refusal = scope_refusal(&staging(Some(&rules), &environment), &mapped_elsewhere)
            .expect("refused");
        assert_eq!(
            refusal,
            "dep-1 is not a deployment of worker in staging (Railway reports it as another \
             environment's)"
        );
        // Even when the names agree (a renamed environment, a stale mapping), the id decides.
        let same_name_other_id = deployment(
            named("staging"),
            vec![
                OriginFact::new("serviceId", "svc-worker"),
                OriginFact::new("environmentId", "env-production"),
            ],
        );
        let refusal = scope_refusal(&staging(Some(&rules), &environment), &same_name_other_id)
            .expect("refused");
        assert!(
            refusal.ends_with("(Railway reports another environmentId)"),
            "{refusal}"
        );
    }

    #[test]
    fn previews_other_services_and_unreported_fields_are_refused() {
        let rules = railway_rules();
        let environment = named("staging");
        let destination = staging(Some(&rules), &environment);
        let preview = deployment(
            ProviderEnvironment::Preview {
                branch: Some("feature".into()),
                pr_number: Some(12),
            },
            Vec::new(),
        );
        assert!(scope_refusal(&destination, &preview)
            .is_some_and(|reason| reason.contains("as a preview's")));
        let other_service = deployment(
            named("staging"),
            vec![
                OriginFact::new("serviceId", "svc-api"),
                OriginFact::new("environmentId", "env-staging"),
            ],
        );
        assert!(scope_refusal(&destination, &other_service)
            .is_some_and(|reason| reason.contains("another serviceId")));
        let other_project = deployment(
            named("staging"),
            vec![
                OriginFact::new("serviceId", "svc-worker"),
                OriginFact::new("projectId", "prj-other"),
                OriginFact::new("environmentId", "env-staging"),
            ],
        );
        assert!(scope_refusal(&destination, &other_project)
            .is_some_and(|reason| reason.contains("another projectId")));
        let silent = deployment(
            named("staging"),
            vec![OriginFact::new("serviceId", "svc-worker")],
        );
        assert!(scope_refusal(&destination, &silent)
            .is_some_and(|reason| reason.contains("does not report its environmentId")));
        // A client that cannot say what belongs refuses everything.
        assert!(scope_refusal(&staging(None, &environment), &silent)
            .is_some_and(|reason| reason.contains("cannot tell")));
    }

    #[test]
    fn any_reported_alias_may_match_and_case_folding_is_per_rule() {
        let environment = named("production");
        let vercel = [ScopeRule::required("project", ["marketing".to_string()])];
        let by_name = deployment(
            named("production"),
            vec![
                OriginFact::new("project", "prj_123"),
                OriginFact::new("project", "marketing"),
            ],
        );
        let destination = Destination {
            provider: ProviderKind::Vercel,
            service: "marketing",
            environment: "production",
            provider_environment: &environment,
            rules: Some(&vercel),
        };
        assert_eq!(scope_refusal(&destination, &by_name), None);
        let github = [ScopeRule {
            compare: ScopeCompare::IgnoreAsciiCase,
            ..ScopeRule::required("environment", ["production".to_string()])
        }];
        let shouted = deployment(
            named("production"),
            vec![OriginFact::new("environment", "Production")],
        );
        let pr = deployment(
            named("production"),
            vec![OriginFact::new("environment", "pr-12")],
        );
        let destination = Destination {
            provider: ProviderKind::Github,
            rules: Some(&github),
            ..destination
        };
        assert_eq!(scope_refusal(&destination, &shouted), None);
        assert!(scope_refusal(&destination, &pr).is_some());
        // Per-environment resources (Render, DigitalOcean, Fly) have nothing more to compare.
        let destination = Destination {
            provider: ProviderKind::Render,
            rules: Some(&[]),
            ..destination
        };
        assert_eq!(scope_refusal(&destination, &pr), None);
    }
}

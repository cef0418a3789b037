//! The confirmation page's plan: what a rollback would do, read fresh from the provider, and
//! why it would be refused. Nothing here writes; `start.rs` checks again when the form comes
//! back.

use super::eligibility::{eligibility, Candidate};
use super::hold::{hold_view_kind, hold_view_placement};
use super::{
    describe, new_idempotency_key, provider_error, RollbackError, Rollbacks, UNDONE_DEPTH,
};
use crate::providers::rollback::live_in;
use crate::providers::{list_recent_deployments, ProviderDeployment, ProviderError};
use crate::store::RollbackQuery;
use app::model::{DeployState, EnvironmentKind};
use app::rollback::{RollbackEligibility, RollbackPlan};
use chrono::Utc;

impl Rollbacks {
    /// What the confirmation page shows for rolling `service` in `environment` back to
    /// `target_id`, read fresh from the provider.
    pub async fn plan(
        &self,
        service: &str,
        environment: &str,
        target_id: &str,
    ) -> Result<RollbackPlan, RollbackError> {
        let target = self.target(service, environment)?;
        let provider = target.client.kind();
        let Some(method) = target.client.rollback_method() else {
            return Err(RollbackError::Refused(format!(
                "{provider} has no rollback Lookout can start"
            )));
        };
        let live_now = target
            .client
            .live_deployments()
            .await
            .map_err(|error| provider_error(&target, &error))?;
        let Some(live) = live_in(&live_now, &target.environment).cloned() else {
            return Err(RollbackError::Refused(format!(
                "{provider} reports nothing live for {service} in {environment}"
            )));
        };
        let wanted = target
            .client
            .deployment(target_id)
            .await
            .map_err(|error| match error {
                ProviderError::NotFound { .. } => RollbackError::NotFound(format!(
                    "{provider} has no deployment `{target_id}` for {service}"
                )),
                other => provider_error(&target, &other),
            })?;
        let recent = list_recent_deployments(target.client.as_ref(), UNDONE_DEPTH, UNDONE_DEPTH)
            .await
            .map_err(|error| provider_error(&target, &error))?;
        let in_environment: Vec<&ProviderDeployment> = recent
            .iter()
            .filter(|deployment| deployment.environment == target.environment)
            .collect();
        let position = in_environment.iter().position(|d| d.id == wanted.id);
        let live_position = in_environment.iter().position(|d| d.id == live.id);
        let newer_successful = position.map_or(0, |index| {
            in_environment[..index]
                .iter()
                .filter(|d| {
                    matches!(
                        d.state,
                        DeployState::Ready | DeployState::Superseded | DeployState::RolledBack
                    )
                })
                .count() as u32
        });
        // What sits between the target and what is live now: undone by the rollback.
        let undone = match (live_position, position) {
            (Some(from), Some(to)) if from < to => in_environment[from + 1..to]
                .iter()
                .map(|d| d.to_view())
                .collect(),
            _ => Vec::new(),
        };
        let scope = Self::out_of_scope(&target, service, environment, &wanted);
        let mut refusal = scope.or_else(|| {
            match eligibility(&Candidate {
                provider,
                state: wanted.state,
                environment_kind: target.environment_kind,
                is_live: wanted.id == live.id,
                newer_successful,
                provider_refusal: wanted.rollback_refusal.as_deref(),
            }) {
                RollbackEligibility::Eligible => None,
                RollbackEligibility::Live => {
                    Some(format!("{} is what is live now", describe(&wanted)))
                }
                RollbackEligibility::Ineligible(reason) => Some(reason),
            }
        });
        if refusal.is_none() {
            let running = self
                .store
                .find_rollbacks(RollbackQuery::InFlight {
                    service,
                    environment,
                })
                .await?;
            if let Some(running) = running.first() {
                refusal = Some(format!(
                    "a rollback of {service} in {environment} by {} is already in progress (#{})",
                    running.actor, running.id
                ));
            }
        }
        Ok(RollbackPlan {
            service: service.to_string(),
            environment: environment.to_string(),
            environment_kind: target.environment_kind,
            provider,
            from: live.to_view(),
            to: wanted.to_view(),
            undone,
            action: method.action,
            caveats: method.caveats,
            hold: method.hold.map(|offer| {
                (
                    hold_view_kind(offer.kind),
                    hold_view_placement(offer.placement),
                )
            }),
            requires_typed_name: target.environment_kind == EnvironmentKind::Production,
            refusal,
            idempotency_key: new_idempotency_key(),
            generated_at: Utc::now(),
        })
    }
}

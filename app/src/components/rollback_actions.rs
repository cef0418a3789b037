//! Rollback on the rows: the service row's "Roll back to previous" (or why not), the note of
//! the latest rollback with any hold still in place, and the history row's "Roll back to
//! this". Actions show only to users who may roll back in that environment; the note shows
//! to everyone. Both links lead to the confirmation page, which works without JavaScript.

use crate::auth::Identity;
use crate::model::rollback::{
    confirm_path, rollback_path, RollbackEligibility, RollbackOffer, RollbackState,
};
use crate::model::ServiceStatus;
use crate::time::{absolute, relative};
use chrono::{DateTime, Utc};
use leptos::prelude::*;

/// Whether `user` may roll back in `environment`.
pub fn may_roll_back(user: Option<&Identity>, environment: &str) -> bool {
    user.is_some_and(|user| user.may_roll_back(environment))
}

#[component]
pub fn RowRollback(
    service: ServiceStatus,
    /// The Lookout environment name of the row.
    environment: String,
    user: Option<Identity>,
    now: DateTime<Utc>,
) -> impl IntoView {
    let allowed = may_roll_back(user.as_ref(), &environment);
    let note = service.last_rollback.clone().map(|note| {
        // Anonymous readers are not told who.
        let by = note
            .actor
            .as_ref()
            .map(|actor| format!(" by {actor}"))
            .unwrap_or_default();
        let (icon, text) = match note.state {
            RollbackState::Pending | RollbackState::Running => (
                "↻ ",
                match &note.actor {
                    Some(actor) => format!(
                        "Rolling back to {} (started by {actor})",
                        note.to.describe()
                    ),
                    None => format!("Rolling back to {}", note.to.describe()),
                },
            ),
            RollbackState::Succeeded => (
                "↶ ",
                format!("Rolled back to {}{by}", note.to.describe()),
            ),
            RollbackState::Failed => (
                "✖ ",
                format!("Rollback to {}{by} failed", note.to.describe()),
            ),
        };
        let hold = note.hold.map(|hold| {
            view! {
                " · "
                <strong class="hold">{hold.label()}</strong>
                {allowed.then(|| view! { " " <a href=rollback_path(note.id)>"Resume…"</a> })}
            }
        });
        view! {
            <p class=format!("note rollback-note {}", note.state.css_class())>
                <span aria-hidden="true">{icon}</span>
                <a href=rollback_path(note.id)>{text}</a>
                " "
                <time data-relative="" datetime=note.at.to_rfc3339() title=absolute(note.at)>{relative(note.at, now)}</time>
                {hold}
            </p>
        }
    });
    let offer = if allowed {
        service.rollback_offer.clone().map(|offer| match offer {
            RollbackOffer::Previous { target } => {
                let href = confirm_path(&service.service, &environment, &target.id);
                let to = target
                    .short_sha()
                    .map(str::to_string)
                    .unwrap_or_else(|| target.id.clone());
                view! {
                    <p class="row-actions">
                        <a class="button rollback-button" href=href data-rollback-to=target.id.clone()>
                            {format!("Roll back to previous ({to})")}
                        </a>
                    </p>
                }
                .into_any()
            }
            RollbackOffer::Unavailable { reason } => view! {
                <p class="row-actions muted-text">{format!("No rollback: {reason}")}</p>
            }
            .into_any(),
        })
    } else {
        None
    };
    view! { {note} {offer} }
}

/// "Roll back to this" on a history row, or why it cannot be, for users who may roll back.
#[component]
pub fn HistoryRollback(
    service: String,
    environment: String,
    deployment_id: String,
    eligibility: Option<RollbackEligibility>,
    user: Option<Identity>,
) -> impl IntoView {
    if !may_roll_back(user.as_ref(), &environment) {
        return None;
    }
    Some(match eligibility? {
        RollbackEligibility::Eligible => view! {
            <a class="button rollback-button small" href=confirm_path(&service, &environment, &deployment_id)>
                "Roll back to this"
            </a>
        }
        .into_any(),
        RollbackEligibility::Live => {
            view! { <span class="muted-text live-now">"live now"</span> }.into_any()
        }
        RollbackEligibility::Ineligible(reason) => view! {
            <span class="muted-text not-eligible">{format!("Can't roll back: {reason}")}</span>
        }
        .into_any(),
    })
}

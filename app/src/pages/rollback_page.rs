//! `/rollback?service=…&environment=…&target=…`: the confirmation page. It names exactly
//! what will happen — service, environment, from → to, what is undone, what the provider does
//! and leaves behind — asks for a reason, and for production the typed service name. The form
//! posts to `roll_back_service` as a plain form, with or without JavaScript (the CSRF token
//! is a form field, which a hydrated `ActionForm` would drop).

use crate::api::{get_rollback_plan, get_session, RollBackService};
use crate::auth::CSRF_FIELD;
use crate::components::problem::PageProblem;
use crate::components::service_row::commit_sha;
use crate::components::top_bar::{Section, TopBar};
use crate::model::rollback::{HoldPlacement, RollbackPlan};
use crate::model::DeploymentView;
use crate::time::{absolute, relative};
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

/// Where the form posts: the server function's own path.
const ROLL_BACK_PATH: &str = <RollBackService as ServerFn>::PATH;
use leptos_router::hooks::use_query_map;

#[component]
pub fn RollbackPage() -> impl IntoView {
    let params = use_query_map();
    let request = Memo::new(move |_| {
        params.with(|params| {
            (
                params.get("service").unwrap_or_default(),
                params.get("environment").unwrap_or_default(),
                params.get("target").unwrap_or_default(),
            )
        })
    });
    let error = Memo::new(move |_| params.with(|params| params.get("error")));
    let plan = Resource::new_blocking(
        move || request.get(),
        |(service, environment, target)| get_rollback_plan(service, environment, target),
    );
    let session = Resource::new_blocking(|| (), |_| get_session());
    view! {
        <TopBar section=Section::Other/>
        <main id="main" class="page rollback-page" data-hydrated="false">
            <Transition fallback=|| view! { <p class="loading">"Reading the provider…"</p> }>
                {move || Suspend::new(async move {
                    let csrf = session.await.map(|session| session.csrf_token).unwrap_or_default();
                    match plan.await {
                        Ok(plan) => view! { <Confirmation plan csrf error=error.get_untracked()/> }.into_any(),
                        Err(problem) => view! { <PageProblem heading="Rollback not available" message=problem.to_string()/> }.into_any(),
                    }
                })}
            </Transition>
        </main>
    }
}

#[component]
fn Confirmation(plan: RollbackPlan, csrf: String, error: Option<String>) -> impl IntoView {
    let now = plan.generated_at;
    let service = plan.service.clone();
    let heading = format!("Roll back {} in {}?", plan.service, plan.environment);
    let to_label = plan
        .to
        .short_sha()
        .map(str::to_string)
        .unwrap_or_else(|| plan.to.id.clone());
    let undone = if plan.undone.is_empty() {
        view! { <p class="muted-text">"No other deployments between them."</p> }.into_any()
    } else {
        let items = plan
            .undone
            .iter()
            .cloned()
            .map(|deployment| view! { <li><DeploymentLine deployment now/></li> })
            .collect_view();
        view! {
            <p>"These deployments are undone as well:"</p>
            <ul class="undone">{items}</ul>
        }
        .into_any()
    };
    let caveats = plan
        .caveats
        .iter()
        .map(|caveat| view! { <li>{caveat.clone()}</li> })
        .collect_view();
    let hold = plan.hold.map(|(kind, placement)| match placement {
        HoldPlacement::Offered => view! {
            <label class="check">
                <input type="checkbox" name="form[place_hold]" value="on" checked/>
                " " {kind.offer()}
            </label>
        }
        .into_any(),
        HoldPlacement::Always => view! { <p class="note warn-text">{kind.offer()}</p> }.into_any(),
    });
    let typed = plan.requires_typed_name.then(|| {
        let label = format!("Type {} to confirm this production rollback", plan.service);
        view! {
            <label for="typed-name">{label}</label>
            <input id="typed-name" name="form[typed_name]" required autocomplete="off"
                pattern=regex_literal(&plan.service) spellcheck="false"/>
        }
    });
    let (form_service, form_environment, form_target, form_live, form_key) = (
        plan.service.clone(),
        plan.environment.clone(),
        plan.to.id.clone(),
        plan.from.id.clone(),
        plan.idempotency_key.clone(),
    );
    let form = match plan.refusal.clone() {
        Some(refusal) => view! {
            <section class="problem" role="alert">
                <p><strong>"This rollback cannot go ahead: "</strong>{refusal}</p>
            </section>
            <p><a href="/">"Back to the status page"</a></p>
        }
        .into_any(),
        None => view! {
            // A plain form post, hydrated or not: the CSRF token travels in the body, and the
            // server answers with the result page (or this page with the error).
            <form class="rollback-form" method="post" action=ROLL_BACK_PATH>
                <input type="hidden" name=CSRF_FIELD value=csrf/>
                <input type="hidden" name="form[service]" value=form_service/>
                <input type="hidden" name="form[environment]" value=form_environment/>
                <input type="hidden" name="form[target]" value=form_target/>
                <input type="hidden" name="form[expected_live]" value=form_live/>
                <input type="hidden" name="form[idempotency_key]" value=form_key/>
                <label for="reason">"Why (kept in the audit log)"</label>
                <textarea id="reason" name="form[reason]" required maxlength="500" rows="2"
                    placeholder="e.g. checkout errors since the last deploy"></textarea>
                {hold}
                {typed}
                <div class="form-actions">
                    <button type="submit" class="danger">
                        {format!("Roll back {service} to {to_label}")}
                    </button>
                    <a href="/">"Cancel"</a>
                </div>
            </form>
        }
        .into_any(),
    };
    view! {
        <h1>{heading}</h1>
        {error.map(|error| view! {
            <section class="problem" role="alert"><p>{error}</p></section>
        })}
        <dl class="rollback-plan">
            <div><dt>"Service"</dt><dd>{plan.service.clone()}" on "{plan.provider.display_name()}</dd></div>
            <div><dt>"Environment"</dt><dd><strong>{plan.environment.clone()}</strong></dd></div>
            <div><dt>"Live now"</dt><dd><DeploymentLine deployment=plan.from.clone() now/></dd></div>
            <div><dt>"Roll back to"</dt><dd><DeploymentLine deployment=plan.to.clone() now/></dd></div>
        </dl>
        <section aria-labelledby="undone-title">
            <h2 id="undone-title">"What is undone"</h2>
            {undone}
        </section>
        <section aria-labelledby="provider-title">
            <h2 id="provider-title">{format!("What {} will do", plan.provider.display_name())}</h2>
            <p>{plan.action.clone()}</p>
            <ul class="caveats">{caveats}</ul>
        </section>
        {form}
    }
}

/// "abc1234 Fix checkout · by ada · 3 h ago (dep-…)".
#[component]
fn DeploymentLine(deployment: DeploymentView, now: DateTime<Utc>) -> impl IntoView {
    let sha = deployment.short_sha().map(str::to_string);
    let full = deployment.commit_sha.clone().unwrap_or_default();
    let headline = deployment.headline().map(str::to_string);
    let at = deployment.ready_at.or(deployment.created_at);
    view! {
        <span class="deployment-line">
            {sha.map(|sha| commit_sha(sha, full, deployment.commit_url.clone()))}
            " "
            <span class="message">{headline.unwrap_or_else(|| "(no commit message)".into())}</span>
            {deployment.author.clone().map(|author| view! { <span class="muted-text">{format!(" · by {author}")}</span> })}
            {at.map(|at| view! {
                " · "
                <time data-relative="" datetime=at.to_rfc3339() title=absolute(at)>{relative(at, now)}</time>
            })}
            <span class="muted-text">{format!(" ({})", deployment.id)}</span>
        </span>
    }
}

/// `value` as an HTML `pattern` that matches exactly it.
fn regex_literal(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}

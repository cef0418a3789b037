//! The header every page shares: the brand, navigation, (on live pages) the stream state, and
//! who is signed in — with sign-in / sign-out, or a plain statement that the dashboard is
//! open to anyone.

use crate::api::get_session;
use crate::auth::{AuthMode, Role, SessionInfo, CSRF_FIELD};
use crate::islands::{LiveFeed, LiveStatus};
use leptos::prelude::*;
use leptos_router::hooks::use_location;

/// Which page is showing, so its link is marked current.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Status,
    History,
    Audit,
    Runbooks,
    Other,
}

#[component]
pub fn TopBar(
    section: Section,
    /// On live pages: the stream the header follows (and its state it shows).
    #[prop(default = None)]
    live: Option<LiveFeed>,
) -> impl IntoView {
    let session = Resource::new_blocking(|| (), |_| get_session());
    let link = move |href: &'static str, label: &'static str, this: Section| {
        let current = (section == this).then_some("page");
        view! { <a href=href aria-current=current>{label}</a> }
    };
    view! {
        <header class="topbar">
            <a class="brand" href="/">"Lookout"</a>
            <nav class="topnav" aria-label="Main">
                {link("/", "Status", Section::Status)}
                {link("/history", "History", Section::History)}
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let admin = session
                            .await
                            .ok()
                            .and_then(|session| session.user)
                            .is_some_and(|user| user.role >= Role::Admin);
                        admin.then(|| link("/audit", "Audit", Section::Audit))
                    })}
                </Transition>
                {link("/runbooks", "Runbooks", Section::Runbooks)}
            </nav>
            {live.map(|feed| view! { <LiveStatus events=feed.events refresh_on=feed.refresh_on/> })}
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    session.await.ok().map(|session| view! { <SessionControls session/> })
                })}
            </Transition>
        </header>
    }
}

/// "sam · deployer [Sign out]", "Sign in", or "Open to anyone".
#[component]
fn SessionControls(session: SessionInfo) -> impl IntoView {
    let location = use_location();
    let here = move || {
        let path = location.pathname.get();
        let search = location.search.get();
        if search.is_empty() {
            path
        } else {
            format!("{path}?{search}")
        }
    };
    let signed_in = session
        .user
        .clone()
        .filter(|_| session.policy.mode != AuthMode::Open);
    if let Some(user) = signed_in {
        let grants = user
            .deploy_environments
            .as_ref()
            .filter(|_| user.role == Role::Deployer)
            .map(|environments| format!("deployer on {}", environments.join(", ")))
            .unwrap_or_else(|| user.role.as_str().to_string());
        let sign_out = match session.policy.mode {
            AuthMode::Password | AuthMode::Proxy => Some(view! {
                <form class="signout" method="post" action="/logout">
                    <input type="hidden" name=CSRF_FIELD value=session.csrf_token.clone()/>
                    <button type="submit">"Sign out"</button>
                </form>
            }),
            AuthMode::Open => None,
        };
        view! {
            <div class="session">
                <span class="who" title=format!("Signed in as {} ({grants})", user.name.clone())>
                    <span class="who-name">{user.name.clone()}</span>
                    <span class="who-role">{grants.clone()}</span>
                </span>
                {sign_out}
            </div>
        }
        .into_any()
    } else {
        match session.policy.mode {
            AuthMode::Open => {
                let can_act = session.user.is_some_and(|user| user.role >= Role::Deployer);
                let title = if can_act {
                    "Sign-in is turned off (auth mode none): anyone who can reach this page can see it and act."
                } else {
                    "Sign-in is not configured: anyone who can reach this page can see it; nobody can act."
                };
                view! {
                    <div class="session">
                        <span class="open-note" title=title>"Open to anyone"</span>
                    </div>
                }
                .into_any()
            }
            AuthMode::Password => view! {
                <div class="session">
                    <a class="signin" href=move || {
                        format!("/login?next={}", crate::model::encode_component(&here()))
                    }>"Sign in"</a>
                </div>
            }
            .into_any(),
            AuthMode::Proxy => view! {
                <div class="session">
                    <span class="open-note" title="Sign in through your single sign-on proxy">"Not signed in"</span>
                </div>
            }
            .into_any(),
        }
    }
}

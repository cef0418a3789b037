//! `/login`: the password form (a plain POST to `/login`, so it works without JavaScript), the
//! reason a previous attempt failed, and in demo mode the demo accounts.

use crate::api::get_session;
use crate::auth::{safe_next, AuthMode, SessionInfo, CSRF_FIELD};
use crate::components::problem::shown_or_problem;
use crate::components::top_bar::{Section, TopBar};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// What the `error` parameter the server redirects with means, in words.
fn error_message(error: &str, retry: Option<String>) -> Option<String> {
    Some(match error {
        "invalid" => "Wrong user name or password.".to_string(),
        "missing" => "Enter a user name and a password.".to_string(),
        "rate_limited" => format!(
            "Too many failed attempts. Try again in {} seconds.",
            retry.unwrap_or_else(|| "a few".into())
        ),
        "no_passwords" => "This Lookout does not sign in with passwords.".to_string(),
        "unavailable" => {
            "Could not start a session (the store did not answer). Try again.".to_string()
        }
        _ => return None,
    })
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let params = use_query_map();
    let session = Resource::new_blocking(|| (), |_| get_session());
    view! {
        <TopBar section=Section::Other/>
        <main id="main" class="page narrow" data-hydrated="false">
            <h1>"Sign in"</h1>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let (next, error, retry) = params.with_untracked(|params| (
                        // The same check as the server's redirect: never `//host` or `javascript:`.
                        safe_next(&params.get("next").unwrap_or_default()),
                        params.get("error").unwrap_or_default(),
                        params.get("retry"),
                    ));
                    shown_or_problem(session.await, |session| {
                        view! { <LoginBody session next error=error_message(&error, retry)/> }.into_any()
                    })
                })}
            </Transition>
        </main>
    }
}

#[component]
fn LoginBody(session: SessionInfo, next: String, error: Option<String>) -> impl IntoView {
    let signed_in = session
        .user
        .clone()
        .filter(|_| session.policy.mode != AuthMode::Open);
    let form = match (session.policy.mode, signed_in) {
        (_, Some(user)) => view! {
            <p>"You are signed in as " <strong>{user.name}</strong> " (" {user.role.as_str()} ")."</p>
            <p><a href=next>"Continue"</a></p>
        }
        .into_any(),
        (AuthMode::Password, None) => view! {
            <form class="login-form" method="post" action="/login">
                <input type="hidden" name=CSRF_FIELD value=session.csrf_token.clone()/>
                <input type="hidden" name="next" value=next/>
                <label>"User name"
                    <input type="text" name="username" autocomplete="username" required autofocus/>
                </label>
                <label>"Password"
                    <input type="password" name="password" autocomplete="current-password" required/>
                </label>
                <button type="submit">"Sign in"</button>
            </form>
        }
        .into_any(),
        (AuthMode::Proxy, None) => view! {
            <p>"This Lookout signs people in through a single sign-on proxy. Open it through "
               "the proxy's address, or ask an admin to grant your account a role."</p>
        }
        .into_any(),
        (AuthMode::Open, None) => view! {
            <p>"Sign-in is not configured: anyone who can reach this page can see it. "
               "An admin can turn on password or proxy sign-in in the [auth] section of the config."</p>
        }
        .into_any(),
    };
    let public = session.policy.public_status.then(|| view! {
        <p class="muted-text">"The status page, history and runbooks are public; signing in lets you act."</p>
    });
    let demo = (!session.demo_logins.is_empty()).then(|| view! {
        <section class="demo-logins" aria-labelledby="demo-logins-title">
            <h2 id="demo-logins-title">"Demo accounts"</h2>
            <p class="muted-text">"Shown in demo mode only. Each account has one role."</p>
            <table>
                <thead><tr><th scope="col">"User"</th><th scope="col">"Password"</th><th scope="col">"Role"</th></tr></thead>
                <tbody>
                    {session.demo_logins.into_iter().map(|login| view! {
                        <tr>
                            <td><code>{login.name}</code></td>
                            <td><code>{login.password}</code></td>
                            <td>{login.role.as_str()}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    });
    view! {
        {error.map(|message| view! { <p class="problem" role="alert">{message}</p> })}
        {form}
        {public}
        {demo}
    }
}

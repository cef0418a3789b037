//! Talking to a running server as a browser or a script would: whole responses ([`Page`]),
//! browsers with their cookies ([`Browser`]), signing in, posting forms with the CSRF token,
//! the live stream ([`EventStream`]) and requests sent byte for byte ([`Site::raw_get`]).

use super::status;
use super::wait::{settle, wait_until, PATIENCE};
use reqwest::header::HeaderMap;
use serde_json::Value;
use server::demo::DEMO_LOGINS;
use std::time::Duration;

/// A server at `base`, and a client that never follows redirects (a test looks at them).
#[derive(Clone)]
pub struct Site {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub http: reqwest::Client,
}

/// One response, read whole.
pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// A browser: the CSRF cookie it was given and, once signed in, its session cookie.
#[derive(Clone, Debug, Default)]
pub struct Browser {
    pub csrf: String,
    pub session: Option<String>,
    /// The cookie names' prefix: `__Host-` over https, none over plain http.
    pub prefix: &'static str,
}

/// An open `/api/events` stream and what it has sent so far.
pub struct EventStream {
    pub status: u16,
    pub headers: HeaderMap,
    pub received: String,
    response: reqwest::Response,
}

/// Sends a request built by hand (odd headers, another method) and reads the whole answer.
pub trait SendForPage {
    async fn page(self) -> Page;
}

impl SendForPage for reqwest::RequestBuilder {
    async fn page(self) -> Page {
        Page::read(self.send().await.expect("the server answers")).await
    }
}

/// The value of the cookie `name` among `headers`' `set-cookie`s.
pub fn set_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| {
            let (pair, _) = value.split_once(';').unwrap_or((value, ""));
            let (key, value) = pair.split_once('=')?;
            (key == name).then(|| value.to_string())
        })
}

/// `value` form-encoded.
pub fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The demo password of `user` (`viewer`, `deployer`, `staging-deployer`, `admin`).
pub fn demo_password(user: &str) -> &'static str {
    DEMO_LOGINS
        .iter()
        .find(|(name, _, _)| *name == user)
        .map(|(_, password, _)| *password)
        .unwrap_or_else(|| panic!("no demo user {user}"))
}

impl Page {
    async fn read(response: reqwest::Response) -> Self {
        Self {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response
                .bytes()
                .await
                .expect("the response body is readable")
                .to_vec(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.text()))
    }

    /// Where a redirect points (empty without one).
    pub fn location(&self) -> String {
        self.header("location").unwrap_or_default().to_string()
    }

    pub fn set_cookie(&self, name: &str) -> Option<String> {
        set_cookie(&self.headers, name)
    }

    pub fn etag(&self) -> &str {
        self.header("etag").expect("a stored page has an ETag")
    }

    /// The nonce of the page's Content-Security-Policy header.
    pub fn csp_nonce(&self) -> String {
        let csp = self
            .header("content-security-policy")
            .expect("a Content-Security-Policy header");
        csp.split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .expect("a script nonce")
            .to_string()
    }
}

impl Browser {
    pub fn cookie_header(&self) -> String {
        let prefix = self.prefix;
        let mut cookie = format!("{prefix}lookout_csrf={}", self.csrf);
        if let Some(session) = &self.session {
            cookie.push_str(&format!("; {prefix}lookout_session={session}"));
        }
        cookie
    }
}

impl Site {
    pub fn new(base: String) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client");
        Self { base, http }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `host:port`, for a `Host` header or a raw connection.
    pub fn address(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// GET `path` with `browser`'s cookies (if any) and `headers`.
    pub async fn fetch(
        &self,
        path: &str,
        browser: Option<&Browser>,
        headers: &[(&str, &str)],
    ) -> Page {
        let mut request = self.http.get(self.url(path));
        if let Some(browser) = browser {
            request = request.header("cookie", browser.cookie_header());
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        Page::read(request.send().await.expect("the server answers")).await
    }

    /// GET `path` without cookies.
    pub async fn page(&self, path: &str) -> Page {
        self.fetch(path, None, &[]).await
    }

    /// GET `path` without cookies: the status and the body as text.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let page = self.page(path).await;
        (page.status, page.text())
    }

    /// GET `path` as `browser`.
    pub async fn page_as(&self, path: &str, browser: &Browser) -> Page {
        self.fetch(path, Some(browser), &[]).await
    }

    /// GET `path` as `reader` (or anonymously), expecting a JSON success.
    pub async fn json(&self, path: &str, reader: Option<&Browser>) -> Value {
        let page = self.fetch(path, reader, &[]).await;
        assert!(
            (200..300).contains(&page.status),
            "{path}: {} {}",
            page.status,
            page.text()
        );
        page.json()
    }

    /// The status snapshot as an anonymous reader sees it.
    pub async fn status(&self) -> Value {
        self.json("/api/v1/status", None).await
    }

    /// The status snapshot as `reader` (or an anonymous reader) sees it.
    pub async fn status_as(&self, reader: Option<&Browser>) -> Value {
        self.json("/api/v1/status", reader).await
    }

    /// Waits until the anonymous snapshot satisfies `done`, and returns it.
    pub async fn wait_for_status(&self, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        wait_until(what, || self.status(), done).await
    }

    /// Asks for `reader`'s snapshot until the row of `service` in `environment` satisfies
    /// `done` (or time is up), and returns that row as last seen (null while it is missing).
    pub async fn settle_row(
        &self,
        reader: Option<&Browser>,
        environment: &str,
        service: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let row_of = |status: Value| {
            status::try_row(&status, environment, service)
                .cloned()
                .unwrap_or(Value::Null)
        };
        settle(
            PATIENCE,
            || async { row_of(self.status_as(reader).await) },
            done,
        )
        .await
    }

    /// Waits until every row has been polled and checked once ([`status::settled`]).
    pub async fn wait_until_settled(&self) -> Value {
        self.wait_for_status("the monitor's first polls", status::settled)
            .await
    }

    /// Waits until `/healthz` answers.
    pub async fn wait_until_serving(&self) {
        let serving = settle(
            PATIENCE,
            || async { self.http.get(self.url("/healthz")).send().await.ok() },
            |response| response.as_ref().is_some_and(|r| r.status() == 200),
        )
        .await;
        assert!(serving.is_some(), "the server never answered /healthz");
    }

    /// Waits until `path`'s body satisfies `done` (reloads, polls), and returns it.
    pub async fn wait_for_page(&self, path: &str, done: impl Fn(&str) -> bool) -> String {
        let page = settle(PATIENCE, || self.page(path), |page| done(&page.text())).await;
        let body = page.text();
        assert!(done(&body), "{path} never matched; last body:\n{body}");
        body
    }

    /// A request with the path sent exactly as written (HTTP clients resolve `..` and `%2e%2e`
    /// before sending; an attacker's client does not): the status and the whole response.
    pub async fn raw_get(&self, path: &str) -> (u16, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let address = self.address();
        let mut stream = tokio::net::TcpStream::connect(address)
            .await
            .expect("the server accepts connections");
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.unwrap();
        let response = String::from_utf8_lossy(&response).to_string();
        let status = response
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        (status, response)
    }

    /// A fresh browser that has loaded the login page (and so holds a CSRF cookie, which the
    /// form carries too).
    pub async fn browser(&self) -> Browser {
        let page = self.page("/login").await;
        assert_eq!(page.status, 200, "the login page");
        let (prefix, csrf) = match page.set_cookie("lookout_csrf") {
            Some(csrf) => ("", csrf),
            None => (
                "__Host-",
                page.set_cookie("__Host-lookout_csrf")
                    .expect("the login page sets a CSRF cookie"),
            ),
        };
        assert!(
            page.text().contains(&format!("value=\"{csrf}\"")),
            "the form carries the cookie's token"
        );
        Browser {
            csrf,
            session: None,
            prefix,
        }
    }

    /// Posts the login form from a fresh browser (asking to go to `/history` after): the
    /// answer, and the browser with the session cookie it got, if any.
    pub async fn log_in(&self, user: &str, password: &str) -> (Page, Browser) {
        let mut browser = self.browser().await;
        let body = format!(
            "csrf_token={}&username={user}&password={password}&next=%2Fhistory",
            browser.csrf
        );
        let response = self.post_form("/login", &browser, &body).await;
        browser.session = response.set_cookie(&format!("{}lookout_session", browser.prefix));
        (response, browser)
    }

    /// A browser signed in as the demo user `user` (see [`demo_password`]).
    pub async fn sign_in(&self, user: &str) -> Browser {
        let (response, browser) = self.log_in(user, demo_password(user)).await;
        assert_eq!(
            response.status,
            303,
            "sign in as {user}: {}",
            response.text()
        );
        assert_eq!(response.location(), "/history");
        assert!(browser.session.is_some(), "a session cookie is set");
        browser
    }

    /// POSTs `body` as a same-origin form from `browser`, with `headers` added.
    pub async fn post_form_with(
        &self,
        path: &str,
        browser: &Browser,
        body: &str,
        headers: &[(&str, &str)],
    ) -> Page {
        let mut request = self
            .http
            .post(self.url(path))
            .header("origin", &self.base)
            .header("cookie", browser.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_string());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        Page::read(request.send().await.expect("the server answers")).await
    }

    /// POSTs `body` as a same-origin form from `browser`.
    pub async fn post_form(&self, path: &str, browser: &Browser, body: &str) -> Page {
        self.post_form_with(path, browser, body, &[]).await
    }

    /// Submits a form the way a browser without JavaScript does (`Accept: text/html`): the
    /// CSRF token first, then `fields`, encoded.
    pub async fn submit(&self, path: &str, browser: &Browser, fields: &[(&str, String)]) -> Page {
        let mut body = format!("csrf_token={}", browser.csrf);
        for (key, value) in fields {
            body.push_str(&format!("&{}={}", encode(key), encode(value)));
        }
        self.post_form_with(path, browser, &body, &[("accept", "text/html")])
            .await
    }

    /// Opens the live stream at `path` (`/api/events?…`) as `reader` (or anonymously).
    pub async fn events(&self, path: &str, reader: Option<&Browser>) -> EventStream {
        let mut request = self.http.get(self.url(path));
        if let Some(reader) = reader {
            request = request.header("cookie", reader.cookie_header());
        }
        let response = request.send().await.expect("the server answers");
        EventStream {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            received: String::new(),
            response,
        }
    }
}

impl EventStream {
    /// Reads until what was received satisfies `done`, failing after `within` or when the
    /// stream ends first.
    pub async fn read_until(&mut self, within: Duration, done: impl Fn(&str) -> bool) -> &str {
        let deadline = tokio::time::Instant::now() + within;
        while !done(&self.received) {
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .unwrap_or_else(|_| panic!("the stream never sent it; so far:\n{}", self.received))
                .expect("the stream is readable")
                .unwrap_or_else(|| panic!("the stream ended; it sent:\n{}", self.received));
            self.received.push_str(&String::from_utf8_lossy(&chunk));
        }
        &self.received
    }

    /// The first whole event (up to its blank line).
    pub async fn first_frame(&mut self) -> String {
        let received = self
            .read_until(Duration::from_secs(5), |text| text.contains("\n\n"))
            .await;
        let end = received.find("\n\n").unwrap_or_default();
        received[..end + 2].to_string()
    }

    /// The data of the first event, parsed.
    pub async fn first_data(&mut self) -> Value {
        let frame = self.first_frame().await;
        let data = frame
            .lines()
            .find_map(|line| line.strip_prefix("data: "))
            .unwrap_or_else(|| panic!("an event without data: {frame}"));
        serde_json::from_str(data).expect("the event's data is JSON")
    }

    /// Reads whatever comes for `period`, and returns all received so far.
    pub async fn read_for(&mut self, period: Duration) -> &str {
        let until = tokio::time::Instant::now() + period;
        while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(until, self.response.chunk()).await
        {
            self.received.push_str(&String::from_utf8_lossy(&chunk));
        }
        &self.received
    }

    /// Whether the server ends the stream within `within`.
    pub async fn ends_within(mut self, within: Duration) -> bool {
        tokio::time::timeout(within, async {
            while let Ok(Some(_)) = self.response.chunk().await {}
        })
        .await
        .is_ok()
    }
}

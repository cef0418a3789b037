//! DNS-rebinding guard: which `Host` a request may name. A rebinding page makes the browser
//! send the attacker's own name in `Host` while the connection reaches Lookout, so a request
//! is answered only when its `Host` is
//!
//! - the host of `server.public_url`, or
//! - a loopback name or address (`localhost`, `127.0.0.0/8`, `[::1]`), or
//! - any IP literal: a page can only be same-origin with an IP literal by being served from
//!   it, so an IP literal cannot be rebound.
//!
//! Anything else gets 421 with the reason. `/healthz` and `/readyz` are exempt (platform
//! probes use internal names and they say nothing). Demo mode without `public_url` answers
//! every host (simulated data, listed accounts).

use std::net::IpAddr;

/// Why a request's `Host` was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum HostRefusal {
    #[error("this Lookout answers to {expected}, not to the host `{given}` (set server.public_url to the address people open)")]
    Unknown { given: String, expected: String },
}

/// Checks the `Host` header value (`name[:port]`, `[v6][:port]`); `None` (no header) passes.
pub fn check_host(host: Option<&str>, public_host: Option<&str>) -> Result<(), HostRefusal> {
    let Some(host) = host else {
        return Ok(());
    };
    let name = host_name(host);
    let allowed = public_host.is_some_and(|public| name.eq_ignore_ascii_case(public))
        || is_loopback_name(&name)
        || is_ip_literal(&name);
    if allowed {
        Ok(())
    } else {
        Err(HostRefusal::Unknown {
            given: host.chars().take(100).collect(),
            expected: match public_host {
                Some(public) => format!("{public} and loopback"),
                None => "loopback and IP addresses only".to_string(),
            },
        })
    }
}

/// The name part of `name[:port]` / `[v6][:port]`, lower-cased, without a trailing dot.
fn host_name(host: &str) -> String {
    let host = host.trim();
    let name = if let Some(rest) = host.strip_prefix('[') {
        match rest.split_once(']') {
            Some((inside, _)) => format!("[{inside}]"),
            None => host.to_string(),
        }
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name.to_string(),
            _ => host.to_string(),
        }
    };
    name.trim_end_matches('.').to_ascii_lowercase()
}

fn is_loopback_name(name: &str) -> bool {
    name == "localhost" || ip_of(name).is_some_and(|ip| ip.is_loopback())
}

fn is_ip_literal(name: &str) -> bool {
    ip_of(name).is_some()
}

fn ip_of(name: &str) -> Option<IpAddr> {
    let bare = name
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'));
    match bare {
        Some(v6) => v6.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6),
        None => name.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4),
    }
}

/// The host of an http(s) URL, lower-cased (`https://Status.Example.com:8443/` →
/// `status.example.com`; IPv6 in brackets).
pub fn host_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    match parsed.host()? {
        url::Host::Ipv6(v6) => Some(format!("[{v6}]")),
        host => Some(host.to_string().to_ascii_lowercase()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rebound_name_is_refused_and_loopback_ip_literals_and_the_public_host_pass() {
        let public = Some("status.example.com");
        for ok in [
            "status.example.com",
            "Status.Example.com.:443",
            "localhost:3000",
            "127.0.0.1:3000",
            "127.8.9.1",
            "[::1]:3000",
            "10.0.0.5:3000",
            "[fd00::5]",
        ] {
            assert_eq!(check_host(Some(ok), public), Ok(()), "{ok}");
        }
        for refused in [
            "evil.example",
            "evil.example:3000",
            "status.example.com.evil.example",
            "localhost.evil.example",
        ] {
            assert!(check_host(Some(refused), public).is_err(), "{refused}");
        }
        // Without public_url: loopback and IP literals only.
        assert_eq!(check_host(Some("127.0.0.1:4000"), None), Ok(()));
        assert_eq!(check_host(Some("192.168.1.20:4000"), None), Ok(()));
        let refused = check_host(Some("rebind.attacker.example:4000"), None).unwrap_err();
        assert!(
            refused.to_string().contains("server.public_url"),
            "{refused}"
        );
        assert_eq!(check_host(None, None), Ok(()));
    }

    #[test]
    fn the_public_host_is_read_from_the_url() {
        assert_eq!(
            host_of("https://Status.Example.com:8443/x").as_deref(),
            Some("status.example.com")
        );
        assert_eq!(host_of("http://[::1]:3000").as_deref(), Some("[::1]"));
    }
}

//! Which address a request comes from. The peer's address, unless the peer is a trusted proxy:
//! then `X-Forwarded-For` is walked from the right (each proxy appends the address it saw) past
//! every trusted proxy, and the first address that is not one is the client. The leftmost
//! entries are whatever the client sent, so they are never believed. A platform whose edge
//! writes the client's address into a header of its own (`Fly-Client-IP`,
//! `DO-Connecting-IP`, …) is named with `[auth] client_ip_header`, believed only from a
//! trusted peer too.

use super::cidr::IpNetwork;
use axum::http::HeaderMap;
use std::net::{IpAddr, SocketAddr};

/// The client's address for rate limits, stream limits and the audit log.
pub fn client_address(
    trusted: &[IpNetwork],
    client_header: Option<&str>,
    headers: &HeaderMap,
    peer: Option<IpAddr>,
) -> Option<IpAddr> {
    let peer = peer.map(canonical)?;
    let is_trusted = |address: IpAddr| trusted.iter().any(|network| network.contains(address));
    if !is_trusted(peer) {
        return Some(peer);
    }
    let from_platform = client_header
        .and_then(|name| headers.get(name))
        .and_then(|value| value.to_str().ok())
        .and_then(|value| parse_hop(value.trim()));
    if let Some(client) = from_platform {
        return Some(client);
    }
    // Several `X-Forwarded-For` lines are one list, in order.
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    let mut nearest = peer;
    for hop in hops.iter().rev() {
        let Some(address) = parse_hop(hop) else {
            // A trusted proxy wrote something we cannot read: believe nothing further left.
            return Some(nearest);
        };
        if !is_trusted(address) {
            return Some(address);
        }
        nearest = address;
    }
    // Every hop is a trusted proxy: the farthest one is as close to the client as we know.
    Some(nearest)
}

/// `1.2.3.4`, `2001:db8::1`, `1.2.3.4:5678` or `[2001:db8::1]:5678`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|socket| socket.ip()))
        .map(canonical)
}

/// An IPv4 peer on a dual-stack socket shows up as `::ffff:a.b.c.d`: one address, one key.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn networks(list: &[&str]) -> Vec<IpNetwork> {
        list.iter().map(|text| text.parse().unwrap()).collect()
    }

    fn forwarded(lines: &[&'static str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append("x-forwarded-for", HeaderValue::from_static(line));
        }
        headers
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn spoofed_leftmost_entries_are_ignored_and_the_rightmost_untrusted_hop_wins() {
        let trusted = networks(&["10.0.0.0/8"]);
        let peer = ip("10.0.0.2");
        // The client sent "6.6.6.6"; the trusted proxy appended what it saw.
        let headers = forwarded(&["6.6.6.6, 203.0.113.7"]);
        assert_eq!(
            client_address(&trusted, None, &headers, peer),
            ip("203.0.113.7")
        );
        // Two trusted hops (CDN then load balancer), over two header lines.
        let headers = forwarded(&["6.6.6.6, 203.0.113.7", "10.1.2.3"]);
        assert_eq!(
            client_address(&trusted, None, &headers, peer),
            ip("203.0.113.7")
        );
        // Ports and IPv4-mapped addresses.
        let headers = forwarded(&["203.0.113.7:5555"]);
        assert_eq!(
            client_address(&trusted, None, &headers, peer),
            ip("203.0.113.7")
        );
        let headers = forwarded(&["[2001:db8::1]:443"]);
        assert_eq!(
            client_address(&trusted, None, &headers, peer),
            ip("2001:db8::1")
        );
        assert_eq!(
            client_address(&trusted, None, &HeaderMap::new(), ip("::ffff:10.0.0.2")),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn the_header_is_believed_only_from_a_trusted_peer() {
        let trusted = networks(&["10.0.0.0/8"]);
        let headers = forwarded(&["203.0.113.7"]);
        assert_eq!(
            client_address(&trusted, None, &headers, ip("198.51.100.1")),
            ip("198.51.100.1")
        );
        assert_eq!(
            client_address(&[], None, &headers, ip("10.0.0.2")),
            ip("10.0.0.2"),
            "no trusted proxies: the peer"
        );
        // Nothing forwarded, or only proxies, or garbage from the proxy.
        assert_eq!(
            client_address(&trusted, None, &HeaderMap::new(), ip("10.0.0.2")),
            ip("10.0.0.2")
        );
        let headers = forwarded(&["10.9.9.9, 10.0.0.3"]);
        assert_eq!(
            client_address(&trusted, None, &headers, ip("10.0.0.2")),
            ip("10.9.9.9")
        );
        let headers = forwarded(&["203.0.113.7, unknown"]);
        assert_eq!(
            client_address(&trusted, None, &headers, ip("10.0.0.2")),
            ip("10.0.0.2")
        );
        assert_eq!(client_address(&trusted, None, &headers, None), None);
    }

    #[test]
    fn a_platform_header_wins_from_a_trusted_peer_only() {
        let trusted = networks(&["172.16.0.0/12"]);
        let mut headers = forwarded(&["6.6.6.6, 203.0.113.7, 198.51.100.9"]);
        headers.insert("fly-client-ip", HeaderValue::from_static("203.0.113.7"));
        let header = Some("fly-client-ip");
        assert_eq!(
            client_address(&trusted, header, &headers, ip("172.16.5.4")),
            ip("203.0.113.7")
        );
        assert_eq!(
            client_address(&trusted, header, &headers, ip("192.0.2.1")),
            ip("192.0.2.1"),
            "a client cannot send it directly"
        );
    }
}

//! IP networks in CIDR notation (`10.0.0.0/8`, `::1/128`, or a bare address) for the trusted
//! proxy list. Parsing and prefix matching are `ipnet`'s; this wrapper adds what the proxy
//! list needs on top: bare addresses as single-host networks, IPv4-mapped IPv6 peers matched
//! as IPv4, and error messages that say what was expected.

use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNetwork(IpNet);

impl IpNetwork {
    pub fn contains(&self, candidate: IpAddr) -> bool {
        let candidate = match candidate {
            // An IPv4 peer on a dual-stack socket shows up as ::ffff:a.b.c.d.
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        // `IpNet::contains` masks with the prefix, so a host address with bits set below it
        // (`10.1.2.3/16`) means its network, as it always has here.
        self.0.contains(&candidate)
    }
}

impl FromStr for IpNetwork {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let not_an_address = || format!("`{text}` is not an address or network like 10.0.0.0/8");
        let network = match text.split_once('/') {
            None => IpNet::from(text.parse::<IpAddr>().map_err(|_| not_an_address())?),
            Some((address, _)) => text.parse::<IpNet>().map_err(|_| {
                // ipnet's error does not say which half is wrong; the address half decides.
                match address.parse::<IpAddr>() {
                    Ok(address) => {
                        let max = if address.is_ipv4() { 32 } else { 128 };
                        format!("`{text}`: the prefix length must be 0 to {max}")
                    }
                    Err(_) => not_an_address(),
                }
            })?,
        };
        Ok(Self(network))
    }
}

#[cfg(test)]
mod tests {
    use super::IpNetwork;

    fn network(text: &str) -> IpNetwork {
        text.parse().unwrap()
    }

    fn contains(network_text: &str, address: &str) -> bool {
        network(network_text).contains(address.parse().unwrap())
    }

    #[test]
    fn networks_contain_their_addresses_only() {
        assert!(contains("10.1.0.0/16", "10.1.200.3"));
        assert!(!contains("10.1.0.0/16", "10.2.0.1"));
        assert!(contains("10.1.0.0/16", "::ffff:10.1.0.9"));
        assert!(contains("127.0.0.1", "127.0.0.1"));
        assert!(!contains("127.0.0.1", "127.0.0.2"));
        assert!(contains("0.0.0.0/0", "8.8.8.8"));
        assert!(contains("fd00::/8", "fd12::1"));
        assert!(!contains("fd00::/8", "10.0.0.1"));
        assert!("10.0.0.0/33".parse::<IpNetwork>().is_err());
        assert!("proxy".parse::<IpNetwork>().is_err());
    }

    #[test]
    fn zero_prefixes_contain_their_whole_family_only() {
        assert!(contains("0.0.0.0/0", "255.255.255.255"));
        assert!(contains("0.0.0.0/0", "::ffff:192.0.2.1"));
        assert!(!contains("0.0.0.0/0", "2001:db8::1"));
        assert!(contains("::/0", "2001:db8::1"));
        assert!(contains("::/0", "::1"));
        assert!(!contains("::/0", "192.0.2.1"));
    }

    #[test]
    fn full_prefixes_contain_exactly_one_address() {
        assert!(contains("192.0.2.7/32", "192.0.2.7"));
        assert!(contains("192.0.2.7/32", "::ffff:192.0.2.7"));
        assert!(!contains("192.0.2.7/32", "192.0.2.6"));
        assert!(!contains("192.0.2.7/32", "192.0.2.8"));
        assert!(contains("2001:db8::7/128", "2001:db8::7"));
        assert!(!contains("2001:db8::7/128", "2001:db8::8"));
        assert!(contains("::1", "::1"));
        assert!(!contains("::1", "::2"));
        assert_eq!(network("2001:db8::7"), network("2001:db8::7/128"));
        assert_eq!(network("192.0.2.7"), network("192.0.2.7/32"));
    }

    #[test]
    fn host_bits_below_the_prefix_are_ignored() {
        assert!(contains("10.1.2.3/16", "10.1.200.9"));
        assert!(!contains("10.1.2.3/16", "10.2.2.3"));
        assert!(contains("2001:db8::1234/32", "2001:db8:ffff::1"));
        assert!(!contains("2001:db8::1234/32", "2001:db9::1234"));
    }

    #[test]
    fn invalid_input_says_what_is_wrong() {
        let error = |text: &str| text.parse::<IpNetwork>().unwrap_err();
        assert_eq!(
            error("proxy"),
            "`proxy` is not an address or network like 10.0.0.0/8"
        );
        assert_eq!(
            error("10.0.0/8"),
            "`10.0.0/8` is not an address or network like 10.0.0.0/8"
        );
        assert_eq!(error(""), "`` is not an address or network like 10.0.0.0/8");
        assert_eq!(
            error("10.0.0.0/33"),
            "`10.0.0.0/33`: the prefix length must be 0 to 32"
        );
        assert_eq!(
            error("fd00::/129"),
            "`fd00::/129`: the prefix length must be 0 to 128"
        );
        assert_eq!(
            error("10.0.0.0/eight"),
            "`10.0.0.0/eight`: the prefix length must be 0 to 32"
        );
        assert_eq!(
            error("10.0.0.0/"),
            "`10.0.0.0/`: the prefix length must be 0 to 32"
        );
        assert_eq!(
            error(" 10.0.0.0/33 "),
            "`10.0.0.0/33`: the prefix length must be 0 to 32"
        );
    }

    #[test]
    fn surrounding_whitespace_is_ignored() {
        assert!(contains("  10.0.0.0/8\t", "10.9.9.9"));
    }
}

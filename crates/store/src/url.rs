//! `--store` values: `redb` (the embedded file in the data dir) or
//! `etcd://host[:port][,host[:port]…]` (an etcd cluster).

use crate::StoreError;

/// etcd's client port, used when a host gives none.
const ETCD_DEFAULT_PORT: u16 = 2379;

/// Which backend a `--store` value names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// The embedded redb file in the data directory.
    Redb,
    /// An etcd cluster; endpoints are `http://host:port` (the etcd backend switches them to
    /// `https://` when it is given TLS settings).
    Etcd { endpoints: Vec<String> },
}

/// Parses a `--store` value. Errors say what was wrong and what is expected.
pub fn parse_store_url(text: &str) -> Result<StoreUrl, StoreError> {
    let error = |reason: &str| StoreError::InvalidUrl { url: text.to_string(), reason: reason.to_string() };
    let trimmed = text.trim();
    if trimmed == "redb" {
        return Ok(StoreUrl::Redb);
    }
    let Some(rest) = trimmed.strip_prefix("etcd://") else {
        return Err(error("expected `redb` or `etcd://HOST:PORT[,HOST:PORT…]`"));
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains(['/', '?', '#']) {
        return Err(error("an etcd URL has no path or query; give the key prefix with --store-prefix"));
    }
    if rest.contains('@') {
        return Err(error("user names and passwords in the URL are not supported"));
    }
    if rest.is_empty() {
        return Err(error("no etcd endpoint given"));
    }
    let endpoints = rest
        .split(',')
        .map(|member| parse_endpoint(member.trim()).map_err(|reason| error(&reason)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(StoreUrl::Etcd { endpoints })
}

/// `host[:port]` → `http://host:port`.
fn parse_endpoint(member: &str) -> Result<String, String> {
    if member.is_empty() {
        return Err("an endpoint is empty (two commas in a row?)".to_string());
    }
    let (host, port) = split_host_port(member)?;
    let port = match port {
        None => ETCD_DEFAULT_PORT,
        Some(port) => match port.parse::<u16>() {
            Ok(port) if port > 0 => port,
            _ => return Err(format!("{member:?}: the port must be a number from 1 to 65535")),
        },
    };
    Ok(format!("http://{host}:{port}"))
}

/// Splits `host:port`, `host`, `[v6]:port` or `[v6]`, checking the host's characters.
fn split_host_port(member: &str) -> Result<(&str, Option<&str>), String> {
    if let Some(bracketed) = member.strip_prefix('[') {
        let (address, after) =
            bracketed.split_once(']').ok_or_else(|| format!("{member:?}: an IPv6 address needs its `]`"))?;
        if address.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!("{member:?}: {address:?} is not an IPv6 address"));
        }
        let host = &member[..address.len() + 2];
        return match after {
            "" => Ok((host, None)),
            _ => match after.strip_prefix(':') {
                Some(port) => Ok((host, Some(port))),
                None => Err(format!("{member:?}: expected `:PORT` after the IPv6 address")),
            },
        };
    }
    let (host, port) = match member.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (member, None),
    };
    let valid = !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if !valid {
        return Err(format!("{member:?}: {host:?} is not a host name or address (IPv6 goes in brackets)"));
    }
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoints(text: &str) -> Vec<String> {
        match parse_store_url(text) {
            Ok(StoreUrl::Etcd { endpoints }) => endpoints,
            other => panic!("{text}: {other:?}"),
        }
    }

    fn reason(text: &str) -> String {
        match parse_store_url(text) {
            Err(StoreError::InvalidUrl { url, reason }) => {
                assert_eq!(url, text);
                reason
            }
            other => panic!("{text}: expected an error, got {other:?}"),
        }
    }

    #[test]
    fn redb_and_etcd_urls_parse() {
        assert_eq!(parse_store_url("redb").ok(), Some(StoreUrl::Redb));
        assert_eq!(endpoints("etcd://h1:2379,h2:2379"), ["http://h1:2379", "http://h2:2379"]);
        assert_eq!(endpoints("etcd://10.0.0.1"), ["http://10.0.0.1:2379"]);
        assert_eq!(endpoints("etcd://[::1]:4001/"), ["http://[::1]:4001"]);
        assert_eq!(
            endpoints("etcd://[fe80::1], etcd-2.local:1"),
            ["http://[fe80::1]:2379", "http://etcd-2.local:1"]
        );
    }

    #[test]
    fn bad_urls_say_what_is_wrong() {
        assert!(reason("").contains("expected `redb` or `etcd://"));
        assert!(reason("http://h1:2379").contains("expected `redb` or `etcd://"));
        assert!(reason("etcd://").contains("no etcd endpoint"));
        assert!(reason("etcd://h1:2379,,h2").contains("empty"));
        assert!(reason("etcd://h1:0").contains("1 to 65535"));
        assert!(reason("etcd://h1:http").contains("1 to 65535"));
        assert!(reason("etcd://h1:2379/switchyard").contains("--store-prefix"));
        assert!(reason("etcd://root:pw@h1").contains("passwords"));
        assert!(reason("etcd://::1").contains("IPv6 goes in brackets"));
        assert!(reason("etcd://[::1").contains("`]`"));
        assert!(reason("etcd://[nope]:1").contains("not an IPv6 address"));
        assert!(reason("etcd://h_1").contains("not a host name"));
    }
}

//! Host and Origin checks against DNS rebinding and cross-site requests: a browser page from
//! elsewhere may make requests to the supervisor's address, but it cannot make them carry a
//! `Host` of ours (unless its name resolves to us — rebinding — which the allow-list stops) nor
//! hide its `Origin`. Pure.

use std::net::IpAddr;

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OriginError {
    #[error(
        "host '{0}' is not a name of this supervisor; use its address, localhost, or a name given with --allowed-host"
    )]
    Host(String),
    #[error("cross-origin request from '{origin}' refused: the origin is not this supervisor ({host})")]
    CrossOrigin { origin: String, host: String },
}

/// Checks a request's `Host` (or HTTP/2 `:authority`) and `Origin`. `tls` is whether the
/// connection is TLS, when known. A request without a host (not from a browser) passes.
pub fn check(
    host: Option<&str>,
    origin: Option<&str>,
    allowed: &[String],
    tls: Option<bool>,
) -> Result<(), OriginError> {
    let Some(host) = host else { return Ok(()) };
    let (name, port) = split_authority(host);
    if !host_allowed(name, allowed) {
        return Err(OriginError::Host(printable(name)));
    }
    let Some(origin) = origin else { return Ok(()) };
    let refused = || OriginError::CrossOrigin { origin: printable(origin), host: printable(host) };
    let (scheme, authority) = origin.split_once("://").ok_or_else(refused)?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = |scheme: &str| match scheme {
        "https" => Some(443),
        "http" => Some(80),
        _ => None,
    };
    if tls.is_some_and(|tls| (scheme == "https") != tls) {
        return Err(refused());
    }
    let (origin_name, origin_port) = split_authority(authority);
    let origin_port = origin_port.or_else(|| default_port(&scheme));
    let host_scheme = match tls {
        Some(true) => "https",
        Some(false) => "http",
        None => scheme.as_str(),
    };
    let port = port.or_else(|| default_port(host_scheme));
    if origin_port.is_none() || origin_port != port || !origin_name.eq_ignore_ascii_case(name) {
        return Err(refused());
    }
    Ok(())
}

/// Whether `name` (a host without port) is an IP literal, `localhost`, or an allowed name.
fn host_allowed(name: &str, allowed: &[String]) -> bool {
    let name = name.trim_end_matches('.');
    name.parse::<IpAddr>().is_ok()
        || name.eq_ignore_ascii_case("localhost")
        || allowed.iter().any(|allowed| allowed.trim_end_matches('.').eq_ignore_ascii_case(name))
}

/// `name[:port]` or `[v6][:port]` into the name (without brackets) and the port.
fn split_authority(authority: &str) -> (&str, Option<u16>) {
    if let Some(rest) = authority.strip_prefix('[') {
        let (name, after) = rest.split_once(']').unwrap_or((rest, ""));
        return (name, after.strip_prefix(':').and_then(|p| p.parse().ok()));
    }
    match authority.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') => (name, port.parse().ok()),
        _ => (authority, None),
    }
}

/// A header value safe to put in a message: printable ASCII only, at most 100 characters.
fn printable(text: &str) -> String {
    text.chars().filter(|c| c.is_ascii_graphic() || *c == ' ').take(100).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> Vec<String> {
        vec!["sup.example.com".to_owned()]
    }

    #[test]
    fn hosts() {
        for host in
            ["127.0.0.1:7400", "[::1]:7400", "localhost", "LOCALHOST:1", "sup.example.com:7400", "10.0.0.1"]
        {
            assert_eq!(check(Some(host), None, &allowed(), None), Ok(()), "{host}");
        }
        assert_eq!(check(None, Some("http://evil.example"), &allowed(), None), Ok(()));
        let refused = check(Some("attacker.example"), None, &allowed(), None);
        assert_eq!(refused, Err(OriginError::Host("attacker.example".into())));
        assert!(check(Some("sup.example.com.evil:1"), None, &allowed(), None).is_err());
    }

    #[test]
    fn origins() {
        let ok = |host, origin, tls| check(Some(host), Some(origin), &allowed(), tls).is_ok();
        assert!(ok("127.0.0.1:7400", "http://127.0.0.1:7400", None));
        assert!(ok("127.0.0.1:7400", "https://127.0.0.1:7400", Some(true)));
        assert!(ok("localhost", "https://localhost:443", Some(true)));
        assert!(!ok("127.0.0.1:7400", "http://127.0.0.1:7400", Some(true)), "scheme differs");
        assert!(!ok("127.0.0.1:7400", "http://evil.example", None));
        assert!(!ok("127.0.0.1:7400", "http://127.0.0.1:7401", None));
        assert!(!ok("127.0.0.1:7400", "null", None));
        assert!(!ok("localhost", "file://localhost", None));
    }
}

//! The supervisors a client talks to: `--supervisor URL[,URL…]`.
//!
//! Several supervisors share one store and answer every request alike, so a client (the agent,
//! the shell) takes them in order and moves to the next one when its supervisor stops answering.
//! A URL whose host name has several addresses stands for each of them: the client tries them
//! in the resolver's order, and checks every one's certificate against the host name.
//!
//! Pure: this module parses and checks the list; resolving and connecting are the clients' own
//! (the agent's async, the shell's blocking). All entries use one scheme: `https://`, or
//! `http://` for `--insecure` supervisors.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;

/// `http://` or `https://`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    /// The port a URL without one means.
    pub fn default_port(self) -> u16 {
        match self {
            Self::Http => 80,
            Self::Https => 443,
        }
    }

    /// `http` or `https`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a `--supervisor` value is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointsError {
    #[error("no supervisor URL given")]
    Empty,
    #[error("supervisor entry {position} of {list:?} is empty (two commas in a row, or one at an end?)")]
    EmptyEntry { list: String, position: usize },
    #[error("invalid supervisor URL {url:?}: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("the supervisor {url} is given twice (the first time as {first})")]
    Duplicate { url: String, first: String },
    #[error(
        "the supervisor list mixes {first}:// and {other}:// ({url}): give all https:// (or, for \
         --insecure supervisors, all http://)"
    )]
    MixedSchemes { first: Scheme, other: Scheme, url: String },
}

/// One supervisor URL: `https://HOST[:PORT]`, HOST a DNS name, an IPv4 address or `[IPv6]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupervisorEndpoint {
    /// As written, without a trailing `/`.
    url: String,
    scheme: Scheme,
    /// Without brackets; a DNS name in lower case.
    host: String,
    port: u16,
}

impl SupervisorEndpoint {
    /// The URL as written (no trailing `/`): what messages show.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The host: a DNS name (lower case) or an address, without brackets. What the
    /// supervisor's certificate must name.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, the scheme's default when the URL gives none.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The host when it is an address: no resolving needed.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }

    /// `HOST:PORT`, an IPv6 address in brackets.
    pub fn authority(&self) -> String {
        match self.ip() {
            Some(IpAddr::V6(v6)) => format!("[{v6}]:{}", self.port),
            _ => format!("{}:{}", self.host, self.port),
        }
    }

    /// `SCHEME://HOST:PORT`: where REST paths are appended.
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.scheme, self.authority())
    }

    /// What two spellings of the same supervisor share (`https://a` and `https://A:443/`).
    fn key(&self) -> (Scheme, &str, u16) {
        (self.scheme, &self.host, self.port)
    }
}

impl fmt::Display for SupervisorEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

impl FromStr for SupervisorEndpoint {
    type Err = EndpointsError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let url = text.trim();
        let bad = |reason: &str| EndpointsError::BadUrl { url: url.to_owned(), reason: reason.to_owned() };
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| bad("it needs a scheme: https://HOST:PORT (http:// for --insecure)"))?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "https" => Scheme::Https,
            "http" => Scheme::Http,
            _ => return Err(bad("the scheme must be https:// (or http:// for --insecure)")),
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#']) {
            return Err(bad("a supervisor URL is only https://HOST:PORT, with no path"));
        }
        if authority.contains('@') {
            return Err(bad("no user name in the URL (the shell takes --user)"));
        }
        let (host, port) = split_authority(authority).map_err(|reason| bad(&reason))?;
        let port = match port {
            None => scheme.default_port(),
            Some(text) => match text.parse::<u16>() {
                Ok(port) if port != 0 => port,
                _ => return Err(bad(&format!("port {text:?} is not 1-65535"))),
            },
        };
        let host = check_host(host).map_err(|reason| bad(&reason))?;
        let url = url.strip_suffix('/').unwrap_or(url).to_owned();
        Ok(Self { url, scheme, host, port })
    }
}

/// `HOST[:PORT]` or `[V6][:PORT]` into the host (no brackets) and the port text.
fn split_authority(authority: &str) -> Result<(&str, Option<&str>), String> {
    if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or("a '[' without its ']'")?;
        if host.parse::<Ipv6Addr>().is_err() {
            return Err(format!("[{host}] is not an IPv6 address"));
        }
        return match after {
            "" => Ok((host, None)),
            _ => after
                .strip_prefix(':')
                .map(|port| (host, Some(port)))
                .ok_or_else(|| format!("{after:?} after the address: expected :PORT")),
        };
    }
    match authority.matches(':').count() {
        0 => Ok((authority, None)),
        1 => authority.split_once(':').map(|(host, port)| (host, Some(port))).ok_or_else(String::new),
        _ => Err("an IPv6 address goes in brackets: https://[::1]:7400".to_owned()),
    }
}

/// A DNS name (lower-cased) or an IPv4 address; IPv6 came bracketed and checked.
fn check_host(host: &str) -> Result<String, String> {
    if host.is_empty() {
        return Err("no host".to_owned());
    }
    if host.parse::<IpAddr>().is_ok() {
        return Ok(host.to_owned());
    }
    if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        // `10.0.0.256` would otherwise pass as a (numeric) host name.
        return Err(format!("{host} is not an IPv4 address"));
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if name.len() > 253 || !name.split('.').all(label_ok) {
        return Err(format!("{host:?} is not a host name or an address"));
    }
    Ok(name.to_ascii_lowercase())
}

/// `--supervisor`: one URL or several, comma-separated, in the order to try them. Never empty,
/// no supervisor twice, one scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupervisorEndpoints {
    endpoints: Vec<SupervisorEndpoint>,
}

impl SupervisorEndpoints {
    /// The endpoints, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, SupervisorEndpoint> {
        self.endpoints.iter()
    }

    /// How many (at least one).
    pub fn len(&self) -> usize {
        self.endpoints.len()
    }

    /// Never: a list has at least one endpoint (for clippy's `len_without_is_empty`).
    pub fn is_empty(&self) -> bool {
        self.endpoints.is_empty()
    }

    /// The `index`th endpoint.
    pub fn get(&self, index: usize) -> Option<&SupervisorEndpoint> {
        self.endpoints.get(index)
    }

    /// The scheme every endpoint uses.
    pub fn scheme(&self) -> Scheme {
        self.endpoints.first().map_or(Scheme::Https, SupervisorEndpoint::scheme)
    }

    /// The URLs as written, in order.
    pub fn urls(&self) -> Vec<String> {
        self.endpoints.iter().map(|endpoint| endpoint.url.clone()).collect()
    }
}

impl<'a> IntoIterator for &'a SupervisorEndpoints {
    type Item = &'a SupervisorEndpoint;
    type IntoIter = std::slice::Iter<'a, SupervisorEndpoint>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// The URLs, comma-separated: what parses back to the same list.
impl fmt::Display for SupervisorEndpoints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.urls().join(","))
    }
}

impl FromStr for SupervisorEndpoints {
    type Err = EndpointsError;

    fn from_str(list: &str) -> Result<Self, Self::Err> {
        if list.trim().is_empty() {
            return Err(EndpointsError::Empty);
        }
        let mut endpoints: Vec<SupervisorEndpoint> = Vec::new();
        for (index, entry) in list.split(',').enumerate() {
            if entry.trim().is_empty() {
                return Err(EndpointsError::EmptyEntry { list: list.to_owned(), position: index + 1 });
            }
            let endpoint: SupervisorEndpoint = entry.parse()?;
            if let Some(first) = endpoints.first()
                && first.scheme != endpoint.scheme
            {
                return Err(EndpointsError::MixedSchemes {
                    first: first.scheme,
                    other: endpoint.scheme,
                    url: endpoint.url,
                });
            }
            if let Some(same) = endpoints.iter().find(|known| known.key() == endpoint.key()) {
                return Err(EndpointsError::Duplicate { url: endpoint.url, first: same.url.clone() });
            }
            endpoints.push(endpoint);
        }
        Ok(Self { endpoints })
    }
}

impl From<SupervisorEndpoint> for SupervisorEndpoints {
    fn from(endpoint: SupervisorEndpoint) -> Self {
        Self { endpoints: vec![endpoint] }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn parse(list: &str) -> Result<SupervisorEndpoints, EndpointsError> {
        list.parse()
    }

    fn error(list: &str) -> String {
        parse(list).expect_err(list).to_string()
    }

    #[test]
    fn one_url_or_several_in_order() {
        let one = parse("https://127.0.0.1:7400").expect("one");
        assert_eq!(one.len(), 1);
        let endpoint = one.get(0).expect("first");
        assert_eq!((endpoint.host(), endpoint.port(), endpoint.scheme()), ("127.0.0.1", 7400, Scheme::Https));
        assert_eq!(endpoint.ip(), Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));

        let three =
            parse("https://sup1.example:7400, https://10.0.0.2:7400/,https://[fd00::3]:7400").expect("three");
        assert_eq!(
            three.urls(),
            ["https://sup1.example:7400", "https://10.0.0.2:7400", "https://[fd00::3]:7400"]
        );
        let hosts: Vec<&str> = three.iter().map(SupervisorEndpoint::host).collect();
        assert_eq!(hosts, ["sup1.example", "10.0.0.2", "fd00::3"]);
        assert_eq!(three.get(2).expect("v6").authority(), "[fd00::3]:7400");
        assert_eq!(three.get(0).expect("name").ip(), None);
        // Display parses back to the same list.
        assert_eq!(parse(&three.to_string()).expect("again"), three);
    }

    #[test]
    fn ports_default_to_the_scheme_and_names_fold_case() {
        let list = parse("HTTPS://Sup.Example.").expect("name");
        let endpoint = list.get(0).expect("first");
        assert_eq!((endpoint.host(), endpoint.port()), ("sup.example", 443));
        assert_eq!(endpoint.base_url(), "https://sup.example:443");
        assert_eq!(parse("http://sup").expect("http").get(0).expect("first").port(), 80);
    }

    #[test]
    fn empty_entries_are_refused_with_their_position() {
        assert_eq!(error(""), "no supervisor URL given");
        assert_eq!(error("  "), "no supervisor URL given");
        let message = error("https://a:1,,https://b:1");
        assert!(message.contains("entry 2") && message.contains("is empty"), "{message}");
        assert!(error("https://a:1,").contains("entry 2"));
        assert!(error(",https://a:1").contains("entry 1"));
    }

    #[test]
    fn bad_urls_say_what_is_wrong() {
        for (url, expected) in [
            ("sup:7400", "needs a scheme"),
            ("ftp://sup", "must be https://"),
            ("https://", "no host"),
            ("https://:7400", "no host"),
            ("https://sup:0", "not 1-65535"),
            ("https://sup:99999", "not 1-65535"),
            ("https://sup:x", "not 1-65535"),
            ("https://sup:7400/api", "no path"),
            ("https://admin@sup", "no user name"),
            ("https://::1:7400", "goes in brackets"),
            ("https://[::1", "without its ']'"),
            ("https://[sup]:1", "not an IPv6 address"),
            ("https://[::1]7400", "expected :PORT"),
            ("https://10.0.0.256", "not an IPv4 address"),
            ("https://sup_ er", "not a host name"),
            ("https://-sup", "not a host name"),
        ] {
            let message = error(url);
            assert!(message.contains(expected), "{url}: {message}");
            assert!(message.starts_with("invalid supervisor URL"), "{url}: {message}");
        }
    }

    #[test]
    fn the_same_supervisor_twice_is_refused() {
        let message = error("https://sup:443,https://SUP/");
        assert_eq!(message, "the supervisor https://SUP is given twice (the first time as https://sup:443)");
        assert!(error("https://127.0.0.1:7400,https://127.0.0.1:7400").contains("twice"));
        // Another port is another supervisor.
        assert_eq!(parse("https://127.0.0.1:7400,https://127.0.0.1:7401").expect("two").len(), 2);
    }

    #[test]
    fn one_scheme_for_all() {
        let message = error("https://a:1,http://b:1");
        assert!(message.contains("mixes https:// and http://"), "{message}");
        assert_eq!(parse("http://a:1,http://b:1").expect("insecure").scheme(), Scheme::Http);
    }
}

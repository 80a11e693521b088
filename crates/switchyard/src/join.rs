//! What a new agent joins with: a one-time token from `join-token create` and the CA hash it
//! pins, as `switchyard agent` arguments. The demo and the tests enrol their agents this way,
//! the way an operator would.

use anyhow::Context as _;

use crate::shell::client::SupervisorClient;

/// A token and the hash, read from `join-token create`'s output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Join {
    pub token: String,
    pub ca_hash: String,
}

impl Join {
    /// A fresh token from the supervisor `client` talks to (it must be a network-admin's).
    pub fn create(client: &SupervisorClient) -> anyhow::Result<Self> {
        let output = client.exec("join-token create").context("join-token create")?;
        Self::parse(&output).with_context(|| format!("join-token create printed no token:\n{output}"))
    }

    /// The `Join token:` and `CA hash:` lines of `join-token create`.
    pub fn parse(output: &str) -> Option<Self> {
        let field = |label: &str| {
            output.lines().find_map(|line| line.strip_prefix(label).map(|value| value.trim().to_owned()))
        };
        Some(Self { token: field("Join token:")?, ca_hash: field("CA hash:")? })
    }

    /// `--join-token T --ca-hash H`.
    pub fn args(&self) -> [String; 4] {
        ["--join-token".into(), self.token.clone(), "--ca-hash".into(), self.ca_hash.clone()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_token_and_hash_lines() {
        let output = "Join token: abcdef.0123456789abcdef\nCA hash:    sha256:00ff\nExpires:    2026 Dec 07 (one use)\n";
        let join = Join::parse(output).expect("parsed");
        assert_eq!(join.token, "abcdef.0123456789abcdef");
        assert_eq!(join.ca_hash, "sha256:00ff");
        assert_eq!(Join::parse("nothing"), None);
    }
}

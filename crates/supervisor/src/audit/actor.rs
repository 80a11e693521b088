//! Who did something and from where, as the accounting log names them.

use super::{AuditEntry, AuditKind};
use crate::trust::{Caller, Connection};

/// The user and source of an accounting entry: the authenticated caller (`unknown` when nobody
/// authenticated) and the peer's address (`-` when unknown). REST handlers extract it (see
/// `rest::extract`); gRPC handlers build it from the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user: String,
    pub source: String,
}

impl Actor {
    /// The actor of a request carrying these extensions.
    pub fn new(caller: Option<&Caller>, connection: Option<&Connection>) -> Self {
        Self {
            user: caller.map_or_else(|| "unknown".to_owned(), Caller::audit_name),
            source: connection.map_or_else(|| "-".to_owned(), |connection| connection.peer.ip().to_string()),
        }
    }

    /// An accounting entry of this actor for an action with `result`.
    pub fn entry<T, E: std::fmt::Display>(
        &self,
        kind: AuditKind,
        command: String,
        result: &Result<T, E>,
        what: impl FnOnce(&T) -> String,
    ) -> AuditEntry {
        AuditEntry::outcome(kind, self.user.clone(), self.source.clone(), command, result, what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::Role;

    #[test]
    fn names_the_caller_and_its_address() {
        let connection =
            Connection { peer: "10.0.0.5:51234".parse().expect("addr"), tls: true, client: None };
        let alice = Caller::Operator { user: "alice".into(), role: Role::NetworkAdmin };
        assert_eq!(
            Actor::new(Some(&alice), Some(&connection)),
            Actor { user: "alice".into(), source: "10.0.0.5".into() }
        );
        let module = Caller::Module { host_id: "9f1c".into() };
        assert_eq!(Actor::new(Some(&module), None).user, "module:9f1c");
        assert_eq!(Actor::new(None, None), Actor { user: "unknown".into(), source: "-".into() });
        let failed: Result<(), &str> = Err("denied");
        let entry = Actor::new(Some(&alice), Some(&connection)).entry(
            AuditKind::Config,
            "vlan 5".into(),
            &failed,
            |()| String::new(),
        );
        assert_eq!(
            (entry.user.as_str(), entry.source.as_str(), entry.success, entry.detail.as_str()),
            ("alice", "10.0.0.5", false, "denied")
        );
    }
}

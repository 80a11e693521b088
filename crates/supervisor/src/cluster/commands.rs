//! Operators' port commands (`interface vethernet N` / `shutdown`) for a module whose agent
//! another supervisor serves: they travel through `live/port-commands/<module>/<veth>` (on the
//! asking supervisor's lease), and the serving supervisor takes them into its own queue and
//! deletes the key, so the agent's next report reply delivers each once (see
//! [`crate::port_commands`]). A command whose asker dies before delivery is lost, as a command
//! to a restarting supervisor always was: it is an action, asked again, not configuration.

use store::{Op, Store, StoreError, Txn};

use super::lease::SupervisorLease;
use crate::layout::LIVE_PORT_COMMANDS_PREFIX;

/// The key of a command for `veth` on `module`.
pub fn key(module: u32, veth: u32) -> String {
    format!("{LIVE_PORT_COMMANDS_PREFIX}{module:010}/{veth:010}")
}

/// The module, vEthernet and command a key and value name.
pub fn parse(key: &str, value: &[u8]) -> Option<(u32, u32, bool)> {
    let (module, veth) = key.strip_prefix(LIVE_PORT_COMMANDS_PREFIX)?.split_once('/')?;
    let shutdown = match value {
        b"shutdown" => true,
        b"no shutdown" => false,
        _ => return None,
    };
    Some((module.parse().ok()?, veth.parse().ok()?, shutdown))
}

/// Hands a command to whichever supervisor serves `module`.
pub async fn forward(
    store: &dyn Store,
    lease: &SupervisorLease,
    module: u32,
    veth: u32,
    shutdown: bool,
) -> Result<(), StoreError> {
    let value = if shutdown { b"shutdown".to_vec() } else { b"no shutdown".to_vec() };
    let op = Op::PutLeased { key: key(module, veth), value, lease: lease.id() };
    store.txn(Txn { compare: Vec::new(), success: vec![op], failure: Vec::new() }).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_junk_is_refused() {
        assert_eq!(parse(&key(3, 17), b"shutdown"), Some((3, 17, true)));
        assert_eq!(parse(&key(3, 17), b"no shutdown"), Some((3, 17, false)));
        assert_eq!(parse(&key(3, 17), b"reboot"), None);
        assert_eq!(parse("/switchyard/live/port-commands/x/1", b"shutdown"), None);
    }
}

//! Operators' requests for single vEthernets (`interface vethernet N` then `shutdown` / `no
//! shutdown`), waiting for their module's next `ReportPorts`, whose reply carries them.
//!
//! Memory only, per supervisor process: a request is an action (recover an error-disabled port
//! now), not configuration, so a restart that loses it loses nothing the operator cannot ask
//! again. Each is delivered once and dropped; a later request for the same port replaces an
//! earlier one not yet delivered (the last word counts, as typed).

use std::collections::BTreeMap;

/// Pending requests by module, then vEthernet number: `true` = shutdown.
#[derive(Debug, Default)]
pub struct PortCommands {
    pending: BTreeMap<u32, BTreeMap<u32, bool>>,
}

impl PortCommands {
    /// Records a request for `veth`, attached on `module`.
    pub fn request(&mut self, module: u32, veth: u32, shutdown: bool) {
        self.pending.entry(module).or_default().insert(veth, shutdown);
    }

    /// The requests for `module`'s ports, by vEthernet, which are forgotten here: its report's
    /// reply delivers them.
    pub fn take(&mut self, module: u32) -> Vec<proto::PortCommand> {
        self.pending
            .remove(&module)
            .unwrap_or_default()
            .into_iter()
            .map(|(veth, shutdown)| proto::PortCommand { veth, shutdown })
            .collect()
    }

    /// A module was removed: its requests go with it.
    pub fn forget(&mut self, module: u32) {
        self.pending.remove(&module);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivered_once_per_module_the_last_request_winning() {
        let mut commands = PortCommands::default();
        commands.request(3, 7, true);
        commands.request(3, 7, false);
        commands.request(3, 2, false);
        commands.request(4, 9, false);
        assert_eq!(
            commands.take(3),
            [
                proto::PortCommand { veth: 2, shutdown: false },
                proto::PortCommand { veth: 7, shutdown: false }
            ]
        );
        assert!(commands.take(3).is_empty(), "delivered once");
        commands.forget(4);
        assert!(commands.take(4).is_empty());
    }
}

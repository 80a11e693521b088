//! Interface indexes in exported records: the port's LTL number, as the datapath numbers ports.
//!
//! | ifindex | interface | `show` prints |
//! |---|---|---|
//! | 10 | the VXLAN tunnel ([`datapath::TUNNEL_PORT`]) | `vxlan` |
//! | 17–48 | uplink K = ifindex − 16 of module M | `EthM/K` |
//! | 49 and up | a vEthernet, by its LTL on this module | `VethN`, N from the module's port table (LTL → VethN) |
//! | 0 | none (flooded, dropped, or not known) | `-` |
//!
//! The index is local to the module that exported the record; the record's observation domain
//! (the module number) says which.

use datapath::PortId;

/// The first uplink's LTL (`Eth M/1`).
const FIRST_UPLINK_LTL: u32 = 17;
/// The last uplink's LTL.
const LAST_UPLINK_LTL: u32 = 48;
/// The first vEthernet's LTL.
const FIRST_VETH_LTL: u32 = 49;

/// The ifindex a record carries for `port`: its LTL.
pub const fn ifindex(port: PortId) -> u32 {
    port.0
}

/// What an exported ifindex names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interface {
    /// No interface (0).
    None,
    /// The VXLAN tunnel port.
    Tunnel,
    /// Uplink `index` (1-based), `EthM/index`.
    Uplink {
        /// The uplink's position, K in `EthM/K`.
        index: u32,
    },
    /// The vEthernet at this LTL on the exporting module.
    VEthernet {
        /// The port's LTL; the module's port table gives its VethN.
        ltl: u32,
    },
    /// An index no port uses.
    Unknown(u32),
}

impl Interface {
    /// What `ifindex` names.
    pub const fn of(ifindex: u32) -> Self {
        match ifindex {
            0 => Self::None,
            i if i == datapath::TUNNEL_PORT.0 => Self::Tunnel,
            FIRST_UPLINK_LTL..=LAST_UPLINK_LTL => Self::Uplink { index: ifindex - FIRST_UPLINK_LTL + 1 },
            FIRST_VETH_LTL.. => Self::VEthernet { ltl: ifindex },
            other => Self::Unknown(other),
        }
    }

    /// The name `show` prints, for module `module`; `veth_of_ltl` looks a vEthernet's number up
    /// in the module's port table.
    pub fn short_name(self, module: u32, veth_of_ltl: impl FnOnce(u32) -> Option<u32>) -> String {
        match self {
            Self::None => "-".to_owned(),
            Self::Tunnel => datapath::TUNNEL_NAME.to_owned(),
            Self::Uplink { index } => format!("Eth{module}/{index}"),
            Self::VEthernet { ltl } => match veth_of_ltl(ltl) {
                Some(veth) => format!("Veth{veth}"),
                None => format!("LTL {ltl}"),
            },
            Self::Unknown(ifindex) => format!("ifindex {ifindex}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ifindexes_name_tunnel_uplinks_and_vethernets() {
        assert_eq!(ifindex(PortId(49)), 49);
        let veth = |ltl| (ltl == 49).then_some(7);
        let names: Vec<String> =
            [0, 10, 17, 48, 49, 50, 5].map(|i| Interface::of(i).short_name(3, veth)).into();
        assert_eq!(names, ["-", "vxlan", "Eth3/1", "Eth3/32", "Veth7", "LTL 50", "ifindex 5"]);
    }
}

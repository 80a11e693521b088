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

/// The ifindex a record carries for `port`: its LTL.
pub const fn ifindex(port: PortId) -> u32 {
    port.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ifindex_is_the_ltl() {
        assert_eq!([ifindex(PortId(49)), ifindex(datapath::TUNNEL_PORT), ifindex(PortId(17))], [49, 10, 17]);
    }
}

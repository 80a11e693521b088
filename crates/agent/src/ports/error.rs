//! The port manager's one error type, worded for the person who typed `switchyard attach`.

use crate::attach::AttachError;
use crate::dataplane::DataplaneError;

/// Why an attach, a detach or a port query failed. A failed attach or detach has been rolled
/// back: no link, no dataplane port, no binding is left behind that was not there before.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    /// The request itself is wrong.
    #[error("{0}")]
    Invalid(String),
    /// Creating or deleting the veth pair failed.
    #[error(transparent)]
    Attach(#[from] AttachError),
    /// The supervisor cannot be asked for a vEthernet number.
    #[error(
        "the supervisor at {supervisor} is unreachable (the agent is headless): a new port needs \
         its vEthernet number from it; try again once `vemcmd show card` says connected"
    )]
    Headless {
        /// The supervisor's URL.
        supervisor: String,
    },
    /// The supervisor answered a port call with an error, or not at all.
    #[error("{call} failed: {message}")]
    Supervisor {
        /// `BindPort`, `UnbindPort`, `ReportPorts`.
        call: &'static str,
        /// What went wrong.
        message: String,
        /// Whether the supervisor may have carried the call out (a timeout, a lost connection)
        /// rather than refused it.
        uncertain: bool,
    },
    /// The supervisor's reply could not be used.
    #[error("the supervisor sent an unusable policy for port-profile '{profile}': {reason}")]
    BadPolicy {
        /// The profile.
        profile: String,
        /// What was wrong.
        reason: String,
    },
    /// The dataplane refused the port.
    #[error("the dataplane refused the port: {0}")]
    Dataplane(#[from] DataplaneError),
    /// `ports.json` could not be written.
    #[error("cannot save the ports: {0}")]
    Persist(String),
    /// The iface-id already has a port on this host.
    #[error("iface-id '{iface_id}' is already attached as Vethernet{veth}")]
    AlreadyAttached {
        /// The iface-id.
        iface_id: String,
        /// Its vEthernet.
        veth: u32,
    },
    /// Every local port number is taken.
    #[error("this host already has {max} ports, the most a module holds")]
    Full {
        /// The limit.
        max: u32,
    },
    /// An OVSDB row names an interface the host does not have (ovs-vswitchd's words).
    #[error("could not open network device {ifname} (No such device)")]
    NoSuchInterface {
        /// The row's interface name.
        ifname: String,
    },
    /// An OVSDB row names an interface that is already another port's.
    #[error("interface {ifname} is already switched as Vethernet{veth}")]
    InterfaceInUse {
        /// The interface.
        ifname: String,
        /// The port that has it.
        veth: u32,
    },
    /// `switchyard detach` of a port that an OVSDB row keeps: the row would bring it back.
    #[error(
        "Vethernet{veth} was added through OVSDB (bridge {bridge}); remove it there: \
         ovs-vsctl del-port {bridge} {ifname}"
    )]
    OwnedByOvsdb {
        /// The port.
        veth: u32,
        /// Its bridge.
        bridge: String,
        /// Its interface.
        ifname: String,
    },
    /// The agent is shutting down.
    #[error("the agent is stopping")]
    Stopping,
    /// Nothing on this host matches a detach or a query.
    #[error("no port {0} on this host")]
    NotAttached(String),
}

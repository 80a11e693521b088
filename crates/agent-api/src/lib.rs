//! The Switchyard agent's local API on `D/agent.sock`, as its clients see it.
//!
//! Every type that crosses the socket ([`Request`], [`Response`], the attach and detach
//! [`ports::spec`]s, the [`ports`] and [`uplinks`] views), a synchronous [`client`] for one-shot
//! commands, and [`vemcmd`]: its command parsing, `trace`'s frame builder and the rendering of
//! its answers. `switchyard attach`/`detach`/`vemcmd`, the Docker and the CNI plugins link this
//! crate instead of the agent: no datapath, no tokio, no netlink.
//!
//! One JSON object per line each way: a [`Request`], then its [`Response`]. A client may send
//! several requests on one connection. Adding a command means one `Request` variant, one
//! `Response` variant, one arm in the agent's responder and one in its client.

pub mod client;
mod constants;
pub mod ports;
mod protocol;
mod socket;
pub mod status;
pub mod supervisors;
pub mod uplinks;
pub mod vemcmd;

pub use client::ClientError;
pub use constants::{DEFAULT_MAC_AGING, TUNNEL_LTL, TUNNEL_NAME, VXLAN_OVERHEAD};
pub use protocol::{CardInfo, MAX_REQUEST_BYTES, Request, Response, encode_line, from_hex, to_hex};
pub use socket::{SOCKET_NAME, socket_path};
pub use status::ConnectionState;
pub use supervisors::{EndpointsError, Scheme, SupervisorEndpoint, SupervisorEndpoints};

//! The agent's local API on `D/agent.sock`: what `vemcmd`, `switchyard attach` and `detach`
//! talk to. Its messages and client are [`agent_api`]'s; the server and responder are here.
//!
//! One JSON object per line each way: a [`Request`], then its [`Response`]. A client may send
//! several requests on one connection. Adding a command means one `Request` variant, one
//! `Response` variant, one arm in the responder and one in its client.

mod responder;
mod server;

pub use agent_api::client;
pub use agent_api::{CardInfo, ClientError, MAX_REQUEST_BYTES, Request, Response, from_hex, to_hex};
pub(crate) use responder::Responder;
pub use server::{LocalApiError, LocalApiServer};

#[cfg(test)]
mod tests {
    /// `agent_api` copies what vemcmd prints so its clients need not link the datapath.
    #[test]
    fn the_apis_copies_of_datapath_facts_are_the_datapaths() {
        assert_eq!(agent_api::DEFAULT_MAC_AGING, datapath::DEFAULT_MAC_AGING);
        assert_eq!(agent_api::TUNNEL_NAME, datapath::TUNNEL_NAME);
        assert_eq!(agent_api::TUNNEL_LTL, datapath::TUNNEL_PORT.0);
        assert_eq!(agent_api::VXLAN_OVERHEAD, crate::overlay::VXLAN_OVERHEAD);
        assert_eq!(agent_api::socket_path("/d".as_ref()), crate::DataDir::new("/d").socket());
    }
}

//! The agent's local API on `D/agent.sock`: what `vemcmd` (and later the attach tools) talk to.
//!
//! One JSON object per line each way: a [`Request`], then its [`Response`]. A client may send
//! several requests on one connection. Adding a command (`show port`, `show l2`, …) means one
//! `Request` variant, one `Response` variant, one arm in the responder and one in vemcmd.

mod protocol;
mod responder;
mod server;

pub(crate) use protocol::encode_line;
pub use protocol::{CardInfo, MAX_REQUEST_BYTES, Request, Response};
pub(crate) use responder::Responder;
pub use server::{LocalApiError, LocalApiServer};

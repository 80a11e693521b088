//! The agent's local API on `D/agent.sock`: what `vemcmd`, `switchyard attach` and `detach`
//! talk to.
//!
//! One JSON object per line each way: a [`Request`], then its [`Response`]. A client may send
//! several requests on one connection. Adding a command means one `Request` variant, one
//! `Response` variant, one arm in the responder and one in its client.

pub mod client;
mod protocol;
mod responder;
mod server;

pub use client::ClientError;
pub use protocol::{CardInfo, MAX_REQUEST_BYTES, Request, Response, from_hex, to_hex};
pub(crate) use responder::Responder;
pub use server::{LocalApiError, LocalApiServer};

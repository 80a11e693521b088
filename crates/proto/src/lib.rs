//! Generated agent <-> supervisor protocol (`proto/switchyard.proto`).

#![allow(missing_debug_implementations, clippy::all)]

pub mod v1 {
    tonic::include_proto!("switchyard.v1");
}
pub use v1::*;

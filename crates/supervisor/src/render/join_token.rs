//! `join-token create` and `show join-tokens` output.

use std::fmt::Write as _;

use super::text::{cell, line};
use crate::clock::format_timestamp;
use crate::enrolment::TokenRecord;

/// What an operator copies to the new host: the token, the CA hash and the command line.
pub fn join_token_created(token: &str, record: &TokenRecord, ca_hash: &str, supervisor_url: &str) -> String {
    let mut out = String::new();
    line(&mut out, format_args!("Join token: {token}"));
    line(&mut out, format_args!("CA hash:    {ca_hash}"));
    line(&mut out, format_args!("Expires:    {} (one use)", format_timestamp(record.expires_ms)));
    let _ = writeln!(out, "On the new host:");
    let _ = writeln!(
        out,
        "  switchyard agent --supervisor {supervisor_url} --join-token {token} --ca-hash {ca_hash}"
    );
    out
}

/// `show join-tokens`: the tokens not yet used; their secrets are never shown again.
pub fn show_join_tokens(tokens: &[TokenRecord]) -> String {
    let mut out = String::new();
    line(
        &mut out,
        format_args!("{}{}{}Created-By", cell("Token-Id", 10), cell("Created", 22), cell("Expires", 22)),
    );
    line(
        &mut out,
        format_args!("{}{}{}----------", cell("--------", 10), cell("-------", 22), cell("-------", 22)),
    );
    for token in tokens {
        line(
            &mut out,
            format_args!(
                "{}{}{}{}",
                cell(&token.id, 10),
                cell(&format_timestamp(token.created_ms), 22),
                cell(&format_timestamp(token.expires_ms), 22),
                token.created_by
            ),
        );
    }
    out
}

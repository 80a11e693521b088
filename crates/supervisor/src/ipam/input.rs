//! What an agent may send in the address requests, in [`crate::agent_input`]'s style: every
//! field bounded and clean, or refused with `INVALID_ARGUMENT` naming it.

use std::net::Ipv4Addr;

use config::ip_pool::POOL_NAME_MAX;
use config::language::PROFILE_NAME_MAX;

use crate::agent_input::{ID_MAX, InputError, OWNER_NAME_MAX, text, word};

/// Most held addresses one report may list.
pub const HELD_ADDRESSES_MAX: usize = 65_536;

fn refuse(field: &str, reason: impl Into<String>) -> InputError {
    InputError { field: field.to_owned(), reason: reason.into() }
}

/// A pool name as the language allows it.
pub fn pool_name(field: &str, value: &str) -> Result<(), InputError> {
    if config::grammar::is_name(value, POOL_NAME_MAX) {
        Ok(())
    } else {
        Err(refuse(field, format!("is not an ip pool name (one word, at most {POOL_NAME_MAX} characters)")))
    }
}

fn profile_name(field: &str, value: &str) -> Result<(), InputError> {
    if config::grammar::is_name(value, PROFILE_NAME_MAX) {
        Ok(())
    } else {
        Err(refuse(
            field,
            format!("is not a port-profile name (one word, at most {PROFILE_NAME_MAX} characters)"),
        ))
    }
}

/// `A.B.C.D`, or `None` when empty.
pub fn optional_address(field: &str, value: &str) -> Result<Option<Ipv4Addr>, InputError> {
    if value.is_empty() {
        return Ok(None);
    }
    value.parse().map(Some).map_err(|_| {
        refuse(field, format!("{} is not an IPv4 address A.B.C.D", crate::agent_input::bounded(value)))
    })
}

/// An allocation: an owner word, owner_name text, a pool name or a profile name, and an
/// address that parses when given. Returns the asked address.
pub fn check_allocate(request: &proto::AllocateAddressRequest) -> Result<Option<Ipv4Addr>, InputError> {
    word("owner", &request.owner, ID_MAX)?;
    text("owner_name", &request.owner_name, OWNER_NAME_MAX)?;
    match (request.pool.is_empty(), request.profile.is_empty()) {
        (false, _) => pool_name("pool", &request.pool)?,
        (true, false) => profile_name("profile", &request.profile)?,
        (true, true) => return Err(refuse("pool", "is empty and so is profile: name one of them")),
    }
    optional_address("address", &request.address)
}

/// A release: an owner, or a pool and an address (or both). Returns the address.
pub fn check_release(request: &proto::ReleaseAddressRequest) -> Result<Option<Ipv4Addr>, InputError> {
    if !request.owner.is_empty() {
        word("owner", &request.owner, ID_MAX)?;
    }
    if !request.pool.is_empty() {
        pool_name("pool", &request.pool)?;
    }
    let address = optional_address("address", &request.address)?;
    if address.is_some() && request.pool.is_empty() {
        return Err(refuse("pool", "is empty: an address is released from a named pool"));
    }
    if request.owner.is_empty() && address.is_none() {
        return Err(refuse("owner", "is empty and so is address: name what to release"));
    }
    Ok(address)
}

/// A description: exactly one of profile, pool and network.
pub fn check_describe(request: &proto::DescribePoolRequest) -> Result<(), InputError> {
    let given = [&request.profile, &request.pool, &request.network].iter().filter(|v| !v.is_empty()).count();
    if given != 1 {
        return Err(refuse("profile", "name exactly one of profile, pool and network"));
    }
    if !request.profile.is_empty() {
        profile_name("profile", &request.profile)?;
    }
    if !request.pool.is_empty() {
        pool_name("pool", &request.pool)?;
    }
    if !request.network.is_empty() {
        request.network.parse::<config::Ipv4Network>().map_err(|e| refuse("network", e.to_string()))?;
    }
    Ok(())
}

/// A report's held addresses: at most [`HELD_ADDRESSES_MAX`], each a pool name and an address.
pub fn check_held(held: &[proto::HeldAddress]) -> Result<(), InputError> {
    if held.len() > HELD_ADDRESSES_MAX {
        return Err(refuse(
            "held_addresses",
            format!("lists {} addresses; at most {HELD_ADDRESSES_MAX}", held.len()),
        ));
    }
    for (i, entry) in held.iter().enumerate() {
        pool_name(&format!("held_addresses[{i}].pool"), &entry.pool)?;
        if optional_address(&format!("held_addresses[{i}].address"), &entry.address)?.is_none() {
            return Err(refuse(&format!("held_addresses[{i}].address"), "must not be empty"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn requests_name_the_bad_field() {
        let mut request = proto::AllocateAddressRequest {
            owner: "iface-1".into(),
            pool: "web-pool".into(),
            ..Default::default()
        };
        assert_eq!(check_allocate(&request), Ok(None));
        request.address = "10.0.0.300".into();
        assert_eq!(check_allocate(&request).unwrap_err().field, "address");
        request.address = String::new();
        request.owner = "has space".into();
        assert_eq!(check_allocate(&request).unwrap_err().field, "owner");
        request.owner = "x".repeat(257);
        assert_eq!(check_allocate(&request).unwrap_err().field, "owner");
        request.owner = "x".into();
        request.owner_name = "evil\u{1b}[2J".into();
        assert_eq!(check_allocate(&request).unwrap_err().field, "owner_name");
        let release = proto::ReleaseAddressRequest { address: "10.0.0.1".into(), ..Default::default() };
        assert_eq!(check_release(&release).unwrap_err().field, "pool");
        assert_eq!(check_release(&proto::ReleaseAddressRequest::default()).unwrap_err().field, "owner");
        let describe = proto::DescribePoolRequest { network: "10.0.0.1/24".into(), ..Default::default() };
        assert_eq!(check_describe(&describe).unwrap_err().field, "network");
        let held = [proto::HeldAddress { pool: "p".into(), address: "x".into() }];
        assert_eq!(check_held(&held).unwrap_err().field, "held_addresses[0].address");
    }
}

//! `/IpamDriver.*`: pools and addresses from the supervisor.

use std::net::Ipv4Addr;

use super::{Plugin, PluginError, decode, encode};
use crate::backend::{AllocationRequest, Backend, PoolQuery};
use crate::cidr::Cidr;
use crate::protocol::{
    AddressSpaces, EmptyResponse, GATEWAY_ADDRESS_TYPE, IpamCapabilities, MAC_ADDRESS_OPTION,
    REQUEST_ADDRESS_TYPE, ReleaseAddress, ReleasePool, RequestAddress, RequestAddressResponse, RequestPool,
    RequestPoolResponse,
};
use crate::state::{AddressRecord, PoolRecord};

impl<B: Backend> Plugin<B> {
    /// Answers `/IpamDriver.<method>`; `Ok(None)` for a method it does not have.
    pub(super) async fn handle_ipam(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> Result<Option<Vec<u8>>, PluginError> {
        let json = match method {
            "GetCapabilities" => {
                encode(&IpamCapabilities { requires_mac_address: false, requires_request_replay: false })?
            }
            "GetDefaultAddressSpaces" => encode(&AddressSpaces {
                local_default_address_space: "switchyard-local",
                global_default_address_space: "switchyard-global",
            })?,
            "RequestPool" => self.request_pool(decode(path, body)?).await?,
            "ReleasePool" => self.release_pool(decode(path, body)?).await?,
            "RequestAddress" => self.request_address(decode(path, body)?).await?,
            "ReleaseAddress" => self.release_address(decode(path, body)?).await?,
            _ => return Ok(None),
        };
        Ok(Some(json))
    }

    async fn request_pool(&self, request: RequestPool) -> Result<Vec<u8>, PluginError> {
        if request.v6 {
            return Err(PluginError::Ipv6Unsupported);
        }
        if !request.sub_pool.is_empty() {
            return Err(PluginError::SubPoolUnsupported);
        }
        let subnet = match request.pool.as_str() {
            "" => None,
            text => Some(parse_cidr(text, "an IPv4 subnet like 10.99.0.0/24")?.network()),
        };
        let profile = request.options.get("profile").filter(|name| !name.is_empty());
        let query = match (profile, request.options.get("pool").filter(|name| !name.is_empty()), subnet) {
            (Some(profile), _, _) => PoolQuery::Profile(profile.clone()),
            (None, Some(pool), _) => PoolQuery::Pool(pool.clone()),
            (None, None, Some(subnet)) => PoolQuery::Network(subnet),
            (None, None, None) => return Err(PluginError::NoPoolChosen),
        };
        let info =
            self.call("cannot find the pool for this network", self.backend.describe_pool(query)).await?;
        if let Some(subnet) = subnet.filter(|subnet| *subnet != info.network.network()) {
            return Err(PluginError::SubnetMismatch {
                pool: info.name,
                network: info.network.to_string(),
                requested: subnet.to_string(),
            });
        }
        let record = PoolRecord {
            pool: info.name.clone(),
            network: info.network.network(),
            default_router: info.default_router,
            profile: profile.cloned(),
        };
        let pool_id = self.commit(|state| {
            let pool_id = format!("{}#{}", info.name, state.take_sequence());
            state.pools.insert(pool_id.clone(), record.clone());
            pool_id
        })?;
        encode(&RequestPoolResponse { pool_id, pool: record.network.to_string(), data: Default::default() })
    }

    async fn release_pool(&self, request: ReleasePool) -> Result<Vec<u8>, PluginError> {
        let leftovers: Vec<Ipv4Addr> = {
            let state = self.lock();
            state
                .addresses
                .keys()
                .filter(|(pool_id, _)| *pool_id == request.pool_id)
                .map(|(_, a)| *a)
                .collect()
        };
        // Docker releases every address first; any it did not are given back here.
        for address in leftovers {
            self.release_held(&request.pool_id, address).await?;
        }
        self.commit(|state| state.pools.remove(&request.pool_id))?;
        encode(&EmptyResponse {})
    }

    async fn request_address(&self, request: RequestAddress) -> Result<Vec<u8>, PluginError> {
        let pool = self.pool(&request.pool_id)?;
        let requested = match request.address.as_str() {
            "" => None,
            text => Some(parse_address(text)?),
        };
        let prefix_len = pool.network.prefix_len;
        if request.options.get(REQUEST_ADDRESS_TYPE).map(String::as_str) == Some(GATEWAY_ADDRESS_TYPE) {
            // The default-router is reserved in the pool: it is not allocated. Without one, the
            // gateway the operator named is taken as it is (it is theirs to keep out of the
            // pool's ranges).
            let gateway = match (pool.default_router, requested) {
                (Some(default_router), Some(requested)) if requested != default_router => {
                    return Err(PluginError::GatewayMismatch { pool: pool.pool, default_router });
                }
                (Some(gateway), _) | (None, Some(gateway)) => gateway,
                (None, None) => return Err(PluginError::NoGateway(pool.pool)),
            };
            let address = Cidr { address: gateway, prefix_len };
            return encode(&RequestAddressResponse {
                address: address.to_string(),
                data: Default::default(),
            });
        }
        let owner = self.commit(|state| format!("docker:{}:{}", request.pool_id, state.take_sequence()))?;
        let owner_name = match request.options.get(MAC_ADDRESS_OPTION) {
            Some(mac) => format!("docker {mac}"),
            None => "docker".to_owned(),
        };
        let allocation = self
            .call(
                format!("cannot take an address from pool '{}'", pool.pool),
                self.backend.allocate(AllocationRequest {
                    pool: pool.pool.clone(),
                    owner: owner.clone(),
                    owner_name,
                    requested,
                }),
            )
            .await?;
        let record = AddressRecord { owner, endpoint: None };
        let saved = self
            .commit(|state| state.addresses.insert((request.pool_id.clone(), allocation.address), record));
        if let Err(err) = saved {
            // Not remembered, so not held: give it back.
            let _ = self.call("", self.backend.release(&pool.pool, allocation.address)).await;
            return Err(err);
        }
        let address = Cidr { address: allocation.address, prefix_len: allocation.prefix_len };
        encode(&RequestAddressResponse { address: address.to_string(), data: Default::default() })
    }

    async fn release_address(&self, request: ReleaseAddress) -> Result<Vec<u8>, PluginError> {
        let address = parse_address(&request.address)?;
        self.release_held(&request.pool_id, address).await?;
        encode(&EmptyResponse {})
    }

    /// Gives back an address this plugin holds; anything else (the gateway, an address already
    /// released, a pool already gone) is done already.
    async fn release_held(&self, pool_id: &str, address: Ipv4Addr) -> Result<(), PluginError> {
        let key = (pool_id.to_owned(), address);
        let pool = {
            let state = self.lock();
            if !state.addresses.contains_key(&key) {
                return Ok(());
            }
            state.pools.get(pool_id).map(|pool| pool.pool.clone())
        };
        if let Some(pool) = pool {
            self.call(
                format!("cannot release {address} to pool '{pool}'"),
                self.backend.release(&pool, address),
            )
            .await?;
        }
        self.commit(|state| state.addresses.remove(&key))?;
        Ok(())
    }

    fn pool(&self, pool_id: &str) -> Result<PoolRecord, PluginError> {
        self.lock().pools.get(pool_id).cloned().ok_or_else(|| PluginError::UnknownPool(pool_id.to_owned()))
    }
}

pub(super) fn parse_cidr(text: &str, what: &'static str) -> Result<Cidr, PluginError> {
    text.parse().map_err(|_| PluginError::BadValue { what, value: text.to_owned() })
}

/// An address as Docker writes it in RequestAddress and ReleaseAddress: bare, or with a prefix.
fn parse_address(text: &str) -> Result<Ipv4Addr, PluginError> {
    let bare = text.split_once('/').map_or(text, |(address, _)| address);
    bare.parse().map_err(|_| PluginError::BadValue { what: "an IPv4 address", value: text.to_owned() })
}

//! `/NetworkDriver.*`: networks bound to port-profiles, endpoints as switch ports.

use std::sync::Arc;

use super::ipam::parse_cidr;
use super::{Plugin, PluginError, decode, encode};
use crate::backend::{Backend, DockerPort, JoinedEndpoint};
use crate::names::{address_mac, container_end_name, endpoint_mac};
use crate::protocol::{
    CreateEndpoint, CreateEndpointResponse, CreateNetwork, EmptyResponse, EndpointOperInfoResponse,
    EndpointRef, InterfaceMac, InterfaceName, IpamData, Join, JoinResponse, NetworkCapabilities, NetworkRef,
};
use crate::state::{EndpointRecord, NetworkRecord, State};

/// The address spaces this plugin's IPAM answers GetDefaultAddressSpaces with.
const OUR_ADDRESS_SPACES: [&str; 2] = ["switchyard-local", "switchyard-global"];

impl<B: Backend> Plugin<B> {
    /// Answers `/NetworkDriver.<method>`; `Ok(None)` for a method it does not have.
    pub(super) async fn handle_network(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> Result<Option<Vec<u8>>, PluginError> {
        let json = match method {
            // Local: each host's agent answers for its own containers; the supervisor is the
            // source of truth across hosts, not Docker's cluster store.
            "GetCapabilities" => encode(&NetworkCapabilities { scope: "local" })?,
            "CreateNetwork" => self.create_network(decode(path, body)?).await?,
            "DeleteNetwork" => self.delete_network(decode(path, body)?).await?,
            "CreateEndpoint" => self.create_endpoint(decode(path, body)?)?,
            "EndpointOperInfo" => {
                decode::<EndpointRef>(path, body)?;
                encode(&EndpointOperInfoResponse { value: Default::default() })?
            }
            "Join" => self.join(decode(path, body)?).await?,
            "Leave" => self.leave(decode(path, body)?).await?,
            "DeleteEndpoint" => self.delete_endpoint(decode(path, body)?).await?,
            // The switch connects containers; Docker's port publishing is not ours to do, and
            // swarm's network allocation and discovery do not apply to a local driver.
            "ProgramExternalConnectivity"
            | "RevokeExternalConnectivity"
            | "AllocateNetwork"
            | "FreeNetwork"
            | "DiscoverNew"
            | "DiscoverDelete" => encode(&EmptyResponse {})?,
            _ => return Ok(None),
        };
        Ok(Some(json))
    }

    async fn create_network(&self, request: CreateNetwork) -> Result<Vec<u8>, PluginError> {
        let ipv4 = request.ipv4_data.first();
        let pool_id = match ipv4 {
            Some(ipv4) => self.our_pool_for(ipv4)?,
            None => None,
        };
        let pool_profile =
            pool_id.as_ref().and_then(|id| self.lock().pools.get(id).and_then(|pool| pool.profile.clone()));
        let profile = match request.generic_option("profile").filter(|name| !name.is_empty()) {
            Some(profile) => profile.to_owned(),
            None => pool_profile.ok_or(PluginError::NoProfile)?,
        };
        let info = self
            .call(format!("cannot look up port-profile '{profile}'"), self.backend.describe_profile(&profile))
            .await?
            .ok_or_else(|| PluginError::ProfileMissing(profile.clone()))?;
        let gateway = match ipv4.map(|ipv4| ipv4.gateway.as_str()).unwrap_or_default() {
            "" => None,
            text => Some(parse_cidr(text, "a gateway address like 10.99.0.1/24")?.address),
        };
        let record = NetworkRecord { profile, pool_id, gateway, mtu: info.mtu };
        self.commit(|state| state.networks.insert(request.network_id, record))?;
        encode(&EmptyResponse {})
    }

    /// The pool this plugin's IPAM handed out for the network being created: Docker names only
    /// its subnet, so it is the newest pool of that subnet no network uses yet.
    fn our_pool_for(&self, ipv4: &IpamData) -> Result<Option<String>, PluginError> {
        if !OUR_ADDRESS_SPACES.contains(&ipv4.address_space.as_str()) || ipv4.pool.is_empty() {
            return Ok(None);
        }
        let network = parse_cidr(&ipv4.pool, "an IPv4 subnet like 10.99.0.0/24")?.network();
        let state = self.lock();
        let in_use = |id: &String| state.networks.values().any(|net| net.pool_id.as_ref() == Some(id));
        let newest = state
            .pools
            .iter()
            .filter(|(id, pool)| pool.network == network && !in_use(id))
            .max_by_key(|(id, _)| sequence_of(id))
            .map(|(id, _)| id.clone());
        Ok(newest)
    }

    async fn delete_network(&self, request: NetworkRef) -> Result<Vec<u8>, PluginError> {
        let leftovers: Vec<(String, String)> = {
            let state = self.lock();
            state
                .endpoints
                .iter()
                .filter(|(_, endpoint)| endpoint.network_id == request.network_id)
                .map(|(id, endpoint)| (id.clone(), endpoint.iface_id.clone()))
                .collect()
        };
        // Docker deletes a network's endpoints first; ports it left behind go with it.
        for (endpoint_id, iface_id) in leftovers {
            self.call(
                format!("cannot delete the port of endpoint {endpoint_id}"),
                self.backend.delete_port(&iface_id),
            )
            .await?;
            self.commit(|state| forget_endpoint(state, &endpoint_id))?;
        }
        self.commit(|state| state.networks.remove(&request.network_id))?;
        encode(&EmptyResponse {})
    }

    fn create_endpoint(&self, request: CreateEndpoint) -> Result<Vec<u8>, PluginError> {
        let network = self.network(&request.network_id)?;
        let address = match request.interface.address.as_str() {
            "" => None,
            text => Some(parse_cidr(text, "an interface address like 10.99.0.5/24")?),
        };
        let (mac, chosen_mac) = match request.interface.mac_address.as_str() {
            "" => {
                let mac = address
                    .map_or_else(|| endpoint_mac(&request.endpoint_id), |cidr| address_mac(cidr.address));
                (mac.clone(), Some(InterfaceMac { mac_address: mac }))
            }
            given => (given.to_owned(), None),
        };
        let endpoint_id = request.endpoint_id;
        self.commit(|state| {
            let name = unused_container_end_name(state, &endpoint_id);
            if let (Some(pool_id), Some(address)) = (&network.pool_id, address)
                && let Some(held) = state.addresses.get_mut(&(pool_id.clone(), address.address))
            {
                held.endpoint = Some(endpoint_id.clone());
            }
            let record = EndpointRecord {
                network_id: request.network_id,
                address,
                mac,
                iface_id: format!("docker:{endpoint_id}"),
                container_end_name: name,
                sandbox_key: None,
            };
            state.endpoints.insert(endpoint_id, record);
        })?;
        encode(&CreateEndpointResponse { interface: chosen_mac })
    }

    async fn join(&self, request: Join) -> Result<Vec<u8>, PluginError> {
        let network = self.network(&request.network_id)?;
        let endpoint = self.endpoint(&request.endpoint_id)?;
        let port = DockerPort {
            iface_id: endpoint.iface_id.clone(),
            profile: network.profile.clone(),
            container_end_name: endpoint.container_end_name.clone(),
            mac: endpoint.mac.clone(),
            mtu: network.mtu,
            address: endpoint.address,
            owner_name: format!("docker-{}", short_id(&request.endpoint_id)),
        };
        let action = format!("cannot make the port of endpoint {}", short_id(&request.endpoint_id));
        let made = self.call(action, self.backend.create_port(port)).await;
        let saved = made.and_then(|_| {
            self.commit(|state| {
                if let Some(endpoint) = state.endpoints.get_mut(&request.endpoint_id) {
                    endpoint.sandbox_key = Some(request.sandbox_key.clone());
                }
            })
        });
        if let Err(err) = saved {
            // Half made, or made but not remembered: undo, so a retry starts clean.
            let _ = self.call("", self.backend.delete_port(&endpoint.iface_id)).await;
            return Err(err);
        }
        let joined = JoinedEndpoint {
            network_id: request.network_id,
            endpoint_id: request.endpoint_id,
            iface_id: endpoint.iface_id,
            sandbox_key: request.sandbox_key,
        };
        let backend = Arc::clone(&self.backend);
        tokio::spawn(async move { backend.endpoint_joined(joined).await });
        encode(&JoinResponse {
            interface_name: InterfaceName { src_name: endpoint.container_end_name, dst_prefix: "eth" },
            gateway: network.gateway.map(|gateway| gateway.to_string()).unwrap_or_default(),
            static_routes: Vec::new(),
        })
    }

    async fn leave(&self, request: EndpointRef) -> Result<Vec<u8>, PluginError> {
        // By now dockerd has moved the container end back to the host (or never moved it):
        // the port goes with the container's membership.
        let Some(endpoint) = self.lock().endpoints.get(&request.endpoint_id).cloned() else {
            return encode(&EmptyResponse {});
        };
        let action = format!("cannot delete the port of endpoint {}", short_id(&request.endpoint_id));
        self.call(action, self.backend.delete_port(&endpoint.iface_id)).await?;
        self.commit(|state| {
            if let Some(endpoint) = state.endpoints.get_mut(&request.endpoint_id) {
                endpoint.sandbox_key = None;
            }
        })?;
        encode(&EmptyResponse {})
    }

    async fn delete_endpoint(&self, request: EndpointRef) -> Result<Vec<u8>, PluginError> {
        let Some(endpoint) = self.lock().endpoints.get(&request.endpoint_id).cloned() else {
            return encode(&EmptyResponse {});
        };
        let action = format!("cannot delete the port of endpoint {}", short_id(&request.endpoint_id));
        self.call(action, self.backend.delete_port(&endpoint.iface_id)).await?;
        // The address is Docker's to release (IpamDriver.ReleaseAddress follows).
        self.commit(|state| forget_endpoint(state, &request.endpoint_id))?;
        encode(&EmptyResponse {})
    }

    fn network(&self, network_id: &str) -> Result<NetworkRecord, PluginError> {
        let state = self.lock();
        state
            .networks
            .get(network_id)
            .cloned()
            .ok_or_else(|| PluginError::UnknownNetwork(network_id.to_owned()))
    }

    fn endpoint(&self, endpoint_id: &str) -> Result<EndpointRecord, PluginError> {
        let state = self.lock();
        state
            .endpoints
            .get(endpoint_id)
            .cloned()
            .ok_or_else(|| PluginError::UnknownEndpoint(endpoint_id.to_owned()))
    }
}

fn forget_endpoint(state: &mut State, endpoint_id: &str) {
    state.endpoints.remove(endpoint_id);
    for held in state.addresses.values_mut() {
        if held.endpoint.as_deref() == Some(endpoint_id) {
            held.endpoint = None;
        }
    }
}

/// A container end name no other endpoint uses.
fn unused_container_end_name(state: &State, endpoint_id: &str) -> String {
    let taken = |name: &str| {
        state.endpoints.iter().any(|(id, endpoint)| id != endpoint_id && endpoint.container_end_name == name)
    };
    (0..)
        .map(|attempt| container_end_name(endpoint_id, attempt))
        .find(|name| !taken(name))
        .unwrap_or_default()
}

/// The sequence number at the end of a pool id ("web-pool#7").
fn sequence_of(pool_id: &str) -> u64 {
    pool_id.rsplit_once('#').and_then(|(_, n)| n.parse().ok()).unwrap_or(0)
}

/// Docker's ids are 64 hex digits; 12 are what `docker` shows.
fn short_id(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

//! The JSON bodies of Docker's plugin protocol (network driver and IPAM driver, as Docker 20.10
//! sends them). Unknown fields are ignored (newer Dockers add some), and `null` where a map or
//! list is expected reads as empty (Go marshals nil maps and slices as `null`).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

/// The content type of every answer.
pub const CONTENT_TYPE: &str = "application/vnd.docker.plugins.v1+json";

/// Docker's option that carries `docker network create -o key=value`.
pub const GENERIC_OPTIONS: &str = "com.docker.network.generic";

/// RequestAddress's option saying the address asked for is the network's gateway.
pub const REQUEST_ADDRESS_TYPE: &str = "RequestAddressType";
pub const GATEWAY_ADDRESS_TYPE: &str = "com.docker.network.gateway";

/// RequestAddress's option carrying the endpoint's MAC (sent because RequiresMACAddress).
pub const MAC_ADDRESS_OPTION: &str = "com.docker.network.endpoint.macaddress";

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// An answer carrying only an error.
#[derive(Debug, Serialize)]
pub struct ErrorResponse<'a> {
    #[serde(rename = "Err")]
    pub err: &'a str,
}

/// An empty success.
#[derive(Debug, Serialize)]
pub struct EmptyResponse {}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ActivateResponse {
    pub implements: Vec<&'static str>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkCapabilities {
    pub scope: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct IpamCapabilities {
    #[serde(rename = "RequiresMACAddress")]
    pub requires_mac_address: bool,
    pub requires_request_replay: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddressSpaces {
    pub local_default_address_space: &'static str,
    pub global_default_address_space: &'static str,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RequestPool {
    #[serde(default, deserialize_with = "null_as_default")]
    pub address_space: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub pool: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub sub_pool: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub options: BTreeMap<String, String>,
    #[serde(default, rename = "V6")]
    pub v6: bool,
}

#[derive(Debug, Serialize)]
pub struct RequestPoolResponse {
    #[serde(rename = "PoolID")]
    pub pool_id: String,
    #[serde(rename = "Pool")]
    pub pool: String,
    #[serde(rename = "Data")]
    pub data: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
pub struct ReleasePool {
    #[serde(rename = "PoolID")]
    pub pool_id: String,
}

#[derive(Debug, Deserialize)]
pub struct RequestAddress {
    #[serde(rename = "PoolID")]
    pub pool_id: String,
    #[serde(rename = "Address", default, deserialize_with = "null_as_default")]
    pub address: String,
    #[serde(rename = "Options", default, deserialize_with = "null_as_default")]
    pub options: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RequestAddressResponse {
    pub address: String,
    pub data: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
pub struct ReleaseAddress {
    #[serde(rename = "PoolID")]
    pub pool_id: String,
    #[serde(rename = "Address")]
    pub address: String,
}

/// One address family's IPAM data in CreateNetwork.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IpamData {
    #[serde(default, deserialize_with = "null_as_default")]
    pub address_space: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub pool: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub gateway: String,
}

#[derive(Debug, Deserialize)]
pub struct CreateNetwork {
    #[serde(rename = "NetworkID")]
    pub network_id: String,
    #[serde(rename = "Options", default, deserialize_with = "null_as_default")]
    pub options: BTreeMap<String, serde_json::Value>,
    #[serde(rename = "IPv4Data", default, deserialize_with = "null_as_default")]
    pub ipv4_data: Vec<IpamData>,
}

impl CreateNetwork {
    /// A `-o key=value` option of `docker network create`.
    pub fn generic_option(&self, key: &str) -> Option<&str> {
        self.options.get(GENERIC_OPTIONS)?.get(key)?.as_str()
    }
}

#[derive(Debug, Deserialize)]
pub struct NetworkRef {
    #[serde(rename = "NetworkID")]
    pub network_id: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EndpointInterface {
    #[serde(default, deserialize_with = "null_as_default")]
    pub address: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub mac_address: String,
}

#[derive(Debug, Deserialize)]
pub struct CreateEndpoint {
    #[serde(rename = "NetworkID")]
    pub network_id: String,
    #[serde(rename = "EndpointID")]
    pub endpoint_id: String,
    #[serde(rename = "Interface", default, deserialize_with = "null_as_default")]
    pub interface: EndpointInterface,
}

/// Only what the driver sets; Docker refuses a MAC it already chose being set again.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateEndpointResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface: Option<InterfaceMac>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InterfaceMac {
    pub mac_address: String,
}

/// The body of EndpointOperInfo, Leave, DeleteEndpoint, ProgramExternalConnectivity and
/// RevokeExternalConnectivity.
#[derive(Debug, Deserialize)]
pub struct EndpointRef {
    #[serde(rename = "NetworkID")]
    pub network_id: String,
    #[serde(rename = "EndpointID")]
    pub endpoint_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EndpointOperInfoResponse {
    pub value: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Deserialize)]
pub struct Join {
    #[serde(rename = "NetworkID")]
    pub network_id: String,
    #[serde(rename = "EndpointID")]
    pub endpoint_id: String,
    #[serde(rename = "SandboxKey", default, deserialize_with = "null_as_default")]
    pub sandbox_key: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct JoinResponse {
    pub interface_name: InterfaceName,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub gateway: String,
    pub static_routes: Vec<StaticRoute>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InterfaceName {
    pub src_name: String,
    pub dst_prefix: &'static str,
}

/// A route Docker installs in the container (RouteType 0: through NextHop; 1: on-link).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StaticRoute {
    pub destination: String,
    pub route_type: u8,
    pub next_hop: String,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_docker_20_10_sends() {
        let create: CreateNetwork = serde_json::from_str(
            r#"{"NetworkID":"e69","Options":{"com.docker.network.enable_ipv6":false,
            "com.docker.network.generic":{"profile":"web"}},"IPv4Data":[{"AddressSpace":"l",
            "Gateway":"10.99.0.1/24","Pool":"10.99.0.0/24"}],"IPv6Data":[],"NewField":1}"#,
        )
        .unwrap();
        assert_eq!(create.generic_option("profile"), Some("web"));
        assert_eq!(create.ipv4_data[0].gateway, "10.99.0.1/24");
        let pool: RequestPool =
            serde_json::from_str(r#"{"AddressSpace":"l","Pool":"","SubPool":"","Options":null,"V6":false}"#)
                .unwrap();
        assert!(pool.options.is_empty());
        let endpoint: CreateEndpoint = serde_json::from_str(
            r#"{"NetworkID":"e69","EndpointID":"3e1","Interface":{"Address":"10.99.0.5/24",
            "AddressIPv6":"","MacAddress":"02:42:7c:6c:18:fa"},"Options":{}}"#,
        )
        .unwrap();
        assert_eq!(endpoint.interface.mac_address, "02:42:7c:6c:18:fa");
    }

    #[test]
    fn writes_docker_s_field_names() {
        let join = JoinResponse {
            interface_name: InterfaceName { src_name: "syd1".into(), dst_prefix: "eth" },
            gateway: String::new(),
            static_routes: vec![],
        };
        assert_eq!(
            serde_json::to_string(&join).unwrap(),
            r#"{"InterfaceName":{"SrcName":"syd1","DstPrefix":"eth"},"StaticRoutes":[]}"#
        );
        let caps = IpamCapabilities { requires_mac_address: true, requires_request_replay: false };
        assert_eq!(
            serde_json::to_string(&caps).unwrap(),
            r#"{"RequiresMACAddress":true,"RequiresRequestReplay":false}"#
        );
        assert_eq!(serde_json::to_string(&CreateEndpointResponse { interface: None }).unwrap(), "{}");
    }
}

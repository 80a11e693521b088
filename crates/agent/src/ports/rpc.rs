//! The port calls to the supervisor (BindPort, UnbindPort, ReportPorts, and the address calls) on a channel of their
//! own, so an attach never waits behind the policy stream and vice versa. They go to the supervisor the link is
//! registered with, and follow it when it moves to another.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use config::EffectivePolicy;
use proto::supervisor_client::SupervisorClient;
use tonic::Code;
use tonic::transport::Channel;

use crate::trust::{SupervisorTarget, Supervisors};

use super::PortError;
use crate::snapshot::PolicyEntry;

/// How long a port call may take before the supervisor counts as unreachable.
const CALL_TIMEOUT: Duration = Duration::from_secs(3);

/// A client of the supervisor's port calls. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct PortRpc {
    supervisors: Arc<Supervisors>,
    /// The channel to the supervisor the link was registered with when last asked.
    client: Arc<Mutex<Option<Connected>>>,
}

/// A client of one supervisor address.
type Connected = (SupervisorTarget, SupervisorClient<Channel>);

/// What a bind returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Binding {
    /// N of VethernetN.
    pub veth: u32,
    /// The profile's policy, when it exists.
    pub policy: Option<PolicyEntry>,
}

impl PortRpc {
    /// A client of the supervisor the link is registered with, connecting when first used
    /// (and again after failures).
    pub(crate) fn new(supervisors: Arc<Supervisors>) -> Self {
        Self { supervisors, client: Arc::default() }
    }

    /// The client for `call`: a channel to the current supervisor, made when it changed. None
    /// while the link is registered nowhere: the call is certainly not made then.
    fn client(&self, call: &'static str) -> Result<SupervisorClient<Channel>, PortError> {
        let Some(target) = self.supervisors.current() else {
            return Err(PortError::Supervisor {
                call,
                message: format!(
                    "no supervisor is connected ({} unreachable: the agent is headless)",
                    self.supervisors.describe()
                ),
                uncertain: false,
            });
        };
        let mut cached = self.client.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((known, client)) = cached.as_ref()
            && known.same_as(&target)
        {
            return Ok(client.clone());
        }
        let client = SupervisorClient::new(target.connect_lazy());
        *cached = Some((target, client.clone()));
        Ok(client)
    }

    /// Binds a port: its vEthernet number and policy.
    pub(crate) async fn bind(&self, request: proto::BindPortRequest) -> Result<Binding, PortError> {
        let profile = request.profile.clone();
        let reply = call("BindPort", self.client("BindPort")?.bind_port(request)).await?;
        let policy = decode_policy(&profile, &reply.policy_json, reply.policy_revision)?;
        Ok(Binding { veth: reply.veth, policy })
    }

    /// Releases (or, for static port-binding, keeps) a port's binding; true when kept.
    pub(crate) async fn unbind(&self, module: u32, host_id: &str, iface_id: &str) -> Result<bool, PortError> {
        let request =
            proto::UnbindPortRequest { module, host_id: host_id.to_owned(), iface_id: iface_id.to_owned() };
        Ok(call("UnbindPort", self.client("UnbindPort")?.unbind_port(request)).await?.kept)
    }

    /// Sends a complete port report; returns what the supervisor asks of the ports in reply
    /// (`interface vethernet N` / `[no] shutdown`).
    pub(crate) async fn report(
        &self,
        report: proto::PortReport,
    ) -> Result<Vec<proto::PortCommand>, PortError> {
        Ok(call("ReportPorts", self.client("ReportPorts")?.report_ports(report)).await?.commands)
    }
}

impl PortRpc {
    /// An address from a pool (`ip pool`), for `owner` on this module: the one it already holds,
    /// or the next free one (or `address`, when asked for).
    pub(crate) async fn allocate(
        &self,
        request: proto::AllocateAddressRequest,
    ) -> Result<proto::AllocateAddressReply, PortError> {
        call("AllocateAddress", self.client("AllocateAddress")?.allocate_address(request)).await
    }

    /// Gives back what `request` names (an owner's addresses, or one address of a pool).
    pub(crate) async fn release(&self, request: proto::ReleaseAddressRequest) -> Result<u32, PortError> {
        Ok(call("ReleaseAddress", self.client("ReleaseAddress")?.release_address(request)).await?.released)
    }

    /// A pool's shape (by profile, name or network) without allocating. The inner error is
    /// the supervisor's refusal with its code (NOT_FOUND: no such profile or pool;
    /// FAILED_PRECONDITION: the profile has no pool), which callers tell apart.
    pub(crate) async fn describe_pool(
        &self,
        request: proto::DescribePoolRequest,
    ) -> Result<Result<proto::PoolInfo, tonic::Status>, PortError> {
        let answer =
            tokio::time::timeout(CALL_TIMEOUT, self.client("DescribePool")?.describe_pool(request)).await;
        match answer {
            Ok(Err(status)) if matches!(status.code(), Code::NotFound | Code::FailedPrecondition) => {
                Ok(Err(status))
            }
            answer => outcome("DescribePool", answer).map(Ok),
        }
    }
}

/// The policy in a `BindPortReply`: none when the profile does not exist.
fn decode_policy(profile: &str, json: &str, revision: i64) -> Result<Option<PolicyEntry>, PortError> {
    if json.is_empty() {
        return Ok(None);
    }
    let bad = |reason: String| PortError::BadPolicy { profile: profile.to_owned(), reason };
    let policy: EffectivePolicy = serde_json::from_str(json).map_err(|error| bad(error.to_string()))?;
    if policy.name != profile {
        return Err(bad(format!("it describes port-profile '{}'", policy.name)));
    }
    Ok(Some(PolicyEntry { revision, policy }))
}

/// Awaits one call with [`CALL_TIMEOUT`].
async fn call<T>(
    name: &'static str,
    request: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
) -> Result<T, PortError> {
    outcome(name, tokio::time::timeout(CALL_TIMEOUT, request).await)
}

/// What a call's answer (or its timeout) means.
fn outcome<T>(
    name: &'static str,
    answer: Result<Result<tonic::Response<T>, tonic::Status>, tokio::time::error::Elapsed>,
) -> Result<T, PortError> {
    match answer {
        Err(_) => Err(PortError::Supervisor {
            call: name,
            message: format!("the supervisor did not answer within {CALL_TIMEOUT:?}"),
            uncertain: true,
        }),
        Ok(Err(status)) => Err(PortError::Supervisor {
            call: name,
            message: match status.code() {
                Code::Unavailable => format!("the supervisor is unreachable ({})", status.message()),
                _ => status.message().to_owned(),
            },
            // A refusal is certain; a broken connection may have carried the call out.
            uncertain: matches!(
                status.code(),
                Code::Unavailable | Code::Unknown | Code::Cancelled | Code::DeadlineExceeded | Code::Internal
            ),
        }),
        Ok(Ok(response)) => Ok(response.into_inner()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::testing::access_policy;

    #[test]
    fn bind_replies_carry_the_policy_or_none() {
        assert_eq!(decode_policy("web", "", 0).expect("none"), None);
        let json = serde_json::to_string(&access_policy("web", 100)).expect("json");
        let entry = decode_policy("web", &json, 9).expect("decoded").expect("some");
        assert_eq!((entry.revision, entry.policy.access_vlan), (9, 100));
        let error = decode_policy("db", &json, 9).expect_err("wrong profile");
        assert!(error.to_string().contains("describes port-profile 'web'"), "{error}");
        assert!(decode_policy("web", "{", 9).is_err());
    }
}

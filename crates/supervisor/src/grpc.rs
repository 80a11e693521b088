//! The agent-facing gRPC service (`proto/switchyard.proto`).

use std::sync::Arc;
use std::time::Instant;

use tonic::{Request, Response, Status};

use crate::agent_auth::authenticate;
use crate::fanout::{OverlayStream, UpdateStream};
use crate::modules::{ModuleError, Registration, UplinkRecord};
use crate::port_binding::{BindError, BindRequest};
use crate::ports::PortError;
use crate::state::SupervisorState;

/// Implements `switchyard.v1.Supervisor` over the shared state.
#[derive(Debug, Clone)]
pub struct AgentService {
    state: Arc<SupervisorState>,
}

impl AgentService {
    pub fn new(state: Arc<SupervisorState>) -> Self {
        Self { state }
    }
}

impl From<PortError> for Status {
    fn from(error: PortError) -> Self {
        let message = error.to_string();
        match error {
            PortError::Bind(BindError::Invalid { .. }) | PortError::Report(_) => {
                Status::invalid_argument(message)
            }
            PortError::Bind(BindError::MaxPorts { .. } | BindError::NotVethernet { .. }) => {
                Status::failed_precondition(message)
            }
            PortError::Module(error) => error.into(),
            PortError::Contended => Status::aborted(message),
            PortError::Corrupt { .. } | PortError::Store(_) => Status::internal(message),
        }
    }
}

impl From<ModuleError> for Status {
    fn from(error: ModuleError) -> Self {
        let message = error.to_string();
        match error {
            ModuleError::Invalid { .. } => Status::invalid_argument(message),
            ModuleError::Unknown { .. } => Status::not_found(message),
            ModuleError::WrongHost { .. } => Status::failed_precondition(message),
            ModuleError::Contended => Status::aborted(message),
            ModuleError::Corrupt { .. } | ModuleError::Store(_) => Status::internal(message),
        }
    }
}

#[tonic::async_trait]
impl proto::supervisor_server::Supervisor for AgentService {
    async fn enroll(
        &self,
        request: Request<proto::EnrollRequest>,
    ) -> Result<Response<proto::EnrollReply>, Status> {
        crate::enrol_rpc::enroll(&self.state, request).await.map(Response::new)
    }

    async fn renew_certificate(
        &self,
        request: Request<proto::RenewRequest>,
    ) -> Result<Response<proto::RenewReply>, Status> {
        crate::enrol_rpc::renew(&self.state, request).await.map(Response::new)
    }

    async fn register(
        &self,
        request: Request<proto::RegisterRequest>,
    ) -> Result<Response<proto::RegisterReply>, Status> {
        let caller = authenticate(&self.state, &request, &request.get_ref().host_id).await?;
        let request = request.into_inner();
        caller.check_registration(&request.host_name, &request.vtep)?;
        let host_name =
            caller.enrolled.as_ref().map_or(request.host_name, |enrolled| enrolled.host_name.clone());
        let registration = Registration {
            host_name,
            host_id: caller.host_id,
            version: request.version,
            addresses: request.addresses,
            hardware: request.hardware,
            vtep: request.vtep,
            uplinks: request
                .uplinks
                .into_iter()
                .map(|uplink| UplinkRecord {
                    index: uplink.index,
                    name: uplink.name,
                    profile: uplink.profile,
                })
                .collect(),
        };
        let state = &self.state;
        let record = state.modules.register(&state.journal, &registration, Instant::now()).await?;
        state.fanout.module_changed(&record);
        state.ports.uplinks_registered(&record);
        tracing::info!(module = record.module, host = %record.host_name, "module registered");
        Ok(Response::new(proto::RegisterReply {
            module: record.module,
            heartbeat_interval_ms: u32::try_from(state.options.heartbeat_interval.as_millis())
                .unwrap_or(u32::MAX),
            supervisor_version: env!("CARGO_PKG_VERSION").to_owned(),
        }))
    }

    async fn heartbeat(
        &self,
        request: Request<proto::HeartbeatRequest>,
    ) -> Result<Response<proto::HeartbeatReply>, Status> {
        let caller = authenticate(&self.state, &request, &request.get_ref().host_id).await?;
        let request = request.into_inner();
        let state = &self.state;
        state.modules.heartbeat(&state.journal, request.module, &caller.host_id, Instant::now()).await?;
        Ok(Response::new(proto::HeartbeatReply { revision: state.fanout.revision() }))
    }

    type WatchStream = UpdateStream;

    async fn watch(
        &self,
        request: Request<proto::WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let caller = authenticate(&self.state, &request, &request.get_ref().host_id).await?;
        let request = request.into_inner();
        let state = &self.state;
        state.modules.check_owner(&state.journal, request.module, &caller.host_id).await?;
        let stream = state.fanout.subscribe(request.module, &request.known, state.shutdown.clone());
        Ok(Response::new(stream))
    }

    async fn bind_port(
        &self,
        request: Request<proto::BindPortRequest>,
    ) -> Result<Response<proto::BindPortReply>, Status> {
        let caller = authenticate(&self.state, &request, &request.get_ref().host_id).await?;
        let request = request.into_inner();
        let state = &self.state;
        state.modules.check_owner(&state.journal, request.module, &caller.host_id).await?;
        let request = BindRequest {
            module: request.module,
            host_id: caller.host_id,
            iface_id: request.iface_id,
            profile: request.profile,
            adapter: request.adapter,
            container_ifname: request.container_ifname,
            mac: request.mac,
            owner_uuid: request.owner_uuid,
            owner_name: request.owner_name,
            ltl: request.ltl,
        };
        let bound = state.ports.bind(&state.journal, &state.fanout, &request).await?;
        tracing::info!(veth = bound.record.veth, iface_id = %request.iface_id, module = request.module, "port bound");
        let (policy_json, policy_revision) =
            bound.policy.map(|policy| (policy.json.clone(), bound.streamed_from)).unwrap_or_default();
        Ok(Response::new(proto::BindPortReply { veth: bound.record.veth, policy_json, policy_revision }))
    }

    async fn unbind_port(
        &self,
        request: Request<proto::UnbindPortRequest>,
    ) -> Result<Response<proto::UnbindPortReply>, Status> {
        let caller = authenticate(&self.state, &request, &request.get_ref().host_id).await?;
        let request = request.into_inner();
        let state = &self.state;
        state.modules.check_owner(&state.journal, request.module, &caller.host_id).await?;
        let kept =
            state.ports.unbind(&state.journal, &state.fanout, request.module, &request.iface_id).await?;
        Ok(Response::new(proto::UnbindPortReply { kept }))
    }

    async fn report_ports(
        &self,
        request: Request<proto::PortReport>,
    ) -> Result<Response<proto::PortReportReply>, Status> {
        let caller = authenticate(&self.state, &request, &request.get_ref().host_id).await?;
        let report = request.into_inner();
        let state = &self.state;
        state.modules.check_owner(&state.journal, report.module, &caller.host_id).await?;
        state.ports.report(&state.journal, report, Instant::now()).await?;
        Ok(Response::new(proto::PortReportReply {}))
    }

    type WatchOverlayStream = OverlayStream;

    async fn watch_overlay(
        &self,
        request: Request<proto::OverlayRequest>,
    ) -> Result<Response<Self::WatchOverlayStream>, Status> {
        let caller = authenticate(&self.state, &request, &request.get_ref().host_id).await?;
        let request = request.into_inner();
        let state = &self.state;
        state.modules.check_owner(&state.journal, request.module, &caller.host_id).await?;
        Ok(Response::new(state.fanout.subscribe_overlay(request.module, state.shutdown.clone())))
    }
}

//! The agent-facing gRPC service (`proto/switchyard.proto`).

use std::sync::Arc;
use std::time::Instant;

use tonic::{Request, Response, Status};

use crate::audit::{Actor, AuditKind};
use crate::fanout::{OverlayStream, UpdateStream};
use crate::modules::{ModuleError, Registration, UplinkRecord};
use crate::port_binding::{BindError, BindRequest};
use crate::ports::PortError;
use crate::state::SupervisorState;
use crate::trust::{Caller, Connection};

/// Implements `switchyard.v1.Supervisor` over the shared state.
#[derive(Debug, Clone)]
pub struct AgentService {
    state: Arc<SupervisorState>,
}

impl AgentService {
    pub fn new(state: Arc<SupervisorState>) -> Self {
        Self { state }
    }

    /// `BindPort` itself, and whether it changed a binding;
    /// [`bind_port`](proto::supervisor_server::Supervisor::bind_port) records it.
    async fn bind(
        &self,
        request: Request<proto::BindPortRequest>,
    ) -> Result<(proto::BindPortReply, bool), Status> {
        let request = request.into_inner();
        let state = &self.state;
        state.modules.check_owner(&state.journal, request.module, &request.host_id).await?;
        let request = BindRequest {
            module: request.module,
            host_id: request.host_id,
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
        let reply = proto::BindPortReply { veth: bound.record.veth, policy_json, policy_revision };
        Ok((reply, bound.changed))
    }

    /// `UnbindPort` itself.
    async fn unbind(
        &self,
        request: Request<proto::UnbindPortRequest>,
    ) -> Result<Response<proto::UnbindPortReply>, Status> {
        let request = request.into_inner();
        let state = &self.state;
        state.modules.check_owner(&state.journal, request.module, &request.host_id).await?;
        let kept =
            state.ports.unbind(&state.journal, &state.fanout, request.module, &request.iface_id).await?;
        Ok(Response::new(proto::UnbindPortReply { kept }))
    }
}

/// Who sent a request, for the accounting log.
fn actor<T>(request: &Request<T>) -> Actor {
    Actor::new(request.extensions().get::<Caller>(), request.extensions().get::<Connection>())
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
    async fn register(
        &self,
        request: Request<proto::RegisterRequest>,
    ) -> Result<Response<proto::RegisterReply>, Status> {
        let request = request.into_inner();
        let registration = Registration {
            host_name: request.host_name,
            host_id: request.host_id,
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
        let request = request.into_inner();
        let state = &self.state;
        state.modules.heartbeat(&state.journal, request.module, &request.host_id, Instant::now()).await?;
        Ok(Response::new(proto::HeartbeatReply { revision: state.fanout.revision() }))
    }

    type WatchStream = UpdateStream;

    async fn watch(
        &self,
        request: Request<proto::WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let request = request.into_inner();
        let state = &self.state;
        state.modules.check_owner(&state.journal, request.module, &request.host_id).await?;
        let stream = state.fanout.subscribe(request.module, &request.known, state.shutdown.clone());
        Ok(Response::new(stream))
    }

    async fn bind_port(
        &self,
        request: Request<proto::BindPortRequest>,
    ) -> Result<Response<proto::BindPortReply>, Status> {
        let actor = actor(&request);
        let body = request.get_ref();
        let command = format!(
            "bind-port module {} iface-id {} profile {} owner {} adapter {} mac {}",
            body.module, body.iface_id, body.profile, body.owner_name, body.adapter, body.mac
        );
        let result = self.bind(request).await;
        // An agent re-asserting its bindings (a resync) changes nothing and is not recorded.
        if !matches!(result, Ok((_, false))) {
            let what = |(reply, _): &(proto::BindPortReply, bool)| format!("Vethernet{}", reply.veth);
            // Not awaited: attach latency must not wait for the accounting log's commit.
            self.state.audit.submit(actor.entry(AuditKind::Port, command, &result, what));
        }
        result.map(|(reply, _)| Response::new(reply))
    }

    async fn unbind_port(
        &self,
        request: Request<proto::UnbindPortRequest>,
    ) -> Result<Response<proto::UnbindPortReply>, Status> {
        let actor = actor(&request);
        let body = request.get_ref();
        let command = format!("unbind-port module {} iface-id {}", body.module, body.iface_id);
        let result = self.unbind(request).await;
        let what = |reply: &Response<proto::UnbindPortReply>| {
            if reply.get_ref().kept { "binding kept" } else { "binding released" }.to_owned()
        };
        self.state.audit.submit(actor.entry(AuditKind::Port, command, &result, what));
        result
    }

    async fn report_ports(
        &self,
        request: Request<proto::PortReport>,
    ) -> Result<Response<proto::PortReportReply>, Status> {
        let report = request.into_inner();
        let state = &self.state;
        state.modules.check_owner(&state.journal, report.module, &report.host_id).await?;
        state.ports.report(&state.journal, report, Instant::now()).await?;
        Ok(Response::new(proto::PortReportReply {}))
    }

    type WatchOverlayStream = OverlayStream;

    async fn watch_overlay(
        &self,
        request: Request<proto::OverlayRequest>,
    ) -> Result<Response<Self::WatchOverlayStream>, Status> {
        let request = request.into_inner();
        let state = &self.state;
        state.modules.check_owner(&state.journal, request.module, &request.host_id).await?;
        Ok(Response::new(state.fanout.subscribe_overlay(request.module, state.shutdown.clone())))
    }
}

//! The agent-facing gRPC service (`proto/switchyard.proto`).

use std::sync::Arc;
use std::time::Instant;

use tonic::{Request, Response, Status};

use crate::fanout::UpdateStream;
use crate::modules::{ModuleError, Registration};
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
        };
        let state = &self.state;
        let record = state.modules.register(&state.journal, &registration, Instant::now()).await?;
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
        _request: Request<proto::BindPortRequest>,
    ) -> Result<Response<proto::BindPortReply>, Status> {
        Err(Status::unimplemented("port binding is not implemented yet"))
    }

    async fn unbind_port(
        &self,
        _request: Request<proto::UnbindPortRequest>,
    ) -> Result<Response<proto::UnbindPortReply>, Status> {
        Err(Status::unimplemented("port binding is not implemented yet"))
    }

    async fn report_ports(
        &self,
        _request: Request<proto::PortReport>,
    ) -> Result<Response<proto::PortReportReply>, Status> {
        Ok(Response::new(proto::PortReportReply {}))
    }
}

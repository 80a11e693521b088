//! The agent-facing gRPC service (`proto/switchyard.proto`).
//!
//! Every request is checked by [`agent_input`] before it reaches a registry: what an agent sends
//! is bounded and clean, or refused with `INVALID_ARGUMENT` naming the field. (The registries
//! check again, for callers that are not this service.)

use std::sync::Arc;
use std::time::Instant;

use tonic::{Request, Response, Status};

use crate::agent_auth::{AgentIdentity, authenticate, kill_switch};
use crate::agent_input;
use crate::audit::{Actor, AuditKind};
use crate::fanout::{OverlayStream, UpdateStream};
use crate::ipam::IpamError;
use crate::ipam::allocator::{Lookup, Request as AllocateRequest};
use crate::module_kill::until_cut;
use crate::modules::{ModuleError, Registration, UplinkRecord};
use crate::port_binding::{BindError, BindRequest};
use crate::ports::PortError;
use crate::state::SupervisorState;
use crate::stream_slots::{Slot, StreamKind, StreamSlots};
use crate::trust::{Caller, Connection};

/// Implements `switchyard.v1.Supervisor` over the shared state.
#[derive(Debug, Clone)]
pub struct AgentService {
    state: Arc<SupervisorState>,
    streams: Arc<StreamSlots>,
}

impl AgentService {
    pub fn new(state: Arc<SupervisorState>) -> Self {
        let streams = Arc::new(StreamSlots::new(state.options.streams_per_module));
        Self { state, streams }
    }

    /// A place for one more stream of `kind` for `module`, or why not.
    fn slot(&self, module: u32, kind: StreamKind) -> Result<Slot, Status> {
        self.streams.take(module, kind).ok_or_else(|| {
            Status::resource_exhausted(format!(
                "module {module} holds {} streams of this kind open already; close one first",
                self.streams.max()
            ))
        })
    }
}

/// `stream`, holding `slot` for as long as it lives.
fn holding<T: Send + 'static>(
    stream: std::pin::Pin<Box<dyn futures::Stream<Item = Result<T, Status>> + Send>>,
    slot: Slot,
) -> std::pin::Pin<Box<dyn futures::Stream<Item = Result<T, Status>> + Send>> {
    use futures::StreamExt as _;
    Box::pin(stream.map(move |item| {
        let _held = &slot;
        item
    }))
}

impl AgentService {
    /// `BindPort` itself, and whether it changed a binding;
    /// [`bind_port`](proto::supervisor_server::Supervisor::bind_port) records it.
    async fn bind(
        &self,
        caller: AgentIdentity,
        request: proto::BindPortRequest,
    ) -> Result<(proto::BindPortReply, bool), Status> {
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
        agent_input::check_bind(&request).map_err(BindError::from).map_err(PortError::from)?;
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
        caller: AgentIdentity,
        request: proto::UnbindPortRequest,
    ) -> Result<Response<proto::UnbindPortReply>, Status> {
        agent_input::check_unbind(&request.iface_id).map_err(PortError::from)?;
        let state = &self.state;
        state.modules.check_owner(&state.journal, request.module, &caller.host_id).await?;
        let kept =
            state.ports.unbind(&state.journal, &state.fanout, request.module, &request.iface_id).await?;
        // The port's addresses go with it. The unbind is committed already: a failure here is
        // logged, and the leak collector frees them later.
        if let Err(error) =
            crate::ipam::release_owner(&state.journal, request.module, &request.iface_id).await
        {
            tracing::warn!(%error, iface_id = %request.iface_id, "cannot release the port's addresses");
        }
        Ok(Response::new(proto::UnbindPortReply { kept }))
    }
}

impl AgentService {
    /// `AllocateAddress` itself, and whether it allocated (false: the owner held it already).
    async fn allocate(
        &self,
        caller: AgentIdentity,
        request: proto::AllocateAddressRequest,
    ) -> Result<(proto::AllocateAddressReply, bool), Status> {
        let address = crate::ipam::input::check_allocate(&request).map_err(IpamError::from)?;
        let state = &self.state;
        state.modules.check_owner(&state.journal, request.module, &caller.host_id).await?;
        let allocated = crate::ipam::allocate(
            &state.journal,
            &AllocateRequest {
                module: request.module,
                pool: &request.pool,
                profile: &request.profile,
                owner: &request.owner,
                owner_name: &request.owner_name,
                address,
            },
        )
        .await?;
        if allocated.new {
            tracing::info!(pool = %allocated.pool, address = %allocated.address, module = request.module, "address allocated");
        }
        let reply = proto::AllocateAddressReply {
            pool: allocated.pool,
            address: allocated.address.to_string(),
            prefix_len: u32::from(allocated.network.prefix_len()),
            default_router: allocated.default_router.map(|r| r.to_string()).unwrap_or_default(),
            network: allocated.network.to_string(),
        };
        Ok((reply, allocated.new))
    }

    /// `ReleaseAddress` itself.
    async fn release(
        &self,
        caller: AgentIdentity,
        request: proto::ReleaseAddressRequest,
    ) -> Result<proto::ReleaseAddressReply, Status> {
        let address = crate::ipam::input::check_release(&request).map_err(IpamError::from)?;
        let state = &self.state;
        state.modules.check_owner(&state.journal, request.module, &caller.host_id).await?;
        let owner = Some(request.owner.as_str()).filter(|o| !o.is_empty());
        let at = address.map(|a| (request.pool.as_str(), a));
        let released = crate::ipam::release(&state.journal, request.module, owner, at).await?;
        Ok(proto::ReleaseAddressReply { released })
    }
}

/// A report's held addresses as (pool, address); checked already, so every address parses.
fn held_set(held: Vec<proto::HeldAddress>) -> std::collections::BTreeSet<(String, std::net::Ipv4Addr)> {
    held.into_iter().filter_map(|h| Some((h.pool, h.address.parse().ok()?))).collect()
}

/// Who sent a request, for the accounting log: the module's host, from where.
fn actor<T>(request: &Request<T>, caller: &AgentIdentity) -> Actor {
    let module = Caller::Module { host_id: caller.host_id.clone() };
    Actor::new(Some(&module), request.extensions().get::<Connection>())
}

impl From<PortError> for Status {
    fn from(error: PortError) -> Self {
        let message = error.to_string();
        match error {
            PortError::Bind(BindError::Invalid(_) | BindError::MacInUse { .. }) | PortError::Report(_) => {
                Status::invalid_argument(message)
            }
            PortError::Bind(
                BindError::MaxPorts { .. }
                | BindError::NotVethernet { .. }
                | BindError::AttachedElsewhere { .. },
            ) => Status::failed_precondition(message),
            PortError::Bind(BindError::ModuleFull { .. }) => Status::resource_exhausted(message),
            PortError::Module(error) => error.into(),
            PortError::Contended => Status::aborted(message),
            PortError::Store(error) => store_status(&error, message),
            PortError::Corrupt { .. } => Status::internal(message),
        }
    }
}

impl From<ModuleError> for Status {
    fn from(error: ModuleError) -> Self {
        let message = error.to_string();
        match error {
            ModuleError::Invalid(_) => Status::invalid_argument(message),
            ModuleError::Unknown { .. } => Status::not_found(message),
            ModuleError::WrongHost { .. } | ModuleError::DuplicateHostName { .. } => {
                Status::failed_precondition(message)
            }
            ModuleError::Full { .. } => Status::resource_exhausted(message),
            ModuleError::Contended => Status::aborted(message),
            ModuleError::Store(error) => store_status(&error, message),
            ModuleError::Corrupt { .. } => Status::internal(message),
        }
    }
}

/// UNAVAILABLE while the store cannot be reached (etcd without quorum): the agent retries, and
/// keeps forwarding on what it has; INTERNAL for anything else.
fn store_status(error: &store::StoreError, message: String) -> Status {
    match error {
        store::StoreError::Unavailable(_) => Status::unavailable(message),
        _ => Status::internal(message),
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
        let mut registration = Registration {
            host_name: request.host_name,
            host_id: caller.host_id.clone(),
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
        // Well-formed first (INVALID_ARGUMENT), then what the enrolment approved (PERMISSION_DENIED).
        agent_input::check_registration(&registration).map_err(ModuleError::from)?;
        caller.check_registration(&registration.host_name, &registration.vtep)?;
        if let Some(enrolled) = &caller.enrolled {
            registration.host_name.clone_from(&enrolled.host_name);
        }
        let state = &self.state;
        let record = state.modules.register(&state.journal, &registration, Instant::now()).await?;
        state.fanout.module_changed(&record);
        state.fanout.module_liveness(record.module, || state.modules.is_online(record.module));
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
        let came_online =
            state.modules.heartbeat(&state.journal, request.module, &caller.host_id, Instant::now()).await?;
        if came_online {
            state.fanout.module_liveness(request.module, || state.modules.is_online(request.module));
        }
        Ok(Response::new(proto::HeartbeatReply { revision: state.fanout.revision() }))
    }

    type WatchStream = UpdateStream;

    async fn watch(
        &self,
        request: Request<proto::WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let caller = authenticate(&self.state, &request, &request.get_ref().host_id).await?;
        let request = request.into_inner();
        agent_input::check_watch(&request).map_err(PortError::from)?;
        let state = &self.state;
        state.modules.check_owner(&state.journal, request.module, &caller.host_id).await?;
        let slot = self.slot(request.module, StreamKind::Watch)?;
        let stream = state.fanout.subscribe(request.module, &request.known, state.shutdown.clone());
        let switch = kill_switch(state, &caller, request.module).await?;
        Ok(Response::new(until_cut(holding(stream, slot), switch)))
    }

    async fn bind_port(
        &self,
        request: Request<proto::BindPortRequest>,
    ) -> Result<Response<proto::BindPortReply>, Status> {
        let caller = authenticate(&self.state, &request, &request.get_ref().host_id).await?;
        let actor = actor(&request, &caller);
        let body = request.get_ref();
        // Recorded refused too, so only bounded and made printable: nothing is checked yet.
        let command = format!(
            "bind-port module {} iface-id {} profile {} owner {} adapter {} mac {}",
            body.module,
            agent_input::bounded(&body.iface_id),
            agent_input::bounded(&body.profile),
            agent_input::bounded(&body.owner_name),
            agent_input::bounded(&body.adapter),
            agent_input::bounded(&body.mac)
        );
        let result = self.bind(caller, request.into_inner()).await;
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
        let caller = authenticate(&self.state, &request, &request.get_ref().host_id).await?;
        let actor = actor(&request, &caller);
        let body = request.get_ref();
        let command =
            format!("unbind-port module {} iface-id {}", body.module, agent_input::bounded(&body.iface_id));
        let result = self.unbind(caller, request.into_inner()).await;
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
        let caller = authenticate(&self.state, &request, &request.get_ref().host_id).await?;
        let mut report = request.into_inner();
        agent_input::check_report(&report).map_err(PortError::from)?;
        crate::ipam::input::check_held(&report.held_addresses).map_err(IpamError::from)?;
        let state = &self.state;
        state.modules.check_owner(&state.journal, report.module, &caller.host_id).await?;
        let module = report.module;
        let held = report.reports_addresses.then(|| held_set(std::mem::take(&mut report.held_addresses)));
        let now = Instant::now();
        let shared = report.clone();
        state.ports.report(&state.journal, report, now).await?;
        // The other supervisors show it too; a failure costs them freshness, not the agent.
        if let Err(error) = state.reports.share(&shared, now).await {
            tracing::warn!(%error, module, "cannot share the module's report");
        }
        if let Some(held) = held {
            let grace = state.options.address_grace;
            if let Err(error) = crate::ipam::collect_leaks(&state.journal, module, &held, grace).await {
                tracing::warn!(%error, module, "cannot collect leaked addresses");
            }
        }
        Ok(Response::new(proto::PortReportReply { commands: state.ports.take_port_commands(module) }))
    }

    async fn allocate_address(
        &self,
        request: Request<proto::AllocateAddressRequest>,
    ) -> Result<Response<proto::AllocateAddressReply>, Status> {
        let caller = authenticate(&self.state, &request, &request.get_ref().host_id).await?;
        let actor = actor(&request, &caller);
        let body = request.get_ref();
        // Recorded refused too, so only bounded and made printable: nothing is checked yet.
        let command = format!(
            "allocate-address module {} pool {} profile {} owner {} address {}",
            body.module,
            agent_input::bounded(&body.pool),
            agent_input::bounded(&body.profile),
            agent_input::bounded(&body.owner),
            agent_input::bounded(&body.address),
        );
        let result = self.allocate(caller, request.into_inner()).await;
        // An agent asking again for what it holds changes nothing and is not recorded.
        if !matches!(result, Ok((_, false))) {
            let what = |(reply, _): &(proto::AllocateAddressReply, bool)| {
                format!("{} of ip pool {}", reply.address, reply.pool)
            };
            self.state.audit.submit(actor.entry(AuditKind::Port, command, &result, what));
        }
        result.map(|(reply, _)| Response::new(reply))
    }

    async fn release_address(
        &self,
        request: Request<proto::ReleaseAddressRequest>,
    ) -> Result<Response<proto::ReleaseAddressReply>, Status> {
        let caller = authenticate(&self.state, &request, &request.get_ref().host_id).await?;
        let actor = actor(&request, &caller);
        let body = request.get_ref();
        let command = format!(
            "release-address module {} owner {} pool {} address {}",
            body.module,
            agent_input::bounded(&body.owner),
            agent_input::bounded(&body.pool),
            agent_input::bounded(&body.address),
        );
        let result = self.release(caller, request.into_inner()).await;
        let what = |reply: &proto::ReleaseAddressReply| format!("{} released", reply.released);
        self.state.audit.submit(actor.entry(AuditKind::Port, command, &result, what));
        result.map(Response::new)
    }

    async fn describe_pool(
        &self,
        request: Request<proto::DescribePoolRequest>,
    ) -> Result<Response<proto::PoolInfo>, Status> {
        let caller = authenticate(&self.state, &request, &request.get_ref().host_id).await?;
        let request = request.into_inner();
        crate::ipam::input::check_describe(&request).map_err(IpamError::from)?;
        let state = &self.state;
        state.modules.check_owner(&state.journal, request.module, &caller.host_id).await?;
        let lookup = if !request.profile.is_empty() {
            Lookup::Profile(&request.profile)
        } else if !request.pool.is_empty() {
            Lookup::Pool(&request.pool)
        } else {
            let network = request.network.parse().map_err(|e: config::ip_pool::NetworkError| {
                Status::invalid_argument(format!("invalid network: {e}"))
            })?;
            Lookup::Network(network)
        };
        let described = crate::ipam::describe(&state.journal, lookup).await?;
        Ok(Response::new(proto::PoolInfo {
            name: described.name,
            network: described.network.to_string(),
            default_router: described.default_router.map(|r| r.to_string()).unwrap_or_default(),
            mtu: described.mtu.unwrap_or(0),
            size: u32::try_from(described.size).unwrap_or(u32::MAX),
            used: u32::try_from(described.used).unwrap_or(u32::MAX),
        }))
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
        let slot = self.slot(request.module, StreamKind::Overlay)?;
        let stream = holding(state.fanout.subscribe_overlay(request.module, state.shutdown.clone()), slot);
        let switch = kill_switch(state, &caller, request.module).await?;
        Ok(Response::new(until_cut(stream, switch)))
    }
}

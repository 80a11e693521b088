//! What the local API carries about ports: the attach and detach requests ([`spec`]), and the
//! views `vemcmd` and `switchyard attach` print ([`view`], [`flow_view`]).

pub mod flow_view;
pub mod spec;
pub mod view;

pub use spec::{AttachSpec, DetachSpec, TargetSpec, parse_cidr, parse_vethernet};
pub use view::{
    AttachedView, BridgeDomainOverlay, DetachedView, DropCount, MacView, PortView, PortsView, TraceView,
    Traffic, TunnelCounters, VtepView, VxlanView,
};

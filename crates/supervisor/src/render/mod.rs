//! `show …` output, as pure functions of the state they show. Layouts follow NX-OS
//! (`shared/reference/nxos.md`).

mod logging;
mod module;
mod port_profile;

pub use logging::show_logging_logfile;
pub use module::{SUPERVISOR_MODULE, show_module};
pub use port_profile::{show_port_profile, show_port_profile_brief};

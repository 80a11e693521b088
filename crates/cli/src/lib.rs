//! The Switchyard shell's command language, shared by the shell (prompts, modes, `?` help, tab
//! completion) and the supervisor (which parses the exec commands it renders).
//!
//! Pure: no I/O. Built on the table-driven grammar of the `config` crate, so exec commands and
//! configuration commands parse, complete and explain themselves the same way.
//!
//! ```
//! use cli::{Action, Session};
//! let mut s = Session::new("switch");
//! assert_eq!(s.interpret("configure terminal"), Ok(Action::ModeChanged));
//! assert_eq!(s.prompt(), "switch(config)# ");
//! let Ok(Action::Config { text }) = s.interpret("port-profile type vethernet web") else {
//!     panic!()
//! };
//! assert_eq!(text, "port-profile type vethernet web\n");
//! let Ok(Action::Config { text }) = s.interpret("switchport access vlan 100") else {
//!     panic!()
//! };
//! assert_eq!(text, "port-profile type vethernet web\n  switchport access vlan 100\n");
//! ```

pub mod error;
pub mod exec;
pub mod session;

pub use config::grammar::Candidate;
pub use error::{CliError, caret};
pub use exec::{BridgeDomainView, ExecCommand, parse_exec};
pub use session::{Action, Session, SessionMode, SessionOp};

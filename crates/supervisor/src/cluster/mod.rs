//! Several supervisors, all active, on one store.
//!
//! Nothing a supervisor answers may come from its memory alone: another supervisor sharing the
//! store may have changed it. What each one keeps in memory is a *mirror* of store keys, kept
//! current by a watch ([`follow`]), and what is true only while someone is alive lives in keys
//! attached to a lease:
//!
//! - every supervisor holds one lease ([`lease::SupervisorLease`], TTL = the heartbeat timeout)
//!   and renews it; its own `live/supervisors/<id>` key and the `live/modules/<N>` key of every
//!   module whose agent it serves hang on that lease. A supervisor killed with `-9` stops renewing:
//!   its keys vanish one TTL later and every other supervisor sees those modules go offline —
//!   unless their agents have meanwhile registered elsewhere, which re-attaches the keys to the
//!   new supervisor's lease.
//! - an agent that goes silent is taken offline by the supervisor that serves it, which deletes
//!   the module's live key only if it is still the one it wrote (a compare on its revision), so
//!   an agent that moved on is not taken offline by the supervisor it left.
//! - `MOD_ONLINE` / `MOD_OFFLINE` are logged exactly once per change, by whichever supervisor
//!   wins a compare-and-swap on the module's presence key ([`presence`]).
//! - numbers (modules, supervisors, vEthernets, addresses) are allocated by transactions that
//!   compare a generation key, so two supervisors never hand out the same one.
//!
//! | module | job |
//! |---|---|
//! | [`identity`] | this supervisor's id, kept in its data dir |
//! | [`lease`] | the supervisor's lease, renewed until shutdown |
//! | [`members`] | supervisor records and numbers; `show module`'s supervisor rows |
//! | [`presence`] | which modules are online, from the live keys of every supervisor |
//! | [`commands`] | operators' port commands, to the supervisor serving the module |
//! | [`reports`] | agents' port reports, shared so every supervisor shows the same |
//! | [`shared_ca`] | one CA for every supervisor, kept in the store |
//! | [`follow`] | watch a prefix, re-reading after a compaction or a broken watch |
//! | [`followers`] | what each mirror does with the changes it sees |

pub mod commands;
pub mod follow;
pub mod followers;
pub mod identity;
pub mod lease;
pub mod members;
pub mod presence;
pub mod reports;
pub mod shared_ca;

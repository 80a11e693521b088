//! Cutting a module off: when its host stops being trusted (revoked, removed), its open streams
//! end at once with UNAUTHENTICATED — a hostile holder of a revoked certificate must not keep
//! receiving policies on a stream it opened before. Per supervisor process: each one ends the
//! streams it serves.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use futures::{Stream, StreamExt as _};
use tokio::sync::watch;
use tonic::Status;

/// One switch per module with open streams.
#[derive(Debug, Default)]
pub struct ModuleKills {
    switches: Mutex<HashMap<u32, watch::Sender<bool>>>,
}

impl ModuleKills {
    /// Turns true when `module` is cut off.
    pub fn watch(&self, module: u32) -> watch::Receiver<bool> {
        let mut switches = self.switches.lock().unwrap_or_else(PoisonError::into_inner);
        switches.entry(module).or_insert_with(|| watch::channel(false).0).subscribe()
    }

    /// Ends every stream `module` holds open now; streams it opens later (after it enrolled
    /// again) are not affected.
    pub fn cut(&self, module: u32) {
        let switch = self.switches.lock().unwrap_or_else(PoisonError::into_inner).remove(&module);
        if let Some(switch) = switch {
            let _ = switch.send(true);
        }
    }
}

/// `stream` until `killed` turns true, then one UNAUTHENTICATED error and the end.
pub fn until_cut<T: Send + 'static>(
    stream: Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>,
    mut killed: watch::Receiver<bool>,
) -> Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>> {
    let was_cut = Arc::new(AtomicBool::new(false));
    let mark = Arc::clone(&was_cut);
    let cut = async move {
        if killed.wait_for(|cut| *cut).await.is_ok() {
            mark.store(true, Ordering::Relaxed);
        } else {
            // The switch went without a cut: never.
            std::future::pending::<()>().await;
        }
    };
    let tail =
        futures::stream::once(async move { was_cut.load(Ordering::Relaxed) }).filter_map(|cut| async move {
            cut.then(|| {
                Err(Status::unauthenticated("this module's host was revoked or removed by an operator"))
            })
        });
    Box::pin(stream.take_until(cut).chain(tail))
}

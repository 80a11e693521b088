//! The WatchOverlay subscription: while the supervisor link is connected, one stream of
//! overlay updates, each persisted and then put in force; reconnects with backoff like the
//! Watch stream. Between sessions the dataplane keeps the overlay it has.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::trust::Supervisors;
use proto::supervisor_client::SupervisorClient;
use tokio::sync::watch;

use super::model::OverlayFile;
use crate::backoff::{Backoff, random_unit};
use crate::dataplane::Dataplane;
use crate::status::{AgentStatus, ConnectionState};

const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How long opening the stream may take.
const OPEN_TIMEOUT: Duration = Duration::from_secs(3);

/// What the follower works with.
#[derive(Debug)]
pub struct OverlayFollower {
    /// The supervisors: the stream goes to the one the link is registered with.
    pub supervisors: Arc<Supervisors>,
    /// This host's id.
    pub host_id: String,
    /// The supervisor link's status: the stream is opened once it is connected.
    pub status: watch::Receiver<AgentStatus>,
    /// Where the overlay goes in force.
    pub dataplane: Dataplane,
    /// `D/overlay.json`.
    pub file: PathBuf,
    /// The overlay in force, for the host views (`vemcmd show vxlan`, `show l2 bd-name`).
    pub published: watch::Sender<Arc<OverlayFile>>,
}

/// Follows the supervisor's overlay for this module, forever.
pub async fn follow_overlay(mut follower: OverlayFollower) {
    let mut backoff = Backoff::new(BACKOFF_MIN, BACKOFF_MAX);
    let mut failures = 0u32;
    loop {
        let connected = follower
            .status
            .wait_for(|status| status.state == ConnectionState::Connected && status.module.is_some())
            .await
            .map(|status| status.module);
        let Ok(Some(module)) = connected else { return }; // the link is gone: the agent stops
        match session(&mut follower, module, &mut backoff).await {
            Ok(()) => failures = 0,
            Err(error) if failures == 0 => tracing::warn!("overlay stream: {error}; retrying"),
            Err(error) => tracing::debug!("overlay stream: {error}"),
        }
        failures = failures.saturating_add(1);
        tokio::time::sleep(backoff.next_delay(random_unit())).await;
    }
}

/// One stream, until it fails or ends (`Ok` when it ended after delivering updates).
async fn session(follower: &mut OverlayFollower, module: u32, backoff: &mut Backoff) -> Result<(), String> {
    let target = follower.supervisors.current().ok_or("no supervisor is connected")?;
    let channel = target.connect().await.map_err(|error| format!("cannot connect: {error}"))?;
    let mut client = SupervisorClient::new(channel);
    let request = proto::OverlayRequest { module, host_id: follower.host_id.clone() };
    let mut stream = match tokio::time::timeout(OPEN_TIMEOUT, client.watch_overlay(request)).await {
        Err(_) => return Err(format!("WatchOverlay got no answer within {OPEN_TIMEOUT:?}")),
        Ok(Err(status)) => {
            return Err(format!("WatchOverlay failed: {}: {}", status.code(), status.message()));
        }
        Ok(Ok(response)) => response.into_inner(),
    };
    loop {
        match stream.message().await {
            Ok(Some(update)) => {
                backoff.reset();
                apply(follower, &update).await;
            }
            Ok(None) => return Err("the supervisor closed the overlay stream".to_owned()),
            Err(status) => {
                return Err(format!("WatchOverlay failed: {}: {}", status.code(), status.message()));
            }
        }
    }
}

/// Persists and puts in force an update that changes the overlay.
async fn apply(follower: &OverlayFollower, update: &proto::OverlayUpdate) {
    let (file, problems) = OverlayFile::from_update(update);
    for problem in problems {
        tracing::warn!("overlay update: {problem}; left out");
    }
    if **follower.published.borrow() == file {
        return;
    }
    let path = follower.file.clone();
    let saving = file.clone();
    match tokio::task::spawn_blocking(move || saving.save(&path)).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            tracing::error!(
                "cannot save {}: {error}; the overlay is kept in memory",
                follower.file.display()
            );
        }
        Err(error) => tracing::error!("saving the overlay panicked: {error}"),
    }
    if let Err(error) = follower.dataplane.set_overlay(file.to_overlay()).await {
        tracing::error!("cannot program the overlay: {error}");
    }
    tracing::info!(
        "overlay: {} bridge-domains, {} remote VTEPs, {} remote MACs",
        file.segments.len(),
        file.segments.values().map(|segment| segment.vteps.len()).sum::<usize>(),
        file.segments.values().map(|segment| segment.macs.len()).sum::<usize>()
    );
    follower.published.send_replace(Arc::new(file));
}

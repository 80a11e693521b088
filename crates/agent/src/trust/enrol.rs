//! The two calls that get the agent a certificate: `Enroll` with the join token (first start),
//! `RenewCertificate` over the running link (at two thirds of the certificate's life).

use std::time::{Duration, SystemTime};

use pki::request::AgentKey;
use proto::supervisor_client::SupervisorClient;
use tonic::transport::Channel;

use super::channel::SupervisorTarget;
use super::renewal;
use crate::identity::HostIdentity;

/// How long either call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Enrols with the join token unless the agent already has a certificate.
pub(crate) async fn enrol_if_needed(
    target: &SupervisorTarget,
    identity: &HostIdentity,
) -> Result<(), String> {
    let Some(credentials) = target.credentials() else { return Ok(()) };
    if credentials.current().is_some() {
        return Ok(());
    }
    let (token, _) = credentials.join().ok_or("not enrolled and no join token")?;
    let key = AgentKey::generate(&identity.host_id).map_err(|e| e.to_string())?;
    let channel = target.connect_to_enrol().await?;
    let request = proto::EnrollRequest {
        token: token.clone(),
        csr_pem: key.csr_pem.clone(),
        host_id: identity.host_id.clone(),
        host_name: identity.host_name.clone(),
        vtep: identity.vtep.map(|vtep| vtep.to_string()).unwrap_or_default(),
    };
    let reply = tokio::time::timeout(CALL_TIMEOUT, SupervisorClient::new(channel).enroll(request))
        .await
        .map_err(|_| format!("Enroll got no answer within {CALL_TIMEOUT:?}"))?
        .map_err(|status| format!("the supervisor refused: {}", status.message()))?
        .into_inner();
    let enrolled = credentials
        .store(&key.key_pem, &reply.certificate_pem, Some(&reply.ca_pem))
        .map_err(|e| e.to_string())?;
    tracing::info!(
        "enrolled with {} as host {} (certificate {} valid until {})",
        target,
        identity.host_id,
        enrolled.certificate.serial,
        humantime(enrolled.certificate.not_after)
    );
    Ok(())
}

/// Renews the certificate when it is due. A failure is logged and retried at the next call:
/// the current certificate still has a third of its life.
pub(crate) async fn renew_if_due(
    target: &SupervisorTarget,
    client: &mut SupervisorClient<Channel>,
    host_id: &str,
) {
    let Some(credentials) = target.credentials() else { return };
    let Some(current) = credentials.current() else { return };
    if !renewal::due(&current.certificate, SystemTime::now()) {
        return;
    }
    let result = async {
        let key = AgentKey::generate(host_id).map_err(|e| e.to_string())?;
        let request = proto::RenewRequest { csr_pem: key.csr_pem.clone() };
        let reply = tokio::time::timeout(CALL_TIMEOUT, client.renew_certificate(request))
            .await
            .map_err(|_| format!("RenewCertificate got no answer within {CALL_TIMEOUT:?}"))?
            .map_err(|status| format!("the supervisor refused: {}", status.message()))?
            .into_inner();
        credentials.store(&key.key_pem, &reply.certificate_pem, None).map_err(|e| e.to_string())
    }
    .await;
    match result {
        Ok(renewed) => tracing::info!(
            "renewed the certificate: {} valid until {}",
            renewed.certificate.serial,
            humantime(renewed.certificate.not_after)
        ),
        Err(error) => tracing::warn!("cannot renew the certificate yet: {error}"),
    }
}

/// Seconds since the epoch, which is what the logs can say without a date library.
fn humantime(at: SystemTime) -> String {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or_else(|_| "?".to_owned(), |d| format!("unix {}", d.as_secs()))
}

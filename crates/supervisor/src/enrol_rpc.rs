//! The two RPCs that hand out certificates: `Enroll` (a join token, no certificate yet) and
//! `RenewCertificate` (the current certificate). Both are audited.

use tonic::{Request, Status};

use crate::agent_input::bounded;
use crate::audit::{AuditEntry, AuditKind};
use crate::enrolment::{EnrolError, EnrolRequest};
use crate::events::Event;
use crate::state::SupervisorState;
use crate::trust::Connection;

impl From<EnrolError> for Status {
    fn from(error: EnrolError) -> Self {
        let message = error.to_string();
        match error {
            EnrolError::MalformedToken(_)
            | EnrolError::UnknownToken { .. }
            | EnrolError::ExpiredToken { .. }
            | EnrolError::Refused(_) => Status::unauthenticated(message),
            EnrolError::HostEnrolled { .. } | EnrolError::NameTaken { .. } => Status::already_exists(message),
            EnrolError::Invalid { .. } | EnrolError::Request(_) | EnrolError::BadTtl => {
                Status::invalid_argument(message)
            }
            EnrolError::NotDue { .. } => Status::failed_precondition(message),
            EnrolError::Contended => Status::aborted(message),
            EnrolError::Corrupt { .. } | EnrolError::Store(_) => Status::internal(message),
        }
    }
}

pub async fn enroll(
    state: &SupervisorState,
    request: Request<proto::EnrollRequest>,
) -> Result<proto::EnrollReply, Status> {
    let peer = request.extensions().get::<Connection>().map(|c| c.peer);
    let source = peer.map_or_else(|| "-".to_owned(), |peer| peer.ip().to_string());
    // A source that has used up its refusals does no more work here, and writes nothing.
    state.agent_refusals.check(peer.map(|peer| peer.ip()))?;
    let enrolments = state.enrolments.as_ref().ok_or_else(|| {
        Status::failed_precondition("the supervisor runs --insecure: there is nothing to enrol with")
    })?;
    let request = request.into_inner();
    let vtep =
        match request.vtep.as_str() {
            "" => None,
            text => Some(text.parse().map_err(|_| {
                Status::invalid_argument(format!("invalid vtep {text:?}: not an IPv4 address"))
            })?),
        };
    let enrol = EnrolRequest {
        token: request.token,
        csr_pem: request.csr_pem,
        host_id: request.host_id,
        host_name: request.host_name,
        vtep,
    };
    let token_id = bounded(enrol.token.split('.').next().unwrap_or_default());
    let result = enrolments.enrol(&enrol, &source).await;
    let entry = |success: bool, detail: String| AuditEntry {
        kind: AuditKind::Enrol,
        user: format!("host:{}", bounded(&enrol.host_name)),
        source: source.clone(),
        command: format!(
            "enrol host {} as {} with join-token {token_id}",
            bounded(&enrol.host_name),
            bounded(&enrol.host_id)
        ),
        success,
        detail,
    };
    match result {
        Ok(certificate) => {
            state.audit.record(entry(true, String::new())).await;
            let record = &certificate.record;
            state.journal.log(vec![Event::host_enrolled(&record.host_name, &record.host_id, &source)]).await;
            tracing::info!(host = %record.host_name, host_id = %record.host_id, %source, "agent enrolled");
            Ok(proto::EnrollReply {
                certificate_pem: certificate.cert_pem,
                ca_pem: enrolments.ca_pem().to_owned(),
            })
        }
        Err(error) => {
            let detail = error.to_string();
            // Written down (accounting entry and event) while the source has refusals left.
            state.agent_refusals.count(peer.map(|peer| peer.ip()))?;
            state.audit.record(entry(false, detail.clone())).await;
            state.journal.log(vec![Event::host_refused(&source, &detail)]).await;
            Err(error.into())
        }
    }
}

pub async fn renew(
    state: &SupervisorState,
    request: Request<proto::RenewRequest>,
) -> Result<proto::RenewReply, Status> {
    let enrolments = state
        .enrolments
        .as_ref()
        .ok_or_else(|| Status::failed_precondition("the supervisor runs --insecure"))?;
    let certificate = request
        .extensions()
        .get::<Connection>()
        .and_then(|c| c.client.clone())
        .ok_or_else(|| Status::unauthenticated("renewing needs the current client certificate"))?;
    let source =
        request.extensions().get::<Connection>().map_or_else(|| "-".to_owned(), |c| c.peer.ip().to_string());
    let renewed = enrolments.renew(&certificate, &request.into_inner().csr_pem).await;
    let host_id = bounded(&certificate.common_name);
    state
        .audit
        .record(AuditEntry {
            kind: AuditKind::Enrol,
            user: format!("module:{host_id}"),
            source,
            command: format!("renew certificate {} of host {host_id}", bounded(&certificate.serial)),
            success: renewed.is_ok(),
            detail: renewed.as_ref().map_or_else(ToString::to_string, |renewed| {
                format!("new certificate {}", renewed.record.serials[0])
            }),
        })
        .await;
    let renewed = renewed?;
    tracing::info!(host_id = %renewed.record.host_id, "renewed an agent certificate");
    Ok(proto::RenewReply { certificate_pem: renewed.cert_pem })
}

//! REST errors: always JSON, always with a status that says whose fault it was.

use axum::Json;
use axum::extract::rejection::{BytesRejection, StringRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::config_store::ConfigWriteError;
use crate::modules::ModuleError;
use crate::ports::PortError;

/// The body of every error response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong, in words.
    pub error: String,
    /// For config text: the 1-based line of the offending input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// For config text and commands: the 1-based column of the offending input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// For config text: what the parser would have accepted there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<Vec<String>>,
    /// For commands: what exactly was wrong, e.g. `invalid VLAN id '5000'`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// For JSON bodies: the field that was wrong (`access_vlan`, `typo_field`), as a path for
    /// nested ones.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// An error response: a status and an [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    /// Boxed: an error travels in every handler's `Result`, which stays small.
    pub body: Box<ErrorBody>,
}

impl ApiError {
    /// An error with just a message.
    pub fn new(status: StatusCode, error: impl Into<String>) -> Self {
        Self::with_body(status, ErrorBody { error: error.into(), ..ErrorBody::default() })
    }

    /// An error with a full body.
    pub fn with_body(status: StatusCode, body: ErrorBody) -> Self {
        Self { status, body: Box::new(body) }
    }

    /// The resource does not exist.
    pub fn not_found(error: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(*self.body)).into_response()
    }
}

impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> Self {
        Self::new(rejection.status(), rejection.body_text())
    }
}

impl From<StringRejection> for ApiError {
    fn from(rejection: StringRejection) -> Self {
        Self::new(rejection.status(), rejection.body_text())
    }
}

impl From<ModuleError> for ApiError {
    fn from(error: ModuleError) -> Self {
        match error {
            ModuleError::Store(error) => error.into(),
            other => Self::new(StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
        }
    }
}

impl From<PortError> for ApiError {
    fn from(error: PortError) -> Self {
        match error {
            PortError::Module(error) => error.into(),
            PortError::Store(error) => error.into(),
            // Binding errors come from agents over gRPC; here only reads fail.
            other => Self::new(StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
        }
    }
}

impl From<crate::ipam::IpamError> for ApiError {
    fn from(error: crate::ipam::IpamError) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, error.to_string())
    }
}

impl From<store::StoreError> for ApiError {
    /// An unreachable store is a 503: the client may try another supervisor, or later.
    fn from(error: store::StoreError) -> Self {
        let status = match error {
            store::StoreError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self::new(status, error.to_string())
    }
}

impl From<ConfigWriteError> for ApiError {
    fn from(error: ConfigWriteError) -> Self {
        let message = error.to_string();
        match error {
            ConfigWriteError::Rejected { line, column, expected, .. } => Self::with_body(
                StatusCode::BAD_REQUEST,
                ErrorBody {
                    error: message,
                    line: Some(line),
                    column: Some(column),
                    expected: Some(expected),
                    ..ErrorBody::default()
                },
            ),
            ConfigWriteError::Invalid(_) => Self::new(StatusCode::BAD_REQUEST, message),
            ConfigWriteError::ProfileInUse { site, .. } => Self::with_body(
                StatusCode::CONFLICT,
                ErrorBody {
                    error: message,
                    line: site.map(|(line, _)| line),
                    column: site.map(|(_, column)| column),
                    ..ErrorBody::default()
                },
            ),
            ConfigWriteError::NoSuchProfile(_) => Self::not_found(message),
            ConfigWriteError::Contended => Self::new(StatusCode::CONFLICT, message),
            ConfigWriteError::Store(error) => error.into(),
            ConfigWriteError::Corrupt { .. } | ConfigWriteError::Ports(_) | ConfigWriteError::Password(_) => {
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
            }
        }
    }
}

impl From<crate::enrolment::EnrolError> for ApiError {
    fn from(error: crate::enrolment::EnrolError) -> Self {
        use crate::enrolment::EnrolError as E;
        let status = match &error {
            E::MalformedToken(_) | E::BadTtl | E::Invalid { .. } | E::Request(_) => StatusCode::BAD_REQUEST,
            E::UnknownToken { .. } | E::ExpiredToken { .. } | E::Refused(_) => StatusCode::NOT_FOUND,
            E::HostEnrolled { .. } | E::NameTaken { .. } | E::NotDue { .. } | E::Contended => {
                StatusCode::CONFLICT
            }
            E::Store(store::StoreError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
            E::Corrupt { .. } | E::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self::new(status, error.to_string())
    }
}

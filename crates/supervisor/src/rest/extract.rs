//! Body extractors whose rejections are JSON [`ApiError`]s (axum's own answer in plain text), and
//! the [`Actor`] of a request.

use std::convert::Infallible;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::audit::{AuditEntry, AuditKind};
use crate::trust::{Caller, Connection};

/// A JSON body; wrong content type, bad syntax, wrong shape and oversize all answer JSON errors.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(value) = axum::Json::<T>::from_request(request, state).await?;
        Ok(Self(value))
    }
}

/// A UTF-8 text body (config text, a command line); oversize and bad UTF-8 answer JSON errors.
#[derive(Debug)]
pub struct TextBody(pub String);

impl<S: Send + Sync> FromRequest<S> for TextBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(String::from_request(request, state).await?))
    }
}

/// Who is calling and from where, as the accounting log names them: the authenticated caller
/// (`unknown` when nobody authenticated) and the peer's address (`-` when unknown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user: String,
    pub source: String,
}

impl Actor {
    /// An accounting entry of this actor for an action with `result`.
    pub fn entry<T, E: std::fmt::Display>(
        &self,
        kind: AuditKind,
        command: String,
        result: &Result<T, E>,
        what: impl FnOnce(&T) -> String,
    ) -> AuditEntry {
        AuditEntry::outcome(kind, self.user.clone(), self.source.clone(), command, result, what)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Actor {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let user = parts.extensions.get::<Caller>().map_or_else(|| "unknown".to_owned(), Caller::audit_name);
        let source = parts
            .extensions
            .get::<Connection>()
            .map_or_else(|| "-".to_owned(), |connection| connection.peer.ip().to_string());
        Ok(Self { user, source })
    }
}

//! Body extractors whose rejections are JSON [`ApiError`]s (axum's own answer in plain text), and
//! the [`Actor`] of a request.

use std::convert::Infallible;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

use super::error::{ApiError, ErrorBody};
use crate::audit::Actor;
use crate::trust::{Caller, Connection};

/// A JSON body; wrong content type, bad syntax, wrong shape and oversize all answer JSON errors.
/// Request types refuse unknown fields (`#[serde(deny_unknown_fields)]`), so a misspelt field is
/// an error naming it rather than a default silently taken.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(request.headers()) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "expected a request with `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(request, state).await?;
        Ok(Self(parse_json(&bytes)?))
    }
}

/// Whether the request says its body is JSON (`application/json`, or `application/…+json`).
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses a JSON request body as `T`. Not JSON at all is 400; JSON of the wrong shape (an
/// unknown field, a wrong type, a missing field) is 422 with `field` set to where it went wrong
/// (`typo_field`, `access_vlan`) and the message naming it; `line` and `column` locate it.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Syntax first, so that every error of the second pass is about the shape (serde_json
    // reports some wrong types, a number for an enum, as syntax).
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes)
        .map_err(|error| json_error(StatusCode::BAD_REQUEST, None, &error))?;
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let field = error.path().to_string();
        json_error(StatusCode::UNPROCESSABLE_ENTITY, (field != ".").then_some(field), error.inner())
    })
}

fn json_error(status: StatusCode, field: Option<String>, error: &serde_json::Error) -> ApiError {
    let message = match &field {
        Some(field) => format!("{field}: {error}"),
        None => format!("invalid JSON body: {error}"),
    };
    let body = ErrorBody {
        error: message,
        line: Some(error.line()),
        column: Some(error.column()),
        field,
        ..ErrorBody::default()
    };
    ApiError::with_body(status, body)
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

impl<S: Send + Sync> FromRequestParts<S> for Actor {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Actor::new(parts.extensions.get::<Caller>(), parts.extensions.get::<Connection>()))
    }
}

//! What an `Authorization` header claims: HTTP Basic (user and password) or a bearer token.

use base64::Engine as _;

/// The credentials of one request. `Debug` never shows the password or the token.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// `Authorization: Basic base64(user:password)`.
    Basic { user: String, password: String },
    /// `Authorization: Bearer TOKEN` (a token from `POST /api/v1/tokens`).
    Bearer(String),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Basic { user, .. } => write!(f, "Basic({user}, <redacted>)"),
            Self::Bearer(_) => f.write_str("Bearer(<redacted>)"),
        }
    }
}

/// Why an `Authorization` header was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    #[error("the Authorization header is not text")]
    NotText,
    #[error("unsupported authorization scheme '{0}'; use Basic or Bearer")]
    Scheme(String),
    #[error("the Basic credentials are not base64 of 'user:password' in UTF-8")]
    BadBasic,
    #[error("the bearer token is empty")]
    EmptyToken,
}

/// Parses an `Authorization` header value (the scheme is case-insensitive).
pub fn parse(value: &[u8]) -> Result<Credentials, CredentialsError> {
    let text = std::str::from_utf8(value).map_err(|_| CredentialsError::NotText)?.trim();
    let (scheme, rest) = text.split_once(' ').unwrap_or((text, ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded =
            base64::engine::general_purpose::STANDARD.decode(rest).map_err(|_| CredentialsError::BadBasic)?;
        let decoded = String::from_utf8(decoded).map_err(|_| CredentialsError::BadBasic)?;
        let (user, password) = decoded.split_once(':').ok_or(CredentialsError::BadBasic)?;
        Ok(Credentials::Basic { user: user.to_owned(), password: password.to_owned() })
    } else if scheme.eq_ignore_ascii_case("bearer") {
        if rest.is_empty() {
            return Err(CredentialsError::EmptyToken);
        }
        Ok(Credentials::Bearer(rest.to_owned()))
    } else {
        // Only the scheme is quoted: the rest is a secret of some kind.
        Err(CredentialsError::Scheme(scheme.chars().take(20).collect()))
    }
}

/// The `Authorization` value for Basic credentials (for clients and tests).
pub fn basic_header(user: &str, password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn basic_and_bearer() {
        let basic = basic_header("alice", "pa:ss word");
        assert_eq!(
            parse(basic.as_bytes()),
            Ok(Credentials::Basic { user: "alice".into(), password: "pa:ss word".into() })
        );
        assert_eq!(parse(b"bearer  sy_abc "), Ok(Credentials::Bearer("sy_abc".into())));
        assert_eq!(parse(b"Bearer"), Err(CredentialsError::EmptyToken));
        assert_eq!(parse(b"Basic !!!"), Err(CredentialsError::BadBasic));
        assert_eq!(parse(b"Basic YWxpY2U="), Err(CredentialsError::BadBasic), "no colon");
        assert_eq!(parse(b"Digest x"), Err(CredentialsError::Scheme("Digest".into())));
        assert!(!format!("{:?}", parse(basic.as_bytes()).unwrap()).contains("pa:ss"));
    }
}

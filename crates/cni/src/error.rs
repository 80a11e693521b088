//! The spec's error result: a well-known code, a short message and details that say what to do.

use serde::Serialize;

/// The error codes of CNI 1.1 (section 5, "Error"), plus the one this plugin adds (100+ are free).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// 1: the configuration asks for a CNI version this plugin does not speak.
    IncompatibleVersion,
    /// 2: a field in the configuration is not supported.
    UnsupportedField,
    /// 3: the container is unknown or does not exist.
    UnknownContainer,
    /// 4: a required environment variable is missing or invalid.
    InvalidEnvironment,
    /// 5: an I/O failure (stdin, the agent, a delegated plugin).
    Io,
    /// 6: the configuration or a result could not be decoded.
    Decode,
    /// 7: the network configuration is invalid.
    InvalidConfig,
    /// 11: a transient condition (the agent is not running yet): retry later.
    TryAgainLater,
    /// 50: the plugin cannot serve ADD now (STATUS).
    NotAvailable,
    /// 51: the plugin cannot serve ADD and existing containers may have limited connectivity.
    LimitedConnectivity,
    /// 100: CHECK found the attachment differs from what ADD left (plugin-specific code).
    CheckMismatch,
    /// Any other code, as a delegated plugin reported it.
    Other(u32),
}

impl ErrorCode {
    /// The number the spec gives this code.
    pub fn number(self) -> u32 {
        match self {
            Self::IncompatibleVersion => 1,
            Self::UnsupportedField => 2,
            Self::UnknownContainer => 3,
            Self::InvalidEnvironment => 4,
            Self::Io => 5,
            Self::Decode => 6,
            Self::InvalidConfig => 7,
            Self::TryAgainLater => 11,
            Self::NotAvailable => 50,
            Self::LimitedConnectivity => 51,
            Self::CheckMismatch => 100,
            Self::Other(code) => code,
        }
    }

    /// The code a number names (as another plugin reported it).
    pub fn from_number(number: u32) -> Self {
        match number {
            1 => Self::IncompatibleVersion,
            2 => Self::UnsupportedField,
            3 => Self::UnknownContainer,
            4 => Self::InvalidEnvironment,
            5 => Self::Io,
            6 => Self::Decode,
            7 => Self::InvalidConfig,
            11 => Self::TryAgainLater,
            50 => Self::NotAvailable,
            51 => Self::LimitedConnectivity,
            100 => Self::CheckMismatch,
            other => Self::Other(other),
        }
    }
}

/// A failed verb, as the runtime will read it on stdout.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{msg}: {details}")]
pub struct CniError {
    /// Which well-known condition this is.
    pub code: ErrorCode,
    /// A short message characterising the error.
    pub msg: String,
    /// What happened and what to do about it.
    pub details: String,
}

impl CniError {
    /// An error with the given code, short message and details.
    pub fn new(code: ErrorCode, msg: impl Into<String>, details: impl Into<String>) -> Self {
        Self { code, msg: msg.into(), details: details.into() }
    }

    /// The spec's JSON error object, stamped with the protocol version in use.
    pub fn to_json(&self, cni_version: &str) -> Vec<u8> {
        #[derive(Serialize)]
        struct Wire<'a> {
            #[serde(rename = "cniVersion")]
            cni_version: &'a str,
            code: u32,
            msg: &'a str,
            details: &'a str,
        }
        let wire = Wire { cni_version, code: self.code.number(), msg: &self.msg, details: &self.details };
        // Serialising strings and integers into a Vec cannot fail.
        serde_json::to_vec(&wire).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn renders_the_spec_fields() {
        let error = CniError::new(ErrorCode::InvalidConfig, "Invalid Configuration", "no profile");
        let json: serde_json::Value = serde_json::from_slice(&error.to_json("1.1.0")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"cniVersion":"1.1.0","code":7,"msg":"Invalid Configuration","details":"no profile"})
        );
    }

    #[test]
    fn codes_are_the_specs_numbers() {
        let codes = [
            (ErrorCode::IncompatibleVersion, 1),
            (ErrorCode::UnsupportedField, 2),
            (ErrorCode::UnknownContainer, 3),
            (ErrorCode::InvalidEnvironment, 4),
            (ErrorCode::Io, 5),
            (ErrorCode::Decode, 6),
            (ErrorCode::InvalidConfig, 7),
            (ErrorCode::TryAgainLater, 11),
            (ErrorCode::NotAvailable, 50),
            (ErrorCode::LimitedConnectivity, 51),
            (ErrorCode::CheckMismatch, 100),
            (ErrorCode::Other(123), 123),
        ];
        for (code, number) in codes {
            assert_eq!(code.number(), number, "{code:?}");
            assert_eq!(ErrorCode::from_number(number), code);
        }
    }
}

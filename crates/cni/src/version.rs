//! The CNI versions this plugin speaks, and what changes between them in a result.

use crate::error::{CniError, ErrorCode};

/// Every version VERSION reports, oldest first.
pub const SUPPORTED_VERSIONS: [&str; 5] = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];

/// The version this plugin is written to; used when the input names none we can trust.
pub const LATEST: &str = "1.1.0";

/// A CNI version this plugin speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CniVersion {
    /// 0.3.0: results with interfaces; each IP carries `version`.
    V0_3_0,
    /// 0.3.1: as 0.3.0.
    V0_3_1,
    /// 0.4.0: adds CHECK and prevResult on DEL; IPs still carry `version`.
    V0_4_0,
    /// 1.0.0: IPs lose `version`.
    V1_0_0,
    /// 1.1.0: adds GC and STATUS.
    V1_1_0,
}

impl CniVersion {
    /// Parses a version string, refusing (code 1) one this plugin does not speak.
    pub fn parse(text: &str) -> Result<Self, CniError> {
        Ok(match text {
            "0.3.0" => Self::V0_3_0,
            "0.3.1" => Self::V0_3_1,
            "0.4.0" => Self::V0_4_0,
            "1.0.0" => Self::V1_0_0,
            "1.1.0" => Self::V1_1_0,
            other => {
                return Err(CniError::new(
                    ErrorCode::IncompatibleVersion,
                    "Incompatible CNI version",
                    format!(
                        "cniVersion {other:?} is not supported; set cniVersion to one of {}",
                        SUPPORTED_VERSIONS.join(", ")
                    ),
                ));
            }
        })
    }

    /// The version as the spec writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V0_3_0 => "0.3.0",
            Self::V0_3_1 => "0.3.1",
            Self::V0_4_0 => "0.4.0",
            Self::V1_0_0 => "1.0.0",
            Self::V1_1_0 => "1.1.0",
        }
    }

    /// Whether results in this version carry `"version": "4"|"6"` on each IP (before 1.0.0).
    pub fn ips_carry_version(self) -> bool {
        self < Self::V1_0_0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn every_supported_version_round_trips() {
        for text in SUPPORTED_VERSIONS {
            assert_eq!(CniVersion::parse(text).unwrap().as_str(), text);
        }
    }

    #[test]
    fn old_and_unknown_versions_are_code_1() {
        for text in ["0.1.0", "0.2.0", "2.0.0", "", "1.1"] {
            assert_eq!(CniVersion::parse(text).unwrap_err().code, ErrorCode::IncompatibleVersion);
        }
    }

    #[test]
    fn only_versions_before_1_0_carry_ip_version() {
        assert!(CniVersion::V0_4_0.ips_carry_version());
        assert!(!CniVersion::V1_0_0.ips_carry_version());
    }
}

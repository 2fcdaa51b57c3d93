//! The one error type of the crate and its stable codes.
//!
//! Every failure is an [`Error`] whose [`code`](Error::code) is one of a fixed set of snake_case strings
//! shared with the Python and Node packages. Match on [`ErrorCode`]; show [`Error`]'s `Display` to an
//! operator. Messages are lowercase, without a trailing period, and never contain the token itself;
//! attacker-controlled values that they quote are truncated and escaped (see [`quote`]).

use std::fmt;

/// The stable, machine-readable reason for a rejection.
///
/// The string form ([`ErrorCode::as_str`]) is identical in Rust, Python (`err.code`) and Node
/// (`err.code`). New codes may be added in minor releases; existing ones are never renamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// Not a compact JWS: wrong segment count, bad base64url, bad JSON, duplicate members, too deep.
    TokenMalformed,
    /// The token exceeds the configured size limit.
    TokenTooLarge,
    /// The header's `alg` is `none`, unknown, or not in the verifier's allow-list.
    AlgNotAllowed,
    /// The header uses a feature this verifier does not implement (`crit`, `b64`, `enc`, `zip`).
    HeaderUnsupported,
    /// No key in the key set matches the token's `kid` (or, without `kid`, no single key fits).
    KeyNotFound,
    /// A key was found but cannot be used for this token (type, curve, `use`, `key_ops`, `alg`, size).
    KeyUnusable,
    /// The signature does not verify.
    SignatureInvalid,
    /// `exp` is in the past (beyond the leeway).
    TokenExpired,
    /// `nbf` (or `iat`) is in the future (beyond the leeway).
    TokenNotYetValid,
    /// A required claim is absent.
    ClaimMissing,
    /// A claim is present but has the wrong type or an out-of-range value.
    ClaimInvalid,
    /// `iss` is not one of the configured issuers.
    IssuerMismatch,
    /// No `aud` value is one of the configured audiences.
    AudienceMismatch,
    /// The header's `typ` differs from the expected one.
    TypMismatch,
    /// A required scope is missing.
    InsufficientScope,
    /// The credential is not a JWT and matches no configured static token.
    TokenUnknown,
    /// No usable key set is available (remote keys not fetched yet, or every fetch failed).
    JwksUnavailable,
    /// Issuer discovery failed.
    DiscoveryFailed,
    /// The verifier's configuration is invalid or contradictory.
    ConfigInvalid,
}

impl ErrorCode {
    /// Every code, in a stable order (used by tests and by the bindings to publish the table).
    pub const ALL: [ErrorCode; 19] = [
        ErrorCode::TokenMalformed,
        ErrorCode::TokenTooLarge,
        ErrorCode::AlgNotAllowed,
        ErrorCode::HeaderUnsupported,
        ErrorCode::KeyNotFound,
        ErrorCode::KeyUnusable,
        ErrorCode::SignatureInvalid,
        ErrorCode::TokenExpired,
        ErrorCode::TokenNotYetValid,
        ErrorCode::ClaimMissing,
        ErrorCode::ClaimInvalid,
        ErrorCode::IssuerMismatch,
        ErrorCode::AudienceMismatch,
        ErrorCode::TypMismatch,
        ErrorCode::InsufficientScope,
        ErrorCode::TokenUnknown,
        ErrorCode::JwksUnavailable,
        ErrorCode::DiscoveryFailed,
        ErrorCode::ConfigInvalid,
    ];

    /// The stable snake_case string of this code.
    ///
    /// ```
    /// assert_eq!(jwtgate::ErrorCode::TokenExpired.as_str(), "token_expired");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::TokenMalformed => "token_malformed",
            ErrorCode::TokenTooLarge => "token_too_large",
            ErrorCode::AlgNotAllowed => "alg_not_allowed",
            ErrorCode::HeaderUnsupported => "header_unsupported",
            ErrorCode::KeyNotFound => "key_not_found",
            ErrorCode::KeyUnusable => "key_unusable",
            ErrorCode::SignatureInvalid => "signature_invalid",
            ErrorCode::TokenExpired => "token_expired",
            ErrorCode::TokenNotYetValid => "token_not_yet_valid",
            ErrorCode::ClaimMissing => "claim_missing",
            ErrorCode::ClaimInvalid => "claim_invalid",
            ErrorCode::IssuerMismatch => "issuer_mismatch",
            ErrorCode::AudienceMismatch => "audience_mismatch",
            ErrorCode::TypMismatch => "typ_mismatch",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::TokenUnknown => "token_unknown",
            ErrorCode::JwksUnavailable => "jwks_unavailable",
            ErrorCode::DiscoveryFailed => "discovery_failed",
            ErrorCode::ConfigInvalid => "config_invalid",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rejection or configuration failure: a stable [`ErrorCode`] plus an operator-grade message.
///
/// ```
/// # use jwtgate::{ErrorCode, Verifier};
/// let verifier = Verifier::builder().static_token("s3cret-api-key", "ci-bot").build().unwrap();
/// let err = verifier.verify("not-a-configured-token").unwrap_err();
/// assert_eq!(err.code(), ErrorCode::TokenUnknown);
/// assert_eq!(err.code().as_str(), "token_unknown");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    code: ErrorCode,
    message: Box<str>,
    claim: Option<Box<str>>,
}

impl Error {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into().into_boxed_str(),
            claim: None,
        }
    }

    pub(crate) fn for_claim(code: ErrorCode, claim: &str, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into().into_boxed_str(),
            claim: Some(claim.into()),
        }
    }

    pub(crate) fn malformed(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::TokenMalformed, message)
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::ConfigInvalid, message)
    }

    /// The stable code; match on this, not on the message.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The human-readable explanation (the same text as `Display`).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The claim concerned, for claim errors (`exp`, `aud`, a required custom claim, …).
    pub fn claim(&self) -> Option<&str> {
        self.claim.as_deref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error({}: {})", self.code.as_str(), self.message)
    }
}

impl std::error::Error for Error {}

/// Longest attacker-controlled excerpt shown in a message, in characters.
const QUOTE_MAX_CHARS: usize = 80;

/// Quotes an untrusted string for an error message: escaped (no control characters, no newlines
/// that could forge log lines) and truncated to 80 characters.
pub(crate) fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len().min(QUOTE_MAX_CHARS) + 8);
    out.push('"');
    for (count, c) in value.chars().enumerate() {
        if count == QUOTE_MAX_CHARS {
            out.push_str("\"…");
            return out;
        }
        out.extend(c.escape_debug());
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_distinct_snake_case_string() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(s.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{s}");
            assert!(seen.insert(s), "duplicate code {s}");
        }
        assert_eq!(seen.len(), ErrorCode::ALL.len());
    }

    #[test]
    fn quote_escapes_and_truncates() {
        assert_eq!(quote("a\"b\nc"), "\"a\\\"b\\nc\"");
        let long = "x".repeat(200);
        let q = quote(&long);
        assert_eq!(q.chars().filter(|&c| c == 'x').count(), 80);
        assert!(q.ends_with('…'));
    }
}

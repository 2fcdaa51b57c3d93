//! The one error type of the crate and its stable codes.
//!
//! Every failure is an [`Error`] whose [`code`](Error::code) is one of a fixed set of snake_case strings
//! shared with the Python and Node packages. Match on [`ErrorCode`]; show [`Error`]'s `Display` to an
//! operator. Messages are lowercase, without a trailing period, and never contain the token itself;
//! attacker-controlled values that they quote are truncated and escaped (see [`quote`]).

use std::fmt;

use crate::verified::Verified;

/// Declares [`ErrorCode`] and every fact about each code from one table: the variant and its
/// docs, the stable string, the HTTP status class, the description safe to send to an
/// unauthenticated client, and the operator hint. The enum, [`ErrorCode::ALL`], the strings and
/// the bindings' tables all come from here.
macro_rules! error_codes {
    ($(
        $(#[$doc:meta])*
        $variant:ident = $name:literal, $status:literal,
            client: $client:literal,
            hint: $hint:literal;
    )*) => {
        /// The stable, machine-readable reason for a rejection.
        ///
        /// The string form ([`ErrorCode::as_str`]) is identical in Rust, Python (`err.code`) and Node
        /// (`err.code`). New codes may be added in minor releases; existing ones are never renamed.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $( $(#[$doc])* $variant, )*
        }

        impl ErrorCode {
            /// Every code, in a stable order (used by tests and by the bindings to publish the table).
            pub const ALL: [ErrorCode; [$($name),*].len()] = [$(ErrorCode::$variant),*];

            /// The stable snake_case string of this code.
            ///
            /// ```
            /// assert_eq!(jwtgate::ErrorCode::TokenExpired.as_str(), "token_expired");
            /// ```
            pub const fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $name,)* }
            }

            /// The HTTP status a resource server answers with: 401 for a credential that is
            /// missing, malformed or invalid (RFC 6750 §3.1 `invalid_token`), 403 for a valid one
            /// lacking scope (`insufficient_scope`), 503 when the server cannot verify right now
            /// (keys unavailable), 500 for a configuration error.
            ///
            /// ```
            /// assert_eq!(jwtgate::ErrorCode::InsufficientScope.http_status(), 403);
            /// ```
            pub const fn http_status(self) -> u16 {
                match self { $(ErrorCode::$variant => $status,)* }
            }

            /// A fixed sentence safe to send to an unauthenticated client (a `WWW-Authenticate`
            /// `error_description`, a 401 body): it names the problem class and nothing of the
            /// server's configuration — no URL, no expected issuer or audience, no echoed input.
            /// The detailed [`Error::message`] belongs in the server's log.
            pub const fn client_description(self) -> &'static str {
                match self { $(ErrorCode::$variant => $client,)* }
            }

            /// What an operator can do about it, in one line.
            pub const fn hint(self) -> &'static str {
                match self { $(ErrorCode::$variant => $hint,)* }
            }

            /// The code with this string, if there is one.
            pub fn from_name(name: &str) -> Option<ErrorCode> {
                match name { $($name => Some(ErrorCode::$variant),)* _ => None }
            }
        }
    };
}

error_codes! {
    /// Not a compact JWS: wrong segment count, bad base64url, bad JSON, duplicate members, too deep.
    TokenMalformed = "token_malformed", 401,
        client: "The access token is malformed",
        hint: "not a compact JWS (three base64url parts): an opaque token can only be checked by its provider; `jwtgate inspect` shows what it is";
    /// The token exceeds the configured size limit.
    TokenTooLarge = "token_too_large", 401,
        client: "The access token is too large",
        hint: "the token is over the size limit (16 KiB by default): check what the provider puts in it, or raise max_token_bytes";
    /// The header's `alg` is `none`, unknown, or not in the verifier's allow-list.
    AlgNotAllowed = "alg_not_allowed", 401,
        client: "The access token is signed with an algorithm this server does not accept",
        hint: "the token's alg is none, unknown or not allowed: have the provider sign with RS256, PS256, ES256, ES384 or EdDSA, or allow its algorithm";
    /// The header uses a feature this verifier does not implement (`crit`, `b64`, `enc`, `zip`).
    HeaderUnsupported = "header_unsupported", 401,
        client: "The access token uses an unsupported JOSE header feature",
        hint: "the header uses crit, b64, enc or zip: configure the provider to issue plain signed (JWS) access tokens";
    /// No key in the key set matches the token's `kid` (or, without `kid`, no single key fits).
    KeyNotFound = "key_not_found", 401,
        client: "The access token is signed with an unknown key",
        hint: "no published key has the token's kid: the token comes from another issuer or environment, or the provider signs with a key it does not publish";
    /// A key was found but cannot be used for this token (type, curve, `use`, `key_ops`, `alg`, size).
    KeyUnusable = "key_unusable", 401,
        client: "The access token's signing key cannot be used",
        hint: "the key with this kid cannot verify this token (type, curve, alg, use or size): `jwtgate doctor` lists every key and why";
    /// The signature does not verify.
    SignatureInvalid = "signature_invalid", 401,
        client: "The access token signature is invalid",
        hint: "the token was altered, or signed by another key under the same kid: get a fresh token";
    /// `exp` is in the past (beyond the leeway).
    TokenExpired = "token_expired", 401,
        client: "The access token expired",
        hint: "get a fresh token; if it expired only just now, compare clocks (`jwtgate doctor` measures the skew) or allow a small leeway";
    /// `nbf` (or `iat`) is in the future (beyond the leeway).
    TokenNotYetValid = "token_not_yet_valid", 401,
        client: "The access token is not valid yet",
        hint: "nbf or iat is in the future: this machine's clock is behind the provider's; sync it (NTP) or allow a small leeway";
    /// A required claim is absent.
    ClaimMissing = "claim_missing", 401,
        client: "The access token lacks a required claim",
        hint: "the provider does not set this claim: configure it to (for aud: request the token for this server's resource or audience)";
    /// A claim is present but has the wrong type or an out-of-range value.
    ClaimInvalid = "claim_invalid", 401,
        client: "The access token has an invalid claim",
        hint: "a claim has the wrong type or range: `jwtgate inspect` shows the claims";
    /// `iss` is not one of the configured issuers.
    IssuerMismatch = "issuer_mismatch", 401,
        client: "The access token was issued by an untrusted issuer",
        hint: "configure the issuer exactly as the token's iss spells it, trailing slash included (no normalisation)";
    /// No `aud` value is one of the configured audiences.
    AudienceMismatch = "audience_mismatch", 401,
        client: "The access token was not issued for this resource",
        hint: "configure the audience the provider puts in aud, or request the token for this server's resource/audience";
    /// The header's `typ` differs from the expected one.
    TypMismatch = "typ_mismatch", 401,
        client: "The token is not an access token of the expected type",
        hint: "RFC 9068 access tokens carry typ at+jwt: is this an ID token? For providers that do not set at+jwt, drop the typ expectation";
    /// A required scope is missing.
    InsufficientScope = "insufficient_scope", 403,
        client: "The access token lacks a required scope",
        hint: "request the missing scopes with the token, and register them at the provider (unknown scopes are often dropped silently)";
    /// The credential is not a JWT and matches no configured static token.
    TokenUnknown = "token_unknown", 401,
        client: "The credential is not recognised",
        hint: "not a JWT and not a configured static token or API key";
    /// No usable key set is available (remote keys not fetched yet, or every fetch failed).
    JwksUnavailable = "jwks_unavailable", 503,
        client: "The server cannot verify access tokens right now",
        hint: "the keys could not be fetched: `jwtgate doctor --issuer URL` walks discovery and the JWKS step by step";
    /// Issuer discovery failed.
    DiscoveryFailed = "discovery_failed", 503,
        client: "The server cannot verify access tokens right now",
        hint: "the issuer must serve /.well-known/openid-configuration naming itself exactly: `jwtgate doctor --issuer URL` explains";
    /// The verifier's configuration is invalid or contradictory.
    ConfigInvalid = "config_invalid", 500,
        client: "The server is misconfigured",
        hint: "fix the option the message names";
    /// The request carries no credential this server accepts: no `Authorization` header, another
    /// scheme than `Bearer` / `DPoP`, or `DPoP` while DPoP is off. Answered like a request without
    /// credentials (RFC 6750 §3.1: a challenge without `error`).
    CredentialMissing = "credential_missing", 401,
        client: "The request has no access token",
        hint: "the client sent no Authorization: Bearer (or DPoP) header: it should follow the 401 challenge's resource_metadata to the authorization server";
    /// A DPoP proof is needed and absent: a DPoP-bound token (`cnf.jkt`) sent as a Bearer token,
    /// the `DPoP` scheme without a `DPoP` header, or a Bearer token where DPoP is required
    /// (RFC 9449 §7).
    DpopProofMissing = "dpop_proof_missing", 401,
        client: "The request lacks a DPoP proof for its access token",
        hint: "send a DPoP-bound token as Authorization: DPoP <token> with a fresh DPoP proof header; with dpop = required, Bearer tokens are refused";
    /// The `DPoP` proof fails a check of RFC 9449 §4.3: form, `typ`, `alg`, `jwk` (private or weak
    /// key), signature, `htm`, `htu`, `iat` window, `ath`, or several `DPoP` headers.
    DpopProofInvalid = "dpop_proof_invalid", 401,
        client: "The DPoP proof is invalid",
        hint: "the message names the failed check: htu must be this request's URL as the server sees it (behind a proxy, pass the public URL), iat within the window (clocks), ath the hash of this token";
    /// The proof's `jti` was seen before within the window: a replayed request (RFC 9449 §11.1).
    DpopProofReplayed = "dpop_proof_replayed", 401,
        client: "The DPoP proof was already used",
        hint: "every request needs a fresh proof with a new jti; a client that reuses proofs (or a replaying attacker) gets this";
    /// The proof's key is not the one the token is bound to (`cnf.jkt` ≠ its RFC 7638 thumbprint),
    /// or the `DPoP` scheme was used with a token that is not bound.
    DpopKeyMismatch = "dpop_key_mismatch", 401,
        client: "The access token is not bound to the DPoP proof key",
        hint: "the client must sign proofs with the key it bound the token to at the token endpoint; an unbound token goes with the Bearer scheme";
    /// The proof lacks a current server nonce while nonces are on (RFC 9449 §8, `use_dpop_nonce`).
    DpopNonceRequired = "dpop_nonce_required", 401,
        client: "A DPoP nonce is required",
        hint: "the client must retry with the DPoP-Nonce value of the answer in its proof's nonce claim; normal on a first request when dpop_nonce is on";
    /// The provider's introspection endpoint says the token is not active (RFC 7662 §2.2): revoked,
    /// expired, or not one of its tokens.
    TokenInactive = "token_inactive", 401,
        client: "The access token is not active",
        hint: "the provider no longer accepts this token (revoked or expired): get a fresh one; answers are cached for introspection_cache_ttl";
    /// Token introspection could not be done: the endpoint is unreachable, refused this server's
    /// credentials, answered something other than an RFC 7662 response, or too many calls are under way.
    IntrospectionFailed = "introspection_failed", 503,
        client: "The server cannot verify access tokens right now",
        hint: "check the introspection endpoint and this server's client id and secret there (the message names the step); `jwtgate doctor` shows discovery";
    /// The DPoP replay cache is full of live entries, so new proofs cannot be recorded.
    DpopReplayCacheFull = "dpop_replay_cache_full", 503,
        client: "The server cannot verify DPoP proofs right now",
        hint: "more distinct proofs arrived within the iat window than the replay cache holds: raise dpop_replay_cache_size or shorten dpop_iat_window";
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Structured facts about a rejection, for programs (the message says the same for people).
///
/// Every field is optional: each error fills the ones that apply. Bindings expose it as a
/// dictionary (Python `err.detail`) or an object (Node `err.detail`), so nothing needs to parse
/// messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ErrorDetail {
    /// What the verifier expected: the configured issuers, audiences or `typ`.
    pub expected: Vec<String>,
    /// What the token had: its `iss`, its `aud` values, its `typ` (truncated to 80 characters).
    pub found: Vec<String>,
    /// Required scopes the credential lacks.
    pub missing_scopes: Vec<String>,
    /// For time claims: how many whole seconds `exp` lies in the past, or `nbf`/`iat` in the
    /// future, beyond the leeway (rounded up).
    pub skew_seconds: Option<u64>,
    /// The token's `kid`, for key errors.
    pub kid: Option<String>,
}

/// A rejection or configuration failure: a stable [`ErrorCode`] plus an operator-grade message.
///
/// ```
/// # use jwtgate::{ErrorCode, Verifier};
/// let verifier = Verifier::builder().static_token("s3cret-api-key", "ci-bot").build().unwrap();
/// let err = verifier.verify("not-a-configured-token").unwrap_err();
/// assert_eq!(err.code(), ErrorCode::TokenUnknown);
/// assert_eq!(err.code().as_str(), "token_unknown");
/// assert_eq!(err.code().http_status(), 401);
/// ```
#[derive(Clone)]
pub struct Error(Box<Inner>);

/// Boxed, so that `Result<Verified, Error>` stays two words and the success path moves little.
#[derive(Clone)]
struct Inner {
    code: ErrorCode,
    message: Box<str>,
    claim: Option<Box<str>>,
    detail: Option<ErrorDetail>,
    /// The otherwise valid credential of an `insufficient_scope` rejection.
    credential: Option<Verified>,
    /// The request presented its credential with the `DPoP` scheme (RFC 9449 §7.1: the
    /// challenge's error goes with the scheme the client used).
    dpop_scheme: bool,
}

impl PartialEq for Error {
    /// Equal code, message, claim and detail (the attached credential is not compared).
    fn eq(&self, other: &Error) -> bool {
        let (a, b) = (&*self.0, &*other.0);
        a.code == b.code && a.message == b.message && a.claim == b.claim && a.detail == b.detail
    }
}

impl Eq for Error {}

impl Error {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error(Box::new(Inner {
            code,
            message: message.into().into_boxed_str(),
            claim: None,
            detail: None,
            credential: None,
            dpop_scheme: false,
        }))
    }

    pub(crate) fn for_claim(code: ErrorCode, claim: &str, message: impl Into<String>) -> Self {
        let mut error = Error::new(code, message);
        error.0.claim = Some(claim.into());
        error
    }

    pub(crate) fn malformed(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::TokenMalformed, message)
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::ConfigInvalid, message)
    }

    /// A `config_invalid` error with this message, for crates built on the verifier (the tower
    /// layer, the `jwtgate` command) that refuse their own configuration with the same code.
    ///
    /// ```
    /// let e = jwtgate::Error::config_invalid("route \"/a\" needs a scope");
    /// assert_eq!(e.code(), jwtgate::ErrorCode::ConfigInvalid);
    /// ```
    pub fn config_invalid(message: impl Into<String>) -> Self {
        Error::config(message)
    }

    /// Adds structured detail.
    pub(crate) fn with_detail(mut self, detail: ErrorDetail) -> Self {
        self.0.detail = Some(detail);
        self
    }

    /// Attaches the credential that was valid but for its scopes.
    pub(crate) fn with_credential(mut self, credential: Verified) -> Self {
        self.0.credential = Some(credential);
        self
    }

    /// Marks a rejection of a request that used the `DPoP` scheme.
    pub(crate) fn in_dpop_scheme(mut self) -> Self {
        self.0.dpop_scheme = true;
        self
    }

    /// Whether the rejected request used the `DPoP` scheme.
    pub(crate) fn dpop_scheme(&self) -> bool {
        self.0.dpop_scheme
    }

    /// The stable code; match on this, not on the message.
    pub fn code(&self) -> ErrorCode {
        self.0.code
    }

    /// The human-readable explanation for an operator (the same text as `Display`). It may name
    /// configuration (URLs, expected issuers): log it, and send clients
    /// [`ErrorCode::client_description`] instead.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The claim concerned, for claim errors (`exp`, `aud`, a required custom claim, …).
    pub fn claim(&self) -> Option<&str> {
        self.0.claim.as_deref()
    }

    /// Structured facts (expected and found values, missing scopes, clock skew, key id), where
    /// the error has them.
    pub fn detail(&self) -> Option<&ErrorDetail> {
        self.0.detail.as_ref()
    }

    /// For `insufficient_scope`: the credential, which verified in every other respect. A
    /// framework that answers 403 with a challenge can still read who asked.
    ///
    /// ```
    /// # use jwtgate::{ErrorCode, StaticToken, Verifier};
    /// let v = Verifier::builder()
    ///     .static_tokens([StaticToken::new("k", "bot").with_scopes(["read"])])
    ///     .required_scopes(["write"])
    ///     .build()
    ///     .unwrap();
    /// let err = v.verify("k").unwrap_err();
    /// assert_eq!(err.code(), ErrorCode::InsufficientScope);
    /// assert_eq!(err.credential().unwrap().client_id(), Some("bot"));
    /// ```
    pub fn credential(&self) -> Option<&Verified> {
        self.0.credential.as_ref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error({}: {})", self.0.code.as_str(), self.0.message)
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
            assert_eq!(ErrorCode::from_name(s), Some(code));
            assert!(matches!(code.http_status(), 401 | 403 | 500 | 503), "{s}");
            assert!(
                !code.client_description().is_empty() && !code.hint().is_empty(),
                "{s}"
            );
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

//! DPoP, sender-constrained access tokens (RFC 9449): which credential a request presents
//! (`Authorization: Bearer` or `DPoP`), and the proof checks of RFC 9449 §4.3 and §7 that bind a
//! token to the key that signed the request's `DPoP` proof.
//!
//! The rules, in the order they run (ARCHITECTURE.md, "Requests"):
//!
//! 1. the `Authorization` scheme and the mode decide what is acceptable: a `Bearer` token in
//!    `required` mode, or a `DPoP` one in `off` mode, is refused before any signature check;
//! 2. the access token is verified as any other (cache, keys, claims, scopes);
//! 3. a token bound by `cnf.jkt` (RFC 9449 §6.1) is accepted only with the `DPoP` scheme and a
//!    proof: presented as `Bearer` it is refused (§7.2), whatever the mode;
//! 4. the proof: exactly one `DPoP` header, a compact JWS of at most 8 KiB, `typ` `dpop+jwt`, an
//!    asymmetric `alg` from the allow-list, a public `jwk` in its header (private members
//!    refused, weak keys refused as for every key), its signature, `htm` = the request method,
//!    `htu` = the request URL without query and fragment (RFC 3986 §6.2.2–6.2.3 normalised),
//!    `iat` within the window, `ath` = base64url(SHA-256(token)), the server nonce when nonces are
//!    on, the RFC 7638 thumbprint of the `jwk` = the token's `cnf.jkt`, and a `jti` not seen
//!    before within the window (a bounded replay cache).

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{Map, Value};

use crate::alg::Algorithm;
use crate::crypto::{KeyPair, constant_time_eq, sha256};
use crate::error::{Error, ErrorCode, quote};
use crate::jwk::Key;
use crate::jws::AlgSet;
use crate::remote::url::HttpUrl;
use crate::token::{self, Compact};
use crate::verified::Verified;

/// Largest proof accepted, in bytes (an RSA-4096 `jwk` and the claims fit with room to spare).
pub(crate) const MAX_PROOF_BYTES: usize = 8 * 1024;

/// Longest `jti` accepted, in bytes (RFC 9449 §4.2 suggests 96 bits of randomness; UUIDs are 36).
const MAX_JTI_BYTES: usize = 256;

/// Default replay-cache capacity (entries, each proof's `jti` hashed with its key thumbprint).
pub(crate) const DEFAULT_REPLAY_CACHE_SIZE: usize = 1 << 20;

/// How a verifier treats DPoP (RFC 9449).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DpopMode {
    /// No DPoP: the `DPoP` scheme is not accepted, and tokens bound by `cnf.jkt` are refused
    /// (their binding cannot be checked).
    Off,
    /// Bearer tokens are accepted; DPoP-bound tokens are accepted only with a valid proof.
    #[default]
    Allowed,
    /// Only DPoP-bound tokens with a valid proof are accepted (RFC 9728
    /// `dpop_bound_access_tokens_required`).
    Required,
}

impl DpopMode {
    /// The mode's option string: `off`, `allowed`, `required`.
    pub const fn as_str(self) -> &'static str {
        match self {
            DpopMode::Off => "off",
            DpopMode::Allowed => "allowed",
            DpopMode::Required => "required",
        }
    }

    /// The mode named by `name` (`off`, `allowed`, `required`), if any.
    pub fn from_name(name: &str) -> Option<DpopMode> {
        match name {
            "off" => Some(DpopMode::Off),
            "allowed" => Some(DpopMode::Allowed),
            "required" => Some(DpopMode::Required),
            _ => None,
        }
    }
}

/// An HTTP request's credentials as the server received them, for
/// [`Verifier::verify_request`](crate::Verifier::verify_request).
///
/// ```
/// use jwtgate::AuthRequest;
/// let request = AuthRequest::new("POST", "https://mcp.example.com/mcp?x=1",
///     Some("Bearer eyJ..."), &[]);
/// # let _ = request;
/// ```
#[derive(Debug, Clone, Copy)]
pub struct AuthRequest<'a> {
    pub(crate) method: &'a str,
    pub(crate) url: &'a str,
    pub(crate) authorization: Option<&'a str>,
    pub(crate) dpop: &'a [&'a str],
    pub(crate) api_key: Option<&'a str>,
}

impl<'a> AuthRequest<'a> {
    /// `method` and `url` as the server received them (the full URL: scheme, host, port, path;
    /// query and fragment are ignored), the `Authorization` header value if any, and every
    /// `DPoP` header value (more than one is refused, RFC 9449 §4.3).
    pub fn new(
        method: &'a str,
        url: &'a str,
        authorization: Option<&'a str>,
        dpop: &'a [&'a str],
    ) -> AuthRequest<'a> {
        AuthRequest {
            method,
            url,
            authorization,
            dpop,
            api_key: None,
        }
    }

    /// The value of an `X-API-Key` header, for servers that take API keys there: when the
    /// request has no `Authorization` header, it is checked against the configured static tokens
    /// (never as a JWT), in constant time as every static token.
    pub fn with_api_key(mut self, api_key: Option<&'a str>) -> AuthRequest<'a> {
        self.api_key = api_key;
        self
    }
}

/// The `Authorization` schemes a verifier reads (RFC 6750, RFC 9449).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthScheme {
    /// `Bearer <token>` (RFC 6750 §2.1).
    Bearer,
    /// `DPoP <token>` with a `DPoP` proof header (RFC 9449 §7.1).
    Dpop,
}

impl AuthScheme {
    /// The scheme named `name`, compared case-insensitively (RFC 9110 §11.1).
    pub fn from_name(name: &str) -> Option<AuthScheme> {
        if name.eq_ignore_ascii_case("bearer") {
            Some(AuthScheme::Bearer)
        } else if name.eq_ignore_ascii_case("dpop") {
            Some(AuthScheme::Dpop)
        } else {
            None
        }
    }
}

/// An `Authorization` header value split as [`Verifier::verify_request`](crate::Verifier::verify_request)
/// splits it: the scheme and the token, separated by spaces or tabs, surrounding whitespace
/// dropped. Adapters that must show the token to their framework use this, so that they read
/// the header exactly as the verifier did.
///
/// ```
/// assert_eq!(jwtgate::split_authorization("Bearer \t abc "), ("Bearer", "abc"));
/// assert_eq!(jwtgate::split_authorization("Basic"), ("Basic", ""));
/// ```
pub fn split_authorization(header: &str) -> (&str, &str) {
    let header = header.trim_matches([' ', '\t']);
    match header.split_once([' ', '\t']) {
        Some((scheme, rest)) => (scheme, rest.trim_start_matches([' ', '\t'])),
        None => (header, ""),
    }
}

/// The authentication scheme a request used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Bearer,
    Dpop,
    /// An API key in the `X-API-Key` header: static tokens only.
    ApiKey,
}

/// The credential a request presents.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Presented<'a> {
    pub(crate) scheme: Scheme,
    pub(crate) token: &'a str,
}

/// Settings and state of a verifier's DPoP checks.
pub(crate) struct DpopPolicy {
    pub(crate) mode: DpopMode,
    pub(crate) algorithms: AlgSet,
    /// Seconds a proof's `iat` may lie before or after now.
    pub(crate) window: f64,
    /// The key of server-issued nonces, when nonces are on.
    nonce_key: Option<KeyPair>,
    replay: ReplayCache,
}

impl std::fmt::Debug for DpopPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpopPolicy")
            .field("mode", &self.mode)
            .field("algorithms", &self.algorithms.to_vec())
            .field("window", &self.window)
            .field("nonce", &self.nonce_key.is_some())
            .finish_non_exhaustive()
    }
}

fn proof_invalid(why: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorCode::DpopProofInvalid,
        format!("invalid DPoP proof: {why}"),
    )
}

impl DpopPolicy {
    pub(crate) fn new(
        mode: DpopMode,
        algorithms: AlgSet,
        window: f64,
        nonce: bool,
        nonce_secret: Option<&[u8]>,
        replay_capacity: usize,
    ) -> Result<DpopPolicy, Error> {
        let nonce_key = match (nonce, nonce_secret) {
            (false, _) => None,
            // Shared by every process configured with it, so nonces hold across workers.
            (true, Some(secret)) => {
                Some(KeyPair::from_secret(Algorithm::HS256, secret).map_err(Error::config)?)
            }
            (true, None) => Some(KeyPair::generate(Algorithm::HS256).map_err(Error::config)?),
        };
        Ok(DpopPolicy {
            mode,
            algorithms,
            window,
            nonce_key,
            replay: ReplayCache::new(replay_capacity),
        })
    }

    /// The credential of a request, with the scheme rules that need no token check.
    pub(crate) fn presented<'r>(&self, request: &AuthRequest<'r>) -> Result<Presented<'r>, Error> {
        let Some(header) = request.authorization else {
            if let Some(key) = request.api_key.map(|k| k.trim_matches([' ', '\t'])) {
                if !key.is_empty() {
                    return match self.mode {
                        DpopMode::Required => Err(bearer_where_required()),
                        _ => Ok(Presented {
                            scheme: Scheme::ApiKey,
                            token: key,
                        }),
                    };
                }
            }
            return Err(Error::new(
                ErrorCode::CredentialMissing,
                "the request has no Authorization header",
            ));
        };
        let (scheme, token) = split_authorization(header);
        let scheme = match AuthScheme::from_name(scheme) {
            Some(AuthScheme::Bearer) => Scheme::Bearer,
            Some(AuthScheme::Dpop) => Scheme::Dpop,
            None => {
                return Err(Error::new(
                    ErrorCode::CredentialMissing,
                    format!(
                        "the Authorization header uses the scheme {}, not Bearer or DPoP",
                        quote(scheme)
                    ),
                ));
            }
        };
        if token.is_empty() {
            return Err(Error::new(
                ErrorCode::CredentialMissing,
                "the Authorization header has a scheme but no token",
            ));
        }
        match (scheme, self.mode) {
            (Scheme::Bearer, DpopMode::Required) => Err(bearer_where_required()),
            (Scheme::Dpop, DpopMode::Off) => Err(Error::new(
                ErrorCode::CredentialMissing,
                "the request uses the DPoP scheme, which this server does not accept (dpop = off)",
            )),
            _ => Ok(Presented { scheme, token }),
        }
    }

    /// The binding rules once the token verified: a bound token needs the DPoP scheme and a
    /// valid proof; the DPoP scheme needs a bound token.
    pub(crate) fn check_binding(
        &self,
        presented: Presented<'_>,
        request: &AuthRequest<'_>,
        verified: &Verified,
        now: f64,
    ) -> Result<(), Error> {
        match (presented.scheme, verified.confirmation_jkt()) {
            (Scheme::Bearer | Scheme::ApiKey, None) => Ok(()),
            (Scheme::ApiKey, Some(_)) => Err(bound_as_bearer()),
            (Scheme::Bearer, Some(_)) => Err(bound_as_bearer()),
            (Scheme::Dpop, None) => Err(Error::new(
                ErrorCode::DpopKeyMismatch,
                "the token is not DPoP-bound (no cnf.jkt) but was sent with the DPoP scheme: send it as Bearer, or have the provider bind it (a DPoP proof at the token endpoint)",
            )),
            (Scheme::Dpop, Some(jkt)) => {
                let proof = match request.dpop {
                    [] => {
                        return Err(Error::new(
                            ErrorCode::DpopProofMissing,
                            "the request uses the DPoP scheme but has no DPoP header",
                        ));
                    }
                    [one] if !one.contains(',') => one.trim_matches([' ', '\t']),
                    _ => return Err(proof_invalid("the request has more than one DPoP header")),
                };
                self.check_proof(proof, request, presented.token, jkt, now)
            }
        }
    }

    /// RFC 9449 §4.3, steps 2–12, then the replay check.
    fn check_proof(
        &self,
        proof: &str,
        request: &AuthRequest<'_>,
        token: &str,
        jkt: &str,
        now: f64,
    ) -> Result<(), Error> {
        let compact = Compact::split(proof, MAX_PROOF_BYTES)
            .map_err(|e| proof_invalid(format_args!("not a compact JWS: {}", e.message())))?;
        let header = json_object(compact.header_b64, "header")?;
        let payload = json_object(compact.payload_b64, "payload")?;

        // Header: typ, alg, jwk; nothing that changes what is signed.
        let typ = string_member(&header, "typ", "header")?;
        if !crate::header::typ_matches(typ, "dpop+jwt") {
            return Err(proof_invalid(format_args!(
                "typ is {}, not dpop+jwt",
                quote(typ)
            )));
        }
        for forbidden in ["crit", "b64", "zip", "enc"] {
            if header.contains_key(forbidden) {
                return Err(proof_invalid(format_args!(
                    "the header has {forbidden}, which DPoP proofs do not use"
                )));
            }
        }
        let alg_name = string_member(&header, "alg", "header")?;
        let alg = Algorithm::from_header(alg_name).map_err(|e| proof_invalid(e.message()))?;
        if alg.is_symmetric() || !self.algorithms.contains(alg) {
            return Err(proof_invalid(format_args!(
                "alg {alg} is not allowed for DPoP proofs (allowed: {})",
                crate::alg::list(&self.algorithms.to_vec())
            )));
        }
        let jwk = match header.get("jwk") {
            Some(Value::Object(jwk)) => jwk,
            Some(_) => return Err(proof_invalid("jwk is not a JSON object")),
            None => return Err(proof_invalid("the header has no jwk")),
        };
        // Private members are refused by the JWK parser, as are weak and undersized keys.
        let key = Key::from_jwk_value(&Value::Object(jwk.clone()))
            .map_err(|why| proof_invalid(format_args!("its jwk is unusable: {why}")))?;
        if !key.can_verify(alg) {
            return Err(proof_invalid(format_args!(
                "its jwk ({:?}) cannot verify {alg} signatures",
                key.family()
            )));
        }
        let verified = match key.verifier(alg) {
            Some(verifier) => {
                let signature = token::decode_segment(compact.signature_b64, "proof signature")
                    .map_err(|e| proof_invalid(e.message()))?;
                let fits = alg
                    .fixed_signature_len()
                    .is_none_or(|n| signature.len() == n);
                fits && verifier.verify(compact.signing_input, &signature)
            }
            None => {
                return Err(proof_invalid(format_args!(
                    "its jwk cannot verify {alg} signatures"
                )));
            }
        };
        if !verified {
            return Err(proof_invalid("the signature does not verify with its jwk"));
        }

        // Payload: htm, htu, iat, ath, jti (and nonce).
        let htm = string_member(&payload, "htm", "payload")?;
        if htm != request.method {
            return Err(proof_invalid(format_args!(
                "htm is {}, the request method is {}",
                quote(htm),
                quote(request.method)
            )));
        }
        let htu = string_member(&payload, "htu", "payload")?;
        let expected = htu_form(request.url).ok_or_else(|| {
            proof_invalid(format_args!(
                "the request URL {} is not an absolute http(s) URL (the server passed the wrong URL)",
                quote(request.url)
            ))
        })?;
        if htu_form(htu).as_deref() != Some(expected.as_str()) {
            return Err(proof_invalid(format_args!(
                "htu is {}, the request URL is {}",
                quote(htu),
                quote(&expected)
            )));
        }
        let iat = match payload.get("iat") {
            Some(Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
            Some(_) => return Err(proof_invalid("iat is not a number")),
            None => return Err(proof_invalid("the payload has no iat")),
        };
        if !((now - self.window)..=(now + self.window)).contains(&iat) {
            return Err(proof_invalid(format_args!(
                "iat is {:.0}s from now; proofs are accepted within ±{:.0}s (fresh proof needed, or compare clocks)",
                iat - now,
                self.window
            )));
        }
        let ath = string_member(&payload, "ath", "payload")?;
        let expected_ath = token::encode(&sha256(token.as_bytes()));
        if !constant_time_eq(ath.as_bytes(), expected_ath.as_bytes()) {
            return Err(proof_invalid(
                "ath is not the hash of the access token sent with it",
            ));
        }
        if let Some(key) = &self.nonce_key {
            let nonce = match payload.get("nonce") {
                Some(Value::String(nonce)) => Some(nonce.as_str()),
                Some(_) => return Err(proof_invalid("nonce is not a string")),
                None => None,
            };
            if !nonce.is_some_and(|n| nonce_valid(key, n, now, self.window)) {
                return Err(Error::new(
                    ErrorCode::DpopNonceRequired,
                    "the proof has no current server nonce: retry with the DPoP-Nonce value of this answer (RFC 9449 §8)",
                ));
            }
        }
        let jti = string_member(&payload, "jti", "payload")?;
        if jti.is_empty() || jti.len() > MAX_JTI_BYTES {
            return Err(proof_invalid(format_args!(
                "jti must have 1 to {MAX_JTI_BYTES} bytes"
            )));
        }
        let thumbprint = thumbprint(jwk)?;
        if thumbprint != jkt {
            return Err(Error::new(
                ErrorCode::DpopKeyMismatch,
                format!(
                    "the proof's key (thumbprint {}) is not the key the token is bound to (cnf.jkt {})",
                    quote(&thumbprint),
                    quote(jkt)
                ),
            ));
        }
        // Last, so that only proofs that passed every other check occupy the cache.
        self.replay.insert(&thumbprint, jti, iat + self.window, now)
    }

    /// Whether proofs must carry a server nonce.
    pub(crate) fn nonces(&self) -> bool {
        self.nonce_key.is_some()
    }

    /// A fresh server nonce (RFC 9449 §8) when nonces are on.
    pub(crate) fn fresh_nonce(&self, now: f64) -> Option<String> {
        let key = self.nonce_key.as_ref()?;
        Some(make_nonce(key, now.max(0.0) as u64))
    }
}

/// The refusal of any Bearer credential when DPoP is required.
pub(crate) fn bearer_where_required() -> Error {
    Error::new(
        ErrorCode::DpopProofMissing,
        "this server accepts DPoP-bound tokens only (dpop = required): send Authorization: DPoP <token> with a DPoP proof",
    )
}

/// The refusal of a bound token presented as a Bearer token (RFC 9449 §7.2).
pub(crate) fn bound_as_bearer() -> Error {
    Error::new(
        ErrorCode::DpopProofMissing,
        "the token is DPoP-bound (cnf.jkt) but was sent as a Bearer token: send Authorization: DPoP <token> with a DPoP proof",
    )
}

/// A proof segment decoded and parsed as one strict JSON object.
fn json_object(segment: &[u8], what: &str) -> Result<Map<String, Value>, Error> {
    let bytes =
        token::decode_segment(segment, "proof segment").map_err(|e| proof_invalid(e.message()))?;
    crate::json::check_document(&bytes, "the DPoP proof")
        .map_err(|e| proof_invalid(e.message()))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(proof_invalid(format_args!(
            "its {what} is not a JSON object"
        ))),
    }
}

fn string_member<'m>(
    map: &'m Map<String, Value>,
    name: &str,
    part: &str,
) -> Result<&'m str, Error> {
    match map.get(name) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(proof_invalid(format_args!("{name} is not a string"))),
        None => Err(proof_invalid(format_args!("the {part} has no {name}"))),
    }
}

/// RFC 7638: the base64url SHA-256 of the key's required members, in lexicographic order,
/// without whitespace.
pub(crate) fn thumbprint(jwk: &Map<String, Value>) -> Result<String, Error> {
    let kty = match jwk.get("kty") {
        Some(Value::String(kty)) => kty.as_str(),
        _ => return Err(proof_invalid("its jwk has no kty")),
    };
    let members: &[&str] = match kty {
        "EC" => &["crv", "kty", "x", "y"],
        "RSA" => &["e", "kty", "n"],
        "OKP" => &["crv", "kty", "x"],
        other => {
            return Err(proof_invalid(format_args!(
                "key type {} has no RFC 7638 thumbprint here",
                quote(other)
            )));
        }
    };
    let mut canonical = String::from("{");
    for (i, name) in members.iter().enumerate() {
        let Some(Value::String(value)) = jwk.get(*name) else {
            return Err(proof_invalid(format_args!("its jwk has no {name}")));
        };
        if i > 0 {
            canonical.push(',');
        }
        canonical.push_str(&Value::String((*name).to_owned()).to_string());
        canonical.push(':');
        canonical.push_str(&Value::String(value.clone()).to_string());
    }
    canonical.push('}');
    Ok(token::encode(&sha256(canonical.as_bytes())))
}

/// The form in which `htu` and the request URL are compared (RFC 9449 §4.3 step 9): query and
/// fragment removed, then RFC 3986 §6.2.2 syntax-based normalisation (case of scheme and host,
/// percent-encoding case, unreserved characters decoded) and §6.2.3 scheme-based normalisation
/// (default port dropped, empty path as `/`). `None` for anything but an absolute http(s) URL.
pub(crate) fn htu_form(url: &str) -> Option<String> {
    let url = url.split(['#', '?']).next().unwrap_or("");
    let scheme_end = url.find("://")?;
    let scheme = url[..scheme_end].to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let parsed = HttpUrl::parse(&format!("{scheme}{}", &url[scheme_end..])).ok()?;
    let authority = parsed.canonical_authority()?;
    let path = normalise_percent_encoding(&parsed.path)?;
    let path = if path.is_empty() {
        "/".to_owned()
    } else {
        path
    };
    Some(format!("{scheme}://{authority}{path}"))
}

/// Upper-case percent-encoding hex digits, and decode percent-encoded unreserved characters
/// (RFC 3986 §6.2.2.1–6.2.2.2). `None` for a malformed escape.
fn normalise_percent_encoding(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            let value = u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
            if value.is_ascii_alphanumeric() || b"-._~".contains(&value) {
                out.push(value as char);
            } else {
                out.push('%');
                out.push_str(&format!("{value:02X}"));
            }
            i += 3;
        } else {
            out.push(bytes[i] as char);
            i += 1;
        }
    }
    Some(out)
}

/// A nonce: the issue time (8 bytes, big-endian) and 16 bytes of HMAC-SHA256 over it.
fn make_nonce(key: &KeyPair, issued: u64) -> String {
    let mut bytes = issued.to_be_bytes().to_vec();
    let mac = key
        .sign(Algorithm::HS256, &issued.to_be_bytes())
        .unwrap_or_default();
    bytes.extend_from_slice(&mac[..16.min(mac.len())]);
    token::encode(&bytes)
}

fn nonce_valid(key: &KeyPair, nonce: &str, now: f64, window: f64) -> bool {
    let Ok(bytes) = base64_simd::URL_SAFE_NO_PAD.decode_to_vec(nonce.as_bytes()) else {
        return false;
    };
    if bytes.len() != 24 {
        return false;
    }
    let mut issued = [0u8; 8];
    issued.copy_from_slice(&bytes[..8]);
    let issued = u64::from_be_bytes(issued);
    let expected = make_nonce(key, issued);
    constant_time_eq(expected.as_bytes(), nonce.as_bytes())
        && (issued as f64) <= now + 1.0
        && now - (issued as f64) <= window
}

/// Seen proofs, by a hash of (key thumbprint, `jti`), until their `iat` leaves the window.
/// Bounded: when a shard is full of live entries, new proofs are refused
/// (`dpop_replay_cache_full`, 503) rather than forgetting one that could be replayed. The shard
/// (one of up to 64, each with its own lock) is chosen by the proof key's thumbprint, so a client
/// that floods proofs fills only its own shard — at most 1/64 of the capacity — and refuses only
/// itself and the few clients whose keys share that shard, not every DPoP client.
struct ReplayCache {
    shards: Box<[Mutex<Shard>]>,
    per_shard: usize,
    capacity: usize,
    /// Keys the shard choice and the entry hash, so that clients cannot aim at one shard.
    salt: [u8; 16],
}

#[derive(Default)]
struct Shard {
    seen: HashMap<u128, f64>,
    /// No entry expires before this time (a sweep before it would free nothing).
    earliest_expiry: f64,
}

const REPLAY_SHARDS: usize = 64;

impl ReplayCache {
    fn new(capacity: usize) -> ReplayCache {
        let mut salt = [0u8; 16];
        if let Ok(pair) = KeyPair::generate(Algorithm::HS256) {
            if let Ok(mac) = pair.sign(Algorithm::HS256, b"dpop replay cache") {
                salt.copy_from_slice(&mac[..16]);
            }
        }
        // Small caches get fewer shards, so that the capacity is exact (one shard for one entry).
        let shards = REPLAY_SHARDS.min(capacity.max(1));
        ReplayCache {
            shards: (0..shards).map(|_| Mutex::default()).collect(),
            per_shard: capacity.div_ceil(shards).max(1),
            capacity,
            salt,
        }
    }

    fn insert(&self, thumbprint: &str, jti: &str, expires: f64, now: f64) -> Result<(), Error> {
        let mut input = Vec::with_capacity(16 + thumbprint.len() + 1 + jti.len());
        input.extend_from_slice(&self.salt);
        input.extend_from_slice(thumbprint.as_bytes());
        let key_hash = sha256(&input);
        input.push(0);
        input.extend_from_slice(jti.as_bytes());
        let digest = sha256(&input);
        let mut id = [0u8; 16];
        id.copy_from_slice(&digest[..16]);
        let id = u128::from_le_bytes(id);
        let mut which = [0u8; 8];
        which.copy_from_slice(&key_hash[..8]);
        let shard = &self.shards[(u64::from_le_bytes(which) % self.shards.len() as u64) as usize];
        let mut shard = shard
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(&until) = shard.seen.get(&id) {
            if until >= now {
                return Err(Error::new(
                    ErrorCode::DpopProofReplayed,
                    "this DPoP proof (its jti) was used before: every request needs a fresh proof",
                ));
            }
        }
        if shard.seen.len() >= self.per_shard && !shard.seen.contains_key(&id) {
            if now >= shard.earliest_expiry {
                shard.seen.retain(|_, until| *until >= now);
                shard.earliest_expiry = shard.seen.values().copied().fold(f64::INFINITY, f64::min);
            }
            if shard.seen.len() >= self.per_shard {
                return Err(Error::new(
                    ErrorCode::DpopReplayCacheFull,
                    format!(
                        "the DPoP replay cache has no room for this client's proofs ({} entries in all, {} per shard of client keys): a client sends more distinct proofs within the iat window than that; raise dpop_replay_cache_size or shorten dpop_iat_window",
                        self.capacity, self.per_shard
                    ),
                ));
            }
        }
        if shard.seen.is_empty() || expires < shard.earliest_expiry {
            shard.earliest_expiry = expires;
        }
        shard.seen.insert(id, expires);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn htu_comparison_normalises_as_rfc_3986_section_6_describes() {
        let f = |s| htu_form(s).unwrap();
        assert_eq!(
            f("HTTPS://MCP.Example.com:443/mcp?x=1#y"),
            "https://mcp.example.com/mcp"
        );
        assert_eq!(f("http://127.0.0.1:80"), "http://127.0.0.1/");
        assert_eq!(
            f("http://127.0.0.1:8080/a%7eb%2f"),
            "http://127.0.0.1:8080/a~b%2F"
        );
        assert_ne!(f("https://a.example/mcp"), f("https://a.example/mcp/"));
        assert_ne!(f("https://a.example/mcp"), f("http://a.example/mcp"));
        assert_ne!(f("https://a.example/mcp"), f("https://a.example:8443/mcp"));
        assert!(htu_form("ftp://a.example/").is_none());
        assert!(htu_form("/relative").is_none());
        assert!(htu_form("https://a.example/%zz").is_none());
    }

    #[test]
    fn thumbprint_matches_rfc_7638_section_3_1() {
        // RFC 7638 §3.1's example key and thumbprint.
        let jwk: Value = serde_json::from_str(r#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#).unwrap();
        assert_eq!(
            thumbprint(jwk.as_object().unwrap()).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn nonces_verify_within_the_window_only() {
        let key = KeyPair::generate(Algorithm::HS256).unwrap();
        let nonce = make_nonce(&key, 1_000_000);
        assert!(nonce_valid(&key, &nonce, 1_000_100.0, 300.0));
        assert!(!nonce_valid(&key, &nonce, 1_000_301.0, 300.0));
        let other = KeyPair::generate(Algorithm::HS256).unwrap();
        assert!(!nonce_valid(&other, &nonce, 1_000_100.0, 300.0));
        let mut forged = base64_simd::URL_SAFE_NO_PAD
            .decode_to_vec(nonce.as_bytes())
            .unwrap();
        forged[7] ^= 1;
        assert!(!nonce_valid(
            &key,
            &token::encode(&forged),
            1_000_100.0,
            300.0
        ));
    }

    #[test]
    fn the_replay_cache_refuses_a_seen_jti_and_stays_bounded() {
        let cache = ReplayCache::new(256); // 64 shards of 4 entries
        cache.insert("k", "a", 100.0, 0.0).unwrap();
        assert_eq!(
            cache.insert("k", "a", 100.0, 50.0).unwrap_err().code(),
            ErrorCode::DpopProofReplayed
        );
        // Up to and including the last instant of its window.
        assert_eq!(
            cache.insert("k", "a", 100.0, 100.0).unwrap_err().code(),
            ErrorCode::DpopProofReplayed
        );
        // The same jti from another key is another proof.
        cache.insert("other", "a", 100.0, 50.0).unwrap();
        // After expiry, the entry may be reused (its iat is out of the window anyway).
        cache.insert("k", "a", 300.0, 150.0).unwrap();
        let filled = (0..100).position(|i| {
            cache
                .insert("k", &format!("j{i}"), 1000.0, 200.0)
                .is_err_and(|e| e.code() == ErrorCode::DpopReplayCacheFull)
        });
        assert!(
            filled.is_some_and(|i| i <= 4),
            "one key fills its own shard: {filled:?}"
        );
        // Other clients' keys are (almost all) in other shards: the flood does not refuse them.
        let others_ok = (0..8)
            .filter(|n| {
                cache
                    .insert(&format!("client-{n}"), "x", 1000.0, 200.0)
                    .is_ok()
            })
            .count();
        assert!(others_ok >= 5, "{others_ok} of 8 other clients accepted");
        // Expired entries make room again.
        cache.insert("k", "late", 3000.0, 2000.0).unwrap();
    }
}

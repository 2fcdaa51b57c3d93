//! [`Verifier`], the one entry point, and its builder.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::alg::{self, Algorithm};
use crate::claims::{Claims, ClaimsPolicy};
use crate::error::{Error, ErrorCode, quote};
use crate::header::{typ_matches, typ_mismatch};
use crate::jwk::Key;
use crate::jws::{self, AlgSet, JwsPolicy};
use crate::keyset::{KeyHolder, KeySet};
use crate::static_tokens::{StaticToken, StaticTokens};
use crate::token;
use crate::verified::Verified;

/// Largest accepted leeway (DESIGN.md: at most 10 minutes).
pub const MAX_LEEWAY: Duration = Duration::from_secs(600);

/// Verifies bearer credentials: JWTs against a key set and a claims policy, and/or static tokens.
///
/// `Send + Sync` and cheap to clone (one `Arc`): build it once and share it with every thread.
///
/// ```
/// use jwtgate::{Algorithm, ErrorCode, Verifier};
/// use jwtgate::sign::SigningKey;
///
/// let key = SigningKey::generate(Algorithm::ES256, "k1").unwrap();
/// let verifier = Verifier::builder()
///     .issuer("https://idp.example.com")
///     .audience("https://mcp.example.com")
///     .jwks_json(&key.public_jwks())
///     .required_scopes(["tools:call"])
///     .build()
///     .unwrap();
///
/// let token = key.mint(&serde_json::json!({
///     "iss": "https://idp.example.com", "aud": "https://mcp.example.com",
///     "sub": "alice", "scope": "tools:call", "exp": jwtgate::now_unix() + 300,
/// })).unwrap();
/// let verified = verifier.verify(&token).unwrap();
/// assert_eq!(verified.sub(), Some("alice"));
///
/// let wrong = key.mint(&serde_json::json!({
///     "iss": "https://idp.example.com/", "aud": "https://mcp.example.com",
///     "exp": jwtgate::now_unix() + 300,
/// })).unwrap();
/// let err = verifier.verify(&wrong).unwrap_err();
/// assert_eq!(err.code(), ErrorCode::IssuerMismatch);
/// assert_eq!(err.to_string(),
///     r#"issuer mismatch: expected "https://idp.example.com", token has "https://idp.example.com/""#);
/// ```
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    /// `None` for a verifier that accepts static tokens only.
    keys: Option<KeyHolder>,
    jws: JwsPolicy,
    claims: ClaimsPolicy,
    typ: Option<Box<str>>,
    static_tokens: StaticTokens,
}

/// Seconds since the Unix epoch, now (with fractions).
fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The current time in whole seconds since the Unix epoch (a convenience for building claims).
pub fn now_unix() -> u64 {
    unix_seconds(SystemTime::now()) as u64
}

impl Verifier {
    /// Starts building a verifier.
    pub fn builder() -> VerifierBuilder {
        VerifierBuilder::default()
    }

    /// Verifies a bearer credential (the token without the `Bearer ` prefix) now.
    ///
    /// # Errors
    /// An [`Error`] whose [`code`](Error::code) says why the credential was rejected.
    pub fn verify(&self, token: &str) -> Result<Verified, Error> {
        self.verify_at(token, SystemTime::now())
    }

    /// Verifies as if the current time were `now` (for tests, replays and diagnostics).
    ///
    /// # Errors
    /// As [`verify`](Verifier::verify).
    pub fn verify_at(&self, token: &str, now: SystemTime) -> Result<Verified, Error> {
        let inner = &*self.inner;
        if let Some(found) = inner.static_tokens.find(token) {
            return Ok(Verified::from_static(found));
        }
        let Some(holder) = &inner.keys else {
            return Err(Error::new(
                ErrorCode::TokenUnknown,
                "credential matches no configured static token",
            ));
        };
        if !inner.static_tokens.is_empty() && !token.contains('.') {
            return Err(Error::new(
                ErrorCode::TokenUnknown,
                "credential is not a JWT and matches no configured static token",
            ));
        }
        let keys = holder.load();
        jws::verify_with(token, &keys, &inner.jws, |header, compact, _key| {
            if let Some(expected) = &inner.typ {
                match header.typ.as_deref() {
                    Some(found) if typ_matches(found, expected) => {}
                    found => return Err(typ_mismatch(found, expected)),
                }
            }
            let payload = token::decode_segment(compact.payload_b64, "token payload")?;
            let claims = Claims::parse(&payload, &inner.claims.required_claims)?;
            inner.claims.check(&claims, unix_seconds(now))?;
            let verified = Verified::from_jwt(
                header.alg,
                header.kid.as_deref(),
                header.typ.as_deref(),
                &claims,
                String::new(),
            );
            drop(claims);
            // The JSON parsed, so the payload is UTF-8 (serde_json validates strings, and
            // everything outside strings is ASCII); keep the raw text for custom claims.
            let json = String::from_utf8(payload)
                .map_err(|_| Error::malformed("token claims are not UTF-8"))?;
            Ok(verified.with_claims_json(json))
        })
    }

    /// Replaces the key set while other threads keep verifying (they finish with the set they
    /// loaded). Returns the new set's generation number.
    ///
    /// # Errors
    /// `config_invalid` if this verifier has no JWT policy (static tokens only), or the new set
    /// mixes HMAC secrets with public keys.
    pub fn set_keys(&self, keys: KeySet) -> Result<u64, Error> {
        let Some(holder) = &self.inner.keys else {
            return Err(Error::config(
                "this verifier accepts static tokens only; it has no key set",
            ));
        };
        check_no_mixing(&keys)?;
        Ok(holder.store(keys))
    }

    /// A snapshot of the current key set (`None` for a static-token-only verifier).
    pub fn key_set(&self) -> Option<Arc<KeySet>> {
        self.inner.keys.as_ref().map(|h| Arc::clone(&h.load()))
    }

    /// The algorithms this verifier accepts.
    pub fn algorithms(&self) -> Vec<Algorithm> {
        self.inner.jws.algorithms.to_vec()
    }
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("issuers", &self.inner.claims.issuers)
            .field("audiences", &self.inner.claims.audiences)
            .field("algorithms", &self.algorithms())
            .field("static_tokens", &self.inner.static_tokens.len())
            .finish_non_exhaustive()
    }
}

fn check_no_mixing(keys: &KeySet) -> Result<(), Error> {
    if keys.has_secrets()
        && keys
            .keys()
            .iter()
            .any(|k| !k.family().eq(&crate::alg::KeyFamily::Hmac))
    {
        return Err(Error::config(
            "HMAC secrets and public keys cannot share a verifier (algorithm confusion); use two verifiers",
        ));
    }
    Ok(())
}

/// Builds a [`Verifier`]; [`build`](VerifierBuilder::build) rejects contradictory configuration
/// with `config_invalid`.
#[derive(Default)]
pub struct VerifierBuilder {
    issuers: Vec<String>,
    audiences: Vec<String>,
    audiences_set_empty: bool,
    skip_audience: bool,
    keys: Vec<Key>,
    key_errors: Vec<Error>,
    algorithms: Option<Vec<Algorithm>>,
    required_scopes: Vec<String>,
    leeway: Duration,
    typ: Option<String>,
    required_claims: Vec<String>,
    static_tokens: Vec<StaticToken>,
    allow_missing_exp: bool,
    max_token_bytes: Option<usize>,
}

impl VerifierBuilder {
    /// Adds an accepted issuer (`iss` must equal one of them exactly; no normalisation).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuers.push(issuer.into());
        self
    }

    /// Adds several accepted issuers.
    pub fn issuers<I: IntoIterator<Item = S>, S: Into<String>>(mut self, issuers: I) -> Self {
        self.issuers.extend(issuers.into_iter().map(Into::into));
        self
    }

    /// Adds an accepted audience (any one `aud` value must equal one of them).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Adds several accepted audiences; an empty list is a configuration error.
    pub fn audiences<I: IntoIterator<Item = S>, S: Into<String>>(mut self, audiences: I) -> Self {
        let before = self.audiences.len();
        self.audiences.extend(audiences.into_iter().map(Into::into));
        self.audiences_set_empty |= self.audiences.len() == before;
        self
    }

    /// Disables the audience check, for providers that set no audience. Logs a warning when the
    /// verifier is built: tokens minted for any other service of the same issuer will be accepted.
    pub fn insecure_skip_audience_check(mut self) -> Self {
        self.skip_audience = true;
        self
    }

    /// Accepts tokens without `exp` (they never expire). Off by default.
    pub fn insecure_allow_missing_exp(mut self) -> Self {
        self.allow_missing_exp = true;
        self
    }

    /// Adds keys from a JWKS document (unusable keys are skipped and logged).
    pub fn jwks_json(mut self, jwks: &str) -> Self {
        match KeySet::from_jwks_json(jwks) {
            Ok(set) if set.is_empty() => self.key_errors.push(Error::config(format!(
                "the JWKS has no usable key ({} skipped: {})",
                set.skipped().len(),
                set.skipped()
                    .iter()
                    .map(|s| s.reason.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            ))),
            Ok(set) => self.keys.extend(KeySet::into_keys(set)),
            Err(e) => self.key_errors.push(Error::config(e.message())),
        }
        self
    }

    /// Adds one or more PEM public keys.
    pub fn public_key_pem(mut self, pem: &str) -> Self {
        match KeySet::from_pem(pem) {
            Ok(set) => self.keys.extend(KeySet::into_keys(set)),
            Err(e) => self.key_errors.push(Error::config(e.message())),
        }
        self
    }

    /// Adds a parsed key.
    pub fn key(mut self, key: Key) -> Self {
        self.keys.push(key);
        self
    }

    /// Adds every key of a set.
    pub fn keys(mut self, keys: KeySet) -> Self {
        self.keys.extend(KeySet::into_keys(keys));
        self
    }

    /// Adds an HMAC secret for one HS* algorithm (at least the hash length). HMAC secrets cannot
    /// be combined with public keys.
    pub fn hmac_secret(mut self, alg: Algorithm, secret: impl AsRef<[u8]>) -> Self {
        match Key::hmac_secret(alg, secret) {
            Ok(key) => self.keys.push(key),
            Err(e) => self.key_errors.push(e),
        }
        self
    }

    /// Sets the accepted algorithms. Default: every algorithm the configured keys can verify
    /// (each key is bound to its own family, so this cannot enable algorithm confusion).
    pub fn algorithms<I: IntoIterator<Item = Algorithm>>(mut self, algorithms: I) -> Self {
        self.algorithms = Some(algorithms.into_iter().collect());
        self
    }

    /// Scopes that must all be present (`scope` or `scp`).
    pub fn required_scopes<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        scopes: I,
    ) -> Self {
        self.required_scopes
            .extend(scopes.into_iter().map(Into::into));
        self
    }

    /// Clock-skew tolerance for `exp`, `nbf` and `iat` (default 0, at most 10 minutes).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Expected header `typ` (`"at+jwt"` for RFC 9068 access tokens); compared case-insensitively
    /// with the `application/` prefix optional. A token without `typ` then fails.
    pub fn typ(mut self, typ: impl Into<String>) -> Self {
        self.typ = Some(typ.into());
        self
    }

    /// Claims that must be present (any value).
    pub fn require_claims<I: IntoIterator<Item = S>, S: Into<String>>(mut self, claims: I) -> Self {
        self.required_claims
            .extend(claims.into_iter().map(Into::into));
        self
    }

    /// Adds a static bearer token / API key granting `client_id` no scopes.
    pub fn static_token(mut self, secret: impl AsRef<str>, client_id: impl Into<String>) -> Self {
        self.static_tokens.push(StaticToken::new(secret, client_id));
        self
    }

    /// Adds static tokens.
    pub fn static_tokens<I: IntoIterator<Item = StaticToken>>(mut self, tokens: I) -> Self {
        self.static_tokens.extend(tokens);
        self
    }

    /// Largest accepted token in bytes (default 16 KiB).
    pub fn max_token_bytes(mut self, bytes: usize) -> Self {
        self.max_token_bytes = Some(bytes);
        self
    }

    /// Builds the verifier.
    ///
    /// # Errors
    /// `config_invalid` naming the problem: no keys and no static tokens, keys without an issuer
    /// or audience, an empty audience list, HMAC secrets mixed with public keys or HS* allowed with
    /// public keys, an empty algorithm list, leeway over 10 minutes, unusable key material.
    pub fn build(self) -> Result<Verifier, Error> {
        if let Some(e) = self.key_errors.into_iter().next() {
            return Err(e);
        }
        let static_tokens = StaticTokens::new(self.static_tokens);
        let blank = |s: &String| s.trim().is_empty();
        if self.issuers.iter().any(blank) {
            return Err(Error::config("an issuer is empty"));
        }
        if self.audiences.iter().any(blank) {
            return Err(Error::config("an audience is empty"));
        }
        if self.leeway > MAX_LEEWAY {
            return Err(Error::config(format!(
                "leeway is {}s; at most {}s is allowed",
                self.leeway.as_secs(),
                MAX_LEEWAY.as_secs()
            )));
        }
        if self.required_claims.len() > 64 {
            return Err(Error::config("at most 64 required claims are supported"));
        }
        let jwt = !self.keys.is_empty();
        if !jwt {
            if !self.issuers.is_empty() || !self.audiences.is_empty() {
                return Err(Error::config(format!(
                    "no keys configured for issuer {}: give a JWKS or a public key",
                    self.issuers.first().map_or("(none)".into(), |i| quote(i))
                )));
            }
            if static_tokens.is_empty() {
                return Err(Error::config(
                    "nothing to verify with: configure keys (JWKS, PEM, HMAC secret) or static tokens",
                ));
            }
        }
        let keys = KeySet::new(self.keys);
        let algorithms = if jwt {
            check_no_mixing(&keys)?;
            if self.issuers.is_empty() {
                return Err(Error::config(
                    "no issuer configured: set the issuer your tokens carry in iss",
                ));
            }
            if self.audiences_set_empty {
                return Err(Error::config("the audience list is empty"));
            }
            if self.audiences.is_empty() && !self.skip_audience {
                return Err(Error::config(
                    "no audience configured: set the audience (resource) your tokens carry in aud, or call insecure_skip_audience_check() for providers that set none",
                ));
            }
            if self.skip_audience {
                log::warn!(
                    "jwtgate: audience check disabled for issuer {}: tokens issued for any other service of this issuer will be accepted",
                    quote(&self.issuers[0])
                );
            }
            let usable = keys.usable_algorithms();
            let algorithms = match self.algorithms {
                Some(list) if list.is_empty() => {
                    return Err(Error::config("the algorithm list is empty"));
                }
                Some(list) => list,
                None if keys.has_secrets() => usable.clone(),
                None => Algorithm::ASYMMETRIC.to_vec(),
            };
            let set = AlgSet::from_slice(&algorithms);
            if !keys.has_secrets() && set.any(Algorithm::is_symmetric) {
                return Err(Error::config(format!(
                    "{} cannot be allowed together with public keys (algorithm confusion); HMAC needs its own verifier with hmac_secret",
                    alg::list(
                        &algorithms
                            .iter()
                            .copied()
                            .filter(|a| a.is_symmetric())
                            .collect::<Vec<_>>()
                    )
                )));
            }
            if !set.any(|a| usable.contains(&a)) {
                return Err(Error::config(format!(
                    "no configured key can verify any allowed algorithm (allowed: {}; keys support: {})",
                    alg::list(&set.to_vec()),
                    alg::list(&usable)
                )));
            }
            set
        } else {
            AlgSet::default()
        };
        let boxed = |v: Vec<String>| {
            v.into_iter()
                .map(String::into_boxed_str)
                .collect::<Vec<_>>()
        };
        Ok(Verifier {
            inner: Arc::new(Inner {
                keys: jwt.then(|| KeyHolder::new(keys)),
                jws: JwsPolicy {
                    algorithms,
                    max_token_bytes: self
                        .max_token_bytes
                        .unwrap_or(token::DEFAULT_MAX_TOKEN_BYTES),
                },
                claims: ClaimsPolicy {
                    issuers: boxed(self.issuers),
                    audiences: (!self.skip_audience).then(|| boxed(self.audiences)),
                    leeway: self.leeway.as_secs_f64(),
                    require_exp: !self.allow_missing_exp,
                    required_scopes: boxed(self.required_scopes),
                    required_claims: boxed(self.required_claims),
                },
                typ: self.typ.map(String::into_boxed_str),
                static_tokens,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync + Clone>() {}

    #[test]
    fn verifier_is_send_sync_clone() {
        assert_send_sync::<Verifier>();
    }
}

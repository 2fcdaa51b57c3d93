//! Token introspection (RFC 7662) for credentials the verifier cannot check itself: opaque access
//! tokens (and, as an option, JWTs, to learn of revocation). The provider's answer is checked as
//! strictly as a JWT's claims — `active`, `iss`, `aud`, `exp`/`nbf`, `token_type` — and then
//! goes through the same dialect and scope rules.
//!
//! What the verifier keeps, and for how long (ARCHITECTURE.md, "Introspection"):
//! * answers in a bounded cache keyed by a keyed hash of the token (the token itself is not
//!   kept): an active answer until `min(exp, now + introspection_cache_ttl)` (default 60 s), a
//!   refusal (inactive, wrong audience, …) for 5 s, a failure to ask not at all. A token revoked at the provider is therefore still accepted for at
//!   most `introspection_cache_ttl` — the revocation delay this cache buys its speed with;
//! * one call per token in flight: concurrent requests with the same token share it;
//! * at most `introspection_max_concurrent` calls at once (default 16); beyond that,
//!   `introspection_failed` (503) rather than a queue that grows with an attack.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use serde_json::Value;
use zeroize::Zeroizing;

use crate::claims::{Claims, ClaimsPolicy};
use crate::crypto::sha256;
use crate::error::{Error, ErrorCode, quote};
use crate::remote::discovery::discover;
use crate::remote::fetch::{FetchLimits, Fetcher};
use crate::remote::url::HttpUrl;
use crate::verified::Verified;

/// Default lifetime of a cached active answer.
pub(crate) const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(60);
/// Lifetime of a cached inactive answer: short, so that a token activated late is not refused long.
const NEGATIVE_TTL: f64 = 5.0;
/// Default bound on concurrent calls to the provider.
pub(crate) const DEFAULT_MAX_CONCURRENT: usize = 16;
/// Default number of cached answers.
pub(crate) const DEFAULT_CACHE_SIZE: usize = 4096;
/// Largest introspection response accepted.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// How the verifier authenticates to the introspection endpoint (RFC 7662 §2.1 leaves it to the
/// provider; these are RFC 6749 §2.3.1's two).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientAuth {
    /// HTTP Basic with the URL-encoded client id and secret (`client_secret_basic`).
    #[default]
    Basic,
    /// `client_id` and `client_secret` in the form body (`client_secret_post`).
    Post,
}

/// Settings of [`VerifierBuilder::introspection`](crate::VerifierBuilder::introspection).
pub(crate) struct IntrospectionOptions {
    pub(crate) endpoint: Option<String>,
    pub(crate) client_id: String,
    pub(crate) client_secret: Zeroizing<String>,
    pub(crate) auth: ClientAuth,
    pub(crate) jwts: bool,
    pub(crate) cache_ttl: Duration,
    pub(crate) cache_size: usize,
    pub(crate) max_concurrent: usize,
}

/// A verifier's introspection client and answer cache.
pub(crate) struct Introspector {
    /// The endpoint, configured or (once) discovered from the issuer.
    endpoint: Mutex<Option<String>>,
    issuer: Option<String>,
    client_id: String,
    client_secret: Zeroizing<String>,
    auth: ClientAuth,
    pub(crate) jwts: bool,
    fetcher: Arc<dyn Fetcher>,
    limits: FetchLimits,
    allow_http: bool,
    ttl: f64,
    cache: Mutex<AnswerCache>,
    flights: Mutex<HashMap<u128, Arc<Flight>>>,
    in_flight: AtomicUsize,
    max_concurrent: usize,
    salt: [u8; 16],
    pub(crate) calls: AtomicU64,
    pub(crate) failures: AtomicU64,
}

impl std::fmt::Debug for Introspector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Introspector")
            .field("client_id", &self.client_id)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

/// An answer being fetched, shared by every request with the same token.
#[derive(Default)]
struct Flight {
    done: Mutex<Option<Result<Verified, Error>>>,
    cv: Condvar,
}

#[derive(Default)]
struct AnswerCache {
    answers: HashMap<u128, (Result<Verified, Error>, f64)>,
    /// Insertion order, for eviction when full.
    order: VecDeque<u128>,
    capacity: usize,
}

impl AnswerCache {
    fn get(&self, id: u128, now: f64) -> Option<Result<Verified, Error>> {
        match self.answers.get(&id) {
            Some((answer, until)) if *until > now => Some(answer.clone()),
            _ => None,
        }
    }

    fn put(&mut self, id: u128, answer: Result<Verified, Error>, until: f64) {
        if self.capacity == 0 {
            return;
        }
        while self.answers.len() >= self.capacity {
            match self.order.pop_front() {
                Some(old) => {
                    self.answers.remove(&old);
                }
                None => break,
            }
        }
        if self.answers.insert(id, (answer, until)).is_none() {
            self.order.push_back(id);
        }
    }
}

pub(crate) fn failed(why: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorCode::IntrospectionFailed,
        format!("token introspection failed: {why}"),
    )
}

impl Introspector {
    pub(crate) fn new(
        options: IntrospectionOptions,
        issuer: Option<String>,
        fetcher: Arc<dyn Fetcher>,
        timeout: Duration,
        allow_http: bool,
    ) -> Result<Introspector, Error> {
        if let Some(endpoint) = &options.endpoint {
            check_endpoint(endpoint, allow_http).map_err(Error::config)?;
        } else if issuer.is_none() {
            return Err(Error::config(
                "introspection needs its endpoint, or an issuer to discover it from",
            ));
        }
        if options.client_id.trim().is_empty() || options.client_secret.is_empty() {
            return Err(Error::config(
                "introspection needs the client id and secret the provider knows this server by",
            ));
        }
        let mut salt = [0u8; 16];
        if let Ok(pair) = crate::crypto::KeyPair::generate(crate::Algorithm::HS256) {
            if let Ok(mac) = pair.sign(crate::Algorithm::HS256, b"introspection cache") {
                salt.copy_from_slice(&mac[..16]);
            }
        }
        Ok(Introspector {
            endpoint: Mutex::new(options.endpoint),
            issuer,
            client_id: options.client_id,
            client_secret: options.client_secret,
            auth: options.auth,
            jwts: options.jwts,
            fetcher,
            limits: FetchLimits {
                timeout,
                max_body_bytes: MAX_RESPONSE_BYTES,
            },
            allow_http,
            ttl: options.cache_ttl.as_secs_f64(),
            cache: Mutex::new(AnswerCache {
                capacity: options.cache_size,
                ..AnswerCache::default()
            }),
            flights: Mutex::default(),
            in_flight: AtomicUsize::new(0),
            max_concurrent: options.max_concurrent,
            salt,
            calls: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        })
    }

    fn id(&self, token: &str) -> u128 {
        let mut input = Vec::with_capacity(16 + token.len());
        input.extend_from_slice(&self.salt);
        input.extend_from_slice(token.as_bytes());
        let digest = sha256(&input);
        let mut id = [0u8; 16];
        id.copy_from_slice(&digest[..16]);
        u128::from_le_bytes(id)
    }

    /// Whether another call may start now (a background call is started only then).
    pub(crate) fn has_room(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) < self.max_concurrent
    }

    /// The cached answer for `token`, if any.
    pub(crate) fn cached(&self, token: &str, now: f64) -> Option<Result<Verified, Error>> {
        let cache = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cache.get(self.id(token), now)
    }

    /// The provider's answer for `token`, from the cache or one shared call. `check` turns the
    /// response body into a credential (the verifier's claims rules).
    pub(crate) fn introspect(
        &self,
        token: &str,
        now: f64,
        check: &dyn Fn(&[u8]) -> Result<Verified, Error>,
    ) -> Result<Verified, Error> {
        let id = self.id(token);
        if let Some(answer) = self.cached(token, now) {
            return answer;
        }
        let (flight, leader) = {
            let mut flights = self
                .flights
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match flights.get(&id) {
                Some(flight) => (Arc::clone(flight), false),
                None => {
                    let flight = Arc::new(Flight::default());
                    flights.insert(id, Arc::clone(&flight));
                    (flight, true)
                }
            }
        };
        if !leader {
            let done = flight
                .done
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let (done, _) = flight
                .cv
                .wait_timeout_while(done, self.limits.timeout + Duration::from_secs(1), |d| {
                    d.is_none()
                })
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            return done.clone().unwrap_or_else(|| {
                Err(failed(
                    "the shared introspection call did not finish in time",
                ))
            });
        }
        let answer = self.call(token, check);
        if let Ok(verified) = &answer {
            let until = verified
                .exp()
                .map_or(now + self.ttl, |exp| (exp as f64).min(now + self.ttl));
            self.cache
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .put(id, answer.clone(), until);
        } else if let Err(e) = &answer {
            // A refusal is the provider's answer too (inactive, wrong audience, expired): keep it
            // briefly. A failure to ask is not an answer, and is not kept.
            if e.code() != ErrorCode::IntrospectionFailed {
                self.cache
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .put(id, answer.clone(), now + NEGATIVE_TTL);
            }
        }
        *flight
            .done
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(answer.clone());
        flight.cv.notify_all();
        self.flights
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&id);
        answer
    }

    /// One POST to the endpoint (RFC 7662 §2.1), bounded in number.
    fn call(
        &self,
        token: &str,
        check: &dyn Fn(&[u8]) -> Result<Verified, Error>,
    ) -> Result<Verified, Error> {
        if self.in_flight.fetch_add(1, Ordering::AcqRel) >= self.max_concurrent {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            self.failures.fetch_add(1, Ordering::Relaxed);
            return Err(failed(format_args!(
                "{} calls to the provider are already under way (introspection_max_concurrent)",
                self.max_concurrent
            )));
        }
        let result = self.call_unbounded(token, check);
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
        if result
            .as_ref()
            .is_err_and(|e| e.code() == ErrorCode::IntrospectionFailed)
        {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    fn call_unbounded(
        &self,
        token: &str,
        check: &dyn Fn(&[u8]) -> Result<Verified, Error>,
    ) -> Result<Verified, Error> {
        let endpoint = self.endpoint()?;
        let mut form = vec![("token", token), ("token_type_hint", "access_token")];
        let mut headers = vec![("Accept".to_owned(), "application/json".to_owned())];
        match self.auth {
            ClientAuth::Basic => {
                // RFC 6749 §2.3.1: each part form-urlencoded, then Basic.
                let pair = format!(
                    "{}:{}",
                    form_urlencode(&self.client_id),
                    form_urlencode(&self.client_secret)
                );
                headers.push((
                    "Authorization".to_owned(),
                    format!(
                        "Basic {}",
                        base64_simd::STANDARD.encode_to_string(pair.as_bytes())
                    ),
                ));
            }
            ClientAuth::Post => {
                form.push(("client_id", &self.client_id));
                form.push(("client_secret", &self.client_secret));
            }
        }
        let body: String = form
            .iter()
            .map(|(k, v)| format!("{k}={}", form_urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let body = Zeroizing::new(body);
        self.calls.fetch_add(1, Ordering::Relaxed);
        let response = self
            .fetcher
            .post_form(&endpoint, &headers, body.as_bytes(), &self.limits)
            .map_err(|e| failed(format_args!("{endpoint}: {e}")))?;
        if response.status != 200 {
            return Err(failed(format_args!(
                "{endpoint} answered HTTP {} (check the client id and secret, and that this client may introspect)",
                response.status
            )));
        }
        check(&response.body)
    }

    /// The configured endpoint, or the one the issuer's metadata names (fetched once).
    fn endpoint(&self) -> Result<String, Error> {
        let mut endpoint = self
            .endpoint
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(url) = endpoint.as_ref() {
            return Ok(url.clone());
        }
        let issuer = self.issuer.as_deref().unwrap_or_default();
        let metadata = discover(
            issuer,
            &*self.fetcher,
            &self.limits,
            self.allow_http,
            &AtomicU64::new(0),
        )
        .map_err(|e| failed(e.message()))?;
        let url = metadata
            .document
            .get("introspection_endpoint")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                failed(format_args!(
                    "the metadata of {} names no introspection_endpoint: configure it",
                    quote(issuer)
                ))
            })?
            .to_owned();
        check_endpoint(&url, self.allow_http).map_err(failed)?;
        *endpoint = Some(url.clone());
        Ok(url)
    }
}

fn check_endpoint(url: &str, allow_http: bool) -> Result<(), String> {
    let parsed = HttpUrl::parse(url).map_err(|e| format!("introspection endpoint: {e}"))?;
    parsed.check_transport(url, allow_http)
}

/// `application/x-www-form-urlencoded` (WHATWG URL §5.2): unreserved bytes as is, space as `+`,
/// everything else percent-encoded.
fn form_urlencode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Checks an introspection response (RFC 7662 §2.2) and returns its claims for the verifier's
/// rules: `active` must be `true`; `iss`, when present, is checked like a JWT's (when absent, the
/// configured issuer answered, so it is taken as the issuer); `token_type`, when present, must
/// name an access token.
pub(crate) fn parse_response<'b>(
    body: &'b [u8],
    required_claims: &[Box<str>],
    issuer: Option<&'b str>,
) -> Result<Claims<'b>, Error> {
    crate::json::check_document(body, "the introspection response")
        .map_err(|e| failed(e.message()))?;
    let doc: Value = serde_json::from_slice(body)
        .map_err(|_| failed("the introspection response is not JSON"))?;
    let Some(obj) = doc.as_object() else {
        return Err(failed("the introspection response is not a JSON object"));
    };
    match obj.get("active") {
        Some(Value::Bool(true)) => {}
        Some(Value::Bool(false)) => {
            return Err(Error::new(
                ErrorCode::TokenInactive,
                "the provider says the token is not active (revoked, expired, or not one of its tokens)",
            ));
        }
        _ => {
            return Err(failed(
                "the introspection response has no boolean active member",
            ));
        }
    }
    if let Some(token_type) = obj.get("token_type") {
        let ok = token_type.as_str().is_some_and(|t| {
            [
                "bearer",
                "dpop",
                "access_token",
                "urn:ietf:params:oauth:token-type:access_token",
            ]
            .iter()
            .any(|a| t.eq_ignore_ascii_case(a))
        });
        if !ok {
            return Err(Error::for_claim(
                ErrorCode::ClaimInvalid,
                "token_type",
                format!(
                    "the introspected token is a {}, not an access token",
                    quote(&token_type.to_string())
                ),
            ));
        }
    }
    let mut claims = Claims::parse(body, required_claims)?;
    if claims.iss.is_none() {
        claims.iss = issuer.map(std::borrow::Cow::Borrowed);
    }
    Ok(claims)
}

/// The claims rules for introspected tokens: as for JWTs, except that `exp` may be absent
/// (RFC 7662 makes it optional; the answer is cached for the configured time then).
pub(crate) fn claims_policy(jwt: &ClaimsPolicy) -> ClaimsPolicy {
    ClaimsPolicy {
        require_exp: false,
        ..jwt.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding_follows_the_url_standard() {
        assert_eq!(form_urlencode("a b+c/d=é"), "a+b%2Bc%2Fd%3D%C3%A9");
        assert_eq!(form_urlencode("client-1_x.y*"), "client-1_x.y*");
    }

    #[test]
    fn responses_are_checked_strictly() {
        let code = |body: &str| {
            parse_response(body.as_bytes(), &[], Some("https://idp"))
                .err()
                .map(|e| e.code())
        };
        assert_eq!(code(r#"{"active":false}"#), Some(ErrorCode::TokenInactive));
        assert_eq!(
            code(r#"{"active":"true"}"#),
            Some(ErrorCode::IntrospectionFailed)
        );
        assert_eq!(code(r#"{}"#), Some(ErrorCode::IntrospectionFailed));
        assert_eq!(code(r#"[1]"#), Some(ErrorCode::IntrospectionFailed));
        assert_eq!(
            code(r#"{"active":true,"active":false}"#),
            Some(ErrorCode::IntrospectionFailed)
        );
        assert_eq!(
            code(r#"{"active":true,"token_type":"refresh_token"}"#),
            Some(ErrorCode::ClaimInvalid)
        );
        assert_eq!(
            code(r#"{"active":true,"token_type":"Bearer","scope":"a b"}"#),
            None
        );
        let claims = parse_response(br#"{"active":true}"#, &[], Some("https://idp")).unwrap();
        assert_eq!(claims.iss.as_deref(), Some("https://idp"));
    }
}

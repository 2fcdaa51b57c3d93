//! The result of a successful verification.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use serde::de::DeserializeOwned;

use crate::alg::Algorithm;
use crate::claims::Claims;
use crate::error::{Error, ErrorCode};
use crate::scopes::Granted;
use crate::static_tokens::StaticToken;

/// What kind of credential was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CredentialKind {
    /// A signed JWT.
    Jwt,
    /// A configured static bearer token / API key.
    StaticToken,
    /// An opaque (or other) token the provider's introspection endpoint vouched for (RFC 7662).
    Introspected,
    /// An OIDC id_token, accepted in id_token mode
    /// ([`VerifierBuilder::id_token`](crate::VerifierBuilder::id_token)).
    IdToken,
}

impl CredentialKind {
    /// The stable string every language reports: `"jwt"`, `"static_token"`, `"id_token"` or
    /// `"introspected"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            CredentialKind::Jwt => "jwt",
            CredentialKind::StaticToken => "static_token",
            CredentialKind::IdToken => "id_token",
            CredentialKind::Introspected => "introspected",
        }
    }
}

/// A verified credential: typed registered claims, scopes, header facts and the raw claims JSON.
///
/// Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct Verified(Arc<Inner>);

/// A string of a credential: a byte range of its [`Inner::text`].
#[derive(Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
}

/// Spans of a [`PendingClaims`] at or above this point are in its `extra` text, not the claims.
const EXTRA: usize = 1 << 48;

impl Span {
    /// Moves a span of a [`PendingClaims`]'s extra text to where that text ends up: after the
    /// claims JSON (`json_len` bytes).
    fn rebase(&mut self, json_len: usize) {
        if self.start >= EXTRA {
            self.start = self.start - EXTRA + json_len;
            self.end = self.end - EXTRA + json_len;
        }
    }
}

/// A list of strings of a credential (`aud`, `scp`) as spans of its text: no allocation for
/// one element, one for more.
#[derive(Clone, Default)]
struct Spans {
    first: Option<Span>,
    rest: Vec<Span>,
}

impl Spans {
    const EMPTY: Spans = Spans {
        first: None,
        rest: Vec::new(),
    };

    fn push(&mut self, span: Span) {
        match self.first {
            None => self.first = Some(span),
            Some(_) => self.rest.push(span),
        }
    }

    fn iter(&self) -> impl Iterator<Item = Span> + '_ {
        self.first.into_iter().chain(self.rest.iter().copied())
    }

    fn rebase(&mut self, json_len: usize) {
        self.first
            .iter_mut()
            .chain(&mut self.rest)
            .for_each(|s| s.rebase(json_len));
    }
}

static NO_SPANS: Spans = Spans::EMPTY;

/// Where a credential's scopes come from.
#[derive(Clone)]
enum Scopes {
    /// The token's `scope` (space-separated) then its `scp` entries, as spans of the text.
    Claims { scope: Option<Span>, scp: Spans },
    /// A list given whole: a static token's, or what a claim dialect read.
    Owned(Vec<String>),
}

#[derive(Clone)]
struct Inner {
    kind: CredentialKind,
    alg: Option<Algorithm>,
    /// The claims set as signed (`text[..json_len]`), then every other string of the credential:
    /// header members, claim values that had escapes, the matched audience, a dialect's client.
    /// The claim values are spans into the JSON itself, so a credential's strings cost one
    /// allocation, not one each (they were ~10 % of a cold verification in callgrind).
    text: String,
    json_len: usize,
    kid: Option<Span>,
    typ: Option<Span>,
    iss: Option<Span>,
    sub: Option<Span>,
    /// `aud` and the scopes are spans too. [`Verified::aud`] and [`Verified::scopes`] lend them
    /// as `&[String]`, made on first use (`aud_owned`, `scopes_owned`): a verification that
    /// never asks for the lists never allocates them, and a cached credential makes them once.
    aud: Spans,
    aud_owned: OnceLock<Vec<String>>,
    exp: Option<f64>,
    nbf: Option<f64>,
    iat: Option<f64>,
    jti: Option<Span>,
    client_id: Option<Span>,
    scopes: Scopes,
    scopes_owned: OnceLock<Vec<String>>,
    /// What the verifier's scope hierarchy grants beyond `scopes`.
    granted: Granted,
    /// The configured audience that one of `aud` matched (`None` when none is configured).
    audience_matched: Option<Span>,
    /// Identifies the credential's text (see [`Verified::token_id`]).
    token_id: u64,
    /// `cnf.jkt`: the thumbprint of the key the token is bound to (RFC 9449 §6.1).
    confirmation_jkt: Option<Span>,
    /// Accepted through `verify_request` with the DPoP scheme.
    presented_with_dpop: bool,
}

/// A per-process keyed hash of a credential: equal for the same text, unrelated otherwise, and
/// not computable from outside the process.
fn token_id(token: &str) -> u64 {
    use std::hash::BuildHasher;
    static KEY: std::sync::OnceLock<foldhash::quality::RandomState> = std::sync::OnceLock::new();
    KEY.get_or_init(Default::default).hash_one(token.as_bytes())
}

impl Inner {
    fn empty(kind: CredentialKind, token_id: u64) -> Inner {
        Inner {
            kind,
            alg: None,
            text: String::new(),
            json_len: 0,
            kid: None,
            typ: None,
            iss: None,
            sub: None,
            aud: Spans::default(),
            aud_owned: OnceLock::new(),
            exp: None,
            nbf: None,
            iat: None,
            jti: None,
            client_id: None,
            scopes: Scopes::Owned(Vec::new()),
            scopes_owned: OnceLock::new(),
            granted: Granted::default(),
            audience_matched: None,
            token_id,
            confirmation_jkt: None,
            presented_with_dpop: false,
        }
    }

    /// Appends `s` to the text.
    fn push(&mut self, s: &str) -> Span {
        let start = self.text.len();
        self.text.push_str(s);
        Span {
            start,
            end: self.text.len(),
        }
    }

    fn push_opt(&mut self, s: Option<&str>) -> Option<Span> {
        s.map(|s| self.push(s))
    }

    /// The string at `span` (spans are made from whole strings, so they fall on boundaries).
    fn get(&self, span: Option<Span>) -> Option<&str> {
        span.and_then(|s| self.text.get(s.start..s.end))
    }

    fn aud(&self) -> impl Iterator<Item = &str> {
        self.aud.iter().filter_map(|s| self.get(Some(s)))
    }

    /// The scopes: `scope` split on spaces, then `scp` entries (or the list given whole).
    fn scopes(&self) -> impl Iterator<Item = &str> {
        let (scope, scp, owned): (Option<Span>, &Spans, &[String]) = match &self.scopes {
            Scopes::Claims { scope, scp } => (*scope, scp, &[]),
            Scopes::Owned(list) => (None, &NO_SPANS, list),
        };
        self.get(scope)
            .unwrap_or("")
            .split(' ')
            .filter(|s| !s.is_empty())
            .chain(scp.iter().filter_map(|s| self.get(Some(s))))
            .chain(owned.iter().map(String::as_str))
    }

    /// Replaces the scopes with a list given whole.
    fn set_scopes(&mut self, scopes: Vec<String>) {
        self.scopes = Scopes::Owned(scopes);
        self.scopes_owned = OnceLock::new();
    }
}

/// The registered claims of a JWT or an introspection answer, as spans into the document they
/// were parsed from, waiting for that document (no longer borrowed) to become the text.
pub(crate) struct PendingClaims {
    /// Its `text` holds the claim values that are not in the document (unescaped strings).
    /// Already in the `Arc` the credential will be: the large `Inner` is moved once, not at
    /// every step.
    inner: Arc<Inner>,
}

impl PendingClaims {
    /// Records `claims`, parsed from `document`. The client is `client_id` (RFC 9068 §2.2), else
    /// `azp`, else `sub`; scopes are `scope` then `scp`.
    pub(crate) fn new(
        kind: CredentialKind,
        token: &str,
        claims: &Claims<'_>,
        document: &[u8],
    ) -> PendingClaims {
        let mut inner = Inner::empty(kind, token_id(token));
        let base = document.as_ptr() as usize;
        let mut span_of = |value: &str| -> Span {
            let at = (value.as_ptr() as usize).wrapping_sub(base);
            if at <= document.len() && value.len() <= document.len() - at {
                return Span {
                    start: at,
                    end: at + value.len(),
                };
            }
            // Not borrowed from the document (a value with escapes): kept in the extra text.
            let s = inner.push(value);
            Span {
                start: s.start + EXTRA,
                end: s.end + EXTRA,
            }
        };
        let mut span = |value: &Option<Cow<'_, str>>| value.as_deref().map(&mut span_of);
        let iss = span(&claims.iss);
        let sub = span(&claims.sub);
        let jti = span(&claims.jti);
        let confirmation_jkt = span(&claims.cnf_jkt);
        let client_id = match (&claims.client_id, &claims.azp) {
            (Some(_), _) => span(&claims.client_id),
            (None, Some(_)) => span(&claims.azp),
            (None, None) => sub,
        };
        let scope = span(&claims.scope);
        let mut aud = Spans::default();
        let mut scp = Spans::default();
        for a in claims.aud.iter() {
            aud.push(span_of(a));
        }
        for s in claims.scp.iter() {
            scp.push(span_of(s));
        }
        inner.iss = iss;
        inner.sub = sub;
        inner.jti = jti;
        inner.confirmation_jkt = confirmation_jkt;
        inner.client_id = client_id;
        inner.aud = aud;
        inner.exp = claims.exp;
        inner.nbf = claims.nbf;
        inner.iat = claims.iat;
        inner.scopes = Scopes::Claims { scope, scp };
        PendingClaims {
            inner: Arc::new(inner),
        }
    }

    /// The credential, with `document` (the bytes the claims were parsed from, as text) and the
    /// strings that come from elsewhere appended.
    fn finish(self, document: String, audience_matched: Option<&str>) -> Arc<Inner> {
        let mut arc = self.inner;
        // The only reference: `make_mut` does not copy.
        let inner = Arc::make_mut(&mut arc);
        let extra = std::mem::replace(&mut inner.text, document);
        inner.json_len = inner.text.len();
        let json_len = inner.json_len;
        inner.text.push_str(&extra);
        for span in [
            &mut inner.iss,
            &mut inner.sub,
            &mut inner.jti,
            &mut inner.confirmation_jkt,
            &mut inner.client_id,
        ]
        .into_iter()
        .flatten()
        {
            span.rebase(json_len);
        }
        inner.aud.rebase(json_len);
        if let Scopes::Claims { scope, scp } = &mut inner.scopes {
            scope.iter_mut().for_each(|s| s.rebase(json_len));
            scp.rebase(json_len);
        }
        inner.audience_matched = inner.push_opt(audience_matched);
        arc
    }
}

impl Verified {
    /// A verified JWT: its claims (parsed from `json`, which becomes
    /// [`claims_json`](Verified::claims_json)) and header members.
    pub(crate) fn from_jwt(
        claims: PendingClaims,
        json: String,
        header: (Algorithm, Option<&str>, Option<&str>),
        audience_matched: Option<&str>,
    ) -> Verified {
        let (alg, kid, typ) = header;
        let mut arc = claims.finish(json, audience_matched);
        let inner = Arc::make_mut(&mut arc);
        inner.alg = Some(alg);
        inner.kid = inner.push_opt(kid);
        inner.typ = inner.push_opt(typ);
        Verified(arc)
    }

    pub(crate) fn from_static(secret: &str, token: &StaticToken) -> Verified {
        let mut inner = Inner::empty(CredentialKind::StaticToken, token_id(secret));
        inner.text.push_str("{}");
        inner.json_len = 2;
        inner.sub = Some(inner.push(token.client_id()));
        inner.client_id = inner.sub;
        inner.audience_matched = inner.push_opt(token.audience());
        inner.aud = Spans {
            first: inner.audience_matched,
            rest: Vec::new(),
        };
        inner.set_scopes(token.scopes().to_vec());
        Verified(Arc::new(inner))
    }

    /// A credential from an introspection answer's claims (parsed from `response`).
    pub(crate) fn from_introspection(
        claims: PendingClaims,
        response: String,
        audience_matched: Option<&str>,
    ) -> Verified {
        Verified(claims.finish(response, audience_matched))
    }

    /// Marks a JWT accepted as an OIDC id_token.
    pub(crate) fn into_id_token(mut self) -> Verified {
        Arc::make_mut(&mut self.0).kind = CredentialKind::IdToken;
        self
    }

    /// Replaces the scopes and/or the client id with what a claim dialect read.
    pub(crate) fn with_dialect(
        mut self,
        scopes: Option<Vec<String>>,
        client_id: Option<Option<String>>,
    ) -> Verified {
        let inner = Arc::make_mut(&mut self.0);
        if let Some(scopes) = scopes {
            inner.set_scopes(scopes);
        }
        if let Some(client_id) = client_id {
            inner.client_id = inner.push_opt(client_id.as_deref());
        }
        self
    }

    /// A copy with its own reference count (see the cache's stripes).
    pub(crate) fn deep_clone(&self) -> Verified {
        Verified(Arc::new((*self.0).clone()))
    }

    /// The window in which a cached copy may be returned: `[max(nbf, iat) − leeway, exp + leeway)`.
    pub(crate) fn validity(&self, leeway: f64) -> (f64, f64) {
        let from = match (self.0.nbf, self.0.iat) {
            (None, None) => f64::NEG_INFINITY,
            (a, b) => {
                a.unwrap_or(f64::NEG_INFINITY)
                    .max(b.unwrap_or(f64::NEG_INFINITY))
                    - leeway
            }
        };
        let until = self.0.exp.map_or(f64::INFINITY, |exp| exp + leeway);
        (from, until)
    }

    /// The RFC 7638 thumbprint the token is bound to (`cnf.jkt`, RFC 9449 §6.1), for a
    /// DPoP-bound token. Such a token is accepted only through
    /// [`Verifier::verify_request`](crate::Verifier::verify_request) with a valid proof.
    pub fn confirmation_jkt(&self) -> Option<&str> {
        self.0.get(self.0.confirmation_jkt)
    }

    /// Whether this was a JWT or a static token.
    pub fn kind(&self) -> CredentialKind {
        self.0.kind
    }
    /// The header's `alg` (JWTs only).
    pub fn alg(&self) -> Option<Algorithm> {
        self.0.alg
    }
    /// The header's `kid`, if any.
    pub fn kid(&self) -> Option<&str> {
        self.0.get(self.0.kid)
    }
    /// The header's `typ`, if any.
    pub fn typ(&self) -> Option<&str> {
        self.0.get(self.0.typ)
    }
    /// `iss`.
    pub fn iss(&self) -> Option<&str> {
        self.0.get(self.0.iss)
    }
    /// `sub` (for static tokens: the configured client id).
    pub fn sub(&self) -> Option<&str> {
        self.0.get(self.0.sub)
    }
    /// `aud`, as a list (a single string becomes one element).
    pub fn aud(&self) -> &[String] {
        self.0
            .aud_owned
            .get_or_init(|| self.0.aud().map(str::to_owned).collect())
    }
    /// `exp` in whole seconds since the epoch (fractions are truncated; the raw value is in
    /// [`claims_json`](Verified::claims_json)).
    pub fn exp(&self) -> Option<u64> {
        self.0.exp.map(|v| v as u64)
    }
    /// `nbf` in whole seconds since the epoch.
    pub fn nbf(&self) -> Option<u64> {
        self.0.nbf.map(|v| v as u64)
    }
    /// `iat` in whole seconds since the epoch.
    pub fn iat(&self) -> Option<u64> {
        self.0.iat.map(|v| v as u64)
    }
    /// `jti`.
    pub fn jti(&self) -> Option<&str> {
        self.0.get(self.0.jti)
    }
    /// The client, by one rule for every adapter: `client_id` (RFC 9068 §2.2), else `azp` (the
    /// OIDC authorized party, which providers such as Keycloak and Entra set instead), else `sub`
    /// (for the client-credentials tokens of RFC 9068 §2.2 that name no resource owner, `sub` is
    /// the client). For a static token, its configured client id. `None` only for a JWT with none
    /// of the three.
    pub fn client_id(&self) -> Option<&str> {
        self.0.get(self.0.client_id)
    }

    /// The configured audience that the credential's `aud` matched — the resource the token was
    /// issued for, as this server names it. For a static token, the resource it was configured
    /// with. `None` when the verifier checks no audience.
    pub fn audience_matched(&self) -> Option<&str> {
        self.0.get(self.0.audience_matched)
    }

    /// Who the credential speaks for, as `(issuer, subject)`: the pair that identifies a user
    /// across tokens, for binding sessions to users (MCP security best practices). A static token
    /// has no issuer, and its client id as subject.
    pub fn principal(&self) -> (Option<&str>, Option<&str>) {
        (self.0.get(self.0.iss), self.0.get(self.0.sub))
    }

    /// Identifies the credential text: two results for the same token (a fresh verification and
    /// a cache hit) have the same id, results for different tokens differ (a keyed 64-bit hash,
    /// random per process). Lets a binding reuse its converted object for a token without
    /// comparing addresses.
    pub fn token_id(&self) -> u64 {
        self.0.token_id
    }
    /// Scopes from `scope` (space-separated) and `scp`.
    pub fn scopes(&self) -> &[String] {
        match &self.0.scopes {
            Scopes::Owned(list) => list,
            Scopes::Claims { .. } => self
                .0
                .scopes_owned
                .get_or_init(|| self.0.scopes().map(str::to_owned).collect()),
        }
    }
    /// Whether the credential grants `scope`: it carries it, or one of its scopes implies it in
    /// the verifier's scope hierarchy ([`VerifierBuilder::scope_implies`](crate::VerifierBuilder::scope_implies)).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.0.granted.all || self.granted_scopes().any(|s| s == scope)
    }

    /// The scopes the credential grants: its own ([`scopes`](Verified::scopes)), then those they
    /// imply in the verifier's scope hierarchy. (A scope that implies every scope, `*`, is not
    /// listed; [`has_scope`](Verified::has_scope) answers for it.)
    pub fn granted_scopes(&self) -> impl Iterator<Item = &str> {
        self.0
            .scopes()
            .chain(self.0.granted.implied.iter().map(String::as_str))
    }

    /// Applies the verifier's scope hierarchy (on a credential no one else holds yet).
    pub(crate) fn with_granted(mut self, granted: Granted) -> Verified {
        Arc::make_mut(&mut self.0).granted = granted;
        self
    }
    /// Checks that the credential carries every scope in `required`, with the same
    /// `insufficient_scope` error a verifier built with `required_scopes` gives. For frameworks
    /// that verify first and decide on scopes later (and answer 403 rather than 401).
    ///
    /// # Errors
    /// `insufficient_scope` naming the missing scopes and the ones the token has.
    pub fn require_scopes<S: AsRef<str>>(&self, required: &[S]) -> Result<(), Error> {
        if self.0.granted.all {
            return Ok(());
        }
        let checked = crate::claims::check_scopes(required, || self.granted_scopes());
        // RFC 9449 §7.1: the 403 goes on the challenge of the scheme the client used.
        match self.0.presented_with_dpop {
            true => checked.map_err(Error::in_dpop_scheme),
            false => checked,
        }
    }

    /// Whether the credential came with the DPoP scheme and a valid proof
    /// ([`Verifier::verify_request`](crate::Verifier::verify_request)): a later scope check's
    /// `insufficient_scope` then challenges with `DPoP`, as the core's own would.
    pub fn presented_with_dpop(&self) -> bool {
        self.0.presented_with_dpop
    }

    /// Marks a credential accepted with the DPoP scheme.
    pub(crate) fn with_dpop_presentation(mut self) -> Verified {
        Arc::make_mut(&mut self.0).presented_with_dpop = true;
        self
    }

    /// The claims set as the JSON text that was signed (`{}` for static tokens).
    pub fn claims_json(&self) -> &str {
        self.0.text.get(..self.0.json_len).unwrap_or("")
    }

    /// Deserializes the claims into your own type, for custom claims.
    ///
    /// # Errors
    /// `claim_invalid` if the claims do not fit `T`.
    ///
    /// ```
    /// # use jwtgate::{Verifier, StaticToken};
    /// #[derive(serde::Deserialize)]
    /// struct Custom { tenant: Option<String> }
    /// let v = Verifier::builder().static_token("k", "bot").build().unwrap();
    /// let custom: Custom = v.verify("k").unwrap().deserialize().unwrap();
    /// assert!(custom.tenant.is_none());
    /// ```
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_str(self.claims_json()).map_err(|e| {
            // serde's message may quote a claim value: shown truncated, like all token input.
            Error::new(
                ErrorCode::ClaimInvalid,
                format!(
                    "claims do not fit the requested type: {}",
                    crate::error::quote(&e.to_string())
                ),
            )
        })
    }
}

impl std::fmt::Debug for Verified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verified")
            .field("kind", &self.0.kind)
            .field("alg", &self.0.alg)
            .field("kid", &self.kid())
            .field("iss", &self.iss())
            .field("sub", &self.sub())
            .field("aud", &self.aud())
            .field("exp", &self.0.exp)
            .field("client_id", &self.client_id())
            .field("scopes", &self.scopes())
            .finish_non_exhaustive()
    }
}

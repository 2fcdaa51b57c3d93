//! The result of a successful verification.

use std::sync::Arc;

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

#[derive(Clone)]
struct Inner {
    kind: CredentialKind,
    alg: Option<Algorithm>,
    kid: Option<String>,
    typ: Option<String>,
    iss: Option<String>,
    sub: Option<String>,
    aud: Vec<String>,
    exp: Option<f64>,
    nbf: Option<f64>,
    iat: Option<f64>,
    jti: Option<String>,
    client_id: Option<String>,
    scopes: Vec<String>,
    /// What the verifier's scope hierarchy grants beyond `scopes`.
    granted: Granted,
    claims_json: String,
    /// The configured audience that one of `aud` matched (`None` when none is configured).
    audience_matched: Option<String>,
    /// Identifies the credential's text (see [`Verified::token_id`]).
    token_id: u64,
    /// `cnf.jkt`: the thumbprint of the key the token is bound to (RFC 9449 §6.1).
    confirmation_jkt: Option<String>,
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

fn owned(s: &Option<std::borrow::Cow<'_, str>>) -> Option<String> {
    s.as_deref().map(str::to_owned)
}

impl Inner {
    /// The registered claims of a JWT or an introspection answer. The client is `client_id`
    /// (RFC 9068 §2.2), else `azp`, else `sub`; scopes are `scope` then `scp`.
    fn from_claims(
        kind: CredentialKind,
        token: &str,
        claims: &Claims<'_>,
        audience_matched: Option<&str>,
    ) -> Inner {
        let client_id = claims
            .client_id
            .as_deref()
            .or(claims.azp.as_deref())
            .or(claims.sub.as_deref())
            .map(str::to_owned);
        Inner {
            kind,
            alg: None,
            kid: None,
            typ: None,
            iss: owned(&claims.iss),
            sub: owned(&claims.sub),
            aud: claims.aud.iter().map(|a| a.to_string()).collect(),
            exp: claims.exp,
            nbf: claims.nbf,
            iat: claims.iat,
            jti: owned(&claims.jti),
            client_id,
            scopes: claims.scopes().map(str::to_owned).collect(),
            granted: Granted::default(),
            claims_json: String::new(),
            audience_matched: audience_matched.map(str::to_owned),
            token_id: token_id(token),
            confirmation_jkt: owned(&claims.cnf_jkt),
            presented_with_dpop: false,
        }
    }
}

impl Verified {
    pub(crate) fn from_jwt(
        token: &str,
        header: (Algorithm, Option<&str>, Option<&str>),
        claims: &Claims<'_>,
        audience_matched: Option<&str>,
    ) -> Verified {
        let (alg, kid, typ) = header;
        let mut inner = Inner::from_claims(CredentialKind::Jwt, token, claims, audience_matched);
        inner.alg = Some(alg);
        inner.kid = kid.map(str::to_owned);
        inner.typ = typ.map(str::to_owned);
        Verified(Arc::new(inner))
    }

    pub(crate) fn from_static(secret: &str, token: &StaticToken) -> Verified {
        Verified(Arc::new(Inner {
            kind: CredentialKind::StaticToken,
            alg: None,
            kid: None,
            typ: None,
            iss: None,
            sub: Some(token.client_id().to_owned()),
            aud: token.audience().map(str::to_owned).into_iter().collect(),
            exp: None,
            nbf: None,
            iat: None,
            jti: None,
            client_id: Some(token.client_id().to_owned()),
            scopes: token.scopes().to_vec(),
            granted: Granted::default(),
            claims_json: "{}".to_owned(),
            audience_matched: token.audience().map(str::to_owned),
            token_id: token_id(secret),
            confirmation_jkt: None,
            presented_with_dpop: false,
        }))
    }

    /// A credential from an introspection answer's claims.
    pub(crate) fn from_introspection(
        token: &str,
        claims: &Claims<'_>,
        audience_matched: Option<&str>,
        response: String,
    ) -> Verified {
        let mut inner = Inner::from_claims(
            CredentialKind::Introspected,
            token,
            claims,
            audience_matched,
        );
        inner.claims_json = response;
        Verified(Arc::new(inner))
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
            inner.scopes = scopes;
        }
        if let Some(client_id) = client_id {
            inner.client_id = client_id;
        }
        self
    }

    /// Sets the raw claims text (the payload is moved in after the borrowed claims are done with).
    pub(crate) fn with_claims_json(mut self, json: String) -> Verified {
        Arc::make_mut(&mut self.0).claims_json = json;
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
        self.0.confirmation_jkt.as_deref()
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
        self.0.kid.as_deref()
    }
    /// The header's `typ`, if any.
    pub fn typ(&self) -> Option<&str> {
        self.0.typ.as_deref()
    }
    /// `iss`.
    pub fn iss(&self) -> Option<&str> {
        self.0.iss.as_deref()
    }
    /// `sub` (for static tokens: the configured client id).
    pub fn sub(&self) -> Option<&str> {
        self.0.sub.as_deref()
    }
    /// `aud`, as a list (a single string becomes one element).
    pub fn aud(&self) -> &[String] {
        &self.0.aud
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
        self.0.jti.as_deref()
    }
    /// The client, by one rule for every adapter: `client_id` (RFC 9068 §2.2), else `azp` (the
    /// OIDC authorized party, which providers such as Keycloak and Entra set instead), else `sub`
    /// (for the client-credentials tokens of RFC 9068 §2.2 that name no resource owner, `sub` is
    /// the client). For a static token, its configured client id. `None` only for a JWT with none
    /// of the three.
    pub fn client_id(&self) -> Option<&str> {
        self.0.client_id.as_deref()
    }

    /// The configured audience that the credential's `aud` matched — the resource the token was
    /// issued for, as this server names it. For a static token, the resource it was configured
    /// with. `None` when the verifier checks no audience.
    pub fn audience_matched(&self) -> Option<&str> {
        self.0.audience_matched.as_deref()
    }

    /// Who the credential speaks for, as `(issuer, subject)`: the pair that identifies a user
    /// across tokens, for binding sessions to users (MCP security best practices). A static token
    /// has no issuer, and its client id as subject.
    pub fn principal(&self) -> (Option<&str>, Option<&str>) {
        (self.0.iss.as_deref(), self.0.sub.as_deref())
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
        &self.0.scopes
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
            .scopes
            .iter()
            .chain(&self.0.granted.implied)
            .map(String::as_str)
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
        &self.0.claims_json
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
        serde_json::from_str(&self.0.claims_json).map_err(|e| {
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
            .field("kid", &self.0.kid)
            .field("iss", &self.0.iss)
            .field("sub", &self.0.sub)
            .field("aud", &self.0.aud)
            .field("exp", &self.0.exp)
            .field("client_id", &self.0.client_id)
            .field("scopes", &self.0.scopes)
            .finish_non_exhaustive()
    }
}

//! The verification policy: every rule a verifier applies to a token apart from its keys, fixed
//! when the verifier is built — the JWS rules (allowed algorithms, size), the expected `typ`, the
//! claims rules (issuer, audience, time, required claims) and the required scopes. ARCHITECTURE.md
//! lists where each rule runs in the pipeline.

use crate::claims::ClaimsPolicy;
use crate::dialect::Dialect;
use crate::error::{Error, ErrorDetail};
use crate::header::{typ_matches, typ_mismatch};
use crate::jws::JwsPolicy;
use crate::scopes::ScopeHierarchy;
use crate::verified::Verified;

/// A verifier's rules.
#[derive(Debug)]
pub(crate) struct Policy {
    pub(crate) jws: JwsPolicy,
    /// Expected header `typ`, compared as a media type (RFC 7515 §4.1.9).
    pub(crate) typ: Option<Box<str>>,
    /// A token without `typ` passes the `typ` check (id_token mode: `JWT` or absent).
    pub(crate) typ_may_be_absent: bool,
    pub(crate) claims: ClaimsPolicy,
    /// Scopes every credential must carry, static tokens included.
    pub(crate) required_scopes: Vec<Box<str>>,
    /// Broader scopes that imply narrower ones (none unless configured).
    pub(crate) scope_hierarchy: ScopeHierarchy,
    /// Where scopes and the client id come from (RFC 9068 unless configured).
    pub(crate) dialect: Dialect,
}

impl Policy {
    /// The header's `typ` against the expectation, if one is configured.
    pub(crate) fn check_typ(&self, found: Option<&str>) -> Result<(), Error> {
        match (&self.typ, found) {
            (None, _) => Ok(()),
            (Some(_), None) if self.typ_may_be_absent => Ok(()),
            (Some(expected), Some(found)) if typ_matches(found, expected) => Ok(()),
            (Some(expected), found) => {
                Err(typ_mismatch(found, expected).with_detail(ErrorDetail {
                    expected: vec![expected.to_string()],
                    found: found
                        .map(|f| f.chars().take(80).collect())
                        .into_iter()
                        .collect(),
                    ..ErrorDetail::default()
                }))
            }
        }
    }

    /// The required scopes, checked on the finished credential so that an `insufficient_scope`
    /// error carries it ([`Error::credential`]): frameworks answer 403 and can still say who asked.
    /// The scope hierarchy is applied first, so the credential (and every later
    /// [`Verified::require_scopes`]) grants what its scopes imply.
    pub(crate) fn check_scopes(&self, verified: Verified) -> Result<Verified, Error> {
        let verified = if self.scope_hierarchy.is_empty() {
            verified
        } else {
            let granted = self.scope_hierarchy.expand(verified.scopes());
            verified.with_granted(granted)
        };
        match verified.require_scopes(&self.required_scopes) {
            Ok(()) => Ok(verified),
            Err(e) => Err(e.with_credential(verified)),
        }
    }
}

//! The verifiers under test, built as an MCP server would: one from the issuer URL alone (its
//! keys come through discovery), one with the configured HS256 secret (a JWKS never carries
//! one). Both enforce the same policy.

use std::time::{Duration, Instant};

use jwtgate::{Algorithm, Error, Key, Stats, Verifier};

use super::issuer::DemoIssuer;
use super::{AUDIENCE, HMAC_ROW, REQUIRED_SCOPE};
use crate::ui::Failure;

pub(super) struct Verifiers {
    /// Keys through discovery: every published algorithm.
    pub(super) discovery: Verifier,
    /// The configured HS256 secret.
    pub(super) hmac: Verifier,
    /// From building the discovery verifier to its keys having arrived.
    pub(super) ready_after: Duration,
}

impl Verifiers {
    pub(super) fn build(issuer: &DemoIssuer) -> Result<Verifiers, Failure> {
        let setup = |what: &str, e: Error| Failure::engine(&format!("demo set-up: {what}"), &e);
        let ready_start = Instant::now();
        let discovery = policy()
            .issuer(issuer.url())
            .build()
            .map_err(|e| setup("building the verifier", e))?;
        discovery
            .wait_ready(Duration::from_secs(10))
            .map_err(|e| setup("the verifier did not get its keys", e))?;
        let ready_after = ready_start.elapsed();
        let hmac = issuer.hmac_key();
        let secret = hmac
            .secret()
            .ok_or_else(|| Failure::usage("the HS256 key has no secret", "report this bug"))?;
        let hmac_key = Key::hmac_secret(Algorithm::HS256, secret)
            .map_err(|e| setup("loading the HS256 secret", e))?
            .with_kid(hmac.kid());
        let hmac = policy()
            .issuer(issuer.url())
            .key(hmac_key)
            .build()
            .map_err(|e| setup("building the HS256 verifier", e))?;
        Ok(Verifiers {
            discovery,
            hmac,
            ready_after,
        })
    }

    /// The verifier for tokens of `row` (an index into `ROWS`).
    pub(super) fn for_row(&self, row: usize) -> &Verifier {
        if row == HMAC_ROW {
            &self.hmac
        } else {
            &self.discovery
        }
    }

    /// What each has counted: (discovery, hmac).
    pub(super) fn stats(&self) -> (Stats, Stats) {
        (self.discovery.stats(), self.hmac.stats())
    }
}

/// The policy every verifier in the demo enforces, as an MCP server would.
fn policy() -> jwtgate::VerifierBuilder {
    Verifier::builder()
        .audience(AUDIENCE)
        .required_scopes([REQUIRED_SCOPE])
        .typ("at+jwt")
}

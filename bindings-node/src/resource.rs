//! `NativeProtectedResource`: the core's [`jwtgate::ProtectedResource`] — the RFC 9728
//! metadata document and the RFC 6750 `WWW-Authenticate` challenges of an MCP resource server —
//! and its [`jwtgate::Challenge`]. `index.js` wraps it in the public `ProtectedResource` class.
//!
//! Nothing is decided here: the status, the challenge text (its `error`, `scope`,
//! `resource_metadata` and escaping) and the document are the core's.

use napi::Env;
use napi::bindgen_prelude::External;
use napi_derive::napi;

use crate::errors;

/// What to answer a refused request (the core's `Challenge`).
#[napi(object, object_from_js = false)]
pub struct Challenge {
    /// 401, 403, or the status of a server-side problem (503, 500).
    pub status: u16,
    /// The `WWW-Authenticate` value to send verbatim (a Bearer and a DPoP challenge, with DPoP
    /// on); absent for 5xx answers.
    pub www_authenticate: Option<String>,
    /// A fresh server nonce to send as `DPoP-Nonce` (RFC 9449 §8), when the verifier uses them.
    pub dpop_nonce: Option<String>,
}

impl Challenge {
    fn from_core(challenge: jwtgate::Challenge) -> Challenge {
        Challenge {
            status: challenge.status,
            www_authenticate: challenge.www_authenticate,
            dpop_nonce: challenge.dpop_nonce,
        }
    }
}

/// The native half of the public `ProtectedResource` class of `index.js`.
#[napi]
pub struct NativeProtectedResource {
    inner: jwtgate::ProtectedResource,
}

impl NativeProtectedResource {
    /// Wraps a resource the core built (`Verifier::protected_resource`).
    pub(crate) fn from_core(inner: jwtgate::ProtectedResource) -> NativeProtectedResource {
        NativeProtectedResource { inner }
    }
}

fn borrowed(values: &[String]) -> Vec<&str> {
    values.iter().map(String::as_str).collect()
}

#[napi]
impl NativeProtectedResource {
    /// The core's `ProtectedResource::new`; throws `JwtGateError` (`config_invalid`).
    #[napi(constructor, catch_unwind)]
    pub fn new(
        env: Env,
        resource: String,
        authorization_servers: Vec<String>,
        scopes_supported: Vec<String>,
    ) -> napi::Result<NativeProtectedResource> {
        jwtgate::ProtectedResource::new(
            &resource,
            &borrowed(&authorization_servers),
            &borrowed(&scopes_supported),
        )
        .map(|inner| NativeProtectedResource { inner })
        .map_err(|e| errors::from_core(&env, &e))
    }

    /// The resource identifier.
    #[napi(getter, catch_unwind)]
    pub fn resource(&self) -> String {
        self.inner.resource().to_owned()
    }

    /// Where the metadata document is served.
    #[napi(getter, catch_unwind)]
    pub fn metadata_url(&self) -> String {
        self.inner.metadata_url().to_owned()
    }

    /// The path of `metadataUrl`, for routing.
    #[napi(getter, catch_unwind)]
    pub fn metadata_path(&self) -> String {
        self.inner.metadata_path().to_owned()
    }

    /// The RFC 9728 document as JSON text.
    #[napi(catch_unwind)]
    pub fn metadata_json(&self) -> String {
        self.inner.metadata_json()
    }

    /// The answer to a request the verifier refused with `error` (the core's error, kept by
    /// `JwtGateError`).
    #[napi(catch_unwind)]
    pub fn challenge(
        &self,
        error: &External<jwtgate::Error>,
        required_scopes: Vec<String>,
    ) -> Challenge {
        Challenge::from_core(
            self.inner
                .challenge(Some(&**error), &borrowed(&required_scopes)),
        )
    }

    /// The answer to a request that carried no credential.
    #[napi(catch_unwind)]
    pub fn challenge_without_credential(&self, required_scopes: Vec<String>) -> Challenge {
        Challenge::from_core(self.inner.challenge(None, &borrowed(&required_scopes)))
    }
}

/// Throws the `token_malformed` `JwtGateError` for a credential the binding refuses before the
/// core sees it (a string with a lone surrogate, which has no UTF-8 form), with `message`. The
/// core's error comes from the core's own parser, so `ProtectedResource.challenge` answers it
/// like any other malformed credential.
#[napi(catch_unwind, js_name = "_malformedCredential")]
pub fn malformed_credential(env: Env, message: String) -> napi::Result<()> {
    match jwtgate::diagnostics::decode_unverified("") {
        Err(error) => Err(errors::from_core_with_message(&env, &error, message)),
        Ok(_) => Err(napi::Error::from_reason(
            "jwtgate: the core decoded an empty credential",
        )),
    }
}

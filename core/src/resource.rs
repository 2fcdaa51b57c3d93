//! The answers of an MCP server acting as an OAuth resource server (MCP authorization, revision
//! 2026-07-28): the protected-resource metadata document (RFC 9728) and the `WWW-Authenticate`
//! challenges (RFC 6750 §3) for a missing, invalid or insufficient credential. Built here once, so
//! that every adapter sends the same bytes.

use crate::alg::Algorithm;
use crate::dpop::DpopMode;
use crate::error::{Error, ErrorCode};
use crate::remote::url::HttpUrl;
use crate::verifier::Verifier;

/// RFC 9728 §3: the well-known path segment for protected-resource metadata.
const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// The MCP specification: servers should not advertise `offline_access` (refresh tokens are not a
/// resource requirement), neither in `scopes_supported` nor in a challenge's `scope`.
const OFFLINE_ACCESS: &str = "offline_access";

/// A protected resource: its identifier, its authorization servers and scopes, and where its
/// metadata document is served.
///
/// ```
/// use jwtgate::ProtectedResource;
/// let r = ProtectedResource::new("https://mcp.example.com/mcp", &["https://auth.example.com"],
///     &["tools:call", "offline_access"]).unwrap();
/// assert_eq!(r.metadata_url(), "https://mcp.example.com/.well-known/oauth-protected-resource/mcp");
/// let c = r.challenge(None, &["tools:call"]);
/// assert_eq!(c.status, 401);
/// assert_eq!(c.www_authenticate.as_deref(), Some(
///     r#"Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp", scope="tools:call""#));
/// ```
#[derive(Debug, Clone)]
pub struct ProtectedResource {
    resource: String,
    metadata_url: String,
    metadata_path: String,
    authorization_servers: Vec<String>,
    scopes_supported: Vec<String>,
    /// What the resource says of DPoP, when it accepts DPoP (RFC 9449 §7.1, RFC 9728 §2).
    dpop: Option<DpopAdvert>,
}

/// A verifier's DPoP settings as its resource advertises them.
#[derive(Debug, Clone)]
struct DpopAdvert {
    required: bool,
    algorithms: Vec<Algorithm>,
    /// The verifier, for fresh nonces when it requires them.
    nonces: Option<Verifier>,
}

/// What to answer a request that was refused: the HTTP status and, for 401 and 403, the
/// `WWW-Authenticate` header value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Challenge {
    /// 401, 403, or the status of a server-side problem (503, 500), from the error table.
    pub status: u16,
    /// The `WWW-Authenticate` value (`None` for 5xx answers, which carry no challenge). It may
    /// hold two challenges, `Bearer` and `DPoP` (RFC 9110 §11.6.1): send it as it is.
    pub www_authenticate: Option<String>,
    /// A fresh server nonce for the `DPoP-Nonce` header (RFC 9449 §8), when the verifier
    /// requires nonces.
    pub dpop_nonce: Option<String>,
    /// The OAuth error code the challenge carries (`invalid_token`, `insufficient_scope`,
    /// `invalid_dpop_proof`, `use_dpop_nonce`; RFC 6750 §3.1, RFC 9449 §7.1), or `server_error`
    /// for a 5xx answer; `None` when the request carried no credential. An error body
    /// (`{"error": ...}`) uses the same value.
    pub error: Option<&'static str>,
}

impl ProtectedResource {
    /// A resource identified by `resource` (an `https` URL without query or fragment; plain http
    /// only on loopback), protected by `authorization_servers` (their issuer identifiers), with
    /// `scopes_supported` (`offline_access` is left out).
    ///
    /// # Errors
    /// `config_invalid` for a resource that is not such a URL, an empty or non-URL authorization
    /// server, or a scope that is not an RFC 6749 §3.3 scope token.
    pub fn new(
        resource: &str,
        authorization_servers: &[&str],
        scopes_supported: &[&str],
    ) -> Result<ProtectedResource, Error> {
        let url = HttpUrl::parse(resource).map_err(Error::config)?;
        url.check_transport(resource, false)
            .map_err(Error::config)?;
        if url.path.contains('?') {
            return Err(Error::config(format!(
                "the resource {} has a query; RFC 9728 resource identifiers have none",
                crate::error::quote(resource)
            )));
        }
        for server in authorization_servers {
            HttpUrl::parse(server)
                .map_err(|e| Error::config(format!("authorization server: {e}")))?;
        }
        for scope in scopes_supported {
            check_scope_token(scope)?;
        }
        // RFC 9728 §3.1: the well-known segment goes between the host and the path.
        let path = url.path.trim_end_matches('/');
        let metadata_path = format!("{WELL_KNOWN}{path}");
        Ok(ProtectedResource {
            resource: resource.to_owned(),
            metadata_url: format!("{}{metadata_path}", url.origin()),
            metadata_path,
            authorization_servers: authorization_servers
                .iter()
                .map(|s| s.to_string())
                .collect(),
            scopes_supported: scopes_supported
                .iter()
                .filter(|s| **s != OFFLINE_ACCESS)
                .map(|s| s.to_string())
                .collect(),
            dpop: None,
        })
    }

    /// The resource a verifier protects: as [`new`](Self::new), with the verifier's issuers when
    /// `authorization_servers` is empty, its required scopes when `scopes_supported` is empty,
    /// and its DPoP settings (RFC 9728 `dpop_signing_alg_values_supported` and
    /// `dpop_bound_access_tokens_required`; `DPoP` challenges; nonces).
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn for_verifier(
        verifier: &Verifier,
        resource: &str,
        authorization_servers: &[&str],
        scopes_supported: &[&str],
    ) -> Result<ProtectedResource, Error> {
        let issuers = verifier.issuers();
        let servers = if authorization_servers.is_empty() {
            issuers.as_slice()
        } else {
            authorization_servers
        };
        let required = verifier.required_scopes();
        let scopes = if scopes_supported.is_empty() {
            required.as_slice()
        } else {
            scopes_supported
        };
        let mut resource = ProtectedResource::new(resource, servers, scopes)?;
        let (mode, algorithms, nonces) = verifier.dpop_settings();
        if mode != DpopMode::Off {
            resource.dpop = Some(DpopAdvert {
                required: mode == DpopMode::Required,
                algorithms,
                nonces: nonces.then(|| verifier.clone()),
            });
        }
        Ok(resource)
    }

    /// The resource identifier.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// Where the metadata document is served (the `resource_metadata` of every challenge).
    pub fn metadata_url(&self) -> &str {
        &self.metadata_url
    }

    /// The path part of [`metadata_url`](Self::metadata_url), for routing.
    pub fn metadata_path(&self) -> &str {
        &self.metadata_path
    }

    /// The RFC 9728 §2 metadata document: `resource`, `authorization_servers`,
    /// `scopes_supported` (when any), `bearer_methods_supported` (`header` only: MCP forbids
    /// tokens in the query string).
    pub fn metadata_json(&self) -> String {
        let mut doc = serde_json::json!({
            "resource": self.resource,
            "authorization_servers": self.authorization_servers,
            "bearer_methods_supported": ["header"],
        });
        if self.authorization_servers.is_empty() {
            if let Some(doc) = doc.as_object_mut() {
                doc.remove("authorization_servers");
            }
        }
        if !self.scopes_supported.is_empty() {
            doc["scopes_supported"] = serde_json::json!(self.scopes_supported);
        }
        if let Some(dpop) = &self.dpop {
            let algs: Vec<&str> = dpop.algorithms.iter().map(|a| a.as_str()).collect();
            doc["dpop_signing_alg_values_supported"] = serde_json::json!(algs);
            if dpop.required {
                doc["dpop_bound_access_tokens_required"] = serde_json::json!(true);
            }
        }
        doc.to_string()
    }

    /// The answer to a refused request. `rejection` is the verifier's error, or `None` when the
    /// request carried no credential; `required_scopes` are all the scopes the operation needs,
    /// sent together in one challenge (MCP: no incremental challenges).
    ///
    /// * no credential → 401 `Bearer resource_metadata=…, scope=…` (no `error`, RFC 6750 §3.1);
    /// * `insufficient_scope` → 403 with `error="insufficient_scope"` and the needed scopes (the
    ///   error's missing scopes when `required_scopes` is empty);
    /// * any other rejection → 401 `error="invalid_token"`;
    /// * a server-side problem (keys unavailable, configuration) → its 5xx status, no challenge.
    ///
    /// `error_description` is the code's fixed client description: configuration and token
    /// contents never reach the client.
    pub fn challenge(&self, rejection: Option<&Error>, required_scopes: &[&str]) -> Challenge {
        // A request without a usable credential is answered as one without any (RFC 6750 §3.1).
        let rejection = rejection.filter(|e| e.code() != ErrorCode::CredentialMissing);
        let status = rejection.map_or(401, |e| e.code().http_status());
        if status >= 500 {
            return Challenge {
                status,
                www_authenticate: None,
                dpop_nonce: None,
                error: Some("server_error"),
            };
        }
        let mut scopes: Vec<&str> = required_scopes.to_vec();
        if scopes.is_empty() {
            if let Some(detail) = rejection.and_then(Error::detail) {
                scopes = detail.missing_scopes.iter().map(String::as_str).collect();
            }
        }
        scopes.retain(|s| *s != OFFLINE_ACCESS);
        // RFC 9449 §7.1: the error goes with the scheme the client used (or the DPoP one for
        // proof errors); the other challenge only says where and how to get a credential.
        let error = rejection.map(|e| {
            let name = match e.code() {
                ErrorCode::InsufficientScope => "insufficient_scope",
                ErrorCode::DpopProofInvalid | ErrorCode::DpopProofReplayed => "invalid_dpop_proof",
                // A missing proof is a proof error only when the client chose the DPoP scheme;
                // a bound token sent as Bearer is an invalid Bearer token (RFC 9449 §7.2).
                ErrorCode::DpopProofMissing if e.dpop_scheme() => "invalid_dpop_proof",
                ErrorCode::DpopNonceRequired => "use_dpop_nonce",
                _ => "invalid_token",
            };
            let dpop_side = e.dpop_scheme()
                || matches!(
                    e.code(),
                    ErrorCode::DpopProofInvalid
                        | ErrorCode::DpopProofReplayed
                        | ErrorCode::DpopNonceRequired
                );
            (name, e.code().client_description(), dpop_side)
        });
        let render = |scheme: &str, error: Option<(&str, &str)>, extra: Option<String>| {
            let mut params: Vec<(&str, String)> = Vec::new();
            if let Some(algs) = extra {
                params.push(("algs", algs));
            }
            if let Some((name, description)) = error {
                params.push(("error", name.to_owned()));
                params.push(("error_description", description.to_owned()));
            }
            params.push(("resource_metadata", self.metadata_url.clone()));
            if !scopes.is_empty() {
                params.push(("scope", scopes.join(" ")));
            }
            let rendered: Vec<String> = params
                .iter()
                .map(|(name, value)| format!("{name}={}", quoted_string(value)))
                .collect();
            format!("{scheme} {}", rendered.join(", "))
        };
        let mut challenges = Vec::with_capacity(2);
        let dpop_error = error.filter(|e| e.2).map(|e| (e.0, e.1));
        let bearer_error = error.filter(|e| !e.2).map(|e| (e.0, e.1));
        match &self.dpop {
            None => challenges.push(render("Bearer", error.map(|e| (e.0, e.1)), None)),
            Some(dpop) => {
                if !dpop.required {
                    challenges.push(render("Bearer", bearer_error, None));
                }
                let algs: Vec<&str> = dpop.algorithms.iter().map(|a| a.as_str()).collect();
                let dpop_error = if dpop.required {
                    dpop_error.or(bearer_error)
                } else {
                    dpop_error
                };
                challenges.push(render("DPoP", dpop_error, Some(algs.join(" "))));
            }
        }
        let dpop_nonce = self
            .dpop
            .as_ref()
            .and_then(|d| d.nonces.as_ref())
            .and_then(|v| v.fresh_dpop_nonce());
        Challenge {
            status,
            www_authenticate: Some(challenges.join(", ")),
            dpop_nonce,
            error: error.map(|e| e.0),
        }
    }
}

/// RFC 9110 §5.6.4 quoted-string: `"` and `\` escaped; characters a header cannot carry
/// (controls, non-ASCII) replaced by `?`.
fn quoted_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' ' | '\t' | '!'..='~' => out.push(c),
            _ => out.push('?'),
        }
    }
    out.push('"');
    out
}

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
fn check_scope_token(scope: &str) -> Result<(), Error> {
    let valid = !scope.is_empty()
        && scope
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
    if valid {
        Ok(())
    } else {
        Err(Error::config(format!(
            "scope {} is not an RFC 6749 scope token (printable ASCII without space, quote or backslash)",
            crate::error::quote(scope)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource() -> ProtectedResource {
        ProtectedResource::new(
            "https://mcp.example.com/mcp",
            &["https://auth.example.com"],
            &["tools:call", "files:read", "offline_access"],
        )
        .unwrap()
    }

    #[test]
    fn metadata_url_inserts_the_well_known_segment_before_the_path() {
        assert_eq!(
            resource().metadata_url(),
            "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
        );
        for root in ["https://mcp.example.com", "https://mcp.example.com/"] {
            let r = ProtectedResource::new(root, &[], &[]).unwrap();
            assert_eq!(r.metadata_path(), "/.well-known/oauth-protected-resource");
        }
        let port = ProtectedResource::new("https://mcp.example.com:8443/a/b", &[], &[]).unwrap();
        assert_eq!(
            port.metadata_url(),
            "https://mcp.example.com:8443/.well-known/oauth-protected-resource/a/b"
        );
    }

    #[test]
    fn the_document_has_the_rfc_9728_members_and_no_offline_access() {
        let doc: serde_json::Value = serde_json::from_str(&resource().metadata_json()).unwrap();
        assert_eq!(doc["resource"], "https://mcp.example.com/mcp");
        assert_eq!(
            doc["authorization_servers"],
            serde_json::json!(["https://auth.example.com"])
        );
        assert_eq!(
            doc["scopes_supported"],
            serde_json::json!(["tools:call", "files:read"])
        );
        assert_eq!(
            doc["bearer_methods_supported"],
            serde_json::json!(["header"])
        );
    }

    #[test]
    fn bad_resources_and_scopes_are_config_invalid() {
        for bad in [
            "mcp.example.com",
            "https://mcp.example.com/#f",
            "https://mcp.example.com/?q=1",
            "http://mcp.example.com/",
        ] {
            assert_eq!(
                ProtectedResource::new(bad, &[], &[]).unwrap_err().code(),
                ErrorCode::ConfigInvalid,
                "{bad}"
            );
        }
        assert!(ProtectedResource::new("http://127.0.0.1:8080/mcp", &[], &[]).is_ok());
        for bad in ["", "a b", "q\"", "back\\slash", "é"] {
            assert!(
                ProtectedResource::new("https://m.example", &[], &[bad]).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn challenges_follow_rfc_6750_and_the_mcp_rules() {
        let r = resource();
        let meta = "resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/mcp\"";
        // No credential: no error attribute, every needed scope in one challenge.
        let c = r.challenge(None, &["tools:call", "files:read", "offline_access"]);
        assert_eq!(c.status, 401);
        assert_eq!(
            c.www_authenticate.unwrap(),
            format!("Bearer {meta}, scope=\"tools:call files:read\"")
        );
        // An invalid token: invalid_token with the fixed description, nothing from the message.
        let expired = Error::new(
            ErrorCode::TokenExpired,
            "token expired 3s ago; issuer \"https://secret\"",
        );
        let c = r.challenge(Some(&expired), &[]);
        assert_eq!(c.status, 401);
        let header = c.www_authenticate.unwrap();
        assert_eq!(
            header,
            format!(
                "Bearer error=\"invalid_token\", error_description=\"The access token expired\", {meta}"
            )
        );
        assert!(!header.contains("secret"));
        // Missing scope: 403 with the scopes the operation needs, or the missing ones.
        let scope = crate::claims::check_scopes(&["files:write"], || ["files:read"].into_iter())
            .unwrap_err();
        let c = r.challenge(Some(&scope), &[]);
        assert_eq!(c.status, 403);
        assert_eq!(
            c.www_authenticate.unwrap(),
            format!(
                "Bearer error=\"insufficient_scope\", error_description=\"The access token lacks a required scope\", {meta}, scope=\"files:write\""
            )
        );
        assert!(
            r.challenge(Some(&scope), &["a", "b"])
                .www_authenticate
                .unwrap()
                .ends_with("scope=\"a b\"")
        );
        // Server-side problems carry no challenge.
        let down = Error::new(ErrorCode::JwksUnavailable, "no keys");
        assert_eq!(
            r.challenge(Some(&down), &[]),
            Challenge {
                status: 503,
                www_authenticate: None,
                dpop_nonce: None,
                error: Some("server_error"),
            }
        );
        assert_eq!(r.challenge(None, &[]).error, None);
        assert_eq!(
            r.challenge(Some(&scope), &[]).error,
            Some("insufficient_scope")
        );
    }

    #[test]
    fn quoted_strings_escape_quotes_and_backslashes_and_drop_controls() {
        assert_eq!(quoted_string("a\"b\\c\nd é"), "\"a\\\"b\\\\c?d ?\"");
    }
}

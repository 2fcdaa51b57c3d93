//! Configuration from environment variables, the way MCP deployments are usually configured.
//!
//! | variable (after the prefix) | meaning |
//! |---|---|
//! | `OAUTH_ISSUER` or `OAUTH_ISSUER_URL` | the issuer (keys are discovered from it) |
//! | `OIDC_CONFIG_URL` | the discovery URL; the issuer is what precedes `/.well-known/openid-configuration` |
//! | `OAUTH_JWKS_URI` | the JWKS URL (skips discovery) |
//! | `OIDC_AUDIENCE` or `OAUTH_AUDIENCE` | accepted audiences, comma-separated |
//! | `OIDC_REQUIRED_SCOPES` | required scopes, comma-separated |
//! | `BEARER_TOKEN`, `API_KEY` | static tokens (client ids `bearer-token`, `api-key`), granted the required scopes |
//!
//! Blank values count as unset. A half-configured OIDC setup is `config_invalid` naming the
//! missing variable.

use crate::builder::VerifierBuilder;
use crate::error::Error;
use crate::static_tokens::StaticToken;

const WELL_KNOWN: &str = "/.well-known/openid-configuration";

/// Builds from variables looked up with `get` (the process environment in [`from_env`]).
pub(crate) fn builder_from(
    prefix: &str,
    get: impl Fn(&str) -> Option<String>,
) -> Result<VerifierBuilder, Error> {
    if prefix.is_empty() {
        // Without a prefix the names are generic (API_KEY, BEARER_TOKEN): an unrelated variable of
        // the same name would silently become an accepted credential.
        return Err(Error::config(
            "from_env needs a non-empty prefix such as \"MCP_\": without one, generic variables like API_KEY or BEARER_TOKEN would become accepted credentials",
        ));
    }
    let var = |name: &str| {
        get(&format!("{prefix}{name}"))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let first = |names: &[&str]| names.iter().find_map(|n| var(n));
    let list = |v: String| {
        v.split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
    };

    let mut builder = VerifierBuilder::default();
    let issuer = match (first(&["OAUTH_ISSUER", "OAUTH_ISSUER_URL"]), var("OIDC_CONFIG_URL")) {
        (Some(issuer), _) => Some(issuer),
        (None, Some(config_url)) => Some(
            config_url
                .strip_suffix(WELL_KNOWN)
                .map(str::to_owned)
                .ok_or_else(|| {
                    Error::config(format!(
                        "{prefix}OIDC_CONFIG_URL must end with {WELL_KNOWN}; or set {prefix}OAUTH_ISSUER"
                    ))
                })?,
        ),
        (None, None) => None,
    };
    let jwks_uri = var("OAUTH_JWKS_URI");
    let audience = first(&["OIDC_AUDIENCE", "OAUTH_AUDIENCE"]).map(list);
    let scopes = var("OIDC_REQUIRED_SCOPES").map(list);
    let oidc_started = jwks_uri.is_some() || audience.is_some() || scopes.is_some();
    match (&issuer, oidc_started) {
        (None, true) => {
            return Err(Error::config(format!(
                "OIDC is half configured: set {prefix}OAUTH_ISSUER (or {prefix}OIDC_CONFIG_URL)"
            )));
        }
        (Some(_), _) if audience.is_none() => {
            return Err(Error::config(format!(
                "OIDC is half configured: set {prefix}OIDC_AUDIENCE (the resource your tokens name in aud)"
            )));
        }
        _ => {}
    }
    if let Some(issuer) = issuer {
        builder = builder.issuer(issuer);
    }
    if let Some(uri) = jwks_uri {
        builder = builder.jwks_uri(uri);
    }
    if let Some(audience) = audience {
        builder = builder.audiences(audience);
    }
    let scopes = scopes.unwrap_or_default();
    builder = builder.required_scopes(scopes.clone());
    // Required scopes apply to static tokens too; a token configured next to them in the
    // environment is the operator's own full-access credential, so it carries them.
    for (name, client_id) in [("BEARER_TOKEN", "bearer-token"), ("API_KEY", "api-key")] {
        if let Some(secret) = var(name) {
            builder = builder
                .static_tokens([StaticToken::new(secret, client_id).with_scopes(scopes.clone())]);
        }
    }
    Ok(builder)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;
    use std::collections::HashMap;

    fn build(vars: &[(&str, &str)]) -> Result<crate::Verifier, Error> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        builder_from("MCP_", |k| map.get(k).cloned())?.build()
    }

    #[test]
    fn static_tokens_only() {
        let v = build(&[
            ("MCP_BEARER_TOKEN", "t0k3n"),
            ("MCP_API_KEY", "  "),
            ("MCP_OIDC_AUDIENCE", ""),
        ])
        .unwrap();
        assert_eq!(v.verify("t0k3n").unwrap().client_id(), Some("bearer-token"));
        assert_eq!(v.verify("").unwrap_err().code(), ErrorCode::TokenUnknown);
    }

    #[test]
    fn half_configured_oidc_names_the_missing_variable() {
        let e = build(&[("MCP_OAUTH_ISSUER", "https://idp.example")]).unwrap_err();
        assert_eq!(e.code(), ErrorCode::ConfigInvalid);
        assert!(e.message().contains("MCP_OIDC_AUDIENCE"), "{e}");
        let e = build(&[("MCP_OIDC_AUDIENCE", "a")]).unwrap_err();
        assert!(e.message().contains("MCP_OAUTH_ISSUER"), "{e}");
        let e = build(&[
            ("MCP_OIDC_CONFIG_URL", "https://idp.example/config"),
            ("MCP_OIDC_AUDIENCE", "a"),
        ])
        .unwrap_err();
        assert!(e.message().contains("must end with"), "{e}");
        assert_eq!(build(&[]).unwrap_err().code(), ErrorCode::ConfigInvalid);
    }

    #[test]
    fn an_empty_prefix_is_refused_before_any_variable_is_read() {
        let e = builder_from("", |name| panic!("read {name}"))
            .err()
            .unwrap();
        assert_eq!(e.code(), ErrorCode::ConfigInvalid);
        assert!(
            e.message().contains("non-empty prefix") && e.message().contains("API_KEY"),
            "{e}"
        );
    }
}

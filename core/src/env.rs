//! Configuration from environment variables, the way MCP deployments are usually configured.
//!
//! | variable (after the prefix) | meaning |
//! |---|---|
//! | `OAUTH_ISSUER` or `OAUTH_ISSUER_URL` | the issuer (keys are discovered from it) |
//! | `OIDC_CONFIG_URL` | the discovery URL; the issuer is what precedes `/.well-known/openid-configuration` |
//! | `OAUTH_JWKS_URI` | the JWKS URL (skips discovery) |
//! | `OIDC_AUDIENCE` or `OAUTH_AUDIENCE` | accepted audiences, comma-separated |
//! | `OIDC_REQUIRED_SCOPES` | required scopes, comma-separated |
//! | `OIDC_AUDIENCE_CHECK` | `off` (or `false`): no audience check, for providers that set none — logged as a warning; the only way to leave the audience unset |
//! | `OIDC_VERIFY_ACCESS_TOKEN` | `false`: id_token mode (the credential is an id_token issued to `OIDC_CLIENT_ID`) |
//! | `OIDC_CLIENT_ID` | the client id of id_token mode |
//! | `BEARER_TOKEN`, `API_KEY` | static tokens (client ids `bearer-token`, `api-key`), granted the required scopes |
//! | `OAUTH_CLIENT_ID`, `OAUTH_CLIENT_SECRET` | token introspection (RFC 7662) for opaque tokens, as this client |
//! | `OAUTH_INTROSPECTION_URL` | the introspection endpoint (default: from the issuer's metadata) |
//! | `AUTH_MODE` (or `AUTH`) | `oauth` (tokens only), `api_key` (static tokens only), `both`; `none` is refused (serve without a verifier instead) |
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
    let switch = |name: &str, on: &[&str], off: &[&str]| -> Result<Option<bool>, Error> {
        match var(name) {
            None => Ok(None),
            Some(v) if on.iter().any(|o| v.eq_ignore_ascii_case(o)) => Ok(Some(true)),
            Some(v) if off.iter().any(|o| v.eq_ignore_ascii_case(o)) => Ok(Some(false)),
            Some(v) => Err(Error::config(format!(
                "{prefix}{name} is {}; use one of {}",
                crate::error::quote(&v),
                [on, off].concat().join(", ")
            ))),
        }
    };
    let audience_check = switch("OIDC_AUDIENCE_CHECK", &["on", "true"], &["off", "false"])?;
    let id_token_mode = switch(
        "OIDC_VERIFY_ACCESS_TOKEN",
        &["false", "no"],
        &["true", "yes"],
    )?
    .unwrap_or(false);
    let client_id = var("OIDC_CLIENT_ID");
    let mode = match first(&["AUTH_MODE", "AUTH"]).map(|m| m.to_ascii_lowercase()) {
        None => AuthMode::Configured,
        Some(m) => match m.as_str() {
            "oauth" | "oidc" | "jwt" => AuthMode::OAuth,
            "api_key" | "apikey" | "api-key" => AuthMode::ApiKey,
            "both" => AuthMode::Both,
            "none" => {
                return Err(Error::config(format!(
                    "{prefix}AUTH_MODE is none: the server runs without authentication, so build no verifier (jwtgate never accepts every request)"
                )));
            }
            other => {
                return Err(Error::config(format!(
                    "{prefix}AUTH_MODE is {}; use oauth, api_key, both or none",
                    crate::error::quote(other)
                )));
            }
        },
    };
    let oidc_started = jwks_uri.is_some()
        || audience.is_some()
        || scopes.is_some()
        || audience_check.is_some()
        || id_token_mode;
    let needs_oidc = matches!(mode, AuthMode::OAuth | AuthMode::Both);
    match (&issuer, oidc_started || needs_oidc) {
        (None, true) => {
            return Err(Error::config(format!(
                "OIDC is half configured: set {prefix}OAUTH_ISSUER (or {prefix}OIDC_CONFIG_URL)"
            )));
        }
        (Some(_), _) if id_token_mode && client_id.is_none() => {
            return Err(Error::config(format!(
                "{prefix}OIDC_VERIFY_ACCESS_TOKEN=false verifies id_tokens: set {prefix}OIDC_CLIENT_ID, the client they are issued to"
            )));
        }
        (Some(_), _) if audience.is_none() && audience_check != Some(false) && !id_token_mode => {
            return Err(Error::config(format!(
                "OIDC is half configured: set {prefix}OIDC_AUDIENCE (the resource your tokens name in aud), or, for a provider that sets none, {prefix}OIDC_AUDIENCE_CHECK=off (tokens for any service of this issuer are then accepted)"
            )));
        }
        _ => {}
    }
    let issuer = match mode {
        AuthMode::ApiKey => None,
        _ => issuer,
    };
    let introspection = (
        var("OAUTH_CLIENT_ID"),
        var("OAUTH_CLIENT_SECRET"),
        var("OAUTH_INTROSPECTION_URL"),
    );
    match (&issuer, introspection) {
        (_, (None, None, None)) => {}
        (Some(_), (Some(id), Some(secret), url)) => {
            builder = builder.introspection(id, secret);
            if let Some(url) = url {
                builder = builder.introspection_endpoint(url);
            }
        }
        (None, _) => {
            return Err(Error::config(format!(
                "introspection is configured but no issuer: set {prefix}OAUTH_ISSUER"
            )));
        }
        (Some(_), _) => {
            return Err(Error::config(format!(
                "introspection needs both {prefix}OAUTH_CLIENT_ID and {prefix}OAUTH_CLIENT_SECRET"
            )));
        }
    }
    if let Some(issuer) = &issuer {
        builder = builder.issuer(issuer.clone());
        if let Some(uri) = jwks_uri {
            builder = builder.jwks_uri(uri);
        }
        if id_token_mode {
            // `client_id` was checked above.
            builder = builder.id_token(client_id.unwrap_or_default());
        } else if let Some(audience) = audience {
            builder = builder.audiences(audience);
        } else {
            builder = builder.insecure_skip_audience_check();
        }
    }
    let scopes = scopes.unwrap_or_default();
    if !id_token_mode {
        builder = builder.required_scopes(scopes.clone());
    }
    // Required scopes apply to static tokens too; a token configured next to them in the
    // environment is the operator's own full-access credential, so it carries them.
    let mut keys = 0;
    if mode != AuthMode::OAuth {
        for (name, client_id) in [("BEARER_TOKEN", "bearer-token"), ("API_KEY", "api-key")] {
            if let Some(secret) = var(name) {
                keys += 1;
                builder = builder.static_tokens([
                    StaticToken::new(secret, client_id).with_scopes(scopes.clone())
                ]);
            }
        }
    }
    if matches!(mode, AuthMode::ApiKey | AuthMode::Both) && keys == 0 {
        return Err(Error::config(format!(
            "{prefix}AUTH_MODE asks for API keys: set {prefix}API_KEY (or {prefix}BEARER_TOKEN)"
        )));
    }
    Ok(builder)
}

/// What `AUTH_MODE` asks for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AuthMode {
    /// Unset: whatever the other variables configure.
    Configured,
    OAuth,
    ApiKey,
    Both,
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

#[cfg(test)]
mod seed_style_tests {
    use super::*;
    use crate::{CredentialKind, ErrorCode};
    use std::collections::HashMap;

    fn build(vars: &[(&str, &str)]) -> Result<crate::Verifier, Error> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        builder_from("X_", |k| map.get(k).cloned())?.build()
    }

    const ISSUER: (&str, &str) = ("X_OAUTH_ISSUER", "https://idp.example");

    #[test]
    fn the_audience_check_is_off_only_when_said_so() {
        let e = build(&[ISSUER]).unwrap_err();
        assert!(e.message().contains("X_OIDC_AUDIENCE_CHECK=off"), "{e}");
        build(&[ISSUER, ("X_OIDC_AUDIENCE_CHECK", "off")]).unwrap();
        build(&[ISSUER, ("X_OIDC_AUDIENCE_CHECK", "FALSE")]).unwrap();
        let e = build(&[ISSUER, ("X_OIDC_AUDIENCE_CHECK", "maybe")]).unwrap_err();
        assert!(e.message().contains("X_OIDC_AUDIENCE_CHECK"), "{e}");
        // "on" without an audience still needs the audience.
        assert!(build(&[ISSUER, ("X_OIDC_AUDIENCE_CHECK", "on")]).is_err());
    }

    #[test]
    fn verify_access_token_false_is_id_token_mode_for_the_client() {
        let e = build(&[ISSUER, ("X_OIDC_VERIFY_ACCESS_TOKEN", "false")]).unwrap_err();
        assert!(e.message().contains("X_OIDC_CLIENT_ID"), "{e}");
        let key = crate::sign::SigningKey::generate(crate::Algorithm::ES256, "k").unwrap();
        let map: HashMap<String, String> = [
            ("X_OAUTH_ISSUER", "https://idp.example"),
            ("X_OIDC_VERIFY_ACCESS_TOKEN", "false"),
            ("X_OIDC_CLIENT_ID", "web"),
            ("X_OIDC_REQUIRED_SCOPES", "ignored-for-id-tokens"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let v = builder_from("X_", |k| map.get(k).cloned())
            .unwrap()
            .jwks(&key.public_jwks())
            .build()
            .unwrap();
        let token = key
            .mint(
                &serde_json::json!({"iss": "https://idp.example", "aud": "web", "sub": "u",
                "exp": crate::now_unix() + 60}),
            )
            .unwrap();
        assert_eq!(v.verify(&token).unwrap().kind(), CredentialKind::IdToken);
    }

    #[test]
    fn auth_mode_chooses_the_credentials() {
        let key = ("X_API_KEY", "k-123");
        let oidc = [ISSUER, ("X_OIDC_AUDIENCE", "api")];
        // api_key: the OIDC variables are not used.
        let v = build(&[oidc[0], oidc[1], key, ("X_AUTH_MODE", "api_key")]).unwrap();
        assert!(v.issuers().is_empty());
        v.verify("k-123").unwrap();
        // oauth: the API key is not accepted.
        let v = build(&[oidc[0], oidc[1], key, ("X_AUTH_MODE", "oauth")]).unwrap();
        assert_eq!(
            v.verify("k-123").unwrap_err().code(),
            ErrorCode::TokenMalformed
        );
        // both: both, and each must be configured.
        build(&[oidc[0], oidc[1], key, ("X_AUTH", "both")]).unwrap();
        assert!(build(&[oidc[0], oidc[1], ("X_AUTH_MODE", "both")]).is_err());
        assert!(build(&[key, ("X_AUTH_MODE", "oauth")]).is_err());
        for mode in ["none", "maybe"] {
            let e = build(&[key, ("X_AUTH_MODE", mode)]).unwrap_err();
            assert_eq!(e.code(), ErrorCode::ConfigInvalid);
            assert!(e.message().contains("X_AUTH_MODE"), "{e}");
        }
    }
}

#[cfg(test)]
mod introspection_env_tests {
    use super::*;
    use std::collections::HashMap;

    fn builder(vars: &[(&str, &str)]) -> Result<crate::Verifier, Error> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        builder_from("X_", |k| map.get(k).cloned())?.build()
    }

    #[test]
    fn introspection_needs_the_client_id_and_secret_together() {
        let base = [
            ("X_OAUTH_ISSUER", "https://idp.example"),
            ("X_OIDC_AUDIENCE", "api"),
        ];
        builder(&[
            base[0],
            base[1],
            ("X_OAUTH_CLIENT_ID", "rs"),
            ("X_OAUTH_CLIENT_SECRET", "s"),
        ])
        .unwrap();
        builder(&[
            base[0],
            base[1],
            ("X_OAUTH_CLIENT_ID", "rs"),
            ("X_OAUTH_CLIENT_SECRET", "s"),
            (
                "X_OAUTH_INTROSPECTION_URL",
                "https://idp.example/introspect",
            ),
        ])
        .unwrap();
        let e = builder(&[base[0], base[1], ("X_OAUTH_CLIENT_ID", "rs")]).unwrap_err();
        assert!(e.message().contains("X_OAUTH_CLIENT_SECRET"), "{e}");
        let e = builder(&[
            ("X_OAUTH_CLIENT_ID", "rs"),
            ("X_OAUTH_CLIENT_SECRET", "s"),
            ("X_API_KEY", "k"),
        ])
        .unwrap_err();
        assert!(e.message().contains("X_OAUTH_ISSUER"), "{e}");
    }
}

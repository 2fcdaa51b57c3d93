//! `jwtgate serve` configuration: a TOML file (`--config`), the seed-style environment variables
//! the core reads (`Verifier::from_env`), and flags; checked as a whole before anything listens.
//!
//! Precedence: flags, then the environment (`{prefix}RATE_LIMIT_RPS`, `{prefix}RATE_LIMIT_BURST`),
//! then the file, then defaults. The verifier comes from the file's `[verifier]` section or, when
//! there is none, from the `{prefix}` variables (never a mix of both: two half configurations of
//! one issuer are a mistake waiting to happen).

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use axum::http::HeaderName;
use jwtgate::{DpopMode, StaticToken, Verifier, VerifierBuilder};
use jwtgate_tower::{Gate, Route};
use serde::Deserialize;

use super::cidr::Cidr;
use super::limit::{LimitSettings, Rate};
use super::log::Format;
use super::redis::RedisUrl;

/// Default listen address (loopback: the decision endpoint is for the proxy next to it).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9180";
/// Default prefix of the environment variables.
pub const DEFAULT_ENV_PREFIX: &str = "MCP_";

const MAX_RPS: f64 = 100_000.0;
const MAX_BURST: u32 = 1_000_000;
const MAX_KEYS: usize = 10_000_000;
const MIN_KEYS: usize = 16;

/// The file, exactly as written (unknown keys refused).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    listen: Option<String>,
    public_url: Option<String>,
    #[serde(default)]
    public_origins: Vec<String>,
    env_prefix: Option<String>,
    #[serde(default)]
    authorization_servers: Vec<String>,
    api_key_header: Option<String>,
    #[serde(default)]
    trusted_proxies: Vec<String>,
    log: Option<String>,
    verifier: Option<VerifierSection>,
    #[serde(default)]
    headers: HeadersSection,
    #[serde(default)]
    rate_limit: RateLimitSection,
    #[serde(default)]
    routes: Vec<RouteSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifierSection {
    issuer: Option<String>,
    #[serde(default)]
    audience: Vec<String>,
    /// `false`: no audience check (a provider that sets none); must be said explicitly.
    audience_check: Option<bool>,
    jwks_uri: Option<String>,
    #[serde(default)]
    required_scopes: Vec<String>,
    dpop: Option<String>,
    #[serde(default)]
    dpop_nonce: bool,
    /// The environment variable holding the DPoP nonce secret (RFC 9449 §8), the same in every
    /// replica so that each accepts the others' nonces; implies `dpop_nonce`. Without it each
    /// process makes its own secret, and a client must stay on one replica.
    dpop_nonce_secret_env: Option<String>,
    #[serde(default)]
    api_keys: Vec<ApiKeySection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApiKeySection {
    client_id: String,
    /// The environment variable holding the key: secrets stay out of the file.
    secret_env: String,
    #[serde(default)]
    scopes: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeadersSection {
    subject: Option<String>,
    client_id: Option<String>,
    scopes: Option<String>,
    issuer: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RateLimitSection {
    enabled: Option<bool>,
    rps: Option<f64>,
    burst: Option<u32>,
    failed_rps: Option<f64>,
    failed_burst: Option<u32>,
    max_keys: Option<usize>,
    redis_url: Option<String>,
    redis_prefix: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteSection {
    exact: Option<String>,
    prefix: Option<String>,
    #[serde(default)]
    methods: Vec<String>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    public: bool,
    resource: Option<String>,
}

/// What flags override.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--listen`.
    pub listen: Option<String>,
    /// `--public-url`.
    pub public_url: Option<String>,
    /// `--env-prefix`.
    pub env_prefix: Option<String>,
    /// `--log`.
    pub log: Option<String>,
}

/// The identity headers of an allowed request.
#[derive(Debug, Clone)]
pub struct IdentityHeaders {
    /// The token's `sub`.
    pub subject: HeaderName,
    /// The client id (RFC 9068 `client_id`, or the API key's id).
    pub client_id: HeaderName,
    /// The granted scopes, space-separated.
    pub scopes: HeaderName,
    /// The token's `iss`.
    pub issuer: HeaderName,
}

/// A route as configured (kept for `--check`).
#[derive(Debug, Clone)]
pub struct RouteSpec {
    /// `exact` or `prefix`.
    pub kind: &'static str,
    /// The path.
    pub path: String,
    /// Methods (empty: all).
    pub methods: Vec<String>,
    /// Scopes on top of the verifier's.
    pub scopes: Vec<String>,
    /// No credential needed.
    pub public: bool,
    /// Its own resource.
    pub resource: Option<String>,
}

/// Everything `serve` runs with, checked.
pub struct Settings {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The gate (verifier, resources, routes).
    pub gate: Gate,
    /// Origins (`scheme://authority`) a trusted proxy may name in `X-Forwarded-Host`/`-Proto`
    /// for the DPoP `htu`; the public URL's origin first.
    pub public_origins: Vec<String>,
    /// Peers whose forwarding headers are believed.
    pub trusted_proxies: Vec<Cidr>,
    /// Identity header names.
    pub headers: IdentityHeaders,
    /// Rate limits (`None`: off).
    pub limits: Option<LimitSettings>,
    /// The shared store, with its key prefix.
    pub redis: Option<(RedisUrl, String)>,
    /// Log format.
    pub log: Format,
    /// Where the verifier's configuration came from.
    pub verifier_source: String,
    /// The accepted audiences, as configured (for `--check`).
    pub audience: String,
    /// The routes as configured.
    pub routes: Vec<RouteSpec>,
    /// The environment prefix.
    pub env_prefix: String,
}

/// Reads and checks the configuration. `get_env` looks up environment variables.
pub fn load(
    path: Option<&Path>,
    overrides: &Overrides,
    get_env: &dyn Fn(&str) -> Option<String>,
) -> Result<Settings, String> {
    let file: File = match path {
        None => File::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
    };
    resolve(file, overrides, get_env)
}

fn resolve(
    file: File,
    overrides: &Overrides,
    get_env: &dyn Fn(&str) -> Option<String>,
) -> Result<Settings, String> {
    let env_prefix = overrides
        .env_prefix
        .clone()
        .or(file.env_prefix.clone())
        .unwrap_or_else(|| DEFAULT_ENV_PREFIX.to_string());
    let env = |name: &str| {
        get_env(&format!("{env_prefix}{name}"))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };

    let listen_text = overrides
        .listen
        .clone()
        .or(file.listen.clone())
        .unwrap_or_else(|| DEFAULT_LISTEN.to_string());
    let listen: SocketAddr = listen_text.parse().map_err(|_| {
        format!("listen = {listen_text:?} is not an address:port such as 127.0.0.1:9180")
    })?;

    let log_name = overrides
        .log
        .clone()
        .or(file.log.clone())
        .unwrap_or_else(|| "json".into());
    let log = Format::from_name(&log_name)
        .ok_or_else(|| format!("log = {log_name:?}: use json, logfmt or off"))?;

    let public_url = overrides
        .public_url
        .clone()
        .or(file.public_url.clone())
        .ok_or("public_url is required (--public-url or public_url in the file): the URL clients use for the protected server, e.g. https://mcp.example.com/mcp; it is the RFC 9728 resource, and its origin is the DPoP htu origin")?;

    let (verifier, verifier_source, audience) =
        build_verifier(file.verifier, &env_prefix, get_env)?;

    let mut routes = Vec::new();
    for (i, r) in file.routes.into_iter().enumerate() {
        let (kind, path) = match (r.exact, r.prefix) {
            (Some(p), None) => ("exact", p),
            (None, Some(p)) => ("prefix", p),
            _ => {
                return Err(format!(
                    "routes[{i}]: give exactly one of exact = \"/path\" or prefix = \"/path\""
                ));
            }
        };
        if r.public && !r.scopes.is_empty() {
            return Err(format!(
                "routes[{i}] ({path}): a public route cannot require scopes"
            ));
        }
        for m in &r.methods {
            if m.is_empty() || !m.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(format!("routes[{i}] ({path}): {m:?} is not an HTTP method"));
            }
        }
        routes.push(RouteSpec {
            kind,
            path,
            methods: r.methods.iter().map(|m| m.to_ascii_uppercase()).collect(),
            scopes: r.scopes,
            public: r.public,
            resource: r.resource,
        });
    }

    let mut builder = Gate::builder(verifier).resource(public_url.clone());
    if !file.authorization_servers.is_empty() {
        builder = builder.authorization_servers(file.authorization_servers);
    }
    if let Some(name) = &file.api_key_header {
        header_name("api_key_header", name)?;
        builder = builder.api_key_header(name.clone());
    }
    for spec in &routes {
        let mut route = match spec.kind {
            "exact" => Route::exact(spec.path.clone()),
            _ => Route::prefix(spec.path.clone()),
        };
        if !spec.methods.is_empty() {
            route = route.methods(spec.methods.clone());
        }
        if !spec.scopes.is_empty() {
            route = route.scopes(spec.scopes.clone());
        }
        if spec.public {
            route = route.public();
        }
        if let Some(resource) = &spec.resource {
            route = route.resource(resource.clone());
        }
        builder = builder.route(route);
    }
    let gate = builder.build().map_err(|e| e.message().to_string())?;

    let mut public_origins = vec![gate.origin().to_string()];
    for origin in &file.public_origins {
        let normal = normalize_origin(origin).ok_or_else(|| {
            format!("public_origins: {origin:?} is not an origin (scheme://host[:port], no path)")
        })?;
        if !public_origins.contains(&normal) {
            public_origins.push(normal);
        }
    }

    let trusted_proxies = file
        .trusted_proxies
        .iter()
        .map(|t| Cidr::parse(t).map_err(|e| format!("trusted_proxies: {e}")))
        .collect::<Result<Vec<_>, _>>()?;

    let h = file.headers;
    let headers = IdentityHeaders {
        subject: header_name(
            "headers.subject",
            h.subject.as_deref().unwrap_or("X-Auth-Subject"),
        )?,
        client_id: header_name(
            "headers.client_id",
            h.client_id.as_deref().unwrap_or("X-Auth-Client-Id"),
        )?,
        scopes: header_name(
            "headers.scopes",
            h.scopes.as_deref().unwrap_or("X-Auth-Scopes"),
        )?,
        issuer: header_name(
            "headers.issuer",
            h.issuer.as_deref().unwrap_or("X-Auth-Issuer"),
        )?,
    };
    let names = [
        &headers.subject,
        &headers.client_id,
        &headers.scopes,
        &headers.issuer,
    ];
    for (i, a) in names.iter().enumerate() {
        if names[i + 1..].contains(a) {
            return Err(format!("headers: {a} is used for two identity fields"));
        }
    }

    let (limits, redis) = rate_limits(file.rate_limit, &env, &env_prefix)?;

    Ok(Settings {
        listen,
        gate,
        public_origins,
        trusted_proxies,
        headers,
        limits,
        redis,
        log,
        verifier_source,
        audience,
        routes,
        env_prefix,
    })
}

fn build_verifier(
    section: Option<VerifierSection>,
    prefix: &str,
    get_env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Verifier, String, String), String> {
    let Some(v) = section else {
        let builder = VerifierBuilder::from_env(prefix)
            .map_err(|e| format!("the verifier from {prefix}* variables: {}", e.message()))?;
        let verifier = builder.build().map_err(|e| {
            format!(
                "the verifier from {prefix}* variables: {} (set {prefix}OAUTH_ISSUER and {prefix}OIDC_AUDIENCE, or {prefix}API_KEY, or write a [verifier] section)",
                e.message()
            )
        })?;
        let audience = ["OIDC_AUDIENCE", "OAUTH_AUDIENCE"]
            .iter()
            .find_map(|n| get_env(&format!("{prefix}{n}")).filter(|v| !v.trim().is_empty()));
        let audience = match audience {
            Some(a) => a,
            None if verifier.issuers().is_empty() => "(none: API keys only)".into(),
            None => format!("NOT CHECKED ({prefix}OIDC_AUDIENCE_CHECK=off or id_token mode)"),
        };
        return Ok((verifier, format!("environment ({prefix}*)"), audience));
    };
    // Two sources for one verifier would make it unclear which issuer is trusted.
    for name in [
        "OAUTH_ISSUER",
        "OAUTH_ISSUER_URL",
        "OIDC_CONFIG_URL",
        "OAUTH_JWKS_URI",
        "OIDC_AUDIENCE",
        "OAUTH_AUDIENCE",
        "OIDC_REQUIRED_SCOPES",
        "API_KEY",
        "BEARER_TOKEN",
        "AUTH_MODE",
    ] {
        if get_env(&format!("{prefix}{name}")).is_some_and(|v| !v.trim().is_empty()) {
            return Err(format!(
                "the file has a [verifier] section and {prefix}{name} is set: configure the verifier in one place (unset the variable, or remove the section)"
            ));
        }
    }
    let mut builder = Verifier::builder();
    if let Some(issuer) = &v.issuer {
        builder = builder.issuer(issuer.clone());
        if let Some(uri) = &v.jwks_uri {
            builder = builder.jwks_uri(uri.clone());
        }
        match (v.audience.is_empty(), v.audience_check) {
            (false, Some(false)) => {
                return Err(
                    "[verifier]: audience is set and audience_check = false: choose one".into(),
                );
            }
            (false, _) => builder = builder.audiences(v.audience.clone()),
            (true, Some(false)) => builder = builder.insecure_skip_audience_check(),
            (true, _) => {
                return Err("[verifier]: set audience (the resource your tokens name in aud), or audience_check = false for a provider that sets none".into());
            }
        }
    } else if v.jwks_uri.is_some() || !v.audience.is_empty() || v.audience_check.is_some() {
        return Err(
            "[verifier]: issuer is required with jwks_uri / audience / audience_check".into(),
        );
    }
    builder = builder.required_scopes(v.required_scopes.clone());
    if let Some(mode) = &v.dpop {
        let mode = DpopMode::from_name(mode)
            .ok_or_else(|| format!("[verifier] dpop = {mode:?}: use off, allowed or required"))?;
        builder = builder.dpop(mode);
    }
    if v.dpop_nonce {
        builder = builder.dpop_nonce(true);
    }
    if let Some(name) = &v.dpop_nonce_secret_env {
        let secret = get_env(name)
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| {
                format!("[verifier] dpop_nonce_secret_env: the variable {name} is not set")
            })?;
        builder = builder.dpop_nonce_secret(secret.as_bytes());
    }
    for key in &v.api_keys {
        let secret = get_env(&key.secret_env)
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| {
                format!(
                    "[verifier] api_keys {}: the variable {} is not set",
                    key.client_id, key.secret_env
                )
            })?;
        let mut scopes = v.required_scopes.clone();
        scopes.extend(key.scopes.iter().cloned());
        builder = builder
            .static_tokens([StaticToken::new(secret, key.client_id.clone()).with_scopes(scopes)]);
    }
    if v.issuer.is_none() && v.api_keys.is_empty() {
        return Err("[verifier]: set issuer (and audience), or api_keys".into());
    }
    let verifier = builder
        .build()
        .map_err(|e| format!("[verifier]: {}", e.message()))?;
    let audience = match (&v.issuer, v.audience.is_empty()) {
        (None, _) => "(none: API keys only)".to_string(),
        (Some(_), true) => "NOT CHECKED (audience_check = false)".to_string(),
        (Some(_), false) => v.audience.join(", "),
    };
    Ok((verifier, "the [verifier] section".into(), audience))
}

type Limits = (Option<LimitSettings>, Option<(RedisUrl, String)>);

fn rate_limits(
    section: RateLimitSection,
    env: &dyn Fn(&str) -> Option<String>,
    prefix: &str,
) -> Result<Limits, String> {
    let rps_env = env("RATE_LIMIT_RPS");
    let burst_env = env("RATE_LIMIT_BURST");
    if section.enabled == Some(false) {
        if rps_env.is_some() || burst_env.is_some() {
            return Err(format!(
                "rate_limit.enabled = false but {prefix}RATE_LIMIT_RPS / _BURST is set"
            ));
        }
        return Ok((None, None));
    }
    let rps = match rps_env {
        Some(text) => text
            .parse::<f64>()
            .map_err(|_| format!("{prefix}RATE_LIMIT_RPS = {text:?} is not a number"))?,
        None => section.rps.unwrap_or(10.0),
    };
    let burst = match burst_env {
        Some(text) => text
            .parse::<u32>()
            .map_err(|_| format!("{prefix}RATE_LIMIT_BURST = {text:?} is not a whole number"))?,
        None => section.burst.unwrap_or_else(|| {
            // Twice a second's worth by default, at least 1.
            (rps * 2.0).ceil().clamp(1.0, f64::from(MAX_BURST)) as u32
        }),
    };
    check_rate(
        "rate_limit.rps (requests per second per client)",
        rps,
        MAX_RPS,
    )?;
    check_burst("rate_limit.burst", burst)?;
    let failed_rps = section.failed_rps.unwrap_or(0.1_f64.min(rps));
    let failed_burst = section.failed_burst.unwrap_or(10.min(burst));
    check_rate("rate_limit.failed_rps", failed_rps, rps)?;
    check_burst("rate_limit.failed_burst", failed_burst)?;
    if failed_burst > burst {
        return Err(format!(
            "rate_limit.failed_burst = {failed_burst} is looser than burst = {burst}: the failed-attempt limit must be the stricter one"
        ));
    }
    let max_keys = section.max_keys.unwrap_or(100_000);
    if !(MIN_KEYS..=MAX_KEYS).contains(&max_keys) {
        return Err(format!(
            "rate_limit.max_keys = {max_keys}: use {MIN_KEYS} to {MAX_KEYS}"
        ));
    }
    let redis = match section.redis_url {
        None => {
            if section.redis_prefix.is_some() {
                return Err("rate_limit.redis_prefix without redis_url".into());
            }
            None
        }
        Some(url) => {
            let url = RedisUrl::parse(&url).map_err(|e| format!("rate_limit.redis_url: {e}"))?;
            let prefix = section.redis_prefix.unwrap_or_else(|| "jwtgate:rl:".into());
            if prefix.len() > 64 || prefix.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err("rate_limit.redis_prefix: at most 64 characters, no spaces".into());
            }
            Some((url, prefix))
        }
    };
    Ok((
        Some(LimitSettings {
            client: Rate {
                per_second: rps,
                burst: f64::from(burst),
            },
            failed: Rate {
                per_second: failed_rps,
                burst: f64::from(failed_burst),
            },
            max_keys,
        }),
        redis,
    ))
}

fn check_rate(name: &str, value: f64, max: f64) -> Result<(), String> {
    // Below one token a day the bucket never refills in any useful time.
    let min = 1.0 / Duration::from_secs(86_400).as_secs_f64();
    if !value.is_finite() || value < min || value > max {
        return Err(format!(
            "{name} = {value}: use a rate above 0 (at least one per day) and at most {max}"
        ));
    }
    Ok(())
}

fn check_burst(name: &str, value: u32) -> Result<(), String> {
    if value == 0 || value > MAX_BURST {
        return Err(format!("{name} = {value}: use 1 to {MAX_BURST}"));
    }
    Ok(())
}

fn header_name(what: &str, name: &str) -> Result<HeaderName, String> {
    let parsed = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("{what} = {name:?} is not an HTTP header name"))?;
    // Headers the proxy or HTTP itself gives meaning to cannot carry identity.
    const RESERVED: [&str; 9] = [
        "authorization",
        "dpop",
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "cookie",
        "www-authenticate",
        "retry-after",
    ];
    if RESERVED.contains(&parsed.as_str()) {
        return Err(format!("{what} = {name:?} is a reserved header"));
    }
    Ok(parsed)
}

/// `scheme://authority` lower-cased, default port dropped; `None` unless it is exactly an
/// http(s) origin.
pub fn normalize_origin(text: &str) -> Option<String> {
    let text = text.trim_end_matches('/');
    let (scheme, authority) = text.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return None;
    }
    if authority.is_empty()
        || authority
            .chars()
            .any(|c| matches!(c, '/' | '?' | '#' | '@' | ' ') || c.is_control())
    {
        return None;
    }
    let authority = authority.to_ascii_lowercase();
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    let authority = authority
        .strip_suffix(default_port)
        .unwrap_or(&authority)
        .to_string();
    Some(format!("{scheme}://{authority}"))
}

impl Settings {
    /// What `--check` prints: everything that will be enforced.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        let verifier = self.gate.verifier();
        let _ = writeln!(out, "listen:          {}", self.listen);
        let _ = writeln!(out, "verifier from:   {}", self.verifier_source);
        let _ = writeln!(
            out,
            "env overrides:   {p}RATE_LIMIT_RPS, {p}RATE_LIMIT_BURST",
            p = self.env_prefix
        );
        let issuers = verifier.issuers();
        let _ = writeln!(
            out,
            "issuer:          {}",
            if issuers.is_empty() {
                "(none: API keys only)".to_string()
            } else {
                issuers.join(", ")
            }
        );
        let _ = writeln!(out, "audience:        {}", self.audience);
        let required = verifier.required_scopes();
        let _ = writeln!(
            out,
            "required scopes: {}",
            if required.is_empty() {
                "(none)".to_string()
            } else {
                required.join(" ")
            }
        );
        let _ = writeln!(out, "public origins:  {}", self.public_origins.join(", "));
        for resource in self.gate.resources() {
            let _ = writeln!(
                out,
                "resource:        {} (metadata: {})",
                resource.resource(),
                resource.metadata_path()
            );
        }
        let _ = writeln!(
            out,
            "api key header:  {}",
            self.gate
                .api_key_header()
                .map_or("(not read)", |h| h.as_str())
        );
        if self.routes.is_empty() {
            let _ = writeln!(
                out,
                "routes:          (none: every path needs the required scopes)"
            );
        } else {
            let _ = writeln!(out, "routes:");
            for r in &self.routes {
                let methods = if r.methods.is_empty() {
                    "any method".to_string()
                } else {
                    r.methods.join(",")
                };
                let policy = if r.public {
                    "public".to_string()
                } else if r.scopes.is_empty() {
                    "required scopes".to_string()
                } else {
                    format!("required scopes + {}", r.scopes.join(" "))
                };
                let resource = r
                    .resource
                    .as_deref()
                    .map(|x| format!(" (resource {x})"))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "  {} {} [{methods}]: {policy}{resource}",
                    r.kind, r.path
                );
            }
            let _ = writeln!(out, "  other paths: required scopes");
        }
        let _ = writeln!(
            out,
            "trusted proxies: {}",
            if self.trusted_proxies.is_empty() {
                "(none: the TCP peer is the client address)".to_string()
            } else {
                self.trusted_proxies
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        );
        let h = &self.headers;
        let _ = writeln!(
            out,
            "identity headers: subject {}, client id {}, scopes {}, issuer {}",
            h.subject, h.client_id, h.scopes, h.issuer
        );
        match &self.limits {
            None => {
                let _ = writeln!(out, "rate limits:     off");
            }
            Some(l) => {
                let _ = writeln!(
                    out,
                    "rate limit:      {} requests/s per client, burst {}",
                    l.client.per_second, l.client.burst
                );
                let _ = writeln!(
                    out,
                    "failed attempts: {} per second per address, burst {}",
                    l.failed.per_second, l.failed.burst
                );
                let _ = writeln!(
                    out,
                    "rate store:      {}",
                    match &self.redis {
                        Some((url, prefix)) => format!(
                            "redis {} (keys {prefix}*; local buckets while it is down)",
                            url.redacted()
                        ),
                        None => format!("this process (at most {} buckets)", l.max_keys),
                    }
                );
            }
        }
        out
    }
}

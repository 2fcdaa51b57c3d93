//! `jwtgate serve`: a forward-auth decision service for reverse proxies (nginx `auth_request`,
//! Caddy `forward_auth`, Traefik `ForwardAuth`, Envoy HTTP `ext_authz`), built on
//! `jwtgate_tower::Gate`. Every credential rule is the core's; this module reads the proxy's
//! headers, rate-limits, and answers in the form each proxy understands.
//!
//! # Usage (stable: deploy/ configurations and tests depend on it)
//!
//! ```text
//! jwtgate serve [--config jwtgate.toml] [--listen 127.0.0.1:9180] [--public-url URL]
//!               [--env-prefix MCP_] [--log json|logfmt|off] [--check]
//! ```
//! `--check` validates the configuration, prints what would be enforced (routes, scopes,
//! limits, issuer, audience) and exits 0, or 2 with the problem. On start, one log line
//! `{"msg":"listening","addr":"127.0.0.1:PORT",...}` on stderr (`--listen 127.0.0.1:0` picks a
//! port). SIGTERM / SIGINT: stop accepting, finish in-flight requests, exit 0.
//!
//! Endpoints:
//! - `ANY /auth` — decision for Caddy `forward_auth`, Traefik `ForwardAuth`, nginx: original
//!   request from `X-Original-Method` + `X-Original-URI` (nginx) or `X-Forwarded-Method` +
//!   `X-Forwarded-Uri` (Caddy, Traefik); method defaults to this request's own. True statuses.
//! - `ANY /auth/nginx` — the same for nginx `auth_request`, which passes only 2xx/401/403: a 429,
//!   503 or 400 is answered as 403 with `X-Auth-Status: 429|503|400` (and `Retry-After`); map
//!   it back in nginx (`auth_request_set $auth_status $upstream_http_x_auth_status;`).
//! - `ANY /ext_authz/<original path>` — Envoy HTTP `ext_authz` (`path_prefix: /ext_authz`): the
//!   original method and path (with query) are this request's own.
//! - `GET /.well-known/oauth-protected-resource/<path>` — RFC 9728 metadata, one per resource.
//! - `GET /health` — 200 `{"status":"ok",...}` when keys are loaded, else 503 with the reason.
//! - `GET /metrics` — Prometheus text (`jwtgate_serve_*`, `jwtgate_verifier_*`).
//!
//! Request headers read: `Authorization`, `DPoP` (every value), the API-key header (default
//! `X-API-Key`, static tokens only), the dialect's method/URI headers above; from trusted
//! proxies only (`trusted_proxies` CIDRs): `X-Forwarded-Host` (Envoy: `Host`) and
//! `X-Forwarded-Proto` for the DPoP `htu` origin (used only when they form one of
//! `public_origins`), `X-Forwarded-For` / `X-Real-IP` for the client address.
//!
//! Answers: 2xx with `X-Auth-Subject`, `X-Auth-Client-Id`, `X-Auth-Scopes` (space-separated),
//! `X-Auth-Issuer` (names configurable in `[headers]`; always all present, empty when unknown;
//! values outside printable ASCII, and `%`, percent-encoded) — copy them upstream and strip any
//! the client sent. Denials: 401 / 403 / 503 with `WWW-Authenticate` (and `DPoP-Nonce`), 429
//! with `Retry-After`, 400 for an unusable original request; JSON body
//! `{"error","error_description","code"}`. Every answer carries `X-Auth-Status` (the true
//! status).
//!
//! Configuration: see `config.rs` (TOML keys) and `cli/README.md`; the verifier from
//! `[verifier]` or the `MCP_*` variables of `Verifier::from_env`; `MCP_RATE_LIMIT_RPS` and
//! `MCP_RATE_LIMIT_BURST` override the file.

mod app;
mod cidr;
mod config;
mod forward;
mod limit;
mod log;
mod metrics;
mod redis;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use serde_json::{Map, Value};

use self::config::Overrides;
use self::metrics::Metrics;

/// `jwtgate serve` options.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The TOML configuration file (listen address, public URL, verifier, routes, headers, rate
    /// limits, trusted proxies, Redis).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on (default 127.0.0.1:9180; port 0 picks one, logged at start).
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// The URL clients use for the protected server (the RFC 9728 resource; its origin is the
    /// DPoP htu origin), e.g. https://mcp.example.com/mcp.
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// Prefix of the environment variables (default MCP_).
    #[arg(long, value_name = "PREFIX")]
    env_prefix: Option<String>,
    /// Decision log format on stderr: json (default), logfmt, off.
    #[arg(long, value_name = "FORMAT")]
    log: Option<String>,
    /// Validate the configuration, print what would be enforced, and exit.
    #[arg(long)]
    check: bool,
}

/// Runs `serve`; exit code 0 after a clean shutdown, 2 for a configuration error, 1 when the
/// server cannot start.
pub fn run(args: &ServeArgs) -> ExitCode {
    let overrides = Overrides {
        listen: args.listen.clone(),
        public_url: args.public_url.clone(),
        env_prefix: args.env_prefix.clone(),
        log: args.log.clone(),
    };
    let get_env = |name: &str| std::env::var(name).ok();
    let settings = match config::load(args.config.as_deref(), &overrides, &get_env) {
        Ok(s) => s,
        Err(problem) => {
            eprintln!("jwtgate serve: configuration error: {problem}");
            return ExitCode::from(2);
        }
    };
    if args.check {
        print!("{}", settings.describe());
        println!("configuration OK");
        return ExitCode::SUCCESS;
    }
    log::init(settings.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("jwtgate serve: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let code = runtime.block_on(serve(settings));
    // The log writer is a background thread: let it write the last lines before the exit.
    log::flush(Duration::from_secs(2));
    code
}

async fn serve(settings: config::Settings) -> ExitCode {
    let metrics = Arc::new(Metrics::default());
    let limiter = settings.limits.clone().map(|limits| {
        let redis = settings
            .redis
            .clone()
            .map(|(url, prefix)| redis::Redis::new(url, prefix));
        limit::Limiter::new(limits, redis, Arc::clone(&metrics))
    });
    let app = Arc::new(app::App::new(&settings, limiter, Arc::clone(&metrics)));
    let listener = match tokio::net::TcpListener::bind(settings.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("jwtgate serve: cannot listen on {}: {e}", settings.listen);
            return ExitCode::from(1);
        }
    };
    let addr = listener
        .local_addr()
        .map_or_else(|_| settings.listen.to_string(), |a| a.to_string());
    let mut fields = Map::new();
    fields.insert("addr".into(), Value::from(addr));
    fields.insert(
        "public_url".into(),
        Value::from(
            settings
                .gate
                .resources()
                .first()
                .map_or("", |r| r.resource()),
        ),
    );
    fields.insert(
        "verifier".into(),
        Value::from(settings.verifier_source.clone()),
    );
    fields.insert(
        "rate_store".into(),
        Value::from(match (&settings.limits, &settings.redis) {
            (None, _) => "off".to_string(),
            (Some(_), None) => "local".to_string(),
            (Some(_), Some((url, _))) => url.redacted(),
        }),
    );
    log::info("listening", fields);

    // Fetch keys now rather than on the first request, and say whether that worked.
    let verifier = settings.gate.verifier().clone();
    tokio::task::spawn_blocking(move || match verifier.wait_ready(Duration::from_secs(10)) {
        Ok(()) => log::info("keys ready", Map::new()),
        Err(e) => log::warn(&format!("keys not ready yet: {}", e.message())),
    });
    // Drop rate-limit buckets that have refilled.
    let sweeper = Arc::clone(&app);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(10));
        loop {
            tick.tick().await;
            if let Some(limiter) = sweeper.limiter() {
                limiter.sweep();
            }
        }
    });

    let service = app::router(app).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let result = axum::serve(listener, service)
        .with_graceful_shutdown(shutdown_signal())
        .await;
    match result {
        Ok(()) => {
            log::info("stopped", Map::new());
            ExitCode::SUCCESS
        }
        Err(e) => {
            log::warn(&format!("server error: {e}"));
            ExitCode::from(1)
        }
    }
}

/// SIGTERM or SIGINT: axum stops accepting and waits for in-flight requests.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    log::info("shutting down: draining in-flight requests", Map::new());
}

//! The HTTP side: the decision endpoints, `/health`, `/metrics`, and the metadata documents.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode, Uri};
use axum::routing::{any, get};
use jwtgate::{CredentialKind, ErrorCode, Verified};
use jwtgate_tower::{Decision, Gate, Inbound};
use serde_json::{Map, Value, json};

use super::config::{IdentityHeaders, Settings};
use super::forward::{self, Dialect, ENVOY_PREFIX};
use super::limit::{Limiter, Outcome, Reason};
use super::log;
use super::metrics::Metrics;

/// The true status of every decision answer (also on 2xx), for nginx's `auth_request_set`.
pub const STATUS_HEADER: &str = "x-auth-status";

/// What the handlers share.
pub struct App {
    gate: Gate,
    origins: Vec<String>,
    trusted: Vec<super::cidr::Cidr>,
    headers: IdentityHeaders,
    limiter: Option<Limiter>,
    metrics: Arc<Metrics>,
}

impl App {
    /// The shared state from checked settings and a limiter.
    pub fn new(settings: &Settings, limiter: Option<Limiter>, metrics: Arc<Metrics>) -> App {
        App {
            gate: settings.gate.clone(),
            origins: settings.public_origins.clone(),
            trusted: settings.trusted_proxies.clone(),
            headers: settings.headers.clone(),
            limiter,
            metrics,
        }
    }

    /// The limiter, for the sweeper.
    pub fn limiter(&self) -> Option<&Limiter> {
        self.limiter.as_ref()
    }
}

/// Every endpoint.
pub fn router(app: Arc<App>) -> Router {
    let metadata = app.gate.metadata_router();
    Router::new()
        .route("/auth", any(forward_auth))
        .route("/auth/nginx", any(nginx_auth))
        .route(ENVOY_PREFIX, any(envoy_auth))
        .route(&format!("{ENVOY_PREFIX}/{{*rest}}"), any(envoy_auth))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .with_state(app)
        .merge(metadata)
}

type Peer = ConnectInfo<SocketAddr>;

async fn forward_auth(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): Peer,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response<Body> {
    decide(&app, Dialect::Forward, peer, &method, &uri, &headers).await
}

async fn nginx_auth(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): Peer,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response<Body> {
    decide(&app, Dialect::Nginx, peer, &method, &uri, &headers).await
}

async fn envoy_auth(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): Peer,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response<Body> {
    decide(&app, Dialect::Envoy, peer, &method, &uri, &headers).await
}

/// What one decision found, for the log line.
struct Facts {
    code: Option<ErrorCode>,
    client_id: Option<String>,
    kind: Option<&'static str>,
    limited: Option<Reason>,
}

async fn decide(
    app: &App,
    dialect: Dialect,
    peer: SocketAddr,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Response<Body> {
    let original = match forward::original(
        dialect,
        method,
        uri,
        headers,
        peer,
        &app.trusted,
        &app.origins,
    ) {
        Ok(o) => o,
        Err(reason) => {
            let response = error_response(400, "invalid_request", &reason, None);
            return finish(app, dialect, response, None, peer, None, &reason);
        }
    };
    let (authorization, dpop, api_key) = match credentials(app, headers) {
        Ok(c) => c,
        Err(reason) => {
            let response = error_response(400, "invalid_request", reason, None);
            return finish(app, dialect, response, Some(&original), peer, None, reason);
        }
    };
    let dpop_refs: Vec<&str> = dpop.iter().map(|s| s.as_str()).collect();
    let inbound = Inbound::new(&original.method, &original.path_and_query)
        .url(&original.url)
        .authorization(authorization)
        .dpop(&dpop_refs)
        .api_key(api_key);
    let decision = app.gate.check(&inbound).await;

    let address = original.client.to_string();
    let mut facts = Facts {
        code: None,
        client_id: None,
        kind: None,
        limited: None,
    };
    let (identity, failed) = match &decision {
        Decision::Allow(verified) => (identity_key(verified, &mut facts), false),
        Decision::Public => (format!("a:{address}"), false),
        Decision::Deny(denial) => {
            facts.code = denial.code();
            match denial.error().and_then(|e| e.credential()) {
                // A valid credential lacking scope is its client's request, not a failed guess.
                Some(credential) => (identity_key(credential, &mut facts), false),
                None => {
                    // A refused credential is a failed attempt; no credential (the 401 that
                    // starts every OAuth flow) and the DPoP nonce handshake (RFC 9449 §8: the
                    // first proof of a client is refused to hand it a nonce) are not.
                    let failed = denial.status() == 401
                        && denial.code().is_some_and(|c| {
                            !matches!(
                                c,
                                ErrorCode::CredentialMissing | ErrorCode::DpopNonceRequired
                            )
                        });
                    (format!("a:{address}"), failed)
                }
            }
        }
    };
    let outcome = match &app.limiter {
        Some(limiter) => Some(limiter.check(&identity, &address, failed).await),
        None => None,
    };
    if let Some(Outcome::Limited {
        retry_after,
        reason,
    }) = outcome
    {
        facts.limited = Some(reason);
        match reason {
            Reason::Identity => &app.metrics.limited_identity,
            Reason::Failed => &app.metrics.limited_failed,
        }
        .fetch_add(1, Ordering::Relaxed);
        let response = error_response(
            429,
            "rate_limited",
            "Too many requests; retry later",
            Some(retry_after),
        );
        return finish(
            app,
            dialect,
            response,
            Some(&original),
            peer,
            Some(facts),
            "",
        );
    }

    let mut reason = String::new();
    let response = match decision {
        Decision::Allow(verified) => allow(&app.headers, Some(&verified)),
        Decision::Public => allow(&app.headers, None),
        Decision::Deny(denial) => {
            // The operator-facing message goes to the log only (it never holds the credential).
            reason = denial.message().to_string();
            deny(&denial)
        }
    };
    finish(
        app,
        dialect,
        response,
        Some(&original),
        peer,
        Some(facts),
        &reason,
    )
}

/// The gate's answer (status, `WWW-Authenticate`, `DPoP-Nonce`), with the stable code added to
/// the JSON body so that a client, or a proxy's error page, can tell refusals apart.
fn deny(denial: &jwtgate_tower::Denial) -> Response<Body> {
    let mut response = denial.to_response::<Body>();
    if let Some(code) = denial.code() {
        let error = denial.oauth_error().unwrap_or(if denial.status() >= 500 {
            "temporarily_unavailable"
        } else {
            "invalid_request"
        });
        let body = json!({
            "error": error,
            "error_description": code.client_description(),
            "code": code.as_str(),
        });
        *response.body_mut() = Body::from(body.to_string());
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    response
}

/// The credential headers, refused when they are not text.
#[allow(clippy::type_complexity)] // three parts of one request, named at the one call site
fn credentials<'h>(
    app: &App,
    headers: &'h HeaderMap,
) -> Result<(Option<&'h str>, Vec<String>, Option<&'h str>), &'static str> {
    let mut authorization = headers.get_all(AUTHORIZATION).iter();
    let first = authorization.next();
    if authorization.next().is_some() {
        return Err("more than one Authorization header");
    }
    let authorization = match first {
        Some(v) => Some(
            v.to_str()
                .map_err(|_| "the Authorization header is not visible ASCII")?,
        ),
        None => None,
    };
    let mut dpop = Vec::new();
    for value in headers.get_all(HeaderName::from_static("dpop")) {
        dpop.push(
            value
                .to_str()
                .map_err(|_| "a DPoP header is not visible ASCII")?
                .to_string(),
        );
    }
    let api_key = match app.gate.api_key_header() {
        Some(name) => match headers.get(name) {
            Some(v) => Some(
                v.to_str()
                    .map_err(|_| "the API key header is not visible ASCII")?,
            ),
            None => None,
        },
        None => None,
    };
    Ok((authorization, dpop, api_key))
}

/// The bucket of a verified credential: its issuer and client id, or the API key's id.
fn identity_key(verified: &Verified, facts: &mut Facts) -> String {
    let client = verified.client_id().or(verified.sub()).unwrap_or("");
    facts.client_id = Some(client.to_string());
    facts.kind = Some(verified.kind().as_str());
    match verified.kind() {
        CredentialKind::StaticToken => format!("k:{client}"),
        _ => format!("c:{}|{client}", verified.iss().unwrap_or("")),
    }
}

/// 200 with the identity headers. They are always all sent (empty when unknown, and on public
/// routes) so that a proxy copying them overwrites anything the client sent under those names.
fn allow(names: &IdentityHeaders, verified: Option<&Verified>) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    let (sub, client, scopes, iss) = match verified {
        Some(v) => (
            v.sub().unwrap_or(""),
            v.client_id().unwrap_or(""),
            v.scopes().join(" "),
            v.iss().unwrap_or(""),
        ),
        None => ("", "", String::new(), ""),
    };
    let h = response.headers_mut();
    for (name, value) in [
        (&names.subject, sub),
        (&names.client_id, client),
        (&names.scopes, scopes.as_str()),
        (&names.issuer, iss),
    ] {
        h.insert(name.clone(), header_value(value));
    }
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A claim as a header value: printable ASCII as is; anything else (and `%`) percent-encoded
/// as UTF-8 (RFC 3986 §2.1), so that no claim can inject a header or be cut short.
fn header_value(text: &str) -> HeaderValue {
    let plain = text.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'%');
    let encoded;
    let text = if plain {
        text
    } else {
        encoded = text
            .bytes()
            .map(|b| {
                if (0x20..0x7f).contains(&b) && b != b'%' {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>();
        &encoded
    };
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn error_response(
    status: u16,
    error: &str,
    description: &str,
    retry_after: Option<u64>,
) -> Response<Body> {
    let body = json!({"error": error, "error_description": description, "code": error});
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(seconds) = retry_after {
        h.insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// Counts, logs, adds `X-Auth-Status`, and in the nginx dialect maps the statuses
/// `auth_request` cannot pass (it turns anything but 2xx, 401 and 403 into 500) to 403: the
/// nginx configuration reads `X-Auth-Status` to answer 429 / 503 / 400 itself.
fn finish(
    app: &App,
    dialect: Dialect,
    mut response: Response<Body>,
    original: Option<&forward::Original>,
    peer: SocketAddr,
    facts: Option<Facts>,
    reason: &str,
) -> Response<Body> {
    let status = response.status().as_u16();
    app.metrics.decision(status);
    response.headers_mut().insert(
        HeaderName::from_static(STATUS_HEADER),
        HeaderValue::from(status),
    );
    if dialect == Dialect::Nginx && !matches!(status, 200..=299 | 401 | 403) {
        *response.status_mut() = StatusCode::FORBIDDEN;
    }
    let mut fields = Map::new();
    fields.insert("msg".into(), Value::from("decision"));
    fields.insert("status".into(), Value::from(status));
    if let Some(o) = original {
        fields.insert("method".into(), Value::from(o.method.as_str()));
        // The path only: a query may carry credentials.
        let path = o.path_and_query.split('?').next().unwrap_or("");
        fields.insert("path".into(), Value::from(path));
        fields.insert("client_addr".into(), Value::from(o.client.to_string()));
    }
    fields.insert("peer".into(), Value::from(peer.ip().to_string()));
    if let Some(f) = facts {
        if let Some(code) = f.code {
            fields.insert("code".into(), Value::from(code.as_str()));
        }
        if let Some(client) = f.client_id {
            fields.insert("client_id".into(), Value::from(client));
        }
        if let Some(kind) = f.kind {
            fields.insert("kind".into(), Value::from(kind));
        }
        if let Some(limit) = f.limited {
            fields.insert("rate_limited".into(), Value::from(limit.as_str()));
        }
    }
    if !reason.is_empty() {
        fields.insert("reason".into(), Value::from(reason));
    }
    log::line("info", fields, true);
    response
}

async fn health(State(app): State<Arc<App>>) -> Response<Body> {
    let verifier = app.gate.verifier();
    let mut statuses = verifier.provider_keys_status();
    if statuses.is_empty() {
        statuses.push((verifier.issuers().join(","), verifier.keys_status()));
    }
    let not_ready: Vec<Value> = statuses
        .iter()
        .filter(|(_, s)| !s.ready)
        .map(|(issuer, s)| {
            json!({
                "issuer": issuer,
                "reason": s.last_error.as_ref().map_or_else(
                    || "keys not loaded yet".to_string(),
                    |e| e.message().to_string()),
            })
        })
        .collect();
    let (status, body) = if not_ready.is_empty() {
        let keys: usize = statuses.iter().map(|(_, s)| s.key_count).sum();
        (
            200,
            json!({"status": "ok", "keys": keys, "stale": statuses.iter().any(|(_, s)| s.stale)}),
        )
    } else {
        (503, json!({"status": "unavailable", "problems": not_ready}))
    };
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn metrics(State(app): State<Arc<App>>) -> Response<Body> {
    let limiter = app
        .limiter
        .as_ref()
        .map(|l| (l.local_keys(), l.evictions()));
    let text = app.metrics.render(app.gate.verifier(), limiter);
    let mut response = Response::new(Body::from(text));
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_cannot_inject_headers() {
        assert_eq!(header_value("alice"), "alice");
        assert_eq!(header_value("a\r\nX-Evil: 1"), "a%0D%0AX-Evil: 1");
        assert_eq!(header_value("100%"), "100%25");
        assert_eq!(header_value("zoë"), "zo%C3%AB");
    }
}

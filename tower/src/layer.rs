//! The tower middleware: every request's credential checked by the [`Gate`] before the inner
//! service sees it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, Request, Response, header};
use http_body_util::{Either, Full};
use tower_layer::Layer;
use tower_service::Service;

use crate::decision::{Decision, Denial};
use crate::gate::{Gate, Inbound};

/// A [`tower_layer::Layer`] that protects a service with a [`Gate`]: refused requests are
/// answered by the layer (401/403 with the core's challenge, 5xx without one); accepted ones
/// reach the inner service with the [`jwtgate::Verified`] credential in their extensions (read
/// it with [`Authenticated`](crate::Authenticated) in axum, or
/// `request.extensions().get::<jwtgate::Verified>()`). Public routes pass with no extension.
#[derive(Clone, Debug)]
pub struct AuthLayer {
    gate: Gate,
}

impl AuthLayer {
    /// A layer deciding with `gate` (also [`Gate::layer`]).
    pub fn new(gate: Gate) -> AuthLayer {
        AuthLayer { gate }
    }
}

impl Gate {
    /// The tower layer of this gate.
    pub fn layer(&self) -> AuthLayer {
        AuthLayer::new(self.clone())
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> AuthService<S> {
        AuthService {
            gate: self.gate.clone(),
            inner,
        }
    }
}

/// The service [`AuthLayer`] wraps around an inner one.
#[derive(Clone, Debug)]
pub struct AuthService<S> {
    gate: Gate,
    inner: S,
}

/// The body of an [`AuthService`] answer: the inner service's own, or a refusal's JSON. Any inner
/// body type works (an rmcp `StreamableHttpService` served bare, an axum `Router`, hyper).
pub type GateBody<B> = Either<B, Full<Bytes>>;

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for AuthService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<GateBody<ResBody>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // The service that was polled ready is the one to call; a fresh clone stays behind.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let gate = self.gate.clone();
        Box::pin(async move {
            // The body stays aside while the gate looks at the head (it need not be Sync).
            let (mut head, body) = request.into_parts();
            match decide(&gate, &head).await {
                Decision::Allow(verified) => {
                    head.extensions.insert(*verified);
                }
                Decision::Public => {}
                Decision::Deny(denial) => {
                    return Ok(denial.to_response::<Full<Bytes>>().map(Either::Right));
                }
            }
            let response = inner.call(Request::from_parts(head, body)).await?;
            Ok(response.map(Either::Left))
        })
    }
}

/// Reads the credential headers of a request and asks the gate.
async fn decide(gate: &Gate, request: &http::request::Parts) -> Decision {
    let headers = &request.headers;
    let authorization = match single(headers, &header::AUTHORIZATION) {
        Ok(value) => value,
        Err(()) => return Decision::Deny(Denial::bad_request(TWO_AUTHORIZATIONS.to_owned())),
    };
    let api_key = match gate.api_key_header() {
        None => None,
        Some(name) => match single(headers, name) {
            Ok(value) => value,
            Err(()) => {
                return Decision::Deny(Denial::bad_request(format!(
                    "the request has more than one {name} header"
                )));
            }
        },
    };
    let dpop: Vec<&str> = headers
        .get_all("dpop")
        .iter()
        // A value that is not visible ASCII cannot be a compact JWS; the core refuses it.
        .map(|v| v.to_str().unwrap_or("\u{FFFD}"))
        .collect();
    let target = request.uri.path_and_query().map_or("/", |p| p.as_str());
    let inbound = Inbound::new(request.method.as_str(), target)
        .authorization(authorization)
        .dpop(&dpop)
        .api_key(api_key);
    gate.check(&inbound).await
}

const TWO_AUTHORIZATIONS: &str =
    "the request has more than one Authorization header (RFC 6750 §3.1 invalid_request)";

/// The one value of a header: `Ok(None)` when absent, `Err` when repeated. A value that is not
/// visible ASCII is passed on as U+FFFD so that the core refuses it as a malformed credential.
fn single<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Result<Option<&'h str>, ()> {
    let mut values = headers.get_all(name).iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(());
    }
    Ok(first.map(|v| v.to_str().unwrap_or("\u{FFFD}")))
}

#[cfg(all(test, feature = "axum"))]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use http_body_util::BodyExt;
    use jwtgate::{StaticToken, Verifier};
    use tower::ServiceExt;

    use crate::{Authenticated, Gate, Route};

    fn app() -> Router {
        let verifier = Verifier::builder()
            .static_token("reader-key", "reader")
            .static_tokens([StaticToken::new("admin-key", "admin").with_scopes(["admin"])])
            .build()
            .unwrap();
        let gate = Gate::builder(verifier)
            .resource("https://mcp.example.com/mcp")
            .route(Route::prefix("/admin").scopes(["admin"]))
            .route(Route::exact("/health").public())
            .build()
            .unwrap();
        Router::new()
            .route(
                "/mcp",
                get(|me: Authenticated| async move { me.client_id().unwrap_or("-").to_owned() }),
            )
            .route("/admin/x", get(|| async { "admin" }))
            .route("/health", get(|| async { "ok" }))
            .route(
                "/public/{*rest}",
                get(|me: Option<Authenticated>| async move { format!("{}", me.is_some()) }),
            )
            .layer(gate.layer())
            .merge(gate.metadata_router())
    }

    async fn send(path: &str, headers: &[(&str, &str)]) -> (u16, http::HeaderMap, String) {
        let mut request = http::Request::builder().uri(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = app()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, headers, String::from_utf8(body.to_vec()).unwrap())
    }

    const META: &str =
        "resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/mcp\"";

    #[tokio::test]
    async fn credentials_routes_and_challenges() {
        let (status, _, body) = send("/mcp", &[("authorization", "Bearer reader-key")]).await;
        assert_eq!((status, body.as_str()), (200, "reader"));
        let (status, _, body) = send("/mcp", &[("x-api-key", "admin-key")]).await;
        assert_eq!((status, body.as_str()), (200, "admin"));

        // No credential: 401, a challenge without error= (RFC 6750 §3.1), an empty body.
        let (status, headers, body) = send("/mcp", &[]).await;
        assert_eq!(status, 401);
        let challenge = headers["www-authenticate"].to_str().unwrap();
        assert!(
            challenge.starts_with(&format!("Bearer {META}, DPoP algs=")),
            "{challenge}"
        );
        assert_eq!(body, "");

        let (status, headers, body) = send("/mcp", &[("authorization", "Bearer nope")]).await;
        assert_eq!(status, 401);
        assert!(
            headers["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer error=\"invalid_token\"")
        );
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["error"], "invalid_token");

        // The route's scope, also behind a path that reaches another axum route but normalises
        // to the protected one (an upstream that resolves dot segments would serve /admin/x).
        for path in ["/admin/x", "/public/../admin/x", "/public/%2e%2e/admin/x"] {
            let (status, headers, body) =
                send(path, &[("authorization", "Bearer reader-key")]).await;
            assert_eq!(status, 403, "{path}");
            let challenge = headers["www-authenticate"].to_str().unwrap();
            assert!(
                challenge.contains("error=\"insufficient_scope\""),
                "{challenge}"
            );
            assert!(challenge.ends_with("scope=\"admin\""), "{challenge}");
            assert!(body.contains("insufficient_scope"));
        }
        let (status, _, _) = send("/admin/x", &[("authorization", "Bearer admin-key")]).await;
        assert_eq!(status, 200);

        // Public route; unroutable paths; two Authorization headers.
        assert_eq!(send("/health", &[]).await.0, 200);
        assert_eq!(send("/public/a%2fb", &[]).await.0, 400);
        let (status, _, body) = send(
            "/mcp",
            &[
                ("authorization", "Bearer a"),
                ("authorization", "Bearer reader-key"),
            ],
        )
        .await;
        assert_eq!(status, 400);
        assert!(body.contains("invalid_request"));
    }

    #[tokio::test]
    async fn the_metadata_is_public_and_names_the_resource() {
        let (status, headers, body) = send("/.well-known/oauth-protected-resource/mcp", &[]).await;
        assert_eq!(status, 200);
        assert_eq!(headers["content-type"], "application/json");
        let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(doc["resource"], "https://mcp.example.com/mcp");
        assert_eq!(doc["scopes_supported"], serde_json::json!(["admin"]));
    }

    #[test]
    fn bad_gates_are_refused() {
        let verifier = || Verifier::builder().static_token("k", "c").build().unwrap();
        assert!(Gate::builder(verifier()).build().is_err());
        assert!(
            Gate::builder(verifier())
                .resource("http://mcp.example.com/mcp")
                .build()
                .is_err()
        );
        assert!(
            Gate::builder(verifier())
                .resource("https://a.example.com/mcp")
                .route(Route::exact("/b").resource("https://b.example.com/b"))
                .build()
                .is_err()
        );
        assert!(
            Gate::builder(verifier())
                .resource("https://a.example.com/mcp")
                .api_key_header("bad header")
                .build()
                .is_err()
        );
    }
}

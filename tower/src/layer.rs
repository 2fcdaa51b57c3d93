//! The tower middleware: every request's credential checked by the [`Gate`] before the inner
//! service sees it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, Request, Response, header};
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

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for AuthService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: From<Bytes> + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<ResBody>, S::Error>> + Send>>;

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
                Decision::Deny(denial) => return Ok(denial.to_response()),
            }
            inner.call(Request::from_parts(head, body)).await
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

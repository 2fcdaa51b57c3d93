//! The decision: one request's credential, route and resource in, allow or deny out. The tower
//! layer, the axum pieces and `jwtgate serve` all go through [`Gate::check`].

use std::sync::Arc;

use jwtgate::{AuthRequest, Error, ProtectedResource, Verified, Verifier};

use crate::decision::{Decision, Denial};

use crate::route::{Route, best_route, normalize_path};

/// The default header for API keys (static tokens), as MCP servers and gateways use it.
pub const DEFAULT_API_KEY_HEADER: &str = "x-api-key";

/// A verifier with its HTTP policy: the protected resources, per-route scopes and public
/// routes, and where API keys come from. Cheap to clone (one `Arc`).
///
/// ```
/// use jwtgate::Verifier;
/// use jwtgate_tower::{Gate, Route};
/// let verifier = Verifier::builder().static_token("s3cret", "ci").build().unwrap();
/// let gate = Gate::builder(verifier)
///     .resource("https://mcp.example.com/mcp")
///     .route(Route::prefix("/health").public())
///     .build()
///     .unwrap();
/// assert_eq!(gate.resources()[0].resource(), "https://mcp.example.com/mcp");
/// ```
#[derive(Clone, Debug)]
pub struct Gate {
    inner: Arc<GateInner>,
}

#[derive(Debug)]
struct GateInner {
    verifier: Verifier,
    /// `scheme://authority` of the gate's resource: the origin DPoP `htu` is checked against
    /// (RFC 9449 §4.3), never the request's `Host` header.
    origin: String,
    /// The gate's resource first, then each route's own, without repeats.
    resources: Vec<ProtectedResource>,
    routes: Vec<Route>,
    /// Per route (same order as `routes`), the index of its resource in `resources`.
    route_resources: Vec<usize>,
    api_key_header: Option<http::HeaderName>,
    required_scopes: Vec<String>,
}

/// Builds a [`Gate`]; see [`Gate::builder`].
#[derive(Debug)]
#[must_use = "a GateBuilder does nothing until build() is called"]
pub struct GateBuilder {
    verifier: Verifier,
    resource: Option<String>,
    authorization_servers: Vec<String>,
    scopes_supported: Vec<String>,
    routes: Vec<Route>,
    api_key_header: Option<String>,
}

impl Gate {
    /// Starts a gate around `verifier` (its issuer, audience, algorithms, required scopes, DPoP
    /// mode and static tokens are the gate's credential rules).
    pub fn builder(verifier: Verifier) -> GateBuilder {
        GateBuilder {
            verifier,
            resource: None,
            authorization_servers: Vec::new(),
            scopes_supported: Vec::new(),
            routes: Vec::new(),
            api_key_header: Some(DEFAULT_API_KEY_HEADER.to_owned()),
        }
    }

    /// The verifier (for `stats()`, `keys_status()`, `wait_ready()`).
    pub fn verifier(&self) -> &Verifier {
        &self.inner.verifier
    }

    /// Every protected resource, the gate's own first: each has a metadata document
    /// (RFC 9728) at its [`metadata_path`](ProtectedResource::metadata_path).
    pub fn resources(&self) -> &[ProtectedResource] {
        &self.inner.resources
    }

    /// The origin (`scheme://authority`) requests are taken to be addressed to.
    pub fn origin(&self) -> &str {
        &self.inner.origin
    }

    /// The header API keys are read from, if any (only when the verifier has static tokens).
    pub fn api_key_header(&self) -> Option<&http::HeaderName> {
        self.inner.api_key_header.as_ref()
    }

    /// Decides one request: the route (after path normalisation), then the credential through
    /// [`Verifier::verify_request`] (Bearer, DPoP with its proof, or an API key), then the
    /// route's scopes. Never blocks the executor: the cached and signature paths run inline
    /// (microseconds); a key fetch or an introspection call waits on tokio's blocking pool
    /// (or, outside a tokio runtime, through [`Verifier::verify_request_async`]).
    pub async fn check(&self, inbound: &Inbound<'_>) -> Decision {
        let inner = &*self.inner;
        let path = match normalize_path(inbound.path_and_query) {
            Ok(path) => path,
            Err(reason) => return Decision::Deny(Denial::bad_request(reason)),
        };
        // The metadata documents are how a client learns where to get a credential (RFC 9728
        // §5): they are public whatever the routes say.
        if inner.resources.iter().any(|r| r.metadata_path() == path) {
            return Decision::Public;
        }
        let (route_scopes, resource_index) = match best_route(&inner.routes, &path, inbound.method)
        {
            Some(i) if inner.routes[i].is_public() => return Decision::Public,
            Some(i) => (inner.routes[i].required_scopes(), inner.route_resources[i]),
            None => (&[][..], 0),
        };
        let url_owned;
        let url = match inbound.url {
            Some(url) => url,
            None => {
                url_owned = format!("{}{}", inner.origin, inbound.path_and_query);
                &url_owned
            }
        };
        let api_key = inner.api_key_header.as_ref().and(inbound.api_key);
        let request = AuthRequest::new(inbound.method, url, inbound.authorization, inbound.dpop)
            .with_api_key(api_key);
        let result = match inner.verifier.verify_request_nonblocking(&request) {
            Some(result) => result,
            None => match self.verify_waiting(inbound, url, api_key).await {
                Some(result) => result,
                None => return Decision::Deny(Denial::internal()),
            },
        };
        let result = result.and_then(|verified| {
            verified.require_scopes(route_scopes)?;
            Ok(verified)
        });
        match result {
            Ok(verified) => Decision::Allow(Box::new(verified)),
            Err(error) => {
                let mut needed: Vec<&str> =
                    inner.required_scopes.iter().map(String::as_str).collect();
                needed.extend(route_scopes.iter().map(String::as_str));
                let challenge = inner.resources[resource_index].challenge(Some(&error), &needed);
                Decision::Deny(Denial::from_challenge(challenge, Some(error)))
            }
        }
    }

    /// The slow path: the answer depends on a key fetch or an introspection call.
    async fn verify_waiting(
        &self,
        inbound: &Inbound<'_>,
        url: &str,
        api_key: Option<&str>,
    ) -> Option<Result<Verified, Error>> {
        let verifier = self.inner.verifier.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let owned = OwnedRequest::new(inbound, url, api_key);
            let joined = runtime
                .spawn_blocking(move || {
                    let dpop: Vec<&str> = owned.dpop.iter().map(String::as_str).collect();
                    let request = AuthRequest::new(
                        &owned.method,
                        &owned.url,
                        owned.authorization.as_deref(),
                        &dpop,
                    )
                    .with_api_key(owned.api_key.as_deref());
                    verifier.verify_request(&request)
                })
                .await;
            // A failed join (a panic in core, or a runtime shutting down) is a server error,
            // answered as such rather than unwound through the server.
            joined.ok()
        } else {
            let request =
                AuthRequest::new(inbound.method, url, inbound.authorization, inbound.dpop)
                    .with_api_key(api_key);
            Some(verifier.verify_request_async(&request).await)
        }
    }
}

/// A request's parts the gate decides on. Borrowed: nothing is copied on the fast path.
#[derive(Debug, Clone, Copy)]
pub struct Inbound<'a> {
    method: &'a str,
    path_and_query: &'a str,
    url: Option<&'a str>,
    authorization: Option<&'a str>,
    dpop: &'a [&'a str],
    api_key: Option<&'a str>,
}

impl<'a> Inbound<'a> {
    /// A request with this method (`GET`, `POST`, …) and origin-form target (`/mcp?x=1`).
    pub fn new(method: &'a str, path_and_query: &'a str) -> Inbound<'a> {
        Inbound {
            method,
            path_and_query,
            url: None,
            authorization: None,
            dpop: &[],
            api_key: None,
        }
    }

    /// The absolute URL the client addressed, for DPoP `htu` (default: the gate's origin
    /// followed by the target). Front ends set it only from a source they trust.
    pub fn url(mut self, url: &'a str) -> Inbound<'a> {
        self.url = Some(url);
        self
    }

    /// The `Authorization` header value.
    pub fn authorization(mut self, authorization: Option<&'a str>) -> Inbound<'a> {
        self.authorization = authorization;
        self
    }

    /// Every `DPoP` header value (RFC 9449 §4.3 refuses more than one).
    pub fn dpop(mut self, dpop: &'a [&'a str]) -> Inbound<'a> {
        self.dpop = dpop;
        self
    }

    /// The API-key header value (read only when the verifier has static tokens).
    pub fn api_key(mut self, api_key: Option<&'a str>) -> Inbound<'a> {
        self.api_key = api_key;
        self
    }
}

/// An owned copy of a request, for the blocking pool.
struct OwnedRequest {
    method: String,
    url: String,
    authorization: Option<String>,
    dpop: Vec<String>,
    api_key: Option<String>,
}

impl OwnedRequest {
    fn new(inbound: &Inbound<'_>, url: &str, api_key: Option<&str>) -> OwnedRequest {
        OwnedRequest {
            method: inbound.method.to_owned(),
            url: url.to_owned(),
            authorization: inbound.authorization.map(str::to_owned),
            dpop: inbound.dpop.iter().map(|s| (*s).to_owned()).collect(),
            api_key: api_key.map(str::to_owned),
        }
    }
}

impl GateBuilder {
    /// The RFC 9728 resource identifier of the protected server, e.g.
    /// `https://mcp.example.com/mcp` (required). Its origin is the one DPoP proofs must name;
    /// challenges point to its metadata document.
    pub fn resource(mut self, resource: impl Into<String>) -> GateBuilder {
        self.resource = Some(resource.into());
        self
    }

    /// The authorization servers the metadata lists (default: the verifier's issuers).
    pub fn authorization_servers<I, S>(mut self, servers: I) -> GateBuilder
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.authorization_servers = servers.into_iter().map(Into::into).collect();
        self
    }

    /// The scopes the metadata lists (default: the verifier's required scopes and every
    /// route's).
    pub fn scopes_supported<I, S>(mut self, scopes: I) -> GateBuilder
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes_supported = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Adds a route policy (see [`Route`] for how the most specific route is chosen). Paths no
    /// route matches need a valid credential with the verifier's required scopes.
    pub fn route(mut self, route: Route) -> GateBuilder {
        self.routes.push(route);
        self
    }

    /// The header API keys come in (default `X-API-Key`). Only configured static tokens are
    /// accepted from it, never a JWT; `Authorization` wins when both are present.
    pub fn api_key_header(mut self, name: impl Into<String>) -> GateBuilder {
        self.api_key_header = Some(name.into());
        self
    }

    /// Reads no API-key header at all.
    pub fn no_api_key_header(mut self) -> GateBuilder {
        self.api_key_header = None;
        self
    }

    /// Checks everything and builds the gate.
    ///
    /// # Errors
    /// `config_invalid` naming the problem: no resource, a resource that is not an `https` URL
    /// (plain `http` only on loopback) or has a query, a route resource on another origin, a
    /// malformed route (see [`Route`]), a bad header name or scope.
    pub fn build(self) -> Result<Gate, Error> {
        let Some(resource) = self.resource else {
            return Err(Error::config_invalid(
                "the gate needs its resource URL (GateBuilder::resource), e.g. https://mcp.example.com/mcp: challenges and metadata name it (RFC 9728)",
            ));
        };
        for route in &self.routes {
            route.validate()?;
        }
        let servers: Vec<&str> = self
            .authorization_servers
            .iter()
            .map(String::as_str)
            .collect();
        let mut scopes: Vec<&str> = self.scopes_supported.iter().map(String::as_str).collect();
        if scopes.is_empty() {
            scopes = self.verifier.required_scopes();
            for route in &self.routes {
                for scope in route.required_scopes() {
                    if !scopes.contains(&scope.as_str()) {
                        scopes.push(scope);
                    }
                }
            }
        }
        let make =
            |url: &str| ProtectedResource::for_verifier(&self.verifier, url, &servers, &scopes);
        let main = make(&resource)?;
        let origin = origin_of(&resource);
        let mut resources = vec![main];
        let mut route_resources = Vec::with_capacity(self.routes.len());
        for route in &self.routes {
            let index = match route.own_resource() {
                None => 0,
                Some(url) => {
                    let made = make(url)?;
                    if origin_of(url) != origin {
                        return Err(Error::config_invalid(format!(
                            "route resource {url:?} is not on the gate's origin {origin:?}: DPoP proofs and metadata are checked against one origin"
                        )));
                    }
                    match resources
                        .iter()
                        .position(|r| r.resource() == made.resource())
                    {
                        Some(i) => i,
                        None => {
                            resources.push(made);
                            resources.len() - 1
                        }
                    }
                }
            };
            route_resources.push(index);
        }
        let api_key_header = match self.api_key_header {
            None => None,
            Some(name) => Some(http::HeaderName::try_from(name.as_str()).map_err(|_| {
                Error::config_invalid(format!("{name:?} is not an HTTP header name"))
            })?),
        };
        let required_scopes = self
            .verifier
            .required_scopes()
            .into_iter()
            .map(str::to_owned)
            .collect();
        Ok(Gate {
            inner: Arc::new(GateInner {
                verifier: self.verifier,
                origin,
                resources,
                routes: self.routes,
                route_resources,
                api_key_header,
                required_scopes,
            }),
        })
    }
}

/// `scheme://authority` of a URL the core has already accepted as a resource.
fn origin_of(url: &str) -> String {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let end = url[after_scheme..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| after_scheme + i);
    url[..end].to_ascii_lowercase()
}

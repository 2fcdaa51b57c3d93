//! axum pieces: the [`Authenticated`] extractor and the RFC 9728 metadata router.

use std::ops::Deref;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use jwtgate::Verified;

use crate::gate::Gate;

/// The verified credential of a request that passed the [`AuthLayer`](crate::AuthLayer).
///
/// ```no_run
/// use jwtgate_tower::Authenticated;
/// async fn whoami(Authenticated(me): Authenticated) -> String {
///     format!("{} ({})", me.sub().unwrap_or("-"), me.client_id().unwrap_or("-"))
/// }
/// ```
///
/// Extracting it where the layer did not run (a public route, a router the layer does not
/// cover) answers 500 naming the mistake; take `Option<Authenticated>` where a credential is
/// optional.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Verified);

impl Deref for Authenticated {
    type Target = Verified;

    fn deref(&self) -> &Verified {
        &self.0
    }
}

const NOT_INSTALLED: &str = "jwtgate: no verified credential on this request: the route is public or the AuthLayer does not cover it";

impl<S: Send + Sync> FromRequestParts<S> for Authenticated {
    type Rejection = (StatusCode, &'static str);

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Verified>()
            .cloned()
            .map(Authenticated)
            .ok_or((StatusCode::INTERNAL_SERVER_ERROR, NOT_INSTALLED))
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Authenticated {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Verified>()
            .cloned()
            .map(Authenticated))
    }
}

impl Gate {
    /// A router serving each protected resource's metadata document (RFC 9728 §3) at its
    /// path-aware well-known path (`/.well-known/oauth-protected-resource/mcp` for
    /// `https://host/mcp`). The gate never asks for a credential on these paths, so the router
    /// can be merged before or after the layer.
    pub fn metadata_router<S: Clone + Send + Sync + 'static>(&self) -> axum::Router<S> {
        let mut router = axum::Router::new();
        for resource in self.resources() {
            let body = resource.metadata_json();
            let answer = move || {
                let body = body.clone();
                async move {
                    (
                        [
                            (header::CONTENT_TYPE, "application/json"),
                            // Browser-based MCP clients read it cross-origin (RFC 9728 §3.1
                            // metadata is public).
                            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
                            (header::CACHE_CONTROL, "max-age=300"),
                        ],
                        body,
                    )
                        .into_response()
                }
            };
            router = router.route(resource.metadata_path(), get(answer));
        }
        router
    }
}

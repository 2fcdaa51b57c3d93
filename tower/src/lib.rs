//! Protect a tower / axum HTTP server — an MCP server on `rmcp`, or any other — with
//! [`jwtgate`].
//!
//! The pieces:
//! - [`Gate`]: a [`jwtgate::Verifier`] plus its HTTP policy — the protected resource
//!   (RFC 9728), per-route scopes and public routes ([`Route`]), the API-key header.
//!   [`Gate::check`] is the whole decision; everything else here is plumbing around it.
//! - [`AuthLayer`] (from [`Gate::layer`]): a `tower::Layer` that answers refused requests itself
//!   (401 / 403 with the core's `WWW-Authenticate` challenge, `DPoP-Nonce` when nonces are on,
//!   5xx without a challenge when keys are unavailable) and passes accepted ones on with the
//!   [`jwtgate::Verified`] credential in the request extensions.
//! - [`Authenticated`] (feature `axum`): the extractor handlers take the credential with.
//! - [`Gate::metadata_router`] (feature `axum`): the RFC 9728 metadata document of each resource
//!   at its path-aware well-known URL, the one the challenges point to.
//!
//! ```no_run
//! use axum::{Router, routing::post};
//! use jwtgate::Verifier;
//! use jwtgate_tower::{Authenticated, Gate, Route};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = Verifier::builder()
//!     .issuer("https://auth.example.com/realms/mcp")
//!     .audience("https://mcp.example.com/mcp")
//!     .build()?;
//! let gate = Gate::builder(verifier)
//!     .resource("https://mcp.example.com/mcp")
//!     .route(Route::prefix("/admin").scopes(["mcp:admin"]))
//!     .build()?;
//! let app = Router::new()
//!     .route("/mcp", post(|Authenticated(me): Authenticated| async move {
//!         format!("hello {}", me.sub().unwrap_or("client"))
//!     }))
//!     .layer(gate.layer())
//!     .merge(gate.metadata_router());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```
//!
//! # What the gate decides, and how
//! 1. The request path is normalised (escapes decoded, dot segments removed, `//` collapsed) and
//!    the most specific [`Route`] chosen; a path that cannot be normalised safely is a 400.
//!    The metadata paths and public routes pass without a credential.
//! 2. The credential — `Authorization: Bearer`, `Authorization: DPoP` with its `DPoP` proof
//!    (RFC 9449), or the API-key header (`X-API-Key` by default; configured static tokens only)
//!    — goes to [`jwtgate::Verifier::verify_request`], with the request URL built from the
//!    gate's resource origin (never the `Host` header) for the DPoP `htu` check. Two
//!    `Authorization` headers are a 400 (RFC 6750 §3.1 `invalid_request`).
//! 3. The route's scopes are checked on the verified credential (403 `insufficient_scope`
//!    naming them).
//!
//! The verification never blocks the async executor on a fetch: cached tokens and signature
//! checks run inline (micro-seconds); when a key fetch (an unknown `kid`, rotation) or an
//! introspection call is needed, the request waits on tokio's blocking pool.
//!
//! Put a CORS layer *outside* this one: a browser's pre-flight `OPTIONS` carries no credential.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod decision;
mod gate;
mod layer;
mod route;

#[cfg(feature = "axum")]
mod axum;

#[cfg(feature = "axum")]
pub use crate::axum::Authenticated;
pub use decision::{Decision, Denial};
pub use gate::{DEFAULT_API_KEY_HEADER, Gate, GateBuilder, Inbound};
pub use layer::{AuthLayer, AuthService, GateBody};
pub use route::Route;

//! An MCP server on [rmcp](https://crates.io/crates/rmcp) (streamable HTTP, on axum) protected by
//! jwtgate's tower layer, configured from the environment.
//!
//! ```sh
//! JWTGATE_OAUTH_ISSUER=https://auth.example.com/realms/mcp \
//! JWTGATE_OIDC_AUDIENCE=https://mcp.example.com/mcp \
//! JWTGATE_OIDC_REQUIRED_SCOPES=mcp:tools \
//! JWTGATE_RESOURCE=https://mcp.example.com/mcp \
//! cargo run -p jwtgate-tower --example rmcp_server
//! ```
//!
//! | variable | meaning |
//! |---|---|
//! | `JWTGATE_OAUTH_ISSUER`, `JWTGATE_OIDC_AUDIENCE`, `JWTGATE_OIDC_REQUIRED_SCOPES`, `JWTGATE_API_KEY`, … | the verifier: every variable of `jwtgate::VerifierBuilder::from_env`, with the `JWTGATE_` prefix (`Verifier::from_env("")` reads the same names without it) |
//! | `JWTGATE_RESOURCE` | the public URL of the MCP endpoint, e.g. `https://mcp.example.com/mcp` (RFC 9728 resource; usually also the audience). Default `http://<listen>/mcp` |
//! | `JWTGATE_LISTEN` | the address to listen on (default `127.0.0.1:8000`) |
//!
//! What a client sees:
//! - `POST/GET/DELETE /mcp` need a credential: `Authorization: Bearer <JWT>`, `Authorization:
//!   DPoP <JWT>` with a `DPoP` proof (RFC 9449), or, when `JWTGATE_API_KEY` is set, the key in
//!   `X-API-Key`. Without one: 401 with `WWW-Authenticate: Bearer resource_metadata="…"`.
//! - `GET /.well-known/oauth-protected-resource/mcp`: the RFC 9728 metadata document the
//!   challenge points to (where to get a token, which scopes).
//! - `GET /health`: public.
//!
//! The tools read the verified credential from the HTTP request rmcp hands them
//! (`Extension<http::request::Parts>`; the layer put a `jwtgate::Verified` in its extensions).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use http::request::Parts;
use jwtgate::{Verified, Verifier};
use jwtgate_tower::{Gate, Route};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::Extension;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ServerHandler, tool, tool_handler, tool_router};

/// The MCP server: two tools.
#[derive(Clone)]
struct Tools {
    tool_router: ToolRouter<Self>,
}

/// `echo` arguments.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct EchoArgs {
    /// Text to send back.
    text: String,
}

#[tool_router]
impl Tools {
    fn new() -> Self {
        Tools {
            tool_router: Self::tool_router(),
        }
    }

    #[tool(description = "Returns the text it was given")]
    async fn echo(&self, Parameters(args): Parameters<EchoArgs>) -> String {
        args.text
    }

    #[tool(
        description = "Who the server thinks you are: the verified credential's subject, client and scopes"
    )]
    async fn whoami(&self, Extension(parts): Extension<Parts>) -> String {
        // The layer answered every request without a valid credential itself, so a tool call
        // always carries one; `None` would mean the layer does not cover this route.
        match parts.extensions.get::<Verified>() {
            Some(me) => format!(
                "sub={} client_id={} scopes={}",
                me.sub().unwrap_or("-"),
                me.client_id().unwrap_or("-"),
                me.scopes().join(" ")
            ),
            None => "no verified credential (is the route covered by the layer?)".to_owned(),
        }
    }
}

#[tool_handler(router = self.tool_router, name = "jwtgate-example", version = "0.1.0")]
impl ServerHandler for Tools {}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listen = env("JWTGATE_LISTEN").unwrap_or_else(|| "127.0.0.1:8000".to_owned());
    let resource = env("JWTGATE_RESOURCE").unwrap_or_else(|| format!("http://{listen}/mcp"));

    // Issuer, audience, scopes, API keys: the core's environment table (config errors name the
    // missing variable).
    let verifier = Verifier::from_env("JWTGATE_")?;
    let gate = Gate::builder(verifier)
        .resource(&resource)
        .route(Route::exact("/health").public())
        .build()?;

    // rmcp refuses requests whose Host is not listed (DNS-rebinding protection; loopback by
    // default): behind a public name, list the resource's host.
    let host = resource
        .parse::<http::Uri>()?
        .host()
        .unwrap_or("localhost")
        .trim_matches(['[', ']'])
        .to_owned();
    let config = StreamableHttpServerConfig::default().with_allowed_hosts([
        host,
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ]);
    let mcp = StreamableHttpService::new(
        || Ok(Tools::new()),
        Arc::new(LocalSessionManager::default()),
        config,
    );

    let app = Router::new()
        .route_service("/mcp", mcp)
        .route("/health", get(|| async { "ok" }))
        // Every route above goes through the gate (`/health` is public by its Route).
        .layer(gate.layer())
        // The metadata documents need no credential; merged after the layer, it does not
        // cover them.
        .merge(gate.metadata_router());

    // Load the keys before the first request (it would wait for them otherwise); the blocking
    // wait belongs on the blocking pool.
    let waiting = gate.clone();
    let ready =
        tokio::task::spawn_blocking(move || waiting.verifier().wait_ready(Duration::from_secs(10)))
            .await?;
    if let Err(e) = ready {
        eprintln!("warning: the keys are not loaded yet: {e}");
    }

    let listener = tokio::net::TcpListener::bind(&listen).await?;
    eprintln!(
        "MCP server on http://{listen}/mcp, resource {resource}, metadata {}",
        gate.resources()[0].metadata_url()
    );
    axum::serve(listener, app).await?;
    Ok(())
}

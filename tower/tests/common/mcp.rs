//! A real MCP server and client for the tests: rmcp's streamable HTTP transport (MCP spec
//! 2025-06-18 "Streamable HTTP", `initialize` lifecycle), served by axum on 127.0.0.1.
//!
//! Self-contained: nothing here needs jwtgate, and the crates it names are the ones rmcp's server
//! and client need anyway (axum, rmcp, reqwest, tokio, serde; `http` and `schemars` through the
//! re-exports of axum and rmcp), so other crates' tests (proxies, front ends) can include this file
//! with `#[path = "../../tower/tests/common/mcp.rs"] mod mcp;` and run the server unauthenticated,
//! or behind whatever they put in front of it.
//!
//! - [`router`] is the MCP endpoint (`POST`/`GET`/`DELETE` [`MCP_PATH`]) as an `axum::Router`, so a
//!   test can add layers and routes before [`serve`] binds it to a random port.
//! - Tools: `echo {text}`, `add {a, b}`, and `whoami`, which answers what the HTTP request looked
//!   like to the tool: rmcp hands every tool the request's `http::request::Parts` (with the
//!   extensions a tower layer put there), and [`ServerOptions::caller`] turns them into JSON.
//! - [`connect`] is rmcp's own client over reqwest, with a bearer token, fixed extra headers, and
//!   [`ClientOptions::per_request`] for headers that must be fresh on every HTTP request (a DPoP
//!   proof names the request's method and URL, RFC 9449 §4.2; [`ClientOptions::dpop`]).
#![allow(dead_code)] // each test binary uses a different part

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, Method};
use rmcp::handler::server::tool::Extension;
use rmcp::handler::server::{router::tool::ToolRouter, wrapper::Parameters};
use rmcp::model::{CallToolRequestParams, CallToolResult, ClientJsonRpcMessage};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::common::client_side_sse::BoxedSseResponse;
use rmcp::transport::streamable_http_client::{
    StreamableHttpClient, StreamableHttpClientTransportConfig, StreamableHttpError,
    StreamableHttpPostResponse, StreamableHttpResponseLimits,
};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{
    StreamableHttpClientTransport, StreamableHttpServerConfig, StreamableHttpService,
};
use rmcp::{ServerHandler, ServiceError, ServiceExt, tool, tool_handler, tool_router};
use serde_json::{Map, Value, json};

/// Where [`router`] mounts the MCP endpoint.
pub const MCP_PATH: &str = "/mcp";

/// Turns the HTTP request a tool call arrived with into the `whoami` answer.
pub type Caller = Arc<dyn Fn(&Parts) -> Value + Send + Sync>;

/// How the server is built.
#[derive(Clone)]
pub struct ServerOptions {
    /// What `whoami` answers; default [`request_headers`].
    pub caller: Caller,
    /// `Host` values rmcp accepts (its DNS-rebinding guard); default: rmcp's loopback list.
    /// Empty: any host.
    pub allowed_hosts: Option<Vec<String>>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            caller: Arc::new(|parts: &Parts| json!({ "headers": request_headers(parts) })),
            allowed_hosts: None,
        }
    }
}

/// The request's headers as a JSON object, names lower-case, repeated values joined with `, `.
pub fn request_headers(parts: &Parts) -> Value {
    let mut out = Map::new();
    for name in parts.headers.keys() {
        let values: Vec<String> = parts
            .headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        out.insert(name.as_str().to_owned(), Value::String(values.join(", ")));
    }
    Value::Object(out)
}

/// `echo` arguments.
#[derive(serde::Deserialize, rmcp::schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct EchoArgs {
    /// Text to send back.
    pub text: String,
}

/// `add` arguments.
#[derive(serde::Deserialize, rmcp::schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct AddArgs {
    /// First addend.
    pub a: i64,
    /// Second addend.
    pub b: i64,
}

/// The MCP server: three tools.
#[derive(Clone)]
pub struct Tools {
    caller: Caller,
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl Tools {
    /// A server whose `whoami` answers with `caller`.
    pub fn new(caller: Caller) -> Self {
        Tools {
            caller,
            tool_router: Self::tool_router(),
        }
    }

    #[tool(description = "Returns the text it was given")]
    async fn echo(&self, Parameters(args): Parameters<EchoArgs>) -> String {
        args.text
    }

    #[tool(description = "Adds two integers")]
    async fn add(&self, Parameters(args): Parameters<AddArgs>) -> String {
        args.a.saturating_add(args.b).to_string()
    }

    #[tool(description = "Describes the caller as the HTTP request showed it (JSON text)")]
    async fn whoami(&self, Extension(parts): Extension<Parts>) -> String {
        (self.caller)(&parts).to_string()
    }
}

#[tool_handler(router = self.tool_router, name = "jwtgate-test-mcp", version = "0.0.0")]
impl ServerHandler for Tools {}

/// The streamable HTTP service on its own (a tower `Service`), sessions kept in memory.
pub fn service(options: &ServerOptions) -> StreamableHttpService<Tools, LocalSessionManager> {
    let caller = Arc::clone(&options.caller);
    let mut config = StreamableHttpServerConfig::default();
    if let Some(hosts) = &options.allowed_hosts {
        config = config.with_allowed_hosts(hosts.clone());
    }
    StreamableHttpService::new(
        move || Ok(Tools::new(Arc::clone(&caller))),
        Arc::new(LocalSessionManager::default()),
        config,
    )
}

/// The MCP endpoint at [`MCP_PATH`] (and at `extra_paths`, e.g. a second protected resource).
pub fn router(options: &ServerOptions, extra_paths: &[&str]) -> Router {
    let mut router = Router::new().route_service(MCP_PATH, service(options));
    for path in extra_paths {
        router = router.route_service(path, service(options));
    }
    router
}

/// A server listening on 127.0.0.1; stopped on drop.
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The MCP endpoint's URL.
    pub fn mcp_url(&self) -> String {
        self.url(MCP_PATH)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A listener on a random port of 127.0.0.1, for a router that needs its own URL (a resource
/// identifier, an audience) before it is built.
pub async fn bind() -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("bind 127.0.0.1:0")
}

/// Serves `router` on `listener` on the current runtime.
pub fn serve_on(listener: tokio::net::TcpListener, router: Router) -> Server {
    let addr = listener.local_addr().expect("local address");
    let task = tokio::spawn(async move {
        axum::serve(listener, router).await.expect("axum::serve");
    });
    Server { addr, task }
}

/// Serves `router` on a random port of 127.0.0.1.
pub async fn serve(router: Router) -> Server {
    serve_on(bind().await, router)
}

/// The unauthenticated MCP server at [`MCP_PATH`], listening.
pub async fn start(options: &ServerOptions) -> Server {
    serve(router(options, &[])).await
}

/// Headers computed for one HTTP request from its method and absolute URL.
pub type PerRequest = Arc<dyn Fn(&Method, &str) -> Vec<(HeaderName, HeaderValue)> + Send + Sync>;

/// The `DPoP` proof (RFC 9449 §4.2) for one HTTP request, from its method and absolute URL (`htm`
/// and `htu`); the caller's key signs it, with `ath` of the token.
pub type Prove = Arc<dyn Fn(&str, &str) -> String + Send + Sync>;

/// How the client authenticates.
#[derive(Clone, Default)]
pub struct ClientOptions {
    /// Sent as `Authorization: Bearer <token>` (rmcp's own `auth_header`).
    pub bearer: Option<String>,
    /// Sent with every request as they are (e.g. `X-API-Key`, or `Authorization: DPoP <token>`).
    pub headers: Vec<(String, String)>,
    /// Called before every HTTP request (POST, GET of the event stream, DELETE of the session).
    pub per_request: Option<PerRequest>,
}

impl ClientOptions {
    /// `Authorization: Bearer <token>`.
    pub fn bearer(token: impl Into<String>) -> Self {
        ClientOptions {
            bearer: Some(token.into()),
            ..ClientOptions::default()
        }
    }

    /// One more fixed header.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// `Authorization: DPoP <token>` (RFC 9449 §7.1) and, with `prove`, a fresh `DPoP` proof on
    /// every HTTP request (without: the token alone, which a resource server must refuse).
    pub fn dpop(token: &str, prove: Option<Prove>) -> Self {
        let options = ClientOptions::default().header("authorization", format!("DPoP {token}"));
        let Some(prove) = prove else {
            return options;
        };
        ClientOptions {
            per_request: Some(Arc::new(move |method: &Method, url: &str| {
                let proof =
                    HeaderValue::try_from(prove(method.as_str(), url)).expect("DPoP proof header");
                vec![(HeaderName::from_static("dpop"), proof)]
            })),
            ..options
        }
    }
}

/// reqwest, plus the headers of [`ClientOptions::per_request`]: rmcp's transport takes any
/// `StreamableHttpClient`, and hands each call its custom headers, so fresh ones go in there.
#[derive(Clone)]
pub struct HookedClient {
    inner: reqwest::Client,
    per_request: Option<PerRequest>,
}

impl HookedClient {
    fn headers(
        &self,
        method: Method,
        uri: &str,
        mut headers: HashMap<HeaderName, HeaderValue>,
    ) -> HashMap<HeaderName, HeaderValue> {
        if let Some(hook) = &self.per_request {
            headers.extend(hook(&method, uri));
        }
        headers
    }
}

impl StreamableHttpClient for HookedClient {
    type Error = reqwest::Error;

    async fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        let headers = self.headers(Method::POST, &uri, custom_headers);
        self.inner
            .post_message(uri, message, session_id, auth_header, headers)
            .await
    }

    async fn post_message_with_response_limits(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        limits: StreamableHttpResponseLimits,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        let headers = self.headers(Method::POST, &uri, custom_headers);
        self.inner
            .post_message_with_response_limits(
                uri,
                message,
                session_id,
                auth_header,
                headers,
                limits,
            )
            .await
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<(), StreamableHttpError<Self::Error>> {
        let headers = self.headers(Method::DELETE, &uri, custom_headers);
        self.inner
            .delete_session(uri, session_id, auth_header, headers)
            .await
    }

    async fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<BoxedSseResponse, StreamableHttpError<Self::Error>> {
        let headers = self.headers(Method::GET, &uri, custom_headers);
        self.inner
            .get_stream(uri, session_id, last_event_id, auth_header, headers)
            .await
    }

    async fn get_stream_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<BoxedSseResponse, StreamableHttpError<Self::Error>> {
        let headers = self.headers(Method::GET, &uri, custom_headers);
        self.inner
            .get_stream_with_max_sse_event_size(
                uri,
                session_id,
                last_event_id,
                auth_header,
                headers,
                max_sse_event_size,
            )
            .await
    }
}

/// A connected rmcp client (the `initialize` handshake done).
pub type Client = RunningService<RoleClient, ()>;

/// Connects rmcp's client to `url` and runs the `initialize` handshake. A refusal of the
/// handshake is the error (its `auth_challenge()` holds the `WWW-Authenticate` value).
pub async fn connect(
    url: &str,
    options: ClientOptions,
) -> Result<Client, rmcp::service::ClientInitializeError> {
    let mut config = StreamableHttpClientTransportConfig::with_uri(url.to_owned());
    if let Some(token) = options.bearer {
        config = config.auth_header(token);
    }
    let mut headers = HashMap::new();
    for (name, value) in &options.headers {
        let name = HeaderName::try_from(name.as_str()).expect("header name");
        let value = HeaderValue::try_from(value.as_str()).expect("header value");
        headers.insert(name, value);
    }
    config = config.custom_headers(headers);
    let client = HookedClient {
        inner: reqwest::Client::new(),
        per_request: options.per_request,
    };
    ().serve(StreamableHttpClientTransport::with_client(client, config))
        .await
}

/// The names of the server's tools, sorted.
pub async fn tool_names(client: &Client) -> Result<Vec<String>, ServiceError> {
    let mut names: Vec<String> = client
        .list_all_tools()
        .await?
        .into_iter()
        .map(|tool| tool.name.into_owned())
        .collect();
    names.sort();
    Ok(names)
}

/// Calls `name` with `arguments` (a JSON object) and returns the result's first text.
pub async fn call_text(
    client: &Client,
    name: &str,
    arguments: Value,
) -> Result<String, ServiceError> {
    let mut params = CallToolRequestParams::new(name.to_owned());
    if let Value::Object(map) = arguments {
        params = params.with_arguments(map);
    }
    let result: CallToolResult = client.call_tool(params).await?;
    Ok(result
        .content
        .iter()
        .find_map(|c| c.as_text().map(|t| t.text.clone()))
        .unwrap_or_default())
}

/// `whoami`'s answer as JSON.
pub async fn whoami(client: &Client) -> Result<Value, ServiceError> {
    let text = call_text(client, "whoami", json!({})).await?;
    Ok(serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

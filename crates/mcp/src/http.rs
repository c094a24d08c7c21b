//! MCP's Streamable HTTP transport, as a tower service an HTTP server
//! mounts ([`HttpService`]), and the per-request user it serves
//! ([`HttpUser`]).
//!
//! The service is stateless (no `Mcp-Session-Id`): every POST is answered
//! on its own, with plain JSON. The conversation lives in the agent's
//! session of the request's user, which the server keeps, so an MCP
//! session would only duplicate it; and with no long-lived event streams
//! a server's graceful shutdown never waits on an idle client.

use std::fmt::Display;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use recagent_agent::Session;
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer};
use tokio::sync::Mutex;

use crate::{McpServer, Sessions};

/// The user an HTTP request speaks for. The layer in front of
/// [`HttpService`] that checked the request's key puts it in the request's
/// extensions; a request without one is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUser(pub String);

type SessionFn = dyn Fn(&str) -> Option<Arc<Mutex<Session>>> + Send + Sync;

/// The session of the user a request names.
pub(crate) struct SessionOf(Box<SessionFn>);

impl SessionOf {
    pub(crate) fn session(
        &self,
        context: &RequestContext<RoleServer>,
    ) -> Result<Arc<Mutex<Session>>, ErrorData> {
        let user = context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|p| p.extensions.get::<HttpUser>())
            .ok_or_else(|| {
                ErrorData::invalid_request(
                    "this request names no user: the MCP service must sit behind the server's key check",
                    None,
                )
            })?;
        (self.0)(&user.0).ok_or_else(|| {
            ErrorData::internal_error(format!("the server has no session for {}", user.0), None)
        })
    }
}

impl McpServer {
    /// A server whose requests each name their user ([`HttpUser`]) and run
    /// in that user's session, which `sessions` gives (made on first use,
    /// and shared with the user's other requests to the server).
    pub fn per_user(
        sessions: impl Fn(&str) -> Option<Arc<Mutex<Session>>> + Send + Sync + 'static,
    ) -> Self {
        Self::with_sessions(Sessions::PerUser(Arc::new(SessionOf(Box::new(sessions)))))
    }
}

/// The HTTP transport's checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// `Host` header values accepted (names, or `host:port`), against DNS
    /// rebinding; empty accepts any host.
    pub allowed_hosts: Vec<String>,
    /// Largest request body in bytes (413 above).
    pub max_body_bytes: usize,
}

impl HttpConfig {
    /// The checks for a server listening on `addr`: the loopback names
    /// always; the bound address as well when it is neither loopback nor
    /// unspecified; any host when bound to every interface (`0.0.0.0`,
    /// `::`), where the server cannot know the names clients use and the
    /// API key is what keeps others out.
    pub fn bound_to(addr: Option<SocketAddr>, max_body_bytes: usize) -> Self {
        let mut allowed_hosts: Vec<String> = ["localhost", "127.0.0.1", "::1"]
            .into_iter()
            .map(String::from)
            .collect();
        match addr.map(|a| a.ip()) {
            Some(ip) if ip.is_unspecified() => allowed_hosts.clear(),
            Some(ip) if !ip.is_loopback() => allowed_hosts.push(ip.to_string()),
            _ => {}
        }
        Self {
            allowed_hosts,
            max_body_bytes,
        }
    }
}

type Inner = StreamableHttpService<McpServer, NeverSessionManager>;

/// MCP over Streamable HTTP for `server`, as a tower service to nest in an
/// HTTP router (behind a layer that adds [`HttpUser`]).
#[derive(Clone)]
pub struct HttpService(Inner);

impl std::fmt::Debug for HttpService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpService")
            .field("allowed_hosts", &self.0.config.allowed_hosts)
            .finish_non_exhaustive()
    }
}

impl HttpService {
    pub fn new(server: McpServer, config: &HttpConfig) -> Self {
        let mut c = StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_json_response(true)
            .with_sse_keep_alive(None)
            .with_max_request_body_bytes(config.max_body_bytes);
        c = if config.allowed_hosts.is_empty() {
            c.disable_allowed_hosts()
        } else {
            c.with_allowed_hosts(config.allowed_hosts.clone())
        };
        Self(StreamableHttpService::new(
            move || Ok(server.clone()),
            Arc::new(NeverSessionManager::default()),
            c,
        ))
    }
}

impl<B> tower_service::Service<http::Request<B>> for HttpService
where
    B: http_body::Body + Send + 'static,
    B::Error: Display,
    B::Data: Send + 'static,
{
    type Response = <Inner as tower_service::Service<http::Request<B>>>::Response;
    type Error = <Inner as tower_service::Service<http::Request<B>>>::Error;
    type Future = <Inner as tower_service::Service<http::Request<B>>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        tower_service::Service::<http::Request<B>>::poll_ready(&mut self.0, cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        tower_service::Service::call(&mut self.0, request)
    }
}

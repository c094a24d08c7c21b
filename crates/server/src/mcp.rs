//! `/mcp`: the agent as an MCP server over Streamable HTTP
//! (`recagent_mcp::HttpService`), behind the same API keys as `/v1`.
//!
//! A layer checks `Authorization: Bearer KEY` first (401 in the OpenAI
//! error format without a valid key, as on `/v1`) and hands the key's user
//! to the MCP service with the request; each tool call then runs in that
//! user's session with the default model, the same session
//! `/v1/chat/completions` continues, so a conversation started in one goes
//! on in the other. The MCP service is stateless (no `Mcp-Session-Id`):
//! the conversation is the server's session, not the connection's.
//!
//! The service checks the `Host` header against DNS rebinding: loopback
//! names always, the bound address when the server listens on one
//! non-loopback address, any host when it listens on all of them (where
//! the key is what keeps others out).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use recagent_mcp::{HttpConfig, HttpService, HttpUser, McpServer};

use crate::{AppState, User};

/// The `/mcp` service over `state`, for a server listening on `bound`.
pub(crate) fn service(state: &Arc<AppState>, bound: Option<SocketAddr>) -> Router {
    let sessions = Arc::clone(state);
    let server = McpServer::per_user(move |user| {
        let (model, agent) = sessions.agent(None).ok()?;
        Some(sessions.session(user, &model, &agent))
    });
    let config = HttpConfig::bound_to(bound, state.limits.max_body_bytes);
    Router::new()
        .fallback_service(HttpService::new(server, &config))
        .layer(from_fn_with_state(Arc::clone(state), authenticate))
}

/// Lets a request through only with a valid key, naming the key's user to
/// the MCP service.
async fn authenticate(User(user): User, mut request: Request, next: Next) -> Response {
    request.extensions_mut().insert(HttpUser(user));
    next.run(request).await
}

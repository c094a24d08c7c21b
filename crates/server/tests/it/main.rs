//! The server on loopback: OpenAI clients, isolation between keys, limits
//! and errors, graceful shutdown, MCP on `/mcp`, and the OpenAI Python SDK.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod fixture;
mod limits;
mod mcp;
mod owasp;
mod python;
mod venv;

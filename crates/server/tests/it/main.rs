//! The server on loopback: OpenAI clients, isolation between keys, limits
//! and errors, graceful shutdown.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod fixture;

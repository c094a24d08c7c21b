//! LLM layer tests. The OpenAI-compatible backend is tested against a real
//! HTTP server on loopback that plays scripted chat-completions answers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(feature = "local")]
mod local;
mod openai;
mod pull;
mod replay;
mod toolcall;

//! The MCP server end to end: rmcp's own client over an in-process byte
//! stream, against a rules agent on a synthetic catalog.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fixture;
mod tools;

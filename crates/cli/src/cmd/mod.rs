//! One module per command: its flags, the work, and the printing.
//!
//! A command imports from this crate only `open`, `names`, `out`,
//! `progress` and `crate::runtime`, never another command, so no cycle can
//! form between commands. `chat` runs other commands as a user would type
//! them through a function `main` hands it.

pub mod ask;
pub mod chat;
pub mod data;
pub mod eval;
pub mod index;
pub mod knowledge;
pub mod mcp;
pub mod model;
pub mod profile;
pub mod search;
pub mod serve;
pub mod train;

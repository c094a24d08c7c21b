//! `recagent chat`: the agent in a ratatui terminal UI.
//!
//! * [`app`]: state, keys → [`app::Action`]s, agent events → panes (no IO).
//! * [`ui`]: one draw function per pane (chat, message, candidates, trace,
//!   profile, status, help) and the layout.
//! * [`run`]: the terminal, the event loop, turns on blocking threads that
//!   Esc cancels.

pub mod app;
pub mod run;
pub mod ui;

pub use app::{Action, AgentMsg, App};
pub use run::{ChatOptions, Error, run};

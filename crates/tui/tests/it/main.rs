//! The TUI without a terminal: keys become actions, agent events fill the
//! panes, and frames drawn on ratatui's `TestBackend` are snapshotted.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod app;
mod fixture;
mod frames;

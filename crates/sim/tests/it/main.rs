//! Simulated episodes, the leakage guards on both channels, metrics and
//! reports, on a synthetic catalog (no downloads).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod crm;
mod episodes;
mod fixture;
mod guard;
mod llm;
mod metrics;
mod report;
mod voice;

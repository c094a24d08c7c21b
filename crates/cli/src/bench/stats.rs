//! The statistics the benchmarks report: nearest-rank percentiles of
//! timings in milliseconds.

use serde::Serialize;

pub use recagent_core::fsx::percentile;

/// The median and the 99th percentile of some timings.
#[derive(Debug, Serialize)]
pub struct Percentiles {
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// [`Percentiles`] of unsorted timings in milliseconds.
pub fn percentiles(mut v: Vec<f64>) -> Percentiles {
    v.sort_by(f64::total_cmp);
    Percentiles {
        p50_ms: percentile(&v, 0.5),
        p99_ms: percentile(&v, 0.99),
    }
}

/// The cores this process may use (1 when unknown).
pub fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

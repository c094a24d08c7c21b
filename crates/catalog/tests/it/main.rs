//! Integration tests of the catalog crate, on small fixtures in
//! `tests/fixtures/` at the workspace root.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fetch;
mod jsonl;
mod movielens;
mod relations;
mod split;
mod synth;

use std::path::PathBuf;

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("run through cargo test"))
        .join("../../tests/fixtures")
        .join(name)
}

/// Writes `files` (name, contents) into a fresh folder.
pub fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

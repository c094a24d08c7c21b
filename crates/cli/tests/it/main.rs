//! End-to-end tests of the `recagent` binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod chat;
mod data;
mod eval;
mod knowledge;
mod ranker;
mod search;

use std::path::{Path, PathBuf};

use assert_cmd::Command;

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("run through cargo test"))
        .join("../../tests/fixtures")
        .join(name)
}

/// The JSON a successful command printed; shows stderr when it failed.
pub fn json_of(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `recagent` with `$RECAGENT_HOME` set to `home`.
pub fn recagent(home: &Path) -> Command {
    let mut cmd = Command::cargo_bin("recagent").unwrap();
    cmd.env("RECAGENT_HOME", home)
        .env_remove("RECAGENT_LOG")
        .env_remove("RECAGENT_QDRANT_URL");
    cmd
}

/// A synthetic catalog named `s` in `home`.
pub fn synth_catalog(home: &Path, items: u32, users: u32, per_user: u32) {
    recagent(home)
        .args(["data", "synth", "--name", "s", "--items"])
        .arg(items.to_string())
        .arg("--users")
        .arg(users.to_string())
        .arg("--per-user")
        .arg(per_user.to_string())
        .assert()
        .success();
}

#[test]
fn every_command_has_help() {
    let home = tempfile::tempdir().unwrap();
    for args in [
        &[][..],
        &["data"],
        &["data", "fetch"],
        &["data", "import"],
        &["data", "synth"],
        &["data", "stats"],
        &["data", "list"],
        &["index"],
        &["index", "build"],
        &["search"],
        &["train"],
        &["bench"],
        &["bench", "ranker"],
        &["bench", "retrieval"],
        &["bench", "llm"],
        &["bench", "similar"],
        &["model"],
        &["model", "pull"],
        &["model", "list"],
        &["ask"],
        &["profile"],
        &["bench", "agent"],
        &["eval"],
        &["chat"],
        &["serve"],
        &["bench", "serve"],
        &["knowledge"],
        &["knowledge", "generate"],
        &["bench", "knowledge"],
    ] {
        let out = recagent(home.path())
            .args(args)
            .arg("--help")
            .env("COLUMNS", "100")
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        let name = if args.is_empty() {
            "help".to_owned()
        } else {
            format!("help-{}", args.join("-"))
        };
        insta::assert_snapshot!(name, text);
    }
}

#[test]
fn profile_and_ask_say_what_is_missing() {
    let home = tempfile::tempdir().unwrap();
    let out = recagent(home.path())
        .args(["profile", "show", "ml-100k", "ann"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing is remembered"));
    let out = recagent(home.path())
        .args(["ask", "ml-100k", "a comedy"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("recagent data fetch ml-100k"), "{err}");
}

//! End-to-end tests of the `recagent` binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod chat;
mod data;
mod eval;
mod knowledge;
mod mcp;
mod model_server;
mod ranker;
mod search;
#[path = "../../../server/tests/it/venv.rs"]
mod venv;

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

/// A synthetic catalog `s` an agent can serve: indexed (with the shared
/// all-MiniLM-L6-v2) and an FM ranker trained (`--ranker fm`).
pub fn servable_catalog(home: &Path) {
    synth_catalog(home, 300, 80, 25);
    search::borrow_minilm(home);
    recagent(home)
        .args(["index", "build", "s"])
        .assert()
        .success();
    recagent(home)
        .args(["train", "s", "--model", "fm", "--epochs", "2"])
        .assert()
        .success();
}

/// The subcommands a `--help` text lists under "Commands:", each with its
/// about text, clap's own `help` left out. An entry is `  name  about`;
/// a wrapped about goes on in lines indented further.
fn subcommands(help: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let section = help
        .lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty());
    for line in section {
        if let Some(entry) = line.strip_prefix("  ")
            && !entry.starts_with(' ')
        {
            let (name, about) = entry.split_once(' ').unwrap_or((entry, ""));
            if name != "help" {
                out.push((name.to_owned(), about.trim().to_owned()));
            }
        }
    }
    out
}

/// Every command and subcommand, found by walking the binary's own help
/// from the top, so a new one cannot be missed: each has an about text,
/// `--help` exits 0, and its help is a snapshot. A snapshot of a command
/// that is gone fails too.
#[test]
fn every_command_has_help() {
    let home = tempfile::tempdir().unwrap();
    let mut walked = Vec::new();
    let mut todo = std::collections::VecDeque::from([Vec::<String>::new()]);
    while let Some(args) = todo.pop_front() {
        let command = format!("recagent {}", args.join(" "));
        let out = recagent(home.path())
            .args(&args)
            .arg("--help")
            .env("COLUMNS", "100")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "`{command} --help` failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let about = text.lines().next().unwrap_or("");
        assert!(
            !about.trim().is_empty() && !about.starts_with("Usage:"),
            "`{command}` has no about text:\n{text}"
        );
        for (name, about) in subcommands(&text) {
            assert!(!about.is_empty(), "`{command} {name}` has no about text");
            let mut sub = args.clone();
            sub.push(name);
            todo.push_back(sub);
        }
        let name = if args.is_empty() {
            "help".to_owned()
        } else {
            format!("help-{}", args.join("-"))
        };
        insta::assert_snapshot!(name.as_str(), text);
        walked.push(name);
    }
    // The walk reads what it walks: a parse of "Commands:" that found
    // nothing would leave the older snapshots unvisited, and fail here.
    // Where `cargo test` runs it, not where it was built.
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), PathBuf::from)
        .join("tests/it/snapshots");
    let mut stale = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let file = entry.unwrap().file_name().into_string().unwrap();
        if let Some(name) = file
            .strip_prefix("it__")
            .and_then(|f| f.strip_suffix(".snap"))
            .filter(|n| *n == "help" || n.starts_with("help-"))
            && !walked.iter().any(|w| w == name)
        {
            stale.push(file);
        }
    }
    assert!(
        stale.is_empty(),
        "help snapshots of no command (delete them): {stale:?}"
    );
    assert!(
        walked.iter().any(|w| w.matches('-').count() >= 2),
        "the walk reached no subcommand: {walked:?}"
    );
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

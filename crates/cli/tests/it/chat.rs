//! `recagent chat` end to end: the real binary in tmux.

use std::process::Command as Std;
use std::time::{Duration, Instant};

use crate::search::borrow_minilm;
use crate::{json_of, recagent, synth_catalog};

fn tmux(args: &[&str]) -> String {
    let out = Std::new("tmux")
        .args(args)
        .output()
        .expect("tmux is installed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
#[ignore = "fetches all-MiniLM-L6-v2 and needs tmux: CI runs it with --include-ignored"]
fn chat_in_tmux_shows_the_recommended_title() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    synth_catalog(h, 300, 80, 25);
    borrow_minilm(h);
    // Setup skips what is there and trains what is not; no model is pulled
    // for the rules controller.
    let setup = recagent(h)
        .args(["chat", "s", "--controller", "rules", "--setup-only"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&setup.stderr);
    assert!(setup.status.success(), "{err}");
    assert!(
        err.contains("[1/5] fetch the catalog s: already there"),
        "{err}"
    );
    assert!(err.contains("[2/5] build the indexes: done"), "{err}");
    assert!(err.contains("[3/5] train the deepfm ranker: done"), "{err}");
    assert!(
        err.contains("[4/5] train the next-item model: done"),
        "{err}"
    );
    assert!(err.contains("[5/5] local model: not needed"), "{err}");
    let again = recagent(h)
        .args(["chat", "s", "--controller", "rules", "--setup-only"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains("[3/5] train the deepfm ranker: already there"),
        "{err}"
    );

    // What the agent recommends first for this request (a fresh user).
    let genre = "Comedy";
    let request = format!("I'd like a {genre} movie");
    let v = json_of(
        &recagent(h)
            .args(["ask", "s", "--user", "tmux-probe", "--json", &request])
            .output()
            .unwrap(),
    );
    let title = v["items"][0]["title"].as_str().unwrap().to_owned();
    // One item shape: `ask` and `search` name the film by the catalog's id.
    let id = v["items"][0]["id"]
        .as_str()
        .expect("the catalog id, a string");
    assert!(v["items"][0].get("key").is_none(), "{}", v["items"][0]);
    let linked = json_of(
        &recagent(h)
            .args(["search", "s", &title, "--link", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(linked[0]["id"], id, "{linked}");

    let session = format!("recagent-test-{}", std::process::id());
    let bin = env!("CARGO_BIN_EXE_recagent");
    let cmd = format!(
        "RECAGENT_HOME={} {bin} chat s --user tmux-user --controller rules",
        h.display()
    );
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "140",
        "-y",
        "40",
        &cmd,
    ]);
    let screen = || tmux(&["capture-pane", "-p", "-t", &session]);
    let wait = |needle: &str| {
        let t = Instant::now();
        loop {
            let s = screen();
            if s.contains(needle) && s.contains(" ready ·") {
                return s;
            }
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "no {needle:?} on screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    wait("Message");
    tmux(&["send-keys", "-t", &session, &request, "Enter"]);
    let s = wait("▶ 1.");
    tmux(&["send-keys", "-t", &session, "C-c"]);
    std::thread::sleep(Duration::from_millis(300));
    tmux(&["kill-session", "-t", &session]);
    // The candidates pane may cut a long title; its first 20 characters show.
    let head: String = title.chars().take(20).collect();
    assert!(s.contains(&head), "{title:?} is not on screen:\n{s}");
    assert!(s.contains("you: I'd like a Comedy movie"), "{s}");
    assert!(
        s.contains("search_items"),
        "the trace pane shows the tool calls:\n{s}"
    );
}

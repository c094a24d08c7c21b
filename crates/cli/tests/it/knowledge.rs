//! `recagent knowledge generate`: what it says when a part is missing.

use predicates::prelude::*;

use crate::{recagent, synth_catalog};

#[test]
fn knowledge_names_what_is_missing_first() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    recagent(h)
        .args(["knowledge", "generate", "ml-100k"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("recagent data fetch ml-100k"));
    synth_catalog(h, 40, 10, 5);
    // The 1.5B writes by default; missing, the error says how to get it and
    // what else can write.
    recagent(h)
        .args(["knowledge", "generate", "s"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("recagent model pull qwen2.5-1.5b")
                .and(predicate::str::contains("--model qwen2.5-0.5b"))
                .and(predicate::str::contains("--model api"))
                .and(predicate::str::contains("--controller").not()),
        );
    recagent(h)
        .args(["knowledge", "generate", "s", "--model", "qwen2.5-0.5b"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("recagent model pull qwen2.5-0.5b"));
    assert!(!h.join("knowledge").exists(), "nothing written");
}

//! Tidy: invariants that ARCHITECTURE.md states about the source, kept
//! true by reading the source.
//!
//! Each rule is a function from one file's text to its hits; a test runs
//! it over [`rust_sources`] (every `crates/*/src/**/*.rs`) and fails naming
//! `file:line` and what to write instead. Exceptions are listed by file
//! and by a piece of the line, each with its reason, so that one is never
//! granted silently and one whose line is gone fails too. Each rule also
//! has a test that feeds it a bad line and sees it caught.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};

/// The workspace root: this crate lives in `crates/core`.
fn workspace_root() -> PathBuf {
    // The folder `cargo test` runs this from, not the one it was built in:
    // clones that share a target folder share this binary.
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .join("../..")
}

/// Every `crates/*/src/**/*.rs` of the workspace as (path relative to the
/// root, text), sorted by path.
fn rust_sources() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|x| x == "rs") {
                out.push(path);
            }
        }
    }
    let root = workspace_root();
    let mut files = Vec::new();
    for krate in fs::read_dir(root.join("crates")).unwrap() {
        let src = krate.unwrap().path().join("src");
        if src.is_dir() {
            walk(&src, &mut files);
        }
    }
    files.sort();
    let sources: Vec<(PathBuf, String)> = files
        .into_iter()
        .map(|p| {
            let text = fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p.strip_prefix(&root).unwrap().to_path_buf(), text)
        })
        .collect();
    // A walk that found nothing would pass every rule.
    let this_crate = Path::new("crates/core/src/lib.rs");
    assert!(
        sources.iter().any(|(p, _)| p == this_crate),
        "the walk of {}/crates/*/src missed {}",
        root.display(),
        this_crate.display()
    );
    sources
}

/// One line a rule objects to.
#[derive(Debug)]
struct Hit {
    path: PathBuf,
    /// 1-based.
    line: usize,
    text: String,
    why: &'static str,
}

impl std::fmt::Display for Hit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: {}\n    {}",
            self.path.display(),
            self.line,
            self.why,
            self.text.trim()
        )
    }
}

/// The lines of `text` that are code, numbered from 1: comment lines are
/// prose and may say anything.
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
}

/// Runs `rule` over every source, drops the hits `allowed` lists, and
/// fails with the rest. An allowed entry that matches no hit fails too, so
/// the list never outlives its reasons.
fn check(rule: fn(&Path, &str) -> Vec<Hit>, allowed: &[Allowed], fix: &str) {
    let mut hits = Vec::new();
    let mut used = vec![false; allowed.len()];
    for (path, text) in rust_sources() {
        for hit in rule(&path, &text) {
            match allowed
                .iter()
                .position(|a| path == Path::new(a.path) && hit.text.contains(a.line))
            {
                Some(i) => used[i] = true,
                None => hits.push(hit.to_string()),
            }
        }
    }
    let stale: Vec<String> = allowed
        .iter()
        .zip(&used)
        .filter(|(_, used)| !**used)
        .map(|(a, _)| {
            format!(
                "{}: no line holds {:?} any more (allowed as {})",
                a.path, a.line, a.why
            )
        })
        .collect();
    assert!(
        hits.is_empty(),
        "{fix}\n\n{}\n\n(An exception goes in the rule's allowed list, with its reason.)",
        hits.join("\n")
    );
    assert!(
        stale.is_empty(),
        "remove these from the allowed list:\n{}",
        stale.join("\n")
    );
}

/// A line a rule lets through: its file, a piece of the line, and why.
#[derive(Debug)]
struct Allowed {
    path: &'static str,
    line: &'static str,
    why: &'static str,
}

// ---------------------------------------------------------------------
// Genres fold only through `recagent_core::genre_key`.

/// The one home of genre folding.
const GENRE_HOME: &str = "crates/core/src/text.rs";

/// Case folds in the standard library.
const FOLDS: &[&str] = &[
    "eq_ignore_ascii_case",
    "to_lowercase",
    "to_ascii_lowercase",
    "to_uppercase",
    "to_ascii_uppercase",
];

/// What a folded string is compared or looked up with.
const COMPARES: &[&str] = &[
    "==",
    "!=",
    ".eq(",
    ".cmp(",
    ".contains(",
    ".get(",
    ".insert(",
    ".entry(",
];

/// Case folds that are not of genres.
const ALLOWED_FOLDS: &[Allowed] = &[
    Allowed {
        path: "crates/catalog/src/fetch.rs",
        line: "actual.eq_ignore_ascii_case(sum.expected())",
        why: "a SHA-256 digest in hex, upper or lower case",
    },
    Allowed {
        path: "crates/knowledge/src/lib.rs",
        line: "v.eq_ignore_ascii_case(\"unknown\")",
        why: "a model that says it does not know a field's value, whatever the field",
    },
];

/// Genre comparisons that fold by hand, outside [`GENRE_HOME`]:
/// - any `eq_ignore_ascii_case`: the genre it compares need not be named
///   on its line (`out.iter().any(|o| o.eq_ignore_ascii_case(&g))` was a
///   genre dedup), so every use is listed or allowed;
/// - a line that names a genre (or `"unknown"`, the placeholder genre)
///   and compares or looks up a case-folded string;
/// - a second `fn genre_key`, which would shadow the core one in its crate.
///
/// Lower-casing a genre to print it is not a comparison and passes.
fn genre_folds(path: &Path, text: &str) -> Vec<Hit> {
    if path == Path::new(GENRE_HOME) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (line, code) in code_lines(text) {
        let lower = code.to_lowercase();
        let why = if code.contains("eq_ignore_ascii_case") {
            Some("compares with eq_ignore_ascii_case; a genre compares by genre_key")
        } else if (lower.contains("genre") || lower.contains("\"unknown\""))
            && FOLDS.iter().any(|f| code.contains(f))
            && COMPARES.iter().any(|c| code.contains(c))
        {
            Some("compares a case-folded genre; fold it with genre_key (or is_unknown_genre)")
        } else if code.contains("fn genre_key(") {
            Some("a second genre_key; call recagent_core::genre_key")
        } else {
            None
        };
        if let Some(why) = why {
            out.push(Hit {
                path: path.to_owned(),
                line,
                text: code.to_owned(),
                why,
            });
        }
    }
    out
}

#[test]
fn genres_fold_only_through_genre_key() {
    check(
        genre_folds,
        ALLOWED_FOLDS,
        "Genres fold only through recagent_core::genre_key (ARCHITECTURE.md): \
         compare genre_key(a) == genre_key(b), or use text::is_unknown_genre.",
    );
}

#[test]
fn the_genre_rule_catches_hand_folds_and_passes_display() {
    let lines = |text: &str| -> Vec<usize> {
        genre_folds(Path::new("crates/x/src/lib.rs"), text)
            .iter()
            .map(|h| h.line)
            .collect()
    };
    let bad = [
        "if !g.eq_ignore_ascii_case(\"unknown\") {",
        "if !out.iter().any(|o| o.eq_ignore_ascii_case(&g)) {",
        "let hit = item.genres.iter().any(|g| g.to_lowercase() == want);",
        ".filter(|g| g.to_ascii_lowercase() != \"unknown\")",
        "seen.insert(genre.to_lowercase());",
        "fn genre_key(g: &str) -> String {",
    ];
    assert_eq!(lines(&bad.join("\n")), [1, 2, 3, 4, 5, 6]);
    let fine = [
        "let g = p.genres[0].to_lowercase();",
        "// a comment may say g.eq_ignore_ascii_case(\"unknown\")",
        "if genre_key(g) == genre_key(want) {",
        "let title = t.to_lowercase() == other;",
        "fn loose_genre_key(g: &str) -> String {",
    ];
    assert_eq!(lines(&fine.join("\n")), Vec::<usize>::new());
    // The home of folding may fold.
    assert!(genre_folds(Path::new(GENRE_HOME), bad[0]).is_empty());
}

// ---------------------------------------------------------------------
// No library builds a runtime; only two block on the caller's.

/// Where a library blocks on the caller's runtime, from a
/// `spawn_blocking` thread (ARCHITECTURE.md says why).
const ALLOWED_BLOCKING: &[Allowed] = &[
    Allowed {
        path: "crates/server/src/lib.rs",
        line: "handle.block_on(",
        why: "a whole agent turn runs in spawn_blocking; its async IO blocks on the server's runtime there",
    },
    Allowed {
        path: "crates/tui/src/run.rs",
        line: "handle.block_on(",
        why: "the chat's turn runs in spawn_blocking, as the server's does",
    },
    Allowed {
        path: "crates/mcp/src/lib.rs",
        line: "handle.block_on(",
        why: "an MCP tool call (a whole turn, or one agent tool) runs in spawn_blocking, as the server's turns do",
    },
];

/// `block_on` or a runtime built in a library (the binary, `crates/cli`,
/// is the one place that builds a runtime and blocks on it).
fn runtime_use(path: &Path, text: &str) -> Vec<Hit> {
    if path.starts_with("crates/cli") {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (line, code) in code_lines(text) {
        let why = if code.contains("block_on(") {
            Some(
                "blocks on a runtime; a library is async or sync, and blocks only where ARCHITECTURE.md says",
            )
        } else if code.contains("runtime::Builder") || code.contains("Runtime::new(") {
            Some("builds a runtime; only the binary does")
        } else {
            None
        };
        if let Some(why) = why {
            out.push(Hit {
                path: path.to_owned(),
                line,
                text: code.to_owned(),
                why,
            });
        }
    }
    out
}

#[test]
fn block_on_only_where_the_architecture_says() {
    check(
        runtime_use,
        ALLOWED_BLOCKING,
        "No library builds a runtime or blocks on one outside the places \
         ARCHITECTURE.md names: make the function async, or sync and let the \
         caller choose.",
    );
}

#[test]
fn the_runtime_rule_catches_block_on_and_new_runtimes() {
    let lib = Path::new("crates/x/src/lib.rs");
    let bad = "let rt = tokio::runtime::Builder::new_current_thread().build()?;\n\
               rt.block_on(turn)\n\
               Handle::current().block_on(async {})";
    let lines: Vec<usize> = runtime_use(lib, bad).iter().map(|h| h.line).collect();
    assert_eq!(lines, [1, 2, 3]);
    assert!(runtime_use(lib, "// block_on( in prose\nasync fn turn() {}").is_empty());
    assert!(runtime_use(Path::new("crates/cli/src/main.rs"), bad).is_empty());
}

// ---------------------------------------------------------------------
// No module cycles in the crates that had them.

/// The top-level modules each file of `krate` names through `crate::`,
/// keyed by the file's own top-level module (`lib.rs` and `main.rs`, the
/// crate root, are left out: everything may call the root's helpers).
fn module_edges(
    krate: &str,
) -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let src = Path::new("crates").join(krate).join("src");
    let mut edges = std::collections::BTreeMap::<String, std::collections::BTreeSet<String>>::new();
    for (path, text) in rust_sources() {
        let Ok(rel) = path.strip_prefix(&src) else {
            continue;
        };
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let module = first.trim_end_matches(".rs").to_owned();
        if module == "lib" || module == "main" {
            continue;
        }
        let to = edges.entry(module.clone()).or_default();
        for (_, code) in code_lines(&text) {
            for (i, _) in code.match_indices("crate::") {
                let rest = &code[i + "crate::".len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && name != module {
                    to.insert(name);
                }
            }
        }
    }
    edges
}

/// A cycle among `edges`, as the path that closes it, if there is one.
fn find_cycle(
    edges: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
) -> Option<Vec<String>> {
    fn visit(
        at: &str,
        edges: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut std::collections::BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == at) {
            let mut cycle = path[i..].to_vec();
            cycle.push(at.to_owned());
            return Some(cycle);
        }
        if done.contains(at) {
            return None;
        }
        path.push(at.to_owned());
        for next in edges.get(at).into_iter().flatten() {
            if edges.contains_key(next)
                && let Some(c) = visit(next, edges, path, done)
            {
                return Some(c);
            }
        }
        path.pop();
        done.insert(at.to_owned());
        None
    }
    let mut done = std::collections::BTreeSet::new();
    edges
        .keys()
        .find_map(|m| visit(m, edges, &mut Vec::new(), &mut done))
}

#[test]
fn cli_and_ranker_modules_have_no_cycle() {
    for krate in ["cli", "ranker"] {
        let edges = module_edges(krate);
        assert!(edges.len() > 3, "{krate}: the walk found {edges:?}");
        if let Some(cycle) = find_cycle(&edges) {
            panic!(
                "crates/{krate}/src has a module cycle: {}; move what both need into a leaf module",
                cycle.join(" → ")
            );
        }
    }
}

#[test]
fn the_cycle_rule_finds_a_cycle() {
    let edges = |pairs: &[(&str, &str)]| {
        let mut m = std::collections::BTreeMap::<String, std::collections::BTreeSet<String>>::new();
        for (a, b) in pairs {
            m.entry((*a).into()).or_default().insert((*b).into());
            m.entry((*b).into()).or_default();
        }
        m
    };
    let cyclic = edges(&[("store", "ranker"), ("ranker", "save"), ("ranker", "store")]);
    assert_eq!(find_cycle(&cyclic).unwrap(), ["ranker", "store", "ranker"]);
    let fine = edges(&[("store", "ranker"), ("ranker", "save"), ("store", "save")]);
    assert_eq!(find_cycle(&fine), None);
}

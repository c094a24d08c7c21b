use recagent_catalog::{Error, jsonl, store};
use recagent_core::{Home, ItemId, NoProgress, UserId};

use crate::{fixture, folder};

#[test]
fn tiny_fixture_loads_with_keys_and_implicit_users() {
    let c = jsonl::load_dir(&fixture("tiny"), "tiny", &NoProgress).unwrap();
    assert_eq!(c.items().len(), 5);
    // Three listed users plus one that only appears in interactions.
    assert_eq!(c.users().len(), 4);
    assert_eq!(c.interactions().len(), 8);
    let star = c.item_by_key("sku-4").unwrap();
    assert_eq!(c.item(star).unwrap().title, "Star Wars");
    assert_eq!(
        c.item(star).unwrap().relations["actor"],
        vec!["hamill", "ford"]
    );
    // Integer and string ids name the same key.
    assert_eq!(c.item_by_key("3"), Some(ItemId(2)));
    let walk_in = c.user_by_key("walk-in").unwrap();
    assert_eq!(walk_in, UserId(3));
    assert_eq!(c.user(walk_in).unwrap().age, None);
    assert_eq!(c.interactions()[5].rating, 4.5);
    // A missing timestamp reads as 0.
    assert_eq!(c.interactions()[6].timestamp, 0);
}

#[test]
fn written_catalog_reads_back_identically() {
    let c = jsonl::load_dir(&fixture("tiny"), "tiny", &NoProgress).unwrap();
    let out = tempfile::tempdir().unwrap();
    jsonl::write_dir(&c, out.path(), &NoProgress).unwrap();
    let back = jsonl::load_dir(out.path(), "tiny", &NoProgress).unwrap();
    assert_eq!(c, back);
}

/// A vote count (the popularity prior of a catalog without ratings) is
/// read, written back, and absent means unknown.
#[test]
fn votes_read_and_write_back() {
    let dir = folder(&[(
        "items.jsonl",
        "{\"id\": \"a\", \"title\": \"A\", \"votes\": 1234}\n{\"id\": \"b\", \"title\": \"B\"}\n",
    )]);
    let c = jsonl::load_dir(dir.path(), "v", &NoProgress).unwrap();
    let votes: Vec<u32> = c.items().iter().map(|i| i.votes).collect();
    assert_eq!(votes, [1234, 0]);
    let out = tempfile::tempdir().unwrap();
    jsonl::write_dir(&c, out.path(), &NoProgress).unwrap();
    let text = std::fs::read_to_string(out.path().join("items.jsonl")).unwrap();
    assert!(
        text.lines().next().unwrap().contains("\"votes\":1234"),
        "{text}"
    );
    assert!(!text.lines().nth(1).unwrap().contains("votes"), "{text}");
}

/// Loads `items` / `interactions` text and returns the error.
fn load_err(files: &[(&str, &str)]) -> (Error, tempfile::TempDir) {
    let dir = folder(files);
    let err = jsonl::load_dir(dir.path(), "t", &NoProgress).unwrap_err();
    (err, dir)
}

/// Checks that loading fails at `file:line` on `field`, with `reason` in the message.
fn check_malformed(
    files: &[(&str, &str)],
    want_file: &str,
    want_line: usize,
    want_field: &str,
    reason: &str,
) {
    let (err, _dir) = load_err(files);
    match &err {
        Error::Malformed {
            file,
            line,
            field,
            reason: r,
        } => {
            assert_eq!(file.file_name().unwrap(), want_file, "{err}");
            assert_eq!(*line, want_line, "{err}");
            assert_eq!(field, want_field, "{err}");
            assert!(r.contains(reason), "reason {r:?} lacks {reason:?}");
        }
        other => panic!("expected a malformed-row error, got {other:?}"),
    }
    // The message a person sees carries all three.
    let shown = err.to_string();
    assert!(
        shown.contains(&format!("{want_file}:{want_line}")),
        "{shown}"
    );
    assert!(shown.contains(want_field), "{shown}");
}

const GOOD_ITEM: &str = "{\"id\": 1, \"title\": \"A\"}\n";

#[test]
fn malformed_rows_name_file_line_and_field() {
    check_malformed(
        &[(
            "items.jsonl",
            "{\"id\": 1, \"title\": \"A\"}\n{\"id\": 2, \"title\": \"B\", \"year\": \"199x\"}\n",
        )],
        "items.jsonl",
        2,
        "year",
        "invalid type",
    );
    check_malformed(
        &[("items.jsonl", "{\"id\": 1, \"title\": \"A\"\n")],
        "items.jsonl",
        1,
        "(row)",
        "EOF",
    );
    check_malformed(
        &[("items.jsonl", "{\"id\": 1}\n")],
        "items.jsonl",
        1,
        "(row)",
        "missing field `title`",
    );
    check_malformed(
        &[("items.jsonl", "{\"id\": 1, \"titel\": \"A\"}\n")],
        "items.jsonl",
        1,
        "titel",
        "unknown field",
    );
    check_malformed(
        &[("items.jsonl", "{\"id\": 1, \"title\": \"  \"}\n")],
        "items.jsonl",
        1,
        "title",
        "empty",
    );
    check_malformed(
        &[("items.jsonl", "{\"id\": -4, \"title\": \"A\"}\n")],
        "items.jsonl",
        1,
        "id",
        "negative",
    );
    check_malformed(
        &[(
            "items.jsonl",
            "{\"id\": 1, \"title\": \"A\", \"genres\": [\"Drama\", 7]}\n",
        )],
        "items.jsonl",
        1,
        "genres[1]",
        "invalid type",
    );
    check_malformed(
        &[(
            "items.jsonl",
            "\n\n{\"id\": 1, \"title\": \"A\"}\n{\"id\": \"1\", \"title\": \"B\"}\n",
        )],
        "items.jsonl",
        4,
        "id",
        "duplicate id \"1\" (first on line 3)",
    );
    check_malformed(
        &[("items.jsonl", "{\"id\": 1, \"title\": \"A\"} trailing\n")],
        "items.jsonl",
        1,
        "(row)",
        "trailing",
    );
    check_malformed(
        &[
            ("items.jsonl", GOOD_ITEM),
            (
                "interactions.jsonl",
                "{\"user\": 1, \"item\": 9, \"rating\": 4}\n",
            ),
        ],
        "interactions.jsonl",
        1,
        "item",
        "unknown item id \"9\"",
    );
    check_malformed(
        &[
            ("items.jsonl", GOOD_ITEM),
            ("interactions.jsonl", "{\"user\": 1, \"item\": 1}\n"),
        ],
        "interactions.jsonl",
        1,
        "(row)",
        "missing field `rating`",
    );
    check_malformed(
        &[
            ("items.jsonl", GOOD_ITEM),
            ("users.jsonl", "{\"id\": 1, \"age\": \"old\"}\n"),
        ],
        "users.jsonl",
        1,
        "age",
        "invalid type",
    );
}

#[test]
fn invalid_utf8_is_a_malformed_row() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("items.jsonl"),
        b"{\"id\": 1, \"title\": \"A\"}\n{\"id\": 2, \"title\": \"\xff\"}\n",
    )
    .unwrap();
    match jsonl::load_dir(dir.path(), "t", &NoProgress).unwrap_err() {
        Error::Malformed { line, reason, .. } => {
            assert_eq!(line, 2);
            assert!(reason.contains("UTF-8"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn missing_items_file_says_what_is_needed() {
    let dir = tempfile::tempdir().unwrap();
    let err = jsonl::load_dir(dir.path(), "t", &NoProgress).unwrap_err();
    assert!(matches!(err, Error::MissingFile { .. }), "{err:?}");
    assert!(err.to_string().contains("docs/catalogs.md"));
}

fn leftovers(home: &Home) -> Vec<String> {
    match std::fs::read_dir(home.data_dir()) {
        Ok(rd) => rd
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => vec![],
    }
}

#[test]
fn failed_import_leaves_nothing_behind() {
    let home_dir = tempfile::tempdir().unwrap();
    let home = Home::new(home_dir.path());
    let err = store::import(&home, &fixture("bad"), "bad", false, &NoProgress).unwrap_err();
    match &err {
        Error::Malformed { line, field, .. } => {
            assert_eq!((*line, field.as_str()), (2, "rating"));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        leftovers(&home).is_empty(),
        "left behind: {:?}",
        leftovers(&home)
    );
    assert!(!store::exists(&home, "bad"));
}

#[test]
fn failed_reimport_keeps_the_old_catalog() {
    let home_dir = tempfile::tempdir().unwrap();
    let home = Home::new(home_dir.path());
    store::import(&home, &fixture("tiny"), "cat", false, &NoProgress).unwrap();
    let err = store::import(&home, &fixture("tiny"), "cat", false, &NoProgress).unwrap_err();
    assert!(matches!(err, Error::AlreadyExists { .. }), "{err:?}");
    assert!(err.to_string().contains("already exists"));
    // A forced import of bad data must not destroy the good catalog.
    store::import(&home, &fixture("bad"), "cat", true, &NoProgress).unwrap_err();
    let c = store::load(&home, "cat", &NoProgress).unwrap();
    assert_eq!(c.items().len(), 5);
    assert_eq!(leftovers(&home), vec!["cat".to_owned()]);
    // A forced import of good data replaces it.
    let m = store::import(
        &home,
        &fixture("ml-100k-atomic").join("..").join("tiny"),
        "cat",
        true,
        &NoProgress,
    )
    .unwrap();
    assert_eq!(m.items, 5);
    assert_eq!(leftovers(&home), vec!["cat".to_owned()]);
}

#[test]
fn missing_catalog_names_the_command_that_makes_it() {
    let home_dir = tempfile::tempdir().unwrap();
    let home = Home::new(home_dir.path());
    let err = store::load(&home, "ml-100k", &NoProgress).unwrap_err();
    assert!(
        err.to_string().contains("recagent data fetch ml-100k"),
        "{err}"
    );
    let err = store::load(&home, "shop", &NoProgress).unwrap_err();
    assert!(
        err.to_string()
            .contains("recagent data import DIR --name shop"),
        "{err}"
    );
}

#[test]
fn catalog_names_cannot_escape_the_data_folder() {
    let home_dir = tempfile::tempdir().unwrap();
    let home = Home::new(home_dir.path());
    for name in ["../x", "a/b", ".hidden", "", "sp ace"] {
        let err = store::import(&home, &fixture("tiny"), name, false, &NoProgress).unwrap_err();
        assert!(matches!(err, Error::BadName { .. }), "{name:?}: {err:?}");
    }
    store::import(&home, &fixture("tiny"), "ok_name-1.2", false, &NoProgress).unwrap();
}

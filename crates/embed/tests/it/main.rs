//! Tests of the text encoder. Those that need the real weights fetch them
//! once through the product's own fetch code; they are ignored by default
//! and CI runs them with `--include-ignored`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use recagent_core::{Home, Item, ItemId, NoProgress};
use recagent_embed::{DIM, TextEncoder, fetch_minilm, item_text, load_knowledge_texts};

fn home() -> Home {
    let root = std::env::var_os("RECAGENT_HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/recagent")
        });
    Home::new(root)
}

fn cos(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
#[ignore = "fetches all-MiniLM-L6-v2: CI runs it with --include-ignored"]
fn minilm_embeds_meaning() {
    let home = home();
    let dir = fetch_minilm(&home, &Default::default(), &NoProgress).unwrap();
    let enc = TextEncoder::load(&dir).unwrap();
    let v = enc
        .embed(&[
            "a space adventure with starships and rebels",
            "Star Wars (1977). Genres: Action, Adventure, Sci-Fi",
            "Sleepless in Seattle (1993). Genres: Comedy, Romance",
            "a romantic comedy about falling in love",
        ])
        .unwrap();
    assert_eq!(v.len(), 4);
    for x in &v {
        assert_eq!(x.len(), DIM);
        let norm: f32 = x.iter().map(|a| a * a).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "{norm}");
    }
    assert!(
        cos(&v[0], &v[1]) > cos(&v[0], &v[2]) + 0.1,
        "space query: {} vs {}",
        cos(&v[0], &v[1]),
        cos(&v[0], &v[2])
    );
    assert!(cos(&v[3], &v[2]) > cos(&v[3], &v[1]) + 0.1, "romance query");
    // Batching must not change a text's vector (padding is masked out).
    let alone = enc
        .embed(&["Star Wars (1977). Genres: Action, Adventure, Sci-Fi"])
        .unwrap();
    assert!(cos(&alone[0], &v[1]) > 0.9999);
}

#[test]
#[ignore = "fetches all-MiniLM-L6-v2: CI runs it with --include-ignored"]
fn quick_path_matches_candle_bert() {
    let home = home();
    let dir = fetch_minilm(&home, &Default::default(), &NoProgress).unwrap();
    let enc = TextEncoder::load(&dir).unwrap();
    let queries = [
        "space adventure",
        "funny romantic comedy from the nineties",
        "war",
        "a tense thriller set in a hotel, anything after 1980",
        "something like star wars",
        "Sleepless in Seattle",
        "animated films for kids with talking animals",
        "dark crime drama about the mafia and family loyalty",
        "héroes y villanos — película de acción",
        "🙂 feel-good movie",
    ];
    let exact = enc.embed(&queries).unwrap();
    let mut worst = 1f32;
    for (q, e) in queries.iter().zip(&exact) {
        let quick = enc.embed_query(q).unwrap();
        assert_eq!(quick.len(), DIM);
        let norm: f32 = quick.iter().map(|a| a * a).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "{q}: norm {norm}");
        worst = worst.min(cos(&quick, e));
    }
    eprintln!("worst cosine between the 8-bit and f32 paths: {worst}");
    assert!(worst > 0.99, "the 8-bit path drifted: worst cosine {worst}");
    // And it ranks texts the way the exact model does.
    let docs = enc
        .embed(&[
            "Star Wars (1977). Genres: Action, Adventure, Sci-Fi",
            "Sleepless in Seattle (1993). Genres: Comedy, Romance",
            "The Godfather (1972). Genres: Crime, Drama",
            "Toy Story (1995). Genres: Animation, Children's, Comedy",
        ])
        .unwrap();
    for (qi, best) in [(0usize, 0usize), (1, 1), (7, 2), (6, 3)] {
        let q = enc.embed_query(queries[qi]).unwrap();
        let top = (0..docs.len())
            .max_by(|&a, &b| cos(&q, &docs[a]).total_cmp(&cos(&q, &docs[b])))
            .unwrap();
        assert_eq!(top, best, "{}", queries[qi]);
    }
}

#[test]
fn missing_weights_name_the_pull_command() {
    let dir = tempfile::tempdir().unwrap();
    let err = TextEncoder::load(dir.path()).unwrap_err();
    assert!(
        err.to_string().contains("recagent model pull minilm"),
        "{err}"
    );
}

#[test]
fn item_text_joins_what_describes_an_item() {
    let item = Item {
        id: ItemId(0),
        key: "1".into(),
        title: "Toy Story".into(),
        year: Some(1995),
        genres: vec!["Animation".into(), "Comedy".into()],
        text: "Toys come alive.".into(),
        relations: Default::default(),
        ..Default::default()
    };
    assert_eq!(
        item_text(&item, None),
        "Toy Story (1995). Genres: Animation, Comedy. Toys come alive."
    );
    assert_eq!(
        item_text(&item, Some(" A Pixar classic. ")),
        "Toy Story (1995). Genres: Animation, Comedy. Toys come alive.. A Pixar classic."
    );
}

#[test]
fn knowledge_text_files_report_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("k.jsonl");
    std::fs::write(
        &p,
        "{\"id\": 1, \"text\": \"fine\"}\n\n{\"id\": \"2\", \"txt\": \"typo\"}\n",
    )
    .unwrap();
    let err = load_knowledge_texts(&p).unwrap_err().to_string();
    assert!(err.contains("k.jsonl:3") && err.contains("txt"), "{err}");
    std::fs::write(&p, "{\"id\": 1, \"text\": \"fine\"}\n").unwrap();
    assert_eq!(load_knowledge_texts(&p).unwrap()["1"], "fine");
}

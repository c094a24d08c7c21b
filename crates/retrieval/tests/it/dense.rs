//! The vector stores against brute force, the two backends against each
//! other, item similarity, and fusion.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use recagent_core::{Catalog, Interaction, Item, ItemId, User, UserId, genre_key};
use recagent_retrieval::similar::Source;
use recagent_retrieval::vector::{EdgeStore, ServerStore, VectorPoint, VectorStore, upsert_all};
use recagent_retrieval::{Filter, SearchHit, SimilarWeights, Similarity, genre_overlap, rrf};

use crate::block;

const GENRES: [&str; 4] = ["Action", "Comedy", "Drama", "Horror"];

fn points(n: usize, dim: usize, seed: u64) -> Vec<VectorPoint> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let mut v: Vec<f32> = (0..dim).map(|_| rng.random_range(-1.0..1.0)).collect();
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.iter_mut().for_each(|x| *x /= norm);
            let genres = GENRES
                .iter()
                .filter(|_| rng.random_bool(0.4))
                .map(|g| g.to_string())
                .collect();
            let year = (!rng.random_bool(0.1)).then(|| rng.random_range(1950..2000));
            VectorPoint {
                item: ItemId(i as u32),
                vector: v,
                genres,
                year,
            }
        })
        .collect()
}

/// The reference meaning of a filter, [`Filter::matches`], on a point.
fn passes(p: &VectorPoint, f: &Filter) -> bool {
    let keys: Vec<String> = p.genres.iter().map(|g| genre_key(g)).collect();
    f.matches_parts(p.item, &keys, p.year)
}

fn brute(points: &[VectorPoint], q: &[f32], f: &Filter, k: usize) -> Vec<ItemId> {
    let mut s: Vec<(f32, ItemId)> = points
        .iter()
        .filter(|p| passes(p, f))
        .map(|p| (p.vector.iter().zip(q).map(|(a, b)| a * b).sum(), p.item))
        .collect();
    s.sort_by(|a, b| b.0.total_cmp(&a.0));
    s.into_iter().take(k).map(|x| x.1).collect()
}

fn filters() -> Vec<Filter> {
    vec![
        Filter::default(),
        Filter {
            genres_any: vec!["action".into(), "Horror".into()],
            ..Filter::default()
        },
        Filter {
            genres_all: vec!["Comedy".into(), "Drama".into()],
            ..Filter::default()
        },
        Filter {
            genres_none: vec!["Action".into()],
            year_min: Some(1970),
            ..Filter::default()
        },
        Filter {
            year_min: Some(1960),
            year_max: Some(1965),
            ..Filter::default()
        },
        Filter {
            exclude: (0..40).map(ItemId).collect(),
            genres_any: vec!["Drama".into()],
            ..Filter::default()
        },
        Filter {
            genres_any: vec![" COMEDY ".into()],
            genres_none: vec!["horror".into()],
            year_max: Some(1980),
            ..Filter::default()
        },
    ]
}

fn queries(dim: usize) -> Vec<Vec<f32>> {
    points(8, dim, 99).into_iter().map(|p| p.vector).collect()
}

#[test]
fn edge_store_matches_brute_force_under_filters_and_reopens() {
    let dim = 16;
    let pts = points(400, dim, 1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vectors");
    let store = EdgeStore::create(&path, dim).unwrap();
    block(upsert_all(&store, &pts, &recagent_core::NoProgress)).unwrap();
    assert_eq!(block(store.count()).unwrap(), 400);
    let check = |store: &EdgeStore| {
        for f in filters() {
            for q in queries(dim) {
                let got: Vec<ItemId> = block(store.search(&q, &f, 10))
                    .unwrap()
                    .iter()
                    .map(|h| h.item)
                    .collect();
                assert_eq!(got, brute(&pts, &q, &f, 10), "filter {f:?}");
                assert!(got.iter().all(|i| passes(&pts[i.index()], &f)));
                let exact: Vec<ItemId> = block(store.search_exact(&q, &f, 10))
                    .unwrap()
                    .iter()
                    .map(|h| h.item)
                    .collect();
                assert_eq!(exact, got, "exact search, filter {f:?}");
            }
        }
    };
    check(&store);
    drop(store);
    let store = EdgeStore::open(&path).unwrap();
    check(&store);
    let vs = block(store.vectors(&[ItemId(3), ItemId(7), ItemId(9999)])).unwrap();
    assert_eq!(vs.len(), 2, "the unknown id is left out");
    for (id, v) in vs {
        let want = &pts[id.index()].vector;
        assert!(v.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-5));
    }
    assert!(
        block(store.search(&queries(dim)[0], &Filter::default(), 0))
            .unwrap()
            .is_empty()
    );
    // A second opener while the first holds the shard (Qdrant Edge locks
    // its write-ahead log) reads a private copy, with the same answers,
    // and the copy goes when it closes.
    assert!(store.copy_dir().is_none());
    let beside = EdgeStore::open(&path).unwrap();
    let copy = beside.copy_dir().expect("a private copy").to_owned();
    assert!(copy.join("wal").is_dir(), "{}", copy.display());
    check(&beside);
    check(&store);
    drop(beside);
    assert!(!copy.exists(), "the copy goes with its store");
}

/// The embedded and server backends return the same top-10 on the same data,
/// and the server answers 16 tasks at once on a multi-thread runtime (the
/// store owns no runtime; the caller's drives its gRPC traffic). Needs a
/// Qdrant server: set RECAGENT_QDRANT_URL (gRPC, e.g. http://127.0.0.1:6334)
/// and run ignored tests. docs/scaling.md says how to run one.
#[test]
#[ignore = "needs a Qdrant server: set RECAGENT_QDRANT_URL and pass --include-ignored"]
fn qdrant_server_agrees_with_embedded_from_16_tasks() {
    let url = std::env::var("RECAGENT_QDRANT_URL")
        .expect("set RECAGENT_QDRANT_URL to the server's gRPC address");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let dim = 32;
        let pts = Arc::new(points(1500, dim, 5));
        let dir = tempfile::tempdir().unwrap();
        let edge = Arc::new(EdgeStore::create(&dir.path().join("v"), dim).unwrap());
        upsert_all(edge.as_ref(), &pts, &recagent_core::NoProgress)
            .await
            .unwrap();
        let server = Arc::new(ServerStore::connect(&url, "test-agreement").unwrap());
        server.recreate(dim).await.unwrap();
        upsert_all(server.as_ref(), &pts, &recagent_core::NoProgress)
            .await
            .unwrap();
        assert_eq!(server.count().await.unwrap(), 1500);
        // Every (filter, query) pair, spread over 16 concurrent tasks.
        let cases: Vec<(Filter, Vec<f32>)> = filters()
            .into_iter()
            .flat_map(|f| queries(dim).into_iter().map(move |q| (f.clone(), q)))
            .collect();
        let cases = Arc::new(cases);
        let mut tasks = Vec::new();
        for t in 0..16 {
            let (edge, server, cases) = (edge.clone(), server.clone(), cases.clone());
            tasks.push(tokio::spawn(async move {
                let mut compared = 0;
                for (f, q) in cases.iter().skip(t).step_by(16) {
                    let ids = |h: Vec<SearchHit>| h.into_iter().map(|h| h.item).collect::<Vec<_>>();
                    let a = ids(edge.search(q, f, 10).await.unwrap());
                    let b = ids(server.search(q, f, 10).await.unwrap());
                    assert_eq!(a, b, "filter {f:?}");
                    let exact = ids(server.search_exact(q, f, 10).await.unwrap());
                    assert_eq!(exact, b, "exact server search, filter {f:?}");
                    compared += 1;
                }
                compared
            }));
        }
        let mut compared = 0;
        for t in tasks {
            compared += t.await.unwrap();
        }
        assert_eq!(compared, cases.len());
        let a = edge.vectors(&[ItemId(1), ItemId(2)]).await.unwrap();
        let b = server.vectors(&[ItemId(1), ItemId(2)]).await.unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(a.len(), b.len());
        for ((ia, va), (ib, vb)) in a.iter().zip(&b) {
            assert_eq!(ia, ib);
            let gap = va
                .iter()
                .zip(vb)
                .map(|(x, y)| (x - y).abs())
                .fold(0f32, f32::max);
            assert!(gap < 1e-5, "stored vectors differ by {gap}");
        }
        println!("backends agree on {compared} filtered top-10 queries from 16 tasks");
    });
}

#[test]
fn server_backend_reports_an_unreachable_server() {
    let s = ServerStore::connect("http://127.0.0.1:9", "nothing").unwrap();
    let e = block(s.count()).unwrap_err().to_string();
    assert!(e.contains("127.0.0.1:9") && e.contains("6334"), "{e}");
}

/// A library that owned a runtime would panic here: dropping or blocking on
/// a runtime inside async code is forbidden. The store must work from a
/// task on the caller's runtime and be dropped there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_store_lives_on_the_callers_runtime() {
    let s = ServerStore::connect("http://127.0.0.1:9", "nothing").unwrap();
    let e = tokio::spawn(async move {
        let e = s.count().await.unwrap_err().to_string();
        drop(s);
        e
    })
    .await
    .unwrap();
    assert!(e.contains("127.0.0.1:9"), "{e}");
}

fn item(i: u32, relations: &[(&str, &str)]) -> Item {
    let mut rel: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (r, v) in relations {
        rel.entry(r.to_string()).or_default().push(v.to_string());
    }
    Item {
        id: ItemId(i),
        key: format!("i{i}"),
        title: format!("Item {i}"),
        year: None,
        genres: Vec::new(),
        text: String::new(),
        relations: rel,
        ..Default::default()
    }
}

/// Items 0 and 1 are liked by the same four people, 0 and 2 by two of them;
/// 3 and 4 share a rare director, 3 and 5 a common actor; 6 is on its own.
fn similar_catalog() -> Catalog {
    let items = vec![
        item(0, &[("actor", "everyone")]),
        item(1, &[("actor", "everyone")]),
        item(2, &[]),
        item(3, &[("director", "rare"), ("actor", "common")]),
        item(4, &[("director", "rare")]),
        item(5, &[("actor", "common"), ("actor", "everyone")]),
        item(6, &[]),
    ];
    let users = (0..6)
        .map(|u| User {
            id: UserId(u),
            key: format!("u{u}"),
            ..User::default()
        })
        .collect();
    let mut inter = Vec::new();
    let mut like = |u: u32, i: u32, r: f32| {
        inter.push(Interaction {
            user: UserId(u),
            item: ItemId(i),
            rating: r,
            timestamp: i64::from(i),
        })
    };
    for u in 0..4 {
        like(u, 0, 5.0);
        like(u, 1, 4.0);
    }
    like(0, 2, 5.0);
    like(1, 2, 4.0);
    // Disliked together: not evidence of similarity.
    for u in 4..6 {
        like(u, 0, 1.0);
        like(u, 6, 1.0);
    }
    Catalog::new("sim", items, users, inter).unwrap()
}

#[test]
fn similarity_from_cooccurrence_and_relations() {
    let c = similar_catalog();
    let s = Similarity::build(&c, &recagent_core::NoProgress);
    let cf = s.neighbours(ItemId(0), Source::Cooccurrence);
    assert_eq!(
        cf.iter().map(|x| x.0).collect::<Vec<_>>(),
        vec![ItemId(1), ItemId(2)]
    );
    assert!(cf[0].1 > cf[1].1);
    assert!(
        s.neighbours(ItemId(6), Source::Cooccurrence).is_empty(),
        "negatives do not co-occur"
    );
    let kg = s.neighbours(ItemId(3), Source::Relations);
    assert_eq!(
        kg[0].0,
        ItemId(4),
        "a shared rare director beats a shared actor: {kg:?}"
    );
    assert!(kg.iter().any(|x| x.0 == ItemId(5)));

    // With relations weighed as co-occurrence, the hit names co-occurrence
    // (its larger part); at the default weight 2 the shared entity names it.
    let w = SimilarWeights {
        relations: 1.0,
        ..SimilarWeights::default()
    };
    let fused = s.similar(&[ItemId(0)], |_| true, |_, _| 1.0, &w);
    assert_eq!(fused[0].item, ItemId(1));
    assert_eq!(fused[0].source, Source::Cooccurrence);
    let fused = s.similar(
        &[ItemId(0)],
        |_| true,
        |_, _| 1.0,
        &SimilarWeights::default(),
    );
    assert_eq!(fused[0].item, ItemId(1));
    assert_eq!(fused[0].source, Source::Relations);
    assert!(
        fused.iter().all(|h| h.item != ItemId(0)),
        "seeds are not returned"
    );
    let kept = s.similar(&[ItemId(0)], |j| j != ItemId(1), |_, _| 1.0, &w);
    assert!(kept.iter().all(|h| h.item != ItemId(1)));

    // "More like 0" where 1 is the popular neighbour of another genre and
    // 2 shares 0's genres: the genre overlap puts 2 first, as "more like
    // The Godfather" must put crime films before Star Wars.
    let genres: [&[&str]; 7] = [
        &["crime", "drama"],
        &["sci-fi", "war"],
        &["crime", "drama"],
        &[],
        &[],
        &[],
        &[],
    ];
    let overlap = |a: ItemId, b: ItemId| {
        let g = |i: ItemId| {
            genres[i.index()]
                .iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
        };
        genre_overlap(&g(a), &g(b))
    };
    let like = s.similar(&[ItemId(0)], |_| true, overlap, &w);
    assert_eq!(like[0].item, ItemId(2), "{like:?}");
    assert!(
        like.iter().any(|h| h.item == ItemId(1)),
        "ranked low, not removed"
    );
    let plain = s.similar(
        &[ItemId(0)],
        |_| true,
        overlap,
        &SimilarWeights { genres: false, ..w },
    );
    assert_eq!(
        plain[0].item,
        ItemId(1),
        "without genres the popular one wins"
    );

    let dir = tempfile::tempdir().unwrap();
    s.save(dir.path()).unwrap();
    assert_eq!(Similarity::load(dir.path()).unwrap(), s);
    std::fs::write(dir.path().join("similar.bin"), b"RASIM002\x05").unwrap();
    let e = Similarity::load(dir.path()).unwrap_err().to_string();
    assert!(e.contains("rebuild the index"), "{e}");
}

#[test]
fn rrf_fuses_by_rank_and_breaks_ties_by_id() {
    let h = |i: u32| SearchHit {
        item: ItemId(i),
        score: 0.0,
    };
    let fused = rrf(&[vec![h(1), h(2), h(3)], vec![h(3), h(1), h(4)]], 10);
    let ids: Vec<u32> = fused.iter().map(|x| x.item.0).collect();
    // 1: 1/61 + 1/62; 3: 1/63 + 1/61; 2: 1/62; 4: 1/63.
    assert_eq!(ids, vec![1, 3, 2, 4]);
    assert_eq!(rrf(&[vec![h(5)], vec![h(4)]], 10)[0].item, ItemId(4));
    assert_eq!(rrf(&[vec![h(1), h(2)]], 1).len(), 1);
}

/// A temporary home that borrows ML-100K and all-MiniLM-L6-v2 from the
/// shared one (fetched there once through the product's fetch code).
pub fn ml100k_home() -> (tempfile::TempDir, recagent_core::Home, Catalog) {
    use recagent_catalog::{movielens, store};
    let root = std::env::var_os("RECAGENT_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/recagent")
        });
    let shared = recagent_core::Home::new(root);
    let np = recagent_core::NoProgress;
    movielens::fetch(&shared, &Default::default(), &np).unwrap();
    let mdir = recagent_embed::fetch_minilm(&shared, &Default::default(), &np).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let home = recagent_core::Home::new(tmp.path());
    std::fs::create_dir_all(home.data_dir()).unwrap();
    std::fs::create_dir_all(home.models_dir()).unwrap();
    std::os::unix::fs::symlink(shared.catalog_dir("ml-100k"), home.catalog_dir("ml-100k")).unwrap();
    std::os::unix::fs::symlink(&mdir, recagent_embed::model_dir(&home)).unwrap();
    let c = store::load(&home, "ml-100k", &np).unwrap();
    (tmp, home, c)
}

#[tokio::test]
#[ignore = "fetches MovieLens-100K and all-MiniLM-L6-v2: CI runs it with --include-ignored"]
async fn ml100k_dense_hybrid_similar_and_bad_input() {
    use recagent_retrieval::{Backend, BuildOptions, Error, Mode, Retriever};
    let (_tmp, home, c) = ml100k_home();
    let report = Retriever::build(
        &home,
        &c,
        &BuildOptions::default(),
        &recagent_core::NoProgress,
    )
    .await
    .unwrap();
    assert_eq!(report.items, 1682);
    let r = Retriever::open(&home, &c, &Backend::Embedded).unwrap();
    assert_eq!(r.vector_store().count().await.unwrap(), 1682);
    let genres = |id: ItemId| c.item(id).unwrap().genres.clone();

    // Semantic recall: mostly Sci-Fi or Adventure.
    let hits = r
        .search("space adventure", &Filter::default(), 10, Mode::Dense)
        .await
        .unwrap();
    let on_topic = hits
        .iter()
        .filter(|h| {
            genres(h.item)
                .iter()
                .any(|g| g == "Sci-Fi" || g == "Adventure")
        })
        .count();
    eprintln!(
        "space adventure (dense): {on_topic}/10 Sci-Fi or Adventure: {:?}",
        hits.iter()
            .map(|h| &c.item(h.item).unwrap().title)
            .collect::<Vec<_>>()
    );
    assert!(on_topic >= 7, "{on_topic}/10");

    // Filters hold in every mode.
    let f = Filter {
        genres_any: vec!["Horror".into()],
        year_min: Some(1990),
        year_max: Some(1999),
        ..Filter::default()
    };
    for mode in [Mode::Lexical, Mode::Dense, Mode::Hybrid] {
        for q in ["", "scary night", "space adventure"] {
            let hits = r.search(q, &f, 10, mode).await.unwrap();
            assert!(!hits.is_empty(), "{mode:?} {q:?}");
            for h in hits {
                let it = c.item(h.item).unwrap();
                assert!(
                    it.genres.iter().any(|g| g == "Horror"),
                    "{mode:?} {q:?}: {}",
                    it.title
                );
                assert!(
                    (1990..=1999).contains(&it.year.unwrap()),
                    "{mode:?}: {}",
                    it.title
                );
            }
        }
    }
    // Hybrid keeps exact title matches on top.
    let star_wars = c.item_by_key("50").unwrap();
    let hits = r
        .search("star wars", &Filter::default(), 10, Mode::Hybrid)
        .await
        .unwrap();
    assert_eq!(hits[0].item, star_wars);
    // Excluded items never come back.
    let f = Filter {
        exclude: vec![star_wars],
        ..Filter::default()
    };
    for mode in [Mode::Lexical, Mode::Dense, Mode::Hybrid] {
        assert!(
            r.search("star wars", &f, 50, mode)
                .await
                .unwrap()
                .iter()
                .all(|h| h.item != star_wars)
        );
    }

    // More like Star Wars: its sequels.
    let like = r
        .similar(&[star_wars], &Filter::default(), 5)
        .await
        .unwrap();
    let titles: Vec<&str> = like
        .iter()
        .map(|h| c.item(h.item).unwrap().title.as_str())
        .collect();
    eprintln!("like Star Wars: {titles:?}");
    assert!(titles.contains(&"Return of the Jedi") && titles.contains(&"Empire Strikes Back, The"));
    let drama = Filter {
        genres_any: vec!["drama".into()],
        ..Filter::default()
    };
    for h in r.similar(&[star_wars], &drama, 20).await.unwrap() {
        assert!(genres(h.item).iter().any(|g| g == "Drama"));
    }
    assert!(
        r.similar(&[ItemId(99_999)], &Filter::default(), 5)
            .await
            .is_err()
    );

    // Bad input: no panics, clear errors or results.
    let long = "space ".repeat(2000);
    for q in ["", "!!! ???", long.as_str(), "🚀 ñandú 東京 \u{202e}", "\0"] {
        for mode in [Mode::Lexical, Mode::Dense, Mode::Hybrid] {
            r.search(q, &Filter::default(), 10, mode).await.unwrap();
        }
    }
    let bad = Filter {
        genres_any: vec!["polka".into()],
        ..Filter::default()
    };
    for mode in [Mode::Dense, Mode::Hybrid] {
        let e = r.search("x", &bad, 10, mode).await.unwrap_err();
        assert!(
            matches!(e, Error::InvalidFilter(_)) && e.to_string().contains("horror"),
            "{e}"
        );
    }
    let inverted = Filter {
        year_min: Some(2000),
        year_max: Some(1990),
        ..Filter::default()
    };
    let e = r.search("x", &inverted, 10, Mode::Dense).await.unwrap_err();
    assert!(e.to_string().contains("empty"), "{e}");
}

#[test]
fn opening_an_unbuilt_index_names_the_build_command() {
    use recagent_retrieval::{Backend, Error, Retriever};
    let dir =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("run through cargo test"))
            .join("../../tests/fixtures/tiny");
    let c = recagent_catalog::jsonl::load_dir(&dir, "tiny", &recagent_core::NoProgress).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let home = recagent_core::Home::new(tmp.path());
    let e = Retriever::open(&home, &c, &Backend::Embedded).unwrap_err();
    assert!(matches!(e, Error::NotBuilt { .. }));
    assert!(e.to_string().contains("recagent index build tiny"), "{e}");
}

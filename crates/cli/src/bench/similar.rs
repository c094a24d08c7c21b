//! `recagent bench similar`: precision@10 of each "more like X" source and
//! of their fusion on the labelled requests in `tests/labelled/more_like.json`
//! (good answers share the seed's franchise, director or narrow subgenre).
//! The fusion's content weight is chosen on the development half; the
//! held-out half is reported beside it and never used to choose.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use recagent_agent::Agent;
use recagent_catalog::split::{LabelRule, positive_histories};
use recagent_catalog::store;
use recagent_core::{Catalog, Filter, Home, ItemId};
use recagent_memory::Forget;
use recagent_ranker::{NextConfig, NextItemModel, NextKind};
use recagent_retrieval::{Retriever, SimilarWeights, genre_overlap};
use serde::{Deserialize, Serialize};

use crate::open::{self, AgentArgs};
use crate::progress::Bars;

/// The labelled requests, embedded so the bench runs from any folder.
const CASES: &str = include_str!("../../../../tests/labelled/more_like.json");

#[derive(Debug, Args)]
pub struct SimilarBenchArgs {
    /// Catalog name
    #[arg(default_value = "ml-100k")]
    name: String,
    /// The agent whose answer to "More like X?" is scored beside the
    /// sources (its list after the funnel, what a user sees)
    #[command(flatten)]
    agent: AgentArgs,
    /// Score only the sources, not the agent's answer
    #[arg(long)]
    no_agent: bool,
    /// Print one JSON object instead of a table
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Deserialize)]
struct CaseFile {
    cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
struct Case {
    seed: String,
    year: Option<u16>,
    good: Vec<String>,
    split: String,
}

/// A case resolved to catalog ids.
struct Resolved {
    /// The seed's title as a person writes it ("The Godfather").
    asked: String,
    seed: Vec<ItemId>,
    good: HashSet<ItemId>,
    held_out: bool,
}

/// Precision@10 of one source on both halves.
#[derive(Debug, Clone, Serialize)]
struct Row {
    source: String,
    dev: f64,
    held_out: f64,
}

/// Ids by exact title, and by "Title (YEAR)" for titles that repeat.
fn title_index(catalog: &Catalog) -> HashMap<String, Vec<ItemId>> {
    let mut m: HashMap<String, Vec<ItemId>> = HashMap::new();
    for it in catalog.items() {
        m.entry(it.title.clone()).or_default().push(it.id);
        if let Some(y) = it.year {
            m.entry(format!("{} ({y})", it.title))
                .or_default()
                .push(it.id);
        }
    }
    m
}

fn resolve(catalog: &Catalog) -> anyhow::Result<Vec<Resolved>> {
    let file: CaseFile = serde_json::from_str(CASES).context("tests/labelled/more_like.json")?;
    let titles = title_index(catalog);
    let find = |t: &str| titles.get(t).cloned().unwrap_or_default();
    let mut out = Vec::new();
    for c in file.cases {
        let seed_key = match c.year {
            Some(y) if titles.contains_key(&format!("{} ({y})", c.seed)) => {
                format!("{} ({y})", c.seed)
            }
            _ => c.seed.clone(),
        };
        let seed = find(&seed_key);
        anyhow::ensure!(
            !seed.is_empty(),
            "the labelled seed {:?} is not in catalog {}",
            c.seed,
            catalog.name()
        );
        let good: HashSet<ItemId> = c.good.iter().flat_map(|g| find(g)).collect();
        out.push(Resolved {
            asked: recagent_core::display_title(&c.seed),
            seed,
            good,
            held_out: c.split == "held-out",
        });
    }
    Ok(out)
}

/// Mean precision@10 over the dev and held-out cases of `top10`.
fn precision(cases: &[Resolved], mut top10: impl FnMut(&Resolved) -> Vec<ItemId>) -> (f64, f64) {
    let mut sums = [(0.0, 0usize); 2];
    for c in cases {
        let got = top10(c);
        let hits = got.iter().take(10).filter(|i| c.good.contains(i)).count();
        let s = &mut sums[usize::from(c.held_out)];
        s.0 += hits as f64 / 10.0;
        s.1 += 1;
    }
    let mean = |(a, n): (f64, usize)| if n == 0 { 0.0 } else { a / n as f64 };
    (mean(sums[0]), mean(sums[1]))
}

/// What the benchmark measured: the cases on each half, the content weight
/// best on dev, and a row per source.
struct SimilarBench {
    n_dev: usize,
    n_held: usize,
    best: Option<(f32, f64, f64)>,
    rows: Vec<Row>,
}

pub fn run(home: &Home, args: SimilarBenchArgs) -> anyhow::Result<()> {
    let report = measure(home, &args)?;
    print(&report, args.json);
    Ok(())
}

fn measure(home: &Home, args: &SimilarBenchArgs) -> anyhow::Result<SimilarBench> {
    let bars = Bars::new();
    let catalog = Arc::new(store::load(home, &args.name, &bars)?);
    let retriever = Arc::new(open::retriever(home, &catalog, &args.agent.options.qdrant)?);
    let cases = resolve(&catalog)?;
    let rt = crate::runtime()?;
    let mut rows = Vec::new();
    let only = |collaborative: f32, relations: f32, content: f32, genres: bool| SimilarWeights {
        collaborative,
        relations,
        content,
        genres,
    };
    for (name, w) in [
        ("co-occurrence (shrunk cosine)", only(1.0, 0.0, 0.0, false)),
        ("relations", only(0.0, 1.0, 0.0, false)),
        ("content (item vectors)", only(0.0, 0.0, 1.0, false)),
        ("co-occurrence × genres", only(1.0, 0.0, 0.0, true)),
        ("content × genres", only(0.0, 0.0, 1.0, true)),
    ] {
        let (dev, held_out) = precision(&cases, |c| ask(&rt, &retriever, c, &w));
        rows.push(Row {
            source: name.into(),
            dev,
            held_out,
        });
    }
    let histories = positive_histories(&catalog, LabelRule::default());
    rows.push(genre_row(&catalog, &retriever, &histories, &cases));
    rows.extend(ease_rows(&catalog, &histories, &cases)?);
    // The fusion, its content weight chosen on dev.
    let mut best: Option<(f32, f64, f64)> = None;
    for content in [0.0f32, 0.25, 0.5, 1.0, 2.0] {
        let w = SimilarWeights {
            content,
            ..SimilarWeights::default()
        };
        let (dev, held_out) = precision(&cases, |c| ask(&rt, &retriever, c, &w));
        rows.push(Row {
            source: format!("fusion, content weight {content}"),
            dev,
            held_out,
        });
        if best.is_none_or(|b| dev > b.1) {
            best = Some((content, dev, held_out));
        }
    }
    // The relation list (shared people, keywords and checked graph
    // links), its weight against co-occurrence's 1.
    for relations in [0.0f32, 0.25, 1.0, 2.0, 3.0, 4.0] {
        let w = SimilarWeights {
            relations,
            ..SimilarWeights::default()
        };
        let (dev, held_out) = precision(&cases, |c| ask(&rt, &retriever, c, &w));
        rows.push(Row {
            source: format!("fusion, relation weight {relations}"),
            dev,
            held_out,
        });
    }
    let shipped = SimilarWeights::default();
    let (dev, held_out) = precision(&cases, |c| ask(&rt, &retriever, c, &shipped));
    rows.push(Row {
        source: format!(
            "shipped default (content weight {}, relation weight {})",
            shipped.content, shipped.relations
        ),
        dev,
        held_out,
    });
    // What a user sees: the agent's answer to "More like X?", after the
    // funnel and its blend with the request's relevance.
    if !args.no_agent {
        let agent = open::agent_on(
            home,
            &args.name,
            &args.agent,
            &bars,
            Arc::clone(&catalog),
            Arc::clone(&retriever),
        )?;
        rows.extend(agent_rows(
            &agent,
            &rt,
            &cases,
            args.agent.controller.label(),
        ));
    }
    let n_dev = cases.iter().filter(|c| !c.held_out).count();
    Ok(SimilarBench {
        n_dev,
        n_held: cases.len() - n_dev,
        best,
        rows,
    })
}

/// The top 10 like the case's first seed under weights `w`, the seeds
/// left out.
fn ask(
    rt: &tokio::runtime::Runtime,
    r: &Retriever,
    c: &Resolved,
    w: &SimilarWeights,
) -> Vec<ItemId> {
    let filter = Filter {
        exclude: c.seed.clone(),
        ..Filter::default()
    };
    rt.block_on(r.similar_with(&c.seed[..1], &filter, 10, w))
        .map(|v| v.into_iter().map(|h| h.item).collect())
        .unwrap_or_default()
}

/// Genres alone: overlap, ties by popularity.
fn genre_row(
    catalog: &Catalog,
    retriever: &Retriever,
    histories: &[Vec<ItemId>],
    cases: &[Resolved],
) -> Row {
    let mut count = vec![0usize; catalog.items().len()];
    for h in histories {
        for i in h {
            count[i.index()] += 1;
        }
    }
    let genre_top = |c: &Resolved| -> Vec<ItemId> {
        let s = c.seed[0];
        let mut v: Vec<(f32, usize, ItemId)> = catalog
            .items()
            .iter()
            .filter(|i| !c.seed.contains(&i.id))
            .map(|i| (retriever.genre_overlap(s, i.id), count[i.id.index()], i.id))
            .collect();
        v.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
        v.into_iter().take(10).map(|x| x.2).collect()
    };
    let (dev, held_out) = precision(cases, genre_top);
    Row {
        source: "genres (ties by popularity)".into(),
        dev,
        held_out,
    }
}

/// EASE's item weights, alone and times the genre overlap.
fn ease_rows(
    catalog: &Catalog,
    histories: &[Vec<ItemId>],
    cases: &[Resolved],
) -> anyhow::Result<Vec<Row>> {
    let ease = NextItemModel::fit(
        histories,
        catalog.items().len(),
        &NextConfig::new(NextKind::Ease),
    )?;
    let keys = |i: ItemId| -> Vec<String> {
        catalog
            .item(i)
            .map(|it| {
                it.genres
                    .iter()
                    .map(|g| recagent_core::genre_key(g))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut rows = Vec::new();
    for genres in [false, true] {
        let (dev, held_out) = precision(cases, |c| {
            let s = c.seed[0];
            let mut v: Vec<(ItemId, f32)> = ease
                .neighbours(s)
                .into_iter()
                .filter(|(j, _)| !c.seed.contains(j))
                .map(|(j, w)| {
                    let g = if genres {
                        genre_overlap(&keys(s), &keys(j))
                    } else {
                        1.0
                    };
                    (j, w * g)
                })
                .collect();
            v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            v.into_iter().take(10).map(|x| x.0).collect()
        });
        rows.push(Row {
            source: if genres {
                "EASE × genres"
            } else {
                "EASE weights"
            }
            .into(),
            dev,
            held_out,
        });
    }
    Ok(rows)
}

/// The agent's answers to "More like X?", at each relevance weight of the
/// final order (chosen on dev like the content weight) and as shipped.
fn agent_rows(
    agent: &Agent,
    rt: &tokio::runtime::Runtime,
    cases: &[Resolved],
    controller: &str,
) -> Vec<Row> {
    let answer = |agent: &Agent| {
        let mut i = 0usize;
        precision(cases, |c| {
            i += 1;
            let user = format!("bench-similar-{i}");
            let _ = agent.memory().forget(&user, &Forget::All);
            let mut session = agent.new_session(&user);
            let got = rt
                .block_on(session.turn(&format!("More like {}?", c.asked)))
                .map(|t| t.items.iter().map(|r| r.id).collect())
                .unwrap_or_default();
            let _ = agent.memory().forget(&user, &Forget::All);
            got
        })
    };
    let mut rows = Vec::new();
    for w in [0.0f32, 0.25, 0.5, 0.75, 0.9, 1.0] {
        let (dev, held_out) = answer(&agent.with_relevance_weight(w));
        rows.push(Row {
            source: format!("agent ({controller}), relevance weight {w}"),
            dev,
            held_out,
        });
    }
    let (dev, held_out) = answer(agent);
    rows.push(Row {
        source: format!(
            "agent's answer ({controller}), shipped weight {}",
            recagent_agent::DEFAULT_RELEVANCE_WEIGHT
        ),
        dev,
        held_out,
    });
    rows
}

fn print(report: &SimilarBench, json: bool) {
    let SimilarBench {
        n_dev,
        n_held,
        best,
        rows,
    } = report;
    if json {
        println!(
            "{}",
            serde_json::json!({
                "cases": {"dev": n_dev, "held_out": n_held},
                "best_on_dev": best.map(|b| b.0),
                "rows": rows,
            })
        );
    } else {
        println!(
            "precision@10 on {n_dev} development and {n_held} held-out \"more like X\" requests"
        );
        println!("{:<42} {:>8} {:>9}", "source", "dev", "held-out");
        for r in rows {
            println!("{:<42} {:>8.3} {:>9.3}", r.source, r.dev, r.held_out);
        }
        if let Some((c, _, _)) = best {
            println!("best content weight on dev: {c}");
        }
    }
}

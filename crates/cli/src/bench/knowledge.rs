//! `recagent bench knowledge`: recall of the labelled film descriptions
//! (which name no title word) per search mode.

use clap::Args;
use recagent_catalog::store;
use recagent_core::Home;
use recagent_retrieval::{Filter, Mode};
use serde::Serialize;

use crate::open::{self, QdrantArgs};
use crate::progress::Bars;

#[derive(Debug, Args)]
pub struct KnowledgeBenchArgs {
    /// Catalog name (the descriptions are of ml-100k films)
    #[arg(default_value = "ml-100k")]
    name: String,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    qdrant: QdrantArgs,
}

#[derive(Debug, Serialize)]
struct ModeHits {
    mode: String,
    hit_at_1: f64,
    hit_at_10: f64,
}

/// Recall of the labelled descriptions with the indexes as built (with or
/// without generated knowledge: `index build` says which).
pub fn run(home: &Home, args: KnowledgeBenchArgs) -> anyhow::Result<()> {
    let (cases, out) = measure(home, &args)?;
    if args.json {
        println!("{}", serde_json::json!({"cases": cases, "modes": out}));
    } else {
        println!("{} labelled descriptions on {}", cases, args.name);
        for m in &out {
            println!(
                "{:<8} hit@1 {:>5.1}%  hit@10 {:>5.1}%",
                m.mode,
                m.hit_at_1 * 100.0,
                m.hit_at_10 * 100.0
            );
        }
    }
    Ok(())
}

/// The number of descriptions, and the hits of each mode.
fn measure(home: &Home, args: &KnowledgeBenchArgs) -> anyhow::Result<(usize, Vec<ModeHits>)> {
    let bars = Bars::new();
    let catalog = store::load(home, &args.name, &bars)?;
    let retriever = open::retriever(home, &catalog, &args.qdrant)?;
    let cases = recagent_knowledge::descriptions()?;
    let rt = crate::runtime()?;
    let mut out = Vec::new();
    for (mode, name) in [
        (Mode::Lexical, "lexical"),
        (Mode::Dense, "dense"),
        (Mode::Hybrid, "hybrid"),
    ] {
        let (mut h1, mut h10) = (0usize, 0usize);
        for c in &cases {
            let want = catalog.item_by_key(&c.id).ok_or_else(|| {
                anyhow::anyhow!("item {} of the descriptions is not in {}", c.id, args.name)
            })?;
            let hits = rt.block_on(retriever.search(&c.text, &Filter::default(), 10, mode))?;
            match hits.iter().position(|h| h.item == want) {
                Some(0) => {
                    h1 += 1;
                    h10 += 1;
                }
                Some(_) => h10 += 1,
                None => {}
            }
        }
        let n = cases.len().max(1) as f64;
        out.push(ModeHits {
            mode: name.into(),
            hit_at_1: h1 as f64 / n,
            hit_at_10: h10 as f64 / n,
        });
    }
    Ok((cases.len(), out))
}

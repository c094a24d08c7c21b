//! `recagent index …` and `recagent search …`

use std::time::Instant;

use anyhow::Context;
use clap::{Args, Subcommand};
use recagent_catalog::store;
use recagent_core::Home;
use recagent_retrieval::{Filter, LexicalIndex};
use serde_json::json;

use crate::progress::Bars;

#[derive(Debug, Subcommand)]
pub enum IndexCommand {
    /// Build the lexical (tantivy) index of a catalog into $RECAGENT_HOME/index/NAME/lexical
    Build {
        /// The catalog (see `recagent data list`)
        name: String,
    },
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// The catalog
    name: String,
    /// What to look for; may be empty when filters are given
    query: String,
    /// Keep items with any of these genres (repeatable)
    #[arg(long = "genre", value_name = "GENRE")]
    genres: Vec<String>,
    /// Keep items with all of these genres (repeatable)
    #[arg(long = "all-genre", value_name = "GENRE")]
    all_genres: Vec<String>,
    /// Drop items with any of these genres (repeatable)
    #[arg(long = "not-genre", value_name = "GENRE")]
    not_genres: Vec<String>,
    /// Earliest release year
    #[arg(long)]
    year_min: Option<u16>,
    /// Latest release year
    #[arg(long)]
    year_max: Option<u16>,
    /// How many results
    #[arg(short, long, default_value_t = 10)]
    k: usize,
    /// Resolve titles mentioned in the text instead of searching
    #[arg(long)]
    link: bool,
    /// Print JSON instead of a table
    #[arg(long)]
    json: bool,
}

fn lexical_dir(home: &Home, name: &str) -> std::path::PathBuf {
    home.index_dir(name).join("lexical")
}

pub fn run(home: &Home, cmd: IndexCommand) -> anyhow::Result<()> {
    match cmd {
        IndexCommand::Build { name } => {
            let bars = Bars::new();
            let catalog = store::load(home, &name, &bars)?;
            let start = Instant::now();
            let dir = lexical_dir(home, &name);
            // Build beside the old index and swap, so a failed build keeps the old one.
            let parent = home.index_dir(&name);
            std::fs::create_dir_all(&parent)
                .with_context(|| format!("creating {}", parent.display()))?;
            let tmp = parent.join(".lexical-building");
            if tmp.exists() {
                std::fs::remove_dir_all(&tmp)
                    .with_context(|| format!("removing {}", tmp.display()))?;
            }
            LexicalIndex::build(&catalog, &tmp, &bars)?;
            if dir.exists() {
                std::fs::remove_dir_all(&dir)
                    .with_context(|| format!("removing {}", dir.display()))?;
            }
            std::fs::rename(&tmp, &dir)
                .with_context(|| format!("moving the index into {}", dir.display()))?;
            println!(
                "built the lexical index of {name} ({} items) in {:.1}s into {}",
                catalog.items().len(),
                start.elapsed().as_secs_f64(),
                dir.display()
            );
        }
    }
    Ok(())
}

pub fn search(home: &Home, args: SearchArgs) -> anyhow::Result<()> {
    let bars = Bars::new();
    let catalog = store::load(home, &args.name, &bars)?;
    let index = LexicalIndex::open(&lexical_dir(home, &args.name), &catalog)?;
    let title = |i: recagent_core::ItemId| {
        let it = &catalog.items()[i.index()];
        let year = it.year.map(|y| format!(" ({y})")).unwrap_or_default();
        (
            format!("{}{year}", it.title),
            it.genres.join("|"),
            it.key.clone(),
        )
    };
    if args.link {
        let links = index.link_titles(&args.query)?;
        if args.json {
            println!("{}", serde_json::to_string(&links)?);
        } else if links.is_empty() {
            println!("no titles found in {:?}", args.query);
        } else {
            for l in links.iter().take(args.k) {
                let (t, g, key) = title(l.item);
                println!("{:>5.2}  {t}  [{g}]  id={key}", l.confidence);
            }
        }
        return Ok(());
    }
    let filter = Filter {
        genres_any: args.genres,
        genres_all: args.all_genres,
        genres_none: args.not_genres,
        year_min: args.year_min,
        year_max: args.year_max,
        exclude: Vec::new(),
    };
    let hits = index.search(&args.query, &filter, args.k)?;
    if args.json {
        let rows: Vec<_> = hits
            .iter()
            .map(|h| {
                let (t, g, key) = title(h.item);
                json!({"id": key, "title": t, "genres": g, "score": h.score})
            })
            .collect();
        println!("{}", serde_json::to_string(&rows)?);
    } else if hits.is_empty() {
        println!("nothing matched");
    } else {
        for h in &hits {
            let (t, g, key) = title(h.item);
            println!("{:>7.3}  {t}  [{g}]  id={key}", h.score);
        }
    }
    Ok(())
}

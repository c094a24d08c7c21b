//! `recagent data …`

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Subcommand};
use recagent_catalog::fetch::Pip;
use recagent_catalog::movielens::{self, FetchOptions, FetchOutcome};
use recagent_catalog::split::LabelRule;
use recagent_catalog::stats::{self, Stats};
use recagent_catalog::store::{self, Manifest};
use recagent_catalog::synth::{self, SynthConfig};
use recagent_core::Home;

use crate::names::{Dataset, SourceName};
use crate::open::pip_context;
use crate::progress::Bars;

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Download a public dataset into $RECAGENT_HOME/data (verified, atomic, idempotent)
    Fetch(FetchArgs),
    /// Import a folder of items.jsonl / users.jsonl / interactions.jsonl as a catalog
    Import(ImportArgs),
    /// Generate a synthetic catalog for scale benchmarks
    Synth(SynthArgs),
    /// Show users, items, interactions and the positive rate of a catalog
    Stats(StatsArgs),
    /// List the catalogs in $RECAGENT_HOME/data
    List(ListArgs),
    /// Write the next-item split as RecBole atomic files (see docs/ranker.md)
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The catalog's name
    name: String,
    /// Folder to write RecBole's benchmark files into (NAME-next/, NAME-next-seq/,
    /// NAME.eval.tsv, NAME.items.tsv)
    #[arg(long, value_name = "DIR")]
    recbole: PathBuf,
    /// Print what was written as one JSON object
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// The dataset to fetch
    dataset: Dataset,
    /// Where to get it from
    #[arg(long, value_enum, default_value = "auto")]
    source: SourceName,
    /// Fetch again even if the catalog is already there
    #[arg(long)]
    force: bool,
    /// Seconds to wait for the canonical archive before falling back
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    timeout: u64,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A folder with items.jsonl and optionally users.jsonl and interactions.jsonl (see docs/catalogs.md)
    dir: PathBuf,
    /// The catalog's name in $RECAGENT_HOME/data
    #[arg(long)]
    name: String,
    /// Replace a catalog of the same name
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Number of items
    #[arg(long, default_value_t = 10_000)]
    items: usize,
    /// Number of users
    #[arg(long, default_value_t = 1_000)]
    users: usize,
    /// Mean interactions per user
    #[arg(long, default_value_t = 30)]
    per_user: usize,
    /// Random seed; the same seed gives the same catalog
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// The catalog's name [default: synth-ITEMS]
    #[arg(long)]
    name: Option<String>,
    /// Replace a catalog of the same name
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// The catalog's name
    name: String,
    /// Print one JSON object instead of a table
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print a JSON array instead of a table
    #[arg(long)]
    json: bool,
}

/// The library says a catalog exists; the CLI says which flag replaces it.
fn force_hint(e: recagent_catalog::Error) -> anyhow::Error {
    match e {
        recagent_catalog::Error::AlreadyExists { ref name, .. } => {
            let name = name.clone();
            anyhow::Error::new(e).context(format!("pass --force to replace catalog `{name}`"))
        }
        e => e.into(),
    }
}

pub fn run(home: &Home, pip: &Pip, cmd: DataCommand) -> anyhow::Result<()> {
    let bars = Bars::new();
    match cmd {
        DataCommand::Fetch(args) => fetch(home, pip, &args, &bars),
        DataCommand::Import(args) => {
            let m = store::import(home, &args.dir, &args.name, args.force, &bars)
                .map_err(force_hint)
                .with_context(|| format!("importing {}", args.dir.display()))?;
            println!(
                "imported {} into {}: {} users, {} items, {} interactions",
                args.dir.display(),
                home.catalog_dir(&m.name).display(),
                m.users,
                m.items,
                m.interactions
            );
            Ok(())
        }
        DataCommand::Synth(args) => {
            let start = Instant::now();
            let m = generate(home, args, &bars)?;
            println!(
                "generated {} in {:.1}s into {}: {} users, {} items, {} interactions",
                m.name,
                start.elapsed().as_secs_f64(),
                home.catalog_dir(&m.name).display(),
                m.users,
                m.items,
                m.interactions
            );
            Ok(())
        }
        DataCommand::Stats(args) => {
            let catalog = store::load(home, &args.name, &bars)?;
            let s = stats::stats(&catalog, LabelRule::default());
            print_stats(&s, args.json)
        }
        DataCommand::List(args) => print_list(home, &store::list(home)?, args.json),
        DataCommand::Export(args) => export(home, &args, &bars),
    }
}

/// `data fetch`: fetches, then says what it did.
fn fetch(home: &Home, pip: &Pip, args: &FetchArgs, bars: &Bars) -> anyhow::Result<()> {
    if let Dataset::Tmdb5000 = args.dataset {
        return fetch_tmdb(home, pip, args, bars);
    }
    let opts = FetchOptions {
        source: args.source.into(),
        force: args.force,
        http_timeout: std::time::Duration::from_secs(args.timeout.max(1)),
        pip: pip.clone(),
        ..FetchOptions::default()
    };
    let dir = home.catalog_dir(movielens::NAME);
    let fetched = match movielens::fetch(home, &opts, bars) {
        Err(e @ recagent_catalog::Error::Command { .. }) => {
            Err(anyhow::Error::new(e).context(pip_context(pip)))
        }
        other => other.map_err(anyhow::Error::new),
    };
    match fetched.context("fetching ml-100k")? {
        FetchOutcome::AlreadyPresent(m) => println!(
            "ml-100k is already in {} ({} users, {} items, {} interactions); nothing to do. \
             Pass --force to fetch it again.",
            dir.display(),
            m.users,
            m.items,
            m.interactions
        ),
        FetchOutcome::Fetched { manifest: m, notes } => {
            for note in notes {
                eprintln!("note: {note}");
            }
            println!(
                "fetched ml-100k from the {} into {}: {} users, {} items, {} interactions",
                m.source,
                dir.display(),
                m.users,
                m.items,
                m.interactions
            );
        }
    }
    Ok(())
}

/// `data fetch tmdb-5000`: the TMDB 5000 films as a catalog of their own.
fn fetch_tmdb(home: &Home, pip: &Pip, args: &FetchArgs, bars: &Bars) -> anyhow::Result<()> {
    let name = recagent_catalog::tmdb::NAME;
    let dir = home.catalog_dir(name);
    let fetched = match recagent_catalog::tmdb::fetch_catalog(home, pip, args.force, bars) {
        Err(e @ recagent_catalog::Error::Command { .. }) => {
            Err(anyhow::Error::new(e).context(pip_context(pip)))
        }
        other => other.map_err(anyhow::Error::new),
    };
    match fetched.with_context(|| format!("fetching {name}"))? {
        None => println!(
            "{name} is already in {}; nothing to do. Pass --force to fetch it again.",
            dir.display()
        ),
        Some(m) => {
            eprintln!("note: {}", recagent_catalog::tmdb::ATTRIBUTION);
            println!(
                "fetched {name} from the {} into {}: {} films with overviews, keywords and people, no users or ratings",
                m.source,
                dir.display(),
                m.items
            );
        }
    }
    Ok(())
}

/// `data synth`: generates the catalog and stores it.
/// `data export NAME --recbole DIR`: the leave-last-positive-out split of
/// `train --model ease|…`, as files RecBole runs on.
fn export(home: &Home, args: &ExportArgs, bars: &Bars) -> anyhow::Result<()> {
    let catalog = store::load(home, &args.name, bars)?;
    if catalog.interactions().is_empty() {
        anyhow::bail!(
            "catalog `{}` has no ratings, so there is no split to export; export a catalog with an interaction log, such as `recagent data export ml-100k --recbole {}`",
            args.name,
            args.recbole.display()
        );
    }
    let rated = recagent_catalog::split::labelled_histories(&catalog, LabelRule::default());
    let n_items = catalog.items().len();
    let split = recagent_ranker::NextSplit::leave_last_two_rated(&rated, n_items);
    let users: Vec<String> = catalog.users().iter().map(|u| u.key.clone()).collect();
    let items: Vec<String> = catalog.items().iter().map(|i| i.key.clone()).collect();
    let sum = recagent_ranker::next::export::write_recbole(
        &args.recbole,
        &args.name,
        &split,
        &users,
        &items,
    )
    .with_context(|| format!("exporting {} to {}", args.name, args.recbole.display()))?;
    if args.json {
        println!("{}", serde_json::to_string(&sum)?);
        return Ok(());
    }
    println!(
        "wrote {} users, {} training rows ({} sequential), {} validation and {} test targets to {}",
        sum.users,
        sum.train_rows,
        sum.sequential_train_rows,
        sum.valid_targets,
        sum.test_targets,
        args.recbole.display()
    );
    println!(
        "run RecBole on it: scripts/recbole/run.sh {} {}",
        args.recbole.display(),
        args.name
    );
    Ok(())
}

fn generate(home: &Home, args: SynthArgs, bars: &Bars) -> anyhow::Result<Manifest> {
    let name = args.name.unwrap_or_else(|| format!("synth-{}", args.items));
    // Check the name and the destination before spending time generating.
    let staging = store::Staging::new(home, &name, args.force).map_err(force_hint)?;
    let cfg = SynthConfig {
        name: name.clone(),
        items: args.items,
        users: args.users,
        per_user: args.per_user,
        seed: args.seed,
        ..SynthConfig::default()
    };
    let catalog = synth::generate(&cfg, bars)?;
    Ok(staging.commit(
        &catalog,
        &format!("synth seed={} items={}", args.seed, args.items),
        bars,
    )?)
}

fn print_stats(s: &Stats, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(s)?);
        return Ok(());
    }
    println!("catalog          {}", s.name);
    println!("users            {}", s.users);
    println!("items            {}", s.items);
    println!("interactions     {}", s.interactions);
    println!("active users     {}", s.active_users);
    println!("active items     {}", s.active_items);
    println!("density          {:.5}", s.density);
    println!("genres           {}", s.genres);
    println!("with relations   {}", s.items_with_relations);
    println!("film facts       items (share)    share of interactions");
    for c in &s.coverage {
        println!(
            "  {:<14} {:>5} ({:>5.1} %)   {:>5.1} %",
            c.field,
            c.items,
            100.0 * c.item_share,
            100.0 * c.interaction_share
        );
    }
    println!(
        "CTR protocol     {} positive (>= 4), {} negative (<= 2), {} dropped (3)",
        s.positives, s.negatives, s.dropped_neutral
    );
    println!("positive rate    {:.4}", s.positive_rate);
    Ok(())
}

fn print_list(home: &Home, all: &[Manifest], json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(all)?);
    } else if all.is_empty() {
        println!(
            "no catalogs in {}; try `recagent data fetch ml-100k` or `recagent data synth`",
            home.data_dir().display()
        );
    } else {
        println!(
            "{:<24} {:>10} {:>10} {:>14}  source",
            "name", "users", "items", "interactions"
        );
        for m in all {
            println!(
                "{:<24} {:>10} {:>10} {:>14}  {}",
                m.name, m.users, m.items, m.interactions, m.source
            );
        }
    }
    Ok(())
}

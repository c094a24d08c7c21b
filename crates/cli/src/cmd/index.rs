//! `recagent index …`

use std::time::Instant;

use clap::Subcommand;
use recagent_catalog::store;
use recagent_core::Home;
use recagent_retrieval::{Backend, BuildOptions, BuildReport, Retriever};

use crate::names::EncoderName;
use crate::open::{self, QdrantArgs};
use crate::progress::Bars;

#[derive(Debug, Subcommand)]
pub enum IndexCommand {
    /// Build the indexes of a catalog into $RECAGENT_HOME/index/NAME/: tantivy
    /// (lexical), Qdrant (dense vectors) and item-to-item similarity
    Build {
        /// The catalog (see `recagent data list`)
        name: String,
        /// How item texts become vectors
        #[arg(long, value_enum, default_value = "minilm")]
        encoder: EncoderName,
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

pub fn run(home: &Home, cmd: IndexCommand) -> anyhow::Result<()> {
    let IndexCommand::Build {
        name,
        encoder,
        knowledge_text,
        no_knowledge,
        qdrant,
        json,
    } = cmd;
    let knowledge_text = match knowledge_text {
        Some(p) => Some(p),
        None if no_knowledge => None,
        None => open::knowledge_file(home, &name),
    };
    let bars = Bars::new();
    let catalog = store::load(home, &name, &bars)?;
    let knowledge = match &knowledge_text {
        Some(p) => recagent_embed::load_knowledge_texts(p)?,
        None => Default::default(),
    };
    let options = BuildOptions {
        encoding: encoder.into(),
        backend: qdrant.backend(),
        knowledge,
    };
    open::ensure_minilm(home, &bars)?;
    let start = Instant::now();
    let report = crate::runtime()?.block_on(Retriever::build(home, &catalog, &options, &bars))?;
    open::save_build_report(home, &name, &report)?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_build(
            home,
            &name,
            &report,
            start.elapsed().as_secs_f64(),
            &options.backend,
        );
    }
    Ok(())
}

fn print_build(home: &Home, name: &str, report: &BuildReport, seconds: f64, backend: &Backend) {
    let mb = |b: u64| b as f64 / 1e6;
    println!(
        "built the indexes of {name} ({} items) in {:.1}s into {}",
        report.items,
        seconds,
        home.index_dir(name).display()
    );
    println!(
        "  lexical {:.1}s {:.1} MB · embeddings {:.1}s · vectors ({}) {:.1}s {:.1} MB · similarity {:.1}s {:.1} MB",
        report.lexical_s,
        mb(report.lexical_bytes),
        report.embed_s,
        match backend {
            Backend::Embedded => "embedded Qdrant Edge".to_owned(),
            Backend::Server { url } => format!("Qdrant server {url}"),
        },
        report.vectors_s,
        mb(report.vectors_bytes),
        report.similar_s,
        mb(report.similar_bytes),
    );
}

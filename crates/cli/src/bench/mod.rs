//! `recagent bench …`: one module per benchmark, each measuring into a
//! report struct and printing it as text or JSON.
//!
//! A benchmark imports from this crate only `open`, `names`, `progress`,
//! `crate::runtime` and [`stats`], never a command or another benchmark.

mod agent;
mod generation;
mod knowledge;
mod llm;
mod llm_auc;
mod llm_rank;
mod ranker;
mod retrieval;
mod serve;
mod similar;
mod stats;

use clap::Subcommand;
use recagent_core::Home;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Pre-rank and rank latency for 100, 500 and 5000 candidates, and training throughput
    Ranker(ranker::RankerArgs),
    /// Build time, index size, and lexical, dense and hybrid search latency with filters
    Retrieval(retrieval::RetrievalArgs),
    /// Local LLM: prefill and generation tokens/s, and the time of one tool decision with and without the prefix cache
    Llm(llm::LlmArgs),
    /// The LLM as ranker and scorer on the LLMRank protocol (the target among 19 random unseen films, and the next-item model's top 20), beside the conventional models: NDCG@10 and NDCG@1, mean ± sd over seeds
    LlmRank(llm_rank::LlmRankArgs),
    /// Pointwise AUC on TALLRec's protocol: the LLM zero-shot (P(Yes) after the last 10 ratings) beside a CTR model trained on 16, 64, 256 and all samples
    LlmAuc(llm_auc::LlmAucArgs),
    /// The agent on the labelled requests: right tool, filters and titles per controller, and turn latency
    Agent(agent::AgentBenchArgs),
    /// Recall on 36 labelled film descriptions that name no title word: hit@1 and hit@10 per search mode
    Knowledge(knowledge::KnowledgeBenchArgs),
    /// The server on loopback: concurrent sessions of several turns, p50/p99 latency, errors and cross-talk
    Serve(serve::ServeBenchArgs),
    /// "More like X" on 76 labelled requests: precision@10 of each similarity source and of the fusion
    Similar(similar::SimilarBenchArgs),
    /// Knowledge generation on the local model: tokens/s with 1, 4 and 8 sequences decoded in one batch, and the wall time for the whole catalog
    Generation(generation::GenerationArgs),
}

pub fn run(home: &Home, cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Ranker(args) => ranker::run(home, args),
        BenchCommand::Retrieval(args) => retrieval::run(home, args),
        BenchCommand::Llm(args) => llm::run(home, args),
        BenchCommand::LlmRank(args) => llm_rank::run(home, args),
        BenchCommand::LlmAuc(args) => llm_auc::run(home, args),
        BenchCommand::Agent(args) => agent::run(home, args),
        BenchCommand::Serve(args) => serve::run(home, args),
        BenchCommand::Knowledge(args) => knowledge::run(home, args),
        BenchCommand::Generation(args) => generation::run(home, args),
        BenchCommand::Similar(args) => similar::run(home, args),
    }
}

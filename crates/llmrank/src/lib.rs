//! The LLM inside the recommender: scoring and ranking candidates, as the
//! talk this project comes from and its papers lay it out.
//!
//! * [`prompt`]: the two prompts (`prompts/rank_list.j2`,
//!   `prompts/rank_point.j2`), rendered from typed contexts, and how a film
//!   is written in them ([`film_line`]).
//! * [`score`]: [`LlmScorer`], reading the answer's first token over fixed
//!   choices through [`recagent_llm::ChatModel::choice_logprobs`]:
//!   * listwise (LLMRank, LlamaRec): the candidates under letters, one
//!     forward pass, the letters' log-probabilities as the order (a
//!     verbalizer); several shuffled candidate orders, combined, cancel the
//!     position bias;
//!   * pointwise (the talk's zero-shot prompt): P(Yes) for "will I like X".
//! * [`protocol`]: the LLMRank protocol's candidate sets (the target and
//!   random unseen films), NDCG of a scored set, a seeded blend of two
//!   scorers fit on validation, and mean ± sd over seeds.
//!
//! Nothing here reads the catalog's ratings or a held-out target: the
//! caller passes each history, already cut before the target.

pub mod prompt;
pub mod protocol;
pub mod score;

pub use prompt::{Film, film_line};
pub use score::{Listwise, LlmScorer, MAX_CANDIDATES};

/// Errors of LLM scoring.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Llm(#[from] recagent_llm::Error),
    #[error("rendering prompt {name}: {reason}")]
    Prompt { name: &'static str, reason: String },
    #[error(
        "{n} candidates is more than the {max} letters a listwise prompt labels; rank at most {max} (the protocol uses 20)"
    )]
    TooManyCandidates { n: usize, max: usize },
    #[error("the model scored {got} choices where {want} were asked for")]
    Choices { want: usize, got: usize },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

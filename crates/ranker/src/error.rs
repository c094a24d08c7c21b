use std::path::PathBuf;

/// Errors of training, saving, loading and scoring rankers.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("tensor error: {0}")]
    Candle(#[from] candle_core::Error),

    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("{}: not a ranker config: {reason}", path.display())]
    BadConfig { path: PathBuf, reason: String },

    #[error("no trained {what} in {}; run `{command}` first", dir.display())]
    NotTrained {
        what: String,
        dir: PathBuf,
        command: String,
    },

    #[error("knowledge vectors have {got} dimensions, the model expects {expected}")]
    WrongDimension { expected: usize, got: usize },

    #[error("knowledge vectors cover {got} items, the catalog has {expected}")]
    WrongItemCount { expected: usize, got: usize },

    #[error(
        "the model was trained with a knowledge field; pass knowledge vectors to score with it"
    )]
    MissingKnowledge,

    #[error("not enough data to train: {0}")]
    NotEnoughData(String),

    #[error(transparent)]
    Embed(#[from] recagent_embed::Error),

    #[error("invalid setting: {0}")]
    Invalid(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Reads and parses a JSON config file, naming the file in every error.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| Error::BadConfig {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

use std::path::PathBuf;

use recagent_core::CatalogError;

/// Everything that can go wrong while fetching, importing, storing or
/// splitting a catalog. Each variant carries what a person needs to fix it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("{}:{line}: field `{field}`: {reason}", file.display())]
    Malformed {
        file: PathBuf,
        line: usize,
        field: String,
        reason: String,
    },

    #[error("{}: missing required file; {hint}", path.display())]
    MissingFile { path: PathBuf, hint: String },

    #[error("catalog `{name}` not found in {}; {hint}", dir.display())]
    NotFound {
        name: String,
        dir: PathBuf,
        hint: String,
    },

    #[error("catalog `{name}` already exists in {}", dir.display())]
    AlreadyExists { name: String, dir: PathBuf },

    #[error(
        "invalid catalog name {name:?}: use letters, digits, `-`, `_` and `.` only, not starting with `.`"
    )]
    BadName { name: String },

    #[error(
        "checksum mismatch for {what}: expected {algorithm} {expected}, got {actual}; the file was deleted, run the command again"
    )]
    Checksum {
        what: String,
        algorithm: &'static str,
        expected: String,
        actual: String,
    },

    #[error("download of {what} failed: {reason}")]
    Download { what: String, reason: String },

    #[error("`{command}` failed: {reason}")]
    Command { command: String, reason: String },

    #[error("{}: not a usable archive: {reason}", path.display())]
    Archive { path: PathBuf, reason: String },

    #[error("invalid argument: {0}")]
    Invalid(String),

    #[error("inconsistent catalog: {0}")]
    Catalog(#[from] CatalogError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}

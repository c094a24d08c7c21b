//! Whole-folder saves, shared by the models (which write themselves) and
//! [`crate::store`] (which knows where they live).
//!
//! **Architecture Invariant:** a leaf: it uses only [`crate::error`], so
//! every model module can save through it without importing the store.

use std::fs;
use std::path::Path;

use recagent_core::fsx;
use serde::Serialize;

use crate::error::{Error, Result};

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes a folder as a whole: `write` fills a fresh staging folder beside
/// `dir`, which then takes `dir`'s place ([`fsx::replace_dir`]). If `write`
/// fails, `dir` is left as it was and the staging folder is removed.
pub fn replace_dir(dir: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let leaf = dir
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    let parent = dir.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(io(parent))?;
    let stage = parent.join(format!(".{leaf}.staging-{}", std::process::id()));
    if stage.exists() {
        fs::remove_dir_all(&stage).map_err(io(&stage))?;
    }
    fs::create_dir_all(&stage).map_err(io(&stage))?;
    let built = write(&stage).and_then(|()| fsx::replace_dir(&stage, dir).map_err(io(dir)));
    if built.is_err() {
        let _ = fs::remove_dir_all(&stage);
    }
    built
}

/// Pretty JSON into `path`, naming the file in any error. Meant for files in
/// a staging folder, which [`replace_dir`] makes whole.
pub(crate) fn write_json(path: &Path, value: &impl Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Error::BadConfig {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    fs::write(path, text).map_err(io(path))
}

//! Catalogs on disk under `$RECAGENT_HOME/data/NAME/`.
//!
//! **Invariant:** a catalog folder is complete or absent. Every writer builds
//! the folder under a temporary name in `data/` and renames it into place, so
//! a crash or a bad row never leaves half a catalog behind.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use recagent_core::{Catalog, Home, Progress, fsx};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::jsonl;

pub const MANIFEST_FILE: &str = "catalog.json";

/// `catalog.json`, written last into a catalog folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    pub name: String,
    /// Where the data came from, e.g. `recbole==1.2.1 wheel` or `import /path`.
    pub source: String,
    pub items: usize,
    pub users: usize,
    pub interactions: usize,
    pub created_unix: u64,
}

/// Checks that a name is safe to use as one path component.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::BadName {
            name: name.to_owned(),
        })
    }
}

/// A catalog folder being built; dropped without [`Staging::commit`] it
/// removes itself.
#[derive(Debug)]
pub struct Staging {
    tmp: tempfile::TempDir,
    dest: PathBuf,
    name: String,
}

impl Staging {
    /// Starts building catalog `name`. Fails if it exists and `force` is off.
    pub fn new(home: &Home, name: &str, force: bool) -> Result<Self> {
        check_name(name)?;
        let data = home.data_dir();
        fs::create_dir_all(&data).map_err(Error::io(&data))?;
        let dest = home.catalog_dir(name);
        if dest.exists() && !force {
            return Err(Error::AlreadyExists {
                name: name.to_owned(),
                dir: data,
            });
        }
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".tmp-{name}-"))
            .tempdir_in(&data)
            .map_err(Error::io(&data))?;
        Ok(Self {
            tmp,
            dest,
            name: name.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// Writes the catalog and its manifest, then moves the folder into place.
    pub fn commit(
        self,
        catalog: &Catalog,
        source: &str,
        progress: &dyn Progress,
    ) -> Result<Manifest> {
        jsonl::write_dir(catalog, self.tmp.path(), progress)?;
        let manifest = Manifest {
            format_version: 1,
            name: self.name.clone(),
            source: source.to_owned(),
            items: catalog.items().len(),
            users: catalog.users().len(),
            interactions: catalog.interactions().len(),
            created_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        };
        let mpath = self.tmp.path().join(MANIFEST_FILE);
        let text = serde_json::to_string_pretty(&manifest).map_err(|e| Error::Io {
            path: mpath.clone(),
            source: e.into(),
        })?;
        fs::write(&mpath, text).map_err(Error::io(&mpath))?;
        let staged = self.tmp.keep();
        // Replace: an old folder moves aside first, so that the swap is two renames.
        if let Err(e) = fsx::replace_dir(&staged, &self.dest) {
            let _ = fs::remove_dir_all(&staged);
            return Err(Error::io(&self.dest)(e));
        }
        Ok(manifest)
    }
}

/// What to tell a person whose catalog is missing.
pub fn fetch_hint(name: &str) -> String {
    match name {
        "ml-100k" => "run `recagent data fetch ml-100k` first".to_owned(),
        _ => format!(
            "run `recagent data import DIR --name {name}` or `recagent data synth --name {name}` first \
             (`recagent data list` shows what is there)"
        ),
    }
}

/// Reads a catalog's manifest without loading its rows.
pub fn manifest(home: &Home, name: &str) -> Result<Manifest> {
    check_name(name)?;
    let path = home.catalog_dir(name).join(MANIFEST_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::NotFound {
                name: name.to_owned(),
                dir: home.data_dir(),
                hint: fetch_hint(name),
            });
        }
        Err(e) => return Err(Error::Io { path, source: e }),
    };
    serde_json::from_str(&text).map_err(|e| Error::Malformed {
        file: path,
        line: e.line(),
        field: "(manifest)".into(),
        reason: e.to_string(),
    })
}

/// Loads a stored catalog by name.
pub fn load(home: &Home, name: &str, progress: &dyn Progress) -> Result<Catalog> {
    manifest(home, name)?;
    jsonl::load_dir(&home.catalog_dir(name), name, progress)
}

/// Whether a complete catalog called `name` is stored.
pub fn exists(home: &Home, name: &str) -> bool {
    manifest(home, name).is_ok()
}

/// The manifests of all stored catalogs, sorted by name.
pub fn list(home: &Home) -> Result<Vec<Manifest>> {
    let data = home.data_dir();
    let entries = match fs::read_dir(&data) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(Error::Io {
                path: data,
                source: e,
            });
        }
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(Error::io(&data))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if let Ok(m) = manifest(home, &name) {
            out.push(m);
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Imports a folder in the JSONL format as catalog `name`.
pub fn import(
    home: &Home,
    dir: &Path,
    name: &str,
    force: bool,
    progress: &dyn Progress,
) -> Result<Manifest> {
    let staging = Staging::new(home, name, force)?;
    // Everything is parsed and checked before a byte is written.
    let catalog = jsonl::load_dir(dir, name, progress)?;
    staging.commit(&catalog, &format!("import {}", dir.display()), progress)
}

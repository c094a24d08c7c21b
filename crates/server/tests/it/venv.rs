//! A virtual environment with packages from PyPI, made once under the
//! target folder. Shared by the server's and the CLI's tests (the CLI's
//! `it` includes this file by path).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Python of a virtual environment holding `packages`, made on first
/// use under `name`.
pub fn venv(name: &str, packages: &[&str]) -> PathBuf {
    try_venv(name, packages).unwrap_or_else(|e| panic!("{e}"))
}

/// [`venv`], or why it could not be made (pip's output).
#[allow(dead_code)] // used by the CLI's tests only
pub fn try_venv(name: &str, packages: &[&str]) -> Result<PathBuf, String> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let python = dir.join("bin").join("python");
    let stamp = dir.join(".installed");
    let wanted = packages.join(" ");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(python);
    }
    let run = |cmd: &mut Command| -> Result<(), String> {
        let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
        if out.status.success() {
            return Ok(());
        }
        Err(format!(
            "{cmd:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    };
    run(Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(&dir))?;
    // pip's own cache (~/.cache/pip) keeps wheels it built from source, so
    // a package such as llama-cpp-python is built once per machine.
    run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(packages))?;
    std::fs::write(&stamp, &wanted).map_err(|e| e.to_string())?;
    Ok(python)
}

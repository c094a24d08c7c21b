//! A virtual environment with packages from PyPI, made once under the
//! target folder. Shared by the server's and the CLI's tests (the CLI's
//! `it` includes this file by path).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Python of a virtual environment holding `packages`, made on first
/// use under `name`.
pub fn venv(name: &str, packages: &[&str]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let python = dir.join("bin").join("python");
    let stamp = dir.join(".installed");
    let wanted = packages.join(" ");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return python;
    }
    let run = |cmd: &mut Command| {
        let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
        assert!(
            out.status.success(),
            "{cmd:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(&dir));
    run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(packages));
    std::fs::write(&stamp, &wanted).unwrap();
    python
}

//! Small helpers that every crate shares: whole-file and whole-folder
//! writes, and two measurements (elapsed microseconds, percentiles).
//!
//! A reader of a file or folder written here sees the old version or the new
//! one, never half of either: writers build beside the target and rename.
//! The helpers return plain [`io::Error`]s; the calling crate names the path
//! in its own error type.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A name beside `path` that no other writer uses: the pid keeps processes
/// apart and the counter keeps threads of one process apart.
fn sibling(path: &Path, what: &str) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let leaf = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{leaf}.{what}-{}-{n}", std::process::id()))
}

fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Writes `bytes` to `path` whole: into a temporary file beside it, synced,
/// then renamed over `path`. Creates the parent folder if needed. On error
/// the temporary file is removed and `path` is as it was.
pub fn write_atomic(path: &Path, bytes: impl AsRef<[u8]>) -> io::Result<()> {
    fs::create_dir_all(parent_of(path))?;
    let tmp = sibling(path, "tmp");
    let written = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes.as_ref())?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

/// Moves a finished file `tmp` (written by a stream, a child process, a
/// library that only writes to a path) onto `target`: syncs it, creates
/// `target`'s parent folder if needed, and renames. `tmp` should be on the
/// same file system as `target`, e.g. beside it.
pub fn persist(tmp: &Path, target: &Path) -> io::Result<()> {
    File::open(tmp)?.sync_all()?;
    fs::create_dir_all(parent_of(target))?;
    fs::rename(tmp, target)
}

/// Swaps the fully built folder `staging` into `target`'s place.
///
/// An existing `target` (a folder, or a file of that name) is first renamed
/// aside to a hidden name beside it, then `staging` is renamed to `target`
/// and the old one is removed, so the swap is two renames. If the second
/// rename fails, the old one is put back. `staging` should be beside
/// `target`, so that renames do not cross file systems.
pub fn replace_dir(staging: &Path, target: &Path) -> io::Result<()> {
    fs::create_dir_all(parent_of(target))?;
    if !target.exists() {
        return fs::rename(staging, target);
    }
    let was_dir = target.is_dir();
    let old = sibling(target, "old");
    fs::rename(target, &old)?;
    if let Err(e) = fs::rename(staging, target) {
        let _ = fs::rename(&old, target);
        return Err(e);
    }
    if was_dir {
        fs::remove_dir_all(&old)
    } else {
        fs::remove_file(&old)
    }
}

/// Whole microseconds in `d`, saturating at `u64::MAX`.
pub fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Whole microseconds since `t`, saturating at `u64::MAX`.
pub fn micros_since(t: Instant) -> u64 {
    micros(t.elapsed())
}

/// The `q`-quantile (0 ≤ q ≤ 1) of `sorted`, which must be sorted
/// ascending: the element at the nearest rank `round((len - 1) · q)`, with no
/// interpolation. 0 for an empty slice.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn write_atomic_creates_replaces_and_leaves_nothing_beside() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("sub").join("a.json");
        write_atomic(&path, b"one").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"one");
        write_atomic(&path, "two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(names(&tmp.path().join("sub")), ["a.json"]);
    }

    #[test]
    fn write_atomic_that_fails_leaves_the_target_and_no_temp() {
        let tmp = tempfile::tempdir().unwrap();
        // A folder in the target's place: the rename over it fails.
        let path = tmp.path().join("a");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("keep"), b"x").unwrap();
        assert!(write_atomic(&path, b"new").is_err());
        assert_eq!(names(tmp.path()), ["a"]);
        assert_eq!(names(&path), ["keep"]);
    }

    #[test]
    fn persist_moves_a_file_into_a_new_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let part = tmp.path().join("x.part");
        fs::write(&part, b"data").unwrap();
        let target = tmp.path().join("d").join("x");
        persist(&part, &target).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"data");
        assert!(!part.exists());
        assert!(persist(&part, &target).is_err(), "a missing source fails");
    }

    #[test]
    fn replace_dir_swaps_whole_folders() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("m");
        let stage = tmp.path().join(".m.staging");
        fs::create_dir(&stage).unwrap();
        fs::write(stage.join("v1"), b"1").unwrap();
        replace_dir(&stage, &target).unwrap();
        assert_eq!(names(&target), ["v1"]);

        fs::create_dir(&stage).unwrap();
        fs::write(stage.join("v2"), b"2").unwrap();
        replace_dir(&stage, &target).unwrap();
        assert_eq!(names(&target), ["v2"], "no file of the old folder is left");
        assert_eq!(names(tmp.path()), ["m"], "nothing is left beside it");
    }

    #[test]
    fn replace_dir_that_fails_keeps_the_old_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("m");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("old"), b"1").unwrap();
        let missing = tmp.path().join(".m.staging");
        assert!(replace_dir(&missing, &target).is_err());
        assert_eq!(names(&target), ["old"]);
        assert_eq!(names(tmp.path()), ["m"]);
    }

    #[test]
    fn micros_truncates_and_saturates() {
        assert_eq!(micros(Duration::from_nanos(1_999)), 1);
        assert_eq!(micros(Duration::from_millis(3)), 3_000);
        assert_eq!(micros(Duration::MAX), u64::MAX);
        let t = Instant::now();
        assert!(micros_since(t) <= micros(t.elapsed()));
    }

    #[test]
    fn percentile_is_the_nearest_rank_without_interpolation() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(percentile(&[], 0.5), 0.0);
        assert_eq!(percentile(&[7.0], 0.99), 7.0);
        assert_eq!(percentile(&v, 0.0), 1.0);
        assert_eq!(percentile(&v, 0.5), 3.0);
        // (5 - 1) · 0.6 = 2.4 rounds to index 2; 0.65 gives 2.6, index 3.
        assert_eq!(percentile(&v, 0.6), 3.0);
        assert_eq!(percentile(&v, 0.65), 4.0);
        assert_eq!(percentile(&v, 0.99), 5.0);
        assert_eq!(percentile(&v, 1.0), 5.0);
        // Out of range: clamped to the ends, as before.
        assert_eq!(percentile(&v, 2.0), 5.0);
        assert_eq!(percentile(&v, -1.0), 1.0);
        // Four elements at 0.5: 1.5 rounds half away from zero, to index 2.
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 0.5), 3.0);
    }
}

use std::io::Write;

use recagent_catalog::Error;
use recagent_catalog::fetch::{self, Checksum, Pip};
use recagent_core::NoProgress;

#[test]
fn checksum_mismatch_deletes_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f.bin");
    std::fs::write(&p, b"hello").unwrap();
    // sha256("hello")
    let good = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
    fetch::verify(&p, Checksum::Sha256(good), "f.bin").unwrap();
    assert_eq!(fetch::sha256_file(&p).unwrap(), good);
    fetch::verify(
        &p,
        Checksum::Md5("5d41402abc4b2a76b9719d911017c592"),
        "f.bin",
    )
    .unwrap();
    let err = fetch::verify(&p, Checksum::Sha256(&"0".repeat(64)), "f.bin").unwrap_err();
    assert!(matches!(err, Error::Checksum { .. }), "{err:?}");
    assert!(err.to_string().contains("run the command again"));
    assert!(!p.exists(), "a file that failed its check must be removed");
}

#[test]
fn zip_folder_extraction_flattens_and_stays_inside() {
    let dir = tempfile::tempdir().unwrap();
    let zpath = dir.path().join("a.whl");
    {
        let mut w = zip::ZipWriter::new(std::fs::File::create(&zpath).unwrap());
        let o = zip::write::SimpleFileOptions::default();
        for (name, body) in [
            ("pkg/data/ml/a.txt", "A"),
            ("pkg/data/ml/b.txt", "B"),
            ("pkg/data/ml/nested/c.txt", "C"),
            ("pkg/other.txt", "O"),
        ] {
            w.start_file(name, o).unwrap();
            w.write_all(body.as_bytes()).unwrap();
        }
        w.finish().unwrap();
    }
    let out = dir.path().join("out");
    let got = fetch::extract_zip_folder(&zpath, "pkg/data/ml/", &out).unwrap();
    let names: Vec<_> = got
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["a.txt", "b.txt"]);
    assert_eq!(std::fs::read_to_string(out.join("b.txt")).unwrap(), "B");
    let err = fetch::extract_zip_folder(&zpath, "nope/", &dir.path().join("o2")).unwrap_err();
    assert!(matches!(err, Error::Archive { .. }));
}

#[test]
fn pip_failures_are_reported_with_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let pip = |program: &str| Pip {
        program: program.into(),
        args: vec![],
    };
    let err = pip("false")
        .download("recbole==1.2.1", dir.path(), &NoProgress)
        .unwrap_err();
    match err {
        Error::Command { command, .. } => {
            assert!(command.starts_with("false download --no-deps"), "{command}")
        }
        other => panic!("{other:?}"),
    }
    let err = pip("/nonexistent/pip")
        .download("recbole==1.2.1", dir.path(), &NoProgress)
        .unwrap_err();
    // The library says what failed and what to do, without naming the
    // binary's variables: choosing another pip is the binary's business.
    match &err {
        Error::Command { command, reason } => {
            assert!(
                command.starts_with("/nonexistent/pip download"),
                "{command}"
            );
            assert!(reason.contains("cannot start it"), "{reason}");
            assert!(reason.contains("install Python 3 with pip"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.to_string().contains("RECAGENT_"), "{err}");
    // A pip that succeeds but writes nothing is an error too, not a silent empty fetch.
    let err = pip("true")
        .download("recbole==1.2.1", dir.path(), &NoProgress)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("expected exactly one downloaded file"),
        "{err}"
    );
}

#[test]
fn a_pip_is_a_program_and_its_arguments() {
    assert_eq!(Pip::default(), Pip::new("python3", ["-m", "pip"]));
    assert_eq!(
        Pip::from_command_line("  /opt/venv/bin/python3 -m  pip "),
        Some(Pip::new("/opt/venv/bin/python3", ["-m", "pip"]))
    );
    assert_eq!(
        Pip::from_command_line("pip3"),
        Some(Pip::new("pip3", Vec::<String>::new()))
    );
    assert_eq!(Pip::from_command_line(" \t "), None);
}

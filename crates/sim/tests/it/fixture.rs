//! A synthetic catalog, an agent over it with lexical recall, and the
//! leak-free evaluation models trained on it once per test binary.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use recagent_agent::{Agent, LexicalRecall};
use recagent_catalog::synth::{SynthConfig, generate};
use recagent_core::{Catalog, Home, NoProgress};
use recagent_memory::Memory;
use recagent_ranker::ModelKind;
use recagent_sim::crm::{EvalModels, eval_store};

pub fn catalog() -> Arc<Catalog> {
    static CATALOG: OnceLock<Arc<Catalog>> = OnceLock::new();
    Arc::clone(CATALOG.get_or_init(|| {
        Arc::new(
            generate(
                &SynthConfig {
                    name: "sim".into(),
                    items: 400,
                    users: 150,
                    per_user: 20,
                    seed: 3,
                    popularity_skew: 1.0,
                },
                &NoProgress,
            )
            .unwrap(),
        )
    }))
}

/// The evaluation models, trained once into a home shared by the tests.
pub fn models() -> &'static (tempfile::TempDir, EvalModels) {
    static MODELS: OnceLock<(tempfile::TempDir, EvalModels)> = OnceLock::new();
    MODELS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path());
        let store = eval_store(&home, "sim");
        let m =
            EvalModels::ensure(&home, &store, &catalog(), ModelKind::DeepFm, &NoProgress).unwrap();
        (dir, m)
    })
}

/// The rules agent, with the evaluation funnel when `funnel` is set.
pub fn agent(dir: &Path, funnel: bool) -> Agent {
    let catalog = catalog();
    let recall = LexicalRecall::build(Arc::clone(&catalog), &dir.join("lexical")).unwrap();
    let mut b = Agent::builder(
        catalog,
        Arc::new(recall),
        Arc::new(Memory::in_memory().unwrap()),
    );
    if funnel {
        b = b.funnel(models().1.funnel.clone());
    }
    b.build().unwrap()
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

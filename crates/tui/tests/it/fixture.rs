//! A rules agent over a synthetic catalog, and a real turn of it with its
//! timings zeroed (so frames are the same on every run).

use std::sync::{Arc, OnceLock};

use recagent_agent::{Agent, Event, LexicalRecall, Turn};
use recagent_catalog::synth::{SynthConfig, generate};
use recagent_core::{Catalog, NoProgress};
use recagent_memory::Memory;

pub fn catalog() -> Arc<Catalog> {
    static CATALOG: OnceLock<Arc<Catalog>> = OnceLock::new();
    Arc::clone(CATALOG.get_or_init(|| {
        Arc::new(
            generate(
                &SynthConfig {
                    name: "tui".into(),
                    items: 200,
                    users: 30,
                    per_user: 10,
                    seed: 9,
                    popularity_skew: 1.0,
                },
                &NoProgress,
            )
            .unwrap(),
        )
    }))
}

pub fn agent(dir: &std::path::Path) -> Agent {
    let catalog = catalog();
    let recall = LexicalRecall::build(Arc::clone(&catalog), &dir.join("lexical")).unwrap();
    Agent::builder(
        catalog,
        Arc::new(recall),
        Arc::new(Memory::in_memory().unwrap()),
    )
    .build()
    .unwrap()
}

/// Every event of one real turn, timings zeroed.
pub fn turn_events(agent: &Agent, user: &str, text: &str) -> Vec<Event> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut session = agent.session(user);
    rt.block_on(async {
        use futures::StreamExt;
        session.send(text).collect::<Vec<_>>().await
    })
    .into_iter()
    .map(|e| match e {
        Event::Answer(mut t) => {
            zero(&mut t);
            Event::Answer(t)
        }
        e => e,
    })
    .collect()
}

fn zero(t: &mut Turn) {
    t.trace.total_micros = 0;
    t.trace.tools_micros = 0;
    for c in &mut t.trace.tool_calls {
        c.micros = 0;
    }
    for s in &mut t.trace.stages {
        s.micros = 0;
    }
}

//! Embedding the agent in an application: a three-film catalog, lexical
//! recall, memory in a temporary file, the rules controller, and one turn
//! whose events are printed as they stream.
//!
//! Run: `cargo run -p recagent-agent --example embed`

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::StreamExt;
use recagent_agent::{Agent, Event, LexicalRecall};
use recagent_core::{Catalog, Item, ItemId};
use recagent_memory::Memory;

fn main() -> anyhow::Result<()> {
    let films = [
        ("Toy Story", 1995, vec!["Animation", "Comedy"]),
        ("Alien", 1979, vec!["Horror", "Sci-Fi"]),
        ("Groundhog Day", 1993, vec!["Comedy", "Romance"]),
    ];
    let items = films
        .iter()
        .enumerate()
        .map(|(i, (title, year, genres))| Item {
            id: ItemId(i as u32),
            key: format!("{}", i + 1),
            title: (*title).into(),
            year: Some(*year),
            genres: genres.iter().map(|g| g.to_string()).collect(),
            text: String::new(),
            relations: BTreeMap::new(),
            ..Default::default()
        })
        .collect();
    let catalog = Arc::new(Catalog::new("demo", items, vec![], vec![])?);
    let dir = tempfile::tempdir()?;
    let recall = LexicalRecall::build(Arc::clone(&catalog), &dir.path().join("lexical"))?;
    let memory = Memory::open(&dir.path().join("memory.sqlite"))?;
    let agent = Agent::builder(catalog, Arc::new(recall), Arc::new(memory)).build()?;

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut session = agent.session("ann");
    rt.block_on(async {
        let mut events = session.send("a comedy, but nothing scary");
        while let Some(event) = events.next().await {
            match event {
                Event::ToolCall { call } => println!("→ {} {}", call.name, call.arguments),
                Event::ToolResult { summary, .. } => println!("  {summary}"),
                Event::Answer(turn) => println!("\n{}", turn.answer),
                _ => {}
            }
        }
    });
    Ok(())
}

//! `recagent profile …`: what the agent remembers about a user.

use clap::Subcommand;
use recagent_catalog::store;
use recagent_core::Home;
use recagent_memory::Forget;

use crate::open;

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Show what is remembered about a user
    Show {
        /// Catalog name
        name: String,
        /// The user
        user: String,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Forget a user's whole profile
    Forget {
        /// Catalog name
        name: String,
        /// The user
        user: String,
    },
    /// List the users with a profile
    List {
        /// Catalog name
        name: String,
    },
}

pub fn run(home: &Home, cmd: ProfileCommand) -> anyhow::Result<()> {
    match cmd {
        ProfileCommand::Show { name, user, json } => {
            let m = open::memory(home, &name)?;
            let p = m.profile(&user)?;
            if p.is_empty() {
                // Nothing to look up: no catalog needed.
                if json {
                    let empty = recagent_memory::ProfileJson {
                        user: user.clone(),
                        ..Default::default()
                    };
                    println!("{}", serde_json::to_string(&empty)?);
                } else {
                    println!("nothing is remembered about {user:?} in {name}");
                }
                return Ok(());
            }
            let catalog = store::load(home, &name, &recagent_core::NoProgress)?;
            if json {
                println!("{}", serde_json::to_string(&p.to_json(&catalog))?);
                return Ok(());
            }
            let titles = |ids: &[recagent_core::ItemId]| -> String {
                ids.iter()
                    .filter_map(|i| catalog.item(*i))
                    .map(|it| it.title.clone())
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            println!("profile of {user:?} in {name}");
            for f in &p.facts {
                println!("  fact #{}: {}", f.id, f.text);
            }
            println!("  liked: {}", titles(&p.liked));
            println!("  disliked: {}", titles(&p.disliked));
            println!("  seen: {}", titles(&p.seen));
            println!("  liked genres: {}", p.liked_genres.join(", "));
            println!("  avoided genres: {}", p.avoided_genres.join(", "));
        }
        ProfileCommand::Forget { name, user } => {
            let m = open::memory(home, &name)?;
            let n = m.forget(&user, &Forget::All)?;
            println!("forgot {n} records about {user:?} in {name}");
        }
        ProfileCommand::List { name } => {
            let m = open::memory(home, &name)?;
            for u in m.users()? {
                println!("{u}");
            }
        }
    }
    Ok(())
}

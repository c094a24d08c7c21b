//! `recagent ask`: one turn of the agent from the command line.

use clap::Args;
use recagent_core::Home;

use crate::open::{self, AgentArgs};
use crate::out::print_turn;
use crate::progress::Bars;

#[derive(Debug, Args)]
pub struct AskArgs {
    /// Catalog name (e.g. ml-100k)
    pub name: String,
    /// What the user says
    pub text: String,
    /// Who is asking: a memory key; a catalog user id (e.g. 196) also brings
    /// that user's rating history
    #[arg(long, default_value = "me")]
    pub user: String,
    /// Start a new conversation: without it, a follow-up ("seen it,
    /// something else") goes on from this user's last request, even in a
    /// new process
    #[arg(long)]
    pub new: bool,
    /// Print one JSON object (answer, items, trace)
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub agent: AgentArgs,
}

pub fn run(home: &Home, args: AskArgs) -> anyhow::Result<()> {
    let bars = Bars::new();
    let agent = open::agent(home, &args.name, &args.agent, &bars)?;
    let rt = crate::runtime()?;
    let mut session = if args.new {
        agent.new_session(&args.user)
    } else {
        agent.session(&args.user)
    };
    let turn = rt.block_on(session.turn(&args.text))?;
    if args.json {
        println!("{}", serde_json::to_string(&turn)?);
    } else {
        print_turn(&turn);
    }
    Ok(())
}

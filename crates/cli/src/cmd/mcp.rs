//! `recagent mcp`: the agent as an MCP server on stdio, for hosts that
//! launch it (Claude Desktop, Claude Code, Cursor and the like).

use clap::Args;
use recagent_core::Home;
use recagent_mcp::McpServer;

use crate::open::{self, AgentArgs};
use crate::progress::Bars;

#[derive(Debug, Args)]
pub struct McpArgs {
    /// Catalog name
    #[arg(default_value = "ml-100k")]
    pub name: String,
    /// Whose conversation and profile: a memory key; a catalog user id
    /// (e.g. 196) also brings that user's rating history
    #[arg(long, default_value = "me")]
    pub user: String,
    /// Start a new conversation: without it, a follow-up goes on from this
    /// user's last request, even one made through `ask` or `chat`
    #[arg(long)]
    pub new: bool,
    #[command(flatten)]
    pub agent: AgentArgs,
}

pub fn run(home: &Home, args: McpArgs) -> anyhow::Result<()> {
    let bars = Bars::new();
    let agent = open::agent(home, &args.name, &args.agent, &bars)?;
    let session = if args.new {
        agent.new_session(&args.user)
    } else {
        agent.session(&args.user)
    };
    // Standard output is the protocol's: everything else goes to stderr.
    eprintln!(
        "recagent mcp: {} for user {} ({} controller) on stdio",
        args.name,
        args.user,
        agent.controller_name()
    );
    crate::runtime()?.block_on(recagent_mcp::serve_stdio(McpServer::new(session)))?;
    Ok(())
}

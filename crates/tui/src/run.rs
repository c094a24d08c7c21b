//! The terminal and the event loop. Keys are read on a thread of their
//! own; each agent turn runs on a blocking thread (recall, ranking and a
//! local model never stall the screen), and Esc drops it.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{
    self, DisableMouseCapture, EnableMouseCapture, Event as TermEvent,
};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use recagent_agent::{Agent, Session};
use tokio::sync::{Mutex as AsyncMutex, mpsc, oneshot};

use crate::app::{Action, AgentMsg, App};
use crate::ui;

/// Errors of the terminal.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("terminal: {0}")]
    Terminal(#[from] io::Error),
    #[error(transparent)]
    Memory(#[from] recagent_memory::Error),
}

/// What `run` needs besides the agent.
#[derive(Debug, Clone)]
pub struct ChatOptions {
    /// The memory key of the user.
    pub user: String,
    /// Shown in the status bar: the controller that is live.
    pub controller: String,
    /// Said in the chat before the first turn (e.g. why a model is missing).
    pub notes: Vec<String>,
}

/// Puts the terminal back however `run` ends.
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = disable_raw_mode();
        let _ = execute!(io::stdout(), LeaveAlternateScreen, DisableMouseCapture);
    }
}

/// Keys and mouse, read on a thread of their own until the receiver is
/// dropped.
fn read_terminal() -> mpsc::UnboundedReceiver<TermEvent> {
    let (term_tx, term_rx) = mpsc::unbounded_channel::<TermEvent>();
    std::thread::spawn(move || {
        loop {
            match event::poll(Duration::from_millis(200)) {
                Ok(true) => match event::read() {
                    Ok(e) => {
                        if term_tx.send(e).is_err() {
                            return;
                        }
                    }
                    Err(_) => return,
                },
                Ok(false) => {
                    if term_tx.is_closed() {
                        return;
                    }
                }
                Err(_) => return,
            }
        }
    });
    term_rx
}

/// Runs the chat in the terminal until the user quits. Call it from inside
/// a multi-threaded tokio runtime.
pub async fn run(agent: Arc<Agent>, opts: ChatOptions) -> Result<(), Error> {
    let profile = agent.memory().profile(&opts.user)?;
    let mut app = App::new(
        agent.catalog().name(),
        &opts.user,
        &opts.controller,
        profile,
    );
    for n in &opts.notes {
        app.note(n.clone());
    }
    enable_raw_mode()?;
    let _restore = Restore;
    execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture)?;
    let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    terminal.clear()?;

    let mut term_rx = read_terminal();
    let (agent_tx, mut agent_rx) = mpsc::unbounded_channel::<AgentMsg>();
    let session = Arc::new(AsyncMutex::new(agent.session(&opts.user)));
    let mut cancel: Option<oneshot::Sender<()>> = None;
    let mut ticker = tokio::time::interval(Duration::from_millis(120));
    loop {
        terminal.draw(|f| ui::draw(f, &mut app))?;
        let action = tokio::select! {
            Some(e) = term_rx.recv() => match e {
                TermEvent::Key(k) => app.on_key(k),
                TermEvent::Mouse(m) => { app.on_mouse(m); None }
                _ => None,
            },
            Some(msg) = agent_rx.recv() => {
                let done = matches!(msg, AgentMsg::Event(recagent_agent::Event::Answer(_)) | AgentMsg::Cancelled);
                app.on_agent(msg);
                if done {
                    cancel = None;
                    refresh_profile(&agent, &opts.user, &agent_tx);
                }
                None
            },
            _ = ticker.tick() => {
                if app.busy { app.tick += 1; }
                None
            },
        };
        match action {
            None => {}
            Some(Action::Quit) => break,
            Some(Action::Submit(text)) => {
                let (tx, rx) = oneshot::channel();
                cancel = Some(tx);
                spawn_turn(Arc::clone(&session), text, agent_tx.clone(), rx);
            }
            Some(Action::Cancel) => {
                if let Some(tx) = cancel.take() {
                    let _ = tx.send(());
                }
            }
            Some(Action::Feedback(item, fb)) => {
                // Straight to memory: it works during a turn too.
                let msg = match agent.memory().set_items(&opts.user, &[item], fb) {
                    Ok(()) => {
                        let title = agent
                            .catalog()
                            .item(item)
                            .map_or_else(|| item.0.to_string(), |i| i.title.clone());
                        format!("{} {title}", feedback_word(fb))
                    }
                    Err(e) => format!("could not store the feedback: {e}"),
                };
                app.note(msg);
                refresh_profile(&agent, &opts.user, &agent_tx);
            }
            Some(Action::NewSession) => {
                session.lock().await.reset();
            }
        }
    }
    if let Some(tx) = cancel.take() {
        let _ = tx.send(());
    }
    Ok(())
}

fn feedback_word(fb: recagent_memory::ItemFeedback) -> &'static str {
    match fb {
        recagent_memory::ItemFeedback::Liked => "liked:",
        recagent_memory::ItemFeedback::Disliked => "disliked:",
        recagent_memory::ItemFeedback::Seen => "seen:",
    }
}

fn refresh_profile(agent: &Agent, user: &str, tx: &mpsc::UnboundedSender<AgentMsg>) {
    let msg = match agent.memory().profile(user) {
        Ok(p) => AgentMsg::Profile(p),
        Err(e) => AgentMsg::Note(format!("could not read the profile: {e}")),
    };
    let _ = tx.send(msg);
}

/// Runs one turn on a blocking thread; `cancel` drops it.
fn spawn_turn(
    session: Arc<AsyncMutex<Session>>,
    text: String,
    tx: mpsc::UnboundedSender<AgentMsg>,
    cancel: oneshot::Receiver<()>,
) {
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        handle.block_on(async move {
            let mut s = session.lock().await;
            let turn = async {
                let mut events = s.send(&text);
                while let Some(e) = events.next().await {
                    let _ = tx.send(AgentMsg::Event(e));
                }
            };
            tokio::pin!(turn);
            tokio::select! {
                () = &mut turn => {}
                r = cancel => match r {
                    Ok(()) => {
                        let _ = tx.send(AgentMsg::Cancelled);
                    }
                    // The app stopped listening for a cancel (the turn is
                    // ending): let it end.
                    Err(_) => (&mut turn).await,
                },
            }
        });
    });
}

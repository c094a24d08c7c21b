//! The TUI's state and how it changes: keys and mouse become [`Action`]s
//! (as gitui's components do), and agent events update the panes. Nothing
//! here draws or does IO, so it is tested directly.

use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind,
};
use ratatui::layout::{Position, Rect};
use recagent_agent::{Event, Recommendation, TurnTrace};
use recagent_core::ItemId;
use recagent_memory::{ItemFeedback, Profile};

/// What the app asks the runner to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send this text as a turn.
    Submit(String),
    /// Stop the running turn.
    Cancel,
    /// Like, dislike or mark seen an item (stored in profile memory).
    Feedback(ItemId, ItemFeedback),
    /// Start a new conversation (the profile stays).
    NewSession,
    Quit,
}

/// Who said a line of the chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Agent,
    /// What the app itself says (cancelled, feedback stored, errors).
    Note,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatLine {
    pub role: Role,
    pub text: String,
}

/// Which pane has the keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Input,
    Candidates,
}

/// Messages from the runner's background work.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentMsg {
    /// An event of the running turn.
    Event(Event),
    /// The turn was cancelled (Esc).
    Cancelled,
    /// The profile after a change.
    Profile(Profile),
    /// Something to tell the user.
    Note(String),
}

/// Where the panes are on screen (from the last draw), for the mouse.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Areas {
    pub chat: Rect,
    pub candidates: Rect,
    pub trace: Rect,
    pub profile: Rect,
}

/// Everything the screen shows.
#[derive(Debug, Clone)]
pub struct App {
    pub catalog: String,
    pub user: String,
    /// The controller that is live ("rules", "local:qwen2.5-0.5b", …).
    pub controller: String,
    pub chat: Vec<ChatLine>,
    /// The agent's words of the running turn, as they stream in.
    pub streaming: String,
    pub candidates: Vec<Recommendation>,
    pub selected: usize,
    pub trace: Option<TurnTrace>,
    /// Tool calls of the running turn, one line each.
    pub live_tools: Vec<String>,
    pub profile: Profile,
    pub input: String,
    /// Cursor position in `input`, in characters.
    pub cursor: usize,
    /// Sent lines, oldest first, for ↑/↓.
    pub sent: Vec<String>,
    sent_pos: Option<usize>,
    pub busy: bool,
    pub focus: Focus,
    pub help: bool,
    /// Lines scrolled up from the bottom of the chat.
    pub chat_scroll: u16,
    pub trace_scroll: u16,
    pub areas: Areas,
    /// A spinner frame, advanced while busy.
    pub tick: usize,
}

impl App {
    pub fn new(catalog: &str, user: &str, controller: &str, profile: Profile) -> Self {
        Self {
            catalog: catalog.to_owned(),
            user: user.to_owned(),
            controller: controller.to_owned(),
            chat: Vec::new(),
            streaming: String::new(),
            candidates: Vec::new(),
            selected: 0,
            trace: None,
            live_tools: Vec::new(),
            profile,
            input: String::new(),
            cursor: 0,
            sent: Vec::new(),
            sent_pos: None,
            busy: false,
            focus: Focus::Input,
            help: false,
            chat_scroll: 0,
            trace_scroll: 0,
            areas: Areas::default(),
            tick: 0,
        }
    }

    /// Adds a note to the chat.
    pub fn note(&mut self, text: impl Into<String>) {
        self.chat.push(ChatLine {
            role: Role::Note,
            text: text.into(),
        });
        self.chat_scroll = 0;
    }

    /// The highlighted candidate.
    pub fn highlighted(&self) -> Option<&Recommendation> {
        self.candidates.get(self.selected)
    }

    fn byte_at(&self, chars: usize) -> usize {
        self.input
            .char_indices()
            .nth(chars)
            .map_or(self.input.len(), |(i, _)| i)
    }

    fn submit(&mut self) -> Option<Action> {
        let text = self.input.trim().to_owned();
        if text.is_empty() {
            return None;
        }
        if self.busy {
            self.note("a turn is running: wait for it, or press Esc to cancel it");
            return None;
        }
        self.input.clear();
        self.cursor = 0;
        self.sent_pos = None;
        if self.sent.last() != Some(&text) {
            self.sent.push(text.clone());
        }
        Some(self.start_turn(text))
    }

    /// Marks a turn as started for `text` and returns its action.
    fn start_turn(&mut self, text: String) -> Action {
        self.chat.push(ChatLine {
            role: Role::User,
            text: text.clone(),
        });
        self.busy = true;
        self.streaming.clear();
        self.live_tools.clear();
        self.chat_scroll = 0;
        Action::Submit(text)
    }

    fn history(&mut self, older: bool) {
        if self.sent.is_empty() {
            return;
        }
        let pos = match (self.sent_pos, older) {
            (None, true) => Some(self.sent.len() - 1),
            (None, false) => None,
            (Some(0), true) => Some(0),
            (Some(p), true) => Some(p - 1),
            (Some(p), false) if p + 1 < self.sent.len() => Some(p + 1),
            (Some(_), false) => None,
        };
        self.sent_pos = pos;
        self.input = pos.map(|p| self.sent[p].clone()).unwrap_or_default();
        self.cursor = self.input.chars().count();
    }

    fn feedback(&mut self, fb: ItemFeedback) -> Option<Action> {
        let r = self.highlighted()?;
        Some(Action::Feedback(r.id, fb))
    }

    /// Handles a key; returns what the runner must do.
    pub fn on_key(&mut self, key: KeyEvent) -> Option<Action> {
        if key.kind == KeyEventKind::Release {
            return None;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        // Keys that work everywhere.
        match key.code {
            KeyCode::Char('c') | KeyCode::Char('q') if ctrl => return Some(Action::Quit),
            KeyCode::Char('n') if ctrl => {
                if self.busy {
                    self.note("a turn is running: press Esc to cancel it first");
                    return None;
                }
                self.chat.clear();
                self.candidates.clear();
                self.trace = None;
                self.streaming.clear();
                self.note("new conversation (your profile is kept)");
                return Some(Action::NewSession);
            }
            KeyCode::F(1) => {
                self.help = !self.help;
                return None;
            }
            KeyCode::Esc => {
                if self.help {
                    self.help = false;
                    return None;
                }
                if self.busy {
                    return Some(Action::Cancel);
                }
                self.focus = Focus::Input;
                return None;
            }
            KeyCode::Tab | KeyCode::BackTab => {
                self.focus = match self.focus {
                    Focus::Input if !self.candidates.is_empty() => Focus::Candidates,
                    _ => Focus::Input,
                };
                return None;
            }
            KeyCode::PageUp => {
                self.chat_scroll = self.chat_scroll.saturating_add(5);
                return None;
            }
            KeyCode::PageDown => {
                self.chat_scroll = self.chat_scroll.saturating_sub(5);
                return None;
            }
            _ => {}
        }
        if self.help {
            // Any other key closes the help.
            self.help = false;
            return None;
        }
        match self.focus {
            Focus::Candidates => self.candidate_key(key),
            Focus::Input => self.input_key(key),
        }
    }

    fn candidate_key(&mut self, key: KeyEvent) -> Option<Action> {
        let n = self.candidates.len();
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => {
                self.selected = self.selected.saturating_sub(1);
                None
            }
            KeyCode::Down | KeyCode::Char('j') => {
                if self.selected + 1 < n {
                    self.selected += 1;
                }
                None
            }
            KeyCode::Char('l') => self.feedback(ItemFeedback::Liked),
            KeyCode::Char('d') => self.feedback(ItemFeedback::Disliked),
            KeyCode::Char('s') => self.feedback(ItemFeedback::Seen),
            KeyCode::Char('m') | KeyCode::Enter => {
                if self.busy {
                    self.note("a turn is running: wait for it, or press Esc to cancel it");
                    return None;
                }
                let title = self.highlighted()?.title.clone();
                self.focus = Focus::Input;
                Some(self.start_turn(format!("more like {title}")))
            }
            KeyCode::Char('?') => {
                self.help = true;
                None
            }
            KeyCode::Char(_) => {
                // Typing goes to the input.
                self.focus = Focus::Input;
                self.input_key(key)
            }
            _ => None,
        }
    }

    fn input_key(&mut self, key: KeyEvent) -> Option<Action> {
        match key.code {
            KeyCode::Enter => self.submit(),
            KeyCode::Char(c) => {
                let at = self.byte_at(self.cursor);
                self.input.insert(at, c);
                self.cursor += 1;
                None
            }
            KeyCode::Backspace => {
                if self.cursor > 0 {
                    self.cursor -= 1;
                    let at = self.byte_at(self.cursor);
                    self.input.remove(at);
                }
                None
            }
            KeyCode::Delete => {
                if self.cursor < self.input.chars().count() {
                    let at = self.byte_at(self.cursor);
                    self.input.remove(at);
                }
                None
            }
            KeyCode::Left => {
                self.cursor = self.cursor.saturating_sub(1);
                None
            }
            KeyCode::Right => {
                self.cursor = (self.cursor + 1).min(self.input.chars().count());
                None
            }
            KeyCode::Home => {
                self.cursor = 0;
                None
            }
            KeyCode::End => {
                self.cursor = self.input.chars().count();
                None
            }
            KeyCode::Up => {
                self.history(true);
                None
            }
            KeyCode::Down => {
                self.history(false);
                None
            }
            _ => None,
        }
    }

    /// Scrolls the pane under the mouse.
    pub fn on_mouse(&mut self, m: MouseEvent) {
        let at = Position::new(m.column, m.row);
        let up = match m.kind {
            MouseEventKind::ScrollUp => true,
            MouseEventKind::ScrollDown => false,
            _ => return,
        };
        if self.areas.chat.contains(at) {
            self.chat_scroll = if up {
                self.chat_scroll.saturating_add(3)
            } else {
                self.chat_scroll.saturating_sub(3)
            };
        } else if self.areas.trace.contains(at) {
            self.trace_scroll = if up {
                self.trace_scroll.saturating_sub(3)
            } else {
                self.trace_scroll.saturating_add(3)
            };
        } else if self.areas.candidates.contains(at) && !self.candidates.is_empty() {
            self.selected = if up {
                self.selected.saturating_sub(1)
            } else {
                (self.selected + 1).min(self.candidates.len() - 1)
            };
        }
    }

    /// Updates the panes from the background.
    pub fn on_agent(&mut self, msg: AgentMsg) {
        match msg {
            AgentMsg::Event(e) => self.on_event(e),
            AgentMsg::Cancelled => {
                self.busy = false;
                let partial = std::mem::take(&mut self.streaming);
                if !partial.trim().is_empty() {
                    self.chat.push(ChatLine {
                        role: Role::Agent,
                        text: partial,
                    });
                }
                self.note("cancelled");
            }
            AgentMsg::Profile(p) => self.profile = p,
            AgentMsg::Note(n) => self.note(n),
        }
    }

    fn on_event(&mut self, e: Event) {
        match e {
            Event::ToolCall { call } => {
                self.live_tools
                    .push(format!("… {} {}", call.name, call.arguments));
            }
            Event::ToolResult { name, ok, summary } => {
                if let Some(last) = self.live_tools.last_mut() {
                    *last = format!("{} {name}: {summary}", if ok { "✓" } else { "✗" });
                }
            }
            Event::TextDelta { text } => {
                self.streaming.push_str(&text);
                self.chat_scroll = 0;
            }
            Event::Candidates { items } => {
                if !items.is_empty() {
                    self.candidates = items;
                    self.selected = 0;
                }
            }
            Event::Error { message } => self.note(format!("error: {message}")),
            Event::Answer(turn) => {
                self.busy = false;
                self.streaming.clear();
                self.live_tools.clear();
                self.chat.push(ChatLine {
                    role: Role::Agent,
                    text: turn.answer.trim_end().to_owned(),
                });
                if !turn.items.is_empty() {
                    self.candidates = turn.items.clone();
                    self.selected = 0;
                }
                self.trace = Some(turn.trace);
                self.trace_scroll = 0;
                self.chat_scroll = 0;
            }
        }
    }
}

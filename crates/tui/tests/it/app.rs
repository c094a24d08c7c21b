//! Keys and events on the app state.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;
use recagent_memory::{ItemFeedback, Profile};
use recagent_tui::app::{Focus, Role};
use recagent_tui::{Action, AgentMsg, App};

use crate::fixture;

fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

fn typed(app: &mut App, text: &str) -> Option<Action> {
    for c in text.chars() {
        assert_eq!(app.on_key(key(KeyCode::Char(c))), None);
    }
    app.on_key(key(KeyCode::Enter))
}

fn new_app() -> App {
    App::new("tui", "me", "rules", Profile::default())
}

#[test]
fn typing_sends_a_turn_and_history_recalls_it() {
    let mut app = new_app();
    assert_eq!(
        typed(&mut app, "a comedy"),
        Some(Action::Submit("a comedy".into()))
    );
    assert!(app.busy && app.input.is_empty());
    assert_eq!(app.chat.last().unwrap().role, Role::User);
    // While busy, Enter sends nothing and says why; Esc cancels.
    assert_eq!(typed(&mut app, "more"), None);
    assert!(app.chat.last().unwrap().text.contains("Esc"));
    assert_eq!(app.on_key(key(KeyCode::Esc)), Some(Action::Cancel));
    app.on_agent(AgentMsg::Cancelled);
    assert!(!app.busy);
    assert_eq!(app.chat.last().unwrap().text, "cancelled");
    // ↑ brings back what was sent; editing works mid-line.
    app.input.clear();
    app.cursor = 0;
    app.on_key(key(KeyCode::Up));
    assert_eq!(app.input, "a comedy");
    app.on_key(key(KeyCode::Home));
    for c in "not ".chars() {
        app.on_key(key(KeyCode::Char(c)));
    }
    assert_eq!(app.input, "not a comedy");
    app.on_key(key(KeyCode::Backspace));
    assert_eq!(app.input, "nota comedy");
    app.on_key(key(KeyCode::Down));
    assert_eq!(app.input, "");
    assert_eq!(app.on_key(ctrl('c')), Some(Action::Quit));
}

#[test]
fn a_real_turn_fills_the_panes_and_candidate_keys_act_on_the_highlight() {
    let dir = tempfile::tempdir().unwrap();
    let agent = fixture::agent(dir.path());
    let genre = fixture::catalog()
        .genre_vocab()
        .into_iter()
        .find(|g| g != "unknown")
        .unwrap();
    let mut app = new_app();
    typed(&mut app, &format!("a {genre} movie"));
    for e in fixture::turn_events(&agent, "me", &format!("a {genre} movie")) {
        app.on_agent(AgentMsg::Event(e));
    }
    assert!(!app.busy);
    assert_eq!(app.chat.last().unwrap().role, Role::Agent);
    assert!(!app.candidates.is_empty());
    assert!(app.candidates.iter().all(|r| r.genres.contains(&genre)));
    let trace = app.trace.as_ref().unwrap();
    assert!(trace.tool_calls.iter().any(|c| c.name == "search_items"));

    // Tab to the candidates, move down, like the second.
    app.on_key(key(KeyCode::Tab));
    assert_eq!(app.focus, Focus::Candidates);
    app.on_key(key(KeyCode::Down));
    let second = app.candidates[1].clone();
    assert_eq!(
        app.on_key(key(KeyCode::Char('l'))),
        Some(Action::Feedback(second.id, ItemFeedback::Liked))
    );
    assert_eq!(
        app.on_key(key(KeyCode::Char('s'))),
        Some(Action::Feedback(second.id, ItemFeedback::Seen))
    );
    // "more like it" is a turn about the highlighted title.
    assert_eq!(
        app.on_key(key(KeyCode::Char('m'))),
        Some(Action::Submit(format!("more like {}", second.title)))
    );
    assert_eq!(app.focus, Focus::Input);
    assert!(app.busy);
    // The mouse wheel over the candidates moves the highlight.
    app.busy = false;
    app.areas.candidates = Rect::new(50, 0, 30, 20);
    app.on_mouse(MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: 60,
        row: 5,
        modifiers: KeyModifiers::NONE,
    });
    assert_eq!(app.selected, 2);
    // A new session clears the panes but not the profile.
    app.profile.liked_genres.push(genre.clone());
    assert_eq!(app.on_key(ctrl('n')), Some(Action::NewSession));
    assert!(app.candidates.is_empty() && app.trace.is_none());
    assert_eq!(app.profile.liked_genres, vec![genre]);
}

#[test]
fn streamed_words_show_while_the_turn_runs() {
    let mut app = new_app();
    typed(&mut app, "hi");
    app.on_agent(AgentMsg::Event(recagent_agent::Event::TextDelta {
        text: "Here are ".into(),
    }));
    app.on_agent(AgentMsg::Event(recagent_agent::Event::TextDelta {
        text: "some".into(),
    }));
    assert_eq!(app.streaming, "Here are some");
    // Cancelled mid-answer: what was said stays in the chat.
    app.on_agent(AgentMsg::Cancelled);
    let texts: Vec<&str> = app.chat.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(texts, ["hi", "Here are some", "cancelled"]);
}

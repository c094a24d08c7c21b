//! Frames on ratatui's TestBackend, snapshotted.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use recagent_memory::Profile;
use recagent_tui::{AgentMsg, App, ui};

use crate::fixture;

fn frame(app: &mut App) -> String {
    let mut t = Terminal::new(TestBackend::new(110, 30)).unwrap();
    t.draw(|f| ui::draw(f, app)).unwrap();
    t.backend().to_string()
}

#[test]
fn first_screen() {
    let mut app = App::new("tui", "me", "rules", Profile::default());
    app.note("the local model is not downloaded; the rules controller is live");
    insta::assert_snapshot!("first_screen", frame(&mut app));
}

#[test]
fn mid_conversation() {
    let dir = tempfile::tempdir().unwrap();
    let agent = fixture::agent(dir.path());
    let genre = fixture::catalog()
        .genre_vocab()
        .into_iter()
        .find(|g| g != "unknown")
        .unwrap();
    let mut profile = Profile::default();
    profile.avoided_genres.push("Horror".into());
    let mut app = App::new("tui", "me", "rules", profile);
    let text = format!("a {genre} movie from the 1990s");
    app.input = text.clone();
    app.cursor = text.chars().count();
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    for e in fixture::turn_events(&agent, "me", &text) {
        app.on_agent(AgentMsg::Event(e));
    }
    app.on_key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE));
    app.on_key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE));
    insta::assert_snapshot!("mid_conversation", frame(&mut app));
}

#[test]
fn help_overlay() {
    let mut app = App::new("tui", "me", "local:qwen2.5-0.5b", Profile::default());
    app.on_key(KeyEvent::new(KeyCode::F(1), KeyModifiers::NONE));
    assert!(app.help);
    insta::assert_snapshot!("help_overlay", frame(&mut app));
}

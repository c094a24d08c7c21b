//! Drawing: one function per pane, and the layout that places them.
//!
//! ```text
//! ┌ Chat ──────────────────────────┐┌ Candidates ─────────────┐
//! │ you: …                         ││▶ 1. Title (1995) 0.91   │
//! │ agent: …                       ││    reason               │
//! │                                │├ Trace ──────────────────┤
//! │                                ││ ✓ search_items …        │
//! ├ Message ───────────────────────┤├ Profile ────────────────┤
//! │ > …                            ││ liked: …                │
//! └────────────────────────────────┘└─────────────────────────┘
//!  status: catalog · user · controller · hints
//! ```

use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Borders, Clear, List, ListItem, ListState, Paragraph, Wrap};

use crate::app::{App, Focus, Role};

const SPINNER: [&str; 4] = ["⠋", "⠙", "⠹", "⠸"];

fn block(title: &str, focused: bool) -> Block<'static> {
    let style = if focused {
        Style::default().fg(Color::Cyan)
    } else {
        Style::default()
    };
    Block::default()
        .borders(Borders::ALL)
        .border_style(style)
        .title(Span::styled(
            format!(" {title} "),
            Style::default().add_modifier(Modifier::BOLD),
        ))
}

/// Draws the whole screen and remembers where the panes are.
pub fn draw(f: &mut Frame, app: &mut App) {
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([Constraint::Min(6), Constraint::Length(1)])
        .split(f.area());
    let cols = Layout::default()
        .direction(Direction::Horizontal)
        .constraints([Constraint::Percentage(58), Constraint::Percentage(42)])
        .split(rows[0]);
    let left = Layout::default()
        .direction(Direction::Vertical)
        .constraints([Constraint::Min(3), Constraint::Length(3)])
        .split(cols[0]);
    let right = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Percentage(50),
            Constraint::Percentage(30),
            Constraint::Percentage(20),
        ])
        .split(cols[1]);
    app.areas.chat = left[0];
    app.areas.candidates = right[0];
    app.areas.trace = right[1];
    app.areas.profile = right[2];
    chat(f, left[0], app);
    input(f, left[1], app);
    candidates(f, right[0], app);
    trace(f, right[1], app);
    profile(f, right[2], app);
    status(f, rows[1], app);
    if app.help {
        help(f, f.area());
    }
}

/// The conversation, newest at the bottom, with the streaming answer.
pub fn chat(f: &mut Frame, area: Rect, app: &App) {
    let mut lines: Vec<Line> = Vec::new();
    for l in &app.chat {
        let (who, style) = match l.role {
            Role::User => ("you", Style::default().fg(Color::Green)),
            Role::Agent => ("agent", Style::default().fg(Color::Yellow)),
            Role::Note => ("·", Style::default().fg(Color::DarkGray)),
        };
        for (n, text) in l.text.lines().enumerate() {
            let head = if n == 0 {
                format!("{who}: ")
            } else {
                " ".repeat(who.chars().count() + 2)
            };
            lines.push(Line::from(vec![
                Span::styled(head, style.add_modifier(Modifier::BOLD)),
                Span::raw(text.to_owned()),
            ]));
        }
    }
    if app.busy {
        let text = if app.streaming.is_empty() {
            format!("{} thinking…", SPINNER[app.tick % SPINNER.len()])
        } else {
            app.streaming.clone()
        };
        for (n, t) in text.lines().enumerate() {
            let head = if n == 0 { "agent: " } else { "       " };
            lines.push(Line::from(vec![
                Span::styled(head, Style::default().fg(Color::Yellow)),
                Span::raw(t.to_owned()),
            ]));
        }
    }
    if lines.is_empty() {
        lines.push(Line::styled(
            "Ask for something to watch, e.g. \"a funny animated movie from the 90s, we loved Toy Story\".",
            Style::default().fg(Color::DarkGray),
        ));
    }
    let p = Paragraph::new(Text::from(lines)).wrap(Wrap { trim: false });
    // Scroll so the newest line is at the bottom, then up by chat_scroll.
    let inner_h = area.height.saturating_sub(2);
    let inner_w = area.width.saturating_sub(2).max(1);
    let total = u16::try_from(p.line_count(inner_w)).unwrap_or(u16::MAX);
    let bottom = total.saturating_sub(inner_h);
    let offset = bottom.saturating_sub(app.chat_scroll);
    f.render_widget(p.block(block("Chat", false)).scroll((offset, 0)), area);
}

/// The line being typed.
pub fn input(f: &mut Frame, area: Rect, app: &App) {
    let focused = app.focus == Focus::Input;
    let title = if app.busy {
        "Message (Esc cancels the turn)"
    } else {
        "Message (Enter sends · Tab: candidates · F1: help)"
    };
    let p = Paragraph::new(format!("> {}", app.input)).block(block(title, focused));
    f.render_widget(p, area);
    if focused && !app.help {
        let x = area.x + 3 + u16::try_from(app.cursor).unwrap_or(0);
        f.set_cursor_position((x.min(area.right().saturating_sub(2)), area.y + 1));
    }
}

/// The ranked list: title, year, genres, score and the reason.
pub fn candidates(f: &mut Frame, area: Rect, app: &App) {
    let focused = app.focus == Focus::Candidates;
    let items: Vec<ListItem> = app
        .candidates
        .iter()
        .enumerate()
        .map(|(n, r)| {
            let year = r.year.map(|y| format!(" ({y})")).unwrap_or_default();
            let title = if r.title.ends_with(')') || year.is_empty() {
                r.title.clone()
            } else {
                format!("{}{year}", r.title)
            };
            ListItem::new(vec![
                Line::from(vec![
                    Span::styled(
                        format!("{:>2}. {title}", n + 1),
                        Style::default().add_modifier(Modifier::BOLD),
                    ),
                    Span::styled(
                        format!("  {:.2}", r.score),
                        Style::default().fg(Color::DarkGray),
                    ),
                ]),
                Line::styled(
                    format!("    {} · {}", r.genres.join(", "), r.reason),
                    Style::default().fg(Color::Gray),
                ),
            ])
        })
        .collect();
    let title = if focused {
        "Candidates (l like · d dislike · s seen · m more like it)"
    } else {
        "Candidates"
    };
    let list = List::new(items)
        .block(block(title, focused))
        .highlight_style(Style::default().add_modifier(Modifier::REVERSED))
        .highlight_symbol("▶");
    let mut state = ListState::default();
    if !app.candidates.is_empty() {
        state.select(Some(app.selected));
    }
    f.render_stateful_widget(list, area, &mut state);
}

/// Tool calls, funnel counts and time per stage, model tokens.
pub fn trace(f: &mut Frame, area: Rect, app: &App) {
    let mut lines: Vec<Line> = Vec::new();
    if app.busy {
        for t in &app.live_tools {
            lines.push(Line::raw(t.clone()));
        }
    } else if let Some(t) = &app.trace {
        let stages: Vec<String> = t
            .stages
            .iter()
            .map(|s| {
                format!(
                    "{:?} {}→{} {:.1}ms",
                    s.stage,
                    s.count_in,
                    s.count_out,
                    s.micros as f64 / 1e3
                )
            })
            .collect();
        lines.push(Line::styled(
            format!(
                "{} · {:.0} ms · {} tok",
                t.strategy,
                t.total_micros as f64 / 1e3,
                t.prompt_tokens() + t.completion_tokens()
            ),
            Style::default().fg(Color::DarkGray),
        ));
        if let Some(state) = &t.state {
            lines.push(Line::styled(
                format!("asked: {}", state.summary()),
                Style::default().fg(Color::Cyan),
            ));
        }
        for r in &t.relaxed {
            lines.push(Line::styled(
                format!("relaxed: {r}"),
                Style::default().fg(Color::Yellow),
            ));
        }
        for s in stages {
            lines.push(Line::raw(s));
        }
        for c in &t.tool_calls {
            lines.push(Line::from(vec![
                Span::styled(
                    if c.ok { "✓ " } else { "✗ " },
                    Style::default().fg(if c.ok { Color::Green } else { Color::Red }),
                ),
                Span::raw(format!("{}: {}", c.name, c.summary)),
            ]));
        }
        for m in &t.model_calls {
            lines.push(Line::raw(format!(
                "model {}: {}+{} tok ({} cached), {:.0} ms",
                m.purpose, m.prompt_tokens, m.completion_tokens, m.cached_prompt_tokens, m.total_ms
            )));
        }
        if t.repairs > 0 || t.fallback {
            lines.push(Line::styled(
                format!("repairs {} · fallback {}", t.repairs, t.fallback),
                Style::default().fg(Color::Red),
            ));
        }
    }
    let p = Paragraph::new(Text::from(lines))
        .wrap(Wrap { trim: true })
        .scroll((app.trace_scroll, 0))
        .block(block("Trace", false));
    f.render_widget(p, area);
}

/// What is remembered about the user.
pub fn profile(f: &mut Frame, area: Rect, app: &App) {
    let p = &app.profile;
    let n = |v: &[recagent_core::ItemId]| v.len();
    let mut lines = vec![Line::raw(format!(
        "liked {} · disliked {} · seen {}",
        n(&p.liked),
        n(&p.disliked),
        n(&p.seen)
    ))];
    if !p.liked_genres.is_empty() {
        lines.push(Line::raw(format!("likes: {}", p.liked_genres.join(", "))));
    }
    if !p.avoided_genres.is_empty() {
        lines.push(Line::raw(format!(
            "avoids: {}",
            p.avoided_genres.join(", ")
        )));
    }
    for fact in p.facts.iter().rev().take(3) {
        lines.push(Line::styled(
            format!("“{}”", fact.text),
            Style::default().fg(Color::Gray),
        ));
    }
    let para = Paragraph::new(Text::from(lines))
        .wrap(Wrap { trim: true })
        .block(block(&format!("Profile of {}", app.user), false));
    f.render_widget(para, area);
}

/// The bottom line: which controller is live, and what the keys do.
pub fn status(f: &mut Frame, area: Rect, app: &App) {
    let state = if app.busy {
        format!("{} working", SPINNER[app.tick % SPINNER.len()])
    } else {
        "ready".to_owned()
    };
    let line = Line::from(vec![
        Span::styled(
            format!(" {} ", app.controller),
            Style::default().fg(Color::Black).bg(Color::Cyan),
        ),
        Span::raw(format!(
            " {} · user {} · {state} · F1 help · Ctrl+N new · Ctrl+C quit",
            app.catalog, app.user
        )),
    ]);
    f.render_widget(Paragraph::new(line), area);
}

/// The keys, over everything else.
pub fn help(f: &mut Frame, area: Rect) {
    let w = 62.min(area.width);
    let h = 17.min(area.height);
    let r = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    let text = vec![
        Line::raw("Enter        send the message"),
        Line::raw("↑ / ↓        earlier messages (in the message box)"),
        Line::raw("Esc          cancel the running turn; close this help"),
        Line::raw("Tab          move between the message box and candidates"),
        Line::raw("In candidates:"),
        Line::raw("  ↑ / ↓      highlight an item"),
        Line::raw("  l / d / s  like, dislike, mark seen (kept in your profile)"),
        Line::raw("  m, Enter   ask for more like it"),
        Line::raw("PgUp / PgDn  scroll the chat (the mouse wheel scrolls too)"),
        Line::raw("Ctrl+N       new conversation (the profile stays)"),
        Line::raw("Ctrl+C       quit"),
        Line::raw(""),
        Line::styled(
            "any key closes this help",
            Style::default().fg(Color::DarkGray),
        ),
    ];
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(text)
            .block(block("Help", true))
            .wrap(Wrap { trim: false }),
        r,
    );
}

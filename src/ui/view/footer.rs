//! The footer line, from the layer on top of the overlay stack: a notice, the palette, the
//! filter, a wizard's keys, or the screen's keys, each from the keymap it is read with.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::ui::keymap::Action;
use crate::ui::model::{Model, Overlay, Screen, TabKind, Top};

pub(super) fn footer(m: &Model, f: &mut Frame, area: Rect) {
    match m.top() {
        Top::Notice => notice(m, f, area),
        Top::Overlay(Overlay::Palette(text)) => palette(m, text, f, area),
        Top::Overlay(Overlay::Filter) => {
            let keys = " type to filter · Enter keep · Esc clear";
            f.render_widget(Paragraph::new(keys).style(Style::new().fg(m.theme.dim)), area);
        }
        Top::Overlay(Overlay::Apply(w)) => super::wizard::apply::footer(m, w, f, area),
        Top::Overlay(Overlay::Emergency(w)) => super::wizard::emergency::footer(m, w, f, area),
        Top::Overlay(Overlay::Fleet(w)) => super::wizard::fleet::footer(m, w, f, area),
        Top::Overlay(Overlay::Help) | Top::Screen => screen(m, f, area),
    }
}

/// The first notice, and that a key hides it (the key does nothing else).
fn notice(m: &Model, f: &mut Frame, area: Rect) {
    let Some(n) = m.notices.first() else { return };
    let more = if m.notices.len() > 1 {
        format!(" (+{} more in the log)", m.notices.len() - 1)
    } else {
        String::new()
    };
    let line = format!(" ⚠ {n}{more} · any key hides this");
    f.render_widget(Paragraph::new(line).style(Style::new().fg(m.theme.warning)), area);
}

fn palette(m: &Model, text: &str, f: &mut Frame, area: Rect) {
    let fits = crate::ui::model::palette::suggestions(text);
    let hint = match fits.as_slice() {
        [one] => crate::ui::model::palette::COMMANDS
            .iter()
            .find(|(c, _)| c == one)
            .map(|(c, what)| format!("{c} {what}"))
            .unwrap_or_default(),
        [] => "no such command".into(),
        many => many.join(" · "),
    };
    let line = Line::from(vec![
        Span::styled(format!(" :{text}█"), Style::new().add_modifier(Modifier::BOLD)),
        Span::styled(
            format!("   {hint} · Tab completes · Enter runs · Esc closes"),
            Style::new().fg(m.theme.dim),
        ),
    ]);
    f.render_widget(Paragraph::new(line), area);
}

fn screen(m: &Model, f: &mut Frame, area: Rect) {
    let keys = {
        let first = |a: Action| m.keymap.main.first(a);
        let browsing = m.screen != Screen::Migrations;
        let fleet = m.env_tab().is_some_and(|e| e.is_fleet());
        let hints: Vec<String> = [
            (format!("{}{}", first(Action::Up), first(Action::Down)), "move"),
            (first(Action::NextEnv), "env"),
            if browsing {
                (format!("{}{}", first(Action::ScrollDown), first(Action::ScrollUp)), "scroll")
            } else if fleet {
                (String::new(), "")
            } else {
                (first(Action::NextTab), "next tab")
            },
            (first(Action::Filter), "filter"),
            match m.env_tab().map(|e| &e.kind) {
                _ if browsing => ("Esc".into(), "back"),
                Some(TabKind::Fleet) => ("Enter".into(), "open"),
                Some(TabKind::Member { .. }) => ("Esc".into(), "fleet"),
                _ => (first(Action::ShowRuns), "runs"),
            },
            if fleet { (first(Action::Apply), "roll out") } else { (String::new(), "") },
            (first(Action::Help), "help"),
            (first(Action::Quit), "quit"),
        ]
        .into_iter()
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, what)| format!("{k} {what}"))
        .collect();
        let keys = format!(" {}", hints.join(" · "));
        let logs = format!("      logs: {}", m.log_dir);
        // Where the log folder does not fit whole, it is left out, not cut.
        let fits = keys.chars().count() + logs.chars().count() <= area.width as usize;
        if fits {
            keys + &logs
        } else {
            keys
        }
    };
    f.render_widget(Paragraph::new(keys).style(Style::new().fg(m.theme.dim)), area);
}

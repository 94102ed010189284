//! The overlay stack decides keys, body and footer together: a notice over a wizard, help
//! over the list, the palette, and wizard keys rebound in the keymap.

use ratatui::backend::TestBackend;
use ratatui::Terminal;

use super::wizard_apply::tab;
use crate::core::record::report::{Stage, StageOutcome};
use crate::ui::model::tests::sample;
use crate::ui::model::wizard::apply::{ApplyStep, ApplyWizard};
use crate::ui::model::wizard::{ApplyMsg, Ask};
use crate::ui::model::{update, Key, Model, Msg, Overlay, Top};

fn screen(m: &Model) -> String {
    let mut t = Terminal::new(TestBackend::new(100, 30)).unwrap();
    t.draw(|f| crate::ui::view::view(m, f)).unwrap();
    t.backend().to_string()
}

/// The footer: the last line of the screen.
fn footer(m: &Model) -> String {
    screen(m).lines().last().unwrap_or("").to_string()
}

fn wizard_at_lint() -> ApplyWizard {
    let mut w = ApplyWizard::new(&tab("development", 1));
    let result = crate::core::record::report::StageResult {
        stage: Stage::PreChecks,
        outcome: StageOutcome::Passed,
        summary: "5 passed".into(),
        duration_ms: 3,
        refusal: None,
    };
    w.on_msg(ApplyMsg::Stage { result, report: super::wizard_apply::report(), findings: vec![] });
    w
}

#[test]
fn a_notice_over_a_wizard_takes_one_key_then_gives_the_wizard_back() {
    let mut m = sample();
    let mut w = wizard_at_lint();
    w.busy = false;
    w.core.note = Some("wait: this step is running".into());
    m.overlays.push(Overlay::Apply(Box::new(w)));
    assert!(footer(&m).contains("wait: this step is running"), "the wizard's warning shows");

    update(&mut m, Msg::Notice("backup of dev: /b/dev.dump (1.0 MB, 3 entries verified)".into()));
    assert!(matches!(m.top(), Top::Notice));
    let shown = screen(&m);
    assert!(shown.contains("Apply to dev"), "the wizard stays on screen under the notice");
    let line = shown.lines().last().unwrap_or("");
    assert!(line.contains("backup of dev") && line.contains("any key hides this"), "{line}");

    // The key that hides the notice is not a wizard key: x does not ask to abandon.
    update(&mut m, Msg::Key(Key::Char('x')));
    assert!(m.notices.is_empty(), "any key hides it");
    let w = m.apply_wizard().expect("still open");
    assert_eq!(w.core.ask, None, "the wizard did not get the key");
    assert!(footer(&m).contains("wait: this step is running"), "its warning is back");

    // Now the wizard has the keys again.
    update(&mut m, Msg::Key(Key::Char('x')));
    assert_eq!(m.apply_wizard().and_then(|w| w.core.ask.clone()), Some(Ask::Abort));
}

#[test]
fn help_and_the_palette_sit_on_the_stack_and_come_off_it() {
    let mut m = sample();
    update(&mut m, Msg::Key(Key::Char('?')));
    assert!(matches!(m.top(), Top::Overlay(Overlay::Help)));
    assert!(screen(&m).contains("Help · keys from keymap.toml"));
    update(&mut m, Msg::Key(Key::Char(':')));
    assert!(m.help_open() && m.palette_text().is_none(), "help has the keys: : is not a palette");
    update(&mut m, Msg::Key(Key::Esc));
    assert!(matches!(m.top(), Top::Screen));
    update(&mut m, Msg::Key(Key::Char(':')));
    update(&mut m, Msg::Key(Key::Char('h')));
    assert!(footer(&m).contains(":h"), "the palette draws the footer");
    update(&mut m, Msg::Key(Key::Esc));
    assert!(m.overlays.is_empty());
}

#[test]
fn wizard_keys_follow_the_keymap() {
    let dir = tempfile::tempdir().unwrap();
    let file = "[wizard]\ndown = \"n\"\nup = \"p\"\nabandon = \"X\"\n";
    std::fs::write(dir.path().join("keymap.toml"), file).unwrap();
    let (keymap, notice) = crate::ui::keymap::load(Some(dir.path()));
    assert_eq!(notice, None);
    let mut m = sample();
    m.keymap = keymap;
    let mut w = wizard_at_lint();
    w.busy = false;
    w.at = ApplyStep::Lint;
    m.overlays.push(Overlay::Apply(Box::new(w)));
    update(&mut m, Msg::Key(Key::Char('j')));
    assert_eq!(m.apply_wizard().map(|w| w.core.scroll), Some(0), "j is no longer down");
    update(&mut m, Msg::Key(Key::Char('n')));
    assert_eq!(m.apply_wizard().map(|w| w.core.scroll), Some(1), "n is");
    update(&mut m, Msg::Key(Key::Char('x')));
    assert_eq!(m.apply_wizard().and_then(|w| w.core.ask.clone()), None, "x no longer abandons");
    let line = footer(&m);
    assert!(line.contains("X abandon") && line.contains("pn scroll"), "{line}");
    update(&mut m, Msg::Key(Key::Char('X')));
    assert_eq!(m.apply_wizard().and_then(|w| w.core.ask.clone()), Some(Ask::Abort));
}

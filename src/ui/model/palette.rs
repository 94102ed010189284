//! The `:` command palette: type a command (Tab completes), Enter runs it.

use super::wizard::emergency::Kind;
use super::{Job, Model, Overlay, Request, Screen};
use crate::ui::theme;

/// Every command with what it takes, as Tab completes and the footer lists them.
pub const COMMANDS: &[(&str, &str)] = &[
    ("apply", "guarded apply of the pending migrations (wizard)"),
    ("rollback", "emergency rollback (down migrations or a backup)"),
    ("recover", "settle a failed migration: retry, undo what ran, or mark it"),
    ("backup", "pg_dump the environment now (verified)"),
    ("verify", "check what migrations left behind"),
    ("lint", "findings of the list; opens the first"),
    ("env", "NAME: switch environment"),
    ("runs", "the runs browser"),
    ("ledger", "the ledger rows"),
    ("live", "locks and blockers"),
    ("migrations", "back to the migration list"),
    ("filter", "TEXT: filter the list"),
    ("refresh", "reload the environment"),
    ("theme", "NAME: dark, light, high-contrast, colorblind"),
    ("help", "the keys"),
    ("quit", "leave sluice"),
];

/// What the footer shows under the typed text: the commands it could still become.
pub fn suggestions(input: &str) -> Vec<&'static str> {
    let word = input.split_whitespace().next().unwrap_or("");
    COMMANDS.iter().map(|(c, _)| *c).filter(|c| c.starts_with(word)).collect()
}

/// Tab: the command completed when only one fits; the environment or theme name too.
pub fn complete(m: &Model, input: &str) -> String {
    let mut words = input.split_whitespace();
    let (first, second) = (words.next().unwrap_or(""), words.next());
    let args: Vec<String> = match first {
        "env" => m.envs.iter().map(|e| e.name.clone()).collect(),
        "theme" => theme::BUILTIN.iter().map(|(n, _)| n.to_string()).collect(),
        _ => Vec::new(),
    };
    match second {
        None if !input.ends_with(' ') => {
            let fits = suggestions(first);
            match fits.as_slice() {
                [one] => format!("{one} "),
                _ => input.to_string(),
            }
        }
        partial => {
            let p = partial.unwrap_or("");
            let fits: Vec<&String> = args.iter().filter(|a| a.starts_with(p)).collect();
            match fits.as_slice() {
                [one] => format!("{first} {one}"),
                _ => input.to_string(),
            }
        }
    }
}

/// Runs a typed command; a mistake becomes a notice, never a crash.
pub fn run(m: &mut Model, input: &str) -> Vec<Request> {
    let input = input.trim();
    let (cmd, arg) = match input.split_once(char::is_whitespace) {
        Some((c, a)) => (c, a.trim()),
        None => (input, ""),
    };
    let fits: Vec<&str> = suggestions(cmd);
    // A unique prefix is enough (":ru" is :runs); an exact name always wins.
    let cmd = if COMMANDS.iter().any(|(c, _)| *c == cmd) {
        cmd
    } else if let [one] = fits.as_slice() {
        one
    } else {
        let names: Vec<&str> = COMMANDS.iter().map(|(c, _)| *c).collect();
        m.notices.push(format!(
            ":{input}: {} (commands: {})",
            if fits.is_empty() { "no such command" } else { "more than one command fits" },
            names.join(", ")
        ));
        return Vec::new();
    };
    match cmd {
        "env" => match m.envs.iter().position(|e| e.name == arg) {
            Some(i) => return m.switch_env(i),
            None => {
                let names: Vec<&str> = m.envs.iter().map(|e| e.name.as_str()).collect();
                m.notices.push(format!(":env {arg}: no such environment ({})", names.join(", ")));
            }
        },
        "runs" => m.open(Screen::Runs),
        "ledger" => m.open(Screen::Ledger),
        "live" => m.open(Screen::Monitor),
        "migrations" => m.open(Screen::Migrations),
        "filter" => {
            m.filter = arg.to_string();
            m.selected = 0;
        }
        "refresh" => return m.reload(),
        "theme" => match theme::builtin(arg) {
            Some(t) if !theme::no_color_requested() => m.theme = t,
            Some(_) => m.notices.push("NO_COLOR is set: colours stay off".into()),
            None => m.notices.push(format!(
                ":theme {arg:?}: built in are dark, light, high-contrast, colorblind (a file theme: --theme NAME)"
            )),
        },
        "apply" if m.readonly => {
            m.notices.push("read-only console (--readonly): apply is disabled".into())
        }
        "apply" => return m.start_apply(),
        "rollback" => return m.start_emergency(Kind::Rollback),
        "recover" => return m.start_emergency(Kind::Recover),
        "backup" if m.readonly => {
            m.notices.push("read-only console (--readonly): backup is disabled".into())
        }
        "backup" | "verify" => {
            let job = if cmd == "backup" { Job::Backup } else { Job::Verify };
            m.notices.push(format!("{cmd} started on {}: the result shows here", m.env_name()));
            return vec![Request::Job { env: m.env_name().to_string(), job }];
        }
        "lint" => m.lint_summary(),
        "help" => m.overlays.push(Overlay::Help),
        "quit" => return vec![Request::Quit],
        _ => {}
    }
    Vec::new()
}

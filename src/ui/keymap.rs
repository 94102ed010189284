//! What each key does. The defaults are vim and arrow keys; `<config dir>/keymap.toml` can
//! rebind any action (a partial overlay). The help overlay and the footer hints are drawn
//! from this same table, so they never disagree with the keys.

use std::path::Path;

use super::model::Key;

macro_rules! actions {
    ($($variant:ident = $name:literal, $help:literal, [$($key:literal),*];)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Action {
            $($variant,)*
        }

        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$variant,)*];

            /// The name a keymap file uses.
            pub fn name(self) -> &'static str {
                match self {
                    $(Action::$variant => $name,)*
                }
            }

            pub fn help(self) -> &'static str {
                match self {
                    $(Action::$variant => $help,)*
                }
            }

            fn default_keys(self) -> &'static [&'static str] {
                match self {
                    $(Action::$variant => &[$($key),*],)*
                }
            }
        }
    };
}

actions! {
    Up = "up", "move up", ["up", "k"];
    Down = "down", "move down", ["down", "j"];
    PageUp = "page_up", "up by ten", ["pageup"];
    PageDown = "page_down", "down by ten", ["pagedown"];
    First = "first", "first migration", ["home", "g"];
    Last = "last", "last migration", ["end", "G"];
    NextEnv = "next_env", "next environment", ["tab"];
    PrevEnv = "prev_env", "previous environment", ["backtab"];
    NextTab = "next_tab", "next detail tab", ["enter"];
    ShowSql = "show_sql", "SQL tab", ["s"];
    ShowDown = "show_down", "Down tab", ["d"];
    ShowDiff = "show_diff", "Diff tab (drift)", ["D"];
    ShowFindings = "show_findings", "Findings tab", ["f"];
    ShowHistory = "show_history", "History tab", ["h"];
    ScrollDown = "scroll_down", "scroll the detail down", ["J"];
    ScrollUp = "scroll_up", "scroll the detail up", ["K"];
    ScrollPageDown = "scroll_page_down", "detail down a page", ["]"];
    ScrollPageUp = "scroll_page_up", "detail up a page", ["["];
    NextFinding = "next_finding", "next finding's line in the SQL", ["n"];
    ShowRuns = "show_runs", "runs browser (again: back)", ["R"];
    ShowLedger = "show_ledger", "ledger rows (again: back)", ["L"];
    ShowMonitor = "show_monitor", "locks and blockers (again: back)", ["M"];
    Filter = "filter", "filter: version/name/state", ["/"];
    Reload = "reload", "reload the environment", ["r"];
    Slower = "slower", "live: sample less often", ["+"];
    Faster = "faster", "live: sample more often", ["-"];
    Pause = "pause", "live: pause / resume", ["space"];
    Palette = "palette", "command palette", [":"];
    Apply = "apply", "guarded apply (wizard)", ["a"];
    Rollback = "rollback", "emergency rollback", ["u"];
    Help = "help", "this help", ["?"];
    Quit = "quit", "quit", ["q", "esc"];
}

#[derive(Debug, Clone, PartialEq)]
pub struct Keymap {
    bindings: Vec<(Key, Action)>,
}

impl Default for Keymap {
    fn default() -> Keymap {
        let mut bindings = Vec::new();
        for a in Action::ALL {
            for k in a.default_keys() {
                if let Some(key) = parse_key(k) {
                    bindings.push((key, *a));
                }
            }
        }
        Keymap { bindings }
    }
}

/// "j", "G", "enter", "pageup", "space"...: a key as a keymap file writes it.
pub fn parse_key(s: &str) -> Option<Key> {
    let mut chars = s.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        return Some(Key::Char(c));
    }
    Some(match s.to_ascii_lowercase().as_str() {
        "up" => Key::Up,
        "down" => Key::Down,
        "pageup" => Key::PageUp,
        "pagedown" => Key::PageDown,
        "home" => Key::Home,
        "end" => Key::End,
        "tab" => Key::Tab,
        "backtab" | "shift-tab" => Key::BackTab,
        "enter" => Key::Enter,
        "esc" => Key::Esc,
        "backspace" => Key::Backspace,
        "space" => Key::Char(' '),
        _ => return None,
    })
}

/// How the help and the footer write a key.
pub fn key_label(k: Key) -> String {
    match k {
        Key::Up => "↑".into(),
        Key::Down => "↓".into(),
        Key::PageUp => "PgUp".into(),
        Key::PageDown => "PgDn".into(),
        Key::Home => "Home".into(),
        Key::End => "End".into(),
        Key::Tab => "Tab".into(),
        Key::BackTab => "S-Tab".into(),
        Key::Enter => "Enter".into(),
        Key::Esc => "Esc".into(),
        Key::Backspace => "Bksp".into(),
        Key::Char(' ') => "Space".into(),
        Key::Char(c) => c.to_string(),
        Key::CtrlC => "C-c".into(),
    }
}

impl Keymap {
    pub fn action(&self, k: Key) -> Option<Action> {
        self.bindings.iter().find(|(key, _)| *key == k).map(|(_, a)| *a)
    }

    pub fn keys(&self, a: Action) -> Vec<Key> {
        self.bindings.iter().filter(|(_, x)| *x == a).map(|(k, _)| *k).collect()
    }

    /// "↑ k" for the help; "" when the action has no key.
    pub fn label(&self, a: Action) -> String {
        self.keys(a).into_iter().map(key_label).collect::<Vec<_>>().join(" ")
    }

    /// The file's bindings over these: an action named there gets exactly the keys listed,
    /// and a key it takes leaves the action that had it.
    fn overlay(&mut self, text: &str) -> Result<(), String> {
        let table = super::theme::parse_toml(text)?;
        let mut next = self.clone();
        for (key, value) in &table {
            let toml::Value::Table(keys) = value else {
                return Err(format!("{key}: unknown key (a keymap has a [keys] table)"));
            };
            if key != "keys" {
                return Err(format!("[{key}]: unknown table (a keymap has a [keys] table)"));
            }
            for (name, v) in keys {
                let Some(action) = Action::ALL.iter().copied().find(|a| a.name() == name) else {
                    let names: Vec<&str> = Action::ALL.iter().map(|a| a.name()).collect();
                    return Err(format!(
                        "keys.{name}: no such action (actions: {})",
                        names.join(", ")
                    ));
                };
                let list: Vec<&str> = match v {
                    toml::Value::String(s) => vec![s.as_str()],
                    toml::Value::Array(a) => a.iter().filter_map(|x| x.as_str()).collect(),
                    _ => return Err(format!("keys.{name}: write a key or a list of keys")),
                };
                let mut parsed = Vec::new();
                for s in list {
                    let k = parse_key(s).ok_or_else(|| {
                        format!("keys.{name} = {s:?}: not a key (a character, or up, down, pageup, pagedown, home, end, tab, backtab, enter, esc, backspace, space)")
                    })?;
                    if matches!(k, Key::Char('1'..='9')) {
                        return Err(format!("keys.{name} = {s:?}: 1-9 pick an environment"));
                    }
                    parsed.push(k);
                }
                next.bindings.retain(|(k, a)| *a != action && !parsed.contains(k));
                next.bindings.extend(parsed.into_iter().map(|k| (k, action)));
            }
        }
        *self = next;
        Ok(())
    }
}

/// The defaults with `<config dir>/keymap.toml` laid over them, and any problem with it.
pub fn load(config_dir: Option<&Path>) -> (Keymap, Option<String>) {
    let mut map = Keymap::default();
    let Some(path) = config_dir.map(|d| d.join("keymap.toml")).filter(|p| p.is_file()) else {
        return (map, None);
    };
    let res =
        std::fs::read_to_string(&path).map_err(|e| e.to_string()).and_then(|t| map.overlay(&t));
    match res {
        Ok(()) => (map, None),
        Err(e) => (
            Keymap::default(),
            Some(format!("keymap {}: {e}; using the default keys", path.display())),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_bind_every_action_once_per_key() {
        let m = Keymap::default();
        for a in Action::ALL {
            assert!(!m.keys(*a).is_empty(), "{} has a key", a.name());
        }
        let mut keys: Vec<String> = m.bindings.iter().map(|(k, _)| format!("{k:?}")).collect();
        let n = keys.len();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), n, "no key does two things");
        assert_eq!(m.action(Key::Char('j')), Some(Action::Down));
        assert_eq!(m.label(Action::Up), "↑ k");
    }

    #[test]
    fn a_file_rebinds_and_a_bad_one_keeps_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("keymap.toml");
        std::fs::write(&file, "[keys]\nquit = \"x\"\ndown = [\"n\", \"down\"]\nreload = \"q\"\n")
            .unwrap();
        let (m, notice) = load(Some(dir.path()));
        assert_eq!(notice, None);
        assert_eq!(m.action(Key::Char('x')), Some(Action::Quit));
        assert_eq!(m.action(Key::Esc), None, "quit has exactly the keys listed");
        assert_eq!(m.action(Key::Char('q')), Some(Action::Reload));
        assert_eq!(m.action(Key::Char('r')), None);
        assert_eq!(m.action(Key::Char('n')), Some(Action::Down));
        assert_eq!(m.action(Key::Char('j')), None);
        assert_eq!(m.action(Key::Char('k')), Some(Action::Up), "the rest untouched");

        for (text, says) in [
            ("[keys]\nfly = \"f\"\n", "keys.fly: no such action"),
            ("[keys]\nquit = \"ctrl-alt-q\"\n", "not a key"),
            ("[keys]\nquit = \"3\"\n", "1-9 pick an environment"),
            ("[keys\n", "line 1"),
            ("[colors]\nx = 1\n", "unknown table"),
        ] {
            std::fs::write(&file, text).unwrap();
            let (m, notice) = load(Some(dir.path()));
            let notice = notice.expect("reported");
            assert!(notice.contains(says), "{text:?}: {notice}");
            assert_eq!(m, Keymap::default());
        }
    }
}

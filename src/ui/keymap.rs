//! What each key does. The defaults are vim and arrow keys; `<config dir>/keymap.toml` can
//! rebind any action (a partial overlay): `[keys]` for the main screens, `[wizard]` for the
//! guided runs. The help overlay and every footer are drawn from these same tables, so they
//! never disagree with the keys. Text fields (the confirmation form, a reason) take letters
//! as letters; Enter, Esc, Tab and Backspace steer them.

use std::path::Path;

use super::model::Key;

macro_rules! actions {
    ($enum:ident { $($variant:ident = $name:literal, $help:literal, [$($key:literal),*];)* }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $enum {
            $($variant,)*
        }

        impl $enum {
            pub const ALL: &'static [$enum] = &[$($enum::$variant,)*];

            /// The name a keymap file uses.
            pub fn name(self) -> &'static str {
                match self {
                    $($enum::$variant => $name,)*
                }
            }

            pub fn help(self) -> &'static str {
                match self {
                    $($enum::$variant => $help,)*
                }
            }

            fn default_keys(self) -> &'static [&'static str] {
                match self {
                    $($enum::$variant => &[$($key),*],)*
                }
            }
        }

        impl Bindable for $enum {
            fn all() -> &'static [$enum] {
                $enum::ALL
            }
            fn name(self) -> &'static str {
                $enum::name(self)
            }
            fn default_keys(self) -> &'static [&'static str] {
                $enum::default_keys(self)
            }
        }
    };
}

/// An action a key can be bound to, in one of the keymap's tables.
pub trait Bindable: Copy + PartialEq + 'static {
    fn all() -> &'static [Self];
    fn name(self) -> &'static str;
    fn default_keys(self) -> &'static [&'static str];
}

actions! { Action {
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
    NextFinding = "next_finding", "next finding in the SQL", ["n"];
    ShowRuns = "show_runs", "runs browser (again: back)", ["R"];
    ShowLedger = "show_ledger", "ledger rows (again: back)", ["L"];
    ShowMonitor = "show_monitor", "live locks (again: back)", ["M"];
    Filter = "filter", "filter: version/name/state", ["/"];
    Reload = "reload", "reload the environment", ["r"];
    Slower = "slower", "live: sample less often", ["+"];
    Faster = "faster", "live: sample more often", ["-"];
    Pause = "pause", "live: pause / resume", ["space"];
    Palette = "palette", "command palette", [":"];
    Apply = "apply", "guarded apply (wizard)", ["a"];
    Rollback = "rollback", "emergency rollback", ["u"];
    Help = "help", "this help", ["?"];
    Quit = "quit", "quit", ["q"];
} }

actions! { WizardAction {
    Continue = "continue", "run the next step / take the choice", ["enter"];
    Back = "back", "back one step / close", ["esc"];
    Up = "up", "move up / scroll up", ["up", "k"];
    Down = "down", "move down / scroll down", ["down", "j"];
    ScrollUp = "scroll_up", "scroll up by five", ["K", "pageup"];
    ScrollDown = "scroll_down", "scroll down by five", ["J", "pagedown"];
    Retry = "retry", "run the failed step again / retry the lock now", ["r"];
    Override = "override", "override the lint gate, the window or the promotion gate (with a reason)", ["o"];
    Abandon = "abandon", "abandon the run before the apply", ["x"];
    Cancel = "cancel", "cancel the running statement", ["c"];
    Terminate = "terminate", "terminate the blocking session", ["t"];
    WaitLonger = "wait_longer", "wait longer for the lock on the next try", ["w"];
    Yes = "yes", "answer yes to a question", ["y", "Y"];
    Quit = "quit", "leave the console (asks while a run holds the ledger)", ["q"];
} }

/// One table of bindings: which key does which action.
#[derive(Debug, Clone, PartialEq)]
pub struct Bindings<A: Bindable> {
    bindings: Vec<(Key, A)>,
}

impl<A: Bindable> Default for Bindings<A> {
    fn default() -> Bindings<A> {
        let mut bindings = Vec::new();
        for a in A::all() {
            for k in a.default_keys() {
                if let Some(key) = parse_key(k) {
                    bindings.push((key, *a));
                }
            }
        }
        Bindings { bindings }
    }
}

impl<A: Bindable> Bindings<A> {
    pub fn action(&self, k: Key) -> Option<A> {
        self.bindings.iter().find(|(key, _)| *key == k).map(|(_, a)| *a)
    }

    pub fn keys(&self, a: A) -> Vec<Key> {
        self.bindings.iter().filter(|(_, x)| *x == a).map(|(k, _)| *k).collect()
    }

    /// "↑ k" for the help; "" when the action has no key.
    pub fn label(&self, a: A) -> String {
        self.keys(a).into_iter().map(key_label).collect::<Vec<_>>().join(" ")
    }

    /// The first key of an action as a footer writes it ("" when unbound).
    pub fn first(&self, a: A) -> String {
        self.keys(a).first().map(|k| key_label(*k)).unwrap_or_default()
    }

    /// The file's table over these: an action named there gets exactly the keys listed,
    /// and a key it takes leaves the action that had it.
    fn overlay(&mut self, table: &str, keys: &toml::Table) -> Result<(), String> {
        for (name, v) in keys {
            let Some(action) = A::all().iter().copied().find(|a| a.name() == name) else {
                let names: Vec<&str> = A::all().iter().map(|a| a.name()).collect();
                return Err(format!(
                    "{table}.{name}: no such action (actions: {})",
                    names.join(", ")
                ));
            };
            let list: Vec<&str> = match v {
                toml::Value::String(s) => vec![s.as_str()],
                toml::Value::Array(a) => a.iter().filter_map(|x| x.as_str()).collect(),
                _ => return Err(format!("{table}.{name}: write a key or a list of keys")),
            };
            let mut parsed = Vec::new();
            for s in list {
                let k = parse_key(s).ok_or_else(|| {
                    format!("{table}.{name} = {s:?}: not a key (a character, or up, down, pageup, pagedown, home, end, tab, backtab, enter, esc, backspace, space)")
                })?;
                if matches!(k, Key::Char('1'..='9')) {
                    return Err(format!(
                        "{table}.{name} = {s:?}: 1-9 pick an environment or a choice"
                    ));
                }
                parsed.push(k);
            }
            self.bindings.retain(|(k, a)| *a != action && !parsed.contains(k));
            self.bindings.extend(parsed.into_iter().map(|k| (k, action)));
        }
        Ok(())
    }
}

/// Both tables: the main screens' keys and the guided runs' keys.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Keymap {
    pub main: Bindings<Action>,
    pub wizard: Bindings<WizardAction>,
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
    /// A main-screen key's action.
    pub fn action(&self, k: Key) -> Option<Action> {
        self.main.action(k)
    }

    pub fn keys(&self, a: Action) -> Vec<Key> {
        self.main.keys(a)
    }

    pub fn label(&self, a: Action) -> String {
        self.main.label(a)
    }

    /// A keymap file over these defaults: `[keys]` and `[wizard]` tables.
    fn overlay(&mut self, text: &str) -> Result<(), String> {
        let table = super::theme::parse_toml(text)?;
        let mut next = self.clone();
        for (key, value) in &table {
            let toml::Value::Table(keys) = value else {
                return Err(format!(
                    "{key}: unknown key (a keymap has [keys] and [wizard] tables)"
                ));
            };
            match key.as_str() {
                "keys" => next.main.overlay("keys", keys)?,
                "wizard" => next.wizard.overlay("wizard", keys)?,
                _ => {
                    return Err(format!(
                        "[{key}]: unknown table (a keymap has [keys] and [wizard] tables)"
                    ))
                }
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
        for mut keys in [
            m.main.bindings.iter().map(|(k, _)| format!("{k:?}")).collect::<Vec<_>>(),
            m.wizard.bindings.iter().map(|(k, _)| format!("{k:?}")).collect::<Vec<_>>(),
        ] {
            let n = keys.len();
            keys.sort();
            keys.dedup();
            assert_eq!(keys.len(), n, "no key does two things in one table");
        }
        for a in WizardAction::ALL {
            assert!(!m.wizard.keys(*a).is_empty(), "{} has a key", a.name());
        }
        assert_eq!(m.wizard.action(Key::Char('x')), Some(WizardAction::Abandon));
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

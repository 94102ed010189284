//! Colours by role, from the built-in themes in themes/ (embedded) with a user file in the
//! config dir laid over them. A bad file is reported and the built-in colours are kept.

use std::path::Path;
use std::str::FromStr;

use ratatui::style::Color;

macro_rules! roles {
    ($($name:ident),* $(,)?) => {
        /// One colour per role the view draws.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct Theme {
            $(pub $name: Color,)*
        }

        impl Theme {
            /// Every role at the terminal's own colour (NO_COLOR).
            pub fn plain() -> Theme {
                Theme { $($name: Color::Reset,)* }
            }

            fn set(&mut self, role: &str, c: Color) -> bool {
                match role {
                    $(stringify!($name) => self.$name = c,)*
                    _ => return false,
                }
                true
            }

            pub const ROLES: &'static [&'static str] = &[$(stringify!($name),)*];
        }
    };
}

roles!(
    production,
    testing,
    development,
    applied,
    pending,
    out_of_order,
    drifted,
    missing,
    failed,
    error,
    warning,
    info,
    ok,
    dim,
    keyword,
    added,
    removed,
    hunk,
    accent,
);

pub const BUILTIN: &[(&str, &str)] = &[
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    ("high-contrast", include_str!("../../themes/high-contrast.toml")),
    ("colorblind", include_str!("../../themes/colorblind.toml")),
];

impl Default for Theme {
    fn default() -> Theme {
        builtin("dark").unwrap_or_else(Theme::plain)
    }
}

/// A built-in theme by name.
pub fn builtin(name: &str) -> Option<Theme> {
    let (_, text) = BUILTIN.iter().find(|(n, _)| *n == name)?;
    overlay(Theme::plain(), text).ok().map(|(t, _)| t)
}

/// A TOML file of the config dir, its syntax error as "line N: what".
pub(super) fn parse_toml(text: &str) -> Result<toml::Table, String> {
    text.parse().map_err(|e: toml::de::Error| {
        let line = e.span().map(|s| text[..s.start].lines().count().max(1));
        match line {
            Some(l) => format!("line {l}: {}", e.message()),
            None => e.message().to_string(),
        }
    })
}

/// `text`'s colours over `base`, and the `base = "..."` it names, if any.
fn overlay(base: Theme, text: &str) -> Result<(Theme, Option<String>), String> {
    let table = parse_toml(text)?;
    let mut theme = base;
    let mut named_base = None;
    for (key, value) in &table {
        match (key.as_str(), value) {
            ("base", toml::Value::String(s)) => named_base = Some(s.clone()),
            ("colors", toml::Value::Table(colors)) => {
                for (role, v) in colors {
                    let Some(s) = v.as_str() else {
                        return Err(format!("colors.{role}: write the colour as a string"));
                    };
                    let c = Color::from_str(s).map_err(|_| {
                        format!("colors.{role} = {s:?}: not a colour (a name such as \"red\", \"#rrggbb\" or 0-255)")
                    })?;
                    if !theme.set(role, c) {
                        return Err(format!(
                            "colors.{role}: no such role (roles: {})",
                            Theme::ROLES.join(", ")
                        ));
                    }
                }
            }
            (other, _) => {
                return Err(format!("{other}: unknown key (a theme has `base` and [colors])"))
            }
        }
    }
    Ok((theme, named_base))
}

/// The console's theme and what went wrong finding it.
pub struct Loaded {
    pub theme: Theme,
    pub notices: Vec<String>,
}

/// The theme `name` (default dark): a user file `<config>/themes/<name>.toml` laid over the
/// built-in of that name (or the one its `base` names); NO_COLOR wins over everything.
pub fn load(name: Option<&str>, config_dir: Option<&Path>, no_color: bool) -> Loaded {
    if no_color {
        return Loaded { theme: Theme::plain(), notices: Vec::new() };
    }
    let name = name.unwrap_or("dark");
    let mut notices = Vec::new();
    let user = config_dir.map(|d| d.join("themes").join(format!("{name}.toml")));
    let user_text = match &user {
        Some(p) if p.is_file() => match std::fs::read_to_string(p) {
            Ok(t) => Some((p, t)),
            Err(e) => {
                notices.push(format!("theme {}: {e}; using the built-in colours", p.display()));
                None
            }
        },
        _ => None,
    };
    let fallback = Theme::default();
    let Some((path, text)) = user_text else {
        return match builtin(name) {
            Some(theme) => Loaded { theme, notices },
            None => {
                let names: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
                notices.push(format!(
                    "no theme named {name:?} (built in: {}; or a file themes/{name}.toml in {}): using dark",
                    names.join(", "),
                    config_dir.map_or("the config dir".into(), |d| d.display().to_string())
                ));
                Loaded { theme: fallback, notices }
            }
        };
    };
    // The file's `base` decides what it overlays; read it first.
    let base = match overlay(Theme::plain(), &text) {
        Ok((_, Some(b))) => match builtin(&b) {
            Some(t) => t,
            None => {
                notices
                    .push(format!("theme {}: base {b:?} is not a built-in theme", path.display()));
                return Loaded { theme: builtin(name).unwrap_or(fallback), notices };
            }
        },
        Ok((_, None)) => builtin(name).unwrap_or(fallback),
        Err(e) => {
            notices.push(format!("theme {}: {e}; using the built-in colours", path.display()));
            return Loaded { theme: builtin(name).unwrap_or(fallback), notices };
        }
    };
    match overlay(base, &text) {
        Ok((theme, _)) => Loaded { theme, notices },
        Err(e) => {
            notices.push(format!("theme {}: {e}; using the built-in colours", path.display()));
            Loaded { theme: base, notices }
        }
    }
}

/// NO_COLOR as no-color.org defines it: present and not empty.
pub fn no_color_requested() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_sets_every_role() {
        for (name, text) in BUILTIN {
            let table: toml::Table = text.parse().unwrap();
            let colors = table["colors"].as_table().unwrap();
            for role in Theme::ROLES {
                assert!(colors.contains_key(*role), "{name} lacks {role}");
            }
            assert!(builtin(name).is_some(), "{name} parses");
        }
        assert_ne!(builtin("dark"), builtin("light"));
    }

    #[test]
    fn a_user_file_overlays_and_a_bad_one_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("themes")).unwrap();
        let write = |name: &str, text: &str| {
            std::fs::write(dir.path().join("themes").join(format!("{name}.toml")), text).unwrap()
        };
        write("dark", "[colors]\nproduction = \"#ff00ff\"\n");
        let l = load(Some("dark"), Some(dir.path()), false);
        assert!(l.notices.is_empty(), "{:?}", l.notices);
        assert_eq!(l.theme.production, Color::Rgb(255, 0, 255));
        assert_eq!(l.theme.applied, builtin("dark").unwrap().applied, "the rest kept");

        write("mine", "base = \"light\"\n[colors]\nfailed = \"9\"\n");
        let l = load(Some("mine"), Some(dir.path()), false);
        assert_eq!(l.theme.failed, Color::Indexed(9));
        assert_eq!(l.theme.keyword, builtin("light").unwrap().keyword);

        write("broken", "[colors]\nproduction = \"puce\"\n");
        let l = load(Some("broken"), Some(dir.path()), false);
        assert!(
            l.notices[0].contains("colors.production = \"puce\": not a colour"),
            "{:?}",
            l.notices
        );
        assert_eq!(l.theme, Theme::default());

        write("typo", "[colors]\nprodction = \"red\"\n");
        let l = load(Some("typo"), Some(dir.path()), false);
        assert!(l.notices[0].contains("colors.prodction: no such role"), "{:?}", l.notices);

        write("syntax", "[colors\n");
        let l = load(Some("syntax"), Some(dir.path()), false);
        assert!(l.notices[0].contains("line 1"), "{:?}", l.notices);

        let l = load(Some("nope"), Some(dir.path()), false);
        assert!(l.notices[0].contains("no theme named \"nope\""), "{:?}", l.notices);
        assert_eq!(l.theme, Theme::default());
    }

    #[test]
    fn no_color_wins() {
        let l = load(Some("light"), None, true);
        assert_eq!(l.theme, Theme::plain());
        assert!(l.notices.is_empty());
    }
}

//! Alembic: `alembic.ini` (or `[tool.alembic]` in pyproject.toml) names the script location;
//! its `versions/` folder (or `version_locations`) holds one Python file per revision, whose
//! `revision` and `down_revision` make the graph. Read from the files' text, without running
//! Python; revisions come in the order the graph allows, base first (ties by file name).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::{read_text, CodeFolder, CodeMigration};
use crate::core::error::{Error, Result};

pub(super) fn read(dir: &Path) -> Result<CodeFolder> {
    let locations = version_locations(dir)?;
    let mut files: Vec<PathBuf> = Vec::new();
    for loc in &locations {
        let entries = std::fs::read_dir(loc).map_err(|e| {
            Error::input(format!("{}: {e} (Alembic's versions folder)", loc.display()))
        })?;
        files.extend(entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| {
            p.extension().is_some_and(|x| x == "py")
                && p.file_name().is_some_and(|n| n != "__init__.py")
        }));
    }
    files.sort();
    let mut by_id: BTreeMap<String, CodeMigration> = BTreeMap::new();
    for path in files {
        let text = read_text(&path)?;
        let Some(id) = assignment(&text, "revision").and_then(|v| strings(&v).into_iter().next())
        else {
            continue; // not a revision file (a helper module)
        };
        let parents = assignment(&text, "down_revision").map(|v| strings(&v)).unwrap_or_default();
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        let name = docstring(&text).unwrap_or_else(|| {
            stem.strip_prefix(id.as_str()).unwrap_or(stem).trim_start_matches('_').to_string()
        });
        if let Some(other) = by_id.get(&id) {
            return Err(Error::input(format!(
                "revision {id} is in {} and in {}",
                other.path.display(),
                path.display()
            )));
        }
        let m =
            CodeMigration { recorded_as: id.clone(), id: id.clone(), name, path, text, parents };
        by_id.insert(id, m);
    }
    let migrations = in_graph_order(by_id)?;
    let dir = locations.into_iter().next().unwrap_or_default();
    Ok(CodeFolder {
        migrations,
        history_table: "alembic_version".into(),
        dir,
        applied_command: None,
    })
}

/// The folders holding revision files, from alembic.ini or pyproject.toml.
fn version_locations(dir: &Path) -> Result<Vec<PathBuf>> {
    let ini = dir.join("alembic.ini");
    let (script, versions) = if ini.is_file() {
        let text = read_text(&ini)?;
        (ini_value(&text, "script_location"), ini_value(&text, "version_locations"))
    } else if dir.join("pyproject.toml").is_file() {
        let text = read_text(&dir.join("pyproject.toml"))?;
        let table: toml::Table =
            text.parse().map_err(|e| Error::input(format!("pyproject.toml: {e}")))?;
        let a = table.get("tool").and_then(|t| t.get("alembic"));
        let get = |k: &str| a.and_then(|a| a.get(k)).and_then(|v| v.as_str()).map(str::to_string);
        (get("script_location"), get("version_locations"))
    } else {
        return Err(Error::input(format!(
            "{}: no alembic.ini (or [tool.alembic] in pyproject.toml); set [project] tool_dir to the folder that holds it",
            dir.display()
        )));
    };
    let here = |v: &str| dir.join(v.replace("%(here)s", ".").trim_start_matches("./"));
    match versions {
        Some(v) => Ok(v.split([' ', ',', ';', ':']).filter(|s| !s.is_empty()).map(here).collect()),
        None => {
            // Flask-Migrate writes no script_location: it passes the folder of alembic.ini
            // (which holds env.py and versions/) at run time.
            let script = match script {
                Some(s) => s,
                None if dir.join("env.py").is_file() && dir.join("versions").is_dir() => ".".into(),
                None => {
                    return Err(Error::input(format!(
                        "{}: no script_location, and no env.py and versions/ beside it",
                        ini.display()
                    )))
                }
            };
            Ok(vec![here(&script).join("versions")])
        }
    }
}

/// `key = value` in the `[alembic]` section of an ini file.
fn ini_value(text: &str, key: &str) -> Option<String> {
    let mut in_section = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            in_section = t == "[alembic]";
            continue;
        }
        if !in_section || t.starts_with(['#', ';']) {
            continue;
        }
        if let Some((k, v)) = t.split_once('=') {
            if k.trim() == key {
                return Some(v.trim().to_string());
            }
        }
    }
    None
}

/// The value of a top-level `name = ...` or `name: Type = ...` line.
fn assignment(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?;
        let rest = rest.trim_start();
        if !(rest.starts_with('=') || rest.starts_with(':')) {
            return None;
        }
        let (_, value) = rest.split_once('=')?;
        Some(value.trim().to_string())
    })
}

/// The string literals in a Python value: `None` → none, `'a'`, `("a", "b")`.
fn strings(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find(['\'', '"']) {
        let quote = rest.as_bytes()[start] as char;
        let body = &rest[start + 1..];
        let Some(end) = body.find(quote) else { break };
        out.push(body[..end].to_string());
        rest = &body[end + 1..];
    }
    out
}

/// The first line of the module's docstring.
fn docstring(text: &str) -> Option<String> {
    let t = text.trim_start();
    let body = t.strip_prefix("\"\"\"").or_else(|| t.strip_prefix("'''"))?;
    let first = body.lines().next()?.trim().trim_end_matches("\"\"\"").trim_end_matches("'''");
    (!first.is_empty()).then(|| first.to_string())
}

/// Parents before children; among revisions ready at once, file name order.
fn in_graph_order(by_id: BTreeMap<String, CodeMigration>) -> Result<Vec<CodeMigration>> {
    for m in by_id.values() {
        if let Some(p) = m.parents.iter().find(|p| !by_id.contains_key(*p)) {
            return Err(Error::input(format!(
                "{}: down_revision {p} is no revision in the versions folder",
                m.path.display()
            )));
        }
    }
    let mut waiting: HashMap<&str, usize> =
        by_id.values().map(|m| (m.id.as_str(), m.parents.len())).collect();
    let mut ready: Vec<&CodeMigration> = by_id.values().filter(|m| m.parents.is_empty()).collect();
    let mut order: Vec<CodeMigration> = Vec::with_capacity(by_id.len());
    while !ready.is_empty() {
        ready.sort_by(|a, b| b.path.cmp(&a.path));
        let Some(next) = ready.pop() else { break };
        order.push(next.clone());
        for child in by_id.values().filter(|c| c.parents.contains(&next.id)) {
            let n = waiting.get_mut(child.id.as_str()).expect("every revision counted");
            *n -= 1;
            if *n == 0 {
                ready.push(child);
            }
        }
    }
    if order.len() < by_id.len() {
        return Err(Error::input("the Alembic revisions form a cycle (down_revision)"));
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revisions_in_graph_order_with_their_names() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("alembic.ini"),
            "[alembic]\nscript_location = %(here)s/alembic\n",
        )
        .unwrap();
        let v = d.path().join("alembic/versions");
        std::fs::create_dir_all(&v).unwrap();
        let w = |f: &str, t: &str| std::fs::write(v.join(f), t).unwrap();
        w("b2_add_email.py", "\"\"\"add email\n\nRevision ID: b2\n\"\"\"\nrevision: str = 'b2'\ndown_revision: Union[str, None] = 'a1'\n");
        w("a1_users.py", "revision = \"a1\"\ndown_revision = None\n");
        w("c3_merge.py", "revision = 'c3'\ndown_revision = ('b2', 'a1')\n");
        w("__init__.py", "");
        let f = read(d.path()).unwrap();
        let got: Vec<_> = f.migrations.iter().map(|m| (m.id.as_str(), m.name.as_str())).collect();
        assert_eq!(got, [("a1", "users"), ("b2", "add email"), ("c3", "merge")]);
        assert_eq!(f.migrations[2].parents, ["b2", "a1"]);
        w("d4_lost.py", "revision = 'd4'\ndown_revision = 'zz'\n");
        let e = read(d.path()).unwrap_err();
        assert!(e.message.contains("d4_lost.py: down_revision zz"), "{}", e.message);
    }

    /// Flask-Migrate's alembic.ini has no script_location: the folder holding it (with
    /// env.py and versions/) is the script location (seen in getredash/redash).
    #[test]
    fn a_flask_migrate_folder_is_its_own_script_location() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("alembic.ini"), "[alembic]\n\n[loggers]\nkeys = root\n")
            .unwrap();
        assert!(read(d.path()).unwrap_err().message.contains("no script_location"));
        std::fs::write(d.path().join("env.py"), "").unwrap();
        std::fs::create_dir(d.path().join("versions")).unwrap();
        std::fs::write(
            d.path().join("versions/a1_init.py"),
            "revision = 'a1'\ndown_revision = None\n",
        )
        .unwrap();
        let f = read(d.path()).unwrap();
        assert_eq!(f.migrations.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), ["a1"]);
    }
}

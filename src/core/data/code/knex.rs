//! Knex: the knexfile names the migrations directory (`migrations.directory`, default
//! `./migrations`) and the history table (`migrations.tableName`, default
//! `knex_migrations`); every file there with one of Knex's load extensions is a migration,
//! run in the order of the file names. The knexfile is code: sluice reads the two settings
//! from its text (a string, or `path.join(__dirname, ...)` of strings) without running it.

use std::path::{Path, PathBuf};

use super::{read_text, CodeFolder, CodeMigration};
use crate::core::error::{Error, Result};

const KNEXFILES: [&str; 4] = ["knexfile.js", "knexfile.cjs", "knexfile.mjs", "knexfile.ts"];
/// Knex's default `loadExtensions`.
const EXTENSIONS: [&str; 10] =
    [".co", ".coffee", ".eg", ".iced", ".js", ".cjs", ".mjs", ".litcoffee", ".ls", ".ts"];

pub(super) fn read(dir: &Path) -> Result<CodeFolder> {
    let knexfile = KNEXFILES.iter().map(|f| dir.join(f)).find(|p| p.is_file()).ok_or_else(|| {
        Error::input(format!(
            "{}: no knexfile (knexfile.js, .cjs, .mjs or .ts); set [project] tool_dir to the folder that holds it",
            dir.display()
        ))
    })?;
    let text = read_text(&knexfile)?;
    let directory = setting(&text, "directory").unwrap_or_else(|| "./migrations".into());
    let table = setting(&text, "tableName").unwrap_or_else(|| "knex_migrations".into());
    let folder = dir.join(&directory);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
        .map_err(|e| {
            Error::input(format!(
                "{}: {e} (the migrations directory {directory:?} of {})",
                folder.display(),
                knexfile.display()
            ))
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            EXTENSIONS.iter().any(|x| name.ends_with(x)) && !name.starts_with('.')
        })
        .collect();
    files.sort();
    let mut migrations = Vec::with_capacity(files.len());
    for path in files {
        let file = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let id = match file.rfind('.') {
            Some(i) => file[..i].to_string(),
            None => file.clone(),
        };
        let name = id.split_once('_').map_or(id.as_str(), |(_, n)| n).to_string();
        let text = read_text(&path)?;
        migrations.push(CodeMigration { id, name, path, text, recorded_as: file, parents: vec![] });
    }
    Ok(CodeFolder { migrations, history_table: table, dir: folder, applied_command: None })
}

/// The first `key: '...'` (or `key: path.join(__dirname, '...', ...)`) in the knexfile.
fn setting(text: &str, key: &str) -> Option<String> {
    let mut rest = text;
    while let Some(at) = rest.find(key) {
        let after = rest[at + key.len()..].trim_start();
        let before_ok = rest[..at].chars().last().is_none_or(|c| !c.is_alphanumeric() && c != '_');
        rest = &rest[at + key.len()..];
        let Some(value) = after.strip_prefix(':').map(str::trim_start) else { continue };
        if !before_ok {
            continue;
        }
        if let Some(s) = string_literal(value) {
            return Some(s);
        }
        for call in ["path.join(", "path.resolve(", "join(", "resolve("] {
            if let Some(args) = value.strip_prefix(call) {
                let args = &args[..args.find(')')?];
                let parts: Vec<String> = args
                    .split(',')
                    .map(str::trim)
                    .filter(|a| *a != "__dirname" && !a.is_empty())
                    .map(string_literal)
                    .collect::<Option<_>>()?;
                return Some(parts.join("/"));
            }
        }
    }
    None
}

/// `'x'`, `"x"` or `` `x` `` at the start of `s`.
fn string_literal(s: &str) -> Option<String> {
    let quote = s.chars().next().filter(|c| matches!(c, '\'' | '"' | '`'))?;
    let body = &s[1..];
    let end = body.find(quote)?;
    Some(body[..end].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_knexfile_names_the_folder_and_the_table() {
        let text = "module.exports = {\n  client: 'pg',\n  migrations: { tableName: \"app_migrations\", directory: path.join(__dirname, 'db', 'migrations') },\n};\n";
        assert_eq!(setting(text, "directory").as_deref(), Some("db/migrations"));
        assert_eq!(setting(text, "tableName").as_deref(), Some("app_migrations"));
        assert_eq!(
            setting("migrations: { directory: './m' }", "directory").as_deref(),
            Some("./m")
        );
        assert_eq!(setting("const subdirectory: 1", "directory"), None);
    }

    #[test]
    fn files_in_name_order_with_knex_extensions() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("knexfile.js"),
            "module.exports = { migrations: { directory: './m' } };",
        )
        .unwrap();
        std::fs::create_dir(d.path().join("m")).unwrap();
        for f in ["20240102_b.js", "20240101_a.ts", "README.md", "20240103_c.cjs"] {
            std::fs::write(d.path().join("m").join(f), "exports.up = () => {};").unwrap();
        }
        let f = read(d.path()).unwrap();
        let ids: Vec<_> = f.migrations.iter().map(|m| (m.id.as_str(), m.name.as_str())).collect();
        assert_eq!(ids, [("20240101_a", "a"), ("20240102_b", "b"), ("20240103_c", "c")]);
        assert_eq!(f.migrations[1].recorded_as, "20240102_b.js");
        assert_eq!(f.history_table, "knex_migrations");
    }
}

//! How each tool is run for one migration: the program (the project's own copy where it has
//! one), the arguments, and the folder it runs from. sluice runs this and nothing else: the
//! migration stays the tool's.

use std::path::{Path, PathBuf};

use super::{CodeMigration, CodeProject, CodeTool};

/// A tool invocation, not yet started.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCommand {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// `tool_dir`: where the tool finds its knexfile or alembic.ini.
    pub dir: PathBuf,
}

impl ToolCommand {
    /// As an operator would type it, for messages and the run's record.
    pub fn display(&self) -> String {
        let program = self.program.file_name().map_or_else(
            || self.program.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        std::iter::once(program).chain(self.args.iter().cloned()).collect::<Vec<_>>().join(" ")
    }
}

/// Knex: the project's `node_modules/.bin/knex`, else `npx knex`.
fn knex(dir: &Path, args: &[&str]) -> ToolCommand {
    let local = dir.join("node_modules/.bin/knex");
    let (program, mut all) = if local.is_file() {
        (local, Vec::new())
    } else {
        (PathBuf::from("npx"), vec!["knex".to_string()])
    };
    all.extend(args.iter().map(|a| a.to_string()));
    ToolCommand { program, args: all, dir: dir.to_path_buf() }
}

/// Alembic: `alembic` on PATH, else `python3 -m alembic`.
fn alembic(dir: &Path, args: &[&str], path: Option<&std::ffi::OsStr>) -> ToolCommand {
    let on_path = path
        .map(|p| std::env::split_paths(p).any(|d| d.join("alembic").is_file()))
        .unwrap_or(false);
    let (program, mut all) = if on_path {
        (PathBuf::from("alembic"), Vec::new())
    } else {
        (PathBuf::from("python3"), vec!["-m".to_string(), "alembic".to_string()])
    };
    all.extend(args.iter().map(|a| a.to_string()));
    ToolCommand { program, args: all, dir: dir.to_path_buf() }
}

/// Runs `m` and nothing before it: Knex `migrate:up <file>`, Alembic `upgrade <revision>`
/// (the revisions before it have run: the run goes in the tool's order).
pub fn up(p: &CodeProject, m: &CodeMigration) -> Option<ToolCommand> {
    let path = std::env::var_os("PATH");
    match (p.tool, &p.commands) {
        (CodeTool::Knex, _) => Some(knex(&p.dir, &["migrate:up", &m.recorded_as])),
        (CodeTool::Alembic, _) => Some(alembic(&p.dir, &["upgrade", &m.id], path.as_deref())),
        (CodeTool::Command, Some(c)) => Some(super::command_tool::shell(p, &c.up, &m.id, "")),
        _ => None,
    }
}

/// Undoes `m` alone: Knex `migrate:down <file>`, Alembic `downgrade` to the revision before
/// it (`base` for the first; `<rev>-1` where it merges several); a command tool's `down`
/// with `{previous}` the id before `m` in `list`'s order (or `base`).
pub fn down(p: &CodeProject, m: &CodeMigration) -> Option<ToolCommand> {
    down_after(p, m, None)
}

/// `down`, knowing the migration listed before `m` (a command tool's `{previous}`).
pub fn down_after(
    p: &CodeProject,
    m: &CodeMigration,
    previous: Option<&CodeMigration>,
) -> Option<ToolCommand> {
    if let (CodeTool::Command, Some(c)) = (p.tool, &p.commands) {
        let prev = previous.map_or(c.base.as_str(), |m| m.id.as_str());
        return Some(super::command_tool::shell(p, &c.down, &m.id, prev));
    }
    let path = std::env::var_os("PATH");
    match p.tool {
        CodeTool::Knex => Some(knex(&p.dir, &["migrate:down", &m.recorded_as])),
        CodeTool::Alembic => {
            let to = match m.parents.as_slice() {
                [] => "base".to_string(),
                [one] => one.clone(),
                _ => format!("{}-1", m.id),
            };
            Some(alembic(&p.dir, &["downgrade", &to], path.as_deref()))
        }
        CodeTool::EfCore | CodeTool::Command => None,
    }
}

/// A read-only call that makes the tool connect the way its migrations will (Knex
/// `migrate:currentVersion`, Alembic `current`): sluice watches for it on the environment's
/// database before letting the tool change anything. None for a command tool.
pub fn probe(p: &CodeProject) -> Option<ToolCommand> {
    let path = std::env::var_os("PATH");
    match p.tool {
        CodeTool::Knex => Some(knex(&p.dir, &["migrate:currentVersion"])),
        CodeTool::Alembic => Some(alembic(&p.dir, &["current"], path.as_deref())),
        CodeTool::EfCore | CodeTool::Command => None,
    }
}

/// The SQL Alembic would run for `m` alone, printed without a database (offline mode:
/// `alembic upgrade <parent>:<rev> --sql`), for the lint. None where Alembic cannot print
/// one revision alone (a merge of several) and for tools that print no SQL.
pub fn offline_sql(p: &CodeProject, m: &CodeMigration) -> Option<ToolCommand> {
    if p.tool != CodeTool::Alembic {
        return None;
    }
    let from = match m.parents.as_slice() {
        [] => "base".to_string(),
        [one] => one.clone(),
        _ => return None,
    };
    let path = std::env::var_os("PATH");
    let range = format!("{from}:{}", m.id);
    Some(alembic(&p.dir, &["upgrade", &range, "--sql"], path.as_deref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn migration(id: &str, parents: &[&str]) -> CodeMigration {
        CodeMigration {
            id: id.into(),
            name: "n".into(),
            path: PathBuf::from("x"),
            text: String::new(),
            recorded_as: format!("{id}.js"),
            parents: parents.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn knex_uses_the_projects_own_copy_else_npx() {
        let dir = tempfile::tempdir().unwrap();
        let p = CodeProject { tool: CodeTool::Knex, dir: dir.path().into(), commands: None };
        let up = up(&p, &migration("2024_a", &[])).unwrap();
        assert_eq!(up.display(), "npx knex migrate:up 2024_a.js");
        std::fs::create_dir_all(dir.path().join("node_modules/.bin")).unwrap();
        std::fs::write(dir.path().join("node_modules/.bin/knex"), "").unwrap();
        let down = down(&p, &migration("2024_a", &[])).unwrap();
        assert_eq!(down.program, dir.path().join("node_modules/.bin/knex"));
        assert_eq!(down.args, ["migrate:down", "2024_a.js"]);
        assert_eq!(down.dir, dir.path());
    }

    #[test]
    fn alembic_downgrades_to_the_parent_or_base() {
        let p = CodeProject { tool: CodeTool::Alembic, dir: PathBuf::from("/p"), commands: None };
        let args = |m: &CodeMigration| down(&p, m).unwrap().args.last().cloned().unwrap();
        assert_eq!(args(&migration("b2", &["a1"])), "a1");
        assert_eq!(args(&migration("a1", &[])), "base");
        assert_eq!(args(&migration("m3", &["a1", "b2"])), "m3-1");
        assert_eq!(up(&p, &migration("b2", &["a1"])).unwrap().args.last().unwrap(), "b2");
        let sql = |m: &CodeMigration| offline_sql(&p, m).map(|c| c.args[c.args.len() - 2].clone());
        assert_eq!(sql(&migration("b2", &["a1"])).as_deref(), Some("a1:b2"));
        assert_eq!(sql(&migration("a1", &[])).as_deref(), Some("base:a1"));
        assert_eq!(sql(&migration("m3", &["a1", "b2"])), None, "a merge is not printed alone");
    }
}

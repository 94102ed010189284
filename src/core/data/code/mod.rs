//! Code migrations: a project whose migrations are another tool's code (Knex, Alembic, EF
//! Core, or any command), read as that tool reads its folder. sluice guards the run; the
//! tool runs the migration.

mod alembic;
pub mod command;
mod command_tool;
mod knex;

use std::path::{Path, PathBuf};

use crate::core::data::source::Version;
use crate::core::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeTool {
    Knex,
    Alembic,
    EfCore,
    Command,
}

impl CodeTool {
    pub fn as_str(self) -> &'static str {
        match self {
            CodeTool::Knex => "knex",
            CodeTool::Alembic => "alembic",
            CodeTool::EfCore => "efcore",
            CodeTool::Command => "command",
        }
    }

    pub fn parse(s: &str) -> std::result::Result<CodeTool, String> {
        [CodeTool::Knex, CodeTool::Alembic, CodeTool::EfCore, CodeTool::Command]
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| format!("tool = {s:?}: use knex, alembic, efcore or command"))
    }
}

impl std::fmt::Display for CodeTool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[project] tool = ...`: which tool, and the folder its own config lives in.
#[derive(Debug, Clone)]
pub struct CodeProject {
    pub tool: CodeTool,
    /// `tool_dir`: where the knexfile, alembic.ini or .csproj is; the tool runs from here.
    pub dir: PathBuf,
    /// `tool = "command"`: how to drive it.
    pub commands: Option<ToolCommands>,
}

/// `[project.tool_commands]`: shell commands run from `tool_dir` (`sh -c`). `list` prints
/// the migration ids in order and `applied` the ones the database has, one per line;
/// `up` and `down` run one, with `{id}` (and `{previous}`: the id before it, or `base`) put in.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCommands {
    pub list: String,
    pub applied: String,
    pub up: String,
    pub down: String,
    /// What `{previous}` is for the first migration ("0": EF Core's "before everything").
    pub base: String,
}

/// One migration as its tool names and orders it.
#[derive(Debug, Clone)]
pub struct CodeMigration {
    /// The tool's id: Knex's file name without its extension, Alembic's revision id.
    pub id: String,
    pub name: String,
    pub path: PathBuf,
    /// The file's source, for the console and the checksum.
    pub text: String,
    /// What the tool records when it has run (Knex: the file name with its extension).
    pub recorded_as: String,
    /// Alembic: the revisions this one follows (empty for a base).
    pub parents: Vec<String>,
}

impl CodeMigration {
    pub fn checksum(&self) -> String {
        crate::core::data::source::checksum(&self.text)
    }
}

/// The tool's migrations in the order it runs them, and where it keeps its history.
#[derive(Debug, Clone)]
pub struct CodeFolder {
    pub migrations: Vec<CodeMigration>,
    /// The history table, as the tool names it (Knex's tableName, `alembic_version`).
    pub history_table: String,
    /// The folder the migrations were read from.
    pub dir: PathBuf,
    /// `tool = "command"`: the command that prints what the database has applied (in
    /// place of a history table sluice reads).
    pub applied_command: Option<command::ToolCommand>,
}

impl CodeFolder {
    /// A sortable version for the migration at `index` in the tool's order: the tool's id,
    /// ordered by that position.
    pub fn version(&self, index: usize) -> Version {
        Version::ordered(&self.migrations[index].id, index)
    }
}

/// A migration the tool has run, by its id; `applied_at` where the tool keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolApplied {
    pub id: String,
    pub applied_at: Option<String>,
    /// Recorded by the tool but not among the files (Knex: a file since removed).
    pub missing: bool,
}

impl CodeFolder {
    /// The tool's migrations set against what its history says has run, as a `Status`.
    pub fn status(&self, applied: &[ToolApplied]) -> crate::core::data::plan::Status {
        use crate::core::data::plan::{Direction, Item, LatestRow, MigrationState, Status};
        let row = |id: &str, name: &str, checksum: String, at: &Option<String>| LatestRow {
            id: 0,
            version: id.to_string(),
            name: name.to_string(),
            checksum,
            direction: Direction::Up,
            success: true,
            failed_at_statement: None,
            applied_at: at.clone().unwrap_or_default(),
            run_id: None,
        };
        let ran: std::collections::HashMap<&str, &ToolApplied> =
            applied.iter().map(|a| (a.id.as_str(), a)).collect();
        let last_applied = self.migrations.iter().rposition(|m| ran.contains_key(m.id.as_str()));
        let mut items: Vec<Item> = Vec::new();
        for (i, m) in self.migrations.iter().enumerate() {
            let sum = m.checksum();
            let done = ran.get(m.id.as_str());
            items.push(Item {
                version: self.version(i),
                name: m.name.clone(),
                state: if done.is_some() {
                    MigrationState::Applied
                } else {
                    MigrationState::Pending
                },
                out_of_order: done.is_none() && last_applied.is_some_and(|l| i < l),
                migration: None,
                entry: done.map(|a| row(&m.id, &m.name, sum.clone(), &a.applied_at)),
                file_checksum: Some(sum),
            });
        }
        for (k, a) in applied.iter().filter(|a| a.missing).enumerate() {
            items.push(Item {
                version: Version::ordered(&a.id, self.migrations.len() + k),
                name: String::new(),
                state: MigrationState::Missing,
                out_of_order: false,
                migration: None,
                entry: Some(row(&a.id, "", String::new(), &a.applied_at)),
                file_checksum: None,
            });
        }
        Status { items, ignored: Vec::new() }
    }
}

/// Reads the tool's folder the way the tool does.
pub fn read(p: &CodeProject) -> Result<CodeFolder> {
    match p.tool {
        CodeTool::Knex => knex::read(&p.dir),
        CodeTool::Alembic => alembic::read(&p.dir),
        CodeTool::Command => command_tool::read(p),
        CodeTool::EfCore => Err(Error::input(
            "tool = \"efcore\": use tool = \"command\" with dotnet ef's commands (see the README); sluice cannot run dotnet here",
        )),
    }
}

/// A text file of the tool's; errors name it.
fn read_text(path: &Path) -> Result<String> {
    crate::core::data::source::SqlFile::read_text(path)
}

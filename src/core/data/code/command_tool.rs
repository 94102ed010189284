//! `tool = "command"`: any other migration tool, driven by the commands the project gives
//! (`[project.tool_commands]`). Its migrations are the ids `list` prints, in that order.

use super::command::ToolCommand;
use super::{CodeFolder, CodeMigration, CodeProject};
use crate::core::error::{Error, Result};

/// A shell command from `tool_dir`, with `{id}` and `{previous}` put in.
pub(super) fn shell(p: &CodeProject, template: &str, id: &str, previous: &str) -> ToolCommand {
    let line = template.replace("{id}", id).replace("{previous}", previous);
    ToolCommand { program: "sh".into(), args: vec!["-c".into(), line], dir: p.dir.clone() }
}

/// Runs `list` (it needs no database) and takes each printed line as a migration id;
/// blank lines and `#` comments are passed over.
pub(super) fn read(p: &CodeProject) -> Result<CodeFolder> {
    let Some(c) = &p.commands else {
        return Err(Error::input("tool = \"command\" needs [project.tool_commands]"));
    };
    let out = std::process::Command::new("sh")
        .args(["-c", &c.list])
        .current_dir(&p.dir)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| Error::input(format!("tool_commands.list ({}): {e}", c.list)))?;
    if !out.status.success() {
        return Err(Error::input(format!(
            "tool_commands.list ({}) failed in {}: {}",
            c.list,
            p.dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut migrations: Vec<CodeMigration> = Vec::new();
    for id in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        if migrations.iter().any(|m| m.id == id) {
            return Err(Error::input(format!("tool_commands.list printed {id} twice")));
        }
        migrations.push(CodeMigration {
            id: id.to_string(),
            name: String::new(),
            path: p.dir.clone(),
            text: format!("{id}: run by `{}`", c.up.replace("{id}", id)),
            recorded_as: id.to_string(),
            parents: Vec::new(),
        });
    }
    let applied = shell(p, &c.applied, "", "");
    Ok(CodeFolder {
        migrations,
        history_table: format!("`{}`", c.applied),
        dir: p.dir.clone(),
        applied_command: Some(applied),
    })
}

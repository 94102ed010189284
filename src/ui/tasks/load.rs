//! Loading an environment off the UI thread, through the engine's overview query, in two
//! messages: the list as soon as files and ledger are read (the first full frame), then
//! lint findings, history, runs and drift SQL.

use tokio::sync::mpsc;

use crate::core::data::config::Project;
use crate::core::data::source::{Ignored, Unreadable};
use crate::core::query::overview::{self, Overview};
use crate::ui::model::browse::{ledger_entry, run_entry};
use crate::ui::model::{Load, Msg};

pub(crate) fn spawn_load(project: &Project, env_name: &str, tx: mpsc::UnboundedSender<Msg>) {
    let project = project.clone();
    let name = env_name.to_string();
    tokio::spawn(async move {
        let send = |load: Load| {
            let _ = tx.send(Msg::Loaded { env: name.clone(), load });
        };
        let env = match project.environment(Some(&name)) {
            Ok(env) => env,
            Err(e) => return send(Load::from_error(&e)),
        };
        if env.fleet.is_some() {
            return match crate::core::query::fleet::status(&project, env, None).await {
                Ok(s) => send(Load::Fleet(Box::new(s))),
                Err(e) => send(Load::from_error(&e)),
            };
        }
        let listing = match overview::listing(&project, env).await {
            Ok(l) => l,
            Err(e) => return send(Load::from_error(&e)),
        };
        let notice = unreadable_notice(&listing.unreadable)
            .or_else(|| ignored_notice(&listing.status.ignored));
        if let Some(n) = notice {
            let _ = tx.send(Msg::Notice(n));
        }
        send(Load::Loaded {
            rows: listing.rows(),
            server: listing.server.clone(),
            runs: Vec::new(),
            ledger: Vec::new(),
            touched: listing.touched(),
        });
        match overview::overview(&project, env, &listing).await {
            Ok(o) => send(loaded(o)),
            Err(e) => send(Load::from_error(&e)),
        }
    });
}

/// The overview as the console keeps it: browser entries newest first.
fn loaded(o: Overview) -> Load {
    Load::Loaded {
        rows: o.rows,
        server: o.server,
        runs: o.runs.iter().rev().map(run_entry).collect(),
        ledger: o.history.iter().rev().map(ledger_entry).collect(),
        touched: o.touched,
    }
}

/// One notice naming the files that cannot be read.
fn unreadable_notice(unreadable: &[Unreadable]) -> Option<String> {
    let first = unreadable.first()?;
    let more = match unreadable.len() {
        1 => String::new(),
        n => format!(" (and {} more)", n - 1),
    };
    Some(format!("{}{more}; nothing can run until it is fixed, then r", first.message))
}

/// One notice naming the files the layout's tool passes over (they never run).
fn ignored_notice(ignored: &[Ignored]) -> Option<String> {
    let first = ignored.first()?;
    let name = first.path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    let more = match ignored.len() {
        1 => String::new(),
        n => format!(" (and {} more)", n - 1),
    };
    Some(format!("{name}{more} will not run: {}", first.reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_console_names_what_the_tool_passes_over() {
        let one = |p: &str| Ignored { path: p.into(), reason: "sqlx never runs it".into() };
        assert_eq!(ignored_notice(&[]), None);
        assert_eq!(
            ignored_notice(&[one("m/schema.sql"), one("m/notes.sql")]).unwrap(),
            "schema.sql (and 1 more) will not run: sqlx never runs it"
        );
    }
}

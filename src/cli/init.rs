//! `sluice init`: a sluice.toml for a project that already has migrations (or none yet),
//! and what to run next. With DATABASE_URL set, it looks for another tool's history table
//! and offers `sluice adopt`.

use std::path::Path;

use serde_json::json;

use crate::args::Format;
use crate::core::data::config::starter::{self, Found};
use crate::core::data::config::Tls;
use crate::core::data::source::Layout;
use crate::core::db::connect::Target;
use crate::core::error::{Error, Result};

pub async fn run(format: Format, dir: Option<&Path>) -> Result<i32> {
    let root = match dir {
        Some(d) => d.to_path_buf(),
        None => std::env::current_dir()
            .map_err(|e| Error::input(format!("cannot read the current directory: {e}")))?,
    };
    let found = starter::find(&root)?;
    let name = root
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "project".into());
    let path = starter::write(&root, &starter::template(&name, found.as_ref()))?;
    let history = match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => tool_history(&url, found.as_ref()).await,
        _ => None,
    };
    let next = next_commands(found.as_ref(), history.is_some());
    if format == Format::Json {
        super::output::print_json(&json!({
            "config": path,
            "migrations": found.as_ref().map(|f| &f.dir),
            "layout": found.as_ref().map(|f| f.layout.as_str()),
            "count": found.as_ref().map_or(0, |f| f.migrations),
            "also": found.as_ref().map(|f| &f.others),
            "history_table": history,
            "next": next,
        }));
        return Ok(0);
    }
    println!("wrote {}", path.display());
    match &found {
        Some(f) => {
            println!("  migrations: {}/ ({} migration(s), {})", f.dir, f.migrations, f.layout);
            if !f.others.is_empty() {
                let others: Vec<String> = f.others.iter().map(|o| format!("{o}/")).collect();
                println!(
                    "  also found: {} (set [project] migrations to use one)",
                    others.join(", ")
                );
            }
        }
        None => println!("  migrations: migrations/ (none yet)"),
    }
    if let Some(t) = &history {
        println!("  the database in DATABASE_URL has {t}: adopt it first, nothing is re-run");
    }
    println!("next:");
    for c in next {
        println!("  {c}");
    }
    Ok(0)
}

/// The three commands to run next.
fn next_commands(found: Option<&Found>, has_history: bool) -> Vec<&'static str> {
    match (found, has_history) {
        (_, true) => vec!["sluice adopt", "sluice adopt --execute", "sluice status"],
        (Some(_), false) => vec!["sluice status", "sluice lint", "sluice apply --dry-run"],
        (None, false) => vec!["sluice new create_first_table", "sluice lint", "sluice apply"],
    }
}

/// The other tool's history table in the database, when there is one and sluice has no
/// ledger there yet; a database that cannot be reached is not an error here.
async fn tool_history(url: &str, found: Option<&Found>) -> Option<String> {
    let target = Target::from_url("dev", url, &Tls::default()).ok()?;
    let client = target.connect("sluice/init").await.ok()?;
    // A database sluice already keeps a ledger in needs no adoption.
    let row =
        client.query_one("SELECT to_regclass('sluice.history') IS NOT NULL", &[]).await.ok()?;
    if row.get::<_, bool>(0) {
        return None;
    }
    let tools: Vec<Layout> = match found.map(|f| f.layout) {
        Some(Layout::Native) | None => vec![Layout::GolangMigrate, Layout::Sqlx, Layout::Dbmate],
        Some(l) => vec![l],
    };
    for tool in tools {
        if let Ok(table) = crate::core::db::foreign::find_table(&client, tool, None).await {
            return Some(format!("{tool}'s history ({table})"));
        }
    }
    None
}

//! `sluice adopt`: take over a database another tool has been migrating, in place. The
//! tool's history table says which of the files already ran; those are recorded in sluice's
//! ledger as applied (with the files' checksums) without running anything. A dry run by
//! default; a failed or dirty state is refused until the operator chooses what it means.

use serde::Serialize;
use tokio_postgres::Client;

use super::session::control::Control;
use super::session::run::{fail_early, Run};
use crate::core::data::config::{Environment, Project};
use crate::core::data::plan::Direction;
use crate::core::data::source::{self, Layout, Migration};
use crate::core::db::connect::Target;
use crate::core::db::foreign::{self, ForeignRow, Key, Recorded};
use crate::core::db::ledger::{Ledger, NewRow};
use crate::core::error::{Error, Refusal, Result};
use crate::core::guard::policy::check_confirmation;
use crate::core::guard::policy::Sign;
use crate::core::record::details::{Adopted, Request};
use crate::core::record::report::{MigrationReport, Override, RunReport};

/// What a failed or dirty migration in the other tool's history is taken to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailedChoice {
    /// Finished by hand: record it applied (needs a reason).
    Applied,
    /// Record it failed, for `sluice resolve` to settle.
    Failed,
}

#[derive(Debug, Clone, Default)]
pub struct AdoptOptions {
    /// The tool whose history to read (default: the folder's layout).
    pub from: Option<Layout>,
    /// `schema.table` when the tool was told to keep its history elsewhere.
    pub table: Option<String>,
    pub execute: bool,
    pub failed: Option<FailedChoice>,
    pub reason: Option<String>,
    pub sign: Sign,
}

#[derive(Debug, Clone, Serialize)]
pub struct AdoptPlan {
    pub tool: String,
    pub table: String,
    pub environment: String,
    pub migrations: Vec<AdoptItem>,
    /// In the tool's history, but no file here has that version.
    pub unmatched: Vec<String>,
    pub executed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct AdoptItem {
    pub version: String,
    pub name: String,
    /// What the tool recorded: "applied", "baselined", "failed", "not run".
    pub recorded: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The tool's own checksum against the file: "matches", "differs", "none kept".
    pub checksum: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_checksum: Option<String>,
    /// "adopt", "adopt-failed", "rerun" (a changed repeatable: recorded, runs again),
    /// "pending", "in-ledger", "refused".
    pub action: String,
    #[serde(skip)]
    migration: Option<Migration>,
}

impl AdoptPlan {
    pub fn label(i: &AdoptItem) -> String {
        if i.version.starts_with("R__") {
            i.version.clone()
        } else {
            format!("{}_{}", i.version, i.name)
        }
    }
    pub fn count(&self, action: &str) -> usize {
        self.migrations.iter().filter(|m| m.action == action).count()
    }
    fn refusal(&self) -> Option<Error> {
        let refused: Vec<String> = self
            .migrations
            .iter()
            .filter(|m| m.action == "refused")
            .map(|m| format!("{} ({})", Self::label(m), m.detail.as_deref().unwrap_or("failed")))
            .collect();
        (!refused.is_empty()).then(|| {
            Error::refused(
                Refusal::FailedInHistory,
                format!(
                    "cannot adopt {}: check the schema, then say whether it was finished by hand (recorded applied, with a reason) or is still failed (recorded failed; sluice resolve settles it)",
                    refused.join(", ")
                ),
            )
        })
    }
}

/// The tool to read: given, the folder's layout, or (for plain up/down pairs, which several
/// tools write) the one whose history table is there.
async fn which_tool(client: &Client, project: &Project, from: Option<Layout>) -> Result<Layout> {
    let layout = match from.or(project.layout) {
        Some(l) => l,
        None => source::detect(&project.migrations_dir)?,
    };
    if layout != Layout::Native {
        return Ok(layout);
    }
    let mut found = Vec::new();
    for tool in [Layout::GolangMigrate, Layout::Sqlx, Layout::Dbmate] {
        if let Ok(table) = foreign::find_table(client, tool, None).await {
            // golang-migrate's and dbmate's tables share a name: the dirty column of the
            // table found (not of any table so named, a project may keep its own) tells.
            let dirty: bool = client
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = $1::text::regclass AND attname = 'dirty' AND NOT attisdropped)",
                    &[&table],
                )
                .await?
                .get(0);
            let fits = match tool {
                Layout::GolangMigrate => dirty,
                Layout::Dbmate => !dirty,
                _ => true,
            };
            if fits {
                found.push(tool);
            }
        }
    }
    match found.as_slice() {
        [one] => Ok(*one),
        _ => Err(Error::input(
            "the files are plain up/down pairs, which several tools write: say which tool migrated this database (golang-migrate, sqlx, dbmate, flyway, diesel, prisma, drizzle, goose, sql-migrate)",
        )
        .with_refusal(Refusal::ChooseTool)),
    }
}

async fn plan(
    client: &Client,
    ledger: &Ledger,
    project: &Project,
    env: &Environment,
    opts: &AdoptOptions,
) -> Result<AdoptPlan> {
    let tool = which_tool(client, project, opts.from).await?;
    let migrations = source::load(&project.migrations_dir, project.layout.or(Some(tool)))?;
    let table = foreign::find_table(client, tool, opts.table.as_deref()).await?;
    let rows = foreign::read(client, tool, &table).await?;
    let in_ledger: Vec<source::Version> = ledger
        .latest(client)
        .await?
        .into_iter()
        .filter_map(|e| source::Version::parse(&e.version))
        .collect();
    let whens = if tool == Layout::Drizzle {
        foreign::drizzle_when(&project.migrations_dir)?
    } else {
        vec![]
    };
    let drizzle_top = rows
        .iter()
        .filter_map(|r| match r.key {
            Key::Millis(t) => Some(t),
            _ => None,
        })
        .max();
    let history =
        ToolHistory { tool, rows: &rows, whens, drizzle_top, in_ledger, failed: opts.failed };
    let mut matched = vec![false; rows.len()];
    let mut items = Vec::new();
    for m in migrations {
        items.push(history.item(m, &mut matched)?);
    }
    let unmatched = unmatched(&rows, &matched, &items);
    Ok(AdoptPlan {
        tool: tool.to_string(),
        table,
        environment: env.name.clone(),
        migrations: items,
        unmatched,
        executed: false,
    })
}

/// What the other tool's history says, set beside each migration file.
struct ToolHistory<'a> {
    tool: Layout,
    rows: &'a [ForeignRow],
    /// Drizzle's journal time of each version.
    whens: Vec<(source::Version, i64)>,
    /// Drizzle runs what is newer than its newest row.
    drizzle_top: Option<i64>,
    in_ledger: Vec<source::Version>,
    failed: Option<FailedChoice>,
}

impl ToolHistory<'_> {
    fn when_of(&self, v: &source::Version) -> Option<i64> {
        self.whens.iter().find(|(w, _)| w == v).map(|(_, t)| *t)
    }

    /// What the tool recorded of `m`: its own row, a baseline or "up to" row that covers
    /// it, or (drizzle) its journal time at or before the newest row.
    fn recorded(
        &self,
        m: &Migration,
        matched: &mut [bool],
    ) -> (Option<&ForeignRow>, Option<Recorded>) {
        let own = self.rows.iter().position(|r| match &r.key {
            Key::Version(v) => *v == m.version,
            Key::Repeatable(d) => m.version.is_repeatable() && *d == m.name.replace('_', " "),
            Key::Millis(t) => self.when_of(&m.version) == Some(*t),
            Key::UpTo(_) => false,
            Key::File(f) => m.up.path.file_name().is_some_and(|n| n == f.as_str()),
        });
        let upto = self.rows.iter().position(|r| match &r.key {
            Key::UpTo(v) => !m.version.is_repeatable() && m.version <= *v,
            _ => false,
        });
        if let Some(i) = own {
            matched[i] = true;
        }
        let row = own.map(|i| &self.rows[i]);
        let recorded = match (row, upto) {
            (Some(r), _) => Some(r.recorded.clone()),
            (None, Some(i)) => Some(self.rows[i].recorded.clone()),
            (None, None) => match (self.when_of(&m.version), self.drizzle_top) {
                (Some(w), Some(top)) if w <= top => Some(Recorded::Applied),
                _ => None,
            },
        };
        (row, recorded)
    }

    /// One migration's line of the plan: what the tool recorded and what adopting does.
    fn item(&self, m: Migration, matched: &mut [bool]) -> Result<AdoptItem> {
        let (row, recorded) = self.recorded(&m, matched);
        let (checksum, tool_checksum) = match row.and_then(|r| r.checksum.as_ref()) {
            Some(sum) if foreign::same(self.tool, sum, &m)? => ("matches", Some(sum.to_string())),
            Some(sum) => ("differs", Some(sum.to_string())),
            None => ("none kept", None),
        };
        let action = match &recorded {
            _ if self.in_ledger.contains(&m.version) => "in-ledger",
            None => "pending",
            Some(Recorded::Failed(_)) => match self.failed {
                None => "refused",
                Some(FailedChoice::Applied) => "adopt",
                Some(FailedChoice::Failed) => "adopt-failed",
            },
            Some(_) if m.version.is_repeatable() && checksum == "differs" => "rerun",
            Some(_) => "adopt",
        };
        Ok(AdoptItem {
            version: m.version.to_string(),
            name: m.name.clone(),
            recorded: match &recorded {
                None => "not run",
                Some(Recorded::Applied) => "applied",
                Some(Recorded::Baselined) => "baselined",
                Some(Recorded::Failed(_)) => "failed",
            }
            .into(),
            detail: match recorded {
                Some(Recorded::Failed(d)) => Some(d),
                _ => None,
            },
            checksum: checksum.into(),
            tool_checksum,
            action: action.into(),
            migration: Some(m),
        })
    }
}

/// Rows of the tool's history that no migration file answers.
fn unmatched(rows: &[ForeignRow], matched: &[bool], items: &[AdoptItem]) -> Vec<String> {
    let mut out = Vec::new();
    for (r, seen) in rows.iter().zip(matched) {
        let what = match &r.key {
            Key::Version(v) if !seen => format!("version {v}"),
            Key::Repeatable(d) if !seen => format!("repeatable {d:?}"),
            Key::Millis(t) if !seen => format!("a migration made at {t} ms"),
            Key::File(f) if !seen => format!("file {f}"),
            Key::UpTo(v)
                if !items.iter().any(|i| {
                    i.version == v.as_str()
                        || source::Version::parse(&i.version).as_ref() == Some(v)
                }) =>
            {
                format!("version {v} (the newest it ran)")
            }
            _ => continue,
        };
        out.push(what);
    }
    out
}

/// Plans the adoption (dry run), or with `execute` records it as one run under the ledger
/// lock, all rows in one transaction. The plan is None when it could not be made (the run's
/// report says why).
pub async fn adopt(
    project: &Project,
    env: &Environment,
    opts: &AdoptOptions,
    ctl: Control,
) -> Result<(Option<AdoptPlan>, Option<RunReport>)> {
    project.sql_only("adopt")?;
    if !opts.execute {
        let client = Target::resolve(env)?.connect("sluice/adopt").await?;
        let ledger = Ledger::new(&project.ledger_schema);
        return Ok((Some(plan(&client, &ledger, project, env, opts).await?), None));
    }
    check_confirmation(env, opts.sign.confirm.as_deref(), "adopt")?;
    let request = Request {
        from: opts.from.map(|l| l.to_string()),
        table: opts.table.clone(),
        reason: opts.reason.clone(),
        ..Request::default()
    };
    let mut run = Run::begin(project, env, "adopt", request, ctl).await?;
    let mut plan = match plan(&run.session.client, &run.session.ledger, project, env, opts).await {
        Ok(p) => p,
        Err(e) => return Ok((None, Some(fail_early(run, e).await))),
    };
    let reason = opts.reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
    let finished_by_hand: Vec<String> = plan
        .migrations
        .iter()
        .filter(|m| m.action == "adopt" && m.recorded == "failed")
        .map(AdoptPlan::label)
        .collect();
    let refusal = plan.refusal().or_else(|| {
        (!finished_by_hand.is_empty() && reason.is_none()).then(|| {
            Error::refused(
                Refusal::ReasonMissing,
                format!(
                    "recording {} as applied although {} recorded it failed needs a reason",
                    finished_by_hand.join(", "),
                    plan.tool
                ),
            )
        })
    });
    if let Some(e) = refusal {
        return Ok((Some(plan), Some(fail_early(run, e).await)));
    }
    if let Err(e) =
        run.check_approvals(opts.sign.ticket.as_deref(), opts.sign.approval.as_ref()).await
    {
        return Ok((Some(plan), Some(fail_early(run, e).await)));
    }
    if let Err(e) = record(&run, &plan).await {
        return Ok((Some(plan), Some(fail_early(run, e).await)));
    }
    if let Some(r) = reason.filter(|_| !finished_by_hand.is_empty()) {
        run.report.overrides.push(Override {
            guard: "adopt failed as applied".into(),
            reason: r.to_string(),
            what: finished_by_hand,
        });
    }
    for m in plan.migrations.iter().filter(|m| written(m)) {
        run.report.migrations.push(MigrationReport {
            version: m.version.clone(),
            name: m.name.clone(),
            direction: if m.action == "adopt-failed" { "failed" } else { "up" }.into(),
            source: format!("adopt:{}", plan.tool),
            transactional: true,
            rehearsed: false,
            duration_ms: 0,
            lock_retries: 0,
            queue_victims: 0,
            statements: vec![],
            lock_summary: vec![],
            tool: None,
        });
    }
    let differs: Vec<String> =
        plan.migrations.iter().filter(|m| m.checksum == "differs").map(AdoptPlan::label).collect();
    run.details.adopted = Adopted {
        adopted_from: Some(plan.tool.to_string()),
        history_table: Some(plan.table.clone()),
        adopted: plan.migrations.iter().filter(|m| written(m)).map(AdoptPlan::label).collect(),
        tool_checksum_differs: differs,
        unmatched: plan.unmatched.clone(),
    };
    if let Err(e) = run.save_details().await {
        return Ok((Some(plan), Some(fail_early(run, e).await)));
    }
    plan.executed = true;
    let outcome = if run.report.migrations.is_empty() { "nothing-to-do" } else { "done" };
    Ok((Some(plan), Some(run.finish(outcome, None).await)))
}

fn written(m: &AdoptItem) -> bool {
    matches!(m.action.as_str(), "adopt" | "adopt-failed" | "rerun")
}

/// The ledger rows, in one transaction: an adoption is whole or absent.
async fn record(run: &Run, plan: &AdoptPlan) -> Result<()> {
    let s = &run.session;
    s.client.batch_execute("BEGIN").await?;
    let result = async {
        let stmt = s.ledger.prepare_insert(&s.client).await?;
        for item in plan.migrations.iter().filter(|m| written(m)) {
            let Some(m) = &item.migration else { continue };
            // A repeatable the tool ran from an older file keeps the tool's checksum, so
            // status shows it pending and the next apply runs it, as the tool would have.
            let checksum = match (&item.action[..], &item.tool_checksum) {
                ("rerun", Some(t)) => format!("{}:{t}", plan.tool),
                _ => m.up.checksum(),
            };
            let error = item.detail.clone().map(|d| format!("adopted from {}: {d}", plan.tool));
            let row = NewRow {
                version: m.version.as_str(),
                name: &m.name,
                checksum: &checksum,
                up_sql: &m.up.text,
                down_sql: m.down.as_ref().map(|d| d.text.as_str()),
                direction: Direction::Up,
                os_user: &s.operator,
                client_host: &s.host,
                duration_ms: None,
                run_id: &s.run_id,
                success: item.action != "adopt-failed",
                failed_at_statement: None,
                error: error.as_deref().filter(|_| item.action == "adopt-failed"),
            };
            s.ledger.insert(&s.client, &stmt, &row).await?;
        }
        Ok::<_, Error>(())
    }
    .await;
    match result {
        Ok(()) => {
            s.client.batch_execute("COMMIT").await?;
            Ok(())
        }
        Err(e) => {
            let _ = s.client.batch_execute("ROLLBACK").await;
            Err(e)
        }
    }
}

//! One migration run through its own tool (Knex, Alembic) under sluice's guard: the tool
//! gets the environment's connection and timeouts, sluice watches its sessions for blockers
//! from its own connection, stops it on a cancel, reads the tool's history afterwards to
//! know what happened, and records the migration in its ledger with what the tool printed
//! and the schema it left.

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::oneshot;

use super::{Change, ChangeFailure, CodeCall, Session};
use crate::core::db::code_history;
use crate::core::db::schema;
use crate::core::error::Error;
use crate::core::record::report::{Blocker, MigrationReport, ToolRun};

/// What is kept of a tool's output: its last 16 KB.
const OUTPUT_KEPT: usize = 16 * 1024;

impl Session {
    /// The application_name the tool's sessions carry: how sluice finds them.
    pub(crate) fn tool_application_name(&self) -> String {
        format!("sluice/{}/tool", self.run_id)
    }

    /// The tool's process with the environment's connection and timeouts (`db::tools`).
    pub(crate) fn tool_process(
        &self,
        c: &crate::core::data::code::command::ToolCommand,
    ) -> tokio::process::Command {
        crate::core::db::tools::code_tool_process(
            &self.target,
            c,
            &self.tool_application_name(),
            self.lock_timeout_ms,
            self.statement_timeout_ms,
        )
    }

    /// Runs the step's tool command to its end and records the outcome.
    pub(super) async fn run_tool(
        &mut self,
        step: &Change,
        call: &CodeCall,
    ) -> std::result::Result<MigrationReport, ChangeFailure> {
        let started = Instant::now();
        let mut report = Self::new_report(step, 0);
        let before = match schema::snapshot(&self.client, self.ledger.schema()).await {
            Ok(s) => s,
            Err(e) => return Err(self.tool_failed(step, e, report, None).await),
        };
        let observed: Arc<std::sync::Mutex<Vec<Blocker>>> = Arc::default();
        let (exit_code, output) = match self.spawn_tool(step, call, observed.clone()).await {
            Ok(r) => r,
            Err(e) => return Err(self.tool_failed(step, e, report, None).await),
        };
        let blockers = observed.lock().map(|b| b.clone()).unwrap_or_default();
        report.duration_ms = started.elapsed().as_millis() as u64;
        let after = schema::snapshot(&self.client, self.ledger.schema()).await.unwrap_or_default();
        let diff = schema::unified_diff(&before, &after, "schema before", "schema after");
        let run = ToolRun { command: call.command.display(), exit_code, output, schema_diff: diff };
        // The tool's own history says what happened, whatever it printed.
        let recorded = match code_history::applied(
            &self.client,
            &self.target,
            call.tool,
            &call.folder,
        )
        .await
        {
            Ok(applied) => applied.iter().any(|a| a.id == step.version),
            Err(e) => return Err(self.tool_failed(step, e, report, Some(run)).await),
        };
        let done = exit_code == Some(0) && recorded == call.recorded_after;
        if !done {
            let why = match (exit_code, recorded == call.recorded_after) {
                (Some(0), false) => format!(
                    "{} exited 0 but its history ({}) {} {}",
                    call.tool,
                    call.folder.history_table,
                    if call.recorded_after { "does not list" } else { "still lists" },
                    step.version
                ),
                (Some(code), _) => format!("{} exited with {code}", run.command),
                (None, _) => format!("{} was stopped", run.command),
            };
            // The error itself, not a stack frame: Python ends with it, Node starts a trace.
            let last = run
                .output
                .lines()
                .rev()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with("at ") && !l.starts_with("File \""))
                .unwrap_or("");
            let mut message = format!("{}: {why}: {}", step.origin, last.trim());
            if last.contains("lock timeout") {
                message.push_str(&format!("; blocked by {}", Blocker::list(&blockers)));
            }
            let mut f = self.tool_failed(step, Error::database(message), report, Some(run)).await;
            f.blockers = blockers;
            return Err(f);
        }
        let recorded = match self.insert_stmt().await {
            Ok(stmt) => {
                let row = self.ledger_row(step, Some(report.duration_ms as i64), true, None);
                self.ledger.insert(&self.client, &stmt, &row).await
            }
            Err(e) => Err(e),
        };
        report.tool = Some(run);
        if let Err(e) = recorded {
            let e = e.context(format_args!(
                "{} ran {} but sluice could not record it in its ledger",
                call.tool, step.version
            ));
            return Err(self.failed(step, ChangeFailure::plain(e, report)));
        }
        Ok(report)
    }

    /// Starts the tool with the environment's connection, watches its sessions while it
    /// runs, stops it when the operator cancels, and returns its exit code and output.
    async fn spawn_tool(
        &self,
        step: &Change,
        call: &CodeCall,
        observed: Arc<std::sync::Mutex<Vec<Blocker>>>,
    ) -> crate::core::error::Result<(Option<i32>, String)> {
        let c = &call.command;
        let app = self.tool_application_name();
        let mut cmd = self.tool_process(c);
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd.kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| {
            Error::database(format!("cannot start {} in {}: {e}", c.display(), c.dir.display()))
        })?;
        let out = read_all(child.stdout.take());
        let err = read_all(child.stderr.take());
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let watcher = tokio::spawn(super::super::watch::watch(
            self.target.clone(),
            self.run_id.clone(),
            super::super::watch::Watched::App(app.clone()),
            self.watch_conn.clone(),
            Duration::from_millis(100),
            observed,
            stop_rx,
            self.events
                .clone()
                .map(|tx| (tx, step.version.clone(), super::super::watch::At::Statement(1))),
            // A tool's own sessions are not ours to cancel.
            None,
        ));
        let status = loop {
            tokio::select! {
                s = child.wait() => break s,
                _ = tokio::time::sleep(Duration::from_millis(100)) => {
                    if self.interrupt.as_ref().is_some_and(|i| i.requested()) {
                        self.stop_tool(&mut child, &app).await;
                    }
                }
            }
        };
        let _ = stop_tx.send(());
        let _ = watcher.await;
        let (out, err) = tokio::join!(out, err);
        let status = status.map_err(|e| Error::database(format!("{}: {e}", c.display())))?;
        let mut output = out;
        output.push_str(&err);
        Ok((status.code(), tail(output)))
    }

    /// A cancel: the tool's statements are cancelled on the server (its transaction rolls
    /// back), then the tool is asked to stop, and killed if it does not.
    async fn stop_tool(&self, child: &mut tokio::process::Child, app: &str) {
        if let Ok(c) = self.target.connect("sluice/cancel").await {
            let _ = c
                .query(
                    "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
                    &[&app],
                )
                .await;
        }
        if let Some(pid) = child.id() {
            // SAFETY: a signal to our own child, by the pid tokio gave us.
            unsafe { libc::kill(pid as i32, libc::SIGTERM) };
        }
        if tokio::time::timeout(Duration::from_secs(5), child.wait()).await.is_err() {
            let _ = child.start_kill();
        }
    }

    /// Records a tool migration that did not go through: its ledger row (failed, with what
    /// the tool printed), and the failure event.
    async fn tool_failed(
        &mut self,
        step: &Change,
        error: Error,
        mut report: MigrationReport,
        run: Option<ToolRun>,
    ) -> ChangeFailure {
        let output = run.as_ref().map(|r| r.output.clone());
        report.tool = run;
        let message = match &output {
            Some(o) if !o.is_empty() => format!("{}\n{o}", error.message),
            _ => error.message.clone(),
        };
        let recorded = match self.insert_stmt().await {
            Ok(stmt) => {
                let mut row = self.ledger_row(step, Some(report.duration_ms as i64), false, None);
                row.error = Some(&message);
                self.ledger.insert(&self.client, &stmt, &row).await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = recorded {
            tracing::warn!("cannot record the failed tool migration: {e}");
        }
        self.failed(step, ChangeFailure::plain(error, report))
    }
}

/// Everything a pipe gives until it closes (a tool's output is small; the tail is kept).
async fn read_all<R: AsyncRead + Unpin + Send + 'static>(pipe: Option<R>) -> String {
    let Some(mut pipe) = pipe else { return String::new() };
    let mut buf = Vec::new();
    let _ = pipe.read_to_end(&mut buf).await;
    String::from_utf8_lossy(&buf).into_owned()
}

fn tail(mut s: String) -> String {
    if s.len() > OUTPUT_KEPT {
        let mut cut = s.len() - OUTPUT_KEPT;
        while !s.is_char_boundary(cut) {
            cut += 1;
        }
        s = format!("[... {} bytes before]\n{}", cut, &s[cut..]);
    }
    s
}

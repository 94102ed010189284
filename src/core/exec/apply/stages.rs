//! The stages of a guarded apply before the apply itself: pre-checks, the lint gate, the
//! backup and the dry run. Each returns its outcome and a one-line summary, or the error
//! that stops the run there (kept as the run's failure, should the operator give up).

use super::pipeline::GuardedRun;
use super::rehearse;
use crate::core::error::Result;
use crate::core::exec::session::guards;
use crate::core::guard::{gate, hooks};
use crate::core::record::report::{Override, StageOutcome};

impl GuardedRun {
    pub(super) async fn prechecks(&mut self) -> Result<(StageOutcome, String)> {
        use crate::core::guard::precheck::{Outcome, Tally, WINDOW_CHECK};
        let versions: Vec<String> = self.steps.iter().map(|s| s.version.clone()).collect();
        if let Err(e) = self.run.hooks(hooks::HookPoint::PreCheck, &versions, None).await {
            self.failure = Some((e.clone(), vec![], "refused"));
            return Err(e);
        }
        let env = self.run.env().clone();
        let upstream = env.promote_from.as_deref().and_then(|f| self.project.environments.get(f));
        let (status, steps) = (&self.status, &self.steps);
        let res = guards::prechecks(&mut self.run, &env, status, steps, &self.opts, upstream).await;
        if let Err(e) = res {
            self.failure = Some((e.clone(), vec![], "refused"));
            return Err(e);
        }
        if let Some(reason) = self.opts.override_window.as_deref().filter(|r| !r.trim().is_empty())
        {
            let outside = self
                .run
                .report
                .prechecks
                .iter()
                .any(|c| c.name == WINDOW_CHECK && c.outcome == Outcome::Warn);
            if outside {
                self.add_override(Override {
                    guard: "maintenance-window".into(),
                    reason: reason.to_string(),
                    what: env.maintenance_window.iter().map(|w| w.describe()).collect(),
                });
            }
        }
        self.promotion_override(&env);
        let tally = Tally::of(&self.run.report.prechecks);
        Ok(if tally.warned > 0 {
            (StageOutcome::Warned, format!("{} passed, {} warning(s)", tally.passed, tally.warned))
        } else {
            (StageOutcome::Passed, format!("{} passed", tally.passed))
        })
    }

    /// An overridden promotion gate goes into the run's record with what it let through.
    fn promotion_override(&mut self, env: &crate::core::data::config::Environment) {
        use crate::core::guard::precheck::{Outcome, PROMOTION_CHECK};
        let Some(reason) = self.opts.override_promotion.clone() else { return };
        let passed = self.run.report.prechecks.iter().find(|c| c.name == PROMOTION_CHECK);
        if let Some(c) = passed.filter(|c| c.outcome == Outcome::Warn) {
            let from = env.promote_from.clone().unwrap_or_default();
            self.add_override(Override {
                guard: "promotion".into(),
                reason: reason.trim().to_string(),
                what: vec![format!("ahead of {from}: {}", c.figure)],
            });
        }
    }

    fn add_override(&mut self, o: Override) {
        self.run.report.overrides.retain(|x| x.guard != o.guard);
        self.run.report.overrides.push(o);
    }

    pub(super) async fn lint(&mut self) -> Result<(StageOutcome, String)> {
        let env = self.run.env().clone();
        let Some(threshold) = gate::threshold(&env) else {
            return Ok((StageOutcome::Skipped, "lint gate off for this environment".into()));
        };
        let s = &self.run.session;
        let found = match &self.project.code {
            Some(_) => {
                use crate::core::guard::code_lint::{findings, CodeLint};
                let migrations: Vec<&crate::core::data::code::CodeMigration> = self
                    .steps
                    .iter()
                    .filter_map(|st| {
                        let call = st.code.as_ref()?;
                        call.folder.migrations.iter().find(|m| m.id == st.version)
                    })
                    .collect();
                match findings(&self.project, &env, &s.client, &s.target, &migrations).await {
                    Ok(CodeLint::Linted(f)) => Ok(f),
                    Ok(CodeLint::Cannot(why)) => return Ok((StageOutcome::Skipped, why)),
                    Err(e) => Err(e),
                }
            }
            None => gate::findings(&self.project, &env, &s.client, &self.pending).await,
        };
        self.findings = match found {
            Ok(f) => f,
            Err(e) => {
                self.failure = Some((e.clone(), vec![], "refused"));
                return Err(e);
            }
        };
        let count = |sev| self.findings.iter().filter(|f| f.severity == sev).count();
        use crate::core::data::lint::Severity;
        let (errors, warnings) = (count(Severity::Error), count(Severity::Warning));
        let mut tally =
            format!("{} finding(s): {errors} error(s), {warnings} warning(s)", self.findings.len());
        let new: Vec<&str> =
            self.findings.iter().filter_map(|f| f.created_by_run.as_deref()).collect();
        if !new.is_empty() {
            let mut tables = new.clone();
            tables.sort();
            tables.dedup();
            tally.push_str(&format!(
                "; {} discounted to info: {} {} created by this run (new and unused)",
                new.len(),
                tables.join(", "),
                if tables.len() == 1 { "is" } else { "are" }
            ));
        }
        match gate::decide(&env, &self.findings, self.opts.override_lint.as_deref()) {
            Ok(None) if errors + warnings > 0 => Ok((StageOutcome::Warned, tally)),
            Ok(None) => Ok((StageOutcome::Passed, tally)),
            Ok(Some(overridden)) => {
                let reason = self.opts.override_lint.clone().unwrap_or_default();
                let what = self
                    .findings
                    .iter()
                    .filter(|f| f.severity >= threshold)
                    .map(|f| {
                        let file = f.file.rsplit('/').next().unwrap_or(&f.file);
                        format!("{file}:{} {}", f.line, f.rule)
                    })
                    .collect();
                self.add_override(Override { guard: "lint".into(), reason: reason.clone(), what });
                self.run.details.lint_overridden = Some(overridden);
                self.run.save_details().await?;
                Ok((StageOutcome::Warned, format!("{tally}; gate overridden: {reason}")))
            }
            Err(e) => {
                self.failure = Some((e.clone(), vec![], "refused"));
                Err(e)
            }
        }
    }

    pub(super) async fn backup(&mut self) -> Result<(StageOutcome, String)> {
        let label = format!("pre-{}", self.steps.last().map_or("", |s| s.version.as_str()));
        let env = self.run.env().clone();
        let versions: Vec<String> = self.steps.iter().map(|s| s.version.clone()).collect();
        let backed_up =
            guards::backup_before(&mut self.run, &env, self.opts.backup, &label, &versions).await;
        if let Err(e) = backed_up {
            self.failure = Some((e.clone(), vec![], "refused"));
            return Err(e);
        }
        Ok(match &self.run.report.backup {
            Some(b) => (StageOutcome::Passed, b.describe()),
            None => (StageOutcome::Skipped, "no backup: optional by policy".into()),
        })
    }

    pub(super) async fn dry_run(&mut self) -> Result<(StageOutcome, String)> {
        let on_copy = self.project.code.is_some()
            || self.run.env().dry_run == crate::core::data::config::DryRunMode::Copy;
        let rehearsed = if on_copy {
            super::copy_rehearsal::rehearse_on_copy(&mut self.run, &self.steps).await
        } else {
            rehearse::rehearse(&mut self.run, &self.steps).await
        };
        match rehearsed {
            Ok(r) => {
                let not = r.migrations.iter().filter(|m| !m.rehearsed).count();
                let ms: u64 = r.migrations.iter().map(|m| m.duration_ms).sum();
                let summary = format!(
                    "{} migration(s) rehearsed in {ms} ms{}",
                    r.migrations.len() - not,
                    if not > 0 { format!(", {not} not rehearsable") } else { String::new() }
                );
                self.run.report.schema_diff = Some(r.schema_diff);
                if self.opts.dry_run {
                    self.run.report.migrations = r.migrations;
                } else {
                    self.run.report.rehearsal = r.migrations;
                }
                let outcome = if not > 0 { StageOutcome::Warned } else { StageOutcome::Passed };
                Ok((outcome, summary))
            }
            Err(f) => {
                if self.opts.dry_run {
                    self.run.report.migrations = f.migrations;
                } else {
                    self.run.report.rehearsal = f.migrations;
                }
                self.failure = Some((f.error.clone(), f.blockers, "failed"));
                Err(f.error)
            }
        }
    }
}

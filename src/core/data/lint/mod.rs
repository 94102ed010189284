//! Lint: what would hurt production, found with PostgreSQL's own parser before anything runs.

mod alter;
mod analyze;
mod batch;
pub mod locks;
mod names;
mod predicates;
mod reversibility;
pub mod rules;
mod statements;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

pub use rules::{Rule, Severity, RULES};

use crate::core::data::source::{self, header_directives, Ignored};
use crate::core::data::sql::parser;
use crate::core::data::sql::{self, Statement};
use crate::core::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub rule: &'static str,
    pub severity: Severity,
    pub message: String,
    pub help: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock: Option<&'static str>,
    pub rewrites: bool,
    /// The table the run creates that this finding is about: it is new and empty when the
    /// statement runs, so the finding cannot hurt and is `info` (the gate counts these).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by_run: Option<String>,
    /// The source line the finding points at, for carets in text output.
    #[serde(skip)]
    pub excerpt: String,
}

/// What is known about the down side of a migration; lone files are not judged.
#[derive(Debug, Clone)]
pub enum Down {
    NotJudged,
    Missing,
    Present(String),
}

#[derive(Debug, Clone)]
pub struct Input {
    pub path: PathBuf,
    pub text: String,
    pub down: Down,
    /// The layout runs it outside a transaction by its own marker (dbmate's
    /// transaction:false, golang-migrate's lone statement), besides `-- sluice:no-transaction`.
    pub no_transaction: bool,
}

impl Input {
    /// A migration of a project: its up file, judged with its down file.
    pub fn from_migration(m: &crate::core::data::source::Migration) -> Input {
        Input {
            path: m.up.path.clone(),
            text: m.up.text.clone(),
            down: match &m.down {
                Some(d) => Down::Present(d.text.clone()),
                None => Down::Missing,
            },
            no_transaction: m.up.no_transaction,
        }
    }
}

/// A table's size as pg_class estimates it.
#[derive(Debug, Clone, Copy)]
pub struct TableSize {
    pub rows: f64,
    pub bytes: i64,
}

#[derive(Debug, Clone, Default)]
pub struct LintOptions {
    /// Per-rule level overrides: None turns the rule off.
    pub levels: BTreeMap<String, Option<Severity>>,
    pub server_version: Option<i32>,
    pub lock_timeout_ms: Option<u64>,
    /// Sizes by table name (as written, lower case; also schema-qualified).
    pub table_sizes: HashMap<String, TableSize>,
    /// The live catalog when the run starts, when it was read: every relation, schema,
    /// type and function by name (lower case; bare and schema-qualified). An object not in
    /// it is one the run creates. None (not connected): everything is taken to exist and
    /// be busy.
    pub existing: Option<HashSet<String>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub files: usize,
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn count(&self, s: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == s).count()
    }
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}

/// Reads what `sluice lint PATH...` names: a file is one migration as sluice would run it;
/// a folder is a migrations folder (native layout: reversibility judged), or else a set of
/// lone files. Also the files those folders hold that their layout's tool passes over.
pub fn collect(paths: &[PathBuf]) -> Result<(Vec<Input>, Vec<Ignored>)> {
    let (mut inputs, mut ignored) = (Vec::new(), Vec::new());
    for p in paths {
        let meta =
            std::fs::metadata(p).map_err(|e| Error::input(format!("{}: {e}", p.display())))?;
        if meta.is_dir() {
            let (i, skipped) = collect_folder(p, None)?;
            inputs.extend(i);
            ignored.extend(skipped);
        } else {
            inputs.push(Input {
                path: p.clone(),
                text: read_text(p)?,
                down: Down::NotJudged,
                no_transaction: false,
            });
        }
    }
    Ok((inputs, ignored))
}

/// A migrations folder in `layout` (None: detected), and the files its tool passes over.
pub fn collect_folder(
    dir: &Path,
    layout: Option<source::Layout>,
) -> Result<(Vec<Input>, Vec<Ignored>)> {
    let loaded = source::load_tolerant(dir, layout).and_then(|f| match f.unreadable.first() {
        Some(u) => Err(Error::input(u.message.clone())),
        None => Ok(f),
    });
    match loaded {
        Ok(f) => Ok((f.migrations.iter().map(Input::from_migration).collect(), f.ignored)),
        Err(native_err) => {
            let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
                .map_err(|e| Error::input(format!("{}: {e}", dir.display())))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "sql") && p.is_file())
                .collect();
            if files.is_empty() {
                return Err(native_err);
            }
            files.sort();
            let inputs = files
                .into_iter()
                .map(|p| {
                    Ok(Input {
                        text: read_text(&p)?,
                        path: p,
                        down: Down::NotJudged,
                        no_transaction: false,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok((inputs, Vec::new()))
        }
    }
}

/// A finding for each file the layout's tool passes over: it never runs, which is rarely
/// what its author meant (a misspelt name, a file the journal lost).
pub fn ignored_findings(ignored: &[Ignored], opts: &LintOptions) -> Vec<Finding> {
    let Some(r) = rules::find("ignored-file") else { return Vec::new() };
    let severity = match opts.levels.get(r.id) {
        Some(None) => return Vec::new(),
        Some(Some(s)) => *s,
        None => r.severity,
    };
    ignored
        .iter()
        .map(|i| Finding {
            file: i.path.display().to_string(),
            line: 1,
            column: 1,
            rule: r.id,
            severity,
            message: format!("{}: {}", i.reason, r.why),
            help: r.help.to_string(),
            lock: None,
            rewrites: false,
            created_by_run: None,
            excerpt: String::new(),
        })
        .collect()
}

fn read_text(p: &Path) -> Result<String> {
    crate::core::data::source::SqlFile::read_text(p)
}

pub fn lint(inputs: &[Input], opts: &LintOptions) -> Report {
    // Files are independent: lint them on every parser thread.
    let mut findings: Vec<Finding> =
        parser::map(inputs, |i| lint_one(i, opts)).into_iter().flatten().collect();
    findings.sort_by(|a, b| {
        (&a.file, a.line, a.column, a.rule).cmp(&(&b.file, b.line, b.column, b.rule))
    });
    Report { files: inputs.len(), findings }
}

fn line_text(text: &str, line: usize) -> String {
    text.lines().nth(line.saturating_sub(1)).unwrap_or("").to_string()
}

fn human_size(s: &TableSize) -> String {
    let rows = if s.rows >= 1e6 {
        format!("{:.1}M rows", s.rows / 1e6)
    } else if s.rows >= 1e3 {
        format!("{:.1}k rows", s.rows / 1e3)
    } else {
        format!("{} rows", s.rows.max(0.0) as i64)
    };
    let mb = s.bytes as f64 / (1024.0 * 1024.0);
    let size = if mb >= 1024.0 { format!("{:.1} GB", mb / 1024.0) } else { format!("{mb:.1} MB") };
    format!("{rows}, {size}")
}

pub fn lint_one(input: &Input, opts: &LintOptions) -> Vec<Finding> {
    // One hop to a parser thread for the whole file, not one per statement.
    parser::run(|| lint_file(input, opts))
}

/// The findings of one file, each ranked by the configured level, the table's size and
/// whether the run itself creates what it touches.
struct Findings<'a> {
    input: &'a Input,
    opts: &'a LintOptions,
    file: String,
    out: Vec<Finding>,
}

impl Findings<'_> {
    fn push(
        &mut self,
        rule: &'static str,
        line: usize,
        column: usize,
        detail: &str,
        table: Option<&str>,
        objects: &[String],
    ) {
        let opts = self.opts;
        let Some(r) = rules::find(rule) else { return };
        let default = if rule == "require-lock-timeout" && opts.lock_timeout_ms == Some(0) {
            Severity::Warning
        } else {
            r.severity
        };
        let size = table.and_then(|t| lookup_size(opts, t));
        let mut severity = match opts.levels.get(rule) {
            Some(None) => return,
            Some(Some(s)) => *s,
            None => rank_by_size(rule, default, size),
        };
        let mut message =
            if detail.is_empty() { r.why.to_string() } else { format!("{detail}: {}", r.why) };
        if let Some(size) = size {
            message.push_str(&format!(" ({}: {})", table.unwrap_or(""), human_size(&size)));
        }
        let about: Vec<&str> =
            table.into_iter().chain(objects.iter().map(String::as_str)).collect();
        let created = !about.is_empty() && about.iter().all(|o| created_by_the_run(opts, o));
        let created_by_run = created.then(|| about.join(", "));
        if let Some(t) = &created_by_run {
            severity = Severity::Info;
            let verb = if about.len() == 1 { "does" } else { "do" };
            message.push_str(&format!(
                " ({t} {verb} not exist before this run: the run creates it, so it is new and unused here)"
            ));
        }
        self.out.push(Finding {
            file: self.file.clone(),
            line,
            column,
            rule,
            severity,
            message,
            help: r.help.to_string(),
            lock: r.lock,
            rewrites: r.rewrites,
            created_by_run,
            excerpt: line_text(&self.input.text, line),
        });
    }
}

fn lint_file(input: &Input, opts: &LintOptions) -> Vec<Finding> {
    let mut f = Findings { input, opts, file: input.path.display().to_string(), out: Vec::new() };
    let transactional = match header_directives(&input.text) {
        Ok(d) => !(d.no_transaction || input.no_transaction),
        Err((line, msg)) => {
            f.push("syntax-error", line, 1, &msg, None, &[]);
            return f.out;
        }
    };
    let statements = match sql::split(&input.text) {
        Ok(s) => s,
        Err(e) => {
            f.push("syntax-error", e.line, 1, &e.message, None, &[]);
            return f.out;
        }
    };
    let m = analyze::Migration {
        statements: &statements,
        transactional,
        server_version: opts.server_version,
        lock_timeout_ms: opts.lock_timeout_ms,
    };
    let allows = allow_comments(&input.text, &statements);
    for (line, problem) in &allows.problems {
        f.push(problem.0, *line, 1, &problem.1, None, &[]);
    }
    let sized = |t: &str| lookup_size(opts, t);
    for (rule, i, detail, table) in batch::findings(&input.text, &statements, transactional, sized)
    {
        let s = &statements[i];
        f.push(rule, s.line, s.column, &detail, table.as_deref(), &[]);
    }
    for hit in analyze::analyze(&m) {
        let s = &statements[hit.statement];
        if allows.allowed.iter().any(|(idx, rule)| *idx == hit.statement && rule == hit.rule) {
            continue;
        }
        f.push(hit.rule, s.line, s.column, &hit.detail, hit.table.as_deref(), &hit.objects);
    }
    if statements.is_empty() && !matches!(input.down, Down::NotJudged) {
        f.push("empty-up", 1, 1, "", None, &[]);
    }
    match &input.down {
        Down::NotJudged => {}
        Down::Missing => f.push("missing-down", 1, 1, "", None, &[]),
        Down::Present(text) if sql::is_blank(text) => f.push("empty-down", 1, 1, "", None, &[]),
        Down::Present(text) => {
            for missing in reversibility::not_undone(&statements, text) {
                f.push("down-does-not-undo", 1, 1, &missing, None, &[]);
            }
        }
    }
    f.out
}

/// Rules whose danger is how long the lock is held (a scan, a rewrite, an index build):
/// that scales with the table, unlike lock queueing or data loss.
const DURATION_RULES: &[&str] = &[
    "add-column-volatile-default",
    "add-serial-column",
    "alter-column-type",
    "set-not-null",
    "add-check-without-not-valid",
    "add-foreign-key-without-not-valid",
    "create-index-non-concurrently",
    "add-unique-without-using-index",
    "set-logged-unlogged",
    "add-stored-generated-column",
    "cluster",
    "backfill-with-ddl",
];

/// With the table's size known: a small table makes a duration risk one level milder, a
/// huge one makes a warning an error. The size is always said in the message.
fn rank_by_size(rule: &str, default: Severity, size: Option<TableSize>) -> Severity {
    let Some(s) = size else { return default };
    if !DURATION_RULES.contains(&rule) {
        return default;
    }
    let small = s.rows < 10_000.0 && s.bytes < 10 * 1024 * 1024;
    let huge = s.rows > 10_000_000.0 || s.bytes > 10 * 1024 * 1024 * 1024;
    match (default, small, huge) {
        (Severity::Error, true, _) => Severity::Warning,
        (Severity::Warning, true, _) => Severity::Info,
        (Severity::Warning, _, true) => Severity::Error,
        (d, _, _) => d,
    }
}

/// Connected, an object the live catalog does not hold when the run starts is one this run
/// creates (or a statement that will fail): nothing uses it yet, nothing is in it.
fn created_by_the_run(opts: &LintOptions, table: &str) -> bool {
    let Some(existing) = &opts.existing else { return false };
    let t = table.to_lowercase();
    let bare = t.rsplit('.').next().unwrap_or(&t);
    !existing.contains(&t) && !existing.contains(bare)
}

fn lookup_size(opts: &LintOptions, table: &str) -> Option<TableSize> {
    let t = table.to_lowercase();
    opts.table_sizes
        .get(&t)
        .or_else(|| opts.table_sizes.get(t.rsplit('.').next().unwrap_or(&t)))
        .copied()
}

struct Allows {
    /// (statement index, rule id) pairs silenced.
    allowed: Vec<(usize, String)>,
    problems: Vec<(usize, (&'static str, String))>,
}

/// `-- sluice:allow <rule> <reason>` applies to the statement on its line, or else the next
/// statement below it. Comments are found by PostgreSQL's scanner, so the words inside a
/// string literal are never taken for a directive.
fn allow_comments(text: &str, statements: &[Statement]) -> Allows {
    let mut allows = Allows { allowed: Vec::new(), problems: Vec::new() };
    if !text.contains("sluice:allow") {
        return allows;
    }
    let Ok(scan) = parser::scan(text) else { return allows };
    let spans: Vec<(usize, usize)> = statements
        .iter()
        .map(|s| {
            // Lines from the first token to the end of the statement (leading comments and
            // blank lines are not part of it).
            let body = s.text.trim();
            let from_token = body.lines().skip_while(|l| {
                let t = l.trim();
                t.is_empty() || t.starts_with("--")
            });
            (s.line, s.line + from_token.count().saturating_sub(1))
        })
        .collect();
    for t in &scan.tokens {
        let Some(tok) = text.get(t.start as usize..t.end as usize) else { continue };
        let body = if let Some(b) = tok.strip_prefix("--") {
            b
        } else if let Some(b) = tok.strip_prefix("/*") {
            b.trim_end_matches("*/")
        } else {
            continue;
        };
        let Some(rest) = body.trim().strip_prefix("sluice:allow") else { continue };
        let line = text[..t.start as usize].matches('\n').count() + 1;
        let mut words = rest.split_whitespace();
        let rule = words.next().unwrap_or("");
        let reason: Vec<&str> = words.collect();
        if rules::find(rule).is_none() {
            allows.problems.push((line, ("unknown-rule", format!("sluice:allow {rule}"))));
            continue;
        }
        if reason.is_empty() {
            allows.problems.push((line, ("allow-without-reason", format!("sluice:allow {rule}"))));
            continue;
        }
        let target = spans
            .iter()
            .position(|&(first, last)| first <= line && line <= last)
            .or_else(|| spans.iter().position(|&(first, _)| first > line));
        if let Some(idx) = target {
            allows.allowed.push((idx, rule.to_string()));
        }
    }
    allows
}

#[cfg(test)]
mod tests;

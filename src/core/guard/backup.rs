//! Backups with pg_dump (custom format), verified with pg_restore --list, kept at mode 0600
//! and pruned per the environment's retention; restore with pg_restore.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use tokio::process::Command;

use crate::core::data::config::paths::backup_dir;
use crate::core::data::config::{BackupKind, Environment};
use crate::core::db::connect::Target;
use crate::core::db::tools::{client_tool, server_major, tool_env};
use crate::core::error::{Error, Result};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackupInfo {
    pub path: PathBuf,
    pub bytes: u64,
    pub duration_ms: u64,
    /// Entries pg_restore --list read back from the file.
    pub entries: usize,
    #[serde(default)]
    pub pruned: Vec<PathBuf>,
    /// SHA-256 of the file, for whoever copies it elsewhere (the post_backup hook).
    #[serde(default)]
    pub sha256: String,
}

impl BackupInfo {
    /// "/backups/x.dump (1.4 MB, 42 entries verified)".
    pub fn describe(&self) -> String {
        format!(
            "{} ({:.1} MB, {} entries verified)",
            self.path.display(),
            self.bytes as f64 / 1_048_576.0,
            self.entries
        )
    }
}

/// Called about twice a second with the bytes written so far and the time taken.
pub type Progress = Box<dyn Fn(u64, Duration) + Send + Sync>;

#[derive(Debug, Clone, Serialize)]
pub struct BackupFile {
    pub path: PathBuf,
    pub bytes: u64,
    pub age_s: u64,
}

fn utc_stamp() -> String {
    let s = crate::core::host::identity::utc_timestamp();
    format!("{}T{}Z", &s[..8], &s[8..])
}

/// Dumps the environment's database to `<env>_<db>_<UTC time>_<label>.dump` (label
/// `pre-<target version>` before an apply), verifies it, then prunes older backups per the
/// retention policy.
pub async fn take(
    env: &Environment,
    label: &str,
    progress: Option<Progress>,
) -> Result<BackupInfo> {
    let target = Target::resolve(env)?;
    let major = server_major(&target).await?;
    let pg_dump = client_tool("pg_dump", major).await?;
    let dir = backup_dir(env)?;
    crate::core::host::private::create_dir(&dir)?;
    let stem = format!("{}_{}_{}_{label}", env.name, target.dbname(), utc_stamp());
    // Two backups in the same second get distinct names; a backup is never overwritten.
    let name = (1..)
        .map(|n| if n == 1 { format!("{stem}.dump") } else { format!("{stem}-{n}.dump") })
        .find(|n| !dir.join(n).exists() && !dir.join(format!("{n}.partial")).exists())
        .unwrap_or_else(|| format!("{stem}.dump"));
    let path = dir.join(&name);
    let partial = dir.join(format!("{name}.partial"));
    crate::core::host::private::create_file(&partial)?;
    let started = Instant::now();
    let mut cmd = Command::new(&pg_dump);
    cmd.args(["--format=custom", "--no-password", "--file"]).arg(&partial);
    match env.backup.kind {
        BackupKind::Full => {}
        BackupKind::SchemaOnly => {
            cmd.arg("--schema-only");
        }
        BackupKind::DataOnly => {
            cmd.arg("--data-only");
        }
    }
    tool_env(&target, &mut cmd);
    // The dump's growing file is watched for progress (bytes and rate) while pg_dump runs.
    let watcher = progress.map(|on| {
        let watched = partial.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let bytes = std::fs::metadata(&watched).map(|m| m.len()).unwrap_or(0);
                on(bytes, started.elapsed());
            }
        })
    });
    let out = cmd.stdin(Stdio::null()).output().await;
    if let Some(w) = watcher {
        w.abort();
    }
    let out = out.map_err(|e| Error::database(format!("pg_dump: {e}")))?;
    if !out.status.success() {
        let _ = std::fs::remove_file(&partial);
        return Err(Error::database(format!(
            "pg_dump failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let entries = verify(&partial, major).await.inspect_err(|_| {
        let _ = std::fs::remove_file(&partial);
    })?;
    std::fs::rename(&partial, &path)
        .map_err(|e| Error::database(format!("{}: {e}", path.display())))?;
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let duration_ms = started.elapsed().as_millis() as u64;
    let pruned = prune(env, &dir, &path)?;
    let sha256 = file_sha256(&path).await?;
    Ok(BackupInfo { path, bytes, duration_ms, entries, pruned, sha256 })
}

/// The file's SHA-256, read off the runtime's threads.
async fn file_sha256(path: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let p = path.to_path_buf();
    let digest = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<u8>> {
        let mut f = std::fs::File::open(&p)?;
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                return Ok(h.finalize().to_vec());
            }
            h.update(&buf[..n]);
        }
    })
    .await
    .map_err(|e| Error::database(format!("{}: {e}", path.display())))?
    .map_err(|e| Error::database(format!("{}: {e}", path.display())))?;
    Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
}

/// `pg_restore --list` must read the file back and find entries in it.
async fn verify(path: &Path, major: u32) -> Result<usize> {
    let pg_restore = client_tool("pg_restore", major).await?;
    let out = Command::new(pg_restore)
        .arg("--list")
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| Error::database(format!("pg_restore: {e}")))?;
    if !out.status.success() {
        return Err(Error::database(format!(
            "the backup did not verify (pg_restore --list): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let toc = String::from_utf8_lossy(&out.stdout);
    // An empty database has no entries, but every readable archive has its header.
    if !toc.contains("; Archive created at") {
        return Err(Error::database(
            "the backup did not verify: pg_restore --list read no archive header",
        ));
    }
    Ok(toc.lines().filter(|l| !l.starts_with(';') && !l.trim().is_empty()).count())
}

/// Backups of this environment in its folder, newest first.
pub fn list(env: &Environment) -> Result<Vec<BackupFile>> {
    let dir = backup_dir(env)?;
    list_in(&dir, &env.name)
}

fn list_in(dir: &Path, env_name: &str) -> Result<Vec<BackupFile>> {
    let Ok(rd) = std::fs::read_dir(dir) else { return Ok(Vec::new()) };
    let prefix = format!("{env_name}_");
    let now = SystemTime::now();
    let mut files: Vec<(SystemTime, BackupFile)> = rd
        .filter_map(|e| e.ok())
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.starts_with(&prefix) && n.ends_with(".dump")
        })
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            let modified = meta.modified().ok()?;
            let age_s = now.duration_since(modified).unwrap_or(Duration::ZERO).as_secs();
            Some((modified, BackupFile { path: e.path(), bytes: meta.len(), age_s }))
        })
        .collect();
    files.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.path.cmp(&a.1.path)));
    Ok(files.into_iter().map(|(_, f)| f).collect())
}

/// Deletes backups beyond keep_count (newest kept) or older than keep_days; never `keep`.
fn prune(env: &Environment, dir: &Path, keep: &Path) -> Result<Vec<PathBuf>> {
    let files = list_in(dir, &env.name)?;
    let mut pruned = Vec::new();
    for (i, f) in files.iter().enumerate() {
        if f.path == keep {
            continue;
        }
        let over_count = env.backup.keep_count.is_some_and(|n| i >= n as usize);
        let too_old = env.backup.keep_days.is_some_and(|d| f.age_s > d as u64 * 86_400);
        if over_count || too_old {
            std::fs::remove_file(&f.path)
                .map_err(|e| Error::database(format!("{}: {e}", f.path.display())))?;
            pruned.push(f.path.clone());
        }
    }
    Ok(pruned)
}

/// Clears what a dump recreates, so objects made after the backup do not survive the
/// restore: extensions (but plpgsql), every user schema but public (the dump recreates
/// them), and in public the relations, routines and types. Names are gathered before any
/// drop, since a CASCADE drop would leave later rows pointing at nothing.
const CLEAR: &str = r#"DO $sluice_restore$
DECLARE
  stmts text[];
  s text;
BEGIN
  SELECT coalesce(array_agg(x ORDER BY ord), '{}') INTO stmts FROM (
    SELECT 1 AS ord, format('DROP EXTENSION IF EXISTS %I CASCADE', extname) AS x
      FROM pg_extension WHERE extname <> 'plpgsql'
    UNION ALL
    SELECT 2, format('DROP SCHEMA IF EXISTS %I CASCADE', nspname) FROM pg_namespace
      WHERE nspname NOT IN ('public', 'information_schema') AND nspname NOT LIKE 'pg\_%'
    UNION ALL
    SELECT 3, format('DROP %s IF EXISTS public.%I CASCADE',
        CASE relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
          WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, relname)
      FROM pg_class c WHERE relnamespace = 'public'::regnamespace
        AND relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
        -- serial and identity sequences go with their table
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
          AND d.objid = c.oid AND d.deptype IN ('a', 'i'))
    UNION ALL
    SELECT 4, format('DROP ROUTINE IF EXISTS public.%I(%s) CASCADE', proname,
        pg_get_function_identity_arguments(oid))
      FROM pg_proc WHERE pronamespace = 'public'::regnamespace
    UNION ALL
    SELECT 5, format('DROP %s IF EXISTS public.%I CASCADE',
        CASE typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, typname)
      FROM pg_type t WHERE typnamespace = 'public'::regnamespace
        AND (typtype IN ('e', 'd', 'r')
          OR (typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'))
  ) q;
  FOREACH s IN ARRAY stmts LOOP
    EXECUTE s;
  END LOOP;
END
$sluice_restore$"#;

/// Restores `file` in one transaction: psql gets BEGIN, the clearing block, the script
/// pg_restore writes from the archive, and COMMIT only once pg_restore has finished well.
/// On any error (or a truncated archive) the transaction is never committed: nothing changed.
pub async fn restore(env: &Environment, file: &Path) -> Result<()> {
    use tokio::io::AsyncWriteExt;
    if !file.is_file() {
        return Err(Error::input(format!("{}: no such backup file", file.display())));
    }
    let target = Target::resolve(env)?;
    let major = server_major(&target).await?;
    verify(file, major).await?;
    let pg_restore = client_tool("pg_restore", major).await?;
    let psql = client_tool("psql", major).await?;
    let mut apply = Command::new(psql);
    apply
        .args(["--no-psqlrc", "--quiet", "--set", "ON_ERROR_STOP=1", "--dbname"])
        .arg(target.dbname());
    tool_env(&target, &mut apply);
    apply.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::piped());
    let mut apply = apply.spawn().map_err(|e| Error::database(format!("psql: {e}")))?;
    let mut script = Command::new(pg_restore);
    script.args(["--file", "-"]).arg(file);
    script.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    let mut script = script.spawn().map_err(|e| Error::database(format!("pg_restore: {e}")))?;
    let (Some(mut input), Some(mut output)) = (apply.stdin.take(), script.stdout.take()) else {
        return Err(Error::database("restore: no pipe to psql or from pg_restore"));
    };
    // Both stderrs are read as they come, so neither tool can stall on a full pipe.
    let (apply_err, script_err) = (drain(apply.stderr.take()), drain(script.stderr.take()));
    let fed = async {
        let begin = format!("SET client_min_messages = warning;\nBEGIN;\n{CLEAR};\n");
        input.write_all(begin.as_bytes()).await?;
        tokio::io::copy(&mut output, &mut input).await?;
        Ok::<_, std::io::Error>(())
    }
    .await;
    let dumped = script.wait().await.map_err(|e| Error::database(format!("pg_restore: {e}")))?;
    let complete = fed.is_ok() && dumped.success();
    if complete {
        // A psql that already stopped on an error makes this write fail: nothing to commit.
        let _ = input.write_all(b"COMMIT;\n").await;
    }
    drop(input);
    let applied = apply.wait().await.map_err(|e| Error::database(format!("psql: {e}")))?;
    if !applied.success() {
        return Err(Error::database(format!(
            "the restore failed and was rolled back (nothing was changed): {}",
            apply_err.await.unwrap_or_default().trim()
        )));
    }
    if !complete {
        return Err(Error::database(format!(
            "pg_restore could not read all of {} (the restore was rolled back, nothing was changed): {}",
            file.display(),
            script_err.await.unwrap_or_default().trim()
        )));
    }
    Ok(())
}

/// Reads a child's stderr to the end in the background.
fn drain(pipe: Option<tokio::process::ChildStderr>) -> tokio::task::JoinHandle<String> {
    tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let mut buf = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut buf).await;
        }
        String::from_utf8_lossy(&buf).into_owned()
    })
}

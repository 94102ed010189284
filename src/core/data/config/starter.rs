//! What `sluice init` writes for a project that has none: the migrations folder found where
//! the common tools keep theirs, its layout, and a commented sluice.toml with one development
//! environment reading DATABASE_URL.

use std::path::{Path, PathBuf};

use crate::core::data::source::{self, Layout};
use crate::core::error::{Error, Result};

/// Where the common tools keep their migrations, relative to the project root, in the order
/// they are tried.
pub const CANDIDATES: [&str; 10] = [
    "migrations",
    "db/migrations",
    "db/migration",
    "src/main/resources/db/migration",
    "prisma/migrations",
    "drizzle",
    "supabase/migrations",
    "database/migrations",
    "sql/migrations",
    "schema/migrations",
];

/// A migrations folder found under the root.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// Relative to the project root, as sluice.toml names it.
    pub dir: String,
    pub layout: Layout,
    pub migrations: usize,
    /// Other folders found that hold migrations too (by the deeper search).
    pub others: Vec<String>,
}

/// The first candidate folder that holds migrations sluice can read; else a folder found
/// deeper whose path names migrations (`internal/storage/postgres/migrations`,
/// `assets/migrations/postgres`); else an existing but empty `migrations/`; else None (a new
/// project).
pub fn find(root: &Path) -> Result<Option<Found>> {
    let mut empty = None;
    for rel in CANDIDATES {
        let dir = root.join(rel);
        if !dir.is_dir() {
            continue;
        }
        let found = read(root, rel)?;
        if found.migrations > 0 {
            return Ok(Some(found));
        }
        empty.get_or_insert(found);
    }
    let mut deeper = Vec::new();
    for rel in search(root) {
        // A folder found by its name alone that sluice cannot read is not the project's.
        match read(root, &rel) {
            Ok(f) if f.migrations > 0 => deeper.push(f),
            _ => {}
        }
    }
    // Several (one per database engine, say): PostgreSQL's first, then the shallowest.
    deeper.sort_by_key(|f| (!names_postgres(&f.dir), f.dir.matches('/').count(), f.dir.clone()));
    let others: Vec<String> = deeper.iter().skip(1).map(|f| f.dir.clone()).collect();
    if let Some(mut first) = deeper.into_iter().next() {
        first.others = others;
        return Ok(Some(first));
    }
    Ok(empty)
}

fn read(root: &Path, rel: &str) -> Result<Found> {
    let dir = root.join(rel);
    let context = |e: Error| e.context(format_args!("{rel} (found as the migrations folder)"));
    let layout = source::detect(&dir).map_err(context)?;
    let folder = source::load_tolerant(&dir, Some(layout)).map_err(context)?;
    let migrations = folder.migrations.len() + folder.unreadable.len();
    Ok(Found { dir: rel.to_string(), layout, migrations, others: Vec::new() })
}

fn names_postgres(rel: &str) -> bool {
    rel.split('/').any(|p| matches!(p, "postgres" | "postgresql" | "pg" | "pgsql"))
}

/// Folders below `root` (at most 6 deep) named `migrations` or `migration`, or right below
/// one: what other tools' projects keep away from the usual places. Dependencies, build
/// output, test data and hidden folders are not looked into.
fn search(root: &Path) -> Vec<String> {
    const SKIP: [&str; 9] = [
        "node_modules",
        "vendor",
        "target",
        "dist",
        "build",
        "testdata",
        "fixtures",
        "venv",
        "__pycache__",
    ];
    let mut out = Vec::new();
    let mut queue = vec![(root.to_path_buf(), String::new(), 0, false)];
    let mut visited = 0;
    while let Some((dir, rel, depth, under)) = queue.pop() {
        visited += 1;
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        if visited > 20_000 {
            break;
        }
        for e in entries.flatten() {
            let Some(name) = e.file_name().to_str().map(str::to_string) else { continue };
            if name.starts_with('.') || SKIP.contains(&name.as_str()) {
                continue;
            }
            // Not through symlinks: a link to `/` must not make init walk the machine.
            if !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let child = if rel.is_empty() { name.clone() } else { format!("{rel}/{name}") };
            let named = matches!(name.as_str(), "migrations" | "migration");
            if (named || under) && !CANDIDATES.contains(&child.as_str()) {
                out.push(child.clone());
            }
            if depth < 6 {
                queue.push((e.path(), child, depth + 1, named));
            }
        }
    }
    out.sort();
    out
}

/// The sluice.toml for a project named `name` whose migrations are `found`.
pub fn template(name: &str, found: Option<&Found>) -> String {
    let (dir, layout, note) = match found {
        Some(f) => (
            f.dir.as_str(),
            f.layout.as_str(),
            format!(
                "# Found {} migration(s) in {}/, read as {} reads them.\n{}",
                f.migrations,
                f.dir,
                f.layout,
                f.others
                    .iter()
                    .map(|o| format!("# Migrations also in {o}/.\n"))
                    .collect::<String>()
            ),
        ),
        None => (
            "migrations",
            "auto",
            "# No migrations yet: `sluice new NAME` writes the first.\n".into(),
        ),
    };
    // Values, then their comments in one column.
    let kv = |line: String, comment: &str| format!("{line:<30}# {comment}\n");
    let mut out = String::from(
        "# sluice.toml: written by `sluice init`. Every key is documented in the README.\n",
    );
    out.push_str(&note);
    out.push_str("\n[project]\n");
    let quoted = |v: &str| toml::Value::String(v.to_string()).to_string();
    out.push_str(&format!("name = {}\n", quoted(name)));
    out.push_str(&format!("migrations = {}\n", quoted(dir)));
    out.push_str(&kv(
        format!("layout = \"{layout}\""),
        "auto | sluice | golang-migrate | dbmate | flyway | diesel | sqlx | prisma | drizzle | goose | sql-migrate",
    ));
    out.push_str(&kv("# lock_timeout = \"5s\"".into(), "how long a statement may wait for a lock"));
    out.push_str("\n[environments.dev]\n");
    out.push_str(&kv("tier = \"development\"".into(), "development | testing | production"));
    out.push_str(&kv(
        "url_env = \"DATABASE_URL\"".into(),
        "the URL comes from this variable (never a password in this file)",
    ));
    out.push_str(
        r#"
# A production environment, when you are ready:
# [environments.prod]
# tier = "production"
# url_env = "PROD_DATABASE_URL"
# sslmode = "verify-full"
# backup = { mode = "required", dir = "/var/backups/sluice", keep_days = 35 }
# approvals = { required = 2, ticket = "required" }
"#,
    );
    out
}

/// Writes `root/sluice.toml`; an existing one is never overwritten.
pub fn write(root: &Path, text: &str) -> Result<PathBuf> {
    let path = root.join(super::PROJECT_FILE);
    if path.exists() {
        return Err(Error::input(format!(
            "{} already exists: edit it, or move it away to start over",
            path.display()
        )));
    }
    std::fs::create_dir_all(root).map_err(|e| Error::input(format!("{}: {e}", root.display())))?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| Error::input(format!("{}: {e}", path.display())))?;
    std::io::Write::write_all(&mut f, text.as_bytes())
        .map_err(|e| Error::input(format!("{}: {e}", path.display())))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_tools_folders_and_writes_a_config_that_parses() {
        let root = tempfile::tempdir().unwrap();
        assert_eq!(find(root.path()).unwrap(), None);
        let prisma = root.path().join("prisma/migrations/20240101000000_init");
        std::fs::create_dir_all(&prisma).unwrap();
        std::fs::write(prisma.join("migration.sql"), "CREATE TABLE t (a int);").unwrap();
        std::fs::create_dir(root.path().join("migrations")).unwrap();
        let found = find(root.path()).unwrap().unwrap();
        assert_eq!(
            found,
            Found {
                dir: "prisma/migrations".into(),
                layout: Layout::Prisma,
                migrations: 1,
                others: vec![]
            }
        );
        let text = template("shop \"north\"", Some(&found));
        let p = crate::core::data::config::Project::parse(&text, root.path()).unwrap();
        assert_eq!(p.layout, Some(Layout::Prisma));
        assert_eq!(p.name, "shop \"north\"", "a folder name is quoted as TOML");
        assert!(p.migrations_dir.ends_with("prisma/migrations"));
        assert_eq!(p.environment(None).unwrap().url_env.as_deref(), Some("DATABASE_URL"));
        write(root.path(), &text).unwrap();
        let again = write(root.path(), "x").unwrap_err();
        assert!(again.message.contains("already exists"), "{}", again.message);
        assert_eq!(std::fs::read_to_string(root.path().join("sluice.toml")).unwrap(), text);
    }

    #[test]
    fn finds_migrations_kept_deeper_and_prefers_postgres() {
        let root = tempfile::tempdir().unwrap();
        let goose = "-- +goose Up\nCREATE TABLE t (a int);\n";
        let write = |rel: &str, text: &str| {
            let p = root.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        write("node_modules/pkg/migrations/1_a.sql", goose);
        write("internal/store/migrations/mysql/1_a.sql", goose);
        write("internal/store/migrations/postgres/1_a.sql", goose);
        write("internal/store/migrations/postgres/2_b.sql", goose);
        write("docs/migration/README.md", "how we migrate\n");
        #[cfg(unix)]
        std::os::unix::fs::symlink("/", root.path().join("internal/root")).unwrap();
        let found = find(root.path()).unwrap().unwrap();
        assert_eq!(found.dir, "internal/store/migrations/postgres");
        assert_eq!((found.layout, found.migrations), (Layout::Goose, 2));
        assert_eq!(found.others, ["internal/store/migrations/mysql"], "node_modules is skipped");
        let text = template("x", Some(&found));
        assert!(text.contains("# Migrations also in internal/store/migrations/mysql/."), "{text}");
    }
}

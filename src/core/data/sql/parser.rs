//! The one way into libpg_query. The library makes a pthread key the first time a thread
//! parses and never deletes it, and glibc has 1,024 per process: parsing on short-lived
//! threads (lint workers, tokio's blocking pool) used them up over a long session, after
//! which anything else needing one failed (OpenSSL could no longer set up a TLS
//! connection). So every parse runs on a few threads that live as long as the process.

use std::sync::OnceLock;

use rayon::prelude::*;

fn pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        let n = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .thread_name(|i| format!("sluice-parser-{i}"))
            // The parser recurses on nested expressions: give it the main thread's stack.
            .stack_size(8 << 20)
            .build()
            .map_err(|e| tracing::warn!("no parser threads ({e}); parsing on the caller's"))
            .ok()
    })
    .as_ref()
}

/// Runs `f` on a parser thread and waits for it (at once when already on one).
pub fn run<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    match pool() {
        Some(p) if p.current_thread_index().is_none() => p.install(f),
        _ => f(),
    }
}

/// `f` over `items` on every parser thread; results in the items' order.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync + Send) -> Vec<R> {
    run(|| items.par_iter().map(f).collect())
}

pub fn parse(sql: &str) -> pg_query::Result<pg_query::ParseResult> {
    run(|| pg_query::parse(sql, 0))
}

pub fn scan(sql: &str) -> pg_query::Result<pg_query::protobuf::ScanResult> {
    run(|| pg_query::scan(sql))
}

pub fn scan_tokens(sql: &str) -> pg_query::Result<Vec<pg_query::protobuf::ScanToken>> {
    run(|| pg_query::scan_tokens(sql))
}

pub fn split_with_parser(sql: &str) -> pg_query::Result<Vec<&str>> {
    run(|| pg_query::split_with_parser(sql))
}

#[cfg(test)]
mod tests {
    /// The lowest free pthread key: glibc hands out the lowest unused one.
    fn next_key() -> libc::pthread_key_t {
        let mut key: libc::pthread_key_t = 0;
        // SAFETY: a key is made and deleted at once; nothing is stored under it.
        unsafe {
            assert_eq!(libc::pthread_key_create(&mut key, None), 0, "pthread keys exhausted");
            libc::pthread_key_delete(key);
        }
        key
    }

    #[test]
    fn parsing_on_short_lived_threads_uses_no_pthread_keys() {
        super::parse("SELECT 1").unwrap();
        let before = next_key();
        for _ in 0..64 {
            std::thread::spawn(|| {
                crate::core::data::sql::split("CREATE TABLE t (id int); SELECT 1;").unwrap();
                let input = crate::core::data::lint::Input {
                    path: "1_t.up.sql".into(),
                    text: "ALTER TABLE t ADD COLUMN c int NOT NULL DEFAULT 1;".into(),
                    down: crate::core::data::lint::Down::NotJudged,
                    no_transaction: false,
                };
                crate::core::data::lint::lint(&[input], &Default::default());
            })
            .join()
            .unwrap();
        }
        // Other tests running meanwhile may hold a key or two; 64 leaked would be the bug.
        let grown = next_key().saturating_sub(before);
        assert!(grown < 8, "{grown} pthread keys used by 64 threads that parsed");
    }
}

//! The audit log's hash chain. Every line ends with `"hash":"<sha256>"` over the rest of the
//! line, and carries `"prev"`: the hash of the line before (64 zeros for the first). Editing
//! a line breaks its own hash; editing it and fixing its hash breaks the next line's `prev`;
//! removing or inserting a line breaks `prev` too. Appends hold an exclusive flock, so two
//! sluice processes cannot fork the chain.

use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::core::error::{Error, Result};

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
const HASH_KEY: &str = ",\"hash\":\"";

fn sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// `(body, hash)` of a chained line: the body is the line without its hash field.
fn split(line: &str) -> Option<(String, &str)> {
    let at = line.rfind(HASH_KEY)?;
    let hash = line[at + HASH_KEY.len()..].strip_suffix("\"}")?;
    (hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| (format!("{}}}", &line[..at]), hash))
}

/// What the next line's `prev` must be: a chained line's hash, an older unchained line's
/// SHA-256.
fn line_hash(line: &str) -> String {
    match split(line) {
        Some((_, h)) => h.to_string(),
        None => sha256(line),
    }
}

/// The file's last line, read from its tail.
fn last_line(f: &mut std::fs::File) -> Result<Option<String>> {
    let len = f.seek(SeekFrom::End(0)).map_err(io)?;
    let from = len.saturating_sub(256 * 1024);
    f.seek(SeekFrom::Start(from)).map_err(io)?;
    let mut tail = String::new();
    f.read_to_string(&mut tail).map_err(io)?;
    Ok(tail
        .trim_end_matches('\n')
        .rsplit('\n')
        .next()
        .filter(|l| !l.is_empty())
        .map(str::to_string))
}

fn io(e: std::io::Error) -> Error {
    Error::database(format!("audit log: {e}"))
}

/// Appends `entry` (a JSON object) as the next line of the chain.
pub fn append(log: &Path, mut entry: serde_json::Value) -> Result<()> {
    let mut f = crate::core::host::private::open_append(log)?;
    // SAFETY: flock on a descriptor we own; released when `f` closes.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(io(std::io::Error::last_os_error()));
    }
    let prev = last_line(&mut f)?.map(|l| line_hash(&l)).unwrap_or_else(|| GENESIS.into());
    if let Some(obj) = entry.as_object_mut() {
        obj.insert("prev".into(), prev.into());
    }
    let body = entry.to_string();
    let hash = sha256(&body);
    let line = format!("{}{HASH_KEY}{hash}\"}}\n", &body[..body.len() - 1]);
    f.write_all(line.as_bytes()).map_err(io)?;
    f.sync_data().map_err(io)
}

/// The first break in the chain: its line number and what is wrong with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Broken {
    pub line: usize,
    pub what: String,
}

/// Checks every line. Ok: the number of lines and how many of the first ones predate the
/// chain (written before sluice chained its log).
pub fn verify(log: &Path) -> Result<std::result::Result<(usize, usize), Broken>> {
    let text = std::fs::read_to_string(log)
        .map_err(|e| Error::input(format!("audit log {}: {e}", log.display())))?;
    let mut prev: Option<String> = None;
    let mut unchained = 0;
    let mut chained = false;
    let mut n = 0;
    for (i, line) in text.lines().enumerate() {
        n = i + 1;
        let broken = |what: &str| Ok(Err(Broken { line: i + 1, what: what.to_string() }));
        let Some((body, hash)) = split(line) else {
            if chained {
                return broken("has no hash: written or edited by hand after the chain began");
            }
            unchained += 1;
            prev = Some(line_hash(line));
            continue;
        };
        chained = true;
        if sha256(&body) != hash {
            return broken("was edited: its content no longer matches its hash");
        }
        let said: Option<String> = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("prev").and_then(|p| p.as_str()).map(str::to_string));
        let want = prev.clone().unwrap_or_else(|| GENESIS.to_string());
        if said.as_deref() != Some(want.as_str()) {
            return broken(
                "does not follow the line before it: a line before it was edited, removed or inserted",
            );
        }
        prev = Some(hash.to_string());
    }
    Ok(Ok((n, unchained)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_edited_removed_or_inserted_line_is_found() {
        let d = tempfile::tempdir().unwrap();
        let log = d.path().join("audit.jsonl");
        std::fs::write(&log, "{\"legacy\":1}\n").unwrap();
        for i in 0..4 {
            append(&log, json!({ "run_id": format!("r{i}"), "outcome": "done" })).unwrap();
        }
        assert_eq!(verify(&log).unwrap(), Ok((5, 1)));
        let good = std::fs::read_to_string(&log).unwrap();
        let lines: Vec<&str> = good.lines().collect();

        let edited = good.replacen("\"run_id\":\"r2\"", "\"run_id\":\"r9\"", 1);
        assert_ne!(edited, good);
        std::fs::write(&log, &edited).unwrap();
        assert_eq!(verify(&log).unwrap().unwrap_err().line, 4);

        // Edited with its own hash recomputed: the next line no longer follows it.
        let (body, _) = split(lines[2]).unwrap();
        let forged_body = body.replace("\"done\"", "\"fail\"");
        let forged = format!(
            "{}{HASH_KEY}{}\"}}",
            &forged_body[..forged_body.len() - 1],
            sha256(&forged_body)
        );
        let mut l2 = lines.clone();
        l2[2] = &forged;
        std::fs::write(&log, l2.join("\n") + "\n").unwrap();
        let b = verify(&log).unwrap().unwrap_err();
        assert_eq!(b.line, 4, "{b:?}");
        assert!(b.what.contains("does not follow"), "{b:?}");

        let mut removed = lines.clone();
        removed.remove(2);
        std::fs::write(&log, removed.join("\n") + "\n").unwrap();
        assert_eq!(verify(&log).unwrap().unwrap_err().line, 3);

        let mut inserted = lines.clone();
        inserted.insert(3, "{\"run_id\":\"x\"}");
        std::fs::write(&log, inserted.join("\n") + "\n").unwrap();
        assert!(verify(&log).unwrap().unwrap_err().what.contains("no hash"));
    }
}

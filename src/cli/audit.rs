//! `sluice audit verify`: the audit log's hash chain, checked line by line.

use std::path::PathBuf;

use serde_json::json;

use super::output::print_json;
use crate::args::Format;
use crate::core::data::config::paths::audit_log;
use crate::core::error::Result;
use crate::core::record::audit::chain;

pub fn verify(format: Format, file: Option<PathBuf>) -> Result<i32> {
    let log = match file {
        Some(f) => f,
        None => audit_log()?,
    };
    let result = chain::verify(&log)?;
    if format == Format::Json {
        let v = match &result {
            Ok((lines, unchained)) => {
                json!({ "log": log, "intact": true, "lines": lines, "unchained": unchained })
            }
            Err(b) => json!({ "log": log, "intact": false, "line": b.line, "problem": b.what }),
        };
        print_json(&v);
    } else {
        match &result {
            Ok((lines, unchained)) => {
                println!("{}: {lines} line(s), the hash chain is intact", log.display());
                if *unchained > 0 {
                    println!(
                        "  the first {unchained} line(s) predate the chain and are not covered"
                    );
                }
            }
            Err(b) => println!("{}:{}: {}", log.display(), b.line, b.what),
        }
    }
    Ok(if result.is_ok() { 0 } else { 1 })
}

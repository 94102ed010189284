//! How changes travel between databases: `promote_from` chains (dev → staging → prod),
//! checked once the whole file is read, and fleets (`fleet`, `rollout`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::raw::RawEnvironment;
use super::Environment;
use crate::core::error::{Error, Result};

/// Every `promote_from` names another environment of the file, and no chain comes back
/// to where it started (each link is checked on its own apply, so a loop could never pass).
pub(super) fn check_promotions(envs: &BTreeMap<String, Environment>) -> Result<()> {
    for env in envs.values() {
        let Some(from) = env.promote_from.as_deref() else { continue };
        let here = format!("[environments.{}] promote_from = {from:?}", env.name);
        if from == env.name {
            return Err(Error::input(format!("{here}: an environment cannot promote from itself")));
        }
        if !envs.contains_key(from) {
            let names: Vec<&str> = envs.keys().map(String::as_str).collect();
            return Err(Error::input(format!(
                "{here}: no such environment; sluice.toml defines: {}",
                names.join(", ")
            )));
        }
        let mut chain = vec![env.name.as_str()];
        let mut at = from;
        while let Some(next) = envs.get(at).and_then(|e| e.promote_from.as_deref()) {
            chain.push(at);
            if chain.contains(&next) {
                chain.push(next);
                return Err(Error::input(format!(
                    "{here}: the promotion chain loops ({}); one environment must be first",
                    chain.iter().rev().copied().collect::<Vec<_>>().join(" → ")
                )));
            }
            at = next;
        }
    }
    Ok(())
}

/// Where a fleet's databases are listed, in rollout order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FleetSource {
    /// One URL per line; `#` starts a comment.
    File(PathBuf),
    Urls(Vec<String>),
    /// A query on a catalog database (its URL in `url_env`) whose first column is the URL.
    Query {
        query: String,
        url_env: String,
    },
}

/// How a fleet is rolled out: `canary` databases alone first, then waves of the given
/// sizes, then the rest; at most `parallel` at once; no new start once more than
/// `max_failures` have failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollout {
    pub canary: usize,
    pub waves: Vec<usize>,
    pub parallel: usize,
    pub max_failures: usize,
}

impl Default for Rollout {
    fn default() -> Rollout {
        Rollout { canary: 1, waves: Vec::new(), parallel: 4, max_failures: 0 }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fleet {
    pub source: FleetSource,
    pub rollout: Rollout,
}

/// The `fleet` and `rollout` tables of an environment, checked.
pub(super) fn fleet(raw: &RawEnvironment, root: &Path) -> Result<Option<Fleet>> {
    let Some(f) = &raw.fleet else {
        if raw.rollout.is_some() {
            return Err(Error::input("rollout is for a fleet: add fleet = { file = \"...\" }"));
        }
        return Ok(None);
    };
    if raw.url.is_some() || raw.url_env.is_some() {
        return Err(Error::input(
            "a fleet lists its databases: set fleet or url/url_env, not both",
        ));
    }
    let source = match (&f.file, &f.urls, &f.query, &f.url_env) {
        (Some(file), None, None, None) => FleetSource::File(root.join(file)),
        (None, Some(urls), None, None) => {
            for (i, u) in urls.iter().enumerate() {
                no_password(u, &format!("fleet.urls[{i}]"))?;
            }
            FleetSource::Urls(urls.clone())
        }
        (None, None, Some(query), Some(var)) => {
            FleetSource::Query { query: query.clone(), url_env: var.clone() }
        }
        (None, None, Some(_), None) => {
            return Err(Error::input(
                "fleet.query needs url_env = \"VAR\": the variable holding the catalog database's URL",
            ))
        }
        _ => {
            return Err(Error::input(
                "fleet = { file = \"tenants.txt\" } or { urls = [...] } or { query = \"SELECT url ...\", url_env = \"VAR\" }: exactly one",
            ))
        }
    };
    let rollout = match &raw.rollout {
        None => Rollout::default(),
        Some(r) => Rollout {
            canary: r.canary.unwrap_or(1),
            waves: r.waves.clone().unwrap_or_default(),
            parallel: r.parallel.unwrap_or(4),
            max_failures: r.max_failures.unwrap_or(0),
        },
    };
    if rollout.parallel == 0 || rollout.parallel > 256 {
        return Err(Error::input(format!(
            "rollout.parallel = {}: between 1 and 256",
            rollout.parallel
        )));
    }
    if rollout.waves.contains(&0) {
        return Err(Error::input("rollout.waves: a wave holds at least one database"));
    }
    Ok(Some(Fleet { source, rollout }))
}

/// A fleet's URL never carries a password: libpq's rules give it (PGPASSWORD, ~/.pgpass).
pub fn no_password(url: &str, at: &str) -> Result<()> {
    if super::url_has_password(url) {
        return Err(Error::input(format!(
            "{at}: the URL holds a password; fleets list URLs without passwords: use PGPASSWORD or ~/.pgpass"
        )));
    }
    Ok(())
}

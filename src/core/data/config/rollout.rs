//! How environments hand changes on to each other: `promote_from` chains
//! (dev → staging → prod), checked once the whole file is read.

use std::collections::BTreeMap;

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

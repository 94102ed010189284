//! What an environment's tier and policy require of the person who signs a run.

use crate::core::data::config::{Environment, Tier};
use crate::core::error::{Error, Result};

/// Refuses a write to a production-tier environment unless its name was repeated.
pub fn check_confirmation(env: &Environment, confirm: Option<&str>, action: &str) -> Result<()> {
    if env.tier == Tier::Production && confirm != Some(env.name.as_str()) {
        return Err(Error::guard(match confirm {
            None => format!(
                "{} is a production environment: repeat its name to {action}: --confirm {}",
                env.name, env.name
            ),
            Some(other) => format!(
                "--confirm {other:?} does not match the environment {:?}; nothing was done",
                env.name
            ),
        }));
    }
    Ok(())
}

/// Whether a backup is taken before a change: always where the policy requires one,
/// otherwise as the operator asked (`wanted`), and by default not.
pub fn backup_taken(env: &Environment, wanted: Option<bool>) -> bool {
    use crate::core::data::config::BackupMode;
    match (env.backup.mode, wanted) {
        (BackupMode::Required, _) => true,
        (_, Some(w)) => w,
        _ => false,
    }
}

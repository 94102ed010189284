//! What an environment's tier and policy require of the person who signs a change there:
//! one table both faces read (the console's confirmation form, the CLI's flags) and the
//! engine enforces.

use crate::core::data::config::{BackupMode, Environment, TicketPolicy, Tier};
use crate::core::error::{Error, Refusal, Result};

/// How an operator confirms a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    /// Development: asking for the change is the confirmation.
    Ask,
    /// Testing: one more keypress in the console (a headless run needs nothing more).
    Keypress,
    /// Production, and every restore: the environment's name typed out.
    TypedName,
}

/// What a change on an environment needs from whoever signs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirements {
    pub confirmation: Confirmation,
    /// A second person's name and one-time code (`approvals.required = 2`).
    pub second_approver: bool,
    pub ticket: TicketPolicy,
}

impl Requirements {
    /// What apply, rollback, resolve and adopt need on this environment.
    pub fn of(env: &Environment) -> Requirements {
        Requirements::for_tier(env.tier, env.approvals.required, env.approvals.ticket)
    }

    /// What a tier requires, with its approvals policy.
    pub fn for_tier(tier: Tier, approvals: u8, ticket: TicketPolicy) -> Requirements {
        let confirmation = match tier {
            Tier::Development => Confirmation::Ask,
            Tier::Testing => Confirmation::Keypress,
            Tier::Production => Confirmation::TypedName,
        };
        Requirements { confirmation, second_approver: approvals >= 2, ticket }
    }

    /// A restore replaces data: its name typed out on every tier.
    pub fn restore(env: &Environment) -> Requirements {
        Requirements { confirmation: Confirmation::TypedName, ..Requirements::of(env) }
    }

    pub fn ticket_required(&self) -> bool {
        self.ticket == TicketPolicy::Required
    }
}

/// How an operator signs a change: the typed name, and where the policy asks for them, a
/// ticket and a second approver's name and code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sign {
    pub confirm: Option<String>,
    pub ticket: Option<String>,
    pub approval: Option<(String, String)>,
}

/// Refuses a change whose typed confirmation the requirements ask for and did not get.
pub fn check_typed_name(
    env: &Environment,
    needs: &Requirements,
    confirm: Option<&str>,
    action: &str,
) -> Result<()> {
    if needs.confirmation != Confirmation::TypedName || confirm == Some(env.name.as_str()) {
        return Ok(());
    }
    let refusal = Refusal::Confirmation { environment: env.name.clone() };
    Err(Error::refused(
        refusal,
        match confirm {
            None if env.tier == Tier::Production => {
                format!("{} is a production environment: repeat its name to {action}", env.name)
            }
            None => format!("repeat the name of {} to {action}", env.name),
            Some(other) => format!(
                "the typed name {other:?} does not match the environment {:?}; nothing was done",
                env.name
            ),
        },
    ))
}

/// Refuses a write to a production-tier environment unless its name was repeated.
pub fn check_confirmation(env: &Environment, confirm: Option<&str>, action: &str) -> Result<()> {
    check_typed_name(env, &Requirements::of(env), confirm, action)
}

/// Whether a backup is taken before a change: always where the policy requires one,
/// otherwise as the operator asked (`wanted`), and by default not.
pub fn backup_taken(env: &Environment, wanted: Option<bool>) -> bool {
    match (env.backup.mode, wanted) {
        (BackupMode::Required, _) => true,
        (_, Some(w)) => w,
        _ => false,
    }
}

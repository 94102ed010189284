//! What the command line offers for each of the engine's refusals: its own flags and
//! commands. The engine says what and why; this says how, in the CLI's terms.

use crate::core::error::Refusal;

/// The remedy to print after a refusal's message; `action` is the run's (apply, resolve...)
/// where one is known.
pub fn hint(refusal: &Refusal, action: Option<&str>) -> String {
    match refusal {
        Refusal::Confirmation { environment } => format!(" (--confirm {environment})"),
        Refusal::Ticket => " (--ticket REF)".into(),
        Refusal::SecondApprover => " (--approver NAME --approval-code CODE)".into(),
        Refusal::LintGate => ": --override-lint \"reason\"".into(),
        Refusal::MaintenanceWindow => {
            "; to run outside the window pass --override-window \"reason\" (recorded)".into()
        }
        Refusal::Promotion { from } => format!(
            "; to apply what {from} has not run pass --override-promotion \"reason\" (recorded)"
        ),
        Refusal::Drift => ": --allow-drift".into(),
        Refusal::OutOfOrder => ": --allow-out-of-order".into(),
        Refusal::FailedMigration { version } => {
            format!(": sluice resolve {version} --retry | --mark-applied | --mark-rolled-back")
        }
        Refusal::BackupRequired => " (--no-backup is refused)".into(),
        Refusal::LedgerLocked => String::new(),
        Refusal::ReasonMissing if matches!(action, Some("apply" | "dry-run")) => {
            ": --override-lint \"CHG-4411: table is empty\"".into()
        }
        Refusal::ReasonMissing => " (--reason TEXT)".into(),
        Refusal::FailedInHistory => {
            ": --failed applied --reason TEXT (it was finished by hand) or --failed failed (record it failed; sluice resolve settles it)".into()
        }
        Refusal::ChooseTool => " with --from TOOL".into(),
        Refusal::NameHistoryTable => " with --table SCHEMA.TABLE".into(),
        Refusal::ChooseEnvironment => " with --env NAME".into(),
        Refusal::NoProject => " (--project DIR)".into(),
    }
}

/// A message with the CLI's remedy after it.
pub fn phrase(message: &str, refusal: Option<&Refusal>, action: Option<&str>) -> String {
    match refusal {
        Some(r) => format!("{message}{}", hint(r, action)),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_names_what_to_type() {
        let confirm = Refusal::Confirmation { environment: "prod".into() };
        assert_eq!(
            phrase("prod is production", Some(&confirm), None),
            "prod is production (--confirm prod)"
        );
        let failed = Refusal::FailedMigration { version: "0007".into() };
        assert!(hint(&failed, None).contains("sluice resolve 0007 --retry"));
        assert!(hint(&Refusal::ReasonMissing, Some("apply")).contains("--override-lint"));
        assert!(hint(&Refusal::ReasonMissing, Some("resolve")).contains("--reason"));
        assert_eq!(phrase("plain", None, None), "plain");
    }
}

//! Second approvers. `sluice approve RUN_ID` run by another person on their own terminal
//! writes a one-time code's hash to the ledger and prints the code; the operator types the
//! approver's name and the code, and the run redeems it. The approver must be a different
//! OS account from the operator (the real uid's account, never a name from the environment:
//! `SLUICE_OPERATOR` is only a label), the code works once, for that run (or, issued without
//! a run, for the next run on that environment), within `VALID_MINUTES`.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio_postgres::GenericClient;

use crate::core::db::ledger::Ledger;
use crate::core::error::{Error, Result};
use crate::core::host::identity::Unvouched;

/// How long a code can be redeemed after it was printed.
pub const VALID_MINUTES: i64 = 30;

/// A redeemed approval, as the run records it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Approval {
    pub approver: String,
    /// The OS account `sluice approve` ran as.
    pub account: String,
    pub host: String,
    /// The database role the approver connected as.
    pub db_user: String,
    pub issued_at: String,
}

fn hash(code: &str) -> String {
    let normal: String =
        code.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_uppercase();
    format!("{:x}", Sha256::digest(normal.as_bytes()))
}

/// Eight characters from an alphabet without look-alikes (no 0/O, 1/I/L), from the OS's
/// random source: about 40 bits, tried at most once per redeem and valid for minutes.
fn new_code() -> Result<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 8];
    let mut f = std::fs::File::open("/dev/urandom")
        .map_err(|e| Error::database(format!("cannot read /dev/urandom for a code: {e}")))?;
    std::io::Read::read_exact(&mut f, &mut bytes)
        .map_err(|e| Error::database(format!("cannot read /dev/urandom for a code: {e}")))?;
    let code: String =
        bytes.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect();
    Ok(format!("{}-{}", &code[..4], &code[4..]))
}

/// Issues a code for `run_id` (or, with None, the next run on `environment`). A run id must
/// name a run of that environment that is still in progress.
pub async fn issue(
    client: &impl GenericClient,
    ledger: &Ledger,
    environment: &str,
    run_id: Option<&str>,
    approver: &str,
    account: &str,
    host: &str,
) -> Result<String> {
    if let Some(id) = run_id {
        let sql = format!(
            "SELECT environment, outcome, operator, details->>'account' FROM {} WHERE run_id = $1",
            ledger.table("runs")
        );
        let row = client.query_opt(&sql, &[&id]).await?;
        let Some(row) = row else {
            return Err(Error::input(format!("no run {id} in the ledger of {environment}")));
        };
        let (env, outcome, operator): (String, String, String) =
            (row.get(0), row.get(1), row.get(2));
        let run_account: Option<String> = row.get(3);
        if env != environment {
            return Err(Error::input(format!("run {id} is a run on {env}, not {environment}")));
        }
        if outcome != "running" {
            return Err(Error::guard(format!("run {id} is over ({outcome}): nothing to approve")));
        }
        if operator == approver || run_account.as_deref() == Some(account) {
            return Err(Error::guard(format!(
                "{approver} (OS account {account}) is the operator of run {id}: a second approver must be someone else, on their own account"
            )));
        }
    }
    let code = new_code()?;
    let sql = format!(
        "INSERT INTO {} (code_hash, run_id, environment, approver, account, client_host) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        ledger.table("approvals")
    );
    client
        .execute(&sql, &[&hash(&code), &run_id, &environment, &approver, &account, &host])
        .await?;
    Ok(code)
}

/// Redeems a code for `run_id`: it must be unused, young enough, issued for this run (or
/// for the next run on this environment), to the person named, from an OS account other
/// than the one this run's process has (`operator_account`).
#[allow(clippy::too_many_arguments)]
pub async fn redeem(
    client: &impl GenericClient,
    ledger: &Ledger,
    environment: &str,
    run_id: &str,
    operator: &str,
    operator_account: &std::result::Result<String, Unvouched>,
    name: &str,
    code: &str,
) -> Result<Approval> {
    let name = name.trim();
    if name.is_empty() || code.trim().is_empty() {
        return Err(Error::guard("the second approver's name and code are both required"));
    }
    let sql = format!(
        "UPDATE {t} SET used_by_run = $3, used_at = now() \
         WHERE code_hash = $1 AND environment = $2 AND (run_id IS NULL OR run_id = $3) \
           AND used_at IS NULL AND issued_at > now() - make_interval(mins => $4::int) \
         RETURNING approver, account, coalesce(client_host, ''), db_user, \
           to_char(issued_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
        t = ledger.table("approvals")
    );
    // Checked before the code is spent: a wrong name must not burn the approver's code.
    let peek = format!(
        "SELECT approver, account FROM {} WHERE code_hash = $1 AND environment = $2 \
         AND (run_id IS NULL OR run_id = $3) AND used_at IS NULL \
         AND issued_at > now() - make_interval(mins => $4::int)",
        ledger.table("approvals")
    );
    let minutes = VALID_MINUTES as i32;
    let h = hash(code);
    let found = client.query_opt(&peek, &[&h, &environment, &run_id, &minutes]).await?;
    let Some(found) = found else {
        return Err(Error::guard(format!(
            "that code does not approve run {run_id}: it is wrong, used, for another run, or older than {VALID_MINUTES} minutes; ask for a new one (sluice approve {run_id} --env {environment})"
        )));
    };
    let approver: String = found.get(0);
    if !approver.eq_ignore_ascii_case(name) {
        return Err(Error::guard(format!("that code was issued to {approver}, not {name}")));
    }
    let issued_by: Option<String> = found.get(1);
    let Some(issued_by) = issued_by else {
        return Err(Error::guard(
            "that code was issued by an older sluice, which did not record the approver's OS account: ask for a new one",
        ));
    };
    let operator_account = operator_account.as_ref().map_err(|u| {
        Error::guard(format!(
            "a second approver's code is only redeemed by a known OS account, and {}: run sluice from your own login",
            u.reason
        ))
    })?;
    if approver == operator || issued_by == *operator_account {
        return Err(Error::guard(format!(
            "that code was issued from the OS account {issued_by}, which runs this too: a second approver must be someone else, on their own account"
        )));
    }
    let row = client
        .query_opt(&sql, &[&h, &environment, &run_id, &minutes])
        .await?
        .ok_or_else(|| Error::guard("that code was used a moment ago: ask for a new one"))?;
    Ok(Approval {
        approver: row.get(0),
        account: row.get(1),
        host: row.get(2),
        db_user: row.get(3),
        issued_at: row.get(4),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_readable_and_compared_loosely() {
        let c = new_code().unwrap();
        assert_eq!(c.len(), 9);
        assert!(c.chars().all(|ch| ch == '-' || "ABCDEFGHJKMNPQRSTUVWXYZ23456789".contains(ch)));
        assert_ne!(new_code().unwrap(), c, "two codes in a row differ");
        // Typed in lower case or without the dash, it is the same code.
        assert_eq!(hash(&c), hash(&c.to_lowercase().replace('-', "")));
        assert_ne!(hash("ABCD-EFGH"), hash("ABCD-EFGJ"));
    }
}

//! Crash consistency, short: a few seeded SIGKILL trials (the reliability script runs 100+
//! of 200 migrations each with the same harness).

use std::path::Path;

use crate::support::{admin, db_url};

#[path = "../faults/crash.rs"]
mod harness;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkilled_apply_leaves_ledger_and_catalog_in_agreement_and_a_rerun_completes() {
    let admin = admin().await;
    let url = |db: &str| db_url(db);
    let env =
        harness::Env { bin: Path::new(env!("CARGO_BIN_EXE_sluice")), db_url: &url, admin: &admin };
    let count = 40;
    let window = harness::calibrate(&env, 1, count).await;
    let mut mid_run = 0;
    let mut failed_seen = 0;
    for seed in 1..=4 {
        let o = harness::trial(&env, seed, count, window).await;
        assert!(o.inconsistencies.is_empty(), "seed {seed}: {:#?}", o.inconsistencies);
        assert!(o.resolved, "seed {seed}: {o:?}");
        assert_eq!(o.seed, seed);
        mid_run += o.killed_mid_run as usize;
        failed_seen += o.failed_after_kill.is_some() as usize;
    }
    assert!(mid_run >= 2, "the kills landed mid-run in {mid_run} of 4 trials");
    eprintln!("crash trials: 4, killed mid-run {mid_run}, left a no-transaction migration failed {failed_seen}");
}

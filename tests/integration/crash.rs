//! Crash consistency: seeded SIGKILL trials. Short by default (4 trials of 40 migrations);
//! `scripts/reliability` runs 100+ trials of 200 migrations through the same test
//! (SLUICE_CRASH_TRIALS, SLUICE_CRASH_MIGRATIONS, SLUICE_CRASH_SEED).

use std::path::Path;

use crate::support::{admin, db_url};

#[path = "../faults/crash.rs"]
mod harness;

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkilled_apply_leaves_ledger_and_catalog_in_agreement_and_a_rerun_completes() {
    let admin = admin().await;
    let url = |db: &str| db_url(db);
    let env =
        harness::Env { bin: Path::new(env!("CARGO_BIN_EXE_sluice")), db_url: &url, admin: &admin };
    let trials = knob("SLUICE_CRASH_TRIALS", 4);
    let count = knob("SLUICE_CRASH_MIGRATIONS", 40) as usize;
    let first = knob("SLUICE_CRASH_SEED", 1);
    let window = harness::calibrate(&env, first, count).await;
    let (mut mid_run, mut failed_seen, mut problems) = (0, 0, Vec::new());
    for seed in first..first + trials {
        let o = harness::trial(&env, seed, count, window).await;
        assert_eq!(o.seed, seed);
        mid_run += o.killed_mid_run as usize;
        failed_seen += o.failed_after_kill.is_some() as usize;
        if trials > 4 {
            eprintln!(
                "trial {seed}: kill at {} ms{}, applied {}, failed {:?}, inconsistencies {}",
                o.kill_after_ms,
                if o.killed_mid_run { "" } else { " (after it finished)" },
                o.applied_after_kill,
                o.failed_after_kill,
                o.inconsistencies.len()
            );
        }
        problems.extend(o.inconsistencies.iter().map(|i| format!("seed {seed}: {i}")));
        if !o.inconsistencies.is_empty() || !o.resolved {
            problems.push(format!("seed {seed}: did not end applied: {o:?}"));
        }
    }
    eprintln!("[figure] crash_trials={trials}");
    eprintln!("[figure] faults_injected={mid_run}");
    eprintln!("[figure] inconsistencies={}", problems.len());
    eprintln!(
        "crash: {trials} trials of {count} migrations (apply takes {} ms), killed mid-run {mid_run}, a no-transaction migration left failed {failed_seen}",
        window.as_millis()
    );
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(mid_run * 2 >= trials as usize, "the kills landed mid-run in {mid_run} of {trials}");
}

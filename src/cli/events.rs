//! Headless runs: the engine's events printed as they come, Ctrl-C as a cancel.

use super::report;
use crate::args::Format;
use crate::core::error::Result;
use crate::core::exec;
use crate::core::record::report::RunReport;

/// Runs an engine call while printing its events (text mode), then prints the report.
/// Ctrl-C cancels the statement in flight and stops the run; a second Ctrl-C exits at once.
pub async fn with_events<F, Fut>(format: Format, f: F) -> Result<i32>
where
    F: FnOnce(exec::Control) -> Fut,
    Fut: std::future::Future<Output = Result<RunReport>>,
{
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let printer = tokio::spawn(async move {
        while let Some(ev) = rx.recv().await {
            if format == Format::Text {
                report::print_event(&ev);
            }
        }
    });
    let interrupt = exec::Interrupt::new();
    let on_ctrl_c = {
        let interrupt = interrupt.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_err() {
                return;
            }
            eprintln!("sluice: cancelling the running statement (Ctrl-C again to quit at once)");
            if let Err(e) = interrupt.cancel().await {
                eprintln!("sluice: {e}");
            }
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        })
    };
    let ctl = exec::Control { events: Some(tx), interrupt: Some(interrupt), fleet: None };
    let result = f(ctl).await;
    on_ctrl_c.abort();
    let _ = printer.await;
    let report = result?;
    report::print_report(format, &report);
    Ok(report.exit_code())
}

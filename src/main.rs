//! Composition: parse the command line, start logging and the runtime, then run the
//! headless command or open the console it asks for. Neither face knows the other.

use clap::Parser;

use sluice::args::Cli;
use sluice::cli::{self, ConsoleRequest, Outcome};
use sluice::core::data::config::paths;

fn main() {
    std::process::exit(run());
}

fn run() -> i32 {
    let args = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    let _log_guard = init_logging();
    // Headless commands run on one thread: a run is a conversation with one server, and
    // every hop between threads (the driver's task, the caller, the watch) is latency the
    // migrations wait for. The console gets worker threads of its own: its screen must not
    // wait for the database.
    let headless = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sluice: cannot start the async runtime: {e}");
            return 3;
        }
    };
    let console = Console { theme: args.theme.clone(), readonly: args.readonly };
    let format = args.format;
    let request = match headless.block_on(cli::run(args)) {
        Outcome::Exit(code) => return code,
        Outcome::Console(request) => request,
    };
    drop(headless);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sluice: cannot start the async runtime: {e}");
            return 3;
        }
    };
    runtime.block_on(async move {
        let code = match console.open(&request).await {
            Ok(code) => code,
            Err(e) => {
                cli::print_error(format, &e);
                e.exit_code()
            }
        };
        cli::console_closed(*request).await;
        code
    })
}

/// Logs go to a daily file in the state folder, never to the terminal the console draws on.
fn init_logging() -> Option<()> {
    let dir = paths::log_dir()?;
    std::fs::create_dir_all(&dir).ok()?;
    let appender = tracing_appender::rolling::daily(&dir, "sluice.log");
    let filter = tracing_subscriber::EnvFilter::try_from_env("SLUICE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(appender)
        .with_ansi(false)
        .try_init()
        .ok()
}

/// The console's look, from the command line.
struct Console {
    theme: Option<String>,
    readonly: bool,
}

impl Console {
    #[cfg(feature = "tui")]
    async fn open(&self, request: &ConsoleRequest) -> sluice::core::Result<i32> {
        use sluice::ui::{ConsoleOptions, Start};
        let start = match request.opening {
            cli::Opening::Migrations => None,
            cli::Opening::Rollback => Some(Start::Rollback),
            cli::Opening::Recover => Some(Start::Recover),
        };
        let opts = ConsoleOptions {
            log_dir: paths::log_dir().map(|d| d.display().to_string()).unwrap_or_default(),
            theme: self.theme.clone(),
            readonly: self.readonly,
            start,
        };
        sluice::ui::run(request.project.clone(), request.env.as_deref(), &opts).await
    }

    #[cfg(not(feature = "tui"))]
    async fn open(&self, _request: &ConsoleRequest) -> sluice::core::Result<i32> {
        let _ = (&self.theme, self.readonly);
        Err(sluice::core::Error::input(
            "this sluice was built without the console (cargo feature `tui`): run a subcommand, e.g. sluice status",
        ))
    }
}

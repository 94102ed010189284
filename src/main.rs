//! Thin binary: parse arguments, run the chosen command, exit with its code.

fn main() {
    std::process::exit(sluice::cli::main());
}

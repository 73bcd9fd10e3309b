//! The `faasrt` binary: parses the command line and hands it to the library.

use clap::Parser;

fn main() {
    faasrt_cli::quiet_library_backtraces();
    let cli = faasrt_cli::Cli::parse();
    std::process::exit(faasrt_cli::run(cli));
}

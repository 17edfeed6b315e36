//! argv/env -> cli -> run; prints the error chain once; maps to an exit code.

use std::error::Error as _;
use std::process::exit;

fn main() {
    let argv = std::env::args_os().collect();
    let inv = match hardinit::cli::parse(argv, hardinit::environment()) {
        Ok(inv) => inv,
        Err(e) => {
            // clap prints help/version to stdout (exit 0) and usage errors to stderr (exit 2).
            let _ = e.print();
            exit(e.exit_code());
        }
    };
    hardinit::logging::init(inv.verbosity);
    match hardinit::run(inv) {
        Ok(code) => exit(code),
        Err(e) => {
            eprintln!("hardinit: {e}");
            let mut source = e.source();
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            exit(e.exit_code());
        }
    }
}

//! argv/env -> cli -> run; prints the error chain once; maps to an exit code.
//!
//! hardinit has a C `main` instead of Rust's: Rust's start-up code sets SIGPIPE to SIG_IGN
//! before `main` runs, and the program must inherit the dispositions hardinit was given.
#![no_main]

use std::error::Error as _;
use std::process::exit;

#[no_mangle]
extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    let argv = hardinit::command_line();
    let inv = match hardinit::cli::parse(argv, hardinit::environment()) {
        Ok(inv) => inv,
        Err(e) => {
            // clap prints help/version to stdout (exit 0) and usage errors to stderr (exit 2);
            // a bad HARDINIT_* variable is hardinit's own bad input (125).
            e.print();
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

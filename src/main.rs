//! argv/env -> cli -> launch; prints the error chain once; maps to an exit code.
//!
//! hardinit has a C `main` instead of Rust's: Rust's start-up code sets SIGPIPE to SIG_IGN
//! before `main` runs, and the program must inherit the dispositions hardinit was given.
//! On musl Rust's runtime then records no argv, so the arguments come from `main`'s own.
#![no_main]

use std::error::Error as _;
use std::process::exit;

/// dlmalloc instead of musl's allocator, which maps and unmaps memory at nearly every step of
/// a launch (`hardinit::sys::GlobalHeap` says why).
#[global_allocator]
static ALLOCATOR: hardinit::sys::GlobalHeap = hardinit::sys::GlobalHeap;

#[no_mangle]
extern "C" fn main(argc: libc::c_int, argv: *const *const libc::c_char) -> libc::c_int {
    // SAFETY: argc and argv are exactly what the C runtime passed to `main`, untouched.
    // This is the binary's one `unsafe`: the pointers exist only here (the library's own
    // `unsafe` stays in sys.rs).
    let argv = unsafe { hardinit::sys::args_from_main(argc, argv) };
    let inv = match hardinit::cli::parse(argv, std::env::vars_os().collect()) {
        Ok(inv) => inv,
        Err(e) => {
            // clap prints help/version to stdout (exit 0) and usage errors to stderr (exit 2);
            // a bad HARDINIT_* variable is hardinit's own bad input (125).
            e.print();
            exit(e.exit_code());
        }
    };
    hardinit::logging::init(inv.verbosity);
    match hardinit::launch::run(&inv) {
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

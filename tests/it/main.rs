//! All integration tests live in this one binary (one link, one process to set up).
//! Every spawned process has a timeout; a failure prints command, status, stdout and stderr.

mod docker;
mod escapes;
mod inspect;
mod landlock;
mod launch;
mod layout;
mod node;
mod pid1;
mod privileges;
mod runc;
mod seccomp;
#[allow(dead_code)] // each test module uses its own subset of the helpers
mod util;

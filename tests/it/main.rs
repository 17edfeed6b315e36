//! All integration tests live in this one binary (one link, one process to set up).
//! Every spawned process has a timeout; a failure prints command, status, stdout and stderr.

mod docker;
mod environment;
mod escapes;
mod inspect;
mod landlock;
mod launch;
mod layout;
mod learn;
mod node;
mod pid1;
mod podman;
mod privileges;
mod probe;
mod runc;
mod seccomp;
mod stop;
#[allow(dead_code)] // each test module uses its own subset of the helpers
mod util;

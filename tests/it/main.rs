//! All integration tests live in this one binary (one link, one process to set up).
//! Every spawned process has a timeout; a failure prints command, status, stdout and stderr.

mod docker;
mod runc;
mod util;

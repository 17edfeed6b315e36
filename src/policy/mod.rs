//! What the user asked for, validated. Pure: no system calls; file contents are passed in.

pub mod seccomp;

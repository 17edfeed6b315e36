//! hardinit: a PID-1 launcher that hardens the program it starts.
//!
//! `launch` drives the rest: the command line (`cli`) becomes a `policy`, the policy a `plan`,
//! the plan a program (`spawn`, which runs `harden` in the child), and the program is
//! supervised (`supervise`); `--probe` is `probe` alone, and `signal` names signals for
//! `cli`, `launch` and `supervise`. Dependencies point one way, down to `kernel` and `sys`;
//! the table in docs/architecture.md is checked by tests/it/layout.rs. Only `sys` may use
//! `unsafe`.
#![deny(unsafe_code)]

pub mod cli;
pub mod harden;
pub mod inspect;
pub mod kernel;
pub mod launch;
pub mod listener;
pub mod logging;
pub mod plan;
pub mod policy;
pub mod probe;
pub mod signal;
pub mod spawn;
pub mod supervise;
pub mod sys;

//! hardinit: a PID-1 launcher that hardens the program it starts.
//!
//! Dependencies point one way (docs/architecture.md): `launch` drives
//! `cli -> policy -> plan -> spawn -> harden -> sys`, then `supervise -> sys`; `inspect`
//! stands beside them on `policy` and `sys`. Only `sys` may use `unsafe`.
#![deny(unsafe_code)]

pub mod cli;
pub mod harden;
pub mod inspect;
pub mod kernel;
pub mod launch;
pub mod logging;
pub mod plan;
pub mod policy;
pub mod spawn;
pub mod supervise;
pub mod sys;

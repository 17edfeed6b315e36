//! hardinit: a PID-1 launcher that hardens the program it starts.
//!
//! Dependencies point one way: `cli -> policy -> plan -> spawn -> harden -> sys`, and
//! `supervise -> sys`. Only `sys` may use `unsafe`.
#![deny(unsafe_code)]

pub mod policy;
pub mod sys;

//! The only module with `unsafe`: thin wrappers around the system calls hardinit makes.
#![allow(unsafe_code)]

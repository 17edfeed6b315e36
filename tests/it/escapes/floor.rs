//! Escapes through what the seccomp floor refuses (see escapes.rs).

//! Escapes that reach outside the program (see escapes.rs).

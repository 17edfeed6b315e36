//! The escape suite: every attack found against hardinit's promises, run as a real payload as
//! the program under hardinit — no flags as root, `--user`, `--read-only` as root, the full
//! hardening with `default` and `node`, as PID 1 and not — asserting that it is refused.
//! One submodule per kind of promise.

/// hardinit's configuration: what the environment of whoever starts the container may change,
/// and what the program learns from it or passes on.
mod config;
/// The seccomp floor hardinit installs in its own mode, whatever `--seccomp` says: terminal
/// injection, setuid/setgid bits, fileless and written-file exec, stream sockets Landlock's
/// TCP rules do not cover.
mod floor;
/// The seccomp listener of learning and complain mode, which PID 1 keeps to itself.
mod learn;
/// What `--seccomp node` allows by argument (prctl, ioctl, setpriority) and refuses with
/// ENOSYS.
mod node_profile;
/// What the program can reach outside itself: kernel interfaces, unix sockets, hardinit
/// itself (signals, prlimit, environment), execute rights by inode, bad input, `--inspect`.
mod reach;
/// hardinit out of the program's reach (signals, prlimit, scheduling, ptrace, /proc), and
/// its own robustness: no busy loop, signals served during the exec wait, bounded numbers,
/// user databases as bytes.
mod supervision;

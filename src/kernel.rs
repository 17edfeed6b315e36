//! Names and numbers the kernel defines that every layer talks about: capabilities and
//! resource limits. Pure data and formatting, no system call: policy, harden and inspect all
//! use it, so it sits at the bottom beside `sys`.

pub mod mounts;

use std::fmt;

use nix::sys::resource::Resource;

/// The sendmsg flags of the child's one call under a learning filter, which hands the
/// listener to PID 1: no program passes them together (MSG_CMSG_CLOEXEC is a receive flag,
/// ignored on send), so the filter lets exactly this call through by them and its socket.
pub const LISTENER_HANDOFF_FLAGS: i32 = libc::MSG_NOSIGNAL | libc::MSG_CMSG_CLOEXEC;
/// runc's and Docker's read-only paths, their masked paths, and /sys (Docker mounts sysfs
/// read-only), so /sys/firmware and /sys/devices/virtual/powercap are inside it: the kernel
/// interfaces the program must not write (policy::kernel).
pub const KERNEL_INTERFACES: [&str; 16] = [
    "/proc/acpi",
    "/proc/asound",
    "/proc/bus",
    "/proc/fs",
    "/proc/interrupts",
    "/proc/irq",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/proc/sys",
    "/proc/sysrq-trigger",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/sys",
];

/// The path of an index into [`KERNEL_INTERFACES`].
pub fn interface_name(index: u8) -> &'static str {
    KERNEL_INTERFACES
        .get(usize::from(index))
        .copied()
        .unwrap_or("(unknown)")
}

/// The resource limits hardinit knows by name (the `RLIMIT_` suffix, lowercase).
pub const RLIMITS: &[(&str, Resource)] = &[
    ("as", Resource::RLIMIT_AS),
    ("core", Resource::RLIMIT_CORE),
    ("cpu", Resource::RLIMIT_CPU),
    ("data", Resource::RLIMIT_DATA),
    ("fsize", Resource::RLIMIT_FSIZE),
    ("locks", Resource::RLIMIT_LOCKS),
    ("memlock", Resource::RLIMIT_MEMLOCK),
    ("msgqueue", Resource::RLIMIT_MSGQUEUE),
    ("nice", Resource::RLIMIT_NICE),
    ("nofile", Resource::RLIMIT_NOFILE),
    ("nproc", Resource::RLIMIT_NPROC),
    ("rss", Resource::RLIMIT_RSS),
    ("rtprio", Resource::RLIMIT_RTPRIO),
    ("rttime", Resource::RLIMIT_RTTIME),
    ("sigpending", Resource::RLIMIT_SIGPENDING),
    ("stack", Resource::RLIMIT_STACK),
];

/// The `RLIMIT_` name (lowercase, without the prefix) of an index into [`RLIMITS`].
pub fn rlimit_name(index: u8) -> &'static str {
    RLIMITS
        .get(usize::from(index))
        .map_or("(unknown)", |(name, _)| name)
}

/// Every capability 0..=last_cap.
pub fn all_caps(last_cap: u8) -> u64 {
    if last_cap >= 63 {
        u64::MAX
    } else {
        (1u64 << (last_cap + 1)) - 1
    }
}

/// The capability numbers in `set`, ascending.
pub fn cap_numbers(set: u64) -> Vec<u8> {
    (0..64u8).filter(|&i| set & (1u64 << i) != 0).collect()
}

/// `CAP_X` names of `set`, ascending; numbers the caps crate does not know print as `CAP_N`.
pub fn cap_names(set: u64) -> Vec<String> {
    cap_numbers(set).into_iter().map(cap_name).collect()
}

/// The `CAP_X` name of capability number `n`.
pub fn cap_name(n: u8) -> String {
    caps::all()
        .into_iter()
        .find(|c| c.index() == n)
        .map_or_else(|| format!("CAP_{n}"), |c| c.to_string())
}

/// A compiled classic-BPF seccomp filter, ready for
/// seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog).
#[derive(Clone)]
pub struct SeccompFilter {
    pub program: Vec<libc::sock_filter>,
    /// SECCOMP_FILTER_FLAG_* bits the profile asked for.
    pub flags: u32,
    /// Every read(2) runs under the filter, whatever its arguments: the child may wait for
    /// PID 1's word after installing it (`harden::apply`).
    pub reads_pass: bool,
}

impl SeccompFilter {
    pub fn len(&self) -> usize {
        self.program.len()
    }

    pub fn is_empty(&self) -> bool {
        self.program.is_empty()
    }
}

impl PartialEq for SeccompFilter {
    fn eq(&self, other: &Self) -> bool {
        let same = |a: &libc::sock_filter, b: &libc::sock_filter| {
            (a.code, a.jt, a.jf, a.k) == (b.code, b.jt, b.jf, b.k)
        };
        self.flags == other.flags
            && self.reads_pass == other.reads_pass
            && self.program.len() == other.program.len()
            && self
                .program
                .iter()
                .zip(&other.program)
                .all(|(a, b)| same(a, b))
    }
}

impl Eq for SeccompFilter {}

impl fmt::Debug for SeccompFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeccompFilter")
            .field("len", &self.program.len())
            .field("flags", &self.flags)
            .field("reads_pass", &self.reads_pass)
            .finish()
    }
}

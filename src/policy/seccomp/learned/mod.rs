//! Learning mode, the pure part: which arguments decide what a call can do, what a run was
//! seen doing, the profile that runs it (merged with an existing one), the report beside it,
//! the complain-mode log line, and the filters that notify PID 1 instead of refusing.
//!
//! Nothing here makes a system call; `crate::listener` serves the notifications and writes
//! the files.

mod complain;
mod filter;
mod profile;
mod report;

use std::collections::BTreeMap;

pub use complain::{describe_would, Complaints, Verdicts};
pub use filter::{complain_filter, recording_filter, Handoff, HANDOFF_FLAGS};
pub use profile::{LearnError, Learned};
pub use report::report;

use super::model::{ArgCmp, Op};
use super::syscalls;

/// How one decisive argument is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    /// An `int` enumeration: the kernel reads the low 32 bits only, so the rule does too
    /// (MASKED_EQ with mask 0xffffffff; the registers of int arguments arrive zero-extended).
    Int,
    /// A `long` enumeration: all 64 bits (EQ).
    Long,
    /// A flag word: only these bits decide (MASKED_EQ with this mask).
    Bits(u64),
}

/// One argument a rule compares. Pointer arguments never appear: what they point to can
/// change after the filter has read the pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decisive {
    pub index: u8,
    pub compare: Compare,
}

const fn int(index: u8) -> Decisive {
    Decisive {
        index,
        compare: Compare::Int,
    }
}

const fn long(index: u8) -> Decisive {
    Decisive {
        index,
        compare: Compare::Long,
    }
}

const fn bits(index: u8, mask: u64) -> Decisive {
    Decisive {
        index,
        compare: Compare::Bits(mask),
    }
}

/// CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
/// CLONE_NEWPID | CLONE_NEWNET (Docker's mask; CLONE_NEWTIME shares CSIGNAL's bits in clone).
const CLONE_NAMESPACES: u64 = 0x7E02_0000;
/// S_ISUID | S_ISGID | S_ISVTX.
const MODE_SPECIAL: u64 = 0o7000;
/// The socket type without SOCK_NONBLOCK / SOCK_CLOEXEC.
const SOCK_TYPE_MASK: u64 = 0xf;
const PROT_EXEC: u64 = libc::PROT_EXEC as u64;
const AT_EMPTY_PATH: u64 = libc::AT_EMPTY_PATH as u64;
/// MFD_NOEXEC_SEAL | MFD_EXEC (6.3+): whether the memfd may ever be executed.
const MFD_EXEC_BITS: u64 = 0x0008 | 0x0010;

/// The one table of argument rules: per call, the arguments a learned rule compares and how
/// (the positions are the same on every arch hardinit has a table for; a name an arch lacks,
/// such as x86_64's `chmod` on aarch64, never comes up there). A call not listed is allowed
/// whatever its arguments once it was seen. Sorted by name.
pub static ARGUMENT_RULES: &[(&str, &[Decisive])] = &[
    ("bpf", &[int(0)]),                                         // command
    ("chmod", &[bits(1, MODE_SPECIAL)]),                        // setuid/setgid/sticky bits
    ("clone", &[bits(0, CLONE_NAMESPACES)]),                    // namespace flags
    ("execveat", &[bits(4, AT_EMPTY_PATH)]),                    // exec of an fd (a memfd)
    ("fchmod", &[bits(1, MODE_SPECIAL)]),                       //
    ("fchmodat", &[bits(2, MODE_SPECIAL)]),                     //
    ("fchmodat2", &[bits(2, MODE_SPECIAL)]),                    //
    ("fcntl", &[int(1)]),                                       // command
    ("ioctl", &[int(1)]),                                       // request
    ("keyctl", &[int(0)]),                                      // operation
    ("memfd_create", &[bits(1, MFD_EXEC_BITS)]),                // executable or sealed
    ("mmap", &[bits(2, PROT_EXEC)]),                            // executable mapping
    ("mprotect", &[bits(2, PROT_EXEC)]),                        //
    ("personality", &[int(0)]),                                 // persona
    ("pkey_mprotect", &[bits(2, PROT_EXEC)]),                   //
    ("prctl", &[int(0)]),                                       // option
    ("ptrace", &[long(0)]),                                     // request
    ("seccomp", &[int(0)]),                                     // operation
    ("setns", &[int(1)]),                                       // namespace type
    ("setsockopt", &[int(1), int(2)]),                          // level, option
    ("socket", &[int(0), bits(1, SOCK_TYPE_MASK), int(2)]),     // family, type, protocol
    ("socketpair", &[int(0), bits(1, SOCK_TYPE_MASK), int(2)]), //
    ("unshare", &[bits(0, 0xffff_ffff)]),                       // every flag
];

/// The decisive arguments of `name`, if a learned rule compares any.
pub fn decisive(name: &str) -> Option<&'static [Decisive]> {
    ARGUMENT_RULES
        .binary_search_by(|(n, _)| n.cmp(&name))
        .ok()
        .map(|i| ARGUMENT_RULES[i].1)
}

impl Decisive {
    /// The part of a raw register this rule compares.
    pub fn key(&self, raw: u64) -> u64 {
        match self.compare {
            Compare::Int => raw & 0xffff_ffff,
            Compare::Long => raw,
            Compare::Bits(mask) => raw & mask,
        }
    }

    /// The condition that holds for exactly the registers with this key.
    pub fn condition(&self, key: u64) -> ArgCmp {
        let (op, value, value_two) = match self.compare {
            Compare::Int => (Op::MaskedEqual, 0xffff_ffff, key),
            Compare::Long => (Op::Equal, key, 0),
            Compare::Bits(mask) => (Op::MaskedEqual, mask, key),
        };
        ArgCmp {
            index: self.index,
            op,
            value,
            value_two,
        }
    }
}

/// The decisive values of one call: empty for a call without argument rules.
pub fn keys_of(name: &str, args: &[u64; 6]) -> Vec<u64> {
    decisive(name)
        .unwrap_or_default()
        .iter()
        .map(|d| d.key(args[usize::from(d.index)]))
        .collect()
}

/// The conditions of the rule for `keys` (from `keys_of`) of `name`.
pub fn conditions(name: &str, keys: &[u64]) -> Vec<ArgCmp> {
    decisive(name)
        .unwrap_or_default()
        .iter()
        .zip(keys)
        .map(|(d, &key)| d.condition(key))
        .collect()
}

/// Calls the first learning run allows outright, so the hot path of a service does not go
/// through PID 1: reading, writing, waiting, memory that is not executable. They are written
/// to the profile as assumed, not observed (`--learn-all` notifies them too). None of them
/// changes a privilege or reaches outside the process's own descriptors and memory. Names
/// the native table lacks (x86_64's `epoll_wait` and `poll` on aarch64, which has only the
/// `epoll_pwait`/`ppoll` forms) are left out there: see [`hot_base`].
pub static HOT_BASE: &[&str] = &[
    "accept4",
    "brk",
    "clock_gettime",
    "clock_nanosleep",
    "close",
    "epoll_ctl",
    "epoll_pwait",
    "epoll_wait",
    "exit",
    "exit_group",
    "fstat",
    "futex",
    "getpid",
    "getrandom",
    "gettid",
    "gettimeofday",
    "lseek",
    "madvise",
    "munmap",
    "nanosleep",
    "newfstatat",
    "poll",
    "ppoll",
    "pread64",
    "pwrite64",
    "read",
    "readv",
    "recvfrom",
    "recvmsg",
    "restart_syscall",
    "rt_sigprocmask",
    "rt_sigreturn",
    "sched_yield",
    "sendmsg",
    "sendto",
    "statx",
    "write",
    "writev",
];

/// The hot base on the native arch.
pub fn hot_base() -> impl Iterator<Item = &'static str> {
    HOT_BASE
        .iter()
        .copied()
        .filter(|name| syscalls::number(name).is_some())
}

/// Argument-level hot rules: memory mapped or protected without PROT_EXEC. An executable
/// mapping still goes through PID 1, so the profile says whether the program needs one.
pub static HOT_BY_ARGS: &[(&str, u64)] = &[("mmap", 0), ("mprotect", 0)];

/// The hot argument rules as conditions.
pub fn hot_conditions() -> impl Iterator<Item = (&'static str, Vec<ArgCmp>)> {
    HOT_BY_ARGS
        .iter()
        .map(|&(name, key)| (name, conditions(name, &[key])))
}

/// What one call was seen doing in this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub count: u64,
    /// The executable of the first task that made it.
    pub first_exe: String,
    /// Decisive values (see `keys_of`) with how often each was seen.
    pub keys: BTreeMap<Vec<u64>, u64>,
}

/// Every call this run notified, by number.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recording {
    pub calls: BTreeMap<u32, Seen>,
}

impl Recording {
    /// Counts one notified call; `exe` is asked only for a call seen for the first time.
    /// True when the call or its decisive values are new, so the profile grows. Numbers
    /// without a name on this arch are not recorded (the kernel answers them ENOSYS).
    pub fn note(&mut self, nr: u32, args: &[u64; 6], exe: impl FnOnce() -> String) -> bool {
        let Some(name) = syscalls::name(nr) else {
            return false;
        };
        let keys = keys_of(name, args);
        let seen = self.calls.entry(nr).or_insert_with(|| Seen {
            count: 0,
            first_exe: exe(),
            keys: BTreeMap::new(),
        });
        seen.count += 1;
        let count = seen.keys.entry(keys).or_insert(0);
        *count += 1;
        *count == 1
    }

    /// Whether anything was recorded.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }
}

#[cfg(test)]
mod tests;

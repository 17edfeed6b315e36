//! The floor: what hardinit refuses to the program in its own mode whatever `--seccomp` says
//! (`unconfined` and profile files included), because no other layer stops it.
//!
//! - ioctl(TIOCSTI) pushes keystrokes into the terminal's input, which the shell that
//!   started hardinit reads next; ioctl(TIOCLINUX) pastes a virtual console's selection. The
//!   kernel reads the request as an `unsigned int`, so only its low 32 bits are compared.
//!   Every fd is covered (0–2, /dev/tty, a pts the program opens).
//! - A setuid/setgid bit set or created by the program (Landlock does not cover chmod) runs a
//!   copy of a shell as its owner in a later process: every call that takes a mode refuses
//!   `mode & 06000`, whatever the other flags; `openat2` hides its mode behind a pointer, so it
//!   answers ENOSYS and programs fall back to `openat`.
//! - io_uring runs opens, mkdirs and sockets in the kernel without any seccomp check: ENOSYS,
//!   as on a kernel without it (libuv and liburing users fall back).
//! - With port lists: Landlock's TCP rules cover IPPROTO_TCP only, so every other stream or
//!   sequenced protocol on AF_INET/AF_INET6 (MPTCP, SCTP, DCCP, SMC) answers EPROTONOSUPPORT
//!   (programs fall back to TCP); protocol 0 is TCP and stays allowed, as do the type's
//!   SOCK_NONBLOCK/SOCK_CLOEXEC bits. AF_SMC answers EAFNOSUPPORT.
//! - With `--read-only`: Landlock never checks a memfd, so `memfd_create` needs
//!   MFD_NOEXEC_SEAL (Linux 6.3+), which makes the memfd non-executable for good; before 6.3
//!   it is refused. ENOSYS, so programs fall back to a file in a (non-executable) writable
//!   directory.
//!
//! The floor is merged into the program's one filter (`eval::add_floor`) rather than stacked
//! as a second one: every filter in a stack runs on every call the kernel cannot answer from
//! its per-number "always allow" cache, and kernels before 5.11 have no cache at all, so a
//! second filter would add its walk to every call; merged, the floor's calls (chmod, openat,
//! ioctl, …) pay a few argument compares at their leaf of the one binary search, and every
//! other call keeps its cached answer. Rules name calls, never numbers: a name the
//! architecture lacks (arm64 has no chmod/open/creat/mknod/mkdir) is skipped.

use std::fmt;

use super::model::{Action, ArgCmp, Op};
use super::syscalls::Arch;

/// What decides which parts of the floor apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FloorOptions {
    /// `--read-only`: the program must not execute what it writes.
    pub read_only: bool,
    /// `--allow-bind` or `--allow-connect`: Landlock filters TCP ports.
    pub port_lists: bool,
    /// The running kernel, `(major, minor)`.
    pub kernel: (u32, u32),
    /// Whose calls the rules name (`syscalls::NATIVE` but in tests).
    pub arch: &'static Arch,
    /// The Landlock ABI `--read-only` is enforced with (0: none).
    pub landlock_abi: u32,
}

/// One thing the floor refuses: the calls (each with conditions that must all hold) and the
/// answer they get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// What it stops, for `--print-policy`.
    pub what: &'static str,
    pub action: Action,
    pub rules: Vec<(&'static str, Vec<ArgCmp>)>,
}

/// Every refusal that applies to one launch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Floor {
    /// The architecture whose table the refusals are looked up in.
    pub arch: &'static Arch,
    pub refusals: Vec<Refusal>,
}

const EPERM: Action = Action::Errno(libc::EPERM as u16);
const ENOSYS: Action = Action::Errno(libc::ENOSYS as u16);
const EPROTONOSUPPORT: Action = Action::Errno(libc::EPROTONOSUPPORT as u16);
const EAFNOSUPPORT: Action = Action::Errno(libc::EAFNOSUPPORT as u16);

/// Each call that takes a file mode, and the index of the mode argument.
pub(crate) const MODE_ARGUMENTS: [(&str, u8); 11] = [
    ("chmod", 1),
    ("fchmod", 1),
    ("fchmodat", 2),
    ("fchmodat2", 2),
    ("creat", 1),
    ("open", 2),
    ("openat", 3),
    ("mkdir", 1),
    ("mkdirat", 2),
    ("mknod", 1),
    ("mknodat", 2),
];

const IO_URING: [&str; 3] = ["io_uring_setup", "io_uring_enter", "io_uring_register"];

/// `asm-generic/ioctls.h`, which x86_64 and arm64 share (libc's type for them differs between
/// musl and glibc).
const TIOCSTI: u64 = 0x5412;
const TIOCLINUX: u64 = 0x541c;

/// A socket type for DCCP, a connection-oriented protocol with ports (`linux/net.h`).
const SOCK_DCCP: u64 = 6;

/// Shared-memory communications, which connects through an internal TCP socket no LSM hook
/// sees (`linux/socket.h`).
const AF_SMC: u64 = 43;

/// memfd_create's flag that makes the memfd non-executable for good (Linux 6.3).
const MFD_NOEXEC_SEAL: u64 = 0x8;

/// The floor for one launch.
pub fn floor(opts: &FloorOptions) -> Floor {
    let mut refusals = vec![
        terminal_injection(),
        setuid_bits(),
        hidden_mode(),
        io_uring(),
    ];
    if opts.port_lists {
        refusals.push(untracked_stream_protocols());
        refusals.push(smc_sockets());
    }
    if opts.read_only {
        refusals.push(executable_memfds(opts.kernel));
        if (1..ABI_TRUNCATE).contains(&opts.landlock_abi) {
            refusals.push(truncate_without_landlock());
        }
    }
    Floor {
        arch: opts.arch,
        refusals,
    }
}

/// `(arg & mask) == datum`.
fn masked(index: u8, mask: u64, datum: u64) -> ArgCmp {
    ArgCmp {
        index,
        op: Op::MaskedEqual,
        value: mask,
        value_two: datum,
    }
}

fn not_equal(index: u8, value: u64) -> ArgCmp {
    ArgCmp {
        index,
        op: Op::NotEqual,
        value,
        value_two: 0,
    }
}

/// The argument is an `int` or `unsigned int`: the kernel ignores its high 32 bits.
fn low_word_is(index: u8, value: u64) -> ArgCmp {
    masked(index, 0xffff_ffff, value)
}

fn terminal_injection() -> Refusal {
    Refusal {
        what: "ioctl TIOCSTI and TIOCLINUX on any terminal (keystroke injection)",
        action: EPERM,
        rules: [TIOCSTI, TIOCLINUX]
            .into_iter()
            .map(|request| ("ioctl", vec![low_word_is(1, request)]))
            .collect(),
    }
}

fn setuid_bits() -> Refusal {
    let bits = [libc::S_ISUID, libc::S_ISGID].map(u64::from);
    Refusal {
        what: "a setuid/setgid bit (mode & 06000) in chmod fchmod fchmodat fchmodat2 creat open openat mkdir mkdirat mknod mknodat",
        action: EPERM,
        rules: MODE_ARGUMENTS
            .into_iter()
            .flat_map(|(name, index)| bits.map(|bit| (name, vec![masked(index, bit, bit)])))
            .collect(),
    }
}

fn hidden_mode() -> Refusal {
    Refusal {
        what: "openat2, whose mode a filter cannot see (programs fall back to openat)",
        action: ENOSYS,
        rules: vec![("openat2", Vec::new())],
    }
}

fn io_uring() -> Refusal {
    Refusal {
        what: "io_uring, whose operations no filter sees",
        action: ENOSYS,
        rules: IO_URING.into_iter().map(|n| (n, Vec::new())).collect(),
    }
}

fn untracked_stream_protocols() -> Refusal {
    // AF_INET (2) and AF_INET6 (10) differ only in bit 3: one compare takes both.
    let inet = || masked(0, 0xffff_fff7, libc::AF_INET as u64);
    let of_type = |kind: u64| masked(1, 0xf, kind);
    let stream = vec![
        inet(),
        of_type(libc::SOCK_STREAM as u64),
        not_equal(2, 0),
        not_equal(2, libc::IPPROTO_TCP as u64),
    ];
    Refusal {
        what: "with port lists: AF_INET/AF_INET6 stream sockets other than TCP (MPTCP, SCTP, SMC), SOCK_SEQPACKET and SOCK_DCCP, which Landlock's TCP rules do not cover",
        action: EPROTONOSUPPORT,
        rules: vec![
            ("socket", stream),
            ("socket", vec![inet(), of_type(libc::SOCK_SEQPACKET as u64)]),
            ("socket", vec![inet(), of_type(SOCK_DCCP)]),
        ],
    }
}

fn smc_sockets() -> Refusal {
    Refusal {
        what: "with port lists: AF_SMC sockets",
        action: EAFNOSUPPORT,
        rules: vec![("socket", vec![low_word_is(0, AF_SMC)])],
    }
}

fn executable_memfds(kernel: (u32, u32)) -> Refusal {
    if kernel >= (6, 3) {
        Refusal {
            what: "with --read-only: memfd_create without MFD_NOEXEC_SEAL (an executable memfd)",
            action: ENOSYS,
            rules: vec![("memfd_create", vec![masked(1, MFD_NOEXEC_SEAL, 0)])],
        }
    } else {
        Refusal {
            what:
                "with --read-only: memfd_create (before Linux 6.3 a memfd can always be executed)",
            action: ENOSYS,
            rules: vec![("memfd_create", Vec::new())],
        }
    }
}

/// The kernel's access-mode bits of open's flags (musl's `O_ACCMODE` adds `O_PATH`).
const O_ACCMODE: u64 = 3;

/// The first Landlock ABI with a truncate right.
pub const ABI_TRUNCATE: u32 = 3;

/// Landlock ABI 1-2 (Debian 12, Amazon Linux 2023, Ubuntu 22.04) checks writes at open, so a
/// write open outside the writable paths fails, but it has no truncate right: truncate(2)
/// takes a path and no descriptor, and open(O_TRUNC) with read access only (or the access
/// mode 3, which asks for neither) truncates without a write open. Both are refused with
/// Landlock's own answer; ftruncate needs a descriptor open for writing, which Landlock
/// already controls. truncate(2) is refused in the writable paths too (a filter cannot see
/// the path): programs use ftruncate or O_TRUNC with write access there.
fn truncate_without_landlock() -> Refusal {
    let trunc = libc::O_TRUNC as u64;
    let accmode = O_ACCMODE;
    let without_write = [trunc, trunc | accmode];
    let opens = [("open", 1u8), ("openat", 2u8)];
    let mut rules = vec![("truncate", Vec::new())];
    for (name, index) in opens {
        for datum in without_write {
            rules.push((name, vec![masked(index, trunc | accmode, datum)]));
        }
    }
    Refusal {
        what: "with --read-only on Landlock ABI 1-2 (no truncate right): truncate(2), and open/openat with O_TRUNC but no write access",
        action: Action::Errno(libc::EACCES as u16),
        rules,
    }
}

impl Floor {
    /// Whether it refuses truncating without a write open (Landlock ABI 1-2, --read-only).
    pub fn refuses_truncate(&self) -> bool {
        self.refusals
            .iter()
            .any(|r| r.rules.first().is_some_and(|(name, _)| *name == "truncate"))
    }
}

/// For a call that takes a mode: the compare "no setuid/setgid bit in the mode".
pub(crate) fn no_mode_bits(name: &str) -> Option<ArgCmp> {
    MODE_ARGUMENTS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, index)| masked(index, u64::from(libc::S_ISUID | libc::S_ISGID), 0))
}

/// When every rule of one call tests a bit of the same argument for the same answer (the mode
/// calls), that answer and the one compare that says "no such bit is set":
/// `(arg & bits) == 0`.
pub(crate) fn as_bit_test<'a>(
    rules: impl Iterator<Item = (Action, &'a [ArgCmp])>,
) -> Option<(Action, ArgCmp)> {
    let mut found: Option<(Action, ArgCmp)> = None;
    for (action, args) in rules {
        let [cmp] = args else { return None };
        let is_bit = cmp.op == Op::MaskedEqual && cmp.value == cmp.value_two && cmp.value != 0;
        match &mut found {
            _ if !is_bit => return None,
            None => found = Some((action, masked(cmp.index, cmp.value, 0))),
            Some((a, test)) if *a == action && test.index == cmp.index => test.value |= cmp.value,
            Some(_) => return None,
        }
    }
    found
}

impl Floor {
    /// The floor's rules for one call.
    pub(crate) fn rules_for<'a>(
        &'a self,
        name: &'a str,
    ) -> impl Iterator<Item = (Action, &'a [ArgCmp])> + 'a {
        self.refusals.iter().flat_map(move |r| {
            r.rules
                .iter()
                .filter(move |(n, _)| *n == name)
                .map(move |(_, args)| (r.action, &args[..]))
        })
    }
}

impl fmt::Display for Floor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "seccomp floor (whatever --seccomp says) refuses:")?;
        for refusal in &self.refusals {
            write!(f, "\n  {}: {}", refusal.what, refusal.action)?;
        }
        Ok(())
    }
}

//! The system call tables hardinit knows, one per architecture, and the architecture the
//! binary is built for, chosen at compile time.
//!
//! Adding an architecture is a table (`<arch>.rs`, from the kernel's own syscall table), an
//! [`Arch`] value and a test; the emitter, the profiles and the reports take it from here.

mod aarch64;
mod x86_64;

/// A system call ABI a seccomp filter can be written for.
#[derive(Debug)]
pub struct Arch {
    /// As `uname -m` says it: also the name of the release artifact.
    pub name: &'static str,
    /// AUDIT_ARCH_* of native calls (`seccomp_data.arch`).
    pub audit: u32,
    /// Docker's name (Go's GOARCH), as profiles write it in `includes.arches`.
    pub docker: &'static str,
    /// The OCI / libseccomp name, as in `architectures` and `archMap`.
    pub scmp: &'static str,
    /// The compat ABIs this kernel also accepts calls through (another audit arch): the
    /// filter kills them, whatever a profile says.
    pub foreign: &'static [Foreign],
    /// A bit that selects another ABI within the native audit arch (x86_64's x32): a number
    /// with it set is killed too.
    pub abi_bit: Option<u32>,
    /// Calls hardinit's static musl build makes here beyond those every arch shares: a profile
    /// exported for the runtime layer allows them (`Profile::for_runtime`).
    pub launcher_calls: &'static [&'static str],
    /// musl's fork() is `clone(SIGCHLD)` here (no `fork` call).
    pub forks_with_clone: bool,
    /// `(name, number)`, sorted by number, complete up to [`TABLES_UP_TO`].
    pub calls: &'static [(&'static str, u32)],
    by_name: &'static [u16; SLOTS],
}

/// A compat ABI: its audit arch and the name profiles give it.
#[derive(Debug)]
pub struct Foreign {
    pub audit: u32,
    pub scmp: &'static str,
    /// What the kernel calls it, for reports.
    pub name: &'static str,
}

/// The kernel release every table is complete up to.
pub const TABLES_UP_TO: &str = "Linux 6.18";

/// x32 calls enter the x86_64 table with this bit set in the number.
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

pub const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
pub const AUDIT_ARCH_I386: u32 = 0x4000_0003;
pub const AUDIT_ARCH_AARCH64: u32 = 0xC000_00B7;
pub const AUDIT_ARCH_ARM: u32 = 0x4000_0028;

pub static X86_64: Arch = Arch {
    name: "x86_64",
    audit: AUDIT_ARCH_X86_64,
    docker: "amd64",
    scmp: "SCMP_ARCH_X86_64",
    foreign: &[Foreign {
        audit: AUDIT_ARCH_I386,
        scmp: "SCMP_ARCH_X86",
        name: "i386 (int 0x80)",
    }],
    abi_bit: Some(X32_SYSCALL_BIT),
    launcher_calls: &["fork", "open", "poll", "stat"],
    forks_with_clone: false,
    calls: &x86_64::CALLS,
    by_name: &X86_64_BY_NAME,
};

pub static AARCH64: Arch = Arch {
    name: "aarch64",
    audit: AUDIT_ARCH_AARCH64,
    docker: "arm64",
    scmp: "SCMP_ARCH_AARCH64",
    foreign: &[Foreign {
        audit: AUDIT_ARCH_ARM,
        scmp: "SCMP_ARCH_ARM",
        name: "AArch32",
    }],
    abi_bit: None,
    launcher_calls: &["newfstatat", "openat"],
    forks_with_clone: true,
    calls: &aarch64::CALLS,
    by_name: &AARCH64_BY_NAME,
};

/// Every architecture hardinit has a table for.
pub static ALL: [&Arch; 2] = [&X86_64, &AARCH64];

/// The architecture this binary runs on: its filters check this audit arch and use this table.
#[cfg(target_arch = "x86_64")]
pub static NATIVE: &Arch = &X86_64;
#[cfg(target_arch = "aarch64")]
pub static NATIVE: &Arch = &AARCH64;
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!(
    "hardinit has no system call table for this architecture: add one in src/policy/seccomp/syscalls/"
);

impl Arch {
    /// The number of the system call `name`, or `None` when this arch has no such call.
    pub fn number(&self, name: &str) -> Option<u32> {
        self.entry(name).map(|(_, nr)| nr)
    }

    /// The table's own copy of `name`, or `None` when this arch has no such call: a rule
    /// keeps that instead of a copy of its own.
    pub fn known_name(&self, name: &str) -> Option<&'static str> {
        self.entry(name).map(|(known, _)| known)
    }

    fn entry(&self, name: &str) -> Option<(&'static str, u32)> {
        let mut slot = slot_of(name.as_bytes());
        loop {
            let index = self.by_name[slot];
            if index == EMPTY {
                return None;
            }
            let entry = self.calls[usize::from(index)];
            // Rules hold the table's own strings (`known_name`): the same pointer and length
            // answer without comparing bytes (musl's memcmp goes byte by byte).
            if std::ptr::eq(entry.0, name) || entry.0 == name {
                return Some(entry);
            }
            slot = (slot + 1) % SLOTS;
        }
    }

    /// The name of system call `nr`, or `None` for an unassigned number.
    pub fn name(&self, nr: u32) -> Option<&'static str> {
        self.calls
            .binary_search_by_key(&nr, |&(_, n)| n)
            .ok()
            .map(|i| self.calls[i].0)
    }

    /// The architecture named `name` as `uname -m` says it.
    pub fn by_name(name: &str) -> Option<&'static Arch> {
        ALL.iter().copied().find(|arch| arch.name == name)
    }
}

impl PartialEq for Arch {
    fn eq(&self, other: &Arch) -> bool {
        self.audit == other.audit
    }
}

impl Eq for Arch {}

/// The native number of `name` (see [`NATIVE`]).
pub fn number(name: &str) -> Option<u32> {
    NATIVE.number(name)
}

/// The native name of `nr`.
pub fn name(nr: u32) -> Option<&'static str> {
    NATIVE.name(nr)
}

/// Slots of the by-name index: a power of two well above any table's length.
const SLOTS: usize = 1024;

/// Indices into a table by a hash of the name (open addressing, linear probing), built at
/// compile time. A profile's names are looked up some 700 times per start, and walking the
/// table for each was a fifth of hardinit's start-up instructions.
static X86_64_BY_NAME: [u16; SLOTS] = index_by_name(&x86_64::CALLS);
static AARCH64_BY_NAME: [u16; SLOTS] = index_by_name(&aarch64::CALLS);

const EMPTY: u16 = u16::MAX;

/// FNV-1a of `name`, reduced to a slot.
const fn slot_of(name: &[u8]) -> usize {
    let mut hash: u32 = 0x811c_9dc5;
    let mut i = 0;
    while i < name.len() {
        hash ^= name[i] as u32;
        hash = hash.wrapping_mul(0x0100_0193);
        i += 1;
    }
    hash as usize % SLOTS
}

const fn index_by_name(calls: &[(&str, u32)]) -> [u16; SLOTS] {
    let mut slots = [EMPTY; SLOTS];
    let mut i = 0;
    while i < calls.len() {
        let mut slot = slot_of(calls[i].0.as_bytes());
        while slots[slot] != EMPTY {
            slot = (slot + 1) % SLOTS;
        }
        slots[slot] = i as u16;
        i += 1;
    }
    slots
}

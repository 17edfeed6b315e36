//! The OCI runtime-spec / Docker seccomp profile as JSON (`Raw*`), and the checked values a
//! profile is made of once its strings are understood (`Action`, `Op`, `ArgCmp`).

use std::fmt;

use serde::Deserialize;

use super::{At, Problem, SeccompError};

/// A profile as written, in the union of the OCI (`architectures`, `names`) and Docker
/// (`archMap`, legacy `name`, `includes`/`excludes`, `comment`) formats. Unknown fields are
/// ignored, as Docker and runc ignore them.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawProfile {
    pub default_action: String,
    pub default_errno_ret: Option<u32>,
    pub architectures: Option<Vec<String>>,
    pub arch_map: Option<Vec<RawArchMap>>,
    pub flags: Option<Vec<String>>,
    pub syscalls: Option<Vec<RawSyscall>>,
    /// Only in a Security Profiles Operator object's `spec`: a profile from the cluster.
    pub base_profile_name: Option<serde::de::IgnoredAny>,
}

/// What tells a Security Profiles Operator `SeccompProfile` object from a plain profile,
/// which has neither field.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawObjectHeader {
    pub api_version: Option<String>,
    pub kind: Option<String>,
}

impl RawObjectHeader {
    pub fn is_spo(&self) -> bool {
        self.kind.as_deref() == Some(super::export::SPO_KIND)
            && self
                .api_version
                .as_deref()
                .is_some_and(|v| v.starts_with("security-profiles-operator.x-k8s.io/"))
    }
}

/// A Security Profiles Operator `SeccompProfile` object: an OCI profile in its `spec`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RawSpoObject {
    pub spec: RawProfile,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawArchMap {
    pub architecture: String,
    pub sub_architectures: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawSyscall {
    pub names: Option<Vec<String>>,
    pub name: Option<String>,
    pub action: String,
    pub errno_ret: Option<u32>,
    pub args: Option<Vec<RawArg>>,
    pub includes: Option<RawCondition>,
    pub excludes: Option<RawCondition>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawArg {
    pub index: u64,
    pub value: u64,
    #[serde(default)]
    pub value_two: u64,
    pub op: String,
}

/// Docker's `includes` / `excludes` filter on an entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawCondition {
    pub caps: Option<Vec<String>>,
    pub arches: Option<Vec<String>>,
    pub min_kernel: Option<String>,
}

/// What the filter does with a system call. `SCMP_ACT_KILL` is read as `KillProcess`: killing
/// only the calling thread leaves a multi-threaded program (Node.js) half alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Allow,
    Errno(u16),
    KillProcess,
    KillThread,
    Trap,
    Log,
    Trace(u16),
    /// SECCOMP_RET_USER_NOTIF: hardinit's own learning and complain filters ask PID 1, which
    /// records the call and lets it run. Never read from a profile file (see `parse_action`).
    Notify,
}

/// The errno runc and Docker use when a profile names ERRNO or TRACE without `errnoRet`.
const DEFAULT_ERRNO: u16 = libc::EPERM as u16;

/// The kernel clamps a larger SECCOMP_RET_ERRNO datum to this value.
const MAX_ERRNO: u32 = 4095;

impl Action {
    /// The SECCOMP_RET_* value a filter returns for this action.
    pub fn ret(self) -> u32 {
        match self {
            Action::Allow => libc::SECCOMP_RET_ALLOW,
            Action::Errno(errno) => libc::SECCOMP_RET_ERRNO | u32::from(errno),
            Action::KillProcess => libc::SECCOMP_RET_KILL_PROCESS,
            Action::KillThread => libc::SECCOMP_RET_KILL_THREAD,
            Action::Trap => libc::SECCOMP_RET_TRAP,
            Action::Log => libc::SECCOMP_RET_LOG,
            Action::Trace(data) => libc::SECCOMP_RET_TRACE | u32::from(data),
            Action::Notify => libc::SECCOMP_RET_USER_NOTIF,
        }
    }

    /// Lower is stronger: the order the kernel uses to pick between stacked filters
    /// (KILL_PROCESS > KILL_THREAD > TRAP > ERRNO > USER_NOTIF > TRACE > LOG > ALLOW), which is the
    /// signed value of the action bits.
    pub(crate) fn strength_rank(self) -> i32 {
        (self.ret() & libc::SECCOMP_RET_ACTION_FULL) as i32
    }

    /// runc skips the -ENOSYS stub for defaults that let calls through: a new syscall must then
    /// run, not fail. hardinit answers its own notifications with CONTINUE, so they let the
    /// call run too (and the floor must still refuse what it refuses beneath them).
    pub(crate) fn lets_calls_run(self) -> bool {
        matches!(
            self,
            Action::Allow | Action::Log | Action::Trace(_) | Action::Notify
        )
    }

    pub fn oci_name(self) -> &'static str {
        match self {
            Action::Allow => "SCMP_ACT_ALLOW",
            Action::Errno(_) => "SCMP_ACT_ERRNO",
            Action::KillProcess => "SCMP_ACT_KILL_PROCESS",
            Action::KillThread => "SCMP_ACT_KILL_THREAD",
            Action::Trap => "SCMP_ACT_TRAP",
            Action::Log => "SCMP_ACT_LOG",
            Action::Trace(_) => "SCMP_ACT_TRACE",
            Action::Notify => "SCMP_ACT_NOTIFY",
        }
    }

    /// The `errnoRet` an OCI profile needs to say this action again.
    pub fn errno_ret(self) -> Option<u16> {
        match self {
            Action::Errno(data) | Action::Trace(data) => Some(data),
            _ => None,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Allow => f.write_str("allow"),
            Action::Errno(errno) => write!(f, "errno {errno}{}", errno_label(*errno)),
            Action::KillProcess => f.write_str("kill process"),
            Action::KillThread => f.write_str("kill thread"),
            Action::Trap => f.write_str("trap (SIGSYS)"),
            Action::Log => f.write_str("log and allow"),
            Action::Trace(data) => write!(f, "trace {data}"),
            Action::Notify => f.write_str("notify hardinit"),
        }
    }
}

/// Names the errnos profiles actually use, so a summary reads `errno 1 (EPERM)`.
fn errno_label(errno: u16) -> &'static str {
    match i32::from(errno) {
        libc::EPERM => " (EPERM)",
        libc::EACCES => " (EACCES)",
        libc::ENOSYS => " (ENOSYS)",
        libc::EINVAL => " (EINVAL)",
        libc::EPROTONOSUPPORT => " (EPROTONOSUPPORT)",
        libc::EAFNOSUPPORT => " (EAFNOSUPPORT)",
        _ => "",
    }
}

/// Reads an OCI action name. `errno_ret` is only meaningful for ERRNO and TRACE (runc
/// ignores it elsewhere); NOTIFY needs a seccomp agent, which hardinit does not have.
pub(crate) fn parse_action(
    name: &str,
    errno_ret: Option<u32>,
    profile: &str,
    at: Option<&At>,
) -> Result<Action, SeccompError> {
    let data = || check_errno(errno_ret, profile, at);
    Ok(match name {
        "SCMP_ACT_ALLOW" => Action::Allow,
        "SCMP_ACT_ERRNO" => Action::Errno(data()?),
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_PROCESS" => Action::KillProcess,
        "SCMP_ACT_KILL_THREAD" => Action::KillThread,
        "SCMP_ACT_TRAP" => Action::Trap,
        "SCMP_ACT_LOG" => Action::Log,
        "SCMP_ACT_TRACE" => Action::Trace(data()?),
        "SCMP_ACT_NOTIFY" => {
            return Err(SeccompError::at(profile, describe_at(at), Problem::Notify))
        }
        other => {
            return Err(SeccompError::at(
                profile,
                describe_at(at),
                Problem::UnknownAction(other.to_owned()),
            ))
        }
    })
}

fn check_errno(
    errno_ret: Option<u32>,
    profile: &str,
    at: Option<&At>,
) -> Result<u16, SeccompError> {
    match errno_ret {
        None => Ok(DEFAULT_ERRNO),
        Some(errno) if errno <= MAX_ERRNO => Ok(errno as u16),
        Some(errno) => Err(SeccompError::at(
            profile,
            describe_at(at),
            Problem::ErrnoRange(errno),
        )),
    }
}

/// "defaultAction" when the error is about the profile's default, else the entry.
fn describe_at(at: Option<&At>) -> String {
    at.map_or_else(|| "defaultAction".to_owned(), ToString::to_string)
}

/// An argument comparison, unsigned over the full 64-bit value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    NotEqual,
    LessThan,
    LessOrEqual,
    Equal,
    GreaterOrEqual,
    GreaterThan,
    /// `(arg & value) == value_two`: OCI puts the mask in `value` and the datum in `valueTwo`.
    MaskedEqual,
}

impl Op {
    pub const ALL: [Op; 7] = [
        Op::NotEqual,
        Op::LessThan,
        Op::LessOrEqual,
        Op::Equal,
        Op::GreaterOrEqual,
        Op::GreaterThan,
        Op::MaskedEqual,
    ];

    pub fn oci_name(self) -> &'static str {
        match self {
            Op::NotEqual => "SCMP_CMP_NE",
            Op::LessThan => "SCMP_CMP_LT",
            Op::LessOrEqual => "SCMP_CMP_LE",
            Op::Equal => "SCMP_CMP_EQ",
            Op::GreaterOrEqual => "SCMP_CMP_GE",
            Op::GreaterThan => "SCMP_CMP_GT",
            Op::MaskedEqual => "SCMP_CMP_MASKED_EQ",
        }
    }

    fn from_oci_name(name: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.oci_name() == name)
    }
}

/// One condition of an entry: `args[index] <op> value` (or the masked form).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ArgCmp {
    pub index: u8,
    pub op: Op,
    pub value: u64,
    pub value_two: u64,
}

impl ArgCmp {
    /// What the condition says of a concrete argument vector; the reference the BPF is
    /// tested against.
    pub fn holds(&self, args: &[u64; 6]) -> bool {
        let arg = args[usize::from(self.index)];
        match self.op {
            Op::NotEqual => arg != self.value,
            Op::LessThan => arg < self.value,
            Op::LessOrEqual => arg <= self.value,
            Op::Equal => arg == self.value,
            Op::GreaterOrEqual => arg >= self.value,
            Op::GreaterThan => arg > self.value,
            Op::MaskedEqual => arg & self.value == self.value_two,
        }
    }
}

/// A system call has at most six arguments.
const MAX_ARG_INDEX: u64 = 5;

pub(crate) fn parse_arg(raw: &RawArg, profile: &str, at: &At) -> Result<ArgCmp, SeccompError> {
    if raw.index > MAX_ARG_INDEX {
        return Err(SeccompError::at(profile, at, Problem::ArgIndex(raw.index)));
    }
    let op = Op::from_oci_name(&raw.op)
        .ok_or_else(|| SeccompError::at(profile, at, Problem::UnknownOp(raw.op.clone())))?;
    Ok(ArgCmp {
        index: raw.index as u8,
        op,
        value: raw.value,
        value_two: raw.value_two,
    })
}

/// Reads the `flags` list into SECCOMP_FILTER_FLAG_* bits. TSYNC is accepted and dropped:
/// the filter is installed in a single-threaded child just before execve, as runc notes.
pub(crate) fn parse_flags(flags: &[String], profile: &str) -> Result<u32, SeccompError> {
    flags.iter().try_fold(0u32, |bits, flag| {
        let bit = match flag.as_str() {
            "SECCOMP_FILTER_FLAG_LOG" => libc::SECCOMP_FILTER_FLAG_LOG,
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW" => libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW,
            "SECCOMP_FILTER_FLAG_TSYNC" => 0,
            other => {
                return Err(SeccompError::whole(
                    profile,
                    Problem::UnknownFlag(other.to_owned()),
                ))
            }
        };
        Ok(bits | bit as u32)
    })
}

/// The names OCI uses for the flag bits hardinit keeps.
pub(crate) fn flag_names(bits: u32) -> Vec<&'static str> {
    [
        (libc::SECCOMP_FILTER_FLAG_LOG, "SECCOMP_FILTER_FLAG_LOG"),
        (
            libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW,
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        ),
    ]
    .into_iter()
    .filter(|&(bit, _)| bits & bit as u32 != 0)
    .map(|(_, name)| name)
    .collect()
}

/// Parses Docker's `minKernel` ("<kernel>.<major>", each 0..=255, not "0.0").
pub(crate) fn parse_min_kernel(text: &str) -> Option<(u32, u32)> {
    let (major, minor) = text.split_once('.')?;
    let major: u8 = major.parse().ok()?;
    let minor: u8 = minor.parse().ok()?;
    if major == 0 && minor == 0 {
        return None;
    }
    Some((u32::from(major), u32::from(minor)))
}

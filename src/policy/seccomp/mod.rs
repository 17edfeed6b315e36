//! Seccomp: which profile, what it means on this machine, and the BPF that enforces it.
//!
//! Pure: profile *contents* are passed in, and the capabilities and kernel version the
//! includes/excludes are evaluated against come in a `Context`. Installing the filter is
//! `sys::install_seccomp_filter`.
//!
//! Where hardinit differs from Docker + runc on purpose:
//! - `SCMP_ACT_KILL` kills the process, not the thread (runc kills the thread);
//! - compat calls (i386 `int 0x80` and x32 on x86_64, AArch32 on aarch64) are killed even when
//!   a profile lists those sub-architectures (Docker's default allows them); only the native
//!   architecture's calls are filtered, by its own table (`syscalls`);
//! - when several entries for one call hold, the strongest action wins (libseccomp lets an
//!   unconditional rule hide conditional ones of any action);
//! - conditions on the same argument within one entry are AND'd (runc splits them into
//!   separate, OR'd rules because libseccomp cannot express that);
//! - a profile without `defaultAction` is an error (Docker treats it as "no seccomp").

mod bpf;
mod builtin;
mod eval;
mod export;
mod floor;
pub mod learned;
mod model;
mod summary;
pub mod syscalls;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::kernel::SeccompFilter;

pub use bpf::{simulate, worst_case_walk, SeccompData, Walk};
pub use builtin::Builtin;
pub use export::SpoError;
pub use floor::{floor, Floor, FloorOptions, Refusal, ABI_TRUNCATE};
pub use model::{Action, ArgCmp, Op};
pub use summary::{Summary, Treatment};
pub use syscalls::{Arch, NATIVE};

/// What `--seccomp` asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    Unconfined,
    Builtin(Builtin),
    File(PathBuf),
}

/// `default`, `node` and `unconfined` are names; anything else is a path to a JSON profile.
pub fn parse_choice(spec: &str) -> Choice {
    match spec {
        "unconfined" => Choice::Unconfined,
        name => match Builtin::from_name(name) {
            Some(builtin) => Choice::Builtin(builtin),
            None => Choice::File(PathBuf::from(spec)),
        },
    }
}

impl Choice {
    /// The file `resolve` needs the contents of, if any.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Choice::File(path) => Some(path),
            _ => None,
        }
    }
}

/// What includes/excludes are evaluated against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Context {
    /// Whose table names resolve in and whose `arches` entries apply: [`NATIVE`] but in
    /// tests.
    pub arch: &'static Arch,
    /// The capabilities the program will really have (its bounding set, as Docker uses):
    /// bit N = capability N.
    pub caps: u64,
    /// The running kernel, `(major, minor)` as `uname -r` starts.
    pub kernel: (u32, u32),
}

/// Reads `(major, minor)` from a kernel release such as `6.18.44-fc-v657` or `3.12-1-amd64`.
pub fn parse_kernel_release(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.splitn(3, |c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// Where a profile came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Builtin(Builtin),
    File(PathBuf),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Builtin(b) => write!(f, "built-in profile `{b}`"),
            Origin::File(path) => write!(f, "{}", path.display()),
        }
    }
}

impl Origin {
    /// A Kubernetes object name (lowercase letters, digits, '-', '.'; 253 at most) for the
    /// profile: `hardinit-node` for a built-in one, the file's stem for a file.
    pub fn spo_name(&self) -> String {
        let stem = match self {
            Origin::Builtin(b) => return format!("hardinit-{b}"),
            Origin::File(path) => path
                .file_stem()
                .map(|s| s.to_string_lossy().to_ascii_lowercase())
                .unwrap_or_default(),
        };
        let name: String = stem
            .chars()
            .map(|c| match c {
                'a'..='z' | '0'..='9' | '-' | '.' => c,
                _ => '-',
            })
            .take(253)
            .collect();
        let name = name.trim_matches(|c| c == '-' || c == '.');
        if name.is_empty() {
            "hardinit-profile".to_string()
        } else {
            name.to_string()
        }
    }
}

/// A profile as it applies here: includes/excludes evaluated, names not on the arch dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub arch: &'static Arch,
    pub origin: Origin,
    pub default_action: Action,
    /// SECCOMP_FILTER_FLAG_* bits.
    pub flags: u32,
    pub rules: Vec<Rule>,
    /// Names the profile lists that the arch does not have (other arches, 32-bit variants).
    pub unknown_names: Vec<String>,
}

/// One `syscalls[]` entry that applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Its index in the profile's `syscalls`.
    pub entry: usize,
    /// The architecture table's own strings (a rule holds only names its arch has, but in a
    /// learned profile, which keeps FILE's names of other architectures: `learned::profile`).
    pub names: Vec<&'static str>,
    pub action: Action,
    /// All must hold.
    pub args: Vec<ArgCmp>,
}

/// Resolves `choice` into the profile to enforce, `None` for unconfined. For a file,
/// `file_contents` holds what was read from it.
pub fn resolve(
    choice: &Choice,
    file_contents: Option<&str>,
    ctx: &Context,
) -> Result<Option<Profile>, SeccompError> {
    let (origin, json) = match choice {
        Choice::Unconfined => return Ok(None),
        // Parsed and checked at build time.
        Choice::Builtin(builtin) => return builtin.resolve(ctx).map(Some),
        Choice::File(path) => match file_contents {
            Some(json) => (Origin::File(path.clone()), json),
            None => return Err(SeccompError::MissingContents { path: path.clone() }),
        },
    };
    let parse_error = |source| SeccompError::ParseProfile {
        profile: origin.to_string(),
        source,
    };
    // Read straight from the text, so that errors keep their line and column; the object's
    // header first, with the same deserializer, so the profile's code exists once.
    let header: model::RawObjectHeader = serde_json::from_str(json).map_err(parse_error)?;
    let raw = if header.is_spo() {
        let object: model::RawSpoObject = serde_json::from_str(json).map_err(parse_error)?;
        refuse_base_profile(object.spec, &origin)?
    } else {
        serde_json::from_str(json).map_err(parse_error)?
    };
    eval::resolve_raw(raw, origin, ctx).map(Some)
}

/// The `spec` of a Security Profiles Operator `SeccompProfile` object (what `--format spo`
/// writes) is an OCI profile. One with a base profile is refused: that lives in the cluster,
/// so what it adds cannot be known here.
fn refuse_base_profile(
    spec: model::RawProfile,
    origin: &Origin,
) -> Result<model::RawProfile, SeccompError> {
    if spec.base_profile_name.is_some() {
        return Err(SeccompError::Invalid {
            profile: origin.to_string(),
            at: Some("spec.baseProfileName".to_string()),
            problem: Problem::SpoBaseProfile,
        });
    }
    Ok(spec)
}

impl Profile {
    /// The profile in OCI form for the native arch, ready for
    /// `docker run --security-opt seccomp=FILE`. Keys and entries keep a fixed order.
    pub fn to_oci_json(&self) -> String {
        export::oci_json(self)
    }

    /// The profile as a Security Profiles Operator `SeccompProfile` object (JSON), for the
    /// native arch; refused when the CRD cannot say what the profile does.
    pub fn to_spo_json(&self) -> Result<String, SpoError> {
        export::spo_json(self, &self.origin.spo_name())
    }

    /// The profile alone, without the floor.
    pub fn summary(&self) -> Summary {
        summary::summarize(Some(self), &eval::plan(self))
    }

    /// The profile alone as BPF, without the floor and without asking whether a program
    /// could run under it.
    pub fn compile(&self) -> Result<SeccompFilter, SeccompError> {
        emit(&eval::plan(self), self.flags)
    }

    /// The floor written into the profile for the runtime layer. Where runc can enforce it
    /// itself (a mode call the profile allows whatever the arguments, under a default that
    /// refuses), the call's unconditional allow becomes an allow without setuid/setgid bits.
    /// Every other refusal is appended as entries, which show it and which hardinit gives
    /// back when the file is read with `--seccomp FILE`; runc (libseccomp) lets an
    /// unconditional allow of the same call hide them. A call the profile refuses whatever
    /// its arguments gets nothing, and nothing is repeated when an exported file is exported
    /// again.
    pub fn with_floor_entries(mut self, floor: &Floor) -> Profile {
        let plan = eval::plan(&self);
        let mut names: Vec<&'static str> = Vec::new();
        for (name, _) in floor.refusals.iter().flat_map(|r| r.rules.iter()) {
            if !names.contains(name) {
                names.push(name);
            }
        }
        for name in names {
            let Some(nr) = self.arch.number(name) else {
                continue;
            };
            if plan.refuses_always(nr) || self.allow_without_bits(name, floor) {
                continue;
            }
            // A refusal whatever the arguments (openat2, io_uring) must not stay hidden
            // behind an unconditional allow: under a refusing default the allow goes.
            let always = floor.rules_for(name).all(|(_, args)| args.is_empty());
            if always && !self.default_action.lets_calls_run() {
                self.drop_unconditional_allow(name);
            }
            for (action, args) in floor.rules_for(name) {
                let present = self
                    .rules
                    .iter()
                    .any(|r| r.names == [name] && r.action == action && r.args == args);
                if !present {
                    self.push_rule(vec![name], action, args.to_vec());
                }
            }
        }
        self
    }

    /// Takes `name` out of every entry that allows it whatever the arguments.
    fn drop_unconditional_allow(&mut self, name: &str) {
        for rule in self
            .rules
            .iter_mut()
            .filter(|r| r.action == Action::Allow && r.args.is_empty())
        {
            rule.names.retain(|&n| n != name);
        }
        self.rules.retain(|r| !r.names.is_empty());
    }

    /// Turns the unconditional allow of `name` into "allowed when none of the floor's bits is
    /// set", when the floor's rules for it are bit tests and the default refuses; whether the
    /// profile says so now.
    fn allow_without_bits(&mut self, name: &'static str, floor: &Floor) -> bool {
        let Some((_, test)) = floor::as_bit_test(floor.rules_for(name)) else {
            return false;
        };
        let names_it = |r: &Rule| r.names.contains(&name);
        let guarded = |r: &Rule| r.action == Action::Allow && r.args == [test];
        if self.rules.iter().any(|r| guarded(r) && names_it(r)) {
            return true;
        }
        let unconditional = |r: &Rule| r.action == Action::Allow && r.args.is_empty();
        if self.default_action.lets_calls_run()
            || !self.rules.iter().any(|r| unconditional(r) && names_it(r))
        {
            return false;
        }
        self.drop_unconditional_allow(name);
        match self.rules.iter_mut().find(|r| guarded(r)) {
            Some(rule) => rule.names.push(name),
            None => self.push_rule(vec![name], Action::Allow, vec![test]),
        }
        true
    }
}

/// The whole filter as data: the profile's plan (or, unconfined, one that allows everything)
/// with the floor merged in.
fn full_plan(profile: Option<&Profile>, floor: Option<&Floor>) -> Option<eval::FilterPlan> {
    let mut plan = match profile {
        Some(p) => eval::plan(p),
        None => eval::FilterPlan::allow_all(floor.map_or(NATIVE, |f| f.arch)),
    };
    match (profile, floor) {
        (None, None) => return None,
        (_, Some(floor)) => eval::add_floor(&mut plan, floor),
        (Some(_), None) => {}
    }
    Some(plan)
}

/// The filter for the program: the profile (`None`: unconfined) with the floor (`None`: the
/// tini personality) merged in; `None` when there is neither.
pub fn compile(
    profile: Option<&Profile>,
    floor: Option<&Floor>,
) -> Result<Option<SeccompFilter>, SeccompError> {
    full_plan(profile, floor)
        .map(|plan| emit(&plan, profile.map_or(0, |p| p.flags)))
        .transpose()
}

/// A profile that refuses a call every program needs (execve, exit_group) is an error: the
/// program could never start, or never end. Decided from the plan the filter is compiled
/// from, floor included, so the default, `errnoRet` 0, kills and argument rules all count.
/// A launch checks with `compile_checked`, which compiles the same plan; this checks alone.
#[cfg(test)]
pub fn check_program_can_run(
    profile: Option<&Profile>,
    floor: Option<&Floor>,
) -> Result<(), SeccompError> {
    match full_plan(profile, floor) {
        Some(plan) => check_plan_can_run(profile, &plan),
        None => Ok(()),
    }
}

fn check_plan_can_run(
    profile: Option<&Profile>,
    plan: &eval::FilterPlan,
) -> Result<(), SeccompError> {
    let Some(p) = profile else {
        return Ok(());
    };
    match eval::refused_need(plan) {
        Some((call, action)) => Err(SeccompError::RefusesNeededCall {
            profile: p.origin.to_string(),
            call,
            action: action.to_string(),
        }),
        None => Ok(()),
    }
}

/// `check_program_can_run`, then `compile`, from one plan: what a launch needs, for half
/// the work.
pub fn compile_checked(
    profile: Option<&Profile>,
    floor: Option<&Floor>,
) -> Result<Option<SeccompFilter>, SeccompError> {
    let Some(plan) = full_plan(profile, floor) else {
        return Ok(None);
    };
    check_plan_can_run(profile, &plan)?;
    emit(&plan, profile.map_or(0, |p| p.flags)).map(Some)
}

fn emit(plan: &eval::FilterPlan, flags: u32) -> Result<SeccompFilter, SeccompError> {
    Ok(SeccompFilter {
        program: bpf::emit(plan)?,
        flags,
        reads_pass: plan
            .arch
            .number("read")
            .is_some_and(|nr| plan.runs_always(nr)),
    })
}

/// What `--print-policy` says about seccomp: the profile's (or unconfined) actions and BPF,
/// floor included, then the floor's refusals.
pub fn describe(profile: Option<&Profile>, floor: Option<&Floor>) -> String {
    let summary = full_plan(profile, floor).map(|plan| summary::summarize(profile, &plan));
    match (summary, floor) {
        (Some(summary), Some(floor)) => format!("{summary}\n{floor}"),
        (Some(summary), None) => summary.to_string(),
        (None, _) => "seccomp: unconfined".to_string(),
    }
}

/// The calls hardinit's own set-up makes (ids, capabilities, prctl, Landlock, the filter
/// itself, its signal wait) that a program's profile need not allow. A profile exported for
/// the runtime layer (Docker, runc, Kubernetes) also filters hardinit, before hardinit installs
/// its own filter for the program, so the export allows these as well, with the calls the
/// static musl build makes on the arch ([`Arch::launcher_calls`]); the exec wait polls a
/// signalfd. Where hardinit holds CAP_SYS_ADMIN and the kernel's files are writable, it mounts
/// them read-only in a namespace of the program's own (`unshare`, `mount`, `open_tree`, `mount_setattr`, `move_mount`).
/// PID 1 reads its bounding set from procfs (`fstatfs` checks it is procfs) and gives its
/// binary's pages back after the exec (`madvise`, `fadvise64`): under a kill-by-default
/// runtime profile a missing one would kill PID 1.
const LAUNCHER_CALLS: [&str; 25] = [
    "capset",
    "close_range",
    "fadvise64",
    "fstatfs",
    "getgroups",
    "getresgid",
    "getresuid",
    "landlock_add_rule",
    "landlock_create_ruleset",
    "landlock_restrict_self",
    "madvise",
    "mount",
    "mount_setattr",
    "move_mount",
    "open_tree",
    "ppoll",
    "prctl",
    "rt_sigtimedwait",
    "seccomp",
    "setgroups",
    "setpgid",
    "setresgid",
    "setresuid",
    "signalfd4",
    "unshare",
];

/// ioctl(TIOCSPGRP): hardinit puts the program in the terminal's foreground.
const TIOCSPGRP: u64 = 0x5410;

/// `clone(SIGCHLD, 0, ...)`: musl's fork() where the arch has no `fork` call.
const CLONE_AS_FORK: u64 = libc::SIGCHLD as u64;

impl Profile {
    /// The profile to apply at the runtime layer, where hardinit runs under it too: the
    /// launcher's calls that the profile does not allow whatever the arguments are added as
    /// ALLOW entries at the end (one for the unconditional ones, one per argument rule). A
    /// profile that lets calls run by default is unchanged.
    pub fn for_runtime(mut self) -> Profile {
        if self.default_action.lets_calls_run() {
            return self;
        }
        // hardinit's own calls never carry a setuid/setgid bit: an allow without those bits
        // (how an export writes the floor) is enough for them.
        let allowed: Vec<&str> = self
            .rules
            .iter()
            .filter(|r| r.action == Action::Allow)
            .flat_map(|r| r.names.iter().map(move |&n| (n, r)))
            .filter(|(n, r)| {
                r.args.is_empty() || floor::no_mode_bits(n).is_some_and(|g| r.args == [g])
            })
            .map(|(n, _)| n)
            .collect();
        let mut wanted: Vec<&'static str> = LAUNCHER_CALLS
            .iter()
            .chain(self.arch.launcher_calls)
            .copied()
            .collect();
        wanted.sort_unstable();
        let missing: Vec<&'static str> = wanted
            .into_iter()
            .filter(|name| !allowed.contains(name))
            .collect();
        let masked = |index, datum| ArgCmp {
            index,
            op: Op::MaskedEqual,
            value: 0xffff_ffff,
            value_two: datum,
        };
        let mut conditional = vec![("ioctl", masked(1, TIOCSPGRP))];
        if self.arch.forks_with_clone {
            conditional.push(("clone", masked(0, CLONE_AS_FORK)));
        }
        // Kept only where the profile does not already allow the call with those arguments
        // (the others zero, as hardinit passes them).
        let plan = eval::plan(&self);
        conditional.retain(|&(name, cmp)| {
            let mut args = [0u64; 6];
            args[usize::from(cmp.index)] = cmp.value_two;
            self.arch
                .number(name)
                .is_some_and(|nr| plan.action_for(nr, &args) != Action::Allow)
        });
        if !missing.is_empty() {
            self.push_allow(missing, Vec::new());
        }
        for (name, cmp) in conditional {
            self.push_allow(vec![name], vec![cmp]);
        }
        self
    }

    fn push_allow(&mut self, names: Vec<&'static str>, args: Vec<ArgCmp>) {
        self.push_rule(names, Action::Allow, args);
    }

    fn push_rule(&mut self, names: Vec<&'static str>, action: Action, args: Vec<ArgCmp>) {
        self.rules.push(Rule {
            entry: self.rules.len(),
            names,
            action,
            args,
        });
    }
}

/// Where in a profile something is wrong: `syscalls[3] ("socket") args[1]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct At {
    pub entry: usize,
    pub name: Option<String>,
    pub arg: Option<usize>,
}

impl At {
    fn entry(entry: usize, name: Option<&str>) -> At {
        At {
            entry,
            name: name.map(str::to_owned),
            arg: None,
        }
    }

    fn arg(&self, arg: usize) -> At {
        At {
            arg: Some(arg),
            ..self.clone()
        }
    }
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "syscalls[{}]", self.entry)?;
        if let Some(name) = &self.name {
            write!(f, " ({name:?})")?;
        }
        if let Some(arg) = self.arg {
            write!(f, " args[{arg}]")?;
        }
        Ok(())
    }
}

/// What is wrong with a part of a profile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("unknown action {0:?}")]
    UnknownAction(String),
    #[error("SCMP_ACT_NOTIFY needs a seccomp agent, which hardinit does not run")]
    Notify,
    #[error("errnoRet {0} is above the largest errno, 4095")]
    ErrnoRange(u32),
    #[error("argument index {0} is out of range (a system call has arguments 0 to 5)")]
    ArgIndex(u64),
    #[error("unknown comparison {0:?}")]
    UnknownOp(String),
    #[error("the entry names no system call")]
    NoNames,
    #[error("a system call name is empty")]
    EmptyName,
    #[error("both `name` and `names` are given; use one")]
    NameAndNames,
    #[error("both `architectures` and `archMap` are given; use one")]
    ArchitecturesAndArchMap,
    #[error("minKernel {0:?} is not \"<kernel>.<major>\"")]
    MinKernel(String),
    #[error("unknown flag {0:?}")]
    UnknownFlag(String),
    #[error("a SeccompProfile with a baseProfileName needs that base profile from the cluster; merge it into this file first")]
    SpoBaseProfile,
}

#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    #[error("no contents were read for seccomp profile {}", path.display())]
    MissingContents { path: PathBuf },
    #[error("malformed JSON in seccomp profile {profile}")]
    ParseProfile {
        profile: String,
        source: serde_json::Error,
    },
    /// Something a profile says is wrong: which profile, where in it, and what.
    #[error("seccomp profile {profile}: {}{problem}", .at.as_ref().map(|at| format!("{at}: ")).unwrap_or_default())]
    Invalid {
        profile: String,
        /// `syscalls[3] ("socket") args[1]`, `defaultAction`; `None` for the whole profile.
        at: Option<String>,
        problem: Problem,
    },
    #[error("seccomp profile {profile} refuses {call} to the program ({action}), so it could never start or end; allow {call}")]
    RefusesNeededCall {
        profile: String,
        call: &'static str,
        action: String,
    },
    #[error("the seccomp filter has {len} instructions, more than the kernel's limit of 4096")]
    FilterTooLong { len: usize },
    #[error("the seccomp filter needs a jump further than BPF can encode (a bug in hardinit)")]
    JumpOutOfReach,
    #[error("{profile} was not built for {arch} (a bug in hardinit)")]
    NoBuiltinTable { profile: String, arch: &'static str },
}

impl SeccompError {
    /// `problem` at `at` in `profile`.
    pub(crate) fn at(profile: &str, at: impl ToString, problem: Problem) -> SeccompError {
        SeccompError::Invalid {
            profile: profile.to_owned(),
            at: Some(at.to_string()),
            problem,
        }
    }

    /// `problem` with `profile` as a whole.
    pub(crate) fn whole(profile: &str, problem: Problem) -> SeccompError {
        SeccompError::Invalid {
            profile: profile.to_owned(),
            at: None,
            problem,
        }
    }
}

#[cfg(test)]
mod tests;

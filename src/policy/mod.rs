//! What the user asked for, validated against the image and the process hardinit runs in:
//! one [`Policy`] holding all three layers (ids, capabilities, no_new_privs and rlimits; the
//! seccomp profile; the Landlock rules). Pure: no system calls; the host's facts, file
//! contents included, are passed in ([`Facts`]).

pub mod caps;
pub mod kernel;
pub mod landlock;
pub mod seccomp;
pub mod user;

use std::fmt;

use ::caps::Capability::{
    self, CAP_KILL, CAP_SETGID, CAP_SETPCAP, CAP_SETUID, CAP_SYS_ADMIN, CAP_SYS_PTRACE,
};
use thiserror::Error;

use self::caps::CapsError;
use self::landlock::{LandlockError, LandlockPolicy, LandlockRequest};
use self::seccomp::{Profile, SeccompError};
use self::user::{Databases, Identity, UserError};
use crate::kernel::SeccompFilter;

#[derive(Debug, Error)]
pub enum PolicyError {
    #[error(transparent)]
    User(#[from] UserError),
    #[error(transparent)]
    Seccomp(#[from] SeccompError),
    #[error(transparent)]
    Caps(#[from] CapsError),
    #[error(transparent)]
    LandlockPolicy(#[from] LandlockError),
    #[error(transparent)]
    KernelFiles(#[from] kernel::KernelFilesError),
    #[error("--rlimit: {0}")]
    Rlimit(String),
    #[error("--user: hardinit runs as uid {uid} without CAP_SETUID and CAP_SETGID, so it cannot switch to {want}; start the container as root or drop --user")]
    CannotSwitch { uid: u32, want: String },
    #[error("--cap-add: {0} is not in hardinit's permitted set (the container runtime took it away), so the program cannot keep it")]
    CapNotHeld(String),
    #[error("cannot drop the bounding set without CAP_SETPCAP, and --allow-new-privileges lets exec regain what it holds; drop --allow-new-privileges or grant CAP_SETPCAP")]
    BoundingWithoutNoNewPrivs,
    #[error("--seccomp {profile}: without no_new_privs the kernel lets only a process holding CAP_SYS_ADMIN install a filter, and the program will not hold it; drop --allow-new-privileges, use --seccomp unconfined, or --cap-add SYS_ADMIN")]
    SeccompWithoutNoNewPrivs { profile: String },
    #[error("--allow-new-privileges: without no_new_privs the kernel lets only a process holding CAP_SYS_ADMIN install hardinit's seccomp floor, and hardinit does not hold it; drop --allow-new-privileges, or start hardinit with CAP_SYS_ADMIN")]
    FloorWithoutNoNewPrivs,
}

/// The options that decide the policy, as the command line gave them.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Invoked as `tini` or `docker-init`: tini's defaults, nothing dropped unless asked.
    pub tini_mode: bool,
    pub user: Option<String>,
    pub groups: Option<Vec<String>>,
    pub cap_add: Vec<String>,
    pub allow_new_privileges: bool,
    pub no_new_privileges: bool,
    pub rlimits: Vec<String>,
    /// `--seccomp PROFILE`: `default`, `node`, `unconfined` or a path.
    pub seccomp: Option<String>,
    pub landlock: LandlockRequest,
}

/// What the host tells about itself, read once before anything is decided.
pub struct Facts {
    /// hardinit's own ids, capability sets and bounding set.
    pub process: ProcessState,
    /// The running kernel's (major, minor), which profiles' `minKernel` is compared with.
    pub kernel: (u32, u32),
    /// The kernel's Landlock ABI version; 0 when it offers none.
    pub landlock_abi: u32,
    /// The image's /etc/passwd and /etc/group.
    pub databases: Databases,
    /// The text of the seccomp profile file the request names, when it names a file.
    pub profile: Option<String>,
    /// The kernel interfaces (/proc/sys, /sys, ...): absent, masked, read-only or writable.
    pub kernel_files: Vec<(std::path::PathBuf, kernel::FileState)>,
    /// The mount table (/proc/self/mountinfo; empty without /proc), read once for the
    /// kernel files' survey and the write paths' other names.
    pub mounts: Vec<crate::kernel::mounts::Mount>,
}

/// Facts about the process hardinit runs in, read by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessState {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
    pub permitted: u64,
    pub effective: u64,
    pub bounding: u64,
    /// /proc/sys/kernel/cap_last_cap
    pub last_cap: u8,
}

impl ProcessState {
    /// Whether hardinit holds `cap` in its effective set.
    pub fn has(&self, cap: Capability) -> bool {
        self.effective & cap.bitmask() != 0
    }
}

/// A resource limit to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rlimit {
    /// Index into `sys::RLIMITS`.
    pub index: u8,
    pub soft: u64,
    pub hard: u64,
}

/// How the bounding set is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bounding {
    /// Everything outside the allow-list is dropped.
    Drop,
    /// Left as it is: tini's defaults.
    Keep,
    /// hardinit lacks CAP_SETPCAP; harmless because no_new_privs is set.
    CannotDrop,
}

/// The validated policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub identity: Identity,
    /// Whether setgroups/setresgid/setresuid run at all.
    pub switch_identity: bool,
    /// Set HOME from the passwd entry (`--user` was given).
    pub set_home: bool,
    /// The allow-list; `None` leaves every capability set alone (tini's defaults).
    pub caps: Option<u64>,
    pub bounding: Bounding,
    pub no_new_privs: bool,
    pub rlimits: Vec<Rlimit>,
    /// Who PID 1 is once the program runs.
    pub init: InitIdentity,
    /// PID 1 keeps CAP_KILL: to signal a program of another uid, or one that could change
    /// its uid and so escape a same-uid signal.
    pub init_keeps_kill: bool,
    /// The program may hold CAP_SYS_PTRACE: see [`Policy::init_traceable`].
    pub may_ptrace: bool,
    /// The program's seccomp profile; `None`: unconfined.
    pub seccomp: Option<Profile>,
    /// How the kernel interfaces (/proc/sys, /sys, ...) are kept from the program.
    pub kernel_files: kernel::KernelFiles,
    /// hardinit's seccomp floor, merged into the program's filter; `None` for the tini
    /// personality.
    pub floor: Option<seccomp::Floor>,
    /// The profile with the floor merged in, compiled once; `None` when there is neither.
    /// Learning and complain mode install their own filter instead.
    pub filter: Option<SeccompFilter>,
    /// Install the filter before the identity switch, while the child still holds
    /// CAP_SYS_ADMIN: without no_new_privs that is the only way to give the floor to a
    /// program that will not hold it (`--allow-new-privileges --seccomp unconfined`).
    pub seccomp_early: bool,
    pub landlock: LandlockPolicy,
}

/// The uid PID 1 holds once the program runs. Signals, prlimit, setpriority, the scheduler
/// and ioprio calls, ptrace and /proc/PID/* all let a process act on another of the same
/// uid, or on any process with a capability: a uid the program does not have (and cannot
/// take) keeps the program away from PID 1 however hardinit was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitIdentity {
    /// hardinit keeps its own uid (root, without capabilities but CAP_KILL), which the
    /// program does not have.
    Own,
    /// The program runs as hardinit's own uid (root) and cannot change it: PID 1 moves to
    /// the last uid of its user namespace, keeping CAP_KILL.
    Apart,
    /// PID 1 takes the program's ids: it lacks CAP_KILL to signal another uid, or the
    /// CAP_SETUID/CAP_SETGID to leave the one it shares with the program, or the program
    /// may change its uid anyway. Only Landlock's signal scoping then keeps signals away.
    Shared,
}

impl Policy {
    /// Validates `req` against the host: the image's user databases, hardinit's own process,
    /// the kernel's version and Landlock ABI, the profile file's text.
    pub fn build(req: &Request, facts: &Facts) -> Result<Policy, PolicyError> {
        let (db, proc) = (&facts.databases, &facts.process);
        let hardened = !req.tini_mode;
        let can_switch = proc.has(CAP_SETUID) && proc.has(CAP_SETGID);
        let identity = resolve_identity(req, db, proc, can_switch)?;
        let switch_identity =
            req.user.is_some() || req.groups.is_some() || (hardened && can_switch);
        let switch_identity = switch_identity && !same_ids(&identity, proc);
        if switch_identity && !can_switch {
            return Err(PolicyError::CannotSwitch {
                uid: proc.uid,
                want: describe_ids(&identity),
            });
        }
        let caps = resolve_caps(req, proc)?;
        let no_new_privs = if hardened {
            !req.allow_new_privileges
        } else {
            req.no_new_privileges
        };
        let bounding = match caps {
            None => Bounding::Keep,
            Some(allow) if proc.bounding & !allow == 0 => Bounding::Drop,
            Some(_) if proc.has(CAP_SETPCAP) => Bounding::Drop,
            Some(_) if no_new_privs => Bounding::CannotDrop,
            Some(_) => return Err(PolicyError::BoundingWithoutNoNewPrivs),
        };
        let choice = req.seccomp_choice();
        let seccomp_early =
            check_filter_installable(req, &choice, &identity, caps, no_new_privs, proc)?;
        let may_change_uid = !no_new_privs || caps.is_none_or(|c| c & CAP_SETUID.bitmask() != 0);
        let has_kill = proc.permitted & CAP_KILL.bitmask() != 0;
        let init = choose_init_identity(identity.uid, proc, has_kill, can_switch, may_change_uid);
        // Includes/excludes see the capabilities the program ends up with: the allow-list,
        // or the bounding set when nothing is dropped (the set Docker compares with).
        let seccomp_ctx = seccomp::Context {
            arch: seccomp::NATIVE,
            caps: caps.unwrap_or(proc.bounding),
            kernel: facts.kernel,
        };
        let seccomp = seccomp::resolve(&choice, facts.profile.as_deref(), &seccomp_ctx)?;
        // Root, or any capability: the kernel files' modes alone do not keep them.
        let privileged = identity.uid == 0 || caps != Some(0);
        let kernel_files = kernel::KernelFiles::decide(
            &facts.kernel_files,
            kernel::Writer {
                privileged,
                can_mount: proc.has(CAP_SYS_ADMIN),
            },
            req.landlock.compat,
            req.tini_mode,
        );
        // With the kernel's files kept read-only otherwise, --read-only may leave the
        // program's own /proc/PID files writable.
        let mut landlock_req = req.landlock.clone();
        landlock_req.proc_files = kernel_files.protected();
        // Signals are scoped in hardinit's own mode even without a Landlock flag; Landlock
        // needs no_new_privs, which only --allow-new-privileges leaves unset.
        landlock_req.scope_signals = hardened && no_new_privs;
        // The masks need guarding from a program their modes do not stop, unless it keeps
        // CAP_SYS_ADMIN: that one may unmount them (and mount at all, which a bare domain
        // would refuse).
        landlock_req.guard_mounts = !kernel_files.mounts().is_empty()
            && privileged
            && caps.is_some_and(|c| c & CAP_SYS_ADMIN.bitmask() == 0);
        let mut landlock = LandlockPolicy::build(&landlock_req, facts.landlock_abi)?;
        let floor = seccomp_floor(req, &req.landlock, facts.kernel, landlock.abi);
        // A profile under which the program could never start or end, or that cannot become
        // a filter, fails here, before anything runs (and in --print-policy).
        let filter = seccomp::compile_checked(seccomp.as_ref(), floor.as_ref())?;
        if floor.as_ref().is_some_and(seccomp::Floor::refuses_truncate) {
            // What Landlock lacks below ABI 3, the floor refuses: no longer a gap.
            landlock
                .unenforced
                .retain(|gap| gap.needs != seccomp::ABI_TRUNCATE);
        }
        Ok(Policy {
            identity,
            switch_identity,
            set_home: req.user.is_some(),
            caps,
            bounding,
            no_new_privs,
            rlimits: req
                .rlimits
                .iter()
                .map(|r| parse_rlimit(r))
                .collect::<Result<_, _>>()?,
            init,
            init_keeps_kill: has_kill && (init != InitIdentity::Shared || may_change_uid),
            may_ptrace: may_hold(CAP_SYS_PTRACE, caps, no_new_privs, proc),
            seccomp,
            kernel_files,
            floor,
            filter,
            seccomp_early,
            landlock,
        })
    }

    /// Whether the program can pass the kernel's ptrace access check on PID 1, which ptrace,
    /// pidfd_getfd, process_vm_readv/writev and /proc/PID/{mem,fd,environ} all make. PID 1's
    /// uid the program lacks, PID 1 being non-dumpable and the CAP_KILL it keeps that the
    /// program lacks each refuse it — and CAP_SYS_PTRACE passes all three. What is left is a
    /// Landlock domain of the program's own: a task in a domain may not trace one outside it,
    /// whatever its capabilities.
    pub fn init_traceable(&self) -> bool {
        self.may_ptrace && !self.landlock.enforces_anything()
    }

    /// The bounding-set entries the program must lose.
    pub fn bounding_drop(&self, proc: &ProcessState) -> u64 {
        match (self.bounding, self.caps) {
            (Bounding::Drop, Some(allow)) => proc.bounding & !allow,
            _ => 0,
        }
    }
}

/// A uid apart from the program's whenever hardinit has what it takes to stay there and
/// still signal the program (CAP_KILL); see [`InitIdentity`].
fn choose_init_identity(
    program_uid: u32,
    proc: &ProcessState,
    has_kill: bool,
    can_switch: bool,
    may_change_uid: bool,
) -> InitIdentity {
    if !has_kill {
        InitIdentity::Shared
    } else if program_uid != proc.uid {
        InitIdentity::Own
    } else if can_switch && !may_change_uid {
        InitIdentity::Apart
    } else {
        InitIdentity::Shared
    }
}

/// Whether the program may hold `cap`. `caps` is its allow-list (the bounding set is cut to
/// it, so no exec gains more); `None` keeps hardinit's own sets, beyond which an exec gains
/// nothing under no_new_privs, and up to the bounding set without it (a setuid-root binary).
fn may_hold(cap: Capability, caps: Option<u64>, no_new_privs: bool, proc: &ProcessState) -> bool {
    let kept = if no_new_privs {
        proc.permitted
    } else {
        proc.permitted | proc.bounding
    };
    caps.unwrap_or(kept) & cap.bitmask() != 0
}

fn resolve_identity(
    req: &Request,
    db: &Databases,
    proc: &ProcessState,
    can_switch: bool,
) -> Result<Identity, PolicyError> {
    if let Some(spec) = &req.user {
        return Ok(db.resolve(spec, req.groups.as_deref())?);
    }
    let groups = match &req.groups {
        Some(list) => db.resolve_groups(list)?,
        // Root's groups never leak through: a hardened launch clears them when it can.
        None if !req.tini_mode && can_switch => Vec::new(),
        None => proc.groups.clone(),
    };
    Ok(db.describe(proc.uid, proc.gid, groups))
}

fn resolve_caps(req: &Request, proc: &ProcessState) -> Result<Option<u64>, PolicyError> {
    if req.tini_mode && req.cap_add.is_empty() {
        return Ok(None);
    }
    // `ALL` means every capability hardinit holds: a runtime may have taken some away.
    let all_held: Vec<String> = req
        .cap_add
        .iter()
        .map(|v| {
            v.split(',')
                .filter(|n| !n.trim().eq_ignore_ascii_case("all"))
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    let wants_all = req
        .cap_add
        .iter()
        .flat_map(|v| v.split(','))
        .any(|n| n.trim().eq_ignore_ascii_case("all"));
    let mut allow = caps::parse_cap_list(&all_held, proc.last_cap)?;
    if wants_all {
        allow |= proc.permitted & crate::kernel::all_caps(proc.last_cap);
    }
    let missing = allow & !proc.permitted;
    if missing != 0 {
        return Err(PolicyError::CapNotHeld(
            crate::kernel::cap_names(missing).join(", "),
        ));
    }
    Ok(Some(allow))
}

fn same_ids(id: &Identity, proc: &ProcessState) -> bool {
    // The primary gid listed again as a supplementary group grants nothing more (Docker's
    // `--user` puts it there), so it does not count as a difference.
    let without_primary = |groups: &[u32]| {
        let mut g: Vec<u32> = groups.iter().copied().filter(|&g| g != id.gid).collect();
        g.sort_unstable();
        g.dedup();
        g
    };
    id.uid == proc.uid
        && id.gid == proc.gid
        && without_primary(&id.groups) == without_primary(&proc.groups)
}

fn describe_ids(id: &Identity) -> String {
    format!(
        "uid {} gid {} groups [{}]",
        id.uid,
        id.gid,
        join_ids(&id.groups)
    )
}

fn join_ids(ids: &[u32]) -> String {
    ids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The kernel refuses a seccomp filter from a process that has neither no_new_privs nor
/// CAP_SYS_ADMIN; say so before anything runs instead of failing at the child's last step.
/// Returns whether the filter must go in before the identity switch: the floor alone (no
/// profile) allows every set-up call, so it can be installed while the child still holds
/// CAP_SYS_ADMIN; a profile cannot.
fn check_filter_installable(
    req: &Request,
    choice: &seccomp::Choice,
    identity: &Identity,
    caps: Option<u64>,
    no_new_privs: bool,
    proc: &ProcessState,
) -> Result<bool, PolicyError> {
    let held = caps.unwrap_or(if identity.uid == 0 { proc.permitted } else { 0 });
    if no_new_privs || held & CAP_SYS_ADMIN.bitmask() != 0 {
        return Ok(false);
    }
    if *choice != seccomp::Choice::Unconfined {
        return Err(PolicyError::SeccompWithoutNoNewPrivs {
            profile: req.seccomp.clone().unwrap_or_else(|| "default".into()),
        });
    }
    if req.tini_mode {
        return Ok(false);
    }
    if !proc.has(CAP_SYS_ADMIN) {
        return Err(PolicyError::FloorWithoutNoNewPrivs);
    }
    Ok(true)
}

/// hardinit's seccomp floor for a launch (see `seccomp::floor`); none for the tini
/// personality, which changes nothing it is not asked to.
pub fn seccomp_floor(
    req: &Request,
    landlock: &landlock::LandlockRequest,
    kernel: (u32, u32),
    landlock_abi: u32,
) -> Option<seccomp::Floor> {
    (!req.tini_mode).then(|| {
        seccomp::floor(&seccomp::FloorOptions {
            read_only: landlock.read_only,
            port_lists: !landlock.allow_bind.is_empty() || !landlock.allow_connect.is_empty(),
            kernel,
            arch: seccomp::NATIVE,
            landlock_abi,
        })
    })
}

impl Request {
    /// The seccomp profile asked for: `--seccomp`, else Docker's default profile, or none
    /// when invoked as tini (tini's defaults). The one place this is decided.
    pub fn seccomp_choice(&self) -> seccomp::Choice {
        match &self.seccomp {
            Some(spec) => seccomp::parse_choice(spec),
            None if self.tini_mode => seccomp::Choice::Unconfined,
            None => seccomp::Choice::Builtin(seccomp::Builtin::Default),
        }
    }
}

/// Parses `NAME=SOFT[:HARD]`; a missing HARD equals SOFT; `unlimited` is allowed.
pub fn parse_rlimit(spec: &str) -> Result<Rlimit, PolicyError> {
    let bad = |why: String| PolicyError::Rlimit(format!("'{spec}': {why}"));
    let (name, values) = spec
        .split_once('=')
        .ok_or_else(|| bad("expected NAME=SOFT[:HARD]".into()))?;
    let name = name.trim().to_ascii_lowercase();
    let name = name.strip_prefix("rlimit_").unwrap_or(&name);
    let index = crate::kernel::RLIMITS
        .iter()
        .position(|(n, _)| *n == name)
        .ok_or_else(|| {
            let known: Vec<&str> = crate::kernel::RLIMITS.iter().map(|(n, _)| *n).collect();
            bad(format!(
                "unknown resource '{name}' (known: {})",
                known.join(", ")
            ))
        })?;
    let (soft, hard) = match values.split_once(':') {
        Some((s, h)) => (s, h),
        None => (values, values),
    };
    let parse = |v: &str| -> Result<u64, PolicyError> {
        if v.eq_ignore_ascii_case("unlimited") || v.eq_ignore_ascii_case("infinity") {
            return Ok(libc::RLIM_INFINITY);
        }
        v.parse::<u64>()
            .map_err(|_| bad(format!("'{v}' is not a number or 'unlimited'")))
    };
    let (soft, hard) = (parse(soft)?, parse(hard)?);
    if soft > hard {
        return Err(bad("the soft limit is above the hard limit".into()));
    }
    Ok(Rlimit {
        index: index as u8,
        soft,
        hard,
    })
}

fn format_limit(v: u64) -> String {
    if v == libc::RLIM_INFINITY {
        "unlimited".into()
    } else {
        v.to_string()
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = &self.identity;
        let name = id.name.as_deref().unwrap_or("(no passwd entry)");
        let switch = if self.switch_identity {
            ""
        } else {
            " (unchanged)"
        };
        writeln!(
            f,
            "user            {name} (uid {}, gid {}){switch}",
            id.uid, id.gid
        )?;
        let groups = if id.groups.is_empty() {
            "none".to_string()
        } else {
            join_ids(&id.groups)
        };
        writeln!(f, "groups          {groups}")?;
        let home = if self.set_home {
            id.home.to_string_lossy()
        } else {
            "(inherited)".into()
        };
        writeln!(f, "HOME            {home}")?;
        let caps = match self.caps {
            None => "unchanged (tini defaults)".to_string(),
            Some(0) => "none".to_string(),
            Some(set) => crate::kernel::cap_names(set).join(", "),
        };
        writeln!(f, "capabilities    {caps}")?;
        let bounding = match self.bounding {
            Bounding::Drop => "dropped except the capabilities above",
            Bounding::Keep => "unchanged (tini defaults)",
            Bounding::CannotDrop => {
                "cannot drop without CAP_SETPCAP (harmless: no_new_privs is set)"
            }
        };
        writeln!(f, "bounding set    {bounding}")?;
        writeln!(
            f,
            "no_new_privs    {}",
            if self.no_new_privs {
                "yes"
            } else {
                "no (--allow-new-privileges)"
            }
        )?;
        let limits: Vec<String> = self
            .rlimits
            .iter()
            .map(|r| {
                let name = crate::kernel::RLIMITS[usize::from(r.index)].0;
                format!("{name}={}:{}", format_limit(r.soft), format_limit(r.hard))
            })
            .collect();
        let limits = if limits.is_empty() {
            "inherited".to_string()
        } else {
            limits.join(" ")
        };
        writeln!(f, "rlimits         {limits}")?;
        writeln!(f, "PID 1           {}", self.init)?;
        if self.init_traceable() {
            writeln!(f, "                the program may ptrace it: CAP_SYS_PTRACE outside any Landlock domain (learning and complain mode refuse this)")?;
        }
        writeln!(f, "{}", self.kernel_files)?;
        writeln!(f, "{}", self.landlock)?;
        write!(
            f,
            "{}",
            seccomp::describe(self.seccomp.as_ref(), self.floor.as_ref())
        )
    }
}

impl fmt::Display for InitIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InitIdentity::Own => "keeps its own uid, which the program lacks, and only CAP_KILL",
            InitIdentity::Apart => {
                "moves to the last uid of its user namespace, with only CAP_KILL"
            }
            InitIdentity::Shared => {
                "shares the program's uid: prlimit, setpriority and the scheduler calls reach it"
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &[u8] = b"root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n";
    const GROUP: &[u8] = b"root:x:0:\nwheel:x:10:node\nnode:x:1000:\n";
    const ALL: u64 = 0x1ff_ffff_ffff;

    fn root() -> ProcessState {
        ProcessState {
            uid: 0,
            gid: 0,
            groups: vec![0, 10],
            permitted: ALL,
            effective: ALL,
            bounding: ALL,
            last_cap: 40,
        }
    }

    fn non_root() -> ProcessState {
        ProcessState {
            uid: 1000,
            gid: 1000,
            groups: vec![],
            permitted: 0,
            effective: 0,
            bounding: ALL,
            last_cap: 40,
        }
    }

    fn build(req: Request, proc: &ProcessState) -> Result<Policy, PolicyError> {
        let facts = Facts {
            process: proc.clone(),
            kernel: (6, 18),
            landlock_abi: 0,
            databases: Databases::parse(PASSWD, GROUP),
            profile: None,
            kernel_files: Vec::new(),
            mounts: Vec::new(),
        };
        Policy::build(&req, &facts)
    }

    #[test]
    fn writable_kernel_files_are_decided_with_the_rest() {
        let facts = |proc: &ProcessState| Facts {
            process: proc.clone(),
            kernel: (6, 18),
            landlock_abi: 7,
            databases: Databases::parse(PASSWD, GROUP),
            profile: None,
            kernel_files: vec![("/proc/sys".into(), kernel::FileState::Writable)],
            mounts: Vec::new(),
        };
        let read_only = Request {
            landlock: LandlockRequest {
                read_only: true,
                ..LandlockRequest::default()
            },
            ..Request::default()
        };
        let p = Policy::build(&read_only, &facts(&root())).unwrap();
        assert_eq!(
            p.kernel_files,
            kernel::KernelFiles::ReadOnlyMounts(vec!["/proc/sys".into()])
        );
        // The program may write its own /proc/PID files: the kernel's are mounts.
        assert!(p
            .landlock
            .paths
            .iter()
            .any(|r| r.grant == landlock::Grant::ProcFiles));
        let mut no_admin = root();
        no_admin.effective &= !CAP_SYS_ADMIN.bitmask();
        assert_eq!(
            Policy::build(&read_only, &facts(&no_admin))
                .unwrap()
                .kernel_files
                .check(),
            Err(kernel::KernelFilesError::CannotProtect(vec![
                "/proc/sys".into()
            ]))
        );
        let nobody = Request {
            user: Some("1000".into()),
            ..read_only
        };
        let p = Policy::build(&nobody, &facts(&no_admin)).unwrap();
        assert_eq!(
            p.kernel_files,
            kernel::KernelFiles::FilePermissions(vec!["/proc/sys".into()])
        );
    }

    #[test]
    fn the_program_may_ptrace_pid1_only_with_cap_sys_ptrace_and_no_landlock_domain() {
        let build = |req: &Request, proc: &ProcessState, abi: u32, state| {
            let facts = Facts {
                process: proc.clone(),
                kernel: (6, 18),
                landlock_abi: abi,
                databases: Databases::parse(PASSWD, GROUP),
                profile: None,
                kernel_files: vec![("/proc/sys".into(), state)],
                mounts: Vec::new(),
            };
            Policy::build(req, &facts).unwrap()
        };
        let with_files = |req: &Request, proc: &ProcessState, abi: u32, state| {
            let p = build(req, proc, abi, state);
            (p.may_ptrace, p.init_traceable())
        };
        // A host's writable /proc/sys, which the child masks for a root program.
        let with_abi = |req: &Request, proc: &ProcessState, abi: u32| {
            with_files(req, proc, abi, kernel::FileState::Writable)
        };
        let ptrace = Request {
            cap_add: vec!["SYS_PTRACE".into()],
            ..Request::default()
        };
        assert_eq!(with_abi(&ptrace, &root(), 0), (true, true));
        // ABI 1 makes no domain without --read-only; ABI 2-5 make a bare one (no signal
        // scoping), from ABI 6 on signals are scoped.
        assert_eq!(with_abi(&ptrace, &root(), 1), (true, true));
        assert_eq!(with_abi(&ptrace, &root(), 2), (true, false));
        assert_eq!(with_abi(&ptrace, &root(), 5), (true, false));
        assert_eq!(with_abi(&ptrace, &root(), 6), (true, false));
        // The bare domain guards masks: with /proc/sys read-only already (a container) there
        // are none, and with SYS_ADMIN kept the program may unmount them.
        let read_only_sys = kernel::FileState::ReadOnly;
        assert_eq!(with_files(&ptrace, &root(), 5, read_only_sys), (true, true));
        let admin = Request {
            cap_add: vec!["SYS_PTRACE".into(), "SYS_ADMIN".into()],
            ..Request::default()
        };
        assert_eq!(with_abi(&admin, &root(), 5), (true, true));
        assert_eq!(with_abi(&admin, &root(), 6), (true, false));
        // Nobody with no capability: the masked files' modes keep them, no bare domain.
        let nobody = Request {
            user: Some("65534".into()),
            ..Request::default()
        };
        let landlock = |req: &Request, abi: u32| {
            let p = build(req, &root(), abi, kernel::FileState::Writable);
            (p.kernel_files.mounts().len(), p.landlock.bare_domain())
        };
        assert_eq!(landlock(&nobody, 5), (1, false));
        assert_eq!(landlock(&Request::default(), 5), (1, true));
        assert_eq!(landlock(&Request::default(), 6), (1, false));
        let read_only = Request {
            landlock: LandlockRequest {
                read_only: true,
                ..LandlockRequest::default()
            },
            ..ptrace.clone()
        };
        assert_eq!(with_abi(&read_only, &root(), 1), (true, false));
        let all = Request {
            cap_add: vec!["ALL".into()],
            user: Some("1000".into()),
            ..Request::default()
        };
        assert_eq!(with_abi(&all, &root(), 0), (true, true));
        assert_eq!(with_abi(&Request::default(), &root(), 0), (false, false));
        // Tini's defaults keep hardinit's sets: root's hold CAP_SYS_PTRACE, and without
        // no_new_privs a setuid-root binary gets the bounding set.
        let tini = Request {
            tini_mode: true,
            ..Request::default()
        };
        assert_eq!(with_abi(&tini, &root(), 7), (true, true));
        assert_eq!(with_abi(&tini, &non_root(), 7), (true, true));
        let tini_nnp = Request {
            no_new_privileges: true,
            ..tini.clone()
        };
        assert_eq!(with_abi(&tini_nnp, &non_root(), 7), (false, false));
        let tini_list = Request {
            cap_add: vec!["KILL".into()],
            ..tini
        };
        assert_eq!(with_abi(&tini_list, &root(), 0), (false, false));
    }

    #[test]
    fn no_flags_as_root_drops_everything_and_clears_root_groups() {
        let p = build(Request::default(), &root()).unwrap();
        assert_eq!(p.caps, Some(0));
        assert_eq!(p.bounding, Bounding::Drop);
        assert_eq!(p.bounding_drop(&root()), ALL);
        assert!(p.no_new_privs);
        assert!(p.switch_identity);
        assert_eq!(
            (p.identity.uid, p.identity.gid, p.identity.groups.clone()),
            (0, 0, vec![])
        );
        // The program is root and cannot leave uid 0: PID 1 must.
        assert_eq!((p.init, p.init_keeps_kill), (InitIdentity::Apart, true));
    }

    #[test]
    fn tini_mode_changes_nothing_unless_asked() {
        let req = Request {
            tini_mode: true,
            ..Request::default()
        };
        let p = build(req, &root()).unwrap();
        assert_eq!(
            (p.caps, p.bounding, p.no_new_privs, p.switch_identity),
            (None, Bounding::Keep, false, false)
        );
        assert_eq!(p.identity.groups, vec![0, 10]);
        // Root with every capability: no uid keeps it away from PID 1.
        assert_eq!((p.init, p.init_keeps_kill), (InitIdentity::Shared, true));
    }

    #[test]
    fn cap_add_keeps_exactly_the_allow_list() {
        let req = Request {
            user: Some("1000".into()),
            cap_add: vec!["net_bind_service".into()],
            ..Request::default()
        };
        let p = build(req, &root()).unwrap();
        assert_eq!(p.caps, Some(1 << 10));
        assert_eq!(p.bounding_drop(&root()), ALL & !(1 << 10));
        assert!(p.set_home);
    }

    #[test]
    fn cap_add_all_means_what_hardinit_holds() {
        let mut proc = root();
        proc.permitted = 0b111;
        proc.effective = 0b111;
        let req = Request {
            cap_add: vec!["ALL".into()],
            ..Request::default()
        };
        assert_eq!(build(req, &proc).unwrap().caps, Some(0b111));
        let req = Request {
            cap_add: vec!["sys_admin".into()],
            ..Request::default()
        };
        assert_eq!(
            build(req, &proc).unwrap_err().to_string(),
            "--cap-add: CAP_SYS_ADMIN is not in hardinit's permitted set (the container runtime took it away), so the program cannot keep it"
        );
    }

    #[test]
    fn non_root_start_keeps_its_ids_and_tolerates_the_bounding_set_with_nnp() {
        let p = build(Request::default(), &non_root()).unwrap();
        assert_eq!(p.bounding, Bounding::CannotDrop);
        assert!(!p.switch_identity);
        assert_eq!(p.identity.uid, 1000);
        let req = Request {
            user: Some("1000".into()),
            ..Request::default()
        };
        assert!(!build(req, &non_root()).unwrap().switch_identity);
        // Docker's `--user 1000` also lists gid 1000 as a supplementary group: the same ids.
        let docker_user = ProcessState {
            groups: vec![1000],
            ..non_root()
        };
        let req = Request {
            user: Some("1000".into()),
            ..Request::default()
        };
        assert!(!build(req, &docker_user).unwrap().switch_identity);
        let other_group = ProcessState {
            groups: vec![1000, 27],
            ..non_root()
        };
        let req = Request {
            user: Some("1000".into()),
            ..Request::default()
        };
        assert!(build(req, &other_group).is_err());
    }

    #[test]
    fn non_root_start_refuses_what_it_cannot_do() {
        let req = Request {
            allow_new_privileges: true,
            ..Request::default()
        };
        assert!(matches!(
            build(req, &non_root()),
            Err(PolicyError::BoundingWithoutNoNewPrivs)
        ));
        let req = Request {
            user: Some("0".into()),
            ..Request::default()
        };
        assert_eq!(
            build(req, &non_root()).unwrap_err().to_string(),
            "--user: hardinit runs as uid 1000 without CAP_SETUID and CAP_SETGID, so it cannot switch to uid 0 gid 0 groups []; start the container as root or drop --user"
        );
    }

    #[test]
    fn init_stays_apart_from_the_program_whenever_it_can() {
        let init = |req: Request, proc: &ProcessState| {
            let p = build(req, proc).unwrap();
            (p.init, p.init_keeps_kill)
        };
        let user = |u: &str| Request {
            user: Some(u.into()),
            ..Request::default()
        };
        assert_eq!(init(user("1000"), &root()), (InitIdentity::Own, true));
        assert_eq!(init(user("0"), &root()), (InitIdentity::Apart, true));
        // A root program that may change its uid could follow PID 1 to any uid.
        let req = Request {
            cap_add: vec!["setuid".into()],
            ..Request::default()
        };
        assert_eq!(init(req, &root()), (InitIdentity::Shared, true));
        let req = Request {
            allow_new_privileges: true,
            seccomp: Some("unconfined".into()),
            ..Request::default()
        };
        assert_eq!(init(req, &root()), (InitIdentity::Shared, true));
        // Without CAP_KILL PID 1 could not signal another uid: it shares the program's.
        let no_kill = ProcessState {
            permitted: ALL & !CAP_KILL.bitmask(),
            effective: ALL & !CAP_KILL.bitmask(),
            ..root()
        };
        assert_eq!(init(user("1000"), &no_kill), (InitIdentity::Shared, false));
        // Started as the program's uid without capabilities: nothing to choose.
        assert_eq!(
            init(Request::default(), &non_root()),
            (InitIdentity::Shared, false)
        );
    }

    #[test]
    fn a_filter_without_no_new_privs_needs_cap_sys_admin() {
        let req = |seccomp: Option<&str>, cap_add: &[&str]| Request {
            allow_new_privileges: true,
            seccomp: seccomp.map(str::to_owned),
            cap_add: cap_add.iter().map(|c| c.to_string()).collect(),
            ..Request::default()
        };
        assert!(matches!(
            build(req(None, &[]), &root()),
            Err(PolicyError::SeccompWithoutNoNewPrivs { profile }) if profile == "default"
        ));
        assert_eq!(
            build(req(Some("node"), &[]), &root())
                .unwrap_err()
                .to_string(),
            "--seccomp node: without no_new_privs the kernel lets only a process holding CAP_SYS_ADMIN install a filter, and the program will not hold it; drop --allow-new-privileges, use --seccomp unconfined, or --cap-add SYS_ADMIN"
        );
        // The floor alone goes in before the uid switch, while the child holds CAP_SYS_ADMIN.
        let p = build(req(Some("unconfined"), &[]), &root()).unwrap();
        assert!(p.seccomp_early);
        let p = build(req(None, &["sys_admin"]), &root()).unwrap();
        assert!(!p.seccomp_early);
        assert!(!build(Request::default(), &root()).unwrap().seccomp_early);
        // hardinit without CAP_SYS_ADMIN (a plain `docker run`) cannot do even that.
        let docker = ProcessState {
            permitted: 0xa804_25fb,
            effective: 0xa804_25fb,
            bounding: 0xa804_25fb,
            ..root()
        };
        assert_eq!(
            build(req(Some("unconfined"), &[]), &docker).unwrap_err().to_string(),
            "--allow-new-privileges: without no_new_privs the kernel lets only a process holding CAP_SYS_ADMIN install hardinit's seccomp floor, and hardinit does not hold it; drop --allow-new-privileges, or start hardinit with CAP_SYS_ADMIN"
        );
        // The tini personality installs no floor, so nothing is needed.
        let tini = Request {
            tini_mode: true,
            ..req(Some("unconfined"), &[])
        };
        assert!(!build(tini, &docker).unwrap().seccomp_early);
    }

    #[test]
    fn the_floor_is_hardinits_own_and_follows_the_landlock_flags() {
        let ll = |read_only: bool, bind: Vec<u16>, connect: Vec<u16>| landlock::LandlockRequest {
            read_only,
            writable: vec![],
            writable_exec: vec![],
            allow_bind: bind,
            allow_connect: connect,
            compat: landlock::Compat::Hard,
            proc_files: false,
            abi_cap: None,
            scope_signals: false,
            guard_mounts: false,
        };
        let tini = Request {
            tini_mode: true,
            ..Request::default()
        };
        assert_eq!(
            seccomp_floor(&tini, &ll(true, vec![80], vec![]), (6, 18), 7),
            None
        );
        let want = |read_only, port_lists, landlock_abi| {
            Some(seccomp::floor(&seccomp::FloorOptions {
                read_only,
                port_lists,
                kernel: (6, 18),
                arch: seccomp::NATIVE,
                landlock_abi,
            }))
        };
        let req = Request::default();
        assert_eq!(
            seccomp_floor(&req, &ll(false, vec![], vec![]), (6, 18), 7),
            want(false, false, 7)
        );
        assert_eq!(
            seccomp_floor(&req, &ll(true, vec![], vec![443]), (6, 18), 7),
            want(true, true, 7)
        );
        assert_eq!(
            seccomp_floor(&req, &ll(false, vec![0], vec![]), (6, 18), 7),
            want(false, true, 7)
        );
        // Below ABI 3 --read-only's truncate is the floor's to refuse; without --read-only or
        // from ABI 3 on it is not.
        let on = |read_only, abi| {
            seccomp_floor(&req, &ll(read_only, vec![], vec![]), (6, 1), abi)
                .unwrap()
                .refuses_truncate()
        };
        assert_eq!(
            [
                on(true, 1),
                on(true, 2),
                on(true, 3),
                on(false, 2),
                on(true, 0)
            ],
            [true, true, false, false, false]
        );
    }

    #[test]
    fn one_policy_holds_the_seccomp_profile_and_the_landlock_rules() {
        let p = build(Request::default(), &root()).unwrap();
        let profile = p.seccomp.as_ref().map(|s| s.origin.to_string());
        assert_eq!(profile.as_deref(), Some("built-in profile `default`"));
        assert!(!p.landlock.read_only);
        let tini = Request {
            tini_mode: true,
            ..Request::default()
        };
        let tini = build(tini, &root()).unwrap();
        assert_eq!((tini.seccomp, tini.floor, tini.filter), (None, None, None));
        // The filter is the profile with the floor, compiled once here for the launch.
        let compiled = seccomp::compile(p.seccomp.as_ref(), p.floor.as_ref()).unwrap();
        assert!(compiled.is_some());
        assert_eq!(p.filter, compiled);
        let read_only = Request {
            landlock: LandlockRequest {
                read_only: true,
                ..LandlockRequest::default()
            },
            ..Request::default()
        };
        // The helper's kernel has no Landlock: under `hard` that is refused.
        assert!(matches!(
            build(read_only, &root()),
            Err(PolicyError::LandlockPolicy(
                LandlockError::Unsupported { .. }
            ))
        ));
        let file = Request {
            seccomp: Some("/p.json".into()),
            ..Request::default()
        };
        assert!(matches!(
            build(file, &root()),
            Err(PolicyError::Seccomp(SeccompError::MissingContents { .. }))
        ));
    }

    #[test]
    fn rlimits_parse_exactly() {
        let nofile = crate::kernel::RLIMITS
            .iter()
            .position(|(n, _)| *n == "nofile")
            .unwrap() as u8;
        assert_eq!(
            parse_rlimit("nofile=1024:4096").ok(),
            Some(Rlimit {
                index: nofile,
                soft: 1024,
                hard: 4096
            })
        );
        assert_eq!(
            parse_rlimit("NOFILE=10").ok(),
            Some(Rlimit {
                index: nofile,
                soft: 10,
                hard: 10
            })
        );
        assert_eq!(
            parse_rlimit("RLIMIT_NOFILE=0:unlimited").unwrap().hard,
            libc::RLIM_INFINITY
        );
        assert_eq!(
            parse_rlimit("nofile=10:5").unwrap_err().to_string(),
            "--rlimit: 'nofile=10:5': the soft limit is above the hard limit"
        );
        assert_eq!(
            parse_rlimit("bogus=1").unwrap_err().to_string(),
            "--rlimit: 'bogus=1': unknown resource 'bogus' (known: as, core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack)"
        );
        assert_eq!(
            parse_rlimit("core=lots").unwrap_err().to_string(),
            "--rlimit: 'core=lots': 'lots' is not a number or 'unlimited'"
        );
        assert_eq!(
            parse_rlimit("core").unwrap_err().to_string(),
            "--rlimit: 'core': expected NAME=SOFT[:HARD]"
        );
    }
}

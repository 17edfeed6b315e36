//! hardinit: a PID-1 launcher that hardens the program it starts.
//!
//! Dependencies point one way: `cli -> policy -> plan -> spawn -> harden -> sys`, and
//! `supervise -> sys`. Only `sys` may use `unsafe`.
#![deny(unsafe_code)]

pub mod cli;
pub mod harden;
pub mod inspect;
pub mod logging;
pub mod plan;
pub mod policy;
pub mod spawn;
pub mod supervise;
pub mod sys;

use std::ffi::OsString;
use std::io::Write;
use std::time::Duration;

use log::{debug, info, warn};
use nix::errno::Errno;
use nix::sys::signal::Signal;
use thiserror::Error;

use crate::cli::Invocation;
use crate::harden::{RealSys, SeccompProgram};
use crate::plan::{Launch, SignalState};
use crate::policy::seccomp::{self, Profile, SeccompError};
use crate::policy::user::Databases;
use crate::policy::{Bounding, Policy, PolicyError, ProcessState};
use crate::spawn::{SpawnError, StepError};
use crate::sys::{Disposition, ALL_SIGNALS};

/// hardinit's own failures. Each maps to an exit code (see `exit_code`).
#[derive(Debug, Error)]
pub enum Error {
    #[error("no program given (see hardinit --help)")]
    NoProgram,
    #[error("-p: unknown signal '{0}'")]
    UnknownSignal(String),
    #[error("cannot set hardinit's parent-death signal")]
    SetParentDeathSignal(#[source] Errno),
    #[error("cannot block signals")]
    BlockSignals(#[source] Errno),
    #[error("cannot set the disposition of signal {signo}")]
    SetDisposition { signo: i32, source: Errno },
    #[error("cannot become a child subreaper, so orphans could not be reaped")]
    BecomeSubreaper(#[source] Errno),
    #[error("cannot read {path}")]
    ReadFile {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot read hardinit's own credentials")]
    ReadCredentials(#[source] Errno),
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error(transparent)]
    Seccomp(#[from] SeccompError),
    #[error("`unconfined` is no seccomp profile, so there is nothing to export")]
    ExportUnconfined,
    #[error("cannot read the kernel release")]
    ReadKernelRelease(#[source] Errno),
    #[error("cannot tell the kernel version from its release {0:?}")]
    ParseKernelRelease(String),
    #[error(transparent)]
    Plan(#[from] plan::PlanError),
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    #[error("lock down PID 1: {0}")]
    LockDownInit(StepError),
    #[error(transparent)]
    Inspect(#[from] inspect::InspectError),
    #[error("cannot write to stdout")]
    WriteStdout(#[source] std::io::Error),
}

impl Error {
    /// 126/127 for a program that cannot be executed or found, 125 for everything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Spawn(e) => e.exit_code(),
            _ => 125,
        }
    }
}

/// The signals whose disposition hardinit changes for itself. SIGCHLD must not be ignored
/// (the kernel would reap for us and the program's status would be lost); SIGTTIN and
/// SIGTTOU must never stop PID 1.
const OWN_DISPOSITIONS: [(i32, Disposition); 3] = [
    (libc::SIGCHLD, Disposition::Default),
    (libc::SIGTTIN, Disposition::Ignore),
    (libc::SIGTTOU, Disposition::Ignore),
];

/// Runs hardinit for a parsed command line; returns the exit status to report.
pub fn run(inv: Invocation) -> Result<i32, Error> {
    let args = &inv.args;
    if args.license {
        return print(include_str!("../LICENSE"));
    }
    if args.version {
        return print(&format!("{}\n", inv.version_line()));
    }
    if args.inspect {
        let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
        return Ok(inspect::run(
            args.json,
            args.expect.as_deref(),
            &mut out,
            &mut err,
        )?);
    }
    let own_pdeathsig = args.parent_death.as_deref().map(parse_signal).transpose()?;
    if let Some(sig) = own_pdeathsig {
        sys::set_parent_death_signal(sig).map_err(Error::SetParentDeathSignal)?;
    }

    let proc = read_process_state()?;
    let db = read_databases()?;
    let req = inv.request();
    let policy = Policy::build(&req, &db, &proc)?;
    let seccomp_ctx = policy.seccomp_context(&proc, read_kernel_version()?);
    if let Some(spec) = &args.export_seccomp {
        let profile = load_seccomp(&seccomp::parse_choice(spec), &seccomp_ctx)?;
        let profile = profile.ok_or(Error::ExportUnconfined)?;
        return print(&profile.for_runtime().to_oci_json());
    }
    // The export needs neither the Landlock rules nor the kernel's ABI: resolved after it.
    let landlock = plan::landlock::resolve(&inv.landlock_request())?;
    let seccomp = load_seccomp(&policy::seccomp_choice(&req), &seccomp_ctx)?;
    // Compiled before anything runs: a profile that cannot become a filter fails here.
    let filter = seccomp.as_ref().map(Profile::compile).transpose()?;
    if args.print_policy {
        return print(&format!(
            "{policy}\n{landlock}\n{}\n",
            describe_seccomp(seccomp.as_ref())
        ));
    }
    if args.command.is_empty() {
        return Err(Error::NoProgram);
    }
    report_policy(&policy, inv.tini_mode);

    // Signals that arrive from now on wait, blocked, until the loop forwards them.
    let signals = take_over_signals()?;
    let is_pid1 = std::process::id() == 1;
    if !is_pid1 {
        sys::set_child_subreaper().map_err(Error::BecomeSubreaper)?;
        debug!("not PID 1: registered as a child subreaper");
    } else if inv.subreaper {
        debug!("-s has no effect: hardinit is PID 1");
    }

    let (mut child_plan, lockdown) = plan::build(
        &policy,
        &proc,
        Launch {
            command: &args.command,
            env: inv.env.clone(),
            signals: &signals,
            parent_pid: std::process::id() as i32,
            seccomp: filter.map(|f| SeccompProgram {
                program: f.program,
                flags: f.flags,
            }),
            landlock: plan::landlock::create_ruleset(&landlock)?,
        },
    )?;
    let program = spawn::spawn(&mut child_plan)?;
    drop(child_plan);
    detach_from_launch_state();
    // Set-up read most of the binary; the loop needs a few pages of it. Only as PID 1, which
    // lives as long as the container: a short-lived wrapper would just make the next launch
    // read the binary from disk again. Before the lock-down, which takes the right to page
    // out a root-owned file. Memory is no reason to fail PID 1.
    if is_pid1 {
        if let Err(e) = sys::page_out_own_binary() {
            debug!("cannot page out hardinit's own binary: {e}");
        }
    }
    if let Err(failure) = harden::lock_down_init(&mut RealSys, &lockdown) {
        // Fail closed: a PID 1 that kept its privileges is not what was asked for.
        let _ = sys::send_signal(program.as_raw(), libc::SIGKILL);
        let _ = nix::sys::wait::waitpid(program, None);
        return Err(Error::LockDownInit(StepError(failure)));
    }
    if let Some(sig) = own_pdeathsig {
        // The credential change cleared it.
        sys::set_parent_death_signal(sig).map_err(Error::SetParentDeathSignal)?;
    }
    let opts = supervise::Options {
        kill_group: inv.kill_group,
        grace: Duration::from_secs(args.grace_period),
        warn_zombies: args.warn_zombies,
        is_pid1,
        remap_exit: args.remap_exit.clone(),
    };
    Ok(supervise::supervise(program, &opts))
}

fn print(text: &str) -> Result<i32, Error> {
    std::io::stdout()
        .write_all(text.as_bytes())
        .map_err(Error::WriteStdout)?;
    Ok(0)
}

/// Accepts `SIGKILL`, `KILL`, `kill` or a number.
fn parse_signal(name: &str) -> Result<i32, Error> {
    if let Ok(n) = name.parse::<i32>() {
        if (1..=64).contains(&n) {
            return Ok(n);
        }
    }
    let upper = name.to_ascii_uppercase();
    let full = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    full.parse::<Signal>()
        .map(|s| s as i32)
        .map_err(|_| Error::UnknownSignal(name.to_string()))
}

fn take_over_signals() -> Result<SignalState, Error> {
    let mask = sys::set_signal_mask(ALL_SIGNALS).map_err(Error::BlockSignals)?;
    let mut changed = Vec::with_capacity(OWN_DISPOSITIONS.len());
    for (signo, to) in OWN_DISPOSITIONS {
        let old = sys::set_disposition(signo, to)
            .map_err(|source| Error::SetDisposition { signo, source })?;
        changed.push((signo, old));
    }
    Ok(SignalState { mask, changed })
}

/// PID 1 pins no mount and leaks no descriptor: the program kept its own cwd and fds.
fn detach_from_launch_state() {
    if let Err(e) = nix::unistd::chdir("/") {
        warn!("cannot change directory to /: {e}");
    }
    if let Err(e) = sys::close_fds_from(3) {
        warn!("cannot close inherited descriptors: {e}");
    }
}

fn report_policy(policy: &Policy, tini_mode: bool) {
    if policy.identity.uid == 0 && !tini_mode {
        warn!("running as root; pass --user");
    }
    if policy.bounding == Bounding::CannotDrop {
        info!("cannot drop the bounding set without CAP_SETPCAP; harmless, as no_new_privs keeps exec from gaining anything");
    }
}

fn read_process_state() -> Result<ProcessState, Error> {
    let uid = nix::unistd::getresuid().map_err(Error::ReadCredentials)?;
    let gid = nix::unistd::getresgid().map_err(Error::ReadCredentials)?;
    let groups = nix::unistd::getgroups()
        .map_err(Error::ReadCredentials)?
        .into_iter()
        .map(|g| g.as_raw())
        .collect();
    let caps = sys::get_caps().map_err(Error::ReadCredentials)?;
    let last_cap = read_last_cap();
    let mut bounding = 0u64;
    for cap in 0..=last_cap {
        if sys::bounding_has(cap).map_err(Error::ReadCredentials)? {
            bounding |= 1 << cap;
        }
    }
    Ok(ProcessState {
        uid: uid.effective.as_raw(),
        gid: gid.effective.as_raw(),
        groups,
        permitted: caps.permitted,
        effective: caps.effective,
        bounding,
        last_cap,
    })
}

/// The kernel's highest capability number; without /proc, probe the bounding set.
pub(crate) fn read_last_cap() -> u8 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| {
            (0..64u8)
                .take_while(|&c| sys::bounding_has(c).is_ok())
                .last()
                .unwrap_or(40)
        })
}

/// Resolves a seccomp choice; a profile file is read here, before any hardening cuts access.
fn load_seccomp(
    choice: &seccomp::Choice,
    ctx: &seccomp::Context,
) -> Result<Option<Profile>, Error> {
    let contents = match choice.path() {
        Some(path) => Some(
            std::fs::read_to_string(path).map_err(|source| Error::ReadFile {
                path: path.display().to_string(),
                source,
            })?,
        ),
        None => None,
    };
    let profile = seccomp::resolve(choice, contents.as_deref(), ctx)?;
    if let Some(p) = &profile {
        debug!(
            "seccomp: {}, {} names not on {} skipped",
            p.origin,
            p.unknown_names.len(),
            p.arch.name
        );
    }
    Ok(profile)
}

fn describe_seccomp(profile: Option<&Profile>) -> String {
    match profile {
        Some(p) => p.summary().to_string(),
        None => "seccomp: unconfined".to_string(),
    }
}

/// The running kernel's (major, minor), which profiles' `minKernel` is compared with.
fn read_kernel_version() -> Result<(u32, u32), Error> {
    let uts = nix::sys::utsname::uname().map_err(Error::ReadKernelRelease)?;
    let release = uts.release().to_string_lossy();
    seccomp::parse_kernel_release(&release)
        .ok_or_else(|| Error::ParseKernelRelease(release.into_owned()))
}

/// The image's user databases; a missing file is an empty database (numeric ids still work).
fn read_databases() -> Result<Databases, Error> {
    let passwd = read_optional("/etc/passwd")?;
    let group = read_optional("/etc/group")?;
    Ok(Databases::parse(&passwd, &group))
}

fn read_optional(path: &str) -> Result<String, Error> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(source) => Err(Error::ReadFile {
            path: path.to_string(),
            source,
        }),
    }
}

/// The command line. With the C `main` (see main.rs) Rust's runtime does not record argv on
/// musl, so it is read from /proc/self/cmdline; std's copy is the fallback without /proc.
pub fn command_line() -> Vec<OsString> {
    use std::os::unix::ffi::OsStrExt;
    match std::fs::read("/proc/self/cmdline") {
        Ok(bytes) if !bytes.is_empty() => bytes
            .strip_suffix(b"\0")
            .unwrap_or(&bytes)
            .split(|b| *b == 0)
            .map(|a| std::ffi::OsStr::from_bytes(a).to_os_string())
            .collect(),
        _ => std::env::args_os().collect(),
    }
}

/// Collects the process environment once, for `cli::parse`.
pub fn environment() -> Vec<(OsString, OsString)> {
    std::env::vars_os().collect()
}

//! hardinit's parent side, read top to bottom like tini's `main`: the command line picks a
//! mode; every mode that decides a policy reads the host once (`host`), and the run mode
//! builds the plan, starts the program through the parent's recipe (`parent`) and hands it
//! to the supervisor.

mod host;
pub mod parent;

use std::io::Write;
use std::time::Duration;

use log::{debug, info, warn};
use nix::errno::Errno;
use thiserror::Error;

use self::parent::{RealParent, Start};
use crate::cli::{Invocation, Mode};
use crate::harden::{Failure, Step};
use crate::inspect;
use crate::listener;
use crate::plan::{self, Launch};
use crate::policy::landlock::LandlockRequest;
use crate::policy::seccomp::{self, SeccompError};
use crate::policy::{self, Bounding, Facts, Policy, PolicyError, Request};
use crate::probe;
use crate::signal;
use crate::spawn::SpawnError;
use crate::supervise;
use crate::sys;

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
    #[error("seccomp profile {path} is {kind}, not a regular file")]
    ProfileNotRegular { path: String, kind: &'static str },
    #[error("seccomp profile {path} is larger than {max} bytes")]
    ProfileTooLarge { path: String, max: u64 },
    #[error("cannot read hardinit's own credentials")]
    ReadCredentials(#[source] Errno),
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error(transparent)]
    Seccomp(#[from] SeccompError),
    #[error("`unconfined` is no seccomp profile, so there is nothing to export")]
    ExportUnconfined,
    #[error(transparent)]
    ExportSpo(#[from] crate::policy::seccomp::SpoError),
    #[error("cannot read the kernel release")]
    ReadKernelRelease(#[source] Errno),
    #[error("cannot tell the kernel version from its release {0:?}")]
    ParseKernelRelease(String),
    #[error(transparent)]
    Plan(#[from] plan::PlanError),
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    #[error("lock down PID 1: {0}")]
    LockDownInit(Failure),
    #[error(transparent)]
    Inspect(#[from] inspect::InspectError),
    #[error("cannot write to stdout")]
    WriteStdout(#[source] std::io::Error),
    #[error(transparent)]
    Learn(#[from] listener::SetupError),
    #[error("install the learning filter: a seccomp listener is already attached to this process (EBUSY: a container runtime's seccomp agent, or an outer hardinit --learn); the kernel allows one per process")]
    ListenerBusy,
    #[error("learning and complain mode install their filter last, which needs no_new_privs: drop --allow-new-privileges (or, invoked as tini, add --no-new-privileges)")]
    LearnWithoutNoNewPrivs,
    #[error("learning and complain mode: the program would hold CAP_SYS_PTRACE ({held}) outside any Landlock domain ({domain}), so it could ptrace hardinit and take the seccomp listener it serves; drop SYS_PTRACE from --cap-add, or give the program a Landlock domain: --read-only, --allow-bind or --allow-connect (Landlock ABI 1 or 4), or, on a kernel with Landlock ABI 6 or later, no flag at all (hardinit scopes signals; from ABI 2 where it masks the kernel files for a root program)")]
    LearnTraceable { held: &'static str, domain: String },
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

/// Runs hardinit for a parsed command line; returns the exit status to report.
pub fn run(inv: &Invocation) -> Result<i32, Error> {
    match inv.mode() {
        Mode::License => print(include_str!("../../LICENSE")),
        Mode::Version => print(&format!("{}\n", inv.version_line())),
        Mode::Probe(target) => Ok(probe::run(
            target,
            inv.args.probe_timeout.unwrap_or(probe::DEFAULT_TIMEOUT),
        )),
        Mode::Inspect => inspect_self(inv),
        Mode::ExportSeccomp(spec) => export_seccomp(inv, spec),
        Mode::PrintPolicy => print_policy(inv),
        Mode::Run => run_program(inv),
    }
}

fn inspect_self(inv: &Invocation) -> Result<i32, Error> {
    let args = &inv.args;
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    Ok(inspect::run(
        args.json,
        args.expect.as_deref(),
        &mut out,
        &mut err,
    )?)
}

/// The profile is resolved against the capabilities the program would have, so the policy
/// is decided too; of the Landlock flags only `--read-only` and the port lists play a part,
/// through the floor, whose refusals end the export.
fn export_seccomp(inv: &Invocation, spec: &str) -> Result<i32, Error> {
    own_parent_death_signal(inv)?;
    let asked = inv.request();
    let req = Request {
        seccomp: Some(spec.to_owned()),
        landlock: LandlockRequest::default(),
        ..asked.clone()
    };
    let (facts, policy) = read_and_decide(&req, false)?;
    let profile = policy.seccomp.ok_or(Error::ExportUnconfined)?.for_runtime();
    // The floor as the same command line would get it: `--read-only` and the port lists
    // decide its parts, though the Landlock rules themselves are not resolved.
    let floor = policy::seccomp_floor(&req, &asked.landlock, facts.kernel, facts.landlock_abi);
    let profile = match floor {
        Some(floor) => profile.with_floor_entries(&floor),
        None => profile,
    };
    match inv.args.format.as_deref() {
        Some("spo") => print(&profile.to_spo_json()?),
        _ => print(&profile.to_oci_json()),
    }
}

fn print_policy(inv: &Invocation) -> Result<i32, Error> {
    own_parent_death_signal(inv)?;
    // It names the user, so it reads the databases.
    let (facts, policy) = read_and_decide(&inv.request(), true)?;
    policy.kernel_files.check().map_err(PolicyError::from)?;
    warn_unenforced(&policy);
    // What cannot become a filter failed in Policy::build; what cannot learn fails here, as
    // it would fail the run.
    let learning = learn_request(inv);
    check_learning(&learning, &policy)?;
    print(&format!(
        "{}{policy}\n{}",
        inv.describe_settings(),
        describe_learning(&learning, &policy, facts.kernel)
    ))
}

/// The run mode: decide, start the program hardened, supervise it.
fn run_program(inv: &Invocation) -> Result<i32, Error> {
    let args = &inv.args;
    let own_parent_death = own_parent_death_signal(inv)?;
    if let Some(signo) = own_parent_death {
        sys::set_parent_death_signal(signo).map_err(Error::SetParentDeathSignal)?;
    }
    let req = inv.request();
    // Only --user and --groups look a name up.
    let names = req.user.is_some() || req.groups.is_some();
    let (facts, policy) = read_and_decide(&req, names)?;
    policy.kernel_files.check().map_err(PolicyError::from)?;
    // A usage error is all that is said when there is nothing to run.
    if args.command.is_empty() {
        return Err(Error::NoProgram);
    }
    warn_unenforced(&policy);
    report_policy(&policy, inv.tini_mode);

    let is_pid1 = std::process::id() == 1;
    if !is_pid1 {
        note_init_above();
    }
    let start = Start {
        is_pid1,
        subreaper_asked: inv.subreaper,
        own_parent_death,
    };
    let learning = learn_request(inv);
    check_learning(&learning, &policy)?;
    // Learning records instead of enforcing; complain mode notifies what the profile refuses.
    let (learn_child, server) = if learning.is_active() {
        // What the profile's includes/excludes were evaluated against (Policy::build).
        let ctx = seccomp::Context {
            arch: seccomp::NATIVE,
            caps: policy.caps.unwrap_or(facts.process.bounding),
            kernel: facts.kernel,
        };
        let (child, server) = listener::prepare(
            &learning,
            policy.seccomp.as_ref(),
            policy.floor.as_ref(),
            &ctx,
        )?;
        (Some((child.filter, child.socket)), Some(server))
    } else {
        (None, None)
    };
    let supervision = supervise::Options {
        kill_group: inv.kill_group,
        grace: Duration::from_secs(args.grace_period),
        warn_zombies: args.warn_zombies,
        is_pid1,
        remap_exit: args.remap_exit.clone(),
        rewrite: args.rewrite.clone(),
        stop_delay: Duration::from_secs(args.stop_delay),
    };
    let mut os = RealParent {
        is_pid1,
        supervision: &supervision,
        relay: None,
        server,
        started: None,
        own_parent: nix::unistd::getppid().as_raw(),
    };
    let started = parent::start(&mut os, start, |signals| {
        let launch = Launch {
            command: &args.command,
            env: inv.env.clone(),
            signals,
            parent_pid: std::process::id() as i32,
            mounts: &facts.mounts,
            learning: learn_child,
        };
        Ok(plan::build(&policy, &facts.process, launch)?)
    });
    let program = started.map_err(|e| name_listener_failure(e, learning.is_active()))?;
    // The exec wait's relay, with any SIGTERM it holds for the stop delay.
    let relay = os.relay.take();
    let relay = relay.unwrap_or_else(|| supervise::Relay::new(program, &supervision));
    end_with(supervise::supervise(relay, os.server.as_mut()))
}

/// PID 1's last act, once the program's status is known and the learned profile written:
/// exit with that status now. Returning would first drop the launch's state (the policy, the
/// facts, the listener's tables), whose frees write to heap pages for memory that is about to
/// vanish anyway, a page fault apiece.
fn end_with(code: i32) -> ! {
    std::process::exit(code)
}

/// Learning and complain mode hand PID 1 a listener for every call of the program's filter:
/// they run only where the program cannot take it from PID 1 (close-on-exec keeps it out of
/// the exec; `Policy::init_traceable` says whether the kernel's ptrace check would let the
/// program at PID 1's descriptors and memory). Checked before FILE is opened.
fn check_learning(req: &listener::Request, policy: &Policy) -> Result<(), Error> {
    if !req.is_active() {
        return Ok(());
    }
    if !policy.no_new_privs {
        return Err(Error::LearnWithoutNoNewPrivs);
    }
    if policy.init_traceable() {
        return Err(Error::LearnTraceable {
            held: if policy.caps.is_some() {
                "given by --cap-add"
            } else {
                "tini's defaults keep hardinit's capabilities; --cap-add with a list keeps only those"
            },
            domain: policy.landlock.why_no_domain(),
        });
    }
    Ok(())
}

/// What learning and complain mode were asked for.
fn learn_request(inv: &Invocation) -> listener::Request {
    let a = &inv.args;
    listener::Request {
        learn: a.learn.clone(),
        report: a.learn_report.clone(),
        all: a.learn_all,
        complain: a.seccomp_mode == "complain",
    }
}

/// What --learn and complain mode change about the seccomp layer above.
fn describe_learning(req: &listener::Request, policy: &Policy, kernel: (u32, u32)) -> String {
    let mut out = String::new();
    if req.is_active() {
        out.push_str(&format!(
            "seccomp listener PID 1's only: close-on-exec, and the kernel's ptrace check (ptrace, pidfd_getfd, process_vm_*, /proc/1/fd) fails on {}\n",
            listener_barriers(policy)
        ));
        out.push_str(&format!(
            "notified calls: {}\n",
            listener::interruption(kernel)
        ));
    }
    if req.complain {
        out.push_str("seccomp mode: complain (what the profile refuses runs, logged on stderr as JSON lines)\n");
    }
    if let Some(file) = &req.learn {
        let what = if req.complain {
            "the calls complained about"
        } else {
            "every call outside FILE and the hot base, instead of enforcing the profile above"
        };
        out.push_str(&format!(
            "learning into {} (merged if it exists; report {}): notifies {what}{}\n",
            file.display(),
            req.report
                .clone()
                .unwrap_or_else(|| listener::default_report_path(file))
                .display(),
            if req.all {
                "; --learn-all: no hot base"
            } else {
                ""
            },
        ));
    }
    out
}

/// What keeps the program from passing the ptrace check on PID 1 (`check_learning` refuses
/// to run where nothing does).
fn listener_barriers(policy: &Policy) -> String {
    let mut barriers = Vec::new();
    if !policy.may_ptrace {
        barriers.push(match policy.init {
            policy::InitIdentity::Own => {
                "PID 1's uid the program lacks and its being non-dumpable (no CAP_SYS_PTRACE)"
            }
            policy::InitIdentity::Apart => "PID 1's uid the program lacks (no CAP_SYS_PTRACE)",
            policy::InitIdentity::Shared => "PID 1's being non-dumpable (no CAP_SYS_PTRACE)",
        });
    }
    if policy.landlock.enforces_anything() {
        barriers.push("the program's Landlock domain, which may not trace outside itself");
    }
    barriers.join(" and on ")
}

/// A listener already attached to this process's filters (a runtime's seccomp agent, an outer
/// learning run) makes the child's NEW_LISTENER fail with EBUSY: say so.
fn name_listener_failure(e: Error, learning: bool) -> Error {
    match e {
        Error::Spawn(SpawnError::Harden(Failure {
            step: Step::Seccomp,
            errno: Errno::EBUSY,
        })) if learning => Error::ListenerBusy,
        e => e,
    }
}

/// Says so when hardinit's parent is its namespace's PID 1: another init (Docker's `--init`,
/// a shell's `exec` chain) runs above it, and hardinit is one more supervisor below it.
fn note_init_above() {
    if nix::unistd::getppid().as_raw() != 1 {
        return;
    }
    let name = std::fs::read_to_string("/proc/1/comm")
        .map(|n| n.trim().to_string())
        .unwrap_or_else(|_| "unknown".to_string());
    info!("running below another init (PID 1 is {name}, e.g. Docker's --init): hardinit is a child subreaper here and still reaps, forwards and hardens; the init above adds nothing");
}

/// Reads the host once (the user databases only `with_databases`) and decides the policy
/// against it.
fn read_and_decide(req: &Request, with_databases: bool) -> Result<(Facts, Policy), Error> {
    let facts = host::read(&req.seccomp_choice(), with_databases)?;
    let policy = Policy::build(req, &facts)?;
    if let Some(p) = &policy.seccomp {
        debug!(
            "seccomp: {}, {} names not on {} skipped",
            p.origin,
            p.unknown_names.len(),
            p.arch.name
        );
    }
    Ok((facts, policy))
}

fn print(text: &str) -> Result<i32, Error> {
    std::io::stdout()
        .write_all(text.as_bytes())
        .map_err(Error::WriteStdout)?;
    Ok(0)
}

/// `-p`, checked in every mode that gets as far as a policy.
fn own_parent_death_signal(inv: &Invocation) -> Result<Option<i32>, Error> {
    inv.args
        .parent_death
        .as_deref()
        .map(parse_signal)
        .transpose()
}

/// Accepts `SIGKILL`, `KILL`, `kill` or a number.
fn parse_signal(name: &str) -> Result<i32, Error> {
    signal::parse_signal(name).ok_or_else(|| Error::UnknownSignal(name.to_string()))
}

/// Best-effort is never silent: each Landlock rule the kernel will not enforce is named.
/// Best-effort is never silent. What most kernels in use lack (device ioctl, pathname unix
/// sockets) is said at info level; --print-policy lists it.
fn warn_unenforced(policy: &Policy) {
    if let Some(warning) = policy.kernel_files.warning() {
        warn!("{warning}");
    }
    for gap in &policy.landlock.unenforced {
        if gap.warns() {
            warn!("landlock: not enforced: {gap}");
        } else {
            info!("landlock: not enforced: {gap}");
        }
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

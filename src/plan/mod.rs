//! Policy -> ChildPlan, built in the parent before fork: the program image, the compiled
//! seccomp filter, the Landlock ruleset, the child's steps and PID 1's own lock-down.
//! Allocates and opens; changes no process state.

pub mod kernel_files;
pub mod landlock;

use std::ffi::{OsStr, OsString};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use caps::Capability::{CAP_KILL, CAP_SETPCAP};
use thiserror::Error;

use crate::harden::{Credentials, InitLockdown, Steps};
use crate::kernel::mounts::Mount;
use crate::kernel::{self, SeccompFilter};
use crate::policy::seccomp::SeccompError;
use crate::policy::{InitIdentity, Policy, ProcessState};
use crate::sys::{CapSets, Disposition, ExecImage, NulInArgument, SigMask};

/// The search path execvp uses when PATH is unset.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

#[derive(Debug, Error)]
pub enum PlanError {
    #[error("cannot prepare the program's arguments")]
    PrepareExec(#[source] NulInArgument),
    #[error(transparent)]
    CompileSeccomp(#[from] SeccompError),
    #[error(transparent)]
    Landlock(#[from] landlock::LandlockSetupError),
}

/// hardinit's signal state before it blocked everything, which the program must get back.
#[derive(Debug, Clone)]
pub struct SignalState {
    pub mask: SigMask,
    /// Signals whose disposition hardinit changed, with their original value.
    pub changed: Vec<(i32, Disposition)>,
}

/// What the parent knows about the launch besides the policy.
pub struct Launch<'a> {
    pub command: &'a [OsString],
    pub env: Vec<(OsString, OsString)>,
    pub signals: &'a SignalState,
    pub parent_pid: i32,
    /// The mount table, as the host's facts read it.
    pub mounts: &'a [Mount],
    /// Learning or complain mode: the filter that records instead of the policy's, and the
    /// child's end of the socket its listener goes over.
    pub learning: Option<(SeccompFilter, OwnedFd)>,
}

/// Everything the child needs, ready before fork.
pub struct ChildPlan {
    pub program: OsString,
    pub image: ExecImage,
    pub steps: Steps,
}

/// Builds the child's plan and PID 1's lock-down from the validated policy.
pub fn build(
    policy: &Policy,
    proc: &ProcessState,
    launch: Launch<'_>,
) -> Result<(ChildPlan, InitLockdown), PlanError> {
    let (seccomp, listener_to) = match launch.learning {
        Some((filter, socket)) => (Some(filter), Some(socket)),
        None => (policy.filter.clone(), None),
    };
    let landlock = landlock::create_ruleset(&policy.landlock, launch.mounts)?;
    let env = program_env(policy, launch.env);
    let program = launch.command[0].clone();
    let path = resolve_program(&program, find_path(&env));
    let envp = env
        .into_iter()
        .map(|(k, v)| {
            let mut kv = k.into_vec();
            kv.push(b'=');
            kv.extend(v.into_vec());
            OsString::from_vec(kv)
        })
        .collect();
    let image = ExecImage::new(path.into_os_string(), launch.command.to_vec(), envp)
        .map_err(PlanError::PrepareExec)?;
    let ids = Credentials {
        uid: policy.identity.uid,
        gid: policy.identity.gid,
        groups: policy.identity.groups.clone(),
    };
    // Without a switch the program keeps the ids hardinit runs with (the policy found them
    // equivalent to the requested ones), and those are what the kernel must report.
    let verified = if policy.switch_identity {
        ids.clone()
    } else {
        current_ids(proc)
    };
    let child_drop = policy.bounding_drop(proc);
    let init_drop = init_bounding_drop(policy, proc);
    // Both sides drop these: hardinit does it once, before the fork (InitLockdown).
    let shared_drop = child_drop & init_drop;
    let steps = Steps {
        signal_mask: launch.signals.mask,
        dispositions: launch.signals.changed.clone(),
        take_terminal: nix::unistd::isatty(0).unwrap_or(false),
        rlimits: policy
            .rlimits
            .iter()
            .map(|r| (r.index, r.soft, r.hard))
            .collect(),
        read_only_mounts: kernel_files::read_only_mounts(&policy.kernel_files),
        bounding_drop: kernel::cap_numbers(child_drop & !shared_drop),
        keep_caps: policy.switch_identity && ids.uid != 0 && policy.caps.is_some_and(|c| c != 0),
        switch_to: policy.switch_identity.then(|| ids.clone()),
        caps: policy.caps.map(|allow| program_caps(allow, ids.uid)),
        ambient: policy.caps.map(|allow| {
            if ids.uid == 0 {
                Vec::new()
            } else {
                kernel::cap_numbers(allow)
            }
        }),
        parent_death: Some((libc::SIGKILL, launch.parent_pid)),
        no_new_privs: policy.no_new_privs,
        init_ready: None,
        landlock,
        seccomp,
        listener_to,
        seccomp_early: policy.seccomp_early,
        verify_buf: vec![0; verified.groups.len() + 1],
        verify: Some(verified),
    };
    let lockdown = init_lockdown(policy, &ids, (init_drop, shared_drop));
    Ok((
        ChildPlan {
            program,
            image,
            steps,
        },
        lockdown,
    ))
}

/// Root gets its allow-list back from the bounding set at exec, so inheritable stays empty
/// (as Docker does since CVE-2022-24769); any other uid keeps it through inheritable+ambient.
fn program_caps(allow: u64, uid: u32) -> CapSets {
    CapSets {
        effective: allow,
        permitted: allow,
        inheritable: if uid == 0 { 0 } else { allow },
    }
}

/// The uid and gid hardinit uses when it must not be root (the program is): none of the
/// image's users, and mapped in every user namespace (its last id). Without /proc, the
/// kernel's overflow id.
const OVERFLOW_ID: u32 = 65534;

/// CAP_KILL when PID 1 must signal another uid, else nothing.
fn init_keeps(policy: &Policy) -> u64 {
    if policy.init_keeps_kill {
        CAP_KILL.bitmask()
    } else {
        0
    }
}

/// What PID 1 gives up of its bounding set: all of it but what it keeps, when it may.
fn init_bounding_drop(policy: &Policy, proc: &ProcessState) -> u64 {
    if proc.has(CAP_SETPCAP) {
        proc.bounding & !init_keeps(policy)
    } else {
        0
    }
}

/// PID 1's lock-down, given what PID 1 drops of its bounding set and what of that the child
/// drops too (dropped once, before the fork).
fn init_lockdown(
    policy: &Policy,
    ids: &Credentials,
    (init_drop, shared_drop): (u64, u64),
) -> InitLockdown {
    let keep = init_keeps(policy);
    let switch_to = match policy.init {
        InitIdentity::Own => None,
        InitIdentity::Apart => Some(apart_ids(ids.uid)),
        InitIdentity::Shared => policy.switch_identity.then(|| ids.clone()),
    };
    InitLockdown {
        shared_bounding_drop: kernel::cap_numbers(shared_drop),
        bounding_drop: kernel::cap_numbers(init_drop & !shared_drop),
        keep_caps: switch_to.as_ref().is_some_and(|to| to.uid != 0) && keep != 0,
        switch_to,
        caps: CapSets {
            effective: keep,
            permitted: keep,
            inheritable: 0,
        },
        // A non-dumpable process's /proc files belong to root: when the program is root and
        // PID 1 is not, they must keep PID 1's own uid.
        dumpable: policy.init == InitIdentity::Apart,
    }
}

/// The last uid and gid of hardinit's user namespace, never the program's uid.
fn apart_ids(program_uid: u32) -> Credentials {
    let last = |path: &str| {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|map| last_mapped_id(&map))
            .unwrap_or(OVERFLOW_ID)
    };
    let uid = last("/proc/self/uid_map");
    Credentials {
        uid: if uid == program_uid { uid - 1 } else { uid },
        gid: last("/proc/self/gid_map"),
        groups: Vec::new(),
    }
}

/// The highest id a /proc/PID/uid_map (or gid_map) maps; (uid_t)-1 is never a valid id.
fn last_mapped_id(map: &str) -> Option<u32> {
    map.lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace().map(|v| v.parse::<u64>().ok());
            let (inside, _, count) = (f.next()??, f.next()??, f.next()??);
            (count > 0).then(|| inside + count - 1)
        })
        .max()
        .map(|id| id.min(u64::from(u32::MAX - 1)) as u32)
}

/// The program's environment: hardinit's own, with HOME from the passwd entry when `--user`
/// was given (as `docker run --user` does).
fn program_env(policy: &Policy, mut env: Vec<(OsString, OsString)>) -> Vec<(OsString, OsString)> {
    if policy.set_home {
        env.retain(|(k, _)| k != "HOME");
        env.push(("HOME".into(), policy.identity.home.clone()));
    }
    env
}

fn find_path(env: &[(OsString, OsString)]) -> &OsStr {
    env.iter()
        .find(|(k, _)| k == "PATH")
        .map_or(OsStr::new(DEFAULT_PATH), |(_, v)| v.as_os_str())
}

/// Resolves a bare program name against PATH as execvp would: the first executable regular
/// file wins; failing that the first existing one (exec then fails with EACCES: 126); failing
/// that the name itself (ENOENT: 127).
pub fn resolve_program(program: &OsStr, path: &OsStr) -> PathBuf {
    if program.as_bytes().contains(&b'/') || program.is_empty() {
        return PathBuf::from(program);
    }
    let candidates: Vec<PathBuf> = std::env::split_paths(path)
        .map(|dir| {
            if dir.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                dir
            }
        })
        .map(|dir| dir.join(program))
        .collect();
    let is_file = |p: &&PathBuf| p.metadata().is_ok_and(|m| m.is_file());
    candidates
        .iter()
        .filter(is_file)
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
        })
        .or_else(|| candidates.iter().find(is_file))
        .cloned()
        .unwrap_or_else(|| Path::new(program).to_path_buf())
}

/// The ids hardinit runs with, groups sorted and without duplicates as `verify_ids` reads them.
fn current_ids(proc: &ProcessState) -> Credentials {
    let mut groups = proc.groups.clone();
    groups.sort_unstable();
    groups.dedup();
    Credentials {
        uid: proc.uid,
        gid: proc.gid,
        groups,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_like_execvp() {
        fn p(s: &str) -> &OsStr {
            OsStr::new(s)
        }
        assert_eq!(
            resolve_program(p("sh"), p("/nonexistent:/bin")),
            PathBuf::from("/bin/sh")
        );
        assert_eq!(resolve_program(p("./x"), p("/bin")), PathBuf::from("./x"));
        assert_eq!(
            resolve_program(p("no-such-program-x"), p("/bin")),
            PathBuf::from("no-such-program-x")
        );
        // /etc/passwd exists but is not executable: it is chosen so exec reports EACCES.
        assert_eq!(
            resolve_program(p("passwd"), p("/etc:/nonexistent")),
            PathBuf::from("/etc/passwd")
        );
    }

    #[test]
    fn the_last_mapped_id_is_never_minus_one() {
        assert_eq!(
            last_mapped_id("         0          0 4294967295\n"),
            Some(4294967294)
        );
        assert_eq!(last_mapped_id("0 1000 1\n1 100000 65536\n"), Some(65536));
        assert_eq!(last_mapped_id("0 100000 65536"), Some(65535));
        assert_eq!(last_mapped_id(""), None);
        assert_eq!(last_mapped_id("garbage\n0 0 0\n"), None);
    }

    #[test]
    fn root_keeps_inheritable_empty_others_carry_it() {
        assert_eq!(
            program_caps(0b10, 0),
            CapSets {
                effective: 0b10,
                permitted: 0b10,
                inheritable: 0
            }
        );
        assert_eq!(program_caps(0b10, 1000).inheritable, 0b10);
    }
}

//! The ordered list of steps the child runs between fork and execve (DESIGN.md section 3).
//!
//! Everything here was prepared by the parent: the child makes system calls through [`Sys`]
//! and nothing else, and the first failure stops it (fail closed) with the step that failed.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use nix::errno::Errno;

use crate::sys::{self, CapSets, Disposition, SigMask};

/// The credentials the program must end up with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ids {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

/// A compiled seccomp program and its SECCOMP_FILTER_FLAG_* flags.
#[derive(Debug, Clone)]
pub struct SeccompProgram {
    pub program: Vec<libc::sock_filter>,
    pub flags: u32,
}

/// Everything the child applies, decided and allocated before fork.
#[derive(Debug)]
pub struct Steps {
    /// The signal mask hardinit itself was started with; the program inherits it exactly.
    pub signal_mask: SigMask,
    /// Signals whose disposition hardinit changed, with the value to give back.
    pub dispositions: Vec<(i32, Disposition)>,
    /// Make the program's process group the terminal's foreground group.
    pub take_terminal: bool,
    /// (index into [`sys::RLIMITS`], soft, hard)
    pub rlimits: Vec<(u8, u64, u64)>,
    /// Capabilities to remove from the bounding set.
    pub bounding_drop: Vec<u8>,
    /// PR_SET_KEEPCAPS before the uid switch, so allowed capabilities survive it.
    pub keep_caps: bool,
    /// The credentials to switch to; `None` keeps the current ones.
    pub switch_to: Option<Ids>,
    /// Permitted, effective and inheritable sets after the switch; `None` leaves them alone.
    pub caps: Option<CapSets>,
    /// Capabilities to raise in the ambient set (after clearing it); `None` leaves it alone.
    pub ambient: Option<Vec<u8>>,
    /// (signal, the parent's pid): PR_SET_PDEATHSIG, then check the parent is still there.
    pub parent_death: Option<(i32, i32)>,
    pub no_new_privs: bool,
    /// The read end of a pipe PID 1 writes to once it has locked itself down; set by
    /// `spawn::start` just before fork.
    pub init_ready: Option<OwnedFd>,
    pub landlock: Option<OwnedFd>,
    pub seccomp: Option<SeccompProgram>,
    /// The credentials to find before exec, and room to read the groups into.
    pub verify: Option<Ids>,
    pub verify_buf: Vec<u32>,
}

/// A step of the child's recipe; with the failing errno it is the child's whole report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    RestoreSignals,
    ProcessGroup,
    Terminal,
    Rlimit(u8),
    DropBounding(u8),
    KeepCaps,
    SetGroups,
    SetGid,
    SetUid,
    SetCaps,
    ClearAmbient,
    RaiseAmbient(u8),
    ParentDeathSignal,
    ParentGone,
    AwaitInit,
    NoNewPrivs,
    Landlock,
    Seccomp,
    VerifyIds,
    Exec,
    Dumpable,
}

/// The step that failed and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    pub step: Step,
    pub errno: Errno,
}

/// The system calls the child makes, so the order and fail-closed behaviour can be tested
/// with a recording fake.
pub trait Sys {
    fn set_disposition(&mut self, signo: i32, to: Disposition) -> Result<(), Errno>;
    fn set_signal_mask(&mut self, mask: SigMask) -> Result<(), Errno>;
    fn new_process_group(&mut self) -> Result<(), Errno>;
    fn take_terminal(&mut self) -> Result<(), Errno>;
    fn set_rlimit(&mut self, resource: u8, soft: u64, hard: u64) -> Result<(), Errno>;
    fn drop_bounding(&mut self, cap: u8) -> Result<(), Errno>;
    fn set_keepcaps(&mut self) -> Result<(), Errno>;
    fn set_groups(&mut self, groups: &[u32]) -> Result<(), Errno>;
    fn set_gid(&mut self, gid: u32) -> Result<(), Errno>;
    fn set_uid(&mut self, uid: u32) -> Result<(), Errno>;
    fn set_caps(&mut self, sets: CapSets) -> Result<(), Errno>;
    fn clear_ambient(&mut self) -> Result<(), Errno>;
    fn raise_ambient(&mut self, cap: u8) -> Result<(), Errno>;
    fn set_parent_death_signal(&mut self, signo: i32) -> Result<(), Errno>;
    fn parent_pid(&mut self) -> i32;
    fn set_no_new_privs(&mut self) -> Result<(), Errno>;
    /// Blocks until PID 1 writes its byte to `ready`; an empty read (PID 1 is gone) is ESRCH.
    fn await_init(&mut self, ready: &OwnedFd) -> Result<(), Errno>;
    fn set_dumpable(&mut self, on: bool) -> Result<(), Errno>;
    fn landlock_restrict(&mut self, ruleset: &OwnedFd) -> Result<(), Errno>;
    fn install_seccomp(&mut self, filter: &SeccompProgram) -> Result<(), Errno>;
    /// Real, effective and saved uid and gid, and the supplementary groups read into `buf`.
    fn read_ids(&mut self, buf: &mut [u32]) -> Result<([u32; 3], [u32; 3], usize), Errno>;
}

/// Runs the steps in the one order the kernel allows (DESIGN.md section 3). Returns at the
/// first failure; the caller reports it and never execs.
pub fn apply<S: Sys>(sys: &mut S, steps: &mut Steps) -> Result<(), Failure> {
    let fail = |step| move |errno| Failure { step, errno };

    // 1. PID 1 blocks every signal; the program starts with the mask and ignored signals
    //    hardinit was given, in its own process group, in the foreground of a terminal.
    for &(signo, disposition) in &steps.dispositions {
        sys.set_disposition(signo, disposition)
            .map_err(fail(Step::RestoreSignals))?;
    }
    sys.new_process_group().map_err(fail(Step::ProcessGroup))?;
    if steps.take_terminal {
        // The signal mask still blocks SIGTTOU here, so a background tcsetpgrp cannot stop us.
        match sys.take_terminal() {
            Ok(()) | Err(Errno::ENOTTY) | Err(Errno::ENXIO) => {}
            Err(e) => return Err(fail(Step::Terminal)(e)),
        }
    }
    sys.set_signal_mask(steps.signal_mask)
        .map_err(fail(Step::RestoreSignals))?;

    // 2. Raising a hard limit needs CAP_SYS_RESOURCE, which the uid switch takes away.
    for &(resource, soft, hard) in &steps.rlimits {
        sys.set_rlimit(resource, soft, hard)
            .map_err(fail(Step::Rlimit(resource)))?;
    }

    // 3.–5. Bounding set, KEEPCAPS, then groups/gid/uid (see `drop_to_ids` for the order).
    drop_to_ids(
        sys,
        &steps.bounding_drop,
        steps.keep_caps,
        steps.switch_to.as_ref(),
    )?;

    // 6. The switch has settled the sets; now state them exactly. Ambient was wiped by the
    //    switch and can only hold what is permitted and inheritable, so it comes after capset.
    if let Some(sets) = steps.caps {
        sys.set_caps(sets).map_err(fail(Step::SetCaps))?;
    }
    if let Some(ambient) = &steps.ambient {
        sys.clear_ambient().map_err(fail(Step::ClearAmbient))?;
        for &cap in ambient {
            sys.raise_ambient(cap)
                .map_err(fail(Step::RaiseAmbient(cap)))?;
        }
    }

    // 7. Any credential change clears the parent-death signal, so it is set after them; a
    //    parent that died before this point would never send it, so look.
    if let Some((signo, parent)) = steps.parent_death {
        sys.set_parent_death_signal(signo)
            .map_err(fail(Step::ParentDeathSignal))?;
        if sys.parent_pid() != parent {
            return Err(fail(Step::ParentGone)(Errno::ESRCH));
        }
    }

    // PID 1 locks itself down while the child hardens itself; no instant of the program may
    // see it with its privileges or the program's uid, so wait for its word.
    if let Some(ready) = &steps.init_ready {
        sys.await_init(ready).map_err(fail(Step::AwaitInit))?;
    }

    // 8. A non-root process may use neither Landlock nor seccomp without no_new_privs.
    if steps.no_new_privs {
        sys.set_no_new_privs().map_err(fail(Step::NoNewPrivs))?;
    }

    // 9. Landlock before seccomp, so the filter need not allow the landlock_* calls.
    if let Some(ruleset) = &steps.landlock {
        sys.landlock_restrict(ruleset)
            .map_err(fail(Step::Landlock))?;
    }

    // Verify, don't assume: the ids the kernel reports must be the ones planned. Before the
    // filter, which need not allow getresuid/getgroups (the `node` profile does not).
    if let Some(want) = &steps.verify {
        verify_ids(sys, want, &mut steps.verify_buf).map_err(fail(Step::VerifyIds))?;
    }

    // 10. Seccomp last: from here on only execve runs, which every profile allows.
    if let Some(filter) = &steps.seccomp {
        sys.install_seccomp(filter).map_err(fail(Step::Seccomp))?;
    }
    Ok(())
}

/// What PID 1 keeps once the program runs: it only waits, signals and reaps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitLockdown {
    pub bounding_drop: Vec<u8>,
    /// KEEPCAPS before the uid switch, when `caps` is not empty.
    pub keep_caps: bool,
    /// The credentials PID 1 switches to (`policy::InitIdentity`); `None` keeps its own.
    pub switch_to: Option<Ids>,
    /// CAP_KILL when PID 1 must signal another uid, else nothing.
    pub caps: CapSets,
    /// Dumpable keeps PID 1's /proc files owned by its own uid; non-dumpable hands them to
    /// root (and bars ptrace by PID 1's uid).
    pub dumpable: bool,
}

/// The identity switch shared by the program and PID 1's lock-down, in the order the kernel
/// needs.
fn drop_to_ids<S: Sys>(
    sys: &mut S,
    bounding_drop: &[u8],
    keep_caps: bool,
    switch_to: Option<&Ids>,
) -> Result<(), Failure> {
    let fail = |step| move |errno| Failure { step, errno };
    // PR_CAPBSET_DROP needs CAP_SETPCAP in the effective set: before the uid switch.
    for &cap in bounding_drop {
        sys.drop_bounding(cap)
            .map_err(fail(Step::DropBounding(cap)))?;
    }
    // Without KEEPCAPS, setresuid away from 0 empties the permitted set.
    if keep_caps {
        sys.set_keepcaps().map_err(fail(Step::KeepCaps))?;
    }
    // Groups and gid first: after setresuid the process lacks CAP_SETGID.
    if let Some(ids) = switch_to {
        sys.set_groups(&ids.groups).map_err(fail(Step::SetGroups))?;
        sys.set_gid(ids.gid).map_err(fail(Step::SetGid))?;
        sys.set_uid(ids.uid).map_err(fail(Step::SetUid))?;
    }
    Ok(())
}

/// Takes from PID 1 everything it no longer needs, so a compromised program finds no
/// privileged process to aim at, nor one of its own uid: ids apart from the program's
/// (`policy::InitIdentity`), no capability but CAP_KILL, no_new_privs, and dumpable only
/// where that keeps its /proc files away from the program.
pub fn lock_down_init<S: Sys>(sys: &mut S, lockdown: &InitLockdown) -> Result<(), Failure> {
    let fail = |step| move |errno| Failure { step, errno };
    drop_to_ids(
        sys,
        &lockdown.bounding_drop,
        lockdown.keep_caps,
        lockdown.switch_to.as_ref(),
    )?;
    sys.set_caps(lockdown.caps).map_err(fail(Step::SetCaps))?;
    sys.clear_ambient().map_err(fail(Step::ClearAmbient))?;
    sys.set_no_new_privs().map_err(fail(Step::NoNewPrivs))?;
    // Last: a change of euid above has reset it to the kernel's suid_dumpable.
    sys.set_dumpable(lockdown.dumpable)
        .map_err(fail(Step::Dumpable))?;
    Ok(())
}

fn verify_ids<S: Sys>(sys: &mut S, want: &Ids, buf: &mut [u32]) -> Result<(), Errno> {
    let (uids, gids, n) = sys.read_ids(buf)?;
    // Sorted in place and compared without duplicates: the child allocates nothing after fork.
    let groups = &mut buf[..n];
    groups.sort_unstable();
    let mut previous = None;
    let distinct = groups.iter().filter(|&&g| previous.replace(g) != Some(g));
    let same = uids == [want.uid; 3] && gids == [want.gid; 3] && distinct.eq(want.groups.iter());
    if same {
        Ok(())
    } else {
        Err(Errno::EPERM)
    }
}

/// The real system calls.
pub struct RealSys;

impl Sys for RealSys {
    fn set_disposition(&mut self, signo: i32, to: Disposition) -> Result<(), Errno> {
        sys::set_disposition(signo, to).map(drop)
    }
    fn set_signal_mask(&mut self, mask: SigMask) -> Result<(), Errno> {
        sys::set_signal_mask(mask).map(drop)
    }
    fn new_process_group(&mut self) -> Result<(), Errno> {
        nix::unistd::setpgid(nix::unistd::Pid::from_raw(0), nix::unistd::Pid::from_raw(0))
    }
    fn take_terminal(&mut self) -> Result<(), Errno> {
        let stdin = std::io::stdin();
        nix::unistd::tcsetpgrp(stdin.as_fd(), nix::unistd::getpgrp())
    }
    fn set_rlimit(&mut self, resource: u8, soft: u64, hard: u64) -> Result<(), Errno> {
        let (_, resource) = sys::RLIMITS[usize::from(resource)];
        nix::sys::resource::setrlimit(resource, soft, hard)
    }
    fn drop_bounding(&mut self, cap: u8) -> Result<(), Errno> {
        sys::drop_bounding_cap(cap)
    }
    fn set_keepcaps(&mut self) -> Result<(), Errno> {
        sys::set_keepcaps(true)
    }
    fn set_groups(&mut self, groups: &[u32]) -> Result<(), Errno> {
        sys::set_groups(groups)
    }
    fn set_gid(&mut self, gid: u32) -> Result<(), Errno> {
        let gid = nix::unistd::Gid::from_raw(gid);
        nix::unistd::setresgid(gid, gid, gid)
    }
    fn set_uid(&mut self, uid: u32) -> Result<(), Errno> {
        let uid = nix::unistd::Uid::from_raw(uid);
        nix::unistd::setresuid(uid, uid, uid)
    }
    fn set_caps(&mut self, sets: CapSets) -> Result<(), Errno> {
        sys::set_caps(sets)
    }
    fn clear_ambient(&mut self) -> Result<(), Errno> {
        sys::clear_ambient()
    }
    fn raise_ambient(&mut self, cap: u8) -> Result<(), Errno> {
        sys::raise_ambient(cap)
    }
    fn set_parent_death_signal(&mut self, signo: i32) -> Result<(), Errno> {
        sys::set_parent_death_signal(signo)
    }
    fn parent_pid(&mut self) -> i32 {
        nix::unistd::getppid().as_raw()
    }
    fn set_no_new_privs(&mut self) -> Result<(), Errno> {
        sys::set_no_new_privs()
    }
    fn await_init(&mut self, ready: &OwnedFd) -> Result<(), Errno> {
        let mut byte = [0u8; 1];
        loop {
            match nix::unistd::read(ready.as_raw_fd(), &mut byte) {
                Ok(1) => return Ok(()),
                Ok(_) => return Err(Errno::ESRCH),
                Err(Errno::EINTR) => {}
                Err(e) => return Err(e),
            }
        }
    }
    fn set_dumpable(&mut self, on: bool) -> Result<(), Errno> {
        sys::set_dumpable(on)
    }
    fn landlock_restrict(&mut self, ruleset: &OwnedFd) -> Result<(), Errno> {
        sys::landlock_restrict_self(ruleset.as_fd())
    }
    fn install_seccomp(&mut self, filter: &SeccompProgram) -> Result<(), Errno> {
        sys::install_seccomp_filter(&filter.program, filter.flags.into())
    }
    fn read_ids(&mut self, buf: &mut [u32]) -> Result<([u32; 3], [u32; 3], usize), Errno> {
        let u = nix::unistd::getresuid()?;
        let g = nix::unistd::getresgid()?;
        let n = sys::get_groups(buf)?;
        Ok((
            [u.real.as_raw(), u.effective.as_raw(), u.saved.as_raw()],
            [g.real.as_raw(), g.effective.as_raw(), g.saved.as_raw()],
            n,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records every call in one ordered log and fails the call numbered `fail_at`.
    struct Recorder {
        log: Vec<String>,
        fail_at: Option<usize>,
        errno: Errno,
        parent: i32,
    }

    impl Recorder {
        fn new(fail_at: Option<usize>) -> Self {
            Recorder {
                log: Vec::new(),
                fail_at,
                errno: Errno::EPERM,
                parent: 42,
            }
        }

        fn call(&mut self, entry: String) -> Result<(), Errno> {
            self.log.push(entry);
            if self.fail_at == Some(self.log.len() - 1) {
                Err(self.errno)
            } else {
                Ok(())
            }
        }
    }

    impl Sys for Recorder {
        fn set_disposition(&mut self, signo: i32, to: Disposition) -> Result<(), Errno> {
            self.call(format!("disposition {signo} {to:?}"))
        }
        fn set_signal_mask(&mut self, mask: SigMask) -> Result<(), Errno> {
            self.call(format!("mask {mask:#x}"))
        }
        fn new_process_group(&mut self) -> Result<(), Errno> {
            self.call("setpgid".into())
        }
        fn take_terminal(&mut self) -> Result<(), Errno> {
            self.call("tcsetpgrp".into())
        }
        fn set_rlimit(&mut self, resource: u8, soft: u64, hard: u64) -> Result<(), Errno> {
            self.call(format!(
                "rlimit {} {soft} {hard}",
                sys::RLIMITS[usize::from(resource)].0
            ))
        }
        fn drop_bounding(&mut self, cap: u8) -> Result<(), Errno> {
            self.call(format!("capbset_drop {cap}"))
        }
        fn set_keepcaps(&mut self) -> Result<(), Errno> {
            self.call("keepcaps".into())
        }
        fn set_groups(&mut self, groups: &[u32]) -> Result<(), Errno> {
            self.call(format!("setgroups {groups:?}"))
        }
        fn set_gid(&mut self, gid: u32) -> Result<(), Errno> {
            self.call(format!("setresgid {gid}"))
        }
        fn set_uid(&mut self, uid: u32) -> Result<(), Errno> {
            self.call(format!("setresuid {uid}"))
        }
        fn set_caps(&mut self, s: CapSets) -> Result<(), Errno> {
            self.call(format!(
                "capset p={:#x} e={:#x} i={:#x}",
                s.permitted, s.effective, s.inheritable
            ))
        }
        fn clear_ambient(&mut self) -> Result<(), Errno> {
            self.call("ambient_clear".into())
        }
        fn raise_ambient(&mut self, cap: u8) -> Result<(), Errno> {
            self.call(format!("ambient_raise {cap}"))
        }
        fn set_parent_death_signal(&mut self, signo: i32) -> Result<(), Errno> {
            self.call(format!("pdeathsig {signo}"))
        }
        fn parent_pid(&mut self) -> i32 {
            self.log.push("getppid".into());
            self.parent
        }
        fn set_no_new_privs(&mut self) -> Result<(), Errno> {
            self.call("no_new_privs".into())
        }
        fn await_init(&mut self, _ready: &OwnedFd) -> Result<(), Errno> {
            self.call("await_init".into())
        }
        fn set_dumpable(&mut self, on: bool) -> Result<(), Errno> {
            self.call(format!("dumpable {on}"))
        }
        fn landlock_restrict(&mut self, _ruleset: &OwnedFd) -> Result<(), Errno> {
            self.call("landlock_restrict_self".into())
        }
        fn install_seccomp(&mut self, filter: &SeccompProgram) -> Result<(), Errno> {
            self.call(format!("seccomp {} instructions", filter.program.len()))
        }
        fn read_ids(&mut self, buf: &mut [u32]) -> Result<([u32; 3], [u32; 3], usize), Errno> {
            self.call("read_ids".into())?;
            buf[..2].copy_from_slice(&[20, 10]);
            Ok(([1000; 3], [1000; 3], 2))
        }
    }

    fn full_steps() -> Steps {
        let ids = Ids {
            uid: 1000,
            gid: 1000,
            groups: vec![10, 20],
        };
        let ruleset = std::fs::File::open("/dev/null").unwrap().into();
        Steps {
            signal_mask: 0x200,
            dispositions: vec![(17, Disposition::Default), (21, Disposition::Ignore)],
            take_terminal: true,
            rlimits: vec![(9, 64, 128)],
            bounding_drop: vec![0, 1],
            keep_caps: true,
            switch_to: Some(ids.clone()),
            caps: Some(CapSets {
                effective: 0x400,
                permitted: 0x400,
                inheritable: 0x400,
            }),
            ambient: Some(vec![10]),
            parent_death: Some((9, 42)),
            no_new_privs: true,
            init_ready: Some(std::fs::File::open("/dev/null").unwrap().into()),
            landlock: Some(ruleset),
            seccomp: Some(SeccompProgram {
                program: vec![libc::sock_filter {
                    code: 6,
                    jt: 0,
                    jf: 0,
                    k: 0x7fff_0000,
                }],
                flags: 0,
            }),
            verify_buf: vec![0; 3],
            verify: Some(ids),
        }
    }

    const FULL_ORDER: [&str; 23] = [
        "disposition 17 Default",
        "disposition 21 Ignore",
        "setpgid",
        "tcsetpgrp",
        "mask 0x200",
        "rlimit nofile 64 128",
        "capbset_drop 0",
        "capbset_drop 1",
        "keepcaps",
        "setgroups [10, 20]",
        "setresgid 1000",
        "setresuid 1000",
        "capset p=0x400 e=0x400 i=0x400",
        "ambient_clear",
        "ambient_raise 10",
        "pdeathsig 9",
        "getppid",
        "await_init",
        "no_new_privs",
        "landlock_restrict_self",
        "read_ids",
        "seccomp 1 instructions",
        "(exec)",
    ];

    #[test]
    fn steps_run_in_the_one_order_the_kernel_allows() {
        let mut sys = Recorder::new(None);
        assert_eq!(apply(&mut sys, &mut full_steps()), Ok(()));
        assert_eq!(sys.log, FULL_ORDER[..FULL_ORDER.len() - 1]);
    }

    #[test]
    fn a_failure_at_any_step_stops_everything_after_it() {
        let fallible: Vec<usize> = (0..FULL_ORDER.len() - 1)
            .filter(|&i| FULL_ORDER[i] != "getppid")
            .collect();
        for at in fallible {
            let mut sys = Recorder::new(Some(at));
            let result = apply(&mut sys, &mut full_steps());
            assert!(
                result.is_err(),
                "no failure reported for step {at} ({})",
                FULL_ORDER[at]
            );
            assert_eq!(
                sys.log,
                FULL_ORDER[..=at],
                "calls after the failing {}",
                FULL_ORDER[at]
            );
        }
    }

    #[test]
    fn failures_name_their_step() {
        let cases = [
            (5, Step::Rlimit(9)),
            (7, Step::DropBounding(1)),
            (11, Step::SetUid),
            (14, Step::RaiseAmbient(10)),
            (19, Step::Landlock),
            (21, Step::Seccomp),
        ];
        for (at, step) in cases {
            let mut sys = Recorder::new(Some(at));
            assert_eq!(
                apply(&mut sys, &mut full_steps()),
                Err(Failure {
                    step,
                    errno: Errno::EPERM
                })
            );
        }
    }

    #[test]
    fn a_missing_terminal_is_tolerated() {
        for errno in [Errno::ENOTTY, Errno::ENXIO] {
            let mut sys = Recorder::new(Some(3));
            sys.errno = errno;
            assert_eq!(apply(&mut sys, &mut full_steps()), Ok(()));
            assert_eq!(sys.log, FULL_ORDER[..FULL_ORDER.len() - 1]);
        }
        let mut sys = Recorder::new(Some(3));
        assert_eq!(
            apply(&mut sys, &mut full_steps()).unwrap_err().step,
            Step::Terminal
        );
    }

    #[test]
    fn a_dead_parent_or_wrong_ids_fail_closed() {
        let mut sys = Recorder::new(None);
        sys.parent = 1;
        assert_eq!(
            apply(&mut sys, &mut full_steps()),
            Err(Failure {
                step: Step::ParentGone,
                errno: Errno::ESRCH
            })
        );
        assert_eq!(sys.log.last().map(String::as_str), Some("getppid"));
        let mut steps = full_steps();
        steps.verify = Some(Ids {
            uid: 1000,
            gid: 1000,
            groups: vec![10],
        });
        let mut sys = Recorder::new(None);
        assert_eq!(
            apply(&mut sys, &mut steps),
            Err(Failure {
                step: Step::VerifyIds,
                errno: Errno::EPERM
            })
        );
    }

    #[test]
    fn the_init_locks_itself_down_in_order() {
        let lockdown = InitLockdown {
            bounding_drop: vec![0],
            keep_caps: true,
            switch_to: Some(Ids {
                uid: 1000,
                gid: 1000,
                groups: vec![],
            }),
            caps: CapSets {
                effective: 0x20,
                permitted: 0x20,
                inheritable: 0,
            },
            dumpable: true,
        };
        let mut sys = Recorder::new(None);
        assert_eq!(lock_down_init(&mut sys, &lockdown), Ok(()));
        assert_eq!(
            sys.log,
            [
                "capbset_drop 0",
                "keepcaps",
                "setgroups []",
                "setresgid 1000",
                "setresuid 1000",
                "capset p=0x20 e=0x20 i=0x0",
                "ambient_clear",
                "no_new_privs",
                "dumpable true"
            ]
        );
        for at in 0..sys.log.len() {
            let mut sys = Recorder::new(Some(at));
            assert!(lock_down_init(&mut sys, &lockdown).is_err());
            assert_eq!(sys.log.len(), at + 1);
        }
    }
}

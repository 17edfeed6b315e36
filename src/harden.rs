//! The ordered list of steps the child runs between fork and execve, and PID 1's own
//! lock-down once the program runs (docs/architecture.md).
//!
//! Everything here was prepared by the parent: the child makes system calls through [`Sys`]
//! and nothing else, and the first failure stops it (fail closed) with the step that failed.

use std::fmt;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use nix::errno::Errno;

use crate::kernel::{self, SeccompFilter};
use crate::sys::{self, CapSets, Disposition, SigMask};

/// The credentials the program must end up with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
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
    /// (index into [`kernel::RLIMITS`], soft, hard)
    pub rlimits: Vec<(u8, u64, u64)>,
    /// Kernel interfaces to mount read-only in a mount namespace of the program's own:
    /// (index into [`kernel::KERNEL_INTERFACES`], the path). Empty: no namespace is made.
    pub read_only_mounts: Vec<(u8, std::ffi::CString)>,
    /// Capabilities to remove from the bounding set.
    pub bounding_drop: Vec<u8>,
    /// PR_SET_KEEPCAPS before the uid switch, so allowed capabilities survive it.
    pub keep_caps: bool,
    /// The credentials to switch to; `None` keeps the current ones.
    pub switch_to: Option<Credentials>,
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
    pub seccomp: Option<SeccompFilter>,
    /// Learning or complain mode: install the filter with a listener and send it to PID 1
    /// over this socket (the filter lets exactly that one sendmsg through).
    pub listener_to: Option<OwnedFd>,
    /// Install `seccomp` before the identity switch (see `Policy::seccomp_early`).
    pub seccomp_early: bool,
    /// The credentials to find before exec, and room to read the groups into.
    pub verify: Option<Credentials>,
    pub verify_buf: Vec<u32>,
}

/// Declares [`Step`] from one table: each step's code on the error pipe beside the words
/// messages name it with (and, for a step that fails without an errno, the reason). Encoder,
/// decoder and names are all generated from these lines, so a step cannot exist without them.
macro_rules! steps {
    ($(
        $(#[doc = $doc:literal])*
        $code:literal $step:ident $(($arg:ident))? => $name:expr $(, because $reason:literal)?;
    )*) => {
        /// A step of the recipes; with the failing errno it is the child's whole report.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Step {
            $( $(#[doc = $doc])* $step $((steps!(@u8 $arg)))?, )*
        }

        impl Step {
            /// (code, argument): the step as it travels over the error pipe.
            pub fn encode(self) -> [u8; 2] {
                match self {
                    $( Step::$step $(($arg))? => [$code, steps!(@or_zero $($arg)?)], )*
                }
            }

            /// The step `encode` made these bytes from; `None` for bytes it never makes.
            pub fn decode([code, arg]: [u8; 2]) -> Option<Step> {
                match code {
                    $( $code => Some(Step::$step $((steps!(@arg arg $arg)))?), )*
                    _ => None,
                }
            }

            /// The step in messages.
            pub fn name(self) -> String {
                match self {
                    $( Step::$step $(($arg))? => String::from($name), )*
                }
            }

            /// Why it failed, for a step that fails without an errno of its own.
            fn reason(self) -> Option<&'static str> {
                match self {
                    $( Step::$step { .. } => steps!(@some $($reason)?), )*
                }
            }
        }
    };
    (@u8 $arg:ident) => { u8 };
    (@or_zero) => { 0 };
    (@or_zero $arg:ident) => { $arg };
    (@arg $byte:ident $arg:ident) => { $byte };
    (@some) => { None };
    (@some $reason:literal) => { Some($reason) };
}

steps! {
    0 RestoreSignals => "restore signal mask";
    1 ProcessGroup => "create process group";
    2 Terminal => "take the terminal foreground";
    /// An index into [`kernel::RLIMITS`].
    3 Rlimit(index) => format!("set rlimit {}", kernel::rlimit_name(index));
    4 DropBounding(cap) => format!("drop {} from the bounding set", kernel::cap_name(cap));
    5 KeepCaps => "set keepcaps";
    6 SetGroups => "setgroups";
    7 SetGid => "setresgid";
    8 SetUid => "setresuid";
    9 SetCaps => "set capabilities";
    10 ClearAmbient => "clear ambient capabilities";
    11 RaiseAmbient(cap) => format!("raise ambient {}", kernel::cap_name(cap));
    12 ParentDeathSignal => "set parent-death signal";
    13 ParentGone => "set parent-death signal",
        because "hardinit exited before the program started";
    14 NoNewPrivs => "set no_new_privs";
    15 Landlock => "landlock restrict";
    16 VerifyIds => "verify ids", because "the kernel reports other ids than planned";
    17 Seccomp => "install seccomp filter";
    18 Exec => "execve";
    19 Dumpable => "set the dumpable flag";
    20 MountNamespace => "make a mount namespace for the kernel files";
    /// An index into [`kernel::KERNEL_INTERFACES`].
    21 ReadOnlyMount(index) => format!("mount {} read-only", kernel::interface_name(index));
    22 AwaitInit => "wait for PID 1 to lock itself down";
    23 HandOffListener => "hand the seccomp listener to PID 1";
}

/// The step that failed and why, shown as `<step>: <reason>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    pub step: Step,
    pub errno: Errno,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.step.reason() {
            Some(reason) => write!(f, "{}: {reason}", self.step.name()),
            None => write!(f, "{}: {}", self.step.name(), ErrnoText(self.errno)),
        }
    }
}

impl std::error::Error for Failure {}

/// An errno shown as `Description (ENAME)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrnoText(pub Errno);

impl fmt::Display for ErrnoText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({:?})", self.0.desc(), self.0)
    }
}

/// The system calls the child makes, so the order and fail-closed behaviour can be tested
/// with a recording fake.
pub trait Sys {
    fn set_disposition(&mut self, signo: i32, to: Disposition) -> Result<(), Errno>;
    fn set_signal_mask(&mut self, mask: SigMask) -> Result<(), Errno>;
    fn new_process_group(&mut self) -> Result<(), Errno>;
    fn take_terminal(&mut self) -> Result<(), Errno>;
    fn set_rlimit(&mut self, resource: u8, soft: u64, hard: u64) -> Result<(), Errno>;
    fn private_mount_namespace(&mut self) -> Result<(), Errno>;
    fn mount_read_only(&mut self, path: &std::ffi::CStr) -> Result<(), Errno>;
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
    fn install_seccomp(&mut self, filter: &SeccompFilter) -> Result<(), Errno>;
    /// Installs the filter with SECCOMP_FILTER_FLAG_NEW_LISTENER; returns the listener.
    fn install_listening_seccomp(&mut self, filter: &SeccompFilter) -> Result<OwnedFd, Errno>;
    /// Sends the listener to PID 1; the child keeps no copy past execve (close-on-exec).
    fn send_listener(&mut self, socket: &OwnedFd, listener: OwnedFd) -> Result<(), Errno>;
    /// Real, effective and saved uid and gid, and the supplementary groups read into `buf`.
    fn read_ids(&mut self, buf: &mut [u32]) -> Result<([u32; 3], [u32; 3], usize), Errno>;
}

/// Runs the steps in the one order the kernel allows (docs/architecture.md). Returns at the
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

    // 2b. Kernel interfaces read-only (runc's way): mounting needs CAP_SYS_ADMIN, gone with
    //     the capability drop. The namespace is the program's own, so nothing leaks out.
    if !steps.read_only_mounts.is_empty() {
        sys.private_mount_namespace()
            .map_err(fail(Step::MountNamespace))?;
        for (index, path) in &steps.read_only_mounts {
            match sys.mount_read_only(path) {
                // Gone since the parent looked: nothing left to write.
                Ok(()) | Err(Errno::ENOENT) => {}
                Err(e) => return Err(fail(Step::ReadOnlyMount(*index))(e)),
            }
        }
    }

    // Without no_new_privs only CAP_SYS_ADMIN lets a filter in, and the switch below takes
    // it: the floor alone (which allows every set-up call) goes in now.
    if steps.seccomp_early {
        if let Some(filter) = &steps.seccomp {
            sys.install_seccomp(filter).map_err(fail(Step::Seccomp))?;
        }
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
    // see it with its privileges or the program's uid, so the child waits for its word before
    // the exec. When the filter lets every read(2) through, the wait comes last, and the
    // child's longest step (loading the filter) overlaps the lock-down; otherwise (a profile
    // that conditions or refuses read, or a learning filter, whose listener PID 1 serves only
    // once locked down) it comes here, before the filter.
    let wait_last = wait_under_filter(steps);
    if !wait_last {
        await_init(sys, steps)?;
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

    // 10. Verify, don't assume: the ids the kernel reports must be the ones planned. Before the
    // filter, which need not allow getresuid/getgroups (the `node` profile does not).
    if let Some(want) = &steps.verify {
        verify_ids(sys, want, &mut steps.verify_buf).map_err(fail(Step::VerifyIds))?;
    }

    // 11. Seccomp last: from here on only execve runs, which every profile allows (and the
    //     wait for PID 1, when the filter lets every read through). A learning filter's
    //     listener goes to PID 1 at once: the execve is already notified.
    if !steps.seccomp_early {
        install_filter(sys, steps)?;
    }
    if wait_last {
        await_init(sys, steps)?;
    }
    Ok(())
}

/// Whether the child can wait for PID 1 under its filter: the filter lets every read run, and
/// no listener needs PID 1 to serve it.
fn wait_under_filter(steps: &Steps) -> bool {
    steps.listener_to.is_none() && steps.seccomp.as_ref().is_none_or(|f| f.reads_pass)
}

fn await_init<S: Sys>(sys: &mut S, steps: &Steps) -> Result<(), Failure> {
    match &steps.init_ready {
        Some(ready) => sys.await_init(ready).map_err(|errno| Failure {
            step: Step::AwaitInit,
            errno,
        }),
        None => Ok(()),
    }
}

/// Installs the filter; in learning and complain mode with a listener, which goes to PID 1.
fn install_filter<S: Sys>(sys: &mut S, steps: &Steps) -> Result<(), Failure> {
    let fail = |step| move |errno| Failure { step, errno };
    let Some(filter) = &steps.seccomp else {
        return Ok(());
    };
    match &steps.listener_to {
        None => sys.install_seccomp(filter).map_err(fail(Step::Seccomp)),
        Some(socket) => {
            let listener = sys
                .install_listening_seccomp(filter)
                .map_err(fail(Step::Seccomp))?;
            sys.send_listener(socket, listener)
                .map_err(fail(Step::HandOffListener))
        }
    }
}

/// What PID 1 keeps once the program runs: it only waits, signals and reaps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitLockdown {
    /// What both PID 1 and the program give up of the bounding set: hardinit drops it once,
    /// before the fork, and the child inherits the smaller set (a root launch makes 41
    /// `PR_CAPBSET_DROP` calls instead of 82).
    pub shared_bounding_drop: Vec<u8>,
    /// What PID 1 alone gives up of the bounding set, after the fork.
    pub bounding_drop: Vec<u8>,
    /// KEEPCAPS before the uid switch, when `caps` is not empty.
    pub keep_caps: bool,
    /// The credentials PID 1 switches to (`policy::InitIdentity`); `None` keeps its own.
    pub switch_to: Option<Credentials>,
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
    switch_to: Option<&Credentials>,
) -> Result<(), Failure> {
    let fail = |step| move |errno| Failure { step, errno };
    // PR_CAPBSET_DROP needs CAP_SETPCAP in the effective set: before the uid switch.
    drop_bounding_caps(sys, bounding_drop)?;
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

/// Drops each of `caps` from the bounding set, stopping at the first that fails.
fn drop_bounding_caps<S: Sys>(sys: &mut S, caps: &[u8]) -> Result<(), Failure> {
    for &cap in caps {
        sys.drop_bounding(cap).map_err(|errno| Failure {
            step: Step::DropBounding(cap),
            errno,
        })?;
    }
    Ok(())
}

/// Drops, before the fork, the bounding capabilities PID 1 and the program both give up.
pub fn drop_shared_bounding<S: Sys>(sys: &mut S, lockdown: &InitLockdown) -> Result<(), Failure> {
    drop_bounding_caps(sys, &lockdown.shared_bounding_drop)
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

fn verify_ids<S: Sys>(sys: &mut S, want: &Credentials, buf: &mut [u32]) -> Result<(), Errno> {
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
    fn private_mount_namespace(&mut self) -> Result<(), Errno> {
        sys::private_mount_namespace()
    }
    fn mount_read_only(&mut self, path: &std::ffi::CStr) -> Result<(), Errno> {
        sys::mount_read_only(path)
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
        let (_, resource) = kernel::RLIMITS
            .get(usize::from(resource))
            .ok_or(Errno::EINVAL)?;
        nix::sys::resource::setrlimit(*resource, soft, hard)
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
        sys::set_gid(gid)
    }
    fn set_uid(&mut self, uid: u32) -> Result<(), Errno> {
        sys::set_uid(uid)
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
    fn install_seccomp(&mut self, filter: &SeccompFilter) -> Result<(), Errno> {
        sys::install_seccomp_filter(&filter.program, filter.flags.into())
    }
    fn install_listening_seccomp(&mut self, filter: &SeccompFilter) -> Result<OwnedFd, Errno> {
        sys::install_listening_filter(&filter.program, filter.flags.into())
    }
    fn send_listener(&mut self, socket: &OwnedFd, listener: OwnedFd) -> Result<(), Errno> {
        sys::send_fd(
            socket.as_fd(),
            listener.as_fd(),
            kernel::LISTENER_HANDOFF_FLAGS,
        )?;
        // Not closed: close(2) would be one more notified call, and the kernel created the
        // listener close-on-exec, so execve (or the child's _exit) closes it.
        std::mem::forget(listener);
        Ok(())
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

    /// One system call of the recipes, with its arguments.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Call {
        Disposition(i32, Disposition),
        Mask(SigMask),
        Setpgid,
        Tcsetpgrp,
        Rlimit(u8, u64, u64),
        MountNamespace,
        MountReadOnly(String),
        CapbsetDrop(u8),
        Keepcaps,
        Setgroups(Vec<u32>),
        Setresgid(u32),
        Setresuid(u32),
        Capset(CapSets),
        AmbientClear,
        AmbientRaise(u8),
        Pdeathsig(i32),
        Getppid,
        NoNewPrivs,
        AwaitInit,
        Dumpable(bool),
        LandlockRestrict,
        Seccomp { instructions: usize },
        SeccompWithListener { instructions: usize },
        SendListener,
        ReadIds,
    }

    /// Records every call in one ordered log and fails the first call equal to `fail`.
    struct Recorder {
        log: Vec<Call>,
        fail: Option<Call>,
        errno: Errno,
        parent: i32,
    }

    impl Recorder {
        fn new(fail: Option<Call>) -> Self {
            Recorder {
                log: Vec::new(),
                fail,
                errno: Errno::EPERM,
                parent: 42,
            }
        }

        fn call(&mut self, call: Call) -> Result<(), Errno> {
            let failing = self.fail.as_ref() == Some(&call);
            self.log.push(call);
            if failing {
                self.fail = None;
                Err(self.errno)
            } else {
                Ok(())
            }
        }
    }

    impl Sys for Recorder {
        fn set_disposition(&mut self, signo: i32, to: Disposition) -> Result<(), Errno> {
            self.call(Call::Disposition(signo, to))
        }
        fn set_signal_mask(&mut self, mask: SigMask) -> Result<(), Errno> {
            self.call(Call::Mask(mask))
        }
        fn new_process_group(&mut self) -> Result<(), Errno> {
            self.call(Call::Setpgid)
        }
        fn take_terminal(&mut self) -> Result<(), Errno> {
            self.call(Call::Tcsetpgrp)
        }
        fn set_rlimit(&mut self, resource: u8, soft: u64, hard: u64) -> Result<(), Errno> {
            self.call(Call::Rlimit(resource, soft, hard))
        }
        fn private_mount_namespace(&mut self) -> Result<(), Errno> {
            self.call(Call::MountNamespace)
        }
        fn mount_read_only(&mut self, path: &std::ffi::CStr) -> Result<(), Errno> {
            self.call(Call::MountReadOnly(path.to_string_lossy().into_owned()))
        }
        fn drop_bounding(&mut self, cap: u8) -> Result<(), Errno> {
            self.call(Call::CapbsetDrop(cap))
        }
        fn set_keepcaps(&mut self) -> Result<(), Errno> {
            self.call(Call::Keepcaps)
        }
        fn set_groups(&mut self, groups: &[u32]) -> Result<(), Errno> {
            self.call(Call::Setgroups(groups.to_vec()))
        }
        fn set_gid(&mut self, gid: u32) -> Result<(), Errno> {
            self.call(Call::Setresgid(gid))
        }
        fn set_uid(&mut self, uid: u32) -> Result<(), Errno> {
            self.call(Call::Setresuid(uid))
        }
        fn set_caps(&mut self, sets: CapSets) -> Result<(), Errno> {
            self.call(Call::Capset(sets))
        }
        fn clear_ambient(&mut self) -> Result<(), Errno> {
            self.call(Call::AmbientClear)
        }
        fn raise_ambient(&mut self, cap: u8) -> Result<(), Errno> {
            self.call(Call::AmbientRaise(cap))
        }
        fn set_parent_death_signal(&mut self, signo: i32) -> Result<(), Errno> {
            self.call(Call::Pdeathsig(signo))
        }
        fn parent_pid(&mut self) -> i32 {
            self.log.push(Call::Getppid);
            self.parent
        }
        fn set_no_new_privs(&mut self) -> Result<(), Errno> {
            self.call(Call::NoNewPrivs)
        }
        fn await_init(&mut self, _ready: &OwnedFd) -> Result<(), Errno> {
            self.call(Call::AwaitInit)
        }
        fn set_dumpable(&mut self, on: bool) -> Result<(), Errno> {
            self.call(Call::Dumpable(on))
        }
        fn landlock_restrict(&mut self, _ruleset: &OwnedFd) -> Result<(), Errno> {
            self.call(Call::LandlockRestrict)
        }
        fn install_seccomp(&mut self, filter: &SeccompFilter) -> Result<(), Errno> {
            self.call(Call::Seccomp {
                instructions: filter.program.len(),
            })
        }
        fn install_listening_seccomp(&mut self, filter: &SeccompFilter) -> Result<OwnedFd, Errno> {
            self.call(Call::SeccompWithListener {
                instructions: filter.program.len(),
            })?;
            Ok(std::fs::File::open("/dev/null").unwrap().into())
        }
        fn send_listener(&mut self, _socket: &OwnedFd, _listener: OwnedFd) -> Result<(), Errno> {
            self.call(Call::SendListener)
        }
        fn read_ids(&mut self, buf: &mut [u32]) -> Result<([u32; 3], [u32; 3], usize), Errno> {
            self.call(Call::ReadIds)?;
            buf[..2].copy_from_slice(&[20, 10]);
            Ok(([1000; 3], [1000; 3], 2))
        }
    }

    const NOFILE: u8 = 9;
    const CAP_NET_BIND_SERVICE: u8 = 10;

    fn full_steps() -> Steps {
        let ids = Credentials {
            uid: 1000,
            gid: 1000,
            groups: vec![10, 20],
        };
        let ruleset = std::fs::File::open("/dev/null").unwrap().into();
        Steps {
            signal_mask: 0x200,
            dispositions: vec![(17, Disposition::Default), (21, Disposition::Ignore)],
            take_terminal: true,
            rlimits: vec![(NOFILE, 64, 128)],
            read_only_mounts: vec![(11, c"/proc/sys".into()), (15, c"/sys".into())],
            bounding_drop: vec![0, 1],
            keep_caps: true,
            switch_to: Some(ids.clone()),
            caps: Some(CAPS),
            ambient: Some(vec![CAP_NET_BIND_SERVICE]),
            parent_death: Some((9, 42)),
            no_new_privs: true,
            init_ready: Some(std::fs::File::open("/dev/null").unwrap().into()),
            landlock: Some(ruleset),
            seccomp: Some(SeccompFilter {
                program: vec![libc::sock_filter {
                    code: 6,
                    jt: 0,
                    jf: 0,
                    k: 0x7fff_0000,
                }],
                flags: 0,
                reads_pass: false,
            }),
            listener_to: None,
            seccomp_early: false,
            verify_buf: vec![0; 3],
            verify: Some(ids),
        }
    }

    const CAPS: CapSets = CapSets {
        effective: 0x400,
        permitted: 0x400,
        inheritable: 0x400,
    };

    fn full_order() -> Vec<Call> {
        vec![
            Call::Disposition(17, Disposition::Default),
            Call::Disposition(21, Disposition::Ignore),
            Call::Setpgid,
            Call::Tcsetpgrp,
            Call::Mask(0x200),
            Call::Rlimit(NOFILE, 64, 128),
            Call::MountNamespace,
            Call::MountReadOnly("/proc/sys".into()),
            Call::MountReadOnly("/sys".into()),
            Call::CapbsetDrop(0),
            Call::CapbsetDrop(1),
            Call::Keepcaps,
            Call::Setgroups(vec![10, 20]),
            Call::Setresgid(1000),
            Call::Setresuid(1000),
            Call::Capset(CAPS),
            Call::AmbientClear,
            Call::AmbientRaise(CAP_NET_BIND_SERVICE),
            Call::Pdeathsig(9),
            Call::Getppid,
            Call::AwaitInit,
            Call::NoNewPrivs,
            Call::LandlockRestrict,
            Call::ReadIds,
            Call::Seccomp { instructions: 1 },
        ]
    }

    /// The log up to and including `call`, which must be in the full order.
    fn up_to(call: &Call) -> Vec<Call> {
        let full = full_order();
        let at = full.iter().position(|c| c == call).unwrap();
        full[..=at].to_vec()
    }

    #[test]
    fn steps_run_in_the_one_order_the_kernel_allows() {
        let mut sys = Recorder::new(None);
        assert_eq!(apply(&mut sys, &mut full_steps()), Ok(()));
        assert_eq!(sys.log, full_order());
    }

    #[test]
    fn under_a_filter_every_read_passes_the_wait_for_pid_1_comes_last() {
        let mut steps = full_steps();
        if let Some(filter) = steps.seccomp.as_mut() {
            filter.reads_pass = true;
        }
        let mut sys = Recorder::new(None);
        assert_eq!(apply(&mut sys, &mut steps), Ok(()));
        let mut want: Vec<Call> = full_order()
            .into_iter()
            .filter(|c| *c != Call::AwaitInit)
            .collect();
        want.push(Call::AwaitInit);
        assert_eq!(sys.log, want);
        // Without a filter there is nothing to wait before either.
        let mut unconfined = Steps {
            seccomp: None,
            ..full_steps()
        };
        let mut sys = Recorder::new(None);
        assert_eq!(apply(&mut sys, &mut unconfined), Ok(()));
        assert_eq!(sys.log.last(), Some(&Call::AwaitInit));
        // PID 1 gone while the child waits under its filter: the child never execs.
        let mut sys = Recorder::new(Some(Call::AwaitInit));
        let mut steps = full_steps();
        if let Some(filter) = steps.seccomp.as_mut() {
            filter.reads_pass = true;
        }
        assert_eq!(
            apply(&mut sys, &mut steps),
            Err(Failure {
                step: Step::AwaitInit,
                errno: Errno::EPERM
            })
        );
        // A learning filter's listener needs PID 1 serving: the wait stays before it.
        let mut learning = full_steps();
        learning.listener_to = Some(std::fs::File::open("/dev/null").unwrap().into());
        if let Some(filter) = learning.seccomp.as_mut() {
            filter.reads_pass = true;
        }
        let mut sys = Recorder::new(None);
        assert_eq!(apply(&mut sys, &mut learning), Ok(()));
        let at = |c: &Call| sys.log.iter().position(|x| x == c).unwrap();
        assert!(
            at(&Call::AwaitInit) < at(&Call::NoNewPrivs),
            "{:?}",
            sys.log
        );
    }

    #[test]
    fn without_no_new_privs_the_floor_goes_in_before_the_identity_switch() {
        let mut steps = Steps {
            seccomp_early: true,
            no_new_privs: false,
            landlock: None,
            ..full_steps()
        };
        let mut sys = Recorder::new(None);
        assert_eq!(apply(&mut sys, &mut steps), Ok(()));
        let seccomp = Call::Seccomp { instructions: 1 };
        let mut want: Vec<Call> = full_order()
            .into_iter()
            .filter(|c| ![Call::NoNewPrivs, Call::LandlockRestrict, seccomp.clone()].contains(c))
            .collect();
        // After the rlimits, before the first bounding-set drop.
        let at = want
            .iter()
            .position(|c| matches!(c, Call::CapbsetDrop(_)))
            .unwrap();
        want.insert(at, seccomp);
        assert_eq!(sys.log, want);
    }

    #[test]
    fn a_failure_at_any_step_stops_everything_after_it() {
        for call in full_order().into_iter().filter(|c| *c != Call::Getppid) {
            let mut sys = Recorder::new(Some(call.clone()));
            let result = apply(&mut sys, &mut full_steps());
            assert!(result.is_err(), "no failure reported for {call:?}");
            assert_eq!(sys.log, up_to(&call), "calls after the failing {call:?}");
        }
    }

    #[test]
    fn failures_name_their_step() {
        let cases = [
            (
                Call::Disposition(21, Disposition::Ignore),
                Step::RestoreSignals,
            ),
            (Call::Setpgid, Step::ProcessGroup),
            (Call::Tcsetpgrp, Step::Terminal),
            (Call::Mask(0x200), Step::RestoreSignals),
            (Call::Rlimit(NOFILE, 64, 128), Step::Rlimit(NOFILE)),
            (Call::MountNamespace, Step::MountNamespace),
            (Call::MountReadOnly("/sys".into()), Step::ReadOnlyMount(15)),
            (Call::CapbsetDrop(1), Step::DropBounding(1)),
            (Call::Keepcaps, Step::KeepCaps),
            (Call::Setgroups(vec![10, 20]), Step::SetGroups),
            (Call::Setresgid(1000), Step::SetGid),
            (Call::Setresuid(1000), Step::SetUid),
            (Call::Capset(CAPS), Step::SetCaps),
            (Call::AmbientClear, Step::ClearAmbient),
            (
                Call::AmbientRaise(CAP_NET_BIND_SERVICE),
                Step::RaiseAmbient(CAP_NET_BIND_SERVICE),
            ),
            (Call::Pdeathsig(9), Step::ParentDeathSignal),
            (Call::AwaitInit, Step::AwaitInit),
            (Call::NoNewPrivs, Step::NoNewPrivs),
            (Call::LandlockRestrict, Step::Landlock),
            (Call::ReadIds, Step::VerifyIds),
            (Call::Seccomp { instructions: 1 }, Step::Seccomp),
        ];
        for (call, step) in cases {
            let mut sys = Recorder::new(Some(call.clone()));
            assert_eq!(
                apply(&mut sys, &mut full_steps()),
                Err(Failure {
                    step,
                    errno: Errno::EPERM
                }),
                "{call:?}"
            );
        }
    }

    #[test]
    fn a_learning_filter_hands_its_listener_over_last() {
        let learning = || {
            let mut steps = full_steps();
            steps.listener_to = Some(std::fs::File::open("/dev/null").unwrap().into());
            steps
        };
        let mut order = full_order();
        order.pop();
        order.extend([
            Call::SeccompWithListener { instructions: 1 },
            Call::SendListener,
        ]);
        let mut sys = Recorder::new(None);
        assert_eq!(apply(&mut sys, &mut learning()), Ok(()));
        assert_eq!(sys.log, order);
        let cases = [
            (Call::SeccompWithListener { instructions: 1 }, Step::Seccomp),
            (Call::SendListener, Step::HandOffListener),
        ];
        for (call, step) in cases {
            let mut sys = Recorder::new(Some(call.clone()));
            assert_eq!(
                apply(&mut sys, &mut learning()),
                Err(Failure {
                    step,
                    errno: Errno::EPERM
                })
            );
            assert_eq!(sys.log.last(), Some(&call));
        }
    }

    #[test]
    fn a_kernel_file_gone_since_the_survey_is_skipped() {
        let mut sys = Recorder::new(Some(Call::MountReadOnly("/proc/sys".into())));
        sys.errno = Errno::ENOENT;
        assert_eq!(apply(&mut sys, &mut full_steps()), Ok(()));
        assert_eq!(sys.log, full_order());
    }

    #[test]
    fn a_missing_terminal_is_tolerated() {
        for errno in [Errno::ENOTTY, Errno::ENXIO] {
            let mut sys = Recorder::new(Some(Call::Tcsetpgrp));
            sys.errno = errno;
            assert_eq!(apply(&mut sys, &mut full_steps()), Ok(()));
            assert_eq!(sys.log, full_order());
        }
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
        assert_eq!(sys.log, up_to(&Call::Getppid));
        let mut steps = full_steps();
        steps.verify = Some(Credentials {
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
        assert_eq!(sys.log, up_to(&Call::ReadIds));
    }

    #[test]
    fn the_shared_bounding_drop_is_all_that_goes_before_the_fork() {
        let lockdown = InitLockdown {
            shared_bounding_drop: vec![1, 2],
            bounding_drop: vec![0],
            keep_caps: false,
            switch_to: None,
            caps: CapSets::default(),
            dumpable: false,
        };
        let mut sys = Recorder::new(None);
        assert_eq!(drop_shared_bounding(&mut sys, &lockdown), Ok(()));
        assert_eq!(sys.log, [Call::CapbsetDrop(1), Call::CapbsetDrop(2)]);
        let mut sys = Recorder::new(Some(Call::CapbsetDrop(1)));
        assert_eq!(
            drop_shared_bounding(&mut sys, &lockdown),
            Err(Failure {
                step: Step::DropBounding(1),
                errno: Errno::EPERM
            })
        );
        assert_eq!(sys.log, [Call::CapbsetDrop(1)]);
    }

    #[test]
    fn the_init_locks_itself_down_in_order() {
        let kill_only = CapSets {
            effective: 0x20,
            permitted: 0x20,
            inheritable: 0,
        };
        let lockdown = InitLockdown {
            shared_bounding_drop: vec![1, 2],
            bounding_drop: vec![0],
            keep_caps: true,
            switch_to: Some(Credentials {
                uid: 1000,
                gid: 1000,
                groups: vec![],
            }),
            caps: kill_only,
            dumpable: true,
        };
        let order = [
            Call::CapbsetDrop(0),
            Call::Keepcaps,
            Call::Setgroups(vec![]),
            Call::Setresgid(1000),
            Call::Setresuid(1000),
            Call::Capset(kill_only),
            Call::AmbientClear,
            Call::NoNewPrivs,
            Call::Dumpable(true),
        ];
        let mut sys = Recorder::new(None);
        assert_eq!(lock_down_init(&mut sys, &lockdown), Ok(()));
        assert_eq!(sys.log, order);
        for (at, call) in order.iter().enumerate() {
            let mut sys = Recorder::new(Some(call.clone()));
            assert!(lock_down_init(&mut sys, &lockdown).is_err(), "{call:?}");
            assert_eq!(sys.log, order[..=at], "calls after the failing {call:?}");
        }
    }

    #[test]
    fn every_step_survives_the_pipe_and_every_code_is_a_step() {
        for code in 0..=u8::MAX {
            for arg in [0, 9, 40] {
                if let Some(step) = Step::decode([code, arg]) {
                    let back = step.encode();
                    assert_eq!(back[0], code, "{step:?}");
                    assert_eq!(Step::decode(back), Some(step));
                }
            }
        }
        let decoded = (0..=u8::MAX)
            .filter(|&c| Step::decode([c, 0]).is_some())
            .count();
        assert_eq!(decoded, 24, "codes 0..24, one per step");
        assert!((0..24).all(|c| Step::decode([c, 0]).is_some()));
    }

    #[test]
    fn failures_read_as_step_and_reason() {
        let at = |step| Failure {
            step,
            errno: Errno::EPERM,
        };
        assert_eq!(
            at(Step::DropBounding(0)).to_string(),
            "drop CAP_CHOWN from the bounding set: Operation not permitted (EPERM)"
        );
        assert_eq!(
            at(Step::Rlimit(NOFILE)).to_string(),
            "set rlimit nofile: Operation not permitted (EPERM)"
        );
        assert_eq!(
            at(Step::RaiseAmbient(CAP_NET_BIND_SERVICE)).to_string(),
            "raise ambient CAP_NET_BIND_SERVICE: Operation not permitted (EPERM)"
        );
        assert_eq!(
            at(Step::VerifyIds).to_string(),
            "verify ids: the kernel reports other ids than planned"
        );
        assert_eq!(
            at(Step::ParentGone).to_string(),
            "set parent-death signal: hardinit exited before the program started"
        );
        assert_eq!(
            at(Step::Dumpable).to_string(),
            "set the dumpable flag: Operation not permitted (EPERM)"
        );
    }
}

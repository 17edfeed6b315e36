//! The parent's recipe: what hardinit does to itself around the spawn, in the one order that
//! leaves no signal lost, no orphan unreaped and no program unsupervised.
//!
//! Like the child's recipe (`harden::apply`), it makes its system calls through a trait, so
//! the order and the fail-closed behaviour are tested with a recording fake.

use log::debug;
use nix::unistd::Pid;

use super::Error;
use crate::harden::{self, InitLockdown, RealSys};
use crate::listener::Server;
use crate::plan::{ChildPlan, SignalState};
use crate::spawn;
use crate::supervise;
use crate::sys::{self, Disposition, ALL_SIGNALS};

/// The signals whose disposition hardinit changes for itself. SIGCHLD must not be ignored
/// (the kernel would reap for us and the program's status would be lost); SIGTTIN and
/// SIGTTOU must never stop PID 1.
const OWN_DISPOSITIONS: [(i32, Disposition); 3] = [
    (libc::SIGCHLD, Disposition::Default),
    (libc::SIGTTIN, Disposition::Ignore),
    (libc::SIGTTOU, Disposition::Ignore),
];

/// What the parent does to the system.
pub trait Parent {
    /// What `spawn` starts the program from.
    type Plan;
    /// Blocks every signal and sets hardinit's own dispositions; returns what the program
    /// must get back.
    fn take_over_signals(&mut self) -> Result<SignalState, Error>;
    fn become_subreaper(&mut self) -> Result<(), Error>;
    /// Drops the bounding capabilities PID 1 and the program both give up.
    fn drop_shared_bounding(&mut self, lockdown: &InitLockdown) -> Result<(), Error>;
    /// Forks the child, which hardens itself and then waits for [`Parent::await_exec`]
    /// before it execs the program.
    fn fork(&mut self, plan: Self::Plan) -> Result<Pid, Error>;
    /// Lets the child exec and waits until it has, serving signals meanwhile. On an error
    /// the child is gone already (killed and reaped).
    fn await_exec(&mut self) -> Result<(), Error>;
    /// Lets go of the working directory and every inherited descriptor.
    fn detach_from_launch_state(&mut self);
    /// Gives back the pages of hardinit's own binary; failing that costs only memory.
    fn page_out_own_binary(&mut self);
    fn lock_down(&mut self, lockdown: &InitLockdown) -> Result<(), Error>;
    fn set_parent_death_signal(&mut self, signo: i32) -> Result<(), Error>;
    /// SIGKILLs the program and everything it started, and reaps them all.
    fn kill_everything(&mut self, program: Pid);
}

/// How this launch differs from another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Start {
    /// hardinit is PID 1 of its namespace.
    pub is_pid1: bool,
    /// `-s` was given (it only matters when hardinit is not PID 1, where it is automatic).
    pub subreaper_asked: bool,
    /// `-p`: the signal hardinit gets when its own parent dies.
    pub own_parent_death: Option<i32>,
}

/// Starts the program from the plan `prepare` builds once hardinit's signals are taken over,
/// and leaves hardinit ready to supervise it. Any error once the program runs takes the
/// program and its descendants down first: nothing is left running unsupervised.
pub fn start<P: Parent>(
    os: &mut P,
    start: Start,
    prepare: impl FnOnce(&SignalState) -> Result<(P::Plan, InitLockdown), Error>,
) -> Result<Pid, Error> {
    // 1. Signals that arrive from now on wait, blocked, until the loop forwards them; the
    //    child gets the original mask and dispositions back, so they are taken first.
    let signals = os.take_over_signals()?;
    // 2. Orphans must be re-parented to hardinit to be reaped; PID 1 gets them anyway.
    if !start.is_pid1 {
        os.become_subreaper()?;
        debug!("not PID 1: registered as a child subreaper");
    } else if start.subreaper_asked {
        debug!("-s has no effect: hardinit is PID 1");
    }
    // 3. The child's plan holds the signal state to give back.
    let (plan, lockdown) = prepare(&signals)?;
    // 3b. What both sides give up of the bounding set goes once, here: the child inherits
    //     the smaller set, and neither of them needs it (hardening takes effective caps).
    os.drop_shared_bounding(&lockdown)?;
    let child = os.fork(plan)?;
    // 4. The child waits for PID 1's lock-down before it execs: no instant of the program
    //    sees PID 1 with its privileges (or its uid).
    if let Err(e) = lock_down(os, &lockdown) {
        os.kill_everything(child);
        return Err(e);
    }
    // 5. The program runs once this returns.
    os.await_exec()?;
    // From here on the program runs: supervise it, or take it down with hardinit.
    if let Err(e) = settle_in(os, start) {
        os.kill_everything(child);
        return Err(e);
    }
    Ok(child)
}

/// What PID 1 does to itself while the child hardens itself.
fn lock_down<P: Parent>(os: &mut P, lockdown: &InitLockdown) -> Result<(), Error> {
    // 4. A PID 1 that kept its privileges is not what was asked for.
    os.lock_down(lockdown)
}

/// What PID 1 does to itself once the program runs, before the loop.
fn settle_in<P: Parent>(os: &mut P, start: Start) -> Result<(), Error> {
    // 6. PID 1 pins no mount and leaks no descriptor (the exec wait's among them): the
    //    program kept its own cwd and fds.
    os.detach_from_launch_state();
    // 7. Set-up read most of the binary; the loop needs a few pages of it. Only as PID 1,
    //    which lives as long as the container: a short-lived wrapper would just make the next
    //    launch read the binary from disk again. Only now: until the child's exec it mapped
    //    the same pages, and the kernel evicts no page another process maps.
    if start.is_pid1 {
        os.page_out_own_binary();
    }
    // 8. The credential change of the lock-down cleared hardinit's parent-death signal.
    if let Some(signo) = start.own_parent_death {
        os.set_parent_death_signal(signo)?;
    }
    Ok(())
}

/// What PID 1 does with the child's plan once the child has its copy: it closes the plan's
/// descriptors (the Landlock ruleset's, any the spawn left) and keeps its memory rather than
/// free it. The fork made every heap page copy-on-write; each free writes to the page its
/// chunk lies on, so dropping the plan cost ~10 page faults (and copies) while the child
/// hardens itself, for a few kB that stay resident either way (the allocator keeps them).
fn let_go_of(mut plan: ChildPlan) {
    let steps = &mut plan.steps;
    drop((
        steps.landlock.take(),
        steps.listener_to.take(),
        steps.init_ready.take(),
    ));
    std::mem::forget(plan);
}

/// The real system calls.
pub struct RealParent<'a> {
    pub is_pid1: bool,
    /// How the program's signals are passed on, from the exec wait on.
    pub supervision: &'a supervise::Options,
    /// The relay the exec wait served, for the loop to go on with.
    pub relay: Option<supervise::Relay<'a>>,
    /// Learning or complain mode: serves the listener from the exec wait on.
    pub server: Option<Server>,
    /// The child between `fork` and `await_exec`.
    pub started: Option<spawn::Started>,
    /// hardinit's parent when it started: `-p`'s signal is due once another one adopts it.
    pub own_parent: i32,
}

impl Parent for RealParent<'_> {
    type Plan = ChildPlan;

    fn take_over_signals(&mut self) -> Result<SignalState, Error> {
        let mask = sys::set_signal_mask(ALL_SIGNALS).map_err(Error::BlockSignals)?;
        let mut changed = Vec::with_capacity(OWN_DISPOSITIONS.len());
        for (signo, to) in OWN_DISPOSITIONS {
            let old = sys::set_disposition(signo, to)
                .map_err(|source| Error::SetDisposition { signo, source })?;
            changed.push((signo, old));
        }
        Ok(SignalState { mask, changed })
    }

    fn become_subreaper(&mut self) -> Result<(), Error> {
        sys::set_child_subreaper().map_err(Error::BecomeSubreaper)
    }

    fn drop_shared_bounding(&mut self, lockdown: &InitLockdown) -> Result<(), Error> {
        harden::drop_shared_bounding(&mut RealSys, lockdown).map_err(Error::LockDownInit)
    }

    fn fork(&mut self, mut plan: ChildPlan) -> Result<Pid, Error> {
        let started = spawn::start(&mut plan)?;
        let_go_of(plan);
        let pid = started.pid;
        self.started = Some(started);
        Ok(pid)
    }

    fn await_exec(&mut self) -> Result<(), Error> {
        let started = self.started.take().ok_or(Error::NoProgram)?;
        if let Err(e) = started.let_run() {
            started.kill();
            return Err(e.into());
        }
        let mut relay = supervise::Relay::new(started.pid, self.supervision);
        started.await_exec(self.server.as_mut(), &mut relay)?;
        self.relay = Some(relay);
        Ok(())
    }

    fn detach_from_launch_state(&mut self) {
        if let Err(e) = nix::unistd::chdir("/") {
            log::warn!("cannot change directory to /: {e}");
        }
        let keep = self
            .server
            .as_ref()
            .map(Server::kept_fds)
            .unwrap_or_default();
        if let Err(e) = sys::close_fds_from_except(3, &keep) {
            log::warn!("cannot close inherited descriptors: {e}");
        }
    }

    fn page_out_own_binary(&mut self) {
        if let Err(e) = sys::page_out_own_binary() {
            debug!("cannot page out hardinit's own binary: {e}");
        }
    }

    fn lock_down(&mut self, lockdown: &InitLockdown) -> Result<(), Error> {
        harden::lock_down_init(&mut RealSys, lockdown).map_err(Error::LockDownInit)
    }

    fn set_parent_death_signal(&mut self, signo: i32) -> Result<(), Error> {
        sys::set_parent_death_signal(signo).map_err(Error::SetParentDeathSignal)?;
        // A parent that died while the lock-down's credential change had cleared the signal
        // never sends it: hardinit sends it to itself (a blocked one waits for the loop,
        // which forwards it as it would the kernel's).
        if nix::unistd::getppid().as_raw() != self.own_parent {
            let signal =
                nix::sys::signal::Signal::try_from(signo).map_err(Error::SetParentDeathSignal)?;
            nix::sys::signal::kill(nix::unistd::Pid::this(), signal)
                .map_err(Error::SetParentDeathSignal)?;
        }
        Ok(())
    }

    fn kill_everything(&mut self, program: Pid) {
        supervise::kill_everything(program, self.is_pid1);
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use nix::errno::Errno;

    use super::*;
    use crate::harden::{Failure, Step};
    use crate::sys::CapSets;

    /// One call the recipe made.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Call {
        TakeOverSignals,
        BecomeSubreaper,
        Prepare,
        DropSharedBounding,
        Fork,
        AwaitExec,
        Detach,
        PageOut,
        LockDown,
        SetParentDeathSignal(i32),
        KillEverything(i32),
    }

    /// The fallible calls, each with the error the fake returns for it.
    fn error_for(call: Call) -> Error {
        match call {
            Call::TakeOverSignals => Error::BlockSignals(Errno::EINVAL),
            Call::BecomeSubreaper => Error::BecomeSubreaper(Errno::EINVAL),
            Call::Prepare => Error::NoProgram,
            Call::DropSharedBounding => Error::LockDownInit(Failure {
                step: Step::DropBounding(21),
                errno: Errno::EPERM,
            }),
            Call::Fork => Error::Spawn(crate::spawn::SpawnError::Fork(Errno::EAGAIN)),
            Call::AwaitExec => Error::Spawn(crate::spawn::SpawnError::AwaitExec(Errno::EIO)),
            Call::LockDown => Error::LockDownInit(Failure {
                step: Step::SetUid,
                errno: Errno::EPERM,
            }),
            Call::SetParentDeathSignal(_) => Error::SetParentDeathSignal(Errno::EINVAL),
            Call::Detach | Call::PageOut | Call::KillEverything(_) => {
                unreachable!("{call:?} cannot fail")
            }
        }
    }

    /// Records every call in one ordered log (shared with the `prepare` closure) and fails
    /// the call equal to `fail`.
    struct Recorder {
        log: Rc<RefCell<Vec<Call>>>,
        fail: Option<Call>,
    }

    impl Recorder {
        fn call(&mut self, call: Call) -> Result<(), Error> {
            record(&self.log, call, self.fail)
        }
    }

    fn record(log: &RefCell<Vec<Call>>, call: Call, fail: Option<Call>) -> Result<(), Error> {
        log.borrow_mut().push(call);
        if fail == Some(call) {
            Err(error_for(call))
        } else {
            Ok(())
        }
    }

    const PROGRAM: i32 = 4242;

    impl Parent for Recorder {
        type Plan = ();

        fn take_over_signals(&mut self) -> Result<SignalState, Error> {
            self.call(Call::TakeOverSignals)?;
            Ok(SignalState {
                mask: 0,
                changed: Vec::new(),
            })
        }
        fn become_subreaper(&mut self) -> Result<(), Error> {
            self.call(Call::BecomeSubreaper)
        }
        fn drop_shared_bounding(&mut self, _: &InitLockdown) -> Result<(), Error> {
            self.call(Call::DropSharedBounding)
        }
        fn fork(&mut self, (): ()) -> Result<Pid, Error> {
            self.call(Call::Fork)?;
            Ok(Pid::from_raw(PROGRAM))
        }
        fn await_exec(&mut self) -> Result<(), Error> {
            self.call(Call::AwaitExec)
        }
        fn detach_from_launch_state(&mut self) {
            self.log.borrow_mut().push(Call::Detach);
        }
        fn page_out_own_binary(&mut self) {
            self.log.borrow_mut().push(Call::PageOut);
        }
        fn lock_down(&mut self, _: &InitLockdown) -> Result<(), Error> {
            self.call(Call::LockDown)
        }
        fn set_parent_death_signal(&mut self, signo: i32) -> Result<(), Error> {
            self.call(Call::SetParentDeathSignal(signo))
        }
        fn kill_everything(&mut self, program: Pid) {
            self.log
                .borrow_mut()
                .push(Call::KillEverything(program.as_raw()));
        }
    }

    const AS_PID1: Start = Start {
        is_pid1: true,
        subreaper_asked: true,
        own_parent_death: Some(libc::SIGTERM),
    };

    const AS_SUBREAPER: Start = Start {
        is_pid1: false,
        subreaper_asked: false,
        own_parent_death: None,
    };

    /// Runs the recipe against the fake; returns the result and the log.
    fn run(start_as: Start, fail: Option<Call>) -> (Result<i32, Error>, Vec<Call>) {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut os = Recorder {
            log: Rc::clone(&log),
            fail,
        };
        let result = start(&mut os, start_as, |_| {
            record(&log, Call::Prepare, fail)?;
            Ok((
                (),
                InitLockdown {
                    shared_bounding_drop: Vec::new(),
                    bounding_drop: Vec::new(),
                    keep_caps: false,
                    switch_to: None,
                    caps: CapSets::default(),
                    dumpable: false,
                },
            ))
        });
        let calls = log.borrow().clone();
        (result.map(Pid::as_raw), calls)
    }

    const PID1_ORDER: [Call; 9] = [
        Call::TakeOverSignals,
        Call::Prepare,
        Call::DropSharedBounding,
        Call::Fork,
        Call::LockDown,
        Call::AwaitExec,
        Call::Detach,
        Call::PageOut,
        Call::SetParentDeathSignal(libc::SIGTERM),
    ];

    #[test]
    fn pid1_locks_itself_down_before_the_program_execs() {
        let (result, log) = run(AS_PID1, None);
        assert_eq!(result.ok(), Some(PROGRAM));
        assert_eq!(log, PID1_ORDER);
    }

    #[test]
    fn a_subreaper_registers_before_the_spawn_and_keeps_its_binary_cached() {
        let (result, log) = run(AS_SUBREAPER, None);
        assert_eq!(result.ok(), Some(PROGRAM));
        assert_eq!(
            log,
            [
                Call::TakeOverSignals,
                Call::BecomeSubreaper,
                Call::Prepare,
                Call::DropSharedBounding,
                Call::Fork,
                Call::LockDown,
                Call::AwaitExec,
                Call::Detach,
            ]
        );
    }

    #[test]
    fn a_failure_before_the_fork_stops_everything_after_it() {
        for start_as in [AS_PID1, AS_SUBREAPER] {
            let (_, full) = run(start_as, None);
            let fork_at = full.iter().position(|c| *c == Call::Fork).unwrap();
            for &failing in &full[..=fork_at] {
                let (result, log) = run(start_as, Some(failing));
                let at = full.iter().position(|c| *c == failing).unwrap();
                assert_eq!(
                    result.map_err(|e| e.to_string()),
                    Err(error_for(failing).to_string())
                );
                assert_eq!(log, full[..=at], "calls after the failing {failing:?}");
            }
        }
    }

    #[test]
    fn a_failed_exec_wait_leaves_nothing_to_kill() {
        let (result, log) = run(AS_PID1, Some(Call::AwaitExec));
        assert_eq!(
            result.map_err(|e| e.to_string()),
            Err(error_for(Call::AwaitExec).to_string())
        );
        assert_eq!(log, PID1_ORDER[..6]);
    }

    #[test]
    fn a_failure_once_the_child_exists_kills_it_and_everything_it_started() {
        for failing in [Call::LockDown, Call::SetParentDeathSignal(libc::SIGTERM)] {
            let (result, log) = run(AS_PID1, Some(failing));
            assert_eq!(
                result.map_err(|e| e.to_string()),
                Err(error_for(failing).to_string())
            );
            let at = PID1_ORDER.iter().position(|c| *c == failing).unwrap();
            let mut want = PID1_ORDER[..=at].to_vec();
            want.push(Call::KillEverything(PROGRAM));
            assert_eq!(log, want, "after the failing {failing:?}");
        }
    }
}

//! Fork; the child runs `harden::apply` and execve. A failure travels back to the parent as
//! (step, errno) over a CLOEXEC pipe: if the pipe closes empty, the exec succeeded.

use std::ffi::OsString;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use log::debug;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags};
use nix::unistd::Pid;
use thiserror::Error;

use crate::harden::{self, ErrnoText, Failure, RealSys, Step};
use crate::listener::Server;
use crate::plan::ChildPlan;
use crate::supervise::{poll_timeout, Relay};
use crate::sys::{self, sig_bit, Forked, ALL_SIGNALS};

/// The exit status the child uses when it reports a failure; the parent never passes it on.
const CHILD_FAILED: i32 = 125;

#[derive(Debug, Error)]
pub enum SpawnError {
    #[error("cannot create the error pipe")]
    CreatePipe(#[source] Errno),
    #[error("cannot fork")]
    Fork(#[source] Errno),
    #[error("cannot read the child's report")]
    ReadReport(#[source] std::io::Error),
    #[error("cannot watch for signals while the program starts")]
    WatchSignals(#[source] Errno),
    #[error("cannot wait for the program to start")]
    AwaitExec(#[source] Errno),
    #[error("{0}")]
    Harden(Failure),
    #[error("cannot execute {program}: {reason}")]
    Exec { program: String, reason: ErrnoText },
}

impl SpawnError {
    /// 127 when the program was not found, 126 when it could not be executed, else 125.
    pub fn exit_code(&self) -> i32 {
        match self {
            SpawnError::Exec { reason, .. }
                if matches!(reason.0, Errno::ENOENT | Errno::ENOTDIR) =>
            {
                127
            }
            SpawnError::Exec { .. } => 126,
            _ => 125,
        }
    }
}

/// A forked child that has not yet reported its exec.
pub struct Started {
    pub pid: Pid,
    report: OwnedFd,
    /// Written to once PID 1 has locked itself down: the child execs only then.
    init_ready: OwnedFd,
    program: OsString,
}

/// Forks the child, which hardens itself and execs; the parent may settle in (lock itself
/// down) before it waits for the exec with [`Started::await_exec`].
pub fn start(plan: &mut ChildPlan) -> Result<Started, SpawnError> {
    let (read_end, write_end) =
        nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(SpawnError::CreatePipe)?;
    let (ready_read, ready_write) =
        nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(SpawnError::CreatePipe)?;
    plan.steps.init_ready = Some(ready_read);
    match sys::fork().map_err(SpawnError::Fork)? {
        Forked::Child => {
            drop(read_end);
            drop(ready_write);
            run_child(plan, &write_end)
        }
        Forked::Parent(child) => {
            drop(write_end);
            plan.steps.init_ready = None;
            // Both sides set the group, so neither the parent's signals nor the terminal race
            // the child's setpgid; EACCES means the child already exec'd and did it itself.
            let _ = nix::unistd::setpgid(child, child);
            // The child's end of the listener socket: only the child may hold it, so the
            // socket ends when the child does.
            drop(plan.steps.listener_to.take());
            Ok(Started {
                pid: child,
                report: read_end,
                init_ready: ready_write,
                program: plan.program.clone(),
            })
        }
    }
}

fn run_child(plan: &mut ChildPlan, report: &OwnedFd) -> ! {
    let failure = match harden::apply(&mut RealSys, &mut plan.steps) {
        Ok(()) => Failure {
            step: Step::Exec,
            errno: plan.image.exec(),
        },
        Err(failure) => failure,
    };
    // Nothing more can be done if the report cannot be written: the parent then sees an
    // empty pipe and a child that exited 125, and still fails closed.
    let _ = sys::write_all(report.as_fd(), &encode(failure));
    sys::exit_child(CHILD_FAILED)
}

/// The most a report can hold; the child writes 8 bytes.
const REPORT_MAX: usize = 64;

impl Started {
    /// Tells the child PID 1 is locked down: it may exec the program.
    pub fn let_run(&self) -> Result<(), SpawnError> {
        match sys::write_all(self.init_ready.as_fd(), &[1]) {
            // The child is gone already: its report says why.
            Ok(()) | Err(Errno::EPIPE) => Ok(()),
            Err(e) => Err(SpawnError::AwaitExec(e)),
        }
    }

    /// Fail closed: SIGKILL the child and reap it.
    pub fn kill(self) {
        let _ = sys::send_signal(self.pid.as_raw(), libc::SIGKILL);
        let _ = nix::sys::wait::waitpid(self.pid, None);
    }

    /// Waits until the child has exec'd (its report pipe closes empty) or reports a failure.
    /// Signals are served meanwhile by the relay the loop goes on with (rewritten, to the
    /// group, a SIGTERM held for the stop delay): the child already has the dispositions the
    /// program gets, so a SIGTERM ends a child that never gets to exec, and a signal read in
    /// the instant after the exec reaches the program as the loop would pass it.
    /// SIGCHLD stays pending for the supervisor. In learning and complain mode the same poll
    /// takes the listener the child hands over and answers its notifications: the execve
    /// itself is notified, so a wait for the report alone would deadlock.
    pub fn await_exec(
        self,
        server: Option<&mut Server>,
        relay: &mut Relay<'_>,
    ) -> Result<Pid, SpawnError> {
        let report = match self.read_report(server, relay) {
            Ok(report) => report,
            Err(e) => {
                self.kill();
                return Err(e);
            }
        };
        if report.is_empty() {
            return Ok(self.pid);
        }
        // The child exits right after its report; reap it so no zombie is left.
        let _ = nix::sys::wait::waitpid(self.pid, None);
        let failure = decode(&report).unwrap_or(Failure {
            step: Step::Exec,
            errno: Errno::EIO,
        });
        Err(match failure.step {
            Step::Exec => SpawnError::Exec {
                program: self.program.to_string_lossy().into_owned(),
                reason: ErrnoText(failure.errno),
            },
            _ => SpawnError::Harden(failure),
        })
    }

    fn read_report(
        &self,
        mut server: Option<&mut Server>,
        relay: &mut Relay<'_>,
    ) -> Result<Vec<u8>, SpawnError> {
        let signals = sys::signal_fd(ALL_SIGNALS & !sig_bit(libc::SIGCHLD))
            .map_err(SpawnError::WatchSignals)?;
        let mut report = Vec::with_capacity(8);
        let mut chunk = [0u8; REPORT_MAX];
        let readable = PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR;
        loop {
            let served = server.as_deref().and_then(Server::watched);
            let watch = served.map(|(_, w)| w);
            let mut fds = vec![
                PollFd::new(self.report.as_fd(), PollFlags::POLLIN),
                PollFd::new(signals.as_fd(), PollFlags::POLLIN),
            ];
            fds.extend(served.map(|(fd, _)| PollFd::new(fd, PollFlags::POLLIN)));
            match nix::poll::poll(&mut fds, poll_timeout(relay.timeout())) {
                Ok(0) => relay.expire(),
                Ok(_) | Err(Errno::EINTR) => {}
                Err(e) => return Err(SpawnError::AwaitExec(e)),
            }
            let events = |fd: &PollFd| fd.revents().unwrap_or(PollFlags::empty());
            let (report_ready, signal_ready) = (
                events(&fds[0]).intersects(readable),
                events(&fds[1]).intersects(readable),
            );
            let served_events = fds.get(2).map(events);
            drop(fds);
            if let (Some(server), Some(watch), Some(ev)) =
                (server.as_deref_mut(), watch, served_events)
            {
                if !ev.is_empty() {
                    let gone = PollFlags::POLLHUP | PollFlags::POLLERR | PollFlags::POLLNVAL;
                    server.ready(watch, ev.contains(PollFlags::POLLIN), ev.intersects(gone));
                }
            }
            if signal_ready {
                pass_signals(&signals, relay)?;
            }
            if report_ready {
                match nix::unistd::read(self.report.as_raw_fd(), &mut chunk) {
                    Ok(0) => return Ok(report),
                    Ok(n) => report.extend_from_slice(&chunk[..n]),
                    Err(Errno::EINTR) => {}
                    Err(e) => return Err(SpawnError::ReadReport(e.into())),
                }
                if report.len() > REPORT_MAX {
                    return Ok(report);
                }
            }
        }
    }
}

/// Hands every signal queued on `signals` to the relay.
fn pass_signals(signals: &OwnedFd, relay: &mut Relay<'_>) -> Result<(), SpawnError> {
    while let Some(signo) = sys::read_signal(signals.as_fd()).map_err(SpawnError::AwaitExec)? {
        debug!("signal {signo} while the program execs");
        relay.receive(signo);
    }
    Ok(())
}

/// 8 bytes: the step's code and argument, 2 spare, errno (native endian: the reader is our
/// own parent).
fn encode(failure: Failure) -> [u8; 8] {
    let [code, arg] = failure.step.encode();
    let errno = (failure.errno as i32).to_ne_bytes();
    [code, arg, 0, 0, errno[0], errno[1], errno[2], errno[3]]
}

fn decode(bytes: &[u8]) -> Option<Failure> {
    let bytes: [u8; 8] = bytes.try_into().ok()?;
    let errno = Errno::from_raw(i32::from_ne_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]));
    let step = Step::decode([bytes[0], bytes[1]])?;
    Some(Failure { step, errno })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_survives_the_pipe() {
        for step in [
            Step::SetUid,
            Step::Rlimit(9),
            Step::DropBounding(40),
            Step::Exec,
        ] {
            let f = Failure {
                step,
                errno: Errno::EPERM,
            };
            assert_eq!(decode(&encode(f)), Some(f), "{step:?}");
        }
        assert_eq!(decode(&[1, 2, 3]), None);
        assert_eq!(decode(&[255, 0, 0, 0, 1, 0, 0, 0]), None);
    }

    #[test]
    fn exec_failures_name_the_program_and_pick_126_or_127() {
        let e = SpawnError::Exec {
            program: "nope".into(),
            reason: ErrnoText(Errno::ENOENT),
        };
        assert_eq!(
            (e.to_string().as_str(), e.exit_code()),
            (
                "cannot execute nope: No such file or directory (ENOENT)",
                127
            )
        );
        let e = SpawnError::Exec {
            program: "/etc/passwd".into(),
            reason: ErrnoText(Errno::EACCES),
        };
        assert_eq!(e.exit_code(), 126);
    }
}

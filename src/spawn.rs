//! Fork; the child runs `harden::apply` and execve. A failure travels back to the parent as
//! (step, errno) over a CLOEXEC pipe: if the pipe closes empty, the exec succeeded.

use std::io::Read;
use std::os::fd::OwnedFd;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::unistd::Pid;
use thiserror::Error;

use crate::harden::{self, ErrnoText, Failure, RealSys, Step};
use crate::plan::ChildPlan;
use crate::sys::{self, Forked};

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

/// Starts the program; returns its pid once execve has succeeded.
pub fn spawn(plan: &mut ChildPlan) -> Result<Pid, SpawnError> {
    let (read_end, write_end) =
        nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(SpawnError::CreatePipe)?;
    match sys::fork().map_err(SpawnError::Fork)? {
        Forked::Child => {
            drop(read_end);
            run_child(plan, &write_end)
        }
        Forked::Parent(child) => {
            drop(write_end);
            // Both sides set the group, so neither the parent's signals nor the terminal race
            // the child's setpgid; EACCES means the child already exec'd and did it itself.
            let _ = nix::unistd::setpgid(child, child);
            await_exec(child, read_end, plan)
        }
    }
}

fn run_child(plan: &mut ChildPlan, report: &OwnedFd) -> ! {
    use std::os::fd::AsFd;
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

fn await_exec(child: Pid, read_end: OwnedFd, plan: &ChildPlan) -> Result<Pid, SpawnError> {
    let mut buf = Vec::with_capacity(8);
    std::fs::File::from(read_end)
        .read_to_end(&mut buf)
        .map_err(SpawnError::ReadReport)?;
    if buf.is_empty() {
        return Ok(child);
    }
    // The child exits right after its report; reap it so no zombie is left.
    let _ = nix::sys::wait::waitpid(child, None);
    let failure = decode(&buf).unwrap_or(Failure {
        step: Step::Exec,
        errno: Errno::EIO,
    });
    Err(match failure.step {
        Step::Exec => SpawnError::Exec {
            program: plan.program.to_string_lossy().into_owned(),
            reason: ErrnoText(failure.errno),
        },
        _ => SpawnError::Harden(failure),
    })
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

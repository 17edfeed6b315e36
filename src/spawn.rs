//! Fork; the child runs `harden::apply` and execve. A failure travels back to the parent as
//! (step, errno) over a CLOEXEC pipe: if the pipe closes empty, the exec succeeded.

use std::fmt;
use std::io::Read;
use std::os::fd::OwnedFd;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::unistd::Pid;
use thiserror::Error;

use crate::harden::{self, Failure, RealSys, Step};
use crate::plan::ChildPlan;
use crate::policy::caps::cap_name;
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
    Harden(StepError),
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

/// An errno shown as `Description (ENAME)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrnoText(pub Errno);

impl fmt::Display for ErrnoText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({:?})", self.0.desc(), self.0)
    }
}

/// A failed step of the child, shown as `<step>: <reason>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepError(pub Failure);

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Failure { step, errno } = self.0;
        match step {
            Step::VerifyIds => write!(f, "verify ids: the kernel reports other ids than planned"),
            Step::ParentGone => write!(
                f,
                "set parent-death signal: hardinit exited before the program started"
            ),
            _ => write!(f, "{}: {}", describe_step(step), ErrnoText(errno)),
        }
    }
}

/// The name of a step in messages.
pub fn describe_step(step: Step) -> String {
    match step {
        Step::RestoreSignals => "restore signal mask".into(),
        Step::ProcessGroup => "create process group".into(),
        Step::Terminal => "take the terminal foreground".into(),
        Step::Rlimit(i) => format!("set rlimit {}", sys::RLIMITS[usize::from(i)].0),
        Step::MountNamespace => "make a mount namespace for the kernel files".into(),
        Step::ReadOnlyMount(i) => format!(
            "mount {} read-only",
            crate::harden::KERNEL_INTERFACES
                .get(usize::from(i))
                .unwrap_or(&"a kernel file")
        ),
        Step::DropBounding(cap) => format!("drop {} from the bounding set", cap_name(cap)),
        Step::KeepCaps => "set keepcaps".into(),
        Step::SetGroups => "setgroups".into(),
        Step::SetGid => "setresgid".into(),
        Step::SetUid => "setresuid".into(),
        Step::SetCaps => "set capabilities".into(),
        Step::ClearAmbient => "clear ambient capabilities".into(),
        Step::RaiseAmbient(cap) => format!("raise ambient {}", cap_name(cap)),
        Step::ParentDeathSignal | Step::ParentGone => "set parent-death signal".into(),
        Step::NoNewPrivs => "set no_new_privs".into(),
        Step::Landlock => "landlock restrict".into(),
        Step::Seccomp => "install seccomp filter".into(),
        Step::VerifyIds => "verify ids".into(),
        Step::Exec => "execve".into(),
        Step::NotDumpable => "set not dumpable".into(),
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
        _ => SpawnError::Harden(StepError(failure)),
    })
}

const STEPS: [Step; 18] = [
    Step::RestoreSignals,
    Step::MountNamespace,
    Step::ProcessGroup,
    Step::Terminal,
    Step::KeepCaps,
    Step::SetGroups,
    Step::SetGid,
    Step::SetUid,
    Step::SetCaps,
    Step::ClearAmbient,
    Step::ParentDeathSignal,
    Step::ParentGone,
    Step::NoNewPrivs,
    Step::Landlock,
    Step::Seccomp,
    Step::VerifyIds,
    Step::Exec,
    Step::NotDumpable,
];

/// 8 bytes: kind, argument, 2 spare, errno (native endian: the reader is our own parent).
fn encode(failure: Failure) -> [u8; 8] {
    let (kind, arg) = match failure.step {
        Step::Rlimit(i) => (100, i),
        Step::DropBounding(c) => (101, c),
        Step::RaiseAmbient(c) => (102, c),
        Step::ReadOnlyMount(i) => (103, i),
        step => (
            STEPS
                .iter()
                .position(|s| *s == step)
                .unwrap_or(STEPS.len() - 1) as u8,
            0,
        ),
    };
    let errno = (failure.errno as i32).to_ne_bytes();
    [kind, arg, 0, 0, errno[0], errno[1], errno[2], errno[3]]
}

fn decode(bytes: &[u8]) -> Option<Failure> {
    let bytes: [u8; 8] = bytes.try_into().ok()?;
    let errno = Errno::from_raw(i32::from_ne_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]));
    let step = match bytes[0] {
        100 => Step::Rlimit(bytes[1]),
        101 => Step::DropBounding(bytes[1]),
        102 => Step::RaiseAmbient(bytes[1]),
        103 => Step::ReadOnlyMount(bytes[1]),
        k => *STEPS.get(usize::from(k))?,
    };
    Some(Failure { step, errno })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_survives_the_pipe() {
        let mut all = STEPS.to_vec();
        all.extend([
            Step::Rlimit(9),
            Step::DropBounding(40),
            Step::RaiseAmbient(10),
            Step::ReadOnlyMount(11),
        ]);
        for step in all {
            let f = Failure {
                step,
                errno: Errno::EPERM,
            };
            assert_eq!(decode(&encode(f)), Some(f), "{step:?}");
        }
        assert_eq!(decode(&[1, 2, 3]), None);
    }

    #[test]
    fn messages_name_the_step_and_errno() {
        let e = StepError(Failure {
            step: Step::DropBounding(0),
            errno: Errno::EPERM,
        });
        assert_eq!(
            e.to_string(),
            "drop CAP_CHOWN from the bounding set: Operation not permitted (EPERM)"
        );
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

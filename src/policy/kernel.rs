//! Kernel interfaces the program must not write: what runc and Docker make read-only or
//! mask (/proc/sys, /proc/sysrq-trigger, /sys, ...). uid 0 without any capability may still
//! write most sysctls (their handlers check the file mode, few check a capability), and
//! `kernel/core_pattern` then runs a helper as real root: on a host or under `--privileged`
//! these files are writable. Pure: the caller surveys the machine (plan::kernel).

use std::fmt;
use std::path::PathBuf;

use thiserror::Error;

use super::landlock::Compat;

pub use crate::kernel::KERNEL_INTERFACES;

/// What the survey found at one of [`KERNEL_INTERFACES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileState {
    Absent,
    /// /dev/null mounted over it, as a runtime masks a path.
    Masked,
    /// On a read-only mount, and so is everything mounted beneath it.
    ReadOnly,
    Writable,
}

/// Who the program will be, as far as writing root's files goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Writer {
    /// The program runs as uid 0 or keeps a capability: the files' modes do not stop it.
    pub privileged: bool,
    /// hardinit holds CAP_SYS_ADMIN, so the child can mount in a mount namespace of its own.
    pub can_mount: bool,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum KernelFilesError {
    #[error("{paths} {are} writable here and the program would run as root or with capabilities, but hardinit lacks CAP_SYS_ADMIN to mount {them} read-only for it; start hardinit with CAP_SYS_ADMIN, pass --user with a non-root user, or --landlock-compat best-effort to run anyway", paths = .0.join(", "), are = if .0.len() == 1 { "is" } else { "are" }, them = if .0.len() == 1 { "it" } else { "them" })]
    CannotProtect(Vec<String>),
}

/// How the kernel interfaces are kept from the program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelFiles {
    /// Invoked as tini: left as they are.
    Untouched,
    /// The child mounts these read-only in a private mount namespace (runc's way); the
    /// others are already read-only, masked or absent.
    ReadOnlyMounts(Vec<PathBuf>),
    /// Nothing to do: every one is read-only, masked or absent here.
    AlreadyReadOnly,
    /// These are writable, but only by root or a capability the program does not have.
    FilePermissions(Vec<PathBuf>),
    /// These stay writable to the program (--landlock-compat best-effort).
    Unprotected(Vec<PathBuf>),
    /// These would stay writable to a root or capable program: a launch refuses (see
    /// [`KernelFiles::check`]); exporting a seccomp profile does not care.
    Refused(Vec<PathBuf>),
}

impl KernelFiles {
    /// Decides from the survey; under `hard` a writable interface nobody can protect is
    /// `Refused`.
    pub fn decide(
        survey: &[(PathBuf, FileState)],
        writer: Writer,
        compat: Compat,
        tini_mode: bool,
    ) -> KernelFiles {
        if tini_mode {
            return KernelFiles::Untouched;
        }
        let writable: Vec<PathBuf> = survey
            .iter()
            .filter(|(_, state)| *state == FileState::Writable)
            .map(|(path, _)| path.clone())
            .collect();
        if writable.is_empty() {
            KernelFiles::AlreadyReadOnly
        } else if writer.can_mount {
            KernelFiles::ReadOnlyMounts(writable)
        } else if !writer.privileged {
            KernelFiles::FilePermissions(writable)
        } else if compat == Compat::BestEffort {
            KernelFiles::Unprotected(writable)
        } else {
            KernelFiles::Refused(writable)
        }
    }

    /// A program must not start with the kernel's files open to it.
    pub fn check(&self) -> Result<(), KernelFilesError> {
        match self {
            KernelFiles::Refused(paths) => Err(KernelFilesError::CannotProtect(
                paths.iter().map(|p| p.display().to_string()).collect(),
            )),
            _ => Ok(()),
        }
    }

    /// Whether the program cannot write any of them, whatever else it may write in /proc.
    pub fn protected(&self) -> bool {
        !matches!(
            self,
            KernelFiles::Untouched | KernelFiles::Unprotected(_) | KernelFiles::Refused(_)
        )
    }

    /// The paths the child mounts read-only.
    pub fn mounts(&self) -> &[PathBuf] {
        match self {
            KernelFiles::ReadOnlyMounts(paths) => paths,
            _ => &[],
        }
    }

    /// The warning a best-effort launch gives, if any.
    pub fn warning(&self) -> Option<String> {
        match self {
            KernelFiles::Unprotected(paths) => Some(format!(
                "kernel files: not enforced: {} stay writable to the program (no CAP_SYS_ADMIN to mount them read-only)",
                join(paths)
            )),
            _ => None,
        }
    }
}

fn join(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for KernelFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            KernelFiles::Untouched => "unchanged (tini defaults)".to_string(),
            KernelFiles::ReadOnlyMounts(paths) => format!(
                "read-only (private read-only mounts, the rest already read-only or absent): {}",
                join(paths)
            ),
            KernelFiles::AlreadyReadOnly => {
                "read-only already (read-only mounts, masked or absent)".to_string()
            }
            KernelFiles::FilePermissions(paths) => format!(
                "writable only by root or a capability, which the program lacks (file permissions only): {}",
                join(paths)
            ),
            KernelFiles::Unprotected(paths) => format!(
                "NOT protected (--landlock-compat best-effort, no CAP_SYS_ADMIN): {}",
                join(paths)
            ),
            KernelFiles::Refused(paths) => format!(
                "writable and hardinit cannot protect them, so it refuses to run: {}",
                join(paths)
            ),
        };
        write!(f, "kernel files    {text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn survey(states: &[(&str, FileState)]) -> Vec<(PathBuf, FileState)> {
        states.iter().map(|(p, s)| (PathBuf::from(p), *s)).collect()
    }

    const HOST: [(&str, FileState); 4] = [
        ("/proc/kcore", FileState::Writable),
        ("/proc/sys", FileState::Writable),
        ("/proc/timer_stats", FileState::Absent),
        ("/sys", FileState::Writable),
    ];
    const DOCKER: [(&str, FileState); 3] = [
        ("/proc/kcore", FileState::Masked),
        ("/proc/sys", FileState::ReadOnly),
        ("/sys", FileState::ReadOnly),
    ];

    fn writer(privileged: bool, can_mount: bool) -> Writer {
        Writer {
            privileged,
            can_mount,
        }
    }

    #[test]
    fn writable_interfaces_get_read_only_mounts_when_hardinit_can_mount() {
        let k = KernelFiles::decide(&survey(&HOST), writer(true, true), Compat::Hard, false);
        assert_eq!(
            k,
            KernelFiles::ReadOnlyMounts(vec![
                "/proc/kcore".into(),
                "/proc/sys".into(),
                "/sys".into()
            ])
        );
        assert_eq!(k.check(), Ok(()));
        assert_eq!(
            k.to_string(),
            "kernel files    read-only (private read-only mounts, the rest already read-only or absent): /proc/kcore, /proc/sys, /sys"
        );
        // Also for a non-root program: one mechanism whatever the program's uid.
        assert_eq!(
            KernelFiles::decide(&survey(&HOST), writer(false, true), Compat::Hard, false)
                .mounts()
                .len(),
            3
        );
    }

    #[test]
    fn nothing_to_do_where_a_runtime_already_did_it() {
        let k = KernelFiles::decide(&survey(&DOCKER), writer(true, false), Compat::Hard, false);
        assert_eq!(k, KernelFiles::AlreadyReadOnly);
        assert_eq!(k.mounts(), &[] as &[PathBuf]);
    }

    #[test]
    fn without_cap_sys_admin_a_root_program_fails_closed_or_is_warned_about() {
        let k = KernelFiles::decide(&survey(&HOST), writer(true, false), Compat::Hard, false);
        assert!(!k.protected());
        assert_eq!(
            k.check().unwrap_err().to_string(),
            "/proc/kcore, /proc/sys, /sys are writable here and the program would run as root or with capabilities, but hardinit lacks CAP_SYS_ADMIN to mount them read-only for it; start hardinit with CAP_SYS_ADMIN, pass --user with a non-root user, or --landlock-compat best-effort to run anyway"
        );
        let k = KernelFiles::decide(
            &survey(&HOST[1..2]),
            writer(true, false),
            Compat::Hard,
            false,
        );
        assert_eq!(
            k.check().unwrap_err().to_string(),
            "/proc/sys is writable here and the program would run as root or with capabilities, but hardinit lacks CAP_SYS_ADMIN to mount it read-only for it; start hardinit with CAP_SYS_ADMIN, pass --user with a non-root user, or --landlock-compat best-effort to run anyway"
        );
        let k = KernelFiles::decide(
            &survey(&HOST),
            writer(true, false),
            Compat::BestEffort,
            false,
        );
        assert_eq!(k.check(), Ok(()));
        assert_eq!(
            k.warning().unwrap(),
            "kernel files: not enforced: /proc/kcore, /proc/sys, /sys stay writable to the program (no CAP_SYS_ADMIN to mount them read-only)"
        );
    }

    #[test]
    fn a_non_root_program_without_capabilities_is_kept_out_by_file_modes() {
        let k = KernelFiles::decide(&survey(&HOST), writer(false, false), Compat::Hard, false);
        assert!(matches!(k, KernelFiles::FilePermissions(ref p) if p.len() == 3));
        assert_eq!(k.warning(), None);
    }

    #[test]
    fn tini_mode_leaves_them_alone() {
        assert_eq!(
            KernelFiles::decide(&survey(&HOST), writer(true, false), Compat::Hard, true),
            KernelFiles::Untouched
        );
    }
}

//! The host's facts the policy is decided against (`policy::Facts`), read once and before
//! anything is changed: later hardening would cut access to the files.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;

use log::debug;

use super::Error;
use crate::policy::seccomp::{self, Choice};
use crate::policy::user::Databases;
use crate::policy::{Facts, ProcessState};
use crate::sys;

/// Reads the host's facts; `seccomp` names the profile whose file (if any) is read, and the
/// user databases are read only `with_databases`.
pub fn read(seccomp: &Choice, with_databases: bool) -> Result<Facts, Error> {
    let mounts = crate::plan::landlock::read_mounts().map_err(crate::plan::PlanError::from)?;
    Ok(Facts {
        process: read_process_state()?,
        databases: read_databases(with_databases)?,
        kernel: read_kernel_version()?,
        landlock_abi: read_landlock_abi(),
        profile: read_profile(seccomp)?,
        kernel_files: crate::plan::kernel_files::survey(&mounts),
        mounts,
    })
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
    let last_cap = sys::last_cap();
    let bounding = sys::bounding_set(last_cap).map_err(Error::ReadCredentials)?;
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

fn read_kernel_version() -> Result<(u32, u32), Error> {
    let uts = nix::sys::utsname::uname().map_err(Error::ReadKernelRelease)?;
    let release = uts.release().to_string_lossy();
    seccomp::parse_kernel_release(&release)
        .ok_or_else(|| Error::ParseKernelRelease(release.into_owned()))
}

fn read_landlock_abi() -> u32 {
    sys::landlock_abi().unwrap_or_else(|e| {
        // ENOSYS: not built in; EOPNOTSUPP: built in but not in the boot's lsm= list.
        debug!("landlock: the kernel offers none ({e})");
        0
    })
}

/// The image's user databases, parsed as bytes (see `policy::user`); a missing file is an
/// empty database (numeric ids still work). Not read unless `wanted`: a start that looks no
/// name up (tini's included) must not fail on them.
fn read_databases(wanted: bool) -> Result<Databases, Error> {
    if !wanted {
        return Ok(Databases::parse(b"", b""));
    }
    let passwd = read_optional("/etc/passwd")?;
    let group = read_optional("/etc/group")?;
    Ok(Databases::parse(&passwd, &group))
}

fn read_optional(path: &str) -> Result<Vec<u8>, Error> {
    match std::fs::read(path) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(source) => Err(Error::ReadFile {
            path: path.to_string(),
            source,
        }),
    }
}

/// A profile is a small JSON file: Docker's default is 13 KiB. Anything larger, or anything
/// that is not a regular file (/dev/zero, a FIFO, a directory), is refused before it is read.
const MAX_PROFILE_BYTES: u64 = 1 << 20;

fn read_profile(choice: &Choice) -> Result<Option<String>, Error> {
    let Some(path) = choice.path() else {
        return Ok(None);
    };
    let shown = || path.display().to_string();
    let read_error = |source| Error::ReadFile {
        path: shown(),
        source,
    };
    // O_NONBLOCK: opening a FIFO must not wait for a writer; the check below refuses it.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(read_error)?;
    let meta = file.metadata().map_err(read_error)?;
    if !meta.is_file() {
        return Err(Error::ProfileNotRegular {
            path: shown(),
            kind: file_kind(meta.file_type()),
        });
    }
    // The file may grow after the check: never read more than the limit and one byte.
    let mut bytes = Vec::new();
    file.take(MAX_PROFILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if meta.len() > MAX_PROFILE_BYTES || bytes.len() as u64 > MAX_PROFILE_BYTES {
        return Err(Error::ProfileTooLarge {
            path: shown(),
            max: MAX_PROFILE_BYTES,
        });
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|e| read_error(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))
}

fn file_kind(kind: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

//! Surveys the kernel interfaces of policy::kernel on this machine: absent, masked with
//! /dev/null, on read-only mounts, or writable; and prepares the child's read-only mounts.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::kernel::mounts::{self, Mount};
use crate::policy::kernel::{FileState, KernelFiles, KERNEL_INTERFACES};

/// /dev/null's device number (1, 3), which a runtime mounts over a path to mask it.
const DEV_NULL: (u32, u32) = (1, 3);

/// The state of every kernel interface, in [`KERNEL_INTERFACES`] order.
pub fn survey(mounts: &[Mount]) -> Vec<(PathBuf, FileState)> {
    KERNEL_INTERFACES
        .iter()
        .map(|p| (PathBuf::from(p), state_of(Path::new(p), mounts)))
        .collect()
}

fn state_of(path: &Path, mounts: &[Mount]) -> FileState {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return FileState::Absent;
    };
    let rdev = meta.rdev();
    if meta.file_type().is_char_device() && (libc::major(rdev), libc::minor(rdev)) == DEV_NULL {
        return FileState::Masked;
    }
    // A file nobody may write (0444 /proc/interrupts, 0400 /proc/kcore): only
    // CAP_DAC_OVERRIDE opens it for writing, and a program holding that is privileged anyway.
    if meta.is_file() && meta.mode() & 0o222 == 0 {
        return FileState::ReadOnly;
    }
    if mounts.is_empty() || mounts::writable_beneath(mounts, path) {
        FileState::Writable
    } else {
        FileState::ReadOnly
    }
}

/// The child's read-only mounts: (index into KERNEL_INTERFACES, path).
pub fn read_only_mounts(files: &KernelFiles) -> Vec<(u8, CString)> {
    files
        .mounts()
        .iter()
        .filter_map(|path| {
            let index = KERNEL_INTERFACES
                .iter()
                .position(|k| Path::new(k) == path)?;
            let c_path = CString::new(path.as_os_str().as_bytes()).ok()?;
            Some((index as u8, c_path))
        })
        .collect()
}

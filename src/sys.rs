//! The only module with `unsafe`: thin wrappers around the system calls hardinit makes that
//! nix does not cover safely. Each wrapper returns `Result<_, Errno>`. The ones the child calls
//! between fork and execve (through `harden::RealSys`) allocate nothing; the few that read
//! /proc (`last_cap`, `page_out_own_binary`) are for the parent only and say so.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString, OsString};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::time::Duration;

use nix::errno::Errno;
use nix::unistd::Pid;

/// A kernel signal set: bit N-1 stands for signal N (1..=64). The libc `sigset_t` helpers
/// refuse the signals glibc and musl reserve for themselves (32..=34); the raw system calls
/// do not, and hardinit must block, wait for and forward every one of them.
pub type SigMask = u64;

/// Every signal 1..=64. The kernel silently keeps SIGKILL and SIGSTOP unblocked.
pub const ALL_SIGNALS: SigMask = u64::MAX;

/// The bit that stands for `signo` in a [`SigMask`].
pub const fn sig_bit(signo: i32) -> SigMask {
    1u64 << (signo - 1)
}

const KERNEL_SIGSET_SIZE: libc::size_t = std::mem::size_of::<SigMask>();

/// Replaces the calling thread's signal mask and returns the previous one.
pub fn set_signal_mask(mask: SigMask) -> Result<SigMask, Errno> {
    let mut old: SigMask = 0;
    // SAFETY: both pointers refer to live 8-byte kernel sigsets for the duration of the call,
    // and the size passed is exactly that of the kernel's sigset on every 64-bit Linux arch.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &mask as *const SigMask,
            &mut old as *mut SigMask,
            KERNEL_SIGSET_SIZE,
        )
    };
    Errno::result(rc).map(|_| old)
}

/// What a signal does when it arrives and is not blocked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    Default,
    Ignore,
}

/// Sets `signo`'s disposition and returns the previous one (a handler counts as `Default`:
/// execve resets handlers to the default anyway).
pub fn set_disposition(signo: i32, to: Disposition) -> Result<Disposition, Errno> {
    let handler = match to {
        Disposition::Default => libc::SIG_DFL,
        Disposition::Ignore => libc::SIG_IGN,
    };
    // SAFETY: sigaction is plain data; zeroed is a valid value (empty mask, no flags).
    let mut new: libc::sigaction = unsafe { std::mem::zeroed() };
    new.sa_sigaction = handler;
    // SAFETY: as above.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers refer to live sigaction structs; SIG_DFL and SIG_IGN install no
    // code, so no handler can run with broken invariants.
    let rc = unsafe { libc::sigaction(signo, &new, &mut old) };
    Errno::result(rc)?;
    Ok(if old.sa_sigaction == libc::SIG_IGN {
        Disposition::Ignore
    } else {
        Disposition::Default
    })
}

/// The part of a `siginfo_t` the supervisor needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SigInfo {
    pub signo: i32,
}

/// Waits for one signal of `mask` (which must be blocked). `None` waits forever: no timer, no
/// wake-up while nothing happens. Returns `Errno::EAGAIN` when `timeout` passes.
pub fn wait_for_signal(mask: SigMask, timeout: Option<Duration>) -> Result<SigInfo, Errno> {
    let ts = timeout.map(|t| libc::timespec {
        // x86_64's time_t is 64 bits with glibc and musl alike.
        tv_sec: t.as_secs().try_into().unwrap_or(i64::MAX),
        tv_nsec: t.subsec_nanos().into(),
    });
    let ts_ptr = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: siginfo_t is plain data and zeroed is valid.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: mask, info and (when present) ts are live for the call; the size is the kernel
    // sigset's. rt_sigtimedwait only writes into `info`.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_rt_sigtimedwait,
            &mask as *const SigMask,
            &mut info as *mut libc::siginfo_t,
            ts_ptr,
            KERNEL_SIGSET_SIZE,
        )
    };
    let signo = Errno::result(rc)?;
    Ok(SigInfo {
        signo: signo as i32,
    })
}

/// A non-blocking, close-on-exec signalfd for `mask` (which must be blocked): signals in it
/// become readable there, so one poll can wait for them and for descriptors together.
/// The raw call, so the signals libc reserves (32..=34) can be in the mask.
pub fn signal_fd(mask: SigMask) -> Result<OwnedFd, Errno> {
    // SAFETY: the mask pointer refers to a live 8-byte kernel sigset for the call; -1 asks
    // for a new descriptor, which is ours alone once the call returns it.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_signalfd4,
            -1,
            &mask as *const SigMask,
            KERNEL_SIGSET_SIZE,
            libc::SFD_CLOEXEC | libc::SFD_NONBLOCK,
        )
    };
    let fd = Errno::result(rc)?;
    // SAFETY: the kernel just returned this descriptor and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// The next signal queued on a [`signal_fd`]; `None` when none is pending.
pub fn read_signal(fd: BorrowedFd<'_>) -> Result<Option<i32>, Errno> {
    // SAFETY: signalfd_siginfo is plain data; zeroed is valid.
    let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::signalfd_siginfo>();
    // SAFETY: `info` is a live buffer of exactly `size` bytes that read may fill.
    let rc = unsafe {
        libc::read(
            fd.as_raw_fd(),
            (&mut info as *mut libc::signalfd_siginfo).cast(),
            size,
        )
    };
    match Errno::result(rc) {
        Ok(n) if n as usize == size => Ok(Some(info.ssi_signo as i32)),
        Ok(_) => Err(Errno::EIO),
        Err(Errno::EAGAIN) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Sends `signo` (any number 1..=64, real-time included) to `pid` (negative: a process group).
pub fn send_signal(pid: i32, signo: i32) -> Result<(), Errno> {
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    let rc = unsafe { libc::kill(pid, signo) };
    Errno::result(rc).map(drop)
}

/// The outcome of `fork`.
pub enum Forked {
    Parent(Pid),
    Child,
}

/// Forks the calling process.
pub fn fork() -> Result<Forked, Errno> {
    // SAFETY: hardinit never starts a thread (docs/architecture.md: PID 1 stays single-threaded), so the
    // child is a full copy with no lock held by a vanished thread; it only makes system calls
    // and then execs or `_exit`s.
    match unsafe { nix::unistd::fork() }? {
        nix::unistd::ForkResult::Parent { child } => Ok(Forked::Parent(child)),
        nix::unistd::ForkResult::Child => Ok(Forked::Child),
    }
}

/// How `fork_into_user_namespace` asks the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloneCall {
    Clone,
    Clone3,
}

/// struct clone_args (linux/sched.h), the fields clone3 reads for a fork-like call.
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
}

/// Forks with CLONE_NEWUSER through `clone` or `clone3` (fork-like: no new stack, SIGCHLD
/// at exit). The child must only `_exit`. For --inspect, which tries every way a process
/// can create a user namespace.
pub fn fork_into_user_namespace(call: CloneCall) -> Result<Forked, Errno> {
    let flags = libc::CLONE_NEWUSER as u64;
    let rc = match call {
        // SAFETY: a NULL stack makes clone fork-like: the child runs on a copy of this
        // stack; the inspecting process has one thread, and the child only calls _exit.
        CloneCall::Clone => unsafe {
            libc::syscall(
                libc::SYS_clone,
                flags | libc::SIGCHLD as u64,
                std::ptr::null::<libc::c_void>(),
                std::ptr::null::<libc::c_void>(),
                std::ptr::null::<libc::c_void>(),
                0u64,
            )
        },
        CloneCall::Clone3 => {
            let args = CloneArgs {
                flags,
                exit_signal: libc::SIGCHLD as u64,
                ..CloneArgs::default()
            };
            // SAFETY: `args` lives on the stack for the call and its size is passed; with no
            // stack given, clone3 is fork-like as above.
            unsafe {
                libc::syscall(
                    libc::SYS_clone3,
                    &args as *const CloneArgs,
                    std::mem::size_of::<CloneArgs>(),
                )
            }
        }
    };
    match Errno::result(rc)? {
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(Pid::from_raw(pid as i32))),
    }
}

/// keyctl with an operation no kernel has: EOPNOTSUPP from a kernel with keyrings, ENOSYS
/// from one without, anything else from a seccomp filter (it answers before the kernel
/// looks at the operation).
pub fn keyctl_unknown_operation() -> Result<(), Errno> {
    const NO_SUCH_OPERATION: libc::c_long = 0x7fff_fff0;
    // SAFETY: an unknown operation makes the kernel return at once; no pointer is passed.
    let rc = unsafe { libc::syscall(libc::SYS_keyctl, NO_SUCH_OPERATION, 0u64, 0u64, 0u64, 0u64) };
    Errno::result(rc).map(drop)
}

/// Leaves the forked child at once, without running atexit handlers or flushing stdio
/// buffers that belong to the parent.
pub fn exit_child(code: i32) -> ! {
    // SAFETY: _exit takes an integer and never returns.
    unsafe { libc::_exit(code) }
}

/// A program image ready for execve: the strings and the NULL-terminated pointer arrays that
/// point into them are built before fork, so the child allocates nothing.
pub struct ExecImage {
    path: CString,
    _argv: Vec<CString>,
    _envp: Vec<CString>,
    argv_ptrs: Vec<*const libc::c_char>,
    envp_ptrs: Vec<*const libc::c_char>,
}

/// An argument or environment entry held a NUL byte, which execve cannot pass.
#[derive(Debug, thiserror::Error)]
#[error("{what} contains a NUL byte: {value:?}")]
pub struct NulInArgument {
    pub what: &'static str,
    pub value: OsString,
}

impl ExecImage {
    pub fn new(
        path: OsString,
        argv: Vec<OsString>,
        envp: Vec<OsString>,
    ) -> Result<Self, NulInArgument> {
        let path = to_cstring("program path", path)?;
        let argv = to_cstrings("argument", argv)?;
        let envp = to_cstrings("environment entry", envp)?;
        let argv_ptrs = null_terminated(&argv);
        let envp_ptrs = null_terminated(&envp);
        Ok(ExecImage {
            path,
            _argv: argv,
            _envp: envp,
            argv_ptrs,
            envp_ptrs,
        })
    }

    pub fn path(&self) -> &CStr {
        &self.path
    }

    /// Replaces the process image; returns only on failure.
    pub fn exec(&self) -> Errno {
        // SAFETY: path is a valid C string; argv_ptrs and envp_ptrs are NULL-terminated arrays
        // of pointers into CStrings owned by `self`, which outlives the call (on success the
        // process image is replaced, on failure nothing was freed).
        unsafe {
            libc::execve(
                self.path.as_ptr(),
                self.argv_ptrs.as_ptr(),
                self.envp_ptrs.as_ptr(),
            )
        };
        Errno::last()
    }
}

fn to_cstring(what: &'static str, value: OsString) -> Result<CString, NulInArgument> {
    CString::new(value.clone().into_vec()).map_err(|_| NulInArgument { what, value })
}

fn to_cstrings(what: &'static str, values: Vec<OsString>) -> Result<Vec<CString>, NulInArgument> {
    values.into_iter().map(|v| to_cstring(what, v)).collect()
}

fn null_terminated(strings: &[CString]) -> Vec<*const libc::c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

/// Calls prctl with integer arguments only (the unused ones 0, as the kernel requires).
fn prctl(
    option: libc::c_int,
    arg2: libc::c_ulong,
    arg3: libc::c_ulong,
) -> Result<libc::c_int, Errno> {
    // SAFETY: every option hardinit uses takes integer arguments only; no pointer is passed.
    let rc = unsafe { libc::prctl(option, arg2, arg3, 0 as libc::c_ulong, 0 as libc::c_ulong) };
    Errno::result(rc)
}

/// Removes capability `cap` from the bounding set (needs CAP_SETPCAP in the effective set).
pub fn drop_bounding_cap(cap: u8) -> Result<(), Errno> {
    prctl(libc::PR_CAPBSET_DROP, cap.into(), 0).map(drop)
}

/// Whether capability `cap` is in the bounding set.
pub fn bounding_has(cap: u8) -> Result<bool, Errno> {
    prctl(libc::PR_CAPBSET_READ, cap.into(), 0).map(|r| r == 1)
}

/// The bounding set as a bit mask of capabilities 0..=`last_cap`. Read in one go from the
/// kernel's own account, /proc/self/status's CapBnd (checked to be procfs), instead of one
/// PR_CAPBSET_READ per capability; without /proc, probed one by one. Parent only: it
/// allocates.
pub fn bounding_set(last_cap: u8) -> Result<u64, Errno> {
    if let Some(set) = bounding_set_from_proc() {
        return Ok(set);
    }
    let mut set = 0u64;
    for cap in 0..=last_cap {
        if bounding_has(cap)? {
            set |= 1 << cap;
        }
    }
    Ok(set)
}

fn bounding_set_from_proc() -> Option<u64> {
    use std::io::Read;
    let mut file = std::fs::File::open("/proc/self/status").ok()?;
    let fs = nix::sys::statfs::fstatfs(&file).ok()?;
    if fs.filesystem_type() != nix::sys::statfs::PROC_SUPER_MAGIC {
        return None;
    }
    let mut text = String::with_capacity(4096);
    file.read_to_string(&mut text).ok()?;
    parse_cap_bnd(&text)
}

/// CapBnd's mask from /proc/PID/status text.
fn parse_cap_bnd(status: &str) -> Option<u64> {
    let hex = status.lines().find_map(|l| l.strip_prefix("CapBnd:"))?;
    u64::from_str_radix(hex.trim(), 16).ok()
}

/// Sets or clears PR_SET_KEEPCAPS.
pub fn set_keepcaps(on: bool) -> Result<(), Errno> {
    prctl(libc::PR_SET_KEEPCAPS, on.into(), 0).map(drop)
}

/// Clears the ambient set.
pub fn clear_ambient() -> Result<(), Errno> {
    prctl(
        libc::PR_CAP_AMBIENT,
        libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
        0,
    )
    .map(drop)
}

/// Raises capability `cap` in the ambient set (it must be permitted and inheritable).
pub fn raise_ambient(cap: u8) -> Result<(), Errno> {
    prctl(
        libc::PR_CAP_AMBIENT,
        libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
        cap.into(),
    )
    .map(drop)
}

/// Sets the signal this process gets when its parent dies (0 clears it).
pub fn set_parent_death_signal(signo: i32) -> Result<(), Errno> {
    prctl(libc::PR_SET_PDEATHSIG, signo as libc::c_ulong, 0).map(drop)
}

/// Sets no_new_privs; it cannot be cleared again.
pub fn set_no_new_privs() -> Result<(), Errno> {
    prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0).map(drop)
}

/// Sets or clears the dumpable flag (0 also forbids ptrace by same-uid processes).
pub fn set_dumpable(on: bool) -> Result<(), Errno> {
    prctl(libc::PR_SET_DUMPABLE, on.into(), 0).map(drop)
}

/// Makes this process a child subreaper: orphans below it are re-parented to it.
pub fn set_child_subreaper() -> Result<(), Errno> {
    prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0).map(drop)
}

/// The three 64-bit capability sets of a thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CapSets {
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
}

const CAP_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Reads the calling thread's capability sets.
pub fn get_caps() -> Result<CapSets, Errno> {
    let mut header = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: header is a valid v3 header and data has room for the two words v3 returns.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_capget,
            &mut header as *mut CapHeader,
            data.as_mut_ptr(),
        )
    };
    Errno::result(rc)?;
    let join = |lo: u32, hi: u32| u64::from(lo) | (u64::from(hi) << 32);
    Ok(CapSets {
        effective: join(data[0].effective, data[1].effective),
        permitted: join(data[0].permitted, data[1].permitted),
        inheritable: join(data[0].inheritable, data[1].inheritable),
    })
}

/// Sets the calling thread's capability sets.
pub fn set_caps(sets: CapSets) -> Result<(), Errno> {
    let mut header = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let split = |v: u64| (v as u32, (v >> 32) as u32);
    let (e0, e1) = split(sets.effective);
    let (p0, p1) = split(sets.permitted);
    let (i0, i1) = split(sets.inheritable);
    let data = [
        CapData {
            effective: e0,
            permitted: p0,
            inheritable: i0,
        },
        CapData {
            effective: e1,
            permitted: p1,
            inheritable: i1,
        },
    ];
    // SAFETY: header is a valid v3 header for the calling thread (pid 0) and data holds the
    // two words v3 reads; the kernel only reads from both.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_capset,
            &mut header as *mut CapHeader,
            data.as_ptr(),
        )
    };
    Errno::result(rc).map(drop)
}

/// Opens `path` with O_PATH: a handle that names it in a Landlock rule without reading it or
/// running a device's open (a tty without a controlling terminal, a FIFO without a writer).
pub fn open_path(path: &CStr) -> Result<OwnedFd, Errno> {
    // The system call itself, the one musl's open() makes (open where the arch has it, so an
    // exported profile's launcher calls stay the same): musl follows every O_CLOEXEC open
    // with an fcntl for kernels older than 2.6.23, one call per Landlock rule here. Every
    // argument goes through syscall()'s varargs as a full register: an int's upper half is
    // undefined there, and the kernel and a seccomp filter read all 64 bits. The mode is
    // passed too, as 0: the kernel ignores it without O_CREAT, but a filter may not (the
    // floor allows open only with no setuid/setgid bit in it, and a runtime enforcing the
    // exported profile would refuse a stray register).
    let flags = libc::c_long::from(libc::O_PATH | libc::O_CLOEXEC);
    // SAFETY: `path` is NUL-terminated and outlives the call; the kernel only reads it.
    #[cfg(target_arch = "x86_64")]
    let fd = unsafe { libc::syscall(libc::SYS_open, path.as_ptr(), flags, 0 as libc::c_long) };
    // SAFETY: as above.
    #[cfg(not(target_arch = "x86_64"))]
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat,
            libc::c_long::from(libc::AT_FDCWD),
            path.as_ptr(),
            flags,
            0 as libc::c_long,
        )
    };
    let fd = Errno::result(fd)? as libc::c_int;
    // SAFETY: open just returned this fd and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// linux/mount.h
const OPEN_TREE_CLONE: libc::c_uint = 1;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
const MOUNT_ATTR_RDONLY: u64 = 0x1;
const MOUNT_ATTR_NOSUID: u64 = 0x2;
const MOUNT_ATTR_NODEV: u64 = 0x4;
const MOUNT_ATTR_NOEXEC: u64 = 0x8;

/// struct mount_attr (linux/mount.h); libc does not define it.
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// Gives the calling process a mount namespace of its own whose mounts receive the
/// parent namespace's mount events but send none back: what it mounts stays its own.
pub fn private_mount_namespace() -> Result<(), Errno> {
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)?;
    // SAFETY: a static NUL-terminated path and NULL source/type/data, which MS_REC|MS_SLAVE
    // (a propagation change) requires.
    let rc = unsafe {
        libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_SLAVE,
            std::ptr::null(),
        )
    };
    Errno::result(rc).map(drop)
}

/// Mounts a read-only copy of `path`, and of everything mounted beneath it, over `path`
/// (open_tree + mount_setattr + move_mount, Linux 5.12+): runc's read-only paths, recursive.
/// Makes no allocation (it runs in the child between fork and exec).
pub fn mount_read_only(path: &CStr) -> Result<(), Errno> {
    // SAFETY: `path` is NUL-terminated and outlives the call; the flags ask for a detached
    // recursive copy, returned as a new fd that nothing else owns.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            libc::AT_FDCWD,
            path.as_ptr(),
            OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint | libc::AT_RECURSIVE as libc::c_uint,
        )
    };
    let fd = Errno::result(fd)?;
    // SAFETY: open_tree just returned this fd and nothing else owns it.
    let tree = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: `tree` is open; the empty path with AT_EMPTY_PATH names it; `attr` lives on
    // the stack for the call and its size is passed.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_raw_fd(),
            c"".as_ptr(),
            (libc::AT_EMPTY_PATH | libc::AT_RECURSIVE) as libc::c_uint,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    Errno::result(rc)?;
    // SAFETY: `tree` is open and named by the empty path; `path` is NUL-terminated.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            path.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    };
    Errno::result(rc).map(drop)
}

/// landlock_create_ruleset's flag that asks for the ABI version instead of a ruleset.
const LANDLOCK_CREATE_RULESET_VERSION: u32 = 1;

/// The running kernel's Landlock ABI version; ENOSYS when it lacks Landlock, EOPNOTSUPP when
/// Landlock is built in but not enabled at boot. The landlock crate keeps its own probe
/// private, and hardinit must name the version in reports and errors.
pub fn landlock_abi() -> Result<u32, Errno> {
    // SAFETY: with LANDLOCK_CREATE_RULESET_VERSION the kernel requires a NULL attribute and
    // size 0, reads no memory and creates no fd; it only returns the version.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    Errno::result(rc).map(|v| u32::try_from(v).unwrap_or(0))
}

/// Applies a Landlock ruleset to the calling thread (no_new_privs or CAP_SYS_ADMIN needed).
pub fn landlock_restrict_self(ruleset: BorrowedFd<'_>) -> Result<(), Errno> {
    // SAFETY: landlock_restrict_self takes an fd, kept open by the borrow, and flags 0.
    let rc = unsafe { libc::syscall(libc::SYS_landlock_restrict_self, ruleset.as_raw_fd(), 0u32) };
    Errno::result(rc).map(drop)
}

/// Installs a classic-BPF seccomp filter on the calling thread.
pub fn install_seccomp_filter(
    program: &[libc::sock_filter],
    flags: libc::c_ulong,
) -> Result<(), Errno> {
    set_mode_filter(program, flags).map(drop)
}

/// Installs a classic-BPF seccomp filter with SECCOMP_FILTER_FLAG_NEW_LISTENER and returns
/// its listener (close-on-exec, as the kernel creates it). EBUSY: a filter of this process
/// already has a listener (one per chain).
pub fn install_listening_filter(
    program: &[libc::sock_filter],
    flags: libc::c_ulong,
) -> Result<OwnedFd, Errno> {
    let fd = set_mode_filter(program, flags | libc::SECCOMP_FILTER_FLAG_NEW_LISTENER)?;
    // SAFETY: with NEW_LISTENER the kernel returned a new descriptor nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

/// seccomp(SECCOMP_SET_MODE_FILTER, flags, program): its return value.
fn set_mode_filter(program: &[libc::sock_filter], flags: libc::c_ulong) -> Result<i64, Errno> {
    let len = u16::try_from(program.len()).map_err(|_| Errno::EINVAL)?;
    let fprog = libc::sock_fprog {
        len,
        filter: program.as_ptr().cast_mut(),
    };
    // SAFETY: fprog points at `program`, which lives across the call, with its exact length;
    // the kernel copies the program and does not keep the pointer.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags,
            &fprog as *const libc::sock_fprog,
        )
    };
    Errno::result(rc)
}

/// Whether the kernel can return `action` (a SECCOMP_RET_* value) from a filter. EPERM here
/// means seccomp(2) itself is refused (a runtime's profile), EOPNOTSUPP that the action is
/// unknown to this kernel.
pub fn seccomp_action_available(action: u32) -> Result<(), Errno> {
    // SAFETY: SECCOMP_GET_ACTION_AVAIL reads one u32 from the pointer, which is live.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_GET_ACTION_AVAIL,
            0u32,
            &action as *const u32,
        )
    };
    Errno::result(rc).map(drop)
}

/// One call a filter notified: the thread (`pid`) and what it called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notification {
    pub id: u64,
    pub pid: u32,
    pub nr: u32,
    pub arch: u32,
    pub args: [u64; 6],
}

/// Receives the next notification; blocks unless the listener is readable. ENOENT: the task
/// died between the notification and this call.
pub fn notif_recv(listener: BorrowedFd<'_>) -> Result<Notification, Errno> {
    // SAFETY: seccomp_notif is plain data; the kernel requires it zeroed.
    let mut notif: libc::seccomp_notif = unsafe { std::mem::zeroed() };
    // SAFETY: RECV writes one seccomp_notif into the live struct passed.
    let rc = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_RECV,
            &mut notif as *mut libc::seccomp_notif,
        )
    };
    Errno::result(rc)?;
    Ok(Notification {
        id: notif.id,
        pid: notif.pid,
        nr: notif.data.nr as u32,
        arch: notif.data.arch,
        args: notif.data.args,
    })
}

/// Lets notified call `id` run as if the filter had allowed it
/// (SECCOMP_USER_NOTIF_FLAG_CONTINUE, Linux 5.5). ENOENT: its task is gone.
pub fn notif_continue(listener: BorrowedFd<'_>, id: u64) -> Result<(), Errno> {
    let mut resp = libc::seccomp_notif_resp {
        id,
        val: 0,
        error: 0,
        flags: libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32,
    };
    // SAFETY: SEND reads the live response struct (and may write it back); nothing else.
    let rc = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_SEND,
            &mut resp as *mut libc::seccomp_notif_resp,
        )
    };
    Errno::result(rc).map(drop)
}

/// Whether notification `id` is still pending (its task alive and waiting): what was read
/// about the task since RECV is about that task and not a reuse of its pid.
pub fn notif_id_valid(listener: BorrowedFd<'_>, id: u64) -> Result<(), Errno> {
    // SAFETY: ID_VALID reads one u64 from the live pointer.
    let rc = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_ID_VALID,
            &id as *const u64,
        )
    };
    Errno::result(rc).map(drop)
}

/// SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (6.6+): wake the supervisor on the notifying task's CPU,
/// which makes the round trip steadier. The flag is passed by value.
pub fn notif_set_sync_wake_up(listener: BorrowedFd<'_>) -> Result<(), Errno> {
    const SYNC_WAKE_UP: libc::c_ulong = 1;
    // SAFETY: SET_FLAGS takes its argument by value and touches no memory of ours.
    let rc = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_SET_FLAGS,
            SYNC_WAKE_UP,
        )
    };
    Errno::result(rc).map(drop)
}

/// Sends `fd` over the unix socket `socket` with SCM_RIGHTS and one byte, with `flags`. For
/// the forked child: nothing is allocated (nix's sendmsg builds its control buffer in a Vec).
pub fn send_fd(socket: BorrowedFd<'_>, fd: BorrowedFd<'_>, flags: i32) -> Result<(), Errno> {
    const SPACE: usize = 32;
    #[repr(C, align(8))]
    struct Control([u8; SPACE]);
    let mut control = Control([0; SPACE]);
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    // SAFETY: msghdr is plain data and zeroed is valid (no name, no control).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    // SAFETY: CMSG_SPACE is arithmetic on a constant.
    let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<libc::c_int>() as u32) } as usize;
    if space > SPACE {
        return Err(Errno::EINVAL);
    }
    msg.msg_control = control.0.as_mut_ptr().cast();
    // usize with glibc, u32 with musl.
    msg.msg_controllen = space as _;
    // SAFETY: msg_control points at `space` aligned bytes we own, so CMSG_FIRSTHDR returns a
    // header inside them, and CMSG_DATA room for one int (CMSG_SPACE accounted for it).
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        if cmsg.is_null() {
            return Err(Errno::EINVAL);
        }
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<libc::c_int>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::c_int>(), fd.as_raw_fd());
    }
    loop {
        // SAFETY: msg and everything it points to (iov, byte, control) live across the call;
        // the kernel only reads them.
        let rc = unsafe { libc::sendmsg(socket.as_raw_fd(), &msg, flags) };
        match Errno::result(rc) {
            Ok(_) => return Ok(()),
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
}

/// Receives one descriptor sent with `send_fd`; `None` when the peer closed the socket
/// without sending one. The descriptor arrives close-on-exec.
pub fn receive_fd(socket: BorrowedFd<'_>) -> Result<Option<OwnedFd>, Errno> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    let mut byte = [0u8; 1];
    let mut iov = [std::io::IoSliceMut::new(&mut byte)];
    let mut space = nix::cmsg_space!(libc::c_int);
    let msg = loop {
        match recvmsg::<()>(
            socket.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Err(Errno::EINTR) => {}
            other => break other?,
        }
    };
    let fds: Vec<libc::c_int> = msg
        .cmsgs()
        .map_err(|_| Errno::EINVAL)?
        .filter_map(|c| match c {
            ControlMessageOwned::ScmRights(fds) => Some(fds),
            _ => None,
        })
        .flatten()
        .collect();
    // SAFETY: the kernel installed these descriptors in this process for this message and
    // nothing else owns them; each is wrapped exactly once, so each is closed exactly once.
    let mut owned: Vec<OwnedFd> = fds
        .into_iter()
        .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })
        .collect();
    // Only one is expected; any other is closed as `owned` drops.
    Ok((!owned.is_empty()).then(|| owned.remove(0)))
}

/// Closes every descriptor from `first` up except those in `keep`.
pub fn close_fds_from_except(first: u32, keep: &[i32]) -> Result<(), Errno> {
    let mut keep: Vec<u32> = keep
        .iter()
        .filter_map(|&fd| u32::try_from(fd).ok())
        .filter(|&fd| fd >= first)
        .collect();
    keep.sort_unstable();
    let mut from = first;
    for fd in keep {
        if fd > from {
            // SAFETY: as in `close_fds_from`; the range ends below a descriptor kept.
            let rc = unsafe { libc::syscall(libc::SYS_close_range, from, fd - 1, 0u32) };
            Errno::result(rc)?;
        }
        from = fd.saturating_add(1);
    }
    close_fds_from(from)
}

/// Closes every descriptor from `first` up.
pub fn close_fds_from(first: u32) -> Result<(), Errno> {
    // SAFETY: close_range takes integers; the caller owns no Rust object wrapping these fds
    // (it is called before any are opened, or with the ones it keeps below `first`).
    let rc = unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, 0u32) };
    Errno::result(rc).map(drop)
}

/// Writes all of `bytes` to `fd` (the child's error report; short writes cannot happen for
/// 8 bytes on a pipe, but EINTR is retried).
pub fn write_all(fd: BorrowedFd<'_>, bytes: &[u8]) -> Result<(), Errno> {
    let mut done = 0;
    while done < bytes.len() {
        match nix::unistd::write(fd, &bytes[done..]) {
            Ok(n) => done += n,
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The arguments the C runtime passed to `main`, copied. hardinit has its own C `main` (see
/// main.rs), and on musl Rust's runtime then records no argv: `std::env::args` is empty.
///
/// # Safety
/// `argv` must be the vector the C runtime passed to `main` with its `argc`: `argc` pointers
/// to NUL-terminated strings, unchanged since.
pub unsafe fn args_from_main(argc: libc::c_int, argv: *const *const libc::c_char) -> Vec<OsString> {
    let count = usize::try_from(argc).unwrap_or(0);
    if argv.is_null() {
        return Vec::new();
    }
    (0..count)
        .map(|i| {
            // SAFETY: the caller guarantees that argv holds `argc` valid C-string pointers.
            let arg = unsafe { CStr::from_ptr(*argv.add(i)) };
            OsString::from_vec(arg.to_bytes().to_vec())
        })
        .collect()
}

/// The kernel's highest capability number; without /proc, probe the bounding set (parent
/// only: it allocates).
pub fn last_cap() -> u8 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| {
            (0..64u8)
                .take_while(|&c| bounding_has(c).is_ok())
                .last()
                .unwrap_or(40)
        })
}

/// Fills `buf` with the supplementary groups and returns how many there are (EINVAL when
/// `buf` is too small). The buffer is allocated before fork.
pub fn get_groups(buf: &mut [libc::gid_t]) -> Result<usize, Errno> {
    let len = libc::c_int::try_from(buf.len()).map_err(|_| Errno::EINVAL)?;
    // SAFETY: buf has room for exactly `len` gids and getgroups writes at most that many.
    let rc = unsafe { libc::getgroups(len, buf.as_mut_ptr()) };
    Errno::result(rc).map(|n| n as usize)
}

// The identity calls below are the system calls themselves, not musl's wrappers: those
// apply the change to every thread of the process by signalling each (four rt_sigprocmask
// around every call, twelve per launch). hardinit is single-threaded, the forked child
// and PID 1 alike, and the kernel changes the calling thread's credentials, which are then
// the whole process's.

/// Sets the supplementary groups (needs CAP_SETGID).
pub fn set_groups(groups: &[u32]) -> Result<(), Errno> {
    // SAFETY: groups points at `len` gid_t values (u32 on Linux) that live across the call;
    // the kernel only reads them.
    let rc = unsafe { libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) };
    Errno::result(rc).map(drop)
}

/// setresgid(gid, gid, gid) (needs CAP_SETGID unless it is already the gid).
pub fn set_gid(gid: u32) -> Result<(), Errno> {
    let gid = libc::c_long::from(gid);
    // SAFETY: plain integer arguments, widened to the register (see open_path); the call
    // reads and writes no memory of ours.
    let rc = unsafe { libc::syscall(libc::SYS_setresgid, gid, gid, gid) };
    Errno::result(rc).map(drop)
}

/// setresuid(uid, uid, uid) (needs CAP_SETUID unless it is already the uid).
pub fn set_uid(uid: u32) -> Result<(), Errno> {
    let uid = libc::c_long::from(uid);
    // SAFETY: plain integer arguments, widened to the register (see open_path); the call
    // reads and writes no memory of ours.
    let rc = unsafe { libc::syscall(libc::SYS_setresuid, uid, uid, uid) };
    Errno::result(rc).map(drop)
}

/// How a child ended, from a raw wait status. nix's `WaitStatus` cannot name real-time
/// signals, and a program killed by SIGRTMIN+n must still be reported as 128+signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildEnd {
    Exited(i32),
    Signaled(i32),
}

/// Reaps one child that has ended. `Ok(None)` with `block == false` means none has ended
/// yet; `Err(ECHILD)` means there are no children at all.
pub fn reap_child(block: bool) -> Result<Option<(i32, ChildEnd)>, Errno> {
    let mut status: libc::c_int = 0;
    let flags = if block { 0 } else { libc::WNOHANG };
    // SAFETY: status is a live int the kernel writes the wait status into.
    let pid = Errno::result(unsafe { libc::waitpid(-1, &mut status, flags) })?;
    if pid == 0 {
        return Ok(None);
    }
    let end = if libc::WIFSIGNALED(status) {
        ChildEnd::Signaled(libc::WTERMSIG(status))
    } else {
        ChildEnd::Exited(libc::WEXITSTATUS(status))
    };
    Ok(Some((pid, end)))
}

// --- Reading the process's own state (for --inspect) ---

/// The securebits flags (`SECBIT_*`).
pub fn securebits() -> Result<u32, Errno> {
    prctl(libc::PR_GET_SECUREBITS, 0, 0).map(|bits| bits as u32)
}

/// The first field of `struct landlock_ruleset_attr`; the kernel accepts any prefix of the
/// struct, so ABI 1's size works on every kernel with Landlock.
#[repr(C)]
struct LandlockRulesetAttr {
    handled_access_fs: u64,
}

/// Creates a Landlock ruleset that handles the filesystem rights `handled_fs` and holds no
/// rule.
pub fn landlock_create_fs_ruleset(handled_fs: u64) -> Result<std::os::fd::OwnedFd, Errno> {
    use std::os::fd::FromRawFd;
    let attr = LandlockRulesetAttr {
        handled_access_fs: handled_fs,
    };
    // SAFETY: attr is a live struct of exactly the size passed; the kernel only reads it.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            &attr as *const LandlockRulesetAttr,
            std::mem::size_of::<LandlockRulesetAttr>(),
            0u32,
        )
    };
    let fd = Errno::result(rc)? as libc::c_int;
    // SAFETY: on success the kernel returned a new descriptor that nothing else owns.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}

/// Gives back this process's pages of its own binary and of its stack: set-up read most of
/// the binary and ran deep, and the supervise loop runs a few pages, which fault back in on
/// demand. Parent only: it reads /proc/self/smaps into memory. Call it once no other process
/// maps the binary (after the program's exec): the kernel evicts no page another process
/// maps.
///
/// MADV_DONTNEED drops this process's mappings of the pages (whatever the size of the
/// page-cache folio behind them), and POSIX_FADV_DONTNEED then evicts the pages nothing
/// maps any more; neither needs a privilege. MADV_PAGEOUT alone unmaps, but on this 6.18
/// kernel reclaims few pages of the running binary (measured: 44 of 218). A fault then
/// reads back what it needs, and the kernel bounds how much by the mapping: MADV_RANDOM
/// stops the read-ahead for the read-only data, and an executable mapping, whose faults
/// read 128 KiB around them whatever the advice (Linux 6.16 on), is split into one mapping
/// per page (neighbouring pages alternate MADV_RANDOM and MADV_NORMAL, so no two merge),
/// which also bounds the fault-around that maps a faulting page's cached neighbours. The
/// split costs the kernel ~250 bytes per page of text; the text's resident size falls from
/// ~350 kB to ~60 kB (bench/RESULTS.md). The cost: the next exec of the binary reads it
/// from disk again unless something else keeps it cached. Returns how many mappings were
/// given back.
pub fn page_out_own_binary() -> std::io::Result<usize> {
    let exe = std::fs::File::open("/proc/self/exe")?;
    let smaps = std::fs::read_to_string("/proc/self/smaps")?;
    let mappings = read_only_file_mappings(&smaps);
    for mapping in &mappings {
        advise(mapping.start, mapping.len, libc::MADV_RANDOM)?;
        if mapping.executable {
            for page in (mapping.start..mapping.start + mapping.len)
                .step_by(PAGE)
                .skip(1)
                .step_by(2)
            {
                advise(page, PAGE, libc::MADV_NORMAL)?;
            }
        }
    }
    // Each fault between the unmapping and the eviction maps the faulting page back, and a
    // mapped page stays cached: the second round leaves little more than this function.
    for _ in 0..2 {
        for mapping in &mappings {
            unmap_pages(mapping)?;
        }
        nix::fcntl::posix_fadvise(
            exe.as_raw_fd(),
            0,
            0,
            nix::fcntl::PosixFadviseAdvice::POSIX_FADV_DONTNEED,
        )
        .map_err(std::io::Error::from)?;
    }
    if let Some(stack) = stack_mapping(&smaps) {
        release_dead_stack(stack)?;
    }
    Ok(mappings.len())
}

const PAGE: usize = 4096;

/// MADV_RANDOM or MADV_NORMAL on a range of one of this process's mappings.
fn advise(start: usize, len: usize, advice: libc::c_int) -> std::io::Result<()> {
    debug_assert!(advice == libc::MADV_RANDOM || advice == libc::MADV_NORMAL);
    // SAFETY: the range lies within a mapping the kernel just listed for this
    // single-threaded process, and nothing has unmapped it since. Both pieces of advice only
    // steer read-ahead (and split the mapping where they differ) and change no byte.
    Errno::result(unsafe { libc::madvise(start as *mut libc::c_void, len, advice) })?;
    Ok(())
}

/// The part of the stack more than 16 KiB below this function's frame: dead, since nothing
/// runs below the frame but the calls this function makes (each far smaller).
fn release_dead_stack((start, _end): (usize, usize)) -> std::io::Result<()> {
    const MARGIN: usize = 16 << 10;
    let marker = 0u8;
    let here = std::hint::black_box(&marker) as *const u8 as usize;
    let dead_end = (here & !(PAGE - 1)).saturating_sub(MARGIN);
    if dead_end <= start {
        return Ok(());
    }
    // SAFETY: [start, dead_end) is the lower part of this single-threaded process's stack
    // mapping, wholly below the live frames: the stack pointer is within this function's
    // frame or the frames of the calls it makes, at most a few hundred bytes below `marker`,
    // never 16 KiB. Bytes below the stack pointer have no meaning (every signal is blocked,
    // and a frame made later writes before it reads); MADV_DONTNEED gives them back, and a
    // later touch gets a zeroed page.
    Errno::result(unsafe {
        libc::madvise(
            start as *mut libc::c_void,
            dead_end - start,
            libc::MADV_DONTNEED,
        )
    })?;
    Ok(())
}

/// (start, end) of the `[stack]` mapping in /proc/PID/smaps text.
fn stack_mapping(smaps: &str) -> Option<(usize, usize)> {
    let line = smaps.lines().find(|l| l.ends_with(" [stack]"))?;
    let (start, len) = parse_range(line.split_whitespace().next()?)?;
    Some((start, start + len))
}

/// Drops this process's mappings of `mapping`'s pages.
fn unmap_pages(mapping: &ReadOnlyMapping) -> std::io::Result<()> {
    // A mapping holding private copies (a page relocated before an mprotect made it
    // read-only) must keep them: MADV_PAGEOUT swaps those out and back unchanged, where
    // MADV_DONTNEED would throw them away.
    let advice = if mapping.private_copies {
        libc::MADV_PAGEOUT
    } else {
        libc::MADV_DONTNEED
    };
    // SAFETY: one whole mapping of this single-threaded process, as above. MADV_DONTNEED is
    // given only to a read-only mapping without a private copy (smaps: Anonymous 0 kB), whose
    // every page is the file's, so the next touch reads the same bytes back; no write can
    // have added a copy since, as it is not writable. MADV_PAGEOUT changes no byte a
    // reference can observe: a clean file page is read back from its file, a private copy
    // goes to swap and comes back unchanged (or stays without swap).
    Errno::result(unsafe {
        libc::madvise(mapping.start as *mut libc::c_void, mapping.len, advice)
    })?;
    Ok(())
}

/// A mapping of a file that is not writable, as /proc/PID/smaps lists it.
#[derive(Debug, PartialEq, Eq)]
struct ReadOnlyMapping {
    start: usize,
    len: usize,
    /// It holds pages copied from the file (its `Anonymous:` is not 0 kB).
    private_copies: bool,
    /// Mapped with execute permission (text).
    executable: bool,
}

/// Every mapping in /proc/PID/smaps text that is backed by a file and not writable (a
/// writable one holds private copies a page-out would only push to swap).
fn read_only_file_mappings(smaps: &str) -> Vec<ReadOnlyMapping> {
    let mut found = Vec::new();
    let mut current: Option<ReadOnlyMapping> = None;
    for line in smaps.lines() {
        if let Some(kb) = line.strip_prefix("Anonymous:") {
            if let Some(mapping) = current.as_mut() {
                mapping.private_copies = kb.trim() != "0 kB";
            }
            continue;
        }
        let mut fields = line.split_whitespace();
        let (Some(range), Some(perms)) = (fields.next(), fields.next()) else {
            continue;
        };
        let Some((start, len)) = parse_range(range) else {
            // A field line ("Rss:   4 kB"), not a mapping's header.
            continue;
        };
        found.extend(current.take());
        let path = fields.nth(3).unwrap_or_default();
        if path.starts_with('/') && !perms.contains('w') {
            current = Some(ReadOnlyMapping {
                start,
                len,
                private_copies: false,
                executable: perms.contains('x'),
            });
        }
    }
    found.extend(current);
    found
}

fn parse_range(range: &str) -> Option<(usize, usize)> {
    let (start, end) = range.split_once('-')?;
    let start = usize::from_str_radix(start, 16).ok()?;
    let end = usize::from_str_radix(end, 16).ok()?;
    Some((start, end.checked_sub(start)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bounding_set_is_read_from_cap_bnd() {
        let status = "Name:\thardinit\nCapPrm:\t0000000000000020\nCapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000000\n";
        assert_eq!(parse_cap_bnd(status), Some(0x1ff_ffff_ffff));
        assert_eq!(parse_cap_bnd("CapBnd:\tnot hex\n"), None);
        assert_eq!(parse_cap_bnd("Name:\tx\n"), None);
        // The probe agrees with the kernel's account, capability by capability.
        let last = last_cap();
        let probed = (0..=last).fold(0u64, |set, c| {
            set | (u64::from(bounding_has(c).unwrap()) << c)
        });
        assert_eq!(bounding_set(last).unwrap(), probed);
    }

    #[test]
    fn only_read_only_file_mappings_are_paged_out() {
        let smaps = "\
55556d25a000-55556d25b000 rw-p 00000000 00:00 0                          [heap]
Anonymous:             4 kB
7fc0bfce5000-7fc0bfce7000 r-xp 00000000 00:00 0                          [vdso]
Anonymous:             0 kB
7fc0bfce7000-7fc0bfcf1000 r--p 00000000 fe:01 1234                       /usr/bin/hard init
Rss:                  40 kB
Anonymous:             0 kB
7fc0bfcf1000-7fc0bfd9d000 r-xp 0000a000 fe:01 1234                       /usr/bin/hard init
Anonymous:             0 kB
VmFlags: rd ex mr mw me
7fc0bfd9d000-7fc0bfda1000 r--p 000e0000 fe:01 1234                       /usr/bin/hard init
Anonymous:            16 kB
7fc0bfdcb000-7fc0bfdd4000 rw-p 000e4000 fe:01 1234                       /usr/bin/hard init
Anonymous:            12 kB
7fc0bfdd4000-7fc0bfdd5000 r--p 00000000 fe:01 99                         /old (deleted)
Anonymous:             0 kB
";
        let mapping = |start, len, private_copies, executable| ReadOnlyMapping {
            start,
            len,
            private_copies,
            executable,
        };
        assert_eq!(
            read_only_file_mappings(smaps),
            vec![
                mapping(0x7fc0bfce7000, 0xa000, false, false),
                mapping(0x7fc0bfcf1000, 0xac000, false, true),
                mapping(0x7fc0bfd9d000, 0x4000, true, false),
                mapping(0x7fc0bfdd4000, 0x1000, false, false),
            ]
        );
        assert_eq!(stack_mapping(smaps), None);
        let with_stack = format!("{smaps}7ffe0d9c2000-7ffe0d9e3000 rw-p 00000000 00:00 0      [stack]\nAnonymous:            68 kB\n");
        assert_eq!(
            stack_mapping(&with_stack),
            Some((0x7ffe0d9c2000, 0x7ffe0d9e3000))
        );
    }
}

/// Test-only: the kernel as the judge of a seccomp program. In a forked child with
/// no_new_privs, installs a guard filter and then `program`, makes each probe call and
/// returns the errno each one got, in order.
///
/// No call body ever runs, whatever `program` answers: the guard, installed first, answers
/// every call with [`oracle::GUARD_ERRNO`] (the kernel applies the strongest action of all
/// filters, and among equal ones the data of the newest) and kills x32 calls; it lets only
/// the one seccomp call that installs `program` through. The child ends with an x32 call,
/// which the guard kills: it needs no exit call, which the filters would answer too.
#[cfg(test)]
pub mod oracle {
    use nix::errno::Errno;

    use super::{fork, set_no_new_privs, Forked, X32_BIT};

    /// What the guard answers; a probe that gets it was let through by `program`.
    pub const GUARD_ERRNO: i32 = 4000;

    /// Where the child reached and what each probe got, shared with the parent.
    #[repr(C)]
    struct Shared {
        done: usize,
    }

    /// How the child ended and what the probes it made got.
    #[derive(Debug, PartialEq, Eq)]
    pub struct Verdict {
        /// The errno of each probe made; 0 for one that returned without error.
        pub errnos: Vec<i32>,
        /// The signal that ended the child (SIGSYS from the guard when all went well).
        pub signal: Option<i32>,
    }

    pub fn errnos_under_filter(
        program: &[libc::sock_filter],
        probes: &[(u32, [u64; 6])],
    ) -> Result<Verdict, Errno> {
        let len = u16::try_from(program.len()).map_err(|_| Errno::EINVAL)?;
        let fprog = libc::sock_fprog {
            len,
            filter: program.as_ptr().cast_mut(),
        };
        let fprog_addr = &fprog as *const libc::sock_fprog as u64;
        let guard = guard_program(fprog_addr);
        let guard_len = u16::try_from(guard.len()).map_err(|_| Errno::EINVAL)?;
        let guard_prog = libc::sock_fprog {
            len: guard_len,
            filter: guard.as_ptr().cast_mut(),
        };
        let bytes = std::mem::size_of::<Shared>() + probes.len() * std::mem::size_of::<i32>();
        // SAFETY: an anonymous shared mapping of `bytes` bytes at an address the kernel
        // picks; no existing memory is touched. It is unmapped below.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(Errno::last());
        }
        let shared = base.cast::<Shared>();
        // SAFETY: the mapping is page-aligned and holds a `Shared` followed by one i32 per
        // probe.
        let results = unsafe { base.cast::<u8>().add(std::mem::size_of::<Shared>()) }.cast::<i32>();
        let verdict = match fork() {
            Err(e) => Err(e),
            Ok(Forked::Child) => {
                // SAFETY: the child writes only into the shared mapping, within its bounds,
                // and makes raw system calls: it allocates nothing and takes no lock.
                unsafe { probe_in_child(&guard_prog, &fprog, probes, shared, results) }
            }
            Ok(Forked::Parent(child)) => {
                let status = nix::sys::wait::waitpid(child, None)?;
                // SAFETY: the child is gone; the mapping is ours alone and initialised (zero
                // pages where the child wrote nothing). `done` never exceeds the probe count.
                let done = unsafe { (*shared).done }.min(probes.len());
                // SAFETY: as above; `done` entries were written.
                let errnos = unsafe { std::slice::from_raw_parts(results, done) }.to_vec();
                let signal = match status {
                    nix::sys::wait::WaitStatus::Signaled(_, signal, _) => Some(signal as i32),
                    _ => None,
                };
                Ok(Verdict { errnos, signal })
            }
        };
        // SAFETY: `base` and `bytes` are the mapping made above, no longer referenced.
        unsafe { libc::munmap(base, bytes) };
        verdict
    }

    /// # Safety
    /// `shared` and `results` point into one live shared mapping with room for every probe.
    unsafe fn probe_in_child(
        guard: &libc::sock_fprog,
        program: &libc::sock_fprog,
        probes: &[(u32, [u64; 6])],
        shared: *mut Shared,
        results: *mut i32,
    ) -> ! {
        let install = |prog: &libc::sock_fprog| {
            // SAFETY: prog points at a live program of its stated length; the kernel copies it.
            unsafe {
                libc::syscall(
                    libc::SYS_seccomp,
                    libc::SECCOMP_SET_MODE_FILTER,
                    0,
                    prog as *const libc::sock_fprog,
                )
            }
        };
        if set_no_new_privs().is_ok() && install(guard) == 0 && install(program) == 0 {
            for (i, &(nr, a)) in probes.iter().enumerate() {
                // SAFETY: the guard answers this call with an errno or kills the process
                // unless it is the seccomp call above: no call body runs, so no argument is
                // ever used as a pointer.
                let rc =
                    unsafe { libc::syscall(i64::from(nr), a[0], a[1], a[2], a[3], a[4], a[5]) };
                let errno = if rc == -1 { Errno::last_raw() } else { 0 };
                // SAFETY: i < probes.len(), for which the mapping has room (see above).
                unsafe {
                    results.add(i).write(errno);
                    (*shared).done = i + 1;
                }
            }
        }
        // SAFETY: an x32 call, which the guard kills before any body runs (without the
        // guard the kernel refuses it, and the exit below runs).
        unsafe { libc::syscall(i64::from(X32_BIT | libc::SYS_exit_group as u32), 0) };
        super::exit_child(125)
    }

    /// nr has the x32 bit: kill. nr is seccomp with exactly the arguments that install the
    /// program: allow. Anything else: GUARD_ERRNO.
    fn guard_program(fprog_addr: u64) -> Vec<libc::sock_filter> {
        const LD: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
        const JEQ: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
        const JSET: u16 = (libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K) as u16;
        const RET: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
        let insn = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
        // (offset in seccomp_data, the word it must hold) for the install call.
        let words = [
            (16, libc::SECCOMP_SET_MODE_FILTER),
            (20, 0),
            (24, 0),
            (28, 0),
            (32, fprog_addr as u32),
            (36, (fprog_addr >> 32) as u32),
        ];
        let mut p = vec![
            insn(LD, 0, 0, 0),
            insn(JSET, 0, 1, X32_BIT),
            insn(RET, 0, 0, libc::SECCOMP_RET_KILL_PROCESS),
            insn(JEQ, 0, 0, libc::SYS_seccomp as u32),
        ];
        for (offset, word) in words {
            p.push(insn(LD, 0, 0, offset));
            p.push(insn(JEQ, 0, 0, word));
        }
        p.push(insn(RET, 0, 0, libc::SECCOMP_RET_ALLOW));
        // Every comparison that fails jumps to the last instruction.
        let refuse = p.len();
        p.push(insn(
            RET,
            0,
            0,
            libc::SECCOMP_RET_ERRNO | GUARD_ERRNO as u32,
        ));
        for (at, i) in p.iter_mut().enumerate().skip(3) {
            if i.code == JEQ {
                i.jf = (refuse - at - 1) as u8;
            }
        }
        p
    }
}

/// x32 calls enter the x86_64 table with this bit set in the number.
#[cfg(test)]
const X32_BIT: u32 = 0x4000_0000;

/// The binary's allocator (main.rs names it `#[global_allocator]`): dlmalloc, which keeps
/// freed memory for the next allocation. musl's mallocng returns a group of slots to the
/// kernel as soon as its last slot is freed, so a launch made ~80 mmap and ~70 munmap calls
/// (clap's vectors growing, the profile, the plan), each mapped page faulted in anew: on this
/// VM an mmap, a touch and a munmap of one page cost 7.5 µs, ~0.5 ms of a launch
/// (bench/RESULTS.md). dlmalloc maps 64 KiB segments and reuses what is freed: 10 mmap and
/// 1 munmap per launch. The price is PID 1's RSS: the launch's peak heap stays resident
/// (~96 kB against ~50 kB of musl's groups; trimming gives nothing back, live blocks sit at
/// the top), within issue 18's 300 kB. hardinit allocates from one thread (the child, after
/// fork, allocates nothing), so the lock is never contended and never held across a fork.
pub struct GlobalHeap;

static HEAP: std::sync::Mutex<dlmalloc::Dlmalloc> =
    std::sync::Mutex::new(dlmalloc::Dlmalloc::new());

fn heap() -> std::sync::MutexGuard<'static, dlmalloc::Dlmalloc> {
    // panic = "abort": no allocation is ever interrupted, so a poisoned lock is still sound.
    HEAP.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

// SAFETY: every method forwards to dlmalloc's function of the same contract under the one
// lock, with the layout the caller gives, so each block is freed or resized with the size and
// alignment it was allocated with, as GlobalAlloc requires; a null return means failure, as
// GlobalAlloc expects. std's Mutex on Linux is a futex word and does not allocate.
unsafe impl std::alloc::GlobalAlloc for GlobalHeap {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        // SAFETY: see the impl; the layout has a non-zero size (GlobalAlloc's contract).
        unsafe { heap().malloc(layout.size(), layout.align()) }
    }

    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        // SAFETY: as `alloc`; calloc zeroes the block.
        unsafe { heap().calloc(layout.size(), layout.align()) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: the caller passes a block this allocator gave out, with its layout.
        unsafe { heap().free(ptr, layout.size(), layout.align()) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as `dealloc` for the old block; `new_size` is non-zero (the caller's
        // contract).
        unsafe { heap().realloc(ptr, layout.size(), layout.align(), new_size) }
    }
}

//! Learning and complain mode, PID 1's side: before fork, check the kernel can do it, open
//! FILE and its report, build the filter and the socket pair the child hands its listener
//! over; after fork, serve the listener — record each notified call, let it run
//! (SECCOMP_USER_NOTIF_FLAG_CONTINUE), rewrite FILE when it grows, log complaints.
//!
//! Serving never fails PID 1: an error is logged and the call is let through. A notification
//! whose task died (ENOENT) is skipped; the listener hanging up (no task left under the
//! filter) ends serving.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use log::{debug, warn};
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{self, AddressFamily, SockFlag, SockType};
use thiserror::Error;

use crate::kernel::SeccompFilter as Filter;
use crate::policy::seccomp::learned::{
    complain_filter, recording_filter, report, Complaints, Handoff, LearnError, Learned, Recording,
    Verdicts,
};
use crate::policy::seccomp::{self, Floor, Profile, SeccompError};
use crate::sys;

/// SECCOMP_USER_NOTIF_FLAG_CONTINUE came with Linux 5.5.
const CONTINUE_SINCE: (u32, u32) = (5, 5);

/// SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV came with Linux 5.19: once PID 1 has received a
/// notification, only a fatal signal interrupts the waiting call. Before PID 1 has received
/// it the wait stays interruptible on every kernel (no flag changes that), so a signal the
/// program catches without SA_RESTART can make even a call that never blocks under
/// enforcement (dash's fork, a write to a file) return EINTR under learning.
const WAIT_KILLABLE_SINCE: (u32, u32) = (5, 19);

/// What a caught signal does to a notified call on `kernel`: said by --print-policy, because
/// it is a way learning changes the program that PID 1 cannot prevent.
pub fn interruption(kernel: (u32, u32)) -> &'static str {
    if kernel >= WAIT_KILLABLE_SINCE {
        "a signal the program catches without SA_RESTART makes a call still waiting for PID 1 to receive it fail with EINTR, even one that never blocks (fork, a write to a file); once received, only a fatal signal interrupts it"
    } else {
        "a signal the program catches without SA_RESTART makes a notified call fail with EINTR until PID 1 has answered it, even one that never blocks (fork, a write to a file); this kernel is below 5.19 (no SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)"
    }
}

/// A learned profile is a few kilobytes; anything this big is not one.
const MAX_PROFILE_BYTES: u64 = 4 << 20;

/// What was asked for on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `--learn FILE`.
    pub learn: Option<PathBuf>,
    /// `--learn-report PATH` (default FILE.report).
    pub report: Option<PathBuf>,
    /// `--learn-all`: no hot base, every call is notified.
    pub all: bool,
    /// `--seccomp-mode complain`.
    pub complain: bool,
}

impl Request {
    pub fn is_active(&self) -> bool {
        self.learn.is_some() || self.complain
    }
}

#[derive(Debug, Error)]
pub enum SetupError {
    #[error("learning and complain mode need SECCOMP_USER_NOTIF_FLAG_CONTINUE (Linux 5.5 or later); this kernel is {}.{}", .0.0, .0.1)]
    OldKernel((u32, u32)),
    #[error("seccomp(2) is refused here (the container runtime's seccomp profile does not allow it), so no learning filter can be installed")]
    SeccompRefused(#[source] Errno),
    #[error("this kernel cannot notify a supervisor of a system call (SECCOMP_RET_USER_NOTIF)")]
    NoUserNotif(#[source] Errno),
    #[error(
        "complain mode needs a seccomp profile to complain about; --seccomp unconfined has none"
    )]
    ComplainUnconfined,
    #[error("cannot open {path}")]
    Open {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a regular file")]
    NotAFile { path: String },
    #[error("{path} is larger than {MAX_PROFILE_BYTES} bytes; it is no learned profile")]
    TooLarge { path: String },
    #[error("cannot write {path}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Parse(#[from] SeccompError),
    #[error(transparent)]
    Merge(#[from] LearnError),
    #[error("neither --learn nor --seccomp-mode complain was given")]
    NothingAsked,
    #[error("cannot create the socket pair that hands the seccomp listener to PID 1")]
    SocketPair(#[source] Errno),
}

/// What `--learn` writes to.
struct Output {
    file: File,
    path: PathBuf,
    report: File,
    report_path: PathBuf,
    learned: Learned,
}

/// Everything PID 1 needs to serve the listener once it has it.
pub struct Server {
    listener: Option<OwnedFd>,
    /// PID 1's end of the socket pair, until the listener has come over it.
    socket: Option<OwnedFd>,
    output: Option<Output>,
    recording: Recording,
    complain: Option<(Verdicts, Complaints)>,
    hung_up: bool,
}

/// The filter and the child's socket, to go into the child's steps.
pub struct ChildSide {
    pub filter: Filter,
    pub socket: OwnedFd,
}

/// Checks the kernel, opens FILE (merging what it holds) and its report, and builds the
/// filter. `profile` is the profile complain mode complains about; `floor` hardinit's
/// floor, which the filter keeps.
pub fn prepare(
    req: &Request,
    profile: Option<&Profile>,
    floor: Option<&Floor>,
    ctx: &seccomp::Context,
) -> Result<(ChildSide, Server), SetupError> {
    check_kernel(ctx.kernel)?;
    let output = match &req.learn {
        Some(path) => Some(open_output(path, req.report.as_deref(), ctx)?),
        None => None,
    };
    let (parent, child) = socket::socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(SetupError::SocketPair)?;
    let handoff = Handoff {
        fd: child.as_raw_fd(),
    };
    let mut output = output;
    let (filter, complain) = if req.complain {
        let profile = profile.ok_or(SetupError::ComplainUnconfined)?;
        let (filter, verdicts) = complain_filter(profile, floor, handoff)?;
        (filter, Some((verdicts, Complaints::default())))
    } else {
        let out = output.as_mut().ok_or(SetupError::NothingAsked)?;
        if !req.all {
            out.learned.add_hot_base();
        }
        (recording_filter(&out.learned, floor, handoff)?, None)
    };
    let mut filter = filter;
    if ctx.kernel >= WAIT_KILLABLE_SINCE {
        filter.flags |= libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV as u32;
    }
    let server = Server {
        listener: None,
        socket: Some(parent),
        output,
        recording: Recording::default(),
        complain,
        hung_up: false,
    };
    // Written once before anything runs: a destination that cannot take the profile fails
    // here, and a run killed at once still leaves a usable one.
    server
        .write_output()
        .map_err(|(path, source)| SetupError::Write { path, source })?;
    Ok((
        ChildSide {
            filter,
            socket: child,
        },
        server,
    ))
}

fn check_kernel(kernel: (u32, u32)) -> Result<(), SetupError> {
    if kernel < CONTINUE_SINCE {
        return Err(SetupError::OldKernel(kernel));
    }
    match sys::seccomp_action_available(libc::SECCOMP_RET_USER_NOTIF) {
        Ok(()) => Ok(()),
        Err(e @ (Errno::EPERM | Errno::EACCES)) => Err(SetupError::SeccompRefused(e)),
        Err(e) => Err(SetupError::NoUserNotif(e)),
    }
}

fn open_output(
    path: &Path,
    report: Option<&Path>,
    ctx: &seccomp::Context,
) -> Result<Output, SetupError> {
    let shown = path.display().to_string();
    let open_err = |path: &Path| {
        let path = path.display().to_string();
        move |source| SetupError::Open { path, source }
    };
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        .open(path)
        .map_err(open_err(path))?;
    let meta = file.metadata().map_err(open_err(path))?;
    if !meta.is_file() {
        return Err(SetupError::NotAFile { path: shown });
    }
    if meta.len() > MAX_PROFILE_BYTES {
        return Err(SetupError::TooLarge { path: shown });
    }
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(open_err(path))?;
    let learned = if text.trim().is_empty() {
        Learned::empty()
    } else {
        let choice = seccomp::Choice::File(path.to_path_buf());
        match seccomp::resolve(&choice, Some(&text), ctx)? {
            Some(existing) => Learned::from_profile(&existing)?,
            None => Learned::empty(),
        }
    };
    let report_path = report.map_or_else(|| default_report_path(path), Path::to_path_buf);
    let report = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(&report_path)
        .map_err(open_err(&report_path))?;
    Ok(Output {
        file,
        path: path.to_path_buf(),
        report,
        report_path,
        learned,
    })
}

/// FILE with `.report` appended.
pub fn default_report_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_os_string();
    name.push(".report");
    PathBuf::from(name)
}

/// What `poll_serving` saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// The caller's descriptor is readable or hung up.
    Fd,
    /// Only the served descriptor had something (now handled).
    Other,
    Timeout,
}

/// What a wait should watch besides its own descriptors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watch {
    /// The socket the listener will arrive on.
    Socket,
    /// The listener.
    Listener,
}

impl Server {
    /// The descriptor to poll now, if any: the socket until the listener came, then the
    /// listener until it hangs up.
    pub fn watched(&self) -> Option<(BorrowedFd<'_>, Watch)> {
        if let Some(listener) = &self.listener {
            return (!self.hung_up).then(|| (listener.as_fd(), Watch::Listener));
        }
        self.socket.as_ref().map(|s| (s.as_fd(), Watch::Socket))
    }

    /// Handles what poll reported on the watched descriptor (`revents`).
    pub fn ready(&mut self, watch: Watch, readable: bool, hung_up: bool) {
        match watch {
            Watch::Socket => self.take_listener(),
            Watch::Listener if readable => self.serve_one(),
            Watch::Listener if hung_up => {
                debug!("seccomp listener: no task left under the filter");
                self.hung_up = true;
            }
            Watch::Listener => {}
        }
    }

    /// Waits until `fd` or the served descriptor has something, at most `timeout`, and
    /// serves the latter; says whether `fd` is ready. Without a served descriptor it just
    /// polls `fd`.
    pub fn poll_serving(
        &mut self,
        fd: BorrowedFd<'_>,
        timeout: PollTimeout,
    ) -> Result<Readiness, Errno> {
        let (fd_events, served) = {
            let watched = self.watched();
            let mut fds = vec![PollFd::new(fd, PollFlags::POLLIN)];
            if let Some((served, _)) = watched {
                fds.push(PollFd::new(served, PollFlags::POLLIN));
            }
            if poll(&mut fds, timeout)? == 0 {
                return Ok(Readiness::Timeout);
            }
            let events = |p: &PollFd<'_>| p.revents().unwrap_or(PollFlags::empty());
            (
                events(&fds[0]),
                watched.map(|(_, w)| w).zip(fds.get(1).map(events)),
            )
        };
        if let Some((watch, events)) = served {
            let gone = PollFlags::POLLHUP | PollFlags::POLLERR | PollFlags::POLLNVAL;
            if !events.is_empty() {
                self.ready(
                    watch,
                    events.contains(PollFlags::POLLIN),
                    events.intersects(gone),
                );
            }
        }
        Ok(if fd_events.is_empty() {
            Readiness::Other
        } else {
            Readiness::Fd
        })
    }

    /// The descriptors PID 1 keeps open once set-up is done.
    pub fn kept_fds(&self) -> Vec<i32> {
        let mut fds: Vec<i32> = [self.listener.as_ref(), self.socket.as_ref()]
            .into_iter()
            .flatten()
            .map(AsRawFd::as_raw_fd)
            .collect();
        if let Some(out) = &self.output {
            fds.extend([out.file.as_raw_fd(), out.report.as_raw_fd()]);
        }
        fds
    }

    fn take_listener(&mut self) {
        let Some(socket) = self.socket.take() else {
            return;
        };
        match sys::receive_fd(socket.as_fd()) {
            Ok(Some(listener)) => {
                if let Err(e) = sys::notif_set_sync_wake_up(listener.as_fd()) {
                    debug!("seccomp listener: no synchronous wake-up ({e})");
                }
                self.listener = Some(listener);
            }
            // The child ended before handing it over: its report says why.
            Ok(None) => debug!("the child closed the listener socket without a listener"),
            Err(e) => warn!("cannot receive the seccomp listener: {e}"),
        }
    }

    /// Receives one notification, records it and lets the call run.
    fn serve_one(&mut self) {
        let Some(listener) = &self.listener else {
            return;
        };
        let fd = listener.as_fd();
        let n = match sys::notif_recv(fd) {
            Ok(n) => n,
            Err(Errno::ENOENT) | Err(Errno::EINTR) => return,
            Err(e) => {
                warn!("cannot receive a seccomp notification: {e}");
                return;
            }
        };
        let mut exe = None;
        let mut exe_of = || {
            exe.get_or_insert_with(|| executable(fd, n.id, n.pid))
                .clone()
        };
        if let Some((verdicts, complaints)) = &mut self.complain {
            let would = verdicts.would(n.nr, &n.args);
            if let Some(line) = complaints.note(n.nr, &n.args, would, n.pid, &mut exe_of) {
                let _ = writeln!(std::io::stderr(), "{line}");
            }
        }
        let grew = self.output.is_some() && self.recording.note(n.nr, &n.args, &mut exe_of);
        match sys::notif_continue(fd, n.id) {
            Ok(()) | Err(Errno::ENOENT) => {}
            Err(e) => warn!("cannot let a notified call run: {e}"),
        }
        if grew {
            self.grow();
        }
    }

    fn grow(&mut self) {
        let Some(out) = &mut self.output else {
            return;
        };
        if out.learned.add_recording(&self.recording) {
            if let Err((path, e)) = self.write_output() {
                warn!("cannot rewrite {path}: {e}");
            }
        }
    }

    /// Rewrites FILE and its report from what is known now.
    fn write_output(&self) -> Result<(), (String, std::io::Error)> {
        let Some(out) = &self.output else {
            return Ok(());
        };
        let shown = out.path.display().to_string();
        rewrite(&out.file, out.learned.to_oci_json().as_bytes())
            .map_err(|e| (out.path.display().to_string(), e))?;
        let text = report(&shown, &out.learned, &self.recording);
        rewrite(&out.report, text.as_bytes())
            .map_err(|e| (out.report_path.display().to_string(), e))
    }

    /// Once nothing is left to serve: FILE and the report with the whole run, and complain
    /// mode's closing count.
    pub fn finish(&mut self) {
        if let Some(out) = &mut self.output {
            out.learned.add_recording(&self.recording);
        }
        if let Err((path, e)) = self.write_output() {
            warn!("cannot write {path}: {e}");
        }
        if let Some(line) = self.complain.as_ref().and_then(|(_, c)| c.summary()) {
            let _ = writeln!(std::io::stderr(), "{line}");
        }
    }
}

/// The bytes at offset 0, then the length cut to them: FILE stays one open descriptor (PID 1
/// may no longer be allowed to create files beside it once it has locked itself down).
fn rewrite(file: &File, bytes: &[u8]) -> std::io::Result<()> {
    file.write_all_at(bytes, 0)?;
    file.set_len(bytes.len() as u64)
}

/// The executable of the task that made notified call `id`: /proc/PID/exe while PID 1 may
/// read it (same uid, the program dumpable), else argv[0] from /proc/PID/cmdline (readable
/// by anyone). Checked against the notification afterwards, so a reused pid is not named.
fn executable(listener: BorrowedFd<'_>, id: u64, pid: u32) -> String {
    let name = std::fs::read_link(format!("/proc/{pid}/exe"))
        .map(|p| p.display().to_string())
        .or_else(|_| {
            std::fs::read(format!("/proc/{pid}/cmdline")).map(|bytes| {
                let argv0 = bytes.split(|b| *b == 0).next().unwrap_or_default();
                String::from_utf8_lossy(argv0).into_owned()
            })
        })
        .unwrap_or_else(|_| "?".to_owned());
    match sys::notif_id_valid(listener, id) {
        Ok(()) => name,
        Err(_) => "(exited)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(kernel: (u32, u32)) -> seccomp::Context {
        seccomp::Context {
            arch: seccomp::NATIVE,
            caps: 0,
            kernel,
        }
    }

    #[test]
    fn a_kernel_without_flag_continue_is_refused_before_file_is_opened() {
        let dir = std::env::temp_dir().join(format!("hardinit-old-kernel-{}", std::process::id()));
        let file = dir.join("p.json");
        let req = Request {
            learn: Some(file.clone()),
            report: None,
            all: false,
            complain: false,
        };
        for old in [(5, 4), (4, 19), (3, 10)] {
            let err = prepare(&req, None, None, &ctx(old)).err().unwrap();
            assert_eq!(
                err.to_string(),
                format!("learning and complain mode need SECCOMP_USER_NOTIF_FLAG_CONTINUE (Linux 5.5 or later); this kernel is {}.{}", old.0, old.1)
            );
        }
        // The directory does not exist: a kernel that passes gets as far as opening FILE.
        let err = prepare(&req, None, None, &ctx((5, 5))).err().unwrap();
        assert_eq!(err.to_string(), format!("cannot open {}", file.display()));
        assert!(!dir.exists());
    }

    #[test]
    fn the_filter_waits_killably_from_linux_5_19() {
        let dir = std::env::temp_dir().join(format!("hardinit-killable-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let req = Request {
            learn: Some(dir.join("p.json")),
            report: None,
            all: true,
            complain: false,
        };
        let killable = libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV as u32;
        for (kernel, want) in [((5, 18), 0), ((5, 19), killable), ((6, 18), killable)] {
            let (child, _server) = prepare(&req, None, None, &ctx(kernel)).unwrap();
            assert_eq!(child.filter.flags & killable, want, "{kernel:?}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn what_interrupts_a_notified_call_follows_the_killable_wait() {
        // Before 5.19 the whole wait is interruptible; from 5.19 only the wait before PID 1
        // has received the notification.
        for (kernel, killable) in [
            ((5, 5), false),
            ((5, 18), false),
            ((5, 19), true),
            ((6, 18), true),
        ] {
            let said = interruption(kernel);
            assert!(
                said.starts_with("a signal the program catches without SA_RESTART makes "),
                "{said}"
            );
            assert_eq!(
                said.ends_with("once received, only a fatal signal interrupts it"),
                killable,
                "{kernel:?}: {said}"
            );
            assert_eq!(said.contains("below 5.19"), !killable, "{kernel:?}: {said}");
        }
    }
}

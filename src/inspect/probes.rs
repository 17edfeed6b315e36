//! Live probes: try what an attacker would try, and leave nothing behind. A probe whose
//! success would change the process (a namespace, a mount) runs in a forked child that
//! exits at once, so the inspecting process keeps the state it reports.

use std::fs::OpenOptions;
use std::io::ErrorKind;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::{mount, MsFlags};
use nix::sched::{unshare, CloneFlags};
use nix::sys::wait::{waitpid, WaitStatus};
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use super::InspectError;
use crate::sys::{self, Forked};

/// A port below 1024 that nothing should listen on, so the bind normally really succeeds.
pub const PRIVILEGED_PORT: u16 = 1;

/// How many names the file probe tries before giving up (a name can be taken only by a
/// stale probe file or a deliberate squatter).
const FILE_NAME_ATTEMPTS: u32 = 8;

/// What a probe found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Allowed,
    Denied(Errno),
    /// The probe child was killed by this signal (a seccomp filter that kills: SIGSYS).
    Killed(i32),
}

impl Outcome {
    pub fn allowed(self) -> bool {
        self == Outcome::Allowed
    }

    /// `None` when allowed; the errno name or the signal that killed the child otherwise.
    pub fn error(self) -> Option<String> {
        match self {
            Outcome::Allowed => None,
            Outcome::Denied(e) => Some(format!("{e:?}")),
            Outcome::Killed(signal) => Some(super::facts::signal_name(signal)),
        }
    }
}

/// JSON: `{"allowed": bool, "error": string or null}`.
impl Serialize for Outcome {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Outcome", 2)?;
        st.serialize_field("allowed", &self.allowed())?;
        st.serialize_field("error", &self.error())?;
        st.end()
    }
}

/// Every probe's outcome; the field names are the JSON names (docs/inspect.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Probes {
    pub create_in_root: Outcome,
    pub create_in_tmp: Outcome,
    pub bind_privileged_port: Outcome,
    pub unshare_user_namespace: Outcome,
    pub clone_user_namespace: Outcome,
    pub clone3_user_namespace: Outcome,
    pub mount: Outcome,
    pub signal_pid1: Outcome,
    /// keyctl with an unknown operation: only a seccomp filter refuses it (see `Keyrings`).
    pub keyctl: Outcome,
    /// Container-runtime sockets that exist, and whether connecting to them worked.
    pub runtime_sockets: Vec<SocketProbe>,
    /// What the kernel says about / itself, to explain a refused create.
    #[serde(skip)]
    pub root_dir: Option<FileOwner>,
    /// / is on a read-only mount (mountinfo); `None` without /proc.
    #[serde(skip)]
    pub root_mount_read_only: Option<bool>,
    /// The kernel has keyrings (/proc/key-users exists), so keyctl's natural answer to an
    /// unknown operation is EOPNOTSUPP.
    #[serde(skip)]
    pub kernel_has_keyrings: bool,
}

/// A file's owner and mode, from stat: data a seccomp filter cannot forge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileOwner {
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
}

/// One container-runtime socket found on the machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SocketProbe {
    pub path: String,
    #[serde(flatten)]
    pub connect: Outcome,
    #[serde(skip)]
    pub owner: FileOwner,
}

/// The runtimes' usual sockets: Docker, containerd (and k3s's), Podman, CRI-O, kubelet,
/// BuildKit; per-user ones under /run/user/UID are added by `runtime_socket_paths`.
const RUNTIME_SOCKETS: [&str; 16] = [
    "/run/docker.sock",
    "/var/run/docker.sock",
    "/run/containerd/containerd.sock",
    "/var/run/containerd/containerd.sock",
    "/run/k3s/containerd/containerd.sock",
    "/run/podman/podman.sock",
    "/var/run/podman/podman.sock",
    "/run/crio/crio.sock",
    "/var/run/crio/crio.sock",
    "/run/dockershim.sock",
    "/var/run/dockershim.sock",
    "/run/buildkit/buildkitd.sock",
    "/var/lib/kubelet/pod-resources/kubelet.sock",
    "/var/lib/kubelet/device-plugins/kubelet.sock",
    "/run/cri-dockerd.sock",
    "/run/snap.docker/docker.sock",
];

/// Per-user runtime sockets, relative to /run/user/UID.
const USER_RUNTIME_SOCKETS: [&str; 2] = ["docker.sock", "podman/podman.sock"];

/// Runs every probe.
pub fn run() -> Result<Probes, InspectError> {
    Ok(Probes {
        create_in_root: create_file_in(Path::new("/"))?,
        create_in_tmp: create_file_in(Path::new("/tmp"))?,
        bind_privileged_port: bind_privileged_port(),
        unshare_user_namespace: in_child(unshare_user_namespace)?.outcome(),
        clone_user_namespace: in_child(clone_user_namespace)?.outcome(),
        clone3_user_namespace: in_child(clone3_user_namespace)?.outcome(),
        mount: in_child(mount_tmpfs)?.outcome(),
        signal_pid1: outcome(sys::send_signal(1, 0)),
        keyctl: in_child(keyctl_unknown_operation)?.outcome(),
        runtime_sockets: connect_runtime_sockets(),
        root_dir: owner_of(Path::new("/")),
        root_mount_read_only: root_mount_read_only(),
        kernel_has_keyrings: Path::new("/proc/key-users").exists(),
    })
}

fn owner_of(path: &Path) -> Option<FileOwner> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| FileOwner {
        uid: m.uid(),
        gid: m.gid(),
        mode: m.mode(),
    })
}

fn root_mount_read_only() -> Option<bool> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mounts = crate::kernel::mounts::parse_mountinfo(&text);
    crate::kernel::mounts::mount_of(&mounts, Path::new("/")).map(|m| m.read_only)
}

/// Every candidate path, the per-user ones and `DOCKER_HOST`/`CONTAINER_HOST` included.
fn runtime_socket_paths() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = RUNTIME_SOCKETS.iter().map(PathBuf::from).collect();
    if let Ok(users) = std::fs::read_dir("/run/user") {
        for user in users.flatten() {
            paths.extend(USER_RUNTIME_SOCKETS.iter().map(|s| user.path().join(s)));
        }
    }
    for var in ["DOCKER_HOST", "CONTAINER_HOST"] {
        if let Some(path) = std::env::var(var)
            .ok()
            .and_then(|v| v.strip_prefix("unix://").map(PathBuf::from))
        {
            paths.push(path);
        }
    }
    paths
}

/// Connects to each runtime socket that exists (once per socket, however many names lead
/// to it) and closes the connection at once: the daemon sees a client that says nothing.
fn connect_runtime_sockets() -> Vec<SocketProbe> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let mut seen = Vec::new();
    let mut found = Vec::new();
    for path in runtime_socket_paths() {
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if !meta.file_type().is_socket() || seen.contains(&(meta.dev(), meta.ino())) {
            continue;
        }
        seen.push((meta.dev(), meta.ino()));
        let connect = match std::os::unix::net::UnixStream::connect(&path) {
            Ok(_stream) => Outcome::Allowed,
            Err(e) => Outcome::Denied(io_errno(&e)),
        };
        found.push(SocketProbe {
            path: path.display().to_string(),
            connect,
            owner: FileOwner {
                uid: meta.uid(),
                gid: meta.gid(),
                mode: meta.mode(),
            },
        });
    }
    found
}

/// In a child: keyctl with an unknown operation (see `sys::keyctl_unknown_operation`).
fn keyctl_unknown_operation() -> Result<u8, Errno> {
    sys::keyctl_unknown_operation().map(|()| 0)
}

/// In a child: clone(CLONE_NEWUSER), whose own child exits at once.
fn clone_user_namespace() -> Result<u8, Errno> {
    fork_user_namespace(sys::CloneCall::Clone)
}

/// In a child: clone3 with CLONE_NEWUSER (a filter cannot look into its arguments).
fn clone3_user_namespace() -> Result<u8, Errno> {
    fork_user_namespace(sys::CloneCall::Clone3)
}

fn fork_user_namespace(call: sys::CloneCall) -> Result<u8, Errno> {
    match sys::fork_into_user_namespace(call)? {
        Forked::Child => sys::exit_child(0),
        Forked::Parent(child) => {
            waitpid(child, None)?;
            Ok(0)
        }
    }
}

fn outcome(result: Result<(), Errno>) -> Outcome {
    result.map_or_else(Outcome::Denied, |()| Outcome::Allowed)
}

/// Creates a new file in `dir` and removes it again. O_EXCL on a fresh name: an existing
/// file answers EEXIST before any permission check, which would prove nothing.
fn create_file_in(dir: &Path) -> Result<Outcome, InspectError> {
    for attempt in 0..FILE_NAME_ATTEMPTS {
        let path = dir.join(format!(
            ".hardinit-inspect-{}-{attempt}",
            std::process::id()
        ));
        let created = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path);
        match created {
            Ok(file) => {
                drop(file);
                std::fs::remove_file(&path)
                    .map_err(|source| InspectError::RemoveProbeFile { path, source })?;
                return Ok(Outcome::Allowed);
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Ok(Outcome::Denied(io_errno(&e))),
        }
    }
    Err(InspectError::NameProbeFile {
        dir: dir.to_path_buf(),
    })
}

fn io_errno(e: &std::io::Error) -> Errno {
    e.raw_os_error()
        .map_or(Errno::UnknownErrno, Errno::from_raw)
}

/// Binds 127.0.0.1:PRIVILEGED_PORT over TCP (the protocol Landlock's port rules cover);
/// the socket closes on return, before any connection could be accepted.
fn bind_privileged_port() -> Outcome {
    match std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, PRIVILEGED_PORT)) {
        Ok(_listener) => Outcome::Allowed,
        // The kernel checks the privilege before it looks the port up: EADDRINUSE means the
        // process passed the check, and would have bound a free port.
        Err(e) if e.kind() == ErrorKind::AddrInUse => Outcome::Allowed,
        Err(e) => Outcome::Denied(io_errno(&e)),
    }
}

/// In a child: a user namespace that dies with it.
fn unshare_user_namespace() -> Result<u8, Errno> {
    unshare(CloneFlags::CLONE_NEWUSER).map(|()| 0)
}

/// In a child: a mount namespace of its own, then a tmpfs on its `/`. Both die with it.
/// Without the privilege for that, as an unprivileged user would: in a user namespace of
/// its own, where it holds every capability (the first refusal is the one reported).
fn mount_tmpfs() -> Result<u8, Errno> {
    if let Err(e) = unshare(CloneFlags::CLONE_NEWNS) {
        unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNS).map_err(|_| e)?;
    }
    // The new namespace's mounts are copies that still share propagation with the host's:
    // without this, the tmpfs below would appear on the host. Nothing is mounted if it fails.
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )?;
    // `/` exists in every image, and nothing needs to be created for a mount point.
    mount(
        Some("tmpfs"),
        "/",
        Some("tmpfs"),
        MsFlags::empty(),
        None::<&str>,
    )?;
    Ok(0)
}

/// How a probe child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeEnd {
    Returned(Result<u8, Errno>),
    Killed(i32),
}

impl ProbeEnd {
    fn outcome(self) -> Outcome {
        match self {
            ProbeEnd::Returned(Ok(_)) => Outcome::Allowed,
            ProbeEnd::Returned(Err(e)) => Outcome::Denied(e),
            ProbeEnd::Killed(signal) => Outcome::Killed(signal),
        }
    }
}

/// Runs `probe` in a forked child and waits for it; the child's exit code carries the
/// result (see `exit_code`). The child only makes system calls, then `_exit`s.
pub fn in_child(probe: fn() -> Result<u8, Errno>) -> Result<ProbeEnd, InspectError> {
    let child = match sys::fork().map_err(InspectError::ForkProbe)? {
        Forked::Child => sys::exit_child(exit_code(probe())),
        Forked::Parent(child) => child,
    };
    loop {
        match waitpid(child, None) {
            Ok(WaitStatus::Exited(_, code)) => return Ok(ProbeEnd::Returned(result_of(code))),
            Ok(WaitStatus::Signaled(_, signal, _)) => return Ok(ProbeEnd::Killed(signal as i32)),
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(InspectError::WaitProbe(e)),
        }
    }
}

/// 0..=127: the probe's value; 128 + errno for an error (255 when the errno does not fit).
pub fn exit_code(result: Result<u8, Errno>) -> i32 {
    match result {
        Ok(value) => i32::from(value.min(127)),
        Err(e) if (e as i32) < 127 => 128 + e as i32,
        Err(_) => 255,
    }
}

/// The inverse of `exit_code`.
pub fn result_of(code: i32) -> Result<u8, Errno> {
    match code {
        0..=127 => Ok(code as u8),
        255 => Err(Errno::UnknownErrno),
        _ => Err(Errno::from_raw(code - 128)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_results_survive_the_exit_code() {
        for result in [
            Ok(0),
            Ok(16),
            Err(Errno::EPERM),
            Err(Errno::ENOSYS),
            Err(Errno::EOPNOTSUPP),
        ] {
            assert_eq!(result_of(exit_code(result)), result);
        }
        assert_eq!(exit_code(Err(Errno::EPERM)), 129);
        assert_eq!(
            result_of(exit_code(Err(Errno::EHWPOISON))),
            Err(Errno::UnknownErrno)
        );
    }

    #[test]
    fn outcomes_serialize_as_allowed_and_error() {
        let json = |o: Outcome| serde_json::to_value(o).unwrap();
        assert_eq!(
            json(Outcome::Allowed),
            serde_json::json!({"allowed": true, "error": null})
        );
        assert_eq!(
            json(Outcome::Denied(Errno::EACCES)),
            serde_json::json!({"allowed": false, "error": "EACCES"})
        );
        assert_eq!(
            json(Outcome::Killed(libc::SIGSYS)),
            serde_json::json!({"allowed": false, "error": "SIGSYS"})
        );
    }

    #[test]
    fn child_ends_map_to_outcomes() {
        assert_eq!(ProbeEnd::Returned(Ok(0)).outcome(), Outcome::Allowed);
        assert_eq!(
            ProbeEnd::Returned(Err(Errno::EPERM)).outcome(),
            Outcome::Denied(Errno::EPERM)
        );
        assert_eq!(ProbeEnd::Killed(31).outcome(), Outcome::Killed(31));
    }
}

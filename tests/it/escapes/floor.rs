//! Escapes through what the seccomp floor refuses (see escapes.rs): each attack is the C
//! payload tests/fixtures/probes/floor.c run as the program, in every mode, PID 1 and not,
//! with the exact answer of every attempt asserted.

use std::io::Read;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{self, Output};

const TIMEOUT: Duration = Duration::from_secs(20);

/// A way of running hardinit the escape suite covers.
struct Mode {
    name: &'static str,
    flags: &'static [&'static str],
    uid: u32,
    profile: Profile,
    read_only: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Profile {
    /// No profile, or one that allows everything: the floor's own answers.
    Unconfined,
    Default,
    Node,
}

const NOBODY: u32 = 65534;

/// A profile file that allows every call, naming the floor's calls explicitly.
const ALLOW_ALL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/seccomp/allow-all.json"
);

const MODES: [Mode; 8] = [
    Mode {
        name: "no flags, as root",
        flags: &[],
        uid: 0,
        profile: Profile::Default,
        read_only: false,
    },
    Mode {
        name: "--user",
        flags: &["--user", "65534"],
        uid: NOBODY,
        profile: Profile::Default,
        read_only: false,
    },
    Mode {
        name: "--read-only, as root",
        flags: &["--read-only"],
        uid: 0,
        profile: Profile::Default,
        read_only: true,
    },
    Mode {
        name: "full hardening, default",
        flags: &[
            "--user",
            "65534",
            "--read-only",
            "--writable",
            "/tmp",
            "--seccomp",
            "default",
        ],
        uid: NOBODY,
        profile: Profile::Default,
        read_only: true,
    },
    Mode {
        name: "full hardening, node",
        flags: &[
            "--user",
            "65534",
            "--read-only",
            "--writable",
            "/tmp",
            "--seccomp",
            "node",
        ],
        uid: NOBODY,
        profile: Profile::Node,
        read_only: true,
    },
    Mode {
        name: "--seccomp unconfined",
        flags: &["--seccomp", "unconfined"],
        uid: 0,
        profile: Profile::Unconfined,
        read_only: false,
    },
    Mode {
        name: "--read-only --writable /tmp --seccomp FILE allowing every call",
        flags: &["--read-only", "--writable", "/tmp", "--seccomp", ALLOW_ALL],
        uid: 0,
        profile: Profile::Unconfined,
        read_only: true,
    },
    Mode {
        name: "--read-only --writable /tmp --seccomp unconfined",
        flags: &[
            "--read-only",
            "--writable",
            "/tmp",
            "--seccomp",
            "unconfined",
        ],
        uid: 0,
        profile: Profile::Unconfined,
        read_only: true,
    },
];

fn payload() -> PathBuf {
    util::c_probe("floor")
}

/// `hardinit FLAGS -- floor ARGS`, as PID 1 of a new PID namespace or not.
fn command(mode: &Mode, extra: &[String], pid1: bool, args: &[&str]) -> Command {
    let mut cmd = if pid1 {
        let mut c = Command::new("unshare");
        c.args(["--pid", "--fork", "--mount-proc"])
            .arg(util::hardinit());
        c
    } else {
        Command::new(util::hardinit())
    };
    cmd.args(mode.flags)
        .args(extra)
        .arg("--")
        .arg(payload())
        .args(args)
        .env_remove("HARDINIT_LANDLOCK_ABI");
    cmd
}

#[track_caller]
fn run(mode: &Mode, extra: &[String], pid1: bool, args: &[&str]) -> Output {
    util::run_with_timeout(&mut command(mode, extra, pid1, args), TIMEOUT)
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.trim_end_matches('\r').to_string())
        .collect()
}

fn where_(mode: &Mode, pid1: bool) -> String {
    format!("{}{}", mode.name, if pid1 { ", PID 1" } else { "" })
}

// --- 2. terminal injection ---

/// Runs the payload's `tty` attack with a new pty as hardinit's controlling terminal (as the
/// shell that started it would have); returns what the terminal showed and what input was
/// left for the next reader of the terminal, i.e. the shell.
fn run_on_a_terminal(mode: &Mode, pid1: bool) -> (Vec<String>, String) {
    let pty = nix::pty::openpty(None, None).unwrap();
    let slave: OwnedFd = pty.slave;
    let mut cmd = Command::new("setsid");
    cmd.arg("-c");
    let inner = command(mode, &[], pid1, &["tty"]);
    cmd.arg(inner.get_program()).args(inner.get_args());
    cmd.env_remove("HARDINIT_LANDLOCK_ABI")
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave.try_clone().unwrap()));
    let mut child = cmd.spawn().unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(start.elapsed() < TIMEOUT, "the tty attack timed out");
        std::thread::sleep(Duration::from_millis(5));
    };
    drop(cmd);
    assert_eq!(status.code(), Some(0), "{}", where_(mode, pid1));
    let shown = read_available(&pty.master);
    let pending = read_available(&slave);
    (lines(&shown), pending)
}

/// What can be read from `fd` right now, without waiting.
fn read_available(fd: &OwnedFd) -> String {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    fcntl(fd.as_raw_fd(), FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).unwrap();
    let mut file = std::fs::File::from(fd.try_clone().unwrap());
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = file.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn tiocsti_and_tioclinux_are_refused_on_every_way_to_the_terminal() {
    if !util::privileged("tiocsti_and_tioclinux_are_refused_on_every_way_to_the_terminal") {
        return;
    }
    let mut want = vec!["open /dev/tty ok".to_string()];
    for high in ["", "|1<<32"] {
        for fd in [" 0", " 1", " 2", " /dev/tty"] {
            want.push(format!("TIOCSTI{high} fd{fd} EPERM"));
        }
    }
    want.push("TIOCLINUX EPERM".to_string());
    for mode in &MODES {
        for pid1 in [false, true] {
            let (shown, pending) = run_on_a_terminal(mode, pid1);
            let shown: Vec<String> = shown
                .into_iter()
                .filter(|l| {
                    !l.contains("running as root; pass --user")
                        && !util::without_scoping_warnings(l).is_empty()
                })
                .collect();
            assert_eq!(shown, want, "{}", where_(mode, pid1));
            assert_eq!(
                pending,
                "",
                "keystrokes reached the shell: {}",
                where_(mode, pid1)
            );
        }
    }
}

// --- 3. setuid and setgid bits ---

/// A directory under /tmp (writable with `--writable /tmp`) owned by `uid`, holding `file`
/// (mode 0644, owned by `uid`).
fn owned_dir(name: &str, uid: u32) -> PathBuf {
    let dir = Path::new("/tmp").join(format!("hardinit-floor-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    let file = dir.join("file");
    std::fs::write(&file, b"#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::os::unix::fs::chown(&dir, Some(uid), Some(uid)).unwrap();
    std::os::unix::fs::chown(&file, Some(uid), Some(uid)).unwrap();
    dir
}

/// What the setuid attack must see: every bit refused, nothing created.
fn refused_setuid_lines(mode: &Mode) -> Vec<String> {
    // Above its highest named call (446) `node` answers ENOSYS; openat2 gets ENOSYS from the
    // floor and from `node` alike (a refused call newer than openat, so callers fall back).
    let fchmodat2 = if mode.profile == Profile::Node {
        "ENOSYS"
    } else {
        "EPERM"
    };
    let openat2 = "ENOSYS";
    let mut want: Vec<String> = [
        "chmod 4755 EPERM",
        "chmod 2755 EPERM",
        "chmod 4755|1<<40 EPERM",
        "fchmod 6755 EPERM",
        "fchmodat 4755 EPERM",
        &format!("fchmodat2 2755 {fchmodat2}"),
        "mode file 0644",
        "chmod 0700 ok",
        "mode file 0700",
        "creat 4755 EPERM",
        "open 4755 EPERM",
        "openat 2755 EPERM",
        "openat O_TMPFILE 4755 EPERM",
        "mknod 4755 EPERM",
        "mknodat 2755 EPERM",
        "mkdir 2755 EPERM",
        "mkdirat 2755 EPERM",
        &format!("openat2 4755 {openat2}"),
    ]
    .map(str::to_string)
    .to_vec();
    for name in [
        "creat", "open", "openat", "mknod", "mknodat", "mkdir", "mkdirat", "openat2",
    ] {
        want.push(format!("mode {name} ENOENT"));
    }
    want
}

#[test]
fn no_setuid_or_setgid_bit_can_be_set_or_created() {
    if !util::privileged("no_setuid_or_setgid_bit_can_be_set_or_created") {
        return;
    }
    for (i, mode) in MODES.iter().enumerate() {
        for pid1 in [false, true] {
            let dir = owned_dir(&format!("setuid-{i}-{pid1}"), mode.uid);
            let out = run(mode, &[], pid1, &["setuid", dir.to_str().unwrap()]);
            let file_mode = std::fs::metadata(dir.join("file")).unwrap().mode() & 0o7777;
            let _ = std::fs::remove_dir_all(&dir);
            out.expect_code(0);
            assert_eq!(
                lines(&out.stdout),
                refused_setuid_lines(mode),
                "{}\n{out}",
                where_(mode, pid1)
            );
            assert_eq!(file_mode, 0o700, "{}", where_(mode, pid1));
        }
    }
}

// --- 10. stream sockets the port lists do not cover ---

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn with_port_lists_only_tcp_streams_are_made() {
    if !util::privileged("with_port_lists_only_tcp_streams_are_made") {
        return;
    }
    if util::landlock_abi() < 4 {
        // The port lists stop the launch there (tested in landlock.rs); the floor's socket
        // rules come with them.
        eprintln!(
            "SKIPPED with_port_lists_only_tcp_streams_are_made: Landlock ABI {} has no port lists",
            util::landlock_abi()
        );
        return;
    }
    // A listener the program must not reach, and a port it must not bind: both outside the
    // lists, which name other free ports.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let forbidden_connect = listener.local_addr().unwrap().port().to_string();
    let forbidden_bind = free_port().to_string();
    let lists = vec![
        "--allow-bind".to_string(),
        free_port().to_string(),
        "--allow-connect".to_string(),
        free_port().to_string(),
    ];
    let want: Vec<String> = [
        "socket inet mptcp EPROTONOSUPPORT",
        "socket inet|1<<32 mptcp EPROTONOSUPPORT",
        "socket inet6 mptcp EPROTONOSUPPORT",
        "socket inet sctp stream EPROTONOSUPPORT",
        "socket inet6 sctp seqpacket EPROTONOSUPPORT",
        "socket inet seqpacket 0 EPROTONOSUPPORT",
        "socket smc EAFNOSUPPORT",
        "socket inet tcp 0 ok",
        "bind inet tcp 0 EACCES",
        "connect inet tcp 0 EACCES",
        "socket inet tcp 6 ok",
        "bind inet tcp 6 EACCES",
        "connect inet tcp 6 EACCES",
        "socket inet6 tcp 0 ok",
        "socket inet udp ok",
    ]
    .map(str::to_string)
    .to_vec();
    for mode in &MODES {
        for pid1 in [false, true] {
            let out = run(
                mode,
                &lists,
                pid1,
                &["sockets", &forbidden_bind, &forbidden_connect],
            );
            out.expect_code(0);
            assert_eq!(lines(&out.stdout), want, "{}\n{out}", where_(mode, pid1));
        }
    }
    drop(listener);
}

// --- 9. executing what the program wrote ---

/// The glibc dynamic loader of this architecture.
const LOADER: &str = if cfg!(target_arch = "aarch64") {
    "/lib/ld-linux-aarch64.so.1"
} else {
    "/lib64/ld-linux-x86-64.so.2"
};

#[test]
fn with_read_only_nothing_the_program_wrote_runs_memfds_included() {
    if !util::privileged("with_read_only_nothing_the_program_wrote_runs_memfds_included") {
        return;
    }
    for mode in MODES.iter().filter(|m| m.read_only) {
        for pid1 in [false, true] {
            let out = run(mode, &[], pid1, &["memfd"]);
            out.expect_code(0);
            let want: &[&str] = if mode.profile == Profile::Node {
                // node refuses memfd_create itself.
                &["memfd_create EPERM", "memfd_create MFD_NOEXEC_SEAL EPERM"]
            } else if crate::runc::kernel_version() < (6, 3) {
                // Before 6.3 no memfd can be sealed non-executable: every one is refused.
                &["memfd_create ENOSYS", "memfd_create MFD_NOEXEC_SEAL ENOSYS"]
            } else {
                &[
                    "memfd_create ENOSYS",
                    "memfd_create MFD_NOEXEC_SEAL ok",
                    "write ok",
                    "fchmod 0755 EPERM",
                    "execveat sealed memfd EACCES",
                    "execve /proc/self/fd sealed memfd EACCES",
                ]
            };
            assert_eq!(lines(&out.stdout), want, "{}\n{out}", where_(mode, pid1));
        }
    }
    // A nameless file in a writable directory is Landlock's (path-based) business.
    for mode in MODES.iter().filter(|m| m.flags.contains(&"/tmp")) {
        for pid1 in [false, true] {
            let out = run(mode, &[], pid1, &["tmpfile", "/tmp"]);
            out.expect_code(0);
            // node refuses execveat itself.
            let execveat = if mode.profile == Profile::Node {
                "execveat O_TMPFILE EPERM"
            } else {
                "execveat O_TMPFILE EACCES"
            };
            assert_eq!(
                lines(&out.stdout),
                [
                    "O_TMPFILE ok",
                    "write ok",
                    execveat,
                    "execve /proc/self/fd O_TMPFILE EACCES"
                ],
                "{}\n{out}",
                where_(mode, pid1)
            );
        }
    }
}

// --- what the floor does not stop (README, "What hardinit does not stop") ---

#[test]
fn under_the_full_hardening_written_code_still_runs_through_mmap_and_ld_so() {
    if !util::privileged("under_the_full_hardening_written_code_still_runs_through_mmap_and_ld_so")
    {
        return;
    }
    for (i, mode) in MODES
        .iter()
        .filter(|m| m.flags.contains(&"/tmp"))
        .enumerate()
    {
        let dir = owned_dir(&format!("limits-{i}"), mode.uid);
        let copy = dir.join("true");
        std::fs::copy("/usr/bin/true", &copy).unwrap();
        let out = run(mode, &[], false, &["mapexec", dir.to_str().unwrap()]);
        out.expect_code(0);
        assert_eq!(
            lines(&out.stdout),
            [
                "write code ok",
                "mmap PROT_EXEC of the file returned 42",
                "mprotect PROT_EXEC ok",
                "anonymous W^X returned 42"
            ],
            "{}\n{out}",
            mode.name
        );
        // The copy cannot be executed, but the loader reads and runs it.
        let mut direct = Command::new(util::hardinit());
        direct.args(mode.flags).arg("--").arg(&copy);
        util::run_with_timeout(&mut direct, TIMEOUT).expect_code(126);
        let mut loader = Command::new(util::hardinit());
        loader.args(mode.flags).args(["--", LOADER]).arg(&copy);
        util::run_with_timeout(&mut loader, TIMEOUT).expect_code(0);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn without_no_new_privs_the_floor_goes_in_before_the_uid_switch() {
    if !util::privileged("without_no_new_privs_the_floor_goes_in_before_the_uid_switch") {
        return;
    }
    let mode = Mode {
        name: "--user 65534 --allow-new-privileges --seccomp unconfined",
        flags: &[
            "--user",
            "65534",
            "--allow-new-privileges",
            "--seccomp",
            "unconfined",
        ],
        uid: NOBODY,
        profile: Profile::Unconfined,
        read_only: false,
    };
    for pid1 in [false, true] {
        let dir = owned_dir(&format!("nnp-{pid1}"), NOBODY);
        let out = run(&mode, &[], pid1, &["setuid", dir.to_str().unwrap()]);
        let _ = std::fs::remove_dir_all(&dir);
        out.expect_code(0);
        assert_eq!(
            lines(&out.stdout),
            refused_setuid_lines(&mode),
            "{}",
            where_(&mode, pid1)
        );
    }
}

#[test]
fn the_tini_personality_installs_no_floor() {
    if !util::privileged("the_tini_personality_installs_no_floor") {
        return;
    }
    let links = util::scratch_dir("floor-tini");
    let tini = links.join("tini");
    std::os::unix::fs::symlink(util::hardinit(), &tini).unwrap();
    let dir = owned_dir("tini", 0);
    let mut cmd = Command::new(&tini);
    cmd.arg("--")
        .arg(payload())
        .args(["setuid", dir.to_str().unwrap()]);
    let out = util::run_with_timeout(&mut cmd, TIMEOUT);
    let _ = std::fs::remove_dir_all(&dir);
    out.expect_code(0);
    assert_eq!(
        lines(&out.stdout)[..3],
        ["chmod 4755 ok", "chmod 2755 ok", "chmod 4755|1<<40 ok"],
        "{out}"
    );
}

// --- profiles that cannot run a program, and profile files that are no profile ---

fn profile_file(name: &str, json: &str) -> PathBuf {
    let path = util::scratch_dir("floor-profiles").join(name);
    std::fs::write(&path, json).unwrap();
    path
}

#[test]
fn a_profile_refusing_execve_or_exit_group_stops_everything_naming_the_call() {
    let dir = util::scratch_dir("floor-refusing-profiles");
    for (i, (json, call, action)) in [
        (r#"{"defaultAction":"SCMP_ACT_ERRNO"}"#, "execve", "errno 1 (EPERM)"),
        (r#"{"defaultAction":"SCMP_ACT_KILL"}"#, "execve", "kill process"),
        (
            r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":0}"#,
            "execve",
            "errno 0",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["execve"],"action":"SCMP_ACT_ERRNO","errnoRet":0}]}"#,
            "execve",
            "errno 0",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["execve"],"action":"SCMP_ACT_KILL","args":[{"index":1,"value":0,"op":"SCMP_CMP_NE"}]}]}"#,
            "execve",
            "kill process",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["exit_group"],"action":"SCMP_ACT_ERRNO"}]}"#,
            "exit_group",
            "errno 1 (EPERM)",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let path = dir.join(format!("p{i}.json"));
        std::fs::write(&path, json).unwrap();
        for extra in [&[][..], &["--print-policy"][..]] {
            let mut cmd = Command::new(util::hardinit());
            cmd.arg("--seccomp").arg(&path).args(extra).args(["--", "true"]);
            let out = util::run_with_timeout(&mut cmd, TIMEOUT);
            out.expect_code(125);
            assert_eq!(
                out.stderr,
                format!(
                    "hardinit: seccomp profile {} refuses {call} to the program ({action}), so it could never start or end; allow {call}\n",
                    path.display()
                ),
                "{json}"
            );
        }
    }
}

#[test]
fn profile_files_must_be_regular_and_small() {
    let fifo = util::scratch_dir("floor-fifo").join("profile.json");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let huge = profile_file(
        "huge.json",
        &format!(
            r#"{{"defaultAction":"SCMP_ACT_ALLOW","x":"{}"}}"#,
            "a".repeat(1 << 20)
        ),
    );
    let dir = util::scratch_dir("floor-dir-profile");
    for (path, why) in [
        (
            PathBuf::from("/dev/zero"),
            "is a character device, not a regular file",
        ),
        (fifo.clone(), "is a FIFO, not a regular file"),
        (dir.clone(), "is a directory, not a regular file"),
        (huge.clone(), "is larger than 1048576 bytes"),
    ] {
        let mut cmd = Command::new(util::hardinit());
        cmd.arg("--seccomp").arg(&path).args(["--", "true"]);
        let out = util::run_with_timeout(&mut cmd, TIMEOUT);
        out.expect_code(125);
        assert_eq!(
            out.stderr,
            format!("hardinit: seccomp profile {} {why}\n", path.display())
        );
        let mut cmd = Command::new(util::hardinit());
        cmd.arg("--export-seccomp").arg(&path);
        util::run_with_timeout(&mut cmd, TIMEOUT).expect_code(125);
    }
    // Just under the limit is read.
    let fits = profile_file(
        "fits.json",
        &format!(
            r#"{{"defaultAction":"SCMP_ACT_ALLOW","x":"{}"}}"#,
            "a".repeat((1 << 20) - 50)
        ),
    );
    let mut cmd = Command::new(util::hardinit());
    cmd.arg("--seccomp").arg(&fits).args(["--", "true"]);
    util::run_with_timeout(&mut cmd, TIMEOUT).expect_code(0);
}

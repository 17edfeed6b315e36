//! Escapes through learning and complain mode (see escapes.rs): the program trying to get
//! hold of the seccomp listener PID 1 serves — pidfd_getfd, ptrace, process_vm_readv,
//! /proc/PID/mem and /proc/PID/fd of its parent, or a listener among its own descriptors to
//! answer its own notifications. With CAP_SYS_PTRACE the kernel's ptrace check passes
//! whatever PID 1's uid and dumpable flag; only a Landlock domain of the program's own still
//! refuses, so without one learning and complain mode refuse to run.

use std::process::Command;
use std::time::Duration;

use crate::util;

const ALL_REFUSED: &str = "pidfd none\nptrace none\nvm none\nmem none\nproc none\nown none\n";

/// Each hardening the attack runs under, with `FILE` standing for the learned profile.
const MODES: [&[&str]; 6] = [
    &["--learn", "FILE"],
    &["--user", "65534", "--learn", "FILE"],
    &["--read-only", "--learn", "FILE"],
    &[
        "--user",
        "65534",
        "--read-only",
        "--writable",
        "/tmp",
        "--learn",
        "FILE",
    ],
    &[
        "--user",
        "65534",
        "--read-only",
        "--writable",
        "/tmp",
        "--seccomp",
        "node",
        "--seccomp-mode",
        "complain",
    ],
    &[
        "--seccomp",
        "default",
        "--seccomp-mode",
        "complain",
        "--learn",
        "FILE",
    ],
];

/// When a flag set puts the program in a Landlock domain on this machine.
#[derive(Clone, Copy)]
enum Domain {
    /// From this ABI on.
    From(u32),
    /// hardinit's own, for a root program keeping no CAP_SYS_ADMIN: from ABI 2 where the
    /// kernel files are masked (a bare domain below ABI 6), else from ABI 6 on (signal
    /// scoping) unless `--landlock-abi` caps it lower.
    Own { capped: bool },
}

impl Domain {
    fn here(self) -> bool {
        match self {
            Domain::From(need) => util::landlock_abi() >= need,
            Domain::Own { capped: true } => util::bare_domain_here(),
            Domain::Own { capped: false } => util::own_mode_domain(),
        }
    }
}

/// The program holds CAP_SYS_PTRACE, in a Landlock domain: hardinit's own (no flag: a bare
/// domain at ABI 2-5 where it masks the kernel files, signal scoping from 6), `--read-only`
/// from ABI 1 on, a port list from ABI 4 on.
const PTRACE_IN_A_DOMAIN: [(Domain, &[&str]); 6] = [
    (
        Domain::Own { capped: false },
        &["--cap-add", "SYS_PTRACE", "--learn", "FILE"],
    ),
    (
        Domain::Own { capped: true },
        &[
            "--cap-add",
            "SYS_PTRACE",
            "--landlock-abi",
            "5",
            "--learn",
            "FILE",
        ],
    ),
    (
        Domain::Own { capped: true },
        &[
            "--cap-add",
            "CAP_SYS_PTRACE,KILL",
            "--landlock-abi",
            "3",
            "--learn",
            "FILE",
            "--learn-all",
        ],
    ),
    (
        Domain::From(1),
        &[
            "--cap-add",
            "SYS_PTRACE",
            "--read-only",
            "--landlock-abi",
            "1",
            "--learn",
            "FILE",
        ],
    ),
    (
        Domain::From(4),
        &[
            "--user",
            "65534",
            "--cap-add",
            "SYS_PTRACE",
            "--allow-connect",
            "1",
            "--landlock-abi",
            "4",
            "--seccomp",
            "node",
            "--seccomp-mode",
            "complain",
        ],
    ),
    // ALL keeps CAP_SYS_ADMIN: no bare domain (the program may mount), signal scoping only.
    (
        Domain::From(6),
        &[
            "--cap-add",
            "ALL",
            "--seccomp",
            "default",
            "--seccomp-mode",
            "complain",
            "--learn",
            "FILE",
        ],
    ),
];

/// The program would hold CAP_SYS_PTRACE in no Landlock domain: no Landlock (ABI 0), ABI 1
/// (no bare domain) and no Landlock flag, a Landlock flag the ABI cannot enforce
/// (best-effort), `ALL` below ABI 6 (it keeps CAP_SYS_ADMIN: no bare domain), as `--user`,
/// learning and complaining.
const PTRACE_OUTSIDE_A_DOMAIN: [&[&str]; 6] = [
    &[
        "--cap-add",
        "SYS_PTRACE",
        "--landlock-abi",
        "0",
        "--learn",
        "FILE",
    ],
    &[
        "--cap-add",
        "SYS_PTRACE",
        "--landlock-abi",
        "1",
        "--learn",
        "FILE",
    ],
    &[
        "--cap-add",
        "SYS_PTRACE",
        "--read-only",
        "--landlock-compat",
        "best-effort",
        "--landlock-abi",
        "0",
        "--learn",
        "FILE",
    ],
    &[
        "--cap-add",
        "CAP_SYS_PTRACE,KILL",
        "--landlock-abi",
        "1",
        "--learn",
        "FILE",
        "--learn-all",
    ],
    &[
        "--user",
        "65534",
        "--cap-add",
        "SYS_PTRACE",
        "--landlock-abi",
        "0",
        "--seccomp",
        "node",
        "--seccomp-mode",
        "complain",
    ],
    &[
        "--cap-add",
        "ALL",
        "--landlock-abi",
        "2",
        "--seccomp",
        "default",
        "--seccomp-mode",
        "complain",
        "--learn",
        "FILE",
    ],
];

/// hardinit with `flags` (`FILE` standing for `file`), as PID 1 of a new PID namespace or not.
fn hardinit_with(as_pid1: bool, flags: &[&str], file: &str) -> (Command, Vec<String>) {
    let flags: Vec<String> = flags
        .iter()
        .map(|f| if *f == "FILE" { file } else { f }.to_string())
        .collect();
    let mut cmd = if as_pid1 {
        let mut c = Command::new("unshare");
        c.args(["--pid", "--fork", "--mount-proc"])
            .arg(util::hardinit());
        c
    } else {
        Command::new(util::hardinit())
    };
    cmd.args(&flags);
    (cmd, flags)
}

/// Runs `probe` with `args` under each of `modes`; each must print `want`.
fn under_modes(
    name: &str,
    modes: &[&[&str]],
    as_pid1: bool,
    probe: &std::path::Path,
    args: &[&str],
    want: &str,
) {
    let dir = util::scratch_dir(&format!("escape-{name}-{as_pid1}"));
    let file = dir.join("p.json").display().to_string();
    for mode in modes {
        let (mut cmd, flags) = hardinit_with(as_pid1, mode, &file);
        cmd.arg("--").arg(probe).args(args);
        let out = util::run_with_timeout(&mut cmd, Duration::from_secs(20));
        out.expect_code(0);
        assert_eq!(out.stdout, want, "{flags:?}\n{out}");
    }
}

fn under_every_mode(name: &str, as_pid1: bool, probe: &std::path::Path, args: &[&str], want: &str) {
    under_modes(name, &MODES, as_pid1, probe, args, want);
}

fn attack(as_pid1: bool) {
    let probe = util::c_probe("grablistener");
    under_every_mode("listener", as_pid1, &probe, &[], ALL_REFUSED);
    // Recording or complaining, the floor still refuses what it always refuses: TIOCSTI on
    // stdin (not a terminal here, so the call would fail ENOTTY if it got through).
    let probe = util::c_probe("syscalls");
    under_every_mode(
        "floor",
        as_pid1,
        &probe,
        &["tiocsti=ioctl:0:0x5412:0"],
        "tiocsti EPERM\n",
    );
}

/// CAP_SYS_PTRACE in a Landlock domain: the domain refuses every try.
fn attack_with_ptrace(as_pid1: bool) {
    let probe = util::c_probe("grablistener");
    let domain: Vec<&[&str]> = PTRACE_IN_A_DOMAIN
        .iter()
        .filter(|m| m.0.here())
        .map(|m| m.1)
        .collect();
    let none: Vec<&[&str]> = PTRACE_IN_A_DOMAIN
        .iter()
        .filter(|m| !m.0.here())
        .map(|m| m.1)
        .collect();
    under_modes("ptrace-domain", &domain, as_pid1, &probe, &[], ALL_REFUSED);
    // Where this kernel's ABI gives the program no domain, the same flags never start it.
    let dir = util::scratch_dir(&format!("escape-ptrace-no-domain-{as_pid1}"));
    let file = dir.join("p.json").display().to_string();
    for mode in none {
        let (mut cmd, flags) = hardinit_with(as_pid1, mode, &file);
        cmd.arg("--").arg(&probe);
        let out = util::run_with_timeout(&mut cmd, Duration::from_secs(20));
        out.expect_code(125);
        assert_eq!(out.stdout, "", "{flags:?}\n{out}");
        assert!(!std::path::Path::new(&file).exists(), "{flags:?}\n{out}");
    }
}

/// CAP_SYS_PTRACE outside any Landlock domain reaches PID 1 (the control, with no listener:
/// the payload is real), so learning and complain mode refuse before anything runs: 125,
/// the reason named, the program never started, FILE never created.
fn refuse_ptrace_outside_a_domain(as_pid1: bool) {
    let probe = util::c_probe("grablistener");
    let dir = util::scratch_dir(&format!("escape-ptrace-refused-{as_pid1}"));
    let file = dir.join("p.json");
    let shown = file.display().to_string();
    let control = ["--cap-add", "SYS_PTRACE", "--landlock-abi", "0"];
    let (mut cmd, _) = hardinit_with(as_pid1, &control, &shown);
    let out = util::run_with_timeout(
        cmd.arg("--seccomp").arg("unconfined").arg("--").arg(&probe),
        Duration::from_secs(20),
    );
    out.expect_code(1);
    let lines: Vec<&str> = out.stdout.lines().collect();
    // /proc/PID/mem also checks the file's mode (PID 1's uid, 0600): no CAP_DAC_OVERRIDE here.
    assert!(lines.len() == 6, "{out}");
    assert!(lines[0].starts_with("pidfd got "), "{out}");
    assert!(lines[1].starts_with("ptrace got "), "{out}");
    assert_eq!(
        lines[2..],
        ["vm got EFAULT", "mem none", "proc none", "own none"],
        "{out}"
    );
    for mode in PTRACE_OUTSIDE_A_DOMAIN {
        let (mut cmd, flags) = hardinit_with(as_pid1, mode, &shown);
        let out = util::run_with_timeout(cmd.arg("--").arg(&probe), Duration::from_secs(20));
        out.expect_code(125);
        assert_eq!(out.stdout, "", "{flags:?}\n{out}");
        assert!(
            out.stderr.contains("hardinit: learning and complain mode: the program would hold CAP_SYS_PTRACE (given by --cap-add) outside any Landlock domain")
                && out.stderr.contains("so it could ptrace hardinit and take the seccomp listener it serves; drop SYS_PTRACE from --cap-add, or give the program a Landlock domain: --read-only, --allow-bind or --allow-connect"),
            "{flags:?}\n{out}"
        );
        assert!(!file.exists(), "{flags:?} created {shown}");
    }
    // The environment's --cap-add is refused the same way.
    let (mut cmd, _) = hardinit_with(as_pid1, &["--landlock-abi", "0"], &shown);
    cmd.env("HARDINIT_CAP_ADD", "SYS_PTRACE")
        .env("HARDINIT_LEARN", &file);
    let out = util::run_with_timeout(cmd.arg("--").arg(&probe), Duration::from_secs(20));
    out.expect_code(125);
    assert!(out.stderr.contains("CAP_SYS_PTRACE (given by --cap-add) outside any Landlock domain (no Landlock flag is enforced and Landlock ABI 0 (lowered by --landlock-abi from "), "{out}");
    assert!(!file.exists());
}

#[test]
fn the_program_cannot_get_the_listener() {
    if !util::privileged("the_program_cannot_get_the_listener") {
        return;
    }
    attack(false);
    attack_with_ptrace(false);
    refuse_ptrace_outside_a_domain(false);
}

#[test]
fn the_program_cannot_get_the_listener_of_pid1() {
    if !util::privileged("the_program_cannot_get_the_listener_of_pid1") {
        return;
    }
    attack(true);
    attack_with_ptrace(true);
    refuse_ptrace_outside_a_domain(true);
}

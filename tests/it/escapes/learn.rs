//! Escapes through learning and complain mode (see escapes.rs): the program trying to get
//! hold of the seccomp listener PID 1 serves — pidfd_getfd, ptrace, /proc/PID/fd of its
//! parent, or a listener among its own descriptors to answer its own notifications.

use std::process::Command;
use std::time::Duration;

use crate::util;

const ALL_REFUSED: &str = "pidfd none\nptrace none\nproc none\nown none\n";

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

/// Runs `probe` with `args` under every mode; each must print `want`.
fn under_every_mode(name: &str, as_pid1: bool, probe: &std::path::Path, args: &[&str], want: &str) {
    let dir = util::scratch_dir(&format!("escape-{name}-{as_pid1}"));
    let file = dir.join("p.json").display().to_string();
    for mode in MODES {
        let flags: Vec<&str> = mode
            .iter()
            .map(|f| if *f == "FILE" { file.as_str() } else { f })
            .collect();
        let mut cmd = if as_pid1 {
            let mut c = Command::new("unshare");
            c.args(["--pid", "--fork", "--mount-proc"])
                .arg(util::hardinit());
            c
        } else {
            Command::new(util::hardinit())
        };
        cmd.args(&flags).arg("--").arg(probe).args(args);
        let out = util::run_with_timeout(&mut cmd, Duration::from_secs(20));
        out.expect_code(0);
        assert_eq!(out.stdout, want, "{flags:?}\n{out}");
    }
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

#[test]
fn the_program_cannot_get_the_listener() {
    if !util::privileged("the_program_cannot_get_the_listener") {
        return;
    }
    attack(false);
}

#[test]
fn the_program_cannot_get_the_listener_of_pid1() {
    if !util::privileged("the_program_cannot_get_the_listener_of_pid1") {
        return;
    }
    attack(true);
}

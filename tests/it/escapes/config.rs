//! Escapes through hardinit's configuration (see escapes.rs): the environment of whoever
//! starts the container, and what the program learns or passes on from it.

use std::process::Command;
use std::time::Duration;

use crate::util;

const SECS: fn(u64) -> Duration = Duration::from_secs;

/// The full hardening, as an image's ENTRYPOINT gives it.
const ENTRYPOINT: [&str; 7] = [
    "--user",
    "65534",
    "--read-only",
    "--writable",
    "/tmp",
    "--seccomp",
    "node",
];

#[test]
fn variables_cannot_undo_the_flags_an_image_gives() {
    if !util::privileged("variables_cannot_undo_the_flags_an_image_gives") {
        return;
    }
    // `docker run -e ...` against an image whose ENTRYPOINT hardens: every variable that names
    // a flag of the ENTRYPOINT asks for less, and none may win.
    let undo = [
        ("HARDINIT_USER", "0"),
        ("HARDINIT_READ_ONLY", "0"),
        ("HARDINIT_WRITABLE", "/"),
        ("HARDINIT_SECCOMP", "unconfined"),
    ];
    let payload = "echo pwned > /etc/hardinit-escape 2>/dev/null; \
                   grep -E '^(Uid|Seccomp):' /proc/self/status";
    let mut cmd = Command::new(util::hardinit());
    cmd.envs(undo)
        .args(ENTRYPOINT)
        .args(["--", "sh", "-c", payload]);
    let out = util::run_with_timeout(&mut cmd, SECS(10));
    out.expect_code(0);
    assert_eq!(
        out.stdout, "Uid:\t65534\t65534\t65534\t65534\nSeccomp:\t2\n",
        "{out}"
    );
    assert!(!std::path::Path::new("/etc/hardinit-escape").exists());
}

#[test]
fn the_program_cannot_pass_the_configuration_on() {
    if !util::privileged("the_program_cannot_pass_the_configuration_on") {
        return;
    }
    // A nested hardinit started by the program (a script that execs `hardinit` again) does
    // not inherit the outer one's configuration: it sees no HARDINIT_* option at all. (As
    // root without CAP_SYS_ADMIN it cannot make /sys read-only: best-effort. The outer one is
    // best-effort too, for kernels below Landlock ABI 4, which refuse the port list.)
    let mut cmd = Command::new(util::hardinit());
    cmd.env("HARDINIT_CAP_ADD", "NET_BIND_SERVICE")
        .env("HARDINIT_ALLOW_BIND", "80")
        .env("HARDINIT_LANDLOCK_COMPAT", "best-effort")
        .args(["--", "sh", "-c"])
        .arg(format!(
            "env | grep -cE '^HARDINIT_(CAP_ADD|ALLOW_BIND)=' ; \
             {} --landlock-compat best-effort --print-policy true | head -1",
            util::hardinit().display()
        ));
    let out = util::run_with_timeout(&mut cmd, SECS(10));
    out.expect_code(0);
    assert_eq!(
        out.stdout, "0\nconfiguration   --grace-period 5 (default)\n",
        "{out}"
    );
}

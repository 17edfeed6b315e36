//! Escapes through what `--seccomp node` now allows by argument (see escapes.rs): prctl only
//! names, nine ioctl requests, setpriority only within what the kernel grants, and the calls
//! refused with ENOSYS that must still be refused. Each payload runs as the program under the
//! full hardening, as PID 1 and not; x86_64 numbers (tests/fixtures/probes/syscalls.c).

use crate::util;
use std::process::Command;
use std::time::Duration;

/// `label=nr:args` payloads and what each must answer under `--seccomp node`.
const PAYLOADS: [(&str, &str); 33] = [
    // prctl: the name operations pass (a NULL buffer then faults in the kernel) ...
    ("prctl_get_name=prctl:16:0", "EFAULT"),
    // ... nothing else: the option is compared on all 64 bits, so PR_SET_NAME with high bits
    // set (which the kernel would read as PR_SET_NAME) is refused too.
    ("prctl_name_high_bits=prctl:0x10000000f:0", "EPERM"),
    ("prctl_set_dumpable=prctl:4:1", "EPERM"),
    ("prctl_set_seccomp=prctl:22:2:0", "EPERM"),
    ("prctl_capbset_drop=prctl:24:0", "EPERM"),
    ("prctl_set_mm=prctl:35:8:0", "EPERM"),
    ("prctl_set_no_new_privs_off=prctl:38:0", "EPERM"),
    // ioctl: typing into the terminal and interface changes stay refused; FICLONE passes.
    ("ioctl_tiocsti=ioctl:0:0x5412:0", "EPERM"),
    ("ioctl_siocsifflags=ioctl:0xffffffff:0x8914:0", "EPERM"),
    ("ioctl_ficlone=ioctl:0xffffffff:0x40049409:0", "EBADF"),
    // The nine requests are one load and a search over the sorted values: each passes, and
    // every neighbour of a value the search splits or ends on is refused.
    // The kernel reads the request as an unsigned int, so high bits change nothing.
    ("ioctl_tcgets=ioctl:0xffffffff:0x5401:0", "EBADF"),
    ("ioctl_tcsets=ioctl:0xffffffff:0x5402:0", "EBADF"),
    ("ioctl_tcsetsw=ioctl:0xffffffff:0x5403:0", "EBADF"),
    ("ioctl_tiocgwinsz=ioctl:0xffffffff:0x5413:0", "EBADF"),
    ("ioctl_siocgifname=ioctl:0xffffffff:0x8910:0", "EBADF"),
    ("ioctl_siocgifindex=ioctl:0xffffffff:0x8933:0", "EBADF"),
    ("ioctl_tiocgptn=ioctl:0xffffffff:0x80045430:0", "EBADF"),
    ("ioctl_fionbio_hi=ioctl:0xffffffff:0x100005421:0", "EBADF"),
    ("ioctl_below_lowest=ioctl:0xffffffff:0x5400:0", "EPERM"),
    ("ioctl_above_tcsets=ioctl:0xffffffff:0x5404:0", "EPERM"),
    ("ioctl_above_tiocgwinsz=ioctl:0xffffffff:0x5414:0", "EPERM"),
    ("ioctl_below_fionbio=ioctl:0xffffffff:0x5420:0", "EPERM"),
    ("ioctl_above_fionbio=ioctl:0xffffffff:0x5422:0", "EPERM"),
    ("ioctl_below_siocgifname=ioctl:0xffffffff:0x890f:0", "EPERM"),
    ("ioctl_above_siocgifname=ioctl:0xffffffff:0x8911:0", "EPERM"),
    ("ioctl_below_ifindex=ioctl:0xffffffff:0x8932:0", "EPERM"),
    ("ioctl_above_ifindex=ioctl:0xffffffff:0x8934:0", "EPERM"),
    ("ioctl_below_ficlone=ioctl:0xffffffff:0x40049408:0", "EPERM"),
    ("ioctl_above_highest=ioctl:0xffffffff:0x80045431:0", "EPERM"),
    ("ioctl_tiocsti_high_bits=ioctl:0:0x100005412:0", "EPERM"),
    // setpriority passes the filter; raising one's priority is the kernel's to refuse.
    ("setpriority_raise=setpriority:0:0:-20", "EACCES"),
    // Refused with ENOSYS so callers fall back: still refused, whatever the arguments.
    ("openat2=openat2:0xffffff9c:0:0:0", "ENOSYS"),
    ("clone3_newuser=clone3:0:0", "ENOSYS"),
];

const HARDENING: [&str; 7] = [
    "--user",
    "65534",
    "--read-only",
    "--writable",
    "/tmp",
    "--seccomp",
    "node",
];

fn run(prefix: &[&str]) -> util::Output {
    let mut cmd = Command::new(prefix[0]);
    cmd.args(&prefix[1..])
        .arg(util::hardinit())
        .args(HARDENING)
        .arg("--")
        .arg(util::c_probe("syscalls"))
        .args(PAYLOADS.iter().map(|(p, _)| *p));
    util::run_with_timeout(&mut cmd, Duration::from_secs(10))
}

#[test]
fn node_profile_argument_rules_hold_against_payloads() {
    if !util::privileged("node_profile_argument_rules_hold_against_payloads") {
        return;
    }
    let want: String = PAYLOADS
        .iter()
        .map(|(p, answer)| format!("{} {answer}\n", p.split('=').next().unwrap()))
        .collect();
    for prefix in [
        &["env"][..],
        &["unshare", "--pid", "--fork", "--mount-proc"][..],
    ] {
        let out = run(prefix);
        out.expect_code(0);
        assert_eq!(out.stdout, want, "{prefix:?}");
    }
}

/// setpriority passes the node filter, but PID 1 keeps a uid of its own (root, the program
/// being 65534): the kernel refuses to lower its priority as much as to raise it.
#[test]
fn the_program_can_neither_lower_nor_raise_pid1s_priority() {
    if !util::privileged("the_program_can_neither_lower_nor_raise_pid1s_priority") {
        return;
    }
    let script = "renice -n 19 -p 1 >/dev/null 2>&1 && echo lowered || echo not-lowered; \
        renice -n 0 -p 1 >/dev/null 2>&1 && echo raised || echo not-raised";
    let mut cmd = Command::new("unshare");
    cmd.args(["--pid", "--fork", "--mount-proc"])
        .arg(util::hardinit())
        .args(HARDENING)
        .args(["--", "sh", "-c", script]);
    let out = util::run_with_timeout(&mut cmd, Duration::from_secs(10));
    out.expect_code(0);
    assert_eq!(out.stdout, "not-lowered\nnot-raised\n");
}

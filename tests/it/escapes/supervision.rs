//! Supervision (vectors 5, 6, 11, 14 and the exec wait of 12): the program cannot act on
//! hardinit in any way — signal, re-limit, renice, reschedule, trace, read or write its
//! /proc files — in every mode, PID 1 or not, and hardinit keeps supervising afterwards;
//! hardinit never spins, serves signals while it waits for the exec, refuses numbers out of
//! range and reads the user databases as bytes, only when it needs them.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::util::{self, Background};

const SECS: fn(u64) -> Duration = Duration::from_secs;

/// The modes the escape suite runs every attack in: (name, hardinit's flags).
fn modes() -> Vec<(&'static str, Vec<&'static str>)> {
    let full = |profile| {
        let flags = ["--user", "65534", "--read-only", "--writable", "/tmp"];
        [&flags[..], &["--seccomp", profile]].concat()
    };
    vec![
        ("no flags", vec![]),
        ("--user", vec!["--user", "1000"]),
        ("--read-only", vec!["--read-only"]),
        ("full hardening, default", full("default")),
        ("full hardening, node", full("node")),
    ]
}

/// hardinit with `args` running `program` in a new PID namespace: as its PID 1, or as the
/// child of the namespace's `sh` (not PID 1). Either way hardinit leads its own process
/// group and session, so what the program sends to "hardinit's group" or to every process
/// (kill -1) can reach nothing of the test's.
fn in_pid_namespace(pid1: bool, args: &[&str], program: &[&OsStr]) -> Command {
    let mut cmd = Command::new("unshare");
    cmd.args(["--pid", "--fork", "--mount-proc", "--kill-child"]);
    if pid1 {
        cmd.arg("setsid");
    } else {
        // `; exit` keeps sh from exec'ing setsid, which would make hardinit PID 1.
        cmd.args(["sh", "-c", r#"setsid -w "$@"; exit $?"#, "sh"]);
    }
    cmd.arg(util::hardinit()).args(args).arg("--").args(program);
    cmd
}

/// The first descendant of `root` named `comm`.
fn find_descendant(root: i32, comm: &str) -> Option<i32> {
    let mut todo = vec![root];
    while let Some(pid) = todo.pop() {
        let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if pid != root && name.trim_end() == comm {
            return Some(pid);
        }
        todo.extend(util::children_of(pid));
    }
    None
}

/// What the `reach_init` probe must print: every attempt refused, no signal passed back.
fn refused(pid1: bool, mode: &str) -> Vec<String> {
    let node = mode.ends_with("node");
    let root_program = !mode.contains("user") && !mode.starts_with("full");
    let mut lines = vec![
        "kill EPERM",
        // The kernel lets SIGCONT through within a session unless Landlock scopes signals
        // (ABI 6); hardinit passes it back to the program (README: What hardinit does not
        // stop).
        if util::landlock_abi() < 6 {
            "kill-CONT ok delivered"
        } else {
            "kill-CONT EPERM"
        },
        "tgkill EPERM",
        "rt_sigqueueinfo EPERM",
        "rt_tgsigqueueinfo EPERM",
        // Opening a pidfd acts on nothing; what it is used for is refused below.
        if node {
            "pidfd_open EPERM"
        } else {
            "pidfd_open ok"
        },
        "pidfd_send_signal EPERM",
        "pidfd_getfd EPERM",
        // As PID 1 hardinit's group is 1: kill(-1) means "every process", tried next.
        if pid1 {
            "kill-pgrp none"
        } else {
            "kill-pgrp EPERM"
        },
        // kill(-1) returns 0 when every target refuses; no "delivered": hardinit got nothing.
        // PID 1 is never a target of kill(-1), so there is none at all.
        if pid1 {
            "kill-all ESRCH"
        } else {
            "kill-all ok"
        },
        "prlimit-get EPERM",
        "prlimit-set EPERM",
        "setpriority EPERM",
        if pid1 {
            "setpriority-pgrp none"
        } else {
            "setpriority-pgrp EPERM"
        },
        // PID 1 stays root for a non-root program, and PRIO_USER 0 names the caller's uid.
        if root_program {
            "setpriority-user EPERM"
        } else {
            "setpriority-user none"
        },
        "sched_setaffinity EPERM",
        "sched_setscheduler EPERM",
        "sched_setparam EPERM",
        "ioprio_set EPERM",
        "process_vm_readv EPERM",
        "process_vm_writev EPERM",
        "ptrace EPERM",
        "kcmp EPERM",
        "get_robust_list EPERM",
        "move_pages EPERM",
        "mem EACCES",
        "environ EACCES",
        "fd EACCES",
        "oom_score_adj EACCES",
        "coredump_filter EACCES",
    ];
    lines.push("waiting");
    lines.into_iter().map(String::from).collect()
}

/// Runs every attack on hardinit in every mode, then checks hardinit still forwards a
/// signal (the probe exits 9 on the SIGUSR1 hardinit passes on).
fn attacks_are_refused(pid1: bool) {
    let probe = util::c_probe("reach_init");
    for (mode, args) in modes() {
        let mut bg = Background::start(&mut in_pid_namespace(pid1, &args, &[probe.as_os_str()]));
        let mut lines = Vec::new();
        while lines.last().map(String::as_str) != Some("waiting") {
            lines.push(bg.next_line(SECS(20)));
        }
        assert_eq!(
            lines,
            refused(pid1, mode),
            "{mode}, PID 1: {pid1}\n{}",
            bg.stderr()
        );
        let init = find_descendant(bg.pid(), "hardinit").expect("hardinit's pid");
        util::send(init, libc::SIGUSR1);
        assert_eq!(
            bg.wait(SECS(10)).code(),
            Some(9),
            "{mode}, PID 1: {pid1}: hardinit no longer supervises\n{}",
            bg.stderr()
        );
    }
}

#[test]
fn the_program_cannot_signal_limit_trace_or_open_hardinit() {
    if !util::privileged("the_program_cannot_signal_limit_trace_or_open_hardinit") {
        return;
    }
    attacks_are_refused(false);
}

#[test]
fn the_program_cannot_signal_limit_trace_or_open_pid_1() {
    if !util::privileged("the_program_cannot_signal_limit_trace_or_open_pid_1") {
        return;
    }
    attacks_are_refused(true);
}

#[test]
fn sigstop_sigkill_and_sigterm_from_the_program_leave_hardinit_supervising() {
    if !util::privileged("sigstop_sigkill_and_sigterm_from_the_program_leave_hardinit_supervising")
    {
        return;
    }
    let probe = util::c_probe("reach_init");
    for pid1 in [false, true] {
        for (mode, args) in modes() {
            let program = [probe.as_os_str(), OsStr::new("lethal")];
            let out =
                util::run_with_timeout(&mut in_pid_namespace(pid1, &args, &program), SECS(20));
            // 7: the probe's own exit code, which only a hardinit alive to reap it reports.
            out.expect_code(7);
            assert_eq!(
                out.stdout, "kill-STOP EPERM\nkill-KILL EPERM\nkill-TERM EPERM\n",
                "{mode}, PID 1: {pid1}\n{out}"
            );
        }
    }
}

/// hardinit in a mount namespace whose /proc is an empty tmpfs (`pid1`: and a new PID
/// namespace, as its PID 1), ending with `--grace-period 0` a program that leaves a sleeper
/// behind, prints the sleeper's pid and exits 3 once its stdin closes.
fn without_proc(pid1: bool) -> (Background, std::process::ChildStdin) {
    let mut cmd = Command::new("unshare");
    if pid1 {
        cmd.args(["--pid", "--fork", "--kill-child"]);
    }
    cmd.args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(r#"mount -t tmpfs none /proc && exec "$@""#)
        .arg("sh")
        .arg(util::hardinit())
        .args(["--grace-period", "0", "--", "sh", "-c"])
        .arg("sleep 600 & echo $!; read x; exit 3");
    Background::start_with_stdin(&mut cmd)
}

#[test]
fn without_proc_the_end_gives_up_instead_of_spinning() {
    if !util::privileged("without_proc_the_end_gives_up_instead_of_spinning") {
        return;
    }
    // As a subreaper hardinit finds what is left in /proc; here it cannot, so SIGKILL
    // rounds reap nothing: it must give up (and say so) rather than try forever.
    let (mut bg, stdin) = without_proc(false);
    let sleeper: i32 = bg.next_line(SECS(10)).parse().unwrap();
    drop(stdin);
    let status = bg.wait(SECS(60));
    let alive = Path::new(&format!("/proc/{sleeper}")).exists();
    // stderr is read by a thread of its own: let it catch up with the last line.
    util::wait_until(SECS(5), || bg.stderr().contains("giving up"));
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(sleeper),
        nix::sys::signal::Signal::SIGKILL,
    );
    let stderr = util::without_scoping_warnings(&bg.stderr());
    assert_eq!(status.code(), Some(3), "{stderr}");
    assert!(alive, "the sleeper was killed after all\n{stderr}");
    // The root warning, then the one that says hardinit gave up.
    assert_eq!(stderr.lines().count(), 2, "{stderr}");
    assert!(
        stderr.ends_with(
            "giving up on the remaining processes: 8 rounds of SIGKILL reaped none of them\n"
        ),
        "{stderr}"
    );

    // As PID 1, kill(-1) needs no /proc: the sleeper dies and nothing is given up.
    let (mut bg, stdin) = without_proc(true);
    bg.next_line(SECS(10));
    drop(stdin);
    assert_eq!(bg.wait(SECS(60)).code(), Some(3), "{}", bg.stderr());
    assert!(!bg.stderr().contains("giving up"), "{}", bg.stderr());
}

#[test]
fn a_sigterm_while_hardinit_waits_for_the_exec_ends_the_child() {
    if !util::privileged("a_sigterm_while_hardinit_waits_for_the_exec_ends_the_child") {
        return;
    }
    // hold_exec keeps hardinit's child stopped before its exec until a signal is pending
    // for it: only a hardinit that serves signals while it waits passes the SIGTERM on.
    let (mut bg, init) = hold_before_exec(&[]);
    util::send(init, libc::SIGTERM);
    assert_eq!(bg.wait(SECS(20)).code(), Some(143), "{}", bg.stderr());
}

/// hardinit under hold_exec with `flags`, its child held before its exec: returns the
/// running pair and hardinit's pid.
fn hold_before_exec(flags: &[&str]) -> (Background, i32) {
    let hold = util::c_probe("hold_exec");
    let mut bg = Background::start(
        Command::new(hold)
            .arg(util::hardinit())
            .args(flags)
            .args(["--", "sleep", "100"]),
    );
    let line = bg.next_line(SECS(10));
    let init: i32 = line.strip_prefix("held ").unwrap().parse().unwrap();
    (bg, init)
}

#[test]
fn the_exec_wait_rewrites_signals_as_the_loop_does() {
    if !util::privileged("the_exec_wait_rewrites_signals_as_the_loop_does") {
        return;
    }
    // A signal read while hardinit waits for the exec (here: forever, the child is held; in
    // real runs: the instant after the program's exec, before PID 1 sees it) is passed as
    // the loop would pass it: SIGTERM arrives as SIGQUIT, and the child dies of that.
    let (mut bg, init) = hold_before_exec(&["--rewrite", "TERM:QUIT"]);
    util::send(init, libc::SIGTERM);
    assert_eq!(
        bg.wait(SECS(20)).code(),
        Some(128 + libc::SIGQUIT),
        "{}",
        bg.stderr()
    );
}

#[test]
fn the_exec_wait_holds_a_first_sigterm_for_the_stop_delay() {
    if !util::privileged("the_exec_wait_holds_a_first_sigterm_for_the_stop_delay") {
        return;
    }
    // --stop-delay 1: the first SIGTERM is held, so nothing is pending for the child right
    // after it; once the delay is over the exec wait forwards it and the child ends.
    let (mut bg, init) = hold_before_exec(&["--stop-delay", "1", "-vv"]);
    util::send(init, libc::SIGTERM);
    assert_eq!(bg.wait(SECS(20)).code(), Some(143), "{}", bg.stderr());
    let stderr = bg.stderr();
    let held = stderr.find("forwarding it in 1 s (--stop-delay");
    let over = stderr.find("stop delay over");
    assert!(held.is_some() && held < over, "{stderr}");

    // A second SIGTERM while the delay runs is forwarded at once, in the exec wait too.
    let (mut bg, init) = hold_before_exec(&["--stop-delay", "3600", "-v"]);
    util::send(init, libc::SIGTERM);
    assert!(
        util::wait_until(SECS(10), || bg.stderr().contains("forwarding it in 3600 s")),
        "{}",
        bg.stderr()
    );
    util::send(init, libc::SIGTERM);
    assert_eq!(bg.wait(SECS(20)).code(), Some(143), "{}", bg.stderr());
    assert!(
        bg.stderr().contains("second SIGTERM: forwarding it now"),
        "{}",
        bg.stderr()
    );
}

#[test]
fn numbers_out_of_range_are_usage_errors_naming_the_flag() {
    for (value, shown) in [
        (
            "9223372036854775807",
            "9223372036854775807 is not in 0..=86400",
        ),
        ("86401", "86401 is not in 0..=86400"),
        ("-1", "unexpected argument '-1' found"),
    ] {
        let out = util::run_hardinit(["--grace-period", value, "true"]);
        out.expect_code(2);
        assert!(
            out.stderr.contains(shown) && !out.stderr.contains("panicked"),
            "{out}"
        );
        if !value.starts_with('-') {
            assert!(out.stderr.contains("'--grace-period <SECONDS>'"), "{out}");
        }
    }
    util::run_hardinit(["--grace-period", "86400", "--seccomp", "unconfined", "true"])
        .expect_code(0);
    // -v counts saturate instead of overflowing.
    let many_v = format!("-{}", "v".repeat(300));
    util::run_hardinit([many_v.as_str(), "--seccomp", "unconfined", "true"]).expect_code(0);
}

#[test]
fn uid_and_gid_minus_one_are_refused() {
    for spec in ["4294967295", "0:4294967295"] {
        let out = util::run_hardinit(["--user", spec, "true"]);
        out.expect_code(125);
        assert_eq!(
            out.stderr, "hardinit: --user: '4294967295' is not a valid id\n",
            "{out}"
        );
    }
    let out = util::run_hardinit(["--groups", "4294967295", "true"]);
    out.expect_code(125);
    assert_eq!(
        out.stderr, "hardinit: --groups: '4294967295' is not a valid id\n",
        "{out}"
    );
}

/// `argv0 ARGS` run with `etc` bind-mounted over /etc in a private mount namespace;
/// `argv0` is hardinit, or a link to it named `tini`.
fn with_etc(etc: &Path, argv0: &Path, args: &[&str]) -> util::Output {
    let mut cmd = Command::new("unshare");
    cmd.args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(r#"mount --bind "$1" /etc && shift && exec "$@""#)
        .arg("sh")
        .arg(etc)
        .arg(argv0)
        .args(args);
    util::run_with_timeout(&mut cmd, SECS(10))
}

#[test]
fn user_databases_are_bytes_and_read_only_when_needed() {
    if !util::privileged("user_databases_are_bytes_and_read_only_when_needed") {
        return;
    }
    let dir = util::scratch_dir("latin1-databases");
    let etc = dir.join("etc");
    std::fs::create_dir(&etc).unwrap();
    std::fs::write(
        etc.join("passwd"),
        b"root:x:0:0:Ren\xe9 the admin:/root:/bin/sh\n\
          j\xf6rg:x:1001:1001:J\xf6rg:/home/j\xf6rg:/bin/sh\n\
          node:x:1000:1000:N\xf6de:/home/node:/bin/sh\n",
    )
    .unwrap();
    std::fs::write(etc.join("group"), b"caf\xe9:x:50:node\nnode:x:1000:\n").unwrap();
    let tini = dir.join("tini");
    std::os::unix::fs::symlink(util::hardinit(), &tini).unwrap();
    let hardinit = util::hardinit();

    with_etc(&etc, &hardinit, &["--", "true"]).expect_code(0);
    with_etc(&etc, &tini, &["--", "true"]).expect_code(0);
    // A named user whose GECOS is Latin-1, with the groups a Latin-1 group lists it in.
    let out = with_etc(
        &etc,
        &hardinit,
        &[
            "--user",
            "node",
            "--",
            "sh",
            "-c",
            "id -u; id -G; echo $HOME",
        ],
    );
    out.expect_code(0);
    assert_eq!(out.stdout, "1000\n1000 50\n/home/node\n", "{out}");
    // A numeric uid whose entry has a Latin-1 name and home: HOME gets the very bytes.
    let out = with_etc(
        &etc,
        &hardinit,
        &[
            "--user",
            "1001",
            "--",
            "sh",
            "-c",
            r#"[ "$HOME" = "$(printf '/home/j\366rg')" ] && id -u"#,
        ],
    );
    out.expect_code(0);
    assert_eq!(out.stdout, "1001\n", "{out}");

    // An unreadable database (here a directory) stops only a start that looks a name up.
    let broken = dir.join("broken-etc");
    std::fs::create_dir_all(broken.join("passwd")).unwrap();
    with_etc(&broken, &hardinit, &["--", "true"]).expect_code(0);
    with_etc(&broken, &tini, &["--", "true"]).expect_code(0);
    let out = with_etc(&broken, &hardinit, &["--user", "0", "--", "true"]);
    out.expect_code(125);
    assert!(
        out.stderr.starts_with("hardinit: cannot read /etc/passwd"),
        "{out}"
    );
}

#[test]
fn the_end_reaches_descendants_that_changed_their_uid() {
    if !util::privileged("the_end_reaches_descendants_that_changed_their_uid") {
        return;
    }
    // A program that keeps CAP_SETUID leaves a sleeper of another uid behind: PID 1, at a
    // uid of its own, must still SIGTERM it (CAP_KILL) and exit once it is gone. The program
    // ends once the sleeper has set its trap (it leaves a file in a directory open to all).
    let dir = util::scratch_dir("supervision-sleeper");
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let leave_sleeper = format!(
        "f={}/ready-$$; setpriv --reuid 4321 --regid 4321 --clear-groups \
         sh -c 'trap \"echo term; exit\" TERM; : >\"$0\"; while :; do sleep 0.1; done' \"$f\" & \
         while [ ! -e \"$f\" ]; do sleep 0.05; done; rm -f \"$f\"",
        dir.display()
    );
    for pid1 in [false, true] {
        for args in [
            &["--cap-add", "SETUID,SETGID"][..],
            &["--user", "1000", "--cap-add", "SETUID,SETGID"],
        ] {
            let mut cmd = in_pid_namespace(
                pid1,
                args,
                &[
                    OsStr::new("sh"),
                    OsStr::new("-c"),
                    OsStr::new(&leave_sleeper),
                ],
            );
            let out = util::run_with_timeout(&mut cmd, SECS(30));
            out.expect_code(0);
            assert_eq!(out.stdout, "term\n", "{args:?}, PID 1: {pid1}\n{out}");
            assert!(!out.stderr.contains("cannot signal"), "{out}");
        }
    }
}

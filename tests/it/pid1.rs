//! Issue 2: the tini-compatible PID 1 — reaping, signals, exit codes, the end of a run.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::{self, Background};

const SECS: fn(u64) -> Duration = Duration::from_secs;

/// A program that leaves `n` orphans (each `sleep` outlives the subshell that started it)
/// and exits 7 while they still run.
fn orphan_maker(n: u32) -> String {
    format!("i=0; while [ $i -lt {n} ]; do (sleep 0.5 &); i=$((i+1)); done; exit 7")
}

fn count_reaped(stderr: &str) -> usize {
    stderr.matches("Reaped zombie process with pid=").count()
}

#[test]
fn subreaper_reaps_every_orphan_and_keeps_the_exit_code() {
    let mut cmd = Command::new(util::hardinit());
    cmd.args(["-w", "--", "sh", "-c", &orphan_maker(1000)]);
    let out = util::run_with_timeout(&mut cmd, SECS(60));
    out.expect_code(7);
    assert_eq!(count_reaped(&out.stderr), 1000, "{out}");
}

#[test]
fn pid1_reaps_every_orphan_and_keeps_the_exit_code() {
    if !util::privileged("pid1_reaps_every_orphan_and_keeps_the_exit_code") {
        return;
    }
    let mut cmd = Command::new("unshare");
    cmd.args(["--pid", "--fork", "--mount-proc"])
        .arg(util::hardinit())
        .args(["-w", "--", "sh", "-c", &orphan_maker(1000)]);
    let out = util::run_with_timeout(&mut cmd, SECS(60));
    out.expect_code(7);
    assert_eq!(count_reaped(&out.stderr), 1000, "{out}");
    assert!(
        out.stderr.contains("hardinit (1)]"),
        "hardinit was not PID 1\n{out}"
    );
}

/// Every signal 1..=64 that a process can catch, but SIGCHLD (hardinit's own business).
fn forwardable_signals() -> Vec<i32> {
    (1..=64)
        .filter(|s| ![libc::SIGKILL, libc::SIGSTOP, libc::SIGCHLD].contains(s))
        .collect()
}

#[test]
fn every_catchable_signal_reaches_the_program() {
    let signals = forwardable_signals();
    let probe = util::c_probe("sigecho");
    let mut init = Background::start(
        Command::new(util::hardinit())
            .arg("--")
            .arg(&probe)
            .arg(signals.len().to_string()),
    );
    assert_eq!(init.next_line(SECS(10)), "ready");
    for &sig in &signals {
        util::send(init.pid(), sig);
        assert_eq!(init.next_line(SECS(10)), sig.to_string(), "signal {sig}");
    }
    let status = init.wait(SECS(10));
    assert_eq!(status.code(), Some(0), "{}", init.stderr());
}

#[test]
fn sigsegv_sent_with_kill_is_forwarded_not_fatal() {
    let probe = util::c_probe("sigecho");
    let mut init = Background::start(Command::new(util::hardinit()).arg(&probe).arg("2"));
    assert_eq!(init.next_line(SECS(10)), "ready");
    util::send(init.pid(), libc::SIGSEGV);
    assert_eq!(init.next_line(SECS(10)), libc::SIGSEGV.to_string());
    util::send(init.pid(), libc::SIGBUS);
    assert_eq!(init.next_line(SECS(10)), libc::SIGBUS.to_string());
    assert_eq!(init.wait(SECS(10)).code(), Some(0));
}

#[test]
fn group_mode_reaches_a_grandchild() {
    let probe = util::c_probe("sigecho");
    // sh ignores SIGUSR1, so only the group-wide delivery can reach the probe.
    let script = format!("trap '' USR1; {} 1 & wait", probe.display());
    let mut init =
        Background::start(Command::new(util::hardinit()).args(["-g", "sh", "-c", &script]));
    assert_eq!(init.next_line(SECS(10)), "ready");
    util::send(init.pid(), libc::SIGUSR1);
    assert_eq!(init.next_line(SECS(10)), libc::SIGUSR1.to_string());
    assert_eq!(init.wait(SECS(10)).code(), Some(0));
}

#[test]
fn exit_codes_pass_through() {
    for code in 0..=255 {
        util::run_hardinit(["sh", "-c", &format!("exit {code}")]).expect_code(code);
    }
}

#[test]
fn death_by_signal_is_128_plus_n() {
    util::run_hardinit(["sh", "-c", "kill -TERM $$"]).expect_code(143);
    util::run_hardinit(["sh", "-c", "kill -SEGV $$"]).expect_code(139);
    util::run_hardinit(["sh", "-c", "kill -40 $$"]).expect_code(168);
}

#[test]
fn dash_e_maps_codes_to_zero() {
    util::run_hardinit(["-e", "3", "-e", "143", "sh", "-c", "exit 3"]).expect_code(0);
    util::run_hardinit(["-e", "3", "-e", "143", "sh", "-c", "kill -TERM $$"]).expect_code(0);
    util::run_hardinit(["-e", "3", "sh", "-c", "exit 4"]).expect_code(4);
    let out = util::run_hardinit(["-e", "256", "true"]);
    out.expect_code(2);
    assert!(out.stderr.contains("256"), "{out}");
}

#[test]
fn program_not_found_or_not_executable() {
    let out = util::run_hardinit(["no-such-program-hardinit"]);
    out.expect_code(127);
    assert_eq!(
        out.stderr.trim_end().lines().last(),
        Some(
            "hardinit: cannot execute no-such-program-hardinit: No such file or directory (ENOENT)"
        ),
        "{out}"
    );
    let out = util::run_hardinit(["/etc/passwd"]);
    out.expect_code(126);
    assert_eq!(
        out.stderr.trim_end().lines().last(),
        Some("hardinit: cannot execute /etc/passwd: Permission denied (EACCES)"),
        "{out}"
    );
}

#[test]
fn usage_errors_exit_2_and_setup_errors_125() {
    util::run_hardinit(["--no-such-flag", "true"]).expect_code(2);
    let out = util::run_hardinit(Vec::<&str>::new());
    out.expect_code(125);
    assert_eq!(
        out.stderr,
        "hardinit: no program given (see hardinit --help)\n"
    );
    let out = util::run_hardinit(["-p", "SIGNOPE", "true"]);
    out.expect_code(125);
    assert_eq!(out.stderr, "hardinit: -p: unknown signal 'SIGNOPE'\n");
}

#[test]
fn options_stop_at_the_first_non_option() {
    let out = util::run_hardinit(["echo", "-l", "--version"]);
    out.expect_code(0);
    assert_eq!(out.stdout, "-l --version\n");
    let out = util::run_hardinit(["--", "sh", "-c", "exit 3"]);
    out.expect_code(3);
}

#[test]
fn leftover_descendants_get_sigterm_then_sigkill_after_the_grace_period() {
    // The descendant ignores SIGTERM; only SIGKILL after the grace period ends it. The
    // program exits only once the descendant has set its trap (a file says so): otherwise
    // the SIGTERM could come first and end it at once.
    let flag = util::scratch_dir("grace-trap").join("trapped");
    let script = format!(
        "(trap '' TERM; : > {f}; exec sleep 30) & while [ ! -e {f} ]; do sleep 0.01; done; exit 4",
        f = flag.display()
    );
    let start = Instant::now();
    let out = util::run_hardinit(["--grace-period", "1", "sh", "-c", &script]);
    let took = start.elapsed();
    out.expect_code(4);
    assert!(
        took >= SECS(1),
        "SIGKILL came before the grace period ended ({took:?})\n{out}"
    );
    assert!(
        took < SECS(8),
        "the descendant was not killed ({took:?})\n{out}"
    );
    // A descendant that honours SIGTERM ends at once, well inside the grace period.
    let start = Instant::now();
    util::run_hardinit(["sh", "-c", "sleep 30 & exit 5"]).expect_code(5);
    assert!(
        start.elapsed() < SECS(4),
        "SIGTERM was not sent ({:?})",
        start.elapsed()
    );
}

#[test]
fn grace_period_zero_kills_at_once() {
    let start = Instant::now();
    util::run_hardinit([
        "--grace-period",
        "0",
        "sh",
        "-c",
        "(trap '' TERM; sleep 30) & exit 6",
    ])
    .expect_code(6);
    assert!(start.elapsed() < SECS(4), "took {:?}", start.elapsed());
}

#[test]
fn idle_supervisor_never_wakes_up() {
    let mut init = Background::start(Command::new(util::hardinit()).args(["sleep", "30"]));
    // Settled: the program runs, and hardinit had time to enter its loop (longer on the
    // emulated CPU of the arm64 VM).
    let running = || {
        util::children_of(init.pid()).iter().any(|&c| {
            std::fs::read_to_string(format!("/proc/{c}/comm")).is_ok_and(|n| n == "sleep\n")
        })
    };
    assert!(util::wait_until(SECS(10), running), "{}", init.stderr());
    std::thread::sleep(Duration::from_millis(500) * util::timeout_factor());
    let before = util::status_field(init.pid(), "voluntary_ctxt_switches").unwrap();
    std::thread::sleep(SECS(3));
    let after = util::status_field(init.pid(), "voluntary_ctxt_switches").unwrap();
    assert_eq!(
        before,
        after,
        "hardinit woke up while idle\n{}",
        init.stderr()
    );
    util::send(init.pid(), libc::SIGTERM);
    assert_eq!(init.wait(SECS(10)).code(), Some(143));
}

#[test]
fn program_inherits_the_original_mask_and_ignored_signals() {
    let setup = util::c_probe("sigsetup");
    let mut cmd = Command::new(&setup);
    cmd.arg(util::hardinit())
        .args(["grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status"]);
    let out = util::run_with_timeout(&mut cmd, SECS(10));
    out.expect_code(0);
    // SigBlk: SIGUSR1 (10) and signal 40; SigIgn: SIGHUP (1) and SIGPIPE (13) — and not
    // hardinit's own SIGTTIN/SIGTTOU.
    assert_eq!(
        out.stdout, "SigBlk:\t0000008000000200\nSigIgn:\t0000000000001001\n",
        "{out}"
    );
}

#[test]
fn program_takes_the_terminal_and_gets_ctrl_c() {
    if util::require_tool("program_takes_the_terminal_and_gets_ctrl_c", "script").is_none() {
        return;
    }
    // Fields 5 and 8 of /proc/self/stat are the process group and the terminal's
    // foreground group: equal only if hardinit handed the terminal to the program.
    let program = "read -r _ _ _ _ pgrp _ _ tpgid _ < /proc/self/stat; \
                   trap 'echo got-INT; exit 0' INT; echo \"fg=$([ $pgrp = $tpgid ] && echo yes || echo no)\"; \
                   while :; do sleep 0.1; done";
    let command = format!(
        "{} --user 65534 -- sh -c \"{}\"",
        util::hardinit().display(),
        program.replace('"', "\\\"")
    );
    let mut cmd = Command::new("script");
    cmd.args(["-qfec", &command, "/dev/null"]);
    let (mut init, mut stdin) = Background::start_with_stdin(&mut cmd);
    // The terminal shows hardinit's stderr too: a kernel below Landlock ABI 6 warns first.
    let first = loop {
        let line = init.next_line(SECS(10));
        if !util::without_scoping_warnings(line.trim_end()).is_empty() {
            break line;
        }
    };
    assert_eq!(first.trim_end(), "fg=yes");
    use std::io::Write;
    stdin.write_all(b"\x03").unwrap();
    stdin.flush().unwrap();
    // The terminal echoes the ^C before the program's answer.
    assert_eq!(
        init.next_line(SECS(10)).trim_end().trim_start_matches("^C"),
        "got-INT"
    );
    assert_eq!(init.wait(SECS(10)).code(), Some(0), "{}", init.stderr());
}

#[test]
fn program_dies_with_a_killed_hardinit() {
    let mut init = Background::start(Command::new(util::hardinit()).args(["sleep", "60"]));
    let mut program = Vec::new();
    assert!(util::wait_until(SECS(5), || {
        program = util::children_of(init.pid());
        !program.is_empty()
    }));
    let program = program[0];
    util::send(init.pid(), libc::SIGKILL);
    init.wait(SECS(5));
    assert!(
        util::wait_until(SECS(5), || !std::path::Path::new(&format!(
            "/proc/{program}"
        ))
        .exists()
            || util::status_field(program, "State")
                .is_some_and(|s| s.starts_with('Z'))),
        "the program outlived hardinit"
    );
}

#[test]
fn tini_named_invocation_prints_tini_style_version() {
    let dir = util::scratch_dir("tini-name");
    for name in ["tini", "docker-init"] {
        let link = dir.join(name);
        std::os::unix::fs::symlink(util::hardinit(), &link).unwrap();
        let out = util::run_with_timeout(Command::new(&link).arg("--version"), SECS(10));
        out.expect_code(0);
        assert_eq!(
            out.stdout,
            format!("tini version {} - hardinit\n", env!("CARGO_PKG_VERSION"))
        );
    }
    let out = util::run_hardinit(["--version"]);
    assert_eq!(
        out.stdout,
        format!("hardinit {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn license_and_help() {
    let out = util::run_hardinit(["-l"]);
    out.expect_code(0);
    assert!(out.stdout.starts_with("hardinit is dual-licensed"), "{out}");
    assert!(
        out.stdout.contains("MIT License") && out.stdout.contains("Apache License"),
        "{out}"
    );
    let out = util::run_hardinit(["--help"]);
    out.expect_code(0);
    assert!(out.stdout.contains("Exit status:"), "{out}");
}

#[test]
fn supervisor_moves_to_root_and_closes_inherited_fds() {
    let dir = util::scratch_dir("cwd");
    let mut cmd = Command::new("sh");
    // fd 7 is open in hardinit's parent and so in hardinit; the program keeps it and its cwd.
    cmd.current_dir(&dir).args([
        "-c",
        &format!(
            "exec 7</etc/passwd; exec {} -- sleep 30",
            util::hardinit().display()
        ),
    ]);
    let mut init = Background::start(&mut cmd);
    let mut program = Vec::new();
    assert!(util::wait_until(SECS(5), || {
        program = util::children_of(init.pid());
        !program.is_empty()
    }));
    assert!(util::wait_until(SECS(5), || std::fs::read_link(format!(
        "/proc/{}/cwd",
        init.pid()
    ))
    .is_ok_and(|p| p == std::path::Path::new("/"))));
    let fds = |pid: i32| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    // It moves to / first and closes the fds next: wait for both (a slow CPU shows the gap).
    let mut supervisor_fds = Vec::new();
    util::wait_until(SECS(5), || {
        supervisor_fds = fds(init.pid());
        supervisor_fds == ["0", "1", "2"]
    });
    assert_eq!(supervisor_fds, ["0", "1", "2"], "{}", init.stderr());
    assert!(fds(program[0]).contains(&"7".to_string()));
    assert_eq!(
        std::fs::read_link(format!("/proc/{}/cwd", program[0])).unwrap(),
        dir
    );
    util::send(init.pid(), libc::SIGTERM);
    init.wait(SECS(10));
}

#[test]
fn dash_p_gives_hardinit_a_parent_death_signal() {
    // sh starts hardinit in the background and prints its pid; killing sh must take
    // hardinit (and so the program) down with it.
    let script = format!(
        "{} -p SIGKILL -- sleep 60 & echo $!; wait",
        util::hardinit().display()
    );
    let mut parent = Background::start(Command::new("sh").args(["-c", &script]));
    let init: i32 = parent.next_line(SECS(10)).parse().unwrap();
    assert!(util::wait_until(SECS(5), || !util::children_of(init).is_empty()));
    util::send(parent.pid(), libc::SIGKILL);
    parent.wait(SECS(5));
    let gone = |pid: i32| util::status_field(pid, "State").is_none_or(|s| s.starts_with('Z'));
    assert!(
        util::wait_until(SECS(5), || gone(init)),
        "hardinit outlived its parent"
    );
}

/// (start, end, perms, Rss kB) of each mapping of `path` in `pid`'s smaps.
fn mappings_of(pid: i32, path: &str) -> Vec<(u64, u64, String, u64)> {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap();
    let mut found: Vec<(u64, u64, String, u64)> = Vec::new();
    let mut current = false;
    for line in smaps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if let Some((start, end)) = fields.first().and_then(|r| r.split_once('-')) {
            if let (Ok(start), Ok(end)) =
                (u64::from_str_radix(start, 16), u64::from_str_radix(end, 16))
            {
                current = fields.get(5) == Some(&path);
                if current {
                    found.push((start, end, fields[1].to_string(), 0));
                }
                continue;
            }
        }
        if current && fields.first() == Some(&"Rss:") {
            found.last_mut().unwrap().3 = fields[1].parse().unwrap();
        }
    }
    found
}

/// Issue 18: as PID 1, once the program runs, hardinit gives back the pages set-up read.
/// Its text is split into one mapping per page, so a fault maps (and the kernel reads)
/// one page only; without the page-out the text stays mapped as set-up touched it.
#[test]
fn pid1_gives_back_its_binary_one_page_at_a_time() {
    if !util::privileged("pid1_gives_back_its_binary_one_page_at_a_time") {
        return;
    }
    let mut outer = Background::start(
        Command::new("unshare")
            .args(["--pid", "--fork", "--mount-proc"])
            .arg(util::hardinit())
            .args(util::FULL_HARDENING)
            .args(["--", "sh", "-c", "echo ready; sleep 30"]),
    );
    assert_eq!(outer.next_line(SECS(20)), "ready");
    std::thread::sleep(Duration::from_millis(300));
    let init = util::children_of(outer.pid())[0];
    let binary = std::fs::canonicalize(util::hardinit()).unwrap();
    let maps = mappings_of(init, binary.to_str().unwrap());
    let text: Vec<_> = maps.iter().filter(|m| m.2.contains('x')).collect();
    assert!(text.len() > 100, "{maps:?}");
    assert!(text.iter().all(|m| m.1 - m.0 == 4096), "{maps:?}");
    let (resident, size): (u64, u64) = text
        .iter()
        .fold((0, 0), |(r, s), m| (r + m.3, s + (m.1 - m.0) / 1024));
    assert!(
        resident * 4 < size,
        "{resident} of {size} kB of text resident"
    );
    util::send(init, libc::SIGTERM);
    outer.wait(SECS(10));
}

//! Issue 5: Landlock — a read-only filesystem with writable paths, TCP port allow-lists and
//! signal scoping, on the real kernel. Every restriction is applied to a hardinit child, never
//! to this test process.

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::util::{self, Output};

const TIMEOUT: Duration = Duration::from_secs(10);

/// Runs hardinit with `args` and the extra environment `env`.
#[track_caller]
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(util::hardinit());
    cmd.args(args).env_remove("HARDINIT_LANDLOCK_ABI");
    for (k, v) in env {
        cmd.env(k, v);
    }
    util::run_with_timeout(&mut cmd, TIMEOUT)
}

fn kernel_abi() -> u32 {
    util::landlock_abi()
}

/// The warning of a Landlock launch on a kernel below ABI 6.
fn scoping_gap() -> String {
    format!(
        "landlock: not enforced: {} (needs ABI 6)",
        hardinit::policy::landlock::SCOPING_GAP
    )
}

/// stderr without the log prefix "[WARN  hardinit (PID)] ", without the warning every root
/// launch without --user gets and without the warnings of `util::landlock_abi_warnings`
/// (which `read_only_on_this_kernel_warns_of_exactly_what_its_abi_lacks` checks), none of
/// which is what these tests are about.
fn stderr_lines(out: &Output) -> Vec<String> {
    util::without_scoping_warnings(&out.stderr)
        .lines()
        .map(|l| util::without_log_prefix(l).to_string())
        .filter(|l| l != "running as root; pass --user")
        .collect()
}

/// A loopback TCP port nobody listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn tcp_probe() -> String {
    util::c_probe("tcp").to_str().unwrap().to_string()
}

#[test]
fn read_only_denies_writes_outside_the_writable_paths() {
    if !util::privileged("read_only_denies_writes_outside_the_writable_paths") {
        return;
    }
    // As root, whom permission bits never stop: an EACCES can only come from Landlock.
    let outside = "/hardinit-landlock-test.txt";
    let out = run(
        &["--read-only", "--writable", "/tmp", "--", "touch", outside],
        &[],
    );
    let created = Path::new(outside).exists();
    let _ = std::fs::remove_file(outside);
    out.expect_code(1);
    assert!(!created, "{outside} was created\n{out}");
    assert_eq!(
        stderr_lines(&out),
        [format!(
            "touch: cannot touch '{outside}': Permission denied"
        )],
        "{out}"
    );

    let inside = format!("/tmp/hardinit-landlock-{}", std::process::id());
    let out = run(
        &["--read-only", "--writable", "/tmp", "--", "touch", &inside],
        &[],
    );
    let created = Path::new(&inside).exists();
    let _ = std::fs::remove_file(&inside);
    out.expect_code(0);
    assert!(created, "{inside} was not created\n{out}");
}

#[test]
fn read_only_still_reads_everything_and_writes_dev_null() {
    let out = run(
        &[
            "--read-only",
            "--",
            "sh",
            "-c",
            "echo discarded >/dev/null && cat /etc/passwd",
        ],
        &[],
    );
    out.expect_code(0);
    assert_eq!(out.stdout, std::fs::read_to_string("/etc/passwd").unwrap());
    assert_eq!(stderr_lines(&out), Vec::<String>::new(), "{out}");
}

#[test]
fn writable_paths_are_not_executable_unless_writable_exec() {
    let dir = util::scratch_dir("landlock-noexec");
    let program = dir.join("true");
    std::fs::copy("/bin/true", &program).unwrap();
    let (dir_s, program_s) = (dir.to_str().unwrap(), program.to_str().unwrap());

    let out = run(&["--read-only", "--writable", dir_s, "--", program_s], &[]);
    out.expect_code(126);
    assert_eq!(
        stderr_lines(&out),
        [format!(
            "hardinit: cannot execute {program_s}: Permission denied (EACCES)"
        )],
        "{out}"
    );

    run(
        &["--read-only", "--writable-exec", dir_s, "--", program_s],
        &[],
    )
    .expect_code(0);
    // Without Landlock the very same file runs: the denial above is Landlock's.
    run(&["--", program_s], &[]).expect_code(0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_missing_writable_path_is_an_error() {
    let out = run(
        &[
            "--read-only",
            "--writable",
            "/nonexistent/hardinit-landlock",
            "--",
            "true",
        ],
        &[],
    );
    out.expect_code(125);
    assert_eq!(
        stderr_lines(&out),
        [
            "hardinit: --writable: cannot open /nonexistent/hardinit-landlock",
            "  caused by: ENOENT: No such file or directory",
        ],
        "{out}"
    );
}

/// Runs the tcp probe's `call` (bind or connect) on `port` under `--FLAG ALLOWED` and returns
/// its one line of output.
#[track_caller]
fn probe_tcp(flag: &str, allowed: &str, call: &str, port: &str) -> String {
    let out = run(&[flag, allowed, "--", &tcp_probe(), call, port], &[]);
    assert_eq!(stderr_lines(&out), Vec::<String>::new(), "{out}");
    out.stdout
}

/// Below ABI 4 a port list cannot be enforced: the launch stops (the default, hard) with
/// this message. True when the test is done.
fn port_lists_refused_below_abi_4(flag: &str, call: &str) -> bool {
    let abi = kernel_abi();
    if abi >= 4 {
        return false;
    }
    let out = run(&[flag, "1", "--", &tcp_probe(), call, "1"], &[]);
    out.expect_code(125);
    let what = if flag == "--allow-bind" {
        "bind"
    } else {
        "connect"
    };
    assert_eq!(
        stderr_lines(&out),
        [format!("hardinit: Landlock ABI {abi} cannot enforce the TCP {what} allow-list ({flag}, needs ABI 4); pass --landlock-compat best-effort to run without it")],
        "{out}"
    );
    true
}

#[test]
fn allow_bind_denies_every_other_port() {
    if port_lists_refused_below_abi_4("--allow-bind", "bind") {
        return;
    }
    let (allowed, other) = (free_port().to_string(), free_port().to_string());
    assert_eq!(
        probe_tcp("--allow-bind", &allowed, "bind", &allowed),
        "ok\n"
    );
    assert_eq!(
        probe_tcp("--allow-bind", &allowed, "bind", &other),
        format!("bind {other}: EACCES\n")
    );
}

#[test]
fn allow_connect_denies_every_other_port() {
    if port_lists_refused_below_abi_4("--allow-connect", "connect") {
        return;
    }
    // Both ports have a listener, so only Landlock can refuse the second (EACCES, not
    // ECONNREFUSED); the kernel completes the handshakes without accept().
    let listeners = [
        TcpListener::bind("127.0.0.1:0").unwrap(),
        TcpListener::bind("127.0.0.1:0").unwrap(),
    ];
    let [allowed, other] = listeners
        .each_ref()
        .map(|l| l.local_addr().unwrap().port().to_string());
    assert_eq!(
        probe_tcp("--allow-connect", &allowed, "connect", &allowed),
        "ok\n"
    );
    assert_eq!(
        probe_tcp("--allow-connect", &allowed, "connect", &other),
        format!("connect {other}: EACCES\n")
    );
}

#[test]
fn an_older_abi_fails_hard_or_warns_and_runs_unrestricted() {
    let probe = tcp_probe();
    let (allowed, other) = (free_port().to_string(), free_port().to_string());
    let out = run(
        &[
            "--landlock-abi",
            "3",
            "--allow-bind",
            &allowed,
            "--",
            &probe,
            "bind",
            &other,
        ],
        &[],
    );
    out.expect_code(125);
    assert_eq!(out.stdout, "");
    let kernel = hardinit::sys::landlock_abi().unwrap();
    // --landlock-abi only lowers: on a kernel below ABI 3 the kernel's ABI is the one named.
    let abi = if kernel > 3 {
        format!("Landlock ABI 3 (--landlock-abi; the kernel has {kernel})")
    } else {
        format!("Landlock ABI {kernel}")
    };
    assert_eq!(
        stderr_lines(&out),
        [format!("hardinit: {abi} cannot enforce the TCP bind allow-list (--allow-bind, needs ABI 4); pass --landlock-compat best-effort to run without it")],
        "{out}"
    );

    let out = run(
        &[
            "--landlock-abi",
            "3",
            "--allow-bind",
            &allowed,
            "--landlock-compat",
            "best-effort",
            "--",
            &probe,
            "bind",
            &other,
        ],
        &[],
    );
    out.expect_code(0);
    // The bind that ABI 4 would deny succeeds: the warning tells the truth.
    assert_eq!(out.stdout, "ok\n");
    // The scoping warning, which the kernel's own ABI may imply already (then stderr_lines
    // drops it), comes from the lowered ABI too.
    let mut want = vec![
        "landlock: not enforced: the TCP bind allow-list (--allow-bind, needs ABI 4)".to_string(),
    ];
    if kernel_abi() >= 6 {
        want.push(scoping_gap());
    }
    assert_eq!(stderr_lines(&out), want, "{out}");
    assert!(out.stderr.contains(&scoping_gap()), "{out}");
}

#[test]
fn read_only_on_this_kernel_warns_of_exactly_what_its_abi_lacks() {
    if !util::privileged("read_only_on_this_kernel_warns_of_exactly_what_its_abi_lacks") {
        return;
    }
    // As root, whom permission bits never stop. The two calls that truncate without a write
    // open: truncate(2) by path, and an open with O_TRUNC but read access only (a write open
    // is denied from ABI 1 on). Landlock refuses them from ABI 3 on, the seccomp floor below.
    let dir = util::scratch_dir("landlock-truncate");
    let writable = util::scratch_dir("landlock-truncate-writable");
    let (by_path, by_open, inside) = (
        dir.join("by-path"),
        dir.join("by-open"),
        writable.join("in"),
    );
    for victim in [&by_path, &by_open, &inside] {
        std::fs::write(victim, "content").unwrap();
    }
    let mut cmd = Command::new(util::hardinit());
    cmd.args(["--read-only", "--writable"])
        .arg(&writable)
        .arg("--")
        .arg(util::c_probe("syscalls"))
        .arg(format!("truncate=truncate@{}", by_path.display()))
        .arg(format!("otrunc=otrunc@{}", by_open.display()))
        .arg(format!("inside=truncate@{}", inside.display()));
    let out = util::run_with_timeout(&mut cmd, TIMEOUT);
    out.expect_code(0);
    let warnings: Vec<String> = out
        .stderr
        .lines()
        .map(util::without_log_prefix)
        .filter(|m| m.starts_with("landlock: "))
        .map(str::to_string)
        .collect();
    assert_eq!(warnings, util::landlock_abi_warnings(true), "{out}");
    let left = |p: &Path| std::fs::read_to_string(p).unwrap();
    assert_eq!(
        (left(&by_path), left(&by_open)),
        ("content".into(), "content".into())
    );
    let floor = run(&["--print-policy", "--read-only", "--", "true"], &[]);
    let refusal = "with --read-only on Landlock ABI 1-2 (no truncate right): truncate(2), and open/openat with O_TRUNC but no write access: errno 13 (EACCES)";
    if kernel_abi() >= 3 {
        assert_eq!(
            out.stdout, "truncate EACCES\notrunc EACCES\ninside ok\n",
            "{out}"
        );
        assert_eq!(left(&inside), "");
        assert!(!floor.stdout.contains(refusal), "{floor}");
    } else {
        // The floor cannot see paths: truncate(2) answers EACCES in the writable paths too.
        assert_eq!(
            out.stdout, "truncate EACCES\notrunc EACCES\ninside EACCES\n",
            "{out}"
        );
        assert_eq!(left(&inside), "content");
        assert!(floor.stdout.contains(refusal), "{floor}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&writable).unwrap();
}

#[test]
fn the_program_cannot_signal_hardinit_but_can_signal_its_children() {
    let kill_parent = ["sh", "-c", "kill -0 $PPID"];
    let out = run(&[&["--read-only", "--"][..], &kill_parent].concat(), &[]);
    // hardinit runs at a uid the program lacks: refused on every kernel.
    out.expect_code(1);
    assert_eq!(
        stderr_lines(&out),
        // dash follows its kill error with an empty line.
        ["sh: 1: kill: Operation not permitted", ""],
        "{out}"
    );
    // Without a Landlock flag too: hardinit scopes signals in its own mode.
    let out = run(&[&["--"][..], &kill_parent].concat(), &[]);
    out.expect_code(1);
    assert_eq!(
        stderr_lines(&out),
        ["sh: 1: kill: Operation not permitted", ""],
        "{out}"
    );
    expect_sigcont_scoped(&run(
        &["--read-only", "--", "sh", "-c", "kill -CONT $PPID"],
        &[],
    ));
    expect_sigcont_scoped(&run(&["--", "sh", "-c", "kill -CONT $PPID"], &[]));

    // Its own children it can signal, in a domain (port lists need ABI 4; --read-only does).
    let domain: &[&str] = if kernel_abi() >= 4 {
        &["--allow-connect", "1"]
    } else {
        &["--read-only"]
    };
    let out = run(
        &[
            domain,
            &["--", "sh", "-c", "sleep 10 & kill $!; wait $!; echo $?"],
        ]
        .concat(),
        &[],
    );
    out.expect_code(0);
    assert_eq!(out.stdout, "143\n");
}

#[test]
fn the_program_cannot_signal_pid_1() {
    if !util::privileged("the_program_cannot_signal_pid_1")
        || util::require_tool("the_program_cannot_signal_pid_1", "unshare").is_none()
    {
        return;
    }
    let in_pid_namespace = |landlock: &[&str]| {
        let mut cmd = Command::new("unshare");
        cmd.args(["--pid", "--fork", "--mount-proc"])
            .arg(util::hardinit())
            .args(landlock)
            .args(["--", "sh", "-c", "kill -0 1"]);
        util::run_with_timeout(&mut cmd, TIMEOUT)
    };
    let out = in_pid_namespace(&["--read-only"]);
    out.expect_code(1);
    assert_eq!(
        stderr_lines(&out),
        // dash follows its kill error with an empty line.
        ["sh: 1: kill: Operation not permitted", ""],
        "{out}"
    );
    // Without a Landlock flag too: signals are scoped, and PID 1 has a uid apart.
    in_pid_namespace(&[]).expect_code(1);
}

/// The one signal the kernel lets through to a process of another uid, SIGCONT within the
/// session, is refused from ABI 6 on (scoping); below, it goes through and the launch said so.
#[track_caller]
fn expect_sigcont_scoped(out: &Output) {
    if kernel_abi() < 6 {
        out.expect_code(0);
        assert!(
            util::without_scoping_warnings(&out.stderr) != out.stderr,
            "no scoping warning\n{out}"
        );
    } else {
        out.expect_code(1);
        assert_eq!(
            stderr_lines(out),
            ["sh: 1: kill: Operation not permitted", ""],
            "{out}"
        );
    }
}

#[test]
fn print_policy_lists_the_rules_the_abi_and_what_is_enforced() {
    let kernel = hardinit::sys::landlock_abi().unwrap();
    let used = kernel.min(7);
    if used < 4 {
        // The port lists stop the launch below ABI 4 (allow_bind_denies_every_other_port).
        let out = run(&["--print-policy", "--read-only", "--", "true"], &[]);
        out.expect_code(0);
        assert!(
            out.stdout.contains(&format!(
                "landlock        kernel ABI {kernel}, using ABI {used}, --landlock-compat hard\n"
            )),
            "{out}"
        );
        let gaps = &out.stdout[out.stdout.find("not enforced    ").unwrap()..];
        let gaps = &gaps[..gaps.find("\nseccomp: ").unwrap()];
        // Truncate, which ABI 1-2 lack, is refused by the seccomp floor: no gap.
        assert_eq!(
            gaps,
            format!(
                "not enforced    denying ioctl on devices outside the device list (needs ABI 5)\n                denying connect to pathname unix sockets outside the writable paths (needs ABI 9)\n                {} (needs ABI 6)",
                hardinit::policy::landlock::SCOPING_GAP
            )
        );
        return;
    }
    let out = run(
        &[
            "--print-policy",
            "--read-only",
            "--writable",
            "/tmp",
            "--writable-exec",
            "/opt",
            "--allow-bind",
            "8080,80",
            "--allow-bind",
            "0",
            "--allow-connect",
            "443",
            "--",
            "true",
        ],
        &[],
    );
    out.expect_code(0);
    // The lines before belong to the identity and capability policy (tested in privileges),
    // the lines after to seccomp (tested in seccomp).
    let landlock = &out.stdout[out.stdout.find("landlock ").unwrap()..];
    let landlock = &landlock[..landlock.find("seccomp: ").unwrap()];
    assert_eq!(
        landlock,
        format!(
            "\
landlock        kernel ABI {kernel}, using ABI {}, --landlock-compat hard
read            /
execute         / except beneath the write paths
write           /dev/shm, /tmp
write, execute  /opt
devices         /dev/null, /dev/zero, /dev/full, /dev/tty, /dev/pts (skipped when absent)
/proc           write files as their modes allow (the program's own /proc/PID/*); kernel files: see above
tcp bind        0, 80, 8080
tcp connect     443
scoping         signals and abstract unix sockets stay inside the program's domain
not enforced    {}
",
            kernel.min(9),
            if kernel < 9 {
                "denying connect to pathname unix sockets outside the writable paths (needs ABI 9)"
            } else {
                "nothing"
            }
        )
    );
}

#[test]
fn a_node_service_writes_its_data_and_serves() {
    let Some(node) = util::require_tool("a_node_service_writes_its_data_and_serves", "node") else {
        return;
    };
    let data = util::scratch_dir("landlock-node-data");
    let script = r#"
        const fs = require('fs'), http = require('http'), path = require('path');
        const data = process.argv[1];
        fs.writeFileSync(path.join(data, 'state.json'), '{"hits":1}');
        try { fs.writeFileSync('/hardinit-node-test.json', 'x'); console.log('wrote outside'); }
        catch (e) { console.log('outside: ' + e.code); }
        const server = http.createServer((req, res) => res.end(fs.readFileSync(path.join(data, 'state.json'))));
        server.listen(0, '127.0.0.1', () => {
            http.get({ host: '127.0.0.1', port: server.address().port }, (res) => {
                let body = '';
                res.on('data', (d) => body += d);
                res.on('end', () => { console.log('served: ' + body); server.close(); });
            });
        });
    "#;
    let out = run(
        &[
            "--read-only",
            "--writable",
            data.to_str().unwrap(),
            "--",
            node.to_str().unwrap(),
            "-e",
            script,
            data.to_str().unwrap(),
        ],
        &[],
    );
    let _ = std::fs::remove_file("/hardinit-node-test.json");
    out.expect_code(0);
    assert_eq!(out.stdout, "outside: EACCES\nserved: {\"hits\":1}\n");
    std::fs::remove_dir_all(&data).unwrap();
}

/// A hardinit started under a filter that checks openat's mode argument (the floor's rule
/// against setuid/setgid modes, which every profile hardinit installs or exports has) still
/// builds its Landlock ruleset: every open it makes passes a mode of 0, not whatever a
/// register held (issue 18: raw openat for the ruleset's O_PATH handles).
#[test]
fn read_only_builds_its_ruleset_under_a_filter_that_checks_open_modes() {
    let inner = util::hardinit();
    let out = run(
        &[
            "--seccomp",
            "default",
            "--",
            inner.to_str().unwrap(),
            // Without CAP_SYS_ADMIN the kernel files cannot be mounted read-only for it.
            "--landlock-compat",
            "best-effort",
            "--read-only",
            "--writable",
            "/tmp",
            "--",
            "/bin/true",
        ],
        &[],
    );
    out.expect_code(0);
}

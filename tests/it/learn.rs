//! Issue 14: `--learn FILE` records a real run and writes the tightest profile that runs it;
//! `--seccomp-mode complain` logs what a profile would refuse. On the real kernel.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::docker;
use crate::seccomp::ESCAPES;
use crate::util::{self, Background};

const SECS: fn(u64) -> Duration = Duration::from_secs;

fn hardinit(args: &[&str]) -> Command {
    let mut cmd = Command::new(util::hardinit());
    cmd.args(args);
    cmd
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn syscalls_probe() -> String {
    util::c_probe("syscalls").display().to_string()
}

fn lines(text: &[&str]) -> String {
    text.iter().map(|l| format!("{l}\n")).collect()
}

fn read_profile(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}\n{text}", path.display()))
}

/// The names an OCI profile allows whatever the arguments.
fn outright(path: &Path) -> BTreeSet<String> {
    read_profile(path)["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "SCMP_ACT_ALLOW" && r.get("args").is_none())
        .flat_map(|r| r["names"].as_array().unwrap().clone())
        .map(|n| n.as_str().unwrap().to_string())
        .collect()
}

/// Every name the profile allows in some way.
fn allowed(path: &Path) -> BTreeSet<String> {
    allowed_in(&read_profile(path))
}

fn allowed_in(profile: &Value) -> BTreeSet<String> {
    profile["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "SCMP_ACT_ALLOW")
        .flat_map(|r| r["names"].as_array().unwrap().clone())
        .map(|n| n.as_str().unwrap().to_string())
        .collect()
}

/// The `valueTwo`s (the compared values) of each argument rule of `name`.
fn rule_values(path: &Path, name: &str) -> Vec<Vec<u64>> {
    read_profile(path)["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["names"] == serde_json::json!([name]) && r.get("args").is_some())
        .map(|r| {
            r["args"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["valueTwo"].as_u64().unwrap())
                .collect()
        })
        .collect()
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// The battery's lines (one per check), which must end with its `battery done` line.
#[track_caller]
fn battery_answers(out: &util::Output) -> Vec<String> {
    let lines: Vec<String> = out.stdout.lines().map(str::to_owned).collect();
    assert!(
        lines.last().is_some_and(|l| l.starts_with("battery done ")),
        "the battery did not finish\n{out}"
    );
    lines
}

fn battery() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/node/battery.js")
}

#[test]
fn a_learned_node_profile_runs_the_battery_and_refuses_what_it_never_did() {
    let test = "a_learned_node_profile_runs_the_battery_and_refuses_what_it_never_did";
    if !util::privileged(test) {
        return;
    }
    let Some(node) = util::require_tool(test, "node") else {
        return;
    };
    let dir = util::scratch_dir("learn-node");
    let file = dir.join("node.json");
    let nobody = ["--user", "65534"];
    // Learn: HTTP, fs, child_process, worker threads, TLS, dns, zlib... (battery.js).
    let mut learn = hardinit(&[&nobody[..], &["--learn", path_str(&file), "--"]].concat());
    learn.arg(&node).arg(battery());
    let out = util::run_with_timeout(&mut learn, SECS(180));
    out.expect_code(0);
    let answers_learning = battery_answers(&out);
    let learned = outright(&file);
    for call in ["execve", "getcwd", "read", "futex", "wait4"] {
        assert!(learned.contains(call), "{call} missing: {learned:?}");
    }
    for call in ["unshare", "mount", "keyctl", "bpf", "ptrace", "clone3"] {
        assert!(!learned.contains(call), "{call} learned: {learned:?}");
    }
    // The socket families the battery used: AF_UNIX, AF_INET, AF_INET6, AF_NETLINK (os.networkInterfaces).
    let families: BTreeSet<u64> = rule_values(&file, "socket").iter().map(|v| v[0]).collect();
    assert!(
        families.contains(&2) && families.is_subset(&[1, 2, 10, 16].into()),
        "{families:?}"
    );
    // Threads and forks, never a namespace.
    assert_eq!(rule_values(&file, "clone"), vec![vec![0]]);
    let report = std::fs::read_to_string(dir.join("node.json.report")).unwrap();
    let row = |call: &str| {
        report
            .lines()
            .find(|l| l.split_whitespace().next() == Some(call))
            .map(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
    };
    assert_eq!(
        row("getcwd").as_deref(),
        Some("getcwd observed"),
        "{report}"
    );
    assert_eq!(row("read").as_deref(), Some("read assumed"), "{report}");

    // Enforce it on the same run: every check answers as it did while learning.
    let mut enforce = hardinit(&[&nobody[..], &["--seccomp", path_str(&file), "--"]].concat());
    enforce.arg(&node).arg(battery());
    let out = util::run_with_timeout(&mut enforce, SECS(180));
    out.expect_code(0);
    let answers = battery_answers(&out);
    let differ: Vec<(&String, &String)> = answers_learning
        .iter()
        .zip(&answers)
        .filter(|(a, b)| a != b)
        .collect();
    assert!(
        differ.is_empty() && answers.len() == answers_learning.len(),
        "{differ:?}\n{out}"
    );

    // Merge a second workload (the probe's own start-up and one call) into a copy.
    let merged = dir.join("merged.json");
    std::fs::copy(&file, &merged).unwrap();
    let probe = syscalls_probe();
    // getitimer: a call the battery never makes.
    assert!(!learned.contains("getitimer"));
    let out = util::run_hardinit(
        [
            &nobody[..],
            &[
                "--learn",
                path_str(&merged),
                "--",
                &probe,
                "a=getitimer:0:0",
            ],
        ]
        .concat(),
    );
    out.expect_code(0);
    assert_eq!(out.stdout, "a EFAULT\n");
    let grown = outright(&merged);
    assert!(grown.is_superset(&learned));
    assert_eq!(
        grown
            .difference(&learned)
            .filter(|c| *c == "getitimer")
            .count(),
        1,
        "{:?}",
        grown.difference(&learned).collect::<Vec<_>>()
    );
    // What neither workload did is refused.
    let mut calls = vec![probe.as_str()];
    calls.extend(ESCAPES);
    let out =
        util::run_hardinit([&nobody[..], &["--seccomp", path_str(&merged), "--"], &calls].concat());
    out.expect_code(0);
    let refused: Vec<String> = ESCAPES
        .iter()
        .map(|c| format!("{} EPERM", c.split('=').next().unwrap()))
        .collect();
    assert_eq!(
        out.stdout,
        lines(&refused.iter().map(String::as_str).collect::<Vec<_>>()),
        "{out}"
    );
}

#[test]
fn two_learning_runs_write_identical_files_with_every_thread_recorded() {
    let dir = util::scratch_dir("learn-twice");
    let probe = syscalls_probe();
    let mut bytes = Vec::new();
    for run in ["one.json", "two.json"] {
        let file = dir.join(run);
        let out = util::run_hardinit([
            "--learn-all",
            "--learn",
            path_str(&file),
            "--",
            &probe,
            "a=getppid",
            "t=thread:getpriority:0:0",
        ]);
        out.expect_code(0);
        assert_eq!(out.stdout, "a ok\nt ok\nt main alive\n", "{out}");
        bytes.push(std::fs::read(&file).unwrap());
    }
    assert_eq!(bytes[0], bytes[1]);
    let learned = outright(&dir.join("one.json"));
    // getpriority was only made by the second thread; --learn-all assumed nothing.
    for call in ["getppid", "getpriority", "write", "execve", "futex"] {
        assert!(learned.contains(call), "{call}: {learned:?}");
    }
    let report = std::fs::read_to_string(dir.join("one.json.report")).unwrap();
    let sources: BTreeSet<&str> = report
        .lines()
        .skip(3)
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert_eq!(sources, ["observed"].into(), "{report}");
}

#[test]
fn children_grandchildren_and_orphans_are_recorded() {
    let dir = util::scratch_dir("learn-descendants");
    let file = dir.join("tree.json");
    let probe = syscalls_probe();
    // sysinfo only in a grandchild; getpriority only in an orphan that outlives its parent.
    // The probe makes the orphan and waits for it: a shell that went on forking while its
    // children ended could see a notified fork fail with EINTR (docs/learn.md).
    let script = format!("sh -c '{probe} g=sysinfo:0'; exec {probe} o=orphan:getpriority:0:0");
    let out = util::run_hardinit(["--learn", path_str(&file), "--", "sh", "-c", &script]);
    out.expect_code(0);
    assert_eq!(out.stdout, "g EFAULT\no ok\n", "{out}");
    let learned = outright(&file);
    assert!(
        learned.is_superset(&names(&["sysinfo", "getpriority", "wait4"])),
        "{learned:?}"
    );
    let report = std::fs::read_to_string(dir.join("tree.json.report")).unwrap();
    let sysinfo = report
        .lines()
        .find(|l| l.starts_with("sysinfo "))
        .unwrap_or_else(|| panic!("{report}"));
    assert!(
        sysinfo.contains(" observed ") && sysinfo.contains(&probe),
        "{sysinfo}"
    );
}

#[test]
fn a_program_that_stacks_its_own_filter_is_recorded_except_what_its_filter_answers() {
    let dir = util::scratch_dir("learn-own-filter");
    let file = dir.join("own.json");
    let probe = util::c_probe("ownfilter");
    let out = util::run_hardinit(["--learn", path_str(&file), "--", path_str(&probe)]);
    out.expect_code(0);
    assert_eq!(
        out.stdout,
        lines(&[
            "nnp ok",
            "filter ok",
            "listener EBUSY",
            "getpriority EACCES",
            "uname ok"
        ]),
        "{out}"
    );
    let learned = allowed(&file);
    assert!(learned.contains("uname"), "{learned:?}");
    // Its own filter answered getpriority: the call never reached hardinit's.
    assert!(!learned.contains("getpriority"), "{learned:?}");
    // SECCOMP_SET_MODE_FILTER and PR_SET_NO_NEW_PRIVS, by their values.
    assert_eq!(rule_values(&file, "seccomp"), vec![vec![1]]);
    assert_eq!(rule_values(&file, "prctl"), vec![vec![38]]);
}

#[test]
fn complain_mode_logs_exactly_what_the_profile_lacks_and_learns_it() {
    let dir = util::scratch_dir("learn-complain");
    let base = dir.join("base.json");
    let more = dir.join("more.json");
    let probe = syscalls_probe();
    util::run_hardinit(["--learn", path_str(&base), "--", &probe, "a=getppid"]).expect_code(0);
    let calls = [
        probe.as_str(),
        "a=getppid",
        "b=sysinfo:0",
        "c=getpriority:0:0",
        "d=sysinfo:0",
    ];
    // Enforced, the calls it lacks are refused.
    let out = util::run_hardinit([&["--seccomp", path_str(&base), "--"], &calls[..]].concat());
    out.expect_code(0);
    assert_eq!(out.stdout, "a ok\nb EPERM\nc EPERM\nd EPERM\n", "{out}");
    // In complain mode they run, and each distinct one is logged once.
    let flags = [
        "--seccomp",
        path_str(&base),
        "--seccomp-mode",
        "complain",
        "--learn",
        path_str(&more),
        "--",
    ];
    let out = util::run_hardinit([&flags[..], &calls[..]].concat());
    out.expect_code(0);
    assert_eq!(out.stdout, "a ok\nb EFAULT\nc ok\nd EFAULT\n", "{out}");
    let logged: Vec<Value> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("{\"hardinit\":\"seccomp\""))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let named: Vec<(&str, &str)> = logged
        .iter()
        .filter(|v| v.get("syscall").is_some())
        .map(|v| (v["syscall"].as_str().unwrap(), v["would"].as_str().unwrap()))
        .collect();
    assert_eq!(
        named,
        [("sysinfo", "errno EPERM"), ("getpriority", "errno EPERM")],
        "{out}"
    );
    let first = &logged[0];
    assert_eq!(first["exe"].as_str(), Some(probe.as_str()));
    assert_eq!(first["args"][0], 0);
    assert_eq!(
        logged.last().unwrap(),
        &serde_json::json!({"hardinit": "seccomp", "complained": 2, "calls": {"getpriority": 1, "sysinfo": 2}})
    );
    // --learn beside it holds exactly what was complained about.
    assert_eq!(outright(&more), names(&["getpriority", "sysinfo"]));
}

#[test]
fn learning_refuses_before_the_program_starts() {
    let dir = util::scratch_dir("learn-refusals");
    let marker = dir.join("started");
    let touch = ["touch", path_str(&marker)];
    let directory = path_str(&dir);
    let allow_all = dir.join("allow.json");
    std::fs::write(&allow_all, r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#).unwrap();
    let broken = dir.join("broken.json");
    std::fs::write(&broken, "{\"defaultAction\":").unwrap();
    let missing_dir = dir.join("no/such/dir.json");
    let cases: [(Vec<&str>, &str); 5] = [
        (vec!["--learn", path_str(&missing_dir)], "cannot open"),
        (vec!["--learn", directory], "cannot open"),
        (vec!["--learn", path_str(&allow_all)], "cannot merge into"),
        (vec!["--learn", path_str(&broken)], "malformed JSON"),
        (vec!["--learn", "/dev/null"], "is not a regular file"),
    ];
    for (flags, message) in cases {
        let out = util::run_hardinit([&flags[..], &["--"], &touch[..]].concat());
        out.expect_code(125);
        assert!(out.stderr.contains(message), "{message}\n{out}");
        assert!(!marker.exists(), "{out}");
    }
    // Enforcing and recording at once is a usage error.
    let out = util::run_hardinit(
        [
            &[
                "--seccomp",
                "node",
                "--learn",
                path_str(&dir.join("x.json")),
                "--",
            ],
            &touch[..],
        ]
        .concat(),
    );
    out.expect_code(2);
    // A listener already attached (here an outer learning run): EBUSY, named.
    let outer = dir.join("outer.json");
    let inner = dir.join("inner.json");
    let mut nested = vec![path_str(&util::hardinit()).to_string()];
    // The inner hardinit runs as root without capabilities: /sys stays writable for it
    // unless it runs anyway (best-effort), which is what lets it get as far as learning.
    nested.extend(
        [
            "--landlock-compat",
            "best-effort",
            "--learn",
            path_str(&inner),
            "--",
        ]
        .map(String::from),
    );
    nested.extend(touch.map(String::from));
    let mut cmd = hardinit(&["--learn", path_str(&outer), "--"]);
    cmd.args(&nested);
    let out = util::run_with_timeout(&mut cmd, SECS(20));
    out.expect_code(125);
    assert!(
        out.stderr
            .contains("a seccomp listener is already attached"),
        "{out}"
    );
    assert!(!marker.exists());
    // A runtime profile that refuses seccomp(2): named before anything runs.
    let refuse = dir.join("refuse.json");
    std::fs::write(
        &refuse,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["seccomp"],"action":"SCMP_ACT_ERRNO"}]}"#,
    )
    .unwrap();
    let mut cmd = hardinit(&["--seccomp", path_str(&refuse), "--"]);
    cmd.args(&nested);
    let out = util::run_with_timeout(&mut cmd, SECS(20));
    out.expect_code(125);
    assert!(out.stderr.contains("seccomp(2) is refused here"), "{out}");
    assert!(!marker.exists());
}

#[test]
fn learning_as_pid1_records_the_graceful_end() {
    if !util::privileged("learning_as_pid1_records_the_graceful_end") {
        return;
    }
    let dir = util::scratch_dir("learn-pid1");
    let file = dir.join("pid1.json");
    let probe = syscalls_probe();
    // getpriority only on SIGTERM, which reaches the program through hardinit.
    let script = format!(
        "trap '{probe} t=getpriority:0:0; exit 0' TERM; echo ready; while :; do sleep 0.05; done"
    );
    let mut cmd = Command::new("unshare");
    cmd.args(["--pid", "--fork", "--mount-proc"])
        .arg(util::hardinit())
        .args([
            "--user",
            "65534",
            "--learn",
            path_str(&file),
            "--",
            "sh",
            "-c",
            &script,
        ]);
    let mut bg = Background::start(&mut cmd);
    assert_eq!(bg.next_line(SECS(10)), "ready");
    assert!(!outright(&file).contains("getpriority"));
    // unshare forwards nothing: signal hardinit (PID 1 inside) directly.
    let init = util::children_of(bg.pid())[0];
    util::send(init, libc::SIGTERM);
    assert_eq!(bg.next_line(SECS(10)), "t ok");
    assert!(bg.wait(SECS(10)).success(), "{}", bg.stderr());
    assert!(outright(&file).contains("getpriority"));
}

#[test]
fn docker_learns_as_pid1_without_runtime_flags_and_enforces_the_result() {
    docker::scenario(
        "docker_learns_as_pid1_without_runtime_flags_and_enforces_the_result",
        "learning in docker",
        |d, image| {
            let dir = util::scratch_dir("learn-docker");
            let volume = format!("{}:/out", dir.display());
            let flags = ["--volume", &volume, "--entrypoint", "/hardinit"];
            let hardening = [
                "--user",
                "node",
                "--read-only",
                "--writable",
                "/tmp",
                "--writable",
                "/app/data",
            ];
            let learn = [
                &hardening[..],
                &["--learn", "/out/app.json", "--", "node", "server.js"],
            ]
            .concat();
            let (c, port) = docker::start_service(d, &flags, image, &learn);
            docker::assert_service_works(port);
            // The graceful end (docker stop: SIGTERM to PID 1) is recorded too.
            d.ok(["stop", "--time", "20", &c.id]);
            let learned = outright(&dir.join("app.json"));
            for call in ["execve", "accept4", "getcwd"] {
                assert!(learned.contains(call), "{call}: {learned:?}");
            }
            drop(c);
            let enforce = [
                &hardening[..],
                &["--seccomp", "/out/app.json", "--", "node", "server.js"],
            ]
            .concat();
            let (_c, port) = docker::start_service(d, &flags, image, &enforce);
            docker::assert_service_works(port);
        },
    );
}

#[test]
fn learning_works_when_started_non_root() {
    let test = "learning_works_when_started_non_root";
    if !util::privileged(test) || util::require_tool(test, "setpriv").is_none() {
        return;
    }
    let dir = util::scratch_dir("learn-non-root");
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let file = dir.join("user.json");
    let probe = syscalls_probe();
    // As `docker run --user 1000` starts it: no capability, no way to change ids.
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid=1000", "--regid=1000", "--clear-groups"])
        .arg(util::hardinit())
        .args(["--learn", path_str(&file), "--", &probe, "a=getitimer:0:0"]);
    let out = util::run_with_timeout(&mut cmd, SECS(20));
    out.expect_code(0);
    assert_eq!(out.stdout, "a EFAULT\n", "{out}");
    assert!(outright(&file).contains("getitimer"));
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid=1000", "--regid=1000", "--clear-groups"])
        .arg(util::hardinit())
        .args([
            "--seccomp",
            path_str(&file),
            "--",
            &probe,
            "a=getitimer:0:0",
            "b=sysinfo:0",
        ]);
    let out = util::run_with_timeout(&mut cmd, SECS(20));
    out.expect_code(0);
    assert_eq!(out.stdout, "a EFAULT\nb EPERM\n", "{out}");
}

#[test]
fn print_policy_says_a_caught_signal_can_interrupt_a_notified_call() {
    // The kernel keeps a notified call's wait interruptible until PID 1 has received it, and
    // no flag changes that: learning can make dash's fork fail with EINTR. --print-policy
    // must say so rather than leave it to be found in a flaky run.
    let dir = util::scratch_dir("learn-print-interruption");
    let file = dir.join("p.json");
    let out = util::run_hardinit([
        "--user",
        "65534",
        "--learn",
        path_str(&file),
        "--print-policy",
    ]);
    out.expect_code(0);
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("notified calls: "))
        .unwrap_or_else(|| panic!("no notified-calls line\n{out}"));
    let want = if crate::runc::kernel_version() >= (5, 19) {
        "notified calls: a signal the program catches without SA_RESTART makes a call still waiting for PID 1 to receive it fail with EINTR, even one that never blocks (fork, a write to a file); once received, only a fatal signal interrupts it"
    } else {
        "notified calls: a signal the program catches without SA_RESTART makes a notified call fail with EINTR until PID 1 has answered it, even one that never blocks (fork, a write to a file); this kernel is below 5.19 (no SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)"
    };
    assert_eq!(line, want, "{out}");
    assert!(!file.exists(), "--print-policy created {}", file.display());
    // Without a listener nothing is notified, and nothing is said.
    let plain = util::run_hardinit(["--user", "65534", "--print-policy"]);
    plain.expect_code(0);
    assert!(!plain.stdout.contains("notified calls"), "{plain}");
}

#[test]
fn print_policy_names_what_keeps_the_listener_from_the_program() {
    if !util::privileged("print_policy_names_what_keeps_the_listener_from_the_program") {
        return;
    }
    let dir = util::scratch_dir("learn-print-policy");
    let file = dir.join("p.json");
    let listener_line = |out: &util::Output| {
        out.stdout
            .lines()
            .find(|l| l.starts_with("seccomp listener"))
            .map(str::to_owned)
    };
    let prefix = "seccomp listener PID 1's only: close-on-exec, and the kernel's ptrace check (ptrace, pidfd_getfd, process_vm_*, /proc/1/fd) fails on ";
    let cases: [(&[&str], &str); 5] = [
        // Root: PID 1 moves to another uid; hardinit gives the program a domain of its own.
        (
            &["--learn", path_str(&file)],
            if util::own_mode_domain() {
                "PID 1's uid the program lacks (no CAP_SYS_PTRACE) and on the program's Landlock domain, which may not trace outside itself"
            } else {
                "PID 1's uid the program lacks (no CAP_SYS_PTRACE)"
            },
        ),
        (
            &[
                "--user",
                "65534",
                "--landlock-abi",
                "0",
                "--learn",
                path_str(&file),
            ],
            "PID 1's uid the program lacks and its being non-dumpable (no CAP_SYS_PTRACE)",
        ),
        (
            &[
                "--cap-add",
                "SYS_PTRACE",
                "--read-only",
                "--landlock-abi",
                "1",
                "--seccomp",
                "node",
                "--seccomp-mode",
                "complain",
            ],
            "the program's Landlock domain, which may not trace outside itself",
        ),
        (
            &[
                "--cap-add",
                "SETUID",
                "--landlock-abi",
                "5",
                "--learn",
                path_str(&file),
            ],
            // Below ABI 6 (no signal scoping) a bare domain of hardinit's own, where the
            // kernel files are masked.
            if util::bare_domain_here() {
                "PID 1's being non-dumpable (no CAP_SYS_PTRACE) and on the program's Landlock domain, which may not trace outside itself"
            } else {
                "PID 1's being non-dumpable (no CAP_SYS_PTRACE)"
            },
        ),
        (
            &[
                "--cap-add",
                "SETUID",
                "--landlock-abi",
                "1",
                "--learn",
                path_str(&file),
            ],
            "PID 1's being non-dumpable (no CAP_SYS_PTRACE)",
        ),
    ];
    for (flags, barriers) in cases {
        let out = util::run_hardinit([flags, &["--print-policy", "--", "true"]].concat());
        out.expect_code(0);
        assert_eq!(
            listener_line(&out),
            Some(format!("{prefix}{barriers}")),
            "{flags:?}\n{out}"
        );
        assert!(!out.stdout.contains("may ptrace"), "{out}");
    }
    assert!(!file.exists());
    // Enforcing, the same configuration that learning refuses is shown as reachable.
    let traceable = ["--cap-add", "SYS_PTRACE", "--landlock-abi", "0"];
    let out = util::run_hardinit([&traceable[..], &["--print-policy", "--", "true"]].concat());
    out.expect_code(0);
    assert!(out.stdout.contains("\n                the program may ptrace it: CAP_SYS_PTRACE outside any Landlock domain (learning and complain mode refuse this)\n"), "{out}");
    assert_eq!(listener_line(&out), None);
    let out = util::run_hardinit(
        [
            &traceable[..],
            &["--learn", path_str(&file), "--print-policy", "--", "true"],
        ]
        .concat(),
    );
    out.expect_code(125);
    assert!(
        out.stderr
            .contains("the program would hold CAP_SYS_PTRACE (given by --cap-add) outside any Landlock domain"),
        "{out}"
    );
    assert!(!file.exists());
}

#[test]
fn a_killed_run_leaves_a_usable_profile_that_exports_for_the_runtime() {
    let dir = util::scratch_dir("learn-killed");
    let file = dir.join("killed.json");
    let report = dir.join("report.txt");
    let probe = syscalls_probe();
    // getitimer, then wait to be killed: the profile must already hold it.
    let script = format!("{probe} a=getitimer:0:0; echo ready; exec sleep 100");
    let mut cmd = hardinit(&[
        "--learn",
        path_str(&file),
        "--learn-report",
        path_str(&report),
        "--",
        "sh",
        "-c",
        &script,
    ]);
    let mut bg = Background::start(&mut cmd);
    assert_eq!(bg.next_line(SECS(10)), "a EFAULT");
    assert_eq!(bg.next_line(SECS(10)), "ready");
    util::send(bg.pid(), libc::SIGKILL);
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&bg.wait(SECS(10))),
        Some(libc::SIGKILL)
    );
    assert!(outright(&file).contains("getitimer"), "{}", bg.stderr());
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("getitimer ") && l.contains(" observed ")),
        "{text}"
    );
    assert!(!dir.join("killed.json.report").exists());
    // It enforces: the recorded call runs, one never made is refused.
    let out = util::run_hardinit([
        "--seccomp",
        path_str(&file),
        "--",
        &probe,
        "a=getitimer:0:0",
        "b=sysinfo:0",
    ]);
    out.expect_code(0);
    assert_eq!(out.stdout, "a EFAULT\nb EPERM\n", "{out}");
    // And exports for the runtime layer: hardinit's own set-up calls are added.
    let out = util::run_hardinit(["--export-seccomp", path_str(&file)]);
    out.expect_code(0);
    let exported = allowed_in(&serde_json::from_str(&out.stdout).unwrap());
    assert!(exported.is_superset(&allowed(&file)), "{exported:?}");
    for call in ["capset", "setresuid", "seccomp", "landlock_restrict_self"] {
        assert!(exported.contains(call), "{call}: {exported:?}");
        assert!(!allowed(&file).contains(call), "{call}");
    }
}

#[test]
fn learning_is_configured_from_the_environment_as_docker_init_too() {
    let test = "learning_is_configured_from_the_environment_as_docker_init_too";
    if !util::privileged(test) {
        return;
    }
    let dir = util::scratch_dir("learn-env");
    let init = dir.join("docker-init");
    std::os::unix::fs::symlink(util::hardinit(), &init).unwrap();
    let probe = syscalls_probe();
    // getitimer, then what the program sees of hardinit's learning variables (none).
    let script = format!("{probe} a=getitimer:0:0; env | grep -c '^HARDINIT_LEARN' || true");
    for (program, name) in [(util::hardinit(), "own.json"), (init.clone(), "init.json")] {
        let file = dir.join(name);
        let report = dir.join(format!("{name}.txt"));
        let mut cmd = Command::new(&program);
        cmd.env("HARDINIT_LEARN", &file)
            .env("HARDINIT_LEARN_REPORT", &report)
            .env("HARDINIT_LEARN_ALL", "1")
            .args(["--", "sh", "-c", &script]);
        let out = util::run_with_timeout(&mut cmd, SECS(20));
        out.expect_code(0);
        assert_eq!(out.stdout, "a EFAULT\n0\n", "{out}");
        let learned = outright(&file);
        // --learn-all: read was observed, not assumed.
        assert!(
            learned.contains("getitimer") && learned.contains("read"),
            "{learned:?}"
        );
        let text = std::fs::read_to_string(&report).unwrap();
        assert!(
            text.lines()
                .any(|l| l.starts_with("read ") && l.contains(" observed ")),
            "{text}"
        );
    }
    // Complain mode from the environment too.
    let mut cmd = Command::new(util::hardinit());
    cmd.env("HARDINIT_SECCOMP", path_str(&dir.join("own.json")))
        .env("HARDINIT_SECCOMP_MODE", "complain")
        .args(["--", &probe, "b=sysinfo:0"]);
    let out = util::run_with_timeout(&mut cmd, SECS(20));
    out.expect_code(0);
    assert_eq!(out.stdout, "b EFAULT\n", "{out}");
    assert!(
        out.stderr
            .contains(r#"{"hardinit":"seccomp","would":"errno EPERM","syscall":"sysinfo","#),
        "{out}"
    );
}

#[test]
fn calls_of_tasks_killed_while_pid1_serves_them_are_skipped() {
    let dir = util::scratch_dir("learn-killed-tasks");
    let file = dir.join("tasks.json");
    let probe = syscalls_probe();
    // Every call notified (--learn-all), and 40 children killed as soon as they are forked:
    // some die in a notified call (their execve's, most often), whose notification is then
    // gone when PID 1 receives or answers it (ENOENT). PID 1 skips them and goes on. The
    // parent is the probe, whose SIGCHLD stays at SIG_DFL: a shell that catches SIGCHLD
    // without SA_RESTART (dash, busybox) would see a notified fork fail with EINTR now and
    // then, which the kernel allows before PID 1 has received the notification (docs/learn.md;
    // --print-policy says so, `print_policy_says_a_caught_signal_can_interrupt_a_notified_call`).
    let out = util::run_hardinit([
        "--learn-all",
        "--learn",
        path_str(&file),
        "--",
        probe.as_str(),
        "k=forkkill:40",
        "a=getitimer:0:0",
    ]);
    out.expect_code(0);
    assert_eq!(out.stdout, "k reaped 40\na EFAULT\n", "{out}");
    assert!(!out.stderr.contains("seccomp"), "{out}");
    assert!(outright(&file).contains("getitimer"), "{out}");
}

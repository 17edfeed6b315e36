//! Issue 17: hardinit configured by `HARDINIT_*` variables — under its own name and as
//! `docker-init` — what the program's environment keeps, and the note below another init.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::util::{self, Output};

const SECS: fn(u64) -> Duration = Duration::from_secs;
const NONE: &str = "0000000000000000";

/// `program` (hardinit or a link to it) with `env` running `cat /proc/self/status`: the
/// hardening fields the program got.
fn status_under(program: &Path, env: &[(&str, &str)], args: &[&str]) -> BTreeMap<String, String> {
    let mut cmd = Command::new(program);
    cmd.envs(env.iter().copied())
        .args(args)
        .args(["--", "cat", "/proc/self/status"]);
    let out = util::run_with_timeout(&mut cmd, SECS(10));
    out.expect_code(0);
    ["Uid", "CapEff", "CapBnd", "NoNewPrivs", "Seccomp"]
        .iter()
        .map(|f| {
            let v = util::parse_status_field(&out.stdout, f).unwrap_or_default();
            (f.to_string(), v)
        })
        .collect()
}

fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn hardened(uid: &str) -> BTreeMap<String, String> {
    fields(&[
        ("Uid", uid),
        ("CapEff", NONE),
        ("CapBnd", NONE),
        ("NoNewPrivs", "1"),
        ("Seccomp", "2"),
    ])
}

#[test]
fn variables_configure_the_run_like_flags() {
    if !util::privileged("variables_configure_the_run_like_flags") {
        return;
    }
    let env = [
        ("HARDINIT_USER", "65534"),
        ("HARDINIT_SECCOMP", "node"),
        ("HARDINIT_READ_ONLY", "1"),
        ("HARDINIT_WRITABLE", "/tmp:/var/tmp"),
    ];
    assert_eq!(
        status_under(&util::hardinit(), &env, &[]),
        hardened("65534 65534 65534 65534")
    );
    // The same with flags gives the same; print-policy says which came from where.
    let mut cmd = Command::new(util::hardinit());
    cmd.envs(env)
        .args(["--user", "65534", "--print-policy", "true"]);
    let out = util::run_with_timeout(&mut cmd, SECS(10));
    out.expect_code(0);
    let head: Vec<&str> = out.stdout.lines().take(9).collect();
    assert_eq!(
        head,
        [
            "configuration   --grace-period 5 (default)",
            "                --stop-delay 0 (default)",
            "                --user 65534 (command line)",
            "                --seccomp node (HARDINIT_SECCOMP)",
            "                --read-only (HARDINIT_READ_ONLY)",
            "                --writable /tmp /var/tmp (HARDINIT_WRITABLE)",
            "                --landlock-compat hard (default)",
            "                --seccomp-mode enforce (default)",
            "                HARDINIT_USER ignored: --user is on the command line",
        ],
        "{out}"
    );
    assert!(
        out.stdout
            .contains("\nwrite           /dev/shm, /tmp, /var/tmp\n"),
        "{out}"
    );
}

#[test]
fn docker_init_with_variables_is_hardened() {
    if !util::privileged("docker_init_with_variables_is_hardened") {
        return;
    }
    let dir = util::scratch_dir("env-docker-init");
    let init = dir.join("docker-init");
    std::os::unix::fs::symlink(util::hardinit(), &init).unwrap();
    // As `docker run --init -e HARDINIT_USER=1000 -e HARDINIT_SECCOMP=node IMAGE` runs it.
    let env = [("HARDINIT_USER", "1000"), ("HARDINIT_SECCOMP", "node")];
    assert_eq!(
        status_under(&init, &env, &[]),
        hardened("1000 1000 1000 1000")
    );
    // Without them it is tini: the program keeps what it was given.
    let own = util::status_field(std::process::id() as i32, "CapBnd").unwrap();
    let tini = status_under(&init, &[], &[]);
    assert_eq!(
        (tini["CapBnd"].as_str(), tini["Seccomp"].as_str()),
        (own.as_str(), "0")
    );
}

#[test]
fn the_program_gets_no_configuration_variable() {
    let mut cmd = Command::new(util::hardinit());
    cmd.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HARDINIT_GRACE_PERIOD", "1")
        .env("HARDINIT_SECCOMP", "unconfined")
        .env("HARDINIT_TEST_PRIVILEGED", "0")
        .env("TINI_SUBREAPER", "1")
        .args(["--", "env"]);
    let out = util::run_with_timeout(&mut cmd, SECS(10));
    out.expect_code(0);
    let mut names: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, _)| k))
        .collect();
    names.sort_unstable();
    // tini's variables stay, as tini leaves them; hardinit's own are gone; the test suite's
    // is not hardinit's and stays.
    assert_eq!(
        names,
        ["HARDINIT_TEST_PRIVILEGED", "PATH", "TINI_SUBREAPER"],
        "{out}"
    );
}

fn run_env(env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(util::hardinit());
    cmd.envs(env.iter().copied()).args(args);
    util::run_with_timeout(&mut cmd, SECS(10))
}

#[test]
fn a_bad_variable_exits_125_naming_it_and_runs_nothing() {
    let dir = util::scratch_dir("env-bad");
    let marker = dir.join("ran");
    let touch = ["--", "touch", marker.to_str().unwrap()];
    let cases: [(&[(&str, &str)], &str); 4] = [
        (&[("HARDINIT_USERS", "1000")], "hardinit: HARDINIT_USERS: no such hardinit variable (the options' variables are HARDINIT_ and the option's long name in capitals, e.g. HARDINIT_READ_ONLY=1; see hardinit --help)\n"),
        (&[("HARDINIT_READ_ONLY", "true")], "hardinit: HARDINIT_READ_ONLY=true: expected 1 (on) or 0 (off)\n"),
        (&[("HARDINIT_INSPECT", "1")], "hardinit: HARDINIT_INSPECT: --inspect chooses what hardinit does and is a flag only, not read from the environment\n"),
        (&[("HARDINIT_ALLOW_CONNECT", "0")], "hardinit: HARDINIT_ALLOW_CONNECT=0: 0 is not in 1..=65535\n"),
    ];
    for (env, want) in cases {
        let out = run_env(env, &touch);
        out.expect_code(125);
        assert_eq!(out.stderr, want);
        assert!(!marker.exists(), "the program ran with {env:?}");
    }
    // A valid policy the variable asks for is applied: the program runs.
    run_env(&[("HARDINIT_GRACE_PERIOD", "1")], &touch).expect_code(0);
    assert!(marker.exists());
}

#[test]
fn below_another_init_it_says_so_at_info_level() {
    if !util::privileged("below_another_init_it_says_so_at_info_level") {
        return;
    }
    let Some(unshare) =
        util::require_tool("below_another_init_it_says_so_at_info_level", "unshare")
    else {
        return;
    };
    let hardinit = util::hardinit();
    let mut cmd = Command::new(unshare);
    cmd.args(["--pid", "--fork", "--mount-proc"])
        .arg(&hardinit)
        .arg("--")
        .arg(&hardinit)
        // The inner one, root without CAP_SYS_ADMIN, cannot make /sys read-only: best-effort.
        .args(["-v", "--landlock-compat", "best-effort", "--", "true"]);
    let out = util::run_with_timeout(&mut cmd, SECS(10));
    out.expect_code(0);
    assert!(
        out.stderr.contains("[INFO  hardinit (2)] running below another init (PID 1 is hardinit, e.g. Docker's --init): hardinit is a child subreaper here and still reaps, forwards and hardens; the init above adds nothing\n"),
        "{out}"
    );
    // As PID 1 itself, or under a parent that is not PID 1, nothing is said.
    assert_eq!(
        out.stderr.matches("running below another init").count(),
        1,
        "{out}"
    );
}

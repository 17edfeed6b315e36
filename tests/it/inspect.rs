//! Issue 6: `--inspect` reports the real state, `--expect` names what fails, the JSON field
//! names are pinned, and the probes leave nothing behind.

use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};

use crate::util;

const ALL_EXPECTATIONS: [&str; 8] = [
    "non-root",
    "no-caps",
    "no-new-privs",
    "seccomp",
    "read-only-root",
    "no-userns",
    "no-mount",
    "landlock",
];

/// Every path to a non-object value, dotted, sorted.
fn key_paths(value: &Value, prefix: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                key_paths(v, &path, out);
            }
        }
        _ => out.push(prefix.to_string()),
    }
}

#[track_caller]
fn parse(out: &util::Output) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("not JSON: {e}\n{out}"))
}

#[test]
fn json_field_names_are_pinned() {
    let out = util::run_hardinit(["--inspect", "--json"]);
    out.expect_code(0);
    let mut paths = Vec::new();
    key_paths(&parse(&out), "", &mut paths);
    paths.sort();
    let probe = |name: &str| {
        [
            format!("probes.{name}.allowed"),
            format!("probes.{name}.error"),
        ]
    };
    let mut expected: Vec<String> = [
        "uid.real",
        "uid.effective",
        "uid.saved",
        "gid.real",
        "gid.effective",
        "gid.saved",
        "groups",
        "capabilities.bounding",
        "capabilities.permitted",
        "capabilities.effective",
        "capabilities.inheritable",
        "capabilities.ambient",
        "no_new_privs",
        "seccomp.mode",
        "seccomp.filters",
        "landlock.abi",
        "landlock.restricted",
        "landlock.layers",
        "landlock.error",
        "securebits.value",
        "securebits.flags",
        "rlimits.nofile.soft",
        "rlimits.nofile.hard",
        "rlimits.nproc.soft",
        "rlimits.nproc.hard",
        "rlimits.core.soft",
        "rlimits.core.hard",
        "dumpable",
    ]
    .into_iter()
    .map(String::from)
    .chain(
        [
            "create_in_root",
            "create_in_tmp",
            "bind_privileged_port",
            "unshare_user_namespace",
            "mount",
            "signal_pid1",
        ]
        .into_iter()
        .flat_map(probe),
    )
    .chain(ALL_EXPECTATIONS.map(|e| format!("expectations.{e}")))
    .collect();
    expected.sort();
    assert_eq!(paths, expected, "{out}");
}

#[test]
fn unknown_expectation_exits_125_before_any_probe() {
    let out = util::run_hardinit(["--inspect", "--expect", "non-root,rootless"]);
    out.expect_code(125);
    assert_eq!(out.stdout, "", "{out}");
    assert_eq!(
        out.stderr,
        "hardinit: --expect: unknown expectation 'rootless' (known: non-root, no-caps, \
         no-new-privs, seccomp, read-only-root, no-userns, no-mount, landlock, hardened)\n"
    );
}

/// The test process's own capability sets that are not empty, as the report labels them.
fn own_nonempty_cap_sets() -> Vec<&'static str> {
    let pid = std::process::id() as i32;
    [
        ("CapBnd", "bounding capabilities"),
        ("CapPrm", "permitted capabilities"),
        ("CapEff", "effective capabilities"),
        ("CapInh", "inheritable capabilities"),
        ("CapAmb", "ambient capabilities"),
    ]
    .into_iter()
    .filter(|(field, _)| util::status_field(pid, field).as_deref() != Some("0000000000000000"))
    .map(|(_, label)| label)
    .collect()
}

#[test]
fn as_plain_root_every_hardened_expectation_fails_and_is_named() {
    if !util::privileged("as_plain_root_every_hardened_expectation_fails_and_is_named") {
        return;
    }
    let mut root_facts = vec!["uid real/effective/saved", "gid real/effective/saved"];
    if nix::unistd::getgroups()
        .unwrap()
        .contains(&nix::unistd::Gid::from_raw(0))
    {
        root_facts.push("supplementary groups");
    }
    let out = util::run_hardinit(["--inspect", "--expect", "hardened"]);
    out.expect_code(1);
    let expected = [
        format!("non-root ({})", root_facts.join(", ")),
        format!("no-caps ({})", own_nonempty_cap_sets().join(", ")),
        "no-new-privs (no_new_privs)".into(),
        "seccomp (seccomp)".into(),
        "read-only-root (create a file in /)".into(),
        "no-userns (new user namespace)".into(),
        "no-mount (mount a tmpfs)".into(),
        "landlock (landlock)".into(),
    ]
    .map(|e| format!("hardinit: expectation not met: {e}\n"))
    .concat();
    assert_eq!(out.stderr, expected, "{out}");
    let report: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(report.len(), 22, "{out}");
    let failing = report.iter().filter(|l| l.starts_with('✗')).count();
    assert_eq!(
        failing,
        root_facts.len() + own_nonempty_cap_sets().len() + 6
    );
}

/// The JSON `--user 65534` must produce; `seccomp` and `landlock` are what the hardening
/// flags add on top.
fn nobody_json(userns_allowed: bool) -> Value {
    let limit = |resource| {
        let (soft, hard) = nix::sys::resource::getrlimit(resource).unwrap();
        let finite = |v: u64| (v != libc::RLIM_INFINITY).then_some(v);
        json!({"soft": finite(soft), "hard": finite(hard)})
    };
    use nix::sys::resource::Resource;
    let nobody = json!({"real": 65534, "effective": 65534, "saved": 65534});
    let allowed = json!({"allowed": true, "error": null});
    let denied = |errno: &str| json!({"allowed": false, "error": errno});
    json!({
        "uid": nobody,
        "gid": nobody,
        "groups": [],
        "capabilities": {
            "bounding": [], "permitted": [], "effective": [], "inheritable": [], "ambient": []
        },
        "no_new_privs": true,
        // `unconfined`: hardinit's floor alone.
        "seccomp": {"mode": "filter", "filters": 1},
        "landlock": {
            "abi": hardinit::sys::landlock_abi().unwrap(),
            "restricted": false,
            "layers": 0,
            "error": null
        },
        "securebits": {"value": 0, "flags": []},
        "rlimits": {
            "nofile": limit(Resource::RLIMIT_NOFILE),
            "nproc": limit(Resource::RLIMIT_NPROC),
            "core": limit(Resource::RLIMIT_CORE)
        },
        "dumpable": 1,
        "probes": {
            // / belongs to root and is not world-writable: plain permissions refuse.
            "create_in_root": denied("EACCES"),
            "create_in_tmp": allowed,
            "bind_privileged_port": denied("EACCES"),
            "unshare_user_namespace": if userns_allowed { allowed.clone() } else { denied("EPERM") },
            "mount": denied("EPERM"),
            "signal_pid1": denied("EPERM")
        },
        "expectations": {
            "non-root": true, "no-caps": true, "no-new-privs": true, "seccomp": true,
            "read-only-root": true, "no-userns": !userns_allowed, "no-mount": true,
            "landlock": false
        }
    })
}

#[test]
fn as_nobody_the_privilege_expectations_hold() {
    if !util::privileged("as_nobody_the_privilege_expectations_hold") {
        return;
    }
    // Whether this kernel lets nobody create a user namespace, asked of util-linux.
    let userns = util::run_hardinit([
        "--user",
        "65534",
        "--seccomp",
        "unconfined",
        "--",
        "unshare",
        "--user",
        "true",
    ]);
    let hardinit = util::hardinit();
    let out = util::run_hardinit([
        "--user".as_ref(),
        "65534".as_ref(),
        "--seccomp".as_ref(),
        "unconfined".as_ref(),
        "--".as_ref(),
        hardinit.as_os_str(),
        "--inspect".as_ref(),
        "--json".as_ref(),
        "--expect".as_ref(),
        "non-root,no-caps,no-new-privs,read-only-root,no-mount".as_ref(),
    ] as [&std::ffi::OsStr; 10]);
    out.expect_code(0);
    assert_eq!(out.stderr, "", "{out}");
    assert_eq!(parse(&out), nobody_json(userns.status.success()), "{out}");
}

#[test]
fn under_full_hardening_every_expectation_holds() {
    if !util::privileged("under_full_hardening_every_expectation_holds") {
        return;
    }
    let hardinit = util::hardinit();
    let mut cmd = Command::new(&hardinit);
    // A scratch directory, not /tmp, is the writable one: the checkout (and so the binary,
    // which must stay executable) may live under /tmp.
    let writable = util::scratch_dir("inspect-writable");
    std::fs::set_permissions(
        &writable,
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    cmd.args(["--user", "65534", "--read-only", "--writable"])
        .arg(&writable)
        .args(["--seccomp", "default", "--"])
        .arg(&hardinit)
        .args(["--inspect", "--json", "--expect", "hardened"]);
    let out = util::run_with_timeout(&mut cmd, Duration::from_secs(10));
    out.expect_code(0);
    // Only what this kernel's Landlock ABI cannot enforce, which every such launch warns of.
    let warnings: Vec<String> = out
        .stderr
        .lines()
        .map(|l| util::without_log_prefix(l).to_string())
        .collect();
    assert_eq!(warnings, util::landlock_abi_warnings(true), "{out}");
    let mut expected = nobody_json(false);
    expected["seccomp"] = json!({"mode": "filter", "filters": 1});
    expected["landlock"]["restricted"] = json!(true);
    expected["landlock"]["layers"] = json!(1);
    // Docker's profile answers unshare and mount with EPERM without CAP_SYS_ADMIN.
    expected["probes"]["unshare_user_namespace"] = json!({"allowed": false, "error": "EPERM"});
    expected["probes"]["create_in_tmp"] = json!({"allowed": false, "error": "EACCES"});
    for e in ALL_EXPECTATIONS {
        expected["expectations"][e] = json!(true);
    }
    assert_eq!(parse(&out), expected, "{out}");

    // The image's usual policy: the node profile allows what inspect needs to tell.
    let mut cmd = Command::new(&hardinit);
    cmd.args(["--user", "65534", "--read-only", "--writable"])
        .arg(&writable)
        .args(["--seccomp", "node", "--"])
        .arg(&hardinit)
        .args(["--inspect", "--expect", "hardened"]);
    let out = util::run_with_timeout(&mut cmd, Duration::from_secs(10));
    out.expect_code(0);
    // Only what this kernel's Landlock ABI cannot enforce, which every such launch warns of.
    let warnings: Vec<String> = out
        .stderr
        .lines()
        .map(|l| util::without_log_prefix(l).to_string())
        .collect();
    assert_eq!(warnings, util::landlock_abi_warnings(true), "{out}");
}

/// Sections of a shell script's output, split at lines `@@`.
fn sections(stdout: &str) -> Vec<&str> {
    stdout.split("@@\n").collect()
}

#[test]
fn probes_leave_nothing_behind() {
    if !util::privileged("probes_leave_nothing_behind") {
        return;
    }
    let Some(_) = util::require_tool("probes_leave_nothing_behind", "unshare") else {
        return;
    };
    // A mount namespace of the test's own whose mounts are shared: had the mount probe not
    // made its copy private, its tmpfs would show up here (and not on the host). /tmp is a
    // fresh tmpfs, so its listing is this test's alone. hardinit -w around the inspecting
    // process warns for every process it leaves behind (a namespace or a socket can only
    // outlive it in one, or in a mount).
    // hardinit runs through a descriptor opened before the tmpfs hides /tmp: the checkout
    // (and so the binary) may live under /tmp.
    let script = r#"
        set -e
        exec 9<"$1"
        set -- /proc/self/fd/9
        mount -t tmpfs inspect-test /tmp
        mount --make-rshared /
        snapshot() { ls -A /; echo @@; ls -A /tmp; echo @@; cat /proc/self/mountinfo; echo @@; }
        snapshot
        "$1" -w --cap-add ALL --allow-new-privileges -- "$1" --inspect --json &
        pid=$!
        wait $pid
        echo @@
        snapshot
        echo $pid
    "#;
    let mut cmd = Command::new("unshare");
    cmd.args([
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        script,
        "sh",
    ])
    .arg(util::hardinit());
    let out = util::run_with_timeout(&mut cmd, Duration::from_secs(20));
    out.expect_code(0);
    let parts = sections(&out.stdout);
    assert_eq!(parts.len(), 8, "{out}");
    assert_eq!(
        parts[0..3],
        parts[4..7],
        "/, /tmp or the mounts changed\n{out}"
    );
    assert_eq!(parts[1], "", "{out}");
    let outer_pid = parts[7].trim();
    assert_eq!(
        out.stderr,
        format!("[WARN  hardinit ({outer_pid})] running as root; pass --user\n"),
        "{out}"
    );
    // Every probe really did what it must clean up after.
    let report: Value = serde_json::from_str(parts[3]).unwrap();
    let allowed = json!({"allowed": true, "error": null});
    assert_eq!(
        report["probes"],
        json!({
            "create_in_root": allowed, "create_in_tmp": allowed,
            "bind_privileged_port": allowed, "unshare_user_namespace": allowed,
            "mount": allowed, "signal_pid1": allowed
        }),
        "{out}"
    );
}

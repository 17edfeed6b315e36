//! Issue 6: `--inspect` reports the real state, `--expect` names what fails, the JSON field
//! names are pinned, and the probes leave nothing behind.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};

use crate::util;

const ALL_EXPECTATIONS: [&str; 9] = [
    "non-root",
    "no-caps",
    "no-new-privs",
    "seccomp",
    "read-only-root",
    "no-userns",
    "no-mount",
    "landlock",
    "no-runtime-socket",
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
            "clone_user_namespace",
            "clone3_user_namespace",
            "mount",
            "signal_pid1",
            "keyctl",
        ]
        .into_iter()
        .flat_map(probe),
    )
    .chain(["probes.runtime_sockets".to_string()])
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
         no-new-privs, seccomp, read-only-root, no-userns, no-mount, landlock, no-runtime-socket, \
         hardened)\n"
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
    // Root reaches every runtime socket on the machine; with none, that one line holds.
    let sockets: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("✗ "))
        .filter(|l| l.starts_with("connect /"))
        .map(|l| l.split("  ").next().unwrap())
        .collect();
    if Path::new("/run/docker.sock").exists() {
        assert!(sockets.contains(&"connect /run/docker.sock"), "{out}");
    }
    let mut expected = vec![
        format!("non-root ({})", root_facts.join(", ")),
        format!("no-caps ({})", own_nonempty_cap_sets().join(", ")),
        "no-new-privs (no_new_privs)".into(),
        "seccomp (seccomp)".into(),
        "read-only-root (create a file in /)".into(),
        "no-userns (new user namespace, clone a user namespace, clone3 a user namespace)".into(),
        "no-mount (mount a tmpfs)".into(),
        "landlock (landlock)".into(),
    ];
    if !sockets.is_empty() {
        expected.push(format!("no-runtime-socket ({})", sockets.join(", ")));
    }
    let expected = expected
        .iter()
        .map(|e| format!("hardinit: expectation not met: {e}\n"))
        .collect::<String>();
    assert_eq!(out.stderr, expected, "{out}");
    let report: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(report.len(), 24 + sockets.len().max(1), "{out}");
    let failing = report.iter().filter(|l| l.starts_with('✗')).count();
    assert_eq!(
        failing,
        root_facts.len() + own_nonempty_cap_sets().len() + 8 + sockets.len()
    );
}

/// The runtime sockets the report found, each refused to nobody by its modes (EACCES);
/// Docker's among them when it exists here.
#[track_caller]
fn refused_sockets(report: &Value) -> Value {
    let sockets = report["probes"]["runtime_sockets"].as_array().unwrap();
    for s in sockets {
        assert_eq!(
            (&s["allowed"], &s["error"]),
            (&json!(false), &json!("EACCES")),
            "{report}"
        );
    }
    let paths: Vec<&str> = sockets
        .iter()
        .map(|s| s["path"].as_str().unwrap())
        .collect();
    if Path::new("/run/docker.sock").exists() {
        assert!(paths.contains(&"/run/docker.sock"), "{report}");
    }
    json!(sockets)
}

/// The JSON `--user 65534` must produce; `seccomp` and `landlock` are what the hardening
/// flags add on top.
fn nobody_json(userns_allowed: bool, sockets: Value) -> Value {
    let scoped = util::landlock_abi() >= 6;
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
        // hardinit scopes the program's signals in its own mode, even without a Landlock
        // flag: one layer — from ABI 6 on; below, there is nothing to scope with (and no
        // bare domain: nobody's kernel files are kept by their modes, not by masks).
        "landlock": {
            "abi": hardinit::sys::landlock_abi().unwrap(),
            "restricted": scoped,
            "layers": u32::from(scoped),
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
            "clone_user_namespace": if userns_allowed { allowed.clone() } else { denied("EPERM") },
            "clone3_user_namespace": if userns_allowed { allowed.clone() } else { denied("EPERM") },
            // In a user namespace of its own nobody may mount a tmpfs.
            "mount": if userns_allowed { allowed.clone() } else { denied("EPERM") },
            "signal_pid1": denied("EPERM"),
            // A kernel with keyrings answers an unknown keyctl operation so; no filter here.
            "keyctl": denied("EOPNOTSUPP"),
            "runtime_sockets": sockets
        },
        "expectations": {
            "non-root": true, "no-caps": true, "no-new-privs": true, "seccomp": false,
            "read-only-root": true, "no-userns": !userns_allowed, "no-mount": !userns_allowed,
            "landlock": scoped, "no-runtime-socket": true
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
        "non-root,no-caps,no-new-privs,read-only-root,no-runtime-socket".as_ref(),
    ] as [&std::ffi::OsStr; 10]);
    out.expect_code(0);
    util::expect_only_scoping_warning(&out, false);
    let report = parse(&out);
    assert_eq!(
        report,
        nobody_json(userns.status.success(), refused_sockets(&report)),
        "{out}"
    );
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
    util::expect_only_scoping_warning(&out, true);
    let report = parse(&out);
    let mut expected = nobody_json(false, refused_sockets(&report));
    expected["seccomp"] = json!({"mode": "filter", "filters": 1});
    expected["landlock"]["restricted"] = json!(true);
    expected["landlock"]["layers"] = json!(1);
    // Docker's profile answers unshare and mount with EPERM without CAP_SYS_ADMIN.
    // clone3 answers ENOSYS (its flags are out of a filter's sight), keyctl EPERM.
    expected["probes"]["unshare_user_namespace"] = json!({"allowed": false, "error": "EPERM"});
    expected["probes"]["clone_user_namespace"] = json!({"allowed": false, "error": "EPERM"});
    expected["probes"]["clone3_user_namespace"] = json!({"allowed": false, "error": "ENOSYS"});
    expected["probes"]["keyctl"] = json!({"allowed": false, "error": "EPERM"});
    expected["probes"]["create_in_tmp"] = json!({"allowed": false, "error": "EACCES"});
    for e in ALL_EXPECTATIONS {
        expected["expectations"][e] = json!(true);
    }
    assert_eq!(report, expected, "{out}");

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
    let sockets = report["probes"]["runtime_sockets"].as_array().unwrap();
    assert!(sockets.iter().all(|s| s["allowed"] == json!(true)), "{out}");
    assert_eq!(
        report["probes"],
        json!({
            "create_in_root": allowed, "create_in_tmp": allowed,
            "bind_privileged_port": allowed, "unshare_user_namespace": allowed,
            "clone_user_namespace": allowed, "clone3_user_namespace": allowed,
            "mount": allowed, "signal_pid1": allowed,
            // Docker's profile refuses the keyring calls whatever the capabilities.
            "keyctl": {"allowed": false, "error": "EPERM"},
            "runtime_sockets": sockets
        }),
        "{out}"
    );
}

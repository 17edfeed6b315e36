//! Issue 3: user switch, capabilities, no_new_privs, rlimits — exact values, fail closed.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::util::{self, Background};

const SECS: fn(u64) -> Duration = Duration::from_secs;

const FIELDS: [&str; 9] = [
    "Uid",
    "Gid",
    "Groups",
    "CapInh",
    "CapPrm",
    "CapEff",
    "CapBnd",
    "CapAmb",
    "NoNewPrivs",
];

/// Runs `grep` under `hardinit ARGS` and returns the status fields the grep process saw.
#[track_caller]
fn probe_status(program: &Path, args: &[&str]) -> Vec<(String, String)> {
    let mut cmd = Command::new(program);
    cmd.args(args).args([
        "--",
        "grep",
        "-E",
        "^(Uid|Gid|Groups|Cap...|NoNewPrivs):",
        "/proc/self/status",
    ]);
    let out = util::run_with_timeout(&mut cmd, SECS(10));
    out.expect_code(0);
    FIELDS
        .iter()
        .map(|f| {
            (
                f.to_string(),
                util::parse_status_field(&out.stdout, f).unwrap_or_default(),
            )
        })
        .collect()
}

fn expect(uid: &str, gid: &str, groups: &str, caps: [&str; 5], nnp: &str) -> Vec<(String, String)> {
    let [inh, prm, eff, bnd, amb] = caps;
    let values = [uid, gid, groups, inh, prm, eff, bnd, amb, nnp];
    FIELDS
        .iter()
        .zip(values)
        .map(|(f, v)| (f.to_string(), v.to_string()))
        .collect()
}

const NONE: &str = "0000000000000000";

/// The bounding set of the test process: everything root has on this machine.
fn full_set() -> String {
    util::status_field(std::process::id() as i32, "CapBnd").unwrap()
}

#[test]
fn no_flags_as_root_empties_every_set_and_sets_nnp() {
    if !util::privileged("no_flags_as_root_empties_every_set_and_sets_nnp") {
        return;
    }
    assert_eq!(
        probe_status(&util::hardinit(), &[]),
        expect("0 0 0 0", "0 0 0 0", "", [NONE; 5], "1")
    );
}

#[test]
fn numeric_and_named_users() {
    if !util::privileged("numeric_and_named_users") {
        return;
    }
    let nobody = expect(
        "65534 65534 65534 65534",
        "65534 65534 65534 65534",
        "",
        [NONE; 5],
        "1",
    );
    assert_eq!(
        probe_status(&util::hardinit(), &["--user", "65534"]),
        nobody
    );
    assert_eq!(
        probe_status(&util::hardinit(), &["--user", "nobody"]),
        nobody
    );
    assert_eq!(
        probe_status(
            &util::hardinit(),
            &["--user", "1000:1000", "--groups", "10,20"]
        ),
        expect(
            "1000 1000 1000 1000",
            "1000 1000 1000 1000",
            "10 20",
            [NONE; 5],
            "1"
        )
    );
}

#[test]
fn a_numeric_uid_without_passwd_entry_never_keeps_gid_0() {
    if !util::privileged("a_numeric_uid_without_passwd_entry_never_keeps_gid_0") {
        return;
    }
    assert_eq!(
        probe_status(&util::hardinit(), &["--user", "4242"]),
        expect(
            "4242 4242 4242 4242",
            "4242 4242 4242 4242",
            "",
            [NONE; 5],
            "1"
        )
    );
}

#[test]
fn cap_add_survives_the_uid_switch_through_ambient() {
    if !util::privileged("cap_add_survives_the_uid_switch_through_ambient") {
        return;
    }
    let bind = "0000000000000400";
    assert_eq!(
        probe_status(
            &util::hardinit(),
            &["--user", "1000", "--cap-add", "NET_BIND_SERVICE"]
        ),
        expect(
            "1000 1000 1000 1000",
            "1000 1000 1000 1000",
            "",
            [bind; 5],
            "1"
        )
    );
}

#[test]
fn node_as_uid_1000_binds_port_80_only_with_the_capability() {
    if !util::privileged("node_as_uid_1000_binds_port_80_only_with_the_capability") {
        return;
    }
    let Some(node) = util::require_tool(
        "node_as_uid_1000_binds_port_80_only_with_the_capability",
        "node",
    ) else {
        return;
    };
    let script =
        "require('net').createServer().on('error', e => { console.log(e.code); process.exit(3) })\
                  .listen(80, '127.0.0.1', function () { console.log('bound'); this.close() })";
    let run = |extra: &[&str]| {
        let mut cmd = Command::new(util::hardinit());
        cmd.args(["--user", "1000"])
            .args(extra)
            .arg("--")
            .arg(&node)
            .args(["-e", script]);
        util::run_with_timeout(&mut cmd, SECS(20))
    };
    let out = run(&["--cap-add", "cap_net_bind_service"]);
    out.expect_code(0);
    assert_eq!(out.stdout, "bound\n");
    let out = run(&[]);
    out.expect_code(3);
    assert_eq!(out.stdout, "EACCES\n");
}

#[test]
fn cap_add_all_as_root_keeps_everything_but_inheritable_and_ambient() {
    if !util::privileged("cap_add_all_as_root_keeps_everything_but_inheritable_and_ambient") {
        return;
    }
    let full = full_set();
    assert_eq!(
        probe_status(&util::hardinit(), &["--cap-add", "ALL"]),
        expect(
            "0 0 0 0",
            "0 0 0 0",
            "",
            [NONE, &full, &full, &full, NONE],
            "1"
        )
    );
}

#[test]
fn tini_named_invocation_changes_nothing() {
    if !util::privileged("tini_named_invocation_changes_nothing") {
        return;
    }
    let dir = util::scratch_dir("tini-defaults");
    let tini = dir.join("tini");
    std::os::unix::fs::symlink(util::hardinit(), &tini).unwrap();
    let me = std::process::id() as i32;
    let own = |f: &str| util::status_field(me, f).unwrap_or_default();
    let caps = [
        own("CapInh"),
        own("CapPrm"),
        own("CapEff"),
        own("CapBnd"),
        own("CapAmb"),
    ];
    let want = expect(
        &own("Uid"),
        &own("Gid"),
        &own("Groups"),
        [&caps[0], &caps[1], &caps[2], &caps[3], &caps[4]],
        &own("NoNewPrivs"),
    );
    assert_eq!(probe_status(&tini, &[]), want);
}

/// A copy of `src` in a scratch dir that uid 1000 can reach.
fn copy_tool(dir: &Path, src: &str) -> PathBuf {
    let dst = dir.join(Path::new(src).file_name().unwrap());
    std::fs::copy(src, &dst).unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    dst
}

#[test]
fn setuid_root_binary_cannot_raise_euid() {
    if !util::privileged("setuid_root_binary_cannot_raise_euid") {
        return;
    }
    let dir = util::scratch_dir("setuid");
    let id = copy_tool(&dir, "/usr/bin/id");
    std::fs::set_permissions(&id, std::fs::Permissions::from_mode(0o4755)).unwrap();
    assert_eq!(std::fs::metadata(&id).unwrap().mode() & 0o7777, 0o4755);
    let run = |extra: &[&str]| {
        let mut cmd = Command::new(util::hardinit());
        cmd.args(["--user", "1000"])
            .args(extra)
            .arg("--")
            .arg(&id)
            .arg("-u");
        util::run_with_timeout(&mut cmd, SECS(10))
    };
    let out = run(&[]);
    out.expect_code(0);
    assert_eq!(out.stdout, "1000\n");
    // Without no_new_privs the same binary does become root: the check above can fail.
    // (A filter needs no_new_privs or CAP_SYS_ADMIN, so this run has none.)
    let out = run(&["--allow-new-privileges", "--seccomp", "unconfined"]);
    out.expect_code(0);
    assert_eq!(out.stdout, "0\n");
}

#[test]
fn file_capabilities_are_not_gained() {
    if !util::privileged("file_capabilities_are_not_gained") {
        return;
    }
    let Some(setcap) = util::require_tool("file_capabilities_are_not_gained", "setcap") else {
        return;
    };
    let dir = util::scratch_dir("filecaps");
    let grep = copy_tool(&dir, "/usr/bin/grep");
    let out = util::run_with_timeout(
        Command::new(setcap).arg("cap_net_raw+p").arg(&grep),
        SECS(10),
    );
    out.expect_code(0);
    let prm = |program: &Path, args: &[&str]| {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .arg("--")
            .arg(&grep)
            .args(["^CapPrm:", "/proc/self/status"]);
        let out = util::run_with_timeout(&mut cmd, SECS(10));
        out.expect_code(0);
        util::parse_status_field(&out.stdout, "CapPrm").unwrap()
    };
    assert_eq!(prm(&util::hardinit(), &["--user", "1000"]), NONE);
    // Under tini's defaults (bounding set kept, no no_new_privs) the file capability works.
    let tini = dir.join("tini");
    std::os::unix::fs::symlink(util::hardinit(), &tini).unwrap();
    assert_eq!(prm(&tini, &["--user", "1000"]), "0000000000002000");
}

#[test]
fn bad_input_exits_125_and_runs_nothing() {
    let dir = util::scratch_dir("bad-input");
    let marker = dir.join("ran");
    let cases: [(&[&str], &str); 7] = [
        (&["--user", "nosuchuser"], "hardinit: --user: no such user 'nosuchuser' in /etc/passwd"),
        (&["--user", "1000:nosuchgroup"], "hardinit: --user: no such group 'nosuchgroup' in /etc/group"),
        (&["--user", "1000", "--groups", "10,nosuchgroup"], "hardinit: --groups: no such group 'nosuchgroup' in /etc/group"),
        (&["--cap-add", "NET_BIND"], "hardinit: --cap-add: unknown capability 'NET_BIND'"),
        (&["--rlimit", "nofile=10:5"], "hardinit: --rlimit: 'nofile=10:5': the soft limit is above the hard limit"),
        (&["--rlimit", "nofiles=10"], "hardinit: --rlimit: 'nofiles=10': unknown resource 'nofiles' (known: as, core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack)"),
        (&["--rlimit", "core=big"], "hardinit: --rlimit: 'core=big': 'big' is not a number or 'unlimited'"),
    ];
    for (args, message) in cases {
        let mut cmd = Command::new(util::hardinit());
        cmd.args(args).arg("--").arg("touch").arg(&marker);
        let out = util::run_with_timeout(&mut cmd, SECS(10));
        out.expect_code(125);
        assert_eq!(out.stderr, format!("{message}\n"), "{out}");
        assert!(!marker.exists(), "the program ran despite {args:?}");
    }
}

#[test]
fn rlimits_reach_the_program() {
    let out = util::run_hardinit([
        "--rlimit",
        "nofile=64:128",
        "--rlimit",
        "core=0",
        "--",
        "sh",
        "-c",
        "ulimit -Sn; ulimit -Hn; ulimit -c",
    ]);
    out.expect_code(0);
    assert_eq!(out.stdout, "64\n128\n0\n");
}

#[test]
fn a_failing_step_stops_everything_with_its_name() {
    if !util::privileged("a_failing_step_stops_everything_with_its_name") {
        return;
    }
    // Raising the hard limit above the kernel's nr_open fails in the child (EPERM).
    let dir = util::scratch_dir("failing-step");
    let marker = dir.join("ran");
    let out = util::run_with_timeout(
        Command::new(util::hardinit())
            .args(["--rlimit", "nofile=unlimited", "--"])
            .arg("touch")
            .arg(&marker),
        SECS(10),
    );
    out.expect_code(125);
    assert!(
        out.stderr
            .ends_with("hardinit: set rlimit nofile: Operation not permitted (EPERM)\n"),
        "{out}"
    );
    assert!(!marker.exists());
}

#[test]
fn warns_once_when_the_program_runs_as_root() {
    if !util::privileged("warns_once_when_the_program_runs_as_root") {
        return;
    }
    let out = util::run_hardinit(["true"]);
    out.expect_code(0);
    assert_eq!(
        out.stderr.matches("running as root; pass --user").count(),
        1,
        "{out}"
    );
    let out = util::run_hardinit(["--user", "65534", "true"]);
    util::expect_only_scoping_warning(&out, false);
}

#[test]
fn print_policy_shows_the_plan_and_runs_nothing() {
    let out = util::run_hardinit([
        "--user",
        "1000:1000",
        "--groups",
        "10,20",
        "--cap-add",
        "net_bind_service",
        "--rlimit",
        "nofile=1024:4096",
        "--print-policy",
        "--",
        "touch",
        "/nonexistent/never",
    ]);
    out.expect_code(0);
    // The policy follows the list of settings and where they came from (tests/it/environment.rs).
    let head: Vec<&str> = out
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("user "))
        .take(7)
        .collect();
    assert_eq!(
        head,
        [
            "user            node (uid 1000, gid 1000)",
            "groups          10, 20",
            "HOME            /home/node",
            "capabilities    CAP_NET_BIND_SERVICE",
            "bounding set    dropped except the capabilities above",
            "no_new_privs    yes",
            "rlimits         nofile=1024:4096",
        ]
        .map(|l| l
            .replace("node (uid", &format!("{} (uid", user_1000_name()))
            .replace("/home/node", &home_1000())),
        "{out}"
    );
}

fn passwd_1000() -> Option<Vec<String>> {
    std::fs::read_to_string("/etc/passwd")
        .ok()?
        .lines()
        .map(|l| l.split(':').map(str::to_string).collect::<Vec<_>>())
        .find(|f| f.len() >= 7 && f[2] == "1000")
}

fn user_1000_name() -> String {
    passwd_1000().map_or_else(|| "(no passwd entry)".to_string(), |f| f[0].clone())
}

fn home_1000() -> String {
    passwd_1000().map_or_else(|| "/".to_string(), |f| f[5].clone())
}

#[test]
fn started_as_uid_1000_it_runs_and_says_why_the_bounding_set_stays() {
    if !util::privileged("started_as_uid_1000_it_runs_and_says_why_the_bounding_set_stays") {
        return;
    }
    let setpriv = |extra: &[&str]| {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid", "1000", "--regid", "1000", "--clear-groups", "--"])
            .arg(util::hardinit())
            .args(["-v"])
            .args(extra)
            .args(["--", "grep", "^CapBnd:", "/proc/self/status"]);
        util::run_with_timeout(&mut cmd, SECS(10))
    };
    let out = setpriv(&[]);
    out.expect_code(0);
    assert_eq!(
        util::parse_status_field(&out.stdout, "CapBnd"),
        Some(full_set())
    );
    assert!(
        out.stderr.contains("cannot drop the bounding set without CAP_SETPCAP; harmless, as no_new_privs keeps exec from gaining anything"),
        "{out}"
    );
    let out = setpriv(&["--allow-new-privileges"]);
    out.expect_code(125);
    assert!(
        out.stderr
            .contains("hardinit: cannot drop the bounding set without CAP_SETPCAP"),
        "{out}"
    );
    let out = setpriv(&["--user", "0"]);
    out.expect_code(125);
}

#[test]
fn started_as_docker_user_1000_the_primary_gid_as_group_is_no_difference() {
    if !util::privileged("started_as_docker_user_1000_the_primary_gid_as_group_is_no_difference") {
        return;
    }
    // `docker run --user 1000` starts the entrypoint with groups [1000]; the image's
    // ENTRYPOINT still says `--user 1000`.
    let mut cmd = Command::new("setpriv");
    cmd.args([
        "--reuid", "1000", "--regid", "1000", "--groups", "1000", "--",
    ])
    .arg(util::hardinit())
    .args(["--user", "1000", "--", "sh", "-c", "id -u; id -g; id -G"]);
    let out = util::run_with_timeout(&mut cmd, SECS(10));
    out.expect_code(0);
    assert_eq!(out.stdout, "1000\n1000\n1000\n");
}

#[test]
fn pid1_locks_itself_down_and_still_reaps_and_forwards() {
    if !util::privileged("pid1_locks_itself_down_and_still_reaps_and_forwards") {
        return;
    }
    let program = "i=0; while [ $i -lt 100 ]; do (sleep 0.2 &); i=$((i+1)); done; \
                   trap 'echo got-USR1; exit 9' USR1; echo ready; while :; do sleep 0.1; done";
    let mut outer = Background::start(
        Command::new("unshare")
            .args(["--pid", "--fork", "--mount-proc"])
            .arg(util::hardinit())
            .args(["-w", "--user", "1000", "--", "sh", "-c", program]),
    );
    assert_eq!(outer.next_line(SECS(20)), "ready");
    let init = util::children_of(outer.pid())[0];
    let field = |f: &str| util::status_field(init, f).unwrap();
    // PID 1 keeps a uid the program does not have (root, the program being 1000) and only
    // the CAP_KILL it needs to signal another uid: the program can neither signal nor
    // re-limit it (tests/it/escapes/supervision.rs).
    assert_eq!(field("Uid"), "0 0 0 0");
    assert_eq!(field("Gid"), "0 0 0 0");
    let kill = "0000000000000020";
    for (set, want) in [
        ("CapInh", NONE),
        ("CapPrm", kill),
        ("CapEff", kill),
        ("CapBnd", kill),
        ("CapAmb", NONE),
    ] {
        assert_eq!(field(set), want, "{set}");
    }
    assert_eq!(field("NoNewPrivs"), "1");
    // A non-dumpable process's private /proc files belong to root, not to its uid.
    assert_eq!(
        std::fs::metadata(format!("/proc/{init}/environ"))
            .unwrap()
            .uid(),
        0
    );
    let program_pid = util::children_of(init)[0];
    assert_eq!(
        std::fs::metadata(format!("/proc/{program_pid}/environ"))
            .unwrap()
            .uid(),
        1000
    );
    std::thread::sleep(Duration::from_millis(500));
    util::send(init, libc::SIGUSR1);
    assert_eq!(outer.next_line(SECS(10)), "got-USR1");
    assert_eq!(outer.wait(SECS(10)).code(), Some(9), "{}", outer.stderr());
    assert_eq!(
        outer
            .stderr()
            .matches("Reaped zombie process with pid=")
            .count(),
        100,
        "{}",
        outer.stderr()
    );
}

#[test]
fn pid1_of_a_root_program_moves_to_the_last_uid_of_its_namespace() {
    if !util::privileged("pid1_of_a_root_program_moves_to_the_last_uid_of_its_namespace") {
        return;
    }
    let mut outer = Background::start(
        Command::new("unshare")
            .args(["--pid", "--fork", "--mount-proc", "--kill-child"])
            .arg(util::hardinit())
            .args(["--", "sh", "-c", "echo ready; sleep 600"]),
    );
    assert_eq!(outer.next_line(SECS(20)), "ready");
    let init = util::children_of(outer.pid())[0];
    let field = |f: &str| util::status_field(init, f).unwrap();
    // The program is root and cannot change its uid: PID 1 leaves uid 0 for the last uid of
    // its (here the initial) user namespace, keeping only CAP_KILL.
    assert_eq!(field("Uid"), "4294967294 4294967294 4294967294 4294967294");
    assert_eq!(field("Gid"), "4294967294 4294967294 4294967294 4294967294");
    assert_eq!(field("CapEff"), "0000000000000020");
    assert_eq!(field("CapBnd"), "0000000000000020");
    assert_eq!(field("NoNewPrivs"), "1");
    // Dumpable, so its /proc files stay its own: a non-dumpable process's go to root, which
    // the program is.
    for file in ["environ", "mem", "oom_score_adj"] {
        let owner = std::fs::metadata(format!("/proc/{init}/{file}"))
            .unwrap()
            .uid();
        assert_eq!(owner, 4294967294, "{file}");
    }
    let program = util::children_of(init)[0];
    assert_eq!(util::status_field(program, "Uid").unwrap(), "0 0 0 0");
}

/// Issue 18: PID 1 and the program both give up most of the bounding set. hardinit drops
/// what both give up once, before the fork (the child inherits the smaller set): a root
/// launch made 79 `PR_CAPBSET_DROP` calls here, each shared capability twice; it makes one
/// per capability. The end states are those the tests above assert.
#[test]
fn each_bounding_capability_is_dropped_once_per_launch() {
    let test = "each_bounding_capability_is_dropped_once_per_launch";
    if !util::privileged(test) {
        return;
    }
    let Some(strace) = util::require_tool(test, "strace") else {
        return;
    };
    let bounding = u64::from_str_radix(&full_set(), 16).unwrap();
    // Default (the program keeps nothing, PID 1 CAP_KILL) and a kept capability (the
    // program keeps CAP_NET_BIND_SERVICE, which PID 1 drops after the fork).
    for (args, program_bounding) in [
        (&[][..], NONE),
        (&["--cap-add", "NET_BIND_SERVICE"][..], "0000000000000400"),
    ] {
        let log = util::scratch_dir("bounding-once").join("strace.log");
        let out = util::run_with_timeout(
            Command::new(&strace)
                .args(["-f", "-qq", "-e", "trace=prctl", "-o"])
                .arg(&log)
                .arg(util::hardinit())
                .args(args)
                .args(["--", "grep", "^CapBnd:", "/proc/self/status"]),
            SECS(30),
        );
        out.expect_code(0);
        assert_eq!(
            util::parse_status_field(&out.stdout, "CapBnd").as_deref(),
            Some(program_bounding),
            "{args:?}"
        );
        let text = std::fs::read_to_string(&log).unwrap();
        let mut dropped: Vec<&str> = text
            .lines()
            .filter_map(|l| {
                // `PID prctl(PR_CAPBSET_DROP, CAP_CHOWN) = 0`, or split by -f into
                // `... CAP_CHOWN <unfinished ...>` and its resumption.
                let arg = l.split_once("prctl(PR_CAPBSET_DROP, ")?.1;
                arg.split(|c: char| c == ')' || c.is_whitespace()).next()
            })
            .collect();
        dropped.sort_unstable();
        let calls = dropped.len();
        dropped.dedup();
        assert_eq!(
            (calls, dropped.len()),
            (
                bounding.count_ones() as usize,
                bounding.count_ones() as usize
            ),
            "{args:?}: calls, distinct capabilities:\n{text}"
        );
    }
}

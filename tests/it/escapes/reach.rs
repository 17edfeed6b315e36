//! Escapes that reach outside the program (see escapes.rs).

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::util::{self, Output};

const TIMEOUT: Duration = Duration::from_secs(20);

/// The modes every escape is tried in; `WRITABLE` stands for a scratch directory anyone may
/// write (not /tmp: the checkout, and so the probes, may live there).
const MODES: [&[&str]; 5] = [
    &[],
    &["--user", "65534"],
    &["--read-only"],
    &[
        "--user",
        "65534",
        "--read-only",
        "--writable",
        WRITABLE,
        "--seccomp",
        "node",
    ],
    &[
        "--user",
        "65534",
        "--read-only",
        "--writable",
        WRITABLE,
        "--seccomp",
        "default",
    ],
];
const WRITABLE: &str = "@writable";

/// The mode's flags with the scratch directory in place of `WRITABLE`.
fn flags(mode: &[&str], writable: &Path) -> Vec<OsString> {
    mode.iter()
        .map(|f| {
            if *f == WRITABLE {
                writable.as_os_str().to_owned()
            } else {
                OsString::from(f)
            }
        })
        .collect()
}

fn writable_dir(name: &str) -> PathBuf {
    let dir = util::scratch_dir(name);
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    dir
}

fn runs_as_root(mode: &[&str]) -> bool {
    !mode.contains(&"--user")
}

/// hardinit with `flags -- program`, as PID 1 of a new PID namespace (with its own /proc)
/// or not, with `env` added.
#[track_caller]
fn hardinit(pid1: bool, flags: &[OsString], program: &[OsString], env: &[(&str, &str)]) -> Output {
    let mut cmd = if pid1 {
        let mut c = Command::new("unshare");
        c.args(["--pid", "--fork", "--mount-proc"])
            .arg(util::hardinit());
        c
    } else {
        Command::new(util::hardinit())
    };
    cmd.args(flags).arg("--").args(program);
    for (k, v) in env {
        cmd.env(k, v);
    }
    util::run_with_timeout(&mut cmd, TIMEOUT)
}

/// stderr without the log prefix, the warning every root launch without --user gets and the
/// scoping warning of a kernel below Landlock ABI 6 (`util::without_scoping_warnings`).
fn stderr_lines(out: &Output) -> Vec<String> {
    util::without_scoping_warnings(&out.stderr)
        .lines()
        .map(|l| match l.split_once(")] ") {
            Some((prefix, msg)) if prefix.starts_with('[') => msg.to_string(),
            _ => l.to_string(),
        })
        .filter(|l| l != "running as root; pass --user")
        .collect()
}

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

fn path_os(p: &Path) -> OsString {
    p.as_os_str().to_owned()
}

/// Files of the kernel interfaces runc and Docker make read-only (one beneath each tree this
/// machine has, a cgroup file mounted beneath /sys among them).
fn kernel_files() -> Vec<&'static str> {
    let files: Vec<&str> = [
        "/proc/sys/kernel/core_pattern",
        "/proc/sys/vm/drop_caches",
        "/proc/sys/kernel/ns_last_pid",
        "/proc/irq/default_smp_affinity",
        "/proc/sysrq-trigger",
        "/sys/kernel/mm/ksm/run",
        "/sys/fs/cgroup/pids/tasks",
        "/sys/fs/cgroup/cgroup.procs",
        "/sys/kernel/uevent_helper",
    ]
    .into_iter()
    .filter(|f| Path::new(f).exists())
    .collect();
    assert!(
        files.contains(&"/proc/sys/kernel/core_pattern"),
        "no /proc/sys here"
    );
    files
}

/// Files a program writes of its own, which must stay writable.
const OWN_FILES: [&str; 4] = [
    "/proc/self/oom_score_adj",
    "/proc/self/comm",
    "/proc/thread-self/comm",
    "/dev/null",
];

#[test]
fn reach_kernel_interfaces_are_read_only_in_every_mode() {
    if !util::privileged("reach_kernel_interfaces_are_read_only_in_every_mode")
        || util::require_tool(
            "reach_kernel_interfaces_are_read_only_in_every_mode",
            "unshare",
        )
        .is_none()
    {
        return;
    }
    let openw = util::c_probe("openw");
    let writable = writable_dir("escapes-reach-kernel");
    let kernel = kernel_files();
    // The probe opens every file for writing (writing nothing), then does so again from a
    // child of the shell: a descendant's own /proc/self must stay writable too.
    let mut program = os(&["sh", "-c", r#""$0" "$@" && "$0" /proc/self/oom_score_adj"#]);
    program.push(path_os(&openw));
    program.extend(kernel.iter().chain(OWN_FILES.iter()).map(OsString::from));
    for mode in MODES {
        for pid1 in [false, true] {
            let out = hardinit(pid1, &flags(mode, &writable), &program, &[]);
            out.expect_code(0);
            // Root's write is refused by the read-only mount; nobody's by the file modes
            // first (the mount refuses it all the same, as for ns_last_pid, mode 0666).
            let mut expected: Vec<String> = kernel
                .iter()
                .map(|f| {
                    let world_writable =
                        std::fs::metadata(f).unwrap().permissions().mode() & 0o2 != 0;
                    let refusal = if runs_as_root(mode) || world_writable {
                        "EROFS"
                    } else {
                        "EACCES"
                    };
                    format!("{f}: {refusal}")
                })
                .collect();
            expected.extend(OWN_FILES.iter().map(|f| format!("{f}: ok")));
            expected.push("/proc/self/oom_score_adj: ok".into());
            assert_eq!(
                out.stdout.lines().collect::<Vec<_>>(),
                expected,
                "mode {mode:?}, PID 1: {pid1}\n{out}"
            );
            assert_eq!(stderr_lines(&out), Vec::<String>::new(), "{out}");
        }
    }
    // The attack itself: a core_pattern helper. The file is unchanged.
    let before = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap();
    let out = hardinit(
        false,
        &[],
        &os(&[
            "sh",
            "-c",
            r#"echo "|/tmp/hardinit-escape %P" > /proc/sys/kernel/core_pattern"#,
        ]),
        &[],
    );
    out.expect_code(2);
    assert_eq!(
        stderr_lines(&out),
        ["sh: 1: cannot create /proc/sys/kernel/core_pattern: Read-only file system"],
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap(),
        before
    );
    std::fs::remove_dir_all(&writable).unwrap();
}

/// A process of uid 0 that holds no capabilities, outside the program's mount namespace (a
/// shell's job, an exec probe): it sees the kernel files writable, and the kernel's ptrace
/// check lets any uid-0 process whose capabilities are no larger open its ptrace-guarded
/// /proc files. Through its root, its cwd and its descriptors a root program would write
/// what hardinit's private read-only mounts keep from it, and under `--read-only` what
/// Landlock refuses. The program's Landlock domain, which may not pass the ptrace check
/// outside itself, closes them: where hardinit masks the kernel files it makes one at every
/// ABI from 2 on (below 6 a bare one), and says what is open below.
#[test]
fn reach_another_root_process_proc_files_stay_closed() {
    const NAME: &str = "reach_another_root_process_proc_files_stay_closed";
    if !util::privileged(NAME)
        || util::require_tool(NAME, "setpriv").is_none()
        || util::require_tool(NAME, "unshare").is_none()
    {
        return;
    }
    // The masks the victim's view goes around: /proc/sys writable here, copied read-only.
    assert!(
        util::writable_interfaces().contains(&"/proc/sys".to_string()),
        "/proc/sys is not writable here: nothing for the victim's view to expose"
    );
    let openw = util::c_probe("openw");
    let writable = writable_dir("escapes-reach-other-root");
    // The victim holds /proc/sys/kernel/core_pattern open (read-only) on descriptor 3.
    let mut victim_cmd = Command::new("setpriv");
    victim_cmd.current_dir("/").args([
        "--bounding-set",
        "-all",
        "--",
        "sh",
        "-c",
        "exec 3< /proc/sys/kernel/core_pattern; exec sleep 120",
    ]);
    let victim = util::Background::start(&mut victim_cmd);
    let v = victim.child.id();
    let held = format!("/proc/{v}/fd/3");
    assert!(
        util::wait_until(TIMEOUT, || std::fs::read_link(&held)
            .is_ok_and(|t| t == Path::new("/proc/sys/kernel/core_pattern"))),
        "the victim never opened core_pattern"
    );
    let status = std::fs::read_to_string(format!("/proc/{v}/status")).unwrap();
    assert!(
        status.contains("CapPrm:\t0000000000000000\n") && status.contains("Uid:\t0\t0\t0\t0\n"),
        "{status}"
    );
    let targets = [
        format!("/proc/{v}/root/proc/sys/kernel/core_pattern"),
        format!("/proc/{v}/cwd/proc/sys/vm/drop_caches"),
        held,
    ];
    let mut program = vec![path_os(&openw)];
    program.extend(targets.iter().map(OsString::from));
    let before = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap();
    // Each mode at the kernel's ABI, and at the ABIs below signal scoping where only a bare
    // domain stands between the program and the victim.
    for abi in [None, Some("5"), Some("2")] {
        for mode in MODES {
            for pid1 in [false, true] {
                let mut args = flags(mode, &writable);
                if let Some(abi) = abi {
                    args.extend(os(&["--landlock-abi", abi]));
                }
                let out = hardinit(pid1, &args, &program, &[]);
                out.expect_code(0);
                // In a PID namespace of its own the victim is not there at all.
                let refusal = if pid1 { "ENOENT" } else { "EACCES" };
                let expected: Vec<String> =
                    targets.iter().map(|t| format!("{t}: {refusal}")).collect();
                assert_eq!(
                    out.stdout.lines().collect::<Vec<_>>(),
                    expected,
                    "mode {mode:?}, --landlock-abi {abi:?}, PID 1: {pid1}\n{out}"
                );
            }
        }
    }
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap(),
        before
    );
    // ABI 1 can make no domain without --read-only: hardinit says so at the launch and in
    // --print-policy, rather than leave the way open silently.
    let out = hardinit(
        false,
        &os(&["--landlock-abi", "1", "--print-policy"]),
        &os(&["true"]),
        &[],
    );
    out.expect_code(0);
    let gap = format!("{} (needs ABI 2)", hardinit::policy::landlock::DOMAIN_GAP);
    assert!(
        out.stdout.contains(&format!("\n                {gap}\n")),
        "{out}"
    );
    assert!(
        out.stderr
            .lines()
            .any(|l| util::without_log_prefix(l) == format!("landlock: not enforced: {gap}")),
        "{out}"
    );
    drop(victim);
    std::fs::remove_dir_all(&writable).unwrap();
}

#[test]
fn reach_kernel_interfaces_fail_closed_without_cap_sys_admin() {
    if !util::privileged("reach_kernel_interfaces_fail_closed_without_cap_sys_admin")
        || util::require_tool(
            "reach_kernel_interfaces_fail_closed_without_cap_sys_admin",
            "setpriv",
        )
        .is_none()
    {
        return;
    }
    let openw = util::c_probe("openw");
    let without_sys_admin = |flags: &[&str]| {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--bounding-set", "-sys_admin", "--"])
            .arg(util::hardinit())
            .args(flags)
            .arg("--")
            .arg(&openw)
            .arg("/proc/sys/kernel/core_pattern");
        util::run_with_timeout(&mut cmd, TIMEOUT)
    };
    let writable = util::writable_interfaces();
    assert!(writable.contains(&"/proc/sys".to_string()), "{writable:?}");
    let out = without_sys_admin(&[]);
    out.expect_code(125);
    assert_eq!(out.stdout, "", "{out}");
    assert_eq!(
        stderr_lines(&out),
        [format!(
            "hardinit: {} are writable here and the program would run as root or with capabilities, but hardinit lacks CAP_SYS_ADMIN to mount them read-only for it; start hardinit with CAP_SYS_ADMIN, pass --user with a non-root user, or --landlock-compat best-effort to run anyway",
            writable.join(", ")
        )],
        "{out}"
    );
    // Best effort says what stays open, and it does stay open.
    let out = without_sys_admin(&["--landlock-compat", "best-effort"]);
    out.expect_code(0);
    assert_eq!(out.stdout, "/proc/sys/kernel/core_pattern: ok\n", "{out}");
    assert_eq!(
        stderr_lines(&out),
        [format!(
            "kernel files: not enforced: {} stay writable to the program (no CAP_SYS_ADMIN to mount them read-only)",
            writable.join(", ")
        )],
        "{out}"
    );
    // A non-root program without capabilities is kept out by the files' modes.
    let out = without_sys_admin(&["--user", "65534"]);
    out.expect_code(0);
    assert_eq!(
        out.stdout, "/proc/sys/kernel/core_pattern: EACCES\n",
        "{out}"
    );
    let out = without_sys_admin(&["--user", "65534", "--print-policy"]);
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("kernel files"))
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        line,
        format!(
            "kernel files    writable only by root or a capability, which the program lacks (file permissions only): {}",
            writable.join(", ")
        ),
        "{out}"
    );
}

/// What hardinit says to HARDINIT_LANDLOCK_ABI: the testing aid is a flag only.
const LANDLOCK_ABI_REFUSED: &str = "hardinit: HARDINIT_LANDLOCK_ABI: --landlock-abi chooses what hardinit does and is a flag only, not read from the environment";

#[test]
fn reach_the_environment_cannot_lower_the_landlock_abi() {
    if !util::privileged("reach_the_environment_cannot_lower_the_landlock_abi") {
        return;
    }
    let kernel = hardinit::sys::landlock_abi().unwrap();
    let writable = writable_dir("escapes-reach-abi");
    for mode in MODES.iter().filter(|m| m.contains(&"--read-only")) {
        for (pid1, target) in [(false, "$PPID"), (true, "1")] {
            for abi in ["5", "0"] {
                let out = hardinit(
                    pid1,
                    &flags(mode, &writable),
                    &os(&["sh", "-c", &format!("kill -0 {target}")]),
                    &[("HARDINIT_LANDLOCK_ABI", abi)],
                );
                // Refused outright (issue 17: a HARDINIT_* variable is an option's or an
                // error), so nothing runs with a lower ABI.
                out.expect_code(125);
                assert_eq!(
                    stderr_lines(&out),
                    [LANDLOCK_ABI_REFUSED],
                    "mode {mode:?}, PID 1: {pid1}, ABI {abi}\n{out}"
                );
            }
        }
    }
    // --print-policy shows the kernel's ABI whatever the environment says.
    let out = hardinit(
        false,
        &os(&["--print-policy", "--read-only"]),
        &os(&["true"]),
        &[("HARDINIT_LANDLOCK_ABI", "4")],
    );
    out.expect_code(125);
    assert_eq!(stderr_lines(&out), [LANDLOCK_ABI_REFUSED], "{out}");
    let out = hardinit(
        false,
        &os(&["--print-policy", "--read-only"]),
        &os(&["true"]),
        &[],
    );
    out.expect_code(0);
    let first = out
        .stdout
        .lines()
        .find(|l| l.starts_with("landlock "))
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        first,
        format!(
            "landlock        kernel ABI {kernel}, using ABI {}, --landlock-compat hard",
            kernel.min(9)
        )
    );
    // The testing aid is a flag, and every right its ABI lacks is listed, device ioctl too.
    let out = hardinit(
        false,
        &os(&["--print-policy", "--read-only", "--landlock-abi", "4"]),
        &os(&["true"]),
        &[],
    );
    out.expect_code(0);
    let scoping = format!(
        "                {} (needs ABI 6)",
        hardinit::policy::landlock::SCOPING_GAP
    );
    let gaps: Vec<&str> = out
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("not enforced"))
        .take_while(|l| !l.starts_with("seccomp"))
        .collect();
    assert_eq!(
        gaps,
        [
            "not enforced    denying ioctl on devices outside the device list (needs ABI 5)",
            "                denying connect to pathname unix sockets outside the writable paths (needs ABI 9)",
            scoping.as_str(),
        ],
        "{out}"
    );
    std::fs::remove_dir_all(&writable).unwrap();
}

/// What `--inspect` says a Landlock domain of this kernel's ABI cannot deny (README: truncate
/// from ABI 3, scoping from ABI 6).
fn inspect_abi_gaps() -> &'static str {
    match hardinit::sys::landlock_abi().unwrap() {
        0..=2 => ": no truncate right, signals not scoped",
        3..=5 => ": signals not scoped",
        _ => "",
    }
}

/// Runs `script` (which may use $HARDINIT) in a private mount namespace, as PID 1 of a new
/// PID namespace or not: bind mounts made there vanish with it.
#[track_caller]
fn in_mount_namespace(pid1: bool, script: &str, args: &[OsString]) -> Output {
    let mut cmd = Command::new("unshare");
    cmd.args(["--mount", "--propagation", "private"]);
    if pid1 {
        cmd.args(["--pid", "--fork", "--mount-proc"]);
    }
    cmd.args(["sh", "-c", script, "sh"])
        .args(args)
        .env("HARDINIT", util::hardinit());
    util::run_with_timeout(&mut cmd, TIMEOUT)
}

#[test]
fn reach_execute_is_kept_from_every_name_of_a_writable_path() {
    if !util::privileged("reach_execute_is_kept_from_every_name_of_a_writable_path")
        || util::require_tool(
            "reach_execute_is_kept_from_every_name_of_a_writable_path",
            "unshare",
        )
        .is_none()
    {
        return;
    }
    let base = writable_dir("escapes-reach-exec");
    let data = base.join("data");
    std::fs::create_dir_all(data.join("sub")).unwrap();
    for dir in ["alias", "twice", "other/sub-alias"] {
        std::fs::create_dir_all(base.join(dir)).unwrap();
    }
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::os::unix::fs::symlink(&data, base.join("link")).unwrap();
    // The payload, dropped into the writable directory (and its subdirectory).
    for at in [data.join("true"), data.join("sub/true")] {
        std::fs::copy("/bin/true", &at).unwrap();
        std::fs::set_permissions(&at, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    // The same directory at other paths: a bind mount beside it, the volume (a tmpfs's
    // root, bound twice), a bind of its subdirectory, and a symlink to it.
    let script = r#"
        set -e
        b=$1; shift
        mount --bind "$b/data" "$b/alias"
        mount --bind "$b/data" "$b/twice"
        mount --bind "$b/data/sub" "$b/other/sub-alias"
        exec "$HARDINIT" "$@"
    "#;
    for mode in MODES.iter().filter(|m| m.contains(&"--read-only")) {
        for pid1 in [false, true] {
            for (writable, payload) in [
                ("data", "alias/true"),
                ("data", "twice/true"),
                ("data", "other/sub-alias/true"),
                ("data", "data/true"),
                ("link", "data/true"),
                ("alias", "data/sub/true"),
            ] {
                let mut args = vec![path_os(&base)];
                let mut f = flags(mode, &base.join(writable));
                if !f.iter().any(|a| a == "--writable") {
                    f.extend([OsString::from("--writable"), path_os(&base.join(writable))]);
                }
                args.extend(f);
                args.push("--".into());
                let program = base.join(payload);
                args.push(path_os(&program));
                let out = in_mount_namespace(pid1, script, &args);
                out.expect_code(126);
                assert_eq!(
                    stderr_lines(&out),
                    [format!(
                        "hardinit: cannot execute {}: Permission denied (EACCES)",
                        program.display()
                    )],
                    "mode {mode:?}, PID 1: {pid1}, --writable {writable}, {payload}\n{out}"
                );
            }
        }
    }
    // A writable file with another name (a hard link), and a writable directory inside a
    // --writable-exec one, are refused before anything runs.
    std::fs::hard_link(data.join("true"), base.join("other/linked")).unwrap();
    let linked = base.join("other/linked");
    let out = in_mount_namespace(
        false,
        script,
        &[
            path_os(&base),
            "--read-only".into(),
            "--writable".into(),
            path_os(&linked),
            "--".into(),
            "true".into(),
        ],
    );
    out.expect_code(125);
    assert_eq!(
        stderr_lines(&out),
        [format!(
            "hardinit: --writable: {} has 2 hard links, so it is also reachable at names execute cannot be kept away from; give a directory, or a file with one link",
            linked.display()
        )],
        "{out}"
    );
    let out = in_mount_namespace(
        false,
        script,
        &[
            path_os(&base),
            "--read-only".into(),
            "--writable".into(),
            path_os(&data),
            "--writable-exec".into(),
            path_os(&base.join("other")),
            "--".into(),
            "true".into(),
        ],
    );
    out.expect_code(125);
    assert_eq!(
        stderr_lines(&out),
        [format!(
            "hardinit: --writable: {} would be executable: it is visible beneath --writable-exec {}",
            data.display(),
            base.join("other").display()
        )],
        "{out}"
    );
    std::fs::remove_dir_all(&base).unwrap();
}

#[test]
fn reach_pathname_unix_sockets_are_reported_not_silently_allowed() {
    if !util::privileged("reach_pathname_unix_sockets_are_reported_not_silently_allowed") {
        return;
    }
    let kernel = hardinit::sys::landlock_abi().unwrap();
    let writable = writable_dir("escapes-reach-sockets");
    // A runtime's socket anyone may connect to, named as DOCKER_HOST names one. It lives
    // outside the writable paths: below ABI 9 Landlock cannot refuse connecting to it.
    let dir = util::scratch_dir("escapes-reach-runtime");
    let socket = dir.join("docker.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let docker_host = format!("unix://{}", socket.display());
    let inspect = [
        path_os(&util::hardinit()),
        "--inspect".into(),
        "--expect".into(),
        "no-runtime-socket".into(),
    ];
    for mode in MODES {
        for pid1 in [false, true] {
            let out = hardinit(
                pid1,
                &flags(mode, &writable),
                &inspect,
                &[("DOCKER_HOST", &docker_host)],
            );
            out.expect_code(1);
            let reached: Vec<&str> = out
                .stdout
                .lines()
                .filter_map(|l| l.strip_prefix("✗ connect "))
                .map(|l| l.split("  ").next().unwrap())
                .collect();
            assert!(
                reached.contains(&socket.to_str().unwrap()),
                "mode {mode:?}, PID 1: {pid1}\n{out}"
            );
            // Root (without capabilities) reaches Docker's own socket too; nobody does not.
            let docker = Path::new("/run/docker.sock").exists();
            assert_eq!(
                reached.contains(&"/run/docker.sock"),
                docker && runs_as_root(mode),
                "{out}"
            );
            let labels: Vec<String> = reached.iter().map(|p| format!("connect {p}")).collect();
            assert_eq!(
                stderr_lines(&out),
                [format!(
                    "hardinit: expectation not met: no-runtime-socket ({})",
                    labels.join(", ")
                )],
                "{out}"
            );
        }
    }
    // --print-policy does not pass over it in silence.
    let out = hardinit(
        false,
        &os(&["--print-policy", "--read-only"]),
        &os(&["true"]),
        &[],
    );
    let listed = out.stdout.contains(
        "denying connect to pathname unix sockets outside the writable paths (needs ABI 9)",
    );
    assert_eq!(listed, kernel < 9, "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&writable).unwrap();
}

/// A profile that fakes what --inspect used to take on trust: landlock_restrict_self
/// answers `restrict_errno` (E2BIG: "16 layers"; 0: "restricted", restricting nothing),
/// unshare and mount answer EPERM, everything else is allowed (keyctl included).
fn faking_profile(dir: &Path, restrict_errno: u32) -> PathBuf {
    let path = dir.join(format!("fake-{restrict_errno}.json"));
    let profile = serde_json::json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["landlock_restrict_self"], "action": "SCMP_ACT_ERRNO", "errnoRet": restrict_errno},
            {"names": ["unshare", "mount"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}
        ]
    });
    std::fs::write(&path, profile.to_string()).unwrap();
    path
}

#[test]
fn reach_inspect_cannot_be_fooled_by_a_faking_filter() {
    if !util::privileged("reach_inspect_cannot_be_fooled_by_a_faking_filter") {
        return;
    }
    let dir = writable_dir("escapes-reach-inspect");
    let writable = writable_dir("escapes-reach-inspect-w");
    for restrict_errno in [libc::E2BIG as u32, 0] {
        let profile = faking_profile(&dir, restrict_errno);
        for mode in MODES {
            for pid1 in [false, true] {
                // The mode's own --seccomp is replaced by the faking profile.
                let mut f: Vec<OsString> = Vec::new();
                let mut skip = false;
                for a in flags(mode, &writable) {
                    if skip {
                        skip = false;
                    } else if a == "--seccomp" {
                        skip = true;
                    } else {
                        f.push(a);
                    }
                }
                f.extend(["--seccomp".into(), path_os(&profile)]);
                let out = hardinit(
                    pid1,
                    &f,
                    &[
                        path_os(&util::hardinit()),
                        "--inspect".into(),
                        "--expect".into(),
                        "seccomp,no-userns,no-mount,landlock".into(),
                    ],
                    &[],
                );
                out.expect_code(1);
                let why = if restrict_errno == 0 {
                    "unverified: landlock_restrict_self succeeded yet restricted nothing (a seccomp filter answers it)"
                } else {
                    "unverified: landlock_restrict_self answered E2BIG at once (16 layers, or a seccomp filter that fakes it)"
                };
                let landlock = out
                    .stdout
                    .lines()
                    .find(|l| l.contains(" landlock "))
                    .unwrap_or_default()
                    .to_string();
                assert_eq!(
                    landlock.split_whitespace().collect::<Vec<_>>().join(" "),
                    format!(
                        "✗ landlock landlock unknown ({why}, kernel ABI {}{})",
                        hardinit::sys::landlock_abi().unwrap(),
                        inspect_abi_gaps()
                    ),
                    "mode {mode:?}, PID 1: {pid1}\n{out}"
                );
                assert_eq!(
                    stderr_lines(&out),
                    [
                        "hardinit: expectation not met: seccomp (seccomp)",
                        "hardinit: expectation not met: no-userns (clone a user namespace, clone3 a user namespace)",
                        "hardinit: expectation not met: no-mount (mount a tmpfs)",
                        "hardinit: expectation not met: landlock (landlock)",
                    ],
                    "mode {mode:?}, PID 1: {pid1}\n{out}"
                );
            }
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&writable).unwrap();
}

//! `--seccomp`: every action, argument comparisons, runc's ENOSYS rule, foreign ABIs, the
//! `node` profile's refusals (its Node.js battery is in node.rs), and a differential run against
//! runc with Docker's profile. The calls are made by tests/fixtures/probes/syscalls.c in a child
//! of hardinit.

use crate::runc::{docker_default_profile, kernel_version, resolve_seccomp, DOCKER_DEFAULT_CAPS};
use crate::util;
use serde_json::json;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

const SECS: fn(u64) -> Duration = Duration::from_secs;
/// hardinit's exit code for a program killed by SIGSYS (128 + 31).
const KILLED_BY_SIGSYS: i32 = 159;

/// Runs the syscall probe under hardinit with `flags`; the calls are `LABEL=SPEC` strings.
fn probe(flags: &[&str], calls: &[&str]) -> util::Output {
    let mut cmd = Command::new(util::hardinit());
    cmd.args(flags)
        .arg("--")
        .arg(util::c_probe("syscalls"))
        .args(calls);
    util::run_with_timeout(&mut cmd, SECS(10))
}

/// Writes `profile` as JSON into a scratch file and returns its path.
fn profile_file(name: &str, profile: &serde_json::Value) -> PathBuf {
    let path = util::scratch_dir(&format!("seccomp-{name}")).join("profile.json");
    std::fs::write(&path, profile.to_string()).unwrap();
    path
}

fn lines(text: &[&str]) -> String {
    text.iter().map(|l| format!("{l}\n")).collect()
}

#[test]
fn each_action_does_what_the_profile_says() {
    if !util::privileged("each_action_does_what_the_profile_says") {
        return;
    }
    let rule = |name: &str, action: &str| json!({ "names": [name], "action": action });
    let profile = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            { "names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42 },
            { "names": ["getpgid"], "action": "SCMP_ACT_ERRNO" },
            rule("getsid", "SCMP_ACT_TRACE"),
            rule("sched_yield", "SCMP_ACT_LOG"),
            rule("getuid", "SCMP_ACT_KILL"),
            rule("getgid", "SCMP_ACT_KILL_PROCESS"),
            rule("geteuid", "SCMP_ACT_KILL_THREAD"),
            rule("getegid", "SCMP_ACT_TRAP"),
        ],
    });
    let path = profile_file("actions", &profile);
    let flags = ["--seccomp", path.to_str().unwrap()];
    // ERRNO with and without errnoRet (EPERM), TRACE without a tracer (ENOSYS), LOG allows.
    let out = probe(
        &flags,
        &[
            "errno=getppid",
            "eperm=getpgid:0",
            "trace=getsid:0",
            "log=sched_yield",
            "free=getpid",
        ],
    );
    out.expect_code(0);
    assert_eq!(
        out.stdout,
        lines(&[
            "errno ENOMSG",
            "eperm EPERM",
            "trace ENOSYS",
            "log ok",
            "free ok"
        ])
    );
    // Each kill action ends the program with SIGSYS; nothing after the call runs.
    for (label, nr) in [
        ("kill", "getuid"),
        ("kill_process", "getgid"),
        ("trap", "getegid"),
    ] {
        let out = probe(
            &flags,
            &["before=getpid", &format!("{label}={nr}"), "after=getpid"],
        );
        out.expect_code(KILLED_BY_SIGSYS);
        assert_eq!(out.stdout, lines(&["before ok"]), "{label}");
    }
    // KILL and KILL_PROCESS take the whole process even when another thread calls;
    // KILL_THREAD ends that thread only.
    for (label, nr) in [("kill", "getuid"), ("kill_process", "getgid")] {
        let out = probe(&flags, &[&format!("{label}=thread:{nr}")]);
        out.expect_code(KILLED_BY_SIGSYS);
        assert_eq!(out.stdout, "", "{label}");
    }
    let out = probe(&flags, &["kill_thread=thread:geteuid"]);
    out.expect_code(0);
    assert_eq!(
        out.stdout,
        lines(&["kill_thread ok", "kill_thread main alive"])
    );
}

#[test]
fn argument_comparisons_follow_the_profile() {
    if !util::privileged("argument_comparisons_follow_the_profile") {
        return;
    }
    let errno_if = |name: &str, args: serde_json::Value| json!({ "names": [name], "action": "SCMP_ACT_ERRNO", "errnoRet": 42, "args": args });
    let arg = |op: &str, value: u64| json!({ "index": 0, "value": value, "op": op });
    let profile = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            errno_if("getpgid", json!([arg("SCMP_CMP_EQ", 999_999)])),
            errno_if("getsid", json!([arg("SCMP_CMP_NE", 0)])),
            errno_if("sched_getscheduler", json!([arg("SCMP_CMP_LT", 1000)])),
            errno_if("dup", json!([arg("SCMP_CMP_GE", 1000)])),
            errno_if("close", json!([arg("SCMP_CMP_GT", 5000)])),
            // Both conditions must hold; outside them the kernel sees the NULL param (EINVAL).
            errno_if("sched_getparam", json!([arg("SCMP_CMP_GE", 10), arg("SCMP_CMP_LE", 20)])),
            // OCI masked-eq: `value` is the mask, `valueTwo` the datum.
            errno_if("getpriority", json!([
                { "index": 1, "value": 0xF0, "valueTwo": 0x10, "op": "SCMP_CMP_MASKED_EQ" }
            ])),
        ],
    });
    let path = profile_file("args", &profile);
    let out = probe(
        &["--seccomp", path.to_str().unwrap()],
        &[
            "eq=getpgid:999999",
            "eq_other=getpgid:999998",
            // The filter compares all 64 bits; the kernel then reads the pid as 32 bits.
            "eq_high_bits=getpgid:0x1000F423F",
            "ne_zero=getsid:0",
            "ne=getsid:999998",
            "lt=sched_getscheduler:999",
            "lt_not=sched_getscheduler:999998",
            "ge=dup:1000",
            "ge_not=dup:999",
            "gt=close:5001",
            "gt_not=close:5000",
            "and_inside=sched_getparam:15:0",
            "and_below=sched_getparam:9:0",
            "and_above=sched_getparam:21:0",
            "masked=getpriority:0:0x1F",
            "masked_not=getpriority:0:0x7FFFF0",
        ],
    );
    out.expect_code(0);
    assert_eq!(
        out.stdout,
        lines(&[
            "eq ENOMSG",
            "eq_other ESRCH",
            "eq_high_bits ESRCH",
            "ne_zero ok",
            "ne ENOMSG",
            "lt ENOMSG",
            "lt_not ESRCH",
            "ge ENOMSG",
            "ge_not EBADF",
            "gt ENOMSG",
            "gt_not EBADF",
            "and_inside ENOMSG",
            "and_below EINVAL",
            "and_above EINVAL",
            "masked ENOMSG",
            "masked_not ESRCH",
        ])
    );
}

#[test]
fn newer_calls_answer_enosys_and_foreign_abis_are_killed() {
    if !util::privileged("newer_calls_answer_enosys_and_foreign_abis_are_killed") {
        return;
    }
    // open_tree_attr (467) is newer than every call Docker's profile names (and than the C
    // library's SYS_* names, hence its number: from 424 on, every arch numbers alike); clone3's flags
    // cannot be inspected, so both profiles answer ENOSYS and glibc falls back to clone.
    let calls = ["clone3=clone3:0:0", "open_tree_attr=467:0xffffffff:0:0:0:0"];
    let out = probe(&["--seccomp", "unconfined"], &calls);
    out.expect_code(0);
    // Linux 6.15 added open_tree_attr; an older kernel answers ENOSYS itself.
    let unfiltered = if kernel_version() >= (6, 15) {
        "open_tree_attr EFAULT"
    } else {
        "open_tree_attr ENOSYS"
    };
    assert_eq!(out.stdout, lines(&["clone3 EINVAL", unfiltered]));
    for profile in ["default", "node"] {
        let out = probe(&["--seccomp", profile], &calls);
        out.expect_code(0);
        assert_eq!(
            out.stdout,
            lines(&["clone3 ENOSYS", "open_tree_attr ENOSYS"]),
            "{profile}"
        );
    }
    // cachestat (451) is above the highest call `node` names (landlock_restrict_self, 446);
    // below it, the refused calls that replace older ones answer ENOSYS too, so glibc and
    // libuv fall back (faccessat2 -> faccessat, epoll_pwait2 -> epoll_pwait, openat2 ->
    // openat, which the floor answers the same under every profile); faccessat2 itself is
    // allowed, and pidfd_getfd stays EPERM (nothing to fall back to).
    let newer = [
        "cachestat=451:0xffffffff:0:0:0",
        "faccessat2=439:0xffffffff:0:0:0",
        // maxevents 1: a kernel before 6.9 checks it before the descriptor.
        "epoll_pwait2=441:0xffffffff:0:1:0:0:0",
        "openat2=437:0xffffffff:0:0:0",
        "pidfd_getfd=438:0xffffffff:0:0",
    ];
    let out = probe(&["--seccomp", "unconfined"], &newer);
    // Linux 6.5 added cachestat; an older kernel answers ENOSYS itself.
    let cachestat = if kernel_version() >= (6, 5) {
        "cachestat EBADF"
    } else {
        "cachestat ENOSYS"
    };
    assert_eq!(
        out.stdout,
        lines(&[
            cachestat,
            "faccessat2 EFAULT",
            "epoll_pwait2 EBADF",
            "openat2 ENOSYS",
            "pidfd_getfd EBADF"
        ])
    );
    let out = probe(&["--seccomp", "node"], &newer);
    assert_eq!(
        out.stdout,
        lines(&[
            "cachestat ENOSYS",
            "faccessat2 EFAULT",
            "epoll_pwait2 ENOSYS",
            "openat2 ENOSYS",
            "pidfd_getfd EPERM"
        ])
    );

    if !cfg!(target_arch = "x86_64") {
        eprintln!(
            "SKIPPED newer_calls_answer_enosys_and_foreign_abis_are_killed (its foreign-ABI \
             part): int 0x80 and x32 exist on x86_64 only; \
             aarch32_programs_run_unconfined_and_are_killed_under_any_profile covers AArch32"
        );
        return;
    }
    // The i386 entry works here without a filter (the tini personality installs none), and
    // x32 is not built into this kernel; under any profile, and under the floor alone
    // (`unconfined`), both are killed before they reach a rule.
    let links = util::scratch_dir("seccomp-tini");
    let tini = links.join("tini");
    std::os::unix::fs::symlink(util::hardinit(), &tini).unwrap();
    let mut cmd = Command::new(&tini);
    cmd.arg("--")
        .arg(util::c_probe("syscalls"))
        .args(["int80=int80", "x32=x32"]);
    let out = util::run_with_timeout(&mut cmd, Duration::from_secs(10));
    out.expect_code(0);
    assert_eq!(out.stdout, lines(&["int80 ok", "x32 ENOSYS"]));
    for profile in ["default", "node", "unconfined"] {
        for call in ["int80=int80", "x32=x32"] {
            let out = probe(&["--seccomp", profile], &["before=getpid", call]);
            out.expect_code(KILLED_BY_SIGSYS);
            assert_eq!(out.stdout, lines(&["before ok"]), "{profile} {call}");
        }
    }
}

/// The compat ABI of arm64: a 32-bit ARM program's calls arrive as AUDIT_ARCH_ARM, which no
/// profile reaches (x86_64's counterpart, int 0x80 and x32, is tested above).
#[cfg(target_arch = "aarch64")]
#[test]
fn aarch32_programs_run_unconfined_and_are_killed_under_any_profile() {
    if !util::privileged("aarch32_programs_run_unconfined_and_are_killed_under_any_profile") {
        return;
    }
    let program = util::c_probe("aarch32");
    let run = |flags: &[&str]| {
        let mut cmd = Command::new(util::hardinit());
        cmd.args(flags).arg("--").arg(&program);
        util::run_with_timeout(&mut cmd, SECS(10))
    };
    // This kernel runs AArch32 programs (the tini personality installs no filter): the kill
    // below is the filter's, the floor's alone under `unconfined`.
    let links = util::scratch_dir("seccomp-tini-aarch32");
    let tini = links.join("tini");
    std::os::unix::fs::symlink(util::hardinit(), &tini).unwrap();
    let mut cmd = Command::new(&tini);
    cmd.arg("--").arg(&program);
    let out = util::run_with_timeout(&mut cmd, SECS(10));
    out.expect_code(0);
    assert_eq!(out.stdout, "aarch32 ok\n");
    for profile in ["default", "node", "unconfined"] {
        let out = run(&["--seccomp", profile]);
        out.expect_code(KILLED_BY_SIGSYS);
        assert_eq!(out.stdout, "", "{profile}");
    }
}

/// Calls a container must not make, with arguments that fail harmlessly when allowed (the
/// learning tests use them too).
pub(crate) const ESCAPES: [&str; 12] = [
    "unshare_user=unshare:0x10000000",
    "clone_newuser=clone:0x10000200",
    "mount=mount:0:0:0:0:0",
    "setns=setns:0xffffffff:0",
    "keyctl=keyctl:0:0xdead:0",
    "io_uring_setup=io_uring_setup:0:0",
    "ptrace=ptrace:0xffff:0:0:0",
    "bpf=bpf:0xffff:0:0",
    "perf_event_open=perf_event_open:0:0:0:0:0",
    "socket_alg=socket:38:5:0",
    "socket_vsock=socket:40:1:0",
    "userfaultfd=userfaultfd:0xffffffff",
];

#[test]
fn node_profile_refuses_namespaces_mounts_keys_and_io_uring() {
    if !util::privileged("node_profile_refuses_namespaces_mounts_keys_and_io_uring") {
        return;
    }
    let nobody = ["--user", "65534"];
    let without_filter = probe(
        &[&nobody[..], &["--seccomp", "unconfined"]].concat(),
        &ESCAPES,
    );
    without_filter.expect_code(0);
    // AF_VSOCK works where the kernel has it loaded (a VM without modules has not).
    let vsock = match nix::sys::socket::socket(
        nix::sys::socket::AddressFamily::Vsock,
        nix::sys::socket::SockType::Stream,
        nix::sys::socket::SockFlag::empty(),
        None,
    ) {
        Ok(_) => "socket_vsock ok",
        Err(_) => "socket_vsock EAFNOSUPPORT",
    };
    // Without a profile an unprivileged process can create a user namespace (and so a clone
    // with CLONE_NEWUSER gets as far as the flag check); the rest fail on their own, but for
    // io_uring, which hardinit's floor refuses whatever the profile.
    assert_eq!(
        without_filter.stdout,
        lines(&[
            "unshare_user ok",
            "clone_newuser EINVAL",
            "mount EFAULT",
            "setns EBADF",
            "keyctl ENOKEY",
            "io_uring_setup ENOSYS",
            "ptrace ESRCH",
            "bpf EINVAL",
            "perf_event_open EFAULT",
            "socket_alg EAFNOSUPPORT",
            vsock,
            "userfaultfd EINVAL",
        ])
    );
    let out = probe(&[&nobody[..], &["--seccomp", "node"]].concat(), &ESCAPES);
    out.expect_code(0);
    let refused: Vec<String> = ESCAPES
        .iter()
        .map(|c| format!("{} EPERM", c.split('=').next().unwrap()))
        .collect();
    assert_eq!(
        out.stdout,
        lines(&refused.iter().map(String::as_str).collect::<Vec<_>>())
    );
}

/// Calls with arguments that fail harmlessly when allowed, so the result shows the filter's
/// answer or the kernel's; compared between hardinit's `default` and Docker's profile in runc.
const DIFFERENTIAL: [&str; 36] = [
    "getppid=getppid",
    "socket_inet=socket:2:1:0",
    "socket_packet=socket:17:3:0",
    "socket_vsock=socket:40:1:0",
    "socket_alg=socket:38:5:0",
    "personality_query=personality:0xffffffff",
    "personality_rie=personality:0x400000",
    "clone_newuser=clone:0x10000200",
    "clone3=clone3:0:0",
    "unshare=unshare:0xffffffff",
    "mount=mount:0:0:0:0:0",
    "umount2=umount2:0:0",
    "pivot_root=pivot_root:0:0",
    "chroot=chroot:0",
    "setns=setns:0xffffffff:0",
    "keyctl=keyctl:0:0xdead:0",
    "add_key=add_key:0:0:0:0:0",
    "bpf=bpf:0xffff:0:0",
    "perf_event_open=perf_event_open:0:0:0:0:0",
    "userfaultfd=userfaultfd:0xffffffff",
    "io_uring_setup=io_uring_setup:0:0",
    "ptrace=ptrace:0xffff:0:0:0",
    "process_vm_readv=process_vm_readv:0:0:0:0:0:0",
    "kcmp=kcmp:0:0:0:0:0",
    "clock_settime=clock_settime:0:0",
    "reboot=reboot:0:0:0:0",
    "init_module=init_module:0:0:0",
    "kexec_load=kexec_load:0:0:0:0",
    "swapon=swapon:0:0",
    "acct=acct:0",
    "syslog=syslog:0xff:0:0",
    "fsopen=fsopen:0:0",
    "name_to_handle_at=name_to_handle_at:0xffffffff:0:0:0:0",
    "setuid=setuid:0xffffffff",
    "open_tree_attr=467:0xffffffff:0:0:0:0",
    "landlock=landlock_create_ruleset:0:0:1",
];

/// Runs the probe in a runc container configured as Docker configures one: `caps`, its
/// default profile resolved for them, no_new_privs, as `uid`.
fn probe_under_runc(name: &str, uid: u32, caps: &[&str], calls: &[&str]) -> String {
    let bundle = util::scratch_dir(&format!("runc-seccomp-{name}"));
    let rootfs = bundle.join("rootfs");
    std::fs::create_dir(&rootfs).unwrap();
    std::fs::copy(util::c_probe("syscalls"), rootfs.join("probe")).unwrap();
    let spec = util::run_with_timeout(
        Command::new("runc")
            .arg("spec")
            .arg("--bundle")
            .arg(&bundle),
        SECS(10),
    );
    spec.expect_code(0);
    let path = bundle.join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let args: Vec<String> = std::iter::once("/probe".to_string())
        .chain(calls.iter().map(|c| c.to_string()))
        .collect();
    config["process"]["terminal"] = json!(false);
    config["process"]["args"] = json!(args);
    config["process"]["user"] = json!({ "uid": uid, "gid": uid });
    config["process"]["noNewPrivileges"] = json!(true);
    config["process"]["capabilities"] = json!({
        "bounding": caps, "effective": caps, "permitted": caps,
    });
    config["linux"]["seccomp"] = resolve_seccomp(&docker_default_profile(), caps, kernel_version());
    std::fs::write(&path, config.to_string()).unwrap();
    let id = format!("hardinit-seccomp-{name}-{}", std::process::id());
    let out = util::run_with_timeout(
        Command::new("runc")
            .args(["run", "--bundle"])
            .arg(&bundle)
            .arg(&id),
        SECS(30),
    );
    let _ = Command::new("runc")
        .args(["delete", "--force", &id])
        .output();
    out.expect_code(0);
    std::fs::remove_dir_all(&bundle).unwrap();
    out.stdout
}

#[test]
fn default_profile_answers_like_docker_under_runc() {
    if !util::privileged("default_profile_answers_like_docker_under_runc")
        || util::require_tool("default_profile_answers_like_docker_under_runc", "runc").is_none()
    {
        return;
    }
    // Root with Docker's default capabilities.
    let runc = probe_under_runc("root", 0, &DOCKER_DEFAULT_CAPS, &DIFFERENTIAL);
    let cap_add = DOCKER_DEFAULT_CAPS.join(",");
    let ours = probe(
        &["--seccomp", "default", "--cap-add", &cap_add],
        &DIFFERENTIAL,
    );
    ours.expect_code(0);
    assert_eq!(ours.stdout, runc, "root with Docker's default capabilities");
    assert_eq!(ours.stdout.lines().count(), DIFFERENTIAL.len());

    // A non-root user with every capability dropped.
    let runc = probe_under_runc("user", 1000, &[], &DIFFERENTIAL);
    let ours = probe(&["--seccomp", "default", "--user", "1000"], &DIFFERENTIAL);
    ours.expect_code(0);
    assert_eq!(ours.stdout, runc, "uid 1000 without capabilities");
    // The two runs differ where capabilities decide: the comparison has teeth.
    assert!(ours.stdout.contains("chroot EPERM\n"), "{ours}");
    assert!(runc.contains("socket_packet EPERM\n"));
}

#[test]
fn bad_profiles_exit_125_naming_file_place_and_reason() {
    let dir = util::scratch_dir("seccomp-bad");
    let cases = [
        (
            "malformed.json",
            "{\"defaultAction\": \"SCMP_ACT_ALLOW\",\n \"syscalls\": [ }",
            "malformed JSON in seccomp profile {path}\n  caused by: expected value at line 2 column 16",
        ),
        (
            "action.json",
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_MAYBE"}]}"#,
            "seccomp profile {path}: syscalls[0] (\"getpid\"): unknown action \"SCMP_ACT_MAYBE\"",
        ),
        (
            "index.json",
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["socket"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}"#,
            "seccomp profile {path}: syscalls[0] (\"socket\") args[0]: argument index 6 is out of range (a system call has arguments 0 to 5)",
        ),
        (
            "names.json",
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": [], "action": "SCMP_ACT_ERRNO"}]}"#,
            "seccomp profile {path}: syscalls[0]: the entry names no system call",
        ),
        (
            "notify.json",
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_NOTIFY"}]}"#,
            "seccomp profile {path}: syscalls[0] (\"getpid\"): SCMP_ACT_NOTIFY needs a seccomp agent, which hardinit does not run",
        ),
    ];
    for (file, contents, message) in cases {
        let path = dir.join(file);
        std::fs::write(&path, contents).unwrap();
        let path = path.to_str().unwrap();
        let out = util::run_hardinit(["--seccomp", path, "--", "true"]);
        out.expect_code(125);
        assert_eq!(
            out.stderr,
            format!("hardinit: {}\n", message.replace("{path}", path)),
            "{file}"
        );
    }
    let out = util::run_hardinit(["--seccomp", "/nonexistent/profile.json", "--", "true"]);
    out.expect_code(125);
    assert_eq!(
        out.stderr,
        "hardinit: cannot read /nonexistent/profile.json\n  caused by: No such file or directory (os error 2)\n"
    );
}

/// Exports `profile` for the runtime layer into a scratch file.
fn exported(profile: &str) -> PathBuf {
    let out = util::run_hardinit(["--export-seccomp", profile]);
    out.expect_code(0);
    let path = util::scratch_dir(&format!("seccomp-export-{profile}")).join("profile.json");
    std::fs::write(&path, &out.stdout).unwrap();
    path
}

#[test]
fn the_export_loads_back_and_adds_only_the_launchers_calls() {
    let path = exported("node");
    let text = std::fs::read_to_string(&path).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["defaultAction"], json!("SCMP_ACT_ERRNO"));
    // Only the native ABI: the compat ones (i386 and x32, AArch32) are what hardinit kills.
    let native = if cfg!(target_arch = "aarch64") {
        "SCMP_ARCH_AARCH64"
    } else {
        "SCMP_ARCH_X86_64"
    };
    assert_eq!(json["architectures"], json!([native]));
    let rules = json["syscalls"].as_array().unwrap();
    // The floor's entries end the file: the TIOCSTI/TIOCLINUX refusals, and the mode calls
    // node allows, now only without a setuid/setgid bit (0o6000); the launcher's two come
    // before them.
    let floor = 5;
    let mode_guard = |index: u64| json!([{ "index": index, "value": 0o6000, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ" }]);
    let ioctl = |request: u64| {
        json!({ "names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "args": [
            { "index": 1, "value": 0xffff_ffff_u64, "valueTwo": request, "op": "SCMP_CMP_MASKED_EQ" }
        ] })
    };
    // The mode calls of this arch (aarch64 has no chmod, mkdir or open).
    let native = |names: &[&str]| -> Vec<String> {
        names
            .iter()
            .filter(|n| hardinit::policy::seccomp::NATIVE.number(n).is_some())
            .map(|n| n.to_string())
            .collect()
    };
    assert_eq!(
        rules[rules.len() - floor..],
        [
            ioctl(0x5412),
            ioctl(0x541c),
            json!({ "names": native(&["chmod", "fchmod", "mkdir"]), "action": "SCMP_ACT_ALLOW", "args": mode_guard(1) }),
            json!({ "names": native(&["fchmodat", "open", "mkdirat"]), "action": "SCMP_ACT_ALLOW", "args": mode_guard(2) }),
            json!({ "names": ["openat"], "action": "SCMP_ACT_ALLOW", "args": mode_guard(3) }),
        ]
    );
    assert_eq!(
        rules[rules.len() - floor - 2..rules.len() - floor],
        [
            json!({ "names": ["capset", "getresgid", "getresuid", "landlock_add_rule", "mount",
                "mount_setattr", "move_mount", "open_tree", "prctl", "rt_sigtimedwait", "seccomp",
                "setgroups", "setpgid", "setresgid", "setresuid", "signalfd4", "unshare"],
                "action": "SCMP_ACT_ALLOW" }),
            json!({ "names": ["ioctl"], "action": "SCMP_ACT_ALLOW", "args": [
                { "index": 1, "value": 0xffff_ffff_u64, "valueTwo": 0x5410, "op": "SCMP_CMP_MASKED_EQ" }
            ] }),
        ]
    );
    // Exporting the exported file gives the same file.
    let out = util::run_hardinit(["--export-seccomp", path.to_str().unwrap()]);
    out.expect_code(0);
    assert_eq!(out.stdout, text);
    let out = util::run_hardinit(["--export-seccomp", "unconfined"]);
    out.expect_code(125);
    assert_eq!(
        out.stderr,
        "hardinit: `unconfined` is no seccomp profile, so there is nothing to export\n"
    );
}

#[test]
fn hardinit_runs_under_its_exported_profile_at_the_runtime_layer() {
    if !util::privileged("hardinit_runs_under_its_exported_profile_at_the_runtime_layer") {
        return;
    }
    let outer = exported("node");
    let inner = [
        "--user",
        "65534",
        "--cap-add",
        "NET_BIND_SERVICE",
        "--rlimit",
        "nofile=512",
        "--seccomp",
        "node",
        "--",
        "sh",
        "-c",
        "grep -E '^(Uid|CapEff|NoNewPrivs|Seccomp_filters):' /proc/self/status",
    ];
    let want = "Uid:\t65534\t65534\t65534\t65534\nCapEff:\t0000000000000400\nNoNewPrivs:\t1\nSeccomp_filters:\t2\n";
    // The outer hardinit stands in for the runtime: root with every capability, the exported
    // profile installed; the inner one does the whole root start under it, then as PID 1.
    let runtime = |prefix: &[&str]| {
        let mut cmd = Command::new(prefix[0]);
        cmd.args(&prefix[1..])
            .arg(util::hardinit())
            .args([
                "--cap-add",
                "ALL",
                "--seccomp",
                outer.to_str().unwrap(),
                "--",
            ])
            .arg(util::hardinit())
            .args(inner);
        util::run_with_timeout(&mut cmd, SECS(10))
    };
    for prefix in [
        &["env"][..],
        &["unshare", "--pid", "--fork", "--mount-proc"][..],
    ] {
        let out = runtime(prefix);
        out.expect_code(0);
        assert_eq!(out.stdout, want, "{prefix:?}");
    }
    // Without the launcher's calls the inner hardinit cannot start.
    let mut cmd = Command::new(util::hardinit());
    cmd.args(["--cap-add", "ALL", "--seccomp", "node", "--"])
        .arg(util::hardinit())
        .args(inner);
    let out = util::run_with_timeout(&mut cmd, SECS(10));
    out.expect_code(125);
}

//! hardinit under plain runc: an OCI bundle made from the example image (`docker export`),
//! configured as Docker would configure it (its 14 default capabilities, its default seccomp
//! profile resolved as Docker resolves it), with process.args starting with hardinit.

use crate::docker::{self, Docker};
use crate::util;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The capabilities Docker gives a container by default.
pub const DOCKER_DEFAULT_CAPS: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// Docker's default seccomp profile, as moby/profiles ships it (unresolved).
pub fn docker_default_profile() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/policy/seccomp/docker-default.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The running kernel's (major, minor).
pub fn kernel_version() -> (u64, u64) {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    parse_version(&release)
}

fn parse_version(text: &str) -> (u64, u64) {
    let mut parts = text
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

/// Whether a rule's `includes` (all must hold) and `excludes` (none may hold) let it apply
/// to an amd64 container with `caps` on `kernel`: what Docker evaluates before runc sees it.
fn rule_applies(rule: &Value, caps: &[&str], kernel: (u64, u64)) -> bool {
    let list = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let min_kernel_met = |v: &Value| v.as_str().map(|k| kernel >= parse_version(k));
    let inc = &rule["includes"];
    let exc = &rule["excludes"];
    let inc_arches = list(&inc["arches"]);
    let exc_arches = list(&exc["arches"]);
    (inc_arches.is_empty() || inc_arches.iter().any(|a| a == "amd64"))
        && list(&inc["caps"])
            .iter()
            .all(|c| caps.contains(&c.as_str()))
        && min_kernel_met(&inc["minKernel"]) != Some(false)
        && !exc_arches.iter().any(|a| a == "amd64")
        && !list(&exc["caps"])
            .iter()
            .any(|c| caps.contains(&c.as_str()))
        && min_kernel_met(&exc["minKernel"]) != Some(true)
}

/// The OCI `linux.seccomp` that Docker derives from `profile` for an amd64 container with
/// `caps`: the native architecture and its sub-architectures from archMap, and the rules
/// whose includes and excludes hold.
pub fn resolve_seccomp(profile: &Value, caps: &[&str], kernel: (u64, u64)) -> Value {
    let native = "SCMP_ARCH_X86_64";
    let mut arches = vec![json!(native)];
    for entry in profile["archMap"].as_array().into_iter().flatten() {
        if entry["architecture"] == native {
            arches.extend(
                entry["subArchitectures"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .cloned(),
            );
        }
    }
    let syscalls: Vec<Value> = profile["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|rule| rule_applies(rule, caps, kernel))
        .map(|rule| {
            let mut oci = json!({ "names": rule["names"], "action": rule["action"] });
            for key in ["args", "errnoRet"] {
                if !rule[key].is_null() {
                    oci[key] = rule[key].clone();
                }
            }
            oci
        })
        .collect();
    let mut oci = json!({
        "defaultAction": profile["defaultAction"],
        "architectures": arches,
        "syscalls": syscalls,
    });
    if !profile["defaultErrnoRet"].is_null() {
        oci["defaultErrnoRet"] = profile["defaultErrnoRet"].clone();
    }
    oci
}

#[test]
fn docker_seccomp_resolves_as_docker_does_for_its_default_caps() {
    let oci = resolve_seccomp(&docker_default_profile(), &DOCKER_DEFAULT_CAPS, (6, 1));
    assert_eq!(
        oci["architectures"],
        json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"])
    );
    assert_eq!(
        (&oci["defaultAction"], &oci["defaultErrnoRet"]),
        (&json!("SCMP_ACT_ERRNO"), &json!(1))
    );
    let kept: Vec<String> = oci["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["names"][0].as_str().unwrap(),
                r["action"].as_str().unwrap()
            )
        })
        .collect();
    // The unconditional list, ptrace & co (minKernel 4.8), socket and personality with their
    // argument rules, the amd64-only calls, clone without namespace flags (no CAP_SYS_ADMIN),
    // clone3 answered with ENOSYS, and chroot (CAP_SYS_CHROOT is a default capability).
    let allow = |name: &str| format!("{name} SCMP_ACT_ALLOW");
    let mut want = vec![allow("accept"), allow("process_vm_readv")];
    want.extend(std::iter::repeat_n(allow("socket"), 3));
    want.extend(std::iter::repeat_n(allow("personality"), 5));
    want.extend([
        allow("arch_prctl"),
        allow("modify_ldt"),
        allow("clone"),
        "clone3 SCMP_ACT_ERRNO".to_string(),
        allow("chroot"),
    ]);
    assert_eq!(kept, want);
    let clone3 = oci["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["names"][0] == "clone3");
    assert_eq!(clone3.unwrap()["errnoRet"], json!(38));
    // On a kernel older than 4.8 Docker drops the ptrace rule.
    let old = resolve_seccomp(&docker_default_profile(), &DOCKER_DEFAULT_CAPS, (4, 4));
    assert_eq!(old["syscalls"].as_array().unwrap().len(), want.len() - 1);
}

/// The mounts, masked and read-only paths Docker gives every container.
fn docker_mounts() -> Value {
    json!([
        { "destination": "/proc", "type": "proc", "source": "proc",
          "options": ["nosuid", "noexec", "nodev"] },
        { "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
          "options": ["nosuid", "strictatime", "mode=755", "size=65536k"] },
        { "destination": "/dev/pts", "type": "devpts", "source": "devpts",
          "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
        { "destination": "/sys", "type": "sysfs", "source": "sysfs",
          "options": ["nosuid", "noexec", "nodev", "ro"] },
        { "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
          "options": ["ro", "nosuid", "noexec", "nodev"] },
        { "destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
          "options": ["nosuid", "noexec", "nodev"] },
        { "destination": "/dev/shm", "type": "tmpfs", "source": "shm",
          "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"] },
    ])
}

/// The image's entrypoint, command, environment and working directory.
struct ImageConfig {
    args: Vec<String>,
    env: Vec<String>,
    cwd: String,
}

fn image_config(docker: &Docker, image: &str) -> ImageConfig {
    let config: Value = serde_json::from_str(&docker.ok([
        "image",
        "inspect",
        "--format",
        "{{json .Config}}",
        image,
    ]))
    .unwrap();
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    let mut args = strings(&config["Entrypoint"]);
    args.extend(strings(&config["Cmd"]));
    ImageConfig {
        args,
        env: strings(&config["Env"]),
        cwd: config["WorkingDir"].as_str().unwrap_or("/").to_string(),
    }
}

/// config.json for the bundle: Docker's defaults, the host network (no network namespace),
/// the image's process with HOST and PORT set for the test.
fn bundle_config(image: &ImageConfig, port: u16) -> Value {
    let mut env = image.env.clone();
    env.extend(["HOST=127.0.0.1".to_string(), format!("PORT={port}")]);
    json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": { "uid": 0, "gid": 0 },
            "args": image.args,
            "env": env,
            "cwd": image.cwd,
            "capabilities": {
                "bounding": DOCKER_DEFAULT_CAPS,
                "effective": DOCKER_DEFAULT_CAPS,
                "permitted": DOCKER_DEFAULT_CAPS,
            },
            "noNewPrivileges": false,
        },
        "root": { "path": "rootfs", "readonly": false },
        "hostname": "hardinit-runc",
        "mounts": docker_mounts(),
        "linux": {
            "namespaces": [
                { "type": "pid" }, { "type": "ipc" }, { "type": "uts" }, { "type": "mount" },
            ],
            "resources": { "devices": [{ "allow": false, "access": "rwm" }] },
            "maskedPaths": [
                "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys",
                "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
            ],
            "readonlyPaths": [
                "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
            ],
            "seccomp": resolve_seccomp(&docker_default_profile(), &DOCKER_DEFAULT_CAPS, kernel_version()),
        },
    })
}

/// A container under `runc run` (in the foreground, a child of the test), with its own state
/// root; deleted when the guard drops.
struct RuncContainer {
    dir: PathBuf,
    id: String,
    run: Child,
}

impl RuncContainer {
    fn runc(&self) -> Command {
        let mut cmd = Command::new("runc");
        cmd.arg("--root").arg(self.dir.join("state"));
        cmd
    }

    /// `runc run` of the bundle in `dir`.
    fn start(dir: PathBuf, id: String) -> RuncContainer {
        let out = std::fs::File::create(dir.join("stdout")).unwrap();
        let err = std::fs::File::create(dir.join("stderr")).unwrap();
        let run = Command::new("runc")
            .arg("--root")
            .arg(dir.join("state"))
            .args(["run", "--bundle"])
            .arg(dir.join("bundle"))
            .arg(&id)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap();
        RuncContainer { dir, id, run }
    }

    /// The host pid of the container's PID 1.
    fn init_pid(&self) -> u32 {
        let out = util::run_with_timeout(
            self.runc().args(["state", &self.id]),
            Duration::from_secs(10),
        );
        assert!(out.status.success(), "{out}");
        let state: Value = serde_json::from_str(&out.stdout).unwrap();
        state["pid"].as_u64().unwrap() as u32
    }

    fn output(&self) -> String {
        let read = |name: &str| std::fs::read_to_string(self.dir.join(name)).unwrap_or_default();
        format!(
            "--- runc stdout ---\n{}\n--- runc stderr ---\n{}",
            read("stdout"),
            read("stderr")
        )
    }
}

impl Drop for RuncContainer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- runc container {} ---\n{}", self.id, self.output());
        }
        let _ = util::run_with_timeout(
            self.runc().args(["delete", "--force", &self.id]),
            Duration::from_secs(30),
        );
        let _ = self.run.kill();
        let _ = self.run.wait();
    }
}

/// Unpacks the image's filesystem into `rootfs` (docker export of a created container).
fn export_rootfs(docker: &Docker, image: &str, rootfs: &Path) {
    std::fs::create_dir_all(rootfs).unwrap();
    let tar = rootfs.with_extension("tar");
    let id = docker.ok(["create", image]);
    let exported = docker.run([
        "export".into(),
        "--output".into(),
        tar.display().to_string(),
        id.clone(),
    ]);
    docker.ok(["rm", &id]);
    assert!(exported.status.success(), "{exported}");
    let out = util::run_with_timeout(
        Command::new("tar")
            .arg("--extract")
            .arg("--file")
            .arg(&tar)
            .arg("--directory")
            .arg(rootfs),
        Duration::from_secs(120),
    );
    assert!(out.status.success(), "{out}");
    std::fs::remove_file(&tar).unwrap();
}

/// The host processes whose parent is `ppid`.
fn host_children(ppid: u32) -> Vec<docker::Proc> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .chars()
                .all(|c| c.is_ascii_digit())
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .map(|line| docker::Proc::parse(line.trim_end()))
        .filter(|p| p.ppid == ppid)
        .collect()
}

#[test]
fn runc_bundle_from_the_image_starts_hardened_and_stops_cleanly() {
    let test = "runc_bundle_from_the_image_starts_hardened_and_stops_cleanly";
    if util::require_tool(test, "runc").is_some() {
        docker::scenario(test, "runc scenario", run_bundle);
    }
}

/// Runs the example image as an OCI bundle under runc; checks the service's hardening and a
/// clean stop on SIGTERM.
fn run_bundle(docker: &Docker, image: &str) {
    let dir = PathBuf::from(format!("/tmp/hardinit-runc-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let _scratch = docker::Scratch(dir.clone());
    std::fs::create_dir_all(dir.join("bundle")).unwrap();
    export_rootfs(docker, image, &dir.join("bundle/rootfs"));
    let config = image_config(docker, image);
    assert_eq!(
        config.args[0], "/hardinit",
        "the bundle's process must start with hardinit"
    );
    let port = docker::free_port();
    std::fs::write(
        dir.join("bundle/config.json"),
        serde_json::to_string_pretty(&bundle_config(&config, port)).unwrap(),
    )
    .unwrap();

    let mut c = RuncContainer::start(dir, format!("hardinit-test-{}", std::process::id()));
    let deadline = Instant::now() + Duration::from_secs(30);
    while docker::http(port, "GET", "/healthz", "").is_err() {
        assert!(c.run.try_wait().unwrap().is_none(), "runc run ended early");
        assert!(
            Instant::now() < deadline,
            "no answer on port {port} within 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    docker::assert_service_works(port);
    let init = c.init_pid();
    let node: Vec<docker::Proc> = host_children(init)
        .into_iter()
        .filter(|p| docker::NODE_COMMS.contains(&p.comm.as_str()))
        .collect();
    assert_eq!(node.len(), 1, "want one node under hardinit: {node:#?}");
    let status = std::fs::read_to_string(format!("/proc/{}/status", node[0].pid)).unwrap();
    // runc's filter (Docker's profile) and hardinit's node filter on top.
    assert_eq!(
        docker::hardening_fields(&status),
        docker::hardened_node("", "2")
    );

    let kill_at = Instant::now();
    let killed = util::run_with_timeout(
        c.runc().args(["kill", &c.id, "TERM"]),
        Duration::from_secs(10),
    );
    assert!(killed.status.success(), "{killed}");
    let exit = loop {
        if let Some(status) = c.run.try_wait().unwrap() {
            break status;
        }
        assert!(
            kill_at.elapsed() < Duration::from_secs(10),
            "still running 10 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = kill_at.elapsed();
    assert_eq!(exit.code(), Some(0), "{}", c.output());
    assert!(took < Duration::from_secs(5), "stopping took {took:?}");
    eprintln!("runc scenario: SIGTERM to exit took {took:.1?}");
}

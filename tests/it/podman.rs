//! Issue 17: the example image under Podman, rootful and rootless (hardinit is root in a user
//! namespace there), hardinit as `podman run --init --init-path`, and `podman kube play` of
//! examples/kubernetes/pod.yaml.
//!
//! .ci/podman-up installs Podman (the Debian package) and prepares the rootless user. Images
//! come from the local Docker images of tests/it/docker/images.rs through `podman load`: no
//! registry. Every container uses `--network none`: the service's port is its own loopback.

use crate::docker::{self, hardened_node, hardening_fields, images, Docker, Scratch};
use crate::util::{self, Output};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The user .ci/podman-up makes for rootless Podman.
const ROOTLESS_USER: &str = "hardinit-podman";

/// The tag examples/kubernetes/pod.yaml names.
const POD_IMAGE: &str = "hardinit-node-example:latest";

/// Podman as root, or as the rootless user.
struct Podman {
    /// (uid, gid, home) of the rootless user; `None` for root.
    user: Option<(u32, u32, String)>,
}

impl Podman {
    fn rootful() -> Podman {
        Podman { user: None }
    }

    fn rootless() -> Podman {
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
        let entry = passwd
            .lines()
            .map(|l| l.split(':').collect::<Vec<_>>())
            .find(|f| f[0] == ROOTLESS_USER)
            .unwrap_or_else(|| panic!("no user {ROOTLESS_USER}: .ci/podman-up makes it"));
        Podman {
            user: Some((
                entry[2].parse().unwrap(),
                entry[3].parse().unwrap(),
                entry[5].to_string(),
            )),
        }
    }

    fn label(&self) -> &'static str {
        if self.user.is_some() {
            "rootless"
        } else {
            "rootful"
        }
    }

    fn command(&self) -> Command {
        let mut cmd = match &self.user {
            None => Command::new("podman"),
            Some((uid, gid, home)) => {
                let mut cmd = Command::new("setpriv");
                cmd.args(["--reuid", &uid.to_string(), "--regid", &gid.to_string()])
                    .args(["--init-groups", "env"])
                    .arg(format!("HOME={home}"))
                    .arg(format!("XDG_RUNTIME_DIR=/tmp/hardinit-podman-run-{uid}"))
                    .arg(format!("USER={ROOTLESS_USER}"))
                    .arg("podman");
                cmd
            }
        };
        // The rootless user may not enter the test's working directory.
        cmd.current_dir("/");
        cmd
    }

    #[track_caller]
    fn run(&self, args: &[&str]) -> Output {
        util::run_with_timeout(self.command().args(args), Duration::from_secs(120))
    }

    /// `podman ARGS`, which must succeed; its trimmed stdout.
    #[track_caller]
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "podman ({}) failed\n{out}",
            self.label()
        );
        out.stdout.trim().to_string()
    }

    /// Loads the Docker image `docker_tag` as `as_tag`.
    #[track_caller]
    fn load(&self, docker_tag: &str, as_tag: &str) {
        let tar = exported(docker_tag);
        self.ok(&["load", "--quiet", "--input", tar.to_str().unwrap()]);
        self.ok(&["tag", docker_tag, as_tag]);
    }

    /// The hardening fields of `pid` in container `id`, read from its own /proc.
    #[track_caller]
    fn hardening_of(&self, id: &str, pid: u32) -> BTreeMap<String, String> {
        hardening_fields(&self.ok(&["exec", id, "cat", &format!("/proc/{pid}/status")]))
    }

    /// The pid of the one Node.js process whose parent is PID 1 in container `id`.
    #[track_caller]
    fn node_under_pid1(&self, id: &str) -> u32 {
        let stats = self.ok(&[
            "exec",
            id,
            "sh",
            "-c",
            "cat /proc/[0-9]*/stat 2>/dev/null; true",
        ]);
        let procs: Vec<docker::Proc> = stats.lines().map(docker::Proc::parse).collect();
        docker::node_under_pid1(&procs)
    }
}

/// A container removed when the guard drops (its logs printed first on a failure).
struct Container<'p> {
    podman: &'p Podman,
    id: String,
}

impl Drop for Container<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- podman logs {} ---\n{}",
                self.id,
                self.podman.run(&["logs", &self.id])
            );
        }
        let _ = self.podman.run(&["rm", "--force", &self.id]);
    }
}

/// Where files for the rootless user live: /tmp, which it can reach (the target dir may not be).
fn shared_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = PathBuf::from(format!("/tmp/hardinit-podman-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        dir
    })
}

/// `docker save` of `tag` into the shared directory, once per tag.
fn exported(tag: &str) -> PathBuf {
    static SAVED: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let path = shared_dir().join(format!("{}.tar", tag.replace(['/', ':'], "_")));
    let mut saved = SAVED.lock().unwrap();
    if !saved.iter().any(|t| t == tag) {
        Docker::default_daemon().ok(["save", "--output", path.to_str().unwrap(), tag]);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        saved.push(tag.to_string());
    }
    path
}

/// Runs .ci/podman-up once (it installs nothing when Podman is there).
fn podman_up() {
    static UP: OnceLock<Result<(), String>> = OnceLock::new();
    let up = util::run_setup_script_once(&UP, "podman-up", Duration::from_secs(600));
    if let Err(why) = up {
        panic!("Podman is not usable:\n{why}");
    }
}

/// Skips (or, in CI, fails) unless root and the tools are there; then makes Podman ready.
fn ready(test: &str) -> bool {
    let ok = util::privileged(test)
        && ["docker", "setpriv", "apt-get"]
            .iter()
            .all(|tool| util::require_tool(test, tool).is_some());
    if ok {
        podman_up();
    }
    ok
}

#[test]
fn podman_rootful_and_rootless_run_the_example_hardened() {
    let test = "podman_rootful_and_rootless_run_the_example_hardened";
    if !ready(test) {
        return;
    }
    let image = images::example();
    for podman in [Podman::rootful(), Podman::rootless()] {
        let start = Instant::now();
        podman.load(image, image);
        // The checker as the hardened child: the bounding set, Landlock and seccomp hold
        // rootless too, where hardinit is root only in a user namespace.
        let inspect = podman.run(&[
            "run",
            "--rm",
            "--network",
            "none",
            image,
            "/hardinit",
            "--inspect",
            "--expect",
            "hardened",
        ]);
        assert_eq!(inspect.code(), Some(0), "{} {inspect}", podman.label());

        let id = podman.ok(&["run", "--detach", "--network", "none", image]);
        let c = Container {
            podman: &podman,
            id,
        };
        wait_until_healthy(&podman, &c.id);
        let node = podman.node_under_pid1(&c.id);
        // Podman's filter and hardinit's node filter; node is in no supplementary group.
        assert_eq!(
            podman.hardening_of(&c.id, node),
            hardened_node("", "2"),
            "{}",
            podman.label()
        );
        // SIGTERM reaches node through hardinit, which ends with node's own exit code.
        podman.ok(&["stop", "--time", "10", &c.id]);
        assert_eq!(
            podman.ok(&["inspect", "--format", "{{.State.ExitCode}}", &c.id]),
            "0"
        );
        eprintln!(
            "podman {}: example hardened in {:.1?}",
            podman.label(),
            start.elapsed()
        );
    }
}

/// Waits (30 s at most) until the image's health check, `hardinit --probe`, passes.
#[track_caller]
fn wait_until_healthy(podman: &Podman, id: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        // Without systemd podman runs no health-check timer; the check runs on demand.
        let out = podman.run(&["healthcheck", "run", id]);
        if out.status.success() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} never healthy\n{out}",
            podman.label()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn podman_init_path_is_hardinit() {
    let test = "podman_init_path_is_hardinit";
    if !ready(test) {
        return;
    }
    let base = images::node_base();
    let dir = Scratch(shared_dir().join("init"));
    std::fs::create_dir_all(&dir.0).unwrap();
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o755)).unwrap();
    let init = dir.0.join("hardinit");
    std::fs::copy(images::static_hardinit(), &init).unwrap();
    let init = init.to_str().unwrap().to_string();
    for podman in [Podman::rootful(), Podman::rootless()] {
        podman.load(base, base);
        let run = |env: &[&str]| {
            let mut args = vec![
                "run",
                "--rm",
                "--network",
                "none",
                "--init",
                "--init-path",
                &init,
            ];
            args.extend_from_slice(env);
            args.extend_from_slice(&[base, "cat", "/proc/self/status"]);
            let out = podman.run(&args);
            assert_eq!(out.code(), Some(0), "{} {out}", podman.label());
            hardening_fields(&out.stdout)
        };
        // Podman starts it as `podman-init -- CMD`: hardinit's own defaults, no flags needed.
        let none = "0000000000000000";
        let defaults = run(&[]);
        assert_eq!(
            (
                defaults["Uid"].as_str(),
                defaults["CapBnd"].as_str(),
                defaults["NoNewPrivs"].as_str(),
                defaults["Seccomp_filters"].as_str()
            ),
            ("0\t0\t0\t0", none, "1", "2"),
            "{}",
            podman.label()
        );
        // Configured by the environment alone.
        let configured = run(&[
            "--env",
            "HARDINIT_USER=1000",
            "--env",
            "HARDINIT_SECCOMP=node",
        ]);
        assert_eq!(configured, hardened_node("", "2"), "{}", podman.label());
    }
}

#[test]
fn podman_kube_play_runs_the_example_pod_hardened() {
    let test = "podman_kube_play_runs_the_example_pod_hardened";
    if !ready(test) {
        return;
    }
    // Rootful only: rootless kube play needs cgroups for the pod's resource limits, which a
    // rootless user gets only with cgroup v2 and systemd (see the README's Testing section).
    let podman = Podman::rootful();
    podman.load(images::example(), POD_IMAGE);
    let seccomp_root = Scratch(shared_dir().join("seccomp"));
    let profiles = seccomp_root.0.join("profiles");
    std::fs::create_dir_all(&profiles).unwrap();
    // As the pod's comment says: the profile exported from the image itself.
    let profile = podman.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--entrypoint",
        "/hardinit",
        POD_IMAGE,
        "--export-seccomp",
        "node",
    ]);
    std::fs::write(profiles.join("hardinit-node.json"), profile).unwrap();

    let yaml = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/kubernetes/pod.yaml");
    let yaml = yaml.to_str().unwrap();
    let _ = podman.run(&["kube", "down", yaml]);
    let started = unix_time_a_second_ago();
    podman.ok(&[
        "kube",
        "play",
        "--network",
        "none",
        "--seccomp-profile-root",
        seccomp_root.0.to_str().unwrap(),
        yaml,
    ]);
    let pod = PodGuard {
        podman: &podman,
        yaml,
    };
    // The init container ran `hardinit --inspect --expect hardened` as the image's hardened
    // child, with the pod's securityContext, and passed: the app started only after it.
    let died = podman.ok(&[
        "events",
        "--stream=false",
        "--since",
        &started,
        "--filter",
        "container=hardinit-node-example-prove-hardening",
        "--filter",
        "event=died",
        "--format",
        "{{.Name}} {{.ContainerExitCode}}",
    ]);
    assert_eq!(died, "hardinit-node-example-prove-hardening 0");
    let app = "hardinit-node-example-app";
    // kube play returns once the app container started, not once node listens (under load
    // that takes a moment): probe until it answers, 30 s at most.
    let probe_args = [
        "exec",
        app,
        "/hardinit",
        "--probe",
        "http://127.0.0.1:3000/healthz",
    ];
    let answered = util::wait_until(Duration::from_secs(30) * util::timeout_factor(), || {
        podman.run(&probe_args).status.success()
    });
    assert!(answered, "{}", podman.run(&probe_args));
    let probe = podman.ok(&probe_args);
    assert_eq!(probe, "http://127.0.0.1:3000/healthz: HTTP/1.1 200 OK");
    let node = podman.node_under_pid1(app);
    // runAsUser/fsGroup 1000 from the pod, the Localhost profile and hardinit's node filter.
    assert_eq!(podman.hardening_of(app, node), hardened_node("1000", "2"));
    // Stopped as `kubectl delete` would: SIGTERM, which hardinit forwards; node exits 0.
    podman.ok(&["pod", "stop", "--time", "10", "hardinit-node-example"]);
    assert_eq!(
        podman.ok(&["inspect", "--format", "{{.State.ExitCode}}", app]),
        "0"
    );
    drop(pod);
    let left = podman.ok(&[
        "pod",
        "ps",
        "--filter",
        "name=hardinit-node-example",
        "--format",
        "{{.Name}}",
    ]);
    assert_eq!(left, "", "kube down left the pod");
}

/// A Unix time for `podman events --since`, one second early: events carry whole seconds.
fn unix_time_a_second_ago() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    (now - 1).to_string()
}

/// `podman kube down` of the pod when the guard drops; it must succeed.
struct PodGuard<'p> {
    podman: &'p Podman,
    yaml: &'p str,
}

impl Drop for PodGuard<'_> {
    fn drop(&mut self) {
        let out = self.podman.run(&["kube", "down", self.yaml]);
        if !std::thread::panicking() {
            assert!(out.status.success(), "podman kube down failed\n{out}");
        }
    }
}

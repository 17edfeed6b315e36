//! End-to-end scenarios in a real Docker engine: the example image (examples/node/Dockerfile)
//! run plainly, with the seed's flags, stopped under load, with orphans, and hardinit as
//! dockerd's `--init` binary.
//!
//! The daemon is started by .ci/docker-up when none answers (no bridge, no iptables); every
//! container uses `--network host` or `--network none`, and every load stays on loopback.

pub mod images;
mod platforms;

use crate::util::{self, Output};
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Where .ci/docker-up writes the log of a daemon it starts.
fn default_daemon_log() -> PathBuf {
    std::env::var_os("DOCKERD_LOG")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/log/hardinit-dockerd.log"))
}

/// A Docker daemon to talk to: the default one, or one this test started (`-H`).
pub struct Docker {
    host: Option<String>,
    log: PathBuf,
}

impl Docker {
    /// The daemon on the default socket, started by .ci/docker-up if none answers.
    pub fn default_daemon() -> Docker {
        static UP: OnceLock<Result<(), String>> = OnceLock::new();
        let up = util::run_setup_script_once(&UP, "docker-up", Duration::from_secs(120));
        if let Err(why) = up {
            panic!("no Docker daemon:\n{why}");
        }
        Docker {
            host: None,
            log: default_daemon_log(),
        }
    }

    pub fn command(&self) -> Command {
        let mut cmd = Command::new("docker");
        if let Some(host) = &self.host {
            cmd.args(["--host", host]);
        }
        cmd
    }

    /// Runs `docker ARGS` (2 minutes at most) and returns what it left.
    #[track_caller]
    pub fn run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        util::run_with_timeout(self.command().args(args), Duration::from_secs(120))
    }

    /// Runs `docker ARGS`, which must succeed; returns its trimmed stdout.
    #[track_caller]
    pub fn ok<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let out = self.run(args);
        if !out.status.success() {
            self.print_log();
            panic!("docker failed\n{out}");
        }
        out.stdout.trim().to_string()
    }

    /// Prints the end of the daemon's log (on failures).
    pub fn print_log(&self) {
        match std::fs::read_to_string(&self.log) {
            Ok(text) => {
                let lines: Vec<&str> = text.lines().collect();
                let tail = lines[lines.len().saturating_sub(60)..].join("\n");
                eprintln!(
                    "--- last lines of the daemon log {} ---\n{tail}",
                    self.log.display()
                );
            }
            Err(e) => eprintln!("(no daemon log at {}: {e})", self.log.display()),
        }
    }
}

/// A container that is removed when the guard drops; a failing test prints its logs, its
/// state and the daemon's log first.
pub struct Container<'d> {
    docker: &'d Docker,
    pub id: String,
}

impl<'d> Container<'d> {
    /// `docker run --detach ARGS`.
    #[track_caller]
    pub fn start(docker: &'d Docker, args: &[&str]) -> Container<'d> {
        let mut all = vec!["run", "--detach"];
        all.extend_from_slice(args);
        let id = docker.ok(&all);
        Container { docker, id }
    }

    #[track_caller]
    pub fn exec(&self, args: &[&str]) -> Output {
        let mut all = vec!["exec", self.id.as_str()];
        all.extend_from_slice(args);
        self.docker.run(&all)
    }

    /// `docker exec`, which must succeed; its stdout.
    #[track_caller]
    pub fn exec_ok(&self, args: &[&str]) -> String {
        let out = self.exec(args);
        assert!(out.status.success(), "docker exec failed\n{out}");
        out.stdout
    }

    pub fn logs(&self) -> Output {
        self.docker.run(["logs", &self.id])
    }

    /// `docker inspect --format TEMPLATE`.
    #[track_caller]
    pub fn inspect(&self, template: &str) -> String {
        self.docker.ok(["inspect", "--format", template, &self.id])
    }

    /// Waits until GET /healthz on loopback answers 200, failing early if the container ends.
    #[track_caller]
    pub fn wait_healthy(&self, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(reply) = http(port, "GET", "/healthz", "") {
                assert_eq!((reply.status, reply.body.as_str()), (200, "ok\n"));
                return;
            }
            let running = self.inspect("{{.State.Running}}");
            assert_eq!(running, "true", "the container stopped before it answered");
            assert!(
                Instant::now() < deadline,
                "no answer on port {port} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits (20 s at most) until the container's output holds `line`.
    #[track_caller]
    pub fn wait_for_line(&self, line: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.logs().stdout.lines().any(|l| l == line) {
            assert!(Instant::now() < deadline, "no line {line:?} within 20 s");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The container's processes, read from its own /proc.
    #[track_caller]
    pub fn processes(&self) -> Vec<Proc> {
        // Processes may end between the glob and cat: what cat could read is the answer.
        let out = self.exec_ok(&["sh", "-c", "cat /proc/[0-9]*/stat 2>/dev/null; true"]);
        out.lines().map(Proc::parse).collect()
    }

    /// The fields of /proc/PID/status that describe its hardening.
    #[track_caller]
    pub fn hardening_of(&self, pid: u32) -> BTreeMap<String, String> {
        hardening_fields(&self.exec_ok(&["cat", &format!("/proc/{pid}/status")]))
    }
}

impl Drop for Container<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- container {} ---\n{}", self.id, self.logs());
            eprintln!(
                "state: {}",
                self.docker
                    .run(["inspect", "--format", "{{json .State}}", &self.id])
                    .stdout
            );
            self.docker.print_log();
        }
        let _ = self.docker.run(["rm", "--force", "--volumes", &self.id]);
    }
}

/// A line of /proc/PID/stat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proc {
    pub pid: u32,
    pub comm: String,
    pub state: char,
    pub ppid: u32,
}

impl Proc {
    pub fn parse(line: &str) -> Proc {
        // comm may hold spaces and parentheses: it ends at the last ')'.
        let open = line
            .find(" (")
            .unwrap_or_else(|| panic!("bad stat line {line:?}"));
        let close = line
            .rfind(") ")
            .unwrap_or_else(|| panic!("bad stat line {line:?}"));
        let rest: Vec<&str> = line[close + 2..].split(' ').collect();
        Proc {
            pid: line[..open].parse().unwrap(),
            comm: line[open + 2..close].to_string(),
            state: rest[0].chars().next().unwrap(),
            ppid: rest[1].parse().unwrap(),
        }
    }
}

/// What a Node.js process is called in /proc/PID/stat: `node`, or `MainThread` once Node 22 and
/// later name their main thread (prctl(PR_SET_NAME), which `--seccomp node` allows).
pub const NODE_COMMS: [&str; 2] = ["node", "MainThread"];

/// The one Node.js process whose parent is PID 1: the program PID 1 started.
#[track_caller]
pub fn node_under_pid1(procs: &[Proc]) -> u32 {
    let comms = NODE_COMMS;
    let found: Vec<&Proc> = procs
        .iter()
        .filter(|p| p.ppid == 1 && comms.contains(&p.comm.as_str()))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "want one of {comms:?} under PID 1 in {procs:#?}"
    );
    found[0].pid
}

/// The zombies among `procs`.
pub fn zombies(procs: &[Proc]) -> Vec<Proc> {
    procs.iter().filter(|p| p.state == 'Z').cloned().collect()
}

const HARDENING_KEYS: [&str; 11] = [
    "Uid",
    "Gid",
    "CapInh",
    "CapPrm",
    "CapEff",
    "CapBnd",
    "CapAmb",
    "NoNewPrivs",
    "Seccomp",
    "Seccomp_filters",
    "Groups",
];

/// Picks the hardening fields out of a /proc/PID/status text.
pub fn hardening_fields(status: &str) -> BTreeMap<String, String> {
    status
        .lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| HARDENING_KEYS.contains(k))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

/// `(key, value)` pairs as a map, for comparing with [`hardening_fields`].
pub fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// What the node service must show under hardinit's defaults, wherever it runs: uid/gid 1000,
/// no capability in any set, no_new_privs, and seccomp filtering (the runtime's filter, if
/// any, and hardinit's node filter on top).
pub fn hardened_node(groups: &str, seccomp_filters: &str) -> BTreeMap<String, String> {
    let none = "0000000000000000";
    fields(&[
        ("Uid", "1000\t1000\t1000\t1000"),
        ("Gid", "1000\t1000\t1000\t1000"),
        ("Groups", groups),
        ("CapInh", none),
        ("CapPrm", none),
        ("CapEff", none),
        ("CapBnd", none),
        ("CapAmb", none),
        ("NoNewPrivs", "1"),
        ("Seccomp", "2"),
        ("Seccomp_filters", seccomp_filters),
    ])
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

/// A complete HTTP reply.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

/// Why an HTTP exchange gave no complete reply.
#[derive(Debug)]
pub enum HttpFailure {
    /// The connection was refused or the request could not be sent: nobody took it.
    NotSent(std::io::Error),
    /// The connection closed before the first byte of a reply.
    NoReply(String),
    /// Part of a reply arrived, then the connection closed: always a bug.
    Truncated(String),
}

impl std::fmt::Display for HttpFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpFailure::NotSent(e) => write!(f, "request not sent: {e}"),
            HttpFailure::NoReply(why) => write!(f, "no reply: {why}"),
            HttpFailure::Truncated(partial) => write!(f, "reply cut short: {partial:?}"),
        }
    }
}

/// One request on its own connection to 127.0.0.1:`port` (`Connection: close`).
pub fn http(port: u16, method: &str, path: &str, body: &str) -> Result<Reply, HttpFailure> {
    let mut stream =
        TcpStream::connect((Ipv4Addr::LOCALHOST, port)).map_err(HttpFailure::NotSent)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(HttpFailure::NotSent)?;
    let mut raw = Vec::new();
    let read = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    match (read, parse_reply(&text)) {
        (_, Some(reply)) => Ok(reply),
        (Err(e), None) if raw.is_empty() => Err(HttpFailure::NoReply(e.to_string())),
        (Ok(_), None) if raw.is_empty() => Err(HttpFailure::NoReply("end of stream".into())),
        (_, None) => Err(HttpFailure::Truncated(text)),
    }
}

/// A reply whose body is exactly as long as its Content-Length says; None if cut short.
fn parse_reply(text: &str) -> Option<Reply> {
    let (head, body) = text.split_once("\r\n\r\n")?;
    let mut lines = head.lines();
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let length: usize = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))?
        .1
        .trim()
        .parse()
        .ok()?;
    (body.len() == length).then(|| Reply {
        status,
        body: body.to_string(),
    })
}

/// The service works: health, and a note written to the data directory and read back.
#[track_caller]
pub fn assert_service_works(port: u16) {
    let note = format!("note {}", std::process::id());
    let stored = http(port, "POST", "/notes", &note).unwrap_or_else(|e| panic!("POST /notes: {e}"));
    assert_eq!((stored.status, stored.body.as_str()), (201, "stored\n"));
    let read = http(port, "GET", "/notes", "").unwrap_or_else(|e| panic!("GET /notes: {e}"));
    assert_eq!((read.status, read.body), (200, format!("{note}\n")));
}

fn repo_path(relative: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(relative)
        .display()
        .to_string()
}

/// The seed's runtime hardening but its user: a read-only root with a tmpfs /tmp, no
/// capabilities, no-new-privileges. The seed's read-only root needs a writable place where
/// the service writes: a volume, as in the seed (`-v app-data:/data`), which Docker fills
/// from the image, node's ownership included (a bare --tmpfs there is root's, mode 755).
const SEED_RUNTIME_FLAGS: [&str; 9] = [
    "--read-only",
    "--tmpfs",
    "/tmp",
    "--volume",
    "/app/data",
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
];

/// Starts the example image with `flags`; the service must work, run under hardinit as PID 1,
/// and show `want` in its /proc status.
#[track_caller]
fn run_hardened_service<'d>(
    docker: &'d Docker,
    flags: &[&str],
    image: &str,
    want: BTreeMap<String, String>,
) -> Container<'d> {
    let (c, port) = start_service(docker, flags, image, &[]);
    assert_service_works(port);
    let procs = c.processes();
    let pid1 = procs.iter().find(|p| p.pid == 1).map(|p| p.comm.as_str());
    assert_eq!(pid1, Some("hardinit"));
    let node = node_under_pid1(&procs);
    assert_eq!(c.hardening_of(node), want);
    c
}

/// Skips (or, in CI, fails) unless root and the tools are there.
fn ready(test: &str) -> bool {
    util::privileged(test)
        && ["docker", "dockerd", "tar", "ldd", "dpkg-query", "bash"]
            .iter()
            .all(|tool| util::require_tool(test, tool).is_some())
}

/// Starts the service (`docker run --network host FLAGS... IMAGE CMD...`) on a free loopback
/// port and waits until it answers; returns the container and the port.
#[track_caller]
pub fn start_service<'d>(
    docker: &'d Docker,
    flags: &[&str],
    image: &str,
    cmd: &[&str],
) -> (Container<'d>, u16) {
    let port = free_port();
    let port_env = format!("PORT={port}");
    let mut args = vec![
        "--network",
        "host",
        "--env",
        "HOST=127.0.0.1",
        "--env",
        &port_env,
    ];
    args.extend_from_slice(flags);
    args.push(image);
    args.extend_from_slice(cmd);
    let c = Container::start(docker, &args);
    c.wait_healthy(port);
    (c, port)
}

/// Runs the body of test `test` (`label` in the timing line) with the default daemon and the
/// example image; skips (or, in CI, fails) without root and the tools. The image is built
/// before the clock starts: the line says how long the scenario itself took.
pub fn scenario(test: &str, label: &str, body: impl FnOnce(&Docker, &'static str)) {
    if !ready(test) {
        return;
    }
    let image = images::example();
    let start = Instant::now();
    body(&Docker::default_daemon(), image);
    eprintln!("{label}: passed in {:.1?}", start.elapsed());
}

#[test]
fn docker_plain_run_is_hardened_by_the_image_alone() {
    scenario(
        "docker_plain_run_is_hardened_by_the_image_alone",
        "scenario 1 (plain docker run)",
        |docker, image| {
            // Docker's default seccomp filter, and hardinit's node filter stacked on it. No
            // supplementary group: /etc/group lists node in none.
            run_hardened_service(docker, &[], image, hardened_node("", "2"));

            // The CMD override runs the checker as the hardened child, where it sees its own state.
            let inspect = docker.run(
                ["run", "--rm", "--network", "none", image, "/hardinit"]
                    .into_iter()
                    .chain(["--inspect", "--expect", "hardened"]),
            );
            inspect.expect_code(0);
        },
    );
}

#[test]
fn docker_seed_flags_still_work_when_started_non_root() {
    scenario(
        "docker_seed_flags_still_work_when_started_non_root",
        "scenario 2 (seed flags, non-root start)",
        |docker, image| {
            let seed: Vec<&str> = SEED_RUNTIME_FLAGS
                .iter()
                .chain(&["--user", "1000"])
                .copied()
                .collect();
            // Docker started it as uid 1000 with gid and groups 1000 (from the image's passwd);
            // its seccomp filter and hardinit's node filter.
            run_hardened_service(docker, &seed, image, hardened_node("1000", "2"));
        },
    );
}

#[test]
fn docker_compose_example_settings_with_the_exported_node_profile() {
    scenario(
        "docker_compose_example_settings_with_the_exported_node_profile",
        "compose settings with the exported node profile",
        |docker, image| {
            // Exported as examples/compose.yaml says, from the image itself.
            let export = [
                "--entrypoint",
                "/hardinit",
                image,
                "--export-seccomp",
                "node",
            ];
            let profile = docker.run(["run", "--rm", "--network", "none"].iter().chain(&export));
            profile.expect_code(0);
            let dir = Scratch(PathBuf::from(format!(
                "/tmp/hardinit-compose-{}",
                std::process::id()
            )));
            std::fs::create_dir_all(&dir.0).unwrap();
            let path = dir.0.join("node-seccomp.json");
            std::fs::write(&path, &profile.stdout).unwrap();
            let seccomp = format!("seccomp={}", path.display());
            // examples/compose.yaml as `docker run` flags (CI has no Compose).
            let compose: Vec<&str> = SEED_RUNTIME_FLAGS
                .iter()
                .chain(&["--user", "1000:1000", "--security-opt", &seccomp])
                .chain(&[
                    "--cpus",
                    "1.0",
                    "--memory",
                    "512m",
                    "--memory-reservation",
                    "128m",
                ])
                .chain(&["--pids-limit", "256"])
                .copied()
                .collect();
            // The runtime's node filter and hardinit's own copy of it.
            let c = run_hardened_service(docker, &compose, image, hardened_node("1000", "2"));
            docker.ok(["stop", "--time", "10", &c.id]);
            assert_eq!(c.inspect("{{.State.ExitCode}}"), "0");
        },
    );
}

/// Waits (30 s at most) until the container's health is `want`; returns `docker ps`'s status.
#[track_caller]
fn wait_for_health(c: &Container, want: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let health = c.inspect("{{.State.Health.Status}}");
        if health == want {
            let filter = format!("id={}", c.id);
            return c
                .docker
                .ok(["ps", "--filter", &filter, "--format", "{{.Status}}"]);
        }
        assert!(
            Instant::now() < deadline,
            "health still {health:?}, not {want:?}, after 30 s: {}",
            c.inspect("{{json .State.Health}}")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn docker_healthcheck_is_hardinits_probe() {
    scenario(
        "docker_healthcheck_is_hardinits_probe",
        "healthcheck (hardinit --probe)",
        |docker, image| {
            // The image's own HEALTHCHECK, checked every second. `--network none`: port 3000
            // is the container's own loopback, shared with no other test.
            let often = ["--network", "none", "--health-interval", "1s"];
            let args: Vec<&str> = often.iter().copied().chain([image]).collect();
            let c = Container::start(docker, &args);
            let status = wait_for_health(&c, "healthy");
            assert!(status.ends_with("(healthy)"), "docker ps: {status:?}");
            let last = c.inspect("{{(index .State.Health.Log 0).Output}}");
            assert_eq!(last, "http://127.0.0.1:3000/healthz: HTTP/1.1 200 OK");
            // The control: the service on another port, so the probe finds nothing.
            let args: Vec<&str> = often
                .iter()
                .copied()
                .chain(["--health-retries", "1", "--env", "PORT=3001", image])
                .collect();
            let c = Container::start(docker, &args);
            let status = wait_for_health(&c, "unhealthy");
            assert!(status.ends_with("(unhealthy)"), "docker ps: {status:?}");
        },
    );
}

#[test]
fn docker_run_init_above_the_image_is_noticed() {
    scenario(
        "docker_run_init_above_the_image_is_noticed",
        "docker run --init with the example image",
        |docker, image| {
            // Docker's own docker-init (tini) is PID 1; the image's hardinit runs below it,
            // hardens as ever, and says so at info level.
            let out = docker.run([
                "run",
                "--rm",
                "--init",
                "--network",
                "none",
                "--env",
                "HARDINIT_VERBOSE=1",
                image,
                "id",
                "-u",
            ]);
            out.expect_code(0);
            assert_eq!(out.stdout, "1000\n", "{out}");
            assert!(
                out.stderr.contains(
                    "] running below another init (PID 1 is docker-init, e.g. Docker's --init)"
                ),
                "{out}"
            );
        },
    );
}

/// What happened to one request of the load generator.
#[derive(Debug)]
struct Sent {
    id: u64,
    sent_at: Instant,
    result: Result<Reply, HttpFailure>,
}

/// Keeps `clients` requests of `work_ms` each in flight on loopback until the service stops
/// taking them or `deadline` passes. Bounded: one connection per client at a time.
fn load(port: u16, clients: u64, work_ms: u64, deadline: Instant) -> Vec<Sent> {
    let threads: Vec<_> = (0..clients)
        .map(|client| {
            std::thread::spawn(move || {
                let mut sent = Vec::new();
                for n in 0.. {
                    let id = client * 100_000 + n;
                    let sent_at = Instant::now();
                    let result = http(port, "GET", &format!("/work?ms={work_ms}&id={id}"), "");
                    let done = result.is_err() || Instant::now() > deadline;
                    sent.push(Sent {
                        id,
                        sent_at,
                        result,
                    });
                    if done {
                        break;
                    }
                }
                sent
            })
        })
        .collect();
    threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect()
}

/// The ids of the /work requests the service logged as accepted.
fn accepted_ids(log: &str) -> BTreeSet<u64> {
    log.lines()
        .filter_map(|l| l.split_once(" accepted GET /work?")?.1.split_once("&id="))
        .map(|(_, id)| id.parse().unwrap())
        .collect()
}

#[test]
fn docker_stop_under_load_answers_every_accepted_request() {
    scenario(
        "docker_stop_under_load_answers_every_accepted_request",
        "scenario 3 (docker stop under load)",
        |docker, image| {
            let (c, port) = start_service(docker, &[], image, &[]);

            let generator_deadline = Instant::now() + Duration::from_secs(20);
            let generator = std::thread::spawn(move || load(port, 8, 300, generator_deadline));
            std::thread::sleep(Duration::from_secs(1));
            let stop_at = Instant::now();
            docker.ok(["stop", "--time", "10", &c.id]);
            let stop_took = stop_at.elapsed();
            let sent = generator.join().unwrap();

            let log = c.logs();
            assert_eq!(c.inspect("{{.State.ExitCode}}"), "0", "{log}");
            assert!(
                stop_took < Duration::from_secs(5),
                "docker stop took {stop_took:?}, near its 10 s timeout\n{log}"
            );
            let truncated: Vec<&Sent> = sent
                .iter()
                .filter(|s| matches!(s.result, Err(HttpFailure::Truncated(_))))
                .collect();
            assert!(truncated.is_empty(), "replies cut short: {truncated:#?}");
            let answered: BTreeSet<u64> = sent
            .iter()
            .filter(|s| matches!(&s.result, Ok(r) if r.status == 200 && r.body == format!("done {}\n", s.id)))
            .map(|s| s.id)
            .collect();
            assert_eq!(
                accepted_ids(&log.stdout),
                answered,
                "every request the service accepted, and only those, must be answered\n{log}"
            );
            // The scenario proves something only if requests were under way when it stopped.
            let in_flight = sent
                .iter()
                .filter(|s| s.sent_at < stop_at && answered.contains(&s.id))
                .filter(|s| s.sent_at + Duration::from_millis(300) > stop_at)
                .count();
            assert!(in_flight > 0, "no request was in flight at the stop\n{log}");
            eprintln!(
                "scenario 3: {} requests answered, {in_flight} of them in flight at the stop; \
             docker stop took {stop_took:.1?}",
                answered.len()
            );
        },
    );
}

/// Waits until every `sleep` in the container has ended (reaped or a zombie); returns what is
/// left then.
#[track_caller]
fn after_orphans_ended(c: &Container) -> Vec<Proc> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let procs = c.processes();
        if !procs.iter().any(|p| p.comm == "sleep" && p.state != 'Z') {
            return procs;
        }
        assert!(
            Instant::now() < deadline,
            "orphans still running: {procs:#?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The orphan scenario against `docker` with `run_args` before the image (which runs
/// tests/fixtures/docker/orphans.js): the zombies left once every orphan has ended.
fn zombies_left_by_orphans(
    docker: &Docker,
    run_args: &[&str],
    image: &str,
    cmd: &[&str],
) -> Vec<Proc> {
    let fixtures = format!("{}:/fixtures:ro", repo_path("tests/fixtures/docker"));
    let mut args: Vec<&str> = vec!["--network", "none", "--volume", &fixtures];
    args.extend_from_slice(run_args);
    args.push(image);
    args.extend_from_slice(cmd);
    let c = Container::start(docker, &args);
    c.wait_for_line("left 5 orphans");
    zombies(&after_orphans_ended(&c))
}

#[test]
fn docker_orphans_leave_no_zombie() {
    scenario(
        "docker_orphans_leave_no_zombie",
        "scenario 4 (orphans)",
        |docker, image| {
            let script = ["node", "/fixtures/orphans.js"];
            assert_eq!(zombies_left_by_orphans(docker, &[], image, &script), vec![]);
            // The control: with node as PID 1 (no init) the same service leaves five zombies,
            // so the check above can see them.
            let left =
                zombies_left_by_orphans(docker, &["--entrypoint", "node"], image, &script[1..]);
            let names: Vec<&str> = left.iter().map(|p| p.comm.as_str()).collect();
            assert_eq!(names, ["sleep"; 5], "{left:#?}");
        },
    );
}

/// A directory removed when the guard drops.
pub struct Scratch(pub PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A second Docker daemon with its own root, state, pidfile and socket; stopped, and its
/// directory removed, when the guard drops.
pub struct Dockerd {
    child: Child,
    dir: PathBuf,
    pub docker: Docker,
}

impl Dockerd {
    /// Starts `dockerd` (no bridge, no iptables) with `extra` flags in a fresh directory named
    /// after `name`; waits until it answers.
    #[track_caller]
    pub fn start(name: &str, extra: &[&str]) -> Dockerd {
        // Short: the daemon's and containerd's unix sockets live below it.
        let dir = PathBuf::from(format!("/tmp/hardinit-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let log_path = dir.join("dockerd.log");
        let log = std::fs::File::create(&log_path).unwrap();
        let host = format!("unix://{}", dir.join("docker.sock").display());
        let child = Command::new("dockerd")
            .arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(dir.join("dockerd.pid"))
            .args(["--host", &host, "--bridge=none", "--iptables=false"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut daemon = Dockerd {
            child,
            dir,
            docker: Docker {
                host: Some(host),
                log: log_path,
            },
        };
        daemon.wait_until_it_answers();
        daemon
    }

    #[track_caller]
    fn wait_until_it_answers(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.docker.run(["version"]).status.success() {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("dockerd exited with {status} before it answered");
            }
            assert!(
                Instant::now() < deadline,
                "dockerd did not answer within 60 s"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.docker.print_log();
        }
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(30);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        if matches!(self.child.try_wait(), Ok(None)) {
            eprintln!("dockerd {pid} ignored SIGTERM for 30 s; killing it");
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        unmount_below(&self.dir);
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            eprintln!("cannot remove {}: {e}", self.dir.display());
        }
    }
}

/// Detaches every mount below `dir`, deepest first: dockerd leaves its netns bind mount behind.
fn unmount_below(dir: &Path) {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut points: Vec<PathBuf> = mountinfo
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(PathBuf::from)
        .filter(|p| p.starts_with(dir))
        .collect();
    points.sort();
    for point in points.iter().rev() {
        if let Err(e) = nix::mount::umount2(point, nix::mount::MntFlags::MNT_DETACH) {
            eprintln!("cannot unmount {}: {e}", point.display());
        }
    }
}

/// What `hardinit --version` prints when it is invoked as docker-init or tini.
fn tini_style_version() -> String {
    format!("tini version {} - hardinit\n", env!("CARGO_PKG_VERSION"))
}

#[test]
fn docker_init_path_runs_hardinit_as_docker_init() {
    let test = "docker_init_path_runs_hardinit_as_docker_init";
    scenario(test, "scenario 5 (dockerd --init-path)", |_, _| {
        // An image without hardinit; hardinit itself comes from the example image.
        let (base, hardinit) = (images::node_base(), images::static_hardinit());
        let bin = PathBuf::from(format!("/tmp/hardinit-docker-init-{}", std::process::id()));
        std::fs::create_dir_all(&bin).unwrap();
        let _bin = Scratch(bin.clone());
        let init = bin.join("docker-init");
        std::fs::copy(hardinit, &init).unwrap();
        let version = util::run_with_timeout(
            Command::new(&init).arg("--version"),
            Duration::from_secs(10),
        );
        assert_eq!(version.expect_code(0).stdout, tini_style_version());

        let init_path = init.display().to_string();
        let daemon = Dockerd::start("init", &["--init-path", &init_path]);
        let docker = &daemon.docker;
        let image_tar = daemon.dir().join("node-base.tar");
        Docker::default_daemon().ok(["save", "--output", &image_tar.display().to_string(), base]);
        docker.ok(["load", "--input", &image_tar.display().to_string()]);

        assert_eq!(
            docker.ok(["info", "--format", "{{.InitBinary}}"]),
            init_path
        );
        // dockerd runs `docker-init --version` and parses tini's format. Docker 20.10 shows
        // the version in `docker version` only; its `docker info` shows a `git.COMMIT` suffix
        // alone, which hardinit does not claim to have.
        let components = docker.ok(["version", "--format", "{{json .Server.Components}}"]);
        let components: serde_json::Value = serde_json::from_str(&components).unwrap();
        let init = components
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["Name"] == "docker-init");
        assert_eq!(
            init,
            Some(&serde_json::json!({
                "Name": "docker-init",
                "Version": env!("CARGO_PKG_VERSION"),
                "Details": { "GitCommit": "" },
            })),
            "{components:#}"
        );

        let server = format!("{}:/srv/server.js:ro", repo_path("examples/node/server.js"));
        let flags = ["--init", "--volume", &server, "--env", "DATA_DIR=/tmp"];
        let (c, port) = start_service(docker, &flags, base, &["node", "/srv/server.js"]);
        assert_service_works(port);
        assert_eq!(
            c.exec_ok(&["cat", "/proc/1/cmdline"]),
            "/sbin/docker-init\0--\0node\0/srv/server.js\0"
        );
        let node = node_under_pid1(&c.processes());
        // Invoked as docker-init it is tini: the program keeps what Docker gave it.
        let docker_caps = "00000000a80425fb";
        assert_eq!(
            c.hardening_of(node),
            fields(&[
                ("Uid", "0\t0\t0\t0"),
                ("Gid", "0\t0\t0\t0"),
                ("Groups", "0"),
                ("CapInh", "0000000000000000"),
                ("CapPrm", docker_caps),
                ("CapEff", docker_caps),
                ("CapBnd", docker_caps),
                ("CapAmb", "0000000000000000"),
                ("NoNewPrivs", "0"),
                ("Seccomp", "2"),
                ("Seccomp_filters", "1"),
            ])
        );
        let stop_at = Instant::now();
        docker.ok(["stop", "--time", "10", &c.id]);
        let stop_took = stop_at.elapsed();
        assert_eq!(c.inspect("{{.State.ExitCode}}"), "0");
        assert!(
            stop_took < Duration::from_secs(5),
            "docker stop took {stop_took:?}"
        );

        // `docker run --init` takes no flags for the init; the environment configures it.
        let configured = [
            "--env",
            "HARDINIT_USER=1000",
            "--env",
            "HARDINIT_SECCOMP=node",
        ];
        let flags: Vec<&str> = flags.iter().chain(&configured).copied().collect();
        let (c, port) = start_service(docker, &flags, base, &["node", "/srv/server.js"]);
        assert_service_works(port);
        let node = node_under_pid1(&c.processes());
        // Docker's filter and hardinit's node filter; a numeric uid gets no groups.
        assert_eq!(c.hardening_of(node), hardened_node("", "2"));
        docker.ok(["stop", "--time", "10", &c.id]);
        assert_eq!(c.inspect("{{.State.ExitCode}}"), "0");

        let script = ["node", "/fixtures/orphans.js"];
        assert_eq!(
            zombies_left_by_orphans(docker, &["--init"], base, &script),
            vec![]
        );
    });
}

/// Runs `binary` with its arguments in a mount namespace whose /proc is an empty tmpfs.
fn run_without_proc(binary: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new("unshare");
    cmd.args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(r#"mount -t tmpfs none /proc && exec "$@""#)
        .arg("sh")
        .arg(binary)
        .args(args);
    util::run_with_timeout(&mut cmd, Duration::from_secs(30))
}

#[test]
fn the_static_binary_maps_and_unmaps_memory_a_handful_of_times() {
    let test = "the_static_binary_maps_and_unmaps_memory_a_handful_of_times";
    scenario(test, "the static binary's heap", |_, _| {
        let Some(strace) = util::require_tool(test, "strace") else {
            return;
        };
        // The shipped binary (musl): its allocator is what issue 18 changed. hardinit
        // allocates before the fork only (the child allocates nothing), so tracing hardinit's
        // own process (no -f) sees every mapping a launch makes for its heap. musl's
        // allocator unmapped each group of blocks as soon as it was empty: 50 mmap and 41
        // munmap for this launch on the host. dlmalloc (sys::GlobalHeap) grows its heap a few
        // times: 7 and 4 (the munmaps are musl's own and PID 1's settling in, not the heap's).
        let log = util::scratch_dir("static-mmap").join("strace.log");
        let out = util::run_with_timeout(
            Command::new(strace)
                .args(["-qq", "-e", "trace=mmap,munmap", "-o"])
                .arg(&log)
                .arg(images::static_hardinit())
                .args(util::FULL_HARDENING)
                .args(["--", "true"]),
            Duration::from_secs(30),
        );
        out.expect_code(0);
        let text = std::fs::read_to_string(&log).unwrap();
        let count = |call: &str| text.lines().filter(|l| l.starts_with(call)).count();
        let (mmap, munmap) = (count("mmap("), count("munmap("));
        assert!(
            mmap <= 12 && munmap <= 6,
            "{mmap} mmap and {munmap} munmap:\n{text}"
        );
    });
}

#[test]
fn arguments_arrive_without_proc_mounted() {
    let test = "arguments_arrive_without_proc_mounted";
    scenario(test, "arguments without /proc", |_, _| {
        // The static musl build is the one whose Rust runtime records no argv of its own; the
        // test build (glibc) is checked the same way.
        for binary in [images::static_hardinit(), util::hardinit().as_path()] {
            let out = run_without_proc(
                binary,
                &[
                    "--user",
                    "65534",
                    "--",
                    "sh",
                    "-c",
                    r#"[ -e /proc/self ] && echo "/proc is mounted"; echo "$#|$1|$2""#,
                    "sh",
                    "a b",
                    "-v",
                ],
            );
            assert_eq!(out.expect_code(0).stdout, "2|a b|-v\n", "{out}");
            let out = run_without_proc(binary, &["--version"]);
            assert_eq!(
                out.expect_code(0).stdout,
                format!("hardinit {}\n", env!("CARGO_PKG_VERSION")),
                "{out}"
            );
        }
    });
}

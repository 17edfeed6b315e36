//! Shared helpers: run a command with a timeout, decide whether privileged tests may run.

use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The hardinit binary under test.
pub fn hardinit() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hardinit"))
}

/// What a finished command left behind, printed whole when an assertion fails.
pub struct Output {
    pub cmd: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Panics with the whole record unless the exit code is `want`.
    #[track_caller]
    pub fn expect_code(&self, want: i32) -> &Self {
        assert_eq!(self.code(), Some(want), "unexpected exit code\n{self}");
        self
    }
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "command: {}\nstatus: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.cmd, self.status, self.stdout, self.stderr
        )
    }
}

/// Runs `cmd` to completion, killing it after `timeout` (times the VM's `timeout_factor`);
/// panics (with the record) on timeout.
#[track_caller]
pub fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> Output {
    let timeout = timeout * timeout_factor();
    let desc = describe(cmd);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {desc}: {e}"));
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let status = child.wait().unwrap();
            let o = Output {
                cmd: desc,
                status,
                stdout: String::from_utf8_lossy(&out_t.join().unwrap()).into_owned(),
                stderr: String::from_utf8_lossy(&err_t.join().unwrap()).into_owned(),
            };
            panic!("timed out after {timeout:?}\n{o}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Output {
        cmd: desc,
        status,
        stdout: String::from_utf8_lossy(&out_t.join().unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&err_t.join().unwrap()).into_owned(),
    }
}

/// Runs hardinit with `args` (10 s timeout).
#[track_caller]
pub fn run_hardinit<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_with_timeout(Command::new(hardinit()).args(args), Duration::from_secs(10))
}

pub fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&shell_quote(&a.to_string_lossy()));
    }
    s
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,+@%".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// True when this test may use root. Not root: prints why the test is skipped, or panics when
/// HARDINIT_TEST_PRIVILEGED=1 (CI), where nothing privileged may be skipped.
#[track_caller]
pub fn privileged(test: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    if std::env::var_os("HARDINIT_TEST_PRIVILEGED").as_deref() == Some(OsStr::new("1")) {
        panic!("{test}: needs root, and HARDINIT_TEST_PRIVILEGED=1 forbids skipping it");
    }
    eprintln!("SKIPPED {test}: needs root (set HARDINIT_TEST_PRIVILEGED=1 to make this a failure)");
    false
}

/// Panics (or skips loudly outside CI) unless `tool` is on PATH. Returns its path.
#[track_caller]
pub fn require_tool(test: &str, tool: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(tool))
            .find(|p| p.is_file())
    });
    if found.is_some() {
        return found;
    }
    if std::env::var_os("HARDINIT_TEST_PRIVILEGED").as_deref() == Some(OsStr::new("1")) {
        panic!("{test}: needs `{tool}` on PATH (.ci/run installs it)");
    }
    eprintln!("SKIPPED {test}: `{tool}` is not installed");
    None
}

/// `(line, binary)` for each Node.js line in the cache of `.ci/node-lines` (the official
/// builds from npm; the tests never fetch). A line missing fails the test in CI
/// (HARDINIT_TEST_PRIVILEGED=1 or CI set) and is skipped loudly, by name, elsewhere.
#[track_caller]
pub fn node_lines(test: &str, lines: &[&str]) -> Vec<(String, PathBuf)> {
    let (platform, lines) = node_platform_lines(test, lines);
    node_lines_for(test, platform, &lines)
}

/// [`node_lines`] for the builds of another platform (`x64` or `arm64`, as npm names them).
#[track_caller]
pub fn node_lines_for(test: &str, platform: &str, lines: &[&str]) -> Vec<(String, PathBuf)> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/node-lines");
    let out = run_with_timeout(
        Command::new(script)
            .args(["--platform", platform, "--offline"])
            .args(lines),
        Duration::from_secs(10),
    );
    out.expect_code(0);
    let strict = std::env::var_os("HARDINIT_TEST_PRIVILEGED").as_deref() == Some(OsStr::new("1"))
        || std::env::var_os("CI").is_some();
    let mut found = Vec::new();
    for row in out.stdout.lines() {
        let (line, path) = row.split_once(' ').unwrap();
        if path == "missing" {
            if strict {
                panic!("{test}: Node.js {line} ({platform}) is not in the cache: run .ci/node-lines --platform {platform} {line} (as .ci/run does)");
            }
            eprintln!("SKIPPED {test} for Node.js {line} ({platform}): not fetched (run .ci/node-lines --platform {platform} {line})");
            continue;
        }
        found.push((line.to_string(), PathBuf::from(path)));
    }
    found
}

/// The Node.js build for this arch and the lines tested on it: every line on x86_64; on
/// aarch64 (the emulated VM of `.ci/arm64`, where each line costs minutes) the active LTS,
/// 24, alone — the others are skipped by name, loudly.
fn node_platform_lines<'a>(test: &str, lines: &[&'a str]) -> (&'static str, Vec<&'a str>) {
    if cfg!(target_arch = "x86_64") {
        return ("x64", lines.to_vec());
    }
    let (run, skip): (Vec<&str>, Vec<&str>) = lines.iter().partition(|l| **l == "24");
    if !skip.is_empty() {
        eprintln!(
            "SKIPPED {test} for Node.js {} on aarch64: the arm64 stage runs the active LTS, 24",
            skip.join(", ")
        );
    }
    ("arm64", run)
}

/// A fresh scratch directory under the target dir, removed by the caller if it wants.
pub fn scratch_dir(name: &str) -> PathBuf {
    let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).unwrap();
    base
}

/// Where compiled probes live: the target directory, unless it is under /tmp, which the
/// tests make writable (`--writable /tmp`) and so not executable under `--read-only` — a
/// checkout under /tmp would then see its probes refused with EACCES. As root they go to
/// /var/cache/hardinit/probes/<hash of the target directory> instead.
/// `TEST_PROBE_DIR`, when set, names a directory of probes built already (the arm64 VM's,
/// cross-compiled by .ci/arm64).
fn probe_dir() -> PathBuf {
    use std::hash::{Hash, Hasher};
    if let Some(dir) = std::env::var_os("TEST_PROBE_DIR") {
        return PathBuf::from(dir);
    }
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"));
    if !target.starts_with("/tmp") || !nix::unistd::geteuid().is_root() {
        return target.join("probes");
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    target.hash(&mut h);
    Path::new("/var/cache/hardinit/probes").join(format!("{:016x}", h.finish()))
}

/// Compiles a C probe from tests/fixtures/probes/NAME.c (static) into the scratch area, once.
pub fn c_probe(name: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/probes")
        .join(format!("{name}.c"));
    let out_dir = probe_dir();
    std::fs::create_dir_all(&out_dir).unwrap();
    let out = out_dir.join(name);
    // Tests run in parallel threads: build to a unique name and rename into place.
    let tmp = out_dir.join(format!(
        "{name}.{}.{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let fresh = out
        .metadata()
        .and_then(|m| m.modified())
        .ok()
        .zip(src.metadata().and_then(|m| m.modified()).ok())
        .is_some_and(|(o, s)| o >= s);
    if !fresh {
        let o = run_with_timeout(
            Command::new("cc")
                .args(["-static", "-O2", "-Wall", "-o"])
                .arg(&tmp)
                .arg(&src),
            Duration::from_secs(60),
        );
        assert!(o.status.success(), "probe {name} did not compile\n{o}");
        std::fs::rename(&tmp, &out).unwrap();
    }
    out
}

/// A process started in the background with its stdout read line by line; killed on drop.
pub struct Background {
    pub child: std::process::Child,
    pub cmd: String,
    lines: std::sync::mpsc::Receiver<String>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Background {
    #[track_caller]
    pub fn start(cmd: &mut Command) -> Background {
        cmd.stdin(Stdio::null());
        Self::spawn(cmd)
    }

    /// Like `start`, with a pipe to the process's stdin.
    #[track_caller]
    pub fn start_with_stdin(cmd: &mut Command) -> (Background, std::process::ChildStdin) {
        cmd.stdin(Stdio::piped());
        let mut bg = Self::spawn(cmd);
        let stdin = bg.child.stdin.take().unwrap();
        (bg, stdin)
    }

    #[track_caller]
    fn spawn(cmd: &mut Command) -> Background {
        let desc = describe(cmd);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {desc}: {e}"));
        let out = child.stdout.take().unwrap();
        let mut err = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Background {
            child,
            cmd: desc,
            lines: rx,
            stderr,
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// The next stdout line, or a panic with everything known after `timeout`.
    #[track_caller]
    pub fn next_line(&mut self, timeout: Duration) -> String {
        let timeout = timeout * timeout_factor();
        match self.lines.recv_timeout(timeout) {
            Ok(line) => line,
            Err(e) => panic!(
                "no stdout line within {timeout:?} ({e})\ncommand: {}\n--- stderr ---\n{}",
                self.cmd,
                self.stderr()
            ),
        }
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits for the exit status, killing the process after `timeout`.
    #[track_caller]
    pub fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let timeout = timeout * timeout_factor();
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if start.elapsed() > timeout {
                let _ = self.child.kill();
                panic!(
                    "did not exit within {timeout:?}\ncommand: {}\n--- stderr ---\n{}",
                    self.cmd,
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of `field` (e.g. "Uid") in /proc/PID/status, whitespace-normalised.
pub fn status_field(pid: i32, field: &str) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_status_field(&text, field)
}

/// The value of `field` in a /proc/*/status text, whitespace-normalised.
pub fn parse_status_field(text: &str, field: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// The pids of `pid`'s children.
pub fn children_of(pid: i32) -> Vec<i32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Polls `cond` every 10 ms for up to `timeout` (times `timeout_factor`).
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let timeout = timeout * timeout_factor();
    let start = Instant::now();
    while start.elapsed() < timeout {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    cond()
}

/// Sends `signo` to `pid`, failing the test if it cannot.
#[track_caller]
pub fn send(pid: i32, signo: i32) {
    let out = run_with_timeout(
        Command::new("kill")
            .arg(format!("-{signo}"))
            .arg(pid.to_string()),
        Duration::from_secs(5),
    );
    assert!(
        out.status.success(),
        "cannot send signal {signo} to {pid}\n{out}"
    );
}

/// The running kernel's Landlock ABI, as far as hardinit uses it (7).
pub fn landlock_abi() -> u32 {
    hardinit::sys::landlock_abi().unwrap().min(7)
}

/// The warnings every Landlock launch gets on this kernel for what its ABI lacks (below 6: no
/// scoping), without the log prefix. (ABI 1-2 lack the truncate right too, but in hardinit's
/// own mode the seccomp floor refuses truncating instead, so that is no gap.)
pub fn landlock_abi_warnings(_read_only: bool) -> Vec<String> {
    scoping_warning(true).into_iter().collect()
}

/// The writable kernel interfaces on this machine, as hardinit's survey finds them.
pub fn writable_interfaces() -> Vec<String> {
    let mounts = hardinit::plan::landlock::read_mounts().unwrap();
    hardinit::plan::kernel_files::survey(&mounts)
        .into_iter()
        .filter(|(_, s)| *s == hardinit::policy::kernel::FileState::Writable)
        .map(|(p, _)| p.display().to_string())
        .collect()
}

/// Whether a root launch here masks kernel files with private read-only mounts (they are
/// writable here, and the tests run as root): then, below ABI 6, the program gets a bare
/// Landlock domain of hardinit's own (from ABI 2 on).
pub fn kernel_files_masked() -> bool {
    nix::unistd::geteuid().is_root() && !writable_interfaces().is_empty()
}

/// Whether hardinit gives a root program that keeps no CAP_SYS_ADMIN a bare domain here
/// when the ABI (lowered by `--landlock-abi` or not) lacks signal scoping: from ABI 2 on,
/// where it masks kernel files.
pub fn bare_domain_here() -> bool {
    landlock_abi() >= 2 && kernel_files_masked()
}

/// Whether hardinit's own mode without a Landlock flag puts a root program that keeps no
/// CAP_SYS_ADMIN in a domain on this kernel: signal scoping from ABI 6, else a bare domain.
pub fn own_mode_domain() -> bool {
    landlock_abi() >= 6 || bare_domain_here()
}

/// The warning, without the log prefix, of a launch on a kernel below ABI 6 (no scoping):
/// with a ruleset (`ruleset`: a Landlock flag) or with signals alone scoped (hardinit's own
/// mode without a Landlock flag). None from ABI 6 on.
pub fn scoping_warning(ruleset: bool) -> Option<String> {
    use hardinit::policy::landlock::{SCOPING_GAP, SIGNAL_SCOPING_GAP};
    let gap = if ruleset {
        SCOPING_GAP
    } else {
        SIGNAL_SCOPING_GAP
    };
    (landlock_abi() < 6).then(|| format!("landlock: not enforced: {gap} (needs ABI 6)"))
}

/// Panics unless `out`'s stderr is exactly this kernel's `scoping_warning(ruleset)`: nothing
/// from ABI 6 on.
#[track_caller]
pub fn expect_only_scoping_warning(out: &Output, ruleset: bool) {
    let lines: Vec<String> = out
        .stderr
        .lines()
        .map(|l| without_log_prefix(l).to_string())
        .collect();
    let want: Vec<String> = scoping_warning(ruleset).into_iter().collect();
    assert_eq!(lines, want, "{out}");
}

/// `stderr` without the lines of `scoping_warning` (either kind): what the kernel's ABI adds
/// to every launch there, checked by the tests of that warning, not by the tests of the rest.
/// From ABI 6 on it is `stderr` unchanged.
pub fn without_scoping_warnings(stderr: &str) -> String {
    let implied: Vec<String> = [true, false]
        .into_iter()
        .filter_map(scoping_warning)
        .collect();
    stderr
        .split_inclusive('\n')
        .filter(|l| {
            let line = l.trim_end_matches(['\n', '\r']);
            !implied.iter().any(|w| without_log_prefix(line) == w)
        })
        .collect()
}

/// A log line without its "[WARN  hardinit (PID)] " prefix.
pub fn without_log_prefix(line: &str) -> &str {
    match line.split_once(")] ") {
        Some((prefix, msg)) if prefix.starts_with('[') => msg,
        _ => line,
    }
}

/// How much longer than natively a hang guard (`run_with_timeout`, `wait_until`, `Background`)
/// waits: `TEST_TIMEOUT_FACTOR` (the arm64 VM, an emulated CPU, sets it), else 1. Guards
/// only: no test asserts a duration. Not a HARDINIT_ name: hardinit refuses unknown
/// variables of its own prefix.
pub fn timeout_factor() -> u32 {
    std::env::var("TEST_TIMEOUT_FACTOR")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&f| f >= 1)
        .unwrap_or(1)
}

/// Runs the set-up script `.ci/NAME` once per test process (`once` holds its outcome) and
/// prints its output; every later call gets the first outcome, an error with the record.
pub fn run_setup_script_once(
    once: &'static std::sync::OnceLock<Result<(), String>>,
    name: &str,
    timeout: Duration,
) -> Result<(), &'static String> {
    once.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci").join(name);
        let out = run_with_timeout(&mut Command::new(script), timeout);
        if out.status.success() {
            eprint!("{}", out.stdout);
            Ok(())
        } else {
            Err(out.to_string())
        }
    })
    .as_ref()
    .map(|_| ())
}

/// The full hardening the README and bench/ measure.
pub const FULL_HARDENING: [&str; 7] = [
    "--user",
    "65534",
    "--read-only",
    "--writable",
    "/tmp",
    "--seccomp",
    "node",
];

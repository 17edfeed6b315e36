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

/// Runs `cmd` to completion, killing it after `timeout`; panics (with the record) on timeout.
#[track_caller]
pub fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> Output {
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

/// A fresh scratch directory under the target dir, removed by the caller if it wants.
pub fn scratch_dir(name: &str) -> PathBuf {
    let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).unwrap();
    base
}

/// Compiles a C probe from tests/fixtures/probes/NAME.c (static) into the scratch area, once.
pub fn c_probe(name: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/probes")
        .join(format!("{name}.c"));
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("probes");
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

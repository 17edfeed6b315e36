//! `hardinit --inspect [--json] [--expect LIST]`: report the hardening of the process
//! hardinit runs in, and prove it with live probes. Starts no program.
//!
//! `facts` reads state, `probes` tries things and cleans up, `report` turns both into
//! checked lines and renders them (docs/inspect.md documents the output).

mod facts;
mod probes;
mod report;

use std::io::{self, Write};
use std::path::PathBuf;

use nix::errno::Errno;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum InspectError {
    #[error("--expect: unknown expectation '{name}' (known: {known})", known = known_names())]
    ParseExpectation { name: String },
    #[error("cannot read /proc/self/status")]
    ReadStatus(#[source] io::Error),
    #[error("/proc/self/status has no readable {field} field")]
    ParseStatus { field: &'static str },
    #[error("cannot read the {name} resource limit")]
    ReadRlimit { name: &'static str, source: Errno },
    #[error("cannot start a probe process")]
    ForkProbe(#[source] Errno),
    #[error("cannot wait for a probe process")]
    WaitProbe(#[source] Errno),
    #[error("cannot remove the probe file {path}, which is left behind")]
    RemoveProbeFile { path: PathBuf, source: io::Error },
    #[error("cannot find an unused name for a probe file in {dir}")]
    NameProbeFile { dir: PathBuf },
    #[error("cannot write the report")]
    WriteReport(#[source] io::Error),
}

/// A property of a hardened process that `--expect` can demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Expectation {
    /// No uid and no gid is 0 (real, effective, saved), and 0 is no supplementary group.
    NonRoot,
    /// All five capability sets are empty, the bounding set included.
    NoCaps,
    NoNewPrivs,
    /// A seccomp filter is installed.
    Seccomp,
    /// A new file cannot be created in `/`.
    ReadOnlyRoot,
    /// `unshare(CLONE_NEWUSER)` fails.
    NoUserns,
    /// A mount fails (in a mount namespace of its own).
    NoMount,
    /// The process is Landlock-restricted.
    Landlock,
    /// No container runtime's socket (Docker, containerd, Podman, CRI-O, kubelet) accepts
    /// a connection from it.
    NoRuntimeSocket,
}

/// The name that stands for every expectation.
const HARDENED: &str = "hardened";

impl Expectation {
    pub const ALL: [Expectation; 9] = [
        Expectation::NonRoot,
        Expectation::NoCaps,
        Expectation::NoNewPrivs,
        Expectation::Seccomp,
        Expectation::ReadOnlyRoot,
        Expectation::NoUserns,
        Expectation::NoMount,
        Expectation::Landlock,
        Expectation::NoRuntimeSocket,
    ];

    /// The name `--expect` and the JSON `expectations` object use.
    pub fn name(self) -> &'static str {
        match self {
            Expectation::NonRoot => "non-root",
            Expectation::NoCaps => "no-caps",
            Expectation::NoNewPrivs => "no-new-privs",
            Expectation::Seccomp => "seccomp",
            Expectation::ReadOnlyRoot => "read-only-root",
            Expectation::NoUserns => "no-userns",
            Expectation::NoMount => "no-mount",
            Expectation::Landlock => "landlock",
            Expectation::NoRuntimeSocket => "no-runtime-socket",
        }
    }
}

fn known_names() -> String {
    let mut names: Vec<&str> = Expectation::ALL.iter().map(|e| e.name()).collect();
    names.push(HARDENED);
    names.join(", ")
}

/// Parses `--expect`'s comma list into distinct expectations, in `Expectation::ALL` order.
pub fn parse_expectations(list: &str) -> Result<Vec<Expectation>, InspectError> {
    let mut wanted = Vec::new();
    for name in list.split(',').map(str::trim) {
        if name == HARDENED {
            wanted.extend(Expectation::ALL);
            continue;
        }
        let e = Expectation::ALL
            .into_iter()
            .find(|e| e.name() == name)
            .ok_or_else(|| InspectError::ParseExpectation {
                name: name.to_string(),
            })?;
        wanted.push(e);
    }
    wanted.sort();
    wanted.dedup();
    Ok(wanted)
}

/// Runs `--inspect`: the report goes to `out`, one line per failed expectation to `err`.
/// Returns the exit status: 0, or 1 when an expectation of `expect` does not hold.
pub fn run(
    json: bool,
    expect: Option<&str>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<i32, InspectError> {
    // An unknown name must fail before any probe runs.
    let wanted = expect.map(parse_expectations).transpose()?;
    let facts = facts::read()?;
    let probes = probes::run()?;
    let lines = report::lines(&facts, &probes);
    if json {
        report::write_json(out, &facts, &probes, &lines)
    } else {
        report::write_human(out, &lines)
    }
    .and_then(|()| out.flush())
    .map_err(InspectError::WriteReport)?;
    let failed: Vec<Expectation> = wanted
        .unwrap_or_default()
        .into_iter()
        .filter(|&e| !report::holds(&lines, e))
        .collect();
    for &e in &failed {
        writeln!(err, "{}", report::failure_message(&lines, e))
            .map_err(InspectError::WriteReport)?;
    }
    Ok(if failed.is_empty() { 0 } else { 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse_in_canonical_order_without_repeats() {
        assert_eq!(
            parse_expectations("no-mount, non-root,no-mount").unwrap(),
            [Expectation::NonRoot, Expectation::NoMount]
        );
        assert_eq!(
            parse_expectations("landlock,hardened").unwrap(),
            Expectation::ALL
        );
    }

    #[test]
    fn unknown_and_empty_names_are_errors() {
        assert_eq!(
            parse_expectations("non-root,rootless").unwrap_err().to_string(),
            "--expect: unknown expectation 'rootless' (known: non-root, no-caps, no-new-privs, seccomp, read-only-root, no-userns, no-mount, landlock, no-runtime-socket, hardened)"
        );
        assert!(matches!(
            parse_expectations("seccomp,,landlock"),
            Err(InspectError::ParseExpectation { name }) if name.is_empty()
        ));
        assert!(matches!(
            parse_expectations("Non-Root"),
            Err(InspectError::ParseExpectation { name }) if name == "Non-Root"
        ));
    }
}

//! Facts and probes as report lines, each checked against the hardened expectation it
//! belongs to; the lines decide every verdict, so the ✓/✗ column, the JSON `expectations`
//! and the exit status cannot disagree.

use std::io::{self, Write};

use nix::errno::Errno;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use super::facts::Status;
use super::facts::{
    signal_name, Capabilities, Facts, Ids, Landlock, Limit, SeccompMode, Securebits,
};
use super::probes::{FileOwner, Outcome, Probes, PRIVILEGED_PORT};
use super::Expectation;
use crate::kernel::{all_caps, cap_names};

/// One fact as shown to a human.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub label: String,
    /// The expectation this fact belongs to, and whether the fact meets it.
    pub check: Option<(Expectation, bool)>,
    pub value: String,
}

fn line(label: impl Into<String>, check: Option<(Expectation, bool)>, value: String) -> Line {
    Line {
        label: label.into(),
        check,
        value,
    }
}

/// Every report line, in the order they are printed.
pub fn lines(facts: &Facts, probes: &Probes) -> Vec<Line> {
    use Expectation::*;
    let mut out = vec![
        line(
            "uid real/effective/saved",
            Some((NonRoot, !facts.status.uid.any_is_zero())),
            ids(&facts.status.uid),
        ),
        line(
            "gid real/effective/saved",
            Some((NonRoot, !facts.status.gid.any_is_zero())),
            ids(&facts.status.gid),
        ),
        line(
            "supplementary groups",
            Some((NonRoot, !facts.status.groups.contains(&0))),
            groups(&facts.status.groups),
        ),
    ];
    out.extend(capability_lines(&facts.status.capabilities));
    out.extend([
        line(
            "no_new_privs",
            Some((NoNewPrivs, facts.status.no_new_privs)),
            if facts.status.no_new_privs {
                "set"
            } else {
                "not set"
            }
            .into(),
        ),
        seccomp_line(facts, probes),
        line(
            "landlock",
            Some((Landlock, facts.landlock.restricted == Some(true))),
            landlock(&facts.landlock),
        ),
        line("securebits", None, securebits(&facts.securebits)),
        line("rlimit nofile", None, limit(facts.rlimits.nofile)),
        line("rlimit nproc", None, limit(facts.rlimits.nproc)),
        line("rlimit core", None, limit(facts.rlimits.core)),
        line("dumpable", None, dumpable(facts.dumpable)),
        root_create_line(facts, probes),
        line("create a file in /tmp", None, outcome(probes.create_in_tmp)),
        line(
            format!("bind 127.0.0.1:{PRIVILEGED_PORT}"),
            None,
            outcome(probes.bind_privileged_port),
        ),
    ]);
    out.extend(user_namespace_lines(probes));
    out.push(mount_line(facts, probes));
    out.push(line("signal PID 1", None, outcome(probes.signal_pid1)));
    out.extend(runtime_socket_lines(facts, probes));
    out
}

const CAP_DAC_OVERRIDE: u64 = 1 << 1;
const CAP_SYS_ADMIN: u64 = 1 << 21;

/// Whether the file modes let the process do `want` (rwx bits, e.g. 0o3 for write and
/// search) on a file, judged from stat and /proc/self/status: data no filter can forge.
pub fn modes_allow(owner: FileOwner, status: &Status, want: u32) -> bool {
    if status.capabilities.effective & CAP_DAC_OVERRIDE != 0 {
        return true;
    }
    let bits = if status.uid.effective == owner.uid {
        owner.mode >> 6
    } else if status.gid.effective == owner.gid || status.groups.contains(&owner.gid) {
        owner.mode >> 3
    } else {
        owner.mode
    };
    bits & want == want
}

/// A filter is installed (/proc/self/status) and it refuses keyctl, which a kernel with
/// keyrings answers EOPNOTSUPP for an unknown operation: every hardening profile refuses
/// the keyring calls (Docker's, `node`), and an allow-everything filter does not.
fn seccomp_line(facts: &Facts, probes: &Probes) -> Line {
    let installed = facts.status.seccomp.mode != SeccompMode::Disabled;
    let refused = match probes.keyctl {
        Outcome::Denied(Errno::EOPNOTSUPP) | Outcome::Allowed => Some(false),
        Outcome::Denied(Errno::ENOSYS) if !probes.kernel_has_keyrings => None,
        Outcome::Denied(_) | Outcome::Killed(_) => Some(true),
    };
    let state = seccomp(facts);
    let (holds, value) = match (installed, refused) {
        (false, _) => (false, state),
        (true, Some(true)) => (true, format!("{state}, refuses keyctl")),
        (true, Some(false)) => (
            false,
            format!(
                "{state}, unverified: it lets keyctl through ({})",
                outcome(probes.keyctl)
            ),
        ),
        (true, None) => (
            false,
            format!("{state}, unverified: the kernel has no keyrings to try it with"),
        ),
    };
    line("seccomp", Some((Expectation::Seccomp, holds)), value)
}

/// Creating a file in / must be refused by something the kernel's own state explains: a
/// read-only mount (mountinfo), the modes of / (stat), or a Landlock domain proven to
/// restrict. Any other refusal may be a filter's answer: unverified.
fn root_create_line(facts: &Facts, probes: &Probes) -> Line {
    let label = "create a file in /";
    let check = |holds| Some((Expectation::ReadOnlyRoot, holds));
    let by_modes = probes
        .root_dir
        .is_some_and(|owner| !modes_allow(owner, &facts.status, 0o3));
    let (holds, value) = match probes.create_in_root {
        Outcome::Allowed => (false, "yes".to_string()),
        Outcome::Denied(Errno::EROFS) if probes.root_mount_read_only == Some(true) => {
            (true, "no (EROFS, a read-only mount)".to_string())
        }
        Outcome::Denied(Errno::EACCES) if by_modes && facts.landlock.restricted == Some(true) => {
            (true, "no (EACCES, file permissions; also in a Landlock domain)".to_string())
        }
        Outcome::Denied(Errno::EACCES) if by_modes => {
            (true, "no (EACCES, by file permissions only)".to_string())
        }
        Outcome::Denied(Errno::EACCES) if facts.landlock.restricted == Some(true) => {
            (true, "no (EACCES, Landlock)".to_string())
        }
        other => (
            false,
            format!(
                "unverified: {} (neither a read-only mount, the modes of / nor a proven Landlock domain explain it)",
                outcome(other)
            ),
        ),
    };
    line(label, check(holds), value)
}

/// Every way to make a user namespace: unshare, clone and clone3 (a filter can refuse one
/// and let another through).
fn user_namespace_lines(probes: &Probes) -> [Line; 3] {
    let each = |label: &str, o: Outcome| {
        line(
            label,
            Some((Expectation::NoUserns, !o.allowed())),
            outcome(o),
        )
    };
    [
        each("new user namespace", probes.unshare_user_namespace),
        each("clone a user namespace", probes.clone_user_namespace),
        each("clone3 a user namespace", probes.clone3_user_namespace),
    ]
}

fn user_namespaces_refused(probes: &Probes) -> bool {
    !probes.unshare_user_namespace.allowed()
        && !probes.clone_user_namespace.allowed()
        && !probes.clone3_user_namespace.allowed()
}

/// A refused mount counts only when the kernel's state explains it: no CAP_SYS_ADMIN
/// (/proc/self/status) and no user namespace to get it in. Otherwise the refusal may be a
/// filter's answer to one call while others (fsopen, open_tree, ...) still work.
fn mount_line(facts: &Facts, probes: &Probes) -> Line {
    let label = "mount a tmpfs";
    let check = |holds| Some((Expectation::NoMount, holds));
    if probes.mount.allowed() {
        return line(label, check(false), "yes".into());
    }
    let admin = facts.status.capabilities.effective & CAP_SYS_ADMIN != 0;
    let value = outcome(probes.mount);
    if admin {
        line(
            label,
            check(false),
            format!("unverified: {value}, yet the process holds CAP_SYS_ADMIN"),
        )
    } else if !user_namespaces_refused(probes) {
        line(
            label,
            check(false),
            format!("unverified: {value}, yet a user namespace (where it holds CAP_SYS_ADMIN) can be made"),
        )
    } else {
        line(label, check(true), value)
    }
}

/// One line per container-runtime socket found; connecting to one is control of the host.
/// A refusal counts when the socket's modes explain it or the daemon is gone; any other
/// (EPERM, a kill) may be a filter's answer to connect alone.
fn runtime_socket_lines(facts: &Facts, probes: &Probes) -> Vec<Line> {
    let check = |holds| Some((Expectation::NoRuntimeSocket, holds));
    if probes.runtime_sockets.is_empty() {
        return vec![line("runtime sockets", check(true), "none found".into())];
    }
    probes
        .runtime_sockets
        .iter()
        .map(|s| {
            let label = format!("connect {}", s.path);
            let by_modes = !modes_allow(s.owner, &facts.status, 0o2);
            match s.connect {
                Outcome::Allowed => line(label, check(false), "yes".into()),
                Outcome::Denied(Errno::EACCES) if by_modes => line(
                    label,
                    check(true),
                    "no (EACCES, by file permissions)".into(),
                ),
                Outcome::Denied(Errno::ECONNREFUSED) => line(
                    label,
                    check(true),
                    "no (ECONNREFUSED, nothing listens)".into(),
                ),
                other => line(
                    label,
                    check(false),
                    format!(
                        "unverified: {} (the socket's modes allow it)",
                        outcome(other)
                    ),
                ),
            }
        })
        .collect()
}

fn capability_lines(caps: &Capabilities) -> [Line; 5] {
    let set = |label: &str, mask: u64| {
        line(
            format!("{label} capabilities"),
            Some((Expectation::NoCaps, mask == 0)),
            capabilities(mask, caps.last_cap),
        )
    };
    [
        set("bounding", caps.bounding),
        set("permitted", caps.permitted),
        set("effective", caps.effective),
        set("inheritable", caps.inheritable),
        set("ambient", caps.ambient),
    ]
}

fn ids(ids: &Ids) -> String {
    format!("{} {} {}", ids.real, ids.effective, ids.saved)
}

fn groups(groups: &[u32]) -> String {
    if groups.is_empty() {
        return "none".into();
    }
    let names: Vec<String> = groups.iter().map(u32::to_string).collect();
    names.join(" ")
}

/// Every capability the kernel has is "all N": 41 names on one line help nobody.
fn capabilities(mask: u64, last_cap: u8) -> String {
    if mask == 0 {
        "none".into()
    } else if mask == all_caps(last_cap) {
        format!("all {}", u32::from(last_cap) + 1)
    } else {
        cap_names(mask).join(" ")
    }
}

fn seccomp(facts: &Facts) -> String {
    match (facts.status.seccomp.mode, facts.status.seccomp.filters) {
        (SeccompMode::Disabled, _) => "disabled".into(),
        (SeccompMode::Strict, _) => "strict".into(),
        (SeccompMode::Filter, Some(1)) => "filter (1 filter)".into(),
        (SeccompMode::Filter, Some(n)) => format!("filter ({n} filters)"),
        (SeccompMode::Filter, None) => "filter".into(),
    }
}

fn landlock(state: &Landlock) -> String {
    let abi = state.abi.map_or_else(String::new, |abi| {
        format!(", kernel ABI {abi}{}", abi_gaps(abi))
    });
    match (state.restricted, state.layers) {
        (Some(true), Some(1)) => format!("restricted (1 layer{abi})"),
        (Some(true), Some(n)) => format!("restricted ({n} layers{abi})"),
        (Some(false), _) => format!("not restricted (kernel ABI {})", state.abi.unwrap_or(0)),
        _ => format!(
            "unknown ({}{abi})",
            state.error.as_deref().unwrap_or("no answer")
        ),
    }
}

/// What a domain of this ABI cannot deny, whatever its ruleset: said next to the ABI so that a
/// "restricted" on an older kernel is not read as the newest kernel's guarantee.
fn abi_gaps(abi: u32) -> &'static str {
    match abi {
        0..=2 => ": no truncate right, signals not scoped",
        3..=5 => ": signals not scoped",
        _ => "",
    }
}

fn securebits(read: &Result<Securebits, Errno>) -> String {
    let value = match read {
        Ok(bits) => bits.value,
        Err(e) => return unreadable(*e),
    };
    let names = super::facts::securebit_names(value);
    if names.is_empty() {
        format!("{value:#x}")
    } else {
        format!("{value:#x} ({})", names.join(" "))
    }
}

fn limit(limit: Limit) -> String {
    let value = |v: Option<u64>| v.map_or_else(|| "unlimited".into(), |v| v.to_string());
    format!("soft {}, hard {}", value(limit.soft), value(limit.hard))
}

fn dumpable(read: Result<u32, Errno>) -> String {
    match read {
        Ok(0) => "no (0)".into(),
        Ok(1) => "yes (1)".into(),
        Ok(2) => "root only (2)".into(),
        Ok(n) => format!("{n}"),
        Err(e) => unreadable(e),
    }
}

/// A fact prctl would not give (a seccomp filter denies it).
fn unreadable(e: Errno) -> String {
    format!("unknown (prctl: {e:?})")
}

fn outcome(outcome: Outcome) -> String {
    match outcome {
        Outcome::Allowed => "yes".into(),
        Outcome::Denied(errno) => format!("no ({errno:?})"),
        Outcome::Killed(signal) => format!("no (killed by {})", signal_name(signal)),
    }
}

/// Whether every line that belongs to `expectation` meets it.
pub fn holds(lines: &[Line], expectation: Expectation) -> bool {
    failing(lines, expectation).next().is_none()
}

/// The lines of `expectation` that do not meet it.
pub fn failing(lines: &[Line], expectation: Expectation) -> impl Iterator<Item = &Line> {
    lines
        .iter()
        .filter(move |l| l.check == Some((expectation, false)))
}

/// The stderr line naming a failed expectation and the facts that fail it.
pub fn failure_message(lines: &[Line], expectation: Expectation) -> String {
    let labels: Vec<&str> = failing(lines, expectation)
        .map(|l| l.label.as_str())
        .collect();
    format!(
        "hardinit: expectation not met: {} ({})",
        expectation.name(),
        labels.join(", ")
    )
}

/// One line per fact: ✓/✗ (blank for facts no expectation covers), the fact, the
/// expectation it belongs to, the value.
pub fn write_human(out: &mut dyn Write, lines: &[Line]) -> io::Result<()> {
    let label_width = lines.iter().map(|l| l.label.len()).max().unwrap_or(0);
    let name_width = Expectation::ALL
        .iter()
        .map(|e| e.name().len())
        .max()
        .unwrap_or(0);
    for l in lines {
        let (mark, name) = match l.check {
            Some((e, true)) => ("✓", e.name()),
            Some((e, false)) => ("✗", e.name()),
            None => (" ", ""),
        };
        writeln!(
            out,
            "{mark} {:<label_width$}  {name:<name_width$}  {}",
            l.label, l.value
        )?;
    }
    Ok(())
}

/// The JSON report: the facts, `probes`, and every expectation's verdict.
#[derive(Serialize)]
struct JsonReport<'a> {
    #[serde(flatten)]
    facts: &'a Facts,
    probes: &'a Probes,
    expectations: Verdicts<'a>,
}

/// `{"non-root": bool, ...}` in the order of `Expectation::ALL`.
struct Verdicts<'a>(&'a [Line]);

impl Serialize for Verdicts<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(Expectation::ALL.len()))?;
        for e in Expectation::ALL {
            map.serialize_entry(e.name(), &holds(self.0, e))?;
        }
        map.end()
    }
}

pub fn write_json(
    out: &mut dyn Write,
    facts: &Facts,
    probes: &Probes,
    lines: &[Line],
) -> io::Result<()> {
    let report = JsonReport {
        facts,
        probes,
        expectations: Verdicts(lines),
    };
    serde_json::to_writer_pretty(&mut *out, &report)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::facts::{Rlimits, Seccomp, Status};
    use crate::inspect::probes::SocketProbe;

    fn root_facts() -> Facts {
        let all = all_caps(40);
        let zero = Ids {
            real: 0,
            effective: 0,
            saved: 0,
        };
        let unlimited = Limit {
            soft: None,
            hard: None,
        };
        Facts {
            status: Status {
                uid: zero,
                gid: zero,
                groups: vec![0, 1],
                capabilities: Capabilities {
                    bounding: all,
                    permitted: all,
                    effective: all,
                    inheritable: 0,
                    ambient: 0,
                    last_cap: 40,
                },
                no_new_privs: false,
                seccomp: Seccomp {
                    mode: SeccompMode::Disabled,
                    filters: Some(0),
                },
            },
            landlock: Landlock {
                abi: Some(7),
                restricted: Some(false),
                layers: Some(0),
                error: None,
            },
            securebits: Ok(Securebits { value: 0, flags: 0 }),
            rlimits: Rlimits {
                nofile: Limit {
                    soft: Some(1024),
                    hard: Some(4096),
                },
                nproc: unlimited,
                core: Limit {
                    soft: Some(0),
                    hard: None,
                },
            },
            dumpable: Ok(1),
        }
    }

    fn hardened_facts() -> Facts {
        let nobody = Ids {
            real: 65534,
            effective: 65534,
            saved: 65534,
        };
        let mut f = root_facts();
        f.status.uid = nobody;
        f.status.gid = nobody;
        f.status.groups = vec![];
        f.status.capabilities = Capabilities {
            bounding: 0,
            permitted: 0,
            effective: 0,
            inheritable: 0,
            ambient: 0,
            last_cap: 40,
        };
        f.status.no_new_privs = true;
        f.status.seccomp = Seccomp {
            mode: SeccompMode::Filter,
            filters: Some(1),
        };
        f.landlock = Landlock {
            abi: Some(7),
            restricted: Some(true),
            layers: Some(1),
            error: None,
        };
        f.securebits = Ok(Securebits {
            value: 0x14,
            flags: 0x14,
        });
        f.dumpable = Ok(0);
        f
    }

    const ROOT_OWNED: FileOwner = FileOwner {
        uid: 0,
        gid: 0,
        mode: 0o40755,
    };

    fn probes(all: Outcome) -> Probes {
        Probes {
            create_in_root: all,
            create_in_tmp: all,
            bind_privileged_port: all,
            unshare_user_namespace: all,
            clone_user_namespace: all,
            clone3_user_namespace: all,
            mount: all,
            signal_pid1: all,
            keyctl: all,
            runtime_sockets: vec![SocketProbe {
                path: "/run/docker.sock".into(),
                connect: all,
                owner: FileOwner {
                    uid: 0,
                    gid: 999,
                    mode: 0o140660,
                },
            }],
            root_dir: Some(ROOT_OWNED),
            root_mount_read_only: Some(false),
            kernel_has_keyrings: true,
        }
    }

    /// What the full hardening gives: every probe refused, / and the socket by their modes.
    fn hardened_probes() -> Probes {
        let mut p = probes(Outcome::Denied(Errno::EPERM));
        p.create_in_root = Outcome::Denied(Errno::EACCES);
        p.runtime_sockets[0].connect = Outcome::Denied(Errno::EACCES);
        p
    }

    /// The line labelled `label`.
    fn find(lines: &[Line], label: &str) -> Line {
        lines.iter().find(|l| l.label == label).unwrap().clone()
    }

    #[test]
    fn a_filter_that_fakes_answers_proves_nothing() {
        let f = hardened_facts();
        // EPERM for the create in / where root's modes would refuse with EACCES: a filter.
        let mut p = hardened_probes();
        p.create_in_root = Outcome::Denied(Errno::EPERM);
        p.keyctl = Outcome::Denied(Errno::EOPNOTSUPP);
        p.runtime_sockets[0].owner.mode = 0o140666;
        p.runtime_sockets[0].connect = Outcome::Denied(Errno::EPERM);
        let l = lines(&f, &p);
        assert_eq!(
            find(&l, "create a file in /"),
            line(
                "create a file in /",
                Some((Expectation::ReadOnlyRoot, false)),
                "unverified: no (EPERM) (neither a read-only mount, the modes of / nor a proven Landlock domain explain it)".into()
            )
        );
        assert_eq!(
            find(&l, "seccomp"),
            line(
                "seccomp",
                Some((Expectation::Seccomp, false)),
                "filter (1 filter), unverified: it lets keyctl through (no (EOPNOTSUPP))".into()
            )
        );
        assert_eq!(
            find(&l, "connect /run/docker.sock").value,
            "unverified: no (EPERM) (the socket's modes allow it)"
        );
        // A mount refused while the process holds CAP_SYS_ADMIN, or can get it in a user
        // namespace that clone3 still makes.
        let mut admin = hardened_facts();
        admin.status.capabilities.effective = CAP_SYS_ADMIN;
        assert_eq!(
            find(&lines(&admin, &hardened_probes()), "mount a tmpfs").value,
            "unverified: no (EPERM), yet the process holds CAP_SYS_ADMIN"
        );
        let mut p = hardened_probes();
        p.clone3_user_namespace = Outcome::Allowed;
        let l = lines(&f, &p);
        assert_eq!(
            find(&l, "mount a tmpfs").check,
            Some((Expectation::NoMount, false))
        );
        assert!(!holds(&l, Expectation::NoUserns));
        // Without keyrings in the kernel, ENOSYS is no proof either.
        let mut p = hardened_probes();
        p.keyctl = Outcome::Denied(Errno::ENOSYS);
        p.kernel_has_keyrings = false;
        assert!(!holds(&lines(&f, &p), Expectation::Seccomp));
    }

    #[test]
    fn read_only_root_names_what_refuses() {
        let mut root = root_facts();
        root.status.capabilities.effective = 0;
        let mut p = hardened_probes();
        p.create_in_root = Outcome::Denied(Errno::EROFS);
        p.root_mount_read_only = Some(true);
        assert_eq!(
            find(&lines(&root, &p), "create a file in /").value,
            "no (EROFS, a read-only mount)"
        );
        // Root owns /: only Landlock can have refused, and it is proven.
        root.landlock.restricted = Some(true);
        root.landlock.layers = Some(1);
        p.create_in_root = Outcome::Denied(Errno::EACCES);
        assert_eq!(
            find(&lines(&root, &p), "create a file in /").value,
            "no (EACCES, Landlock)"
        );
        let mut nobody = hardened_facts();
        nobody.landlock.restricted = Some(false);
        assert_eq!(
            find(&lines(&nobody, &p), "create a file in /").value,
            "no (EACCES, by file permissions only)"
        );
    }

    #[test]
    fn no_runtime_socket_found_holds() {
        let mut p = hardened_probes();
        p.runtime_sockets.clear();
        let l = lines(&hardened_facts(), &p);
        assert_eq!(
            find(&l, "runtime sockets"),
            line(
                "runtime sockets",
                Some((Expectation::NoRuntimeSocket, true)),
                "none found".into()
            )
        );
    }

    fn human(facts: &Facts, probes: &Probes) -> String {
        let mut out = Vec::new();
        write_human(&mut out, &lines(facts, probes)).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn root_renders_every_hardened_fact_as_failing() {
        assert_eq!(
            human(&root_facts(), &probes(Outcome::Allowed)),
            "\
✗ uid real/effective/saved  non-root           0 0 0
✗ gid real/effective/saved  non-root           0 0 0
✗ supplementary groups      non-root           0 1
✗ bounding capabilities     no-caps            all 41
✗ permitted capabilities    no-caps            all 41
✗ effective capabilities    no-caps            all 41
✓ inheritable capabilities  no-caps            none
✓ ambient capabilities      no-caps            none
✗ no_new_privs              no-new-privs       not set
✗ seccomp                   seccomp            disabled
✗ landlock                  landlock           not restricted (kernel ABI 7)
  securebits                                   0x0
  rlimit nofile                                soft 1024, hard 4096
  rlimit nproc                                 soft unlimited, hard unlimited
  rlimit core                                  soft 0, hard unlimited
  dumpable                                     yes (1)
✗ create a file in /        read-only-root     yes
  create a file in /tmp                        yes
  bind 127.0.0.1:1                             yes
✗ new user namespace        no-userns          yes
✗ clone a user namespace    no-userns          yes
✗ clone3 a user namespace   no-userns          yes
✗ mount a tmpfs             no-mount           yes
  signal PID 1                                 yes
✗ connect /run/docker.sock  no-runtime-socket  yes
"
        );
    }

    #[test]
    fn hardened_renders_every_hardened_fact_as_holding() {
        let mut p = probes(Outcome::Denied(Errno::EPERM));
        p.create_in_root = Outcome::Denied(Errno::EACCES);
        p.create_in_tmp = Outcome::Allowed;
        p.mount = Outcome::Killed(libc::SIGSYS);
        p.runtime_sockets[0].connect = Outcome::Denied(Errno::EACCES);
        let text = human(&hardened_facts(), &p);
        let expected = [
            "✓ uid real/effective/saved  non-root           65534 65534 65534",
            "✓ gid real/effective/saved  non-root           65534 65534 65534",
            "✓ supplementary groups      non-root           none",
            "✓ bounding capabilities     no-caps            none",
            "✓ permitted capabilities    no-caps            none",
            "✓ effective capabilities    no-caps            none",
            "✓ inheritable capabilities  no-caps            none",
            "✓ ambient capabilities      no-caps            none",
            "✓ no_new_privs              no-new-privs       set",
            "✓ seccomp                   seccomp            filter (1 filter), refuses keyctl",
            "✓ landlock                  landlock           restricted (1 layer, kernel ABI 7)",
            "  securebits                                   0x14 (SECBIT_NO_SETUID_FIXUP SECBIT_KEEP_CAPS)",
            "  rlimit nofile                                soft 1024, hard 4096",
            "  rlimit nproc                                 soft unlimited, hard unlimited",
            "  rlimit core                                  soft 0, hard unlimited",
            "  dumpable                                     no (0)",
            "✓ create a file in /        read-only-root     no (EACCES, file permissions; also in a Landlock domain)",
            "  create a file in /tmp                        yes",
            "  bind 127.0.0.1:1                             no (EPERM)",
            "✓ new user namespace        no-userns          no (EPERM)",
            "✓ clone a user namespace    no-userns          no (EPERM)",
            "✓ clone3 a user namespace   no-userns          no (EPERM)",
            "✓ mount a tmpfs             no-mount           no (killed by SIGSYS)",
            "  signal PID 1                                 no (EPERM)",
            "✓ connect /run/docker.sock  no-runtime-socket  no (EACCES, by file permissions)",
        ];
        assert_eq!(text.lines().collect::<Vec<_>>(), expected);
    }

    #[test]
    fn verdicts_and_failure_messages_follow_the_lines() {
        let l = lines(&root_facts(), &probes(Outcome::Allowed));
        let verdicts: Vec<bool> = Expectation::ALL.iter().map(|&e| holds(&l, e)).collect();
        assert_eq!(verdicts, [false; 9]);
        assert_eq!(
            failure_message(&l, Expectation::NoCaps),
            "hardinit: expectation not met: no-caps (bounding capabilities, permitted capabilities, effective capabilities)"
        );
        let l = lines(&hardened_facts(), &hardened_probes());
        assert!(Expectation::ALL.iter().all(|&e| holds(&l, e)));
    }

    #[test]
    fn an_older_landlock_abi_says_what_it_cannot_deny() {
        let text = |abi| {
            landlock(&Landlock {
                abi: Some(abi),
                restricted: Some(true),
                layers: Some(1),
                error: None,
            })
        };
        assert_eq!(
            text(2),
            "restricted (1 layer, kernel ABI 2: no truncate right, signals not scoped)"
        );
        assert_eq!(
            text(5),
            "restricted (1 layer, kernel ABI 5: signals not scoped)"
        );
        assert_eq!(text(6), "restricted (1 layer, kernel ABI 6)");
        assert_eq!(text(7), "restricted (1 layer, kernel ABI 7)");
    }

    #[test]
    fn unknown_landlock_state_fails_and_says_why() {
        let mut f = hardened_facts();
        f.landlock = Landlock {
            abi: None,
            restricted: None,
            layers: None,
            error: Some("landlock_create_ruleset: ENOSYS".into()),
        };
        let l = lines(&f, &probes(Outcome::Denied(Errno::EPERM)));
        let landlock = l.iter().find(|l| l.label == "landlock").unwrap();
        assert_eq!(
            landlock,
            &line(
                "landlock",
                Some((Expectation::Landlock, false)),
                "unknown (landlock_create_ruleset: ENOSYS)".into()
            )
        );
    }

    #[test]
    fn json_holds_facts_probes_and_verdicts() {
        let f = hardened_facts();
        let p = hardened_probes();
        let mut out = Vec::new();
        write_json(&mut out, &f, &p, &lines(&f, &p)).unwrap();
        let denied = serde_json::json!({"allowed": false, "error": "EPERM"});
        let nobody = serde_json::json!({"real": 65534, "effective": 65534, "saved": 65534});
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&out).unwrap(),
            serde_json::json!({
                "uid": nobody,
                "gid": nobody,
                "groups": [],
                "capabilities": {
                    "bounding": [], "permitted": [], "effective": [],
                    "inheritable": [], "ambient": []
                },
                "no_new_privs": true,
                "seccomp": {"mode": "filter", "filters": 1},
                "landlock": {"abi": 7, "restricted": true, "layers": 1, "error": null},
                "securebits": {"value": 20, "flags": ["SECBIT_NO_SETUID_FIXUP", "SECBIT_KEEP_CAPS"]},
                "rlimits": {
                    "nofile": {"soft": 1024, "hard": 4096},
                    "nproc": {"soft": null, "hard": null},
                    "core": {"soft": 0, "hard": null}
                },
                "dumpable": 0,
                "probes": {
                    "create_in_root": {"allowed": false, "error": "EACCES"},
                    "create_in_tmp": denied,
                    "bind_privileged_port": denied,
                    "unshare_user_namespace": denied,
                    "clone_user_namespace": denied,
                    "clone3_user_namespace": denied,
                    "mount": denied,
                    "signal_pid1": denied,
                    "keyctl": denied,
                    "runtime_sockets": [
                        {"path": "/run/docker.sock", "allowed": false, "error": "EACCES"}
                    ]
                },
                "expectations": {
                    "non-root": true, "no-caps": true, "no-new-privs": true, "seccomp": true,
                    "read-only-root": true, "no-userns": true, "no-mount": true, "landlock": true,
                    "no-runtime-socket": true
                }
            })
        );
    }
}

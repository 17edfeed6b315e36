//! Facts and probes as report lines, each checked against the hardened expectation it
//! belongs to; the lines decide every verdict, so the ✓/✗ column, the JSON `expectations`
//! and the exit status cannot disagree.

use std::io::{self, Write};

use nix::errno::Errno;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use super::facts::{
    signal_name, Capabilities, Facts, Ids, Landlock, Limit, SeccompMode, Securebits,
};
use super::probes::{Outcome, Probes, PRIVILEGED_PORT};
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
        line(
            "seccomp",
            Some((Seccomp, facts.status.seccomp.mode != SeccompMode::Disabled)),
            seccomp(facts),
        ),
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
        line(
            "create a file in /",
            Some((ReadOnlyRoot, !probes.create_in_root.allowed())),
            outcome(probes.create_in_root),
        ),
        line("create a file in /tmp", None, outcome(probes.create_in_tmp)),
        line(
            format!("bind 127.0.0.1:{PRIVILEGED_PORT}"),
            None,
            outcome(probes.bind_privileged_port),
        ),
        line(
            "new user namespace",
            Some((NoUserns, !probes.unshare_user_namespace.allowed())),
            outcome(probes.unshare_user_namespace),
        ),
        line(
            "mount a tmpfs",
            Some((NoMount, !probes.mount.allowed())),
            outcome(probes.mount),
        ),
        line("signal PID 1", None, outcome(probes.signal_pid1)),
    ]);
    out
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

    fn probes(all: Outcome) -> Probes {
        Probes {
            create_in_root: all,
            create_in_tmp: all,
            bind_privileged_port: all,
            unshare_user_namespace: all,
            mount: all,
            signal_pid1: all,
        }
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
✗ uid real/effective/saved  non-root        0 0 0
✗ gid real/effective/saved  non-root        0 0 0
✗ supplementary groups      non-root        0 1
✗ bounding capabilities     no-caps         all 41
✗ permitted capabilities    no-caps         all 41
✗ effective capabilities    no-caps         all 41
✓ inheritable capabilities  no-caps         none
✓ ambient capabilities      no-caps         none
✗ no_new_privs              no-new-privs    not set
✗ seccomp                   seccomp         disabled
✗ landlock                  landlock        not restricted (kernel ABI 7)
  securebits                                0x0
  rlimit nofile                             soft 1024, hard 4096
  rlimit nproc                              soft unlimited, hard unlimited
  rlimit core                               soft 0, hard unlimited
  dumpable                                  yes (1)
✗ create a file in /        read-only-root  yes
  create a file in /tmp                     yes
  bind 127.0.0.1:1                          yes
✗ new user namespace        no-userns       yes
✗ mount a tmpfs             no-mount        yes
  signal PID 1                              yes
"
        );
    }

    #[test]
    fn hardened_renders_every_hardened_fact_as_holding() {
        let mut p = probes(Outcome::Denied(Errno::EPERM));
        p.create_in_root = Outcome::Denied(Errno::EACCES);
        p.create_in_tmp = Outcome::Allowed;
        p.mount = Outcome::Killed(libc::SIGSYS);
        let text = human(&hardened_facts(), &p);
        let expected = [
            "✓ uid real/effective/saved  non-root        65534 65534 65534",
            "✓ gid real/effective/saved  non-root        65534 65534 65534",
            "✓ supplementary groups      non-root        none",
            "✓ bounding capabilities     no-caps         none",
            "✓ permitted capabilities    no-caps         none",
            "✓ effective capabilities    no-caps         none",
            "✓ inheritable capabilities  no-caps         none",
            "✓ ambient capabilities      no-caps         none",
            "✓ no_new_privs              no-new-privs    set",
            "✓ seccomp                   seccomp         filter (1 filter)",
            "✓ landlock                  landlock        restricted (1 layer, kernel ABI 7)",
            "  securebits                                0x14 (SECBIT_NO_SETUID_FIXUP SECBIT_KEEP_CAPS)",
            "  rlimit nofile                             soft 1024, hard 4096",
            "  rlimit nproc                              soft unlimited, hard unlimited",
            "  rlimit core                               soft 0, hard unlimited",
            "  dumpable                                  no (0)",
            "✓ create a file in /        read-only-root  no (EACCES)",
            "  create a file in /tmp                     yes",
            "  bind 127.0.0.1:1                          no (EPERM)",
            "✓ new user namespace        no-userns       no (EPERM)",
            "✓ mount a tmpfs             no-mount        no (killed by SIGSYS)",
            "  signal PID 1                              no (EPERM)",
        ];
        assert_eq!(text.lines().collect::<Vec<_>>(), expected);
    }

    #[test]
    fn verdicts_and_failure_messages_follow_the_lines() {
        let l = lines(&root_facts(), &probes(Outcome::Allowed));
        let verdicts: Vec<bool> = Expectation::ALL.iter().map(|&e| holds(&l, e)).collect();
        assert_eq!(verdicts, [false; 8]);
        assert_eq!(
            failure_message(&l, Expectation::NoCaps),
            "hardinit: expectation not met: no-caps (bounding capabilities, permitted capabilities, effective capabilities)"
        );
        let l = lines(&hardened_facts(), &probes(Outcome::Denied(Errno::EPERM)));
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
        let p = probes(Outcome::Denied(Errno::EPERM));
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
                    "create_in_root": denied,
                    "create_in_tmp": denied,
                    "bind_privileged_port": denied,
                    "unshare_user_namespace": denied,
                    "mount": denied,
                    "signal_pid1": denied
                },
                "expectations": {
                    "non-root": true, "no-caps": true, "no-new-privs": true, "seccomp": true,
                    "read-only-root": true, "no-userns": true, "no-mount": true, "landlock": true
                }
            })
        );
    }
}

//! The hardening state the process holds, read from the kernel. Everything here only reads,
//! except the Landlock layer count, which stacks layers in a throw-away child.

use std::os::fd::AsFd;

use nix::errno::Errno;
use nix::sys::resource::{getrlimit, Resource};
use serde::{Serialize, Serializer};

use super::probes::{in_child, ProbeEnd};
use super::InspectError;
use crate::kernel::cap_names;
use crate::sys;

/// Everything `--inspect` reads; the field names are the JSON names (docs/inspect.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Facts {
    #[serde(flatten)]
    pub status: Status,
    pub landlock: Landlock,
    /// PR_GET_SECUREBITS; JSON null when a seccomp filter denies prctl.
    #[serde(serialize_with = "ok_or_null")]
    pub securebits: Result<Securebits, Errno>,
    pub rlimits: Rlimits,
    /// PR_GET_DUMPABLE: 0 no, 1 yes, 2 readable by root only; JSON null when denied.
    #[serde(serialize_with = "ok_or_null")]
    pub dumpable: Result<u32, Errno>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Ids {
    pub real: u32,
    pub effective: u32,
    pub saved: u32,
}

impl Ids {
    pub fn any_is_zero(&self) -> bool {
        self.real == 0 || self.effective == 0 || self.saved == 0
    }
}

/// The five capability sets as masks (bit N = capability N); JSON shows `CAP_*` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    #[serde(serialize_with = "names")]
    pub bounding: u64,
    #[serde(serialize_with = "names")]
    pub permitted: u64,
    #[serde(serialize_with = "names")]
    pub effective: u64,
    #[serde(serialize_with = "names")]
    pub inheritable: u64,
    #[serde(serialize_with = "names")]
    pub ambient: u64,
    /// The kernel's highest capability, to say "all" instead of listing every name.
    #[serde(skip)]
    pub last_cap: u8,
}

fn ok_or_null<T: Serialize, S: Serializer>(
    value: &Result<T, Errno>,
    s: S,
) -> Result<S::Ok, S::Error> {
    value.as_ref().ok().serialize(s)
}

fn names<S: Serializer>(set: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(cap_names(*set))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SeccompMode {
    Disabled,
    Strict,
    Filter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Seccomp {
    pub mode: SeccompMode,
    /// `Seccomp_filters` of /proc/self/status (Linux 5.9+); `None` without it.
    pub filters: Option<u32>,
}

/// Landlock state. The kernel offers no query for "is this process restricted": it is
/// inferred from how many more layers a child can stack before the kernel's limit of 16.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Landlock {
    pub abi: Option<u32>,
    pub restricted: Option<bool>,
    pub layers: Option<u32>,
    /// Why the state is unknown (`restricted` is then `None`).
    pub error: Option<String>,
}

/// The kernel's LANDLOCK_MAX_NUM_LAYERS.
const LANDLOCK_MAX_LAYERS: u8 = 16;
/// Where the layer count stops, so a kernel with a higher limit is noticed, not looped on.
const LANDLOCK_COUNT_LIMIT: u8 = 64;
/// LANDLOCK_ACCESS_FS_READ_DIR: any handled right makes a layer; this one exists in ABI 1,
/// and a layer that handles it with no rule refuses to open `/`, which proves the layer.
const LANDLOCK_ACCESS_FS_READ_DIR: u64 = 1 << 3;
/// `count_free_layers`'s answers that are no count (below 128, the probe's exit code).
const LAYERS_FAKED: u8 = 100;
const LAYERS_FULL_AT_ONCE: u8 = 101;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Securebits {
    pub value: u32,
    #[serde(serialize_with = "securebit_names_of")]
    pub flags: u32,
}

fn securebit_names_of<S: Serializer>(bits: &u32, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(securebit_names(*bits))
}

/// linux/securebits.h, by bit number.
const SECUREBITS: [&str; 12] = [
    "SECBIT_NOROOT",
    "SECBIT_NOROOT_LOCKED",
    "SECBIT_NO_SETUID_FIXUP",
    "SECBIT_NO_SETUID_FIXUP_LOCKED",
    "SECBIT_KEEP_CAPS",
    "SECBIT_KEEP_CAPS_LOCKED",
    "SECBIT_NO_CAP_AMBIENT_RAISE",
    "SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED",
    "SECBIT_EXEC_RESTRICT_FILE",
    "SECBIT_EXEC_RESTRICT_FILE_LOCKED",
    "SECBIT_EXEC_DENY_INTERACTIVE",
    "SECBIT_EXEC_DENY_INTERACTIVE_LOCKED",
];

/// The names of the set bits; a bit newer than this table prints as `SECBIT_N`.
pub fn securebit_names(bits: u32) -> Vec<String> {
    (0..32usize)
        .filter(|&i| bits & (1 << i) != 0)
        .map(|i| {
            SECUREBITS
                .get(i)
                .map_or_else(|| format!("SECBIT_{i}"), |n| n.to_string())
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rlimits {
    pub nofile: Limit,
    pub nproc: Limit,
    pub core: Limit,
}

/// `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limit {
    pub soft: Option<u64>,
    pub hard: Option<u64>,
}

/// Reads every fact about the calling process. Ids, groups, capabilities, no_new_privs and
/// seccomp come from /proc/self/status: reading a file is allowed by every seccomp profile a
/// program can live with, while getresuid, capget or prctl may be denied (the Node profile
/// denies several).
pub fn read() -> Result<Facts, InspectError> {
    let text = std::fs::read_to_string(STATUS).map_err(InspectError::ReadStatus)?;
    Ok(Facts {
        status: parse_status(&text, sys::last_cap())?,
        landlock: read_landlock()?,
        securebits: sys::securebits().map(|bits| Securebits {
            value: bits,
            flags: bits,
        }),
        rlimits: Rlimits {
            nofile: read_limit("nofile", Resource::RLIMIT_NOFILE)?,
            nproc: read_limit("nproc", Resource::RLIMIT_NPROC)?,
            core: read_limit("core", Resource::RLIMIT_CORE)?,
        },
        dumpable: nix::sys::prctl::get_dumpable().map(u32::from),
    })
}

/// The facts /proc/self/status holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    pub uid: Ids,
    pub gid: Ids,
    pub groups: Vec<u32>,
    pub capabilities: Capabilities,
    pub no_new_privs: bool,
    pub seccomp: Seccomp,
}

/// Parses a /proc/PID/status text; `last_cap` is the kernel's highest capability.
pub fn parse_status(status: &str, last_cap: u8) -> Result<Status, InspectError> {
    let field = |name: &'static str| {
        status_field(status, name).ok_or(InspectError::ParseStatus { field: name })
    };
    let parsed = |name: &'static str, radix: u32| -> Result<Vec<u64>, InspectError> {
        numbers(field(name)?, radix).ok_or(InspectError::ParseStatus { field: name })
    };
    let single = |name: &'static str, radix: u32| match parsed(name, radix)?[..] {
        [value] => Ok(value),
        _ => Err(InspectError::ParseStatus { field: name }),
    };
    let ids = |name: &'static str| match parsed(name, 10)?[..] {
        [real, effective, saved, _fs] => Ok(Ids {
            real: real as u32,
            effective: effective as u32,
            saved: saved as u32,
        }),
        _ => Err(InspectError::ParseStatus { field: name }),
    };
    Ok(Status {
        uid: ids("Uid")?,
        gid: ids("Gid")?,
        groups: parsed("Groups", 10)?
            .into_iter()
            .map(|g| g as u32)
            .collect(),
        capabilities: Capabilities {
            bounding: single("CapBnd", 16)?,
            permitted: single("CapPrm", 16)?,
            effective: single("CapEff", 16)?,
            inheritable: single("CapInh", 16)?,
            ambient: single("CapAmb", 16)?,
            last_cap,
        },
        no_new_privs: single("NoNewPrivs", 10)? == 1,
        seccomp: Seccomp {
            mode: match single("Seccomp", 10)? {
                0 => SeccompMode::Disabled,
                1 => SeccompMode::Strict,
                _ => SeccompMode::Filter,
            },
            // The field exists since Linux 5.9.
            filters: single("Seccomp_filters", 10).ok().map(|n| n as u32),
        },
    })
}

const STATUS: &str = "/proc/self/status";

/// The value of field `name` of a /proc/PID/status text.
pub fn status_field<'a>(status: &'a str, name: &str) -> Option<&'a str> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
}

/// Whitespace-separated numbers in `radix`; `None` if one is not a number.
fn numbers(text: &str, radix: u32) -> Option<Vec<u64>> {
    text.split_whitespace()
        .map(|n| u64::from_str_radix(n, radix).ok())
        .collect()
}

fn read_landlock() -> Result<Landlock, InspectError> {
    let abi = match sys::landlock_abi() {
        Ok(abi) => abi,
        // ENOSYS and EOPNOTSUPP mean no Landlock in the kernel, but a seccomp filter can
        // return them too, for a process it restricted: so this is "unknown", never "no".
        Err(e) => {
            return Ok(landlock_unknown(
                None,
                format!("landlock_create_ruleset: {e:?}"),
            ))
        }
    };
    let free = match in_child(count_free_layers)? {
        ProbeEnd::Returned(Ok(LAYERS_FAKED)) => {
            return Ok(landlock_unknown(
                Some(abi),
                "unverified: landlock_restrict_self succeeded yet restricted nothing (a seccomp filter answers it)".into(),
            ))
        }
        ProbeEnd::Returned(Ok(LAYERS_FULL_AT_ONCE)) => {
            return Ok(landlock_unknown(
                Some(abi),
                "unverified: landlock_restrict_self answered E2BIG at once (16 layers, or a seccomp filter that fakes it)".into(),
            ))
        }
        ProbeEnd::Returned(Ok(free)) => free,
        ProbeEnd::Returned(Err(e)) => {
            return Ok(landlock_unknown(
                Some(abi),
                format!("stacking a layer: {e:?}"),
            ))
        }
        ProbeEnd::Killed(signal) => {
            return Ok(landlock_unknown(
                Some(abi),
                format!("stacking a layer: killed by {}", signal_name(signal)),
            ))
        }
    };
    Ok(landlock_from_free_layers(abi, free))
}

/// Turns "a child could stack `free` more layers" into the process's own layer count.
pub fn landlock_from_free_layers(abi: u32, free: u8) -> Landlock {
    if free > LANDLOCK_MAX_LAYERS {
        return landlock_unknown(
            Some(abi),
            format!("the kernel allows more than {LANDLOCK_MAX_LAYERS} layers"),
        );
    }
    let layers = u32::from(LANDLOCK_MAX_LAYERS - free);
    Landlock {
        abi: Some(abi),
        restricted: Some(layers > 0),
        layers: Some(layers),
        error: None,
    }
}

fn landlock_unknown(abi: Option<u32>, error: String) -> Landlock {
    Landlock {
        abi,
        restricted: None,
        layers: None,
        error: Some(error),
    }
}

/// In a throw-away child: stacks empty layers until the kernel refuses with E2BIG. A seccomp
/// filter cannot count, so it answers every identical call alike: once one layer is shown
/// to restrict (opening `/` worked before it and fails with EACCES after), the E2BIG that
/// ends the count is the kernel's. E2BIG at once cannot be told from a faked one.
fn count_free_layers() -> Result<u8, Errno> {
    let ruleset = sys::landlock_create_fs_ruleset(LANDLOCK_ACCESS_FS_READ_DIR)?;
    // Without CAP_SYS_ADMIN, restrict_self needs no_new_privs; the child's alone is set.
    // A filter that denies prctl leaves it to restrict_self to say whether it was needed.
    let _ = nix::sys::prctl::set_no_new_privs();
    let open_root = || std::fs::File::open("/").map(drop);
    // Opening / may already be refused (a layer without read on /): then the proof below
    // cannot be made.
    let could_open = open_root().is_ok();
    for stacked in 0..LANDLOCK_COUNT_LIMIT {
        match sys::landlock_restrict_self(ruleset.as_fd()) {
            Ok(()) if stacked == 0 => match open_root() {
                Err(e) if could_open && e.raw_os_error() == Some(libc::EACCES) => {}
                _ => return Ok(LAYERS_FAKED),
            },
            Ok(()) => {}
            Err(Errno::E2BIG) if stacked == 0 => return Ok(LAYERS_FULL_AT_ONCE),
            Err(Errno::E2BIG) => return Ok(stacked),
            Err(e) => return Err(e),
        }
    }
    Ok(LANDLOCK_COUNT_LIMIT)
}

/// `SIGSYS`, or `signal N` for a number nix cannot name.
pub fn signal_name(signal: i32) -> String {
    nix::sys::signal::Signal::try_from(signal)
        .map_or_else(|_| format!("signal {signal}"), |s| s.as_str().to_string())
}

fn read_limit(name: &'static str, resource: Resource) -> Result<Limit, InspectError> {
    let (soft, hard) =
        getrlimit(resource).map_err(|source| InspectError::ReadRlimit { name, source })?;
    let finite = |v: u64| (v != libc::RLIM_INFINITY).then_some(v);
    Ok(Limit {
        soft: finite(soft),
        hard: finite(hard),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_sets_serialize_as_names() {
        let caps = Capabilities {
            bounding: (1 << 10) | 1,
            permitted: 1 << 5,
            effective: 0,
            inheritable: 1 << 63,
            ambient: 0,
            last_cap: 40,
        };
        assert_eq!(
            serde_json::to_value(caps).unwrap(),
            serde_json::json!({
                "bounding": ["CAP_CHOWN", "CAP_NET_BIND_SERVICE"],
                "permitted": ["CAP_KILL"],
                "effective": [],
                "inheritable": ["CAP_63"],
                "ambient": [],
            })
        );
    }

    #[test]
    fn securebits_decode_to_kernel_names() {
        assert_eq!(securebit_names(0), Vec::<String>::new());
        assert_eq!(
            securebit_names(0b1_0001_0101 | 1 << 20),
            [
                "SECBIT_NOROOT",
                "SECBIT_NO_SETUID_FIXUP",
                "SECBIT_KEEP_CAPS",
                "SECBIT_EXEC_RESTRICT_FILE",
                "SECBIT_20"
            ]
        );
    }

    /// A real /proc/self/status of a hardened process, trimmed.
    const HARDENED_STATUS: &str = "Name:\thardinit
Umask:\t0022
Uid:\t65534\t65534\t65534\t65534
Gid:\t100\t100\t100\t100
Groups:\t10 20 
NoNewPrivs:\t1
CapInh:\t0000000000000000
CapPrm:\t0000000000000400
CapEff:\t0000000000000400
CapBnd:\t0000000000000400
CapAmb:\t0000000000000400
Seccomp:\t2
Seccomp_filters:\t3
Speculation_Store_Bypass:\tthread force mitigated
";

    #[test]
    fn status_gives_ids_groups_caps_nnp_and_seccomp() {
        let bind = 1 << 10;
        assert_eq!(
            parse_status(HARDENED_STATUS, 40).unwrap(),
            Status {
                uid: Ids {
                    real: 65534,
                    effective: 65534,
                    saved: 65534
                },
                gid: Ids {
                    real: 100,
                    effective: 100,
                    saved: 100
                },
                groups: vec![10, 20],
                capabilities: Capabilities {
                    bounding: bind,
                    permitted: bind,
                    effective: bind,
                    inheritable: 0,
                    ambient: bind,
                    last_cap: 40
                },
                no_new_privs: true,
                seccomp: Seccomp {
                    mode: SeccompMode::Filter,
                    filters: Some(3)
                },
            }
        );
    }

    #[test]
    fn status_without_filter_count_or_groups_still_parses() {
        let old = HARDENED_STATUS
            .replace("Seccomp_filters:\t3\n", "")
            .replace("Groups:\t10 20 ", "Groups:\t");
        let status = parse_status(&old, 40).unwrap();
        assert_eq!((status.groups, status.seccomp.filters), (vec![], None));
    }

    #[test]
    fn a_missing_or_garbled_field_is_named() {
        let garbled = HARDENED_STATUS.replace("CapEff:\t0000000000000400", "CapEff:\tzz");
        assert!(matches!(
            parse_status(&garbled, 40),
            Err(InspectError::ParseStatus { field: "CapEff" })
        ));
        let no_uid = HARDENED_STATUS.replace("Uid:", "Xid:");
        assert_eq!(
            parse_status(&no_uid, 40).unwrap_err().to_string(),
            "/proc/self/status has no readable Uid field"
        );
    }

    #[test]
    fn landlock_layers_are_what_the_limit_leaves() {
        let state = |abi, restricted, layers, error: Option<&str>| Landlock {
            abi,
            restricted,
            layers,
            error: error.map(String::from),
        };
        assert_eq!(
            landlock_from_free_layers(7, 16),
            state(Some(7), Some(false), Some(0), None)
        );
        assert_eq!(
            landlock_from_free_layers(7, 14),
            state(Some(7), Some(true), Some(2), None)
        );
        assert_eq!(
            landlock_from_free_layers(7, 0),
            state(Some(7), Some(true), Some(16), None)
        );
        assert_eq!(
            landlock_from_free_layers(9, 17),
            state(
                Some(9),
                None,
                None,
                Some("the kernel allows more than 16 layers")
            )
        );
    }

    #[test]
    fn signals_are_named() {
        assert_eq!(signal_name(libc::SIGSYS), "SIGSYS");
        assert_eq!(signal_name(40), "signal 40");
    }
}

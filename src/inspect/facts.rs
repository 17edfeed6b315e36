//! The hardening state the process holds, read from the kernel. Everything here only reads,
//! except the Landlock layer count, which stacks layers in a throw-away child.

use std::os::fd::AsFd;

use nix::errno::Errno;
use nix::sys::resource::{getrlimit, Resource};
use serde::{Serialize, Serializer};

use super::probes::{in_child, ChildEnd};
use super::InspectError;
use crate::policy::caps::cap_names;
use crate::sys;

/// Everything `--inspect` reads; the field names are the JSON names (docs/inspect.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Facts {
    pub uid: Ids,
    pub gid: Ids,
    pub groups: Vec<u32>,
    pub capabilities: Capabilities,
    pub no_new_privs: bool,
    pub seccomp: Seccomp,
    pub landlock: Landlock,
    pub securebits: Securebits,
    pub rlimits: Rlimits,
    /// PR_GET_DUMPABLE: 0 no, 1 yes, 2 readable by root only.
    pub dumpable: u32,
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
/// LANDLOCK_ACCESS_FS_EXECUTE: any handled right makes a layer; this one exists in ABI 1.
const LANDLOCK_ACCESS_FS_EXECUTE: u64 = 1;

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

/// Reads every fact about the calling process.
pub fn read() -> Result<Facts, InspectError> {
    let uid = nix::unistd::getresuid().map_err(InspectError::ReadCredentials)?;
    let gid = nix::unistd::getresgid().map_err(InspectError::ReadCredentials)?;
    let groups = nix::unistd::getgroups()
        .map_err(InspectError::ReadCredentials)?
        .into_iter()
        .map(|g| g.as_raw())
        .collect();
    let status = std::fs::read_to_string("/proc/self/status").ok();
    Ok(Facts {
        uid: Ids {
            real: uid.real.as_raw(),
            effective: uid.effective.as_raw(),
            saved: uid.saved.as_raw(),
        },
        gid: Ids {
            real: gid.real.as_raw(),
            effective: gid.effective.as_raw(),
            saved: gid.saved.as_raw(),
        },
        groups,
        capabilities: read_capabilities()?,
        no_new_privs: nix::sys::prctl::get_no_new_privs().map_err(flag("no_new_privs"))?,
        seccomp: read_seccomp(status.as_deref())?,
        landlock: read_landlock()?,
        securebits: read_securebits()?,
        rlimits: Rlimits {
            nofile: read_limit("nofile", Resource::RLIMIT_NOFILE)?,
            nproc: read_limit("nproc", Resource::RLIMIT_NPROC)?,
            core: read_limit("core", Resource::RLIMIT_CORE)?,
        },
        dumpable: u32::from(nix::sys::prctl::get_dumpable().map_err(flag("dumpable"))?),
    })
}

fn flag(name: &'static str) -> impl Fn(Errno) -> InspectError {
    move |source| InspectError::ReadFlag { flag: name, source }
}

fn read_capabilities() -> Result<Capabilities, InspectError> {
    let sets = sys::get_caps().map_err(InspectError::ReadCapabilities)?;
    let last_cap = crate::read_last_cap();
    let mut bounding = 0;
    let mut ambient = 0;
    for cap in 0..=last_cap {
        if sys::bounding_has(cap).map_err(InspectError::ReadCapabilities)? {
            bounding |= 1u64 << cap;
        }
        if sys::ambient_has(cap).map_err(InspectError::ReadCapabilities)? {
            ambient |= 1u64 << cap;
        }
    }
    Ok(Capabilities {
        bounding,
        permitted: sets.permitted,
        effective: sets.effective,
        inheritable: sets.inheritable,
        ambient,
        last_cap,
    })
}

/// Mode and filter count from /proc/self/status; without /proc the mode comes from prctl
/// and the count stays unknown.
fn read_seccomp(status: Option<&str>) -> Result<Seccomp, InspectError> {
    let field = |name| status.and_then(|s| status_number(s, name));
    let mode = match field("Seccomp") {
        Some(mode) => mode,
        None => sys::seccomp_mode().map_err(flag("the seccomp mode"))? as u32,
    };
    Ok(Seccomp {
        mode: match mode {
            0 => SeccompMode::Disabled,
            1 => SeccompMode::Strict,
            _ => SeccompMode::Filter,
        },
        filters: field("Seccomp_filters"),
    })
}

/// The number in field `name` of a /proc/PID/status text.
pub fn status_number(status: &str, name: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|v| v.trim().parse().ok())
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
        ChildEnd::Returned(Ok(free)) => free,
        ChildEnd::Returned(Err(e)) => {
            return Ok(landlock_unknown(
                Some(abi),
                format!("stacking a layer: {e:?}"),
            ))
        }
        ChildEnd::Killed(signal) => {
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

/// In a throw-away child: stacks empty layers until the kernel refuses with E2BIG.
fn count_free_layers() -> Result<u8, Errno> {
    let ruleset = sys::landlock_create_fs_ruleset(LANDLOCK_ACCESS_FS_EXECUTE)?;
    // Without CAP_SYS_ADMIN, restrict_self needs no_new_privs; the child's alone is set.
    nix::sys::prctl::set_no_new_privs()?;
    for stacked in 0..LANDLOCK_COUNT_LIMIT {
        match sys::landlock_restrict_self(ruleset.as_fd()) {
            Ok(()) => {}
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

fn read_securebits() -> Result<Securebits, InspectError> {
    let bits = sys::securebits().map_err(flag("securebits"))?;
    Ok(Securebits {
        value: bits,
        flags: bits,
    })
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

    #[test]
    fn status_numbers_are_found_by_exact_field_name() {
        let status = "Name:\tx\nSeccomp:\t2\nSeccomp_filters:\t3\n";
        assert_eq!(status_number(status, "Seccomp"), Some(2));
        assert_eq!(status_number(status, "Seccomp_filters"), Some(3));
        assert_eq!(status_number(status, "NoNewPrivs"), None);
    }

    #[test]
    fn seccomp_comes_from_status_when_present() {
        let status = "Seccomp:\t2\nSeccomp_filters:\t1\n";
        assert_eq!(
            read_seccomp(Some(status)).unwrap(),
            Seccomp {
                mode: SeccompMode::Filter,
                filters: Some(1)
            }
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

//! Landlock: a read-only filesystem with named writable paths, TCP port allow-lists, and
//! scoping of signals and abstract unix sockets, decided against a Landlock ABI version.
//! Pure: the caller probes the kernel's ABI and opens the paths (plan::landlock).

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use landlock::{Access, AccessFs, AccessNet, BitFlags, Scope, ABI};
use thiserror::Error;

/// Files and directories programs expect to write even on a read-only filesystem. hardinit's
/// own list, so a path missing on this machine is skipped rather than fatal.
pub const DEVICES: [&str; 6] = [
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/tty",
    "/dev/pts",
    "/dev/shm",
];

/// The newest ABI whose rights hardinit uses: ABI 9 adds control of connecting to pathname
/// unix sockets (LANDLOCK_ACCESS_FS_RESOLVE_UNIX), which `--read-only` grants only beneath
/// the writable paths. Rights a newer kernel adds stay unhandled, hence allowed, rather than
/// denied by surprise. (Tested on kernels up to ABI 7; ABI 8 adds only a restrict flag.)
const NEWEST_USED: u32 = 9;

/// The first ABI of each feature hardinit uses.
const ABI_REFER: u32 = 2;
const ABI_TRUNCATE: u32 = 3;
const ABI_TCP: u32 = 4;
const ABI_IOCTL_DEV: u32 = 5;
const ABI_SCOPE: u32 = 6;
const ABI_RESOLVE_UNIX: u32 = 9;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum LandlockError {
    #[error("'{0}' is neither hard nor best-effort")]
    ParseCompat(String),
    #[error(
        "{kernel} cannot enforce {missing}; pass --landlock-compat best-effort to run without it"
    )]
    Unsupported { kernel: String, missing: String },
}

/// What to do when the kernel cannot enforce a requested rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compat {
    /// Refuse to start the program.
    #[default]
    Hard,
    /// Start it anyway and warn about each rule that is not enforced.
    BestEffort,
}

impl FromStr for Compat {
    type Err = LandlockError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "hard" => Ok(Compat::Hard),
            "best-effort" => Ok(Compat::BestEffort),
            other => Err(LandlockError::ParseCompat(other.to_string())),
        }
    }
}

impl fmt::Display for Compat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compat::Hard => "hard",
            Compat::BestEffort => "best-effort",
        })
    }
}

/// The Landlock options, as the command line gave them.
#[derive(Debug, Clone, Default)]
pub struct LandlockRequest {
    pub read_only: bool,
    pub writable: Vec<PathBuf>,
    pub writable_exec: Vec<PathBuf>,
    pub allow_bind: Vec<u16>,
    pub allow_connect: Vec<u16>,
    pub compat: Compat,
    /// The kernel's files under /proc are kept read-only by other means (policy::kernel), so
    /// `--read-only` may let the program write its own /proc/PID files.
    pub proc_files: bool,
    /// `--landlock-abi N` (hidden, a testing aid): use at most this ABI, as if the kernel
    /// were older. A flag, not the environment: whoever starts a container sets its
    /// environment, while the command line is the image's.
    pub abi_cap: Option<u32>,
    /// Scope signals even when no flag asks for Landlock (hardinit's own mode, with
    /// no_new_privs): the program cannot signal PID 1 whatever their uids.
    pub scope_signals: bool,
    /// The child mounts kernel files read-only for a program that keeps no CAP_SYS_ADMIN:
    /// its domain must keep it out of other processes' views of them (see
    /// [`LandlockPolicy::bare_domain`]).
    pub guard_mounts: bool,
}

/// The rights a path rule grants beneath its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// Read and list: the whole filesystem. Execute is granted apart (see [`exec_roots`]).
    Read,
    /// Everything but execute: a dropped payload cannot run (like a noexec tmpfs).
    Write,
    /// Everything.
    WriteExec,
    /// Open for reading and writing, truncate, ioctl: a device, not a place to create files.
    Device,
    /// The same beneath /proc, so processes write their own /proc/PID files (rules attach
    /// to inodes, and a /proc/PID directory's inode does not outlive its dentry, so only
    /// /proc itself holds a rule); the kernel's own files there are read-only mounts.
    ProcFiles,
}

impl Grant {
    /// The access rights this grant stands for under `abi`.
    pub fn access(self, abi: ABI) -> BitFlags<AccessFs> {
        match self {
            Grant::Read => AccessFs::from_read(abi) & !AccessFs::Execute,
            Grant::Write => AccessFs::from_all(abi) & !AccessFs::Execute,
            Grant::WriteExec => AccessFs::from_all(abi),
            Grant::Device | Grant::ProcFiles => AccessFs::from_file(abi) & !AccessFs::Execute,
        }
    }
}

/// One path and what the program may do beneath it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathRule {
    pub path: PathBuf,
    pub grant: Grant,
    /// The flag the rule comes from, for errors.
    pub flag: &'static str,
    /// From hardinit's device list: skipped when the path does not exist.
    pub optional: bool,
}

/// A feature the kernel (or `--landlock-abi`) lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    pub what: &'static str,
    /// The flag that asked for it; `None` for what hardinit adds on its own, which never fails
    /// the launch (it is reported all the same).
    pub flag: Option<&'static str>,
    pub needs: u32,
}

impl Gap {
    /// Whether a launch warns about it: what a flag asked for, the signal scoping that
    /// keeps the program from hardinit, and the domain that keeps it from other processes'
    /// /proc files. The rest (device ioctl, pathname unix sockets) is a limit of most
    /// kernels in use: `--print-policy` lists it, the log says it at info.
    pub fn warns(&self) -> bool {
        self.flag.is_some() || self.needs == ABI_SCOPE || self.needs == ABI_REFER
    }
}

impl fmt::Display for Gap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.flag {
            Some(flag) => write!(f, "{} ({flag}, needs ABI {})", self.what, self.needs),
            None => write!(f, "{} (needs ABI {})", self.what, self.needs),
        }
    }
}

/// What a kernel below ABI 6 leaves open when a ruleset is applied (`--read-only`, a port list).
pub const SCOPING_GAP: &str = "scoping signals and abstract unix sockets (the program can send PID 1 SIGCONT, signal any process of its uid and connect to abstract unix sockets outside its domain)";
/// The same when only signals are scoped (hardinit's own mode without a Landlock flag).
pub const SIGNAL_SCOPING_GAP: &str =
    "scoping signals (the program can send PID 1 SIGCONT and signal any process of its uid)";
/// What a bare domain does, for `--print-policy`.
const BARE_DOMAIN: &str =
    "handles only renaming and linking into another directory, allowed beneath /";
/// What a kernel below ABI 2 leaves open when no flag's ruleset makes a domain: a domain is
/// what keeps the program out of other processes' ptrace-guarded /proc files.
pub const DOMAIN_GAP: &str = "a Landlock domain, which keeps the program out of other processes' ptrace-guarded /proc files (root, cwd, fd, mem): a root program reaches the kernel files, writable, through the root of any process of uid 0 that holds no capabilities";

/// The validated Landlock policy for one kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LandlockPolicy {
    /// The running kernel's ABI version; 0 without Landlock.
    pub kernel_abi: u32,
    /// The version whose rights are used: the kernel's, lowered by `--landlock-abi`, at
    /// most the newest one hardinit knows.
    pub abi: u32,
    /// `--landlock-abi` lowered `abi` below the kernel's.
    pub capped: bool,
    pub compat: Compat,
    pub read_only: bool,
    /// Empty unless `read_only`.
    pub paths: Vec<PathRule>,
    /// The ports the program may bind; `None`: any.
    pub bind: Option<Vec<u16>>,
    /// The ports the program may connect to; `None`: any.
    pub connect: Option<Vec<u16>>,
    /// What was asked for or implied but is not enforced (only under best-effort, or implied).
    pub unenforced: Vec<Gap>,
    /// See [`LandlockRequest::scope_signals`].
    pub scope_signals: bool,
    /// See [`LandlockRequest::guard_mounts`].
    pub guard_mounts: bool,
}

impl LandlockPolicy {
    /// Validates `req` against the kernel's Landlock ABI version (0: none). Under `hard`, a
    /// requested feature the ABI lacks is an error.
    pub fn build(req: &LandlockRequest, kernel_abi: u32) -> Result<LandlockPolicy, LandlockError> {
        let lowered = req.abi_cap.map_or(kernel_abi, |c| c.min(kernel_abi));
        let mut policy = LandlockPolicy {
            kernel_abi,
            abi: lowered.min(NEWEST_USED),
            capped: lowered < kernel_abi,
            compat: req.compat,
            read_only: req.read_only,
            paths: if req.read_only {
                path_rules(req)
            } else {
                Vec::new()
            },
            bind: port_list(&req.allow_bind),
            connect: port_list(&req.allow_connect),
            unenforced: Vec::new(),
            scope_signals: req.scope_signals,
            guard_mounts: req.guard_mounts,
        };
        policy.unenforced = policy.find_gaps();
        let missing: Vec<String> = policy
            .unenforced
            .iter()
            .filter(|g| g.flag.is_some())
            .map(Gap::to_string)
            .collect();
        if req.compat == Compat::Hard && !missing.is_empty() {
            return Err(LandlockError::Unsupported {
                kernel: policy.describe_abi(),
                missing: missing.join(", "),
            });
        }
        Ok(policy)
    }

    /// Some flag asked for Landlock.
    pub fn in_use(&self) -> bool {
        self.read_only || self.bind.is_some() || self.connect.is_some()
    }

    /// The ABI in the landlock crate's terms.
    pub fn crate_abi(&self) -> ABI {
        ABI::from(i32::try_from(self.abi).unwrap_or(0))
    }

    /// The filesystem rights the ruleset handles: all of them, under --read-only; only
    /// reparenting (LANDLOCK_ACCESS_FS_REFER, granted beneath /) for a bare domain.
    pub fn handled_fs(&self) -> BitFlags<AccessFs> {
        if self.read_only {
            AccessFs::from_all(self.crate_abi())
        } else if self.bare_domain() {
            BitFlags::from(AccessFs::Refer)
        } else {
            BitFlags::EMPTY
        }
    }

    /// A domain that restricts no file the program opens, made where the child masks the
    /// kernel files with private read-only mounts (`guard_mounts`) but the ABI leaves
    /// nothing else to make a domain of (ABI 2-5, no `--read-only`, no port list it can
    /// enforce). Landlock lets a task in a domain pass the ptrace check only on tasks in
    /// its own domain, so the program cannot open other processes' ptrace-guarded /proc
    /// files: through another uid-0 process's /proc/PID/root it would reach the kernel
    /// files as that process's mount namespace has them, writable. Like any domain that
    /// handles a filesystem right it refuses mount(2) and pivot_root(2), which the program,
    /// holding no CAP_SYS_ADMIN, could do only in a user namespace of its own. ABI 1 cannot
    /// make one: its domains refuse every cross-directory rename and link.
    pub fn bare_domain(&self) -> bool {
        self.guards_mounts()
            && (ABI_REFER..ABI_SCOPE).contains(&self.abi)
            && !self.read_only
            && self.handled_net().is_empty()
    }

    /// Why the program gets no domain, when `enforces_anything` is false: for errors.
    pub fn why_no_domain(&self) -> String {
        let lowered = if self.capped {
            format!(" (lowered by --landlock-abi from {})", self.kernel_abi)
        } else {
            String::new()
        };
        let abi = self.abi;
        if !self.scope_signals {
            "no Landlock flag is enforced".to_string()
        } else if abi < ABI_REFER {
            format!("no Landlock flag is enforced and Landlock ABI {abi}{lowered} is below 2, where hardinit makes no domain of its own")
        } else {
            format!("no Landlock flag is enforced and Landlock ABI {abi}{lowered} has no signal scoping; hardinit makes a bare domain only where it masks the kernel files for a program their modes do not stop and that keeps no CAP_SYS_ADMIN")
        }
    }

    /// Landlock is used (a flag, or hardinit's own mode) and the masks need a domain.
    fn guards_mounts(&self) -> bool {
        (self.in_use() || self.scope_signals) && self.guard_mounts
    }

    /// The network rights the ruleset handles: those an allow-list was given for.
    pub fn handled_net(&self) -> BitFlags<AccessNet> {
        let mut net = BitFlags::EMPTY;
        if self.abi >= ABI_TCP {
            if self.bind.is_some() {
                net |= AccessNet::BindTcp;
            }
            if self.connect.is_some() {
                net |= AccessNet::ConnectTcp;
            }
        }
        net
    }

    /// Signals and abstract unix sockets stay inside the program's domain whenever Landlock
    /// is used at all: the program cannot signal PID 1, yet can signal its own children.
    pub fn scopes(&self) -> BitFlags<Scope> {
        if self.in_use() {
            Scope::from_all(self.crate_abi())
        } else if self.scope_signals {
            Scope::from_all(self.crate_abi()) & Scope::Signal
        } else {
            BitFlags::EMPTY
        }
    }

    /// Whether a ruleset must be created and applied.
    pub fn enforces_anything(&self) -> bool {
        !self.handled_fs().is_empty() || !self.handled_net().is_empty() || !self.scopes().is_empty()
    }

    fn find_gaps(&self) -> Vec<Gap> {
        let mut gaps = Vec::new();
        let mut lacks = |needs: u32, what: &'static str, flag: Option<&'static str>| {
            if self.abi < needs {
                gaps.push(Gap { what, flag, needs });
            }
        };
        if self.read_only {
            if self.abi == 0 {
                lacks(1, "the read-only filesystem", Some("--read-only"));
            } else {
                // Reported, never fatal: writes, creates, removes and renames are denied from
                // ABI 1 on, and Debian 12, Amazon Linux 2023 and Ubuntu 22.04 run ABI 1-2; a
                // read-only filesystem that refuses to start there protects nothing.
                lacks(
                    ABI_TRUNCATE,
                    "--read-only's denial of truncate(2) and O_TRUNC outside the writable paths: the program can empty or extend a file its uid may write",
                    None,
                );
                lacks(
                    ABI_IOCTL_DEV,
                    "denying ioctl on devices outside the device list",
                    None,
                );
            }
            lacks(
                ABI_RESOLVE_UNIX,
                "denying connect to pathname unix sockets outside the writable paths",
                None,
            );
        }
        if self.bind.is_some() {
            lacks(ABI_TCP, "the TCP bind allow-list", Some("--allow-bind"));
        }
        if self.connect.is_some() {
            lacks(
                ABI_TCP,
                "the TCP connect allow-list",
                Some("--allow-connect"),
            );
        }
        // PID 1 runs at a uid the program lacks (and it holds no CAP_KILL), so without scoping
        // what remains is SIGCONT (same session), its own uid's processes, abstract sockets.
        if self.in_use() {
            lacks(ABI_SCOPE, SCOPING_GAP, None);
        } else if self.scope_signals {
            lacks(ABI_SCOPE, SIGNAL_SCOPING_GAP, None);
        }
        // Below ABI 2 only --read-only's ruleset makes a domain (from ABI 1 on).
        let read_only_domain = self.read_only && self.abi >= 1;
        if self.guards_mounts() && !read_only_domain {
            lacks(ABI_REFER, DOMAIN_GAP, None);
        }
        gaps
    }

    /// "Landlock ABI 3 (--landlock-abi; the kernel has 7)", for errors.
    fn describe_abi(&self) -> String {
        match (self.abi, self.capped) {
            (0, false) => "this kernel has no Landlock, so it".to_string(),
            (0, true) => format!(
                "Landlock disabled by --landlock-abi (the kernel has ABI {})",
                self.kernel_abi
            ),
            (abi, false) => format!("Landlock ABI {abi}"),
            (abi, true) => format!(
                "Landlock ABI {abi} (--landlock-abi; the kernel has {})",
                self.kernel_abi
            ),
        }
    }

    fn describe_use(&self) -> String {
        let kernel = if self.kernel_abi == 0 {
            "the kernel has no Landlock".to_string()
        } else {
            format!("kernel ABI {}", self.kernel_abi)
        };
        if !self.in_use() {
            return if !self.scopes().is_empty() {
                format!("signal scoping only ({kernel}): the program cannot signal PID 1 or open other processes' ptrace-guarded /proc files")
            } else if self.bare_domain() {
                format!("a domain of its own ({kernel}, using ABI {}): the program cannot open other processes' ptrace-guarded /proc files; it {BARE_DOMAIN}", self.abi)
            } else {
                format!("off ({kernel})")
            };
        }
        let using = match (self.abi, self.capped) {
            (0, false) => "not used".to_string(),
            (0, true) => "disabled by --landlock-abi".to_string(),
            (abi, true) => format!("using ABI {abi} (--landlock-abi)"),
            (abi, false) => format!("using ABI {abi}"),
        };
        format!("{kernel}, {using}, --landlock-compat {}", self.compat)
    }

    /// "not enforced    GAP", one gap a line.
    fn describe_gaps(&self) -> String {
        let gaps: Vec<String> = self.unenforced.iter().map(Gap::to_string).collect();
        format!("not enforced    {}", gaps.join("\n                "))
    }

    fn paths_with(&self, grant: Grant) -> String {
        let paths: Vec<String> = self
            .paths
            .iter()
            .filter(|r| r.grant == grant)
            .map(|r| r.path.display().to_string())
            .collect();
        if paths.is_empty() {
            "none".to_string()
        } else {
            paths.join(", ")
        }
    }
}

/// hardinit's rules under --read-only: read everywhere, the device list, then the
/// user's paths (rights only add up, so the order does not matter to the kernel).
fn path_rules(req: &LandlockRequest) -> Vec<PathRule> {
    let rule = |path: PathBuf, grant, flag, optional| PathRule {
        path,
        grant,
        flag,
        optional,
    };
    let mut rules = vec![rule("/".into(), Grant::Read, "--read-only", false)];
    for device in DEVICES {
        // /dev/shm is where shm_open creates its files: a directory to write in, not a device.
        let grant = if device == "/dev/shm" {
            Grant::Write
        } else {
            Grant::Device
        };
        rules.push(rule(device.into(), grant, "--read-only", true));
    }
    if req.proc_files {
        rules.push(rule("/proc".into(), Grant::ProcFiles, "--read-only", true));
    }
    for path in &req.writable {
        rules.push(rule(path.clone(), Grant::Write, "--writable", false));
    }
    for path in &req.writable_exec {
        rules.push(rule(
            path.clone(),
            Grant::WriteExec,
            "--writable-exec",
            false,
        ));
    }
    rules
}

/// A directory entry as the execute walk sees it: its name and its inode's (st_dev, st_ino).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: OsString,
    pub inode: (u64, u64),
}

/// What execute must stay away from: the write paths (absolute, canonical) and every other
/// path at which they are visible (bind mounts, a volume mounted twice), and their inodes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoExec {
    pub paths: Vec<PathBuf>,
    pub inodes: Vec<(u64, u64)>,
}

/// Where to grant Execute so that it reaches everything but beneath the `noexec` paths.
/// Rights only add up beneath a path, so a grant on / would reach into them: instead walk
/// down from / along their ancestors and grant each entry beside the way. Landlock rules
/// attach to inodes, so an entry that is one of the write paths' inodes under another name
/// gets nothing either. `list` names a directory's entries, symlinks left out (their
/// targets are reached by their own path). An entry made later in one of those ancestors
/// is not executable.
pub fn exec_roots<E>(
    noexec: &NoExec,
    mut list: impl FnMut(&Path) -> Result<Vec<Entry>, E>,
) -> Result<Vec<PathBuf>, E> {
    let root = Path::new("/");
    if noexec.paths.is_empty() {
        return Ok(vec![root.to_path_buf()]);
    }
    let mut roots = Vec::new();
    let mut ancestors = Vec::new();
    if !noexec.paths.iter().any(|p| p == root) {
        ancestors.push(root.to_path_buf());
    }
    while let Some(dir) = ancestors.pop() {
        for entry in list(&dir)? {
            let path = dir.join(&entry.name);
            if noexec.paths.contains(&path) || noexec.inodes.contains(&entry.inode) {
                continue;
            }
            if noexec.paths.iter().any(|p| p.starts_with(&path)) {
                ancestors.push(path);
            } else {
                roots.push(path);
            }
        }
    }
    roots.sort();
    Ok(roots)
}

/// `None` when no port was given (no restriction); the ports sorted and deduplicated.
fn port_list(ports: &[u16]) -> Option<Vec<u16>> {
    if ports.is_empty() {
        return None;
    }
    let mut ports = ports.to_vec();
    ports.sort_unstable();
    ports.dedup();
    Some(ports)
}

fn join_ports(ports: Option<&Vec<u16>>) -> String {
    match ports {
        None => "any port".to_string(),
        Some(list) => list
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

impl fmt::Display for LandlockPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "landlock        {}", self.describe_use())?;
        if !self.in_use() {
            if !self.unenforced.is_empty() {
                write!(f, "\n{}", self.describe_gaps())?;
            }
            return Ok(());
        }
        if self.read_only {
            writeln!(f)?;
            writeln!(f, "read            {}", self.paths_with(Grant::Read))?;
            writeln!(f, "execute         / except beneath the write paths")?;
            writeln!(f, "write           {}", self.paths_with(Grant::Write))?;
            writeln!(f, "write, execute  {}", self.paths_with(Grant::WriteExec))?;
            writeln!(
                f,
                "devices         {} (skipped when absent)",
                self.paths_with(Grant::Device)
            )?;
            let proc = if self.paths.iter().any(|r| r.grant == Grant::ProcFiles) {
                "write files as their modes allow (the program's own /proc/PID/*); kernel files: see above"
            } else {
                "read-only like the rest"
            };
            write!(f, "/proc           {proc}")?;
        } else if self.bare_domain() {
            write!(f, "\nfilesystem      unrestricted (no --read-only); the domain {BARE_DOMAIN}, and keeps the program out of other processes' ptrace-guarded /proc files")?;
        } else {
            write!(f, "\nfilesystem      unrestricted (no --read-only)")?;
        }
        writeln!(f)?;
        writeln!(f, "tcp bind        {}", join_ports(self.bind.as_ref()))?;
        writeln!(f, "tcp connect     {}", join_ports(self.connect.as_ref()))?;
        let scoped = if self.scopes().is_empty() {
            "none"
        } else {
            "signals and abstract unix sockets stay inside the program's domain"
        };
        writeln!(f, "scoping         {scoped}")?;
        if self.unenforced.is_empty() {
            return write!(f, "not enforced    nothing");
        }
        f.write_str(&self.describe_gaps())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> LandlockRequest {
        LandlockRequest {
            read_only: true,
            writable: vec!["/tmp".into()],
            writable_exec: vec!["/opt/cache".into()],
            allow_bind: vec![3000, 80, 3000],
            allow_connect: vec![5432],
            ..LandlockRequest::default()
        }
    }

    fn best_effort(mut req: LandlockRequest) -> LandlockRequest {
        req.compat = Compat::BestEffort;
        req
    }

    #[test]
    fn compat_parses_two_words() {
        assert_eq!("hard".parse::<Compat>(), Ok(Compat::Hard));
        assert_eq!("best-effort".parse::<Compat>(), Ok(Compat::BestEffort));
        assert_eq!(
            "soft".parse::<Compat>().unwrap_err().to_string(),
            "'soft' is neither hard nor best-effort"
        );
    }

    #[test]
    fn no_flag_uses_no_landlock() {
        let p = LandlockPolicy::build(&LandlockRequest::default(), 7).unwrap();
        assert!(!p.in_use());
        assert!(!p.enforces_anything());
        assert_eq!(p.unenforced, []);
        assert_eq!(p.to_string(), "landlock        off (kernel ABI 7)");
        let p = LandlockPolicy::build(&LandlockRequest::default(), 0).unwrap();
        assert_eq!(
            p.to_string(),
            "landlock        off (the kernel has no Landlock)"
        );
    }

    #[test]
    fn read_only_rules_in_order() {
        let p = LandlockPolicy::build(&request(), 7).unwrap();
        let got: Vec<(&str, Grant, &str, bool)> = p
            .paths
            .iter()
            .map(|r| (r.path.to_str().unwrap(), r.grant, r.flag, r.optional))
            .collect();
        assert_eq!(
            got,
            [
                ("/", Grant::Read, "--read-only", false),
                ("/dev/null", Grant::Device, "--read-only", true),
                ("/dev/zero", Grant::Device, "--read-only", true),
                ("/dev/full", Grant::Device, "--read-only", true),
                ("/dev/tty", Grant::Device, "--read-only", true),
                ("/dev/pts", Grant::Device, "--read-only", true),
                ("/dev/shm", Grant::Write, "--read-only", true),
                ("/tmp", Grant::Write, "--writable", false),
                ("/opt/cache", Grant::WriteExec, "--writable-exec", false),
            ]
        );
        assert_eq!(p.bind, Some(vec![80, 3000]));
        assert_eq!(p.connect, Some(vec![5432]));
    }

    #[test]
    fn proc_files_are_granted_only_when_the_kernel_files_are_kept_otherwise() {
        let mut req = request();
        req.proc_files = true;
        let p = LandlockPolicy::build(&req, 7).unwrap();
        let proc: Vec<&PathRule> = p
            .paths
            .iter()
            .filter(|r| r.path == Path::new("/proc"))
            .collect();
        assert_eq!(
            proc,
            [&PathRule {
                path: "/proc".into(),
                grant: Grant::ProcFiles,
                flag: "--read-only",
                optional: true
            }]
        );
        assert_eq!(
            Grant::ProcFiles.access(ABI::V7),
            Grant::Device.access(ABI::V7)
        );
        let p = LandlockPolicy::build(&request(), 7).unwrap();
        assert!(p.paths.iter().all(|r| r.grant != Grant::ProcFiles));
    }

    #[test]
    fn grants_are_exact_rights() {
        let abi = ABI::V7;
        use AccessFs::*;
        let write_v1 = WriteFile
            | RemoveDir
            | RemoveFile
            | MakeChar
            | MakeDir
            | MakeReg
            | MakeSock
            | MakeFifo
            | MakeBlock
            | MakeSym;
        assert_eq!(Grant::Read.access(abi), ReadFile | ReadDir);
        assert_eq!(
            Grant::Write.access(abi),
            write_v1 | ReadFile | ReadDir | Refer | Truncate | IoctlDev
        );
        assert_eq!(
            Grant::WriteExec.access(abi),
            write_v1 | Execute | ReadFile | ReadDir | Refer | Truncate | IoctlDev
        );
        assert_eq!(
            Grant::Device.access(abi),
            ReadFile | WriteFile | Truncate | IoctlDev
        );
        assert_eq!(Grant::Write.access(ABI::V1), write_v1 | ReadFile | ReadDir);
    }

    fn noexec(paths: &[&str], inodes: &[(u64, u64)]) -> NoExec {
        NoExec {
            paths: paths.iter().map(PathBuf::from).collect(),
            inodes: inodes.to_vec(),
        }
    }

    /// A tree where /srv/data2 is /srv/data under another name (inode (1, 7)).
    fn tree(dir: &Path) -> Result<Vec<Entry>, String> {
        let names: &[(&str, u64)] = match dir.to_str().unwrap() {
            "/" => &[("bin", 2), ("dev", 3), ("srv", 4), ("tmp", 5)],
            "/dev" => &[("null", 10), ("shm", 11)],
            "/srv" => &[("app", 6), ("data", 7), ("data2", 7), ("run.sh", 8)],
            other => return Err(format!("listed {other}")),
        };
        Ok(names
            .iter()
            .map(|(n, ino)| Entry {
                name: n.into(),
                inode: (1, *ino),
            })
            .collect())
    }

    #[test]
    fn execute_reaches_everything_but_the_write_paths() {
        let paths = |list: &[&str]| list.iter().map(PathBuf::from).collect::<Vec<_>>();
        assert_eq!(
            exec_roots(&noexec(&["/tmp", "/dev/shm", "/srv/data"], &[]), tree),
            Ok(paths(&[
                "/bin",
                "/dev/null",
                "/srv/app",
                "/srv/data2",
                "/srv/run.sh"
            ]))
        );
        assert_eq!(exec_roots(&NoExec::default(), tree), Ok(paths(&["/"])));
        assert_eq!(exec_roots(&noexec(&["/"], &[]), tree), Ok(vec![]));
        assert_eq!(
            exec_roots(&noexec(&["/srv/data/cache"], &[]), tree),
            Err("listed /srv/data".to_string())
        );
    }

    #[test]
    fn execute_skips_a_write_path_under_another_name() {
        let paths = |list: &[&str]| list.iter().map(PathBuf::from).collect::<Vec<_>>();
        // /srv/data2 is the same inode as the write path /srv/data: no execute on either.
        assert_eq!(
            exec_roots(&noexec(&["/srv/data"], &[(1, 7)]), tree),
            Ok(paths(&["/bin", "/dev", "/srv/app", "/srv/run.sh", "/tmp"]))
        );
        // An alias found in the mount table makes the walk descend to it.
        assert_eq!(
            exec_roots(&noexec(&["/tmp", "/srv/data2"], &[(1, 5), (1, 7)]), tree),
            Ok(paths(&["/bin", "/dev", "/srv/app", "/srv/run.sh"]))
        );
    }

    #[test]
    fn handled_rights_follow_the_abi() {
        let p = LandlockPolicy::build(&request(), 7).unwrap();
        assert_eq!(p.handled_fs(), AccessFs::from_all(ABI::V7));
        assert_eq!(p.handled_net(), AccessNet::BindTcp | AccessNet::ConnectTcp);
        assert_eq!(p.scopes(), Scope::Signal | Scope::AbstractUnixSocket);
        assert_eq!(
            p.unenforced,
            [Gap {
                what: "denying connect to pathname unix sockets outside the writable paths",
                flag: None,
                needs: 9
            }]
        );

        let bind_only = LandlockRequest {
            allow_bind: vec![3000],
            ..LandlockRequest::default()
        };
        let p = LandlockPolicy::build(&bind_only, 7).unwrap();
        assert_eq!(p.handled_fs(), BitFlags::EMPTY);
        assert_eq!(p.handled_net(), AccessNet::BindTcp);
        assert_eq!(p.connect, None);
    }

    #[test]
    fn newer_kernels_are_used_as_the_newest_known_abi() {
        let p = LandlockPolicy::build(&request(), 10).unwrap();
        assert_eq!((p.abi, p.capped), (9, false));
        assert_eq!(p.handled_fs(), AccessFs::from_all(ABI::V9));
        assert!(p.handled_fs().contains(AccessFs::ResolveUnix));
        assert_eq!(p.unenforced, []);
    }

    #[test]
    fn hard_refuses_what_the_abi_lacks() {
        let req = LandlockRequest {
            allow_bind: vec![3000],
            abi_cap: Some(3),
            ..LandlockRequest::default()
        };
        assert_eq!(
            LandlockPolicy::build(&req, 7).unwrap_err().to_string(),
            "Landlock ABI 3 (--landlock-abi; the kernel has 7) cannot enforce the TCP bind allow-list (--allow-bind, needs ABI 4); pass --landlock-compat best-effort to run without it"
        );
        assert_eq!(
            LandlockPolicy::build(&request(), 2).unwrap_err().to_string(),
            "Landlock ABI 2 cannot enforce the TCP bind allow-list (--allow-bind, needs ABI 4), the TCP connect allow-list (--allow-connect, needs ABI 4); pass --landlock-compat best-effort to run without it"
        );
        assert_eq!(
            LandlockPolicy::build(&request(), 0).unwrap_err().to_string(),
            "this kernel has no Landlock, so it cannot enforce the read-only filesystem (--read-only, needs ABI 1), the TCP bind allow-list (--allow-bind, needs ABI 4), the TCP connect allow-list (--allow-connect, needs ABI 4); pass --landlock-compat best-effort to run without it"
        );
        let req = LandlockRequest {
            read_only: true,
            abi_cap: Some(0),
            ..LandlockRequest::default()
        };
        assert_eq!(
            LandlockPolicy::build(&req, 7).unwrap_err().to_string(),
            "Landlock disabled by --landlock-abi (the kernel has ABI 7) cannot enforce the read-only filesystem (--read-only, needs ABI 1); pass --landlock-compat best-effort to run without it"
        );
    }

    #[test]
    fn read_only_runs_on_abi_1_and_2_and_reports_truncate() {
        let req = LandlockRequest {
            read_only: true,
            writable: vec!["/tmp".into()],
            ..LandlockRequest::default()
        };
        for abi in [1, 2] {
            let p = LandlockPolicy::build(&req, abi).unwrap();
            assert_eq!(p.handled_fs(), AccessFs::from_all(ABI::from(abi as i32)));
            assert!(!p.handled_fs().contains(AccessFs::Truncate));
            let gaps: Vec<String> = p.unenforced.iter().map(Gap::to_string).collect();
            assert_eq!(
                gaps,
                [
                    "--read-only's denial of truncate(2) and O_TRUNC outside the writable paths: the program can empty or extend a file its uid may write (needs ABI 3)",
                    "denying ioctl on devices outside the device list (needs ABI 5)",
                    "denying connect to pathname unix sockets outside the writable paths (needs ABI 9)",
                    "scoping signals and abstract unix sockets (the program can send PID 1 SIGCONT, signal any process of its uid and connect to abstract unix sockets outside its domain) (needs ABI 6)",
                ],
                "ABI {abi}"
            );
        }
        let p = LandlockPolicy::build(&req, 3).unwrap();
        assert!(p.handled_fs().contains(AccessFs::Truncate));
        assert!(p.unenforced.iter().all(|g| g.needs != 3));
    }

    #[test]
    fn implied_scoping_never_fails_but_is_reported() {
        let req = LandlockRequest {
            read_only: true,
            ..LandlockRequest::default()
        };
        let p = LandlockPolicy::build(&req, 5).unwrap();
        assert_eq!(p.scopes(), BitFlags::EMPTY);
        assert_eq!(
            p.unenforced,
            [
                Gap {
                    what: "denying connect to pathname unix sockets outside the writable paths",
                    flag: None,
                    needs: 9
                },
                Gap {
                    what:
                        "scoping signals and abstract unix sockets (the program can send PID 1 SIGCONT, signal any process of its uid and connect to abstract unix sockets outside its domain)",
                    flag: None,
                    needs: 6
                }
            ]
        );
    }

    #[test]
    fn best_effort_keeps_what_the_abi_has_and_lists_the_rest() {
        let mut req = best_effort(request());
        req.abi_cap = Some(3);
        let p = LandlockPolicy::build(&req, 7).unwrap();
        assert_eq!((p.abi, p.capped), (3, true));
        assert_eq!(p.handled_fs(), AccessFs::from_all(ABI::V3));
        assert_eq!(p.handled_net(), BitFlags::EMPTY);
        assert_eq!(p.scopes(), BitFlags::EMPTY);
        assert!(p.enforces_anything());
        let gaps: Vec<String> = p.unenforced.iter().map(Gap::to_string).collect();
        assert_eq!(
            gaps,
            [
                "denying ioctl on devices outside the device list (needs ABI 5)",
                "denying connect to pathname unix sockets outside the writable paths (needs ABI 9)",
                "the TCP bind allow-list (--allow-bind, needs ABI 4)",
                "the TCP connect allow-list (--allow-connect, needs ABI 4)",
                "scoping signals and abstract unix sockets (the program can send PID 1 SIGCONT, signal any process of its uid and connect to abstract unix sockets outside its domain) (needs ABI 6)",
            ]
        );

        let bind_only = best_effort(LandlockRequest {
            allow_bind: vec![3000],
            abi_cap: Some(3),
            ..LandlockRequest::default()
        });
        assert!(!LandlockPolicy::build(&bind_only, 7)
            .unwrap()
            .enforces_anything());
        // The port list is not enforced, but a program whose kernel files the child masks
        // still gets a domain of its own.
        let bind_only = LandlockRequest {
            guard_mounts: true,
            ..bind_only
        };
        let p = LandlockPolicy::build(&bind_only, 7).unwrap();
        assert!(p.bare_domain());
        assert_eq!(p.handled_fs(), AccessFs::Refer);
        assert_eq!(p.handled_net(), BitFlags::EMPTY);
        let bind_only_abi_1 = LandlockRequest {
            abi_cap: Some(1),
            ..bind_only
        };
        let p = LandlockPolicy::build(&bind_only_abi_1, 7).unwrap();
        assert!(!p.enforces_anything());
        assert!(p
            .unenforced
            .iter()
            .any(|g| g.what == DOMAIN_GAP && g.needs == 2));
    }

    /// hardinit's own mode without a Landlock flag, the kernel files masked: the domain that
    /// keeps the program out of other processes' ptrace-guarded /proc files, at every ABI.
    #[test]
    fn own_mode_gets_a_domain_from_abi_2_on() {
        let own = LandlockRequest {
            scope_signals: true,
            guard_mounts: true,
            ..LandlockRequest::default()
        };
        let domain = |abi: u32| {
            let p = LandlockPolicy::build(&own, abi).unwrap();
            let gaps: Vec<u32> = p.unenforced.iter().map(|g| g.needs).collect();
            (p.handled_fs(), p.scopes(), p.enforces_anything(), gaps)
        };
        let none = BitFlags::<AccessFs>::EMPTY;
        assert_eq!(domain(0), (none, BitFlags::EMPTY, false, vec![6, 2]));
        assert_eq!(domain(1), (none, BitFlags::EMPTY, false, vec![6, 2]));
        for abi in 2..=5 {
            let refer = BitFlags::from(AccessFs::Refer);
            assert_eq!(
                domain(abi),
                (refer, BitFlags::EMPTY, true, vec![6]),
                "ABI {abi}"
            );
        }
        for abi in 6..=9 {
            let scopes = BitFlags::from(Scope::Signal);
            assert_eq!(domain(abi), (none, scopes, true, vec![]), "ABI {abi}");
        }
        // Both gaps are warned of at each launch.
        let p = LandlockPolicy::build(&own, 1).unwrap();
        assert!(p.unenforced.iter().all(Gap::warns));
        assert_eq!(
            p.to_string(),
            format!(
                "landlock        off (kernel ABI 1)\n\
                 not enforced    {SIGNAL_SCOPING_GAP} (needs ABI 6)\n\
                 \x20               {DOMAIN_GAP} (needs ABI 2)"
            )
        );
        assert_eq!(
            LandlockPolicy::build(&own, 4).unwrap().to_string(),
            format!(
                "landlock        a domain of its own (kernel ABI 4, using ABI 4): the program cannot open other processes' ptrace-guarded /proc files; it handles only renaming and linking into another directory, allowed beneath /\n\
                 not enforced    {SIGNAL_SCOPING_GAP} (needs ABI 6)"
            )
        );
        // Without masks (nothing to guard, or a program that keeps CAP_SYS_ADMIN and may
        // mount) no bare domain and no gap: only signal scoping from ABI 6.
        let unmasked = LandlockRequest {
            guard_mounts: false,
            ..own.clone()
        };
        for abi in [1, 4] {
            let p = LandlockPolicy::build(&unmasked, abi).unwrap();
            assert!(!p.enforces_anything(), "ABI {abi}");
            assert!(p.unenforced.iter().all(|g| g.needs == 6), "ABI {abi}");
        }
        assert_eq!(
            LandlockPolicy::build(&unmasked, 4).unwrap().why_no_domain(),
            "no Landlock flag is enforced and Landlock ABI 4 has no signal scoping; hardinit makes a bare domain only where it masks the kernel files for a program their modes do not stop and that keeps no CAP_SYS_ADMIN"
        );
        assert_eq!(
            LandlockPolicy::build(&own, 1).unwrap().why_no_domain(),
            "no Landlock flag is enforced and Landlock ABI 1 is below 2, where hardinit makes no domain of its own"
        );
        // Neither tini's defaults nor --allow-new-privileges (no no_new_privs) get one.
        let tini = LandlockRequest {
            guard_mounts: true,
            ..LandlockRequest::default()
        };
        let tini = LandlockPolicy::build(&tini, 4).unwrap();
        assert!(!tini.enforces_anything());
        assert_eq!(tini.unenforced, []);
    }

    #[test]
    fn a_cap_above_the_kernel_changes_nothing() {
        let mut req = request();
        req.abi_cap = Some(9);
        let p = LandlockPolicy::build(&req, 7).unwrap();
        assert_eq!((p.abi, p.capped), (7, false));
    }

    #[test]
    fn prints_rules_abi_and_gaps() {
        let p = LandlockPolicy::build(&request(), 7).unwrap();
        assert_eq!(
            p.to_string(),
            "\
landlock        kernel ABI 7, using ABI 7, --landlock-compat hard
read            /
execute         / except beneath the write paths
write           /dev/shm, /tmp
write, execute  /opt/cache
devices         /dev/null, /dev/zero, /dev/full, /dev/tty, /dev/pts (skipped when absent)
/proc           read-only like the rest
tcp bind        80, 3000
tcp connect     5432
scoping         signals and abstract unix sockets stay inside the program's domain
not enforced    denying connect to pathname unix sockets outside the writable paths (needs ABI 9)"
        );
        let req = best_effort(LandlockRequest {
            allow_bind: vec![3000],
            abi_cap: Some(3),
            guard_mounts: true,
            ..LandlockRequest::default()
        });
        assert_eq!(
            LandlockPolicy::build(&req, 7).unwrap().to_string(),
            "\
landlock        kernel ABI 7, using ABI 3 (--landlock-abi), --landlock-compat best-effort
filesystem      unrestricted (no --read-only); the domain handles only renaming and linking into another directory, allowed beneath /, and keeps the program out of other processes' ptrace-guarded /proc files
tcp bind        3000
tcp connect     any port
scoping         none
not enforced    the TCP bind allow-list (--allow-bind, needs ABI 4)
                scoping signals and abstract unix sockets (the program can send PID 1 SIGCONT, signal any process of its uid and connect to abstract unix sockets outside its domain) (needs ABI 6)"
        );
    }
}

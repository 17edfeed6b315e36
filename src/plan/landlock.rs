//! The Landlock ruleset, built in the parent before fork: the paths are opened and the rules
//! added here, so the child only calls landlock_restrict_self on one fd.

use std::ffi::{CString, OsString};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use landlock::{
    AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, NetPort, PathBeneath, Ruleset,
    RulesetAttr, RulesetCreated, RulesetCreatedAttr, ABI,
};
use log::debug;
use nix::errno::Errno;
use thiserror::Error;

use super::PlanError;
use crate::policy::landlock::{exec_roots, Grant, LandlockPolicy, PathRule};
use crate::sys;

#[derive(Debug, Error)]
pub enum LandlockSetupError {
    #[error("{flag}: cannot open {path}")]
    OpenPath {
        flag: &'static str,
        path: PathBuf,
        source: Errno,
    },
    #[error("cannot create the Landlock ruleset")]
    CreateRuleset(#[source] landlock::RulesetError),
    #[error("{flag}: cannot resolve {path}")]
    ResolvePath {
        flag: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot list {path} to keep execute away from the write paths")]
    ListDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot add the Landlock rule for {path}")]
    AddPathRule {
        path: PathBuf,
        source: landlock::RulesetError,
    },
    #[error("cannot add the Landlock rule for TCP port {port}")]
    AddPortRule {
        port: u16,
        source: landlock::RulesetError,
    },
    #[error("the landlock crate returned no ruleset for ABI {0}")]
    MissingRuleset(u32),
}

/// Creates the ruleset the child restricts itself with; `None` when nothing is enforced.
pub fn create_ruleset(policy: &LandlockPolicy) -> Result<Option<OwnedFd>, PlanError> {
    Ok(build_ruleset(policy)?)
}

/// The crate runs at its hard-requirement level: `policy` asks only for rights its ABI has,
/// so any mismatch is a bug to report, not a right to drop silently.
fn build_ruleset(policy: &LandlockPolicy) -> Result<Option<OwnedFd>, LandlockSetupError> {
    if !policy.enforces_anything() {
        return Ok(None);
    }
    let mut ruleset = Ruleset::default().set_compatibility(CompatLevel::HardRequirement);
    let fs = policy.handled_fs();
    let net = policy.handled_net();
    let scopes = policy.scopes();
    let handle =
        |r: Result<Ruleset, landlock::RulesetError>| r.map_err(LandlockSetupError::CreateRuleset);
    if !fs.is_empty() {
        ruleset = handle(ruleset.handle_access(fs))?;
    }
    if !net.is_empty() {
        ruleset = handle(ruleset.handle_access(net))?;
    }
    if !scopes.is_empty() {
        ruleset = handle(ruleset.scope(scopes))?;
    }
    let mut created = ruleset
        .create()
        .map_err(LandlockSetupError::CreateRuleset)?;
    if !fs.is_empty() {
        created = add_path_rules(created, policy)?;
    }
    if net.contains(AccessNet::BindTcp) {
        created = add_port_rules(created, policy.bind.as_deref(), AccessNet::BindTcp)?;
    }
    if net.contains(AccessNet::ConnectTcp) {
        created = add_port_rules(created, policy.connect.as_deref(), AccessNet::ConnectTcp)?;
    }
    Option::<OwnedFd>::from(created)
        .map(Some)
        .ok_or(LandlockSetupError::MissingRuleset(policy.abi))
}

fn add_path_rules(
    mut created: RulesetCreated,
    policy: &LandlockPolicy,
) -> Result<RulesetCreated, LandlockSetupError> {
    let abi = policy.crate_abi();
    let mut noexec = Vec::new();
    for rule in &policy.paths {
        let Some(fd) = open_rule_path(rule)? else {
            continue;
        };
        if rule.grant == Grant::Write {
            noexec.push(canonical(rule)?);
        }
        created = add_path_rule(created, fd, &rule.path, rule.grant.access(abi), abi)?;
    }
    let roots = exec_roots(&noexec, list_dir)?;
    debug!("landlock: execute granted beneath {} paths", roots.len());
    for root in roots {
        match open_path(&root) {
            Ok(fd) => {
                created = add_path_rule(created, fd, &root, AccessFs::Execute.into(), abi)?;
            }
            // Gone or unreachable since the listing: it just stays not executable.
            Err(e) => debug!("landlock: no execute rule for {}: {e}", root.display()),
        }
    }
    Ok(created)
}

/// Opens a rule's path; `None` for one of hardinit's devices that this machine lacks.
fn open_rule_path(rule: &PathRule) -> Result<Option<OwnedFd>, LandlockSetupError> {
    match open_path(&rule.path) {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::ENOENT) if rule.optional => {
            debug!(
                "landlock: {} does not exist here; no rule",
                rule.path.display()
            );
            Ok(None)
        }
        Err(source) => Err(LandlockSetupError::OpenPath {
            flag: rule.flag,
            path: rule.path.clone(),
            source,
        }),
    }
}

/// The path execute must stay away from, as the directory walk from / meets it.
fn canonical(rule: &PathRule) -> Result<PathBuf, LandlockSetupError> {
    std::fs::canonicalize(&rule.path).map_err(|source| LandlockSetupError::ResolvePath {
        flag: rule.flag,
        path: rule.path.clone(),
        source,
    })
}

fn add_path_rule(
    created: RulesetCreated,
    fd: OwnedFd,
    path: &Path,
    mut access: BitFlags<AccessFs>,
    abi: ABI,
) -> Result<RulesetCreated, LandlockSetupError> {
    if !is_dir(&fd) {
        // Directory-only rights on a file are EINVAL to the kernel.
        access &= AccessFs::from_file(abi);
    }
    created
        .add_rule(PathBeneath::new(fd, access))
        .map_err(|source| LandlockSetupError::AddPathRule {
            path: path.to_path_buf(),
            source,
        })
}

/// A directory's entries other than symlinks.
fn list_dir(dir: &Path) -> Result<Vec<OsString>, LandlockSetupError> {
    let list = |dir: &Path| -> std::io::Result<Vec<OsString>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            if !entry.file_type()?.is_symlink() {
                names.push(entry.file_name());
            }
        }
        Ok(names)
    };
    list(dir).map_err(|source| LandlockSetupError::ListDir {
        path: dir.to_path_buf(),
        source,
    })
}

fn add_port_rules(
    mut created: RulesetCreated,
    ports: Option<&[u16]>,
    access: AccessNet,
) -> Result<RulesetCreated, LandlockSetupError> {
    for &port in ports.unwrap_or_default() {
        created = created
            .add_rule(NetPort::new(port, BitFlags::from(access)))
            .map_err(|source| LandlockSetupError::AddPortRule { port, source })?;
    }
    Ok(created)
}

fn open_path(path: &Path) -> Result<OwnedFd, Errno> {
    let c_path = CString::new(path.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)?;
    sys::open_path(&c_path)
}

fn is_dir(fd: &OwnedFd) -> bool {
    nix::sys::stat::fstat(fd.as_raw_fd()).is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFDIR)
}

//! The Landlock ruleset, built in the parent before fork: the paths are opened and the rules
//! added here, so the child only calls landlock_restrict_self on one fd.

use std::ffi::CString;
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
use crate::kernel::mounts::{self, Mount};
use crate::policy::landlock::{exec_roots, Entry, Grant, LandlockPolicy, NoExec, PathRule};
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
    #[error("{flag}: {path} has {links} hard links, so it is also reachable at names execute cannot be kept away from; give a directory, or a file with one link")]
    HardLinkedWritePath {
        flag: &'static str,
        path: PathBuf,
        links: u64,
    },
    #[error("{flag}: {path} would be executable: it is visible beneath --writable-exec {exec}")]
    WritePathExecutable {
        flag: &'static str,
        path: PathBuf,
        exec: PathBuf,
    },
    #[error("cannot read {path} to find where the write paths are also mounted")]
    ReadMounts {
        path: &'static str,
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
pub fn create_ruleset(
    policy: &LandlockPolicy,
    mounts: &[Mount],
) -> Result<Option<OwnedFd>, PlanError> {
    Ok(build_ruleset(policy, mounts)?)
}

/// The crate runs at its hard-requirement level: `policy` asks only for rights its ABI has,
/// so any mismatch is a bug to report, not a right to drop silently.
fn build_ruleset(
    policy: &LandlockPolicy,
    mounts: &[Mount],
) -> Result<Option<OwnedFd>, LandlockSetupError> {
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
    if policy.read_only {
        created = add_path_rules(created, policy, mounts)?;
    } else if !fs.is_empty() {
        created = allow_everywhere(created, fs, policy.crate_abi())?;
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
    mounts: &[Mount],
) -> Result<RulesetCreated, LandlockSetupError> {
    let abi = policy.crate_abi();
    let mut write = Vec::new();
    let mut write_exec = Vec::new();
    for rule in &policy.paths {
        let Some(fd) = open_rule_path(rule)? else {
            continue;
        };
        let inode = inode_of(&fd);
        match rule.grant {
            Grant::Write => write.push((rule, canonical(rule)?, inode)),
            Grant::WriteExec => write_exec.push(canonical(rule)?),
            Grant::Read | Grant::Device | Grant::ProcFiles => {}
        }
        let is_dir = inode.is_some_and(|(_, _, _, dir)| dir);
        created = add_path_rule(created, fd, &rule.path, rule.grant.access(abi), is_dir, abi)?;
    }
    let noexec = find_noexec(&write, &write_exec, mounts)?;
    let roots = exec_roots(&noexec, list_dir)?;
    debug!("landlock: execute granted beneath {} paths", roots.len());
    for root in roots {
        match open_path(&root) {
            Ok(fd) => {
                // Execute is a right of files and directories alike: no type to look up.
                created = created
                    .add_rule(PathBeneath::new(fd, AccessFs::Execute))
                    .map_err(|source| LandlockSetupError::AddPathRule {
                        path: root.clone(),
                        source,
                    })?;
            }
            // Gone or unreachable since the listing: it just stays not executable.
            Err(e) => debug!("landlock: no execute rule for {}: {e}", root.display()),
        }
    }
    Ok(created)
}

/// A bare domain's one rule: what it handles, granted beneath /.
fn allow_everywhere(
    created: RulesetCreated,
    access: BitFlags<AccessFs>,
    abi: ABI,
) -> Result<RulesetCreated, LandlockSetupError> {
    let root = Path::new("/");
    let fd = open_path(root).map_err(|source| LandlockSetupError::OpenPath {
        flag: "hardinit's own Landlock domain",
        path: root.to_path_buf(),
        source,
    })?;
    add_path_rule(created, fd, root, access, true, abi)
}

/// A write path as opened: its rule, canonical path and (st_dev, st_ino, st_nlink, is_dir).
type WritePath<'a> = (&'a PathRule, PathBuf, Option<(u64, u64, u64, bool)>);

/// Execute is kept from each write path, from every other path the mount table shows it
/// at, and from its inode wherever the walk meets it. A file with more than one hard link
/// has names nothing can find, and a write path inside a --writable-exec one would be
/// executable there: both are refused rather than half kept.
fn find_noexec(
    write: &[WritePath<'_>],
    write_exec: &[PathBuf],
    mounts: &[Mount],
) -> Result<NoExec, LandlockSetupError> {
    let mut noexec = NoExec::default();
    for (rule, path, inode) in write {
        if let Some((_, _, links, false)) = inode {
            if *links > 1 {
                return Err(LandlockSetupError::HardLinkedWritePath {
                    flag: rule.flag,
                    path: rule.path.clone(),
                    links: *links,
                });
            }
        }
        let mut seen = vec![path.clone()];
        seen.extend(mounts::aliases(mounts, path));
        for shown in &seen {
            if let Some(exec) = write_exec.iter().find(|x| shown.starts_with(x)) {
                return Err(LandlockSetupError::WritePathExecutable {
                    flag: rule.flag,
                    path: rule.path.clone(),
                    exec: exec.clone(),
                });
            }
        }
        noexec.paths.extend(seen);
        if let Some((dev, ino, _, _)) = inode {
            noexec.inodes.push((*dev, *ino));
        }
    }
    Ok(noexec)
}

const MOUNTINFO: &str = "/proc/self/mountinfo";

/// The mount table; without /proc there is none to consult (and no alias can be found).
pub fn read_mounts() -> Result<Vec<Mount>, LandlockSetupError> {
    match read_proc_text(MOUNTINFO) {
        Ok(text) => Ok(mounts::parse_mountinfo(&text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(source) => Err(LandlockSetupError::ReadMounts {
            path: MOUNTINFO,
            source,
        }),
    }
}

/// A /proc file's text. /proc reports its files' size as 0, so std's read_to_string would
/// start at 32 bytes and double (ten reads for a host's mount table): start at 16 KiB.
fn read_proc_text(path: &str) -> std::io::Result<String> {
    use std::io::Read;
    let mut text = String::with_capacity(16 << 10);
    std::fs::File::open(path)?.read_to_string(&mut text)?;
    Ok(text)
}

// nlink_t is u64 on x86_64 and u32 on aarch64: the cast is needed on one of them.
#[allow(clippy::unnecessary_cast)]
fn inode_of(fd: &OwnedFd) -> Option<(u64, u64, u64, bool)> {
    nix::sys::stat::fstat(fd.as_raw_fd()).ok().map(|st| {
        (
            st.st_dev,
            st.st_ino,
            st.st_nlink as u64,
            st.st_mode & libc::S_IFMT == libc::S_IFDIR,
        )
    })
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
    is_dir: bool,
    abi: ABI,
) -> Result<RulesetCreated, LandlockSetupError> {
    if !is_dir {
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

/// A directory's entries that execute can matter to, with their inodes: directories and
/// regular files. Symlinks are left out (their targets are reached by their own path), and
/// so are devices, FIFOs and sockets: execve refuses any file that is not regular with
/// EACCES, the errno Landlock's denial gives too, so a rule on one changes nothing (a host's
/// /dev holds a hundred of them).
fn list_dir(dir: &Path) -> Result<Vec<Entry>, LandlockSetupError> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let list = |dir: &Path| -> std::io::Result<Vec<Entry>> {
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            // readdir's own type, without a system call. A symlink, device, FIFO or socket is
            // skipped on it: skipping only ever withholds execute, so a regular file
            // bind-mounted over a device node stays not executable (as a device would be).
            let listed = entry.file_type()?;
            if listed.is_symlink()
                || listed.is_char_device()
                || listed.is_block_device()
                || listed.is_fifo()
                || listed.is_socket()
            {
                continue;
            }
            // The inode a path lookup reaches: a mount point's root, not the directory
            // beneath it that readdir's d_ino names. The type too is the one at the path.
            let inode = match std::fs::symlink_metadata(entry.path()) {
                Ok(meta) if meta.is_dir() || meta.is_file() => (meta.dev(), meta.ino()),
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            entries.push(Entry {
                name: entry.file_name(),
                inode,
            });
        }
        Ok(entries)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(path: &str, flag: &'static str) -> PathRule {
        PathRule {
            path: path.into(),
            grant: Grant::Write,
            flag,
            optional: false,
        }
    }

    const MOUNTINFO: &str = "\
27 1 254:0 / / rw - ext4 /dev/vda rw
50 27 8:16 / /data rw - ext4 /dev/sdb rw
51 27 8:16 / /srv/again rw - ext4 /dev/sdb rw
";

    #[test]
    fn the_execute_walk_lists_directories_and_regular_files_only() {
        let dir = std::env::temp_dir().join(format!("hardinit-list-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("file"), "x").unwrap();
        std::os::unix::fs::symlink("file", dir.join("link")).unwrap();
        nix::unistd::mkfifo(&dir.join("fifo"), nix::sys::stat::Mode::S_IRWXU).unwrap();
        let _socket = std::os::unix::net::UnixListener::bind(dir.join("socket")).unwrap();
        let mut names: Vec<_> = list_dir(&dir)
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        names.sort();
        assert_eq!(names, ["file", "sub"]);
        // A device node execve would refuse anyway gets no rule either.
        assert!(!list_dir(Path::new("/dev"))
            .unwrap()
            .iter()
            .any(|e| e.name == "null"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn execute_stays_away_from_every_name_of_a_write_path() {
        let mounts = mounts::parse_mountinfo(MOUNTINFO);
        let data = rule("/data", "--writable");
        let write = [(&data, PathBuf::from("/data"), Some((5, 2, 3, true)))];
        assert_eq!(
            find_noexec(&write, &[], &mounts).unwrap(),
            NoExec {
                paths: vec!["/data".into(), "/srv/again".into()],
                inodes: vec![(5, 2)],
            }
        );
    }

    #[test]
    fn hard_links_and_write_paths_inside_writable_exec_ones_are_refused() {
        let mounts = mounts::parse_mountinfo(MOUNTINFO);
        let file = rule("/srv/log", "--writable");
        let write = [(&file, PathBuf::from("/srv/log"), Some((1, 9, 2, false)))];
        assert_eq!(
            find_noexec(&write, &[], &mounts).unwrap_err().to_string(),
            "--writable: /srv/log has 2 hard links, so it is also reachable at names execute cannot be kept away from; give a directory, or a file with one link"
        );
        let data = rule("/data", "--writable");
        let write = [(&data, PathBuf::from("/data"), Some((5, 2, 3, true)))];
        assert_eq!(
            find_noexec(&write, &["/srv".into()], &mounts)
                .unwrap_err()
                .to_string(),
            "--writable: /data would be executable: it is visible beneath --writable-exec /srv"
        );
    }
}

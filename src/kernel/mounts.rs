//! The mount table (/proc/self/mountinfo), parsed, and the questions Landlock's rules and
//! the kernel-interface protection ask of it. Pure: the caller reads the text.
//!
//! Landlock rules attach to inodes and are checked along the path a name resolves through,
//! crossing from a mount's root to its mount point. So the same directory can be reached at
//! another path through a bind mount (or the same volume mounted twice), and a rule granted
//! at that other path covers it there.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

/// One line of /proc/PID/mountinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// `major:minor` of the filesystem, as st_dev would give it.
    pub dev: (u32, u32),
    /// The directory of the filesystem mounted here (`/` for the whole filesystem).
    pub root: PathBuf,
    /// Where it is mounted.
    pub point: PathBuf,
    /// Mounted read-only (the mount's own flag or the superblock's).
    pub read_only: bool,
    /// The filesystem type (`proc`, `sysfs`, `tmpfs`, ...).
    pub fstype: String,
}

/// Parses mountinfo; a line that does not parse is skipped (the kernel's format is fixed,
/// so only a truncated last line could be malformed).
pub fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Mount> {
    let (head, tail) = line.split_once(" - ")?;
    // id, parent, dev, root, mount point, options: the first six of the head.
    let mut fields = head.split(' ').skip(2);
    let (dev, root, point, options) = (
        fields.next()?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
    );
    let (major, minor) = dev.split_once(':')?;
    let mut tail_fields = tail.split(' ');
    let fstype = tail_fields.next().unwrap_or("").to_string();
    let super_options = tail_fields.nth(1).unwrap_or("");
    let has_ro = |opts: &str| opts.split(',').any(|o| o == "ro");
    Some(Mount {
        dev: (major.parse().ok()?, minor.parse().ok()?),
        root: unescape(root),
        point: unescape(point),
        read_only: has_ro(options) || has_ro(super_options),
        fstype,
    })
}

/// mountinfo writes space, tab, newline and backslash as `\ooo` octal escapes.
fn unescape(field: &str) -> PathBuf {
    if !field.contains('\\') {
        return PathBuf::from(field);
    }
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = (bytes[i] == b'\\')
            .then(|| bytes.get(i + 1..i + 4))
            .flatten()
            .and_then(|d| {
                let s = std::str::from_utf8(d).ok()?;
                u8::from_str_radix(s, 8).ok()
            });
        match octal {
            Some(b) => {
                out.push(b);
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    PathBuf::from(OsString::from_vec(out))
}

/// The mount `path` (absolute, canonical) lies on: the last-mounted one whose mount point is
/// its longest prefix (a later mount on the same point hides the earlier).
pub fn mount_of<'a>(mounts: &'a [Mount], path: &Path) -> Option<&'a Mount> {
    mounts
        .iter()
        .enumerate()
        .filter(|(_, m)| path.starts_with(&m.point))
        .max_by_key(|(i, m)| (m.point.as_os_str().len(), *i))
        .map(|(_, m)| m)
}

/// Where `path` is also visible: for every other mount of the same filesystem, the path
/// at which it shows `path`'s directory, or the whole mount when its root lies beneath it.
/// (A second mount of a volume, a bind mount of it or of a directory inside it.)
pub fn aliases(mounts: &[Mount], path: &Path) -> Vec<PathBuf> {
    let Some(home) = mount_of(mounts, path) else {
        return Vec::new();
    };
    let inside = path.strip_prefix(&home.point).unwrap_or(Path::new(""));
    let fs_path = join(&home.root, inside);
    let mut found: Vec<PathBuf> = mounts
        .iter()
        .filter(|m| m.dev == home.dev)
        .filter_map(|m| {
            if m.root.starts_with(&fs_path) {
                Some(m.point.clone())
            } else {
                let below = fs_path.strip_prefix(&m.root).ok()?;
                Some(join(&m.point, below))
            }
        })
        .filter(|p| p != path)
        .collect();
    found.sort();
    found.dedup();
    found
}

/// Filesystems that hold data, not kernel interfaces: a runtime mounts them beneath /proc
/// and /sys to mask a path (/proc/acpi, /sys/firmware) or to hold mount points
/// (/sys/fs/cgroup), and writing them reaches nothing of the kernel's.
const DATA_FILESYSTEMS: [&str; 2] = ["tmpfs", "ramfs"];

/// Whether `path` or anything mounted beneath it is a writable kernel interface: the mount
/// it lies on, and every mount whose point is inside it, data filesystems left out.
pub fn writable_beneath(mounts: &[Mount], path: &Path) -> bool {
    let writable = |m: &Mount| !m.read_only && !DATA_FILESYSTEMS.contains(&m.fstype.as_str());
    let own = mount_of(mounts, path).is_some_and(writable);
    own || mounts
        .iter()
        .any(|m| m.point.starts_with(path) && m.point != path && writable(m))
}

/// `base` + `rest`, where `rest` is relative (an empty `rest` is `base` itself).
fn join(base: &Path, rest: &Path) -> PathBuf {
    if rest.as_os_str().as_bytes().is_empty() {
        base.to_path_buf()
    } else {
        base.join(rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
23 27 0:22 / /sys ro,nosuid - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
33 22 0:30 / /proc/acpi rw,relatime - tmpfs tmpfs rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
50 27 8:16 / /data rw,relatime - ext4 /dev/sdb rw
51 27 8:16 / /srv/data\\040copy rw,relatime - ext4 /dev/sdb rw
52 27 8:16 /cache /opt/app/cache rw,relatime - ext4 /dev/sdb rw
53 27 254:0 /var/tmp /mnt/vartmp rw - ext4 /dev/vda rw
54 22 0:21 /sys /proc/sys ro,relatime - proc proc rw
";

    fn mounts() -> Vec<Mount> {
        parse_mountinfo(MOUNTINFO)
    }

    fn paths(list: &[&str]) -> Vec<PathBuf> {
        list.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn lines_parse_with_escapes_and_read_only_flags() {
        let m = mounts();
        assert_eq!(m.len(), 11);
        assert_eq!(
            m[7],
            Mount {
                dev: (8, 16),
                root: "/".into(),
                point: "/srv/data copy".into(),
                read_only: false,
                fstype: "ext4".into(),
            }
        );
        assert!(m[1].read_only);
        assert!(!m[0].read_only);
        assert_eq!(m[1].fstype, "sysfs");
        assert_eq!(parse_mountinfo("garbage\n12 1 x / / rw - a b c"), []);
    }

    #[test]
    fn a_path_lies_on_the_longest_mount_point() {
        let m = mounts();
        let on = |p: &str| mount_of(&m, Path::new(p)).map(|m| m.point.clone());
        assert_eq!(on("/data/x"), Some("/data".into()));
        assert_eq!(on("/datafile"), Some("/".into()));
        assert_eq!(on("/proc/sys/kernel"), Some("/proc/sys".into()));
    }

    #[test]
    fn aliases_are_other_mounts_of_the_same_directory() {
        let m = mounts();
        assert_eq!(
            aliases(&m, Path::new("/data")),
            paths(&["/opt/app/cache", "/srv/data copy"])
        );
        assert_eq!(
            aliases(&m, Path::new("/data/cache/x")),
            paths(&["/opt/app/cache/x", "/srv/data copy/cache/x"])
        );
        assert_eq!(aliases(&m, Path::new("/var/tmp")), paths(&["/mnt/vartmp"]));
        // / contains every other mount of its own filesystem.
        assert_eq!(aliases(&m, Path::new("/var")), paths(&["/mnt/vartmp"]));
        assert_eq!(aliases(&m, Path::new("/etc")), Vec::<PathBuf>::new());
    }

    #[test]
    fn writability_counts_the_mounts_beneath() {
        let m = mounts();
        assert!(!writable_beneath(&m, Path::new("/proc/sys")));
        assert!(writable_beneath(&m, Path::new("/proc/sysrq-trigger")));
        // /sys is read-only, a cgroup mounted beneath it is not.
        assert!(writable_beneath(&m, Path::new("/sys")));
        assert!(!writable_beneath(&m, Path::new("/sys/firmware")));
        // A tmpfs (a mask, or the cgroup mount points' home) is no kernel interface.
        assert!(!writable_beneath(&m, Path::new("/proc/acpi")));
        let docker: Vec<Mount> = m
            .iter()
            .filter(|m| m.point != Path::new("/sys/fs/cgroup/pids"))
            .cloned()
            .collect();
        assert!(!writable_beneath(&docker, Path::new("/sys")));
    }
}

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
/// so only a truncated last line could be malformed). Byte by byte, as every launch reads
/// it: the `str` splitters took ~5,000 instructions a line.
pub fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.as_bytes()
        .split(|&b| b == b'\n')
        .filter_map(parse_line)
        .collect()
}

/// `id parent major:minor root point options [optional...] - fstype source super_options`.
/// Names never hold a space (mountinfo escapes it), so the fields are split at spaces and the
/// first lone `-` after the options ends the head.
fn parse_line(line: &[u8]) -> Option<Mount> {
    let mut fields = line.split(|&b| b == b' ');
    // id, parent, dev, root, mount point, options: the first six of the head.
    let (dev, root, point, options) = (
        fields.nth(2)?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
    );
    fields.find(|f| *f == b"-")?;
    let fstype = fields.next().unwrap_or(b"");
    let super_options = fields.nth(1).unwrap_or(b"");
    let colon = dev.iter().position(|&b| b == b':')?;
    let has_ro = |opts: &[u8]| opts.split(|&b| b == b',').any(|o| o == b"ro");
    Some(Mount {
        dev: (decimal(&dev[..colon])?, decimal(&dev[colon + 1..])?),
        root: unescape(root),
        point: unescape(point),
        read_only: has_ro(options) || has_ro(super_options),
        fstype: String::from_utf8_lossy(fstype).into_owned(),
    })
}

/// A `u32` written in decimal digits only (a device number).
fn decimal(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u32, |n, &d| {
        let digit = char::from(d).to_digit(10)?;
        n.checked_mul(10)?.checked_add(digit)
    })
}

/// mountinfo writes space, tab, newline and backslash as `\ooo` octal escapes.
fn unescape(field: &[u8]) -> PathBuf {
    if !field.contains(&b'\\') {
        return PathBuf::from(std::ffi::OsStr::from_bytes(field));
    }
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let octal = (field[i] == b'\\')
            .then(|| field.get(i + 1..i + 4))
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
                out.push(field[i]);
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
        .filter(|(_, m)| is_within(path, &m.point))
        .max_by_key(|(i, m)| (m.point.as_os_str().len(), *i))
        .map(|(_, m)| m)
}

/// `Path::starts_with` for canonical absolute paths (no `.`, `..`, repeated or trailing
/// `/`), compared as bytes: `path` is `dir` or lies beneath it. A launch asks this some 200
/// times, and the component walk cost ~400 instructions each.
fn is_within(path: &Path, dir: &Path) -> bool {
    let (path, dir) = (path.as_os_str().as_bytes(), dir.as_os_str().as_bytes());
    match path.strip_prefix(dir) {
        Some(rest) => rest.is_empty() || rest[0] == b'/' || dir.ends_with(b"/"),
        None => false,
    }
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
        .any(|m| is_within(&m.point, path) && m.point != path && writable(m))
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
    fn optional_fields_and_odd_lines_parse_as_the_kernel_writes_them() {
        let text = "60 27 0:40 / /opt/shared rw,nosuid shared:5 master:1 - tmpfs none ro,size=4k\n\
                    61 27 0:41 / /x rw - fuse.sshfs host:/a\\040b rw\n\
                    62 27 0:4x / /y rw - ext4 /dev/x rw\n\
                    63 27 7:0 / /z rw no-separator ext4 /dev/x rw\n\
                    64 27 4294967296:0 / /w rw - ext4 /dev/x rw\n\
                    65 27 :1 / /v rw - ext4 /dev/x rw\n\
                    66 27 8:1 /a\\134b /u\\011t ro - xfs /dev/y rw";
        let m = parse_mountinfo(text);
        let got: Vec<_> = m
            .iter()
            .map(|m| {
                (
                    m.dev,
                    m.root.clone(),
                    m.point.clone(),
                    m.read_only,
                    m.fstype.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ((0, 40), "/".into(), "/opt/shared".into(), true, "tmpfs"),
                ((0, 41), "/".into(), "/x".into(), false, "fuse.sshfs"),
                ((8, 1), "/a\\b".into(), "/u\tt".into(), true, "xfs"),
            ]
        );
    }

    #[test]
    fn the_byte_prefix_test_answers_as_path_starts_with_for_canonical_paths() {
        let dirs = ["/", "/data", "/data/x", "/proc/sys", "/srv/data copy", "/d"];
        let paths = [
            "/",
            "/data",
            "/data/",
            "/data/x",
            "/datafile",
            "/data/xy",
            "/data/x/y",
            "/proc",
            "/proc/sys",
            "/proc/sysrq-trigger",
            "/proc/sys/kernel",
            "/srv/data copy/a",
            "/srv/data",
            "/d",
            "/dd",
            "/d/e",
        ];
        for dir in dirs {
            for path in paths {
                assert_eq!(
                    is_within(Path::new(path), Path::new(dir)),
                    Path::new(path).starts_with(dir),
                    "{path} within {dir}"
                );
            }
        }
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

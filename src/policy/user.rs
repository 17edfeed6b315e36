//! `--user USER[:GROUP]` and `--groups LIST`, resolved against the image's /etc/passwd and
//! /etc/group (read by the caller: a static musl binary has no NSS to ask). Parsed as bytes,
//! as libc does: a Latin-1 GECOS field or name is no reason to refuse a start, and names are
//! compared byte for byte.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum UserError {
    #[error("--user: no such user '{0}' in /etc/passwd")]
    NoSuchUser(String),
    #[error("{flag}: no such group '{name}' in /etc/group")]
    NoSuchGroup { flag: &'static str, name: String },
    #[error("--user: empty user name in '{0}'")]
    EmptyUser(String),
    #[error("{flag}: '{value}' is not a valid id")]
    BadId { flag: &'static str, value: String },
}

/// One /etc/passwd line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdEntry {
    pub name: Vec<u8>,
    pub uid: u32,
    pub gid: u32,
    pub home: Vec<u8>,
}

/// One /etc/group line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEntry {
    pub name: Vec<u8>,
    pub gid: u32,
    pub members: Vec<Vec<u8>>,
}

/// The identity the program runs under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The passwd name, when the uid has an entry (bytes that are not UTF-8 shown as U+FFFD).
    pub name: Option<String>,
    pub uid: u32,
    pub gid: u32,
    /// Sorted, without duplicates.
    pub groups: Vec<u32>,
    pub home: OsString,
}

/// The lines of a database, comments left out.
fn records(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    text.split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .filter(|line| !line.is_empty() && !line.starts_with(b"#"))
}

/// A decimal id field.
fn parse_number(field: &[u8]) -> Option<u32> {
    std::str::from_utf8(field).ok()?.parse().ok()
}

/// Parses passwd bytes; malformed lines are skipped, as libc does.
pub fn parse_passwd(text: &[u8]) -> Vec<PasswdEntry> {
    records(text)
        .filter_map(|line| {
            // Fields in place, without a Vec per line: this runs at every start.
            let mut f = line.split(|&b| b == b':');
            let (name, _, uid, gid, _, home) = (
                f.next()?,
                f.next()?,
                f.next()?,
                f.next()?,
                f.next()?,
                f.next()?,
            );
            f.next()?;
            Some(PasswdEntry {
                name: name.to_vec(),
                uid: parse_number(uid)?,
                gid: parse_number(gid)?,
                home: home.to_vec(),
            })
        })
        .collect()
}

/// Parses group bytes; malformed lines are skipped.
pub fn parse_group(text: &[u8]) -> Vec<GroupEntry> {
    records(text)
        .filter_map(|line| {
            let mut f = line.split(|&b| b == b':');
            let (name, _, gid, members) = (f.next()?, f.next()?, f.next()?, f.next()?);
            Some(GroupEntry {
                name: name.to_vec(),
                gid: parse_number(gid)?,
                members: members
                    .split(|&b| b == b',')
                    .filter(|m| !m.is_empty())
                    .map(<[u8]>::to_vec)
                    .collect(),
            })
        })
        .collect()
}

fn display_name(name: &[u8]) -> String {
    String::from_utf8_lossy(name).into_owned()
}

/// The passwd and group databases of the image.
pub struct Databases {
    pub passwd: Vec<PasswdEntry>,
    pub group: Vec<GroupEntry>,
}

impl Databases {
    pub fn parse(passwd: &[u8], group: &[u8]) -> Self {
        Databases {
            passwd: parse_passwd(passwd),
            group: parse_group(group),
        }
    }

    fn user_by_uid(&self, uid: u32) -> Option<&PasswdEntry> {
        self.passwd.iter().find(|e| e.uid == uid)
    }

    /// Resolves a group name or number.
    pub fn resolve_group(&self, flag: &'static str, spec: &str) -> Result<u32, UserError> {
        if let Some(id) = parse_id(flag, spec)? {
            return Ok(id);
        }
        self.group
            .iter()
            .find(|g| g.name == spec.as_bytes())
            .map(|g| g.gid)
            .ok_or_else(|| UserError::NoSuchGroup {
                flag,
                name: spec.to_string(),
            })
    }

    /// The groups /etc/group lists `name` in, sorted.
    fn member_groups(&self, name: &[u8]) -> Vec<u32> {
        let mut gids: Vec<u32> = self
            .group
            .iter()
            .filter(|g| g.members.iter().any(|m| m == name))
            .map(|g| g.gid)
            .collect();
        gids.sort_unstable();
        gids.dedup();
        gids
    }

    /// Resolves `USER[:GROUP]` and the supplementary groups. A named user gets the groups
    /// /etc/group lists it in; a numeric uid gets none; `groups` (from `--groups`) replaces
    /// either. A numeric uid without a passwd entry gets gid = uid, never root's gid 0.
    pub fn resolve(
        &self,
        user_spec: &str,
        groups: Option<&[String]>,
    ) -> Result<Identity, UserError> {
        let (user, group) = match user_spec.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (user_spec, None),
        };
        if user.is_empty() {
            return Err(UserError::EmptyUser(user_spec.to_string()));
        }
        let (entry, uid, primary_gid, numeric) = match parse_id("--user", user)? {
            Some(uid) => match self.user_by_uid(uid) {
                Some(e) => (Some(e), uid, e.gid, true),
                None => (None, uid, uid, true),
            },
            None => {
                let e = self
                    .passwd
                    .iter()
                    .find(|e| e.name == user.as_bytes())
                    .ok_or_else(|| UserError::NoSuchUser(user.to_string()))?;
                (Some(e), e.uid, e.gid, false)
            }
        };
        let gid = match group {
            Some(g) if !g.is_empty() => self.resolve_group("--user", g)?,
            _ => primary_gid,
        };
        let groups = match groups {
            Some(list) => self.resolve_groups(list)?,
            None if numeric => Vec::new(),
            None => entry
                .map(|e| self.member_groups(&e.name))
                .unwrap_or_default(),
        };
        Ok(Identity {
            name: entry.map(|e| display_name(&e.name)),
            uid,
            gid,
            groups,
            home: home_of(entry),
        })
    }

    /// Resolves `--groups` entries (names or numbers), sorted and deduplicated.
    pub fn resolve_groups(&self, list: &[String]) -> Result<Vec<u32>, UserError> {
        let mut gids = list
            .iter()
            .flat_map(|l| l.split(','))
            .filter(|s| !s.is_empty())
            .map(|s| self.resolve_group("--groups", s))
            .collect::<Result<Vec<u32>, UserError>>()?;
        gids.sort_unstable();
        gids.dedup();
        Ok(gids)
    }

    /// The identity of an existing uid/gid (hardinit's own when no `--user` is given).
    pub fn describe(&self, uid: u32, gid: u32, groups: Vec<u32>) -> Identity {
        let entry = self.user_by_uid(uid);
        Identity {
            name: entry.map(|e| display_name(&e.name)),
            uid,
            gid,
            groups,
            home: home_of(entry),
        }
    }
}

/// The entry's home directory; `/` without an entry or with an empty field.
fn home_of(entry: Option<&PasswdEntry>) -> OsString {
    match entry {
        Some(e) if !e.home.is_empty() => OsString::from_vec(e.home.clone()),
        _ => OsString::from("/"),
    }
}

/// `Some(id)` for an all-digit spec, `None` for a name.
fn parse_id(flag: &'static str, spec: &str) -> Result<Option<u32>, UserError> {
    if !spec.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    // (uid_t)-1 is no id: setresuid and setresgid read it as "leave unchanged".
    spec.parse()
        .ok()
        .filter(|&id| id != u32::MAX)
        .map(Some)
        .ok_or_else(|| UserError::BadId {
            flag,
            value: spec.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &[u8] = b"root:x:0:0:root:/root:/bin/bash\n\
        nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n\
        node:x:1000:1000::/home/node:/bin/sh\n\
        broken line\n";
    const GROUP: &[u8] = b"root:x:0:\nwheel:x:10:node,alice\naudio:x:29:node\n\
        node:x:1000:\nnogroup:x:65534:\n";

    fn db() -> Databases {
        Databases::parse(PASSWD, GROUP)
    }

    #[test]
    fn bytes_that_are_not_utf8_are_read_and_compared_as_bytes() {
        let passwd = b"root:x:0:0:r\xe9my:/root:/bin/sh\nj\xf6rg:x:1001:1001:J\xf6rg:/home/j\xf6rg:/bin/sh\r\n";
        let group = b"caf\xe9:x:50:j\xf6rg\n";
        let db = Databases::parse(passwd, group);
        assert_eq!(db.passwd.len(), 2);
        let id = db.describe(0, 0, vec![]);
        assert_eq!(
            (id.name.as_deref(), id.home.to_str()),
            (Some("root"), Some("/root"))
        );
        // A name that is not UTF-8 cannot come from the command line, but its entry still
        // serves a numeric uid, with its groups found by its bytes.
        let id = db.resolve("1001", Some(&["50".to_string()])).unwrap();
        assert_eq!(id.name.as_deref(), Some("j\u{fffd}rg"));
        assert_eq!(id.home, OsString::from_vec(b"/home/j\xf6rg".to_vec()));
        assert_eq!(db.member_groups(b"j\xf6rg"), vec![50]);
        assert_eq!(
            db.resolve_group("--groups", "caf\u{e9}")
                .unwrap_err()
                .to_string(),
            "--groups: no such group 'caf\u{e9}' in /etc/group"
        );
    }

    #[test]
    fn named_user_gets_its_entry_and_member_groups() {
        let id = db().resolve("node", None).unwrap();
        assert_eq!(
            id,
            Identity {
                name: Some("node".into()),
                uid: 1000,
                gid: 1000,
                groups: vec![10, 29],
                home: "/home/node".into()
            }
        );
    }

    #[test]
    fn numeric_uid_without_entry_gets_gid_equal_uid_and_no_groups() {
        let id = db().resolve("4242", None).unwrap();
        assert_eq!(
            (id.uid, id.gid, id.groups.clone(), id.home.to_str()),
            (4242, 4242, vec![], Some("/"))
        );
        assert_eq!(id.name, None);
    }

    #[test]
    fn numeric_uid_with_entry_takes_its_gid_and_home_but_no_groups() {
        let id = db().resolve("1000", None).unwrap();
        assert_eq!(
            (id.uid, id.gid, id.groups.clone(), id.home.to_str()),
            (1000, 1000, vec![], Some("/home/node"))
        );
    }

    #[test]
    fn group_part_and_explicit_groups_override() {
        let id = db()
            .resolve(
                "1000:wheel",
                Some(&["20,audio".to_string(), "20".to_string()]),
            )
            .unwrap();
        assert_eq!((id.gid, id.groups), (10, vec![20, 29]));
    }

    #[test]
    fn unknown_names_are_errors_naming_the_flag() {
        assert_eq!(
            db().resolve("x", None),
            Err(UserError::NoSuchUser("x".into()))
        );
        assert_eq!(
            db().resolve("node:nope", None).unwrap_err().to_string(),
            "--user: no such group 'nope' in /etc/group"
        );
        assert_eq!(
            db().resolve("node", Some(&["bogus".to_string()]))
                .unwrap_err()
                .to_string(),
            "--groups: no such group 'bogus' in /etc/group"
        );
        assert_eq!(
            db().resolve("99999999999", None).unwrap_err().to_string(),
            "--user: '99999999999' is not a valid id"
        );
        assert_eq!(
            db().resolve("4294967295", None).unwrap_err().to_string(),
            "--user: '4294967295' is not a valid id"
        );
        assert_eq!(
            db().resolve("0:4294967295", None).unwrap_err().to_string(),
            "--user: '4294967295' is not a valid id"
        );
        assert_eq!(
            db().resolve(":10", None),
            Err(UserError::EmptyUser(":10".into()))
        );
    }
}

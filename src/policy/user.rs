//! `--user USER[:GROUP]` and `--groups LIST`, resolved against the image's /etc/passwd and
//! /etc/group text (read by the caller: a static musl binary has no NSS to ask).

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
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
}

/// One /etc/group line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEntry {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
}

/// The identity the program runs under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The passwd name, when the uid has an entry.
    pub name: Option<String>,
    pub uid: u32,
    pub gid: u32,
    /// Sorted, without duplicates.
    pub groups: Vec<u32>,
    pub home: String,
}

/// Parses passwd text; malformed lines are skipped, as libc does.
pub fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            // Fields in place, without a Vec per line: this runs at every start.
            let mut f = line.split(':');
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
                name: name.to_string(),
                uid: uid.parse().ok()?,
                gid: gid.parse().ok()?,
                home: home.to_string(),
            })
        })
        .collect()
}

/// Parses group text; malformed lines are skipped.
pub fn parse_group(text: &str) -> Vec<GroupEntry> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let mut f = line.split(':');
            let (name, _, gid, members) = (f.next()?, f.next()?, f.next()?, f.next()?);
            Some(GroupEntry {
                name: name.to_string(),
                gid: gid.parse().ok()?,
                members: members
                    .split(',')
                    .filter(|m| !m.is_empty())
                    .map(str::to_string)
                    .collect(),
            })
        })
        .collect()
}

/// The passwd and group databases of the image.
pub struct Databases {
    pub passwd: Vec<PasswdEntry>,
    pub group: Vec<GroupEntry>,
}

impl Databases {
    pub fn parse(passwd: &str, group: &str) -> Self {
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
            .find(|g| g.name == spec)
            .map(|g| g.gid)
            .ok_or_else(|| UserError::NoSuchGroup {
                flag,
                name: spec.to_string(),
            })
    }

    /// The groups /etc/group lists `name` in, sorted.
    fn member_groups(&self, name: &str) -> Vec<u32> {
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
        let (name, uid, primary_gid, home, numeric) = match parse_id("--user", user)? {
            Some(uid) => match self.user_by_uid(uid) {
                Some(e) => (Some(e.name.clone()), uid, e.gid, e.home.clone(), true),
                None => (None, uid, uid, "/".to_string(), true),
            },
            None => {
                let e = self
                    .passwd
                    .iter()
                    .find(|e| e.name == user)
                    .ok_or_else(|| UserError::NoSuchUser(user.to_string()))?;
                (Some(e.name.clone()), e.uid, e.gid, e.home.clone(), false)
            }
        };
        let gid = match group {
            Some(g) if !g.is_empty() => self.resolve_group("--user", g)?,
            _ => primary_gid,
        };
        let groups = match groups {
            Some(list) => self.resolve_groups(list)?,
            None if numeric => Vec::new(),
            None => name
                .as_deref()
                .map(|n| self.member_groups(n))
                .unwrap_or_default(),
        };
        Ok(Identity {
            name,
            uid,
            gid,
            groups,
            home: if home.is_empty() {
                "/".to_string()
            } else {
                home
            },
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
            name: entry.map(|e| e.name.clone()),
            uid,
            gid,
            groups,
            home: entry.map_or_else(|| "/".to_string(), |e| e.home.clone()),
        }
    }
}

/// `Some(id)` for an all-digit spec, `None` for a name.
fn parse_id(flag: &'static str, spec: &str) -> Result<Option<u32>, UserError> {
    if !spec.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    spec.parse().map(Some).map_err(|_| UserError::BadId {
        flag,
        value: spec.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n\
        nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n\
        node:x:1000:1000::/home/node:/bin/sh\n\
        broken line\n";
    const GROUP: &str = "root:x:0:\nwheel:x:10:node,alice\naudio:x:29:node\n\
        node:x:1000:\nnogroup:x:65534:\n";

    fn db() -> Databases {
        Databases::parse(PASSWD, GROUP)
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
            (id.uid, id.gid, id.groups.clone(), id.home.as_str()),
            (4242, 4242, vec![], "/")
        );
        assert_eq!(id.name, None);
    }

    #[test]
    fn numeric_uid_with_entry_takes_its_gid_and_home_but_no_groups() {
        let id = db().resolve("1000", None).unwrap();
        assert_eq!(
            (id.uid, id.gid, id.groups.clone(), id.home.as_str()),
            (1000, 1000, vec![], "/home/node")
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
            db().resolve(":10", None),
            Err(UserError::EmptyUser(":10".into()))
        );
    }
}

//! The learned profile: the union of what an existing FILE allows, the hot base (assumed) and
//! what a run was seen doing, written as OCI JSON with no count, pid or time in it, sorted, so
//! two runs of the same workload write the same bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::super::model::{Action, ArgCmp};
use super::super::{syscalls, Origin, Profile, Rule};
use super::{conditions, decisive, hot_base, hot_conditions, Recording};

/// EPERM for what was never seen: the answer Docker and runc give.
const DEFAULT: Action = Action::Errno(libc::EPERM as u16);
/// clone3's flags sit behind a pointer no filter can read: ENOSYS makes glibc fall back to
/// clone, whose flags the profile does compare.
const CLONE3: Action = Action::Errno(libc::ENOSYS as u16);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LearnError {
    #[error("cannot merge into {path}: its defaultAction is {action}, and a learned profile refuses with errno 1 (EPERM); learn into a new file")]
    MergeDefault { path: String, action: Action },
}

/// Where an entry of the learned profile came from, for the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// Made in this run.
    Observed,
    /// Allowed by the hot base without being observed.
    Assumed,
    /// In FILE before this run.
    FromFile,
}

/// The profile being learned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Learned {
    /// Calls allowed whatever the arguments.
    outright: BTreeMap<String, Source>,
    /// Calls allowed when one of these condition lists holds.
    by_args: BTreeMap<String, BTreeMap<Vec<ArgCmp>, Source>>,
    /// FILE's entries that are not allow rules (a refusal the user wrote), kept as they are.
    kept: Vec<Rule>,
    /// FILE's SECCOMP_FILTER_FLAG_* bits.
    flags: u32,
    /// x86_64 names FILE listed that are unknown here (another arch's), kept outright. Rules
    /// hold `&'static str`: these few are leaked once, when FILE is read (`from_profile`).
    foreign: BTreeSet<&'static str>,
}

impl Default for Learned {
    fn default() -> Self {
        Learned::empty()
    }
}

impl Learned {
    /// Nothing allowed yet.
    pub fn empty() -> Learned {
        Learned {
            outright: BTreeMap::new(),
            by_args: BTreeMap::new(),
            kept: Vec::new(),
            flags: 0,
            foreign: BTreeSet::new(),
        }
    }

    /// What an existing FILE allows, to merge a run into. Only a profile that refuses with
    /// EPERM by default can take a union of allowed calls without changing its meaning.
    pub fn from_profile(profile: &Profile) -> Result<Learned, LearnError> {
        if profile.default_action != DEFAULT {
            return Err(LearnError::MergeDefault {
                path: profile.origin.to_string(),
                action: profile.default_action,
            });
        }
        let mut learned = Learned::empty();
        learned.flags = profile.flags;
        for rule in &profile.rules {
            learned.take_rule(rule);
        }
        // Read once per run, so leaking the names of other architectures FILE lists is bounded
        // by FILE (a few bytes each) and lets every rule hold a `&'static str`.
        learned.foreign.extend(
            profile
                .unknown_names
                .iter()
                .map(|n| &*Box::leak(n.clone().into_boxed_str())),
        );
        Ok(learned)
    }

    fn take_rule(&mut self, rule: &Rule) {
        match (rule.action, rule.args.is_empty()) {
            (Action::Allow, true) => {
                for name in &rule.names {
                    self.allow(name, Source::FromFile);
                }
            }
            (Action::Allow, false) => {
                for name in &rule.names {
                    self.allow_if(name, rule.args.clone(), Source::FromFile);
                }
            }
            _ if is_clone3_rule(rule) => {}
            _ => {
                let same = |k: &Rule| {
                    k.names == rule.names && k.action == rule.action && k.args == rule.args
                };
                if !self.kept.iter().any(same) {
                    self.kept.push(rule.clone());
                }
            }
        }
    }

    /// Adds the hot base, as assumed.
    pub fn add_hot_base(&mut self) {
        for name in hot_base() {
            self.allow(name, Source::Assumed);
        }
        for (name, conds) in hot_conditions() {
            self.allow_if(name, conds, Source::Assumed);
        }
    }

    /// Adds what a run was seen doing; true when the profile's bytes change (a call or
    /// argument rule that was not there), not when a known entry is only seen again.
    pub fn add_recording(&mut self, recording: &Recording) -> bool {
        let mut grew = false;
        for (&nr, seen) in &recording.calls {
            let Some(name) = syscalls::name(nr) else {
                continue;
            };
            if decisive(name).is_none() {
                grew |= self.allow(name, Source::Observed);
                continue;
            }
            for keys in seen.keys.keys() {
                grew |= self.allow_if(name, conditions(name, keys), Source::Observed);
            }
        }
        grew
    }

    /// `name` whatever the arguments; true when it is new. An observation outranks an
    /// assumption or FILE.
    fn allow(&mut self, name: &str, source: Source) -> bool {
        let new = !self.outright.contains_key(name);
        let entry = self.outright.entry(name.to_owned()).or_insert(source);
        *entry = (*entry).min(source);
        new
    }

    /// `name` when `conds` hold; true when the rule is new.
    fn allow_if(&mut self, name: &str, conds: Vec<ArgCmp>, source: Source) -> bool {
        let rules = self.by_args.entry(name.to_owned()).or_default();
        let new = !rules.contains_key(&conds);
        let entry = rules.entry(conds).or_insert(source);
        *entry = (*entry).min(source);
        new && !self.outright.contains_key(name)
    }

    /// The calls allowed whatever the arguments, with where each came from.
    pub fn outright(&self) -> impl Iterator<Item = (&str, Source)> {
        self.outright.iter().map(|(n, s)| (n.as_str(), *s))
    }

    /// The argument rules of calls not allowed outright, with where each came from.
    pub fn by_args(&self) -> impl Iterator<Item = (&str, &[ArgCmp], Source)> {
        self.by_args
            .iter()
            .filter(|(name, _)| !self.outright.contains_key(*name))
            .flat_map(|(name, rules)| {
                rules
                    .iter()
                    .map(move |(conds, s)| (name.as_str(), conds.as_slice(), *s))
            })
    }

    /// The learned profile as hardinit enforces it. `origin` names FILE in messages.
    pub fn to_profile(&self, origin: PathBuf) -> Profile {
        let mut rules = Vec::new();
        let mut push = |names: Vec<&'static str>, action: Action, args: Vec<ArgCmp>| {
            rules.push(Rule {
                entry: rules.len(),
                names,
                action,
                args,
            });
        };
        // Every call recorded or taken from FILE's rules has a native name.
        let known = |name: &str| syscalls::NATIVE.known_name(name);
        let mut outright: Vec<&'static str> = self
            .outright
            .keys()
            .filter_map(|name| known(name))
            .chain(self.foreign.iter().copied())
            .collect();
        outright.sort_unstable();
        outright.dedup();
        if !outright.is_empty() {
            push(outright, Action::Allow, Vec::new());
        }
        for (name, conds, _) in self.by_args() {
            if let Some(name) = known(name) {
                push(vec![name], Action::Allow, conds.to_vec());
            }
        }
        push(vec!["clone3"], CLONE3, Vec::new());
        for rule in &self.kept {
            push(rule.names.clone(), rule.action, rule.args.clone());
        }
        Profile {
            arch: syscalls::NATIVE,
            origin: Origin::File(origin),
            default_action: DEFAULT,
            flags: self.flags,
            rules,
            unknown_names: self.foreign.iter().map(|n| n.to_string()).collect(),
        }
    }

    /// The file's bytes: OCI JSON in the layout `--export-seccomp` uses.
    pub fn to_oci_json(&self) -> String {
        self.to_profile(PathBuf::new()).to_oci_json()
    }
}

fn is_clone3_rule(rule: &Rule) -> bool {
    rule.names == ["clone3"] && rule.action == CLONE3 && rule.args.is_empty()
}

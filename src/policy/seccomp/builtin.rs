//! The profiles compiled into hardinit, resolved at build time (`build.rs`) for each
//! architecture as far as the machine does not matter: what is left for the start is Docker's
//! capability and kernel conditions, which name the program's capabilities and the running
//! kernel.

use std::fmt;

use super::model::{Action, ArgCmp, Op};
use super::syscalls::Arch;
use super::{eval, Context, Origin, Profile, Rule, SeccompError};

/// Docker's default seccomp profile, unchanged: moby/profiles, seccomp/default.json at commit
/// cd3bed8061c7b7378b61fc6827c7885779417a75. Copyright The Moby Authors, Apache License 2.0
/// (see NOTICE at the repository root). Compiled in as `DEFAULT_*` tables, not as text.
#[cfg(test)]
const DOCKER_DEFAULT: &str = include_str!("docker-default.json");

/// hardinit's Node.js profile; docs/seccomp-node.md tells how it was derived.
#[cfg(test)]
const NODE: &str = include_str!("node.json");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    /// Docker's default profile: the same answer as `docker run` for every call.
    Default,
    /// A Node.js profile derived from what Node.js 20 to 26 can call for its core API
    /// (docs/seccomp-node.md), checked with tests/fixtures/node/battery.js; tighter than Docker's.
    Node,
}

impl Builtin {
    pub fn name(self) -> &'static str {
        match self {
            Builtin::Default => "default",
            Builtin::Node => "node",
        }
    }

    pub fn from_name(name: &str) -> Option<Builtin> {
        [Builtin::Default, Builtin::Node]
            .into_iter()
            .find(|b| b.name() == name)
    }

    /// The profile as written, which build.rs compiled in.
    #[cfg(test)]
    pub(crate) fn json(self) -> &'static str {
        match self {
            Builtin::Default => DOCKER_DEFAULT,
            Builtin::Node => NODE,
        }
    }

    /// The profile resolved for `arch` at build time. build.rs makes one for every arch in
    /// `syscalls::ALL` (a test checks it); the binary has only its own (`Context::arch` is
    /// `NATIVE` but in tests).
    fn table(self, arch: &Arch) -> Option<&'static Table> {
        match self {
            Builtin::Default => tables::default(arch.name),
            Builtin::Node => tables::node(arch.name),
        }
    }

    /// What the profile applies in `ctx`: the same as parsing its JSON and resolving that
    /// (`eval::resolve_raw`), which a test checks for every arch and context.
    pub(crate) fn resolve(self, ctx: &Context) -> Result<Profile, SeccompError> {
        let origin = Origin::Builtin(self);
        let Some(table) = self.table(ctx.arch) else {
            return Err(SeccompError::NoBuiltinTable {
                profile: origin.to_string(),
                arch: ctx.arch.name,
            });
        };
        let profile = origin.to_string();
        for arch in table.foreign_arches {
            eval::log_foreign_architecture(&profile, arch);
        }
        let mut rules = Vec::new();
        let mut unknown_names = Vec::new();
        for entry in table.entries.iter().filter(|e| e.applies(ctx)) {
            for name in entry.unknown {
                eval::log_unknown_name(&profile, entry.index.into(), name, ctx.arch);
            }
            unknown_names.extend(entry.unknown.iter().map(|n| n.to_string()));
            if entry.calls.is_empty() {
                continue;
            }
            rules.push(Rule {
                entry: entry.index.into(),
                names: entry
                    .calls
                    .iter()
                    .map(|&i| ctx.arch.calls[usize::from(i)].0)
                    .collect(),
                action: entry.action,
                args: entry.args.to_vec(),
            });
        }
        unknown_names.sort();
        unknown_names.dedup();
        Ok(Profile {
            arch: ctx.arch,
            origin,
            default_action: table.default_action,
            flags: table.flags,
            rules,
            unknown_names,
        })
    }
}

impl fmt::Display for Builtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A built-in profile for one arch: checked, its `arches` conditions evaluated.
struct Table {
    default_action: Action,
    /// SECCOMP_FILTER_FLAG_* bits.
    flags: u32,
    /// The other architectures the profile lists, which hardinit does not filter.
    foreign_arches: &'static [&'static str],
    /// The `syscalls[]` entries that can apply on this arch.
    entries: &'static [Entry],
}

/// One `syscalls[]` entry.
struct Entry {
    /// Its index in the profile's `syscalls`.
    index: u16,
    /// The names the arch has, as indices into its `calls`, in the profile's order.
    calls: &'static [u16],
    /// The names it does not have.
    unknown: &'static [&'static str],
    action: Action,
    args: &'static [ArgCmp],
    /// `includes`: every capability held, and the kernel at least this version.
    include_caps: &'static [&'static str],
    include_kernel: Option<(u8, u8)>,
    /// `excludes`: any capability held, or the kernel at least this version, leaves it out.
    exclude_caps: &'static [&'static str],
    exclude_kernel: Option<(u8, u8)>,
}

impl Entry {
    /// Docker's `includes`/`excludes` for the program's capabilities and the kernel.
    fn applies(&self, ctx: &Context) -> bool {
        let at_least = |min: Option<(u8, u8)>| {
            min.map(|(major, minor)| ctx.kernel >= (u32::from(major), u32::from(minor)))
        };
        let included = self
            .include_caps
            .iter()
            .all(|cap| eval::has_capability(ctx.caps, cap))
            && at_least(self.include_kernel).unwrap_or(true);
        let excluded = self
            .exclude_caps
            .iter()
            .any(|cap| eval::has_capability(ctx.caps, cap))
            || at_least(self.exclude_kernel).unwrap_or(false);
        included && !excluded
    }
}

/// `default(arch)` and `node(arch)`: the tables by arch name.
mod tables {
    use super::{Action, ArgCmp, Entry, Op, Table};

    include!(concat!(env!("OUT_DIR"), "/builtin_profiles.rs"));
}

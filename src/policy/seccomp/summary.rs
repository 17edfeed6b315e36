//! What `--print-policy` says about a profile: what each of the arch's calls gets, counted.

use std::fmt;

use super::eval::FilterPlan;
use super::model::{self, Action};
use super::syscalls::{Arch, TABLES_UP_TO};
use super::{bpf, Profile};

/// How one native system call is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Treatment {
    /// The same action whatever the arguments, named by the profile.
    Always(Action),
    /// The action depends on the arguments.
    ByArguments,
    /// Not named: the default action.
    Default,
    /// Above the highest number the profile names: ENOSYS.
    AboveHighest,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub arch: &'static Arch,
    pub origin: String,
    pub default_action: Action,
    pub flags: Vec<&'static str>,
    /// Treatments in a fixed order, each with the calls it covers (by number).
    pub groups: Vec<(Treatment, Vec<&'static str>)>,
    pub enosys_above: Option<u32>,
    pub unknown_names: usize,
    /// Instructions in the compiled filter and the most any call walks; `None` when it
    /// does not compile (the error is reported by `compile`).
    pub bpf: Option<(usize, usize)>,
}

impl Summary {
    pub fn count(&self, outcome: Treatment) -> usize {
        self.names(outcome).len()
    }

    pub fn names(&self, outcome: Treatment) -> &[&'static str] {
        self.groups
            .iter()
            .find(|(o, _)| *o == outcome)
            .map_or(&[], |(_, names)| names.as_slice())
    }
}

/// `profile` is `None` for unconfined (with the floor alone).
pub(crate) fn summarize(profile: Option<&Profile>, plan: &FilterPlan) -> Summary {
    let mut groups: Vec<(Treatment, Vec<&'static str>)> = Vec::new();
    for &(name, nr) in plan.arch.calls {
        let outcome = outcome(plan, nr);
        match groups.iter_mut().find(|(o, _)| *o == outcome) {
            Some((_, names)) => names.push(name),
            None => groups.push((outcome, vec![name])),
        }
    }
    groups.sort_by_key(|(outcome, _)| group_order(*outcome));
    let bpf = bpf::emit(plan)
        .ok()
        .map(|program| (program.len(), bpf::worst_case_walk(&program)));
    Summary {
        arch: plan.arch,
        origin: profile.map_or_else(
            || "unconfined (hardinit's floor only)".to_owned(),
            |p| p.origin.to_string(),
        ),
        default_action: plan.default,
        flags: model::flag_names(profile.map_or(0, |p| p.flags)),
        groups,
        enosys_above: plan.enosys_above,
        unknown_names: profile.map_or(0, |p| p.unknown_names.len()),
        bpf,
    }
}

fn outcome(plan: &FilterPlan, nr: u32) -> Treatment {
    if plan.enosys_above.is_some_and(|max| nr > max) {
        return Treatment::AboveHighest;
    }
    match plan.decisions.get(&nr) {
        None => Treatment::Default,
        Some(decision) => decision
            .unconditional()
            .map_or(Treatment::ByArguments, Treatment::Always),
    }
}

/// Allowed first, then the rest from the most permissive action to the strongest.
fn group_order(outcome: Treatment) -> (u8, i64) {
    match outcome {
        Treatment::Always(action) => (0, -i64::from(action.strength_rank())),
        Treatment::ByArguments => (1, 0),
        Treatment::Default => (2, 0),
        Treatment::AboveHighest => (3, 0),
    }
}

/// Groups this small are listed by name.
const LIST_NAMES_UP_TO: usize = 12;

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "seccomp: {}", self.origin)?;
        writeln!(f, "  default action: {}", self.default_action)?;
        writeln!(
            f,
            "  {} system calls ({} known, up to {TABLES_UP_TO}); foreign-ABI calls are killed:",
            self.arch.name,
            self.arch.calls.len(),
        )?;
        for (outcome, names) in &self.groups {
            write!(f, "    {:>4}  {}", names.len(), self.describe(*outcome))?;
            if names.len() <= LIST_NAMES_UP_TO {
                write!(f, ": {}", names.join(" "))?;
            }
            writeln!(f)?;
        }
        writeln!(
            f,
            "  names not on {}, skipped: {}",
            self.arch.name, self.unknown_names
        )?;
        if !self.flags.is_empty() {
            writeln!(f, "  flags: {}", self.flags.join(" "))?;
        }
        match self.bpf {
            Some((len, walk)) => write!(
                f,
                "  BPF: {len} instructions, at most {walk} walked per call"
            ),
            None => write!(f, "  BPF: does not compile"),
        }
    }
}

impl Summary {
    fn describe(&self, outcome: Treatment) -> String {
        match outcome {
            Treatment::Always(action) => action.to_string(),
            Treatment::ByArguments => "by argument rules".to_owned(),
            Treatment::Default => format!("default: {}", self.default_action),
            Treatment::AboveHighest => format!(
                "errno 38 (ENOSYS): above {}, the highest number named",
                self.enosys_above.unwrap_or_default()
            ),
        }
    }
}

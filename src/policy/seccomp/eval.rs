//! From a profile as written to what each native system call gets.
//!
//! Two stages. `resolve_raw` does what Docker does before a runtime sees a profile: evaluate
//! `includes`/`excludes` against the program's real capabilities, the native arch and the
//! running kernel, and expand `archMap`; it also checks every string. `plan` then does what
//! runc and libseccomp do with the result, as one decision per system call number.

use std::collections::BTreeMap;
use std::str::FromStr;

use super::floor::{self, Floor};
use super::model::{self, Action, ArgCmp, RawCondition, RawProfile, RawSyscall};
use super::syscalls::Arch;
use super::{At, Context, Origin, Problem, Profile, Rule, SeccompError};

pub(crate) fn resolve_raw(
    raw: RawProfile,
    origin: Origin,
    ctx: &Context,
) -> Result<Profile, SeccompError> {
    let profile = origin.to_string();
    if raw.architectures.is_some() && raw.arch_map.is_some() {
        return Err(SeccompError::whole(
            &profile,
            Problem::ArchitecturesAndArchMap,
        ));
    }
    log_foreign_architectures(&raw, &profile, ctx.arch);
    let default_action =
        model::parse_action(&raw.default_action, raw.default_errno_ret, &profile, None)?;
    let flags = model::parse_flags(raw.flags.as_deref().unwrap_or_default(), &profile)?;
    let mut rules = Vec::new();
    let mut unknown_names = Vec::new();
    for (entry, call) in raw.syscalls.iter().flatten().enumerate() {
        let Some((rule, unknown)) = check_entry(entry, call, &profile, ctx)? else {
            continue;
        };
        for name in &unknown {
            log_unknown_name(&profile, entry, name, ctx.arch);
        }
        unknown_names.extend(unknown);
        if !rule.names.is_empty() {
            rules.push(rule);
        }
    }
    unknown_names.sort();
    unknown_names.dedup();
    Ok(Profile {
        arch: ctx.arch,
        origin,
        default_action,
        flags,
        rules,
        unknown_names,
    })
}

/// Only the native architecture is filtered; the others a profile lists are what foreign-ABI
/// calls would need, and hardinit kills those instead.
/// Docker takes the `archMap` entry of the native arch and its `subArchitectures`.
fn log_foreign_architectures(raw: &RawProfile, profile: &str, native: &Arch) {
    let listed = raw.architectures.iter().flatten().chain(
        raw.arch_map
            .iter()
            .flatten()
            .filter(|map| map.architecture == native.scmp)
            .flat_map(|map| map.sub_architectures.iter().flatten()),
    );
    for arch in listed.filter(|arch| *arch != native.scmp) {
        log_foreign_architecture(profile, arch);
    }
}

pub(crate) fn log_foreign_architecture(profile: &str, arch: &str) {
    log::debug!("{profile}: architecture {arch} is not filtered: foreign-ABI calls are killed");
}

pub(crate) fn log_unknown_name(profile: &str, entry: usize, name: &str, arch: &Arch) {
    log::debug!(
        "{profile}: syscalls[{entry}]: `{name}` is not an {} system call; skipped",
        arch.name
    );
}

/// Checks one `syscalls[]` entry and decides, as Docker does, whether it applies here.
/// Every entry is checked, also those left out, so a typo shows up on any machine. The rule
/// keeps the names the arch has, as the table's own strings; the others come back apart.
fn check_entry(
    entry: usize,
    call: &RawSyscall,
    profile: &str,
    ctx: &Context,
) -> Result<Option<(Rule, Vec<String>)>, SeccompError> {
    let names = entry_names(entry, call, profile)?;
    let at = At::entry(entry, names.first().map(String::as_str));
    let action = model::parse_action(&call.action, call.errno_ret, profile, Some(&at))?;
    let args = call
        .args
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, arg)| model::parse_arg(arg, profile, &at.arg(i)))
        .collect::<Result<Vec<ArgCmp>, _>>()?;
    let excluded = match &call.excludes {
        Some(cond) => matches_any(cond, ctx, profile, &at)?,
        None => false,
    };
    let included = match &call.includes {
        Some(cond) => matches_all(cond, ctx, profile, &at)?,
        None => true,
    };
    if !included || excluded {
        return Ok(None);
    }
    let (mut known, mut unknown) = (Vec::with_capacity(names.len()), Vec::new());
    for name in names {
        match ctx.arch.known_name(&name) {
            Some(name) => known.push(name),
            None => unknown.push(name),
        }
    }
    let rule = Rule {
        entry,
        names: known,
        action,
        args,
    };
    Ok(Some((rule, unknown)))
}

/// `names`, or the legacy single `name` (Docker refuses both at once).
fn entry_names(
    entry: usize,
    call: &RawSyscall,
    profile: &str,
) -> Result<Vec<String>, SeccompError> {
    let names = match (&call.name, &call.names) {
        (Some(_), Some(names)) if !names.is_empty() => {
            return Err(SeccompError::at(
                profile,
                At::entry(entry, call.name.as_deref()),
                Problem::NameAndNames,
            ))
        }
        (Some(name), _) => vec![name.clone()],
        (None, names) => names.clone().unwrap_or_default(),
    };
    if names.is_empty() {
        return Err(SeccompError::at(
            profile,
            At::entry(entry, None),
            Problem::NoNames,
        ));
    }
    if names.iter().any(String::is_empty) {
        return Err(SeccompError::at(
            profile,
            At::entry(entry, None),
            Problem::EmptyName,
        ));
    }
    Ok(names)
}

/// `includes`: every listed condition must hold — all caps in the bounding set, the native
/// arch among `arches`, the running kernel at least `minKernel`.
fn matches_all(
    cond: &RawCondition,
    ctx: &Context,
    profile: &str,
    at: &At,
) -> Result<bool, SeccompError> {
    let arches_ok = cond
        .arches
        .as_ref()
        .is_none_or(|arches| arches.is_empty() || arches.iter().any(|a| a == ctx.arch.docker));
    let caps_ok = cond
        .caps
        .iter()
        .flatten()
        .all(|cap| has_capability(ctx.caps, cap));
    let kernel_ok = match min_kernel(cond, profile, at)? {
        Some(min) => ctx.kernel >= min,
        None => true,
    };
    Ok(arches_ok && caps_ok && kernel_ok)
}

/// `excludes`: any listed condition that holds excludes the entry — one of the caps present,
/// the native arch listed, the running kernel at least `minKernel`.
fn matches_any(
    cond: &RawCondition,
    ctx: &Context,
    profile: &str,
    at: &At,
) -> Result<bool, SeccompError> {
    let arch_hit = cond.arches.iter().flatten().any(|a| a == ctx.arch.docker);
    let cap_hit = cond
        .caps
        .iter()
        .flatten()
        .any(|cap| has_capability(ctx.caps, cap));
    let kernel_hit = match min_kernel(cond, profile, at)? {
        Some(min) => ctx.kernel >= min,
        None => false,
    };
    Ok(arch_hit || cap_hit || kernel_hit)
}

/// Docker compares capability names as strings against the bounding set, so a name it does
/// not know (or spelled without `CAP_`) is simply never present.
pub(crate) fn has_capability(caps: u64, name: &str) -> bool {
    caps::Capability::from_str(name)
        .is_ok_and(|cap| cap.index() < 64 && caps & (1u64 << cap.index()) != 0)
}

/// An empty `minKernel` is no condition (Docker reads it as unset).
fn min_kernel(
    cond: &RawCondition,
    profile: &str,
    at: &At,
) -> Result<Option<(u32, u32)>, SeccompError> {
    match cond.min_kernel.as_deref() {
        None | Some("") => Ok(None),
        Some(text) => model::parse_min_kernel(text)
            .map(Some)
            .ok_or_else(|| SeccompError::at(profile, at, Problem::MinKernel(text.to_owned()))),
    }
}

/// What the filter does with one system call number that a rule names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decision {
    /// Tried in order; the first whose conditions all hold gives the action.
    pub branches: Vec<Branch>,
    /// The action when no branch holds.
    pub fallback: Action,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Branch {
    pub action: Action,
    pub args: Vec<ArgCmp>,
}

impl Decision {
    /// The reference semantics the BPF is tested against, and what complain mode says a
    /// notified call would have got.
    pub fn action_for(&self, args: &[u64; 6]) -> Action {
        self.branches
            .iter()
            .find(|b| b.args.iter().all(|cmp| cmp.holds(args)))
            .map_or(self.fallback, |b| b.action)
    }

    pub fn unconditional(&self) -> Option<Action> {
        self.branches.is_empty().then_some(self.fallback)
    }
}

/// The whole filter as data: a decision per named number, the default, and the ENOSYS line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FilterPlan {
    /// Whose calls the numbers are.
    pub arch: &'static Arch,
    pub default: Action,
    pub decisions: Decisions,
    /// Numbers above this one answer ENOSYS (runc's stub), so that software probing a newer
    /// call falls back instead of failing on EPERM.
    pub enosys_above: Option<u32>,
}

impl FilterPlan {
    /// No profile: every call of `arch` runs, until the floor is added.
    pub fn allow_all(arch: &'static Arch) -> FilterPlan {
        FilterPlan {
            arch,
            default: Action::Allow,
            decisions: Decisions::default(),
            enosys_above: None,
        }
    }

    /// What the filter answers for a native call (x32 and foreign ABIs are killed before
    /// this is asked).
    pub fn action_for(&self, nr: u32, args: &[u64; 6]) -> Action {
        if self.enosys_above.is_some_and(|max| nr > max) {
            return Action::Errno(libc::ENOSYS as u16);
        }
        self.decisions
            .get(&nr)
            .map_or(self.default, |d| d.action_for(args))
    }
}

/// The decisions by number, as a vector sorted by number: `plan` makes them in that order, a
/// few hundred at a launch, which a `BTreeMap` took one tree insert at a time (~100,000
/// instructions); the few the floor adds are inserted in place.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Decisions(Vec<(u32, Decision)>);

impl Decisions {
    pub fn get(&self, nr: &u32) -> Option<&Decision> {
        self.position(*nr).ok().map(|i| &self.0[i].1)
    }

    /// Sets `nr`'s decision, replacing the one it had.
    pub fn insert(&mut self, nr: u32, decision: Decision) {
        match self.position(nr) {
            Ok(i) => self.0[i].1 = decision,
            Err(i) => self.0.insert(i, (nr, decision)),
        }
    }

    /// `nr`'s decision, `or` put in first when it has none.
    pub fn get_or_insert(&mut self, nr: u32, or: Decision) -> &mut Decision {
        let i = match self.position(nr) {
            Ok(i) => i,
            Err(i) => {
                self.0.insert(i, (nr, or));
                i
            }
        };
        &mut self.0[i].1
    }

    /// `(number, decision)` in ascending order of number.
    pub fn iter(&self) -> impl Iterator<Item = (&u32, &Decision)> {
        self.0.iter().map(|(nr, d)| (nr, d))
    }

    #[cfg(test)]
    pub fn values(&self) -> impl Iterator<Item = &Decision> {
        self.0.iter().map(|(_, d)| d)
    }

    fn position(&self, nr: u32) -> Result<usize, usize> {
        self.0.binary_search_by_key(&nr, |&(n, _)| n)
    }
}

/// As a map collects: in any order, a later decision for a number replacing an earlier one.
impl FromIterator<(u32, Decision)> for Decisions {
    fn from_iter<I: IntoIterator<Item = (u32, Decision)>>(iter: I) -> Decisions {
        let mut all: Vec<(u32, Decision)> = iter.into_iter().collect();
        if !all.windows(2).all(|w| w[0].0 < w[1].0) {
            // Stable, so equal numbers keep their order; the last of each run is kept.
            all.sort_by_key(|&(nr, _)| nr);
            all.reverse();
            all.dedup_by_key(|&mut (nr, _)| nr);
            all.reverse();
        }
        Decisions(all)
    }
}

/// Builds the per-number decisions. The rules, in this order:
/// - an entry whose action equals the default (data included) is ignored, as runc does;
/// - entries are OR'd, the conditions within one entry AND'd;
/// - when several entries hold, the strongest action wins (the kernel's order for stacked
///   filters), and among equally strong ones the earlier entry;
/// - so an unconditional entry ends the list: what is weaker than it can never win, and a
///   conditional entry with the same action just before it changes nothing.
pub(crate) fn plan(profile: &Profile) -> FilterPlan {
    // (number, strength, rule) for every name a rule with a non-default action gives, packed
    // into one integer each and sorted: each number's rules then come strongest first, in
    // profile order among equals, with one allocation for the whole profile instead of a list
    // per number. Sorting plain integers takes a quarter of the instructions tuples took.
    let mut named: Vec<u128> = Vec::with_capacity(profile.rules.len() * 4);
    // The highest number any rule names, the default's among them; one lookup per name.
    let mut named_max = None;
    for (i, rule) in profile.rules.iter().enumerate() {
        for nr in rule
            .names
            .iter()
            .filter_map(|name| profile.arch.number(name))
        {
            named_max = named_max.max(Some(nr));
            if rule.action != profile.default_action {
                named.push(pack_named(nr, rule.action.strength_rank(), i));
            }
        }
    }
    named.sort_unstable();
    let decisions = named
        .chunk_by(|a, b| a >> 96 == b >> 96)
        .map(|same| {
            let rules = same.iter().map(|&key| &profile.rules[unpack_rule(key)]);
            (
                (same[0] >> 96) as u32,
                decide(rules, profile.default_action),
            )
        })
        .collect();
    let enosys = Action::Errno(libc::ENOSYS as u16);
    let stub_applies = !profile.default_action.lets_calls_run() && profile.default_action != enosys;
    FilterPlan {
        arch: profile.arch,
        default: profile.default_action,
        decisions,
        enosys_above: named_max.filter(|_| stub_applies),
    }
}

/// `(nr, rank, rule)` as one integer whose order is the tuple's: the number in the top 32
/// bits, the rank (signed, so its sign bit flipped) in the next 32, the rule's index below.
fn pack_named(nr: u32, rank: i32, rule: usize) -> u128 {
    let rank = (rank as u32) ^ 0x8000_0000;
    (u128::from(nr) << 96) | (u128::from(rank) << 64) | rule as u128
}

fn unpack_rule(key: u128) -> usize {
    key as u64 as usize
}

/// One number's decision from its rules, strongest first: those with conditions are
/// branches until the first without, which is the fallback.
fn decide<'a>(rules: impl Iterator<Item = &'a Rule>, default: Action) -> Decision {
    let mut branches = Vec::new();
    let mut fallback = default;
    for rule in rules {
        if rule.args.is_empty() {
            fallback = rule.action;
            break;
        }
        branches.push(Branch {
            action: rule.action,
            args: rule.args.clone(),
        });
    }
    while branches.last().is_some_and(|b| b.action == fallback) {
        branches.pop();
    }
    Decision { branches, fallback }
}

/// The ERRNO class every floor answer belongs to: what the profile says for a call wins over
/// the floor only when it is stronger than that (kill, trap), as in a stack of filters.
const FLOOR_RANK: i32 = (libc::SECCOMP_RET_ERRNO & libc::SECCOMP_RET_ACTION_FULL) as i32;

/// Merges the floor into a plan: each call it names answers the strongest of the profile's
/// answer and the floor's, as if the floor were a second, stacked filter. A call the profile
/// already refuses whatever the arguments, or one above the ENOSYS line, keeps its answer.
pub(crate) fn add_floor(plan: &mut FilterPlan, floor: &Floor) {
    let mut by_number: BTreeMap<u32, Vec<Branch>> = BTreeMap::new();
    for refusal in &floor.refusals {
        debug_assert_eq!(refusal.action.strength_rank(), FLOOR_RANK);
        for (name, args) in &refusal.rules {
            if let Some(nr) = plan.arch.number(name) {
                by_number.entry(nr).or_default().push(Branch {
                    action: refusal.action,
                    args: args.clone(),
                });
            }
        }
    }
    for (nr, floor_branches) in by_number {
        if plan.refuses_always(nr) {
            continue;
        }
        let profile = plan.decisions.get(&nr).cloned().unwrap_or(Decision {
            branches: Vec::new(),
            fallback: plan.default,
        });
        plan.decisions
            .insert(nr, floor_over(&profile, &floor_branches));
    }
}

impl FilterPlan {
    /// Every outcome of call `nr` runs it as asked (ALLOW or LOG), whatever the arguments.
    pub(crate) fn runs_always(&self, nr: u32) -> bool {
        let runs = |a: Action| matches!(a, Action::Allow | Action::Log);
        if self.enosys_above.is_some_and(|max| nr > max) {
            return false;
        }
        match self.decisions.get(&nr) {
            Some(decision) => decision.outcomes().all(runs),
            None => runs(self.default),
        }
    }

    /// No outcome lets call `nr` run (a tracer may let TRACE run), above the ENOSYS line
    /// included.
    pub(crate) fn refuses_always(&self, nr: u32) -> bool {
        if self.enosys_above.is_some_and(|max| nr > max) {
            return true;
        }
        match self.decisions.get(&nr) {
            Some(decision) => decision.outcomes().all(|a| !a.lets_calls_run()),
            None => !self.default.lets_calls_run(),
        }
    }
}

impl Decision {
    /// Every action the decision can give.
    pub(crate) fn outcomes(&self) -> impl Iterator<Item = Action> + '_ {
        self.branches
            .iter()
            .map(|b| b.action)
            .chain(std::iter::once(self.fallback))
    }
}

/// The strongest of `profile` and the floor, as one first-match list. The profile's branches
/// are sorted strongest first (`decide`), so those stronger than the floor are a prefix and
/// go first. A floor branch that holds then gives the floor's answer unless the profile's
/// answer is stronger, which only a strong fallback can be when no weaker branch holds: then
/// each floor branch is paired with each weaker branch, so the fallback still answers when
/// none of the profile's branches holds.
fn floor_over(profile: &Decision, floor: &[Branch]) -> Decision {
    if let Some(short) = bit_test_over(profile, floor) {
        return short;
    }
    let stronger = |a: Action| a.strength_rank() < FLOOR_RANK;
    let (strong, weak): (Vec<Branch>, Vec<Branch>) = profile
        .branches
        .iter()
        .cloned()
        .partition(|b| stronger(b.action));
    let floor_part: Vec<Branch> = if stronger(profile.fallback) {
        floor
            .iter()
            .flat_map(|f| {
                weak.iter().map(move |w| Branch {
                    action: f.action,
                    args: f.args.iter().chain(&w.args).copied().collect(),
                })
            })
            .collect()
    } else {
        floor.to_vec()
    };
    let mut branches = Vec::new();
    let mut fallback = profile.fallback;
    for branch in strong.into_iter().chain(floor_part).chain(weak) {
        if branch.args.is_empty() {
            // Always holds: nothing after it is ever reached.
            fallback = branch.action;
            break;
        }
        branches.push(branch);
    }
    while branches.last().is_some_and(|b| b.action == fallback) {
        branches.pop();
    }
    Decision { branches, fallback }
}

/// The short form of the common case: the profile lets the call run whatever its arguments
/// and every floor branch tests bits of one argument for the same answer (the mode calls):
/// "no bit set" gives the profile's answer, anything else the floor's, in one compare
/// instead of one per bit.
fn bit_test_over(profile: &Decision, floor: &[Branch]) -> Option<Decision> {
    let (action, test) = floor::as_bit_test(floor.iter().map(|b| (b.action, &b.args[..])))?;
    (profile.branches.is_empty() && profile.fallback.lets_calls_run()).then(|| Decision {
        branches: vec![Branch {
            action: profile.fallback,
            args: vec![test],
        }],
        fallback: action,
    })
}

/// The calls the program cannot do without: hardinit starts it with execve, and it ends with
/// exit_group.
const CALLS_THE_PROGRAM_NEEDS: [&str; 2] = ["execve", "exit_group"];

/// The first call the program needs that some arguments make the plan refuse (anything but
/// ALLOW and LOG), with that answer.
pub(crate) fn refused_need(plan: &FilterPlan) -> Option<(&'static str, Action)> {
    CALLS_THE_PROGRAM_NEEDS.into_iter().find_map(|name| {
        let nr = plan.arch.number(name)?;
        let refusal = match plan.enosys_above {
            Some(max) if nr > max => Some(Action::Errno(libc::ENOSYS as u16)),
            _ => match plan.decisions.get(&nr) {
                Some(decision) => decision.outcomes().find(|a| !runs(*a)),
                None => Some(plan.default).filter(|a| !runs(*a)),
            },
        };
        refusal.map(|action| (name, action))
    })
}

/// Whether an answer lets the call do its work (TRACE without a tracer answers ENOSYS).
fn runs(action: Action) -> bool {
    matches!(action, Action::Allow | Action::Log)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_keys_sort_as_the_tuples_they_pack() {
        let ranks = [
            Action::KillProcess,
            Action::KillThread,
            Action::Trap,
            Action::Errno(1),
            Action::Notify,
            Action::Trace(3),
            Action::Log,
            Action::Allow,
        ]
        .map(Action::strength_rank);
        let mut tuples = Vec::new();
        for nr in [0, 1, 59, 435, 0x4000_0000, u32::MAX] {
            for (r, &rank) in ranks.iter().enumerate() {
                for rule in [0, 1, 7 * r, 65_535, usize::MAX >> 1] {
                    tuples.push((nr, rank, rule));
                }
            }
        }
        tuples.reverse();
        let mut packed: Vec<u128> = tuples
            .iter()
            .map(|&(n, k, i)| pack_named(n, k, i))
            .collect();
        packed.sort_unstable();
        tuples.sort_unstable();
        let back: Vec<(u32, usize)> = packed
            .iter()
            .map(|&key| ((key >> 96) as u32, unpack_rule(key)))
            .collect();
        let want: Vec<(u32, usize)> = tuples.iter().map(|&(n, _, i)| (n, i)).collect();
        assert_eq!(back, want);
        assert!(ranks.windows(2).all(|w| w[0] < w[1]), "{ranks:?}");
    }

    #[test]
    fn decisions_collect_insert_and_look_up_as_a_map_does() {
        let d = |errno: u16| Decision {
            branches: Vec::new(),
            fallback: Action::Errno(errno),
        };
        let input = [(7, 1), (3, 2), (7, 3), (0, 4), (3, 5), (9, 6), (7, 7)];
        let map: BTreeMap<u32, Decision> = input.iter().map(|&(n, e)| (n, d(e))).collect();
        let mut ours: Decisions = input.iter().map(|&(n, e)| (n, d(e))).collect();
        let as_pairs = |m: &Decisions| -> Vec<(u32, Decision)> {
            m.iter().map(|(&n, d)| (n, d.clone())).collect()
        };
        assert_eq!(as_pairs(&ours), map.clone().into_iter().collect::<Vec<_>>());
        assert_eq!(ours.get(&7), Some(&d(7)));
        assert_eq!(ours.get(&5), None);
        ours.insert(5, d(8));
        ours.insert(0, d(9));
        assert_eq!(ours.get_or_insert(9, d(10)), &d(6));
        assert_eq!(ours.get_or_insert(11, d(11)), &d(11));
        let numbers: Vec<u32> = ours.iter().map(|(&n, _)| n).collect();
        assert_eq!(numbers, [0, 3, 5, 7, 9, 11]);
        assert_eq!(ours.get(&0), Some(&d(9)));
        let sorted: Decisions = [(1, d(1)), (2, d(2))].into_iter().collect();
        assert_eq!(as_pairs(&sorted), [(1, d(1)), (2, d(2))]);
    }
}

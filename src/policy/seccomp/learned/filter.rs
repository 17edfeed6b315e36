//! The filters of learning and complain mode: where a profile would refuse, they notify
//! PID 1, which records the call and lets it run (SECCOMP_USER_NOTIF_FLAG_CONTINUE).
//!
//! Both keep what the emitter always does (foreign ABIs and x32 killed) and answer `clone3`
//! ENOSYS as the learned profile does, so glibc falls back to `clone` in the run that is
//! recorded just as in the run that enforces; and hardinit's floor refuses what it always
//! refuses. Neither has the ENOSYS stub above the highest
//! named number: a newer call is notified, and so recorded, like any other.

use super::super::bpf;
use super::super::eval::{self, Branch, Decision, FilterPlan as Plan};
use super::super::model::{Action, ArgCmp, Op};
use super::super::{syscalls, Floor, Profile, SeccompError};
use super::complain::Verdicts;
use super::Learned;
use crate::kernel::SeccompFilter as Filter;

/// The one call the child makes under the filter before PID 1 holds the listener is let
/// through by these flags and its socket's number; a program's own sendmsg is not.
pub const HANDOFF_FLAGS: u64 = crate::kernel::LISTENER_HANDOFF_FLAGS as u64;

/// The socket the child hands the listener to PID 1 over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handoff {
    pub fd: i32,
}

/// The recording filter of `--learn`: what `learned` allows runs, clone3 gets ENOSYS,
/// everything else is notified.
pub fn recording_filter(
    learned: &Learned,
    floor: Option<&Floor>,
    handoff: Handoff,
) -> Result<Filter, SeccompError> {
    let mut profile = learned.to_profile(Default::default());
    profile.default_action = Action::Notify;
    let mut plan = eval::plan(&profile);
    plan.enosys_above = None;
    emit(plan, floor, profile.flags, handoff)
}

/// The filter of `--seccomp-mode complain`: what `profile` allows runs as it would, what it
/// refuses is notified instead (clone3's ENOSYS excepted). Also returns what the profile
/// would have answered, for the log line.
pub fn complain_filter(
    profile: &Profile,
    floor: Option<&Floor>,
    handoff: Handoff,
) -> Result<(Filter, Verdicts), SeccompError> {
    let verdicts = Verdicts::new(eval::plan(profile));
    let mut complaining = profile.clone();
    complaining.default_action = notify_if_refused(profile.default_action);
    for rule in &mut complaining.rules {
        if !is_clone3_fallback(&rule.names, rule.action) {
            rule.action = notify_if_refused(rule.action);
        }
    }
    let mut plan = eval::plan(&complaining);
    plan.enosys_above = None;
    Ok((emit(plan, floor, profile.flags, handoff)?, verdicts))
}

/// Every refusing action is stronger than every action that lets a call run, and so is
/// USER_NOTIF: mapping each refusal to a notification keeps which rule wins.
fn notify_if_refused(action: Action) -> Action {
    if action.lets_calls_run() {
        action
    } else {
        Action::Notify
    }
}

fn is_clone3_fallback(names: &[&str], action: Action) -> bool {
    names == ["clone3"] && action == Action::Errno(libc::ENOSYS as u16)
}

/// The floor goes in as it does for every filter: what it refuses stays refused, neither
/// recorded nor complained about.
fn emit(
    mut plan: Plan,
    floor: Option<&Floor>,
    flags: u32,
    handoff: Handoff,
) -> Result<Filter, SeccompError> {
    if let Some(floor) = floor {
        eval::add_floor(&mut plan, floor);
    }
    let_handoff_through(&mut plan, handoff);
    // The child waits for PID 1 before it installs a listening filter (PID 1 serves the
    // listener only once locked down), never under it.
    Ok(Filter {
        program: bpf::emit(&plan)?,
        flags,
        reads_pass: false,
    })
}

/// The child's sendmsg of the listener must run unnotified: nobody serves the listener yet.
fn let_handoff_through(plan: &mut Plan, handoff: Handoff) {
    let Some(nr) = syscalls::number("sendmsg") else {
        return;
    };
    let low32 = |index: u8, value: u64| ArgCmp {
        index,
        op: Op::MaskedEqual,
        value: 0xffff_ffff,
        value_two: value,
    };
    let branch = Branch {
        action: Action::Allow,
        args: vec![low32(0, handoff.fd as u32 as u64), low32(2, HANDOFF_FLAGS)],
    };
    let default = plan.default;
    let decision = plan.decisions.get_or_insert(
        nr,
        Decision {
            branches: Vec::new(),
            fallback: default,
        },
    );
    if decision.unconditional() == Some(Action::Allow) {
        return;
    }
    decision.branches.insert(0, branch);
}

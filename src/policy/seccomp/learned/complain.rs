//! Complain mode's log: one JSON line for the first call of each distinct (call, decisive
//! arguments) the profile would refuse, and how often each came.

use std::collections::BTreeMap;

use super::super::eval::FilterPlan as Plan;
use super::super::export::quote;
use super::super::model::Action;
use super::super::syscalls;
use super::keys_of;

/// What the enforced profile answers, to say what a notified call would have got.
#[derive(Debug, Clone)]
pub struct Verdicts(Plan);

impl Verdicts {
    pub(crate) fn new(plan: Plan) -> Verdicts {
        Verdicts(plan)
    }

    pub fn would(&self, nr: u32, args: &[u64; 6]) -> Action {
        self.0.action_for(nr, args)
    }
}

/// `errno EPERM`, `kill process`: what a refusal is, in the log line.
pub fn describe_would(action: Action) -> String {
    match action {
        Action::Errno(errno) => format!("errno {}", errno_name(errno)),
        Action::KillProcess => "kill process".into(),
        Action::KillThread => "kill thread".into(),
        Action::Trap => "trap".into(),
        Action::Trace(_) => "trace".into(),
        Action::Log => "log".into(),
        Action::Allow => "allow".into(),
        Action::Notify => "notify".into(),
    }
}

fn errno_name(errno: u16) -> String {
    match i32::from(errno) {
        libc::EPERM => "EPERM".into(),
        libc::ENOSYS => "ENOSYS".into(),
        libc::EACCES => "EACCES".into(),
        libc::EINVAL => "EINVAL".into(),
        libc::ENOENT => "ENOENT".into(),
        libc::EAFNOSUPPORT => "EAFNOSUPPORT".into(),
        other => other.to_string(),
    }
}

/// Every distinct refused (call, decisive arguments) seen so far, counted.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Complaints {
    seen: BTreeMap<(u32, Vec<u64>), u64>,
}

impl Complaints {
    /// Counts one notified call; the log line when it is the first of its kind.
    pub fn note(
        &mut self,
        nr: u32,
        args: &[u64; 6],
        would: Action,
        pid: u32,
        exe: impl FnOnce() -> String,
    ) -> Option<String> {
        let keys = syscalls::name(nr)
            .map(|n| keys_of(n, args))
            .unwrap_or_default();
        let count = self.seen.entry((nr, keys)).or_insert(0);
        *count += 1;
        (*count == 1).then(|| {
            let args: Vec<String> = args.iter().map(u64::to_string).collect();
            format!(
                "{{\"hardinit\":\"seccomp\",\"would\":{},\"syscall\":{},\"args\":[{}],\"pid\":{pid},\"exe\":{}}}",
                quote(&describe_would(would)),
                quote(&call_name(nr)),
                args.join(","),
                quote(&exe()),
            )
        })
    }

    /// The closing line: how many calls of each name were allowed only because of complain
    /// mode.
    pub fn summary(&self) -> Option<String> {
        if self.seen.is_empty() {
            return None;
        }
        let mut calls: BTreeMap<String, u64> = BTreeMap::new();
        for ((nr, _), count) in &self.seen {
            *calls.entry(call_name(*nr)).or_insert(0) += count;
        }
        let calls: Vec<String> = calls
            .iter()
            .map(|(name, count)| format!("{}:{count}", quote(name)))
            .collect();
        Some(format!(
            "{{\"hardinit\":\"seccomp\",\"complained\":{},\"calls\":{{{}}}}}",
            self.seen.len(),
            calls.join(",")
        ))
    }
}

/// The x86_64 name, or `#N` for a number this arch does not name.
fn call_name(nr: u32) -> String {
    syscalls::name(nr).map_or_else(|| format!("#{nr}"), str::to_owned)
}

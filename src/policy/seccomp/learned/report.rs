//! The human report beside a learned profile: per allowed call where it came from, this run's
//! count, the first executable that made it and the decisive argument values seen.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::super::syscalls;
use super::profile::{Learned, Source};
use super::{decisive, Compare, Recording, Seen};

/// The report's text for `file`.
pub fn report(file: &str, learned: &Learned, recording: &Recording) -> String {
    let mut rows: BTreeMap<&str, Source> = BTreeMap::new();
    let entries = learned
        .outright()
        .chain(learned.by_args().map(|(name, _, source)| (name, source)));
    for (name, source) in entries {
        let best = rows.entry(name).or_insert(source);
        *best = (*best).min(source);
    }
    let by_name: BTreeMap<&str, &Seen> = recording
        .calls
        .iter()
        .filter_map(|(&nr, seen)| syscalls::name(nr).map(|n| (n, seen)))
        .collect();
    let mut out = String::new();
    let _ = writeln!(out, "hardinit --learn report for {file}");
    let _ = writeln!(
        out,
        "observed: made in this run; assumed: allowed by the hot base without being observed (--learn-all observes it); from file: in {file} before this run"
    );
    let _ = writeln!(
        out,
        "{:<24} {:<9} {:>8}  {:<32} decisive arguments (count)",
        "call", "source", "count", "first executable"
    );
    for (name, source) in rows {
        let seen = by_name.get(name);
        let (count, exe, args) = match seen {
            Some(seen) => (
                seen.count.to_string(),
                seen.first_exe.as_str(),
                values(name, seen),
            ),
            None => (String::new(), "", String::new()),
        };
        let line = format!(
            "{name:<24} {:<9} {count:>8}  {exe:<32} {args}",
            source_name(source)
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

fn source_name(source: Source) -> &'static str {
    match source {
        Source::Observed => "observed",
        Source::Assumed => "assumed",
        Source::FromFile => "from file",
    }
}

/// `[1]=0x5421 (3); [1]=0x5401 (1)`: each distinct set of decisive values and its count.
fn values(name: &str, seen: &Seen) -> String {
    let Some(rules) = decisive(name) else {
        return String::new();
    };
    seen.keys
        .iter()
        .map(|(keys, count)| {
            let parts: Vec<String> = rules
                .iter()
                .zip(keys)
                .map(|(d, key)| match d.compare {
                    Compare::Bits(mask) => format!("[{}]&{mask:#x}={key:#x}", d.index),
                    Compare::Int | Compare::Long => format!("[{}]={key:#x}", d.index),
                })
                .collect();
            format!("{} ({count})", parts.join(" "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

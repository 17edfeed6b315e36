//! The kernel as the emitter's oracle. The other tests check the BPF with the project's own
//! interpreter, which shares the opcodes and the jump arithmetic with the emitter; here the
//! kernel runs each compiled filter instead, unprivileged (no_new_privs in a forked child),
//! so this runs on every `cargo test`.
//!
//! Many seeded random profiles, trampoline-sized ones among them, go through the real
//! `plan` stage. Every action of a plan is then replaced by an errno of its own (1000 + i;
//! the ENOSYS stub keeps 38), so no call body runs, and the errno the kernel answers for each
//! (number, arguments) probe must be the one the reference evaluation (`FilterPlan::action_for`)
//! gives. Every other plan has hardinit's floor merged in first. Every fourth profile is
//! list-shaped (`random_listed_profile`), for the emitter's value searches.

use std::collections::BTreeMap;
use std::time::Instant;

use super::{probing_args, XorShift};
use crate::policy::seccomp::bpf;
use crate::policy::seccomp::eval::{self, Branch, Decision, FilterPlan};
use crate::policy::seccomp::model::{Action, ArgCmp, Op};
use crate::policy::seccomp::{syscalls, Origin, Profile, Rule};
use crate::sys::oracle::{errnos_under_filter, Verdict, GUARD_ERRNO};

/// How many profiles; every fourth is trampoline-sized.
const PROFILES: u64 = 128;

/// Argument vectors probed per number whose answer depends on its arguments.
const ARGS_PER_CONDITIONAL_NUMBER: usize = 48;

const ACTIONS: [Action; 10] = [
    Action::Allow,
    Action::Errno(1),
    Action::Errno(13),
    Action::Errno(38),
    Action::KillProcess,
    Action::KillThread,
    Action::Trap,
    Action::Log,
    Action::Trace(7),
    Action::Trace(0),
];

fn pick<T: Copy>(rng: &mut XorShift, from: &[T]) -> T {
    from[(rng.next() % from.len() as u64) as usize]
}

/// A constant with both 32-bit words mattering now and then.
fn constant(rng: &mut XorShift) -> u64 {
    match rng.next() % 5 {
        0 => rng.next() & 0xff,
        1 => rng.next(),
        2 => (rng.next() & 0xf) << 32 | (rng.next() & 0xff),
        3 => u64::MAX - (rng.next() & 0xf),
        _ => 1 << (rng.next() % 64),
    }
}

fn condition(rng: &mut XorShift) -> ArgCmp {
    let op = pick(rng, &Op::ALL);
    let value = constant(rng);
    ArgCmp {
        index: (rng.next() % 6) as u8,
        op,
        value,
        value_two: if op == Op::MaskedEqual {
            constant(rng) & value
        } else {
            0
        },
    }
}

/// `rules` entries over a window of neighbouring numbers, so that conditional and
/// unconditional numbers sit side by side in the search.
fn random_profile(rng: &mut XorShift, rules: usize, max_conditions: u64) -> Profile {
    // The kernel judges the native ABI only.
    let table = syscalls::NATIVE.calls;
    let window = 8 + (rng.next() % (table.len() as u64 - 8)) as usize;
    let start = (rng.next() % (table.len() - window + 1) as u64) as usize;
    let names = &table[start..start + window];
    let rules = (0..rules)
        .map(|entry| Rule {
            entry,
            names: (0..1 + rng.next() % 3)
                .map(|_| pick(rng, names).0)
                .collect(),
            action: pick(rng, &ACTIONS),
            args: (0..rng.next() % (max_conditions + 1))
                .map(|_| condition(rng))
                .collect(),
        })
        .collect();
    native_profile(rules, pick(rng, &ACTIONS))
}

/// A profile shaped like ioctl's request lists and personality's values: many entries on
/// two or three numbers, each with one condition on the same argument — masked compares of
/// one mask (now and then one that can never hold), `==` and ordered compares sharing one
/// high word — so the emitter's value searches and shared high-word tests are exercised.
fn random_listed_profile(rng: &mut XorShift, rules: usize) -> Profile {
    let table = syscalls::NATIVE.calls;
    let start = (rng.next() % (table.len() as u64 - 3)) as usize;
    let names = &table[start..start + 3];
    let index = (rng.next() % 6) as u8;
    let mask = pick(rng, &[0xffff_ffffu64, 0xff00, 0xf, 0xffff, 0x8000_00ff]);
    let hi = pick(rng, &[0u64, 1, 0xffff_ffff]) << 32;
    let step = 1u64 << mask.trailing_zeros();
    let condition = |rng: &mut XorShift| {
        let small = rng.next() % 24;
        let (op, value, value_two) = match rng.next() % 8 {
            0..=3 => (Op::MaskedEqual, mask, (small * step) & mask),
            4 => (
                Op::MaskedEqual,
                mask,
                (small * step) & mask | !mask & 0x1_0000_0001,
            ),
            5 => (Op::Equal, hi | small, 0),
            6 => (pick(rng, &[Op::LessThan, Op::GreaterThan]), hi | small, 0),
            _ => (Op::NotEqual, hi | small, 0),
        };
        ArgCmp {
            index,
            op,
            value,
            value_two,
        }
    };
    let rules = (0..rules)
        .map(|entry| Rule {
            entry,
            names: vec![pick(rng, names).0],
            action: pick(rng, &ACTIONS),
            args: vec![condition(rng)],
        })
        .collect();
    native_profile(rules, pick(rng, &ACTIONS))
}

fn native_profile(rules: Vec<Rule>, default_action: Action) -> Profile {
    Profile {
        arch: syscalls::NATIVE,
        origin: Origin::Builtin(crate::policy::seccomp::Builtin::Default),
        default_action,
        flags: 0,
        rules,
        unknown_names: Vec::new(),
    }
}

/// The plan with every action replaced by an errno of its own.
fn with_distinct_errnos(plan: &FilterPlan) -> FilterPlan {
    let mut errnos: BTreeMap<u32, Action> = BTreeMap::new();
    let mut errno_of = |action: Action| {
        let next = 1000 + errnos.len() as u16;
        *errnos.entry(action.ret()).or_insert(Action::Errno(next))
    };
    let default = errno_of(plan.default);
    let decisions = plan
        .decisions
        .iter()
        .map(|(&nr, d)| {
            let branches = d
                .branches
                .iter()
                .map(|b| Branch {
                    action: errno_of(b.action),
                    args: b.args.clone(),
                })
                .collect();
            let fallback = errno_of(d.fallback);
            (nr, Decision { branches, fallback })
        })
        .collect();
    FilterPlan {
        arch: plan.arch,
        default,
        decisions,
        enosys_above: plan.enosys_above,
    }
}

/// Every number up to past the table, and odd large ones. The x32 bit (0x4000_0000) stays
/// clear: the guard kills such calls.
fn numbers() -> impl Iterator<Item = u32> {
    (0..=470u32).chain([0x3fff_ffff, 0x8000_0000, 0xbfff_fffe])
}

/// Numbers this kernel answers before seccomp sees them, so no filter decides them: each is
/// probed under a filter that answers ENOSYS to everything. (The machine CI runs on answers
/// 335 with SIGILL and 336 with ENXIO: a vendor's additions in the x86_64 table's hole.)
fn numbers_outside_seccomp() -> Vec<u32> {
    let everything_enosys = [libc::sock_filter {
        code: (libc::BPF_RET | libc::BPF_K) as u16,
        jt: 0,
        jf: 0,
        k: libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32,
    }];
    let mut outside = Vec::new();
    let mut todo: Vec<u32> = numbers().collect();
    while !todo.is_empty() {
        let probes: Vec<(u32, [u64; 6])> = todo.iter().map(|&nr| (nr, [0; 6])).collect();
        let verdict = errnos_under_filter(&everything_enosys, &probes).unwrap();
        let answered = verdict.errnos.len();
        outside.extend(
            todo.iter()
                .zip(&verdict.errnos)
                .filter(|(_, &errno)| errno != libc::ENOSYS)
                .map(|(&nr, _)| nr),
        );
        // A number that ended the child is outside too; go on after it.
        outside.extend(todo.get(answered).copied());
        todo.drain(..(answered + 1).min(todo.len()));
    }
    outside
}

/// Every number once, and each number whose answer depends on its arguments with vectors on
/// and around the plan's constants.
fn probes_for(plan: &FilterPlan, skip: &[u32], rng: &mut XorShift) -> Vec<(u32, [u64; 6])> {
    let mut constants: Vec<u64> = plan
        .decisions
        .values()
        .flat_map(|d| d.branches.iter())
        .flat_map(|b| b.args.iter())
        .flat_map(|a| [a.value, a.value_two, a.value & !a.value_two])
        .collect();
    constants.sort_unstable();
    constants.dedup();
    let args = probing_args(&constants, rng);
    let mut probes = Vec::new();
    for nr in numbers().filter(|nr| !skip.contains(nr)) {
        let conditional = plan
            .decisions
            .get(&nr)
            .is_some_and(|d| d.unconditional().is_none());
        let count = if conditional {
            ARGS_PER_CONDITIONAL_NUMBER
        } else {
            1
        };
        for _ in 0..count {
            probes.push((nr, pick(rng, &args)));
        }
    }
    probes
}

fn expected_errno(plan: &FilterPlan, nr: u32, args: &[u64; 6]) -> i32 {
    match plan.action_for(nr, args) {
        Action::Errno(errno) => i32::from(errno),
        other => panic!("the mapped plan answers {other:?}"),
    }
}

#[test]
fn the_kernel_answers_every_probe_as_the_reference_says() {
    let started = Instant::now();
    let skip = numbers_outside_seccomp();
    if !skip.is_empty() {
        eprintln!(
            "the_kernel_answers_every_probe_as_the_reference_says: NOT PROBED: numbers {skip:?}, \
             which this kernel answers before seccomp"
        );
    }
    assert!(
        skip.len() <= 4,
        "this kernel filters too few numbers: {skip:?}"
    );
    let (mut probes_made, mut trampolined, mut longest, mut actions) = (0, 0, 0, 0);
    let mut searched = 0;
    for seed in 1..=PROFILES {
        let mut rng = XorShift(0x5eed_0000_0000_0000 ^ seed.wrapping_mul(0x9e37_79b9));
        let big = seed % 4 == 0;
        let (rules, conditions) = if big {
            (100 + (seed as usize * 37) % 200, 3)
        } else {
            (1 + seed as usize % 30, 2)
        };
        let profile = if seed % 4 == 2 {
            random_listed_profile(&mut rng, 10 + seed as usize % 40)
        } else {
            random_profile(&mut rng, rules, conditions)
        };
        searched += usize::from(plan_has_value_search(&eval::plan(&profile)));
        // Every other plan gets hardinit's floor merged in, as a launch does.
        let mut plan = eval::plan(&profile);
        if seed % 2 == 1 {
            let floor = super::floor(&super::FloorOptions {
                read_only: true,
                port_lists: true,
                kernel: (6, 18),
                arch: syscalls::NATIVE,
                landlock_abi: 2,
            });
            eval::add_floor(&mut plan, &floor);
        }
        let plan = with_distinct_errnos(&plan);
        let program = bpf::emit(&plan).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let ja = (libc::BPF_JMP | libc::BPF_JA) as u16;
        trampolined += usize::from(program.iter().any(|i| i.code == ja));
        longest = longest.max(program.len());
        actions += distinct_errnos(&plan);
        let probes = probes_for(&plan, &skip, &mut rng);
        let verdict = errnos_under_filter(&program, &probes).unwrap();
        assert_eq!(
            (verdict.errnos.len(), verdict.signal),
            (probes.len(), Some(libc::SIGSYS)),
            "seed {seed}: the child did not make every probe and end at the guard"
        );
        check_verdict(seed, &plan, &program, &probes, &verdict);
        probes_made += probes.len();
    }
    eprintln!(
        "kernel oracle: {PROFILES} profiles ({trampolined} with trampolines, {searched} with \
         value searches, longest {longest} instructions, {actions} distinct actions), \
         {probes_made} probes, {:.1?}",
        started.elapsed()
    );
    assert!(
        trampolined >= PROFILES as usize / 4,
        "only {trampolined} programs needed a trampoline"
    );
    assert!(
        searched >= PROFILES as usize / 16,
        "only {searched} programs had a value search"
    );
}

/// Whether some number's branches end in a run the emitter searches.
fn plan_has_value_search(plan: &FilterPlan) -> bool {
    plan.decisions.values().any(|d| {
        (1..=d.branches.len())
            .any(|end| bpf::value_run(&d.branches[..end]) >= bpf::VALUE_SEARCH_MIN)
    })
}

fn distinct_errnos(plan: &FilterPlan) -> usize {
    let mut all: Vec<Action> = plan
        .decisions
        .values()
        .flat_map(|d| d.branches.iter().map(|b| b.action).chain([d.fallback]))
        .chain([plan.default])
        .collect();
    all.sort_by_key(|a| a.ret());
    all.dedup();
    all.len()
}

fn check_verdict(
    seed: u64,
    plan: &FilterPlan,
    program: &[libc::sock_filter],
    probes: &[(u32, [u64; 6])],
    verdict: &Verdict,
) {
    for (&(nr, args), &got) in probes.iter().zip(&verdict.errnos) {
        let want = expected_errno(plan, nr, &args);
        if got != want {
            let ours = bpf::simulate(
                program,
                &bpf::SeccompData {
                    nr,
                    arch: syscalls::NATIVE.audit,
                    instruction_pointer: 0,
                    args,
                },
            );
            let through = if got == GUARD_ERRNO {
                " (the filter let the call through to the guard)"
            } else {
                ""
            };
            panic!(
                "seed {seed}: nr {nr} args {args:x?}: the kernel answered errno {got}{through}, \
                 the reference {want}; the project's interpreter says {ours:?}"
            );
        }
    }
}

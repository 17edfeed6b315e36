//! The classic-BPF program for a `FilterPlan`, and an interpreter to check it.
//!
//! Why hardinit emits its own BPF instead of using seccompiler (0.5): seccompiler gives one
//! match action and one default action per filter, and an OCI profile mixes ALLOW, ERRNO
//! with different values, KILL, TRAP and LOG in one filter (stacking several filters costs a
//! run of each on every call); it cannot express runc's ENOSYS answer for the numbers above
//! the highest one the profile names, nor an x32 guard (its arch check kills on a mismatch,
//! and an x32 call has the native arch); and its name table is frozen behind the kernel's,
//! refusing names it does not know where a profile must still load (runc skips them). Its
//! linear chain also walks ~5 instructions per listed call where a search walks ~20 in all.
//! The kernel checks this emitter: `tests/oracle.rs` runs random filters in a real one.
//!
//! Shape, in the order the kernel walks it:
//! 1. arch must be the native audit arch (AUDIT_ARCH_X86_64, AUDIT_ARCH_AARCH64), else
//!    KILL_PROCESS: i386 `int 0x80` and AArch32 calls never get through;
//! 2. on x86_64, a number with the x32 bit set is killed the same way;
//! 3. a balanced binary search over intervals of numbers, built with `jge` only. An interval
//!    whose answer does not depend on arguments is a `ret` reached straight from the number
//!    tests, so such a path reads only `nr` and `arch`: the kernel (5.11+) then caches an
//!    "allow" for that number and skips the filter. The interval above the highest named
//!    number is runc's ENOSYS stub.
//! 4. a number with argument rules runs its branches: each condition compares the 64-bit
//!    argument as two 32-bit words, high word first, unsigned. Branches are tried in order,
//!    and what an earlier one left in the accumulator is used: a word already loaded (and
//!    masked the same way) is not loaded again, and a failed low-word test goes straight to
//!    the next comparison's low-word test when that compares the same argument with the
//!    same high word (after `arg == v` with a differing high word, past every such `==`).
//!    That keeps a list of values (personality's, ioctl's requests, bind's ports) near one
//!    instruction per value.
//!
//! The program is built back to front, so every jump target already has a position; a target
//! further than a conditional jump's 8-bit offset is reached through a `ja` trampoline.

// The emitter takes the audit arch, the compat-ABI guard and the system call table from
// `syscalls::NATIVE`, and reads each 64-bit argument as (low word, high word) at increasing
// offsets, which is little-endian order. Another architecture needs its table, its `Arch`
// and tests (src/policy/seccomp/syscalls/) before it can build; a big-endian one needs the
// argument offsets swapped too.
#[cfg(not(all(
    any(target_arch = "x86_64", target_arch = "aarch64"),
    target_endian = "little"
)))]
compile_error!(
    "hardinit's seccomp emitter knows x86_64 and aarch64 (little-endian) only: add this \
     architecture's system call table, `Arch` and tests (src/policy/seccomp/syscalls/)"
);

use super::eval::{Branch, Decision, FilterPlan};
use super::model::{Action, ArgCmp, Op};
use super::syscalls::{Arch, NATIVE};
use super::SeccompError;

const OFFSET_NR: u32 = 0;
const OFFSET_ARCH: u32 = 4;
const OFFSET_ARGS: u32 = 16;

const LD_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const AND_K: u16 = (libc::BPF_ALU | libc::BPF_AND | libc::BPF_K) as u16;
const JA: u16 = (libc::BPF_JMP | libc::BPF_JA) as u16;
const JEQ: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const JGT: u16 = (libc::BPF_JMP | libc::BPF_JGT | libc::BPF_K) as u16;
const JGE: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
const JSET: u16 = (libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K) as u16;
const RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

/// The kernel refuses longer programs.
pub const MAX_INSTRUCTIONS: usize = libc::BPF_MAXINSNS as usize;

/// A conditional jump can skip 255 instructions; one less leaves room for the trampoline
/// the other branch of the same jump may need.
const NEAR: usize = 254;

/// The input a filter sees (`struct seccomp_data`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeccompData {
    pub nr: u32,
    pub arch: u32,
    pub instruction_pointer: u64,
    pub args: [u64; 6],
}

impl SeccompData {
    /// A native call.
    pub fn native(nr: u32, args: [u64; 6]) -> SeccompData {
        SeccompData::on(NATIVE, nr, args)
    }

    /// A call through `arch`'s native ABI.
    pub fn on(arch: &Arch, nr: u32, args: [u64; 6]) -> SeccompData {
        SeccompData {
            nr,
            arch: arch.audit,
            instruction_pointer: 0,
            args,
        }
    }

    fn word(&self, offset: u32) -> Option<u32> {
        match offset {
            OFFSET_NR => Some(self.nr),
            OFFSET_ARCH => Some(self.arch),
            8 => Some(self.instruction_pointer as u32),
            12 => Some((self.instruction_pointer >> 32) as u32),
            o if (OFFSET_ARGS..OFFSET_ARGS + 48).contains(&o) && o % 4 == 0 => {
                let arg = self.args[((o - OFFSET_ARGS) / 8) as usize];
                Some(if o % 8 == 0 {
                    arg as u32
                } else {
                    (arg >> 32) as u32
                })
            }
            _ => None,
        }
    }
}

/// How one run of a program went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Walk {
    /// The SECCOMP_RET_* value returned.
    pub ret: u32,
    /// Instructions executed, the `ret` included.
    pub walked: usize,
    /// Whether anything besides `nr` and `arch` was loaded: such a path defeats the kernel's
    /// per-number action cache.
    pub read_beyond_nr_arch: bool,
}

/// Runs `program` on `data` like the kernel's classic-BPF interpreter, for the instructions
/// this emitter produces. `None` for anything else, or a jump out of the program.
pub fn simulate(program: &[libc::sock_filter], data: &SeccompData) -> Option<Walk> {
    let mut acc: u32 = 0;
    let mut pc = 0usize;
    let mut walked = 0usize;
    let mut read_beyond_nr_arch = false;
    loop {
        let insn = program.get(pc)?;
        walked += 1;
        pc += 1;
        match insn.code {
            LD_ABS => {
                acc = data.word(insn.k)?;
                read_beyond_nr_arch |= insn.k != OFFSET_NR && insn.k != OFFSET_ARCH;
            }
            AND_K => acc &= insn.k,
            JA => pc += insn.k as usize,
            JEQ | JGT | JGE | JSET => {
                let taken = match insn.code {
                    JEQ => acc == insn.k,
                    JGT => acc > insn.k,
                    JGE => acc >= insn.k,
                    _ => acc & insn.k != 0,
                };
                pc += usize::from(if taken { insn.jt } else { insn.jf });
            }
            RET_K => {
                return Some(Walk {
                    ret: insn.k,
                    walked,
                    read_beyond_nr_arch,
                })
            }
            _ => return None,
        }
    }
}

/// The longest path through the program (jumps only go forward, so one pass from the end).
pub fn worst_case_walk(program: &[libc::sock_filter]) -> usize {
    let mut longest = vec![0usize; program.len() + 1];
    for pc in (0..program.len()).rev() {
        let insn = &program[pc];
        let at = |offset: usize| longest.get(pc + 1 + offset).copied().unwrap_or(0);
        longest[pc] = 1 + match insn.code {
            RET_K => 0,
            JA => at(insn.k as usize),
            JEQ | JGT | JGE | JSET => at(usize::from(insn.jt)).max(at(usize::from(insn.jf))),
            _ => at(0),
        };
    }
    longest.first().copied().unwrap_or(0)
}

/// Compiles a plan into one filter.
pub(crate) fn emit(plan: &FilterPlan) -> Result<Vec<libc::sock_filter>, SeccompError> {
    let mut b = Builder::default();
    let intervals = intervals(plan);
    let search = b.search(&intervals);
    let kill = Action::KillProcess.ret();
    if let Some(bit) = plan.arch.abi_bit {
        let kill_other_abi = b.ret(kill);
        b.jump(JSET, bit, kill_other_abi, search);
    }
    let nr_checks = b.load(OFFSET_NR);
    let kill_foreign = b.ret(kill);
    b.jump(JEQ, plan.arch.audit, nr_checks, kill_foreign);
    b.load(OFFSET_ARCH);
    if b.rev.len() > MAX_INSTRUCTIONS {
        return Err(SeccompError::FilterTooLong { len: b.rev.len() });
    }
    if b.out_of_reach {
        return Err(SeccompError::JumpOutOfReach);
    }
    b.rev.reverse();
    Ok(b.rev)
}

/// What a range of numbers gets: a constant, or the branches of one number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Leaf<'a> {
    Ret(u32),
    Branches(&'a Decision),
}

/// `(first number, leaf)`, sorted, the first starting at 0; each runs to the next's start.
/// Neighbours with the same constant are merged, which is what keeps the search short.
fn intervals(plan: &FilterPlan) -> Vec<(u32, Leaf<'_>)> {
    let default = Leaf::Ret(plan.default.ret());
    let mut out: Vec<(u32, Leaf<'_>)> = vec![(0, default)];
    for (&nr, decision) in plan.decisions.iter() {
        let leaf = match decision.unconditional() {
            Some(action) => Leaf::Ret(action.ret()),
            None => Leaf::Branches(decision),
        };
        push_interval(&mut out, nr, leaf);
        if let Some(next) = nr.checked_add(1) {
            push_interval(&mut out, next, default);
        }
    }
    if let Some(next) = plan.enosys_above.and_then(|max| max.checked_add(1)) {
        out.retain(|&(start, _)| start < next);
        push_interval(
            &mut out,
            next,
            Leaf::Ret(Action::Errno(libc::ENOSYS as u16).ret()),
        );
    }
    out
}

/// Starts a new interval at `start`: an empty interval before it is dropped, and one equal to
/// its predecessor extends that.
fn push_interval<'a>(out: &mut Vec<(u32, Leaf<'a>)>, start: u32, leaf: Leaf<'a>) {
    if out
        .last()
        .is_some_and(|&(last_start, _)| last_start == start)
    {
        out.pop();
    }
    if out.last().is_some_and(|&(_, last)| last == leaf) {
        return;
    }
    out.push((start, leaf));
}

/// From this many branches on, a run of value tests is searched rather than tried in turn.
pub(super) const VALUE_SEARCH_MIN: usize = 5;

/// A search over values ends in a chain of at most this many `jeq`.
const VALUE_CHAIN_MAX: usize = 3;

/// A condition that can share a search over values.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ValueTest {
    /// `(32-bit word & mask) == value`: a masked compare whose high word plays no part.
    Word(Acc, u32),
    /// A masked compare whose datum has a bit outside its mask: it never holds, so it can
    /// sit in any run and adds nothing to it.
    Never,
}

fn value_test(cmp: &ArgCmp) -> Option<ValueTest> {
    let (mask, datum) = (cmp.value, cmp.value_two);
    if cmp.op != Op::MaskedEqual {
        return None;
    }
    if datum & !mask != 0 {
        return Some(ValueTest::Never);
    }
    if mask >> 32 != 0 || mask == 0 {
        return None;
    }
    let acc = Acc {
        offset: OFFSET_ARGS + 8 * u32::from(cmp.index),
        mask: mask as u32,
    };
    Some(ValueTest::Word(acc, datum as u32))
}

/// The value test that is a branch's one condition.
fn branch_value_test(branch: &Branch) -> Option<ValueTest> {
    match branch.args.as_slice() {
        [cmp] => value_test(cmp),
        _ => None,
    }
}

/// How many branches at the end of `list` are value tests of one word (or never hold).
pub(super) fn value_run(list: &[Branch]) -> usize {
    let mut word = None;
    list.iter()
        .rev()
        .take_while(|b| match branch_value_test(b) {
            Some(ValueTest::Never) => true,
            Some(ValueTest::Word(acc, _)) => *word.get_or_insert(acc) == acc,
            None => false,
        })
        .count()
}

/// Builds the program backwards: `rev[0]` is the last instruction. A label is an index into
/// `rev`, so it stays valid while instructions are added in front of it.
#[derive(Default)]
struct Builder {
    rev: Vec<libc::sock_filter>,
    /// The nearest `ret` already emitted for each value, to share it while in reach. A
    /// profile has a handful of distinct values: a list beats hashing each lookup.
    rets: Vec<(u32, usize)>,
    /// A jump was asked for that its offset field cannot hold: the program is wrong.
    out_of_reach: bool,
    /// The last 64-bit comparison emitted, for the one before it to continue into.
    last_compare: Option<Compare64>,
}

/// The code of one 64-bit comparison (`ld hi; j.. hi; ld lo; j.. lo`), by label.
#[derive(Clone, Copy)]
struct Compare64 {
    /// Its first instruction, the high word's load.
    head: Label,
    lo_offset: u32,
    hi: u32,
    /// The low word's load: where a comparison that knows the high word equals `hi`
    /// continues.
    low: Label,
    /// For `arg == v`, where it goes when the high word differs.
    hi_miss: Option<Label>,
}

/// What the accumulator holds at a jump: the word at an offset, and-ed with a mask.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Acc {
    offset: u32,
    mask: u32,
}

impl Acc {
    fn word(offset: u32) -> Acc {
        Acc {
            offset,
            mask: u32::MAX,
        }
    }
}

type Label = usize;

impl Builder {
    fn push(&mut self, code: u16, jt: u8, jf: u8, k: u32) -> Label {
        self.rev.push(libc::sock_filter { code, jt, jf, k });
        self.rev.len() - 1
    }

    /// How far an instruction added now must skip to land on `target`.
    fn distance(&self, target: Label) -> usize {
        self.rev.len() - target - 1
    }

    fn ret(&mut self, value: u32) -> Label {
        let known = self.rets.iter().position(|&(v, _)| v == value);
        match known.map(|i| (i, self.rets[i].1)) {
            Some((_, label)) if self.distance(label) <= NEAR => label,
            Some((i, _)) => {
                let label = self.push(RET_K, 0, 0, value);
                self.rets[i].1 = label;
                label
            }
            None => {
                let label = self.push(RET_K, 0, 0, value);
                self.rets.push((value, label));
                label
            }
        }
    }

    /// `target`, or a `ja` to it placed here when it is out of a conditional jump's reach.
    fn near(&mut self, target: Label) -> Label {
        if self.distance(target) <= NEAR {
            target
        } else {
            let k = self.offset(target);
            self.push(JA, 0, 0, k)
        }
    }

    /// A conditional jump made while the accumulator holds `acc`: a target that starts by
    /// loading what it already holds is entered past that load.
    fn jump_with(&mut self, code: u16, k: u32, acc: Acc, on_true: Label, on_false: Label) -> Label {
        let on_true = self.past_reload(on_true, acc);
        let on_false = self.past_reload(on_false, acc);
        self.jump(code, k, on_true, on_false)
    }

    /// `target`, or the instruction after its leading `ld` (and `and`) when those would
    /// recompute `acc`.
    fn past_reload(&self, target: Label, acc: Acc) -> Label {
        let is = |label: Label, code: u16, k: u32| {
            self.rev
                .get(label)
                .is_some_and(|insn| insn.code == code && insn.k == k)
        };
        // A load falls through, so what follows it is at `target - 1` (`rev` is backwards).
        if target == 0 || !is(target, LD_ABS, acc.offset) {
            return target;
        }
        if acc.mask == u32::MAX {
            target - 1
        } else if target >= 2 && is(target - 1, AND_K, acc.mask) {
            target - 2
        } else {
            target
        }
    }

    fn jump(&mut self, code: u16, k: u32, on_true: Label, on_false: Label) -> Label {
        let on_true = self.near(on_true);
        let on_false = self.near(on_false);
        let jt = self.offset(on_true);
        let jf = self.offset(on_false);
        self.push(code, jt, jf, k)
    }

    /// The distance to `target` in the width of the field it goes into (8 bits for `jt`/`jf`,
    /// 32 for `ja`); one that does not fit marks the program as wrong instead of wrapping.
    fn offset<T: TryFrom<usize> + Default>(&mut self, target: Label) -> T {
        T::try_from(self.distance(target)).unwrap_or_else(|_| {
            self.out_of_reach = true;
            T::default()
        })
    }

    /// A load falls through: callers add it right after (in front of) its successor.
    fn load(&mut self, offset: u32) -> Label {
        self.push(LD_ABS, 0, 0, offset)
    }

    fn and(&mut self, mask: u32) -> Label {
        self.push(AND_K, 0, 0, mask)
    }

    /// The binary search: `nr >= start of the upper half` picks a half. The accumulator holds
    /// `nr` throughout, as leaves never come back.
    fn search(&mut self, intervals: &[(u32, Leaf<'_>)]) -> Label {
        match intervals {
            [] => self.ret(Action::KillProcess.ret()),
            [(_, leaf)] => self.leaf(leaf),
            _ => {
                let mid = intervals.len() / 2;
                let upper = self.search(&intervals[mid..]);
                let lower = self.search(&intervals[..mid]);
                self.jump(JGE, intervals[mid].0, upper, lower)
            }
        }
    }

    fn leaf(&mut self, leaf: &Leaf<'_>) -> Label {
        match leaf {
            Leaf::Ret(value) => self.ret(*value),
            Leaf::Branches(decision) => self.branches(decision),
        }
    }

    /// The branches in order, back to front. A run of branches that each test one 32-bit
    /// word for one value (ioctl's requests) becomes a search over the values.
    fn branches(&mut self, decision: &Decision) -> Label {
        let mut next = self.ret(decision.fallback.ret());
        let list = &decision.branches;
        let mut end = list.len();
        while end > 0 {
            let run = value_run(&list[..end]);
            if run >= VALUE_SEARCH_MIN {
                next = self.value_search(&list[end - run..end], next);
                end -= run;
            } else {
                let branch = &list[end - 1];
                let hit = self.ret(branch.action.ret());
                next = self.all_of(&branch.args, hit, next);
                end -= 1;
            }
        }
        next
    }

    /// Branches that all test the same word for a value (`value_test`): load the word once,
    /// then search the values, sorted, the first branch's action winning for a value listed
    /// twice.
    fn value_search(&mut self, run: &[Branch], miss: Label) -> Label {
        let mut values: Vec<(u32, u32)> = Vec::with_capacity(run.len());
        let mut word = None;
        for branch in run {
            let Some(ValueTest::Word(acc, value)) = branch_value_test(branch) else {
                continue;
            };
            word = Some(acc);
            if !values.iter().any(|&(v, _)| v == value) {
                values.push((value, branch.action.ret()));
            }
        }
        // Only tests that never hold: the run is never taken.
        let Some(acc) = word else {
            return miss;
        };
        values.sort_unstable_by_key(|&(v, _)| v);
        // The search's first instruction is the last one pushed: the load goes in front.
        self.search_values(acc, &values, miss);
        if acc.mask != u32::MAX {
            self.and(acc.mask);
        }
        self.load(acc.offset)
    }

    fn search_values(&mut self, acc: Acc, values: &[(u32, u32)], miss: Label) -> Label {
        if values.len() <= VALUE_CHAIN_MAX {
            return values.iter().rev().fold(miss, |next, &(value, ret)| {
                let hit = self.ret(ret);
                self.jump_with(JEQ, value, acc, hit, next)
            });
        }
        let mid = values.len() / 2;
        let upper = self.search_values(acc, &values[mid..], miss);
        let lower = self.search_values(acc, &values[..mid], miss);
        self.jump(JGE, values[mid].0, upper, lower)
    }

    fn all_of(&mut self, args: &[ArgCmp], hit: Label, miss: Label) -> Label {
        args.iter()
            .rev()
            .fold(hit, |on_true, cmp| self.compare(cmp, on_true, miss))
    }

    /// One 64-bit comparison, as the high word decides unless it is equal.
    fn compare(&mut self, cmp: &ArgCmp, on_true: Label, on_false: Label) -> Label {
        let lo_offset = OFFSET_ARGS + 8 * u32::from(cmp.index);
        let hi_offset = lo_offset + 4;
        let (hi, lo) = (|v: u64| (v >> 32) as u32, |v: u64| v as u32);
        let v = cmp.value;
        match cmp.op {
            Op::Equal => self.equal(hi_offset, lo_offset, v, on_true, on_false),
            Op::NotEqual => self.equal(hi_offset, lo_offset, v, on_false, on_true),
            Op::GreaterThan => self.ordered(JGT, hi_offset, lo_offset, v, on_true, on_false),
            Op::GreaterOrEqual => self.ordered(JGE, hi_offset, lo_offset, v, on_true, on_false),
            Op::LessOrEqual => self.ordered(JGT, hi_offset, lo_offset, v, on_false, on_true),
            Op::LessThan => self.ordered(JGE, hi_offset, lo_offset, v, on_false, on_true),
            Op::MaskedEqual => {
                let datum = cmp.value_two;
                let low = self.masked_word(lo_offset, lo(v), lo(datum), on_true, on_false);
                self.masked_word(hi_offset, hi(v), hi(datum), low, on_false)
            }
        }
    }

    /// `arg == v`. A high word that differs goes to `f`, or past `f` when that is an
    /// `arg == w` with the same high word.
    fn equal(&mut self, hi_off: u32, lo_off: u32, v: u64, t: Label, f: Label) -> Label {
        let hi = (v >> 32) as u32;
        let hi_miss = self
            .continued(f, lo_off, hi)
            .and_then(|n| n.hi_miss)
            .unwrap_or(f);
        let (lo_hit, lo_miss) = (self.low_of(t, lo_off, hi), self.low_of(f, lo_off, hi));
        self.jump_with(JEQ, v as u32, Acc::word(lo_off), lo_hit, lo_miss);
        let low = self.load(lo_off);
        self.jump_with(JEQ, hi, Acc::word(hi_off), low, hi_miss);
        self.record_compare(hi_off, lo_off, hi, low, Some(hi_miss))
    }

    /// `arg > v` (JGT) or `arg >= v` (JGE): a greater high word decides, an equal one defers
    /// to the low word.
    fn ordered(
        &mut self,
        code: u16,
        hi_off: u32,
        lo_off: u32,
        v: u64,
        t: Label,
        f: Label,
    ) -> Label {
        let hi = (v >> 32) as u32;
        let (lo_t, lo_f) = (self.low_of(t, lo_off, hi), self.low_of(f, lo_off, hi));
        self.jump_with(code, v as u32, Acc::word(lo_off), lo_t, lo_f);
        let low = self.load(lo_off);
        let acc = Acc::word(hi_off);
        let high_equal = self.jump_with(JEQ, hi, acc, low, f);
        self.jump_with(JGT, hi, acc, t, high_equal);
        self.record_compare(hi_off, lo_off, hi, low, None)
    }

    /// The comparison at `target`, when it tests the same argument with the same high word.
    fn continued(&self, target: Label, lo_offset: u32, hi: u32) -> Option<Compare64> {
        self.last_compare
            .filter(|n| n.head == target && n.lo_offset == lo_offset && n.hi == hi)
    }

    /// Where a low-word test, which knows the high word is `hi`, enters `target`: at its low
    /// word when it is a comparison of the same argument and high word, else at its start.
    fn low_of(&self, target: Label, lo_offset: u32, hi: u32) -> Label {
        self.continued(target, lo_offset, hi)
            .map_or(target, |n| n.low)
    }

    /// Emits the high word's load in front of a comparison and remembers its shape.
    fn record_compare(
        &mut self,
        hi_off: u32,
        lo_offset: u32,
        hi: u32,
        low: Label,
        hi_miss: Option<Label>,
    ) -> Label {
        let head = self.load(hi_off);
        self.last_compare = Some(Compare64 {
            head,
            lo_offset,
            hi,
            low,
            hi_miss,
        });
        head
    }

    /// `(word & mask) == datum`. A zero mask makes the word irrelevant, so the common 32-bit
    /// flag masks cost nothing for the high word.
    fn masked_word(&mut self, offset: u32, mask: u32, datum: u32, t: Label, f: Label) -> Label {
        if mask == 0 {
            return if datum == 0 { t } else { f };
        }
        self.jump_with(JEQ, datum, Acc { offset, mask }, t, f);
        if mask != u32::MAX {
            self.and(mask);
        }
        self.load(offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offset_too_far_for_its_field_marks_the_program_wrong() {
        let mut b = Builder::default();
        let target = b.ret(0);
        for _ in 0..255 {
            b.load(OFFSET_NR);
        }
        assert_eq!((b.offset::<u8>(target), b.out_of_reach), (255, false));
        b.load(OFFSET_NR);
        assert_eq!((b.offset::<u8>(target), b.out_of_reach), (0, true));
        let mut b = Builder::default();
        let target = b.ret(0);
        for _ in 0..300 {
            b.load(OFFSET_NR);
        }
        assert_eq!((b.offset::<u32>(target), b.out_of_reach), (300, false));
    }
}

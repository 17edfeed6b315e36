//! The PID-1 loop: wait for a signal (no timer: zero wake-ups while nothing happens), forward
//! it (rewritten if asked; a SIGTERM after the stop delay), reap every child that dies, and
//! once the program is gone end what it left behind. The only timed wait while the program
//! runs is a pending stop delay's.
//! Once the program runs, nothing here may kill hardinit: errors are logged and the loop
//! goes on after a pause that doubles with each failure in a row (never a busy loop), and the
//! end gives up on what it cannot kill or find rather than trying forever.

use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use log::{debug, info, warn};
use nix::errno::Errno;
use nix::poll::PollTimeout;
use nix::unistd::Pid;

use crate::listener::{Readiness, Server};
use crate::signal::{rewritten, Rewrite};
use crate::sys::{self, sig_bit, ChildEnd, SigInfo, SigMask, ALL_SIGNALS};

const SIGCHLD_ONLY: sys::SigMask = sig_bit(libc::SIGCHLD);

/// The pause after a failed call, doubled with each failure in a row up to the most.
const PAUSE_FIRST: Duration = Duration::from_millis(100);
const PAUSE_MOST: Duration = Duration::from_millis(1600);

/// SIGKILL rounds in a row that reap nothing before hardinit leaves the rest (about 8 s).
const STALLED_ROUNDS: u32 = 8;

/// A pause that doubles each time it is taken, until reset.
struct Backoff(Duration);

impl Backoff {
    fn new() -> Self {
        Backoff(PAUSE_FIRST)
    }

    /// The pause to take now; the next one is twice as long.
    fn next(&mut self) -> Duration {
        let now = self.0;
        self.0 = (self.0 * 2).min(PAUSE_MOST);
        now
    }

    fn reset(&mut self) {
        self.0 = PAUSE_FIRST;
    }
}

/// How the supervisor behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// Forward signals to the program's process group instead of the program.
    pub kill_group: bool,
    /// Time between SIGTERM and SIGKILL for what the program leaves behind.
    pub grace: Duration,
    /// Warn for every reaped zombie that is not the program.
    pub warn_zombies: bool,
    /// hardinit is PID 1 of its namespace: "everything left" is every process there.
    pub is_pid1: bool,
    /// Exit codes reported as 0 (`-e`).
    pub remap_exit: Vec<u8>,
    /// `--rewrite FROM:TO`: the program receives TO where hardinit received FROM.
    pub rewrite: Vec<Rewrite>,
    /// `--stop-delay`: how long a first SIGTERM waits before it is forwarded.
    pub stop_delay: Duration,
}

/// Supervises the relay's program until it and everything it left behind are gone; returns
/// the exit status hardinit should report.
/// With a `server` (learning, complain mode) every wait serves the seccomp listener too, and
/// once everything is gone the server writes its results.
pub fn supervise(mut relay: Relay<'_>, server: Option<&mut Server>) -> i32 {
    let opts = relay.opts;
    let mut waiter = Waiter::new(server);
    let status = wait_for_program(&mut relay, &mut waiter);
    end_the_rest(opts, &mut waiter);
    if let Some(server) = waiter.server {
        server.finish();
    }
    exit_code(status, &opts.remap_exit)
}

/// Waits for signals. In learning and complain mode it serves the listener while it waits: a
/// notified call of the program must never wait on a PID 1 that waits on the program.
struct Waiter<'a> {
    server: Option<&'a mut Server>,
    /// One signalfd per mask waited for, made on first use: a signal outside the mask must
    /// not make the wait return (or spin) while it stays pending.
    signalfds: Vec<(SigMask, OwnedFd)>,
}

impl<'a> Waiter<'a> {
    fn new(server: Option<&'a mut Server>) -> Self {
        Waiter {
            server,
            signalfds: Vec::new(),
        }
    }

    /// `sys::wait_for_signal`, serving the listener meanwhile: EAGAIN once `timeout` passed.
    fn wait(&mut self, mask: SigMask, timeout: Option<Duration>) -> Result<SigInfo, Errno> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let Waiter { server, signalfds } = self;
        loop {
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            let serving = server.as_deref_mut().filter(|s| s.watched().is_some());
            let Some(server) = serving else {
                return sys::wait_for_signal(mask, left.or(timeout));
            };
            if left.is_some_and(|d| d.is_zero()) {
                return Err(Errno::EAGAIN);
            }
            let fd = signalfd_for(signalfds, mask)?;
            match server.poll_serving(fd.as_fd(), poll_timeout(left))? {
                Readiness::Fd => {
                    if let Some(signo) = sys::read_signal(fd.as_fd())? {
                        return Ok(SigInfo { signo });
                    }
                }
                Readiness::Other | Readiness::Timeout => {}
            }
        }
    }
}

fn signalfd_for(fds: &mut Vec<(SigMask, OwnedFd)>, mask: SigMask) -> Result<&OwnedFd, Errno> {
    let at = match fds.iter().position(|(m, _)| *m == mask) {
        Some(at) => at,
        None => {
            fds.push((mask, sys::signal_fd(mask)?));
            fds.len() - 1
        }
    };
    Ok(&fds[at].1)
}

/// Milliseconds, rounded up so a wait never returns before its deadline.
/// A poll timeout of at least `left` (rounded up to the millisecond); `None` waits forever.
pub fn poll_timeout(left: Option<Duration>) -> PollTimeout {
    match left {
        None => PollTimeout::NONE,
        Some(d) => {
            let ms = d.as_micros().div_ceil(1000);
            PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)
        }
    }
}

/// What hardinit does with each signal it receives for the program: forwards it (rewritten,
/// to the process group with `-g`), or holds a first SIGTERM for the stop delay. One relay
/// serves from the exec wait on, so a signal gets the same treatment whenever it comes: also
/// in the instant after the program's exec, before PID 1 has seen it.
pub struct Relay<'a> {
    program: Pid,
    opts: &'a Options,
    /// When a delayed SIGTERM is due; `None` (the idle state) waits without a timer.
    term_due: Option<Instant>,
}

impl<'a> Relay<'a> {
    pub fn new(program: Pid, opts: &'a Options) -> Self {
        Relay {
            program,
            opts,
            term_due: None,
        }
    }

    /// Acts on a signal hardinit received (SIGCHLD is the caller's).
    pub fn receive(&mut self, signo: i32) {
        if signo == libc::SIGTERM && !self.opts.stop_delay.is_zero() {
            self.delay_or_forward_term();
        } else {
            forward(self.program, signo, self.opts);
        }
    }

    /// How long a wait may last before [`Relay::expire`] is due; `None`: no timer.
    pub fn timeout(&self) -> Option<Duration> {
        self.term_due
            .map(|due| due.saturating_duration_since(Instant::now()))
    }

    /// Forwards the delayed SIGTERM: a wait bounded by [`Relay::timeout`] timed out.
    pub fn expire(&mut self) {
        if self.term_due.take().is_some() {
            debug!("stop delay over");
            forward(self.program, libc::SIGTERM, self.opts);
        }
    }

    /// A first SIGTERM starts the stop delay (so a load balancer can stop sending traffic
    /// before the program hears of it); a second one while it runs is forwarded at once.
    fn delay_or_forward_term(&mut self) {
        if self.term_due.take().is_some() {
            info!("second SIGTERM: forwarding it now");
            forward(self.program, libc::SIGTERM, self.opts);
            return;
        }
        info!(
            "SIGTERM: forwarding it in {} s (--stop-delay; a second SIGTERM forwards it at once)",
            self.opts.stop_delay.as_secs()
        );
        self.term_due = Some(deadline_after(Instant::now(), self.opts.stop_delay));
    }
}

fn wait_for_program(relay: &mut Relay<'_>, waiter: &mut Waiter<'_>) -> ChildEnd {
    let (program, opts) = (relay.program, relay.opts);
    let mut backoff = Backoff::new();
    loop {
        match waiter.wait(ALL_SIGNALS, relay.timeout()) {
            Ok(info) if info.signo == libc::SIGCHLD => {
                backoff.reset();
                if let Some(status) = reap_available(program, opts) {
                    return status;
                }
            }
            Ok(info) => {
                backoff.reset();
                relay.receive(info.signo);
            }
            Err(Errno::EAGAIN) if relay.term_due.is_some() => relay.expire(),
            Err(Errno::EINTR) => {}
            Err(e) => {
                // Without signals, still reap: the program's end is then seen at the latest
                // one pause after it.
                let pause = backoff.next();
                warn!("waiting for signals failed: {e}; retrying in {pause:?}");
                std::thread::sleep(pause);
                if let Some(status) = reap_available(program, opts) {
                    return status;
                }
            }
        }
    }
}

/// Reaps every child that has exited; returns the program's status if it was among them.
fn reap_available(program: Pid, opts: &Options) -> Option<ChildEnd> {
    reap_exited(Some(program), opts).program
}

/// What one round of reaping found.
struct Reaped {
    /// The program's status, when it was among the reaped.
    program: Option<ChildEnd>,
    /// hardinit has no child left.
    none_left: bool,
    /// At least one child was reaped.
    any: bool,
}

/// Reaps until no exited child is left; notes the status of `program` among them.
fn reap_exited(program: Option<Pid>, opts: &Options) -> Reaped {
    let mut reaped = Reaped {
        program: None,
        none_left: false,
        any: false,
    };
    loop {
        match sys::reap_child(false) {
            Err(Errno::ECHILD) => {
                reaped.none_left = true;
                return reaped;
            }
            Ok(None) => return reaped,
            Ok(Some((pid, end))) if program.is_some_and(|p| p.as_raw() == pid) => {
                debug!("program ended: {end:?}");
                reaped.program = Some(end);
                reaped.any = true;
            }
            Ok(Some((pid, _))) => {
                note_zombie(pid, opts);
                reaped.any = true;
            }
            Err(Errno::EINTR) => {}
            Err(e) => {
                warn!("waitpid failed: {e}");
                return reaped;
            }
        }
    }
}

fn note_zombie(pid: i32, opts: &Options) {
    if opts.warn_zombies {
        warn!("Reaped zombie process with pid={pid}");
    } else {
        debug!("Reaped zombie process with pid={pid}");
    }
}

fn forward(program: Pid, received: i32, opts: &Options) {
    let target = if opts.kill_group {
        -program.as_raw()
    } else {
        program.as_raw()
    };
    let signo = rewritten(&opts.rewrite, received);
    if signo != received {
        debug!("passing signal {received} to {target} as signal {signo}");
    } else {
        debug!("passing signal {signo} to {target}");
    }
    match sys::send_signal(target, signo) {
        Ok(()) | Err(Errno::ESRCH) => {}
        Err(e) => warn!("cannot forward signal {signo} to {target}: {e}"),
    }
}

/// Fail closed once the program runs but hardinit cannot supervise it: SIGKILL the program,
/// its process group and everything else hardinit is responsible for, and reap until
/// nothing is left, so no process outlives hardinit unsupervised.
pub fn kill_everything(program: Pid, is_pid1: bool) {
    for target in [program.as_raw(), -program.as_raw()] {
        match sys::send_signal(target, libc::SIGKILL) {
            Ok(()) | Err(Errno::ESRCH) => {}
            Err(e) => warn!("cannot kill {target}: {e}"),
        }
    }
    let opts = Options {
        kill_group: false,
        grace: Duration::ZERO,
        warn_zombies: false,
        is_pid1,
        remap_exit: Vec::new(),
        rewrite: Vec::new(),
        stop_delay: Duration::ZERO,
    };
    end_the_rest(&opts, &mut Waiter::new(None));
}

/// SIGTERM to every remaining descendant, reap for up to the grace period, SIGKILL what is
/// left, and return when nothing is left — or when SIGKILL rounds stop reaping anything (a
/// process that cannot die, or that hardinit cannot find or signal): then it says so and
/// leaves them.
fn end_the_rest(opts: &Options, waiter: &mut Waiter<'_>) {
    if reap_others(opts) != Left::Nothing {
        if !opts.grace.is_zero() {
            info!("sending SIGTERM to the remaining processes");
            signal_rest(libc::SIGTERM, opts);
            if wait_for_the_rest(opts.grace, opts, waiter) {
                return;
            }
        }
        kill_the_rest(opts, waiter);
    }
}

/// `now + grace`; a grace period too long for the clock (`--grace-period` refuses one)
/// ends as late as the clock can say, never in a panic.
fn deadline_after(now: Instant, grace: Duration) -> Instant {
    (0..64)
        .map(|halvings| grace / (1 << halvings))
        .find_map(|g| now.checked_add(g))
        .unwrap_or(now)
}

/// Reaps until nothing is left (true) or `grace` has passed (false).
fn wait_for_the_rest(grace: Duration, opts: &Options, waiter: &mut Waiter<'_>) -> bool {
    let deadline = deadline_after(Instant::now(), grace);
    while let Some(left) = deadline
        .checked_duration_since(Instant::now())
        .filter(|d| !d.is_zero())
    {
        match waiter.wait(SIGCHLD_ONLY, Some(left)) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(Errno::EAGAIN) => return reap_others(opts) == Left::Nothing,
            Err(e) => {
                warn!("waiting for SIGCHLD failed: {e}");
                std::thread::sleep(PAUSE_FIRST.min(left));
            }
        }
        if reap_others(opts) == Left::Nothing {
            return true;
        }
    }
    false
}

/// SIGKILL rounds, each followed by a pause that doubles while nothing is reaped. A process
/// forked after a round, or re-parented to hardinit later, is caught by the next one.
fn kill_the_rest(opts: &Options, waiter: &mut Waiter<'_>) {
    let mut pause = Backoff::new();
    let mut stalled = 0;
    loop {
        info!("sending SIGKILL to the remaining processes");
        signal_rest(libc::SIGKILL, opts);
        match waiter.wait(SIGCHLD_ONLY, Some(pause.next())) {
            Ok(_) | Err(Errno::EINTR) | Err(Errno::EAGAIN) => {}
            Err(e) => warn!("waiting for SIGCHLD failed: {e}"),
        }
        match reap_others(opts) {
            Left::Nothing => return,
            Left::Fewer => {
                stalled = 0;
                pause.reset();
            }
            Left::Same => stalled += 1,
        }
        if stalled == STALLED_ROUNDS {
            warn!(
                "giving up on the remaining processes: {STALLED_ROUNDS} rounds of SIGKILL reaped none of them"
            );
            return;
        }
    }
}

/// What a round of reaping others left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Left {
    /// hardinit has no child left (so no descendant either: every descendant's chain of
    /// parents ends at one of hardinit's children).
    Nothing,
    /// Some exited; others are left.
    Fewer,
    /// None exited (or waitpid failed).
    Same,
}

/// Reaps what has exited.
fn reap_others(opts: &Options) -> Left {
    let reaped = reap_exited(None, opts);
    match (reaped.none_left, reaped.any) {
        (true, _) => Left::Nothing,
        (false, true) => Left::Fewer,
        (false, false) => Left::Same,
    }
}

/// Signals every process hardinit is responsible for: as PID 1 everything in its PID
/// namespace, as a subreaper everything below it.
fn signal_rest(signo: i32, opts: &Options) {
    if opts.is_pid1 {
        // kill(-1) from PID 1 reaches every other process of the namespace.
        if let Err(e) = sys::send_signal(-1, signo) {
            if e != Errno::ESRCH {
                warn!("cannot signal the remaining processes: {e}");
            }
        }
        return;
    }
    for pid in descendants(std::process::id() as i32) {
        match sys::send_signal(pid, signo) {
            Ok(()) | Err(Errno::ESRCH) => {}
            Err(e) => warn!("cannot signal {pid}: {e}"),
        }
    }
}

/// Every process below `root`, from /proc.
fn descendants(root: i32) -> Vec<i32> {
    let parents = read_parents();
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            parents
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    found.remove(0);
    found
}

/// (pid, parent pid) of every process visible in /proc.
fn read_parents() -> Vec<(i32, i32)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        warn!("cannot read /proc to find the remaining processes");
        return Vec::new();
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()))
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            parse_parent(&stat).map(|ppid| (pid, ppid))
        })
        .collect()
}

/// The parent pid from a /proc/PID/stat line; the command name may hold spaces and ')'.
fn parse_parent(stat: &str) -> Option<i32> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(1)?.parse().ok()
}

/// The program's exit code, or 128+N when signal N killed it; `-e` codes become 0.
fn exit_code(end: ChildEnd, remap: &[u8]) -> i32 {
    let code = match end {
        ChildEnd::Exited(code) => code,
        ChildEnd::Signaled(signo) => 128 + signo,
    };
    if u8::try_from(code).is_ok_and(|c| remap.contains(&c)) {
        0
    } else {
        code
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_is_read_after_the_last_paren() {
        assert_eq!(parse_parent("42 (a) b) S 7 42 42 0"), Some(7));
        assert_eq!(parse_parent("1 (init) S 0 1 1"), Some(0));
        assert_eq!(parse_parent("garbage"), None);
    }

    #[test]
    fn a_grace_period_beyond_the_clock_does_not_panic() {
        let now = Instant::now();
        assert!(deadline_after(now, Duration::MAX) > now + Duration::from_secs(1 << 40));
        assert_eq!(
            deadline_after(now, Duration::from_secs(5)),
            now + Duration::from_secs(5)
        );
    }

    #[test]
    fn pauses_double_up_to_the_most_and_reset() {
        let mut b = Backoff::new();
        let taken: Vec<u64> = (0..7).map(|_| b.next().as_millis() as u64).collect();
        assert_eq!(taken, [100, 200, 400, 800, 1600, 1600, 1600]);
        b.reset();
        assert_eq!(b.next(), PAUSE_FIRST);
    }

    #[test]
    fn exit_codes_follow_the_shell_convention() {
        assert_eq!(exit_code(ChildEnd::Exited(3), &[]), 3);
        assert_eq!(exit_code(ChildEnd::Exited(3), &[3]), 0);
        assert_eq!(exit_code(ChildEnd::Signaled(15), &[]), 143);
        assert_eq!(exit_code(ChildEnd::Signaled(15), &[143]), 0);
        assert_eq!(exit_code(ChildEnd::Signaled(40), &[]), 168);
    }
}

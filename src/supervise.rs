//! The PID-1 loop: wait for a signal (no timer: zero wake-ups while nothing happens), forward
//! it, reap every child that dies, and once the program is gone end what it left behind.
//! Once the program runs, nothing here may kill hardinit: errors are logged and the loop
//! goes on.

use std::time::{Duration, Instant};

use log::{debug, info, warn};
use nix::errno::Errno;
use nix::unistd::Pid;

use crate::sys::{self, sig_bit, ChildEnd, ALL_SIGNALS};

const SIGCHLD_ONLY: sys::SigMask = sig_bit(libc::SIGCHLD);

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
}

/// Supervises `program` until it and everything it left behind are gone; returns the exit
/// status hardinit should report.
pub fn supervise(program: Pid, opts: &Options) -> i32 {
    let status = wait_for_program(program, opts);
    end_the_rest(opts);
    exit_code(status, &opts.remap_exit)
}

fn wait_for_program(program: Pid, opts: &Options) -> ChildEnd {
    loop {
        match sys::wait_for_signal(ALL_SIGNALS, None) {
            Ok(info) if info.signo == libc::SIGCHLD => {
                if let Some(status) = reap_available(program, opts) {
                    return status;
                }
            }
            Ok(info) => forward(program, info.signo, opts),
            Err(Errno::EINTR) => {}
            Err(e) => warn!("waiting for signals failed: {e}"),
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
}

/// Reaps until no exited child is left; notes the status of `program` among them.
fn reap_exited(program: Option<Pid>, opts: &Options) -> Reaped {
    let mut reaped = Reaped {
        program: None,
        none_left: false,
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
            }
            Ok(Some((pid, _))) => note_zombie(pid, opts),
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

fn forward(program: Pid, signo: i32, opts: &Options) {
    let target = if opts.kill_group {
        -program.as_raw()
    } else {
        program.as_raw()
    };
    debug!("passing signal {signo} to {target}");
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
    };
    end_the_rest(&opts);
}

/// SIGTERM to every remaining descendant, reap for up to the grace period, SIGKILL what is
/// left, and return only when nothing is left.
fn end_the_rest(opts: &Options) {
    if reap_others(opts) {
        return;
    }
    if !opts.grace.is_zero() {
        info!("sending SIGTERM to the remaining processes");
        signal_rest(libc::SIGTERM, opts);
        let deadline = Instant::now() + opts.grace;
        while let Some(left) = deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
        {
            match sys::wait_for_signal(SIGCHLD_ONLY, Some(left)) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(Errno::EAGAIN) => break,
                Err(e) => warn!("waiting for SIGCHLD failed: {e}"),
            }
            if reap_others(opts) {
                return;
            }
        }
    }
    loop {
        info!("sending SIGKILL to the remaining processes");
        signal_rest(libc::SIGKILL, opts);
        // A process forked after the kill, or re-parented to hardinit later, is caught by
        // the next round.
        match sys::wait_for_signal(SIGCHLD_ONLY, Some(Duration::from_millis(100))) {
            Ok(_) | Err(Errno::EINTR) | Err(Errno::EAGAIN) => {}
            Err(e) => warn!("waiting for SIGCHLD failed: {e}"),
        }
        if reap_others(opts) {
            return;
        }
    }
}

/// Reaps what has exited; true when hardinit has no child left (so no descendant either:
/// every descendant's chain of parents ends at one of hardinit's children).
fn reap_others(opts: &Options) -> bool {
    reap_exited(None, opts).none_left
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
    fn exit_codes_follow_the_shell_convention() {
        assert_eq!(exit_code(ChildEnd::Exited(3), &[]), 3);
        assert_eq!(exit_code(ChildEnd::Exited(3), &[3]), 0);
        assert_eq!(exit_code(ChildEnd::Signaled(15), &[]), 143);
        assert_eq!(exit_code(ChildEnd::Signaled(15), &[143]), 0);
        assert_eq!(exit_code(ChildEnd::Signaled(40), &[]), 168);
    }
}

//! Issue 17's stop signals: `--rewrite FROM:TO` and `--stop-delay SECONDS`, and the end of a
//! run after both. Orders, not timings, are asserted: a delayed SIGTERM arrives after a signal
//! sent later.

use std::process::Command;
use std::time::Duration;

use crate::util::{self, Background};

const SECS: fn(u64) -> Duration = Duration::from_secs;

/// hardinit with `flags` running the sigecho probe until it has received `n` signals.
fn sigecho(flags: &[&str], n: usize) -> Background {
    let probe = util::c_probe("sigecho");
    let mut init = Background::start(
        Command::new(util::hardinit())
            .args(flags)
            .arg("--")
            .arg(&probe)
            .arg(n.to_string()),
    );
    assert_eq!(init.next_line(SECS(10)), "ready");
    init
}

/// Sends SIGTERM to an init run with `-v --stop-delay 3600` and waits until it says it holds
/// the signal back.
fn hold_sigterm_for_an_hour(init: &Background) {
    util::send(init.pid(), libc::SIGTERM);
    assert!(
        util::wait_until(SECS(10), || init
            .stderr()
            .contains("SIGTERM: forwarding it in 3600 s")),
        "{}",
        init.stderr()
    );
}

#[test]
fn rewrite_forwards_the_signal_it_names() {
    let mut init = sigecho(
        &[
            "--rewrite",
            "TERM:QUIT",
            "--rewrite",
            "USR1:40",
            "--rewrite",
            "HUP:HUP",
        ],
        4,
    );
    for (sent, got) in [
        (libc::SIGTERM, libc::SIGQUIT),
        (libc::SIGUSR1, 40),
        (libc::SIGHUP, libc::SIGHUP),
        (libc::SIGUSR2, libc::SIGUSR2),
    ] {
        util::send(init.pid(), sent);
        assert_eq!(init.next_line(SECS(10)), got.to_string(), "sent {sent}");
    }
    assert_eq!(init.wait(SECS(10)).code(), Some(0), "{}", init.stderr());
}

#[test]
fn rewrite_from_the_environment_and_to_the_group() {
    let probe = util::c_probe("sigecho");
    // sh survives SIGQUIT (a trap, which its child does not inherit), so the probe's line and
    // sh's exit 0 show a group-wide SIGQUIT.
    let script = format!("trap : QUIT; {} 1 & wait; wait", probe.display());
    let mut init = Background::start(
        Command::new(util::hardinit())
            .env("HARDINIT_REWRITE", "TERM:QUIT")
            .args(["-g", "sh", "-c", &script]),
    );
    assert_eq!(init.next_line(SECS(10)), "ready");
    util::send(init.pid(), libc::SIGTERM);
    assert_eq!(init.next_line(SECS(10)), libc::SIGQUIT.to_string());
    assert_eq!(init.wait(SECS(10)).code(), Some(0), "{}", init.stderr());
}

#[test]
fn stop_delay_holds_sigterm_back_while_other_signals_pass() {
    // An hour's delay, so that nothing but a second SIGTERM can forward the first within the
    // test: the order below holds however slow the machine is. (With a delay of seconds, a
    // program that did not run for that long would find SIGQUIT and SIGUSR1 pending at once
    // and take the lower number first.) The delay's own timer is proven by
    // the_graceful_end_still_works_after_a_delay_and_a_rewrite.
    let mut init = sigecho(&["-v", "--stop-delay", "3600", "--rewrite", "TERM:QUIT"], 2);
    hold_sigterm_for_an_hour(&init);
    util::send(init.pid(), libc::SIGUSR1);
    // USR1, sent second, arrives while SIGTERM is held; the held SIGTERM follows, rewritten.
    assert_eq!(init.next_line(SECS(10)), libc::SIGUSR1.to_string());
    util::send(init.pid(), libc::SIGTERM);
    assert_eq!(init.next_line(SECS(10)), libc::SIGQUIT.to_string());
    assert_eq!(init.wait(SECS(10)).code(), Some(0), "{}", init.stderr());
    assert!(
        init.stderr().contains("second SIGTERM: forwarding it now"),
        "{}",
        init.stderr()
    );
    // The control: without the delay the same two signals arrive in the order sent.
    let mut init = sigecho(&[], 2);
    util::send(init.pid(), libc::SIGTERM);
    assert_eq!(init.next_line(SECS(10)), libc::SIGTERM.to_string());
    util::send(init.pid(), libc::SIGUSR1);
    assert_eq!(init.next_line(SECS(10)), libc::SIGUSR1.to_string());
    init.wait(SECS(10));
}

#[test]
fn a_second_sigterm_is_forwarded_at_once() {
    // An hour's delay: only the second SIGTERM can deliver within the test's bound.
    let mut init = sigecho(&["--stop-delay", "3600", "-v"], 1);
    hold_sigterm_for_an_hour(&init);
    util::send(init.pid(), libc::SIGTERM);
    assert_eq!(init.next_line(SECS(10)), libc::SIGTERM.to_string());
    assert_eq!(init.wait(SECS(10)).code(), Some(0), "{}", init.stderr());
    assert!(init.stderr().contains("second SIGTERM: forwarding it now"));
}

#[test]
fn the_graceful_end_still_works_after_a_delay_and_a_rewrite() {
    // The program ends on SIGQUIT (the rewritten SIGTERM) and leaves a child that ignores
    // SIGTERM: hardinit's end-of-run SIGTERM is not rewritten, and SIGKILL follows the grace.
    let script = "trap 'exit 7' QUIT; (trap '' TERM; exec sleep 60) & while :; do sleep 0.1; done";
    let mut init = Background::start(Command::new(util::hardinit()).args([
        "-v",
        "--stop-delay",
        "1",
        "--rewrite",
        "TERM:QUIT",
        "--grace-period",
        "1",
        "sh",
        "-c",
        script,
    ]));
    assert!(util::wait_until(SECS(10), || util::children_of(init.pid())
        .iter()
        .any(|&sh| !util::children_of(sh).is_empty())));
    util::send(init.pid(), libc::SIGTERM);
    assert_eq!(init.wait(SECS(20)).code(), Some(7), "{}", init.stderr());
    let log = init.stderr();
    assert!(
        log.contains("sending SIGTERM to the remaining processes"),
        "{log}"
    );
    assert!(
        log.contains("sending SIGKILL to the remaining processes"),
        "{log}"
    );
}

#[test]
fn pid1_with_a_stop_delay_is_idle_before_and_after_it() {
    let mut init = sigecho(&["--stop-delay", "1"], 2);
    let switches =
        |init: &Background| util::status_field(init.pid(), "voluntary_ctxt_switches").unwrap();
    let idle = |init: &Background, what: &str| {
        std::thread::sleep(Duration::from_millis(300));
        let before = switches(init);
        std::thread::sleep(SECS(2));
        assert_eq!(
            before,
            switches(init),
            "hardinit woke up {what}\n{}",
            init.stderr()
        );
    };
    idle(&init, "before any SIGTERM");
    util::send(init.pid(), libc::SIGTERM);
    assert_eq!(init.next_line(SECS(10)), libc::SIGTERM.to_string());
    idle(&init, "after the delayed SIGTERM was forwarded");
    util::send(init.pid(), libc::SIGUSR1);
    assert_eq!(init.next_line(SECS(10)), libc::SIGUSR1.to_string());
    assert_eq!(init.wait(SECS(10)).code(), Some(0));
}

#[test]
fn stop_values_are_bounded() {
    for argv in [
        &["--stop-delay", "3601", "true"][..],
        &["--stop-delay", "-1", "true"],
        &["--rewrite", "KILL:TERM", "true"],
        &["--rewrite", "TERM:NOPE", "true"],
        &["--rewrite", "TERM:QUIT", "--rewrite", "SIGTERM:INT", "true"],
    ] {
        util::run_hardinit(argv).expect_code(2);
    }
    let mut cmd = Command::new(util::hardinit());
    cmd.env("HARDINIT_STOP_DELAY", "3601").arg("true");
    let out = util::run_with_timeout(&mut cmd, SECS(10));
    out.expect_code(125);
    assert_eq!(
        out.stderr,
        "hardinit: HARDINIT_STOP_DELAY=3601: 3601 is not in 0..=3600\n"
    );
}

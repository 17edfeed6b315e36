//! Issue 13: once the program runs, an error in hardinit's own set-up (PID 1's lock-down, its
//! parent-death signal) kills the program and everything it started before hardinit exits:
//! nothing is left running unsupervised.

use std::process::Command;
use std::time::Duration;

use crate::util;

/// Processes whose command line is exactly `argv`.
fn processes_running(argv: &[&str]) -> Vec<i32> {
    let want: Vec<u8> = argv
        .iter()
        .flat_map(|a| [a.as_bytes(), b"\0"].concat())
        .collect();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c == want))
        .collect()
}

#[test]
fn a_lock_down_failure_after_the_spawn_kills_the_program_and_its_descendants() {
    let deny = util::c_probe("denydumpable");
    // Durations no other test uses, so the processes are found by their command line.
    let (child, program) = (
        format!("3141.{}", std::process::id()),
        format!("2718.{}", std::process::id()),
    );
    // Away from the test's pipes: a survivor must not keep them open.
    let script = format!("exec >/dev/null 2>&1; sleep {child} & exec sleep {program}");
    for extra in [&[][..], &["-p", "SIGTERM"], &["-g"]] {
        let mut cmd = Command::new(&deny);
        cmd.arg(util::hardinit())
            .args(extra)
            .args(["--", "sh", "-c", &script]);
        let out = util::run_with_timeout(&mut cmd, Duration::from_secs(30));
        out.expect_code(125);
        assert!(
            out.stderr.contains(
                "hardinit: lock down PID 1: set the dumpable flag: Operation not permitted (EPERM)\n"
            ),
            "{out}"
        );
        // hardinit has reaped them all before it exited: nothing is left to find.
        for argv in [["sleep", child.as_str()], ["sleep", program.as_str()]] {
            assert_eq!(
                processes_running(&argv),
                Vec::<i32>::new(),
                "{argv:?} {extra:?}\n{out}"
            );
        }
    }
}

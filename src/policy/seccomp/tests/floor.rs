use super::*;
use crate::policy::seccomp::floor::MODE_ARGUMENTS;

const TIOCSTI: u64 = 0x5412;
const TIOCLINUX: u64 = 0x541c;
const TIOCGWINSZ: u64 = 0x5413;
const AF_UNIX: u64 = 1;
const AF_INET: u64 = 2;
const AF_INET6: u64 = 10;
const AF_SMC: u64 = 43;
const SOCK_STREAM: u64 = 1;
const SOCK_DGRAM: u64 = 2;
const SOCK_SEQPACKET: u64 = 5;
const SOCK_DCCP: u64 = 6;
const SOCK_FLAGS: u64 = 0o4000 | 0o2000000;
const IPPROTO_TCP: u64 = 6;
const IPPROTO_SCTP: u64 = 132;
const IPPROTO_MPTCP: u64 = 262;
const IPPROTO_SMC: u64 = 256;
const MFD_CLOEXEC: u64 = 1;
const MFD_NOEXEC_SEAL: u64 = 8;
const EPROTONOSUPPORT: u32 = libc::SECCOMP_RET_ERRNO | 93;
const EAFNOSUPPORT: u32 = libc::SECCOMP_RET_ERRNO | 97;

fn opts(read_only: bool, port_lists: bool, kernel: (u32, u32)) -> FloorOptions {
    FloorOptions {
        read_only,
        port_lists,
        kernel,
        arch: &syscalls::X86_64,
        landlock_abi: 7,
    }
}

fn full_floor() -> Floor {
    floor(&opts(true, true, (6, 18)))
}

fn with_floor(profile: Option<&Profile>, floor: &Floor) -> SeccompFilter {
    compile(profile, Some(floor)).unwrap().unwrap()
}

fn args(a: &[u64]) -> [u64; 6] {
    let mut out = [0; 6];
    out[..a.len()].copy_from_slice(a);
    out
}

/// The floor's answer, or the profile's own refusal of the whole call (EPERM, or ENOSYS
/// above its highest number); exact answers for unconfined are asserted separately.
fn refused(ret: u32) -> bool {
    [EPERM, ENOSYS].contains(&ret)
}

/// The answers every filter with the whole floor gives, whatever the profile.
fn assert_floor_holds(filter: &SeccompFilter) {
    for request in [
        TIOCSTI,
        TIOCLINUX,
        TIOCSTI | 1 << 32,
        TIOCLINUX | 0xdead << 32,
    ] {
        for fd in [0, 1, 2, 7] {
            assert_eq!(
                ret(filter, "ioctl", args(&[fd, request])),
                EPERM,
                "{request:x}"
            );
        }
    }
    for (name, index) in MODE_CALLS {
        for mode in [
            0o4755,
            0o2755,
            0o6755,
            0o4000,
            0o2000,
            0o104755,
            0o4755 | 1 << 40,
        ] {
            let mut a = [0; 6];
            a[index] = mode;
            let got = ret(filter, name, a);
            assert!(refused(got), "{name} mode {mode:o}: {got:x}");
        }
    }
    assert!(refused(ret(filter, "openat2", args(&[0, 0, 0, 24]))));
    for domain in [AF_INET, AF_INET6, AF_INET | 1 << 32] {
        for (kind, protocol) in [
            (SOCK_STREAM, IPPROTO_MPTCP),
            (SOCK_STREAM | SOCK_FLAGS, IPPROTO_MPTCP),
            (SOCK_STREAM, IPPROTO_SCTP),
            (SOCK_STREAM, IPPROTO_SMC),
            (SOCK_STREAM, IPPROTO_TCP | 1 << 32),
            (SOCK_SEQPACKET, 0),
            (SOCK_SEQPACKET | SOCK_FLAGS, IPPROTO_SCTP),
            (SOCK_DCCP, 0),
        ] {
            assert_eq!(
                ret(filter, "socket", args(&[domain, kind, protocol])),
                EPROTONOSUPPORT,
                "socket({domain:x}, {kind:x}, {protocol})"
            );
        }
    }
    assert_eq!(
        ret(filter, "socket", args(&[AF_SMC, SOCK_STREAM, 0])),
        EAFNOSUPPORT
    );
    for flags in [0, MFD_CLOEXEC, 0x10, MFD_NOEXEC_SEAL << 32] {
        assert!(refused(ret(filter, "memfd_create", args(&[0, flags]))));
    }
}

#[test]
fn the_floor_holds_under_unconfined_default_and_node() {
    let floor = full_floor();
    let docker = builtin(Builtin::Default, &docker_ctx());
    let node = builtin(Builtin::Node, &docker_ctx());
    for profile in [None, Some(&docker), Some(&node)] {
        assert_floor_holds(&with_floor(profile, &floor));
    }
}

#[test]
fn unconfined_with_the_floor_gives_the_floors_own_answers() {
    let f = with_floor(None, &full_floor());
    assert_eq!(ret(&f, "openat2", args(&[])), ENOSYS);
    assert_eq!(ret(&f, "io_uring_setup", args(&[])), ENOSYS);
    assert_eq!(ret(&f, "memfd_create", args(&[0, MFD_CLOEXEC])), ENOSYS);
    assert_eq!(ret(&f, "fchmodat2", args(&[0, 0, 0o4755])), EPERM);
    assert_eq!(ret(&f, "mknodat", args(&[0, 0, 0o102755])), EPERM);
}

#[test]
fn what_the_floor_leaves_alone_still_runs() {
    let floor = full_floor();
    let docker = builtin(Builtin::Default, &docker_ctx());
    for profile in [None, Some(&docker)] {
        let f = with_floor(profile, &floor);
        assert_eq!(ret(&f, "ioctl", args(&[0, TIOCGWINSZ])), ALLOW);
        assert_eq!(ret(&f, "ioctl", args(&[0, 0x5410])), ALLOW);
        assert_eq!(ret(&f, "chmod", args(&[0, 0o755])), ALLOW);
        assert_eq!(ret(&f, "chmod", args(&[0, 0o1777])), ALLOW);
        assert_eq!(ret(&f, "openat", args(&[0, 0, 0o101, 0o644])), ALLOW);
        // The mode is compared whatever the flags: a stray S_ISUID without O_CREAT too.
        assert_eq!(ret(&f, "openat", args(&[0, 0, 0, 0o4000])), EPERM);
        assert_eq!(ret(&f, "mkdir", args(&[0, 0o1777])), ALLOW);
        for (domain, kind, protocol) in [
            (AF_INET, SOCK_STREAM, 0),
            (AF_INET, SOCK_STREAM | SOCK_FLAGS, 0),
            (AF_INET6, SOCK_STREAM, IPPROTO_TCP),
            (AF_INET6, SOCK_STREAM | SOCK_FLAGS, IPPROTO_TCP),
            (AF_INET, SOCK_DGRAM, 0),
            (AF_UNIX, SOCK_STREAM, 0),
            (AF_UNIX, SOCK_SEQPACKET, 0),
        ] {
            assert_eq!(
                ret(&f, "socket", args(&[domain, kind, protocol])),
                ALLOW,
                "socket({domain}, {kind:x}, {protocol})"
            );
        }
        let sealed = MFD_NOEXEC_SEAL | MFD_CLOEXEC;
        assert_eq!(ret(&f, "memfd_create", args(&[0, sealed])), ALLOW);
        assert_eq!(ret(&f, "read", args(&[])), ALLOW);
        assert_eq!(ret(&f, "execve", args(&[])), ALLOW);
    }
}

#[test]
fn the_parts_for_port_lists_and_read_only_come_only_with_those_flags() {
    let f = with_floor(None, &floor(&opts(false, false, (6, 18))));
    let mptcp = args(&[AF_INET, SOCK_STREAM, IPPROTO_MPTCP]);
    assert_eq!(ret(&f, "socket", mptcp), ALLOW);
    assert_eq!(ret(&f, "memfd_create", args(&[0, 0])), ALLOW);
    assert_eq!(ret(&f, "ioctl", args(&[0, TIOCSTI])), EPERM);
    let f = with_floor(None, &floor(&opts(false, true, (6, 18))));
    assert_eq!(ret(&f, "socket", mptcp), EPROTONOSUPPORT);
    assert_eq!(ret(&f, "memfd_create", args(&[0, 0])), ALLOW);
    let f = with_floor(None, &floor(&opts(true, false, (6, 18))));
    assert_eq!(ret(&f, "socket", mptcp), ALLOW);
    assert_eq!(ret(&f, "memfd_create", args(&[0, 0])), ENOSYS);
}

#[test]
fn before_linux_6_3_every_memfd_is_refused() {
    let f = with_floor(None, &floor(&opts(true, false, (6, 2))));
    assert_eq!(ret(&f, "memfd_create", args(&[0, MFD_NOEXEC_SEAL])), ENOSYS);
    let f = with_floor(None, &floor(&opts(true, false, (6, 3))));
    assert_eq!(ret(&f, "memfd_create", args(&[0, MFD_NOEXEC_SEAL])), ALLOW);
}

#[test]
fn unconfined_with_the_floor_still_kills_foreign_abis() {
    let f = with_floor(None, &full_floor());
    let i386 = SeccompData {
        arch: syscalls::AUDIT_ARCH_I386,
        ..SeccompData::on(&syscalls::X86_64, 15, [0, 0o4755, 0, 0, 0, 0])
    };
    assert_eq!(simulate(&f.program, &i386).unwrap().ret, KILL_PROCESS);
    let x32 = SeccompData::on(&syscalls::X86_64, nr("chmod") | 0x4000_0000, [0; 6]);
    assert_eq!(simulate(&f.program, &x32).unwrap().ret, KILL_PROCESS);
}

#[test]
fn a_stronger_answer_of_the_profile_wins_and_a_refusal_keeps_its_errno() {
    // Kill by default; chmod allowed for fd-less path 5 only, killed for 7.
    let p = profile(
        r#"{"defaultAction":"SCMP_ACT_KILL","syscalls":[
            {"names":["execve","exit_group"],"action":"SCMP_ACT_ALLOW"},
            {"names":["chmod"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":5,"op":"SCMP_CMP_EQ"}]},
            {"names":["chmod"],"action":"SCMP_ACT_KILL","args":[{"index":0,"value":7,"op":"SCMP_CMP_EQ"}]},
            {"names":["fchmod"],"action":"SCMP_ACT_ERRNO","errnoRet":13},
            {"names":["mkdir"],"action":"SCMP_ACT_TRAP","args":[{"index":1,"value":1,"op":"SCMP_CMP_EQ"}]},
            {"names":["mkdir"],"action":"SCMP_ACT_ALLOW"}
        ]}"#,
    );
    let f = with_floor(Some(&p), &full_floor());
    assert_eq!(ret(&f, "chmod", args(&[5, 0o4755])), EPERM);
    assert_eq!(ret(&f, "chmod", args(&[5, 0o755])), ALLOW);
    assert_eq!(ret(&f, "chmod", args(&[6, 0o4755])), KILL_PROCESS);
    assert_eq!(ret(&f, "chmod", args(&[7, 0o4755])), KILL_PROCESS);
    assert_eq!(
        ret(&f, "fchmod", args(&[0, 0o4755])),
        libc::SECCOMP_RET_ERRNO | 13
    );
    assert_eq!(ret(&f, "mkdir", args(&[0, 1])), libc::SECCOMP_RET_TRAP);
    assert_eq!(ret(&f, "mkdir", args(&[0, 0o2755])), EPERM);
    assert_eq!(ret(&f, "mkdir", args(&[0, 0o755])), ALLOW);
    // Not named: killed, floor or not.
    assert_eq!(ret(&f, "ioctl", args(&[0, TIOCSTI])), KILL_PROCESS);
    assert_filter_matches_floor_reference(Some(&p), &full_floor(), &f);
}

/// What the floor says of one call: the first of its rules for `nr` that holds.
fn floor_answer(floor: &Floor, nr: u32, a: &[u64; 6]) -> Option<Action> {
    floor.refusals.iter().find_map(|r| {
        r.rules
            .iter()
            .any(|(name, cmps)| {
                syscalls::X86_64.number(name) == Some(nr) && cmps.iter().all(|c| c.holds(a))
            })
            .then_some(r.action)
    })
}

/// The reference semantics of the merge, checked on every number with arguments around the
/// constants: the profile's answer when it is stronger than ERRNO, when it refuses the call
/// whatever the arguments or when the floor does not apply; else the floor's.
fn assert_filter_matches_floor_reference(
    p: Option<&Profile>,
    floor: &Floor,
    filter: &SeccompFilter,
) {
    let plan = p.map_or_else(
        || eval::FilterPlan::allow_all(&syscalls::X86_64),
        eval::plan,
    );
    let mut constants: Vec<u64> = floor
        .refusals
        .iter()
        .flat_map(|r| r.rules.iter().flat_map(|(_, c)| c.iter()))
        .chain(
            p.iter()
                .flat_map(|p| p.rules.iter().flat_map(|r| r.args.iter())),
        )
        .flat_map(|a| [a.value, a.value_two, a.value & !a.value_two])
        .collect();
    constants.sort();
    constants.dedup();
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    let probes = probing_args(&constants, &mut rng);
    let errno_rank = Action::Errno(0).strength_rank();
    for n in 0..=600u32 {
        for a in &probes {
            let profile = plan.action_for(n, a);
            let always_refused = plan.enosys_above.is_some_and(|max| n > max)
                || plan
                    .decisions
                    .get(&n)
                    .map_or(!plan.default.lets_calls_run(), |d| {
                        d.outcomes().all(|o| !o.lets_calls_run())
                    });
            let want = match floor_answer(floor, n, a) {
                Some(f) if !always_refused && profile.strength_rank() >= errno_rank => f,
                _ => profile,
            };
            assert_eq!(run(filter, n, *a).ret, want.ret(), "nr {n} args {a:x?}");
        }
    }
}

#[test]
fn the_merged_filter_matches_the_reference_for_every_number() {
    let floor = full_floor();
    let docker = builtin(Builtin::Default, &docker_ctx());
    let node = builtin(Builtin::Node, &docker_ctx());
    for p in [None, Some(&docker), Some(&node)] {
        assert_filter_matches_floor_reference(p, &floor, &with_floor(p, &floor));
    }
}

#[test]
fn the_floor_keeps_every_other_call_cacheable_and_the_walk_short() {
    let floor = full_floor();
    let node = builtin(Builtin::Node, &docker_ctx());
    let docker = builtin(Builtin::Default, &docker_ctx());
    for p in [&docker, &node] {
        let alone = p.compile().unwrap();
        let merged = with_floor(Some(p), &floor);
        for (name, n) in syscalls::X86_64.calls.iter() {
            let before = run(&alone, *n, [0; 6]);
            let after = run(&merged, *n, [0; 6]);
            if floor_answer(&floor, *n, &[0; 6]).is_none()
                && !floor
                    .refusals
                    .iter()
                    .any(|r| r.rules.iter().any(|(c, _)| c == name))
            {
                assert_eq!(before.ret, after.ret, "{name}");
                assert_eq!(
                    before.read_beyond_nr_arch, after.read_beyond_nr_arch,
                    "{name}"
                );
            }
        }
        // openat runs the filter on every call now: its walk stays short.
        let openat = run(&merged, nr("openat"), [0, 0, 0o101, 0o644, 0, 0]);
        assert!(openat.walked <= 24, "openat walks {}", openat.walked);
    }
}

#[test]
fn names_the_architecture_lacks_are_skipped() {
    // A refusal naming a call x86_64 does not have compiles to the same filter as without it.
    let mut floor = floor(&opts(false, false, (6, 18)));
    let before = with_floor(None, &floor).program;
    floor.refusals.push(Refusal {
        what: "a call from another architecture",
        action: Action::Errno(1),
        rules: vec![("arm_fadvise64_64", Vec::new())],
    });
    let after = with_floor(None, &floor).program;
    assert_eq!(
        before
            .iter()
            .map(|i| (i.code, i.jt, i.jf, i.k))
            .collect::<Vec<_>>(),
        after
            .iter()
            .map(|i| (i.code, i.jt, i.jf, i.k))
            .collect::<Vec<_>>()
    );
}

// --- a profile must let the program start and end ---

fn refusal(json: &str) -> String {
    check_program_can_run(Some(&profile(json)), Some(&full_floor()))
        .unwrap_err()
        .to_string()
}

#[test]
fn a_profile_that_refuses_execve_or_exit_group_is_refused() {
    for (json, call, action) in [
        (
            r#"{"defaultAction":"SCMP_ACT_ERRNO"}"#,
            "execve",
            "errno 1 (EPERM)",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_KILL"}"#,
            "execve",
            "kill process",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":0}"#,
            "execve",
            "errno 0",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["execve"],"action":"SCMP_ACT_ERRNO","errnoRet":0}]}"#,
            "execve",
            "errno 0",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["execve"],"action":"SCMP_ACT_KILL_THREAD","args":[{"index":2,"value":0,"op":"SCMP_CMP_NE"}]}]}"#,
            "execve",
            "kill thread",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["execve"],"action":"SCMP_ACT_TRACE"}]}"#,
            "execve",
            "trace 1",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["exit_group"],"action":"SCMP_ACT_TRAP"}]}"#,
            "exit_group",
            "trap (SIGSYS)",
        ),
        (
            // Everything above `read`, the highest number named, answers ENOSYS.
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}"#,
            "execve",
            "errno 38 (ENOSYS)",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["execve","write"],"action":"SCMP_ACT_ALLOW"}]}"#,
            "exit_group",
            "errno 38 (ENOSYS)",
        ),
    ] {
        assert_eq!(
            refusal(json),
            format!("seccomp profile p.json refuses {call} to the program ({action}), so it could never start or end; allow {call}"),
            "{json}"
        );
    }
}

#[test]
fn profiles_that_let_the_program_start_and_end_compile() {
    for json in [
        r#"{"defaultAction":"SCMP_ACT_LOG"}"#,
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["execve","exit_group","open"],"action":"SCMP_ACT_ALLOW"}]}"#,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["execveat"],"action":"SCMP_ACT_KILL"}]}"#,
    ] {
        assert!(
            check_program_can_run(Some(&profile(json)), None).is_ok(),
            "{json}"
        );
    }
    for which in [Builtin::Default, Builtin::Node] {
        let p = builtin(which, &docker_ctx());
        assert!(
            check_program_can_run(Some(&p), Some(&full_floor())).is_ok(),
            "{which}"
        );
    }
}

// --- what --print-policy and --export-seccomp show ---

#[test]
fn print_policy_lists_the_floor_after_the_profile() {
    let text = describe(None, Some(&floor(&opts(false, false, (6, 18)))));
    let floor_part = "seccomp floor (whatever --seccomp says) refuses:
  ioctl TIOCSTI and TIOCLINUX on any terminal (keystroke injection): errno 1 (EPERM)
  a setuid/setgid bit (mode & 06000) in chmod fchmod fchmodat fchmodat2 creat open openat mkdir mkdirat mknod mknodat: errno 1 (EPERM)
  openat2, whose mode a filter cannot see (programs fall back to openat): errno 38 (ENOSYS)
  io_uring, whose operations no filter sees: errno 38 (ENOSYS)";
    assert!(
        text.starts_with("seccomp: unconfined (hardinit's floor only)\n  default action: allow\n"),
        "{text}"
    );
    assert!(text.ends_with(floor_part), "{text}");
    let text = describe(None, Some(&full_floor()));
    assert!(text.ends_with("\
  with port lists: AF_INET/AF_INET6 stream sockets other than TCP (MPTCP, SCTP, SMC), SOCK_SEQPACKET and SOCK_DCCP, which Landlock's TCP rules do not cover: errno 93 (EPROTONOSUPPORT)
  with port lists: AF_SMC sockets: errno 97 (EAFNOSUPPORT)
  with --read-only: memfd_create without MFD_NOEXEC_SEAL (an executable memfd): errno 38 (ENOSYS)"), "{text}");
    assert_eq!(describe(None, None), "seccomp: unconfined");
}

#[test]
fn the_export_writes_the_floor_so_runc_enforces_the_mode_bits() {
    let floor = full_floor();
    for which in [Builtin::Default, Builtin::Node] {
        let p = builtin(which, &docker_ctx());
        let runtime = p.clone().for_runtime();
        let exported = runtime.clone().with_floor_entries(&floor);
        // No mode call keeps an unconditional allow (which would hide a conditional entry
        // from libseccomp): each is allowed only without a setuid/setgid bit; nor do openat2
        // and io_uring, refused whatever the arguments.
        let refused = [
            "openat2",
            "io_uring_setup",
            "io_uring_enter",
            "io_uring_register",
        ];
        for name in MODE_CALLS.map(|(n, _)| n).into_iter().chain(refused) {
            let unconditional = exported
                .rules
                .iter()
                .any(|r| r.action == Action::Allow && r.args.is_empty() && r.names.contains(&name));
            assert!(!unconditional, "{which}: {name}");
        }
        // Read back alone (as runc would apply it, before hardinit adds its floor again),
        // the file refuses the bits itself, and answers the calls without them as before.
        let back = profile(&exported.to_oci_json());
        let alone = back.compile().unwrap();
        let before = runtime.compile().unwrap();
        for (name, index) in MODE_CALLS {
            let mut a = [0; 6];
            a[index] = 0o4755;
            assert_ne!(ret(&alone, name, a), ALLOW, "{which}: {name}");
            a[index] = 0o755;
            assert_eq!(
                ret(&alone, name, a),
                ret(&before, name, a),
                "{which}: {name}"
            );
        }
        for name in refused {
            assert!(
                [EPERM, ENOSYS].contains(&ret(&alone, name, [0; 6])),
                "{which}: {name}"
            );
        }
        // With the floor merged in again, the answers are the floor's.
        assert_floor_holds(&with_floor(Some(&back), &floor));
        // Exported again (the launcher's calls included), nothing changes.
        assert_eq!(
            back.for_runtime().with_floor_entries(&floor).to_oci_json(),
            exported.to_oci_json()
        );
    }
    // Docker's profile allows every ioctl, which no OCI entry can narrow for runc: the
    // TIOCSTI/TIOCLINUX refusals are appended for hardinit to give back.
    let docker = builtin(Builtin::Default, &docker_ctx())
        .for_runtime()
        .with_floor_entries(&floor)
        .to_oci_json();
    assert!(
        docker.contains(
            r#"{
      "names": [
        "ioctl"
      ],
      "action": "SCMP_ACT_ERRNO",
      "errnoRet": 1,
      "args": [
        {
          "index": 1,
          "value": 4294967295,
          "valueTwo": 21522,
          "op": "SCMP_CMP_MASKED_EQ"
        }
      ]
    }"#
        ),
        "{docker}"
    );
}

/// The calls that take a mode, with the index of the mode argument (the floor's own table;
/// the print-policy test and the escape suite name them independently).
const MODE_CALLS: [(&str, usize); 11] = {
    let mut out = [("", 0); 11];
    let mut i = 0;
    while i < 11 {
        out[i] = (MODE_ARGUMENTS[i].0, MODE_ARGUMENTS[i].1 as usize);
        i += 1;
    }
    out
};

#[test]
fn a_mode_call_the_profile_allows_costs_one_compare() {
    let docker = builtin(Builtin::Default, &docker_ctx());
    let f = with_floor(Some(&docker), &full_floor());
    let alone = docker.compile().unwrap();
    let mut walks = Vec::new();
    for name in ["openat", "chmod", "mkdir", "fchmodat"] {
        let mut a = [0; 6];
        a[if name == "openat" {
            3
        } else if name == "fchmodat" {
            2
        } else {
            1
        }] = 0o644;
        walks.push((
            name,
            run(&alone, nr(name), a).walked,
            run(&f, nr(name), a).walked,
        ));
    }
    // Load the mode, mask it, compare; and a jump more where the call's number is split off
    // the interval of its allowed neighbours.
    assert_eq!(
        walks,
        [
            ("openat", 11, 15),
            ("chmod", 11, 15),
            ("mkdir", 11, 15),
            ("fchmodat", 11, 14)
        ]
    );
}

#[test]
fn below_landlock_abi_3_read_only_refuses_truncating_without_a_write_open() {
    let floor = floor(&FloorOptions {
        landlock_abi: 2,
        ..opts(true, false, (6, 1))
    });
    assert!(floor.refuses_truncate());
    let f = compile(
        Some(&builtin(Builtin::Default, &docker_ctx())),
        Some(&floor),
    )
    .unwrap()
    .unwrap();
    let eacces = libc::SECCOMP_RET_ERRNO | libc::EACCES as u32;
    let (rdonly, wronly, rdwr) = (0u64, 1u64, 2u64);
    let trunc = libc::O_TRUNC as u64;
    let open_flags = |flags: u64| [0, 0, flags, 0, 0, 0];
    assert_eq!(ret(&f, "truncate", [0; 6]), eacces);
    for flags in [
        rdonly | trunc,
        3 | trunc,
        rdonly | trunc | libc::O_CLOEXEC as u64,
    ] {
        assert_eq!(ret(&f, "openat", open_flags(flags)), eacces, "{flags:#o}");
        assert_eq!(
            ret(&f, "open", [0, flags, 0, 0, 0, 0]),
            eacces,
            "{flags:#o}"
        );
    }
    // A write open with O_TRUNC is Landlock's to judge; ftruncate needs one.
    for flags in [
        wronly | trunc,
        rdwr | trunc,
        rdonly,
        wronly | libc::O_CREAT as u64,
    ] {
        assert_eq!(ret(&f, "openat", open_flags(flags)), ALLOW, "{flags:#o}");
    }
    assert_eq!(ret(&f, "ftruncate", [0; 6]), ALLOW);
    for abi in [3, 7] {
        let above = floor_with(abi);
        assert!(!above.refuses_truncate(), "ABI {abi}");
    }
}

fn floor_with(landlock_abi: u32) -> Floor {
    floor(&FloorOptions {
        landlock_abi,
        ..opts(true, false, (6, 18))
    })
}

use std::path::PathBuf;

use super::super::{
    floor, resolve, simulate, syscalls, Action, Builtin, Choice, Context, FloorOptions, Profile,
    SeccompData,
};
use super::*;
use crate::kernel::SeccompFilter as Filter;

const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
const NOTIFY: u32 = libc::SECCOMP_RET_USER_NOTIF;
const ENOSYS: u32 = libc::SECCOMP_RET_ERRNO | 38;
const EPERM: u32 = libc::SECCOMP_RET_ERRNO | 1;
const KILL: u32 = libc::SECCOMP_RET_KILL_PROCESS;
const HANDOFF: Handoff = Handoff { fd: 7 };

fn nr(name: &str) -> u32 {
    syscalls::number(name).unwrap()
}

/// Learning runs on the native arch (as `listener::prepare` builds it): so do these tests,
/// on x86_64 and aarch64 alike.
fn ctx() -> Context {
    Context {
        arch: syscalls::NATIVE,
        caps: 0,
        kernel: (6, 18),
    }
}

fn parse(json: &str) -> Profile {
    resolve(
        &Choice::File(PathBuf::from("learned.json")),
        Some(json),
        &ctx(),
    )
    .unwrap()
    .unwrap()
}

fn ret(filter: &Filter, name: &str, args: [u64; 6]) -> u32 {
    simulate(&filter.program, &SeccompData::native(nr(name), args))
        .unwrap()
        .ret
}

fn record(calls: &[(&str, [u64; 6])]) -> Recording {
    let mut rec = Recording::default();
    for (name, args) in calls {
        rec.note(nr(name), args, || format!("/bin/{name}"));
    }
    rec
}

const SOCKET_INET_STREAM: [u64; 6] = [2, 1 | 0o4000 | 0o2000000, 0, 0, 0, 0];

#[test]
fn the_table_is_sorted_and_names_real_calls() {
    let names: Vec<&str> = ARGUMENT_RULES.iter().map(|(n, _)| *n).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(names, sorted);
    // Every name is some arch's; on aarch64 only x86_64's chmod is missing.
    for name in &names {
        assert!(
            syscalls::ALL.iter().any(|a| a.number(name).is_some()),
            "{name}"
        );
    }
    let missing_on = |arch: &syscalls::Arch, list: &[&'static str]| -> Vec<&'static str> {
        list.iter()
            .copied()
            .filter(|n| arch.number(n).is_none())
            .collect()
    };
    assert_eq!(missing_on(&syscalls::X86_64, &names), Vec::<&str>::new());
    assert_eq!(missing_on(&syscalls::AARCH64, &names), ["chmod"]);
    // The hot base is x86_64's; aarch64 has only the p-forms of epoll_wait and poll.
    assert_eq!(missing_on(&syscalls::X86_64, HOT_BASE), Vec::<&str>::new());
    assert_eq!(
        missing_on(&syscalls::AARCH64, HOT_BASE),
        ["epoll_wait", "poll"]
    );
    let native: Vec<&str> = hot_base().collect();
    assert_eq!(native, present_on(HOT_BASE, syscalls::NATIVE));
    for (name, _) in HOT_BY_ARGS {
        assert!(
            syscalls::ALL.iter().all(|a| a.number(name).is_some()),
            "{name}"
        );
    }
    // No hot call is one whose arguments the table compares (it would skip the rule).
    for name in HOT_BASE {
        assert_eq!(decisive(name), None, "{name}");
    }
    for (_, rules) in ARGUMENT_RULES {
        assert!(rules.iter().all(|d| d.index <= 5));
    }
}

/// The names of `list` that `arch` has.
fn present_on(list: &[&'static str], arch: &syscalls::Arch) -> Vec<&'static str> {
    list.iter()
        .copied()
        .filter(|n| arch.number(n).is_some())
        .collect()
}

#[test]
fn keys_keep_only_what_decides() {
    assert_eq!(keys_of("socket", &SOCKET_INET_STREAM), vec![2, 1, 0]);
    // An int argument is read as the kernel reads it: the low 32 bits.
    assert_eq!(
        keys_of("ioctl", &[3, 0xdead_beef_0000_5421, 0, 0, 0, 0]),
        vec![0x5421]
    );
    assert_eq!(
        keys_of("ptrace", &[0x1_0000_0010, 0, 0, 0, 0, 0]),
        vec![0x1_0000_0010]
    );
    assert_eq!(keys_of("mmap", &[0, 4096, 7, 0x22, 0, 0]), vec![4]);
    assert_eq!(keys_of("clone", &[0x1200011, 0, 0, 0, 0, 0]), vec![0]);
    assert_eq!(
        keys_of("clone", &[0x1000_0011, 0, 0, 0, 0, 0]),
        vec![0x1000_0000]
    );
    assert_eq!(keys_of("read", &[0, 1, 2, 3, 4, 5]), Vec::<u64>::new());
}

#[test]
fn a_condition_holds_for_exactly_its_key() {
    for (name, rules) in ARGUMENT_RULES {
        for args in [
            [0u64; 6],
            SOCKET_INET_STREAM,
            [u64::MAX; 6],
            [0x7E02_0000, 0x5421, 7, 0o4755, 0x1000, 9],
        ] {
            let keys = keys_of(name, &args);
            let conds = conditions(name, &keys);
            assert_eq!(conds.len(), rules.len());
            assert!(conds.iter().all(|c| c.holds(&args)), "{name} {args:?}");
            let mut other = args;
            for d in rules.iter() {
                let i = usize::from(d.index);
                other[i] = match d.compare {
                    Compare::Bits(mask) => other[i] ^ (mask & mask.wrapping_neg()),
                    _ => other[i] ^ 1,
                };
            }
            assert!(!conds.iter().all(|c| c.holds(&other)), "{name} {other:?}");
        }
    }
    // Garbage above an int argument's 32 bits does not matter, as it does not to the kernel.
    let conds = conditions("socket", &[2, 1, 0]);
    let mut args = SOCKET_INET_STREAM;
    args[0] |= 0xffff_ffff_0000_0000;
    assert!(conds.iter().all(|c| c.holds(&args)));
}

#[test]
fn notes_count_and_say_when_the_profile_grows() {
    let mut rec = Recording::default();
    let mut asked = 0;
    let mut exe = || {
        asked += 1;
        "/usr/bin/node".to_string()
    };
    assert!(rec.note(nr("socket"), &SOCKET_INET_STREAM, &mut exe));
    assert!(!rec.note(nr("socket"), &SOCKET_INET_STREAM, &mut exe));
    assert!(rec.note(nr("socket"), &[10, 1, 0, 0, 0, 0], &mut exe));
    assert!(rec.note(nr("getcwd"), &[1, 2, 3, 4, 5, 6], &mut exe));
    assert!(!rec.note(nr("getcwd"), &[9, 9, 9, 9, 9, 9], &mut exe));
    assert!(!rec.note(999, &[0; 6], &mut exe));
    assert_eq!(asked, 2);
    let socket = &rec.calls[&nr("socket")];
    assert_eq!(socket.count, 3);
    assert_eq!(socket.first_exe, "/usr/bin/node");
    assert_eq!(
        socket
            .keys
            .iter()
            .map(|(k, c)| (k.clone(), *c))
            .collect::<Vec<_>>(),
        vec![(vec![2, 1, 0], 2), (vec![10, 1, 0], 1)]
    );
    assert_eq!(rec.calls.len(), 2);
}

/// The learned profile of the tests below; `ARCH` stands for the native arch's OCI name.
const EXPECTED: &str = r#"{
  "defaultAction": "SCMP_ACT_ERRNO",
  "defaultErrnoRet": 1,
  "architectures": [
    "ARCH"
  ],
  "syscalls": [
    {
      "names": [
        "execve",
        "getcwd"
      ],
      "action": "SCMP_ACT_ALLOW"
    },
    {
      "names": [
        "ioctl"
      ],
      "action": "SCMP_ACT_ALLOW",
      "args": [
        {
          "index": 1,
          "value": 4294967295,
          "valueTwo": 21505,
          "op": "SCMP_CMP_MASKED_EQ"
        }
      ]
    },
    {
      "names": [
        "socket"
      ],
      "action": "SCMP_ACT_ALLOW",
      "args": [
        {
          "index": 0,
          "value": 4294967295,
          "valueTwo": 2,
          "op": "SCMP_CMP_MASKED_EQ"
        },
        {
          "index": 1,
          "value": 15,
          "valueTwo": 1,
          "op": "SCMP_CMP_MASKED_EQ"
        },
        {
          "index": 2,
          "value": 4294967295,
          "valueTwo": 0,
          "op": "SCMP_CMP_MASKED_EQ"
        }
      ]
    },
    {
      "names": [
        "clone3"
      ],
      "action": "SCMP_ACT_ERRNO",
      "errnoRet": 38
    }
  ]
}
"#;

fn expected() -> String {
    EXPECTED.replace("\"ARCH\"", &format!("\"{}\"", syscalls::NATIVE.scmp))
}

fn small_run() -> Vec<(&'static str, [u64; 6])> {
    vec![
        ("execve", [1, 2, 3, 0, 0, 0]),
        ("socket", SOCKET_INET_STREAM),
        ("ioctl", [0, 0x5401, 0, 0, 0, 0]),
        ("getcwd", [5, 6, 0, 0, 0, 0]),
        ("socket", [2, 1, 0, 0, 0, 0]),
    ]
}

#[test]
fn the_profile_is_sorted_and_holds_no_count() {
    let mut learned = Learned::empty();
    assert!(learned.add_recording(&record(&small_run())));
    assert_eq!(learned.to_oci_json(), expected());
    // The same calls in another order, more often, by other executables: the same bytes.
    let mut again = small_run();
    again.reverse();
    again.extend(small_run());
    let mut other = Learned::empty();
    other.add_recording(&record(&again));
    assert_eq!(other.to_oci_json(), expected());
    assert!(!other.add_recording(&record(&small_run())));
}

#[test]
fn the_learned_profile_enforces_what_was_seen() {
    let mut learned = Learned::empty();
    learned.add_recording(&record(&small_run()));
    let filter = parse(&learned.to_oci_json()).compile().unwrap();
    assert_eq!(ret(&filter, "socket", SOCKET_INET_STREAM), ALLOW);
    assert_eq!(ret(&filter, "socket", [10, 1, 0, 0, 0, 0]), EPERM);
    assert_eq!(ret(&filter, "socket", [2, 1, 262, 0, 0, 0]), EPERM); // MPTCP
    assert_eq!(ret(&filter, "ioctl", [1, 0x5401, 0, 0, 0, 0]), ALLOW);
    assert_eq!(ret(&filter, "ioctl", [1, 0x5412, 0, 0, 0, 0]), EPERM); // TIOCSTI
    assert_eq!(ret(&filter, "getcwd", [0; 6]), ALLOW);
    assert_eq!(ret(&filter, "clone3", [0; 6]), ENOSYS);
    for refused in ["unshare", "mount", "keyctl", "bpf", "ptrace"] {
        assert_eq!(ret(&filter, refused, [0; 6]), EPERM, "{refused}");
    }
    // Above the highest name the profile lists: ENOSYS, as runc does.
    assert_eq!(ret(&filter, "mseal", [0; 6]), ENOSYS);
}

#[test]
fn merging_is_a_union_that_survives_a_round_trip() {
    let mut first = Learned::empty();
    first.add_recording(&record(&small_run()));
    let mut merged = Learned::from_profile(&parse(&first.to_oci_json())).unwrap();
    assert_eq!(merged.to_oci_json(), expected());
    let second = record(&[
        ("socket", [10, 2, 17, 0, 0, 0]),
        ("uname", [0; 6]),
        ("getcwd", [0; 6]),
    ]);
    assert!(merged.add_recording(&second));
    let json = merged.to_oci_json();
    let back = parse(&json);
    let allowed: Vec<&str> = back.rules[0].names.to_vec();
    assert_eq!(allowed, ["execve", "getcwd", "uname"]);
    let socket_rules: Vec<Vec<u64>> = back
        .rules
        .iter()
        .filter(|r| r.names == ["socket"])
        .map(|r| r.args.iter().map(|a| a.value_two).collect())
        .collect();
    assert_eq!(socket_rules, vec![vec![2, 1, 0], vec![10, 2, 17]]);
    // Merging the same run again changes nothing, byte for byte.
    let mut again = Learned::from_profile(&back).unwrap();
    assert!(!again.add_recording(&second));
    assert_eq!(again.to_oci_json(), json);
}

#[test]
fn merging_keeps_what_the_user_wrote() {
    let json = r#"{"defaultAction":"SCMP_ACT_ERRNO","flags":["SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
      "syscalls":[{"names":["read","arm_fadvise64_64"],"action":"SCMP_ACT_ALLOW"},
      {"names":["setpriority"],"action":"SCMP_ACT_ERRNO","errnoRet":13},
      {"names":["clone3"],"action":"SCMP_ACT_ERRNO","errnoRet":38}]}"#;
    let mut learned = Learned::from_profile(&parse(json)).unwrap();
    learned.add_recording(&record(&[("write", [0; 6])]));
    let json = learned.to_oci_json();
    let back = parse(&json);
    assert_eq!(back.flags, libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW as u32);
    // Another arch's name is written back, though this one cannot filter it.
    assert_eq!(back.unknown_names, ["arm_fadvise64_64"]);
    assert!(
        json.contains("\"arm_fadvise64_64\",\n        \"read\""),
        "{json}"
    );
    let shape: Vec<(Vec<&str>, Action)> = back
        .rules
        .iter()
        .map(|r| (r.names.clone(), r.action))
        .collect();
    let names = |n: &[&'static str]| n.to_vec();
    assert_eq!(
        shape,
        vec![
            (names(&["read", "write"]), Action::Allow),
            (names(&["clone3"]), Action::Errno(38)),
            (names(&["setpriority"]), Action::Errno(13)),
        ]
    );
}

#[test]
fn merging_refuses_a_profile_that_allows_by_default() {
    let err = Learned::from_profile(&parse(r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot merge into learned.json: its defaultAction is allow, and a learned profile refuses with errno 1 (EPERM); learn into a new file"
    );
}

#[test]
fn the_recording_filter_notifies_what_is_not_allowed() {
    let mut learned = Learned::empty();
    learned.add_hot_base();
    let filter = recording_filter(&learned, None, HANDOFF).unwrap();
    assert_eq!(ret(&filter, "read", [0; 6]), ALLOW);
    assert_eq!(ret(&filter, "futex", [0; 6]), ALLOW);
    assert_eq!(ret(&filter, "mmap", [0, 4096, 3, 0x22, 0, 0]), ALLOW);
    assert_eq!(ret(&filter, "mmap", [0, 4096, 5, 0x22, 0, 0]), NOTIFY);
    assert_eq!(ret(&filter, "mprotect", [0, 4096, 7, 0, 0, 0]), NOTIFY);
    assert_eq!(ret(&filter, "socket", SOCKET_INET_STREAM), NOTIFY);
    assert_eq!(ret(&filter, "execve", [0; 6]), NOTIFY);
    assert_eq!(ret(&filter, "clone3", [0; 6]), ENOSYS);
    // No ENOSYS stub: a call above every name is recorded like any other.
    assert_eq!(ret(&filter, "mseal", [0; 6]), NOTIFY);
    // i386 on x86_64, AArch32 on aarch64.
    let foreign = SeccompData {
        arch: syscalls::NATIVE.foreign[0].audit,
        ..SeccompData::native(1, [0; 6])
    };
    assert_eq!(simulate(&filter.program, &foreign).unwrap().ret, KILL);
    // The hot base is assumed: the profile lists it from the start.
    let back = parse(&learned.to_oci_json());
    assert_eq!(back.rules[0].names.len(), hot_base().count());
}

#[test]
fn learn_all_notifies_everything_but_the_handoff() {
    let filter = recording_filter(&Learned::empty(), None, HANDOFF).unwrap();
    assert_eq!(ret(&filter, "read", [0; 6]), NOTIFY);
    assert_eq!(
        ret(&filter, "sendmsg", [7, 0, HANDOFF_FLAGS, 0, 0, 0]),
        ALLOW
    );
    assert_eq!(ret(&filter, "sendmsg", [7, 0, 0x4000, 0, 0, 0]), NOTIFY);
    assert_eq!(
        ret(&filter, "sendmsg", [8, 0, HANDOFF_FLAGS, 0, 0, 0]),
        NOTIFY
    );
}

#[test]
fn a_merged_run_allows_what_the_file_allows() {
    let mut learned = Learned::empty();
    learned.add_recording(&record(&small_run()));
    let learned = Learned::from_profile(&parse(&learned.to_oci_json())).unwrap();
    let filter = recording_filter(&learned, None, HANDOFF).unwrap();
    assert_eq!(ret(&filter, "getcwd", [0; 6]), ALLOW);
    assert_eq!(ret(&filter, "socket", SOCKET_INET_STREAM), ALLOW);
    assert_eq!(ret(&filter, "socket", [10, 1, 0, 0, 0, 0]), NOTIFY);
    assert_eq!(ret(&filter, "ioctl", [0, 0x5401, 0, 0, 0, 0]), ALLOW);
    assert_eq!(ret(&filter, "ioctl", [0, 0x5413, 0, 0, 0, 0]), NOTIFY);
    assert_eq!(ret(&filter, "uname", [0; 6]), NOTIFY);
}

#[test]
fn complain_mode_notifies_only_what_the_profile_refuses() {
    let node = resolve(&Choice::Builtin(Builtin::Node), None, &ctx())
        .unwrap()
        .unwrap();
    let (filter, verdicts) = complain_filter(&node, None, HANDOFF).unwrap();
    assert_eq!(ret(&filter, "read", [0; 6]), ALLOW);
    assert_eq!(ret(&filter, "keyctl", [0; 6]), NOTIFY);
    assert_eq!(
        ret(&filter, "unshare", [0x1000_0000, 0, 0, 0, 0, 0]),
        NOTIFY
    );
    assert_eq!(ret(&filter, "clone3", [0; 6]), ENOSYS);
    assert_eq!(verdicts.would(nr("keyctl"), &[0; 6]), Action::Errno(1));
    assert_eq!(verdicts.would(nr("read"), &[0; 6]), Action::Allow);
    // Every call the profile refuses is notified, every call it allows runs.
    let plain = node.compile().unwrap();
    for &(name, number) in syscalls::NATIVE.calls.iter() {
        for args in [[0u64; 6], SOCKET_INET_STREAM, [u64::MAX; 6]] {
            let data = SeccompData::native(number, args);
            let enforced = simulate(&plain.program, &data).unwrap().ret;
            let complained = simulate(&filter.program, &data).unwrap().ret;
            let expect = if enforced == ALLOW || name == "clone3" {
                enforced
            } else {
                NOTIFY
            };
            assert_eq!(complained, expect, "{name} {args:?}");
        }
    }
}

#[test]
fn complaints_log_the_first_of_each_kind_and_count() {
    let mut c = Complaints::default();
    let exe = || "/usr/bin/node".to_string();
    let eperm = Action::Errno(1);
    assert_eq!(
        c.note(nr("setpriority"), &[0, 0, 10, 0, 0, 0], eperm, 42, exe)
            .as_deref(),
        Some(
            r#"{"hardinit":"seccomp","would":"errno EPERM","syscall":"setpriority","args":[0,0,10,0,0,0],"pid":42,"exe":"/usr/bin/node"}"#
        )
    );
    assert_eq!(
        c.note(nr("setpriority"), &[0, 0, 5, 0, 0, 0], eperm, 43, exe),
        None
    );
    assert!(c
        .note(nr("socket"), &SOCKET_INET_STREAM, eperm, 42, exe)
        .is_some());
    assert_eq!(
        c.note(nr("socket"), &[2, 1, 0, 9, 9, 9], eperm, 42, exe),
        None
    );
    assert!(c
        .note(nr("socket"), &[10, 1, 0, 0, 0, 0], eperm, 42, exe)
        .is_some());
    assert_eq!(
        c.summary().as_deref(),
        Some(r#"{"hardinit":"seccomp","complained":3,"calls":{"setpriority":2,"socket":3}}"#)
    );
    assert_eq!(Complaints::default().summary(), None);
    assert_eq!(describe_would(Action::KillProcess), "kill process");
    assert_eq!(describe_would(Action::Errno(38)), "errno ENOSYS");
}

#[test]
fn the_report_says_where_each_call_came_from() {
    let mut learned = Learned::from_profile(&parse(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["uname"],"action":"SCMP_ACT_ALLOW"}]}"#,
    ))
    .unwrap();
    learned.add_hot_base();
    let rec = record(&[
        ("socket", SOCKET_INET_STREAM),
        ("socket", [2, 1, 0, 0, 0, 0]),
        ("read", [0; 6]),
        ("getcwd", [0; 6]),
    ]);
    learned.add_recording(&rec);
    let text = report("app.json", &learned, &rec);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "hardinit --learn report for app.json");
    let row = |name: &str| {
        lines
            .iter()
            .find(|l| l.split_whitespace().next() == Some(name))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
    };
    assert_eq!(
        row("socket").as_deref(),
        Some("socket observed 2 /bin/socket [0]=0x2 [1]&0xf=0x1 [2]=0x0 (2)")
    );
    assert_eq!(row("read").as_deref(), Some("read observed 1 /bin/read"));
    assert_eq!(row("write").as_deref(), Some("write assumed"));
    assert_eq!(row("mmap").as_deref(), Some("mmap assumed"));
    assert_eq!(row("uname").as_deref(), Some("uname from file"));
    assert_eq!(
        row("getcwd").as_deref(),
        Some("getcwd observed 1 /bin/getcwd")
    );
}

#[test]
fn the_floor_refuses_beneath_learning_and_complaining() {
    let floor = floor(&FloorOptions {
        read_only: true,
        port_lists: true,
        kernel: (6, 18),
        arch: syscalls::NATIVE,
        landlock_abi: 7,
    });
    let mut learned = Learned::empty();
    learned.add_hot_base();
    let node = resolve(&Choice::Builtin(Builtin::Node), None, &ctx())
        .unwrap()
        .unwrap();
    let filters = [
        recording_filter(&learned, Some(&floor), HANDOFF).unwrap(),
        recording_filter(&Learned::empty(), Some(&floor), HANDOFF).unwrap(),
        complain_filter(&node, Some(&floor), HANDOFF).unwrap().0,
    ];
    for filter in &filters {
        // TIOCSTI, a setuid bit, MPTCP: refused, neither recorded nor complained about.
        assert_eq!(ret(filter, "ioctl", [0, 0x5412, 0, 0, 0, 0]), EPERM);
        assert_eq!(ret(filter, "fchmodat", [0, 0, 0o4755, 0, 0, 0]), EPERM);
        assert_ne!(ret(filter, "socket", [2, 1, 262, 0, 0, 0]), NOTIFY);
        assert_ne!(ret(filter, "socket", [2, 1, 262, 0, 0, 0]), ALLOW);
        // The rest of those calls still reaches PID 1 or runs.
        assert!([ALLOW, NOTIFY].contains(&ret(filter, "ioctl", [0, 0x5401, 0, 0, 0, 0])));
        assert!([ALLOW, NOTIFY].contains(&ret(filter, "fchmodat", [0, 0, 0o755, 0, 0, 0])));
    }
    assert_eq!(
        ret(&filters[1], "sendmsg", [7, 0, HANDOFF_FLAGS, 0, 0, 0]),
        ALLOW
    );
}

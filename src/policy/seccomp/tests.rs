use std::path::PathBuf;

use super::*;

/// Docker's 14 default capabilities (CapBnd 00000000a80425fb in a plain `docker run`).
const DOCKER_CAPS: u64 = 0xa804_25fb;
const CAP_SYS_ADMIN: u64 = 1 << 21;
const CAP_SYS_PTRACE: u64 = 1 << 19;
const CAP_SYS_TIME: u64 = 1 << 25;

const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
const EPERM: u32 = libc::SECCOMP_RET_ERRNO | 1;
const ENOSYS: u32 = libc::SECCOMP_RET_ERRNO | 38;
const KILL_PROCESS: u32 = libc::SECCOMP_RET_KILL_PROCESS;

fn docker_ctx() -> Context {
    Context {
        arch: &syscalls::X86_64,
        caps: DOCKER_CAPS,
        kernel: (6, 18),
    }
}

fn builtin(which: Builtin, ctx: &Context) -> Profile {
    resolve(&Choice::Builtin(which), None, ctx)
        .unwrap()
        .unwrap()
}

fn from_json(json: &str) -> Result<Profile, SeccompError> {
    let choice = Choice::File(PathBuf::from("p.json"));
    resolve(&choice, Some(json), &docker_ctx()).map(|p| p.unwrap())
}

fn profile(json: &str) -> Profile {
    from_json(json).unwrap()
}

fn error(json: &str) -> String {
    from_json(json).unwrap_err().to_string()
}

fn nr(name: &str) -> u32 {
    syscalls::X86_64.number(name).unwrap()
}

fn run(filter: &SeccompFilter, nr: u32, args: [u64; 6]) -> Walk {
    simulate(
        &filter.program,
        &SeccompData::on(&syscalls::X86_64, nr, args),
    )
    .unwrap()
}

fn ret(filter: &SeccompFilter, name: &str, args: [u64; 6]) -> u32 {
    run(filter, nr(name), args).ret
}

fn arg0(value: u64) -> [u64; 6] {
    [value, 0, 0, 0, 0, 0]
}

/// A small deterministic generator, so failures reproduce.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Argument vectors that sit on and around `values` (both 32-bit words), plus noise.
fn probing_args(values: &[u64], rng: &mut XorShift) -> Vec<[u64; 6]> {
    let mut edges = vec![0, 1, u64::MAX, 0xffff_ffff, 0x1_0000_0000];
    for &v in values {
        for d in [
            v,
            v.wrapping_sub(1),
            v.wrapping_add(1),
            v ^ (1 << 32),
            v | (1 << 63),
        ] {
            edges.push(d);
        }
    }
    let mut out = Vec::new();
    for _ in 0..400 {
        let mut args = [0u64; 6];
        for a in &mut args {
            *a = match rng.next() % 3 {
                0 => edges[(rng.next() % edges.len() as u64) as usize],
                1 => rng.next(),
                _ => rng.next() & 0xff,
            };
        }
        out.push(args);
    }
    for &e in &edges {
        out.push([e; 6]);
    }
    out
}

/// Every number, with argument vectors around the profile's constants, gets from the BPF
/// exactly what the reference semantics say.
fn assert_filter_matches_reference(p: &Profile, filter: &SeccompFilter) {
    let mut constants: Vec<u64> = p
        .rules
        .iter()
        .flat_map(|r| {
            r.args
                .iter()
                .flat_map(|a| [a.value, a.value_two, a.value & !a.value_two])
        })
        .collect();
    constants.sort();
    constants.dedup();
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let args = probing_args(&constants, &mut rng);
    let plan = eval::plan(p);
    let numbers = (0..=600u32).chain([0x3fff_ffff, 0x8000_0000, u32::MAX - 0x4000_0000]);
    for n in numbers {
        // Calls whose answer cannot depend on arguments need one probe.
        let probes = if plan
            .decisions
            .get(&n)
            .is_some_and(|d| d.unconditional().is_none())
        {
            &args[..]
        } else {
            &args[..1]
        };
        for a in probes {
            let want = plan.action_for(n, a).ret();
            let call = SeccompData::on(p.arch, n, *a);
            let got = simulate(&filter.program, &call).unwrap().ret;
            assert_eq!(got, want, "{} nr {n} args {a:x?}", p.arch.name);
        }
    }
}

// --- the system call table ---

#[test]
fn every_name_in_every_table_is_found_by_its_hash() {
    for arch in syscalls::ALL {
        let found: Vec<(&str, Option<u32>)> = arch
            .calls
            .iter()
            .map(|&(name, _)| (name, arch.number(name)))
            .collect();
        let expected: Vec<(&str, Option<u32>)> = arch
            .calls
            .iter()
            .map(|&(name, nr)| (name, Some(nr)))
            .collect();
        assert_eq!(found, expected, "{}", arch.name);
        assert_eq!(arch.number(""), None);
        assert_eq!(arch.number("read\0"), None);
        assert!(
            arch.calls.windows(2).all(|w| w[0].1 < w[1].1),
            "{}",
            arch.name
        );
        let mut names: Vec<&str> = arch.calls.iter().map(|e| e.0).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), arch.calls.len(), "{}", arch.name);
    }
}

#[test]
fn the_native_table_is_the_one_the_binary_is_built_for() {
    assert_eq!(NATIVE.name, std::env::consts::ARCH);
    assert_eq!(syscalls::number("execve"), NATIVE.number("execve"));
    assert_eq!(Arch::by_name("aarch64"), Some(&syscalls::AARCH64));
    assert_eq!(Arch::by_name("x86_64"), Some(&syscalls::X86_64));
    assert_eq!(Arch::by_name("riscv64"), None);
}

#[test]
fn x86_64_table_is_complete_up_to_linux_6_18() {
    let t = &syscalls::X86_64;
    assert_eq!(t.calls.len(), 383);
    assert_eq!(t.number("read"), Some(0));
    assert_eq!(t.number("execve"), Some(59));
    assert_eq!(t.number("rseq"), Some(334));
    assert_eq!(t.number("uretprobe"), Some(335));
    assert_eq!(t.number("uprobe"), Some(336));
    assert_eq!(t.number("pidfd_send_signal"), Some(424));
    assert_eq!(t.number("set_mempolicy_home_node"), Some(450));
    assert_eq!(t.number("cachestat"), Some(451));
    assert_eq!(t.number("mseal"), Some(462));
    assert_eq!(t.number("removexattrat"), Some(466));
    assert_eq!(t.number("open_tree_attr"), Some(467));
    assert_eq!(t.number("file_getattr"), Some(468));
    assert_eq!(t.number("file_setattr"), Some(469));
    assert_eq!(t.number("chown32"), None);
    assert_eq!(t.name(337), None);
    assert_eq!(t.name(423), None);
    assert_eq!(t.name(470), None);
    assert_eq!(t.name(435), Some("clone3"));
}

#[test]
fn aarch64_table_is_the_generic_one_complete_up_to_linux_6_18() {
    let t = &syscalls::AARCH64;
    assert_eq!(t.calls.len(), 324);
    // 0..=41, 43..=243, 260..=294 and 424..=469, nothing else.
    let numbers: Vec<u32> = t.calls.iter().map(|&(_, nr)| nr).collect();
    let want: Vec<u32> = (0..=41)
        .chain(43..=243)
        .chain(260..=294)
        .chain(424..=469)
        .collect();
    assert_eq!(numbers, want);
    for (name, nr) in [
        ("io_setup", 0),
        ("getcwd", 17),
        ("fcntl", 25),
        ("renameat", 38),
        ("lseek", 62),
        ("read", 63),
        ("newfstatat", 79),
        ("fstat", 80),
        ("exit_group", 94),
        ("getrlimit", 163),
        ("socket", 198),
        ("clone", 220),
        ("execve", 221),
        ("mmap", 222),
        ("wait4", 260),
        ("rseq", 293),
        ("kexec_file_load", 294),
        ("clone3", 435),
        ("memfd_secret", 447),
        ("map_shadow_stack", 453),
        ("mseal", 462),
        ("file_setattr", 469),
    ] {
        assert_eq!(t.number(name), Some(nr), "{name}");
    }
    // The legacy calls exist only in their *at / p* / *2 forms, and x86's own calls not at all.
    for name in [
        "open",
        "stat",
        "lstat",
        "fork",
        "vfork",
        "pipe",
        "poll",
        "select",
        "epoll_wait",
        "access",
        "mkdir",
        "unlink",
        "rename",
        "dup2",
        "arch_prctl",
        "uretprobe",
        "uprobe",
        "time",
        "nfsservctl",
        "fstatat64",
        "mmap2",
    ] {
        assert_eq!(t.number(name), None, "{name}");
    }
    assert_eq!(t.name(42), None);
    assert_eq!(t.name(244), None);
    assert_eq!(t.name(295), None);
    assert_eq!(t.name(470), None);
}

// --- choosing and resolving ---

#[test]
fn parse_choice_knows_three_names_and_takes_anything_else_as_a_path() {
    assert_eq!(parse_choice("default"), Choice::Builtin(Builtin::Default));
    assert_eq!(parse_choice("node"), Choice::Builtin(Builtin::Node));
    assert_eq!(parse_choice("unconfined"), Choice::Unconfined);
    assert_eq!(
        parse_choice("./default"),
        Choice::File(PathBuf::from("./default"))
    );
    assert_eq!(
        parse_choice("/etc/p.json"),
        Choice::File(PathBuf::from("/etc/p.json"))
    );
}

#[test]
fn unconfined_resolves_to_no_profile() {
    assert_eq!(
        resolve(&Choice::Unconfined, None, &docker_ctx()).unwrap(),
        None
    );
}

#[test]
fn a_file_choice_without_contents_is_an_error() {
    let err = resolve(&Choice::File("x.json".into()), None, &docker_ctx()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no contents were read for seccomp profile x.json"
    );
}

#[test]
fn kernel_release_gives_major_and_minor() {
    assert_eq!(parse_kernel_release("6.18.44-fc-v657"), Some((6, 18)));
    assert_eq!(parse_kernel_release("3.12-1-amd64"), Some((3, 12)));
    assert_eq!(parse_kernel_release("5.4"), Some((5, 4)));
    assert_eq!(parse_kernel_release("6"), None);
    assert_eq!(parse_kernel_release("x.y"), None);
}

// --- Docker's default profile ---

#[test]
fn docker_default_with_docker_caps_matches_the_documented_counts() {
    let s = builtin(Builtin::Default, &docker_ctx()).summary();
    assert_eq!(s.count(Treatment::Always(Action::Allow)), 306);
    assert_eq!(
        s.names(Treatment::ByArguments),
        ["socket", "clone", "personality"]
    );
    assert_eq!(s.names(Treatment::Always(Action::Errno(38))), ["clone3"]);
    assert_eq!(s.count(Treatment::Default), 70);
    // Linux 6.15 and 6.17 added calls above the highest one Docker's profile names
    // (removexattrat, 466): runc's stub answers them ENOSYS, not EPERM.
    assert_eq!(s.enosys_above, Some(466));
    assert_eq!(
        s.names(Treatment::AboveHighest),
        ["open_tree_attr", "file_getattr", "file_setattr"]
    );
    assert_eq!(s.groups.len(), 5);
    assert_eq!(s.unknown_names, 61);
    assert_eq!(s.bpf, Some((110, 19)));
}

#[test]
fn docker_default_denies_exactly_these_with_eperm() {
    let s = builtin(Builtin::Default, &docker_ctx()).summary();
    assert_eq!(
        s.names(Treatment::Default),
        [
            "syslog",
            "uselib",
            "ustat",
            "sysfs",
            "vhangup",
            "pivot_root",
            "_sysctl",
            "acct",
            "settimeofday",
            "mount",
            "umount2",
            "swapon",
            "swapoff",
            "reboot",
            "sethostname",
            "setdomainname",
            "iopl",
            "ioperm",
            "create_module",
            "init_module",
            "delete_module",
            "get_kernel_syms",
            "query_module",
            "quotactl",
            "nfsservctl",
            "getpmsg",
            "putpmsg",
            "afs_syscall",
            "tuxcall",
            "security",
            "lookup_dcookie",
            "clock_settime",
            "vserver",
            "mbind",
            "set_mempolicy",
            "get_mempolicy",
            "kexec_load",
            "add_key",
            "request_key",
            "keyctl",
            "migrate_pages",
            "unshare",
            "move_pages",
            "perf_event_open",
            "fanotify_init",
            "open_by_handle_at",
            "setns",
            "kcmp",
            "finit_module",
            "kexec_file_load",
            "bpf",
            "userfaultfd",
            "uprobe",
            "io_uring_setup",
            "io_uring_enter",
            "io_uring_register",
            "open_tree",
            "move_mount",
            "fsopen",
            "fsconfig",
            "fsmount",
            "fspick",
            "pidfd_getfd",
            "process_madvise",
            "mount_setattr",
            "quotactl_fd",
            "set_mempolicy_home_node",
            "lsm_get_self_attr",
            "lsm_set_self_attr",
            "lsm_list_modules",
        ]
    );
}

#[test]
fn docker_default_argument_rules_answer_like_docker() {
    let f = builtin(Builtin::Default, &docker_ctx()).compile().unwrap();
    // socket: AF_ALG (38) and AF_VSOCK (40) refused, the rest allowed.
    assert_eq!(ret(&f, "socket", arg0(libc::AF_INET as u64)), ALLOW);
    assert_eq!(ret(&f, "socket", arg0(37)), ALLOW);
    assert_eq!(ret(&f, "socket", arg0(38)), EPERM);
    assert_eq!(ret(&f, "socket", arg0(39)), ALLOW);
    assert_eq!(ret(&f, "socket", arg0(40)), EPERM);
    assert_eq!(ret(&f, "socket", arg0(41)), ALLOW);
    // The high word counts: 2^32 + 38 is above 40.
    assert_eq!(ret(&f, "socket", arg0((1 << 32) + 38)), ALLOW);
    // clone: any namespace flag refused (masked compare), a thread or fork allowed.
    let thread = (libc::CLONE_VM | libc::CLONE_FS | libc::CLONE_FILES | libc::CLONE_THREAD) as u64;
    assert_eq!(ret(&f, "clone", arg0(thread)), ALLOW);
    assert_eq!(ret(&f, "clone", arg0(libc::SIGCHLD as u64)), ALLOW);
    for ns in [
        libc::CLONE_NEWNS,
        libc::CLONE_NEWCGROUP,
        libc::CLONE_NEWUTS,
        libc::CLONE_NEWIPC,
        libc::CLONE_NEWUSER,
        libc::CLONE_NEWPID,
        libc::CLONE_NEWNET,
    ] {
        assert_eq!(
            ret(&f, "clone", arg0((ns | libc::SIGCHLD) as u64)),
            EPERM,
            "{ns:#x}"
        );
    }
    // The mask has no high bits, so a high word does not matter.
    assert_eq!(
        ret(&f, "clone", arg0((1 << 40) | libc::SIGCHLD as u64)),
        ALLOW
    );
    // personality: exactly five values.
    for allowed in [0u64, 8, 0x20000, 0x20008, 0xffff_ffff] {
        assert_eq!(ret(&f, "personality", arg0(allowed)), ALLOW, "{allowed:#x}");
    }
    for refused in [1u64, 0x0040_0000, 0xffff_fffe, u64::MAX, 1 << 32] {
        assert_eq!(ret(&f, "personality", arg0(refused)), EPERM, "{refused:#x}");
    }
    assert_eq!(ret(&f, "clone3", arg0(0)), ENOSYS);
    assert_eq!(ret(&f, "getrandom", arg0(0)), ALLOW);
    assert_eq!(ret(&f, "unshare", arg0(0)), EPERM);
    assert_eq!(ret(&f, "io_uring_setup", arg0(0)), EPERM);
}

#[test]
fn docker_default_filter_matches_the_reference_for_every_number() {
    let p = builtin(Builtin::Default, &docker_ctx());
    assert_filter_matches_reference(&p, &p.compile().unwrap());
}

#[test]
fn enosys_above_the_highest_named_number_but_eperm_in_holes() {
    let f = builtin(Builtin::Default, &docker_ctx()).compile().unwrap();
    assert_eq!(run(&f, 466, arg0(0)).ret, ALLOW);
    for above in [467, 469, 470, 1000, 0x3fff_ffff, 0x8000_0000, 0xbfff_ffff] {
        assert_eq!(run(&f, above, arg0(0)).ret, ENOSYS, "{above:#x}");
    }
    // Unassigned numbers below the line get the default, as under runc.
    for hole in [337, 400, 423] {
        assert_eq!(run(&f, hole, arg0(0)).ret, EPERM, "{hole}");
    }
}

#[test]
fn foreign_abis_are_killed() {
    let f = builtin(Builtin::Default, &docker_ctx()).compile().unwrap();
    let i386 = SeccompData {
        nr: 20, // getpid on i386
        arch: syscalls::AUDIT_ARCH_I386,
        instruction_pointer: 0,
        args: [0; 6],
    };
    assert_eq!(simulate(&f.program, &i386).unwrap().ret, KILL_PROCESS);
    let aarch64 = SeccompData {
        arch: 0xC000_00B7,
        ..i386
    };
    assert_eq!(simulate(&f.program, &aarch64).unwrap().ret, KILL_PROCESS);
    // x32: the x86_64 arch with bit 30 in the number, including x32's own 512..=547.
    for x32 in [0x4000_0000 | 39, 0x4000_0000 | 520, u32::MAX] {
        assert_eq!(run(&f, x32, arg0(0)).ret, KILL_PROCESS, "{x32:#x}");
    }
}

#[test]
fn unconditional_allows_read_only_nr_and_arch_so_the_kernel_caches_them() {
    for which in [Builtin::Default, Builtin::Node] {
        let p = builtin(which, &docker_ctx());
        let f = p.compile().unwrap();
        let s = p.summary();
        let allowed = s.names(Treatment::Always(Action::Allow));
        assert!(!allowed.is_empty());
        let mut longest = 0;
        for name in allowed {
            let walk = run(&f, nr(name), [u64::MAX; 6]);
            assert_eq!(walk.ret, ALLOW, "{name}");
            assert!(!walk.read_beyond_nr_arch, "{which}: {name} reads arguments");
            longest = longest.max(walk.walked);
        }
        // arch, x32 guard, at most 8 levels of search, ret.
        assert!(
            longest <= 13,
            "{which}: {longest} instructions for an allowed call"
        );
    }
}

#[test]
fn includes_caps_need_all_excludes_caps_any() {
    let admin = Context {
        arch: &syscalls::X86_64,
        caps: DOCKER_CAPS | CAP_SYS_ADMIN,
        kernel: (6, 18),
    };
    let f = builtin(Builtin::Default, &admin).compile().unwrap();
    // With CAP_SYS_ADMIN, clone and clone3 are allowed outright, and mount.
    assert_eq!(ret(&f, "clone", arg0(libc::CLONE_NEWUSER as u64)), ALLOW);
    assert_eq!(ret(&f, "clone3", arg0(0)), ALLOW);
    assert_eq!(ret(&f, "mount", arg0(0)), ALLOW);
    let json = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["read"], "action": "SCMP_ACT_ALLOW",
         "includes": {"caps": ["CAP_SYS_ADMIN", "CAP_SYS_PTRACE"]}},
        {"names": ["write"], "action": "SCMP_ACT_ALLOW",
         "excludes": {"caps": ["CAP_SYS_TIME", "CAP_SYS_PTRACE"]}}]}"#;
    let with = |caps| {
        let ctx = Context {
            arch: &syscalls::X86_64,
            caps,
            kernel: (6, 18),
        };
        let p = resolve(&Choice::File("p.json".into()), Some(json), &ctx)
            .unwrap()
            .unwrap();
        let names: Vec<String> = p
            .rules
            .iter()
            .flat_map(|r| r.names.iter().map(|n| n.to_string()))
            .collect();
        names
    };
    assert_eq!(with(CAP_SYS_ADMIN), ["write"]);
    assert_eq!(with(CAP_SYS_ADMIN | CAP_SYS_PTRACE), ["read"]);
    assert_eq!(with(CAP_SYS_TIME), Vec::<String>::new());
    assert_eq!(with(0), ["write"]);
}

#[test]
fn includes_and_excludes_on_arches_and_min_kernel() {
    let json = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["x86", "x32"]}},
        {"names": ["write"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm64", "amd64"]}},
        {"names": ["open"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["amd64"]}},
        {"names": ["close"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}},
        {"names": ["stat"], "action": "SCMP_ACT_ALLOW", "excludes": {"minKernel": "4.8"}},
        {"names": ["fstat"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": ""}}]}"#;
    let on = |kernel| {
        let ctx = Context {
            arch: &syscalls::X86_64,
            caps: 0,
            kernel,
        };
        let p = resolve(&Choice::File("p.json".into()), Some(json), &ctx)
            .unwrap()
            .unwrap();
        let names: Vec<String> = p
            .rules
            .iter()
            .flat_map(|r| r.names.iter().map(|n| n.to_string()))
            .collect();
        names
    };
    assert_eq!(on((6, 18)), ["write", "close", "fstat"]);
    assert_eq!(on((4, 8)), ["write", "close", "fstat"]);
    assert_eq!(on((4, 7)), ["write", "stat", "fstat"]);
    assert_eq!(on((3, 20)), ["write", "stat", "fstat"]);
}

#[test]
fn docker_default_ptrace_needs_kernel_4_8_without_cap_sys_ptrace() {
    let old = Context {
        arch: &syscalls::X86_64,
        caps: DOCKER_CAPS,
        kernel: (4, 7),
    };
    let f = builtin(Builtin::Default, &old).compile().unwrap();
    assert_eq!(ret(&f, "ptrace", arg0(0)), EPERM);
    let f = builtin(Builtin::Default, &docker_ctx()).compile().unwrap();
    assert_eq!(ret(&f, "ptrace", arg0(0)), ALLOW);
    let ptracer = Context {
        arch: &syscalls::X86_64,
        caps: DOCKER_CAPS | CAP_SYS_PTRACE,
        kernel: (4, 7),
    };
    let f = builtin(Builtin::Default, &ptracer).compile().unwrap();
    assert_eq!(ret(&f, "ptrace", arg0(0)), ALLOW);
    assert_eq!(ret(&f, "kcmp", arg0(0)), ALLOW);
}

// --- semantics of rules ---

#[test]
fn an_allow_only_profile_compiles_to_this_exact_program() {
    let p = profile(
        r#"{"defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["read", "write", "open", "close"], "action": "SCMP_ACT_ALLOW"}]}"#,
    );
    let f = p.compile().unwrap();
    let insn = |code: u32, jt: u8, jf: u8, k: u32| libc::sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    };
    let ld = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
    let jmp = |op: u32| libc::BPF_JMP | op | libc::BPF_K;
    let ret_k = libc::BPF_RET | libc::BPF_K;
    let want = [
        insn(ld, 0, 0, 4),
        insn(jmp(libc::BPF_JEQ), 0, 2, syscalls::AUDIT_ARCH_X86_64),
        insn(ld, 0, 0, 0),
        insn(jmp(libc::BPF_JSET), 0, 1, 0x4000_0000),
        insn(ret_k, 0, 0, KILL_PROCESS),
        insn(jmp(libc::BPF_JGE), 1, 0, 4),
        insn(ret_k, 0, 0, ALLOW),
        insn(ret_k, 0, 0, ENOSYS),
    ];
    let got: Vec<(u16, u8, u8, u32)> = f
        .program
        .iter()
        .map(|i| (i.code, i.jt, i.jf, i.k))
        .collect();
    let want: Vec<(u16, u8, u8, u32)> = want.iter().map(|i| (i.code, i.jt, i.jf, i.k)).collect();
    assert_eq!(got, want);
    assert_eq!(f.len(), 8);
    assert_eq!(worst_case_walk(&f.program), 6);
    assert_eq!(f.flags, 0);
}

#[test]
fn every_comparison_is_unsigned_over_64_bits() {
    let ops = [
        "SCMP_CMP_NE",
        "SCMP_CMP_LT",
        "SCMP_CMP_LE",
        "SCMP_CMP_EQ",
        "SCMP_CMP_GE",
        "SCMP_CMP_GT",
    ];
    let value: u64 = 0x0000_0005_8000_0000;
    let values = [
        0,
        value - 1,
        value,
        value + 1,
        value - (1 << 32),
        value + (1 << 32),
        0x8000_0000,
        u64::MAX,
    ];
    // For each op, what each of `values` gives (true = allowed).
    let want: [[bool; 8]; 6] = [
        [true, true, false, true, true, true, true, true],
        [true, true, false, false, true, false, true, false],
        [true, true, true, false, true, false, true, false],
        [false, false, true, false, false, false, false, false],
        [false, false, true, true, false, true, false, true],
        [false, false, false, true, false, true, false, true],
    ];
    for (op, want) in ops.iter().zip(want) {
        let p = profile(&format!(
            r#"{{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{{"names": ["read"],
                "action": "SCMP_ACT_ALLOW", "args": [{{"index": 3, "value": {value}, "op": "{op}"}}]}}]}}"#
        ));
        let f = p.compile().unwrap();
        for (v, allowed) in values.iter().zip(want) {
            let args = [0, 0, 0, *v, 0, 0];
            let expect = if allowed { ALLOW } else { EPERM };
            assert_eq!(run(&f, 0, args).ret, expect, "{op} {v:#x}");
            assert!(run(&f, 0, args).read_beyond_nr_arch);
        }
    }
}

#[test]
fn masked_eq_takes_the_mask_from_value_and_the_datum_from_value_two() {
    let p = profile(
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"],
            "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 1, "value": 18446744069414584335, "valueTwo": 4294967298, "op": "SCMP_CMP_MASKED_EQ"}]}]}"#,
    );
    // mask 0xffff_ffff_0000_000f, datum 0x1_0000_0002
    let f = p.compile().unwrap();
    for (arg, allowed) in [
        (0x1_0000_0002u64, true),
        (0x1_1234_5672, true),
        (0x1_0000_0003, false),
        (0x2_0000_0002, false),
        (0x0000_0002, false),
    ] {
        let expect = if allowed { ALLOW } else { EPERM };
        assert_eq!(run(&f, 0, [0, arg, 0, 0, 0, 0]).ret, expect, "{arg:#x}");
    }
}

/// `{"index": I, "value": MASK, "valueTwo": DATUM, "op": "SCMP_CMP_MASKED_EQ"}` entries
/// for `ioctl`, one per (action, mask, datum).
fn ioctl_entries(list: &[(&str, u64, u64)]) -> String {
    let entries: Vec<String> = list
        .iter()
        .map(|(action, mask, datum)| {
            format!(
                r#"{{"names": ["ioctl"], "action": "{action}", "errnoRet": 25, "args": [{{"index": 1, "value": {mask}, "valueTwo": {datum}, "op": "SCMP_CMP_MASKED_EQ"}}]}}"#
            )
        })
        .collect();
    format!(
        r#"{{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{}]}}"#,
        entries.join(",")
    )
}

#[test]
fn a_run_of_value_tests_on_one_word_is_searched_not_tried_in_turn() {
    const M: u64 = 0xffff_ffff;
    const ALLOW_: &str = "SCMP_ACT_ALLOW";
    const ERRNO: &str = "SCMP_ACT_ERRNO";
    // 15 requests on the full low word, one listed twice (the first action wins), one the
    // mask can never give (it never holds), then five on another mask, and a last entry on
    // the high word.
    let mut list: Vec<(&str, u64, u64)> = vec![(ERRNO, M, 0x5412), (ERRNO, M, 0x541c)];
    for v in [
        0x5401u64,
        0x5402,
        0x5403,
        0x5413,
        0x5421,
        0x8933,
        0x8910,
        0x4004_9409,
    ] {
        list.push((ALLOW_, M, v));
    }
    list.extend([
        (ALLOW_, M, 0x5412),
        (ALLOW_, 0xff, 0x1ff),
        (ALLOW_, M, 0x8004_5430),
        (ALLOW_, M, 0x1),
        (ALLOW_, M, 0x7),
        (ALLOW_, M, 0x9),
        (ALLOW_, 0xff00, 0x100),
        (ALLOW_, 0xff00, 0x200),
        (ALLOW_, 0xff00, 0x300),
        (ALLOW_, 0xff00, 0x400),
        (ALLOW_, 0xff00, 0x500),
        (ALLOW_, 0x1_0000_0000, 0x1_0000_0000),
    ]);
    let p = profile(&ioctl_entries(&list));
    let f = p.compile().unwrap();
    assert_filter_matches_reference(&p, &f);
    let ioctl = |arg: u64| run(&f, nr("ioctl"), [3, arg, 0, 0, 0, 0]);
    let enotty = libc::SECCOMP_RET_ERRNO | 25;
    assert_eq!(
        ioctl(0x5412).ret,
        enotty,
        "listed twice: the first entry wins"
    );
    assert_eq!(
        ioctl(0x1_0000_5412).ret,
        enotty,
        "the high word plays no part"
    );
    assert_eq!(ioctl(0x5401).ret, ALLOW);
    assert_eq!(ioctl(0x8004_5430).ret, ALLOW);
    assert_eq!(
        ioctl(0xff).ret,
        EPERM,
        "a datum outside its mask never holds"
    );
    assert_eq!(ioctl(0x1234_0100).ret, ALLOW);
    assert_eq!(ioctl(0x1234_0300).ret, ALLOW);
    assert_eq!(ioctl(0x1_0000_0000).ret, ALLOW);
    assert_eq!(ioctl(0x5404).ret, EPERM);
    // A miss: arch, its check, nr, the x32 guard, 2 levels of number search; the 14 values
    // of the first run (the ERRNO ones join it), one load and 2 `jge` + 3 `jeq`; the five
    // 0xff00 values, `ld; and`, 1 `jge` + 3 `jeq`; the high-word entry's `ld; and; jeq`;
    // `ret`. Tried in turn, the first run alone would walk 14 `jeq` and the second 5
    // `ld; and; jeq`.
    let miss = ioctl(0x6);
    assert_eq!((miss.ret, miss.walked), (EPERM, 20));
    assert_eq!(worst_case_walk(&f.program), 21);
}

#[test]
fn equal_tests_of_one_argument_share_what_they_know_of_its_words() {
    // personality's five values: after the first, a value that differs only in its low word
    // costs one `jeq` more, and a high word that differs leaves at once; the ordered tests of
    // socket's domain continue at each other's low word.
    let p = profile(
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 131072, "op": "SCMP_CMP_EQ"}]},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 131080, "op": "SCMP_CMP_EQ"}]},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 4294967295, "op": "SCMP_CMP_EQ"}]},
            {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 38, "op": "SCMP_CMP_LT"}]},
            {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 39, "op": "SCMP_CMP_EQ"}]},
            {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_GT"}]}
        ]}"#,
    );
    let f = p.compile().unwrap();
    assert_filter_matches_reference(&p, &f);
    let walk = |name: &str, arg: u64| run(&f, nr(name), arg0(arg));
    let first = walk("personality", 0);
    assert_eq!(first.ret, ALLOW);
    // Each later value: one `jeq` more than the one before it.
    for (i, v) in [8u64, 0x20000, 0x20008, 0xffff_ffff]
        .into_iter()
        .enumerate()
    {
        let w = walk("personality", v);
        assert_eq!((w.ret, w.walked), (ALLOW, first.walked + i + 1), "{v:#x}");
    }
    let low_miss = walk("personality", 5);
    assert_eq!((low_miss.ret, low_miss.walked), (EPERM, first.walked + 4));
    let high_miss = walk("personality", 1 << 32);
    assert_eq!((high_miss.ret, high_miss.walked), (EPERM, first.walked - 2));
    // socket: domain 38 fails `< 38`, and goes on to the low words of `== 39` and `> 40`.
    let lt = walk("socket", 1);
    let refused = walk("socket", 38);
    assert_eq!(
        (lt.ret, refused.ret, walk("socket", 40).ret),
        (ALLOW, EPERM, EPERM)
    );
    assert_eq!(refused.walked, lt.walked + 2);
    assert_eq!(walk("socket", 41).walked, lt.walked + 2);
}

#[test]
fn conditions_within_an_entry_are_and_entries_are_or() {
    let p = profile(
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["read"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                      {"index": 2, "value": 10, "op": "SCMP_CMP_LT"}]},
            {"names": ["read"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 7, "op": "SCMP_CMP_EQ"}]},
            {"names": ["read"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 100, "op": "SCMP_CMP_GE"},
                      {"index": 0, "value": 200, "op": "SCMP_CMP_LE"}]}]}"#,
    );
    let f = p.compile().unwrap();
    let cases = [
        ([1, 0, 9, 0, 0, 0], ALLOW),
        ([1, 0, 10, 0, 0, 0], EPERM),
        ([2, 0, 9, 0, 0, 0], EPERM),
        ([7, 0, 99, 0, 0, 0], ALLOW),
        // A range on one argument: both bounds must hold.
        ([150, 0, 99, 0, 0, 0], ALLOW),
        ([99, 0, 0, 0, 0, 0], EPERM),
        ([201, 0, 0, 0, 0, 0], EPERM),
    ];
    for (args, want) in cases {
        assert_eq!(run(&f, 0, args).ret, want, "{args:?}");
    }
}

#[test]
fn an_unconditional_entry_wins_over_conditional_ones_with_the_same_action() {
    let p = profile(
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["read"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]},
            {"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}"#,
    );
    let f = p.compile().unwrap();
    assert_eq!(run(&f, 0, arg0(2)).ret, ALLOW);
    assert!(!run(&f, 0, arg0(2)).read_beyond_nr_arch);
    assert_eq!(
        p.summary().names(Treatment::Always(Action::Allow)),
        ["read"]
    );
}

#[test]
fn with_mixed_actions_the_strongest_matching_entry_wins() {
    let p = profile(
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["ptrace"], "action": "SCMP_ACT_KILL",
             "args": [{"index": 0, "value": 16, "op": "SCMP_CMP_EQ"}]},
            {"names": ["ptrace"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
             "args": [{"index": 0, "value": 4, "op": "SCMP_CMP_GE"}]},
            {"names": ["ptrace"], "action": "SCMP_ACT_LOG",
             "args": [{"index": 0, "value": 3, "op": "SCMP_CMP_EQ"}]},
            {"names": ["write"], "action": "SCMP_ACT_TRAP",
             "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]},
            {"names": ["write"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 3, "op": "SCMP_CMP_LE"}]},
            {"names": ["write"], "action": "SCMP_ACT_TRACE", "errnoRet": 7,
             "args": [{"index": 1, "value": 0, "op": "SCMP_CMP_EQ"}]},
            {"names": ["read"], "action": "SCMP_ACT_KILL_THREAD"},
            {"names": ["close"], "action": "SCMP_ACT_LOG"}]}"#,
    );
    let f = p.compile().unwrap();
    let eacces = libc::SECCOMP_RET_ERRNO | 13;
    let cases = [
        ("ptrace", [16, 0, 0, 0, 0, 0], KILL_PROCESS),
        ("ptrace", [5, 0, 0, 0, 0, 0], eacces),
        // LOG is weaker than the unconditional ALLOW? No: LOG is stronger than ALLOW.
        ("ptrace", [3, 0, 0, 0, 0, 0], libc::SECCOMP_RET_LOG),
        ("ptrace", [0, 0, 0, 0, 0, 0], ALLOW),
        ("write", [2, 0, 0, 0, 0, 0], libc::SECCOMP_RET_TRAP),
        ("write", [2, 1, 0, 0, 0, 0], libc::SECCOMP_RET_TRAP),
        ("write", [1, 0, 0, 0, 0, 0], libc::SECCOMP_RET_TRACE | 7),
        ("write", [1, 1, 0, 0, 0, 0], ALLOW),
        ("write", [9, 1, 0, 0, 0, 0], EPERM),
        ("read", [0, 0, 0, 0, 0, 0], libc::SECCOMP_RET_KILL_THREAD),
        ("close", [0, 0, 0, 0, 0, 0], libc::SECCOMP_RET_LOG),
    ];
    for (name, args, want) in cases {
        assert_eq!(ret(&f, name, args), want, "{name} {args:?}");
    }
    assert_filter_matches_reference(&p, &f);
}

#[test]
fn rules_with_the_default_action_are_ignored_but_count_for_the_enosys_line() {
    let p = profile(
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["ptrace"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 0, "value": 16, "op": "SCMP_CMP_EQ"}]},
            {"names": ["file_setattr"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}"#,
    );
    let f = p.compile().unwrap();
    assert_eq!(ret(&f, "ptrace", arg0(16)), ALLOW);
    assert_eq!(run(&f, 469, arg0(0)).ret, EPERM);
    assert_eq!(run(&f, 468, arg0(0)).ret, EPERM);
    assert_eq!(run(&f, 470, arg0(0)).ret, ENOSYS);
    // A different errno is a different action, and is kept.
    let p = profile(
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5}]}"#,
    );
    let f = p.compile().unwrap();
    assert_eq!(ret(&f, "read", arg0(0)), libc::SECCOMP_RET_ERRNO | 5);
}

#[test]
fn no_enosys_stub_when_the_default_lets_calls_run() {
    for (default, above) in [
        ("SCMP_ACT_ALLOW", ALLOW),
        ("SCMP_ACT_LOG", libc::SECCOMP_RET_LOG),
        ("SCMP_ACT_TRACE", libc::SECCOMP_RET_TRACE | 1),
        ("SCMP_ACT_KILL", ENOSYS),
        ("SCMP_ACT_KILL_THREAD", ENOSYS),
        ("SCMP_ACT_TRAP", ENOSYS),
    ] {
        let p = profile(&format!(
            r#"{{"defaultAction": "{default}", "syscalls": [
                {{"names": ["mount"], "action": "SCMP_ACT_ERRNO"}}]}}"#
        ));
        let f = p.compile().unwrap();
        assert_eq!(ret(&f, "mount", arg0(0)), EPERM, "{default}");
        assert_eq!(run(&f, 1000, arg0(0)).ret, above, "{default}");
    }
    let p = profile(
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}"#,
    );
    assert_eq!(p.summary().enosys_above, None);
    assert_eq!(run(&p.compile().unwrap(), 1000, arg0(0)).ret, ENOSYS);
}

#[test]
fn kill_means_kill_process_and_the_default_errno_is_eperm() {
    let p = profile(
        r#"{"defaultAction": "SCMP_ACT_KILL", "syscalls": [
            {"names": ["read"], "action": "SCMP_ACT_ERRNO"},
            {"names": ["write", "close"], "action": "SCMP_ACT_ALLOW"}]}"#,
    );
    assert_eq!(p.default_action, Action::KillProcess);
    let f = p.compile().unwrap();
    assert_eq!(ret(&f, "read", arg0(0)), EPERM);
    assert_eq!(ret(&f, "open", arg0(0)), KILL_PROCESS);
}

#[test]
fn unknown_names_are_skipped_and_legacy_name_is_read() {
    let p = profile(
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"],
            "syscalls": [
            {"names": ["chown32", "read", "no_such_call"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["set_tls"], "action": "SCMP_ACT_ALLOW"},
            {"name": "write", "action": "SCMP_ACT_ALLOW", "comment": "old style"}]}"#,
    );
    assert_eq!(p.unknown_names, ["chown32", "no_such_call", "set_tls"]);
    assert_eq!(p.rules.len(), 2);
    assert_eq!(p.rules[0].names, ["read"]);
    assert_eq!(p.rules[1].names, ["write"]);
    assert_eq!(p.rules[1].entry, 2);
}

#[test]
fn flags_become_filter_flags() {
    let p = profile(
        r#"{"defaultAction": "SCMP_ACT_ERRNO",
            "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
            "syscalls": []}"#,
    );
    assert_eq!(p.compile().unwrap().flags, 6);
    let p = profile(r#"{"defaultAction": "SCMP_ACT_ERRNO", "flags": ["SECCOMP_FILTER_FLAG_LOG"]}"#);
    assert_eq!(p.compile().unwrap().flags, 2);
}

#[test]
fn a_profile_naming_nothing_still_filters_foreign_abis() {
    let p = profile(r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": null}"#);
    let f = p.compile().unwrap();
    assert_eq!(run(&f, 0, arg0(0)).ret, ALLOW);
    assert_eq!(run(&f, 0x4000_0000, arg0(0)).ret, KILL_PROCESS);
    assert_eq!(f.len(), 6);
}

// --- long programs ---

/// `count` calls, each with three argument-dependent entries of different actions.
fn many_conditional_rules(count: usize, conditions: usize) -> String {
    let actions = [
        r#""SCMP_ACT_ALLOW""#,
        r#""SCMP_ACT_ERRNO", "errnoRet": 13"#,
        r#""SCMP_ACT_TRAP""#,
    ];
    let mut entries = Vec::new();
    for (i, (name, _)) in syscalls::X86_64.calls.iter().take(count).enumerate() {
        for (j, action) in actions.iter().enumerate() {
            let args: Vec<String> = (0..conditions)
                .map(|c| {
                    format!(
                        r#"{{"index": {c}, "value": {}, "op": "SCMP_CMP_EQ"}}"#,
                        (i * 3 + j + c) as u64 | (c as u64) << 32
                    )
                })
                .collect();
            entries.push(format!(
                r#"{{"names": ["{name}"], "action": {action}, "args": [{}]}}"#,
                args.join(", ")
            ));
        }
    }
    format!(
        r#"{{"defaultAction": "SCMP_ACT_KILL", "syscalls": [{}]}}"#,
        entries.join(",\n")
    )
}

#[test]
fn far_jumps_go_through_trampolines() {
    let p = profile(&many_conditional_rules(120, 2));
    let f = p.compile().unwrap();
    let ja = (libc::BPF_JMP | libc::BPF_JA) as u16;
    assert_eq!(f.len(), 3077);
    assert_eq!(f.program.iter().filter(|i| i.code == ja).count(), 24);
    assert_filter_matches_reference(&p, &f);
}

#[test]
fn a_filter_over_4096_instructions_is_an_error() {
    let p = profile(&many_conditional_rules(383, 2));
    let err = p.compile().unwrap_err();
    assert_eq!(
        err.to_string(),
        "the seccomp filter has 9814 instructions, more than the kernel's limit of 4096"
    );
    assert_eq!(p.summary().bpf, None);
}

// --- errors name the file, the place and the reason ---

#[test]
fn malformed_json_reports_line_and_column() {
    let err =
        from_json("{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\"\n  \"syscalls\": []\n}").unwrap_err();
    assert_eq!(err.to_string(), "malformed JSON in seccomp profile p.json");
    match &err {
        SeccompError::ParseProfile { source, .. } => {
            assert_eq!((source.line(), source.column()), (3, 3));
            assert_eq!(source.to_string(), "expected `,` or `}` at line 3 column 3");
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert_eq!(
        std::error::Error::source(&err).unwrap().to_string(),
        "expected `,` or `}` at line 3 column 3"
    );
}

#[test]
fn profile_errors_say_where_and_why() {
    let entry = |body: &str| {
        format!(
            r#"{{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
                {{"names": ["read"], "action": "SCMP_ACT_ALLOW"}}, {body}]}}"#
        )
    };
    let cases = [
        (
            entry(r#"{"names": ["socket"], "action": "SCMP_ACT_DENY"}"#),
            r#"seccomp profile p.json: syscalls[1] ("socket"): unknown action "SCMP_ACT_DENY""#,
        ),
        (
            entry(r#"{"names": ["socket"], "action": "SCMP_ACT_NOTIFY"}"#),
            r#"seccomp profile p.json: syscalls[1] ("socket"): SCMP_ACT_NOTIFY needs a seccomp agent, which hardinit does not run"#,
        ),
        (
            entry(
                r#"{"names": ["socket"], "action": "SCMP_ACT_ALLOW",
                    "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                             {"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}"#,
            ),
            r#"seccomp profile p.json: syscalls[1] ("socket") args[1]: argument index 6 is out of range (a system call has arguments 0 to 5)"#,
        ),
        (
            entry(
                r#"{"names": ["socket"], "action": "SCMP_ACT_ALLOW",
                    "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_BETWEEN"}]}"#,
            ),
            r#"seccomp profile p.json: syscalls[1] ("socket") args[0]: unknown comparison "SCMP_CMP_BETWEEN""#,
        ),
        (
            entry(r#"{"names": [], "action": "SCMP_ACT_ALLOW"}"#),
            "seccomp profile p.json: syscalls[1]: the entry names no system call",
        ),
        (
            entry(r#"{"action": "SCMP_ACT_ALLOW"}"#),
            "seccomp profile p.json: syscalls[1]: the entry names no system call",
        ),
        (
            entry(r#"{"names": ["read", ""], "action": "SCMP_ACT_ALLOW"}"#),
            "seccomp profile p.json: syscalls[1]: a system call name is empty",
        ),
        (
            entry(r#"{"name": "read", "names": ["write"], "action": "SCMP_ACT_ALLOW"}"#),
            r#"seccomp profile p.json: syscalls[1] ("read"): both `name` and `names` are given; use one"#,
        ),
        (
            entry(r#"{"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5000}"#),
            r#"seccomp profile p.json: syscalls[1] ("read"): errnoRet 5000 is above the largest errno, 4095"#,
        ),
        (
            entry(r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8.1"}}"#),
            r#"seccomp profile p.json: syscalls[1] ("read"): minKernel "4.8.1" is not "<kernel>.<major>""#,
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_NOTIFY"}"#.to_owned(),
            "seccomp profile p.json: defaultAction: SCMP_ACT_NOTIFY needs a seccomp agent, which hardinit does not run",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "flags": ["SECCOMP_FILTER_FLAG_NEW_LISTENER"]}"#.to_owned(),
            r#"seccomp profile p.json: unknown flag "SECCOMP_FILTER_FLAG_NEW_LISTENER""#,
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
                "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": null}]}"#
                .to_owned(),
            "seccomp profile p.json: both `architectures` and `archMap` are given; use one",
        ),
    ];
    for (json, want) in cases {
        assert_eq!(error(&json), want);
    }
    // A missing required field is a JSON error with its position.
    let err = from_json(r#"{"syscalls": []}"#).unwrap_err();
    assert_eq!(
        std::error::Error::source(&err).unwrap().to_string(),
        "missing field `defaultAction` at line 1 column 16"
    );
}

#[test]
fn errors_in_entries_left_out_here_are_still_reported() {
    let json = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["read"], "action": "SCMP_ACT_FOO", "includes": {"arches": ["s390x"]}}]}"#;
    assert_eq!(
        error(json),
        r#"seccomp profile p.json: syscalls[0] ("read"): unknown action "SCMP_ACT_FOO""#
    );
}

// --- export ---

#[test]
fn export_is_oci_json_that_resolves_to_the_same_filter() {
    let p = builtin(Builtin::Default, &docker_ctx());
    let json = p.to_oci_json();
    assert!(json.starts_with(
        "{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"defaultErrnoRet\": 1,\n  \"architectures\": [\n    \"SCMP_ARCH_X86_64\"\n  ],\n  \"syscalls\": [\n    {\n      \"names\": [\n        \"accept\",\n"
    ));
    let again = profile(&json);
    let without_entry = |p: &Profile| -> Vec<(Vec<&str>, Action, Vec<ArgCmp>)> {
        p.rules
            .iter()
            .map(|r| (r.names.clone(), r.action, r.args.clone()))
            .collect()
    };
    assert_eq!(without_entry(&again), without_entry(&p));
    assert_eq!(again.default_action, p.default_action);
    assert_eq!(again.unknown_names, Vec::<String>::new());
    assert_eq!(again.to_oci_json(), json);
    let (a, b) = (p.compile().unwrap(), again.compile().unwrap());
    let words = |f: &SeccompFilter| -> Vec<(u16, u8, u8, u32)> {
        f.program
            .iter()
            .map(|i| (i.code, i.jt, i.jf, i.k))
            .collect()
    };
    assert_eq!(words(&a), words(&b));
}

#[test]
fn export_writes_errno_args_and_flags() {
    let p = profile(
        r#"{"defaultAction": "SCMP_ACT_KILL_PROCESS", "flags": ["SECCOMP_FILTER_FLAG_LOG"],
            "syscalls": [
            {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
            {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "comment": "dropped",
             "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]}]}"#,
    );
    let want = r#"{
  "defaultAction": "SCMP_ACT_KILL_PROCESS",
  "architectures": [
    "SCMP_ARCH_X86_64"
  ],
  "flags": [
    "SECCOMP_FILTER_FLAG_LOG"
  ],
  "syscalls": [
    {
      "names": [
        "clone3"
      ],
      "action": "SCMP_ACT_ERRNO",
      "errnoRet": 38
    },
    {
      "names": [
        "socket"
      ],
      "action": "SCMP_ACT_ALLOW",
      "args": [
        {
          "index": 0,
          "value": 2,
          "valueTwo": 0,
          "op": "SCMP_CMP_EQ"
        }
      ]
    }
  ]
}
"#;
    assert_eq!(p.to_oci_json(), want);
}

// --- summary ---

#[test]
fn summary_prints_counts_per_outcome() {
    let p = profile(
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["read", "write", "close"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["open"], "action": "SCMP_ACT_KILL"},
            {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]},
            {"names": ["sendfile64"], "action": "SCMP_ACT_ALLOW"}]}"#,
    );
    let want = "\
seccomp: p.json
  default action: errno 1 (EPERM)
  x86_64 system calls (383 known, up to Linux 6.18); foreign-ABI calls are killed:
       3  allow: read write close
       1  kill process: open
       1  by argument rules: socket
      37  default: errno 1 (EPERM)
     341  errno 38 (ENOSYS): above 41, the highest number named
  names not on x86_64, skipped: 1
  BPF: 17 instructions, at most 12 walked per call";
    assert_eq!(p.summary().to_string(), want);
}

// --- the Node.js profile ---

#[test]
fn node_profile_refuses_what_the_issue_lists() {
    let p = builtin(Builtin::Node, &docker_ctx());
    assert_eq!(p.default_action, Action::Errno(1));
    let f = p.compile().unwrap();
    let refused = [
        "unshare",
        "setns",
        "mount",
        "umount2",
        "move_mount",
        "open_tree",
        "fsopen",
        "fsconfig",
        "fsmount",
        "fspick",
        "pivot_root",
        "ptrace",
        "process_vm_readv",
        "process_vm_writev",
        "kcmp",
        "bpf",
        "perf_event_open",
        "keyctl",
        "add_key",
        "request_key",
        "userfaultfd",
        "io_uring_setup",
        "io_uring_enter",
        "io_uring_register",
        "kexec_load",
        "kexec_file_load",
        "init_module",
        "finit_module",
        "delete_module",
        "reboot",
        "swapon",
        "swapoff",
        "clock_settime",
        "settimeofday",
        "adjtimex",
        "clock_adjtime",
        "sethostname",
        "setdomainname",
    ];
    for name in refused {
        for args in [[0u64; 6], [u64::MAX; 6]] {
            assert_eq!(ret(&f, name, args), EPERM, "{name}");
        }
    }
    // Below landlock_restrict_self (446), the highest number the profile names, they are
    // refused; above it runc's rule answers ENOSYS.
    assert_eq!(p.summary().enosys_above, Some(446));
    for name in [
        "pidfd_getfd",
        "mount_setattr",
        "quotactl_fd",
        "landlock_add_rule",
    ] {
        assert_eq!(ret(&f, name, arg0(0)), EPERM, "{name}");
    }
    // Refused calls newer than the ones they replace answer ENOSYS, so callers fall back.
    for name in ["openat2", "epoll_pwait2", "process_madvise"] {
        assert_eq!(ret(&f, name, arg0(0)), ENOSYS, "{name}");
    }
    for name in [
        "faccessat2",
        "close_range",
        "preadv2",
        "pwritev2",
        "unlinkat",
        "setpriority",
        "recvmmsg",
    ] {
        assert_eq!(ret(&f, name, arg0(0)), ALLOW, "{name}");
    }
    // prctl: names only (process.title, thread names).
    for (option, want) in [
        (15, ALLOW),
        (16, ALLOW),
        (0x1_0000_000f, EPERM),
        (4, EPERM),
        (22, EPERM),
        (38, EPERM),
    ] {
        assert_eq!(ret(&f, "prctl", arg0(option)), want, "prctl {option:#x}");
    }
    for name in ["cachestat", "open_tree_attr"] {
        assert_eq!(ret(&f, name, arg0(0)), ENOSYS, "{name}");
    }
    assert_eq!(ret(&f, "clone3", arg0(0)), ENOSYS);
    assert_eq!(ret(&f, "socket", arg0(38)), EPERM);
    assert_eq!(ret(&f, "socket", arg0(40)), EPERM);
    assert_eq!(ret(&f, "socket", arg0(libc::AF_INET as u64)), ALLOW);
    assert_eq!(ret(&f, "socket", arg0(libc::AF_INET6 as u64)), ALLOW);
    assert_eq!(ret(&f, "socket", arg0(libc::AF_UNIX as u64)), ALLOW);
    assert_eq!(
        ret(
            &f,
            "clone",
            arg0((libc::CLONE_NEWUSER | libc::SIGCHLD) as u64)
        ),
        EPERM
    );
    assert_eq!(ret(&f, "clone", arg0(libc::SIGCHLD as u64)), ALLOW);
    assert_eq!(ret(&f, "copy_file_range", arg0(0)), ALLOW);
    assert_eq!(ret(&f, "getrandom", arg0(0)), ALLOW);
    assert_eq!(ret(&f, "execve", arg0(0)), ALLOW);
    // ioctl: a short list of tty and non-blocking requests, compared on 32 bits as the
    // kernel reads them.
    let ioctl = |request: u64| ret(&f, "ioctl", [1, request, 0, 0, 0, 0]);
    for allowed in [
        0x5401,
        0x5402,
        0x5403,
        0x5413,
        0x8004_5430,
        0x5421,
        0xdead_0000_5421,
        0x4004_9409, /* FICLONE */
        0x8933,      /* SIOCGIFINDEX */
        0x8910,      /* SIOCGIFNAME */
    ] {
        assert_eq!(ioctl(allowed), ALLOW, "{allowed:#x}");
    }
    for refused in [
        0x5412,      /* TIOCSTI */
        0x541C,      /* TIOCLINUX */
        0x540E,      /* TIOCSCTTY */
        0x5414,      /* TIOCSWINSZ */
        0x5404,      /* TCSETSF */
        0x8914,      /* SIOCSIFFLAGS */
        0x4020_940d, /* FIDEDUPERANGE */
        0,
    ] {
        assert_eq!(ioctl(refused), EPERM, "{refused:#x}");
    }
    assert_filter_matches_reference(&p, &f);
}

/// docs/seccomp-node.md is the profile's table: every call the profile names has a row, and
/// every call its "Refused" table lists is refused.
#[test]
fn the_node_doc_explains_every_call_the_profile_names() {
    let doc = include_str!("../../../docs/seccomp-node.md");
    let json: serde_json::Value = serde_json::from_str(Builtin::Node.json()).unwrap();
    for rule in json["syscalls"].as_array().unwrap() {
        for name in rule["names"].as_array().unwrap() {
            let name = name.as_str().unwrap();
            assert!(
                doc.contains(&format!("`{name}`")),
                "{name} has no row in docs/seccomp-node.md"
            );
        }
    }
    let refused = &doc[doc.find("## Refused").unwrap()..doc.find("## The battery").unwrap()];
    let f = builtin(Builtin::Node, &docker_ctx()).compile().unwrap();
    let mut checked = 0;
    let first_cells = refused
        .lines()
        .filter_map(|row| row.strip_prefix("| "))
        .filter_map(|row| row.split(" |").next());
    for name in first_cells.flat_map(|cell| cell.split('`').skip(1).step_by(2)) {
        // These three are allowed with other arguments; their rows say which ones are refused.
        if ["clone", "socket", "prctl"].contains(&name) {
            continue;
        }
        if let Some(&(_, n)) = syscalls::X86_64
            .calls
            .iter()
            .find(|(known, _)| *known == name)
        {
            for args in [[0u64; 6], [u64::MAX; 6]] {
                assert_ne!(
                    run(&f, n, args).ret,
                    ALLOW,
                    "{name} is in the refused table"
                );
            }
            checked += 1;
        }
    }
    assert!(
        checked > 80,
        "only {checked} refused calls found in the doc"
    );
}

#[test]
fn node_profile_counts() {
    let s = builtin(Builtin::Node, &docker_ctx()).summary();
    assert_eq!(s.count(Treatment::Always(Action::Allow)), 151);
    assert_eq!(
        s.names(Treatment::ByArguments),
        ["ioctl", "socket", "clone", "prctl"]
    );
    assert_eq!(
        s.names(Treatment::Always(Action::Errno(38))),
        ["clone3", "openat2", "process_madvise", "epoll_pwait2"]
    );
    assert_eq!(s.count(Treatment::Default), 201);
    assert_eq!(s.count(Treatment::AboveHighest), 23);
    assert_eq!(s.unknown_names, 0);
    assert_eq!(s.bpf, Some((169, 19)));
}

#[test]
fn node_profile_is_tighter_than_docker_default() {
    let node = builtin(Builtin::Node, &docker_ctx());
    let docker = builtin(Builtin::Default, &docker_ctx());
    let (nf, df) = (node.compile().unwrap(), docker.compile().unwrap());
    let mut rng = XorShift(7);
    let args = probing_args(&[38, 39, 40, 0x7E02_0000], &mut rng);
    let mut stricter = 0;
    for &(name, n) in syscalls::X86_64.calls.iter() {
        for a in &args {
            let (under_node, under_docker) = (run(&nf, n, *a).ret, run(&df, n, *a).ret);
            if under_docker != ALLOW {
                assert_ne!(
                    under_node, ALLOW,
                    "{name} {a:x?} allowed by node, not by docker"
                );
            }
        }
        stricter +=
            usize::from(run(&nf, n, [0; 6]).ret != ALLOW && run(&df, n, [0; 6]).ret == ALLOW);
    }
    assert!(
        stricter > 150,
        "node refuses only {stricter} calls docker allows"
    );
}

#[test]
fn runtime_export_adds_the_launchers_calls_only_where_missing() {
    let node = builtin(Builtin::Node, &docker_ctx());
    let rules = node.rules.len();
    let runtime = node.clone().for_runtime();
    assert_eq!(runtime.rules.len(), rules + 2);
    // node already allows two Landlock calls (for --inspect), musl's legacy calls and the
    // poll of hardinit's exec wait.
    let already = [
        "close_range",
        "fadvise64",
        "fstatfs",
        "madvise",
        "getgroups",
        "landlock_create_ruleset",
        "landlock_restrict_self",
        "open",
        "poll",
        "ppoll",
        "stat",
        "fork",
    ];
    let missing: Vec<&str> = LAUNCHER_CALLS
        .into_iter()
        .filter(|n| !already.contains(n))
        .collect();
    assert_eq!(runtime.rules[rules].names, missing);
    assert_eq!(runtime.rules[rules].args, []);
    assert_eq!(runtime.rules[rules + 1].names, ["ioctl"]);
    assert_eq!(
        runtime.rules[rules + 1].args,
        [ArgCmp {
            index: 1,
            op: Op::MaskedEqual,
            value: 0xffff_ffff,
            value_two: 0x5410
        }]
    );
    // Applying it twice adds nothing more.
    assert_eq!(runtime.clone().for_runtime(), runtime);
    // Docker's profile allows the mount calls only with CAP_SYS_ADMIN — exactly when
    // hardinit makes them — and everything else always.
    let docker = builtin(Builtin::Default, &docker_ctx());
    let exported = docker.clone().for_runtime();
    assert_eq!(exported.rules.len(), docker.rules.len() + 1);
    assert_eq!(
        exported.rules[docker.rules.len()].names,
        [
            "mount",
            "mount_setattr",
            "move_mount",
            "open_tree",
            "unshare"
        ]
    );
    let admin = builtin(
        Builtin::Default,
        &Context {
            arch: &syscalls::X86_64,
            caps: DOCKER_CAPS | 1 << 21,
            kernel: (6, 18),
        },
    );
    assert_eq!(admin.clone().for_runtime(), admin);
}

fn program_words(f: &SeccompFilter) -> Vec<(u16, u8, u8, u32)> {
    f.program
        .iter()
        .map(|i| (i.code, i.jt, i.jf, i.k))
        .collect()
}

#[test]
fn spo_export_round_trips_to_the_same_filter() {
    for which in [Builtin::Default, Builtin::Node] {
        let p = builtin(which, &docker_ctx()).for_runtime();
        let spo = p.to_spo_json().unwrap();
        let head = format!(
            "{{\n  \"apiVersion\": \"security-profiles-operator.x-k8s.io/v1beta1\",\n  \"kind\": \"SeccompProfile\",\n  \"metadata\": {{\n    \"name\": \"hardinit-{which}\"\n  }},\n  \"spec\": {{\n    \"defaultAction\": \"SCMP_ACT_ERRNO\",\n    \"architectures\": [\n      \"SCMP_ARCH_X86_64\"\n    ],\n    \"syscalls\": [\n"
        );
        assert!(spo.starts_with(&head), "{spo}");
        assert!(!spo.contains("includes") && !spo.contains("defaultErrnoRet"));
        let again = profile(&spo);
        assert_eq!(again.default_action, p.default_action);
        assert_eq!(again.rules.len(), p.rules.len());
        assert_eq!(
            program_words(&again.compile().unwrap()),
            program_words(&p.compile().unwrap())
        );
        // And the OCI export of what was read back is the OCI export of the original.
        assert_eq!(again.to_oci_json(), p.to_oci_json());
    }
}

#[test]
fn spo_export_keeps_errno_args_and_flags_as_the_crd_wants() {
    let p = profile(
        r#"{"defaultAction": "SCMP_ACT_KILL_PROCESS", "flags": ["SECCOMP_FILTER_FLAG_LOG"],
            "syscalls": [
            {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
            {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
             "includes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]}]}"#,
    );
    let want = r#"{
  "apiVersion": "security-profiles-operator.x-k8s.io/v1beta1",
  "kind": "SeccompProfile",
  "metadata": {
    "name": "p"
  },
  "spec": {
    "defaultAction": "SCMP_ACT_KILL_PROCESS",
    "architectures": [
      "SCMP_ARCH_X86_64"
    ],
    "flags": [
      "SECCOMP_FILTER_FLAG_LOG"
    ],
    "syscalls": [
      {
        "names": [
          "clone3"
        ],
        "action": "SCMP_ACT_ERRNO",
        "errnoRet": 38
      },
      {
        "names": [
          "socket"
        ],
        "action": "SCMP_ACT_ALLOW",
        "args": [
          {
            "index": 0,
            "value": 2,
            "valueTwo": 0,
            "op": "SCMP_CMP_EQ"
          }
        ]
      }
    ]
  }
}
"#;
    assert_eq!(p.to_spo_json().unwrap(), want);
}

#[test]
fn spo_export_refuses_what_the_crd_cannot_say() {
    let p = profile(r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38}"#);
    assert_eq!(p.to_spo_json(), Err(SpoError::DefaultErrno(38)));
    let p = profile(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["mount"], "action": "SCMP_ACT_ERRNO", "errnoRet": 0}]}"#,
    );
    assert_eq!(
        p.to_spo_json().unwrap_err().to_string(),
        "--format spo: syscalls[1] returns errno 0, which a SeccompProfile cannot hold (its errnoRet omits 0, and the runtime would use EPERM); use --format oci"
    );
}

#[test]
fn spo_objects_are_read_by_their_spec_and_base_profiles_refused() {
    let spo = r#"{"apiVersion": "security-profiles-operator.x-k8s.io/v1beta1",
        "kind": "SeccompProfile", "metadata": {"name": "x"},
        "spec": {"defaultAction": "SCMP_ACT_ERRNO",
                 "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}}"#;
    let p = profile(spo);
    assert_eq!(p.default_action, Action::Errno(1));
    assert_eq!(p.rules[0].names, ["read"]);
    let based = r#"{"apiVersion": "security-profiles-operator.x-k8s.io/v1beta1",
        "kind": "SeccompProfile",
        "spec": {"defaultAction": "SCMP_ACT_ERRNO", "baseProfileName": "runc-v1.1.0"}}"#;
    assert_eq!(
        error(based),
        "seccomp profile p.json: spec.baseProfileName: a SeccompProfile with a baseProfileName needs that base profile from the cluster; merge it into this file first"
    );
    // Another kind with a `spec` is not unwrapped: it is no profile.
    let other =
        r#"{"apiVersion": "v1", "kind": "Pod", "spec": {"defaultAction": "SCMP_ACT_ALLOW"}}"#;
    assert_eq!(error(other), "malformed JSON in seccomp profile p.json");
}

#[test]
fn spo_names_are_kubernetes_object_names() {
    let name = |p: &str| Origin::File(PathBuf::from(p)).spo_name();
    assert_eq!(name("/etc/My_Profile.json"), "my-profile");
    assert_eq!(name("-x-.json"), "x");
    assert_eq!(name("__.json"), "hardinit-profile");
    assert_eq!(Origin::Builtin(Builtin::Node).spo_name(), "hardinit-node");
}

// --- aarch64: the same profiles through the generic table ---

fn aarch64_ctx() -> Context {
    Context {
        arch: &syscalls::AARCH64,
        ..docker_ctx()
    }
}

fn a64(name: &str) -> u32 {
    syscalls::AARCH64.number(name).unwrap()
}

fn run_a64(filter: &SeccompFilter, nr: u32, args: [u64; 6]) -> u32 {
    simulate(
        &filter.program,
        &SeccompData::on(&syscalls::AARCH64, nr, args),
    )
    .unwrap()
    .ret
}

#[test]
fn docker_default_on_aarch64_resolves_as_docker_does_for_arm64() {
    let p = builtin(Builtin::Default, &aarch64_ctx());
    let s = p.summary();
    assert_eq!(s.count(Treatment::Always(Action::Allow)), 264);
    assert_eq!(
        s.names(Treatment::ByArguments),
        ["personality", "socket", "clone"]
    );
    assert_eq!(s.names(Treatment::Always(Action::Errno(38))), ["clone3"]);
    assert_eq!(s.count(Treatment::Default), 53);
    assert_eq!(s.enosys_above, Some(466));
    assert_eq!(
        s.names(Treatment::AboveHighest),
        ["open_tree_attr", "file_getattr", "file_setattr"]
    );
    // Docker's `includes.arches: ["arm", "arm64"]` entry applies, but names only AArch32
    // calls; amd64's arch_prctl and modify_ldt do not apply at all.
    for name in [
        "arm_fadvise64_64",
        "set_tls",
        "cacheflush",
        "open",
        "stat",
        "fork",
    ] {
        assert!(p.unknown_names.iter().any(|n| n == name), "{name}");
    }
    let named: Vec<&str> = p
        .rules
        .iter()
        .flat_map(|r| r.names.iter().copied())
        .collect();
    assert!(!named.contains(&"arch_prctl") && !named.contains(&"modify_ldt"));
    assert_filter_matches_reference(&p, &p.compile().unwrap());
}

#[test]
fn aarch64_filters_check_aarch64_and_kill_aarch32_and_x86_calls() {
    let f = builtin(Builtin::Default, &aarch64_ctx()).compile().unwrap();
    assert_eq!(run_a64(&f, 221, arg0(0)), ALLOW, "execve is 221");
    assert_eq!(run_a64(&f, a64("openat"), arg0(0)), ALLOW);
    assert_eq!(run_a64(&f, a64("io_uring_setup"), arg0(0)), EPERM);
    assert_eq!(run_a64(&f, a64("mount"), arg0(0)), EPERM);
    assert_eq!(
        run_a64(&f, a64("clone"), arg0(libc::CLONE_NEWUSER as u64)),
        EPERM
    );
    assert_eq!(run_a64(&f, a64("clone"), arg0(libc::SIGCHLD as u64)), ALLOW);
    assert_eq!(run_a64(&f, a64("clone3"), arg0(0)), ENOSYS);
    // No x32 here: a number with bit 30 is just above the highest named one.
    assert_eq!(run_a64(&f, 0x4000_0000 | 63, arg0(0)), ENOSYS);
    for foreign in [syscalls::AUDIT_ARCH_ARM, syscalls::AUDIT_ARCH_X86_64] {
        let call = SeccompData {
            arch: foreign,
            ..SeccompData::on(&syscalls::AARCH64, 20, [0; 6])
        };
        assert_eq!(
            simulate(&f.program, &call).unwrap().ret,
            KILL_PROCESS,
            "{foreign:#x}"
        );
    }
    // And an x86_64 filter kills aarch64 calls.
    let x86 = builtin(Builtin::Default, &docker_ctx()).compile().unwrap();
    let call = SeccompData::on(&syscalls::AARCH64, 221, [0; 6]);
    assert_eq!(simulate(&x86.program, &call).unwrap().ret, KILL_PROCESS);
}

#[test]
fn an_aarch64_program_checks_its_arch_and_has_no_x32_test() {
    let json = r#"{"defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["read", "write", "openat", "close"], "action": "SCMP_ACT_ALLOW"}]}"#;
    let choice = Choice::File(PathBuf::from("p.json"));
    let p = resolve(&choice, Some(json), &aarch64_ctx())
        .unwrap()
        .unwrap();
    let f = p.compile().unwrap();
    let got: Vec<(u16, u8, u8, u32)> = f
        .program
        .iter()
        .map(|i| (i.code, i.jt, i.jf, i.k))
        .collect();
    let ld = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
    let jeq = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    let jge = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
    let ret = (libc::BPF_RET | libc::BPF_K) as u16;
    // close 57, openat 56, read 63, write 64: [0,56) EPERM, [56,58) allow, [58,63) EPERM,
    // [63,65) allow, above 64 ENOSYS.
    assert_eq!(
        got,
        [
            (ld, 0, 0, 4),
            (jeq, 1, 0, syscalls::AUDIT_ARCH_AARCH64),
            (ret, 0, 0, KILL_PROCESS),
            (ld, 0, 0, 0),
            (jge, 1, 0, 58),
            (jge, 3, 1, 56),
            (jge, 1, 0, 63),
            (ret, 0, 0, EPERM),
            (jge, 1, 0, 65),
            (ret, 0, 0, ALLOW),
            (ret, 0, 0, ENOSYS),
        ]
    );
}

#[test]
fn node_profile_on_aarch64_gives_the_same_api_through_the_generic_calls() {
    let p = builtin(Builtin::Node, &aarch64_ctx());
    let f = p.compile().unwrap();
    // What node does through x86's legacy calls, it does here through their successors.
    for name in [
        "openat",
        "newfstatat",
        "faccessat",
        "faccessat2",
        "fchmodat",
        "fchownat",
        "dup3",
        "linkat",
        "mkdirat",
        "readlinkat",
        "renameat",
        "unlinkat",
        "symlinkat",
        "ppoll",
        "pipe2",
        "epoll_pwait",
        "statx",
        "clock_gettime",
        "getrandom",
    ] {
        assert_eq!(run_a64(&f, a64(name), arg0(0)), ALLOW, "{name}");
    }
    assert_eq!(run_a64(&f, a64("clone"), arg0(libc::SIGCHLD as u64)), ALLOW);
    assert_eq!(
        run_a64(&f, a64("clone"), arg0(libc::CLONE_NEWNS as u64)),
        EPERM
    );
    assert_eq!(run_a64(&f, a64("clone3"), arg0(0)), ENOSYS);
    for name in [
        "mount",
        "unshare",
        "ptrace",
        "io_uring_setup",
        "bpf",
        "keyctl",
    ] {
        assert_eq!(run_a64(&f, a64(name), arg0(0)), EPERM, "{name}");
    }
    // The x86-only names it lists are skipped, not errors.
    for name in ["open", "stat", "fork", "arch_prctl", "poll", "access"] {
        assert!(p.unknown_names.iter().any(|n| n == name), "{name}");
    }
    assert_filter_matches_reference(&p, &f);
}

#[test]
fn aarch64_export_names_aarch64_and_the_launchers_aarch64_calls() {
    let node = builtin(Builtin::Node, &aarch64_ctx());
    let rules = node.rules.len();
    let runtime = node.clone().for_runtime();
    let json: serde_json::Value = serde_json::from_str(&runtime.to_oci_json()).unwrap();
    assert_eq!(
        json["architectures"],
        serde_json::json!(["SCMP_ARCH_AARCH64"])
    );
    // The SeccompProfile export names the profile's arch too.
    assert!(runtime
        .to_spo_json()
        .unwrap()
        .contains("\"architectures\": [\n      \"SCMP_ARCH_AARCH64\"\n    ]"));
    let added: Vec<&str> = runtime.rules[rules..]
        .iter()
        .flat_map(|r| r.names.iter().copied())
        .collect();
    // openat, newfstatat and ppoll are in node's profile already; open, stat, poll and fork
    // do not exist.
    let mut want: Vec<&str> = LAUNCHER_CALLS
        .into_iter()
        .filter(|n| {
            ![
                "landlock_create_ruleset",
                "landlock_restrict_self",
                "close_range",
                "fadvise64",
                "fstatfs",
                "getgroups",
                "madvise",
                "ppoll",
            ]
            .contains(n)
        })
        .collect();
    want.push("ioctl");
    assert_eq!(added, want);
    // musl's fork() is clone(SIGCHLD): node's clone rule allows it, so nothing is added.
    assert_eq!(runtime.rules.len(), rules + 2);
    let strict = resolve(
        &Choice::File("p.json".into()),
        Some(r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}"#),
        &aarch64_ctx(),
    )
    .unwrap()
    .unwrap()
    .for_runtime();
    let last = strict.rules.last().unwrap();
    assert_eq!(last.names, ["clone"]);
    assert_eq!(
        last.args,
        [ArgCmp {
            index: 0,
            op: Op::MaskedEqual,
            value: 0xffff_ffff,
            value_two: 17
        }]
    );
    assert!(strict.rules[1].names.contains(&"openat"));
    assert!(!strict.rules[1].names.contains(&"open"));
    // With CAP_SYS_ADMIN Docker's profile allows all of it, the mount calls included.
    let admin = builtin(
        Builtin::Default,
        &Context {
            caps: DOCKER_CAPS | 1 << 21,
            ..aarch64_ctx()
        },
    );
    assert_eq!(admin.clone().for_runtime(), admin);
}

/// The built-in profiles' build-time tables against their JSON parsed now.
mod builtin;
/// The floor merged into profiles and into unconfined.
mod floor;
mod oracle;

#[test]
fn the_kubernetes_example_holds_the_spo_export_of_node() {
    // examples/kubernetes/seccompprofile.json is `hardinit --export-seccomp node --format spo`
    // run as root without flags (no capabilities kept) on Linux 6.18: regenerate it so when
    // this fails.
    let ctx = Context {
        arch: &syscalls::X86_64,
        caps: 0,
        kernel: (6, 18),
    };
    // With the floor's entries, as the export writes them (no --read-only, no port lists;
    // the Landlock ABI then plays no part).
    let floor = floor(&FloorOptions {
        read_only: false,
        port_lists: false,
        kernel: (6, 18),
        arch: &syscalls::X86_64,
        landlock_abi: 7,
    });
    let spo = builtin(Builtin::Node, &ctx)
        .for_runtime()
        .with_floor_entries(&floor)
        .to_spo_json()
        .unwrap();
    assert_eq!(
        spo,
        include_str!("../../../examples/kubernetes/seccompprofile.json")
    );
}

#[test]
fn a_filter_says_whether_every_read_passes_it() {
    let floor = |arch| {
        floor(&FloorOptions {
            read_only: true,
            port_lists: false,
            kernel: (6, 18),
            arch,
            landlock_abi: 7,
        })
    };
    for arch in syscalls::ALL {
        let ctx = Context {
            arch,
            caps: 0,
            kernel: (6, 18),
        };
        for which in [Builtin::Default, Builtin::Node] {
            let p = builtin(which, &ctx);
            let f = compile(Some(&p), Some(&floor(arch))).unwrap().unwrap();
            assert!(f.reads_pass, "{which} on {}", arch.name);
        }
        let unconfined = compile(None, Some(&floor(arch))).unwrap().unwrap();
        assert!(unconfined.reads_pass, "unconfined on {}", arch.name);
    }
    let reads = |entries: &str| {
        let json = format!(
            r#"{{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{{"names": ["execve", "exit_group"], "action": "SCMP_ACT_ALLOW"}}{entries}]}}"#
        );
        compile(Some(&profile(&json)), None)
            .unwrap()
            .unwrap()
            .reads_pass
    };
    assert!(reads(
        r#", {"names": ["read"], "action": "SCMP_ACT_ALLOW"}"#
    ));
    assert!(reads(r#", {"names": ["read"], "action": "SCMP_ACT_LOG"}"#));
    assert!(!reads(""));
    assert!(!reads(
        r#", {"names": ["read"], "action": "SCMP_ACT_TRACE"}"#
    ));
    assert!(!reads(
        r#", {"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]}"#
    ));
    assert!(!reads(
        r#", {"names": ["read"], "action": "SCMP_ACT_ALLOW"}, {"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5, "args": [{"index": 2, "value": 1, "op": "SCMP_CMP_EQ"}]}"#
    ));
}

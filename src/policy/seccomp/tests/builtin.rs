//! build.rs resolves the built-in profiles into tables; here their JSON is parsed at test time
//! by the parser `--seccomp FILE` uses (`resolve_raw`, which Docker's semantics are tested
//! against elsewhere), and the two must give the same profile, exactly, on every arch and for
//! every capability and kernel that can make a difference.

use crate::policy::seccomp::model::RawProfile;
use crate::policy::seccomp::{eval, syscalls, Builtin, Context, Origin};

const BUILTINS: [Builtin; 2] = [Builtin::Default, Builtin::Node];

/// No capability, every one, Docker's 14, each alone and all but each.
fn capability_sets() -> Vec<u64> {
    let mut sets = vec![0, u64::MAX, super::DOCKER_CAPS];
    for bit in 0..64 {
        sets.push(1 << bit);
        sets.push(!(1 << bit));
    }
    sets
}

/// Each `minKernel` the profiles name, the release before it and the one after, and the
/// extremes.
fn kernels() -> Vec<(u32, u32)> {
    let mut kernels = vec![(0, 0), (255, 255), (6, 18)];
    for builtin in BUILTINS {
        let json: serde_json::Value = serde_json::from_str(builtin.json()).unwrap();
        for call in json["syscalls"].as_array().unwrap() {
            for key in ["includes", "excludes"] {
                let Some(text) = call[key]["minKernel"].as_str() else {
                    continue;
                };
                let (major, minor) = text.split_once('.').unwrap();
                let (major, minor): (u32, u32) = (major.parse().unwrap(), minor.parse().unwrap());
                kernels.push((major, minor));
                kernels.push((major, minor + 1));
                kernels.push(match minor {
                    0 => (major - 1, 255),
                    _ => (major, minor - 1),
                });
            }
        }
    }
    kernels.sort_unstable();
    kernels.dedup();
    kernels
}

#[test]
fn the_minimum_kernels_probed_include_those_the_profiles_name() {
    // Docker's profile conditions entries on 4.8 and 5.x kernels; without them the
    // equality below would only see one side of each condition.
    let kernels = kernels();
    assert!(
        kernels.contains(&(4, 8)) && kernels.contains(&(4, 7)),
        "{kernels:?}"
    );
}

#[test]
fn the_build_time_tables_equal_the_json_parsed_now_for_every_context() {
    let kernels = kernels();
    let caps = capability_sets();
    for builtin in BUILTINS {
        let raw: RawProfile = serde_json::from_str(builtin.json()).unwrap();
        for arch in syscalls::ALL {
            for &kernel in &kernels {
                for &caps in &caps {
                    let ctx = Context { arch, caps, kernel };
                    let parsed =
                        eval::resolve_raw(raw.clone(), Origin::Builtin(builtin), &ctx).unwrap();
                    let built = builtin.resolve(&ctx).unwrap();
                    assert_eq!(
                        built, parsed,
                        "{builtin} on {} {caps:#x} {kernel:?}",
                        arch.name
                    );
                }
            }
        }
    }
}

#[test]
fn the_tables_differ_where_the_context_does() {
    // Not a vacuous equality: capabilities, the kernel and the arch change what applies.
    let ctx = |arch, caps, kernel| Context { arch, caps, kernel };
    let x86 = &syscalls::X86_64;
    let resolve = |c: Context| Builtin::Default.resolve(&c).unwrap();
    let plain = resolve(ctx(x86, super::DOCKER_CAPS, (6, 18)));
    let admin = resolve(ctx(x86, super::DOCKER_CAPS | super::CAP_SYS_ADMIN, (6, 18)));
    let old = resolve(ctx(x86, super::DOCKER_CAPS, (4, 7)));
    let arm = resolve(ctx(&syscalls::AARCH64, super::DOCKER_CAPS, (6, 18)));
    assert_ne!(plain.rules, admin.rules);
    assert_ne!(plain.rules, old.rules);
    assert_ne!(plain.rules, arm.rules);
    assert_eq!(plain.rules.len(), 15);
    // 32-bit names Docker lists for every arch; the arm-only entry is left out on x86_64.
    assert!(plain.unknown_names.iter().any(|n| n == "_llseek"));
    assert!(!plain.unknown_names.iter().any(|n| n == "arm_fadvise64_64"));
}

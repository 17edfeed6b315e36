//! Images for linux/arm64 and linux/amd64, each from one Dockerfile, by `docker buildx build
//! --platform`: the example (examples/node/Dockerfile), which compiles hardinit, and
//! examples/release/Dockerfile, which copies the release artifacts (.ci/release). Each image
//! is of its platform and carries a static hardinit for that machine, both start the same
//! way, and the amd64 one runs its program hardened.
//!
//! The arm64 images are not run here: this machine has no arm64 CPU, and under qemu-user
//! `seccomp()` and Landlock answer ENOSYS. .ci/arm64 boots an arm64 image's /hardinit on
//! Debian's arm64 kernels.
//!
//! One `--platform` per build: buildx's `docker` driver builds one platform at a time unless
//! the daemon has the containerd image store (Docker 20.10 has none), and a
//! `docker-container` builder needs BuildKit's image from a registry.

use super::images::{self, Platform};
use super::{hardened_node, run_hardened_service, scenario, Docker};
use crate::util;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// What `readelf` says of an ELF file.
#[derive(Debug, PartialEq, Eq)]
struct Elf {
    machine: String,
    /// PT_INTERP: the loader a dynamic executable names.
    interpreter: Option<String>,
    /// DT_NEEDED: the shared libraries it loads.
    needed: Vec<String>,
}

fn read_elf(path: &Path) -> Elf {
    let out = util::run_with_timeout(
        Command::new("readelf")
            .args(["--wide", "-h", "-l", "-d"])
            .arg(path),
        Duration::from_secs(30),
    );
    assert!(out.status.success(), "{out}");
    let text = &out.stdout;
    let machine = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Machine:"))
        .unwrap_or_else(|| panic!("no Machine line\n{out}"))
        .trim()
        .to_string();
    let bracketed = |line: &str, key: &str| {
        let rest = line.split_once(key)?.1;
        Some(
            rest.trim_start_matches([':', ' ', '['])
                .split(']')
                .next()?
                .to_string(),
        )
    };
    let interpreter = text
        .lines()
        .find_map(|l| bracketed(l, "Requesting program interpreter"));
    let needed = text
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| bracketed(l, "Shared library"))
        .collect();
    Elf {
        machine,
        interpreter,
        needed,
    }
}

/// Copies `path` (its target, for a symlink) out of `image` into `dir`; where it landed.
fn copy_out(docker: &Docker, platform: Platform, image: &str, path: &str, dir: &Path) -> PathBuf {
    let id = docker.ok(["create", "--platform", platform.docker(), image]);
    let dest = dir.join(path.trim_start_matches('/').replace('/', "_"));
    let copied = docker.run([
        "cp".to_string(),
        "--follow-link".to_string(),
        format!("{id}:{path}"),
        dest.display().to_string(),
    ]);
    docker.ok(["rm", &id]);
    assert!(copied.status.success(), "{copied}");
    dest
}

/// What `readelf` says of `path` in `image`.
fn elf_in(docker: &Docker, platform: Platform, image: &str, path: &str, dir: &Path) -> Elf {
    read_elf(&copy_out(docker, platform, image, path, dir))
}

/// The static ELF executable for `platform`, as [`read_elf`] shows it.
fn static_elf(platform: Platform) -> Elf {
    Elf {
        machine: platform.elf_machine().to_string(),
        interpreter: None,
        needed: vec![],
    }
}

/// `uid/gid` of `path` in the image's filesystem, as `docker export` lists it.
fn owner_in(docker: &Docker, platform: Platform, image: &str, path: &str) -> String {
    let id = docker.ok(["create", "--platform", platform.docker(), image]);
    let mut cmd = Command::new("bash");
    cmd.args([
        "-c",
        r#"set -o pipefail; docker export "$1" | tar -tv --numeric-owner | awk -v p="$2" '$6 == p {print $2}'"#,
        "bash",
        &id,
        &format!("{}/", path.trim_start_matches('/')),
    ]);
    let out = util::run_with_timeout(&mut cmd, Duration::from_secs(120));
    docker.ok(["rm", &id]);
    assert!(out.status.success(), "{out}");
    out.stdout.trim().to_string()
}

/// How the image starts: what must be the same on every platform.
fn start_config(docker: &Docker, image: &str) -> String {
    docker.ok([
        "image",
        "inspect",
        "--format",
        "{{json .Config.Entrypoint}} {{json .Config.Cmd}} {{json .Config.User}} \
         {{json .Config.Healthcheck.Test}} {{json .Config.WorkingDir}}",
        image,
    ])
}

#[test]
fn example_image_builds_for_arm64_and_amd64_from_one_dockerfile() {
    let test = "example_image_builds_for_arm64_and_amd64_from_one_dockerfile";
    scenario(
        test,
        "example image for arm64 and amd64",
        |docker, amd64| {
            let dir = util::scratch_dir("platforms");
            let want_start = concat!(
                r#"["/hardinit","--user","node","--read-only","--writable","/tmp","#,
                r#""--writable","/app/data","--seccomp","node","--"] ["node","server.js"] "" "#,
                r#"["CMD","/hardinit","--probe","http://127.0.0.1:3000/healthz"] "/app""#
            );
            for platform in Platform::ALL {
                let image = images::example_for(platform);
                let arch = docker.ok([
                    "image",
                    "inspect",
                    "--format",
                    "{{.Os}}/{{.Architecture}}",
                    image,
                ]);
                assert_eq!(arch, platform.docker(), "{image}");
                assert_eq!(start_config(docker, image), want_start, "{image}");

                // hardinit: static, for the image's machine.
                let hardinit = elf_in(docker, platform, image, "/hardinit", &dir);
                assert_eq!(hardinit, static_elf(platform), "{image}: /hardinit");
                let machine = platform.elf_machine();

                // The program it starts is of the same machine, and its loader is in the image.
                let node = elf_in(docker, platform, image, "/usr/local/bin/node", &dir);
                assert_eq!(
                    (node.machine.as_str(), node.interpreter.as_deref()),
                    (machine, Some(platform.loader())),
                    "{image}: node"
                );
                let loader = elf_in(docker, platform, image, platform.loader(), &dir);
                assert_eq!(loader.machine, machine, "{image}: {}", platform.loader());

                // --chown=node:node resolved the node user in that platform's base image.
                assert_eq!(
                    owner_in(docker, platform, image, "/app/data"),
                    "1000/1000",
                    "{image}"
                );
            }
            eprintln!(
                "NOT RUN here: {} (no arm64 CPU; qemu-user answers ENOSYS to seccomp and \
                 Landlock) — .ci/arm64 boots an arm64 /hardinit on arm64 kernels",
                Platform::Arm64.example_tag()
            );

            // The amd64 image runs the example under hardinit, hardened by the image alone.
            assert_eq!(amd64, Platform::Amd64.example_tag());
            run_hardened_service(docker, &[], amd64, hardened_node("", "2"));
            let _ = std::fs::remove_dir_all(&dir);
        },
    );
}

/// The release artifacts, made by .ci/release in a directory of their own (once per process:
/// cargo rebuilds nothing when .ci/run's release step or a developer built them already).
fn release_artifacts() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = util::scratch_dir("release-artifacts");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/release");
        let out =
            util::run_with_timeout(Command::new(script).arg(&dir), Duration::from_secs(20 * 60));
        assert!(out.status.success(), ".ci/release failed\n{out}");
        dir
    })
}

/// SHA256SUMS as a map: file name -> hex digest.
fn checksums(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(|l| {
            let (sum, name) = l
                .split_once("  ")
                .unwrap_or_else(|| panic!("bad line {l:?}"));
            (name.to_string(), sum.to_string())
        })
        .collect()
}

fn sha256_of(path: &Path) -> String {
    let out = util::run_with_timeout(Command::new("sha256sum").arg(path), Duration::from_secs(30));
    assert!(out.status.success(), "{out}");
    out.stdout.split(' ').next().unwrap().to_string()
}

#[test]
fn release_artifacts_go_into_an_image_for_each_platform() {
    let test = "release_artifacts_go_into_an_image_for_each_platform";
    scenario(test, "release image for arm64 and amd64", |docker, _| {
        let artifacts = release_artifacts();
        let sums = checksums(&std::fs::read_to_string(artifacts.join("SHA256SUMS")).unwrap());
        let names: Vec<&str> = sums.keys().map(String::as_str).collect();
        assert_eq!(names, ["hardinit-aarch64", "hardinit-x86_64"]);
        let dockerfile = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/release/Dockerfile");
        let dir = util::scratch_dir("release-images");
        let want_start = concat!(
            r#"["/hardinit","--user","node","--read-only","--writable","/tmp","#,
            r#""--seccomp","node","--"] ["node"]"#
        );
        for platform in Platform::ALL {
            let tag = format!("hardinit-test/release:{}", platform.machine());
            let base = format!("BASE_IMAGE={}", images::node_base_for(platform));
            let mut cmd = images::buildx_build(platform, &tag, artifacts);
            cmd.arg("--file")
                .arg(&dockerfile)
                .args(["--build-arg", &base]);
            let out = util::run_with_timeout(&mut cmd, Duration::from_secs(10 * 60));
            assert!(out.status.success(), "docker buildx build failed\n{out}");

            let arch = docker.ok([
                "image",
                "inspect",
                "--format",
                "{{.Os}}/{{.Architecture}}",
                &tag,
            ]);
            assert_eq!(arch, platform.docker(), "{tag}");
            let config = docker.ok([
                "image",
                "inspect",
                "--format",
                "{{json .Config.Entrypoint}} {{json .Config.Cmd}}",
                &tag,
            ]);
            assert_eq!(config, want_start, "{tag}");
            // The artifact named by the platform's `uname -m`, byte for byte.
            let copied = copy_out(docker, platform, &tag, "/hardinit", &dir);
            let artifact = format!("hardinit-{}", platform.machine());
            assert_eq!(
                sha256_of(&copied),
                sums[&artifact],
                "{tag}: /hardinit is not {artifact}"
            );
            assert_eq!(read_elf(&copied), static_elf(platform), "{tag}: /hardinit");
        }
        eprintln!(
            "NOT RUN here: hardinit-test/release:aarch64 (no arm64 CPU) — .ci/arm64 boots the \
             aarch64 hardinit on arm64 kernels"
        );

        // The amd64 image runs node under hardinit, as the node user with no capability.
        let out = docker.run([
            "run",
            "--rm",
            "--network",
            "none",
            "hardinit-test/release:x86_64",
            "node",
            "-e",
            "console.log(process.arch, process.getuid(), require('fs').readFileSync('/proc/self/status', 'utf8').match(/CapBnd:.*/)[0])",
        ]);
        assert_eq!(
            out.expect_code(0).stdout,
            "x64 1000 CapBnd:\t0000000000000000\n",
            "{out}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    });
}

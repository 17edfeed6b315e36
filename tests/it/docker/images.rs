//! Local stand-ins for the public base images, and the example image built from them for
//! each platform.
//!
//! CI reaches no registry, so `node:24-bookworm-slim` and `rust:1-bookworm` are assembled from
//! this machine's own files (the official Node.js 24 that .ci/node-lines caches, its rustup
//! toolchain, its Debian gcc and binutils) and imported with `docker import`. The arm64
//! `node:24-bookworm-slim` is made the same way from the arm64 Node.js 24 and Debian's arm64
//! libraries (.ci/buildx-up fetches both). The example Dockerfile is then built unchanged by
//! `docker buildx build --platform linux/amd64` and `--platform linux/arm64`, with the images
//! passed as build arguments: the daemon's image store holds one platform per tag, so each
//! platform's node image has its own tag, where a registry's `node:24-bookworm-slim` is one
//! multi-platform index. The assembled images are tagged with a hash of what went into them,
//! so a second run reuses them until a host file changes.

use super::Docker;
use crate::util;
use std::collections::{BTreeMap, BTreeSet};
use std::hash::{DefaultHasher, Hasher};
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const NODE_BASE: &str = "hardinit-test/node-base";
/// The arm64 Node.js image's files, imported (as every `docker import`) for this machine's
/// platform, and the image they become for linux/arm64.
const ARM64_NODE_FILES: &str = "hardinit-test/arm64-node-files";
const ARM64_NODE_BASE: &str = "hardinit-test/arm64-node-base";
const RUST_BASE: &str = "hardinit-test/rust-base";

/// A platform the example image is built for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Platform {
    Amd64,
    Arm64,
}

impl Platform {
    pub const ALL: [Platform; 2] = [Platform::Amd64, Platform::Arm64];

    /// As `docker --platform` and the image's config name it.
    pub fn docker(self) -> &'static str {
        match self {
            Platform::Amd64 => "linux/amd64",
            Platform::Arm64 => "linux/arm64",
        }
    }

    /// As `uname -m` prints it there: the release artifact's suffix.
    pub fn machine(self) -> &'static str {
        match self {
            Platform::Amd64 => "x86_64",
            Platform::Arm64 => "aarch64",
        }
    }

    /// As `readelf -h` names the machine of its ELF files.
    pub fn elf_machine(self) -> &'static str {
        match self {
            Platform::Amd64 => "Advanced Micro Devices X86-64",
            Platform::Arm64 => "AArch64",
        }
    }

    /// The dynamic loader that Debian's glibc (and so Node.js) uses there.
    pub fn loader(self) -> &'static str {
        match self {
            Platform::Amd64 => "/lib64/ld-linux-x86-64.so.2",
            Platform::Arm64 => "/lib/ld-linux-aarch64.so.1",
        }
    }

    /// Tag of the example image (examples/node/Dockerfile) built for this platform.
    pub fn example_tag(self) -> &'static str {
        match self {
            Platform::Amd64 => "hardinit-test/example:latest",
            Platform::Arm64 => "hardinit-test/example:arm64",
        }
    }
}
/// The path that `node:24-bookworm-slim` and friends put on PATH.
const DEBIAN_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The node base image (its tag), assembled on first use.
pub fn node_base() -> &'static str {
    static TAG: OnceLock<Result<String, String>> = OnceLock::new();
    once(&TAG, "assemble the Node.js base image", || {
        import_cached(NODE_BASE, &node_rootfs(), &node_changes())
    })
}

/// The Rust builder image (its tag), assembled on first use.
pub fn rust_base() -> &'static str {
    static TAG: OnceLock<Result<String, String>> = OnceLock::new();
    once(&TAG, "assemble the Rust builder image", || {
        let toolchain = Toolchain::find();
        import_cached(
            RUST_BASE,
            &rust_rootfs(&toolchain),
            &rust_changes(&toolchain),
        )
    })
}

/// The arm64 node base image (its tag): the arm64 files, imported, then made a linux/arm64
/// image by BuildKit (the daemon's `docker import` ignores `--platform`).
pub fn arm64_node_base() -> &'static str {
    static TAG: OnceLock<Result<String, String>> = OnceLock::new();
    once(&TAG, "assemble the arm64 Node.js base image", || {
        // Its files: the Node.js and libraries .ci/buildx-up fetches.
        buildx_up();
        let files = import_cached(ARM64_NODE_FILES, &arm64_node_rootfs(), &[]);
        rebuild_for(Platform::Arm64, &files, ARM64_NODE_BASE, &node_changes())
    })
}

/// The node base image for `platform` (its tag).
pub fn node_base_for(platform: Platform) -> &'static str {
    match platform {
        Platform::Amd64 => node_base(),
        Platform::Arm64 => arm64_node_base(),
    }
}

/// The amd64 example image, which the Docker scenarios run.
pub fn example() -> &'static str {
    example_for(Platform::Amd64)
}

/// examples/node/Dockerfile built for `platform` on the local base images.
pub fn example_for(platform: Platform) -> &'static str {
    static AMD64: OnceLock<Result<String, String>> = OnceLock::new();
    static ARM64: OnceLock<Result<String, String>> = OnceLock::new();
    let cell = match platform {
        Platform::Amd64 => &AMD64,
        Platform::Arm64 => &ARM64,
    };
    let what = format!("build examples/node/Dockerfile for {}", platform.docker());
    once(cell, &what, || build_example(platform))
}

/// Runs .ci/buildx-up once: Debian's docker-buildx, and the arm64 files for the node image.
fn buildx_up() {
    static UP: OnceLock<Result<(), String>> = OnceLock::new();
    if let Err(why) = util::run_setup_script_once(&UP, "buildx-up", Duration::from_secs(600)) {
        panic!(".ci/buildx-up failed:\n{why}");
    }
}

/// The static hardinit that the example image carries, copied out to the host (once).
pub fn static_hardinit() -> &'static Path {
    static PATH: OnceLock<Result<String, String>> = OnceLock::new();
    let path = once(&PATH, "copy /hardinit out of the example image", || {
        let docker = Docker::default_daemon();
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("docker-static");
        std::fs::create_dir_all(&dir).unwrap();
        let dest = dir.join("hardinit");
        let id = docker.ok(["create", example()]);
        let copied = docker.run(["cp".into(), format!("{id}:/hardinit"), path_str(&dest)]);
        docker.ok(["rm", &id]);
        assert!(copied.status.success(), "{copied}");
        path_str(&dest)
    });
    Path::new(path)
}

/// Runs `make` once per process and hands every caller its result; a failure is kept (and
/// reported to each test that needs the image) instead of being retried by each of them.
fn once(
    cell: &'static OnceLock<Result<String, String>>,
    what: &str,
    make: impl FnOnce() -> String,
) -> &'static str {
    let result = cell.get_or_init(|| {
        let start = Instant::now();
        let made = std::panic::catch_unwind(std::panic::AssertUnwindSafe(make));
        match made {
            Ok(tag) => {
                eprintln!("{what}: {tag} ready after {:.1?}", start.elapsed());
                Ok(tag)
            }
            Err(payload) => Err(panic_text(&payload)),
        }
    });
    match result {
        Ok(tag) => tag,
        Err(why) => panic!("cannot {what}:\n{why}"),
    }
}

fn panic_text(payload: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else {
        "(panic without a message)".to_string()
    }
}

fn build_example(platform: Platform) -> String {
    let (node, rust) = (node_base_for(platform), rust_base());
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tag = platform.example_tag();
    let node_arg = format!("NODE_IMAGE={node}");
    let rust_arg = format!("RUST_IMAGE={rust}");
    // cargo fetches crates from crates.io: the only network there is.
    let args = ["--network", "host", "--file"];
    let dockerfile = repo.join("examples/node/Dockerfile");
    let mut cmd = buildx_build(platform, tag, repo);
    cmd.args(args).arg(&dockerfile);
    cmd.args(["--build-arg", &node_arg, "--build-arg", &rust_arg]);
    let out = util::run_with_timeout(&mut cmd, Duration::from_secs(25 * 60));
    assert!(out.status.success(), "docker buildx build failed\n{out}");
    tag.to_string()
}

/// `docker buildx build --platform PLATFORM --load --tag TAG CONTEXT`, to which the caller adds
/// its options. BuildKit through buildx's `docker` driver is the daemon's own BuildKit, which
/// finds the base images in the daemon's store (and needs no frontend image from a registry:
/// the Dockerfiles have no `# syntax` line).
pub fn buildx_build(platform: Platform, tag: &str, context: &Path) -> Command {
    buildx_up();
    let mut cmd = Docker::default_daemon().command();
    cmd.args(["buildx", "build", "--platform", platform.docker(), "--load"])
        .args(["--progress", "plain", "--tag", tag])
        .arg(context);
    cmd
}

/// `image` (imported for this machine's platform) rebuilt as a `platform` image with `changes`
/// (Dockerfile lines), tagged `repo:<hash of both>`; reused while that tag exists.
fn rebuild_for(platform: Platform, image: &str, repo: &str, changes: &[String]) -> String {
    let docker = Docker::default_daemon();
    let mut h = DefaultHasher::new();
    h.write(image.as_bytes());
    for change in changes {
        h.write(change.as_bytes());
    }
    let tag = format!("{repo}:{:016x}", h.finish());
    if docker.run(["image", "inspect", &tag]).status.success() {
        eprintln!("{tag}: cached");
        return tag;
    }
    let dir = util::scratch_dir(&format!("rebuild-{}", repo.replace('/', "-")));
    // COPY --from keeps the files' owners and modes (a COPY from the context would not).
    let dockerfile = format!(
        "FROM --platform=$BUILDPLATFORM {image} AS files\nFROM scratch\nCOPY --from=files / /\n{}\n",
        changes.join("\n")
    );
    std::fs::write(dir.join("Dockerfile"), dockerfile).unwrap();
    let out = util::run_with_timeout(
        &mut buildx_build(platform, &tag, &dir),
        Duration::from_secs(10 * 60),
    );
    assert!(out.status.success(), "docker buildx build failed\n{out}");
    let _ = std::fs::remove_dir_all(&dir);
    remove_other_tags(&docker, repo, &tag);
    tag
}

/// What a root filesystem is made of. Host files are linked, not copied, into a staging
/// directory; `tar --dereference` then reads them in place.
#[derive(Default)]
struct Rootfs {
    /// image path -> host path (a file, or a directory taken whole)
    host: BTreeMap<PathBuf, PathBuf>,
    /// image path -> contents
    text: BTreeMap<PathBuf, String>,
    /// image path -> (mode, uid)
    dirs: BTreeMap<PathBuf, (u32, u32)>,
}

impl Rootfs {
    fn add_host(&mut self, image: impl Into<PathBuf>, host: impl Into<PathBuf>) {
        self.host.insert(image.into(), host.into());
    }

    /// Adds `host` at the same path in the image.
    fn add_same(&mut self, host: impl AsRef<Path>) {
        let host = host.as_ref();
        self.add_host(host, host);
    }

    fn add_text(&mut self, image: &str, text: &str) {
        self.text.insert(image.into(), text.into());
    }

    fn add_dir(&mut self, image: &str, mode: u32, uid: u32) {
        self.dirs.insert(image.into(), (mode, uid));
    }

    /// Adds every shared library the ELF files among `binaries` load (and the loader).
    fn add_libraries_of<'a>(&mut self, binaries: impl IntoIterator<Item = &'a PathBuf>) {
        for lib in shared_libraries(binaries) {
            self.add_same(lib);
        }
    }

    /// A hash of the recipe and of each host file's identity (path, size, mtime): a changed
    /// host file (a new Node.js, a toolchain update) changes the tag.
    fn content_hash(&self) -> String {
        let mut h = DefaultHasher::new();
        for (image, host) in &self.host {
            h.write(image.as_os_str().as_encoded_bytes());
            for file in walk(host) {
                let meta = std::fs::metadata(&file)
                    .unwrap_or_else(|e| panic!("stat {}: {e}", file.display()));
                h.write(file.as_os_str().as_encoded_bytes());
                h.write_u64(meta.size());
                h.write_i64(meta.mtime());
                h.write_i64(meta.mtime_nsec());
                h.write_u32(meta.mode());
            }
        }
        for (image, text) in &self.text {
            h.write(image.as_os_str().as_encoded_bytes());
            h.write(text.as_bytes());
        }
        for (image, (mode, uid)) in &self.dirs {
            h.write(image.as_os_str().as_encoded_bytes());
            h.write_u32(*mode);
            h.write_u32(*uid);
        }
        format!("{:016x}", h.finish())
    }

    /// Lays the recipe out in `dir`: real directories, written files, symlinks to host files.
    fn stage(&self, dir: &Path) {
        for (image, host) in &self.host {
            let at = dir.join(image.strip_prefix("/").unwrap_or(image));
            std::fs::create_dir_all(at.parent().unwrap()).unwrap();
            symlink(host, &at).unwrap_or_else(|e| panic!("link {}: {e}", at.display()));
        }
        for (image, text) in &self.text {
            let at = dir.join(image.strip_prefix("/").unwrap());
            std::fs::create_dir_all(at.parent().unwrap()).unwrap();
            std::fs::write(&at, text).unwrap();
        }
        for (image, (mode, uid)) in &self.dirs {
            let at = dir.join(image.strip_prefix("/").unwrap());
            std::fs::create_dir_all(&at).unwrap();
            std::fs::set_permissions(&at, std::fs::Permissions::from_mode(*mode)).unwrap();
            std::os::unix::fs::chown(&at, Some(*uid), Some(*uid)).unwrap();
        }
    }
}

/// Imports `rootfs` as `repo:<content hash>` unless that tag exists; drops older tags of `repo`.
fn import_cached(repo: &str, rootfs: &Rootfs, changes: &[String]) -> String {
    let docker = Docker::default_daemon();
    let tag = format!("{repo}:{}", rootfs.content_hash());
    if docker.run(["image", "inspect", &tag]).status.success() {
        eprintln!("{tag}: cached");
        return tag;
    }
    let staging = util::scratch_dir(&format!("rootfs-{}", repo.replace('/', "-")));
    rootfs.stage(&staging);
    let mut cmd = Command::new("bash");
    // One pipe, no temporary tarball of a gigabyte: tar reads the host files through the links.
    cmd.args([
        "-c",
        r#"set -euo pipefail
           staging=$1 tag=$2; shift 2
           tar --create --dereference --numeric-owner --directory "$staging" . \
             | docker import "$@" - "$tag""#,
        "bash",
    ])
    .arg(&staging)
    .arg(&tag);
    for change in changes {
        cmd.args(["--change", change]);
    }
    let start = Instant::now();
    let out = util::run_with_timeout(&mut cmd, Duration::from_secs(15 * 60));
    assert!(out.status.success(), "docker import failed\n{out}");
    eprintln!("{tag}: imported in {:.1?}", start.elapsed());
    let _ = std::fs::remove_dir_all(&staging);
    remove_other_tags(&docker, repo, &tag);
    tag
}

fn remove_other_tags(docker: &Docker, repo: &str, keep: &str) {
    let listed = docker.ok(["image", "ls", "--format", "{{.Repository}}:{{.Tag}}", repo]);
    for old in listed.lines().filter(|t| *t != keep) {
        let _ = docker.run(["image", "rm", old]);
    }
}

/// A stand-in for node:24-bookworm-slim: the official Node.js 24 build (.ci/node-lines; outside
/// CI this machine's node when it is not cached, said loudly), a `node` user (1000:1000) as in
/// the official image, /bin/sh and the few tools the Dockerfile and the scenarios use.
fn node_rootfs() -> Rootfs {
    let mut fs = Rootfs::default();
    let node = util::node_lines("docker images", &["24"])
        .pop()
        .map_or_else(|| which("node"), |(_, path)| path);
    let mut binaries = vec![node.clone()];
    fs.add_host("/usr/local/bin/node", &node);
    let sh = real_path(Path::new("/bin/sh"));
    fs.add_host("/bin/sh", &sh);
    binaries.push(sh);
    // RUN mkdir/chown in the Dockerfile; cat, sleep and ls in the scenarios.
    for tool in ["cat", "chown", "id", "ls", "mkdir", "rm", "sleep", "touch"] {
        let path = which(tool);
        fs.add_host(format!("/bin/{tool}"), &path);
        binaries.push(path);
    }
    fs.add_libraries_of(&binaries);
    add_node_user(&mut fs);
    fs
}

/// A stand-in for node:24-bookworm-slim on arm64: the official Node.js 24 for arm64, the
/// libraries it loads from Debian's arm64 glibc, libstdc++ and libgcc (installed on this
/// machine as the -arm64-cross packages, at /usr/aarch64-linux-gnu/lib, laid out here where
/// Debian's arm64 images have them), the `node` user. No shell: nothing runs in it here (the
/// example's final stage only copies), and this machine has no arm64 CPU to run one.
fn arm64_node_rootfs() -> Rootfs {
    let mut fs = Rootfs::default();
    let node = util::node_lines_for("docker images", "arm64", &["24"])
        .pop()
        .map(|(_, path)| path)
        .unwrap_or_else(|| panic!("no Node.js 24 for arm64: run .ci/buildx-up"));
    fs.add_host("/usr/local/bin/node", node);
    for package in [
        "libc6-arm64-cross",
        "libstdc++6-arm64-cross",
        "libgcc-s1-arm64-cross",
    ] {
        for file in package_files(package) {
            let Ok(rest) = file.strip_prefix("/usr/aarch64-linux-gnu/lib") else {
                continue;
            };
            fs.add_host(Path::new("/lib/aarch64-linux-gnu").join(rest), &file);
        }
    }
    fs.add_host(
        Platform::Arm64.loader(),
        "/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1",
    );
    add_node_user(&mut fs);
    fs
}

/// The users, groups and directories of the official Node.js images.
fn add_node_user(fs: &mut Rootfs) {
    fs.add_text(
        "/etc/passwd",
        "root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n",
    );
    fs.add_text("/etc/group", "root:x:0:\nnode:x:1000:\n");
    fs.add_dir("/tmp", 0o1777, 0);
    fs.add_dir("/root", 0o700, 0);
    fs.add_dir("/home/node", 0o755, 1000);
}

fn node_changes() -> Vec<String> {
    vec![
        format!("ENV PATH={DEBIAN_PATH}"),
        r#"CMD ["node"]"#.to_string(),
    ]
}

/// The host's rustup toolchain (the one `rustc` runs), with the musl target installed.
struct Toolchain {
    sysroot: PathBuf,
    name: String,
    rustup: PathBuf,
}

impl Toolchain {
    fn find() -> Toolchain {
        let out = util::run_with_timeout(
            Command::new("rustc").args(["--print", "sysroot"]),
            Duration::from_secs(30),
        );
        assert!(out.status.success(), "{out}");
        let sysroot = PathBuf::from(out.stdout.trim());
        // The example's builder cross-compiles for both platforms: it needs both targets.
        for target in ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"] {
            assert!(
                sysroot.join("lib/rustlib").join(target).is_dir(),
                "{} lacks a musl target: rustup target add {target}",
                sysroot.display()
            );
        }
        let name = sysroot.file_name().unwrap().to_string_lossy().into_owned();
        Toolchain {
            sysroot,
            name,
            rustup: which("rustup"),
        }
    }
}

/// A stand-in for rust:1-bookworm: rustup and one toolchain in /usr/local (as the official
/// image has them), gcc and binutils to link, dash and coreutils for RUN lines.
fn rust_rootfs(toolchain: &Toolchain) -> Rootfs {
    let mut fs = Rootfs::default();
    let home = Path::new("/usr/local/rustup/toolchains").join(&toolchain.name);
    let mut binaries = Vec::new();
    // Its documentation (800 MB) stays out.
    for part in ["bin", "etc", "lib", "libexec"] {
        let host = toolchain.sysroot.join(part);
        if host.exists() {
            binaries.extend(walk(&host).into_iter().filter(|p| is_elf(p)));
            fs.add_host(home.join(part), host);
        }
    }
    for proxy in ["rustup", "cargo", "rustc", "rustdoc"] {
        fs.add_host(format!("/usr/local/cargo/bin/{proxy}"), &toolchain.rustup);
    }
    binaries.push(toolchain.rustup.clone());
    fs.add_text(
        "/usr/local/rustup/settings.toml",
        &format!(
            "version = \"12\"\ndefault_toolchain = \"{}\"\nprofile = \"minimal\"\n\n[overrides]\n",
            toolchain.name
        ),
    );
    let gcc = gcc_major_version();
    let packages = [
        "libc6".to_string(),
        "libc6-dev".to_string(),
        "linux-libc-dev".to_string(),
        "libgcc-s1".to_string(),
        format!("libgcc-{gcc}-dev"),
        format!("gcc-{gcc}"),
        format!("cpp-{gcc}"),
        "binutils".to_string(),
        "binutils-x86-64-linux-gnu".to_string(),
        "dash".to_string(),
        "coreutils".to_string(),
    ];
    for file in packages.iter().flat_map(|p| package_files(p)) {
        if is_elf(&file) {
            binaries.push(file.clone());
        }
        fs.add_same(file);
    }
    let cc = real_path(&which("cc"));
    fs.add_host("/usr/bin/cc", &cc);
    fs.add_host("/usr/bin/gcc", &cc);
    fs.add_host("/bin/sh", real_path(Path::new("/bin/sh")));
    fs.add_libraries_of(&binaries);
    // cargo talks to crates.io over TLS.
    fs.add_same("/etc/ssl/certs/ca-certificates.crt");
    fs.add_text("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
    fs.add_text("/etc/group", "root:x:0:\n");
    fs.add_dir("/tmp", 0o1777, 0);
    fs.add_dir("/root", 0o700, 0);
    fs
}

fn rust_changes(toolchain: &Toolchain) -> Vec<String> {
    vec![
        "ENV RUSTUP_HOME=/usr/local/rustup".to_string(),
        "ENV CARGO_HOME=/usr/local/cargo".to_string(),
        format!("ENV PATH=/usr/local/cargo/bin:{DEBIAN_PATH}"),
        format!("LABEL hardinit-test.toolchain={}", toolchain.name),
    ]
}

fn gcc_major_version() -> String {
    let out = util::run_with_timeout(
        Command::new("cc").arg("-dumpversion"),
        Duration::from_secs(30),
    );
    assert!(out.status.success(), "{out}");
    out.stdout.trim().split('.').next().unwrap().to_string()
}

/// The regular files (and symlinks to them) a Debian package installed, documentation aside.
fn package_files(package: &str) -> Vec<PathBuf> {
    let out = util::run_with_timeout(
        Command::new("dpkg-query").args(["--listfiles", package]),
        Duration::from_secs(30),
    );
    assert!(
        out.status.success(),
        "package {package} is needed for the Rust builder image\n{out}"
    );
    let skipped = [
        "/usr/share/doc",
        "/usr/share/man",
        "/usr/share/info",
        "/usr/share/lintian",
    ];
    out.stdout
        .lines()
        .filter(|l| l.starts_with('/') && !skipped.iter().any(|s| l.starts_with(s)))
        .map(PathBuf::from)
        // Directories are made by staging; files a local policy removed are not needed.
        .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file()))
        .collect()
}

/// Every shared library (and the loader) that the dynamic ELF files among `binaries` load,
/// at the paths the host's loader finds them.
fn shared_libraries<'a>(binaries: impl IntoIterator<Item = &'a PathBuf>) -> BTreeSet<PathBuf> {
    let binaries: Vec<&PathBuf> = binaries.into_iter().filter(|p| is_elf(p)).collect();
    let mut libs = BTreeSet::new();
    for chunk in binaries.chunks(200) {
        let out = util::run_with_timeout(
            Command::new("ldd").args(chunk.iter().copied()),
            Duration::from_secs(120),
        );
        // ldd fails for static binaries ("not a dynamic executable"); what it resolved counts.
        for line in out.stdout.lines().map(str::trim) {
            assert!(
                !line.contains("not found"),
                "missing library: {line}\n{out}"
            );
            let path = match line.split_once("=> ") {
                Some((_, rest)) => rest,
                None if line.starts_with('/') && line.contains(" (0x") => line,
                None => continue,
            };
            if let Some(path) = path.split(" (0x").next().filter(|p| p.starts_with('/')) {
                libs.insert(PathBuf::from(path));
            }
        }
    }
    libs
}

fn is_elf(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && magic == *b"\x7fELF"
}

/// The files below `path` (or `path` itself when it is a file), in a stable order.
fn walk(path: &Path) -> Vec<PathBuf> {
    let meta = std::fs::metadata(path).unwrap_or_else(|e| panic!("stat {}: {e}", path.display()));
    if !meta.is_dir() {
        return vec![path.to_path_buf()];
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    entries.iter().flat_map(|p| walk(p)).collect()
}

fn which(tool: &str) -> PathBuf {
    util::require_tool("docker images", tool)
        .unwrap_or_else(|| panic!("`{tool}` is needed to assemble the local base images"))
}

fn real_path(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|e| panic!("resolve {}: {e}", path.display()))
}

fn path_str(path: &Path) -> String {
    path.display().to_string()
}

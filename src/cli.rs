//! The command line: tini-compatible flags, hardinit's hardening flags and the environment
//! fallbacks tini reads (the environment is passed in; nothing here calls getenv).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{ArgAction, Parser};

use crate::policy::landlock::{Compat, LandlockRequest};
use crate::policy::Request;

const EXAMPLES: &str = "\
Examples:
  hardinit -- node server.js
      hardened defaults: no capabilities (bounding set included), no_new_privs, Docker's
      default seccomp profile; warns because the program still runs as root
  hardinit --user node --read-only --writable /tmp --seccomp node -- node server.js
      the full checklist for a Node.js service
  hardinit --user 1000 --cap-add NET_BIND_SERVICE -- node server.js
      a non-root service that may bind port 80
  hardinit --user node --print-policy -- node server.js
      show what would be applied, run nothing
  hardinit --user node -- hardinit --inspect --expect hardened
      prove it: the hardened child inspects itself (exit 1 names what does not hold)
  hardinit --export-seccomp node > node-seccomp.json
      the built-in Node.js profile as OCI JSON, to extend and pass back with --seccomp FILE

Invoked as `tini` or `docker-init`, hardinit keeps tini's defaults (nothing dropped, no
seccomp) unless a hardening flag asks for more.

Environment: TINI_SUBREAPER, TINI_KILL_PROCESS_GROUP (set = on), TINI_VERBOSITY (a number;
overrides -v). No other variable changes what hardinit enforces.

Exit status: the program's exit code, or 128+N when signal N killed it (0 for codes given
to -e); 125 when hardinit itself fails (setup, hardening, bad input); 126 when the program
cannot be executed; 127 when it is not found; 2 for usage errors; with --inspect, 1 when an
expectation fails.";

/// hardinit: a PID-1 launcher that reaps zombies, forwards signals and applies the
/// container-hardening checklist before it execs PROGRAM.
#[derive(Debug, Parser)]
#[command(
    name = "hardinit",
    disable_version_flag = true,
    after_help = EXAMPLES,
    override_usage = "hardinit [OPTIONS] [--] PROGRAM [ARGS]...\n       hardinit --inspect [--json] [--expect LIST]\n       hardinit --export-seccomp PROFILE"
)]
pub struct Args {
    /// Register as a child subreaper (automatic when hardinit is not PID 1)
    #[arg(short = 's', help_heading = "Init")]
    pub subreaper: bool,
    /// Forward signals to the program's whole process group
    #[arg(short = 'g', help_heading = "Init")]
    pub kill_group: bool,
    /// The signal hardinit gets when its parent dies (e.g. SIGKILL, TERM)
    #[arg(short = 'p', value_name = "SIGNAL", help_heading = "Init")]
    pub parent_death: Option<String>,
    /// Raise the log level (repeatable: info, debug, trace)
    #[arg(short = 'v', action = ArgAction::Count, help_heading = "Init")]
    pub verbose: u8,
    /// Warn for every zombie reaped that is not the program
    #[arg(short = 'w', help_heading = "Init")]
    pub warn_zombies: bool,
    /// Map the program's exit code CODE to 0 (repeatable)
    #[arg(short = 'e', value_name = "CODE", value_parser = clap::value_parser!(u8), help_heading = "Init")]
    pub remap_exit: Vec<u8>,
    /// Seconds the program's leftover descendants get between SIGTERM and SIGKILL (0: SIGKILL at once; at most 86400)
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 5,
        value_parser = clap::value_parser!(u64).range(0..=MAX_GRACE_SECONDS),
        help_heading = "Init"
    )]
    pub grace_period: u64,
    /// Print the license and exit
    #[arg(short = 'l')]
    pub license: bool,
    /// Print the version and exit
    #[arg(long)]
    pub version: bool,

    /// Run the program as USER[:GROUP] (names or numbers, from the image's /etc/passwd and /etc/group)
    #[arg(
        short = 'u',
        long,
        value_name = "USER[:GROUP]",
        help_heading = "Hardening"
    )]
    pub user: Option<String>,
    /// Supplementary groups, names or numbers (default: a named user's groups in /etc/group; none for a numeric uid)
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        help_heading = "Hardening"
    )]
    pub groups: Option<Vec<String>>,
    /// Capabilities the program keeps (repeatable; e.g. NET_BIND_SERVICE; ALL = every one hardinit holds)
    #[arg(long, value_name = "CAP[,CAP...]", help_heading = "Hardening")]
    pub cap_add: Vec<String>,
    /// Do not set no_new_privs (dangerous: setuid binaries and file capabilities work again)
    #[arg(long, help_heading = "Hardening")]
    pub allow_new_privileges: bool,
    /// Set no_new_privs even when invoked as tini (it is always set otherwise)
    #[arg(
        long,
        help_heading = "Hardening",
        conflicts_with = "allow_new_privileges"
    )]
    pub no_new_privileges: bool,
    /// A resource limit, applied before the uid switch (repeatable; e.g. nofile=1024:4096, core=0)
    #[arg(long, value_name = "NAME=SOFT[:HARD]", help_heading = "Hardening")]
    pub rlimit: Vec<String>,
    /// Seccomp profile: default (Docker's), node, unconfined, or a path to an OCI/Docker JSON profile (a regular file, at most 1 MiB); hardinit's floor (no TIOCSTI, no setuid/setgid modes, …) is always added
    #[arg(long, value_name = "PROFILE", help_heading = "Hardening")]
    pub seccomp: Option<String>,
    /// Make the filesystem read-only for the program (Landlock): it may read anything, execute
    /// outside the --writable paths, and write only beneath --writable/--writable-exec paths
    /// and to /dev/null, /dev/zero, /dev/full, /dev/tty, /dev/pts and /dev/shm (those missing
    /// here are skipped)
    #[arg(long, help_heading = "Hardening")]
    pub read_only: bool,
    /// With --read-only: a path the program may write, create and remove beneath, but not execute from (repeatable)
    #[arg(
        long,
        value_name = "PATH",
        requires = "read_only",
        help_heading = "Hardening"
    )]
    pub writable: Vec<PathBuf>,
    /// With --read-only: a path the program may write beneath and execute from (repeatable)
    #[arg(
        long,
        value_name = "PATH",
        requires = "read_only",
        help_heading = "Hardening"
    )]
    pub writable_exec: Vec<PathBuf>,
    /// TCP ports the program may bind, 0 meaning one the kernel picks; binding any other port is denied (comma list, repeatable; Landlock ABI 4)
    #[arg(
        long,
        value_name = "PORTS",
        value_delimiter = ',',
        value_parser = clap::value_parser!(u16),
        help_heading = "Hardening"
    )]
    pub allow_bind: Vec<u16>,
    /// TCP ports the program may connect to; connecting to any other port is denied (comma list, repeatable; Landlock ABI 4)
    #[arg(
        long,
        value_name = "PORTS",
        value_delimiter = ',',
        value_parser = clap::value_parser!(u16).range(1..),
        help_heading = "Hardening"
    )]
    pub allow_connect: Vec<u16>,
    /// When the kernel's Landlock cannot enforce a requested rule: hard (exit 125) or best-effort (warn and run)
    #[arg(
        long,
        value_name = "MODE",
        default_value = "hard",
        value_parser = str::parse::<Compat>,
        help_heading = "Hardening"
    )]
    pub landlock_compat: Compat,
    /// Testing aid: use at most Landlock ABI N, as on an older kernel (hidden; shown by
    /// --print-policy and warned about)
    #[arg(long, value_name = "N", hide = true, help_heading = "Hardening")]
    pub landlock_abi: Option<u32>,
    /// Print the resolved policy and exit without running anything
    #[arg(long, help_heading = "Hardening")]
    pub print_policy: bool,

    /// Print a seccomp profile (default, node or a file) as OCI JSON, resolved for this machine
    #[arg(long, value_name = "PROFILE", help_heading = "Reports")]
    pub export_seccomp: Option<String>,
    /// Report the hardening of the process hardinit runs in (starts nothing)
    #[arg(long, help_heading = "Reports")]
    pub inspect: bool,
    /// With --inspect: print one JSON object
    #[arg(long, requires = "inspect", help_heading = "Reports")]
    pub json: bool,
    /// With --inspect: exit 1 unless these hold (non-root, no-caps, no-new-privs, seccomp, read-only-root, no-userns, no-mount, landlock, no-runtime-socket, hardened)
    #[arg(
        long,
        value_name = "LIST",
        requires = "inspect",
        help_heading = "Reports"
    )]
    pub expect: Option<String>,

    /// The program and its arguments; options end at the first non-option
    #[arg(trailing_var_arg = true, value_name = "PROGRAM")]
    pub command: Vec<OsString>,
}

/// A parsed command line with the environment applied.
#[derive(Debug)]
pub struct Invocation {
    pub args: Args,
    /// Invoked as `tini`/`docker-init`: tini's defaults.
    pub tini_mode: bool,
    /// 0 errors, 1 warnings (default), 2 info, 3 debug, 4+ trace.
    pub verbosity: u8,
    pub subreaper: bool,
    pub kill_group: bool,
    pub env: Vec<(OsString, OsString)>,
}

/// What a command line asks hardinit to do. When several report flags are given, the first
/// of this list wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode<'a> {
    /// `-l`: print the license.
    License,
    /// `--version`.
    Version,
    /// `--inspect`: report the hardening of the process hardinit runs in.
    Inspect,
    /// `--export-seccomp PROFILE`: print the profile as OCI JSON.
    ExportSeccomp(&'a str),
    /// `--print-policy`: print what would be applied.
    PrintPolicy,
    /// Harden and start the program, then supervise it.
    Run,
}

/// The longest `--grace-period`: a day.
const MAX_GRACE_SECONDS: u64 = 86_400;

/// The names under which hardinit behaves like tini.
const TINI_NAMES: &[&str] = &["tini", "tini-static", "docker-init"];

/// Parses argv with the environment's tini fallbacks.
pub fn parse(
    argv: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
) -> Result<Invocation, clap::Error> {
    let tini_mode = argv
        .first()
        .and_then(|a0| Path::new(a0).file_name())
        .and_then(|n| n.to_str())
        .is_some_and(|n| TINI_NAMES.contains(&n));
    let args = Args::try_parse_from(argv)?;
    let lookup = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let verbosity = lookup("TINI_VERBOSITY")
        .and_then(|v| v.to_str().and_then(|s| s.trim().parse::<u8>().ok()))
        .unwrap_or(args.verbose.saturating_add(1));
    Ok(Invocation {
        tini_mode,
        verbosity,
        subreaper: args.subreaper || lookup("TINI_SUBREAPER").is_some(),
        kill_group: args.kill_group || lookup("TINI_KILL_PROCESS_GROUP").is_some(),
        env,
        args,
    })
}

impl Invocation {
    /// The mode the flags select.
    pub fn mode(&self) -> Mode<'_> {
        let a = &self.args;
        if a.license {
            Mode::License
        } else if a.version {
            Mode::Version
        } else if a.inspect {
            Mode::Inspect
        } else if let Some(spec) = &a.export_seccomp {
            Mode::ExportSeccomp(spec)
        } else if a.print_policy {
            Mode::PrintPolicy
        } else {
            Mode::Run
        }
    }

    /// The policy request the flags make.
    pub fn request(&self) -> Request {
        let a = &self.args;
        Request {
            tini_mode: self.tini_mode,
            user: a.user.clone(),
            groups: a.groups.clone(),
            cap_add: a.cap_add.clone(),
            allow_new_privileges: a.allow_new_privileges,
            no_new_privileges: a.no_new_privileges,
            rlimits: a.rlimit.clone(),
            seccomp: a.seccomp.clone(),
            landlock: self.landlock_request(),
        }
    }

    /// The Landlock part of the request, with the `--landlock-abi` testing aid.
    pub fn landlock_request(&self) -> LandlockRequest {
        let a = &self.args;
        LandlockRequest {
            read_only: a.read_only,
            writable: a.writable.clone(),
            writable_exec: a.writable_exec.clone(),
            allow_bind: a.allow_bind.clone(),
            allow_connect: a.allow_connect.clone(),
            compat: a.landlock_compat,
            proc_files: false,
            abi_cap: a.landlock_abi,
            scope_signals: false,
        }
    }

    /// The `--version` line; tini-style when invoked as tini, so `docker info` accepts it.
    pub fn version_line(&self) -> String {
        let v = env!("CARGO_PKG_VERSION");
        if self.tini_mode {
            format!("tini version {v} - hardinit")
        } else {
            format!("hardinit {v}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_strs(argv: &[&str], env: &[(&str, &str)]) -> Result<Invocation, clap::Error> {
        parse(
            argv.iter().map(OsString::from).collect(),
            env.iter().map(|(k, v)| (k.into(), v.into())).collect(),
        )
    }

    #[test]
    fn options_stop_at_the_first_non_option() {
        let inv = parse_strs(&["hardinit", "-v", "echo", "-l", "-v"], &[]).unwrap();
        assert_eq!(inv.args.command, ["echo", "-l", "-v"]);
        assert!(!inv.args.license);
        assert_eq!(inv.verbosity, 2);
        let inv = parse_strs(&["hardinit", "sh", "-c", "exit 3"], &[]).unwrap();
        assert_eq!(inv.args.command, ["sh", "-c", "exit 3"]);
    }

    #[test]
    fn double_dash_is_consumed_once() {
        let inv = parse_strs(&["hardinit", "--", "--", "x"], &[]).unwrap();
        assert_eq!(inv.args.command, ["--", "x"]);
        let inv = parse_strs(&["hardinit", "-g", "--", "ls", "-l"], &[]).unwrap();
        assert_eq!(inv.args.command, ["ls", "-l"]);
        assert!(inv.kill_group);
    }

    #[test]
    fn unknown_options_are_usage_errors() {
        let e = parse_strs(&["hardinit", "--bogus", "true"], &[]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let e = parse_strs(&["hardinit", "-e", "256", "true"], &[]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn tini_environment_fallbacks() {
        let env = [
            ("TINI_SUBREAPER", ""),
            ("TINI_KILL_PROCESS_GROUP", "1"),
            ("TINI_VERBOSITY", "3"),
        ];
        let inv = parse_strs(&["hardinit", "-v", "true"], &env).unwrap();
        assert_eq!(
            (inv.subreaper, inv.kill_group, inv.verbosity),
            (true, true, 3)
        );
    }

    #[test]
    fn tini_names_select_tini_defaults_and_version() {
        let inv = parse_strs(&["/usr/bin/docker-init", "--version"], &[]).unwrap();
        assert!(inv.tini_mode);
        assert_eq!(
            inv.version_line(),
            format!("tini version {} - hardinit", env!("CARGO_PKG_VERSION"))
        );
        let inv = parse_strs(&["./hardinit", "--version"], &[]).unwrap();
        assert_eq!(
            inv.version_line(),
            format!("hardinit {}", env!("CARGO_PKG_VERSION"))
        );
    }

    #[test]
    fn landlock_flags_make_the_landlock_request() {
        let inv = parse_strs(
            &[
                "hardinit",
                "--read-only",
                "--writable",
                "/tmp",
                "--writable-exec",
                "/opt",
                "--allow-bind",
                "80,443",
                "--allow-bind",
                "0",
                "--allow-connect",
                "5432",
                "--landlock-compat",
                "best-effort",
                "--landlock-abi",
                "3",
                "true",
            ],
            &[("HARDINIT_LANDLOCK_ABI", "1")],
        )
        .unwrap();
        let req = inv.landlock_request();
        assert!(req.read_only);
        assert_eq!(req.writable, [PathBuf::from("/tmp")]);
        assert_eq!(req.writable_exec, [PathBuf::from("/opt")]);
        assert_eq!(req.allow_bind, [80, 443, 0]);
        assert_eq!(req.allow_connect, [5432]);
        assert_eq!(req.compat, Compat::BestEffort);
        // The flag, never the environment (whoever starts a container sets that).
        assert_eq!(req.abi_cap, Some(3));
        let req = parse_strs(&["hardinit", "true"], &[("HARDINIT_LANDLOCK_ABI", "0")])
            .unwrap()
            .landlock_request();
        assert_eq!((req.compat, req.abi_cap), (Compat::Hard, None));
    }

    #[test]
    fn bad_landlock_values_are_usage_errors() {
        for argv in [
            &["hardinit", "--allow-bind", "65536", "true"][..],
            &["hardinit", "--allow-bind", "80,", "true"],
            &["hardinit", "--allow-connect", "0", "true"],
            &["hardinit", "--landlock-compat", "soft", "true"],
            &["hardinit", "--writable", "/tmp", "true"],
        ] {
            let e = parse_strs(argv, &[]).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{argv:?}");
        }
        let e = parse_strs(&["hardinit", "--allow-connect", "0", "true"], &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "error: invalid value '0' for '--allow-connect <PORTS>': 0 is not in 1..=65535\n\nFor more information, try '--help'.\n"
        );
    }

    #[test]
    fn the_first_report_flag_picks_the_mode() {
        let mode = |argv: &[&str]| format!("{:?}", parse_strs(argv, &[]).unwrap().mode());
        assert_eq!(mode(&["hardinit", "-l", "--version", "true"]), "License");
        assert_eq!(mode(&["hardinit", "--version", "--inspect"]), "Version");
        assert_eq!(
            mode(&["hardinit", "--inspect", "--export-seccomp", "node"]),
            "Inspect"
        );
        assert_eq!(
            mode(&["hardinit", "--print-policy", "--export-seccomp", "node"]),
            "ExportSeccomp(\"node\")"
        );
        assert_eq!(mode(&["hardinit", "--print-policy", "true"]), "PrintPolicy");
        assert_eq!(mode(&["hardinit", "true"]), "Run");
        assert_eq!(mode(&["hardinit"]), "Run");
    }

    #[test]
    fn lists_and_repeats_collect() {
        let inv = parse_strs(
            &[
                "hardinit",
                "--groups",
                "10,20",
                "--cap-add",
                "KILL",
                "--cap-add",
                "CHOWN,FOWNER",
                "-e",
                "3",
                "-e",
                "4",
                "true",
            ],
            &[],
        )
        .unwrap();
        assert_eq!(
            inv.args.groups,
            Some(vec!["10".to_string(), "20".to_string()])
        );
        assert_eq!(inv.args.cap_add, ["KILL", "CHOWN,FOWNER"]);
        assert_eq!(inv.args.remap_exit, [3, 4]);
    }
}

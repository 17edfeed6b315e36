//! The command line: tini-compatible flags, hardinit's hardening flags and the environment
//! fallbacks tini reads (the environment is passed in; nothing here calls getenv).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{ArgAction, Parser};

use crate::policy::landlock::{Compat, LandlockRequest};
use crate::policy::Request;
use crate::probe::Target;
use crate::signal::Rewrite;

pub mod env;

pub use env::{Origin, ParseError};

/// The longest `--stop-delay`, in seconds: an hour.
const MAX_STOP_DELAY: u64 = 3600;

const EXAMPLES: &str = "\
Examples:
  hardinit -- node server.js
      hardened defaults: no capabilities (bounding set included), no_new_privs, Docker's
      default seccomp profile; warns because the program still runs as root
  hardinit --user node --read-only --writable /tmp --seccomp node -- node server.js
      the full checklist for a Node.js service
  hardinit --user 1000 --cap-add NET_BIND_SERVICE -- node server.js
      a non-root service that may bind port 80
  HARDINIT_USER=node HARDINIT_READ_ONLY=1 HARDINIT_WRITABLE=/tmp:/app/data hardinit -- node server.js
      the same options from the environment (docker run -e, a pod's env:)
  hardinit --user node --print-policy -- node server.js
      show what would be applied, and where each value came from; run nothing
  hardinit --user node -- hardinit --inspect --expect hardened
      prove it: the hardened child inspects itself (exit 1 names what does not hold)
  hardinit --user node --learn app-seccomp.json -- node server.js
      record the run and write the tightest seccomp profile that runs it (merged if it exists)
  hardinit --user node --seccomp app-seccomp.json --seccomp-mode complain -- node server.js
      staging: run what the profile would refuse, log each kind once as a JSON line on stderr
  hardinit --rewrite TERM:QUIT --stop-delay 10 -- nginx -g 'daemon off;'
      on SIGTERM wait 10 s (a second SIGTERM: at once), then send SIGQUIT
  hardinit --probe http://127.0.0.1:3000/healthz
      a health check without curl: exit 0 on 2xx/3xx within 3 s, else 1
  hardinit --export-seccomp node > node-seccomp.json
      the built-in Node.js profile as OCI JSON, to extend and pass back with --seccomp FILE
  hardinit --export-seccomp node --format spo > seccompprofile.json
      the same as a Security Profiles Operator SeccompProfile (kubectl apply -f)

Invoked as `tini` or `docker-init`, hardinit keeps tini's defaults (nothing dropped, no
seccomp) unless a hardening flag, or a hardening or learning option's HARDINIT_* variable, asks
for more.

Environment: every option that configures a run reads HARDINIT_<OPTION> when the flag is
not given (HARDINIT_USER=node, HARDINIT_READ_ONLY=1, HARDINIT_WRITABLE=/tmp:/app/data,
HARDINIT_CAP_ADD=NET_BIND_SERVICE,KILL, HARDINIT_LEARN=/out/app.json, HARDINIT_LEARN_ALL=1,
HARDINIT_SECCOMP_MODE=complain, HARDINIT_WARN_ZOMBIES=1 for -w); an unknown HARDINIT_*
variable or a bad value exits 125 naming it; the program does not get them. Also
TINI_SUBREAPER, TINI_KILL_PROCESS_GROUP (set = on), TINI_VERBOSITY (a number; overrides -v).

Exit status: the program's exit code, or 128+N when signal N killed it (0 for codes given
to -e); 125 when hardinit itself fails (setup, hardening, bad input); 126 when the program
cannot be executed; 127 when it is not found; 2 for usage errors; with --inspect, 1 when an
expectation fails; with --probe, 1 when unhealthy.";

/// hardinit: a PID-1 launcher that reaps zombies, forwards signals and applies the
/// container-hardening checklist before it execs PROGRAM.
#[derive(Debug, Parser)]
#[command(
    name = "hardinit",
    disable_version_flag = true,
    after_help = EXAMPLES,
    override_usage = "hardinit [OPTIONS] [--] PROGRAM [ARGS]...\n       hardinit --inspect [--json] [--expect LIST]\n       hardinit --export-seccomp PROFILE [--format oci|spo]\n       hardinit --probe URL [--probe-timeout SECONDS]"
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
    /// Forward signal FROM to the program as TO (repeatable; e.g. TERM:QUIT for nginx-style programs)
    #[arg(
        long,
        value_name = "FROM:TO",
        value_parser = crate::signal::parse_rewrite,
        help_heading = "Init"
    )]
    pub rewrite: Vec<Rewrite>,
    /// On SIGTERM, wait SECONDS before forwarding it (so a load balancer stops sending traffic first; at most 3600); a second SIGTERM forwards it at once
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 0,
        value_parser = clap::value_parser!(u64).range(0..=MAX_STOP_DELAY),
        help_heading = "Init"
    )]
    pub stop_delay: u64,
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
    /// enforce (the default), or complain (staging): what --seccomp PROFILE would refuse runs
    /// anyway, and the first call of each kind (call and decisive arguments) is logged on
    /// stderr as one JSON line, with a count at the end; add --learn FILE to merge those calls
    /// into FILE
    #[arg(
        long,
        value_name = "MODE",
        default_value = "enforce",
        value_parser = ["enforce", "complain"],
        help_heading = "Hardening"
    )]
    pub seccomp_mode: String,

    /// Learn a seccomp profile: run with every other hardening asked for, but record each
    /// system call (every thread and descendant, the shutdown on SIGTERM too) instead of
    /// enforcing a profile, and write FILE, the tightest OCI profile that runs this workload
    /// (EPERM by default, argument rules for socket, clone, ioctl, ...). An existing FILE is
    /// merged into, and its calls run unrecorded; FILE is rewritten as calls appear. Enforce
    /// it with --seccomp FILE
    #[arg(long, value_name = "FILE", help_heading = "Learning")]
    pub learn: Option<PathBuf>,
    /// With --learn: where the human report goes (default: FILE.report): per call observed,
    /// assumed (hot base) or from FILE, how often, the first executable, the argument values
    #[arg(
        long,
        value_name = "PATH",
        requires = "learn",
        help_heading = "Learning"
    )]
    pub learn_report: Option<PathBuf>,
    /// With --learn: record every call, the hot base too (read, write, futex, epoll, mmap
    /// without PROT_EXEC, ...), which a first run otherwise allows outright and marks assumed;
    /// slower: each call then waits ~10 µs for hardinit
    #[arg(long, requires = "learn", help_heading = "Learning")]
    pub learn_all: bool,

    /// Print a seccomp profile (default, node or a file), resolved for this machine
    #[arg(long, value_name = "PROFILE", help_heading = "Reports")]
    pub export_seccomp: Option<String>,
    /// With --export-seccomp: oci (OCI/Docker JSON, the default) or spo (a Security Profiles Operator SeccompProfile)
    #[arg(
        long,
        value_name = "FORMAT",
        value_parser = ["oci", "spo"],
        requires = "export_seccomp",
        help_heading = "Reports"
    )]
    pub format: Option<String>,
    /// Health check: exit 0 if URL answers (http://HOST:PORT/PATH with a 2xx/3xx status, tcp://HOST:PORT accepting), else 1; HOST an address or a name in /etc/hosts; starts nothing
    #[arg(
        long,
        value_name = "URL",
        value_parser = str::parse::<Target>,
        conflicts_with_all = ["inspect", "export_seccomp", "print_policy", "command"],
        help_heading = "Reports"
    )]
    pub probe: Option<Target>,
    /// With --probe: the whole probe's time limit, connect and answer included (seconds, up to 3 decimals; default 3)
    #[arg(
        long,
        value_name = "SECONDS",
        value_parser = crate::probe::parse_timeout,
        requires = "probe",
        help_heading = "Reports"
    )]
    pub probe_timeout: Option<Duration>,
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
    /// Invoked as `tini`/`docker-init` and no hardening option's variable set: tini's
    /// defaults. A variable such as HARDINIT_USER asks for hardinit, defaults included.
    pub tini_mode: bool,
    /// 0 errors, 1 warnings (default), 2 info, 3 debug, 4+ trace.
    pub verbosity: u8,
    pub subreaper: bool,
    pub kill_group: bool,
    /// The environment the program gets: hardinit's own configuration variables removed.
    pub env: Vec<(OsString, OsString)>,
    /// Every option that has a value, and where it came from (`--print-policy`).
    pub settings: Vec<env::Setting>,
    /// Variables not used because the command line gives their option.
    pub overridden: Vec<env::Overridden>,
}

/// What a command line asks hardinit to do. When several report flags are given, the first
/// of this list wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode<'a> {
    /// `-l`: print the license.
    License,
    /// `--version`.
    Version,
    /// `--probe URL`: a health check; starts nothing, applies nothing.
    Probe(&'a Target),
    /// `--inspect`: report the hardening of the process hardinit runs in.
    Inspect,
    /// `--export-seccomp PROFILE`: print the profile as OCI JSON (or `--format spo`).
    ExportSeccomp(&'a str),
    /// `--print-policy`: print what would be applied.
    PrintPolicy,
    /// Harden and start the program, then supervise it.
    Run,
}

/// --learn records instead of enforcing: with a profile it only makes sense in complain
/// mode, where it adds what was complained about to FILE. A conflict the environment had a
/// part in is the environment's error (125), as `blame` decides for clap's own.
fn check_learning(args: &Args, from_env: &env::FromEnv) -> Result<(), ParseError> {
    if args.learn.is_none() || args.seccomp.is_none() || args.seccomp_mode == "complain" {
        return Ok(());
    }
    let why = "--learn records instead of enforcing --seccomp; add --seccomp-mode complain to learn what that profile refuses";
    let variables: Vec<&str> = from_env
        .variables
        .iter()
        .filter(|(id, _)| ["learn", "seccomp", "seccomp_mode"].contains(&id.as_str()))
        .map(|(_, v)| v.as_str())
        .collect();
    if !variables.is_empty() {
        return Err(ParseError::Env(env::EnvError::Combination {
            variables: variables.join(", "),
            why: why.to_string(),
        }));
    }
    let mut cmd = <Args as clap::CommandFactory>::command();
    Err(ParseError::Usage(
        cmd.error(clap::error::ErrorKind::ArgumentConflict, why),
    ))
}

/// The longest `--grace-period`: a day.
const MAX_GRACE_SECONDS: u64 = 86_400;

/// The names under which hardinit behaves like tini.
const TINI_NAMES: &[&str] = &["tini", "tini-static", "docker-init"];

/// Parses argv with the environment: `HARDINIT_*` options where the command line gives none,
/// then tini's fallbacks.
pub fn parse(
    argv: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
) -> Result<Invocation, ParseError> {
    let named_as_tini = argv
        .first()
        .and_then(|a0| Path::new(a0).file_name())
        .and_then(|n| n.to_str())
        .is_some_and(|n| TINI_NAMES.contains(&n));
    let mut cmd = <Args as clap::CommandFactory>::command();
    let from_env = if env::names_options(&env) {
        // Only to learn which options the command line sets; its errors are reported below.
        // The same command parses twice, errors ignored the first time: building it costs
        // as much as a parse (~0.3 M instructions), so it is built once. The first parse is
        // done only when a variable may fill options in.
        cmd = cmd.ignore_errors(true);
        let given = cmd.try_get_matches_from_mut(argv.clone());
        cmd = cmd.ignore_errors(false);
        env::words_from(&cmd, &given?, &env).map_err(ParseError::Env)?
    } else {
        env::FromEnv::default()
    };
    let mut all = argv.clone();
    all.splice(
        1.min(all.len())..1.min(all.len()),
        from_env.words.iter().cloned(),
    );
    let matches = match cmd.try_get_matches_from_mut(all) {
        Ok(m) => m,
        Err(e) => return Err(blame(&mut cmd, argv, &from_env, e)),
    };
    let args = <Args as clap::FromArgMatches>::from_arg_matches(&matches)?;
    check_rewrites(&args.rewrite)?;
    // clap lets `requires = "probe"` pass when a PROGRAM is given (which --probe conflicts with).
    if args.probe_timeout.is_some() && args.probe.is_none() {
        return Err(ParseError::Usage(clap::Error::raw(
            clap::error::ErrorKind::MissingRequiredArgument,
            "--probe-timeout needs --probe URL\n",
        )));
    }
    let settings = settings_of(&cmd, &matches, &from_env);
    check_learning(&args, &from_env)?;
    let lookup = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let verbosity = lookup("TINI_VERBOSITY")
        .and_then(|v| v.to_str().and_then(|s| s.trim().parse::<u8>().ok()))
        .unwrap_or(args.verbose.saturating_add(1));
    Ok(Invocation {
        tini_mode: named_as_tini && !from_env.hardening,
        verbosity,
        subreaper: args.subreaper || lookup("TINI_SUBREAPER").is_some(),
        kill_group: args.kill_group || lookup("TINI_KILL_PROCESS_GROUP").is_some(),
        env: env
            .into_iter()
            .filter(|(k, _)| !env::is_configuration(k))
            .collect(),
        settings,
        overridden: from_env.overridden,
        args,
    })
}

/// A parse that fails only with the environment's words is the environment's error (125);
/// one that fails without them too is the command line's (2).
fn blame(
    cmd: &mut clap::Command,
    argv: Vec<OsString>,
    from_env: &env::FromEnv,
    error: clap::Error,
) -> ParseError {
    if from_env.words.is_empty() {
        return ParseError::Usage(error);
    }
    match cmd.try_get_matches_from_mut(argv) {
        Err(own) => ParseError::Usage(own),
        Ok(_) => ParseError::Env(env::EnvError::Combination {
            variables: from_env
                .variables
                .iter()
                .map(|(_, v)| v.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            why: env::first_line(&error),
        }),
    }
}

/// A signal rewritten twice is ambiguous: refused.
fn check_rewrites(rewrites: &[Rewrite]) -> Result<(), clap::Error> {
    for (i, r) in rewrites.iter().enumerate() {
        if rewrites[..i].iter().any(|earlier| earlier.from == r.from) {
            return Err(clap::Error::raw(
                clap::error::ErrorKind::ArgumentConflict,
                format!("--rewrite: signal {} is rewritten twice\n", r.from),
            ));
        }
    }
    Ok(())
}

/// Each option with a value, as `--flag value` with where it came from, in --help's order.
fn settings_of(
    cmd: &clap::Command,
    matches: &clap::ArgMatches,
    from_env: &env::FromEnv,
) -> Vec<env::Setting> {
    use clap::parser::ValueSource;
    cmd.get_arguments()
        .filter(|a| !env::FLAG_ONLY.contains(&a.get_id().as_str()))
        .filter_map(|arg| {
            let id = arg.get_id().as_str();
            let origin = match matches.value_source(id)? {
                ValueSource::DefaultValue => env::Origin::Default,
                _ if from_env.ids.contains(id) => env::Origin::Environment(
                    from_env
                        .variables
                        .iter()
                        .find(|(i, _)| i == id)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default(),
                ),
                _ => env::Origin::CommandLine,
            };
            let unset = match arg.get_action() {
                clap::ArgAction::SetTrue => !matches.get_flag(id),
                clap::ArgAction::Count => matches.get_count(id) == 0,
                _ => false,
            };
            if unset {
                return None;
            }
            Some(env::Setting {
                option: describe_option(arg, matches),
                origin,
            })
        })
        .collect()
}

fn describe_option(arg: &clap::Arg, matches: &clap::ArgMatches) -> String {
    let flag = env::flag_of(arg);
    let id = arg.get_id().as_str();
    match arg.get_action() {
        clap::ArgAction::SetTrue => flag,
        clap::ArgAction::Count => format!("{flag} x{}", matches.get_count(id)),
        _ => {
            let values: Vec<String> = matches
                .get_raw(id)
                .into_iter()
                .flatten()
                .map(|v| v.to_string_lossy().into_owned())
                .collect();
            format!("{flag} {}", values.join(" "))
        }
    }
}

impl Invocation {
    /// The mode the flags select.
    pub fn mode(&self) -> Mode<'_> {
        let a = &self.args;
        if a.license {
            Mode::License
        } else if a.version {
            Mode::Version
        } else if let Some(target) = &a.probe {
            Mode::Probe(target)
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
            guard_mounts: false,
        }
    }

    /// For `--print-policy`: each option with a value and where it came from, and the
    /// variables the command line overrode.
    pub fn describe_settings(&self) -> String {
        let mut lines: Vec<String> = self
            .settings
            .iter()
            .map(|s| {
                let from = match &s.origin {
                    env::Origin::CommandLine => "command line".to_string(),
                    env::Origin::Environment(var) => var.clone(),
                    env::Origin::Default => "default".to_string(),
                };
                format!("{} ({from})", s.option)
            })
            .collect();
        lines.extend(self.overridden.iter().map(|o| {
            format!(
                "{} ignored: {} is on the command line",
                o.variable, o.option
            )
        }));
        if self.tini_mode {
            lines.push("invoked as tini: tini's defaults unless asked".to_string());
        }
        let mut out = String::new();
        for (i, line) in lines.iter().enumerate() {
            let label = if i == 0 { "configuration" } else { "" };
            out.push_str(&format!("{label:<16}{line}\n"));
        }
        out
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

    fn parse_strs(argv: &[&str], env: &[(&str, &str)]) -> Result<Invocation, ParseError> {
        parse(
            argv.iter().map(OsString::from).collect(),
            env.iter().map(|(k, v)| (k.into(), v.into())).collect(),
        )
    }

    #[test]
    fn only_a_variable_named_like_an_option_makes_the_command_line_parse_twice() {
        use std::os::unix::ffi::OsStringExt;
        let env = |pairs: &[(&str, &str)]| -> Vec<(OsString, OsString)> {
            pairs.iter().map(|(k, v)| (k.into(), v.into())).collect()
        };
        assert!(!env::names_options(&[]));
        assert!(!env::names_options(&env(&[
            ("PATH", "/bin"),
            ("TINI_SUBREAPER", "1")
        ])));
        // The test suite's own switch is no option.
        assert!(!env::names_options(&env(&[(
            "HARDINIT_TEST_PRIVILEGED",
            "1"
        )])));
        assert!(env::names_options(&env(&[
            ("PATH", "/bin"),
            ("HARDINIT_USER", "1")
        ])));
        // An unknown name still goes to words_from, which refuses it.
        assert!(env::names_options(&env(&[("HARDINIT_NOPE", "1")])));
        let not_utf8 = OsString::from_vec(b"HARDINIT_\xff".to_vec());
        assert!(env::names_options(&[(not_utf8, "1".into())]));
        // Without one, the single parse gives what the double one gave.
        let inv = parse_strs(
            &["hardinit", "--user", "1000", "--", "node"],
            &[("PATH", "/bin")],
        )
        .unwrap();
        assert_eq!(
            (inv.args.user.as_deref(), inv.overridden.len()),
            (Some("1000"), 0)
        );
        let inv = parse_strs(&["hardinit", "--", "node"], &[("HARDINIT_USER", "1000")]).unwrap();
        assert_eq!(inv.args.user.as_deref(), Some("1000"));
    }

    #[test]
    fn learning_flags_combine_only_where_they_mean_something() {
        let inv = parse_strs(&["hardinit", "--learn", "p.json", "--", "node"], &[]).unwrap();
        let a = &inv.args;
        assert_eq!(a.learn.as_deref(), Some(Path::new("p.json")));
        assert!(a.seccomp_mode == "enforce" && !a.learn_all && a.learn_report.is_none());
        let inv = parse_strs(
            &[
                "hardinit",
                "--seccomp",
                "node",
                "--seccomp-mode",
                "complain",
                "--learn",
                "p.json",
                "node",
            ],
            &[],
        )
        .unwrap();
        assert_eq!(inv.args.seccomp_mode, "complain");
        let err = parse_strs(
            &["hardinit", "--seccomp", "node", "--learn", "p.json", "x"],
            &[],
        );
        assert_eq!(err.unwrap_err().exit_code(), 2);
        for argv in [
            &["hardinit", "--learn-all", "x"][..],
            &["hardinit", "--learn-report", "r", "x"],
            &["hardinit", "--seccomp-mode", "lenient", "x"],
        ] {
            assert_eq!(
                parse_strs(argv, &[]).unwrap_err().exit_code(),
                2,
                "{argv:?}"
            );
        }
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
            &[],
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
        let req = parse_strs(&["hardinit", "true"], &[])
            .unwrap()
            .landlock_request();
        assert_eq!((req.compat, req.abi_cap), (Compat::Hard, None));
        // The environment cannot lower it: the variable is refused, not read.
        let e = parse_strs(&["hardinit", "true"], &[("HARDINIT_LANDLOCK_ABI", "0")]);
        assert_eq!(e.unwrap_err().exit_code(), 125);
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

    fn env_error(argv: &[&str], env: &[(&str, &str)]) -> String {
        match parse_strs(argv, env).unwrap_err() {
            ParseError::Env(e) => e.to_string(),
            ParseError::Usage(e) => panic!("a usage error, not the environment's: {e}"),
        }
    }

    #[test]
    fn every_run_option_reads_its_variable() {
        let env = [
            ("HARDINIT_USER", "node"),
            ("HARDINIT_GROUPS", "10,20"),
            ("HARDINIT_CAP_ADD", "NET_BIND_SERVICE,KILL"),
            ("HARDINIT_ALLOW_NEW_PRIVILEGES", "0"),
            ("HARDINIT_RLIMIT", "nofile=1024:4096,core=0"),
            ("HARDINIT_SECCOMP", "node"),
            ("HARDINIT_READ_ONLY", "1"),
            ("HARDINIT_WRITABLE", "/tmp:/app/data"),
            ("HARDINIT_WRITABLE_EXEC", "/opt"),
            ("HARDINIT_ALLOW_BIND", "80,0"),
            ("HARDINIT_ALLOW_CONNECT", "5432"),
            ("HARDINIT_LANDLOCK_COMPAT", "best-effort"),
            ("HARDINIT_GRACE_PERIOD", "7"),
            ("HARDINIT_STOP_DELAY", "5"),
            ("HARDINIT_REWRITE", "TERM:QUIT,USR1:HUP"),
            ("HARDINIT_SUBREAPER", "1"),
            ("HARDINIT_KILL_GROUP", "1"),
            ("HARDINIT_PARENT_DEATH", "SIGKILL"),
            ("HARDINIT_VERBOSE", "2"),
            ("HARDINIT_WARN_ZOMBIES", "1"),
            ("HARDINIT_REMAP_EXIT", "3,4"),
            ("HARDINIT_TEST_PRIVILEGED", "1"),
            ("PATH", "/bin"),
        ];
        let inv = parse_strs(&["hardinit", "node", "server.js"], &env).unwrap();
        let a = &inv.args;
        assert_eq!(a.user.as_deref(), Some("node"));
        assert_eq!(a.groups, Some(vec!["10".to_string(), "20".to_string()]));
        assert_eq!(a.cap_add, ["NET_BIND_SERVICE", "KILL"]);
        assert!(!a.allow_new_privileges);
        assert_eq!(a.rlimit, ["nofile=1024:4096", "core=0"]);
        assert_eq!(a.seccomp.as_deref(), Some("node"));
        assert!(a.read_only);
        assert_eq!(
            a.writable,
            [PathBuf::from("/tmp"), PathBuf::from("/app/data")]
        );
        assert_eq!(a.writable_exec, [PathBuf::from("/opt")]);
        assert_eq!(a.allow_bind, [80, 0]);
        assert_eq!(a.allow_connect, [5432]);
        assert_eq!(a.landlock_compat, Compat::BestEffort);
        assert_eq!((a.grace_period, a.stop_delay), (7, 5));
        assert_eq!(
            a.rewrite,
            [
                Rewrite {
                    from: libc::SIGTERM,
                    to: libc::SIGQUIT
                },
                Rewrite {
                    from: libc::SIGUSR1,
                    to: libc::SIGHUP
                },
            ]
        );
        assert!(inv.subreaper && inv.kill_group && a.warn_zombies);
        assert_eq!(a.parent_death.as_deref(), Some("SIGKILL"));
        assert_eq!(inv.verbosity, 3);
        assert_eq!(a.remap_exit, [3, 4]);
        assert_eq!(a.command, ["node", "server.js"]);
        // The program gets none of hardinit's configuration; the test suite's variable and
        // everything else stay.
        let names: Vec<&OsString> = inv.env.iter().map(|(k, _)| k).collect();
        assert_eq!(names, ["HARDINIT_TEST_PRIVILEGED", "PATH"]);
    }

    #[test]
    fn the_command_line_wins_and_print_policy_says_where_each_value_came_from() {
        let inv = parse_strs(
            &["hardinit", "--user", "1000", "--read-only", "true"],
            &[
                ("HARDINIT_USER", "node"),
                ("HARDINIT_SECCOMP", "node"),
                ("HARDINIT_WRITABLE", "/tmp"),
            ],
        )
        .unwrap();
        assert_eq!(inv.args.user.as_deref(), Some("1000"));
        assert_eq!(
            inv.describe_settings(),
            "configuration   --grace-period 5 (default)\n\
             \x20               --stop-delay 0 (default)\n\
             \x20               --user 1000 (command line)\n\
             \x20               --seccomp node (HARDINIT_SECCOMP)\n\
             \x20               --read-only (command line)\n\
             \x20               --writable /tmp (HARDINIT_WRITABLE)\n\
             \x20               --landlock-compat hard (default)\n\
             \x20               --seccomp-mode enforce (default)\n\
             \x20               HARDINIT_USER ignored: --user is on the command line\n"
        );
    }

    #[test]
    fn bad_or_unknown_variables_are_errors_naming_them() {
        let run = ["hardinit", "true"];
        let cases: [(&[(&str, &str)], &str); 11] = [
            (&[("HARDINIT_USR", "1000")], "HARDINIT_USR: no such hardinit variable (the options' variables are HARDINIT_ and the option's long name in capitals, e.g. HARDINIT_READ_ONLY=1; see hardinit --help)"),
            (&[("HARDINIT_PRINT_POLICY", "1")], "HARDINIT_PRINT_POLICY: --print-policy chooses what hardinit does and is a flag only, not read from the environment"),
            (&[("HARDINIT_PROBE", "tcp://x:1")], "HARDINIT_PROBE: --probe chooses what hardinit does and is a flag only, not read from the environment"),
            (&[("HARDINIT_COMMAND", "sh")], "HARDINIT_COMMAND: PROGRAM chooses what hardinit does and is a flag only, not read from the environment"),
            (&[("HARDINIT_READ_ONLY", "yes")], "HARDINIT_READ_ONLY=yes: expected 1 (on) or 0 (off)"),
            (&[("HARDINIT_USER", "")], "HARDINIT_USER=: an empty value"),
            (&[("HARDINIT_ALLOW_BIND", "80,x")], "HARDINIT_ALLOW_BIND=80,x: \"x\": invalid digit found in string"),
            (&[("HARDINIT_STOP_DELAY", "99999")], "HARDINIT_STOP_DELAY=99999: 99999 is not in 0..=3600"),
            (&[("HARDINIT_REWRITE", "KILL:TERM")], "HARDINIT_REWRITE=KILL:TERM: KILL:TERM: SIGKILL and SIGSTOP never reach hardinit, so they cannot be rewritten"),
            (&[("HARDINIT_VERBOSE", "9")], "HARDINIT_VERBOSE=9: expected a count from 0 to 3"),
            (&[("HARDINIT_WRITABLE", "/tmp")], "HARDINIT_WRITABLE: with the command line: the following required arguments were not provided: --read-only"),
        ];
        for (env, want) in cases {
            assert_eq!(env_error(&run, env), want, "{env:?}");
            assert_eq!(parse_strs(&run, env).unwrap_err().exit_code(), 125);
        }
        // A bad command line stays a usage error even with variables set.
        let e = parse_strs(&["hardinit", "--bogus", "true"], &[("HARDINIT_USER", "1")]);
        assert_eq!(e.unwrap_err().exit_code(), 2);
    }

    #[test]
    fn learning_options_read_their_variables_like_every_other_option() {
        let env = [
            ("HARDINIT_SECCOMP", "node"),
            ("HARDINIT_SECCOMP_MODE", "complain"),
            ("HARDINIT_LEARN", "/out/app.json"),
            ("HARDINIT_LEARN_REPORT", "/out/app.report"),
            ("HARDINIT_LEARN_ALL", "1"),
            ("PATH", "/bin"),
        ];
        let inv = parse_strs(&["hardinit", "node"], &env).unwrap();
        let a = &inv.args;
        assert_eq!(a.seccomp_mode, "complain");
        assert_eq!(a.learn.as_deref(), Some(Path::new("/out/app.json")));
        assert_eq!(
            a.learn_report.as_deref(),
            Some(Path::new("/out/app.report"))
        );
        assert!(a.learn_all);
        let names: Vec<&OsString> = inv.env.iter().map(|(k, _)| k).collect();
        assert_eq!(names, ["PATH"]);
        assert_eq!(
            inv.describe_settings(),
            "configuration   --grace-period 5 (default)\n\
             \x20               --stop-delay 0 (default)\n\
             \x20               --seccomp node (HARDINIT_SECCOMP)\n\
             \x20               --landlock-compat hard (default)\n\
             \x20               --seccomp-mode complain (HARDINIT_SECCOMP_MODE)\n\
             \x20               --learn /out/app.json (HARDINIT_LEARN)\n\
             \x20               --learn-report /out/app.report (HARDINIT_LEARN_REPORT)\n\
             \x20               --learn-all (HARDINIT_LEARN_ALL)\n"
        );
        // HARDINIT_LEARN_ALL=0 is off; the command line wins over each variable.
        let inv = parse_strs(
            &["hardinit", "--learn", "p.json", "true"],
            &[("HARDINIT_LEARN", "q.json"), ("HARDINIT_LEARN_ALL", "0")],
        )
        .unwrap();
        assert_eq!(inv.args.learn.as_deref(), Some(Path::new("p.json")));
        assert!(!inv.args.learn_all);
        assert_eq!(
            inv.overridden,
            [env::Overridden {
                variable: "HARDINIT_LEARN".into(),
                option: "--learn".into()
            }]
        );
        // Bad values and combinations the environment had a part in: 125, naming it.
        let run = ["hardinit", "true"];
        type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
        let cases: [Case; 6] = [
            (&run, &[("HARDINIT_LEARN_ALL", "yes")], "HARDINIT_LEARN_ALL=yes: expected 1 (on) or 0 (off)"),
            (&run, &[("HARDINIT_SECCOMP_MODE", "lenient")], "HARDINIT_SECCOMP_MODE=lenient: invalid value 'lenient' for '--value <value>' [possible values: enforce, complain]"),
            (&run, &[("HARDINIT_LEARN", "")], "HARDINIT_LEARN=: an empty value"),
            (&run, &[("HARDINIT_LEARN_REPORT", "r")], "HARDINIT_LEARN_REPORT: with the command line: the following required arguments were not provided: --learn <FILE>"),
            (&run, &[("HARDINIT_LEARN", "p.json"), ("HARDINIT_SECCOMP", "node")], "HARDINIT_SECCOMP, HARDINIT_LEARN: with the command line: --learn records instead of enforcing --seccomp; add --seccomp-mode complain to learn what that profile refuses"),
            (&["hardinit", "--seccomp", "node", "true"], &[("HARDINIT_LEARN", "p.json")], "HARDINIT_LEARN: with the command line: --learn records instead of enforcing --seccomp; add --seccomp-mode complain to learn what that profile refuses"),
        ];
        for (argv, env, want) in cases {
            assert_eq!(env_error(argv, env), want, "{env:?}");
            assert_eq!(parse_strs(argv, env).unwrap_err().exit_code(), 125);
        }
        // As docker-init, a learning variable asks for hardinit (learning needs no_new_privs).
        let inv = parse_strs(
            &["docker-init", "--", "node"],
            &[("HARDINIT_LEARN", "/out/a.json")],
        )
        .unwrap();
        assert!(!inv.tini_mode);
        // Present, even off, as every hardening option's variable.
        let inv = parse_strs(
            &["docker-init", "--", "node"],
            &[("HARDINIT_LEARN_ALL", "0"), ("HARDINIT_VERBOSE", "1")],
        )
        .unwrap();
        assert!(!inv.tini_mode);
        assert!(!inv.args.learn_all);
    }

    #[test]
    fn hardinit_variables_turn_the_tini_names_into_hardinit() {
        let inv = parse_strs(&["docker-init", "--", "node"], &[("TINI_SUBREAPER", "")]).unwrap();
        assert!(inv.tini_mode);
        // An init option's variable keeps tini's defaults: it asks for no hardening.
        let env = [("HARDINIT_VERBOSE", "1"), ("HARDINIT_STOP_DELAY", "5")];
        assert!(
            parse_strs(&["docker-init", "--", "node"], &env)
                .unwrap()
                .tini_mode
        );
        let env = [("HARDINIT_USER", "1000"), ("HARDINIT_SECCOMP", "node")];
        let inv = parse_strs(&["docker-init", "--", "node"], &env).unwrap();
        assert!(!inv.tini_mode);
        assert_eq!(inv.request().user.as_deref(), Some("1000"));
        assert_eq!(inv.args.command, ["node"]);
    }

    #[test]
    fn rewriting_a_signal_twice_is_refused() {
        let e = parse_strs(
            &[
                "hardinit",
                "--rewrite",
                "TERM:QUIT",
                "--rewrite",
                "15:INT",
                "true",
            ],
            &[],
        )
        .unwrap_err();
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn probe_and_format_are_their_own_modes() {
        let inv = parse_strs(
            &["hardinit", "--probe", "tcp://127.0.0.1:5"],
            &[("HARDINIT_USER", "1000")],
        )
        .unwrap();
        assert_eq!(inv.args.probe_timeout, None);
        for argv in [
            &["hardinit", "--probe", "tcp://127.0.0.1:5", "true"][..],
            &["hardinit", "--probe", "tcp://127.0.0.1:5", "--inspect"],
            &["hardinit", "--probe-timeout", "1", "true"],
            &["hardinit", "--format", "spo", "true"],
            &["hardinit", "--export-seccomp", "node", "--format", "yaml"],
            &["hardinit", "--probe", "ftp://x"],
        ] {
            assert_eq!(
                parse_strs(argv, &[]).unwrap_err().exit_code(),
                2,
                "{argv:?}"
            );
        }
    }
}

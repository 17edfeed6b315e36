//! Options from the environment: `HARDINIT_<OPTION>` for every option that configures a run,
//! named after the option (`--read-only` is `HARDINIT_READ_ONLY`, `-w` is
//! `HARDINIT_WARN_ZOMBIES`), used when the command line does not give that option. This is
//! how `docker run --init`, whose `docker-init -- ENTRYPOINT CMD` takes no flags, and a pod
//! spec's `env:` configure hardinit.
//!
//! Whoever sets the environment also chooses the command line (`--entrypoint`, a pod's
//! `command:`), so the environment may configure exactly what flags configure, no more: the
//! modes (`--inspect`, `--probe`, `--print-policy`, …) are flags only, and a flag on the
//! command line always wins over its variable. Every `HARDINIT_*` variable must be one hardinit
//! knows, with a valid value; anything else is an error naming it, never ignored.

use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command};
use thiserror::Error;

/// The prefix of hardinit's variables.
pub const PREFIX: &str = "HARDINIT_";

/// Options that choose a mode or a report rather than configure a run: flags only, so that an
/// inherited environment (a `docker exec` of `hardinit --probe` gets the container's) cannot
/// turn one mode into another.
pub(crate) const FLAG_ONLY: [&str; 12] = [
    "license",
    "version",
    "print_policy",
    "export_seccomp",
    "format",
    "inspect",
    "json",
    "expect",
    "probe",
    "probe_timeout",
    "command",
    // A testing aid that lowers Landlock, as on an older kernel: never from the environment.
    "landlock_abi",
];

/// `HARDINIT_*` variables that are not options. HARDINIT_TEST_PRIVILEGED belongs to the test
/// suite (it makes privileged tests fail instead of skipping) and hardinit ignores it, so the
/// suite can run hardinit in its own environment.
const NOT_OPTIONS: [&str; 1] = ["HARDINIT_TEST_PRIVILEGED"];

/// Variables hardinit reads as its own configuration and removes from the program's
/// environment: every option's.
pub fn is_configuration(name: &OsStr) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    name.starts_with(PREFIX) && !NOT_OPTIONS.contains(&name)
}

/// Whether `words_from` has anything to read: a variable named like an option's (a name
/// that is not UTF-8 included, which it refuses). Without one the command line is parsed
/// once, not twice.
pub fn names_options(env: &[(OsString, OsString)]) -> bool {
    env.iter().any(|(key, _)| {
        key.as_encoded_bytes().starts_with(PREFIX.as_bytes())
            && !key.to_str().is_some_and(|k| NOT_OPTIONS.contains(&k))
    })
}

/// Where an option's value came from, for `--print-policy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    CommandLine,
    /// The variable's name.
    Environment(String),
    Default,
}

/// An option as `--print-policy` shows it: `--user node`, and where that came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub option: String,
    pub origin: Origin,
}

/// A variable set but not used because its option is on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overridden {
    pub variable: String,
    pub option: String,
}

/// What the environment contributes: extra command-line words, and what they came from.
#[derive(Debug, Default)]
pub(crate) struct FromEnv {
    /// `--user=node`-style words, inserted after argv[0].
    pub words: Vec<OsString>,
    /// The ids of the options the words set.
    pub ids: BTreeSet<String>,
    /// The variable that set each id.
    pub variables: Vec<(String, String)>,
    pub overridden: Vec<Overridden>,
    /// Some variable of a hardening option was present (used or overridden).
    pub hardening: bool,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum EnvError {
    #[error("{0}: no such hardinit variable (the options' variables are HARDINIT_ and the option's long name in capitals, e.g. HARDINIT_READ_ONLY=1; see hardinit --help)")]
    Unknown(String),
    #[error("{variable}: {option} chooses what hardinit does and is a flag only, not read from the environment")]
    FlagOnly { variable: String, option: String },
    #[error("{0}: the name or value is not valid UTF-8")]
    NotUtf8(String),
    #[error("{variable}={value}: {why}")]
    Value {
        variable: String,
        value: String,
        why: String,
    },
    #[error("{variables}: with the command line: {why}")]
    Combination { variables: String, why: String },
}

/// A command-line or environment error, with the exit code each has: 2 for usage errors on
/// the command line (clap's), 125 for a bad environment (hardinit's own input errors).
#[derive(Debug)]
pub enum ParseError {
    Usage(clap::Error),
    Env(EnvError),
}

impl ParseError {
    pub fn exit_code(&self) -> i32 {
        match self {
            ParseError::Usage(e) => e.exit_code(),
            ParseError::Env(_) => 125,
        }
    }

    /// Prints the error (or help/version, which clap reports as errors) where it belongs.
    pub fn print(&self) {
        match self {
            ParseError::Usage(e) => {
                let _ = e.print();
            }
            ParseError::Env(e) => eprintln!("hardinit: {e}"),
        }
    }
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseError::Usage(e) => write!(f, "{e}"),
            ParseError::Env(e) => write!(f, "hardinit: {e}"),
        }
    }
}

impl From<clap::Error> for ParseError {
    fn from(e: clap::Error) -> ParseError {
        ParseError::Usage(e)
    }
}

/// The variable for an option id: `cap_add` -> `HARDINIT_CAP_ADD`.
pub fn variable_for(id: &str) -> String {
    format!("{PREFIX}{}", id.to_ascii_uppercase())
}

/// How the option is written on a command line: `--user` or `-w`.
pub fn flag_of(arg: &Arg) -> String {
    match (arg.get_long(), arg.get_short()) {
        (Some(long), _) => format!("--{long}"),
        (None, Some(short)) => format!("-{short}"),
        (None, None) => arg
            .get_value_names()
            .and_then(|names| names.first())
            .map_or_else(|| arg.get_id().to_string(), |n| n.to_string()),
    }
}

/// Turns the `HARDINIT_*` variables of `env` into command-line words for the options that
/// `given` (the command line's own matches) does not set.
pub(crate) fn words_from(
    cmd: &Command,
    given: &ArgMatches,
    env: &[(OsString, OsString)],
) -> Result<FromEnv, EnvError> {
    let mut out = FromEnv::default();
    let mut vars: Vec<(&str, &OsString)> = Vec::new();
    for (key, value) in env {
        let Some(name) = key.to_str() else {
            if key.as_encoded_bytes().starts_with(PREFIX.as_bytes()) {
                return Err(EnvError::NotUtf8(key.to_string_lossy().into_owned()));
            }
            continue;
        };
        if name.starts_with(PREFIX) && !NOT_OPTIONS.contains(&name) {
            vars.push((name, value));
        }
    }
    // The smallest wrong name is reported, so the error does not depend on the environment's
    // order; the others are then taken in --help's order.
    if let Some(e) = vars
        .iter()
        .filter_map(|(name, _)| option_for(cmd, name).err())
        .min_by(|a, b| a.to_string().cmp(&b.to_string()))
    {
        return Err(e);
    }
    for arg in cmd.get_arguments() {
        let id = arg.get_id().as_str();
        let name = variable_for(id);
        let Some((_, value)) = vars.iter().find(|(n, _)| *n == name) else {
            continue;
        };
        // Learning replaces the seccomp layer: it asks for hardinit as --seccomp does.
        out.hardening |= matches!(arg.get_help_heading(), Some("Hardening" | "Learning"));
        if given.value_source(id) == Some(ValueSource::CommandLine) {
            out.overridden.push(Overridden {
                variable: name,
                option: flag_of(arg),
            });
            continue;
        }
        let value = value
            .to_str()
            .ok_or_else(|| EnvError::NotUtf8(name.clone()))?;
        let words = words_for(arg, &name, value)?;
        if !words.is_empty() {
            out.ids.insert(id.to_string());
            out.variables.push((id.to_string(), name));
        }
        out.words.extend(words);
    }
    Ok(out)
}

fn option_for<'c>(cmd: &'c Command, name: &str) -> Result<&'c Arg, EnvError> {
    let arg = cmd
        .get_arguments()
        .find(|a| variable_for(a.get_id().as_str()) == name)
        .ok_or_else(|| EnvError::Unknown(name.to_string()))?;
    if FLAG_ONLY.contains(&arg.get_id().as_str()) {
        return Err(EnvError::FlagOnly {
            variable: name.to_string(),
            option: flag_of(arg),
        });
    }
    Ok(arg)
}

/// The words a variable stands for, each value checked by the option's own parser:
/// a switch takes 1 (on) or 0 (off), `-v` a count, a repeatable option a list (paths split
/// at ':', as in PATH; everything else at ','), any other option one value.
fn words_for(arg: &Arg, name: &str, value: &str) -> Result<Vec<OsString>, EnvError> {
    let bad = |why: String| EnvError::Value {
        variable: name.to_string(),
        value: value.to_string(),
        why,
    };
    let flag = flag_of(arg);
    match arg.get_action() {
        ArgAction::SetTrue => match value {
            "1" => Ok(vec![flag.into()]),
            "0" => Ok(Vec::new()),
            _ => Err(bad("expected 1 (on) or 0 (off)".into())),
        },
        ArgAction::Count => match value.parse::<u8>() {
            Ok(n) if n <= 3 => Ok((0..n).map(|_| OsString::from(&flag)).collect()),
            _ => Err(bad("expected a count from 0 to 3".into())),
        },
        ArgAction::Append => {
            let separator = if arg.get_id() == "writable" || arg.get_id() == "writable_exec" {
                ':'
            } else {
                ','
            };
            value
                .split(separator)
                .map(|item| {
                    one_word(arg, &flag, item).map_err(|why| match item == value {
                        true => bad(why),
                        false => bad(format!("{item:?}: {why}")),
                    })
                })
                .collect()
        }
        _ => Ok(vec![one_word(arg, &flag, value).map_err(bad)?]),
    }
}

/// `--flag=VALUE`, once the option's parser accepts VALUE: checked alone, by a command
/// holding just that option's parser, so the message is about the value only.
fn one_word(arg: &Arg, flag: &str, value: &str) -> Result<OsString, String> {
    if value.is_empty() {
        return Err("an empty value".into());
    }
    let alone = Arg::new("value")
        .long("value")
        .action(ArgAction::Set)
        .value_parser(arg.get_value_parser().clone());
    Command::new("hardinit")
        .no_binary_name(true)
        .arg(alone)
        .try_get_matches_from([OsString::from(format!("--value={value}"))])
        .map_err(|e| match std::error::Error::source(&e) {
            Some(why) => why.to_string(),
            None => first_line(&e),
        })?;
    Ok(OsString::from(format!("{flag}={value}")))
}

/// clap's message without its "error: " prefix, usage and tips: its first paragraph, on
/// one line.
pub(crate) fn first_line(e: &clap::Error) -> String {
    let text = e.to_string();
    let paragraph: Vec<&str> = text
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let line = paragraph.join(" ");
    line.strip_prefix("error: ").unwrap_or(&line).to_string()
}

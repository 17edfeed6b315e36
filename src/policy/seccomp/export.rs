//! The resolved profile written back as OCI JSON, in a fixed layout (the same as Docker's
//! own profile: two-space indent, one name per line) so an exported file diffs well.

use super::model::{self, ArgCmp};
use super::{Profile, Rule};

pub(crate) fn oci_json(profile: &Profile) -> String {
    let mut fields = vec![field(
        "defaultAction",
        quote(profile.default_action.oci_name()),
    )];
    if let Some(errno) = profile.default_action.errno_ret() {
        fields.push(field("defaultErrnoRet", errno.to_string()));
    }
    // Only the native ABI: the compat ones are what hardinit kills.
    fields.push(field(
        "architectures",
        array(vec![quote(profile.arch.scmp)]),
    ));
    let flags = model::flag_names(profile.flags);
    if !flags.is_empty() {
        fields.push(field(
            "flags",
            array(flags.into_iter().map(quote).collect()),
        ));
    }
    let rules = profile.rules.iter().map(rule).collect();
    fields.push(field("syscalls", array(rules)));
    let mut out = object(fields);
    out.push('\n');
    out
}

fn rule(rule: &Rule) -> String {
    let names = rule.names.iter().map(|n| quote(n)).collect();
    let mut fields = vec![
        field("names", array(names)),
        field("action", quote(rule.action.oci_name())),
    ];
    if let Some(errno) = rule.action.errno_ret() {
        fields.push(field("errnoRet", errno.to_string()));
    }
    if !rule.args.is_empty() {
        fields.push(field("args", array(rule.args.iter().map(arg).collect())));
    }
    object(fields)
}

fn arg(cmp: &ArgCmp) -> String {
    object(vec![
        field("index", cmp.index.to_string()),
        field("value", cmp.value.to_string()),
        field("valueTwo", cmp.value_two.to_string()),
        field("op", quote(cmp.op.oci_name())),
    ])
}

/// A JSON string literal; `Value`'s Display escapes and cannot fail.
pub(crate) fn quote(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

fn field(key: &str, value: String) -> String {
    format!("{}: {value}", quote(key))
}

fn object(fields: Vec<String>) -> String {
    block('{', '}', fields)
}

fn array(items: Vec<String>) -> String {
    block('[', ']', items)
}

/// Items one per line, indented one level deeper than the brackets.
fn block(open: char, close: char, items: Vec<String>) -> String {
    if items.is_empty() {
        return format!("{open}{close}");
    }
    let body = items
        .iter()
        .map(|item| format!("  {}", item.replace('\n', "\n  ")))
        .collect::<Vec<_>>()
        .join(",\n");
    format!("{open}\n{body}\n{close}")
}

/// The API group and version of the Security Profiles Operator's `SeccompProfile`.
pub(crate) const SPO_API_VERSION: &str = "security-profiles-operator.x-k8s.io/v1beta1";
pub(crate) const SPO_KIND: &str = "SeccompProfile";

/// The seccomp(2) flags the SeccompProfile CRD's `flags` enum accepts.
const SPO_FLAGS: [&str; 4] = [
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
];

/// What a resolved profile holds that the SeccompProfile CRD cannot say.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SpoError {
    #[error("--format spo: the profile's default action returns errno {0}, but a SeccompProfile has no defaultErrnoRet (the runtime uses EPERM); use --format oci")]
    DefaultErrno(u16),
    #[error("--format spo: syscalls[{entry}] returns errno 0, which a SeccompProfile cannot hold (its errnoRet omits 0, and the runtime would use EPERM); use --format oci")]
    ZeroErrno { entry: usize },
    #[error("--format spo: flag {0} is not one a SeccompProfile accepts")]
    Flag(&'static str),
}

/// The resolved profile as a Security Profiles Operator `SeccompProfile` object named `name`,
/// in JSON (which `kubectl apply -f` takes as it takes YAML). The CRD has no includes, excludes,
/// minKernel or comment: the rules are the ones that apply on this machine, already flattened.
/// Its errnoRet is an unsigned integer whose 0 is omitted (meaning EPERM), and it has no
/// defaultErrnoRet: a profile that needs either is refused rather than changed.
pub(crate) fn spo_json(profile: &Profile, name: &str) -> Result<String, SpoError> {
    match profile.default_action.errno_ret() {
        Some(errno) if i32::from(errno) != libc::EPERM => {
            return Err(SpoError::DefaultErrno(errno))
        }
        _ => {}
    }
    if let Some(r) = profile
        .rules
        .iter()
        .find(|r| r.action.errno_ret() == Some(0))
    {
        return Err(SpoError::ZeroErrno { entry: r.entry });
    }
    let flags = model::flag_names(profile.flags);
    if let Some(flag) = flags.iter().find(|f| !SPO_FLAGS.contains(f)) {
        return Err(SpoError::Flag(flag));
    }
    let mut spec = vec![
        field("defaultAction", quote(profile.default_action.oci_name())),
        field("architectures", array(vec![quote(profile.arch.scmp)])),
    ];
    if !flags.is_empty() {
        spec.push(field(
            "flags",
            array(flags.into_iter().map(quote).collect()),
        ));
    }
    spec.push(field(
        "syscalls",
        array(profile.rules.iter().map(rule).collect()),
    ));
    let fields = vec![
        field("apiVersion", quote(SPO_API_VERSION)),
        field("kind", quote(SPO_KIND)),
        field("metadata", object(vec![field("name", quote(name))])),
        field("spec", object(spec)),
    ];
    let mut out = object(fields);
    out.push('\n');
    Ok(out)
}

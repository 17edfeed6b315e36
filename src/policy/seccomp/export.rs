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
fn quote(text: &str) -> String {
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

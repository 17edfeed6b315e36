//! Issue 13: the module layout docs/architecture.md states is the code's. Dependencies point
//! one way (no module reaches back up) and `unsafe` stays in sys.rs.

use std::path::{Path, PathBuf};

/// (module, the crate modules it may use), as docs/architecture.md's table says.
const MAY_USE: &[(&str, &[&str])] = &[
    (
        "launch",
        &[
            "cli",
            "harden",
            "inspect",
            "kernel",
            "listener",
            "logging",
            "plan",
            "policy",
            "probe",
            "signal",
            "spawn",
            "supervise",
            "sys",
        ],
    ),
    ("cli", &["policy", "probe", "signal"]),
    ("inspect", &["kernel", "sys"]),
    ("spawn", &["plan", "harden", "listener", "supervise", "sys"]),
    ("supervise", &["listener", "signal", "sys"]),
    ("listener", &["policy", "kernel", "sys"]),
    ("plan", &["policy", "harden", "kernel", "sys"]),
    ("policy", &["kernel"]),
    ("harden", &["kernel", "sys"]),
    ("kernel", &[]),
    ("sys", &[]),
    ("logging", &[]),
    ("probe", &[]),
    ("signal", &[]),
    ("lib", &[]),
];

fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The top-level module a file under src/ belongs to.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// The code of a line, without a `//` comment.
fn code(line: &str) -> &str {
    line.split("//").next().unwrap_or("")
}

/// Every `crate::name` the file's code uses; unit tests (a `mod tests` block, a file under a
/// `tests` module) may use anything.
fn crate_uses(text: &str) -> Vec<String> {
    let mut uses = Vec::new();
    let lines = text.lines().map(code);
    for line in lines.take_while(|l| l.trim() != "mod tests {") {
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            uses.push(name);
            rest = after;
        }
    }
    uses
}

#[test]
fn no_module_reaches_back_up() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut wrong = Vec::new();
    for file in sources(&src) {
        let module = module_of(&src, &file);
        let rel = file.strip_prefix(&src).unwrap();
        let is_test = rel.components().any(|c| c.as_os_str() == "tests")
            || file.file_name().is_some_and(|n| n == "tests.rs");
        if module == "main" || is_test {
            continue;
        }
        let allowed = MAY_USE
            .iter()
            .find(|(m, _)| *m == module)
            .unwrap_or_else(|| panic!("{module} is missing from docs/architecture.md's table"))
            .1;
        let text = std::fs::read_to_string(&file).unwrap();
        for used in crate_uses(&text) {
            if used != module && !allowed.contains(&used.as_str()) {
                wrong.push(format!("{} uses crate::{used}", file.display()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "dependencies against the table:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn unsafe_code_stays_in_sys() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    for file in sources(&src) {
        let text = std::fs::read_to_string(&file).unwrap();
        let blocks = text
            .lines()
            .map(code)
            .filter(|l| l.contains("unsafe {") || l.contains("unsafe fn"))
            .count();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        if blocks > 0 && name != "sys.rs" {
            found.push((name, blocks));
        }
    }
    // main.rs hands the C runtime's argc/argv to sys::args_from_main, once.
    assert_eq!(found, [("main.rs".to_string(), 1)]);
}

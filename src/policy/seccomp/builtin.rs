//! The profiles compiled into hardinit.

use std::fmt;

/// Docker's default seccomp profile, unchanged: moby/profiles, seccomp/default.json at commit
/// cd3bed8061c7b7378b61fc6827c7885779417a75. Copyright The Moby Authors, Apache License 2.0
/// (see NOTICE at the repository root).
const DOCKER_DEFAULT: &str = include_str!("docker-default.json");

/// hardinit's Node.js profile; docs/seccomp-node.md tells how it was derived.
const NODE: &str = include_str!("node.json");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    /// Docker's default profile: the same answer as `docker run` for every call.
    Default,
    /// A Node.js profile derived from what Node.js 20 to 26 can call for its core API
    /// (docs/seccomp-node.md), checked with tests/fixtures/node/battery.js; tighter than Docker's.
    Node,
}

impl Builtin {
    pub fn name(self) -> &'static str {
        match self {
            Builtin::Default => "default",
            Builtin::Node => "node",
        }
    }

    pub fn from_name(name: &str) -> Option<Builtin> {
        [Builtin::Default, Builtin::Node]
            .into_iter()
            .find(|b| b.name() == name)
    }

    pub(crate) fn json(self) -> &'static str {
        match self {
            Builtin::Default => DOCKER_DEFAULT,
            Builtin::Node => NODE,
        }
    }
}

impl fmt::Display for Builtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

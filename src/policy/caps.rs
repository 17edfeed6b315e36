//! `--cap-add` parsing. A set is a `u64` bitmask: bit N is capability N (`crate::kernel`).

use std::str::FromStr;

use caps::Capability;
use thiserror::Error;

use crate::kernel::all_caps;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum CapsError {
    #[error("--cap-add: unknown capability '{0}'")]
    Unknown(String),
    #[error("--cap-add: {name} is not supported by this kernel (its last capability is {last})")]
    NotInKernel { name: String, last: u8 },
}

/// Parses `--cap-add` values: comma lists of names with or without `CAP_`, any case, or
/// `ALL` (every capability up to the kernel's `last_cap`).
pub fn parse_cap_list(values: &[String], last_cap: u8) -> Result<u64, CapsError> {
    let mut set = 0u64;
    for name in values.iter().flat_map(|v| v.split(',')).map(str::trim) {
        if name.is_empty() {
            continue;
        }
        if name.eq_ignore_ascii_case("all") {
            set |= all_caps(last_cap);
            continue;
        }
        let upper = name.to_ascii_uppercase();
        let full = if upper.starts_with("CAP_") {
            upper
        } else {
            format!("CAP_{upper}")
        };
        let cap = Capability::from_str(&full).map_err(|_| CapsError::Unknown(name.to_string()))?;
        if cap.index() > last_cap {
            return Err(CapsError::NotInKernel {
                name: full,
                last: last_cap,
            });
        }
        set |= cap.bitmask();
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::cap_names;

    #[test]
    fn names_parse_in_any_case_with_or_without_prefix() {
        let set =
            parse_cap_list(&["net_bind_service".into(), "CAP_KILL,Chown".into()], 40).unwrap();
        assert_eq!(set, (1 << 10) | (1 << 5) | 1);
        assert_eq!(
            cap_names(set),
            ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
        );
    }

    #[test]
    fn all_means_every_capability_the_kernel_has() {
        assert_eq!(
            parse_cap_list(&["ALL".into()], 40).unwrap(),
            0x1ff_ffff_ffff
        );
        assert_eq!(all_caps(63), u64::MAX);
    }

    #[test]
    fn unknown_names_are_errors() {
        assert_eq!(
            parse_cap_list(&["NET_BIND".into()], 40)
                .unwrap_err()
                .to_string(),
            "--cap-add: unknown capability 'NET_BIND'"
        );
        assert_eq!(
            parse_cap_list(&["checkpoint_restore".into()], 39).unwrap_err(),
            CapsError::NotInKernel {
                name: "CAP_CHECKPOINT_RESTORE".into(),
                last: 39
            }
        );
    }
}

//! Signal names as the command line gives them, and `--rewrite FROM:TO` pairs.

use nix::sys::signal::Signal;

/// Accepts `SIGKILL`, `KILL`, `kill` or a number 1..=64 (real-time signals by number).
pub fn parse_signal(name: &str) -> Option<i32> {
    if let Ok(n) = name.parse::<i32>() {
        return (1..=64).contains(&n).then_some(n);
    }
    let upper = name.to_ascii_uppercase();
    let full = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    full.parse::<Signal>().ok().map(|s| s as i32)
}

/// One `--rewrite FROM:TO`: the program receives TO where hardinit received FROM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rewrite {
    pub from: i32,
    pub to: i32,
}

/// Parses `FROM:TO` (names or numbers). FROM cannot be SIGKILL or SIGSTOP (they never reach
/// hardinit) nor SIGCHLD (hardinit's own: it is how it learns that children ended).
pub fn parse_rewrite(text: &str) -> Result<Rewrite, String> {
    let (from, to) = text
        .split_once(':')
        .ok_or_else(|| format!("{text:?} is not FROM:TO (e.g. TERM:QUIT)"))?;
    let signal = |name: &str| parse_signal(name).ok_or_else(|| format!("unknown signal {name:?}"));
    let (from, to) = (signal(from)?, signal(to)?);
    match from {
        libc::SIGKILL | libc::SIGSTOP => Err(format!(
            "{text}: SIGKILL and SIGSTOP never reach hardinit, so they cannot be rewritten"
        )),
        libc::SIGCHLD => Err(format!(
            "{text}: SIGCHLD is how hardinit learns that children ended; it is not forwarded"
        )),
        _ => Ok(Rewrite { from, to }),
    }
}

/// The signal the program gets for `signo`: the first rewrite of it, or itself.
pub fn rewritten(rewrites: &[Rewrite], signo: i32) -> i32 {
    rewrites
        .iter()
        .find(|r| r.from == signo)
        .map_or(signo, |r| r.to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_by_name_or_number() {
        assert_eq!(parse_signal("SIGTERM"), Some(libc::SIGTERM));
        assert_eq!(parse_signal("quit"), Some(libc::SIGQUIT));
        assert_eq!(parse_signal("34"), Some(34));
        assert_eq!(parse_signal("0"), None);
        assert_eq!(parse_signal("65"), None);
        assert_eq!(parse_signal("SIGNOPE"), None);
    }

    #[test]
    fn rewrites_parse_and_refuse_what_cannot_be_rewritten() {
        assert_eq!(
            parse_rewrite("TERM:QUIT"),
            Ok(Rewrite {
                from: libc::SIGTERM,
                to: libc::SIGQUIT
            })
        );
        assert_eq!(
            parse_rewrite("SIGUSR1:40"),
            Ok(Rewrite {
                from: libc::SIGUSR1,
                to: 40
            })
        );
        assert_eq!(
            parse_rewrite("TERM"),
            Err("\"TERM\" is not FROM:TO (e.g. TERM:QUIT)".into())
        );
        assert_eq!(
            parse_rewrite("TERM:BOGUS"),
            Err("unknown signal \"BOGUS\"".into())
        );
        assert!(parse_rewrite("KILL:TERM").is_err());
        assert!(parse_rewrite("STOP:TERM").is_err());
        assert!(parse_rewrite("CHLD:TERM").is_err());
        assert!(parse_rewrite("TERM:").is_err());
    }

    #[test]
    fn the_first_rewrite_of_a_signal_wins() {
        let r = [
            parse_rewrite("TERM:QUIT").unwrap(),
            parse_rewrite("TERM:INT").unwrap(),
        ];
        assert_eq!(rewritten(&r, libc::SIGTERM), libc::SIGQUIT);
        assert_eq!(rewritten(&r, libc::SIGHUP), libc::SIGHUP);
    }
}

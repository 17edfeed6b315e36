//! `hardinit --probe URL`: a health check for images without a shell or curl. One TCP
//! connection, and for `http://` one GET whose status line decides: 2xx or 3xx is healthy.
//!
//! Hand-written instead of an HTTP client crate: all it needs is one request line and the
//! first line of the answer, and every step must share one deadline, which the blocking
//! clients' separate connect/read timeouts do not give. The probe applies no hardening and
//! starts nothing; it reads at most `MAX_STATUS_LINE` bytes, so a huge or endless answer costs
//! nothing, and every wait ends at the deadline, so a server that never answers or trickles
//! bytes cannot hold it longer.

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::str::FromStr;
use std::time::{Duration, Instant};

use thiserror::Error;

/// The longest status line read; a server whose first line is longer is unhealthy.
const MAX_STATUS_LINE: usize = 1024;

/// The default of `--probe-timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);

/// The longest `--probe-timeout`: an hour (Docker's own health-check timeout is 30 s).
const MAX_TIMEOUT: Duration = Duration::from_secs(3600);

/// What to probe, parsed from `http://HOST[:PORT][/PATH]` or `tcp://HOST:PORT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: Host,
    pub port: u16,
    /// `Some(path)` for http, `None` for tcp.
    pub path: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Ip(IpAddr),
    /// A name, looked up in /etc/hosts when the probe runs.
    Name(String),
}

impl std::fmt::Display for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            Host::Ip(IpAddr::V4(ip)) => write!(f, "{ip}"),
            Host::Name(name) => f.write_str(name),
        }
    }
}

impl FromStr for Target {
    type Err = String;

    fn from_str(url: &str) -> Result<Target, String> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or("expected http://HOST[:PORT][/PATH] or tcp://HOST:PORT")?;
        let http = match scheme {
            "http" => true,
            "tcp" => false,
            "https" => return Err(
                "https is not supported (no TLS in hardinit); probe the plain port or use tcp://"
                    .into(),
            ),
            other => return Err(format!("unknown scheme {other:?}: use http:// or tcp://")),
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if !http && !path.is_empty() && path != "/" {
            return Err("a tcp:// URL has no path".into());
        }
        let (host, port) = split_host_port(authority)?;
        let port = match (port, http) {
            (Some(p), _) => p,
            (None, true) => 80,
            (None, false) => return Err("a tcp:// URL needs a port".into()),
        };
        let path = http.then_some(if path.is_empty() { "/" } else { path });
        if let Some(p) = path {
            // Visible ASCII only: no space, CR or LF can smuggle a header into the request.
            if !p.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(format!(
                    "the path {p:?} holds a space or a control character; percent-encode it"
                ));
            }
        }
        Ok(Target {
            host,
            port,
            path: path.map(str::to_owned),
        })
    }
}

fn split_host_port(authority: &str) -> Result<(Host, Option<u16>), String> {
    if authority.contains('@') {
        return Err("credentials in the URL are not supported".into());
    }
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (ip, after) = rest
            .split_once(']')
            .ok_or("an IPv6 address needs its closing ']'")?;
        let ip: std::net::Ipv6Addr = ip
            .parse()
            .map_err(|_| format!("{ip:?} is not an IPv6 address"))?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or("expected ':PORT' after ']'")?),
        };
        (Host::Ip(IpAddr::V6(ip)), port)
    } else {
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        (parse_host(host)?, port)
    };
    let port = port
        .map(|p| match p.parse::<u16>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("port {p:?} is not a number from 1 to 65535")),
        })
        .transpose()?;
    Ok((host, port))
}

fn parse_host(host: &str) -> Result<Host, String> {
    if host.is_empty() {
        return Err("the URL names no host".into());
    }
    if let Ok(ip) = host.parse::<std::net::Ipv4Addr>() {
        return Ok(Host::Ip(IpAddr::V4(ip)));
    }
    let is_name = host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if !is_name {
        return Err(format!(
            "{host:?} is neither an IPv4 address, an [IPv6] address nor a host name"
        ));
    }
    Ok(Host::Name(host.to_ascii_lowercase()))
}

/// `--probe-timeout SECONDS`: a positive number of seconds with up to three decimals
/// (`0.5`), an hour at most. Parsed by hand: float parsing would add ~30 kB to the binary.
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    let bad = || {
        format!(
            "{text:?} is not a number of seconds from 0.001 to {}",
            MAX_TIMEOUT.as_secs()
        )
    };
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let fraction_ok = !text.contains('.') || (digits(fraction) && fraction.len() <= 3);
    if !digits(whole) || !fraction_ok {
        return Err(bad());
    }
    let secs: u64 = whole.parse().map_err(|_| bad())?;
    let millis: u64 = format!("{fraction:0<3}").parse().map_err(|_| bad())?;
    let timeout = Duration::from_secs(secs) + Duration::from_millis(millis);
    if timeout.is_zero() || timeout > MAX_TIMEOUT {
        return Err(bad());
    }
    Ok(timeout)
}

/// Why a probe found the target unhealthy.
#[derive(Debug, Error)]
pub enum ProbeError {
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("{name} is not in /etc/hosts (hardinit --probe does not ask DNS; use an address)")]
    NoAddress { name: String },
    #[error("cannot connect to {addr}")]
    Connect {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot send the request")]
    Send(#[source] std::io::Error),
    #[error("cannot read the answer")]
    Receive(#[source] std::io::Error),
    #[error("the connection closed before a status line")]
    Closed,
    #[error("the answer does not start with an HTTP status line: {0:?}")]
    NotHttp(String),
    #[error("no status line in the first {MAX_STATUS_LINE} bytes")]
    LongLine,
    #[error("status {code}: {line}")]
    Status { code: u16, line: String },
}

/// Probes `target`, all within `timeout`; `Ok` holds what to report.
pub fn probe(target: &Target, timeout: Duration) -> Result<String, ProbeError> {
    let deadline = Instant::now() + timeout;
    let left = || {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or(ProbeError::Timeout(timeout))
    };
    let hosts = match &target.host {
        Host::Name(_) => std::fs::read_to_string("/etc/hosts").unwrap_or_default(),
        Host::Ip(_) => String::new(),
    };
    let addrs = resolve(&target.host, target.port, &hosts)?;
    let mut stream = connect_any(&addrs, &left, timeout)?;
    let Some(path) = &target.path else {
        return Ok("connected".to_string());
    };
    let request = format!(
        "GET {path} HTTP/1.0\r\nHost: {}:{}\r\nUser-Agent: hardinit-probe\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        target.host, target.port
    );
    stream
        .set_write_timeout(Some(left()?))
        .map_err(ProbeError::Send)?;
    stream
        .write_all(request.as_bytes())
        .map_err(|e| timed_out(e, timeout).unwrap_or_else(ProbeError::Send))?;
    let line = read_status_line(&mut stream, &left, timeout)?;
    let code = parse_status(&line)?;
    if (200..400).contains(&code) {
        Ok(line)
    } else {
        Err(ProbeError::Status { code, line })
    }
}

/// An address literal as it is; a name from /etc/hosts (`localhost` even without it). No
/// DNS: the resolver's own timeouts and retries are not bounded by ours, and a health check
/// of the container's own service needs a loopback address or a name the image's hosts file
/// gives.
fn resolve(host: &Host, port: u16, hosts: &str) -> Result<Vec<SocketAddr>, ProbeError> {
    let name = match host {
        Host::Ip(ip) => return Ok(vec![SocketAddr::new(*ip, port)]),
        Host::Name(name) => name,
    };
    let mut addrs: Vec<SocketAddr> = hosts_addresses(hosts, name)
        .into_iter()
        .map(|ip| SocketAddr::new(ip, port))
        .collect();
    if addrs.is_empty() && name == "localhost" {
        addrs = vec![
            SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), port),
            SocketAddr::new(IpAddr::V6(std::net::Ipv6Addr::LOCALHOST), port),
        ];
    }
    if addrs.is_empty() {
        return Err(ProbeError::NoAddress { name: name.clone() });
    }
    Ok(addrs)
}

/// The addresses /etc/hosts gives `name` (case-insensitive; `#` starts a comment), in order.
fn hosts_addresses(hosts: &str, name: &str) -> Vec<IpAddr> {
    hosts
        .lines()
        .map(|line| line.split('#').next().unwrap_or_default())
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let ip: IpAddr = fields.next()?.parse().ok()?;
            fields.any(|n| n.eq_ignore_ascii_case(name)).then_some(ip)
        })
        .collect()
}

/// Tries each address in turn until one accepts; the last refusal is the answer.
fn connect_any(
    addrs: &[SocketAddr],
    left: &dyn Fn() -> Result<Duration, ProbeError>,
    timeout: Duration,
) -> Result<TcpStream, ProbeError> {
    let mut last = ProbeError::Timeout(timeout);
    for addr in addrs {
        match TcpStream::connect_timeout(addr, left()?) {
            Ok(stream) => return Ok(stream),
            Err(e) => {
                last = timed_out(e, timeout).unwrap_or_else(|source| ProbeError::Connect {
                    addr: *addr,
                    source,
                })
            }
        }
    }
    Err(last)
}

/// Reads until the first line ends, `MAX_STATUS_LINE` bytes at most, each read bounded by what
/// is left of the deadline.
fn read_status_line(
    stream: &mut TcpStream,
    left: &dyn Fn() -> Result<Duration, ProbeError>,
    timeout: Duration,
) -> Result<String, ProbeError> {
    let mut buf = [0u8; MAX_STATUS_LINE];
    let mut len = 0;
    loop {
        if let Some(end) = buf[..len].iter().position(|&b| b == b'\n') {
            let line = String::from_utf8_lossy(&buf[..end]);
            return Ok(line.trim_end_matches('\r').to_string());
        }
        if len == buf.len() {
            return Err(ProbeError::LongLine);
        }
        stream
            .set_read_timeout(Some(left()?))
            .map_err(ProbeError::Receive)?;
        match stream.read(&mut buf[len..]) {
            Ok(0) if len == 0 => return Err(ProbeError::Closed),
            Ok(0) => {
                return Err(ProbeError::NotHttp(
                    String::from_utf8_lossy(&buf[..len]).into_owned(),
                ))
            }
            Ok(n) => len += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(timed_out(e, timeout).unwrap_or_else(ProbeError::Receive)),
        }
    }
}

/// A socket timeout is the deadline passing.
fn timed_out(e: std::io::Error, timeout: Duration) -> Result<ProbeError, std::io::Error> {
    match e.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => Ok(ProbeError::Timeout(timeout)),
        _ => Err(e),
    }
}

/// The code of `HTTP/1.x NNN reason`.
fn parse_status(line: &str) -> Result<u16, ProbeError> {
    let not_http = || ProbeError::NotHttp(line.to_string());
    let mut parts = line.splitn(3, ' ');
    let version = parts.next().ok_or_else(not_http)?;
    if !version.starts_with("HTTP/") {
        return Err(not_http());
    }
    let code = parts.next().ok_or_else(not_http)?;
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(not_http());
    }
    code.parse().map_err(|_| not_http())
}

/// Runs the probe and reports: 0 healthy, 1 not (the reason on stderr).
pub fn run(target: &Target, timeout: Duration) -> i32 {
    let url = describe(target);
    match probe(target, timeout) {
        Ok(what) => {
            println!("{url}: {what}");
            0
        }
        Err(e) => {
            let mut text = format!("hardinit --probe {url}: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                text.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            eprintln!("{text}");
            1
        }
    }
}

fn describe(target: &Target) -> String {
    match &target.path {
        Some(path) => format!("http://{}:{}{path}", target.host, target.port),
        None => format!("tcp://{}:{}", target.host, target.port),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn target(url: &str) -> Result<Target, String> {
        url.parse()
    }

    #[test]
    fn urls_parse_into_host_port_and_path() {
        assert_eq!(
            target("http://127.0.0.1:3000/healthz?x=1"),
            Ok(Target {
                host: Host::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST)),
                port: 3000,
                path: Some("/healthz?x=1".into()),
            })
        );
        assert_eq!(
            target("http://[::1]:8080"),
            Ok(Target {
                host: Host::Ip(IpAddr::V6(Ipv6Addr::LOCALHOST)),
                port: 8080,
                path: Some("/".into()),
            })
        );
        assert_eq!(
            target("http://LocalHost/"),
            Ok(Target {
                host: Host::Name("localhost".into()),
                port: 80,
                path: Some("/".into()),
            })
        );
        assert_eq!(
            target("tcp://db.internal:5432"),
            Ok(Target {
                host: Host::Name("db.internal".into()),
                port: 5432,
                path: None,
            })
        );
    }

    #[test]
    fn bad_urls_say_what_is_wrong() {
        let cases = [
            (
                "127.0.0.1:3000",
                "expected http://HOST[:PORT][/PATH] or tcp://HOST:PORT",
            ),
            ("ftp://x/", "unknown scheme \"ftp\": use http:// or tcp://"),
            (
                "https://x/",
                "https is not supported (no TLS in hardinit); probe the plain port or use tcp://",
            ),
            ("tcp://x", "a tcp:// URL needs a port"),
            ("tcp://x:1/a", "a tcp:// URL has no path"),
            ("http://x:0/", "port \"0\" is not a number from 1 to 65535"),
            (
                "http://x:65536/",
                "port \"65536\" is not a number from 1 to 65535",
            ),
            ("http://:80/", "the URL names no host"),
            ("http://[::1/", "an IPv6 address needs its closing ']'"),
            ("http://[1.2.3.4]/", "\"1.2.3.4\" is not an IPv6 address"),
            (
                "http://a_b/",
                "\"a_b\" is neither an IPv4 address, an [IPv6] address nor a host name",
            ),
            ("http://u:p@x/", "credentials in the URL are not supported"),
            (
                "http://x/a b",
                "the path \"/a b\" holds a space or a control character; percent-encode it",
            ),
            (
                "http://x/a\r\nX: y",
                "the path \"/a\\r\\nX: y\" holds a space or a control character; percent-encode it",
            ),
        ];
        for (url, want) in cases {
            assert_eq!(target(url), Err(want.to_string()), "{url}");
        }
    }

    #[test]
    fn timeouts_are_positive_and_bounded() {
        assert_eq!(parse_timeout("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_timeout("0.25"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_timeout("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_timeout("3600"), Ok(Duration::from_secs(3600)));
        for bad in [
            "0", "0.000", "-1", "3601", "3600.001", "0.0001", "1.", ".5", "1e3", "inf", "NaN", "x",
            "",
        ] {
            assert!(parse_timeout(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_come_from_the_hosts_file() {
        let hosts = "127.0.0.1 localhost\n::1 localhost ip6-localhost # both\n10.0.0.2 db DB.internal\n# 10.0.0.3 db\n";
        let v4 = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            hosts_addresses(hosts, "localhost"),
            [v4("127.0.0.1"), v4("::1")]
        );
        assert_eq!(hosts_addresses(hosts, "db.internal"), [v4("10.0.0.2")]);
        assert_eq!(hosts_addresses(hosts, "db"), [v4("10.0.0.2")]);
        assert_eq!(hosts_addresses(hosts, "web"), Vec::<IpAddr>::new());
        let name = Host::Name("localhost".into());
        assert_eq!(resolve(&name, 80, "").unwrap().len(), 2);
        let web = Host::Name("web".into());
        assert_eq!(
            resolve(&web, 80, hosts).unwrap_err().to_string(),
            "web is not in /etc/hosts (hardinit --probe does not ask DNS; use an address)"
        );
    }

    #[test]
    fn status_lines_give_their_code() {
        assert_eq!(parse_status("HTTP/1.1 200 OK").unwrap(), 200);
        assert_eq!(parse_status("HTTP/1.0 302").unwrap(), 302);
        for bad in [
            "HTTP/1.1 20 OK",
            "SSH-2.0-OpenSSH",
            "HTTP/1.1 2000 OK",
            "HTTP/1.1 abc",
            "",
        ] {
            assert!(parse_status(bad).is_err(), "{bad}");
        }
    }
}

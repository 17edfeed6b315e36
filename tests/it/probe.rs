//! `hardinit --probe URL` against loopback servers that answer well, badly, slowly, hugely or
//! not at all. Each server takes one connection and lives on its own thread.

use crate::util::{self, Output};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, TcpListener, TcpStream};
use std::process::Command;
use std::thread::JoinHandle;
use std::time::Duration;

/// What a one-connection server saw and did.
struct Served {
    /// The request head it read.
    request: String,
    /// Whether writing its whole answer succeeded.
    wrote_all: bool,
}

/// Serves one connection on `listener` with `answer`, which gets the stream after the
/// request head was read.
fn serve(
    listener: TcpListener,
    answer: impl FnOnce(&mut TcpStream) -> bool + Send + 'static,
) -> JoinHandle<Served> {
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
            head.push(byte[0]);
        }
        let wrote_all = answer(&mut stream);
        Served {
            request: String::from_utf8_lossy(&head).into_owned(),
            wrote_all,
        }
    })
}

fn listen_v4() -> (TcpListener, u16) {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

fn probe(url: &str, extra: &[&str]) -> Output {
    let mut cmd = Command::new(util::hardinit());
    cmd.args(["--probe", url]).args(extra);
    util::run_with_timeout(&mut cmd, Duration::from_secs(10))
}

fn replying(text: &'static str) -> impl FnOnce(&mut TcpStream) -> bool + Send + 'static {
    move |s| s.write_all(text.as_bytes()).is_ok()
}

#[test]
fn probe_2xx_and_3xx_are_healthy_and_the_request_is_one_plain_get() {
    let (l, port) = listen_v4();
    let server = serve(
        l,
        replying("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"),
    );
    let url = format!("http://127.0.0.1:{port}/healthz?full=1");
    let out = probe(&url, &[]);
    out.expect_code(0);
    assert_eq!(out.stdout, format!("{url}: HTTP/1.1 200 OK\n"));
    assert_eq!(
        server.join().unwrap().request,
        format!(
            "GET /healthz?full=1 HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: hardinit-probe\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        )
    );
    // A redirect is an answer: healthy, and not followed (the server takes one connection).
    let (l, port) = listen_v4();
    let server = serve(
        l,
        replying("HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/\r\n\r\n"),
    );
    probe(&format!("http://127.0.0.1:{port}/"), &[]).expect_code(0);
    server.join().unwrap();
}

#[test]
fn probe_other_statuses_and_garbage_are_unhealthy() {
    let cases = [
        (
            "HTTP/1.1 500 Internal Server Error\r\n\r\n",
            "status 500: HTTP/1.1 500 Internal Server Error",
        ),
        (
            "HTTP/1.1 404 Not Found\r\n\r\n",
            "status 404: HTTP/1.1 404 Not Found",
        ),
        (
            "HTTP/1.1 101 Switching\r\n\r\n",
            "status 101: HTTP/1.1 101 Switching",
        ),
        (
            "SSH-2.0-OpenSSH_9.2\r\n",
            "the answer does not start with an HTTP status line: \"SSH-2.0-OpenSSH_9.2\"",
        ),
        ("", "the connection closed before a status line"),
        (
            "HTTP/1.1 200",
            "the answer does not start with an HTTP status line: \"HTTP/1.1 200\"",
        ),
    ];
    for (answer, why) in cases {
        let (l, port) = listen_v4();
        let server = serve(l, replying(answer));
        let out = probe(&format!("http://127.0.0.1:{port}/"), &[]);
        out.expect_code(1);
        assert_eq!(
            out.stderr,
            format!("hardinit --probe http://127.0.0.1:{port}/: {why}\n"),
            "{answer:?}"
        );
        server.join().unwrap();
    }
}

#[test]
fn probe_gives_up_at_its_deadline_on_silent_and_trickling_servers() {
    // Accepts, reads the request and never answers.
    let (l, port) = listen_v4();
    let silent = serve(l, |_| {
        std::thread::sleep(Duration::from_secs(3));
        true
    });
    let out = probe(
        &format!("http://127.0.0.1:{port}/"),
        &["--probe-timeout", "0.5"],
    );
    out.expect_code(1);
    assert_eq!(
        out.stderr,
        format!("hardinit --probe http://127.0.0.1:{port}/: no answer within 500ms\n")
    );
    silent.join().unwrap();
    // One byte of a valid answer every 200 ms: each read succeeds, the deadline still holds.
    let (l, port) = listen_v4();
    let trickle = serve(l, |s| {
        for b in b"HTTP/1.1 200 OK\r\n\r\n" {
            std::thread::sleep(Duration::from_millis(200));
            if s.write_all(&[*b]).is_err() {
                return false;
            }
        }
        true
    });
    let out = probe(
        &format!("http://127.0.0.1:{port}/"),
        &["--probe-timeout", "0.5"],
    );
    out.expect_code(1);
    assert!(out.stderr.ends_with(": no answer within 500ms\n"), "{out}");
    assert!(!trickle.join().unwrap().wrote_all);
}

#[test]
fn probe_reads_only_the_status_line_of_a_huge_answer() {
    let (l, port) = listen_v4();
    // 256 MiB after the status line: the probe must not read it, so the server's writes fail
    // once the probe has closed the connection.
    let huge = serve(l, |s| {
        if s.write_all(b"HTTP/1.1 200 OK\r\n").is_err() {
            return false;
        }
        let chunk = vec![b'x'; 1 << 20];
        (0..256).all(|_| s.write_all(&chunk).is_ok())
    });
    probe(&format!("http://127.0.0.1:{port}/"), &[]).expect_code(0);
    assert!(!huge.join().unwrap().wrote_all);
    // A first line that never ends is not read past 1024 bytes.
    let (l, port) = listen_v4();
    let endless = serve(l, |s| {
        let chunk = vec![b'x'; 1 << 16];
        (0..256).all(|_| s.write_all(&chunk).is_ok())
    });
    let out = probe(&format!("http://127.0.0.1:{port}/"), &[]);
    out.expect_code(1);
    assert!(
        out.stderr
            .ends_with(": no status line in the first 1024 bytes\n"),
        "{out}"
    );
    assert!(!endless.join().unwrap().wrote_all);
}

#[test]
fn probe_tcp_ipv6_and_names_from_etc_hosts() {
    let (l, port) = listen_v4();
    let accepted = std::thread::spawn(move || l.accept().is_ok());
    let out = probe(&format!("tcp://127.0.0.1:{port}"), &[]);
    out.expect_code(0);
    assert_eq!(out.stdout, format!("tcp://127.0.0.1:{port}: connected\n"));
    assert!(accepted.join().unwrap());

    let l6 = TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).unwrap();
    let port6 = l6.local_addr().unwrap().port();
    let server = serve(l6, replying("HTTP/1.0 204 No Content\r\n\r\n"));
    probe(&format!("http://[::1]:{port6}/"), &[]).expect_code(0);
    assert!(server
        .join()
        .unwrap()
        .request
        .contains(&format!("\r\nHost: [::1]:{port6}\r\n")));

    // `localhost` is in every /etc/hosts; a v4-only listener answers whichever it resolves to.
    let (l, port) = listen_v4();
    let server = serve(l, replying("HTTP/1.1 200 OK\r\n\r\n"));
    probe(&format!("http://localhost:{port}/"), &[]).expect_code(0);
    server.join().unwrap();
}

#[test]
fn probe_refused_is_unhealthy_and_bad_urls_are_usage_errors() {
    // A port that was free a moment ago, and is closed now.
    let port = {
        let (l, port) = listen_v4();
        drop(l);
        port
    };
    for url in [
        format!("tcp://127.0.0.1:{port}"),
        format!("http://127.0.0.1:{port}/"),
    ] {
        let out = probe(&url, &[]);
        out.expect_code(1);
        assert_eq!(
            out.stderr,
            format!("hardinit --probe {url}: cannot connect to 127.0.0.1:{port}: Connection refused (os error 111)\n")
        );
    }
    for bad in [
        "127.0.0.1:80",
        "https://127.0.0.1/",
        "http://127.0.0.1:99999/",
    ] {
        probe(bad, &[]).expect_code(2);
    }
    probe("tcp://127.0.0.1:1", &["--probe-timeout", "0"]).expect_code(2);
}

#[test]
fn probe_ignores_the_run_configuration_it_inherits() {
    // `docker exec` gives the probe the container's environment: its HARDINIT_* options are
    // checked but configure nothing (no user is looked up, nothing is applied or started).
    let (l, port) = listen_v4();
    let server = serve(l, replying("HTTP/1.1 200 OK\r\n\r\n"));
    let mut cmd = Command::new(util::hardinit());
    cmd.args(["--probe", &format!("http://127.0.0.1:{port}/")])
        .env("HARDINIT_USER", "no-such-user")
        .env("HARDINIT_SECCOMP", "node")
        .env("HARDINIT_READ_ONLY", "1");
    let out = util::run_with_timeout(&mut cmd, Duration::from_secs(10));
    out.expect_code(0);
    server.join().unwrap();
    // A bad one is still an error, as it would be for the run that the container makes.
    let mut cmd = Command::new(util::hardinit());
    cmd.args(["--probe", "tcp://127.0.0.1:1"])
        .env("HARDINIT_READ_ONLY", "maybe");
    util::run_with_timeout(&mut cmd, Duration::from_secs(10)).expect_code(125);
}

//! A server that holds under connection-level abuse: idle sockets,
//! heads and bodies sent too slowly, more sockets than the cap, and bodies
//! declared too large are each bounded, while normal requests next to them
//! keep succeeding.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use weft_tests::paths;
use weft_tests::server::Server;

/// Flags of the server under attack: small, so the test is quick.
const LIMITS: &[&str] = &[
    "--max-connections",
    "300",
    "--header-read-timeout",
    "4s",
    "--body-read-timeout",
    "2s",
];

/// The soft descriptor limit the server is started with (its hard limit is
/// left as it is): fewer than the idle sockets the test opens, so the server
/// serves them only because it raises its own limit.
const LOW_SOFT_LIMIT: u64 = 256;

fn connect(server: &Server) -> TcpStream {
    let authority = server.endpoint().trim_start_matches("http://").to_owned();
    let s = TcpStream::connect(authority).expect("connect to the server");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s
}

/// Reads until the server closes; returns what it sent.
fn read_all(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// A normal request; returns its latency. A 503 (the cap) is retried as its
/// `Retry-After` says, and the wait counts in the latency.
fn normal_request(api: &weft_tests::http::Api) -> Duration {
    let t = Instant::now();
    loop {
        let r = api.get("instances?top=1");
        match r.status {
            200 => return t.elapsed(),
            503 => std::thread::sleep(Duration::from_millis(200)),
            s => panic!("a normal request got {s}: {}", r.body),
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "normal requests starve"
        );
    }
}

fn soft_fd_limit(pid: u32) -> u64 {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    line.split_whitespace().nth(3).unwrap().parse().unwrap()
}

#[test]
fn connection_abuse_is_bounded_and_normal_requests_keep_succeeding() {
    let dir = tempfile::tempdir().unwrap();
    let components = paths::component_set(&dir.path().join("c"), &["hello-sequence.wasm"]);
    let server = Server::builder(dir.path(), &components)
        .args(LIMITS)
        .soft_fd_limit(LOW_SOFT_LIMIT)
        .start();
    let api = server.api();
    let raised = soft_fd_limit(server.pid());
    assert!(
        raised > LOW_SOFT_LIMIT,
        "the server should raise its soft descriptor limit (still {raised})"
    );

    // 1. More idle sockets than the soft limit it started with, but under the
    //    cap: all are taken, and normal requests are served at once.
    let t = Instant::now();
    let mut idle: Vec<TcpStream> = (0..280).map(|_| connect(&server)).collect();
    eprintln!("280 sockets opened in {:?}", t.elapsed());
    let opened = Instant::now();
    let mut slowest = Duration::ZERO;
    for _ in 0..10 {
        slowest = slowest.max(normal_request(&api));
    }
    eprintln!("under 280 idle sockets: slowest normal request {slowest:?}");
    assert!(slowest < Duration::from_secs(2), "{slowest:?}");

    // 2. Past the cap: the extra connections get 503 with Retry-After at once.
    let mut extra: Vec<TcpStream> = (0..40).map(|_| connect(&server)).collect();
    let replies: Vec<String> = extra.iter_mut().map(read_all).collect();
    let refused = replies
        .iter()
        .filter(|r| r.starts_with("HTTP/1.1 503") && r.contains("retry-after: 1"))
        .count();
    assert!(
        refused >= 5,
        "only {refused} of the connections past the cap got 503"
    );

    // 3. Idle sockets are closed after the header timeout, which frees the cap.
    for s in &mut idle {
        let _ = read_all(s);
    }
    let closed_after = opened.elapsed();
    eprintln!("idle sockets all closed by the server {closed_after:?} after they opened");
    assert!(closed_after < Duration::from_secs(15), "{closed_after:?}");
    idle.clear();
    extra.clear();
    let after = normal_request(&api);
    eprintln!("after the flood: normal request {after:?}");

    // 4. A head sent a byte at a time is cut off by the header timeout.
    let mut slow = connect(&server);
    let t = Instant::now();
    let mut cut = false;
    for b in b"GET /runtime/webhooks/durabletask/instances HTTP/1.1\r\nhost: x\r\nx-slow: "
        .iter()
        .cycle()
    {
        if slow.write_all(&[*b]).is_err() {
            cut = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        if t.elapsed() > Duration::from_secs(15) {
            break;
        }
    }
    eprintln!(
        "a head sent a byte every 100ms was cut off after {:?}",
        t.elapsed()
    );
    assert!(cut, "a slow head was not cut off");

    // 5. A stalled body: the request fails after the body timeout.
    let mut stalled = connect(&server);
    let t = Instant::now();
    write!(
        stalled,
        "POST /runtime/webhooks/durabletask/orchestrators/HelloSequence HTTP/1.1\r\nhost: x\r\n\
         content-type: application/json\r\ncontent-length: 100\r\n\r\n\"only a part"
    )
    .unwrap();
    let reply = read_all(&mut stalled);
    let took = t.elapsed();
    eprintln!(
        "stalled body answered after {took:?}: {}",
        reply.lines().next().unwrap_or("")
    );
    assert!(reply.starts_with("HTTP/1.1 4"), "{reply}");
    assert!(took < Duration::from_secs(10), "{took:?}");

    // 6. A declared body over the limit gets 413 before any of it is sent.
    let mut big = connect(&server);
    write!(
        big,
        "POST /runtime/webhooks/durabletask/orchestrators/HelloSequence HTTP/1.1\r\nhost: x\r\n\
         content-type: application/json\r\ncontent-length: 10000000000\r\n\r\n"
    )
    .unwrap();
    let reply = read_all(&mut big);
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
    assert!(reply.contains("connection: close"), "{reply}");
    let mut big = connect(&server);
    write!(
        big,
        "POST /runtime/webhooks/durabletask/components HTTP/1.1\r\nhost: x\r\n\
         content-type: application/wasm\r\ncontent-length: 1000000000\r\n\r\n"
    )
    .unwrap();
    let reply = read_all(&mut big);
    assert!(
        reply.starts_with("HTTP/1.1 413") && reply.contains("64MiB"),
        "{reply}"
    );

    // Nothing of that touched the work: an instance still runs.
    let id = api.start_ok("HelloSequence", Some("after-abuse"), "");
    api.wait_output(&id, Duration::from_secs(30));
    server.assert_no_panics();
}

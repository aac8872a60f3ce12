//! A loopback HTTP/1.1 server for durable HTTP: Durable Functions' 202 +
//! `Location` pattern, and a body larger than the host's cap.
//!
//! - `GET /start` answers `202` with `Location: /status` and
//!   `Retry-After: {retry_after}`;
//! - `GET /status` answers `202` the same way the first time, then `200`
//!   with `{"done": true, "polls": n}` (n counting the /status requests);
//! - `GET /big` answers `200` with a 2 MiB body.
//!
//! Every request's method and path is recorded, in arrival order.

use std::io::Write;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

pub struct PollTarget {
    pub port: u16,
    requests: Arc<Mutex<Vec<String>>>,
}

impl PollTarget {
    /// Listens on a free loopback port for the rest of the test process.
    pub fn start(retry_after: u32) -> PollTarget {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().expect("local address").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            let mut polls = 0;
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let text = crate::target::read_head(&mut stream);
                let line = text.lines().next().unwrap_or("").to_owned();
                let mut parts = line.split_whitespace();
                let (method, path) = (
                    parts.next().unwrap_or("").to_owned(),
                    parts.next().unwrap_or("").to_owned(),
                );
                seen.lock().unwrap().push(format!("{method} {path}"));
                let accepted = format!(
                    "HTTP/1.1 202 Accepted\r\nlocation: /status\r\nretry-after: {retry_after}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
                let answer = match path.as_str() {
                    "/start" => accepted,
                    "/status" => {
                        polls += 1;
                        if polls < 2 {
                            accepted
                        } else {
                            let body = format!(r#"{{"done":true,"polls":{polls}}}"#);
                            format!(
                                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                                body.len()
                            )
                        }
                    }
                    "/big" => {
                        let body = "x".repeat(2 << 20);
                        format!(
                            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        )
                    }
                    _ => "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                        .to_owned(),
                };
                let _ = stream.write_all(answer.as_bytes());
            }
        });
        PollTarget { port, requests }
    }

    /// `METHOD /path` of every request so far.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    /// `http://127.0.0.1:{port}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

//! Accepting connections: the router behind hyper, with the limits
//! `axum::serve` does not set, so clients that misbehave at the connection
//! level cannot lock everyone else out.
//!
//! - At most `max_connections` are open at once. One more is answered `503`
//!   with `Retry-After` and closed at once: a flood of silent sockets costs a
//!   bounded number of descriptors.
//! - A request head must arrive within `header_timeout` of the connection
//!   opening or of its previous response. hyper's header timer runs whenever
//!   a connection waits for a head, so this is also the keep-alive idle
//!   timeout, and a head sent a byte at a time (slowloris) is cut off too.
//! - A request body must keep coming: at most `body_timeout` between chunks,
//!   else reading it fails (the request gets a 400 saying so).
//! - A declared `Content-Length` over the route's limit is answered `413`
//!   and the connection closes; far over it, before any of the body is read
//!   ([`super::routes`]).
//! - Accept errors (EMFILE when descriptors run out) are logged at most once
//!   a second and retried after a pause; they never end the server.
//!
//! [`raise_fd_limit`] lifts the soft descriptor limit to the hard one at
//! start, as servers do, so the cap rather than the kernel decides.

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// How connections are bounded (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub body_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> ConnectionLimits {
        ConnectionLimits {
            max_connections: 1024,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
        }
    }
}

/// Descriptors kept free of connections: the store, the compiled-code cache,
/// the log, the watcher and activities' files.
const RESERVED_FDS: u64 = 128;

/// How long requests in flight may take to finish once shutdown begins.
const DRAIN: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` until `shutdown` completes, then lets requests
/// in flight finish (for up to [`DRAIN`]).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let app = app.layer(axum::middleware::map_request(
        move |req: axum::extract::Request| async move {
            req.map(|body| {
                axum::body::Body::new(tower_http::timeout::TimeoutBody::new(
                    limits.body_timeout,
                    body,
                ))
            })
        },
    ));
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let mut last_complaint: Option<Instant> = None;
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            () = &mut shutdown => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                if last_complaint.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                    tracing::error!("cannot accept a connection: {e}; retrying");
                    last_complaint = Some(Instant::now());
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            metrics::counter!("weft_connections_refused_total").increment(1);
            tokio::spawn(refuse(stream, limits.max_connections));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            // Errors here are the client's (reset, timeout, bad framing).
            let _ = conn.await;
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("stopping with requests still in flight after {DRAIN:?}");
    }
}

/// Answers a connection past the cap with 503 and closes it.
async fn refuse(mut stream: TcpStream, cap: usize) {
    let body = format!(
        "{{\"error\":\"the server has {cap} connections open, its limit (--max-connections); retry shortly\"}}"
    );
    let reply = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\n\
         connection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(reply.as_bytes())).await;
}

/// Raises the soft limit on open descriptors to the hard limit; returns the
/// limit now in force (`None` where it cannot be read).
#[allow(clippy::unnecessary_cast)] // `rlim_t` is u64 here, not on every target
pub fn raise_fd_limit() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write `lim`.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return None;
        }
        if lim.rlim_cur < lim.rlim_max {
            let old = lim.rlim_cur;
            lim.rlim_cur = lim.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                lim.rlim_cur = old;
            }
        }
    }
    Some(lim.rlim_cur as u64)
}

/// The connection cap that fits in `fd_limit` descriptors with a reserve
/// left for everything else.
pub fn fitting_cap(wanted: usize, fd_limit: Option<u64>) -> usize {
    match fd_limit {
        Some(n) => wanted.min(n.saturating_sub(RESERVED_FDS).max(16) as usize),
        None => wanted,
    }
}

//! A `weft serve` child process on a free loopback port.
//!
//! The server's stdout and stderr (its log, `WEFT_LOG=info`) are appended to
//! `server.log` in the test's directory across restarts, so a test can assert
//! on everything the server said. The store is `weft.redb` in the same
//! directory; [`Server::restart`] reopens it.

use crate::http::Api;
use crate::paths;
use crate::poll;
use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to open its store, compile its components and listen.
const READY_DEADLINE: Duration = Duration::from_secs(60);

/// A running (or killed) `weft serve`.
pub struct Server {
    store: PathBuf,
    components: PathBuf,
    log: PathBuf,
    extra: Vec<String>,
    env: Vec<(String, String)>,
    /// The IP of `--listen`; the tests always connect through 127.0.0.1.
    listen_ip: String,
    port: u16,
    child: Option<Child>,
    /// How many times the process was started.
    starts: u32,
    /// The soft `RLIMIT_NOFILE` the process starts with (hard limit unchanged).
    soft_fd_limit: Option<u64>,
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral loopback port")
        .port()
}

impl Server {
    /// Starts `weft serve` with store `dir/weft.redb` and components from `components`.
    pub fn start(dir: &Path, components: &Path) -> Server {
        Server::start_with(dir, components, &[])
    }

    /// Like [`Server::start`], with extra `serve` flags (e.g. `["--max-hot", "0"]`).
    pub fn start_with(dir: &Path, components: &Path, extra: &[&str]) -> Server {
        Server::builder(dir, components).args(extra).start()
    }

    /// For servers that need more than extra flags: environment variables, or
    /// a `--listen` IP other than 127.0.0.1.
    ///
    /// With `WEFT_TEST_STORE=postgres` in the environment the store is a
    /// fresh database of the test kit's private PostgreSQL server instead
    /// (the end-to-end suite on the second backend).
    pub fn builder(dir: &Path, components: &Path) -> Builder {
        let (store, env) = match std::env::var("WEFT_TEST_STORE").as_deref() {
            Ok("postgres") => {
                let url = weft_testkit::postgres::PgCluster::shared().fresh_database("e2e");
                let cache = dir.to_string_lossy().into_owned();
                (
                    PathBuf::from(url),
                    vec![("XDG_CACHE_HOME".to_owned(), cache)],
                )
            }
            _ => (dir.join("weft.redb"), Vec::new()),
        };
        Builder(Server {
            store,
            components: components.to_path_buf(),
            log: dir.join("server.log"),
            extra: Vec::new(),
            env,
            listen_ip: "127.0.0.1".to_owned(),
            port: 0,
            child: None,
            starts: 0,
            soft_fd_limit: None,
        })
    }

    /// The store file.
    pub fn store(&self) -> &Path {
        &self.store
    }

    /// `http://127.0.0.1:PORT`, what the CLI takes as `--endpoint`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// HTTP helpers bound to this server.
    pub fn api(&self) -> Api {
        Api::new(&self.endpoint())
    }

    /// Everything the server wrote to stdout/stderr, over all its runs.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Fails the test if the server's log shows a panic (a task of the host
    /// died, even if the process carried on).
    #[track_caller]
    pub fn assert_no_panics(&self) {
        let log = self.log();
        if let Some(at) = log.find("panicked") {
            let start = log[..at].rfind('\n').map_or(0, |i| i + 1);
            let text: String = log[start..].chars().take(600).collect();
            panic!("the server panicked:\n{text}");
        }
    }

    /// The process ID of the running server.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("server is running").id()
    }

    fn spawn_and_wait(&mut self) {
        // The port was free when chosen (or was ours before a kill); if someone
        // took it meanwhile, the server exits with "cannot listen": try another.
        for attempt in 0..5 {
            if attempt > 0 {
                self.port = free_port();
            }
            match self.spawn_once() {
                Ok(()) => return,
                Err(log) if log.contains("cannot listen") => continue,
                Err(log) => panic!(
                    "weft serve (start #{}) exited before it answered HTTP; its log:\n{log}",
                    self.starts
                ),
            }
        }
        panic!("weft serve could not find a free port in 5 attempts");
    }

    /// Spawns the process and waits until the port answers HTTP. `Err(log)` if
    /// the process exited first.
    fn spawn_once(&mut self) -> Result<(), String> {
        self.starts += 1;
        let log = File::options()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("open server log");
        use std::io::Write;
        writeln!(
            &log,
            "----- test harness: start #{} on port {} -----",
            self.starts, self.port
        )
        .expect("write server log");
        let mut cmd = Command::new(paths::weft_bin());
        cmd.arg("serve")
            .arg("--store")
            .arg(&self.store)
            .arg("--listen")
            .arg(format!("{}:{}", self.listen_ip, self.port))
            .arg("--components")
            .arg(&self.components)
            .args(&self.extra)
            // Only what the test asks for: no key from the environment.
            .env_remove("WEFT_API_KEY")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("WEFT_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log handle"))
            .stderr(log);
        if let Some(soft) = self.soft_fd_limit {
            use std::os::unix::process::CommandExt;
            // SAFETY: between fork and exec only async-signal-safe calls are made.
            unsafe {
                cmd.pre_exec(move || {
                    let mut lim = libc::rlimit {
                        rlim_cur: 0,
                        rlim_max: 0,
                    };
                    if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    lim.rlim_cur = soft.min(lim.rlim_max);
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let child = cmd.spawn().expect("spawn weft serve");
        self.child = Some(child);

        let probe = format!(
            "{}/runtime/webhooks/durabletask/instances/harness-probe",
            self.endpoint()
        );
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .expect("HTTP client");
        let deadline = Instant::now() + READY_DEADLINE;
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .expect("child")
                .try_wait()
                .expect("try_wait")
            {
                self.child = None;
                return Err(format!("(exit status {status})\n{}", self.log()));
            }
            if client.get(&probe).send().is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                panic!(
                    "weft serve did not answer HTTP on port {} within {READY_DEADLINE:?}; its log:\n{}",
                    self.port,
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGKILLs the server and waits until the process is gone (so its store
    /// file is unlocked).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // `Child::kill` sends SIGKILL on unix.
            let _ = child.kill();
            child.wait().expect("wait for killed server");
        }
    }

    /// Sends SIGTERM and waits for a graceful exit; fails the test if the
    /// server does not exit within 20 s. Returns its exit status.
    pub fn stop(&mut self) -> ExitStatus {
        let pid = self.pid();
        let ok = Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status()
            .expect("run kill -TERM");
        assert!(ok.success(), "kill -TERM {pid} failed");
        // The child stays in `self` until it exited, so that a timeout here
        // still kills it on drop.
        let child = self.child.as_mut().expect("running");
        let status = poll::until(
            "weft serve to exit after SIGTERM",
            poll::DEADLINE,
            || match child.try_wait() {
                Ok(Some(status)) => Ok(status),
                Ok(None) => Err("still running".into()),
                Err(e) => Err(e.to_string()),
            },
        );
        self.child = None;
        status
    }

    /// Starts the server again on the same store (and, if still free, the same port).
    pub fn restart(&mut self) {
        assert!(
            self.child.is_none(),
            "restart: kill or stop the server first"
        );
        self.spawn_and_wait();
    }
}

/// Configures a [`Server`] before it starts; see [`Server::builder`].
pub struct Builder(Server);

impl Builder {
    /// Extra `serve` flags.
    pub fn args(mut self, extra: &[&str]) -> Builder {
        self.0.extra.extend(extra.iter().map(|s| s.to_string()));
        self
    }

    /// An environment variable for the server process (e.g. `WEFT_API_KEY`).
    pub fn env(mut self, key: &str, value: &str) -> Builder {
        self.0.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// The IP to listen on (default 127.0.0.1), e.g. `0.0.0.0`. The harness
    /// still connects through 127.0.0.1.
    pub fn listen_ip(mut self, ip: &str) -> Builder {
        self.0.listen_ip = ip.to_owned();
        self
    }

    /// The store file (default `weft.redb` in the test's directory), e.g. on
    /// a small file system the test fills.
    pub fn store(mut self, path: &Path) -> Builder {
        self.0.store = path.to_path_buf();
        self
    }

    /// Starts the process with this soft limit on open descriptors (its hard
    /// limit stays what it is).
    pub fn soft_fd_limit(mut self, soft: u64) -> Builder {
        self.0.soft_fd_limit = Some(soft);
        self
    }

    /// Starts the server and waits until it answers HTTP.
    pub fn start(self) -> Server {
        let mut s = self.0;
        s.port = free_port();
        s.spawn_and_wait();
        s
    }
}

/// A server on a fresh temporary directory (its store, log and anything else
/// the test puts there); the directory lives as long as the returned guard.
pub fn serve(components: &Path, extra: &[&str]) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start_with(dir.path(), components, extra);
    (dir, server)
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            let log = self.log();
            let lines: Vec<&str> = log.lines().collect();
            let tail = &lines[lines.len().saturating_sub(80)..];
            eprintln!(
                "----- last {} lines of the server log ({}) -----\n{}",
                tail.len(),
                self.log.display(),
                tail.join("\n")
            );
        }
    }
}

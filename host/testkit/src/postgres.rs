//! A private PostgreSQL cluster for tests.
//!
//! [`PgCluster::shared`] starts one cluster per test process, the first time
//! a test asks: `initdb` into a temporary directory, `pg_ctl start` on a free
//! loopback port with its socket in that directory, `trust` authentication
//! for the role `weft` on loopback only. Tests take a fresh database each
//! ([`PgCluster::fresh_database`]), so they never see each other's data.
//!
//! The server refuses to run as root, so under root the cluster belongs to
//! the `postgres` system user (`runuser`). When no PostgreSQL is installed,
//! it is installed with `apt-get install postgresql` (CI machines start
//! without one). A watchdog process stops the cluster (`pg_ctl stop -m
//! immediate`, which signals only this cluster's postmaster) as soon as the
//! test process is gone, however it ended.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// The role tests connect as.
pub const USER: &str = "weft";

/// A running cluster.
pub struct PgCluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    /// Kept so the directory lives as long as the process.
    _dir: tempfile::TempDir,
    as_postgres: bool,
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The newest `…/postgresql/N/bin` holding `initdb`, or `pg_config`'s.
fn find_bin() -> Option<PathBuf> {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return Some(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((n, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, b)| b)
}

fn install() {
    eprintln!("PostgreSQL is not installed; installing it with apt-get (tests need a real server)");
    let ok = |cmd: &mut Command| cmd.status().is_ok_and(|s| s.success());
    let _ = ok(Command::new("apt-get").args(["update", "-qq"]));
    assert!(
        ok(Command::new("apt-get")
            .args(["install", "-y", "-qq", "postgresql"])
            .env("DEBIAN_FRONTEND", "noninteractive")),
        "could not install PostgreSQL with `apt-get install postgresql`; install it (initdb and pg_ctl on this machine) and run the tests again"
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl PgCluster {
    /// The cluster of this test process, started on first use.
    pub fn shared() -> &'static PgCluster {
        static CLUSTER: OnceLock<PgCluster> = OnceLock::new();
        CLUSTER.get_or_init(PgCluster::start)
    }

    fn start() -> PgCluster {
        let bin = find_bin().unwrap_or_else(|| {
            install();
            find_bin().expect("initdb after installing PostgreSQL")
        });
        let as_postgres = is_root();
        let dir = tempfile::Builder::new()
            .prefix("weft-pg-")
            .tempdir()
            .expect("a temporary directory");
        let data = dir.path().join("data");
        let cluster = PgCluster {
            bin,
            data,
            port: free_port(),
            _dir: dir,
            as_postgres,
        };
        if as_postgres {
            // The server's user must reach and own its directory.
            let root = cluster._dir.path();
            run(Command::new("chmod").arg("755").arg(root), "chmod");
            run(
                Command::new("chown").arg("postgres:postgres").arg(root),
                "chown",
            );
        }
        let data = cluster.data.to_string_lossy().into_owned();
        run(
            &mut cluster.command(
                "initdb",
                &[
                    "-D",
                    &data,
                    "-U",
                    USER,
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-sync",
                ],
            ),
            "initdb",
        );
        let socket = cluster._dir.path().to_string_lossy().into_owned();
        let options = format!(
            "-p {} -k {socket} -c listen_addresses=127.0.0.1 -c max_connections=200",
            cluster.port
        );
        let log = cluster._dir.path().join("server.log");
        run(
            &mut cluster.command(
                "pg_ctl",
                &[
                    "-D",
                    &data,
                    "-o",
                    &options,
                    "-l",
                    &log.to_string_lossy(),
                    "-w",
                    "start",
                ],
            ),
            "pg_ctl start",
        );
        cluster.watch_parent();
        cluster
    }

    /// `bin/name args…`, as the `postgres` user under root.
    fn command(&self, name: &str, args: &[&str]) -> Command {
        let program = self.bin.join(name);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        cmd.args(args);
        cmd
    }

    /// Stops the cluster once this process is gone (a detached shell polls
    /// for the test process, then runs `pg_ctl stop`).
    #[expect(
        clippy::zombie_processes,
        reason = "the watchdog must outlive this process; it is reparented, never waited for"
    )]
    fn watch_parent(&self) {
        let stop = self.command(
            "pg_ctl",
            &[
                "-D",
                &self.data.to_string_lossy(),
                "-m",
                "immediate",
                "stop",
            ],
        );
        let argv: Vec<String> = std::iter::once(stop.get_program())
            .chain(stop.get_args())
            .map(|a| format!("'{}'", a.to_string_lossy()))
            .collect();
        let script = format!(
            "while kill -0 {} 2>/dev/null; do sleep 0.5; done; {} >/dev/null 2>&1",
            std::process::id(),
            argv.join(" ")
        );
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the cluster's watchdog");
    }

    /// The port the server listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgres://weft@127.0.0.1:{port}/{database}`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates an empty database with a name no other test uses, and
    /// returns its URL.
    pub fn fresh_database(&self, prefix: &str) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "{prefix}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        self.psql(&format!("CREATE DATABASE {name}"));
        self.url(&name)
    }

    /// Runs one SQL command in database `postgres`; panics with psql's error.
    pub fn psql(&self, sql: &str) -> String {
        self.psql_in("postgres", sql)
    }

    /// Runs one SQL command in `database` (a name, or a URL from
    /// [`PgCluster::fresh_database`]); prints rows unaligned, one a line.
    pub fn psql_in(&self, database: &str, sql: &str) -> String {
        let database = database.rsplit('/').next().unwrap_or(database);
        let out = self
            .command(
                "psql",
                &[
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &self.port.to_string(),
                    "-U",
                    USER,
                    "-d",
                    database,
                    "-Atc",
                    sql,
                ],
            )
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "psql `{sql}` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The data directory (for tests that read the server log or settings).
    pub fn data_dir(&self) -> &Path {
        &self.data
    }
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what} could not start: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_starts_and_answers_sql() {
        let pg = PgCluster::shared();
        assert_eq!(pg.psql("SELECT 1 + 1").trim(), "2");
        let url = pg.fresh_database("kit");
        assert!(url.starts_with("postgres://weft@127.0.0.1:"), "{url}");
        let db = url.rsplit('/').next().unwrap();
        let listed = pg.psql(&format!(
            "SELECT count(*) FROM pg_database WHERE datname = '{db}'"
        ));
        assert_eq!(listed.trim(), "1");
    }
}

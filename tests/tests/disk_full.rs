//! A full disk is survived without a restart (R-3.1): on a small tmpfs filled
//! on purpose, writes are answered 503 with `Retry-After` naming the cause,
//! `/readyz` says so while `/healthz` stays live, reads keep working, the
//! fault is logged once per retry step, and once space is freed every
//! acknowledged instance completes in the same process.
//!
//! Mounting a tmpfs needs root, as the CI machine runs; elsewhere the test
//! fails saying so.

use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use weft_tests::paths;
use weft_tests::server::Server;

const WAIT: Duration = Duration::from_secs(60);

/// A tmpfs of `size` mounted at `dir` for the life of the value.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "this test mounts a small tmpfs to fill it, which needs root: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs(dir.to_owned())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes `path` until the file system is full.
fn fill(path: &Path) {
    use std::io::Write;
    let mut f = std::fs::File::create(path).unwrap();
    let block = vec![0x5au8; 64 << 10];
    while f.write_all(&block).is_ok() {}
    let _ = f.sync_all();
}

#[test]
fn a_full_disk_heals_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let disk = Tmpfs::mount(&dir.path().join("disk"), "24m");
    let components =
        paths::component_set(&dir.path().join("components"), &["human-interaction.wasm"]);
    let server = Server::builder(dir.path(), &components)
        .store(&disk.0.join("weft.redb"))
        .start();
    let api = server.api();
    let pid = server.pid();

    // Acknowledged work whose timers fire while the disk is full.
    let waiting: Vec<String> = (0..10)
        .map(|i| {
            api.start_ok(
                "Approval",
                Some(&format!("w{i}")),
                r#"{"timeoutSeconds": 2}"#,
            )
        })
        .collect();
    fill(&disk.0.join("filler"));
    let full_at = Instant::now();

    // Writes that still fit in the file's free pages succeed; the first that
    // needs the file to grow gets 503, with Retry-After and the cause named.
    let mut acknowledged = waiting.clone();
    let refused = (0..20_000)
        .map(|i| {
            let id = format!("f{i}");
            let r = api.start("Approval", Some(&id), r#"{"timeoutSeconds": 1}"#);
            if r.status == 202 {
                acknowledged.push(id);
            }
            r
        })
        .find(|r| r.status != 202)
        .expect("the disk never filled");
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert!(
        refused.header("retry-after").is_some(),
        "503 without Retry-After"
    );
    let cause = refused.error();
    assert!(cause.contains("disk") && cause.contains("full"), "{cause}");
    eprintln!(
        "{} instances acknowledged before the disk was full",
        acknowledged.len()
    );
    // Probes: live, not ready, and why.
    let base = server.endpoint();
    let health = reqwest::blocking::get(format!("{base}/healthz")).unwrap();
    assert_eq!(health.status(), 200);
    let ready = reqwest::blocking::get(format!("{base}/readyz")).unwrap();
    assert_eq!(ready.status(), 503);
    assert!(ready.text().unwrap().contains("full"));
    // Reads keep working.
    let t = Instant::now();
    loop {
        let r = api.status("w0");
        if r.status == 200 || r.status == 202 {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "reads fail while the disk is full: {}",
            r.body
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Let the timers come due and the retries back off a few steps.
    std::thread::sleep(Duration::from_secs(4));
    let r = api.start("Approval", Some("refused"), r#"{"timeoutSeconds": 1}"#);
    assert_eq!(r.status, 503, "{}", r.body);

    std::fs::remove_file(disk.0.join("filler")).unwrap();
    let freed = Instant::now();
    let t = Instant::now();
    loop {
        let ready = reqwest::blocking::get(format!("{base}/readyz")).unwrap();
        if ready.status() == 200 {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "still not ready after space returned"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let resumed = freed.elapsed();
    for id in &acknowledged {
        assert_eq!(api.wait_output(id, WAIT), json!("timed out"), "{id}");
    }
    let all_done = freed.elapsed();
    eprintln!(
        "disk full for {:?}; ready again {resumed:?} after space was freed; all {} acknowledged \
         instances completed {all_done:?} after",
        freed - full_at,
        acknowledged.len()
    );
    let id = api.start_ok("Approval", Some("after"), r#"{"timeoutSeconds": 1}"#);
    assert_eq!(api.wait_output(&id, WAIT), json!("timed out"));
    assert_eq!(server.pid(), pid, "no restart");

    // Logged once per retry step, not once per retry.
    let log = server.log();
    let steps = log.matches("storage is failing").count();
    eprintln!("the fault was logged {steps} times");
    assert!((1..=20).contains(&steps), "{steps} fault lines:\n{log}");
    server.assert_no_panics();
}

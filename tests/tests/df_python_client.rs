//! Durable Functions' own Python client library (`azure-functions-durable`
//! 1.7.0, from PyPI) against the real binary: the script in
//! `tests/interop/df_python_client.py` signals an entity, reads its state,
//! reads a missing one, starts an orchestration and polls its status, all
//! through the library's own HTTP calls with `rpcBaseUrl` pointed at Weft.
//!
//! Needs python3 with venv and, on the first run, PyPI: the library is
//! installed into `target/df-client-venv`.

use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Command;
use weft_tests::paths;
use weft_tests::server::Server;

const PACKAGE: &str = "azure-functions-durable==1.7.0";

/// The venv's python, created and populated on first use.
fn python() -> PathBuf {
    let venv = paths::repo_root().join("target/df-client-venv");
    let python = venv.join("bin/python");
    let ready = venv.join(".installed");
    if ready.exists() {
        return python;
    }
    let run = |cmd: &mut Command, what: &str| {
        let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(
            out.status.success(),
            "{what} failed (needs python3 with venv, and PyPI): {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(
        Command::new("python3").args(["-m", "venv"]).arg(&venv),
        "python3 -m venv",
    );
    run(
        Command::new(&python).args(["-m", "pip", "install", "-q", PACKAGE]),
        "pip install azure-functions-durable",
    );
    std::fs::write(&ready, PACKAGE).expect("mark the venv ready");
    python
}

#[test]
fn the_durable_functions_python_client_signals_reads_and_starts() {
    let python = python();
    let dir = tempfile::tempdir().unwrap();
    let components = paths::component_set(
        &dir.path().join("components"),
        &["counter.wasm", "hello-sequence.wasm"],
    );
    let server = Server::start(dir.path(), &components);
    let script = paths::repo_root().join("tests/interop/df_python_client.py");
    let base = format!("{}/runtime/webhooks/durabletask/", server.endpoint());
    let out = Command::new(&python)
        .arg(&script)
        .arg(&base)
        .output()
        .expect("run the client script");
    assert!(
        out.status.success(),
        "the client script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_slice(&out.stdout).expect("the script prints JSON");
    assert_eq!(
        seen,
        json!({
            "state": 12,
            "missing_exists": false,
            "output": ["Hello Tokyo!", "Hello Seattle!", "Hello London!"],
        })
    );
    server.assert_no_panics();
}

//! Running the `weft` management commands (`weft start-new ...`) against a
//! server, and reading what they print.

use crate::paths;
use serde_json::Value;
use std::process::{Command, Output};

/// Runs `weft <args> --endpoint <endpoint>` with `env` set, and nothing from
/// the test's own environment that the CLI reads (`WEFT_ENDPOINT`,
/// `WEFT_API_KEY`) unless `env` gives it.
pub fn run_env(endpoint: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(paths::weft_bin())
        .args(args)
        .arg("--endpoint")
        .arg(endpoint)
        .env_remove("WEFT_ENDPOINT")
        .env_remove("WEFT_API_KEY")
        .envs(env.iter().copied())
        .output()
        .expect("run weft")
}

/// Runs `weft <args> --endpoint <endpoint>`.
pub fn run(endpoint: &str, args: &[&str]) -> Output {
    run_env(endpoint, args, &[])
}

/// Output bytes as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Fails unless the command exited 0; returns its stdout parsed as JSON.
#[track_caller]
pub fn json_ok(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "expected exit 0; got {}\nstdout: {}\nstderr: {}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout should be JSON ({e}):\n{}\nstderr: {}",
            text(&out.stdout),
            text(&out.stderr)
        )
    })
}

/// Fails unless the command exited non-zero with a readable error on stderr
/// that contains every one of `needles` (and no panic, and nothing on
/// stdout); returns stderr.
#[track_caller]
pub fn fails(out: &Output, needles: &[&str]) -> String {
    let err = text(&out.stderr);
    assert!(
        !out.status.success(),
        "expected a non-zero exit; got {}\nstdout: {}\nstderr: {err}",
        out.status,
        text(&out.stdout),
    );
    assert!(!err.contains("panicked"), "the CLI panicked: {err}");
    for n in needles {
        assert!(err.contains(n), "stderr should mention {n:?}: {err}");
    }
    assert!(
        text(&out.stdout).trim().is_empty(),
        "a failed command prints nothing on stdout; got {}",
        text(&out.stdout)
    );
    err
}

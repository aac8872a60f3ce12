//! Locations of the artefacts the tests run: the release binary and the
//! component directories, found from this crate's manifest directory.

use std::path::{Path, PathBuf};

const HOW_TO_BUILD: &str = "run scripts/build-components.sh and cargo build --release first";

/// The repository root (the parent of `tests/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent directory")
        .to_path_buf()
}

fn must_exist(path: PathBuf, what: &str) -> PathBuf {
    assert!(
        path.exists(),
        "{what} not found at {}: {HOW_TO_BUILD}",
        path.display()
    );
    path
}

/// `target/release/weft`.
pub fn weft_bin() -> PathBuf {
    must_exist(
        repo_root().join("target/release/weft"),
        "the weft release binary",
    )
}

/// `target/components`: the example components (HelloSequence, FanOutFanIn,
/// Approval, Monitor).
pub fn components() -> PathBuf {
    let dir = must_exist(
        repo_root().join("target/components"),
        "the example components",
    );
    must_exist(dir.join("hello-sequence.wasm"), "hello-sequence.wasm");
    dir
}

/// `target/test-components`: the test programs (adversarial, crash-mix).
pub fn test_components() -> PathBuf {
    let dir = must_exist(
        repo_root().join("target/test-components"),
        "the test components",
    );
    must_exist(dir.join("crash-mix.wasm"), "crash-mix.wasm");
    must_exist(dir.join("adversarial.wasm"), "adversarial.wasm");
    dir
}

/// A components directory `dest` holding only `files` (e.g.
/// `["human-interaction.wasm", "flaky.wasm"]`), each taken from
/// `target/components` or `target/test-components`. Fewer components make a
/// faster start, and examples and test programs can be served together.
pub fn component_set(dest: &Path, files: &[&str]) -> PathBuf {
    std::fs::create_dir_all(dest).expect("create components directory");
    for f in files {
        let src = [components(), test_components()]
            .into_iter()
            .map(|d| d.join(f))
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("component {f} not found: {HOW_TO_BUILD}"));
        std::os::unix::fs::symlink(&src, dest.join(f)).expect("link component");
    }
    dest.to_path_buf()
}

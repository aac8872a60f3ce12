#!/usr/bin/env bash
# Everything CI runs: formatting, lints (warnings denied), the guest components,
# the release build, and every test (unit, engine tables, store conformance and
# crash on redb and PostgreSQL, end-to-end on the real binary on both backends).
# One command, from a fresh clone.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

step() { printf '\n== %s\n' "$*"; }

step "rustfmt"
cargo fmt --all --check

step "guest components (wasm32-wasip2)"
scripts/build-components.sh

step "release build"
cargo build --release --workspace --all-targets

step "clippy (warnings denied)"
cargo clippy --release --workspace --all-targets -- -D warnings

step "tests"
cargo test --release --workspace

step "end-to-end tests on PostgreSQL"
scripts/e2e-postgres.sh

step "OpenAPI check (schemathesis)"
scripts/openapi-check.sh

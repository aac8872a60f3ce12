#!/usr/bin/env bash
# The end-to-end suite again, with every server's store a fresh database of a
# private PostgreSQL server (WEFT_TEST_STORE=postgres; the test kit installs
# and starts PostgreSQL itself). disk_full.rs is left out: it fills a tmpfs
# under a redb file, which a database server does not have. postgres_hosts.rs
# runs on PostgreSQL anyway, in the main test run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
args=()
for f in tests/tests/*.rs; do
    name="$(basename "$f" .rs)"
    case "$name" in disk_full | postgres_hosts) continue ;; esac
    args+=(--test "$name")
done
# --workspace keeps the features unified with the main test run: nothing is built again.
WEFT_TEST_STORE=postgres cargo test --release --workspace "${args[@]}"

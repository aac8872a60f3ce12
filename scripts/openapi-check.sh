#!/usr/bin/env bash
# Checks the running server against openapi.yaml with schemathesis: starts
# `target/release/weft serve` on a free loopback port with a fresh store and
# target/components, fuzzes every operation (examples, coverage, fuzzing and
# stateful phases), stops the server, and exits with schemathesis's status.
#
# Checks: every check schemathesis has (no 5xx, status codes documented,
# content types, headers and bodies conforming to the schema, bad input
# refused, unsupported methods answered 405, ...) except two that cannot hold
# for this API:
# - positive_data_acceptance: many schema-valid requests are rightly refused
#   (an orchestrator that is not deployed is a 400, a finished instance a 410,
#   a continuation token the server did not issue a 400, pollingInterval
#   longer than timeout a 400), which no schema can express;
# - use_after_free: an instance is identified by its ID *and* the taskHub
#   query parameter, which the check ignores, so it reports the same ID alive
#   in another task hub as "deleted resource still available".
#
# Assumes `cargo build --release` and `scripts/build-components.sh` have run.
# Needs python3 (with venv) and, on the first run, PyPI: schemathesis is
# installed into target/openapi-venv.
#
# Environment:
#   OPENAPI_CHECK_EXAMPLES  test cases per operation and phase (default 150)
#   OPENAPI_CHECK_SEED      random seed (default fixed, so runs repeat;
#                           "random" lets schemathesis pick one)
# Extra arguments are passed to `schemathesis run`.
#
# One worker (schemathesis's default): with --workers 2 the Python 3.11 here
# hit an interpreter error inside schemathesis's coverage phase.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCHEMATHESIS_VERSION=4.32.5
VENV="$ROOT/target/openapi-venv"
WEFT="$ROOT/target/release/weft"
COMPONENTS="$ROOT/target/components"
SPEC="$ROOT/openapi.yaml"
REPORTS="$ROOT/target/openapi-check"
EXAMPLES="${OPENAPI_CHECK_EXAMPLES:-150}"
SEED="${OPENAPI_CHECK_SEED:-20261123}"
# Hard bound on the schemathesis run (seconds); it normally takes well under a minute.
RUN_LIMIT=300

say() { printf 'openapi-check: %s\n' "$*" >&2; }

[[ -x "$WEFT" ]] || { say "$WEFT is missing; run 'cargo build --release' first"; exit 2; }
compgen -G "$COMPONENTS/*.wasm" >/dev/null ||
    { say "no components in $COMPONENTS; run scripts/build-components.sh first"; exit 2; }

# schemathesis, pinned, in its own venv.
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "version $SCHEMATHESIS_VERSION\$"; then
    say "installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
    [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        "schemathesis==$SCHEMATHESIS_VERSION"
fi

# Traffic goes to 127.0.0.1 only: no proxy for the server or the checks.
unset http_proxy https_proxy all_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

WORK="$(mktemp -d "${TMPDIR:-/tmp}/openapi-check.XXXXXX")"
SERVER_PID=""
stop_server() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
}
cleanup() {
    stop_server
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The server picks a free port itself (port 0) and logs the address it got.
LOG="$WORK/weft.log"
WEFT_LOG=info "$WEFT" serve --store "$WORK/weft.redb" --listen 127.0.0.1:0 \
    --components "$COMPONENTS" >"$LOG" 2>&1 &
SERVER_PID=$!

PORT=""
for _ in $(seq 300); do # up to 30 s
    kill -0 "$SERVER_PID" 2>/dev/null || { say "weft serve exited at start:"; cat "$LOG" >&2; exit 1; }
    PORT="$(sed -n 's/.*weft is serving addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$LOG" | head -n1)"
    [[ -n "$PORT" ]] && break
    sleep 0.1
done
[[ -n "$PORT" ]] || { say "weft serve did not start within 30 s:"; cat "$LOG" >&2; exit 1; }
BASE="http://127.0.0.1:$PORT/runtime/webhooks/durabletask"
"$VENV/bin/python" - "$BASE/taskhubs" <<'EOF' || { say "weft serve does not answer at $BASE:"; cat "$LOG" >&2; exit 1; }
import sys, time, urllib.request
for _ in range(100):  # up to ~10 s
    try:
        with urllib.request.urlopen(sys.argv[1], timeout=2) as r:
            if r.status == 200:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.1)
sys.exit(1)
EOF
say "weft serve is up at $BASE (pid $SERVER_PID)"

seed_args=(--seed "$SEED")
[[ "$SEED" == random ]] && seed_args=()
rm -rf "$REPORTS"
mkdir -p "$REPORTS"
cmd=(
    "$VENV/bin/schemathesis" run "$SPEC"
    --url "$BASE"
    --checks all --exclude-checks positive_data_acceptance,use_after_free
    # Schemathesis cannot generate application/wasm bodies; deploys are
    # tested end to end in tests/tests/components.rs and deploy_check.rs.
    --exclude-operation-id deployComponent
    # /metrics is outside the base path; tests/tests/metrics.rs scrapes it.
    --exclude-operation-id getMetrics
    --exclude-operation-id getHealth
    --exclude-operation-id getReady
    --max-examples "$EXAMPLES"
    "${seed_args[@]}"
    --request-timeout 20
    --generation-database none
    --report junit --report-junit-path "$REPORTS/junit.xml"
    --no-color
    "$@"
)
say "running: ${cmd[*]#"$ROOT/"}"
started=$SECONDS
set +e
# From the work directory, so nothing schemathesis writes lands in the repository.
(cd "$WORK" && timeout --foreground --kill-after=10 "$RUN_LIMIT" "${cmd[@]}")
rc=$?
set -e
elapsed=$((SECONDS - started))
[[ $rc -eq 124 || $rc -eq 137 ]] && say "schemathesis did not finish within $RUN_LIMIT s"

# A panic is a server bug even when no response showed it.
server_died=0
kill -0 "$SERVER_PID" 2>/dev/null || server_died=1
if grep -q -e 'panicked' -e 'memory allocation of' "$LOG"; then
    say "the server panicked during the run:"
    grep -A1 -e 'panicked' -e 'memory allocation of' "$LOG" | grep -v '^--$' | head -n 40 >&2
    [[ $rc -eq 0 ]] && rc=1
fi
if [[ $server_died -eq 1 ]]; then
    say "weft serve died during the run; the end of its log:"
    tail -n 20 "$LOG" >&2
    [[ $rc -eq 0 ]] && rc=1
fi
stop_server

# Result line: JUnit test cases (one per API operation, plus the stateful tests).
summary="$("$VENV/bin/python" - "$REPORTS/junit.xml" <<'EOF' || echo "no report"
import sys, xml.etree.ElementTree as ET
cases = ET.parse(sys.argv[1]).getroot().iter("testcase")
passed = failed = skipped = 0
for c in cases:
    if c.find("failure") is not None or c.find("error") is not None:
        failed += 1
    elif c.find("skipped") is not None:
        skipped += 1
    else:
        passed += 1
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
EOF
)"
echo "openapi-check: $summary (schemathesis $SCHEMATHESIS_VERSION, seed $SEED, ${elapsed}s, exit $rc)"
exit "$rc"

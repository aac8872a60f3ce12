#!/usr/bin/env bash
# Builds everything in release, starts `weft serve` on the embedded store with
# the example components, runs HelloSequence once and prints its output, then
# keeps serving until Ctrl-C.
#   WEFT_STORE   store file        (default weft.redb)
#   WEFT_LISTEN  HTTP address      (default 127.0.0.1:7071)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

store="${WEFT_STORE:-weft.redb}"
listen="${WEFT_LISTEN:-127.0.0.1:7071}"
endpoint="http://$listen"

scripts/build-components.sh
cargo build --release -p weft

target/release/weft serve --store "$store" --listen "$listen" --components target/components &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT INT TERM

host="${listen%:*}"
port="${listen##*:}"
for _ in $(seq 1 100); do
    if ! kill -0 "$server" 2>/dev/null; then
        echo "weft serve exited; see the messages above (is $listen already in use?)" >&2
        exit 1
    fi
    if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then break; fi
    sleep 0.1
done

echo "== starting HelloSequence"
target/release/weft start-new --function-name HelloSequence --wait 30 --endpoint "$endpoint"
echo
echo "weft is serving on $endpoint (store: $store). Try:"
echo "  target/release/weft start-new --function-name FanOutFanIn --input 100 --wait 10 --endpoint $endpoint"
echo "Press Ctrl-C to stop."
wait "$server"

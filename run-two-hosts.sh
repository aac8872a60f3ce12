#!/usr/bin/env bash
# Two Weft hosts sharing one task hub on a private PostgreSQL server: builds
# everything (release), starts PostgreSQL in a temporary directory on a free
# port (installed with apt-get when missing), starts `weft serve` twice on it,
# starts an instance through the first host and waits for it through the
# second, then keeps both serving until Ctrl-C and stops everything it started.
#   WEFT_LISTEN_A, WEFT_LISTEN_B   HTTP addresses (default 127.0.0.1:7071, :7072)
#   WEFT_LEASE                     partition lease (default 10s)
#   WEFT_DEMO_ONLY=1               stop after the demo instead of serving on
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

listen_a="${WEFT_LISTEN_A:-127.0.0.1:7071}"
listen_b="${WEFT_LISTEN_B:-127.0.0.1:7072}"

scripts/build-components.sh
cargo build --release -p weft
weft="$PWD/target/release/weft"

# PostgreSQL: the newest installed server, or one from the package manager.
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    echo "== installing PostgreSQL (apt-get install postgresql)"
    sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
fi
dir="$(mktemp -d /tmp/weft-two-hosts.XXXXXX)"
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
    # The server refuses to run as root.
    chmod 755 "$dir"; chown postgres:postgres "$dir"
    as_pg=(runuser -u postgres --)
fi
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    "${as_pg[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT INT TERM
echo "== PostgreSQL in $dir on port $port"
"${as_pg[@]}" "$bin/initdb" -D "$dir/data" -U weft --auth=trust -E UTF8 --locale=C >/dev/null
"${as_pg[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1" start >/dev/null
"${as_pg[@]}" "$bin/createdb" -h 127.0.0.1 -p "$port" -U weft weft
url="postgres://weft@127.0.0.1:$port/weft"

wait_http() { # pid host:port
    local host="${2%:*}" port="${2##*:}"
    for _ in $(seq 1 300); do
        kill -0 "$1" 2>/dev/null || { echo "weft serve on $2 exited (is the address in use?)" >&2; exit 1; }
        if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then return; fi
        sleep 0.1
    done
    echo "weft serve on $2 did not answer" >&2; exit 1
}
for listen in "$listen_a" "$listen_b"; do
    "$weft" serve --store "$url" --listen "$listen" --components target/components \
        --lease "${WEFT_LEASE:-10s}" &
    pids+=($!)
    wait_http "$!" "$listen"
done

echo "== HelloSequence started through http://$listen_a, awaited through http://$listen_b"
id="$("$weft" start-new --function-name HelloSequence --endpoint "http://$listen_a" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
"$weft" wait --id "$id" --timeout 30 --endpoint "http://$listen_b"
echo
if [ "${WEFT_DEMO_ONLY:-}" = 1 ]; then exit 0; fi
echo "Two hosts serve the default task hub on $url:"
echo "  http://$listen_a and http://$listen_b (each runs the instances of its partitions)."
echo "Kill one (kill -9 ${pids[0]}) and the other takes its instances over once its lease ends."
echo "Press Ctrl-C to stop both hosts and PostgreSQL."
wait

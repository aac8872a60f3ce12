#!/usr/bin/env bash
# Builds every guest component (examples/* and tests/programs/*) for
# wasm32-wasip2 in one cargo invocation and copies the results to
#   target/components/<package>.wasm        (examples)
#   target/test-components/<package>.wasm   (test programs)
#
# Guests build in their own target directory, target/guest, so that this
# script never contends with a host build running in target/.
# Runnable from any directory. Extra arguments are passed to cargo.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target=wasm32-wasip2
export CARGO_TARGET_DIR="$repo/target/guest"

if command -v rustup >/dev/null; then
    installed="$(rustup target list --installed)"
    if ! grep -qx "$target" <<<"$installed"; then
        echo "installing the $target target" >&2
        rustup target add "$target"
    fi
else
    echo "rustup not found; assuming the $target target is installed" >&2
fi

# The package name of a crate directory (the first `name = "..."` in Cargo.toml).
package_name() {
    sed -n 's/^name *= *"\([^"]*\)".*/\1/p' "$1/Cargo.toml" | head -n 1
}

examples=()
programs=()
for dir in "$repo"/examples/*/; do
    [[ -f "$dir/Cargo.toml" ]] && examples+=("$(package_name "$dir")")
done
for dir in "$repo"/tests/programs/*/; do
    [[ -f "$dir/Cargo.toml" ]] && programs+=("$(package_name "$dir")")
done
if (( ${#examples[@]} + ${#programs[@]} == 0 )); then
    echo "no component crates found under $repo/examples or $repo/tests/programs" >&2
    exit 1
fi

package_args=()
for package in "${examples[@]}" "${programs[@]}"; do
    package_args+=(-p "$package")
done

(cd "$repo" && cargo build --release --target "$target" "${package_args[@]}" "$@")

# Copies the built module of `package` into directory `dest` and prints its size.
install_component() {
    local package="$1" dest="$2"
    local built="$CARGO_TARGET_DIR/$target/release/${package//-/_}.wasm"
    if [[ ! -f "$built" ]]; then
        echo "missing build output $built (is $package a cdylib?)" >&2
        exit 1
    fi
    mkdir -p "$dest"
    cp "$built" "$dest/$package.wasm"
    printf '%-40s %10s bytes\n' "${dest#"$repo"/}/$package.wasm" "$(wc -c < "$dest/$package.wasm" | tr -d ' ')"
}

for package in "${examples[@]}"; do
    install_component "$package" "$repo/target/components"
done
for package in "${programs[@]}"; do
    install_component "$package" "$repo/target/test-components"
done

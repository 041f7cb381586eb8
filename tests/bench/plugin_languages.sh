#!/usr/bin/env bash
# keep-larger-amount in Rust, Python and JavaScript side by side: builds the
# Python and JavaScript examples the way their authors would (`hubsync plugin
# new --lang`, the example's sources over it, the project's ./build.sh), then
# runs the plugin-host bench `languages` on all three in one process.
#
#   tests/bench/plugin_languages.sh BIN   (BIN: a hubsync binary; needs python3 with venv, node and npm)
set -euo pipefail
bin=$(realpath "$1")
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for lang in python js; do
  "$bin" plugin new "$tmp/$lang/keep-larger-amount" --kind conflict-policy --lang "$lang" > /dev/null
  cp -r "$root/plugins/examples/$lang/keep-larger-amount/." "$tmp/$lang/keep-larger-amount/"
  "$tmp/$lang/keep-larger-amount/build.sh" > /dev/null
done
cd "$root"
HUBSYNC_BENCH_PYTHON="$tmp/python/keep-larger-amount/keep-larger-amount.wasm" \
HUBSYNC_BENCH_JS="$tmp/js/keep-larger-amount/keep-larger-amount.wasm" \
  cargo bench -q -p hubsync-plugin-host --bench languages

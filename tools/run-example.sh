#!/usr/bin/env bash
# Builds libuhyve (installing what is missing) and boots the bundled example guest.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/setup.sh >/dev/null
build/tools/uhyve build/examples/hello_guest "$@"

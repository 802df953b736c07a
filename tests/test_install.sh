#!/usr/bin/env bash
# Installs the library into a scratch directory, builds examples/embed.c against it through pkg-config and runs it.
set -euo pipefail
build_root=$1
source_root=$2
guest=$3

destdir=$(mktemp -d)
trap 'rm -rf "$destdir"' EXIT

meson install -C "$build_root" --destdir "$destdir" --quiet >/dev/null

pcfile=$(find "$destdir" -name libuhyve.pc | head -n 1)
if [ -z "$pcfile" ]; then
	echo "FAIL: libuhyve.pc was not installed"
	exit 1
fi
export PKG_CONFIG_PATH=$(dirname "$pcfile")
export PKG_CONFIG_SYSROOT_DIR=$destdir

cc -std=c11 -Wall -Wextra -Werror "$source_root/examples/embed.c" \
	$(pkg-config --cflags --libs libuhyve) -o "$destdir/embed"

# The header must also compile as C++ (extern "C").
c++ -std=c++17 -Wall -Wextra -Werror -fsyntax-only -x c++ \
	$(pkg-config --cflags libuhyve) - <<'CPP'
#include <uhyve/uhyve.h>
int main() { uhyve_config_free(uhyve_config_new()); return 0; }
CPP

libdir=$(dirname "$(find "$destdir" -name 'libuhyve.so' | head -n 1)")
if [ ! -e /dev/kvm ]; then
	echo "SKIP: /dev/kvm is missing, so the installed example cannot run"
	exit 77
fi
output=$(LD_LIBRARY_PATH=$libdir "$destdir/embed" "$guest" "$source_root")
echo "$output"
case "$output" in
*"Hello from a Hermit-ABI guest on libuhyve!"*"embed: the guest exited with code 0"*)
	echo "ok: installed library found through pkg-config and ran the guest"
	;;
*)
	echo "FAIL: unexpected output"
	exit 1
	;;
esac

#!/usr/bin/env bash
# Installs the build's Debian packages where missing (apt-get, as root) and builds libuhyve in ./build.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
	meson ninja-build pkg-config gcc
	libelf-dev libglib2.0-dev libfdt-dev libunicorn-dev libarchive-dev
	check clang-format
	# clang and its runtimes (libFuzzer, sanitizers) for tests/fuzz
	clang libclang-rt-dev
)

missing=()
for package in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null |
		grep -q "install ok installed"; then
		missing+=("$package")
	fi
done

if ((${#missing[@]} > 0)); then
	if [ "$(id -u)" -ne 0 ]; then
		echo "setup: missing Debian packages: ${missing[*]}" >&2
		echo "setup: run this script as root, or install them with apt-get" >&2
		exit 1
	fi
	echo "setup: installing ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -f build/build.ninja ]; then
	meson setup build
fi
ninja -C build

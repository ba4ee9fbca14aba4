#!/bin/sh
# build.sh builds rqlited (rqlite v8.43.4) from source into a cache directory
# and prints the binary's path. A second run finds the binary and skips the
# build (a cold build took 84 s on two cores). With -cached it
# never builds: it prints the path and exits 1 if no binary is there yet (the
# Go tests ask so, and skip the cluster tests rather than build).
#
#   tools/rqlite/build.sh            # prints e.g. ~/.cache/tokenapi/rqlite-v8.43.4/rqlited
#   RQLITED=$(tools/rqlite/build.sh)
#   tools/rqlite/build.sh -cached    # the same path, or exit 1 without building
set -eu

version=v8.43.4
dir="${XDG_CACHE_HOME:-$HOME/.cache}/tokenapi/rqlite-$version"
bin="$dir/rqlited"

here=$(cd "$(dirname "$0")" && pwd)
# A file in this checkout that changes whenever a binary is found or built:
# go test caches a result by the files of the module a test looked at, and
# the binary lies outside it, so the tests look at this file too.
marker="$here/.rqlited-found"

if [ -x "$bin" ]; then
	echo "$bin" >"$marker"
	echo "$bin"
	exit 0
fi
if [ "${1:-}" = "-cached" ]; then
	echo "$bin"
	exit 1
fi

mkdir -p "$dir"
# rqlited is cgo (it embeds SQLite); build into a temporary name and rename,
# so an interrupted build never leaves a half-written binary that a later run
# would trust.
(cd "$here" && CGO_ENABLED=1 go build -trimpath -o "$bin.tmp.$$" github.com/rqlite/rqlite/v8/cmd/rqlited) >&2
mv "$bin.tmp.$$" "$bin"
echo "$bin" >"$marker"
echo "$bin"

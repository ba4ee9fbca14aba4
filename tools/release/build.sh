#!/usr/bin/env bash
# Release binaries of tokenapi for linux/amd64 and linux/arm64, without make:
#   tools/release/build.sh [OUTDIR]          (default: dist/)
# VERSION=1.2.3 stamps that version (-ldflags -X main.stampedVersion);
# without it, a checkout of a tag v1.2.3 stamps 1.2.3, and anything else
# leaves the binary to call itself <release>+dev (version.go).
#
# The SQLite driver is cgo, so each target needs a C compiler for it:
# the host's gcc for amd64, Debian's gcc-aarch64-linux-gnu for arm64
# (installed here when missing, as root with apt-get). The binaries are
# linked statically (-extldflags -static): they run on any Linux of their
# architecture, whatever its libc. The tags keep glibc's parts that need
# shared libraries at run time out: netgo (Go's DNS resolver, not
# getaddrinfo), osusergo (no getpwnam) and sqlite_omit_load_extension (no
# dlopen; tokenapi loads no SQLite extension). Writes OUTDIR/SHA256SUMS.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/dist}
mkdir -p "$out"
out=$(cd "$out" && pwd)

host=$(go env GOHOSTARCH)
cross_cc() { # the C compiler for GOARCH $1
  if [ "$1" = "$host" ]; then echo gcc; return; fi
  case $1 in
    arm64) echo aarch64-linux-gnu-gcc ;;
    amd64) echo x86_64-linux-gnu-gcc ;;
  esac
}
package_of() { # the Debian package of a cross compiler
  case $1 in
    aarch64-linux-gnu-gcc) echo gcc-aarch64-linux-gnu libc6-dev-arm64-cross ;;
    x86_64-linux-gnu-gcc) echo gcc-x86-64-linux-gnu libc6-dev-amd64-cross ;;
    gcc) echo gcc libc6-dev ;;
  esac
}

version=${VERSION:-}
if [ -z "$version" ] && tag=$(git -C "$root" describe --tags --exact-match --match 'v[0-9]*' 2>/dev/null); then
  version=${tag#v}
fi
if [ -n "$version" ] && ! [[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$ ]]; then
  echo "VERSION=$version is not a version such as 1.2.3" >&2; exit 2
fi
ldflags="-s -w -extldflags -static"
if [ -n "$version" ]; then ldflags+=" -X main.stampedVersion=$version"; fi

rm -f "$out/SHA256SUMS"
for arch in amd64 arm64; do
  cc=$(cross_cc "$arch")
  if ! command -v "$cc" >/dev/null; then
    # shellcheck disable=SC2046 # the package list is two words
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(package_of "$cc")
  fi
  bin=tokenapi-linux-$arch
  echo "building $bin with $cc${version:+, version $version}" >&2
  (cd "$root" && CGO_ENABLED=1 GOOS=linux GOARCH=$arch CC=$cc \
    go build -trimpath -tags 'netgo osusergo sqlite_omit_load_extension' -ldflags "$ldflags" -o "$out/$bin" .)
done
(cd "$out" && sha256sum tokenapi-linux-amd64 tokenapi-linux-arm64 >SHA256SUMS)
cat "$out/SHA256SUMS"

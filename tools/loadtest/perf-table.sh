#!/usr/bin/env bash
# perf-table.sh: the figures of the README's performance table, with the
# load tool, in one run on this machine. Each read ratio is the median of
# `runs` runs of tokenapi against the bare net/http baseline of the same
# run; issuance is compared with what PBKDF2 allows on these cores
# (BenchmarkPasswordHash); reads while logins saturate are compared with
# reads alone on the same server.
#
#   tools/loadtest/perf-table.sh [runs] [duration]
set -euo pipefail
runs=${1:-3}
duration=${2:-10s}
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
srv=
trap '[ -n "$srv" ] && kill $srv 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT

go build -o "$tmp/tokenapi" "$root"
go -C "$root/tools/loadtest" build -o "$tmp/loadtest" .
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
field() { awk -v row="$1" '$1 == row && $2 ~ /^[0-9.]+$/ {print $2; exit}'; }

for mix in get-user list-users list-posts; do
  for r in $(seq "$runs"); do
    "$tmp/loadtest" -binary "$tmp/tokenapi" -c 64 -d "$duration" -mix "$mix" >"$tmp/$mix.$r" 2>&1
    echo "$mix run $r: $(field target <"$tmp/$mix.$r") req/s, bare $(field baseline <"$tmp/$mix.$r") req/s, ratio $(awk '/target\/baseline/ {print $3}' "$tmp/$mix.$r")"
  done
  echo "$mix: median ratio $(cat "$tmp/$mix".* | awk '/target\/baseline/ {print $3}' | median)"
done

# Issuance: logins alone, against the hash's own bound on these cores.
# BenchmarkPasswordHash hashes on every core at once, so its time per
# operation is the wall time of one hash divided by the cores.
ns=$(cd "$root" && go test -run '^$' -bench '^BenchmarkPasswordHash$' -benchtime 20x . | awk '/^BenchmarkPasswordHash/ {print $3}')
cores=$(nproc)
bound=$(awk -v ns="$ns" 'BEGIN {printf "%.1f", 1e9 / ns}')
"$tmp/tokenapi" -addr 127.0.0.1:5071 -db "$tmp/perf.db" 2>"$tmp/server.log" &
srv=$!
for _ in $(seq 100); do curl -sf http://127.0.0.1:5071/healthz >/dev/null 2>&1 && break; sleep 0.1; done
"$tmp/loadtest" -url http://127.0.0.1:5071 -pid "$srv" -mix login -c 8 -d "$duration" -baseline=false >"$tmp/login" 2>&1
logins=$(field target <"$tmp/login")
echo "logins alone: $logins req/s; PBKDF2 allows $bound/s ($cores cores, $(awk -v ns="$ns" 'BEGIN {printf "%.0f", ns/1e6}') ms a hash per core); issuance $(awk -v l="$logins" -v b="$bound" 'BEGIN {printf "%.2f", l/b}')"

# Reads while logins saturate the hash slots, against reads alone.
"$tmp/loadtest" -url http://127.0.0.1:5071 -pid "$srv" -mix get-user -c 56 -d 8s -baseline=false >"$tmp/alone" 2>&1
"$tmp/loadtest" -url http://127.0.0.1:5071 -pid "$srv" -mix login -c 8 -d 20s -baseline=false >"$tmp/bg" 2>&1 &
bg=$!
sleep 7
"$tmp/loadtest" -url http://127.0.0.1:5071 -pid "$srv" -mix get-user -c 56 -d 8s -baseline=false >"$tmp/loaded" 2>&1
wait $bg
alone=$(field target <"$tmp/alone")
loaded=$(field target <"$tmp/loaded")
echo "reads while logins saturate: $loaded req/s against $alone alone: $(awk -v a="$alone" -v l="$loaded" 'BEGIN {printf "%.2f", l/a}'); logins meanwhile $(field target <"$tmp/bg") req/s"
grep -h "RSS" "$tmp/loaded" | head -1

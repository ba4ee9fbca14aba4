#!/usr/bin/env bash
# wrk-compare.sh: tokenapi against a bare net/http handler serving the same
# bytes, measured by Debian's wrk (an outside figure to check the load
# tool's own). Rounds alternate between the two servers; the ratio printed
# is the median of the per-round ratios. The server logs to a file, as it
# does when deployed.
#
#   tools/loadtest/wrk-compare.sh [rounds] [duration] [path...]
#
# Needs wrk, curl and Go. Paths default to the user, both collections.
set -euo pipefail
rounds=${1:-3}
duration=${2:-5s}
shift $(( $# > 2 ? 2 : $# )) || true
paths=("$@")
[ ${#paths[@]} -gt 0 ] || paths=(/api/users/1 "/api/users?per_page=10" "/api/posts?per_page=10")

root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"; }
pids=()
trap cleanup EXIT

go build -o "$tmp/tokenapi" "$root"
go -C "$root/tools/loadtest" build -o "$tmp/loadtest" .

"$tmp/tokenapi" -addr 127.0.0.1:5061 -db "$tmp/wrk.db" 2>"$tmp/server.log" &
pids+=($!)
for _ in $(seq 100); do curl -sf http://127.0.0.1:5061/healthz >/dev/null && break; sleep 0.1; done

curl -sf -o /dev/null -H 'Content-Type: application/json' \
  -d '{"username":"wrk","email":"wrk@example.com","password":"wrk-password"}' http://127.0.0.1:5061/api/users
token=$(curl -sf -u wrk:wrk-password -X POST http://127.0.0.1:5061/api/tokens | sed 's/.*"token": *"\([^"]*\)".*/\1/')
for i in $(seq 20); do
  curl -sf -o /dev/null -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d "{\"title\":\"post $i\",\"body\":\"body of post $i\"}" http://127.0.0.1:5061/api/posts
done

rps() { # url [header] -> requests/s
  wrk -t2 -c64 -d"$duration" ${2:+-H "$2"} "$1" | awk '/Requests\/sec/ {print $2}'
}

for path in "${paths[@]}"; do
  curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:5061$path" >"$tmp/body"
  # The baseline serves until its stdin closes: hold it open on fd 3.
  rm -f "$tmp/hold" && mkfifo "$tmp/hold"
  "$tmp/loadtest" bare-baseline -body "$tmp/body" <"$tmp/hold" >"$tmp/bare.addr" &
  pids+=($!)
  exec 3>"$tmp/hold"
  for _ in $(seq 100); do [ -s "$tmp/bare.addr" ] && break; sleep 0.05; done
  bare="http://$(sed -n 's/^listening //p' "$tmp/bare.addr")$path"
  ratios=()
  for r in $(seq "$rounds"); do
    t=$(rps "http://127.0.0.1:5061$path" "Authorization: Bearer $token")
    b=$(rps "$bare")
    ratio=$(awk -v t="$t" -v b="$b" 'BEGIN {printf "%.2f", t/b}')
    ratios+=("$ratio")
    echo "$path round $r: tokenapi $t req/s, bare $b req/s, ratio $ratio"
  done
  median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  echo "$path: median ratio $median (wrk -t2 -c64 -d$duration, $rounds rounds)"
  exec 3>&-
  : >"$tmp/bare.addr"
done
echo "server log: $(wc -l <"$tmp/server.log") lines"

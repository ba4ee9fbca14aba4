#!/usr/bin/env bash
# write-compare.sh: POST /api/posts on two tokenapi binaries side by side
# (say main's and a branch's), rounds alternating, with the load tool and
# then with Debian's wrk posting through a Lua script. Each server logs to
# a file, as it does when deployed. docs/performance.md ("Group commit")
# has its figures.
#
#   tools/loadtest/write-compare.sh OLD_BINARY NEW_BINARY [rounds] [duration] [connections]
#
# Needs wrk, curl and Go.
set -euo pipefail
old=$1 new=$2
rounds=${3:-3}
duration=${4:-10s}
conns=${5:-16}

root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
pid=
cleanup() { [ -z "$pid" ] || kill "$pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
go -C "$root/tools/loadtest" build -o "$tmp/loadtest" .

rps() { awk '$1 == "target" && $2 ~ /^[0-9.]+$/ {print $2}'; }
for r in $(seq "$rounds"); do
  for which in old new; do
    bin=${!which}
    t=$("$tmp/loadtest" -binary "$bin" -c "$conns" -d "$duration" -mix create-post -baseline=false 2>/dev/null | rps)
    echo "load tool round $r: $which $t req/s"
  done
done

cat >"$tmp/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
wrk.body = '{"title": "a post from wrk", "body": "a body of a few words, as a post has"}'
LUA
for r in $(seq "$rounds"); do
  for which in old new; do
    rm -f "$tmp/wrk.db"*
    "${!which}" -addr 127.0.0.1:5062 -db "$tmp/wrk.db" 2>"$tmp/server-$which.log" &
    pid=$!
    for _ in $(seq 100); do curl -sf http://127.0.0.1:5062/healthz >/dev/null && break; sleep 0.1; done
    curl -sf -o /dev/null -H 'Content-Type: application/json' \
      -d '{"username":"wrk","email":"wrk@example.com","password":"wrk-password"}' http://127.0.0.1:5062/api/users
    token=$(curl -sf -u wrk:wrk-password -X POST http://127.0.0.1:5062/api/tokens | sed 's/.*"token": *"\([^"]*\)".*/\1/')
    t=$(TOKEN=$token wrk -t2 -c"$conns" -d"$duration" -s "$tmp/post.lua" http://127.0.0.1:5062/api/posts |
      awk '/Requests\/sec/ {rps=$2} /Non-2xx/ {bad=$NF} END {print rps, "req/s,", (bad ? bad : 0), "non-2xx"}')
    echo "wrk round $r: $which $t"
    kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
  done
done

#!/usr/bin/env bash
# compare.sh: tokenapi on its SQLite file against tokenapi on a three-node
# rqlite cluster, side by side in one run on this machine, with the load
# tool (tools/loadtest). For each of GET /api/users/{id}, both collections,
# POST /api/posts and logins it runs a SQLite-backed process and a
# cluster-backed one in turn, `runs` times, and prints req/s, p50 and p99
# of each run and the medians. Then logins/s through one and two tokenapi
# processes on the cluster, each on a core of its own.
# MIXES chooses the first part's mixes (default: all five; empty: none).
#
#   tools/rqlite/compare.sh [runs] [duration]
#
# Every process here (three rqlite nodes, tokenapi, the load tool) shares
# this machine's cores: the figures show what a cluster costs per request,
# not what more machines would add.
set -euo pipefail
runs=${1:-3}
duration=${2:-10s}
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	"$root/tools/rqlite/cluster.sh" stop "$tmp/cluster" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/tokenapi" "$root"
go -C "$root/tools/loadtest" build -o "$tmp/loadtest" .
RQLITED=$("$root/tools/rqlite/build.sh")
export RQLITED
url=$("$root/tools/rqlite/cluster.sh" start "$tmp/cluster")
echo "cluster: $url"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# target prints req/s, p50 and p99 from the load tool's "target" row.
target() { awk '$1 == "target" && $2 ~ /^[0-9.]+$/ {print $2, $3, $4; exit}' "$1"; }

load() { # load OUT MIX CONNS [the load tool's way to start the server...]
	local out=$1 mix=$2 conns=$3
	shift 3
	"$tmp/loadtest" "$@" -c "$conns" -d "$duration" -mix "$mix" -baseline=false >"$out" 2>&1 ||
		{ echo "load tool failed:"; tail -20 "$out"; exit 1; }
}

for spec in ${MIXES-get-user:64 list-users:64 list-posts:64 create-post:16 login:8}; do
	mix=${spec%:*} conns=${spec#*:}
	for r in $(seq "$runs"); do
		load "$tmp/$mix.sqlite.$r" "$mix" "$conns" -binary "$tmp/tokenapi"
		load "$tmp/$mix.rqlite.$r" "$mix" "$conns" -server-cmd "exec $tmp/tokenapi -addr {addr} -db $url"
		echo "$mix run $r: sqlite $(target "$tmp/$mix.sqlite.$r") | rqlite $(target "$tmp/$mix.rqlite.$r")  (req/s p50 p99)"
	done
	s=$(for r in $(seq "$runs"); do target "$tmp/$mix.sqlite.$r"; done | awk '{print $1}' | median)
	q=$(for r in $(seq "$runs"); do target "$tmp/$mix.rqlite.$r"; done | awk '{print $1}' | median)
	echo "$mix: median req/s sqlite $s, rqlite $q, rqlite/sqlite $(awk -v s="$s" -v q="$q" 'BEGIN {printf "%.2f", q / s}')"
done

# Logins through one and then two tokenapi processes on the cluster, each
# process pinned to a core of its own (GOMAXPROCS=1, taskset), as if each
# had a machine: logins are bound by PBKDF2, so a second process should
# nearly double them. The load tools and the rqlite nodes float.
start_pinned() { # start_pinned N CORE
	GOMAXPROCS=1 taskset -c "$2" "$tmp/tokenapi" -addr "127.0.0.1:$((5080 + $1))" -db "$url" 2>"$tmp/pinned.$1.log" &
	pids+=($!)
	for _ in $(seq 100); do curl -sf "http://127.0.0.1:$((5080 + $1))/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
}
rate() { target "$1" | awk '{print $1}'; }
start_pinned 1 0
for r in $(seq "$runs"); do
	load "$tmp/one.$r" login 8 -url http://127.0.0.1:5081
	echo "login, one process on one core, run $r: $(rate "$tmp/one.$r") req/s"
done
start_pinned 2 1
for r in $(seq "$runs"); do
	load "$tmp/two.1.$r" login 8 -url http://127.0.0.1:5081 &
	a=$!
	load "$tmp/two.2.$r" login 8 -url http://127.0.0.1:5082 &
	b=$!
	wait $a $b
	echo "login, two processes on a core each, run $r: $(rate "$tmp/two.1.$r") + $(rate "$tmp/two.2.$r") = $(awk -v a="$(rate "$tmp/two.1.$r")" -v b="$(rate "$tmp/two.2.$r")" 'BEGIN {print a + b}') req/s"
done

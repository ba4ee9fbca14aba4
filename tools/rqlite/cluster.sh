#!/bin/bash
# cluster.sh runs a three-node rqlite cluster on loopback, for tests and for
# trying tokenapi on a cluster by hand.
#
#   tools/rqlite/cluster.sh start DIR    # prints rqlite://127.0.0.1:P1,...:P2,...:P3
#   tools/rqlite/cluster.sh status DIR   # prints the URL, and each node's state
#   tools/rqlite/cluster.sh stop DIR     # stops every node it started in DIR
#
# DIR holds each node's data directory (node1, node2, node3), its log
# (node1.log...), its pid (node1.pid...) and the cluster's URL (url). The
# nodes run with -fk (foreign keys on), as tokenapi's schema expects.
# RQLITED names the binary (default: what build.sh builds); RQLITE_PORT the
# first of six consecutive ports (default: a free-looking one from 20000 to 32000).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
	echo "usage: $0 start|stop|status DIR" >&2
	exit 2
fi

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pick_base finds six consecutive ports nothing listens on, below Linux's
# ephemeral range (32768 up), where outgoing connections take theirs. The
# check and the nodes' bind are not atomic: start tries again elsewhere
# when a node cannot bind.
pick_base() {
	base=$(( 20000 + (RANDOM * 6) % 12000 ))
	while :; do
		ok=1
		for i in 0 1 2 3 4 5; do
			if ! port_free $((base + i)); then ok=0; break; fi
		done
		if [ $ok = 1 ]; then echo $base; return; fi
		base=$((base + 6))
	done
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# has_leader is true when a node answers /readyz with 200: it knows a leader.
has_leader() {
	curl -fsS -m 2 "http://$1/readyz" >/dev/null 2>&1
}

# start_nodes starts the three nodes on fresh ports and waits, up to 60 s
# (a loaded two-core machine is slow to start three), until every node
# knows the leader, so that a client may start with any of them. On failure
# it stops what it started and returns non-zero.
start_nodes() {
	base=${RQLITE_PORT:-$(pick_base)}
	raft="127.0.0.1:$((base + 1)),127.0.0.1:$((base + 3)),127.0.0.1:$((base + 5))"
	url="rqlite://"
	for n in 1 2 3; do
		http=$((base + 2 * (n - 1)))
		# -bootstrap-expect with -join of every node's Raft address: the three
		# find one another and elect a leader without a separate join step.
		"$rqlited" -node-id "node$n" -fk \
			-http-addr "127.0.0.1:$http" -raft-addr "127.0.0.1:$((http + 1))" \
			-bootstrap-expect 3 -join "$raft" \
			"$dir/node$n" >"$dir/node$n.log" 2>&1 &
		echo $! >"$dir/node$n.pid"
		[ $n = 1 ] || url="$url,"
		url="${url}127.0.0.1:$http"
	done
	echo "$url" >"$dir/url"
	i=0
	while :; do
		ready=0
		for n in 1 2 3; do
			if ! alive "$dir/node$n.pid"; then
				echo "cluster.sh: node $n exited; its log, $dir/node$n.log, ends:" >&2
				tail -n 3 "$dir/node$n.log" >&2
				"$0" stop "$dir" >/dev/null 2>&1 || true
				rm -rf "$dir/node1" "$dir/node2" "$dir/node3"
				return 1
			fi
			if has_leader "127.0.0.1:$((base + 2 * (n - 1)))"; then ready=$((ready + 1)); fi
		done
		[ $ready = 3 ] && return 0
		i=$((i + 1))
		if [ $i -ge 300 ]; then
			echo "cluster.sh: no leader after 60 s; logs are in $dir" >&2
			"$0" stop "$dir" >/dev/null 2>&1 || true
			return 1
		fi
		sleep 0.2
	done
}

case "$cmd" in
start)
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	for n in 1 2 3; do
		if alive "$dir/node$n.pid"; then
			echo "cluster.sh: node $n already runs in $dir (pid $(cat "$dir/node$n.pid"))" >&2
			exit 1
		fi
	done
	rqlited=${RQLITED:-$("$here/build.sh")}
	attempt=1
	while ! start_nodes; do
		if [ -n "${RQLITE_PORT:-}" ] || [ $attempt -ge 3 ] || ! grep -q "address already in use" "$dir"/node*.log; then
			exit 1
		fi
		echo "cluster.sh: a port was taken; trying other ports" >&2
		attempt=$((attempt + 1))
	done
	echo "$url"
	;;
stop)
	[ -d "$dir" ] || exit 0
	for n in 1 2 3; do
		pidfile="$dir/node$n.pid"
		if alive "$pidfile"; then
			kill "$(cat "$pidfile")" 2>/dev/null || true
		fi
	done
	# Give them a few seconds to close their databases, then end them.
	for n in 1 2 3; do
		pidfile="$dir/node$n.pid"
		i=0
		while alive "$pidfile" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		if alive "$pidfile"; then kill -9 "$(cat "$pidfile")" 2>/dev/null || true; fi
		rm -f "$pidfile"
	done
	;;
status)
	[ -f "$dir/url" ] || { echo "cluster.sh: no cluster in $dir" >&2; exit 1; }
	cat "$dir/url"
	running=0
	for n in 1 2 3; do
		if alive "$dir/node$n.pid"; then
			running=$((running + 1))
			echo "node$n: running (pid $(cat "$dir/node$n.pid"))"
		else
			echo "node$n: stopped"
		fi
	done
	[ $running -gt 0 ]
	;;
*)
	echo "usage: $0 start|stop|status DIR" >&2
	exit 2
	;;
esac

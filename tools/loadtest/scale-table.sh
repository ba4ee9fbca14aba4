#!/usr/bin/env bash
# scale-table.sh: the figures of docs/performance.md's table at scale. For
# each size (users/posts) the load tool seeds a database file with that
# many rows (-seed-users, -seed-posts, and a session per ten users) and
# measures get-user on it; then it measures list-users and list-posts at
# the first, middle and last page of 10 on the same file (-db). It prints
# req/s, p99, max and the ratio to the bare baseline of the same run, and
# how long each size took to seed.
#
#   tools/loadtest/scale-table.sh [duration] [connections] [size ...]
#   tools/loadtest/scale-table.sh 3s 8 1000/10000 100000/1000000 1000000/5000000
set -euo pipefail
duration=${1:-3s}
conns=${2:-8}
shift $(($# < 2 ? $# : 2))
sizes=("${@:-1000/10000}")
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

go -C "$root" build -o "$tmp/tokenapi" .
go -C "$root/tools/loadtest" build -o "$tmp/loadtest" .
field() { awk -v row="$1" -v col="$2" '$1 == row && $2 ~ /^[0-9.]+$/ {print $col; exit}'; }

printf '%-16s %-11s %-7s %10s %9s %9s %7s\n' size mix page req/s p99 max ratio
for size in "${sizes[@]}"; do
  users=${size%/*} posts=${size#*/}
  db="$tmp/$users-$posts.db"
  for run in get-user:first list-users:first list-users:middle list-users:last list-posts:first list-posts:middle list-posts:last; do
    mix=${run%:*} page=${run#*:}
    seed=()
    if [ "$mix" = get-user ]; then
      seed=(-seed-users "$users" -seed-posts "$posts" -seed-tokens $((users / 10)))
    fi
    out="$tmp/out"
    "$tmp/loadtest" -binary "$tmp/tokenapi" -db "$db" "${seed[@]}" \
      -mix "$mix" -page "$page" -c "$conns" -d "$duration" -warmup 1s >"$out" 2>&1 || { cat "$out"; exit 1; }
    [ "$mix" = get-user ] && grep '^seeded' "$out"
    printf '%-16s %-11s %-7s %10s %9s %9s %7s\n' "$size" "$mix" "$page" \
      "$(field target 2 <"$out")" "$(field target 4 <"$out")" "$(field target 6 <"$out")" \
      "$(awk '/target\/baseline/ {print $3}' "$out")"
  done
  rm -f "$db" "$db"-*
done

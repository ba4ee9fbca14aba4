#!/usr/bin/env bash
# page-costs.sh: what one request for a page costs when it misses the
# server's page cache, and what following next links costs page by page.
# For docs/performance.md's figures at scale: run it against a server on
# a seeded file (loadtest -db FILE -seed-users ... keeps one), with a
# token of one of its users.
#
#   tools/loadtest/page-costs.sh URL TOKEN [rounds]
#
# Each collection's first, middle and last page by number is asked for
# `rounds` times, each time a different page near that place (page
# numbers not asked for before, so the cache has none of them), and the
# median and the largest time_total that curl measured are printed. Then
# the next links from page 1 are followed to page 1,000 and the median
# time of pages 1-100 and of pages 901-1,000 printed side by side.
set -euo pipefail
url=${1:?URL}
token=${2:?TOKEN}
rounds=${3:-7}
get() { curl -sf -o "${2:-/dev/null}" -w '%{time_total}\n' -H "Authorization: Bearer $token" "$url$1"; }
stats() { sort -g | awk '{v[NR]=$1} END {printf "median %6.1f ms  max %6.1f ms  (%d requests)\n", v[int((NR+1)/2)]*1000, v[NR]*1000, NR}'; }
total() { curl -sf -H "Authorization: Bearer $token" "$url$1?per_page=1" | sed 's/.*"total_items":\([0-9]*\).*/\1/'; }

for collection in /api/users /api/posts; do
  pages=$(( ($(total "$collection") + 9) / 10 ))
  for place in first middle last; do
    case $place in
      first) start=1 ;;
      middle) start=$((pages / 2)) ;;
      last) start=$((pages - rounds + 1)) ;;
    esac
    printf '%-11s %-7s ' "$collection" "$place"
    for i in $(seq 0 $((rounds - 1))); do get "$collection?page=$((start + i))&per_page=10"; done | stats
  done
done

body=$(mktemp)
trap 'rm -f "$body"' EXIT
for collection in /api/users /api/posts; do
  next="$collection?page=1&per_page=10"
  for n in $(seq 1 1000); do
    t=$(get "$next" "$body")
    echo "$n $t"
    next=$(sed -n 's/.*"next":"\([^"]*\)".*/\1/p' "$body")
    [ -n "$next" ] || break
  done >"$body.times"
  printf '%-11s next links, pages    1-100:  ' "$collection"
  awk '$1 <= 100 {print $2}' "$body.times" | stats
  printf '%-11s next links, pages 901-1000:  ' "$collection"
  awk '$1 > 900 {print $2}' "$body.times" | stats
  rm -f "$body.times"
done

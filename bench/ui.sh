#!/usr/bin/env bash
# The web UI's server-side render time per page over the store of N
# (default 3,000,000) generated alerts, against the issue's 200 ms target.
# It starts "rampart ui" on a loopback port, signs in with curl, and reads
# each page's Server-Timing header (the time from the request's arrival to
# the page rendered: data gathered from the store and template executed;
# network and browser excluded). Median of $RUNS requests after one warm-up.
#
# Two passes: "cold" with the overview's cache off (--no-cache: every view
# recomputes its figures from the store's rollups, the case right after an
# import changed the store), and "cached" as a server runs (figures kept
# until the store's alert count changes). The background cadence analysis
# (flagged returners) is left to finish before measuring; its own time is
# printed.
#
#   bench/ui.sh
#   N=300000 bench/ui.sh
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-3000000}
DAYS=${DAYS:-180}
RUNS=${RUNS:-5}
OUT=${OUT:-bench/out}
PORT=${PORT:-18441}
TARGET_MS=200

mkdir -p "$OUT"
go build -o "$OUT/rampart-ui" ./cmd/rampart
R="$OUT/rampart-ui"
source bench/lib.sh

data="$OUT/data-$N"
store="$OUT/store-$N.db"
if [[ ! -s "$store" ]]; then
	if [[ ! -s "$data/alerts.log" ]]; then
		echo "== generating $N alerts over $DAYS days into $data" >&2
		rm -rf "$data"
		"$R" sample --out "$data" --alerts "$N" --days "$DAYS"
	fi
	echo "== importing $data/alerts.log into $store" >&2
	"$R" import --store "$store" --progress never "$data/alerts.log" >&2
fi

tmp=$(mktemp -d)
pid=
cleanup() {
	if [[ -n "$pid" ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
base="http://127.0.0.1:$PORT"

# start [FLAGS...]: run rampart ui with a fresh token and sign in.
start() {
	"$R" ui --store "$store" --listen "127.0.0.1:$PORT" --token-file "$tmp/token" --new-token --no-lookup "$@" \
		>"$tmp/secret" 2>"$tmp/ui.err" &
	pid=$!
	for _ in $(seq 100); do
		curl -fs -o /dev/null "$base/signin" && break
		sleep 0.1
	done
	rm -f "$tmp/jar"
	local csrf
	csrf=$(curl -fs -c "$tmp/jar" -b "$tmp/jar" "$base/signin" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1)
	curl -fs -o /dev/null -c "$tmp/jar" -b "$tmp/jar" --data-urlencode "token=$(cat "$tmp/secret")" \
		--data-urlencode "csrf=$csrf" --data-urlencode "next=/" "$base/signin"
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }

# page_ms PATH: one request; prints the Server-Timing duration in ms.
page_ms() {
	local hdr
	hdr=$(curl -fs -o /dev/null -D - -b "$tmp/jar" "$base$1") || { echo "GET $1 failed" >&2; return 1; }
	sed -n 's/^Server-Timing: page;dur=\([0-9.]*\).*/\1/ip' <<<"$hdr" | tr -d '\r'
}
median_ms() {
	page_ms "$1" >/dev/null
	for _ in $(seq "$RUNS"); do page_ms "$1"; done | median
}

# Sources to visit: the busiest, the 1000th, a flagged returner.
top=$("$R" top --store "$store" --format csv --limit 1000)
busiest=$(awk -F, 'NR == 2 {print $1}' <<<"$top")
small=$(awk -F, 'END {print $1}' <<<"$top")
busiest_n=$(awk -F, 'NR == 2 {print $2}' <<<"$top")
small_n=$(awk -F, 'END {print $2}' <<<"$top")

wait_returners() {
	local t0; t0=$(now)
	for _ in $(seq 600); do
		curl -fs -b "$tmp/jar" "$base/returners" | grep -q "flagged of" && break
		sleep 0.5
	done
	printf '%.1f' "$(echo "$(now) - $t0" | bc -l)"
}

row() { printf '%-52s %10s %10s %8s\n' "$@"; }
measure() {
	local label=$1
	row "page ($label)" "median ms" "target ms" "ratio"
	for p in "/?days=7" "/" "/?days=all" "/sources" "/sources?days=all&page=100" "/prefixes?days=all" "/returners" \
		"/ip/$busiest" "/ip/$returner" "/ip/$small" "/drafts"; do
		local ms
		ms=$(median_ms "$p")
		local name=$p
		case $p in
		"/ip/$busiest") name="/ip/BUSIEST ($busiest_n alerts)" ;;
		"/ip/$small") name="/ip/1000th ($small_n alerts)" ;;
		"/ip/$returner") name="/ip/RETURNER ($returner)" ;;
		esac
		row "$name" "$ms" "$TARGET_MS" "$(echo "scale=2; $ms / $TARGET_MS" | bc -l)"
	done
}

alerts=$("$R" timeline --store "$store" --by week --format csv | awk -F, 'NR > 1 {n += $2} END {print n}')
echo "== $alerts alerts in $store; medians of $RUNS requests after one warm-up; Server-Timing (server side)" >&2

start --no-cache
took=$(wait_returners)
returner=$(curl -fs -b "$tmp/jar" "$base/returners" | sed -n 's/.*<a class="addr" href="\/ip\/\([^"]*\)".*/\1/p' | head -1)
echo "== cadence of every source (background, flagged returners): ready after ${took} s" >&2
measure "cold: --no-cache"
stop

start
wait_returners >/dev/null
measure "cached: as served"
stop

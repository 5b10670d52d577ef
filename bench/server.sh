#!/usr/bin/env bash
# The central server's figures (issue 6), each beside its target, against a
# real "rampart server run" process on loopback with N decisions (default
# 100,000) filled straight into its SQLite state:
#   1. unchanged-list answers (304 with If-None-Match) per second, many
#      keep-alive connections                          target >= 20,000/s
#   2. the full signed list (txt) right after a version change, cache cold
#                                                      target <= 100 ms
#   3. 10,000 idle long-polling agents (changes?since=CUR&wait=60s): server
#      RSS (VmRSS)                                     target <= 500 MB
#   4. the CrowdSec stream (startup=true) of all decisions: time and server
#      peak RSS; CrowdSec v1.7.7's Local API on this machine kind: 1.7-2.0 s,
#      262 MB (shared/reference/peers.md)
# The load comes from bench/serverload (Go, raw keep-alive connections).
# Figures 3 and 4 each start a fresh server so that their RSS is their own.
#
#   bench/server.sh          # N=100000 CONNS=64 AGENTS=10000
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-100000}
CONNS=${CONNS:-64}
AGENTS=${AGENTS:-10000}
OUT=${OUT:-bench/out}/server
rm -rf "$OUT"
mkdir -p "$OUT"

# 10,000 agents are 10,000 sockets in the server and as many in the load
# generator (root may raise the hard limit).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt $((AGENTS + 1000)) ]; then
	echo "server.sh: ulimit -n is $(ulimit -n); $((AGENTS + 1000)) needed for $AGENTS agents" >&2
	exit 1
fi

go build -o "$OUT/rampart" ./cmd/rampart
go build -o "$OUT/serverload" ./bench/serverload
rampart=$OUT/rampart
load=$OUT/serverload
cfg=$OUT/config.toml
: >"$cfg"

admin=$("$rampart" --config "$cfg" server init --data "$OUT/data" 2>/dev/null | tail -1)
"$load" fill -db "$OUT/data/state.db" -n "$N"

pid=
url=
start_server() {
	"$rampart" --config "$cfg" server run --data "$OUT/data" --listen 127.0.0.1:0 2>"$OUT/server.log" &
	pid=$!
	for _ in $(seq 600); do
		addr=$(sed -n 's/^rampart server listening on //p' "$OUT/server.log")
		[ -n "$addr" ] && break
		sleep 0.1
	done
	[ -n "$addr" ] || { cat "$OUT/server.log" >&2; exit 1; }
	url=http://$addr
}
stop_server() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	pid=
}
trap stop_server EXIT

# 4 first, on a fresh process: its peak is the stream's.
start_server
agent=$("$rampart" --config "$cfg" token create --role agent --name bench --server "$url" --token "$admin" 2>/dev/null | tail -1)
stream=$("$load" stream -url "$url" -key "$agent" -pid "$pid")
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
stop_server

# 3 on a fresh process.
start_server
idle=$("$load" idle -url "$url" -token "$agent" -n "$AGENTS" -wait 60s -pid "$pid")
stop_server

# 2, then 1, on one process.
start_server
full=$("$load" full -url "$url" -token "$agent" -admin "$admin" -rounds 7)
poll=$("$load" poll304 -url "$url" -token "$agent" -conns "$CONNS" -for 5s)
stop_server

printf '%-58s %14s %14s\n' "figure ($N decisions)" "rampart" "target"
printf '%-58s %12.0f/s %14s\n' "1. unchanged list (304), $CONNS keep-alive connections" "$(field per_second "$poll")" ">= 20000/s"
printf '%-58s %11.1fms %14s\n' "2. full signed list after a version change (median of 7)" "$(field median_ms "$full")" "<= 100ms"
printf '%-58s %11.1fms %14s\n' "   same, slowest of 7" "$(field max_ms "$full")" "-"
printf '%-58s %11.1fms %14s\n' "   first list of a fresh process (read from the database)" "$(field first_ms "$full")" "-"
printf '%-58s %11.0fMB %14s\n' "3. server RSS with $AGENTS idle long polls" "$(field rss_mb "$idle")" "<= 500MB"
printf '%-58s %11.1fkB %14s\n' "   per agent" "$(field per_agent_kb "$idle")" "-"
printf '%-58s %12.2fs %14s\n' "4. CrowdSec stream startup=true ($(field decisions "$stream") decisions)" "$(field seconds "$stream")" "(1.7-2.0s)"
printf '%-58s %11.0fMB %14s\n' "   server peak RSS during it" "$(field rss_peak_mb "$stream")" "(262MB)"
printf '%-58s %11.1fMB %14s\n' "   answer size" "$(echo "$(field bytes "$stream") / 1048576" | bc -l)" "(17.5MB)"
printf '\nraw:\n%s\n%s\n%s\n%s\n' "$poll" "$full" "$idle" "$stream"

#!/usr/bin/env bash
# Issue 6's latency figure: an alert appended to the OSSEC manager's
# alerts.log -> the attacker dropped on both front-ends (nft), over N alerts
# from N new addresses, in the namespace lab of internal/e2e's
# TestDistribution (sensor, server, two agents, attacker: real processes).
# Prints p50/p90/p99/max; target p99 <= 1 s. Needs root and ip netns.
#
#   N=200 bench/distribution.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-100}
out=$(RAMPART_BENCH_LATENCY="$N" go test -count=1 -run '^TestDistribution$/^namespaces$' -v ./internal/e2e 2>&1) || { echo "$out" | tail -40 >&2; exit 1; }
line=$(grep -o 'BENCH .*' <<<"$out")
echo "== $line"
p99=$(sed -E 's/.* p99 ([0-9.]+)(ms|s|µs).*/\1 \2/' <<<"$line")
awk -v v="${p99% *}" -v u="${p99#* }" 'BEGIN { s = (u == "ms") ? v / 1000 : (u == "µs") ? v / 1e6 : v; printf "p99 %.3f s (target <= 1 s: %s)\n", s, (s <= 1) ? "met" : "NOT met" }'

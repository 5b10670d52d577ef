#!/usr/bin/env bash
# `rampart timeline --by day` over the store of N (default 3,000,000) generated
# alerts, against the issue's 0.2 s target; the same with --scope beside it.
# Reuses bench/out/data-$N and bench/out/store-$N.db (see bench/run.sh) when
# present, else generates them (files only, no database; several minutes).
#
#   bench/timeline.sh
#   N=300000 bench/timeline.sh
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-3000000}
DAYS=${DAYS:-180}
RUNS=${RUNS:-5}
OUT=${OUT:-bench/out}
TARGET=0.2

mkdir -p "$OUT"
go build -o "$OUT/rampart-timeline" ./cmd/rampart
R="$OUT/rampart-timeline"
source bench/lib.sh

data="$OUT/data-$N"
if [[ ! -s "$data/alerts.log" ]]; then
	echo "== generating $N alerts over $DAYS days into $data" >&2
	rm -rf "$data"
	"$R" sample --out "$data" --alerts "$N" --days "$DAYS"
	echo "$N" >"$data/.loaded"
fi
store="$OUT/store-$N.db"
if [[ ! -s "$store" ]]; then
	echo "== importing $data/alerts.log into $store" >&2
	"$R" import --store "$store" --progress never "$data/alerts.log" >&2
fi
alerts=$("$R" timeline --store "$store" --by week --format csv | awk -F, 'NR > 1 {n += $2} END {print n}')

# median_time CMD...: run CMD $RUNS times after one warm-up, print the median wall time in seconds.
median_time() {
	"$@" >/dev/null
	local ts=()
	for _ in $(seq "$RUNS"); do
		local t0
		t0=$(now)
		"$@" >/dev/null
		ts+=("$(echo "$(now) - $t0" | bc -l)")
	done
	printf '%s\n' "${ts[@]}" | median
}
row() { printf '%-52s %10s %8s %8s\n' "$@"; }

echo "== $alerts alerts in $store; medians of $RUNS runs, whole processes" >&2
row "figure" "seconds" "target" "ratio"
for args in "" "--scope all" "--scope internet"; do
	# shellcheck disable=SC2086 # $args is a list of flags
	t=$(median_time "$R" timeline --store "$store" --by day --format json $args)
	row "timeline --by day --format json $args" "$(printf '%.3f' "$t")" "$TARGET" "$(echo "scale=2; $t / $TARGET" | bc -l)"
done

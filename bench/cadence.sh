#!/usr/bin/env bash
# "rampart cadence --format json" over the store of 3,000,000 generated
# alerts: the median of $RUNS whole-process runs (after one warm-up),
# against the issue's target of 1 s. See bench/README.md.
#
#   bench/cadence.sh              # 3,000,000 alerts (~2 GB of disk)
#   N=300000 bench/cadence.sh     # a quicker, smaller run
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-3000000}
DAYS=${DAYS:-180}
RUNS=${RUNS:-5}
OUT=${OUT:-bench/out}
TARGET=1

mkdir -p "$OUT"
go build -o "$OUT/rampart-cadence" ./cmd/rampart
R="$OUT/rampart-cadence"
source bench/lib.sh

# cpu_children prints the user + sys seconds of this shell's finished
# children, from bash's "times" (second line: "0m1.234s 0m0.567s"). It
# must run in this shell, not in a $(...) subshell, whose children differ.
tf=$(mktemp)
trap 'rm -f "$tf"' EXIT
cpu_children() {
	times >"$tf"
	cpu=$(awk 'NR == 2 {
		split($1, u, /[ms]/); split($2, s, /[ms]/)
		printf "%.3f\n", u[1] * 60 + u[2] + s[1] * 60 + s[2]
	}' "$tf")
}

# The alerts bench/run.sh generates, reused when present; generated as
# files only otherwise (run.sh regenerates them with its database).
data="$OUT/data-$N"
if [[ ! -s "$data/alerts.log" ]]; then
	echo "== generating $N alerts over $DAYS days" >&2
	rm -rf "$data"
	t0=$(now)
	"$R" sample --out "$data" --alerts "$N" --days "$DAYS" >&2
	echo "   took $(echo "$(now) - $t0" | bc -l | cut -c1-6) s" >&2
fi
# A store of its own, so that run.sh's fresh import does not race it.
store="$OUT/cadence-store-$N.db"
if [[ ! -s "$store" || "$data/alerts.log" -nt "$store" ]]; then
	echo "== importing $data/alerts.log" >&2
	rm -f "$store" "$store-wal" "$store-shm" "$store-lock"
	"$R" import --store "$store" --progress never "$data/alerts.log" 2>&1 | tail -1 >&2
fi
# The sample's own ossec.conf when it writes one: its returners meet those
# blocks. Otherwise the 600 s default.
args=(cadence --store "$store" --format json)
if [[ -s "$data/ossec.conf" ]]; then
	args+=(--ossec-conf "$data/ossec.conf")
fi

"$R" "${args[@]}" >"$OUT/cadence-$N.json" 2>"$OUT/cadence-$N.err"
# Wall time is the figure; CPU time (user + sys, from bash's times) says
# how much of it a busy machine stole.
ts=() cpus=()
for _ in $(seq "$RUNS"); do
	t0=$(now)
	cpu_children
	c0=$cpu
	"$R" "${args[@]}" >/dev/null 2>&1
	ts+=("$(echo "$(now) - $t0" | bc -l)")
	cpu_children
	cpus+=("$(echo "$cpu - $c0" | bc -l)")
done
t=$(printf '%s\n' "${ts[@]}" | median)
cpu=$(printf '%s\n' "${cpus[@]}" | median)

alerts=$("$R" top --store "$store" --scope all --format csv | awk -F, 'NR > 1 {n += $2} END {print n}')
echo "== $alerts alerts with a source in the store; runs (s): ${ts[*]}; CPU time, median: $cpu s" >&2
sed 's/^/   /' "$OUT/cadence-$N.err" >&2
printf '%-44s %12s %12s %8s  %s\n' "figure" "rampart" "target" "ratio" ""
printf '%-44s %12.3f %12s %8s  %s\n' "cadence from the store, $N alerts (s)" "$t" "$TARGET" \
	"$(printf "%.3f" "$(echo "$t / $TARGET" | bc -l)")" "median of $RUNS runs (target ≤ 1)"

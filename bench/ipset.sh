#!/usr/bin/env bash
# ipset enforcer against its reference, measured in the same run:
#   apply of 100,000 entries (Rampart: reads, one ipset restore, iptables
#   rules) vs a plain `ipset restore` of the same 100,000 entries into fresh
#   sets in a fresh network namespace; also the same restore with Rampart's
#   hash size (so the gain of sizing shows), an update of 1,000 changes
#   (the whole set rebuilt and swapped in) and a re-apply with no change.
# Needs root, ip(8), ipset(8), iptables(8) (Debian: iproute2 ipset iptables).
#
#   bench/ipset.sh            # RUNS=5 by default
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
OUT=${OUT:-bench/out}
mkdir -p "$OUT"
file="$OUT/ipset-100k.restore"
sized="$OUT/ipset-100k-sized.restore"

# The set the Go benchmarks apply, as an operator would write it for restore.
go test -count=1 -run '^TestWriteRestoreFile$' ./internal/enforce/ipset -args -restorefile "$PWD/$file" >/dev/null
sed -E 's/^(create .*) maxelem/\1 hashsize 65536 maxelem/' "$file" >"$sized"

source bench/lib.sh
trap cleanup EXIT

# ipset restore into a fresh namespace each run: median of $RUNS.
restore_median() {
	local ts=()
	for _ in $(seq "$RUNS"); do
		cleanup
		ip netns add "$ns"
		local t0; t0=$(now)
		ip netns exec "$ns" ipset restore <"$1"
		ts+=("$(echo "$(now) - $t0" | bc -l)")
	done
	printf '%s\n' "${ts[@]}" | median
}
ref=$(restore_median "$file")
refsized=$(restore_median "$sized")
cleanup

# Rampart: go test benchmarks (each in a fresh lab namespace), ns/op.
bench=$(go test -count=1 -run '^$' -bench 'BenchmarkApply100k$|BenchmarkUpdate1k$|BenchmarkNoChange100k$' \
	-benchtime "${RUNS}x" ./internal/enforce/ipset)
apply=$(echo "$(nsop BenchmarkApply100k) / 1000000000" | bc -l)
update=$(echo "$(nsop BenchmarkUpdate1k) / 1000000000" | bc -l)
nochange=$(echo "$(nsop BenchmarkNoChange100k) / 1000000000" | bc -l)

printf '%-48s %10s %10s %7s  %s\n' "figure" "rampart" "reference" "ratio" "target"
printf '%-48s %9.3fs %9.3fs %7.2f  %s\n' "ipset apply 100,000 entries (vs ipset restore)" "$apply" "$ref" \
	"$(echo "$apply / $ref" | bc -l)" "<= 1"
printf '%-48s %9.3fs %9.3fs %7.2f  %s\n' "  same, vs restore with Rampart's hashsize" "$apply" "$refsized" \
	"$(echo "$apply / $refsized" | bc -l)" "(info)"
printf '%-48s %9.3fs %10s %7s  %s\n' "ipset update 1,000 changes on 100,000 (swap)" "$update" "-" "-" "(info)"
printf '%-48s %9.3fs %10s %7s  %s\n' "ipset re-apply 100,000, no change (reads)" "$nochange" "-" "-" "(info)"

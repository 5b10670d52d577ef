#!/usr/bin/env bash
# nftables enforcer against its reference, measured in the same run:
#   apply of 100,000 entries (Rampart, netlink) vs nft -f of the same set
#   loaded from a file into a fresh network namespace; and an update of
#   1,000 changes on that set (target: <= 50 ms).
# Needs root, ip(8) and nft(8) (Debian: iproute2 nftables).
#
#   bench/nft.sh            # RUNS=5 by default
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
OUT=${OUT:-bench/out}
mkdir -p "$OUT"
file="$OUT/nft-100k.nft"

# The same set the Go benchmarks apply, written as an nft script.
go test -count=1 -run '^TestWriteNftFile$' ./internal/enforce/nft -args -nftfile "$PWD/$file" >/dev/null

source bench/lib.sh
trap cleanup EXIT

# nft -f into a fresh namespace each run: median of $RUNS.
ts=()
for _ in $(seq "$RUNS"); do
	cleanup
	ip netns add "$ns"
	t0=$(now)
	ip netns exec "$ns" nft -f "$file"
	ts+=("$(echo "$(now) - $t0" | bc -l)")
done
ref=$(printf '%s\n' "${ts[@]}" | median)

# Rampart: go test benchmarks (each in a fresh lab namespace), ns/op.
bench=$(go test -count=1 -run '^$' -bench 'BenchmarkApply100k$|BenchmarkUpdate1k$|BenchmarkUpdate1kCold$' \
	-benchtime "${RUNS}x" ./internal/enforce/nft)
apply=$(echo "$(nsop BenchmarkApply100k) / 1000000000" | bc -l)
update=$(echo "$(nsop BenchmarkUpdate1k) / 1000000" | bc -l)
cold=$(echo "$(nsop BenchmarkUpdate1kCold) / 1000000" | bc -l)

printf '%-44s %12s %12s %8s  %s\n' "figure" "rampart" "reference" "ratio" "target"
printf '%-44s %11.3fs %11.3fs %8.2f  %s\n' "nft apply 100,000 entries (vs nft -f)" "$apply" "$ref" \
	"$(echo "$apply / $ref" | bc -l)" "<= 1"
printf '%-44s %10.1fms %12s %8s  %s\n' "nft update 1,000 changes on 100,000" "$update" "50ms" \
	"$(printf '%.2f' "$(echo "$update / 50" | bc -l)")" "<= 1"
printf '%-44s %10.1fms %12s %8s  %s\n' "  same, fresh process (reads the set first)" "$cold" "-" "-" "(info)"

#!/usr/bin/env bash
# The federation's figures (issue 7), each beside its target:
#   1. a peer's feed of 100,000 entries verified, decoded, merged and
#      evaluated (BenchmarkMergeFeed100k/banned=none)   target <= 1 s
#      beside it, the same feed making 100,000 bans at once (banned=all)
#   2. steady-state deltas cost O(changes): the time per delta for 10, 100
#      and 1,000 changes while the peer holds 10,000 or 100,000 entries
#      (BenchmarkDelta): the rows of one change count must be alike
#   3. attacker reported at two sites -> in an agent's delta at the third,
#      three servers in one process with the default settings
#      (BenchmarkFederationLatency, p50 and p99 over $ROUNDS attackers)
#                                                       target p99 <= 3 s
#   4. with E2E=1 (root, ip netns, nft): the three-site namespace test,
#      alert appended at B -> dropped at C's front-end by nftables
#
#   bench/federation.sh              # ROUNDS=200
#   E2E=1 bench/federation.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

ROUNDS=${ROUNDS:-200}

echo "== merge of a 100,000-entry feed (5 runs each)" >&2
bench=$(go test -run '^$' -bench 'MergeFeed100k' -benchtime 5x ./internal/federation/peers/ 2>&1)
none=$(nsop BenchmarkMergeFeed100k/banned=none)
all=$(nsop BenchmarkMergeFeed100k/banned=all)
printf '%-58s %10.0f ms   target <= 1000 ms   ratio %.2f\n' "feed of 100,000 merged (no bans)" "$(bc -l <<<"$none/1000000")" "$(bc -l <<<"$none/1000000000")"
printf '%-58s %10.0f ms   (informational)\n' "feed of 100,000 merged, 100,000 bans made" "$(bc -l <<<"$all/1000000")"

echo "== deltas: cost per delta by changes and entries held" >&2
bench=$(go test -run '^$' -bench 'Delta' ./internal/federation/peers/ 2>&1)
for c in 10 100 1000; do
	small=$(nsop "BenchmarkDelta/held=10000/changes=$c")
	big=$(nsop "BenchmarkDelta/held=100000/changes=$c")
	printf '%-58s %10.3f ms / %.3f ms   ratio 100k/10k %.2f (O(changes): ~1)\n' "delta of $c changes, peer holding 10,000 / 100,000" \
		"$(bc -l <<<"$small/1000000")" "$(bc -l <<<"$big/1000000")" "$(bc -l <<<"$big/$small")"
done

echo "== latency: reported at two sites -> in the third site's agent delta ($ROUNDS attackers)" >&2
out=$(go test -run '^$' -bench FederationLatency -benchtime "${ROUNDS}x" ./internal/server/ 2>&1)
p50=$(awk '/^BenchmarkFederationLatency/ {for (i = 1; i < NF; i++) if ($(i+1) == "p50-ms") print $i}' <<<"$out")
p99=$(awk '/^BenchmarkFederationLatency/ {for (i = 1; i < NF; i++) if ($(i+1) == "p99-ms") print $i}' <<<"$out")
[ -n "$p99" ] || { echo "$out" >&2; exit 1; }
printf '%-58s %10s ms   p99 %s ms   target p99 <= 3000 ms   ratio %.4f\n' "ban at B -> delta at C's agent (in process), p50" "$p50" "$p99" "$(bc -l <<<"$p99/3000")"

if [ "${E2E:-0}" = 1 ]; then
	echo "== three sites in network namespaces (nftables)" >&2
	go test -count=1 -run TestFederationThreeSites -v ./internal/e2e/ 2>&1 | grep -E 'MEASURE|^(--- |ok|FAIL)'
fi

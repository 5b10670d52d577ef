#!/usr/bin/env bash
# Issue 3's analysis figures over the 3,000,000-alert store, each a whole
# process, median of RUNS, beside its target:
#   top --by prefix | asn | country   <= 1.5 x plain top
#   cadence                           <= 1 s
#   timeline --by day                 <= 0.2 s
# The ASN and country databases are generated (internal/geoip's
# TestWriteBenchDatabases: every /16 of 1-223/8 and 1,793 IPv6 networks,
# about 59,000 networks, GeoLite2-ASN's order of magnitude).
#
#   bench/analysis.sh                 # reuses bench/out/store-$N.db (bench/run.sh makes it)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

N=${N:-3000000}
RUNS=${RUNS:-5}
OUT=${OUT:-bench/out}
store="$OUT/store-$N.db"
[[ -s $store ]] || { echo "no store at $store: run bench/run.sh first (N=$N)" >&2; exit 1; }
go build -o "$OUT/rampart" ./cmd/rampart
R="$OUT/rampart"

geo="$OUT/geoip"
mkdir -p "$geo"
geo=$(cd "$geo" && pwd)
if [[ ! -s $geo/asn.mmdb || ! -s $geo/country.mmdb ]]; then
	RAMPART_GEOIP_BENCH="$geo" go test -count=1 -run '^TestWriteBenchDatabases$' ./internal/geoip >/dev/null
fi
cfg="$OUT/analysis.toml"
printf 'geoip_asn = "%s/asn.mmdb"\ngeoip_country = "%s/country.mmdb"\n' "$geo" "$geo" >"$cfg"

# median_time CMD...: RUNS runs after one warm-up; the median wall time in s.
median_time() {
	"$@" >/dev/null 2>&1
	local ts=() t0
	for _ in $(seq "$RUNS"); do
		t0=$(now)
		"$@" >/dev/null 2>&1
		ts+=("$(echo "$(now) - $t0" | bc -l)")
	done
	printf '%s\n' "${ts[@]}" | median
}
row() { printf '%-36s %9s %12s %8s  %s\n' "$@"; }
fmt() { printf '%.3f' "$1"; }

echo "== $N alerts in $store; medians of $RUNS whole processes"
row "figure" "seconds" "reference" "ratio" "target"
t_top=$(median_time "$R" --config "$cfg" top --store "$store" --format json)
row "top (by ip)" "$(fmt "$t_top")" "-" "-" "the reference of the next three"
for by in prefix asn country; do
	t=$(median_time "$R" --config "$cfg" top --store "$store" --by "$by" --format json)
	r=$(echo "$t / $t_top" | bc -l)
	row "top --by $by" "$(fmt "$t")" "$(fmt "$t_top")" "$(fmt "$r")" "<= 1.5 x top: $(awk -v r="$r" 'BEGIN {print (r <= 1.5) ? "met" : "NOT met"}')"
done
t=$(median_time "$R" --config "$cfg" cadence --store "$store" --format json --block 600s)
row "cadence" "$(fmt "$t")" "1" "$(fmt "$t")" "<= 1 s: $(awk -v t="$t" 'BEGIN {print (t <= 1) ? "met" : "NOT met"}')"
t=$(median_time "$R" --config "$cfg" timeline --store "$store" --by day --format json)
row "timeline --by day" "$(fmt "$t")" "0.2" "$(echo "$t / 0.2" | bc -l | xargs printf '%.3f')" "<= 0.2 s: $(awk -v t="$t" 'BEGIN {print (t <= 0.2) ? "met" : "NOT met"}')"

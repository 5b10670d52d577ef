#!/usr/bin/env bash
# The foundation's five performance figures, each beside its reference measured
# in the same run on the same alerts. See bench/README.md.
#
#   bench/run.sh               # 3,000,000 alerts (needs ~3 GB of disk and MariaDB)
#   N=300000 bench/run.sh      # a quicker, smaller run
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-3000000}
DAYS=${DAYS:-180}
RUNS=${RUNS:-5}
OUT=${OUT:-bench/out}
MYSQL_DB=${MYSQL_DB:-rampart_bench}
MYSQL="mariadb -h 127.0.0.1 -u root"
DSN="mysql://root@127.0.0.1:3306/$MYSQL_DB"

mkdir -p "$OUT"
go build -o "$OUT/rampart" ./cmd/rampart
R="$OUT/rampart"

source bench/lib.sh
# median_time CMD...: run CMD $RUNS times (after one warm-up), print the median wall time in seconds.
median_time() {
	"$@" >/dev/null 2>&1
	local ts=()
	for _ in $(seq "$RUNS"); do
		local t0; t0=$(now)
		"$@" >/dev/null 2>&1
		ts+=("$(echo "$(now) - $t0" | bc -l)")
	done
	printf '%s\n' "${ts[@]}" | median
}
ratio() { echo "scale=3; $1 / $2" | bc -l; }
row() { printf '%-44s %12s %12s %8s  %s\n' "$@"; }

data="$OUT/data-$N"
if [[ ! -s "$data/alerts.log" || "$(cat "$data/.loaded" 2>/dev/null)" != "$N" ]]; then
	echo "== generating $N alerts over $DAYS days (files + MariaDB $MYSQL_DB, ossec-dbd 3.x layout)" >&2
	$MYSQL -e "DROP DATABASE IF EXISTS $MYSQL_DB; CREATE DATABASE $MYSQL_DB"
	rm -rf "$data"
	t0=$(now)
	"$R" sample --out "$data" --alerts "$N" --days "$DAYS" --db "$DSN"
	echo "   took $(echo "$(now) - $t0" | bc -l | cut -c1-6) s" >&2
	echo "$N" >"$data/.loaded"
fi
log="$data/alerts.log"
size_mb=$(($(stat -c %s "$log") / 1000000))

echo "== $N alerts, alerts.log $size_mb MB; medians of $RUNS runs" >&2
row "figure" "rampart" "reference" "ratio" "reference is"

# 1. Parse rate: the parser benchmark on one core, and the whole file through `top --alerts`.
bench_out=$(GOMAXPROCS=1 go test -run '^$' -bench 'BenchmarkParse$' -benchtime 2s ./internal/ossec/alertslog | grep -E '^BenchmarkParse')
per_s=$(echo "$bench_out" | grep -oE '[0-9.]+ alerts/s' | head -1 | cut -d' ' -f1)
row "parse alerts.log (alerts/s, 1 core)" "$(printf '%.0f' "$per_s")" "1000000" "$(ratio "$per_s" 1000000)" "the issue's target"
t_top_file=$(median_time "$R" top --alerts "$log" --limit 1)
# (Not grep: with its output on /dev/null GNU grep stops at the first match.)
t_wc=$(median_time wc -l "$log")
row "top --alerts over the file (s)" "$t_top_file" "$t_wc" "$(ratio "$t_top_file" "$t_wc")" "wc -l of the file (reading floor)"

# 2. Import into a fresh store.
store="$OUT/store-$N.db"
rm -f "$store" "$store-wal" "$store-shm"
t0=$(now)
"$R" import --store "$store" --progress never "$log" 2>&1 | tail -1 >&2
t_import=$(echo "$(now) - $t0" | bc -l)
row "import $N alerts (s)" "$(printf '%.2f' "$t_import")" "15" "$(ratio "$t_import" 15)" "the issue's target"

# 3./4. Top sources: store and --db against the seed's query on MariaDB.
seed="SELECT src_ip as a ,count(src_ip) as c FROM alert WHERE ( src_ip <> '(null)' AND src_ip <> '::' AND src_ip <> '::1' AND src_ip <> '127.0.0.1' AND src_ip NOT LIKE '10.40.0.%' AND src_ip NOT LIKE '192.168.0.%') GROUP BY src_ip ORDER BY c DESC"
t_seed=$(median_time $MYSQL "$MYSQL_DB" -e "$seed")
t_top_store=$(median_time "$R" top --store "$store" --format json)
row "top from the store (s)" "$t_top_store" "$t_seed" "$(ratio "$t_top_store" "$t_seed")" "seed query on MariaDB (target ≤ 0.1)"
t_top_db=$(median_time "$R" top --db "$DSN" --format json)
row "top --db on MariaDB (s)" "$t_top_db" "$t_seed" "$(ratio "$t_top_db" "$t_seed")" "seed query on MariaDB (target ≤ 1.2)"
# The same with the covering index "rampart db optimize" offers (dropped again after).
"$R" db optimize --db "$DSN" >/dev/null 2>&1
t_seed_ix=$(median_time $MYSQL "$MYSQL_DB" -e "$seed")
t_top_db_ix=$(median_time "$R" top --db "$DSN" --format json)
row "top --db, after db optimize (s)" "$t_top_db_ix" "$t_seed_ix" "$(ratio "$t_top_db_ix" "$t_seed_ix")" "seed query on MariaDB (target ≤ 1.2)"
$MYSQL "$MYSQL_DB" -e "DROP INDEX rampart_top ON alert"

# 5. One source's history: the busiest source.
ip=$("$R" top --store "$store" --limit 1 --format csv | tail -1 | cut -d, -f1)
cnt=$("$R" top --store "$store" --limit 1 --format csv | tail -1 | cut -d, -f2)
t_ip=$(median_time "$R" ip "$ip" --store "$store" --format json)
t_ip_seed=$(median_time $MYSQL "$MYSQL_DB" -e "SELECT FROM_UNIXTIME(timestamp),level,full_log FROM alert WHERE (src_ip = '$ip') ORDER BY timestamp DESC")
row "ip $ip ($cnt alerts) from the store (s)" "$t_ip" "$t_ip_seed" "$(ratio "$t_ip" "$t_ip_seed")" "seed drill-down query (target: ≤ 0.050 s absolute)"

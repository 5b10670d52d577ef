#!/usr/bin/env bash
# Each query of the "OSSEC alerts" Grafana dashboard, expanded as Grafana's
# MySQL data source runs it, over the MariaDB database bench/run.sh fills
# (3,000,000 alerts over 180 days, ossec-dbd 3.x layout), for the last 7 days
# of the data and for all of it, beside the seed's queries. See bench/README.md.
#
#   bench/grafana.sh
#   RUNS=3 MYSQL_DB=rampart_bench bench/grafana.sh
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
OUT=${OUT:-bench/out}
MYSQL_DB=${MYSQL_DB:-rampart_bench}
MYSQL="mariadb -h 127.0.0.1 -u root"
# Rampart's default local networks, named so that no config file matters.
LOCAL_NETS=${LOCAL_NETS:-0.0.0.0/32,10.0.0.0/8,100.64.0.0/10,127.0.0.0/8,169.254.0.0/16,172.16.0.0/12,192.168.0.0/16,::/128,::1/128,fc00::/7,fe80::/10}

source bench/lib.sh

if ! rows=$($MYSQL -N "$MYSQL_DB" -e "SELECT COUNT(*) FROM alert" 2>/dev/null); then
	echo "no database $MYSQL_DB on 127.0.0.1:3306: run bench/run.sh first" >&2
	exit 1
fi
mkdir -p "$OUT"
go build -o "$OUT/rampart-grafana" ./cmd/rampart
R="$OUT/rampart-grafana"

# The data's time span, from the alert ids (10-digit epochs).
read -r first last < <($MYSQL -N "$MYSQL_DB" -e \
	"SELECT SUBSTRING_INDEX(MIN(alertid), '.', 1), SUBSTRING_INDEX(MAX(alertid), '.', 1) FROM alert")
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
week=$((last - 7 * 86400 + 1))

# The seed's queries: top sources (as bench/run.sh runs it) and the
# drill-down on the busiest source it finds.
seed="SELECT src_ip as a ,count(src_ip) as c FROM alert WHERE ( src_ip <> '(null)' AND src_ip <> '::' AND src_ip <> '::1' AND src_ip <> '127.0.0.1' AND src_ip NOT LIKE '10.40.0.%' AND src_ip NOT LIKE '192.168.0.%') GROUP BY src_ip ORDER BY c DESC"
ip=$($MYSQL -N "$MYSQL_DB" -e "$seed LIMIT 1" | cut -f1)
seed_ip="SELECT FROM_UNIXTIME(timestamp),level,full_log FROM alert WHERE (src_ip = '$ip') ORDER BY timestamp DESC"

# Interval as Grafana picks it for a ~1,000-pixel panel: 10 min for 7 days,
# 6 h for 180 days.
q7="$OUT/grafana-queries-7d"
qall="$OUT/grafana-queries-all"
rm -rf "$q7" "$qall"
"$R" grafana queries --local-nets "$LOCAL_NETS" --from "$(iso "$week")" --to "$(iso "$last")" --interval 10m \
	--var "source=$ip" --out "$q7" >/dev/null
"$R" grafana queries --local-nets "$LOCAL_NETS" --from "$(iso "$first")" --to "$(iso "$last")" --interval 6h \
	--var "source=$ip" --out "$qall" >/dev/null

# median_sql FILE|-e SQL: run the query $RUNS times (after one warm-up) in the
# mariadb client, whole processes, and print the median wall time in seconds.
median_sql() {
	local run
	if [[ $1 == -e ]]; then run=($MYSQL "$MYSQL_DB" -e "$2"); else run=(sh -c "$MYSQL $MYSQL_DB < '$1'"); fi
	"${run[@]}" >/dev/null
	local ts=()
	for _ in $(seq "$RUNS"); do
		local t0
		t0=$(now)
		"${run[@]}" >/dev/null
		ts+=("$(echo "$(now) - $t0" | bc -l)")
	done
	printf '%s\n' "${ts[@]}" | median
}
fmt() { printf '%.3f' "$1"; }
row() { printf '%-40s %9s %9s %11s %9s %9s\n' "$@"; }

t_seed=$(median_sql -e "$seed")
t_seed_ip=$(median_sql -e "$seed_ip")
echo "== $rows alerts in $MYSQL_DB, $(iso "$first") to $(iso "$last"); medians of $RUNS runs of the mariadb client" >&2
echo "== seed top sources $(fmt "$t_seed") s; seed drill-down on $ip $(fmt "$t_seed_ip") s" >&2

# Each query for 7 days and for all the data, then all the data again with
# the covering index "rampart db optimize" offers (dropped again after,
# unless it was there before).
declare -A t7 tall tix
for f in "$qall"/*.sql; do
	name=$(basename "$f" .sql)
	t7[$name]=$(median_sql "$q7/$name.sql")
	tall[$name]=$(median_sql "$f")
done
had_index=$($MYSQL -N "$MYSQL_DB" -e "SELECT COUNT(*) FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = 'alert' AND index_name = 'rampart_top'")
"$R" db optimize --db "mysql://root@127.0.0.1:3306/$MYSQL_DB" >/dev/null 2>&1
for f in "$qall"/*.sql; do
	name=$(basename "$f" .sql)
	tix[$name]=$(median_sql "$f")
done
[[ $had_index != 0 ]] || $MYSQL "$MYSQL_DB" -e "DROP INDEX rampart_top ON alert"

row "panel (seconds)" "7 days" "all" "all, index" "seed" "all/seed"
for f in "$qall"/*.sql; do
	name=$(basename "$f" .sql)
	title=$(head -1 "$f" | sed 's/^-- //; s/≥/>=/')
	ref=$t_seed
	case "$title" in *"$ip"*) ref=$t_seed_ip ;; esac
	row "${title:0:40}" "$(fmt "${t7[$name]}")" "$(fmt "${tall[$name]}")" "$(fmt "${tix[$name]}")" "$(fmt "$ref")" \
		"$(echo "scale=2; ${tall[$name]} / $ref" | bc -l)"
done

#!/usr/bin/env bash
# Per-connection cost of hosts.deny with 100,000 attackers, measured with the
# real tcpdmatch (Debian package tcpd) on one client that is not listed (the
# cost an innocent connection pays):
#   lines    the seed's form, one "ALL: ip" line per attacker (fail2ban's)
#   sharded  Rampart's default form: a fixed block of 257 lines, each guarded
#            by a first IPv4 octet ("ALL: 203. EXCEPT ALL EXCEPT .../203", and
#            [::]/0 for IPv6), so a client reads only its octet's list file;
#            the files written by internal/enforce/hostsdeny from the same
#            addresses after aggregation (IPv6 widened to /64, as Rampart does)
#   single   Rampart's single form: one "ALL: /path/list" line, the whole list
#            in one file (every client reads all of it)
#   empty    an empty hosts.deny (process start-up, the floor)
# Target: sharded <= 1/3 of lines. Reference (peers.md): 54 / 18 / 2 ms. The
# sharded form is also timed for a client in the octet with the most entries
# (its file is read to the end), for information.
#
#   bench/hostsdeny.sh                      # attackers drawn like internal/sample's
#   ATTACKERS=file bench/hostsdeny.sh       # your own list, one address per line
#   MIX=random bench/hostsdeny.sh           # uniformly random IPv4 (no aggregation)
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-100000}
RUNS=${RUNS:-15}
MIX=${MIX:-sample}
OUT=${OUT:-bench/out/hostsdeny}
CLIENT=${CLIENT:-192.0.2.200}
TCPDMATCH=$(command -v tcpdmatch || echo /usr/sbin/tcpdmatch)
[[ -x $TCPDMATCH ]] || { echo "tcpdmatch not found: apt-get install tcpd" >&2; exit 1; }

rm -rf "$OUT"
mkdir -p "$OUT/lines" "$OUT/empty"
OUT=$(cd "$OUT" && pwd)

if [[ -n ${ATTACKERS:-} ]]; then
	grep -v '^#' "$ATTACKERS" | awk 'NF' | head -n "$N" >"$OUT/attackers.txt"
else
	# Deterministic. "sample" follows internal/sample's attacker model: IPv4
	# hosts spread over common attack /8s, 4% IPv6 hosts in seven hosting
	# /64s, and the 218.92.0.0/24 cluster; "random" is IPv4 only.
	awk -v n="$N" -v mix="$MIX" 'BEGIN {
		srand(20261127)
		split("1 5 14 23 27 31 36 37 39 42 43 45 46 49 51 58 59 60 61 62 64 66 68 71 77 78 79 80 81 82 83 85 86 87 88 89 91 92 93 94 95 101 103 104 106 107 109 112 113 114 115 116 117 118 119 120 121 122 123 124 125 134 138 139 141 142 143 144 146 147 149 150 151 152 154 157 158 159 161 162 164 165 167 170 171 175 176 177 178 179 180 181 182 183 185 186 187 188 189 190 191 193 194 195 197 200 201 202 206 209 212 213 217 220 221 222", oct, " ")
		no = length(oct)
		split("2a01:4f8:c17:2d4e 2604:a880:400:d1 2a03:b0c0:3:e0 2001:41d0:302:1100 2400:8901:e001:52 2a0e:97c0:3e3:3a2 240e:3b7:3272:d8d0", v6, " ")
		split("40 20 10 10 8 6 6", w, " ")
		got = 0
		if (mix == "sample") for (h = 1; h < 255 && got < n; h++) { seen["218.92.0." h] = 1; print "218.92.0." h; got++ }
		while (got < n) {
			if (mix == "sample" && rand() < 0.04) {
				r = rand() * 100; i = 1; acc = w[1]
				while (r >= acc && i < 7) { i++; acc += w[i] }
				if (rand() < 0.5) a = sprintf("%s::%x", v6[i], 1 + int(rand() * 255))
				else a = sprintf("%s:%x:%x:%x:%x", v6[i], int(rand()*65536), int(rand()*65536), int(rand()*65536), int(rand()*65536))
			} else {
				a = oct[1 + int(rand() * no)] "." int(rand() * 256) "." int(rand() * 256) "." (1 + int(rand() * 254))
			}
			if (!(a in seen)) { seen[a] = 1; print a; got++ }
		}
	}' >"$OUT/attackers.txt"
fi
n=$(wc -l <"$OUT/attackers.txt")

# The seed's form: one line per attacker (fail2ban's spelling, IPv6 in brackets).
awk '{ if (index($0, ":")) print "ALL: [" $0 "]"; else print "ALL: " $0 }' "$OUT/attackers.txt" >"$OUT/lines/hosts.deny"
: >"$OUT/empty/hosts.deny"
# Rampart's forms, written by the enforcer itself into $OUT/sharded and $OUT/single.
out=$(RAMPART_HOSTSDENY_BENCH="$OUT" go test -count=1 -run '^TestWriteBenchFiles$' -v ./internal/enforce/hostsdeny)
agg=$(grep -E '^(entries|apply)' <<<"$out" | paste -sd ';' | sed 's/;/; /g' || true)
[[ -L $OUT/sharded/hosts.deny.list.d/current && -s $OUT/single/hosts.deny.list ]] || { echo "the enforcer wrote no list" >&2; echo "$out" >&2; exit 1; }
rm -rf "$OUT/sharded/ossec" "$OUT/single/ossec"
for d in lines sharded single empty; do : >"$OUT/$d/hosts.allow"; done

now() { date +%s%N; }
# verdict DIR CLIENT: tcpdmatch's access verdict.
verdict() { (cd "$1" && "$TCPDMATCH" -d sshd "$2" | awk '/^access:/ {print $2}'); }
# time_ns DIR CLIENT: one tcpdmatch run in DIR, in ns.
time_ns() {
	local t0
	t0=$(now)
	(cd "$1" && "$TCPDMATCH" -d sshd "$2" >/dev/null)
	echo $(( $(now) - t0 ))
}
# measure NAME=DIR:CLIENT...: each client must be granted; then RUNS rounds,
# each timing every NAME once (interleaved, so load that comes and goes hits
# every form alike), after one warm-up round; sets t_NAME to the median in ms.
measure() {
	local spec name d c i v
	for spec in "$@"; do
		name=${spec%%=*} d=${spec#*=} c=${d##*:} d=${d%:*}
		v=$(verdict "$d" "$c")
		[[ $v == granted ]] || { echo "tcpdmatch in $d: $c $v, want granted" >&2; exit 1; }
		: >"$OUT/times.$name"
	done
	for i in $(seq 0 "$RUNS"); do
		for spec in "$@"; do
			name=${spec%%=*} d=${spec#*=} c=${d##*:} d=${d%:*}
			v=$(time_ns "$d" "$c")
			[[ $i == 0 ]] || echo "$v" >>"$OUT/times.$name"
		done
	done
	for spec in "$@"; do
		name=${spec%%=*}
		printf -v "t_$name" '%s' "$(sort -n "$OUT/times.$name" | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)] / 1e6}')"
	done
}
# Spot checks: the first attacker and an IPv6 one (if any) are denied in every form.
first=$(head -1 "$OUT/attackers.txt")
v6=$(grep -m1 : "$OUT/attackers.txt" || true)
for d in lines sharded single; do
	for a in $first $v6; do
		v=$(verdict "$OUT/$d" "$a")
		[[ $v == denied ]] || { echo "$d: attacker $a $v, want denied" >&2; exit 1; }
	done
done
# The octet with the most entries, and a client there no attacker has (the
# drawn attackers end in 1-254).
gen=$OUT/sharded/hosts.deny.list.d/current
busy=$(cd "$gen" && wc -l [0-9]* 2>/dev/null | grep -v ' total$' | sort -n | tail -1 | awk '{print $2}' || true)
busy_client=$busy.0.0.0
[[ -n $busy && $(verdict "$OUT/sharded" "$busy_client") == granted ]] || busy=

specs=("lines=$OUT/lines:$CLIENT" "sharded=$OUT/sharded:$CLIENT" "single=$OUT/single:$CLIENT" "empty=$OUT/empty:$CLIENT")
t_busy=-
[[ -z $busy ]] || specs+=("busy=$OUT/sharded:$busy_client")
measure "${specs[@]}"
entries=$(wc -l <"$OUT/single/hosts.deny.list")
files=$(find "$gen/" -type f | wc -l)
busy_n=0
[[ -z $busy ]] || busy_n=$(wc -l <"$gen/$busy")
ratio() { awk -v a="$1" -v b="$t_lines" 'BEGIN {printf "%.3f", a / b}'; }
net() { awk -v a="$1" -v b="$t_lines" -v e="$t_empty" 'BEGIN {printf "%.3f", (a - e) / (b - e)}'; }
met() { awk -v r="$1" 'BEGIN {print (r <= 0.3334) ? "met" : "NOT met"}'; }

echo "== hosts.deny per-connection check, $n attackers (mix: ${ATTACKERS:-$MIX}), tcpdmatch median of $RUNS interleaved rounds, client $CLIENT"
echo "   $agg"
printf '%-52s %10s %12s\n' "form" "ms" "reference ms"
printf '%-52s %10s %12s\n' "ALL: ip lines ($n lines)" "$t_lines" 54
printf '%-52s %10s %12s\n' "sharded, default ($entries patterns in $files files)" "$t_sharded" -
[[ -z $busy ]] || printf '%-52s %10s %12s\n' "  same, client $busy_client ($busy_n patterns in its file)" "$t_busy" -
printf '%-52s %10s %12s\n' "single: ALL: /list include ($entries patterns)" "$t_single" 18
printf '%-52s %10s %12s\n' "empty hosts.deny" "$t_empty" 2
r=$(ratio "$t_sharded")
printf 'ratio sharded / lines: %s (target <= 0.333: %s); without start-up: %s\n' "$r" "$(met "$r")" "$(net "$t_sharded")"
printf 'ratio single  / lines: %s (no target: the form kept for exactly one line); without start-up: %s\n' "$(ratio "$t_single")" "$(net "$t_single")"

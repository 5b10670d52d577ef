#!/usr/bin/env bash
# Per-connection cost of hosts.deny with 100,000 attackers, measured with the
# real tcpdmatch (Debian package tcpd) on one client that is not listed (every
# pattern is read, the cost an innocent connection pays):
#   lines    the seed's form, one "ALL: ip" line per attacker (fail2ban's)
#   include  Rampart's form: one "ALL: /path/list" line, the list written by
#            internal/enforce/hostsdeny from the same addresses after
#            aggregation (IPv6 widened to /64, as Rampart does by default)
#   empty    an empty hosts.deny (process start-up, the floor)
# Target: include <= 1/3 of lines. Reference (peers.md): 54 / 18 / 2 ms.
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
mkdir -p "$OUT/lines" "$OUT/include" "$OUT/empty"
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
for d in lines include empty; do : >"$OUT/$d/hosts.allow"; done
# Rampart's form, written by the enforcer itself.
agg=$(RAMPART_HOSTSDENY_BENCH="$OUT" go test -count=1 -run '^TestWriteBenchFiles$' -v ./internal/enforce/hostsdeny | grep -E '^entries' || true)
[[ -s $OUT/include/hosts.deny.list ]] || { echo "the enforcer wrote no list" >&2; exit 1; }
rm -rf "$OUT/include/ossec"

now() { date +%s%N; }
# median_ms DIR: tcpdmatch in DIR, RUNS times after one warm-up; prints the median in ms.
median_ms() {
	local d=$1 ts=() t0 i verdict
	verdict=$(cd "$d" && "$TCPDMATCH" -d sshd "$CLIENT" | awk '/^access:/ {print $2}')
	[[ $verdict == granted ]] || { echo "tcpdmatch in $d: $CLIENT $verdict, want granted" >&2; exit 1; }
	for i in $(seq "$RUNS"); do
		t0=$(now)
		(cd "$d" && "$TCPDMATCH" -d sshd "$CLIENT" >/dev/null)
		ts+=("$(( $(now) - t0 ))")
	done
	printf '%s\n' "${ts[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)] / 1e6}'
}
# Spot checks: the first attacker is denied in both forms.
first=$(head -1 "$OUT/attackers.txt")
for d in lines include; do
	v=$(cd "$OUT/$d" && "$TCPDMATCH" -d sshd "$first" | awk '/^access:/ {print $2}')
	[[ $v == denied ]] || { echo "$d: attacker $first $v, want denied" >&2; exit 1; }
done

t_lines=$(median_ms "$OUT/lines")
t_inc=$(median_ms "$OUT/include")
t_empty=$(median_ms "$OUT/empty")
entries=$(wc -l <"$OUT/include/hosts.deny.list")
ratio=$(awk -v a="$t_inc" -v b="$t_lines" 'BEGIN {printf "%.3f", a / b}')
net=$(awk -v a="$t_inc" -v b="$t_lines" -v e="$t_empty" 'BEGIN {printf "%.3f", (a - e) / (b - e)}')

echo "== hosts.deny per-connection check, $n attackers (mix: ${ATTACKERS:-$MIX}), tcpdmatch median of $RUNS, client $CLIENT"
echo "   ${agg:-aggregation: see the list file}"
printf '%-40s %10s %12s\n' "form" "ms" "reference ms"
printf '%-40s %10s %12s\n' "ALL: ip lines ($n lines)" "$t_lines" 54
printf '%-40s %10s %12s\n' "ALL: /list include ($entries patterns)" "$t_inc" 18
printf '%-40s %10s %12s\n' "empty hosts.deny" "$t_empty" 2
printf 'ratio include / lines: %s (target <= 0.333: %s); without start-up: %s\n' "$ratio" \
	"$(awk -v r="$ratio" 'BEGIN {print (r <= 0.3334) ? "met" : "NOT met"}')" "$net"

# Helpers shared by the bench scripts; they source this file.

# now prints the time in seconds with nanoseconds.
now() { date +%s.%N; }

# median prints the median of the numbers on stdin, one per line.
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# A scratch network namespace for references that must start fresh.
ns="rampart-bench-$$"
cleanup() { ip netns delete "$ns" 2>/dev/null || true; }

# nsop NAME prints the ns/op of benchmark NAME from the go test output in
# $bench.
nsop() { awk -v b="$1" '$1 ~ "^"b"(-[0-9]+)?$" {print $3}' <<<"$bench"; }

#!/bin/sh
# Runs every fuzz target of ./collector/..., one after the other.
#   scripts/fuzz.sh 60                    all targets, 60 s each
#   scripts/fuzz.sh 30 FuzzDecodePeers    one target, 30 s
#   scripts/fuzz.sh -budget 420           all targets sharing 420 s evenly
# A budget keeps the whole run's length fixed as targets are added (each
# gets at least 10 s). A crasher is written under
# <package>/testdata/fuzz/<Target>/ by go test; commit it with the fix, so
# that plain `go test` replays it from then on.
# FUZZ_WORKERS sets the parallel fuzzing workers (default 1: the machine is
# shared). FUZZ_MINIMIZE bounds the minimizing of each new input (default
# 10s): at Go's default of 60s a target can spend most of a short run
# minimizing one corpus entry, with no executions counted.
set -eu

usage() {
	echo "usage: $0 SECONDS|-budget SECONDS [FuzzTarget...]" >&2
	exit 2
}
budget=""
if [ "${1:-}" = "-budget" ]; then
	budget=1
	shift
fi
secs=${1:-}
case $secs in
'' | *[!0-9]*) usage ;;
esac
if [ "$secs" -lt 1 ] || [ "$secs" -gt 36000 ] || { [ -z "$budget" ] && [ "$secs" -gt 3600 ]; }; then
	echo "$0: SECONDS must be between 1 and 3600 per target (36000 for a budget)" >&2
	exit 2
fi
shift
workers=${FUZZ_WORKERS:-1}
minimize=${FUZZ_MINIMIZE:-10s}

cd "$(dirname "$0")/.."
# Each target as package:Target; go test -list prints a package's targets,
# then "ok <package>".
targets=$(go test -list '^Fuzz' ./collector/... | awk '
	/^Fuzz/ { t[n++] = $1 }
	/^ok / { for (i = 0; i < n; i++) print $2 ":" t[i]; n = 0 }')
if [ $# -gt 0 ]; then
	want=" $* "
	targets=$(for pt in $targets; do case $want in *" ${pt#*:} "*) echo "$pt" ;; esac; done)
fi
[ -n "$targets" ] || { echo "$0: no fuzz targets found" >&2; exit 1; }
count=$(echo "$targets" | wc -l)
if [ -n "$budget" ]; then
	total=$secs
	secs=$((total / count))
	[ "$secs" -ge 10 ] || secs=10
	echo "== $count targets sharing ${total}s: ${secs}s each"
fi

failed=""
log=$(mktemp)
for pt in $targets; do
	pkg=${pt%%:*} target=${pt#*:}
	echo "== $target in $pkg (${secs}s)"
	# The outer timeout bounds a wedged run: fuzzing time plus building and
	# replaying the corpus.
	corpus=$(go list -f '{{.Dir}}' "$pkg")/testdata/fuzz/$target
	before=$(ls "$corpus" 2>/dev/null || true)
	if ! timeout "$((secs + 300))" go test -run '^$' -fuzz "^${target}\$" -fuzztime "${secs}s" \
		-fuzzminimizetime "$minimize" -parallel "$workers" "$pkg" >"$log" 2>&1; then
		cat "$log"
		# Go 1.26's fuzz coordinator can report its own -fuzztime deadline
		# as a failure, with no input at fault (golang/go#75804, fixed in
		# Go 1.27). That, and only that, is not a failure of the target: no
		# new input written, no failing input named, the bare deadline.
		after=$(ls "$corpus" 2>/dev/null || true)
		if [ "$before" = "$after" ] && grep -qx '    context deadline exceeded' "$log" &&
			! grep -q 'Failing input written to\|panic:\|_test.go:[0-9]' "$log"; then
			echo "== $target: the fuzz coordinator's deadline race (golang/go#75804), no failing input: not counted as a failure"
		else
			failed="$failed $target"
		fi
	else
		cat "$log"
	fi
done
rm -f "$log"
if [ -n "$failed" ]; then
	echo "FAILED:$failed" >&2
	exit 1
fi
echo "all fuzz targets passed"

#!/usr/bin/env bash
# Test support stays smaller than the product (shared/STYLE.md): the
# non-test Go of bench/, internal/consultest and the game-day harness
# against the product's, in lines and in code lines (no blank or comment-only
# lines). internal/netfault, the network-fault injector, is printed but not
# counted: it is none of the three. Run by make lint.
set -euo pipefail
cd "$(dirname "$0")/.."

gofiles() { git ls-files -- "$@" | grep '\.go$' | grep -v '_test\.go$' || true; }
# lines FILES...: "<lines> <code lines>"
lines() {
	cat "$@" | awk '{ n++ } /^[ \t]*$/ || /^[ \t]*\/\// { next } { c++ } END { print n+0, c+0 }'
}

product=(main.go $(gofiles collector internal/logging internal/selfmetrics internal/webserver))
support=($(gofiles bench internal/consultest)
	integration/gameday_harness_test.go integration/gameday_truth_test.go integration/timeline_test.go)

read -r pl pc < <(lines "${product[@]}")
read -r sl sc < <(lines "${support[@]}")
read -r nl nc < <(lines $(gofiles internal/netfault))
printf 'product %d lines (%d code); support %d (%d code); netfault, not counted, %d (%d code)\n' \
	"$pl" "$pc" "$sl" "$sc" "$nl" "$nc"
if (( sl >= pl || sc >= pc )); then
	echo "support code is not smaller than the product" >&2
	exit 1
fi

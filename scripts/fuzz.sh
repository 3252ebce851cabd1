#!/bin/sh
# Runs each libFuzzer harness for the given seconds over a scratch copy
# of its seed corpus.  A crash, leak, sanitizer report or timeout fails.
set -eu
secs="$1"
shift
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work" /tmp/pns-fuzz-*' EXIT
for h in "$@"; do
	mkdir -p "$work/$h"
	cp "$top/tests/fuzz/corpus/$h/"* "$work/$h/"
	echo "== fuzz_$h for ${secs}s"
	"$top/build/fuzz/fuzz_$h" -max_total_time="$secs" -timeout=10 \
	    -rss_limit_mb=1024 -max_len=1048576 -print_final_stats=1 \
	    -artifact_prefix="$work/" "$work/$h" 2>"$work/$h.log" || {
		tail -50 "$work/$h.log"
		echo "fuzz_$h failed; the input that failed is printed above"
		exit 1
	}
	grep -E "stat::number_of_executed_units|cov:" "$work/$h.log" | tail -2
done

#!/bin/sh
# Runs every Check suite given; fails if any fails, and prints the total.
set -u
failed=0
for t in "$@"; do
	echo "== $t"
	CK_VERBOSITY="${CK_VERBOSITY:-normal}" "$t" || failed=$((failed + 1))
done
echo "unit suites: $(($# - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]

#!/bin/sh
# "make valgrind": every unit suite, then the whole integration suite with
# each notices.fcgi process under valgrind (thousands of requests through
# one long-lived process).  Any error or definite leak fails.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
vg="valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect --error-exitcode=99"
failed=0

for t in "$@"; do
	echo "== valgrind $t"
	CK_FORK=no $vg "$t" >"$logs/unit.log" 2>&1 || {
		tail -40 "$logs/unit.log"
		failed=$((failed + 1))
	}
done

echo "== valgrind notices.fcgi under the integration suite"
PNS_FCGI_WRAPPER="$vg --log-file=$logs/fcgi.%p.log" \
    /usr/bin/python3 "$top/tests/integ/test_notices.py" || failed=$((failed + 1))
# One log per process valgrind ran: none would mean it never ran.
n=$(ls "$logs"/fcgi.*.log 2>/dev/null | wc -l)
echo "valgrind ran $n notices.fcgi process(es)"
[ "$n" -ge 2 ] || failed=$((failed + 1))
for f in "$logs"/fcgi.*.log; do
	[ -s "$f" ] || continue
	echo "valgrind reported on notices.fcgi:"
	cat "$f"
	failed=$((failed + 1))
done
[ "$failed" -eq 0 ] && echo "valgrind: clean" || echo "valgrind: $failed failure(s)"
[ "$failed" -eq 0 ]

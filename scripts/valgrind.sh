#!/bin/sh
# "make valgrind": every unit suite, then the integration suites with the
# programs under valgrind: notices.fcgi through the whole notice suite
# (thousands of requests through long-lived processes; a dynamically
# linked build of it, PNS_FCGI_PROGRAM, which the Makefile gives: in the
# static one valgrind cannot see malloc), lti.cgi through
# the launch suite's login, launch and rejection classes (one
# process per request, so the whole suite would take too long).  Any
# error or definite leak fails.
set -u
: "${PNS_FCGI_PROGRAM:?run it through make valgrind}"
top=$(cd "$(dirname "$0")/.." && pwd)
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
# --run-libc-freeres=no: at exit valgrind normally has glibc free its own
# memory, thread-specific data included.  OpenSSL keeps its per-thread
# state there, in our static libcrypto and in the shared one that the
# dlopen'ed libcurl and libjwt bring in, and does not free all of it at
# exit; once glibc's blocks are freed, the last pointer to that state is
# gone and valgrind calls it definitely lost, in some processes and not
# others depending on what else the heap holds.  Without the freeing it
# is still reachable.  Memory of ours whose last pointer we drop is
# definitely lost either way.  valgrind.supp names the one block for
# which that is not enough, and why it is not ours.
vg="valgrind --quiet --run-libc-freeres=no --suppressions=$top/scripts/valgrind.supp --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect --error-exitcode=99"
failed=0

for t in "$@"; do
	echo "== valgrind $t"
	CK_FORK=no $vg "$t" >"$logs/unit.log" 2>&1 || {
		tail -40 "$logs/unit.log"
		failed=$((failed + 1))
	}
done

# check_logs NAME MIN: at least MIN processes ran under valgrind (fewer
# would mean it never really ran) and none of them reported anything.
check_logs() {
	n=$(ls "$logs"/"$1".*.log 2>/dev/null | wc -l)
	echo "valgrind ran $n $1 process(es)"
	[ "$n" -ge "$2" ] || failed=$((failed + 1))
	for f in "$logs"/"$1".*.log; do
		[ -s "$f" ] || continue
		echo "valgrind reported on $1:"
		cat "$f"
		failed=$((failed + 1))
	done
}

echo "== valgrind notices.fcgi under the notice suite"
# notices.fcgi starts itself once more to turn glibc's per-thread cache
# off (tune_malloc); under valgrind that exec would leave valgrind
# behind.  With the setting already given it does not restart.
GLIBC_TUNABLES=glibc.malloc.tcache_count=0 \
    PNS_FCGI_WRAPPER="$vg --log-file=$logs/notices.fcgi.%p.log" \
    /usr/bin/python3 "$top/tests/integ/test_notices.py" || failed=$((failed + 1))
check_logs notices.fcgi 2

echo "== valgrind lti.cgi under the launch suite"
PNS_CGI_WRAPPER="$vg --log-file=$logs/lti.cgi.%p.log" \
    /usr/bin/python3 "$top/tests/integ/test_launch.py" T02Login T03Launch \
    T05Rejected || failed=$((failed + 1))
check_logs lti.cgi 50

[ "$failed" -eq 0 ] && echo "valgrind: clean" || echo "valgrind: $failed failure(s)"
[ "$failed" -eq 0 ]

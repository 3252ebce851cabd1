#!/bin/sh
# Installs the Debian packages that "make run", "make test" or "make
# bench" needs.  As root it runs apt-get; otherwise it prints the one line
# to run.  The benchmark's load generator and Node are asked for only by
# "make bench", so that "make test" never needs them.
set -eu

build="gcc make pkg-config libfcgi-dev libjson-c-dev libcurl4-openssl-dev libssl-dev libjwt-dev"
# libcurl4 is opened with dlopen on the first outgoing request, so no
# program names it as a dependency: it is asked for by name.
runtime="libcurl4 lighttpd"
bench="openssl python3-jwt python3-cryptography wrk nodejs npm"
testing="check libsubunit-dev python3-jwt python3-cryptography valgrind curl clang libclang-rt-14-dev apache2 libapache2-mod-fcgid apache2-suexec-pristine"

case "${1:-test}" in
run)	want="$build $runtime" ;;
test)	want="$build $runtime $testing" ;;
bench)	want="$build $runtime $bench" ;;
*)	echo "usage: deps.sh run|test|bench" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	case $p in
	# A node from another Debian-format repository ships its own npm,
	# which Debian's npm package would conflict with: ask for the
	# commands, not the package names.
	nodejs)	command -v node >/dev/null 2>&1 && continue ;;
	npm)	command -v npm >/dev/null 2>&1 && continue ;;
	esac
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "Missing Debian packages. Run, as root:" >&2
	echo "  apt-get update && apt-get install -y$missing" >&2
	exit 1
fi
echo "Installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
# Debian starts the packaged lighttpd on port 80; the tool and the
# benchmark run their own.
if [ -x /usr/sbin/service ] && echo "$missing" | grep -q lighttpd; then
	service lighttpd stop >/dev/null 2>&1 || true
fi

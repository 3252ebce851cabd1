#!/bin/sh
# "make run": a working tool on http://127.0.0.1:8080 from a fresh checkout.
# Writes var/pns.conf and var/data (kept between runs), then runs lighttpd
# in the foreground with notices.fcgi under mod_fastcgi.  Ctrl-C stops it.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
var="$top/var"
port="${PNS_PORT:-8080}"
base="http://127.0.0.1:$port/cgi-bin"
conf="$var/pns.conf"

mkdir -p "$var"
chmod 700 "$var"
if [ ! -f "$conf" ]; then
	cat > "$conf" <<CONF
# Written by "make run"; see docs/config.md for every key.
base_url = $base
data_dir = $var/data
notice_types = LtiHelloWorldNotice LtiContextCopyNotice
CONF
	echo "wrote $conf"
fi
PNS_CONFIG="$conf" "$top/bin/pnsctl" init

cat > "$var/lighttpd.conf" <<CONF
# Written by "make run".
server.modules = ( "mod_alias", "mod_fastcgi", "mod_cgi", "mod_setenv", "mod_accesslog" )
server.bind = "127.0.0.1"
server.port = $port
server.document-root = "$var/www"
server.errorlog = "/dev/stderr"
accesslog.filename = "/dev/stderr"
server.max-request-size = 1100
setenv.add-environment = ( "PNS_CONFIG" => "$conf" )
\$HTTP["url"] =~ "^/cgi-bin/lti\.cgi(/|\$)" {
  cgi.assign = ( "lti.cgi" => "" )
  alias.url = ( "/cgi-bin/lti.cgi" => "$top/cgi-bin/lti.cgi" )
}
fastcgi.server = (
  "/cgi-bin/notices.fcgi" => ((
    "socket" => "$var/notices.sock",
    "bin-path" => "$top/cgi-bin/notices.fcgi",
    "bin-environment" => ( "PNS_CONFIG" => "$conf" ),
    "check-local" => "disable",
    "max-procs" => 2
  ))
)
CONF
mkdir -p "$var/www"

cat <<MSG

The tool is running. Give the platform:
  tool configuration  $base/lti.cgi/config.json
  login URL           $base/lti.cgi/login
  launch URL          $base/lti.cgi/launch
  public keys         $base/lti.cgi/jwks
  notice handlers     $base/notices.fcgi/<deployment id> (registered by the first launch)
Register a platform first (see README.md):
  PNS_CONFIG=$conf bin/pnsctl platform add --issuer ... --client-id ... \\
      --auth-url ... --token-url ... --jwks-url ... --deployment ...
Stored notices:
  PNS_CONFIG=$conf bin/pnsctl notices list
Stop with Ctrl-C.

MSG
exec lighttpd -D -f "$var/lighttpd.conf"

# SPDX-License-Identifier: ISC
"""Integration tests of delivery to the application (include/pns_deliver.h).

Real lighttpd instances run cgi-bin/notices.fcgi, each with its own
pns.conf and data directory: a hook command, an HTTP target, per-type
rules, a single worker for the crash and queue tests, and no delivery at
all.  The application's side is played here: a /bin/sh hook written into
the server's directory that records every call (stdin, environment,
arguments, working directory, start time) and fails, hangs or blocks as
the notice id asks, and a loopback HTTP server that checks the
X-PNS-Signature HMAC.  The independent test platform (pns_platform.py) signs
the notices, Canvas's exact claim sets among them.

Every rejection has a twin the same setup accepts, every "not delivered"
a twin that is, so that no test passes because nothing happens.  Waiting
is by bounded polling of pnsctl or of the files the hook writes.

Run from the repository root:  /usr/bin/python3 tests/integ/test_delivery.py
(a subset: ... test_delivery.py T03Retries T07Crash)
The last line of output is "integration: N passed, M failed".
"""

import base64
import calendar
import fcntl
import glob
import hashlib
import hmac
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import harness as H
import pns_platform as P

CLAIM_VERSION = P.CLAIM_VERSION
CLAIM_NOTICE = P.CLAIM_NOTICE
CLAIM_DEPLOYMENT = P.CLAIM_DEPLOYMENT
CLAIM_CONTEXT = P.CLAIM_CONTEXT
CLAIM_ORIGINS = P.CLAIM_ORIGIN_CONTEXTS
LTI = "https://purl.imsglobal.org/spec/lti/claim/"
CLAIM_CUSTOM = LTI + "custom"
CLAIM_FOR_USER = LTI + "for_user"
CLAIM_ASSETREPORT = LTI + "assetreport"
CLAIM_ASSETSERVICE = LTI + "assetservice"
CLAIM_ACTIVITY = LTI + "activity"
CLAIM_SUBMISSION = LTI + "submission"
CLAIM_CONTRIBUTION = LTI + "contribution"

HELLO = P.HELLO_WORLD
COPY = P.CONTEXT_COPY
AP_SUBMISSION = "LtiAssetProcessorSubmissionNotice"
AP_CONTRIBUTION = "LtiAssetProcessorContributionNotice"

# The test platform's own registration.
ISSUER = "https://platform.pns-delivery.example"
CLIENT_ID = "pns-delivery-client"
DEPLOYMENT = "1:" + uuid.uuid5(uuid.NAMESPACE_URL, ISSUER).hex
# A deployment of its own for the counts of `pnsctl status`.
STATUS_DEPLOYMENT = "2:queue-status"

# Canvas, registered with the test platform's keys (pns-protocol.md 2.5).
CANVAS_ISSUER = "https://canvas.instructure.com"
CANVAS_CLIENT_ID = "10000000000068"
CANVAS_DEPLOYMENT = "106:8865aa05b4b79b64a91a86042e43af5ea8ae79eb"

# An issuer URL far longer than any real one, but one the registration
# accepts (URLs up to 2047 bytes).
LONG_ISSUER = "https://long-issuer.pns-delivery.example/" + "i" * 400

# In the environment of lighttpd, notices.fcgi and pnsctl: it must never
# reach a hook, whose environment is built from scratch.
MARKER = "PNS_TEST_LEAK_MARKER"
MARKER_VALUE = "leaked-from-our-environment"

HOOK_PATH_VAR = "/usr/local/bin:/usr/bin:/bin"
HOOK_ENV_NAMES = {"PATH", "PNS_NOTICE_ID", "PNS_NOTICE_TYPE", "PNS_ISSUER",
                  "PNS_CLIENT_ID", "PNS_DEPLOYMENT_ID", "PNS_NOTICE_KEY"}

# What the HTTP application checks signatures with.
URL_SECRET = "url-secret-" + uuid.uuid4().hex
OTHER_SECRET = "other-secret-" + uuid.uuid4().hex
# Larger than any answer body the receiver keeps (64 KiB).
BIG_ANSWER = 100 * 1024

# Short delays keep the suite quick: retries 1 s, 2 s, 4 s apart.
BACKOFF = 1
HOOK_TIMEOUT = 3

PF = None           # the test platform
APP_HTTP = None     # the HTTP application (deliver_url)
_SERVERS = {}       # name -> Server, started on first use
_STARTED = []       # every Server ever started, for logs and cleanup


def slow(seconds):
    """Timeouts stretch under valgrind (see harness.py)."""
    wrapped = os.environ.get("PNS_FCGI_WRAPPER") or \
        os.environ.get("PNS_CGI_WRAPPER")
    return seconds * (10 if wrapped else 1)


def wait_for(what, pred, timeout=20.0, step=0.1):
    """Polls pred until it returns something true (bounded); returns it."""
    deadline = time.monotonic() + slow(timeout)
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %g s waiting for %s"
                                 % (slow(timeout), what))
        time.sleep(step)


def iso_epoch(text):
    """Seconds since the epoch of an ISO-8601 UTC time ("...Z")."""
    base = text.rstrip("Z").split(".")[0]
    return calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S"))


# -- processes ------------------------------------------------------------

def _proc(pid, name):
    return Path("/proc/%d/%s" % (pid, name))


def alive(pid, mark=None):
    """True while pid runs (a zombie is dead) and, with mark, its command
    line still contains mark (the pid was not reused)."""
    try:
        stat = _proc(pid, "stat").read_text()
        cmd = _proc(pid, "cmdline").read_bytes()
    except OSError:
        return False
    if stat.rsplit(")", 1)[1].split()[0] in ("Z", "X"):
        return False
    return mark is None or mark in cmd


def worker_pids(srv):
    """Delivery workers of srv: lti.cgi --dispatch processes with its
    configuration (notices.fcgi's kick_delivery starts them in a session
    of their own)."""
    conf = b"PNS_CONFIG=" + str(srv.conf).encode()
    spawned = srv.fcgi_pids()
    pids = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in spawned:
            continue
        pid = int(entry)
        try:
            cmd = _proc(pid, "cmdline").read_bytes()
            env = _proc(pid, "environ").read_bytes()
        except OSError:
            continue
        if cmd.split(b"\0")[1:2] == [b"--dispatch"] and \
                b"lti.cgi" in cmd and conf in env.split(b"\0") and \
                alive(pid):
            pids.add(pid)
    return pids


def kill_pid(pid, group=False):
    try:
        if group:
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


# -- the application: a hook ----------------------------------------------

HOOK_SCRIPT = r"""#!/bin/sh
# SPDX-License-Identifier: ISC
# The application in tests/integ/test_delivery.py: records the call, then
# succeeds, fails, hangs or waits as the notice id and control files say.
# Only quoted expansions: the notice's strings are never code here.
app='@APP@'
call=$(mktemp -d "$app/calls/call.XXXXXXXX") || exit 90
cat > "$call/stdin"
cat "/proc/$$/environ" > "$call/environ"
readlink "/proc/$$/cwd" > "$call/cwd"
for a in "$0" "$@"; do printf '%s\0' "$a"; done > "$call/argv"
echo $$ > "$call/pid"
# Files the test polls appear whole (renamed into place), never half.
date +%s.%N > "$call/start.tmp" && mv "$call/start.tmp" "$call/start"
echo "hook stderr of $PNS_NOTICE_KEY" >&2
n=$(cat "$app/count.$PNS_NOTICE_KEY" 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" > "$app/count.$PNS_NOTICE_KEY"
# The application is down while this file exists.
while [ -e "$app/block" ]; do sleep 0.05; done
status=0
case $PNS_NOTICE_ID in
fail2-*) [ "$n" -gt 2 ] || status=3 ;;
fail-*) [ -e "$app/fixed.$PNS_NOTICE_KEY" ] || status=4 ;;
hang-*)
	if [ "$n" -eq 1 ]; then
		sleep 987 &
		echo $! > "$call/child.tmp" && mv "$call/child.tmp" "$call/child"
		wait
	fi ;;
esac
echo "$status" > "$call/exit.tmp" && mv "$call/exit.tmp" "$call/exit"
exit "$status"
"""


class Call:
    """One run of the hook, as it recorded itself."""

    def __init__(self, path):
        self.path = path
        self.stdin = (path / "stdin").read_bytes()
        self.env = {}
        for item in (path / "environ").read_bytes().split(b"\0"):
            if item:
                name, _, value = item.partition(b"=")
                self.env[name.decode()] = value.decode(
                    "utf-8", "surrogateescape")
        self.argv = [a.decode("utf-8", "surrogateescape") for a in
                     (path / "argv").read_bytes().split(b"\0")[:-1]]
        self.cwd = (path / "cwd").read_text().strip()
        self.pid = int((path / "pid").read_text())
        self.start = float((path / "start").read_text())
        try:
            self.exit = int((path / "exit").read_text())
        except (OSError, ValueError):
            self.exit = None            # still running, or killed
        try:
            self.child = int((path / "child").read_text())
        except (OSError, ValueError):
            self.child = None

    @property
    def key(self):
        return self.env.get("PNS_NOTICE_KEY")

    @property
    def ok(self):
        return self.exit == 0


class HookApp:
    """The hook script of one server and what it recorded."""

    def __init__(self, srv):
        self.dir = srv.tmp / "app"
        (self.dir / "calls").mkdir(parents=True)
        self.path = self.dir / "hook.sh"
        self.path.write_text(HOOK_SCRIPT.replace("@APP@", str(self.dir)))
        self.path.chmod(0o755)

    def calls(self, key=None):
        """Calls that have started (their start time is written last),
        oldest first; only those for key when given."""
        out = []
        for d in (self.dir / "calls").iterdir():
            if not (d / "start").exists():
                continue
            call = Call(d)
            if key is None or call.key == key:
                out.append(call)
        return sorted(out, key=lambda c: c.start)

    def ok_calls(self, key):
        return [c for c in self.calls(key) if c.ok]

    def block(self):
        (self.dir / "block").touch()

    def unblock(self):
        (self.dir / "block").unlink()

    def fix(self, key):
        (self.dir / ("fixed." + key)).touch()

    def stray_pids(self):
        """Hooks still running (each leads its own process group)."""
        return {c.pid for c in self.calls()
                if alive(c.pid, str(self.path).encode())}


# -- the application: an HTTP endpoint ----------------------------------------

def sign(secret, body):
    return "sha256=" + hmac.new(secret.encode(), body,
                                hashlib.sha256).hexdigest()


class HttpApp:
    """The application behind deliver_url: each path checks
    X-PNS-Signature with its own secret (401 when it does not match),
    answers 202 otherwise, and /big answers 200 with a large body."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []
        self.secrets = {"/ok": URL_SECRET, "/other": OTHER_SECRET,
                        "/big": URL_SECRET}
        self.server = self.thread = None

    def start(self):
        app = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                sig = self.headers.get("X-PNS-Signature") or ""
                with app.lock:
                    secret = app.secrets.get(self.path)
                good = secret is not None and \
                    hmac.compare_digest(sig, sign(secret, body))
                if self.path == "/redirect":
                    status, answer = 307, b""
                elif not good:
                    status, answer = 401, b'{"error":"bad signature"}'
                elif self.path == "/big":
                    status, answer = 200, b"x" * BIG_ANSWER
                else:
                    status, answer = 202, b'{"ok":true}'
                with app.lock:
                    app.requests.append({
                        "path": self.path, "body": body, "signature": sig,
                        "content_type": self.headers.get("Content-Type"),
                        "status": status})
                self.send_response(status)
                if status == 307:
                    self.send_header("Location", "/ok")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, fmt, *args):
                pass

        self.server, self.thread = P.serve(Handler)
        return self

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(timeout=5)
            self.server = None

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.server.server_address[1],
                                          path)

    def received(self, path=None, key=None):
        with self.lock:
            reqs = list(self.requests)
        out = []
        for r in reqs:
            if path is not None and r["path"] != path:
                continue
            if key is not None and json.loads(r["body"])["key"] != key:
                continue
            out.append(r)
        return out


# -- servers ------------------------------------------------------------------

BASE_CONFIG = {"deliver_backoff": str(BACKOFF),
               "deliver_timeout": str(HOOK_TIMEOUT)}

# Each server's pns.conf lines; @HOOK@ is its hook, @APPDIR@ the hook's
# directory, @URL@ the HTTP application.
CONFIGS = {
    # The general hook: every type goes to it.
    "hook": {"deliver_command": "@HOOK@", "deliver_attempts": "3"},
    # The HTTP target; per type, an endpoint keyed with another secret,
    # one answering with a large body, one redirecting.
    "url": {"deliver_url": "@URL@/ok", "deliver_secret": URL_SECRET,
            "deliver_url.LtiContextCopyNotice": "@URL@/other",
            "deliver_url.LtiBigAnswerNotice": "@URL@/big",
            "deliver_url.LtiRedirectNotice": "@URL@/redirect",
            "deliver_attempts": "2"},
    # One worker and a long timeout: a blocked hook holds everything.
    "crash": {"deliver_command": "@HOOK@", "deliver_workers": "1",
              "deliver_timeout": "60"},
    # Per-type rules over a general target; one names a hook that is
    # not installed yet.
    "rules": {"deliver_command": "@HOOK@ general",
              "deliver_attempts": "2",
              "deliver_command.LtiLaterNotice": "@APPDIR@/later.sh",
              "deliver_command.LtiHelloWorldNotice": "none",
              "deliver_command.LtiContextCopyNotice":
                  "@HOOK@ copy-rule x=1 $HOME ; `id` \"q\" $(id)",
              "deliver_url.LtiUrlNoneNotice": "none"},
    # One worker the tests can hold, retries 2 s apart, two attempts.
    "queue": {"deliver_command": "@HOOK@", "deliver_workers": "1",
              "deliver_attempts": "2", "deliver_backoff": "2",
              "deliver_command.LtiHelloWorldNotice": "none"},
    # No delivery at all.
    "plain": {},
}


def start_server(config):
    """lighttpd + notices.fcgi with config and the platforms registered;
    the marker variable is in its environment and pnsctl's."""
    srv = H.Server()
    _STARTED.append(srv)
    srv.hook = HookApp(srv)
    cfg = dict(BASE_CONFIG) if config else {}
    for k, v in config.items():
        v = v.replace("@HOOK@", str(srv.hook.path))
        v = v.replace("@APPDIR@", str(srv.hook.dir))
        if APP_HTTP is not None:
            v = v.replace("@URL@", APP_HTTP.url(""))
        cfg[k] = v
    srv.extra_config.update(cfg)
    srv.env[MARKER] = MARKER_VALUE
    srv.init()
    srv.add_platform(ISSUER, CLIENT_ID, PF.jwks_url,
                     [DEPLOYMENT, STATUS_DEPLOYMENT])
    srv.add_platform(CANVAS_ISSUER, CANVAS_CLIENT_ID, PF.jwks_url,
                     [CANVAS_DEPLOYMENT])
    srv.start()
    return srv


def server(name):
    """The named server, started on first use."""
    if name not in _SERVERS:
        _SERVERS[name] = start_server(CONFIGS[name])
    return _SERVERS[name]


def stop_server(srv):
    """Stops what srv started: hooks, workers, lighttpd; keeps its log."""
    for pid in srv.hook.stray_pids():
        kill_pid(pid, group=True)
    for pid in worker_pids(srv):
        kill_pid(pid)
    srv.stop()


class _Logs:
    """Every server's error log, for run_suites' sanitizer check."""

    @property
    def final_error_log(self):
        return "".join("==== %s\n%s" % (s.tmp, s.final_error_log or
                                        s.error_log()) for s in _STARTED)

    def error_log(self):
        return self.final_error_log


def setUpModule():
    global PF, APP_HTTP
    for path in (H.FCGI, H.LTI_CGI, H.PNSCTL):
        if not os.access(path, os.X_OK):
            raise RuntimeError("%s is not built (run make)" % path)
    PF = P.TestPlatform(ISSUER, CLIENT_ID, DEPLOYMENT).start()
    APP_HTTP = HttpApp().start()


def tearDownModule():
    for srv in _STARTED:
        if srv.proc is not None or srv.tmp.exists():
            stop_server(srv)
    if APP_HTTP is not None:
        APP_HTTP.stop()
    if PF is not None:
        PF.stop()


# -- Canvas's claim sets (pns-protocol.md section 2.5) -----------------------

def canvas_claims(notice_type, deployment=CANVAS_DEPLOYMENT):
    """The claims every Canvas notice has, freshly timed and with a new id."""
    now = int(time.time())
    return {
        CLAIM_VERSION: "1.3.0",
        CLAIM_NOTICE: {"id": str(uuid.uuid4()), "timestamp": P.iso_now(),
                       "type": notice_type},
        "aud": CANVAS_CLIENT_ID,
        "azp": CANVAS_CLIENT_ID,
        CLAIM_DEPLOYMENT: deployment,
        "exp": now + P.LIFETIME,
        "iat": now,
        "iss": CANVAS_ISSUER,
        "nonce": str(uuid.uuid4()),
    }


def canvas_hello(deployment=CANVAS_DEPLOYMENT):
    c = canvas_claims(HELLO, deployment)
    c[CLAIM_CONTEXT] = {"id": "8865aa05b4b79b64a91a86042e43af5ea8ae79eb",
                        "title": "Fake Academy", "type": ["Account"]}
    c[P.CLAIM_HELLO_WORLD] = {
        "title": "Hello World!",
        "message": "Congratulations! You have successfully subscribed to "
                   "LtiHelloWorldNotice in Canvas."}
    return c


def canvas_copy(origins=True, deployment=CANVAS_DEPLOYMENT):
    c = canvas_claims(COPY, deployment)
    c[CLAIM_CONTEXT] = {
        "id": "4dde05e8ca1973bcca9bffc13e1548820eee93a3",
        "label": "zzz", "title": "zzz",
        "type": ["http://purl.imsglobal.org/vocab/lis/v2/"
                 "course#CourseOffering"]}
    if origins:
        c[CLAIM_ORIGINS] = ["5098686ffc86cae4e0784b533a18af229ff5074e"]
    return c


def canvas_asset():
    return {
        "asset_id": "dd33081e-81ba-4651-b528-098315f8a346",
        "url": "http://host/api/lti/asset_processors/83/assets/"
               "dd33081e-81ba-4651-b528-098315f8a346",
        "sha256_checksum": "cy5X2xVgjbMETnEFhDQvRMWfodOxsI51YpYNCtxjZig=",
        "timestamp": "2025-07-30T03:26:44-06:00",
        "size": 29,
        "content_type": "text/html",
        "title": "AnonymousGraded",
    }


def canvas_submission():
    c = canvas_claims(AP_SUBMISSION)
    c.update({
        CLAIM_CUSTOM: {},
        CLAIM_FOR_USER: {"user_id": "972fd8aa-7f57-4d11-9400-916a0ed0d31d"},
        CLAIM_ASSETREPORT: {
            "scope": ["https://purl.imsglobal.org/spec/lti/scope/report"],
            "report_url": "http://host/api/lti/asset_processors/83/reports"},
        CLAIM_ASSETSERVICE: {
            "scope": ["https://purl.imsglobal.org/spec/lti/scope/"
                      "asset.readonly"],
            "assets": [canvas_asset()]},
        CLAIM_ACTIVITY: {"id": "d79c2ded-b078-4e8e-b090-dd1d380fc596"},
        CLAIM_SUBMISSION: {"id": "d6446aaf-3f71-4eea-b2fd-20bd8d151506:1"},
    })
    return c


def canvas_contribution(status="Submitted", assets=True):
    """A discussion contribution; without assets Canvas leaves the report
    service out."""
    c = canvas_claims(AP_CONTRIBUTION)
    c.update({
        "sub": "972fd8aa-7f57-4d11-9400-916a0ed0d31d",
        CLAIM_CUSTOM: {},
        CLAIM_FOR_USER: {"user_id": "972fd8aa-7f57-4d11-9400-916a0ed0d31d"},
        CLAIM_ASSETSERVICE: {
            "scope": ["https://purl.imsglobal.org/spec/lti/scope/"
                      "asset.readonly"],
            "assets": [canvas_asset()] if assets else []},
        CLAIM_ACTIVITY: {"id": "d79c2ded-b078-4e8e-b090-dd1d380fc596",
                         "title": "Discuss the reading"},
        CLAIM_CONTRIBUTION: {"id": "e1f7c9a2-0b4d-4e4b-9a55-3c1f2d7e8a90",
                             "created": "2025-08-01T12:40:00Z",
                             "updated": "2025-08-01T12:45:56Z",
                             "status": status},
    })
    if assets:
        c[CLAIM_ASSETREPORT] = {
            "scope": ["https://purl.imsglobal.org/spec/lti/scope/report"],
            "report_url": "http://host/api/lti/asset_processors/84/reports"}
    else:
        c[CLAIM_CONTRIBUTION]["parent"] = \
            "0c3b1a5e-2f4d-4c6b-8e7f-9a0b1c2d3e4f"
    return c


# -- tests -----------------------------------------------------------------

class DeliveryTest(unittest.TestCase):
    """Helpers shared by every test."""

    maxDiff = None
    SERVER = None       # name in CONFIGS

    @property
    def srv(self):
        return server(self.SERVER)

    def post(self, entries, srv=None):
        """POSTs {"notices": entries}; returns the per-entry answers."""
        resp = (srv or self.srv).post({"notices": entries})
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(len(resp.json["notices"]), len(entries), resp)
        return resp.json["notices"]

    def keys(self, srv=None):
        return {n["key"] for n in (srv or self.srv).notices()}

    def accept(self, token, srv=None):
        """The token is accepted; returns its stored record (listing)."""
        srv = srv or self.srv
        claims = P.decode_unverified(token)
        nid = claims[CLAIM_NOTICE]["id"]
        self.assertEqual(self.post([{"jwt": token}], srv),
                         [{"status": "accepted", "id": nid}])
        recs = [n for n in srv.notices()
                if n["id"] == nid and n["iss"] == claims["iss"]]
        self.assertEqual(len(recs), 1, recs)
        return recs[0]

    def reject(self, token, code="bad_type_claims", srv=None):
        """The token is rejected with code and nothing is stored."""
        srv = srv or self.srv
        before = self.keys(srv)
        self.assertEqual(self.post([{"jwt": token}], srv),
                         [{"status": "rejected", "error": code}])
        self.assertEqual(self.keys(srv), before, "a rejection stored data")

    def show(self, key, srv=None):
        return json.loads((srv or self.srv).pnsctl("notices", "show",
                                                   key).stdout)

    def delivery(self, key, srv=None):
        return self.show(key, srv)["delivery"]

    def wait_status(self, key, status, srv=None, timeout=20.0):
        """Waits for the notice's delivery status; returns the delivery."""
        last = {}

        def done():
            d = last["d"] = self.delivery(key, srv)
            # Delivered and failed change no more on their own: no use
            # waiting out the timeout for the other one.
            if d["status"] != status and d["status"] in ("delivered",
                                                         "failed"):
                raise AssertionError("delivery of %s ended %r, not %s"
                                     % (key[:16], d, status))
            return d if d["status"] == status else None
        try:
            return wait_for("delivery of %s to be %s" % (key[:16], status),
                            done, timeout)
        except AssertionError as e:
            raise AssertionError("%s; last %r" % (e, last.get("d")))

    def wait_no_workers(self, srv=None):
        srv = srv or self.srv
        wait_for("the delivery workers to stop",
                 lambda: not worker_pids(srv), timeout=30)

    def listed(self, status, srv=None):
        res = (srv or self.srv).pnsctl("notices", "list", "--json",
                                       "--status", status)
        return {n["key"] for n in json.loads(res.stdout)}

    def dispatch(self, srv=None):
        return (srv or self.srv).pnsctl("dispatch").stdout.strip()

    def notice_file(self, key, srv=None, suffix=".json"):
        return (srv or self.srv).notice_file(key, suffix)

    def queue_entry(self, key, srv=None):
        return (srv or self.srv).data_dir / "queue" / key

    def status_row(self, deployment, issuer=ISSUER, client_id=CLIENT_ID,
                   srv=None):
        status = json.loads((srv or self.srv).pnsctl("status",
                                                     "--json").stdout)
        rows = [r for r in status["deployments"]
                if (r["issuer"], r["client_id"], r["deployment_id"]) ==
                (issuer, client_id, deployment)]
        self.assertEqual(len(rows), 1, status)
        return rows[0], status

    def assert_hook_env(self, call, rec):
        """The hook's environment is exactly the documented one."""
        self.assertEqual(set(call.env), HOOK_ENV_NAMES)
        self.assertEqual(call.env, {
            "PATH": HOOK_PATH_VAR,
            "PNS_NOTICE_ID": rec["id"],
            "PNS_NOTICE_TYPE": rec["type"],
            "PNS_ISSUER": rec["iss"],
            "PNS_CLIENT_ID": rec["client_id"],
            "PNS_DEPLOYMENT_ID": rec["deployment_id"],
            "PNS_NOTICE_KEY": rec["key"],
        })
        self.assertNotIn(MARKER, call.env)
        self.assertEqual(call.cwd, "/")

    def hold_slot(self, srv=None, index=0):
        """Takes worker slot index as a worker would (flock), so that no
        worker can start while the test holds it.  Waits for a worker
        still holding it to finish."""
        path = (srv or self.srv).data_dir / "queue" / (".worker.%d" % index)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)

        def take():
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                return False
        try:
            wait_for("worker slot %d to be free" % index, take, timeout=30)
        except BaseException:
            os.close(fd)
            raise
        return fd


class T01Hook(DeliveryTest):
    """A hook that succeeds gets the stored record, a clean environment
    and "/" as its directory."""

    SERVER = "hook"

    def test_marker_is_in_the_receivers_environment(self):
        # The twin of the clean hook environment: the marker does reach
        # notices.fcgi (and so its workers), so its absence in the hook
        # is the hook runner's doing.
        pids = self.srv.fcgi_pids()
        self.assertTrue(pids)
        for pid in pids:
            env = _proc(pid, "environ").read_bytes().split(b"\0")
            self.assertIn(("%s=%s" % (MARKER, MARKER_VALUE)).encode(), env)

    def test_success_gets_record_env_and_cwd(self):
        token = PF.mint()
        rec = self.accept(token)
        d = self.wait_status(rec["key"], "delivered")
        self.assertEqual(d["attempts"], 1)
        self.assertRegex(d["delivered_at"],
                         r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertNotIn("last_error", d)
        calls = self.srv.hook.calls(rec["key"])
        self.assertEqual(len(calls), 1, calls)
        call = calls[0]
        self.assertTrue(call.ok)
        # stdin is the stored file, byte for byte, and so the record
        # `notices show` prints (with the raw token).
        self.assertEqual(call.stdin,
                         self.notice_file(rec["key"]).read_bytes())
        shown = self.show(rec["key"])
        del shown["delivery"]
        self.assertEqual(json.loads(call.stdin), shown)
        self.assertEqual(set(shown), {"key", "id", "type", "timestamp",
                                      "iss", "client_id", "deployment_id",
                                      "received_at", "claims", "jwt"})
        self.assertEqual(shown["jwt"], token)
        self.assert_hook_env(call, rec)
        self.assertEqual(call.env["PNS_ISSUER"], ISSUER)
        self.assertEqual(call.argv, [str(self.srv.hook.path)])
        # Delivered means the queue entry is gone.
        self.assertFalse(self.queue_entry(rec["key"]).exists())
        self.assertTrue(self.notice_file(rec["key"],
                                         suffix=".delivered").exists())
        # Its stderr is the web server's error log.
        self.assertIn("hook stderr of " + rec["key"], self.srv.error_log())

    def test_unknown_type_stored_and_delivered(self):
        rec = self.accept(PF.mint(notice_type="LtiSomeFutureNotice"))
        self.assertEqual(rec["type"], "LtiSomeFutureNotice")
        self.wait_status(rec["key"], "delivered")
        call = self.srv.hook.ok_calls(rec["key"])[0]
        self.assertEqual(call.env["PNS_NOTICE_TYPE"], "LtiSomeFutureNotice")
        self.assertEqual(json.loads(call.stdin)["claims"], rec["claims"])

    def test_long_issuer_reaches_the_hook(self):
        # A registered issuer is any URL up to 2047 bytes; the hook must
        # be told which platform sent the notice whatever its length.
        self.srv.add_platform(LONG_ISSUER, CLIENT_ID, PF.jwks_url,
                              [DEPLOYMENT])
        rec = self.accept(PF.mint(claims={"iss": LONG_ISSUER}))
        self.assertEqual(rec["iss"], LONG_ISSUER)
        self.wait_status(rec["key"], "delivered")
        call = self.srv.hook.ok_calls(rec["key"])[0]
        self.assertEqual(json.loads(call.stdin)["iss"], LONG_ISSUER)
        self.assert_hook_env(call, rec)


class T02Types(DeliveryTest):
    """Each notice type end to end with Canvas's exact claim sets, and
    each with a twin rejected as bad_type_claims."""

    SERVER = "hook"

    def accept_delivered(self, claims):
        token = PF.mint(payload=claims)
        rec = self.accept(token)
        self.assertEqual(rec["claims"], claims)
        self.wait_status(rec["key"], "delivered")
        call = self.srv.hook.ok_calls(rec["key"])[0]
        self.assertEqual(json.loads(call.stdin)["claims"], claims)
        self.assertEqual(call.env["PNS_NOTICE_TYPE"],
                         claims[CLAIM_NOTICE]["type"])
        return rec

    def copies(self):
        return json.loads(self.srv.pnsctl("contexts", "copies",
                                          "--json").stdout)

    def test_hello_world_verifies_the_channel(self):
        dep = "107:hello-" + uuid.uuid4().hex
        self.srv.add_platform(CANVAS_ISSUER, CANVAS_CLIENT_ID, PF.jwks_url,
                              [dep])
        row, _ = self.status_row(dep, CANVAS_ISSUER, CANVAS_CLIENT_ID)
        self.assertIsNone(row["channel_verified_at"])
        self.assertIsNone(row["last_notice_at"])
        # Another type marks the deployment seen, not verified.
        self.accept_delivered(canvas_copy(deployment=dep))
        row, _ = self.status_row(dep, CANVAS_ISSUER, CANVAS_CLIENT_ID)
        self.assertIsNone(row["channel_verified_at"])
        self.assertIsNotNone(row["last_notice_at"])
        before = int(time.time())
        rec = self.accept_delivered(canvas_hello(deployment=dep))
        row, _ = self.status_row(dep, CANVAS_ISSUER, CANVAS_CLIENT_ID)
        self.assertRegex(row["channel_verified_at"] or "",
                         r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertGreaterEqual(iso_epoch(row["channel_verified_at"]),
                                before - 1)
        self.assertEqual(row["notices_by_type"], {COPY: 1, HELLO: 1})
        self.assertEqual(row["notices_by_status"], {"delivered": 2})
        self.assertEqual(rec["deployment_id"], dep)

    def test_context_copy_with_origin_contexts(self):
        claims = canvas_copy()
        rec = self.accept_delivered(claims)
        mine = [c for c in self.copies() if c["notice_id"] == rec["id"]]
        self.assertEqual(mine, [{
            "notice_id": rec["id"], "iss": CANVAS_ISSUER,
            "client_id": CANVAS_CLIENT_ID,
            "deployment_id": CANVAS_DEPLOYMENT,
            "context": claims[CLAIM_CONTEXT],
            "origin_contexts": claims[CLAIM_ORIGINS],
            "copied_at": claims[CLAIM_NOTICE]["timestamp"]}])

    def test_context_copy_without_origin_contexts(self):
        claims = canvas_copy(origins=False)
        rec = self.accept_delivered(claims)
        mine = [c for c in self.copies() if c["notice_id"] == rec["id"]]
        self.assertEqual(len(mine), 1, mine)
        self.assertNotIn("origin_contexts", mine[0])
        self.assertEqual(mine[0]["context"], claims[CLAIM_CONTEXT])
        self.assertEqual(mine[0]["copied_at"],
                         claims[CLAIM_NOTICE]["timestamp"])

    def test_context_copy_retried_after_a_power_failure(self):
        # A power failure can leave a notice's name, and its copy
        # record's, without their content (ext4 writes a new file's name
        # before its blocks).  The copy record then stayed as it was when
        # the platform retried, and pnsctl's copies listing failed as a
        # whole on it.  Now the listing passes over it, naming it, and the
        # retry writes both records whole.  The leftovers are made by hand.
        other = self.accept_delivered(canvas_copy())["id"]
        claims = canvas_copy()
        rec = self.accept_delivered(claims)
        nid = rec["id"]
        kept = [c for c in self.copies() if c["notice_id"] == nid]
        self.assertEqual(len(kept), 1, kept)
        copy = self.srv.data_dir / "copies" / (rec["key"] + ".json")
        self.assertTrue(copy.is_file(), copy)
        self.notice_file(rec["key"]).write_bytes(b"")
        copy.write_bytes(b"\0" * 300)
        res = self.srv.pnsctl("contexts", "copies", "--json")
        listed = [c["notice_id"] for c in json.loads(res.stdout)]
        self.assertIn(other, listed)
        self.assertNotIn(nid, listed)
        self.assertIn("%s.json: skipped, not a whole record" % rec["key"],
                      res.stderr)
        self.assertEqual(self.post([{"jwt": PF.mint(payload=claims)}]),
                         [{"status": "accepted", "id": nid}])
        self.assertEqual([c for c in self.copies() if c["notice_id"] == nid],
                         kept)
        self.assertNotIn("skipped", self.srv.pnsctl("contexts",
                                                    "copies").stderr)
        # The twin: with both records whole, the next retry is a
        # duplicate and changes neither.
        before = copy.read_bytes()
        self.assertEqual(self.post([{"jwt": PF.mint(payload=claims)}]),
                         [{"status": "duplicate", "id": nid}])
        self.assertEqual(copy.read_bytes(), before)

    def test_context_copy_bad_claims_rejected(self):
        before = self.copies()
        bad = []
        c = canvas_copy()
        del c[CLAIM_CONTEXT]["id"]
        bad.append(c)
        c = canvas_copy()
        del c[CLAIM_CONTEXT]
        bad.append(c)
        c = canvas_copy()
        c[CLAIM_ORIGINS] = [5098686]
        bad.append(c)
        c = canvas_copy()
        c[CLAIM_ORIGINS] = "5098686ffc86cae4e0784b533a18af229ff5074e"
        bad.append(c)
        for claims in bad:
            with self.subTest(claims=claims):
                self.reject(PF.mint(payload=claims))
        self.assertEqual(self.copies(), before)

    def test_ap_submission_accepted_and_delivered(self):
        rec = self.accept_delivered(canvas_submission())
        self.assertEqual(rec["type"], AP_SUBMISSION)

    def test_ap_submission_bad_claims_rejected(self):
        variants = {}
        c = canvas_submission()
        # Hex, as a careless platform would send it: Canvas sends Base64.
        c[CLAIM_ASSETSERVICE]["assets"][0]["sha256_checksum"] = \
            hashlib.sha256(b"<p>text</p>").hexdigest()
        variants["hex checksum"] = c
        c = canvas_submission()
        c[CLAIM_ASSETSERVICE]["assets"][0]["sha256_checksum"] = \
            base64.b64encode(b"\0" * 31).decode()
        variants["31-byte checksum"] = c
        c = canvas_submission()
        c[CLAIM_SUBMISSION] = {}
        variants["no submission id"] = c
        c = canvas_submission()
        del c[CLAIM_SUBMISSION]
        variants["no submission"] = c
        c = canvas_submission()
        del c[CLAIM_ASSETREPORT]
        variants["no assetreport"] = c
        c = canvas_submission()
        c[CLAIM_ASSETREPORT]["report_url"] = "ftp://host/reports"
        variants["report_url not http"] = c
        c = canvas_submission()
        c[CLAIM_ASSETSERVICE]["assets"][0]["url"] = "file:///etc/passwd"
        variants["asset url not http"] = c
        c = canvas_submission()
        c[CLAIM_ASSETSERVICE]["assets"][0]["size"] = -1
        variants["negative size"] = c
        c = canvas_submission()
        del c[CLAIM_ASSETSERVICE]["assets"][0]["content_type"]
        variants["no content_type"] = c
        c = canvas_submission()
        c[CLAIM_ACTIVITY] = {}
        variants["no activity id"] = c
        c = canvas_submission()
        del c[CLAIM_FOR_USER]
        variants["no for_user"] = c
        for name, claims in variants.items():
            with self.subTest(variant=name):
                self.reject(PF.mint(payload=claims))

    def test_ap_contribution_accepted_and_delivered(self):
        for status, assets in (("Submitted", True), ("Deleted", False),
                               ("Draft", True), ("Hidden", False)):
            with self.subTest(status=status):
                rec = self.accept_delivered(canvas_contribution(status,
                                                                assets))
                self.assertEqual(rec["type"], AP_CONTRIBUTION)

    def test_ap_contribution_bad_claims_rejected(self):
        variants = {"status Published": canvas_contribution("Published"),
                    "status lowercase": canvas_contribution("submitted")}
        c = canvas_contribution()
        del c[CLAIM_CONTRIBUTION]["id"]
        variants["no contribution id"] = c
        c = canvas_contribution()
        del c[CLAIM_CONTRIBUTION]
        variants["no contribution"] = c
        c = canvas_contribution()
        c[CLAIM_ASSETSERVICE]["assets"][0]["sha256_checksum"] = \
            hashlib.sha256(b"x").hexdigest()
        variants["hex checksum"] = c
        for name, claims in variants.items():
            with self.subTest(variant=name):
                self.reject(PF.mint(payload=claims))


class T03Retries(DeliveryTest):
    """Failures are retried with backoff, up to deliver_attempts, and a
    failed notice can be put back."""

    SERVER = "hook"

    def test_fails_twice_then_delivered(self):
        rec = self.accept(PF.mint(notice_id="fail2-" + str(uuid.uuid4())))
        d = self.wait_status(rec["key"], "delivered")
        self.assertEqual(d["attempts"], 3)
        calls = self.srv.hook.calls(rec["key"])
        self.assertEqual([c.exit for c in calls], [3, 3, 0])
        # The same record each time.
        self.assertEqual({c.stdin for c in calls}, {calls[0].stdin})
        # The second delay is twice the first (backoff * 2^(n-1)): at
        # least a whole second after the second attempt.
        self.assertGreaterEqual(calls[2].start - calls[1].start, 1.0)
        self.assertIn("delivery of notice %s failed (attempt 2), retry in "
                      "2 s: hook exited with status 3" % rec["key"][:16],
                      self.srv.error_log())

    def test_always_failing_ends_failed_then_retried(self):
        rec = self.accept(PF.mint(notice_id="fail-" + str(uuid.uuid4())))
        key = rec["key"]
        d = self.wait_status(key, "failed")
        self.assertEqual(d["attempts"], 3)
        self.assertEqual(d["last_error"], "hook exited with status 4")
        self.assertNotIn("next_attempt_at", d)
        self.assertEqual([c.exit for c in self.srv.hook.calls(key)],
                         [4, 4, 4])
        self.assertIn(key, self.listed("failed"))
        self.assertNotIn(key, self.listed("pending"))
        _, status = self.status_row(DEPLOYMENT)
        self.assertGreaterEqual(status["delivery"]["failed"], 1)
        self.assertEqual(status["delivery"]["failed"],
                         len(self.listed("failed")))

        # Nothing more happens to a failed notice on its own.
        self.wait_no_workers()
        self.assertEqual(len(self.srv.hook.calls(key)), 3)
        self.assertEqual(self.dispatch(), "0 delivered, 0 to retry, 0 failed")
        self.assertEqual(self.delivery(key)["status"], "failed")

        # Fixed, put back by id, and delivered by a dispatch.
        self.srv.hook.fix(key)
        res = self.srv.pnsctl("notices", "retry", rec["id"])
        self.assertEqual(res.stdout.strip(),
                         "1 notice(s) queued for delivery again")
        d = self.delivery(key)
        self.assertEqual((d["status"], d["attempts"]), ("pending", 0))
        self.assertEqual(d["last_error"], "hook exited with status 4")
        self.assertEqual(self.dispatch(), "1 delivered, 0 to retry, 0 failed")
        d = self.delivery(key)
        self.assertEqual((d["status"], d["attempts"]), ("delivered", 1))
        self.assertEqual([c.exit for c in self.srv.hook.calls(key)],
                         [4, 4, 4, 0])

        # Twins of the retry: a delivered notice, an unknown id, a
        # malformed key.
        for arg in (key, rec["id"], str(uuid.uuid4()), "0" * 63 + "g"):
            with self.subTest(arg=arg):
                res = self.srv.pnsctl("notices", "retry", arg, check=False)
                self.assertEqual(res.returncode, 1, res)
        self.assertEqual(len(self.srv.hook.calls(key)), 4)

    def test_hanging_hook_killed_with_its_child_and_retried(self):
        rec = self.accept(PF.mint(notice_id="hang-" + str(uuid.uuid4())))
        key = rec["key"]
        first = wait_for("the hook to start its child", lambda: [
            c for c in self.srv.hook.calls(key) if c.child], timeout=10)[0]
        # While it hangs, it and its child run (the twin of "gone").
        self.assertTrue(alive(first.pid, str(self.srv.hook.path).encode()))
        self.assertTrue(alive(first.child, b"987"))
        d = self.wait_status(key, "delivered", timeout=30)
        self.assertEqual(d["attempts"], 2)
        calls = self.srv.hook.calls(key)
        self.assertEqual(len(calls), 2, calls)
        self.assertIsNone(calls[0].exit)        # killed, never finished
        self.assertEqual(calls[1].exit, 0)
        # Killed at the deadline, not when its child would have ended.
        gap = calls[1].start - calls[0].start
        self.assertGreaterEqual(gap, HOOK_TIMEOUT - 0.5)
        self.assertLess(gap, HOOK_TIMEOUT + slow(10))
        wait_for("the hung hook and its child to be gone", lambda: not (
            alive(first.pid, str(self.srv.hook.path).encode()) or
            alive(first.child, b"987")), timeout=5)
        self.assertIn("hook timed out after %d s and was killed" %
                      HOOK_TIMEOUT, self.srv.error_log())


class T04Duplicates(DeliveryTest):
    """A notice sent again is answered duplicate and not delivered again
    once delivered (its crash-time twin is in T07Crash)."""

    SERVER = "hook"

    def test_resent_delivered_notice_not_delivered_again(self):
        token = PF.mint()
        rec = self.accept(token)
        key = rec["key"]
        self.wait_status(key, "delivered")
        self.assertEqual(self.post([{"jwt": token}, token]), [
            {"status": "duplicate", "id": rec["id"]},
            {"status": "duplicate", "id": rec["id"]}])
        # Nothing was queued again: no entry, still delivered once.
        self.assertFalse(self.queue_entry(key).exists())
        d = self.delivery(key)
        self.assertEqual((d["status"], d["attempts"]), ("delivered", 1))
        self.wait_no_workers()
        self.assertEqual(self.dispatch(), "0 delivered, 0 to retry, 0 failed")
        self.assertEqual(len(self.srv.hook.calls(key)), 1)
        self.assertEqual(len([n for n in self.srv.notices()
                              if n["id"] == rec["id"]]), 1)


class T05Injection(DeliveryTest):
    """Notice data full of shell and path tricks reaches the hook
    verbatim, and runs nothing."""

    SERVER = "hook"

    def test_metacharacters_and_paths_verbatim(self):
        pw = self.srv.tmp / "pw"
        pw.mkdir()
        escape = "pns-escape-" + uuid.uuid4().hex[:12]
        cmd_id = "$(touch %s/a)`touch %s/b`" % (pw, pw)
        cmd_dep = ";touch %s/c|touch %s/d" % (pw, pw)
        nid = cmd_id + "\n../../../../../../tmp/%s /etc/passwd" % escape
        self.assertLess(len(nid), 256)
        dep = "9:" + cmd_dep + " ../../../../tmp/" + escape + "/"
        self.srv.add_platform(ISSUER, CLIENT_ID, PF.jwks_url, [dep])
        extra = {"cmd": cmd_id + cmd_dep, "nl": "one\ntwo\r\n",
                 "path": "../../../../../../tmp/" + escape,
                 "abs": "/etc/shadow", "quotes": "'\"\\ ${HOME} *"}
        token = PF.mint(notice_id=nid, claims={
            CLAIM_DEPLOYMENT: dep, "https://example.com/app": extra})
        rec = self.accept(token)
        self.assertEqual((rec["id"], rec["deployment_id"]), (nid, dep))
        self.wait_status(rec["key"], "delivered")
        call = self.srv.hook.ok_calls(rec["key"])[0]
        self.assert_hook_env(call, rec)
        self.assertEqual(call.env["PNS_NOTICE_ID"], nid)
        self.assertEqual(call.env["PNS_DEPLOYMENT_ID"], dep)
        got = json.loads(call.stdin)
        self.assertEqual((got["id"], got["deployment_id"]), (nid, dep))
        self.assertEqual(got["claims"]["https://example.com/app"], extra)
        self.assertEqual(call.stdin,
                         self.notice_file(rec["key"]).read_bytes())
        # Nothing ran, nothing was created where the paths point, and the
        # data directory holds only names of its own.
        self.assertEqual(sorted(os.listdir(pw)), [])
        self.assertEqual(glob.glob("/tmp/%s*" % escape), [])
        for root, dirs, files in os.walk(self.srv.data_dir):
            for name in dirs + files:
                self.assertNotIn(escape, name)
                self.assertNotIn("..", name)
        # The twin: through a shell, the same strings do run.
        subprocess.run(["/bin/sh", "-c", "echo " + cmd_id + cmd_dep],
                       stdout=subprocess.DEVNULL, check=False, timeout=10)
        self.assertEqual(sorted(os.listdir(pw)), ["a", "b", "c", "d"])


class T06Http(DeliveryTest):
    """deliver_url: a signed POST; 2xx is delivered, anything else is
    retried and ends failed."""

    SERVER = "url"

    def test_signed_post_delivered(self):
        rec = self.accept(PF.mint())
        d = self.wait_status(rec["key"], "delivered")
        self.assertEqual(d["attempts"], 1)
        reqs = APP_HTTP.received(key=rec["key"])
        self.assertEqual(len(reqs), 1, reqs)
        req = reqs[0]
        self.assertEqual((req["path"], req["status"]), ("/ok", 202))
        self.assertEqual(req["body"],
                         self.notice_file(rec["key"]).read_bytes())
        self.assertEqual(req["content_type"], "application/json")
        self.assertRegex(req["signature"], r"^sha256=[0-9a-f]{64}$")
        self.assertEqual(req["signature"], sign(URL_SECRET, req["body"]))
        self.assertNotEqual(req["signature"],
                            sign(OTHER_SECRET, req["body"]))
        self.assertEqual(self.srv.hook.calls(), [])

    def test_wrong_secret_401_retried_then_failed(self):
        rec = self.accept(PF.mint(notice_type=COPY))
        key = rec["key"]
        d = self.wait_status(key, "failed")
        self.assertEqual(d["attempts"], 2)
        self.assertEqual(d["last_error"], "application answered 401")
        reqs = APP_HTTP.received("/other", key)
        self.assertEqual([r["status"] for r in reqs], [401, 401])
        # Each was signed with deliver_secret: the application's key was
        # the wrong one.
        for r in reqs:
            self.assertEqual(r["signature"], sign(URL_SECRET, r["body"]))
        # Fixed on the application's side, retried, delivered.
        with APP_HTTP.lock:
            APP_HTTP.secrets["/other"] = URL_SECRET
        try:
            self.wait_no_workers()
            self.assertEqual(self.srv.pnsctl(
                "notices", "retry", key).stdout.strip(),
                "1 notice(s) queued for delivery again")
            self.assertEqual(self.dispatch(),
                             "1 delivered, 0 to retry, 0 failed")
        finally:
            with APP_HTTP.lock:
                APP_HTTP.secrets["/other"] = OTHER_SECRET
        d = self.delivery(key)
        self.assertEqual((d["status"], d["attempts"]), ("delivered", 1))
        self.assertEqual([r["status"] for r in
                          APP_HTTP.received("/other", key)], [401, 401, 202])

    def test_redirect_not_followed(self):
        # A redirect is not a 2xx: the notice is not re-POSTed elsewhere.
        rec = self.accept(PF.mint(notice_type="LtiRedirectNotice"))
        d = self.wait_status(rec["key"], "failed")
        self.assertEqual((d["attempts"], d["last_error"]),
                         (2, "application answered 307"))
        self.assertEqual([r["path"] for r in
                          APP_HTTP.received(key=rec["key"])],
                         ["/redirect", "/redirect"])

    def test_2xx_with_large_answer_is_delivered(self):
        # The application's status says it took the notice; the size of
        # what it says besides must not turn that into a failure.
        rec = self.accept(PF.mint(notice_type="LtiBigAnswerNotice"))
        d = self.wait_status(rec["key"], "delivered")
        self.assertEqual(d["attempts"], 1)
        self.assertEqual([r["status"] for r in
                          APP_HTTP.received("/big", rec["key"])], [200])


class T07Crash(DeliveryTest):
    """A crash between storing and delivering loses nothing: every
    acknowledged notice is still queued and `pnsctl dispatch` delivers
    each one."""

    SERVER = "crash"

    def test_killed_worker_and_receivers_lose_nothing(self):
        srv, hook = self.srv, self.srv.hook
        hook.block()
        tokens = [PF.mint() for _ in range(4)]
        first = self.accept(tokens[0])
        # The worker is in the hook, which waits for the application.
        running = wait_for("the hook to be called", lambda: hook.calls(
            first["key"]), timeout=10)[0]
        self.assertEqual(self.post([{"jwt": t} for t in tokens[1:]]), [
            {"status": "accepted", "id": P.decode_unverified(t)[
                CLAIM_NOTICE]["id"]} for t in tokens[1:]])
        recs = {n["id"]: n for n in srv.notices()}
        keys = [recs[P.decode_unverified(t)[CLAIM_NOTICE]["id"]]["key"]
                for t in tokens]

        # Crash: the worker, the hook it ran, and both receivers.
        workers = worker_pids(srv)
        self.assertEqual(len(workers), 1, workers)
        for pid in workers:
            kill_pid(pid)
        # The worker first: it must not live to record the hook's end.
        wait_for("the worker to be gone", lambda: not worker_pids(srv),
                 timeout=10)
        kill_pid(running.pid, group=True)
        for pid in srv.fcgi_pids():
            kill_pid(pid)
        wait_for("the killed processes to be gone", lambda: not (
            worker_pids(srv) or hook.stray_pids()), timeout=10)

        # Every acknowledged notice is still queued, none attempted.
        self.assertEqual(self.listed("pending") & set(keys), set(keys))
        for key in keys:
            d = self.delivery(key)
            self.assertEqual((d["status"], d["attempts"]), ("pending", 0))
            # Never attempted: due now, so no retry time to show.
            self.assertNotIn("next_attempt_at", d)
        self.assertEqual(len(hook.ok_calls(keys[0])), 0)

        slot = self.hold_slot()
        try:
            # A queue entry lost with the crash (the notice stored, the
            # entry not): the platform's resend queues it again.
            os.unlink(self.queue_entry(keys[3]))
            self.assertEqual(self.delivery(keys[3])["status"], "stored")
            self.assertEqual(self.post([{"jwt": tokens[3]}]), [
                {"status": "duplicate",
                 "id": P.decode_unverified(tokens[3])[CLAIM_NOTICE]["id"]}])
            self.assertEqual(self.delivery(keys[3])["status"], "pending")
            self.assertTrue(self.queue_entry(keys[3]).exists())
            # With every worker slot taken, dispatch leaves it all.
            self.assertEqual(self.dispatch(),
                             "all 1 delivery workers are busy; nothing to do")
        finally:
            os.close(slot)
        hook.unblock()
        self.assertEqual(self.dispatch(), "4 delivered, 0 to retry, 0 failed")
        for key in keys:
            with self.subTest(key=key):
                d = self.delivery(key)
                self.assertEqual((d["status"], d["attempts"]),
                                 ("delivered", 1))
                self.assertEqual(len(hook.ok_calls(key)), 1)
        # At least once: the notice whose hook was killed ran twice.
        self.assertEqual(len(hook.calls(keys[0])), 2)

        # Sent again once delivered: duplicate, and not delivered again.
        self.assertEqual(self.post([{"jwt": tokens[0]}]), [
            {"status": "duplicate", "id": first["id"]}])
        self.assertFalse(self.queue_entry(keys[0]).exists())
        self.wait_no_workers()
        self.assertEqual(self.dispatch(), "0 delivered, 0 to retry, 0 failed")
        self.assertEqual(len(hook.calls(keys[0])), 2)


class T08Rules(DeliveryTest):
    """deliver_command.TYPE and deliver_url.TYPE override the general
    target; "none" keeps a type stored only."""

    SERVER = "rules"

    def test_rules_pick_the_target(self):
        hook = self.srv.hook
        hello = self.accept(PF.mint())
        url_none = self.accept(PF.mint(notice_type="LtiUrlNoneNotice"))
        copy = self.accept(PF.mint(notice_type=COPY))
        other = self.accept(PF.mint(notice_type="LtiOtherNotice"))
        self.wait_status(copy["key"], "delivered")
        self.wait_status(other["key"], "delivered")
        # The rule's command, its words passed as they are: no shell
        # expanded $HOME, `id` or $(id), nor split at ";".
        self.assertEqual(hook.ok_calls(copy["key"])[0].argv, [
            str(hook.path), "copy-rule", "x=1", "$HOME", ";", "`id`",
            '"q"', "$(id)"])
        self.assertEqual(hook.ok_calls(other["key"])[0].argv,
                         [str(hook.path), "general"])
        # "none": stored, never queued, never run.
        self.wait_no_workers()
        for rec in (hello, url_none):
            with self.subTest(type=rec["type"]):
                d = self.delivery(rec["key"])
                self.assertEqual((d["status"], d["attempts"]), ("stored", 0))
                self.assertFalse(self.queue_entry(rec["key"]).exists())
                self.assertEqual(hook.calls(rec["key"]), [])
        self.assertEqual(self.dispatch(), "0 delivered, 0 to retry, 0 failed")
        stored = self.listed("stored")
        delivered = self.listed("delivered")
        self.assertEqual({hello["key"], url_none["key"]} - stored, set())
        self.assertEqual({copy["key"], other["key"]} - delivered, set())
        self.assertEqual(stored & delivered, set())
        # A rule's type is still recorded as a hello world.
        row, _ = self.status_row(DEPLOYMENT)
        self.assertIsNotNone(row["channel_verified_at"])


    def test_hook_not_installed_yet_fails_then_retried(self):
        hook = self.srv.hook
        later = hook.dir / "later.sh"
        rec = self.accept(PF.mint(notice_type="LtiLaterNotice"))
        key = rec["key"]
        d = self.wait_status(key, "failed")
        self.assertEqual(d["attempts"], 2)
        self.assertEqual(d["last_error"], "cannot run %s: No such file or "
                         "directory" % later)
        self.assertEqual(hook.calls(key), [])
        # Installed: put back, and delivered by the rule's command.
        later.write_text(hook.path.read_text())
        later.chmod(0o755)
        self.wait_no_workers()
        self.assertEqual(self.srv.pnsctl("notices", "retry",
                                         rec["id"]).stdout.strip(),
                         "1 notice(s) queued for delivery again")
        self.assertEqual(self.dispatch(), "1 delivered, 0 to retry, 0 failed")
        calls = hook.calls(key)
        self.assertEqual([(c.argv, c.exit) for c in calls],
                         [([str(later)], 0)])
        self.assertEqual(self.delivery(key)["attempts"], 1)


class T09Queue(DeliveryTest):
    """pnsctl dispatch, the retry stamp, notices list --status, status
    counts and prune, with the single worker slot held by the test."""

    SERVER = "queue"

    def test_dispatch_in_foreground_and_due_retry(self):
        srv = self.srv
        slot = self.hold_slot()
        try:
            rec = self.accept(PF.mint(notice_type="LtiDueNotice",
                                      notice_id="fail-" + str(uuid.uuid4())))
            key = rec["key"]
            d = self.delivery(key)
            self.assertEqual((d["status"], d["attempts"]), ("pending", 0))
            self.assertNotIn("last_error", d)
            # Never attempted: due now, so no retry time to show.
            self.assertNotIn("next_attempt_at", d)
            self.assertEqual(self.dispatch(),
                             "all 1 delivery workers are busy; nothing to do")
            self.assertEqual(srv.hook.calls(key), [])
        finally:
            os.close(slot)
        before = int(time.time())
        self.assertEqual(self.dispatch(), "0 delivered, 1 to retry, 0 failed")
        d = self.delivery(key)
        self.assertEqual((d["status"], d["attempts"]), ("pending", 1))
        self.assertEqual(d["last_error"], "hook exited with status 4")
        due = iso_epoch(d["next_attempt_at"])
        self.assertGreaterEqual(due, before + 2)
        self.assertLessEqual(due, int(time.time()) + 2)
        # The hook run by pnsctl (whose environment has the marker) gets
        # the clean environment too.
        calls = srv.hook.calls(key)
        self.assertEqual(len(calls), 1)
        self.assert_hook_env(calls[0], rec)
        self.assertEqual(json.loads(calls[0].stdin)["key"], key)
        # Not due yet: neither dispatch nor a request runs it.
        self.assertEqual(self.dispatch(), "0 delivered, 0 to retry, 0 failed")
        self.assertEqual(srv.request("GET").status, 405)
        d = self.delivery(key)
        self.assertEqual((d["status"], d["attempts"]), ("pending", 1))
        # Due: the next request of any kind starts a worker for it.
        srv.hook.fix(key)
        wait_for("the retry to come due", lambda: time.time() > due + 0.2,
                 timeout=10, step=0.05)
        self.assertEqual(srv.request("GET").status, 405)
        d = self.wait_status(key, "delivered", timeout=10)
        self.assertEqual(d["attempts"], 2)
        self.assertEqual([c.exit for c in srv.hook.calls(key)], [4, 0])

    def test_status_list_and_prune(self):
        srv = self.srv
        dep = {CLAIM_DEPLOYMENT: STATUS_DEPLOYMENT}
        stored = self.accept(PF.mint(claims=dep))
        old = self.accept(PF.mint(notice_type="LtiOldNotice", claims=dep))
        recent = self.accept(PF.mint(notice_type="LtiRecentNotice",
                                     claims=dep))
        failed = self.accept(PF.mint(notice_type="LtiFailingNotice",
                                     notice_id="fail-" + str(uuid.uuid4()),
                                     claims=dep))
        self.wait_status(old["key"], "delivered")
        self.wait_status(recent["key"], "delivered")
        d = self.wait_status(failed["key"], "failed")
        self.assertEqual(d["attempts"], 2)
        slot = self.hold_slot()
        try:
            pending = self.accept(PF.mint(notice_type="LtiPendingNotice",
                                          claims=dep))
            ours = {"stored": {stored["key"]},
                    "delivered": {old["key"], recent["key"]},
                    "failed": {failed["key"]},
                    "pending": {pending["key"]}}
            mine = set().union(*ours.values())
            for key in (stored["key"], old["key"], failed["key"],
                        pending["key"]):
                srv.age_notice(key, 3)

            row, status = self.status_row(STATUS_DEPLOYMENT)
            self.assertEqual(row["notices_by_type"], {
                HELLO: 1, "LtiOldNotice": 1, "LtiRecentNotice": 1,
                "LtiFailingNotice": 1, "LtiPendingNotice": 1})
            self.assertEqual(row["notices_by_status"], {
                "stored": 1, "delivered": 2, "failed": 1, "pending": 1})
            self.assertIsNotNone(row["channel_verified_at"])
            for name in ("pending", "failed"):
                self.assertGreaterEqual(status["delivery"][name], 1)
                self.assertEqual(status["delivery"][name],
                                 len(self.listed(name)))
            for name, keys in ours.items():
                with self.subTest(status=name):
                    self.assertEqual(self.listed(name) & mine, keys)
            res = srv.pnsctl("notices", "list", "--status", "bogus",
                             check=False)
            self.assertEqual(res.returncode, 2, res)

            # Prune: DAYS must be at least 1; nothing is older than 4
            # days; at 2 days the delivered and the stored old ones go,
            # the failed and pending old ones and the recent one stay.
            for days in ("0", "-1", "x"):
                res = srv.pnsctl("notices", "prune", "--older-than", days,
                                 check=False)
                self.assertNotEqual(res.returncode, 0, res)
            self.assertEqual(self.keys() & mine, mine)
            self.assertEqual(srv.pnsctl("notices", "prune", "--older-than",
                                        "4").stdout.strip(),
                             "0 notice(s) removed, 0 older ones kept "
                             "(pending or failed), 0 kept while their "
                             "token is still valid")
            self.assertEqual(self.keys() & mine, mine)
            self.assertEqual(srv.pnsctl("notices", "prune", "--older-than",
                                        "2").stdout.strip(),
                             "2 notice(s) removed, 2 older ones kept "
                             "(pending or failed), 0 kept while their "
                             "token is still valid")
            self.assertEqual(self.keys() & mine, {
                recent["key"], failed["key"], pending["key"]})
            for rec in (stored, old):
                self.assertFalse(self.notice_file(rec["key"]).exists())
                self.assertFalse(self.notice_file(
                    rec["key"], suffix=".delivered").exists())
                res = srv.pnsctl("notices", "show", rec["key"], check=False)
                self.assertEqual(res.returncode, 1, res)
            row, _ = self.status_row(STATUS_DEPLOYMENT)
            self.assertEqual(row["notices_by_status"], {
                "delivered": 1, "failed": 1, "pending": 1})
        finally:
            os.close(slot)

        # Delivered in the foreground, retried; then they may go too.
        self.assertEqual(self.dispatch(), "1 delivered, 0 to retry, 0 failed")
        self.assertEqual(self.delivery(pending["key"])["status"], "delivered")
        srv.hook.fix(failed["key"])
        self.assertEqual(srv.pnsctl("notices", "retry",
                                    "--all-failed").stdout.strip(),
                         "1 notice(s) queued for delivery again")
        self.assertEqual(self.dispatch(), "1 delivered, 0 to retry, 0 failed")
        self.assertEqual(self.delivery(failed["key"])["status"], "delivered")
        self.assertEqual(srv.pnsctl("notices", "prune", "--older-than",
                                    "2").stdout.strip(),
                         "2 notice(s) removed, 0 older ones kept "
                         "(pending or failed), 0 kept while their "
                             "token is still valid")
        self.assertEqual(self.keys() & mine, {recent["key"]})


class T10NoDelivery(DeliveryTest):
    """Without any target, notices are stored only and dispatch says so
    (its twin: dispatch on the configured servers above)."""

    SERVER = "plain"

    def test_stored_only(self):
        rec = self.accept(PF.mint(notice_type=COPY))
        d = self.delivery(rec["key"])
        self.assertEqual((d["status"], d["attempts"]), ("stored", 0))
        self.assertEqual(os.listdir(self.srv.data_dir / "queue"), [])
        res = self.srv.pnsctl("dispatch", check=False)
        self.assertEqual(res.returncode, 1, res)
        self.assertIn("no delivery is configured", res.stderr)
        self.assertEqual(self.listed("stored"), {rec["key"]})
        row, status = self.status_row(DEPLOYMENT)
        self.assertEqual(row["notices_by_status"], {"stored": 1})
        self.assertEqual(status["delivery"], {"pending": 0, "failed": 0})
        self.assertEqual(worker_pids(self.srv), set())
        self.assertEqual(self.srv.hook.calls(), [])


class T11Config(DeliveryTest):
    """The delivery keys of pns.conf: each refused value has an accepted
    twin; a command is never cut short."""

    def check(self, lines):
        d = Path(tempfile.mkdtemp(prefix="pns-delivery-conf-"))
        try:
            conf = d / "pns.conf"
            conf.write_text("base_url = http://127.0.0.1:1/cgi-bin\n"
                            "data_dir = %s\n" % (d / "data") +
                            "".join("%s = %s\n" % kv for kv in lines))
            env = dict(os.environ, PNS_CONFIG=str(conf))
            return subprocess.run([str(H.PNSCTL), "check-config"], env=env,
                                  capture_output=True, text=True, timeout=30)
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_refused_and_accepted(self):
        secret = "s" * 16
        cases = [
            ([("deliver_command", "/bin/true"),
              ("deliver_url", "http://127.0.0.1:1/x"),
              ("deliver_secret", secret)],
             [("deliver_command", "/bin/true")]),
            ([("deliver_url", "http://127.0.0.1:1/x")],
             [("deliver_url", "http://127.0.0.1:1/x"),
              ("deliver_secret", secret)]),
            ([("deliver_url", "http://127.0.0.1:1/x"),
              ("deliver_secret", "s" * 15)],
             [("deliver_url", "https://127.0.0.1:1/x"),
              ("deliver_secret", secret)]),
            ([("deliver_url", "ftp://127.0.0.1/x"),
              ("deliver_secret", secret)],
             [("deliver_url", "http://127.0.0.1/x"),
              ("deliver_secret", secret)]),
            ([("deliver_url.LtiContextCopyNotice", "http://127.0.0.1:1/x")],
             [("deliver_url.LtiContextCopyNotice", "none")]),
            ([("deliver_command", "true")],
             [("deliver_command", "/bin/true a b")]),
            ([("deliver_command.Lti/../Notice", "/bin/true")],
             [("deliver_command.LtiOneNotice", "/bin/true")]),
            ([("deliver_command.LtiOneNotice", "/bin/true"),
              ("deliver_url.LtiOneNotice", "http://127.0.0.1:1/x"),
              ("deliver_secret", secret)],
             [("deliver_command.LtiOneNotice", "/bin/true"),
              ("deliver_url.LtiTwoNotice", "http://127.0.0.1:1/x"),
              ("deliver_secret", secret)]),
            ([("deliver_attempts", "0")], [("deliver_attempts", "1")]),
            ([("deliver_attempts", "101")], [("deliver_attempts", "100")]),
            ([("deliver_workers", "17")], [("deliver_workers", "16")]),
            ([("deliver_workers", "0")], [("deliver_workers", "1")]),
        ]
        for bad, good in cases:
            with self.subTest(bad=bad):
                res = self.check(bad)
                self.assertEqual(res.returncode, 1, res)
                self.assertNotIn("configuration OK", res.stdout)
                res = self.check(good)
                self.assertEqual((res.returncode, res.stdout.strip()),
                                 (0, "configuration OK"), res)

    def test_long_command_line_not_cut_short(self):
        # A command the configuration accepts runs with every word of
        # it, or the configuration refuses it: never a shorter command.
        args = ["arg%02d" % i for i in range(40)]
        srv = H.Server()
        _STARTED.append(srv)
        srv.hook = HookApp(srv)
        command = " ".join([str(srv.hook.path)] + args)
        checked = self.check([("deliver_command", command)])
        if checked.returncode != 0:
            self.assertIn("deliver_command", checked.stderr)
            return
        srv.extra_config.update(BASE_CONFIG)
        srv.extra_config["deliver_command"] = command
        try:
            srv.init()
            srv.add_platform(ISSUER, CLIENT_ID, PF.jwks_url, [DEPLOYMENT])
            srv.start()
            rec = self.accept(PF.mint(), srv=srv)
            self.wait_status(rec["key"], "delivered", srv=srv)
            call = srv.hook.ok_calls(rec["key"])[0]
            self.assertEqual(call.argv, [str(srv.hook.path)] + args)
        finally:
            stop_server(srv)


ORDER = [T01Hook, T02Types, T03Retries, T04Duplicates, T05Injection,
         T06Http, T07Crash, T08Rules, T09Queue, T10NoDelivery, T11Config]


def main():
    return H.run_suites(sys.modules[__name__], ORDER,
                        lambda: _Logs() if _STARTED else None)


if __name__ == "__main__":
    sys.exit(main())

# SPDX-License-Identifier: ISC
"""Runs the tool the way it is deployed: a real lighttpd with
cgi-bin/notices.fcgi under mod_fastcgi, configured through a pns.conf and
bin/pnsctl, everything inside one temporary directory on 127.0.0.1.

lti.cgi is served too, as a plain CGI (mod_cgi) at /cgi-bin/lti.cgi,
with PNS_CONFIG added to its environment by mod_setenv.

Environment:
  PNS_FCGI_WRAPPER  command prefix for notices.fcgi (e.g. valgrind ...);
                    timeouts are stretched when it is set
  PNS_CGI_WRAPPER   command prefix for lti.cgi (run through a generated
                    shell script); timeouts are stretched when it is set
  PNS_KEEP_TMP      keep the temporary directory (its path is printed)
  PNS_FCGI_PROGRAM  another build of notices.fcgi to run (make valgrind's
                    dynamically linked one), with lti.cgi beside it
"""

import http.client
import json
import os
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
FCGI = Path(os.environ.get("PNS_FCGI_PROGRAM") or
            ROOT / "cgi-bin" / "notices.fcgi")
LTI_CGI = ROOT / "cgi-bin" / "lti.cgi"
PNSCTL = ROOT / "bin" / "pnsctl"

# Values written to pns.conf; tests read them from here.
MAX_BODY_BYTES = 262144        # room for a 100 KB header in one token
# lti.cgi's login cookie is this followed by the login's state, whose
# value it holds.
STATE_COOKIE = "pns_state_"


def state_cookie(state):
    """The Cookie header's pair a browser sends back after the login
    whose state this is."""
    return "%s%s=%s" % (STATE_COOKIE, state, state)
CLOCK_LEEWAY = 10
JWKS_REFETCH_INTERVAL = 3
NOTICE_TYPES = "LtiHelloWorldNotice LtiContextCopyNotice"

# Proxy variables would send the receiver's key fetches (libcurl) and our
# requests elsewhere; everything here is on 127.0.0.1.
_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY",
               "HTTPS_PROXY", "ALL_PROXY")


def free_port():
    """A port nothing listens on right now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Response:
    """An HTTP answer: status, headers, raw body and, if any, its JSON."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        try:
            self.json = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            self.json = None

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def __repr__(self):
        return "<Response %d %r>" % (self.status, self.body[:300])


class Server:
    """lighttpd + notices.fcgi + a data directory, started and stopped as
    one unit."""

    def __init__(self, extra_config=None):
        # lighttpd execs bin-path without a PATH search: the wrapper's
        # program must be an absolute path.
        self.wrapper = os.environ.get("PNS_FCGI_WRAPPER", "").split()
        if self.wrapper:
            self.wrapper[0] = shutil.which(self.wrapper[0]) or self.wrapper[0]
        self.cgi_wrapper = os.environ.get("PNS_CGI_WRAPPER", "").split()
        if self.cgi_wrapper:
            self.cgi_wrapper[0] = (shutil.which(self.cgi_wrapper[0]) or
                                   self.cgi_wrapper[0])
        # Under valgrind every request is many times slower.
        self.slow = 10 if self.wrapper or self.cgi_wrapper else 1
        # More pns.conf lines, {key: value}, for one suite (only keys
        # docs/config.md documents).
        self.extra_config = dict(extra_config or {})
        self.tmp = Path(tempfile.mkdtemp(prefix="pns-integ-"))
        self.data_dir = self.tmp / "data"
        self.conf = self.tmp / "pns.conf"
        self.errorlog = self.tmp / "lighttpd-error.log"
        self.port = None
        self.proc = None
        self.final_error_log = ""
        self.env = {k: v for k, v in os.environ.items()
                    if k not in _PROXY_VARS}
        self.env["no_proxy"] = self.env["NO_PROXY"] = "127.0.0.1,localhost"
        self.env["PNS_CONFIG"] = str(self.conf)

    # -- configuration ------------------------------------------------

    def write_config(self):
        self.conf.write_text(
            "# Written by tests/integ/harness.py for one test run.\n"
            "base_url = http://127.0.0.1:%d/cgi-bin\n"
            "data_dir = %s\n"
            "notice_types = %s\n"
            "max_body_bytes = %d\n"
            "clock_leeway = %d\n"
            "jwks_refetch_interval = %d\n"
            "jwks_max_age = 3600\n"
            "http_timeout = %d\n"
            "jwks_max_bytes = 65536\n"
            "log_level = info\n" % (
                self.port, self.data_dir, NOTICE_TYPES, MAX_BODY_BYTES,
                CLOCK_LEEWAY, JWKS_REFETCH_INTERVAL, self.http_timeout) +
            "".join("%s = %s\n" % kv for kv in self.extra_config.items()))

    @property
    def http_timeout(self):
        """The http_timeout written to pns.conf (seconds)."""
        return 5 * self.slow

    @property
    def base_url(self):
        """The base_url written to pns.conf."""
        return "http://127.0.0.1:%d/cgi-bin" % self.port

    def pnsctl(self, *args, check=True):
        """Runs bin/pnsctl with this run's configuration."""
        res = subprocess.run([str(PNSCTL)] + [str(a) for a in args],
                             env=self.env, capture_output=True, text=True,
                             timeout=60)
        if check and res.returncode != 0:
            raise RuntimeError("pnsctl %s: exit %d\n%s%s" % (
                " ".join(map(str, args)), res.returncode, res.stdout,
                res.stderr))
        return res

    def add_platform(self, issuer, client_id, jwks_url, deployments,
                     auth_url="http://127.0.0.1:1/auth",
                     token_url="http://127.0.0.1:1/token"):
        args = ["platform", "add", "--issuer", issuer,
                "--client-id", client_id,
                "--auth-url", auth_url,
                "--token-url", token_url,
                "--jwks-url", jwks_url]
        for d in deployments:
            args += ["--deployment", d]
        self.pnsctl(*args)

    def notices(self):
        """The stored notices, as `pnsctl notices list --json` prints."""
        return json.loads(self.pnsctl("notices", "list", "--json").stdout)

    def notice_file(self, key, suffix=".json"):
        """The stored record of notice key (pns_nstore.h's layout)."""
        return self.data_dir / "notices" / key[:2] / (key + suffix)

    def age_notice(self, key, days, token_too=True):
        """Rewrites the stored notice key, in place, as if received days
        ago: its received_at and, with token_too, the iat and exp of its
        stored claims go back as far.  Without token_too its token keeps
        the lifetime it was signed with."""
        path = self.notice_file(key)
        text = path.read_text()
        rec = json.loads(text)
        back = days * 86400
        new = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z",
                            time.gmtime(time.time() - back))
        edits = [('"received_at":"%s"' % rec["received_at"],
                  '"received_at":"%s"' % new)]
        if token_too:
            edits += [('"%s":%d' % (k, rec["claims"][k]),
                       '"%s":%d' % (k, rec["claims"][k] - back))
                      for k in ("iat", "exp")]
        for old, new in edits:
            if text.count(old) != 1:
                raise AssertionError("%s: %r not found once" % (path, old))
            text = text.replace(old, new)
        with open(path, "r+") as f:
            f.write(text)
            f.truncate()

    def platforms(self):
        """The registered platforms, as `pnsctl platform list --json`."""
        return json.loads(self.pnsctl("platform", "list", "--json").stdout)

    def handlers(self):
        """The handler records, as `pnsctl handlers list --json`."""
        return json.loads(self.pnsctl("handlers", "list", "--json").stdout)

    # -- lighttpd -----------------------------------------------------

    def init(self):
        """Writes pns.conf and runs pnsctl init (before any platform)."""
        self.port = free_port()
        self.write_config()
        self.pnsctl("init")

    def start(self):
        """Starts lighttpd and waits until notices.fcgi answers.  A port
        taken between choosing and binding it is retried a few times."""
        for attempt in range(3):
            if attempt:
                self.port = free_port()
                self.write_config()
            if self._start_once():
                return
            if "Address already in use" not in self.error_log():
                break
        raise RuntimeError("lighttpd did not come up:\n" + self.error_log())

    def _start_once(self):
        docroot = self.tmp / "www"
        docroot.mkdir(exist_ok=True)
        # lighttpd splits bin-path on spaces (no quoting): a wrapper
        # command works as long as its words have no spaces.
        bin_path = " ".join(self.wrapper + [str(FCGI)])
        lti_cgi = LTI_CGI
        if self.cgi_wrapper:
            # mod_cgi runs the file itself: a script named lti.cgi runs
            # the wrapper with the real program.
            wrapdir = self.tmp / "cgi-wrapper"
            wrapdir.mkdir(exist_ok=True)
            lti_cgi = wrapdir / "lti.cgi"
            lti_cgi.write_text("#!/bin/sh\nexec %s %s\n" % (
                " ".join(self.cgi_wrapper), LTI_CGI))
            lti_cgi.chmod(0o755)
        tpl = string.Template((HERE / "lighttpd.conf.in").read_text())
        conf = self.tmp / "lighttpd.conf"
        conf.write_text(tpl.substitute(
            port=self.port, docroot=docroot, errorlog=self.errorlog,
            max_request_kib=4 * MAX_BODY_BYTES // 1024,
            socket=self.tmp / "notices.sock", bin_path=bin_path,
            pns_config=self.conf, lti_cgi=lti_cgi))
        # lighttpd's own stderr (start-up errors, the FastCGI children's
        # stderr until the error log is open) is kept for error_log().
        with open(self.tmp / "lighttpd-stderr.log", "ab") as stderr:
            self.proc = subprocess.Popen(
                ["lighttpd", "-D", "-f", str(conf)], env=self.env,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=stderr)
        deadline = time.monotonic() + 30 * self.slow
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.proc = None
                return False
            try:
                # The program itself answers a GET with 405.
                if self.request("GET", timeout=2).status == 405:
                    return True
            except OSError:
                pass
            time.sleep(0.1)
        self.stop_lighttpd()
        return False

    def fcgi_pids(self):
        """Process ids of the notices.fcgi processes lighttpd spawned."""
        if self.proc is None:
            return set()
        return {pid for pid, cmd in child_processes(self.proc.pid)
                if b"notices.fcgi" in cmd}

    def stop_lighttpd(self):
        if self.proc is None:
            return
        children = self.fcgi_pids()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15 * self.slow)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)
        self.proc = None
        # lighttpd signals its FastCGI children as it exits; wait for them
        # so that a wrapper (valgrind) finishes writing its report.
        deadline = time.monotonic() + 15 * self.slow
        while children and time.monotonic() < deadline:
            children = {p for p in children if _alive_fcgi(p)}
            time.sleep(0.1)
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def stop(self):
        """Stops everything and removes the temporary directory, keeping
        lighttpd's error log text in final_error_log."""
        self.stop_lighttpd()
        self.final_error_log = self.error_log()
        if os.environ.get("PNS_KEEP_TMP"):
            print("kept", self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def error_log(self):
        text = ""
        for name in ("lighttpd-stderr.log", "lighttpd-error.log"):
            try:
                text += (self.tmp / name).read_text(errors="replace")
            except OSError:
                pass
        return text

    # -- requests -----------------------------------------------------

    @property
    def path(self):
        return "/cgi-bin/notices.fcgi"

    def request(self, method, path=None, body=None, headers=None,
                timeout=None, chunked=False):
        """One HTTP exchange on a fresh connection (http.client ignores
        proxy variables, and a fresh connection keeps tests independent)."""
        conn = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=timeout or 60 * self.slow)
        try:
            if chunked:
                conn.request(method, path or self.path, body=iter([body]),
                             headers=headers or {}, encode_chunked=True)
            else:
                conn.request(method, path or self.path, body=body,
                             headers=headers or {})
            resp = conn.getresponse()
            return Response(resp.status, resp.getheaders(), resp.read())
        finally:
            conn.close()

    def post(self, body, content_type="application/json", path=None,
             **kw):
        """POSTs body (bytes, str, or a JSON-serialisable object)."""
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        headers = {}
        if content_type is not None:
            headers["Content-Type"] = content_type
        return self.request("POST", path=path, body=body, headers=headers,
                            **kw)

    def raw(self, data, timeout=None):
        """Sends bytes as they are and returns (status, head, body): for
        requests http.client will not make, such as a POST without any
        Content-Length."""
        with socket.create_connection(("127.0.0.1", self.port),
                                      timeout=timeout or 30 * self.slow) as s:
            s.sendall(data)
            chunks = []
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        reply = b"".join(chunks)
        head, _, body = reply.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1]) if head else 0
        return status, head.decode("latin-1"), body


def proc_ppid(pid):
    """The parent of a process, None if it is gone."""
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return None
    # Field 4 follows the parenthesised command name, which may hold
    # spaces and parentheses.
    return int(stat.rsplit(")", 1)[1].split()[1])


def thread_syscalls(pid):
    """The system call each thread of pid waits in, by its x86-64 number
    as /proc/PID/task/TID/syscall gives it ("running" for a thread on a
    CPU); None where that cannot be read (the process gone, another
    architecture), which callers must not take for idle."""
    if os.uname().machine != "x86_64":
        return None
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return None
    out = []
    for tid in tasks:
        try:
            out.append(Path("/proc/%d/task/%s/syscall" % (
                pid, tid)).read_text().split()[0])
        except (OSError, IndexError):
            continue
    return out


# accept and accept4: a FastCGI thread waiting for a connection.
ACCEPT_SYSCALLS = {"43", "288"}
# rt_sigtimedwait: notices.fcgi's main thread waiting for a signal.
SIGWAIT_SYSCALL = "128"


def child_processes(ppid):
    """(pid, command line) of each process whose parent is ppid."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or proc_ppid(int(entry)) != ppid:
            continue
        try:
            cmd = (Path("/proc") / entry / "cmdline").read_bytes()
        except OSError:
            continue
        found.append((int(entry), cmd))
    return found


def _alive_fcgi(pid):
    try:
        return b"notices.fcgi" in Path("/proc/%d/cmdline" % pid).read_bytes()
    except OSError:
        return False


# Run as `python3 -c _PEAK OUT CMD ARG...`: forks CMD with its stdout on
# the file OUT and prints CMD's exit status and peak resident set (KiB).
_PEAK = """
import os, sys
out = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
pid = os.fork()
if pid == 0:
    os.dup2(out, 1)
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def peak_rss(argv, env, stdout, timeout=None):
    """Runs argv with its stdout going to the file stdout; returns (exit
    status, peak resident set in KiB, stderr text) of that process.

    It is forked by a fresh interpreter: a process forked from the
    caller would count the caller's memory too, Linux carrying a
    parent's resident set into its child's ru_maxrss across exec.  That
    interpreter's few MiB are a floor under every reading instead."""
    env = dict(env)
    # A sanitizer build (make SANITIZE=1) keeps freed memory in
    # quarantine, which would read as memory held.
    env["ASAN_OPTIONS"] = ":".join(filter(None, (
        env.get("ASAN_OPTIONS"), "quarantine_size_mb=0")))
    res = subprocess.run([sys.executable, "-c", _PEAK, str(stdout)] +
                         [str(a) for a in argv], env=env,
                         capture_output=True, text=True, timeout=timeout)
    if res.returncode != 0:
        raise RuntimeError("measuring %s: %s" % (argv[0], res.stderr))
    status, kib = map(int, res.stdout.split())
    return status, kib, res.stderr


# What ASan, LSan and UBSan print when a sanitizer build finds a fault in
# a program; lighttpd puts its children's stderr in its error log.
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:")
LOG_TAIL = 400


def run_suites(module, order, get_server):
    """Runs the named tests (argv, e.g. T03Dedup) or all classes of order;
    prints one summary line and returns the exit status.  get_server gives
    the module's Server (None if the fixture never started one)."""
    loader = unittest.TestLoader()
    if len(sys.argv) > 1:
        suite = loader.loadTestsFromNames(sys.argv[1:], module)
    else:
        suite = unittest.TestSuite(loader.loadTestsFromTestCase(c)
                                   for c in order)
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2)
    result = runner.run(suite)
    # A test counts once however many of its subtests fail; a failing
    # module fixture is not a test but still counts as a failure.
    failed_tests, fixture_errors = set(), 0
    for test, _ in result.failures + result.errors:
        test = getattr(test, "test_case", test)     # a subtest's parent
        if isinstance(test, unittest.TestCase):
            failed_tests.add(test.id())
        else:
            fixture_errors += 1
    failed = len(failed_tests) + fixture_errors + \
        len(result.unexpectedSuccesses)
    passed = result.testsRun - len(failed_tests) - len(result.skipped) - \
        len(result.unexpectedSuccesses)
    srv = get_server()
    if srv is not None:
        log = srv.final_error_log or srv.error_log()
        marks = [m for m in SANITIZER_MARKS if m in log]
        if marks:
            print("sanitizer reports in the error log: %s" % ", ".join(marks))
            failed += 1
        if failed:
            # The end of the log is where a crash or a refusal shows up.
            lines = log.splitlines()
            print("---- lighttpd error log (last %d of %d lines) ----" %
                  (min(len(lines), LOG_TAIL), len(lines)))
            print("\n".join(lines[-LOG_TAIL:]))
            print("---- end of lighttpd error log ----")
    sys.stdout.flush()
    print("integration: %d passed, %d failed" % (passed, failed))
    return 1 if failed or result.testsRun == 0 else 0


class Logs:
    """The error logs of several servers as one, each under a line naming
    its temporary directory: what run_suites reports on when a suite
    starts more than one server (get_server may return this)."""

    def __init__(self, servers):
        self.servers = servers

    @property
    def final_error_log(self):
        return "".join("==== %s\n%s" % (s.tmp, s.final_error_log or
                                        s.error_log())
                       for s in self.servers)

    def error_log(self):
        return self.final_error_log

# SPDX-License-Identifier: ISC
"""The notice receiver's benchmark ("make bench"); docs/performance.md
explains the method and the figures.

Four receivers get the same load, one after the other, configuration
by configuration, on the same pre-signed notices:

  fcgi     cgi-bin/notices.fcgi under lighttpd (mod_fastcgi, 2 processes)
  node     bench/node-peer: node:http, cluster of 2 workers, jose
  ceiling  bench/ceiling.c under the same lighttpd: reads, answers, no more
  floor    bench/floor.c under the same lighttpd: the signature check and
           the durable write, the least any correct receiver must do

Each run starts a fresh receiver with an empty store, drives it with wrk
for a fixed time (every request carrying notices no other request of the
run carries), then reads the receiver's CPU time and resident memory
from /proc, counts what it stored against what it acknowledged, and
removes it.  Notices are signed here, by tests/integ/pns_platform.py
(Debian's python3-cryptography), never by the code under test.

Run with /usr/bin/python3.  Options: bench.py --help.
"""

import argparse
import datetime
import http.client
import importlib
import json
import math
import multiprocessing
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
POOL_DIR = RESULTS / "pool"
RUNS_DIR = RESULTS / "runs"
BUILT_FCGI = ROOT / "cgi-bin" / "notices.fcgi"
BUILT_PNSCTL = ROOT / "bin" / "pnsctl"
BUILT_CGI = ROOT / "cgi-bin" / "lti.cgi"
# The programs measured: copies taken at the start, so that a rebuild
# during the run (make SANITIZE=1 in the same tree) cannot change what
# is measured half-way.
FCGI = RESULTS / "bin" / "notices.fcgi"
PNSCTL = RESULTS / "bin" / "pnsctl"
# notices.fcgi's key set fetches run in lti.cgi beside it.
CGI = RESULTS / "bin" / "lti.cgi"
CEILING = HERE / "ceiling"
FLOOR = HERE / "floor"
NODE_PEER = HERE / "node-peer"
PATH = "/cgi-bin/notices.fcgi/106:8865aa05b4b79b64a91a86042e43af5ea8ae79eb"

# The platform of the README's example: Canvas's issuer and shapes.
ISSUER = "https://canvas.instructure.com"
CLIENT_ID = "10000000000068"
DEPLOYMENT = "106:8865aa05b4b79b64a91a86042e43af5ea8ae79eb"
LEEWAY = 10

# Notices live an hour (exp = iat + 3600, as Canvas signs them): a pool
# is reused only while the whole benchmark still fits in its lifetime,
# with a margin for the receivers' clock leeway and slow starts.
POOL_LIFETIME = 3600 - 5 * 60
WARMUP = 16
TARGETS = ("fcgi", "node", "ceiling", "floor")
PROCS = 2               # the Node peer's cluster workers, fixed
FCGI_PROCS = 2          # FastCGI processes under lighttpd (--fcgi-procs)
FCGI_THREADS = 8        # threads per notices.fcgi process (--threads)

# The issue's figures, checked at the end of every run.
GOAL_RATIO_NODE = 4.0
GOAL_RATE = 18000
GOAL_P99_MS = 2.0
GOAL_BATCH_SHARE = 0.60
GOAL_RSS_KIB = 4096
GOAL_RSS_AFTER = 100000

# Percent of a core used by other programs above which a run is marked
# noisy (loopback networking and writeback alone stay well below).
NOISY = 40

_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY",
               "HTTPS_PROXY", "ALL_PROXY")


def integ(name):
    """A module of tests/integ: pns_platform (the independent signer),
    harness, test_launch.  Imported when first needed: the signer needs
    python3-jwt, which only some modes use."""
    path = str(ROOT / "tests" / "integ")
    if path not in sys.path:
        sys.path.insert(0, path)
    return importlib.import_module(name)


def log(msg):
    print(msg, flush=True)


def env():
    e = {k: v for k, v in os.environ.items() if k not in _PROXY_VARS}
    e["no_proxy"] = e["NO_PROXY"] = "127.0.0.1,localhost"
    return e


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_status(port, method="GET", body=None, headers=None, timeout=5):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, PATH, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


# -- the notice pool ----------------------------------------------------

_signer = None


def _mint_chunk(n):
    return [_signer.mint() for _ in range(n)]


def make_pool(count):
    """Signs count distinct Canvas-shaped notices (plus the warm-up ones)
    with a fresh key, on every core, and writes them with the key set."""
    global _signer
    P = integ("pns_platform")
    _signer = P.TestPlatform(ISSUER, CLIENT_ID, DEPLOYMENT)
    total = count + WARMUP
    log("signing %d notices (RS256, python3-cryptography) ..." % total)
    t0 = time.monotonic()
    chunk = 2000
    sizes = [chunk] * (total // chunk) + ([total % chunk] if total % chunk
                                          else [])
    POOL_DIR.mkdir(parents=True, exist_ok=True)
    tmp = POOL_DIR / "tokens.txt.tmp"
    # fork: the workers inherit the signing key, which never leaves
    # this machine's memory.
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(os.cpu_count() or 2) as pool, open(tmp, "w") as out:
        for toks in pool.imap(_mint_chunk, sizes):
            out.write("\n".join(toks) + "\n")
    created = time.time()
    lines = tmp.read_text().splitlines()
    (POOL_DIR / "warmup.txt").write_text("\n".join(lines[:WARMUP]) + "\n")
    (POOL_DIR / "tokens.txt").write_text("\n".join(lines[WARMUP:]) + "\n")
    tmp.unlink()
    (POOL_DIR / "jwks.json").write_text(json.dumps(_signer.jwks()))
    (POOL_DIR / "meta.json").write_text(json.dumps({
        "count": count, "created": created, "issuer": ISSUER,
        "client_id": CLIENT_ID, "deployment": DEPLOYMENT}))
    log("  %.1f s (%.0f signatures/s)" % (
        time.monotonic() - t0, total / (time.monotonic() - t0)))


def pool_ready(count, needed_s):
    """Whether the kept pool has count notices that stay valid for the
    needed_s seconds the benchmark is expected to take."""
    try:
        meta = json.loads((POOL_DIR / "meta.json").read_text())
    except (OSError, ValueError):
        return False
    age = time.time() - meta.get("created", 0)
    return (meta.get("count", 0) >= count and
            meta.get("issuer") == ISSUER and
            meta.get("deployment") == DEPLOYMENT and
            0 <= age and age + needed_s < POOL_LIFETIME and
            (POOL_DIR / "tokens.txt").exists())


def pool_file(count):
    """A token file with the pool's first count tokens."""
    meta = json.loads((POOL_DIR / "meta.json").read_text())
    if meta["count"] == count:
        return POOL_DIR / "tokens.txt"
    path = POOL_DIR / ("tokens-%d.txt" % count)
    if not path.exists():
        with open(POOL_DIR / "tokens.txt") as src, open(path, "w") as dst:
            for i, line in enumerate(src):
                if i == count:
                    break
                dst.write(line)
    return path


# -- the platform's key set ---------------------------------------------

def serve_jwks(doc):
    """Serves the pool's JWK Set at http://127.0.0.1:PORT/jwks, as the
    platform would; notices.fcgi fetches it once and caches it."""
    body = json.dumps(doc).encode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# -- /proc --------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")


def children_of(ppid):
    return [pid for pid, _ in integ("harness").child_processes(ppid)]


def cpu_seconds(pid):
    try:
        f = Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(f[11]) + int(f[12])) / CLK_TCK


def mem_kib(pid):
    """(VmRSS, VmHWM, RssAnon, RssFile, Pss) in KiB: the resident set,
    its peak, how much of it is the process's own memory and how much
    pages of its program and libraries (shared with other processes),
    and its proportional share (each shared page divided among the
    processes that map it: what the process costs the machine)."""
    found = {"VmRSS:": 0, "VmHWM:": 0, "RssAnon:": 0, "RssFile:": 0,
             "Pss:": 0}
    for name in ("status", "smaps_rollup"):
        try:
            text = Path("/proc/%d/%s" % (pid, name)).read_text()
        except OSError:
            continue
        for line in text.splitlines():
            f = line.split()
            if f and f[0] in found:
                found[f[0]] = int(f[1])
    return tuple(found.values())


def busy_seconds():
    """CPU seconds spent by the whole machine outside idle (steal, the
    time the hypervisor gave our cores to someone else, included)."""
    f = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, idle, iowait, irq, softirq, steal = map(int, f[:8])
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def store_usage(directory, pattern):
    """(files, apparent bytes, allocated bytes, stray files) of the
    records under directory; pattern matches a record's name."""
    files = size = blocks = stray = 0
    for root, _dirs, names in os.walk(directory):
        for name in names:
            st = os.lstat(os.path.join(root, name))
            if pattern.fullmatch(name):
                files += 1
                size += st.st_size
                blocks += st.st_blocks * 512
            else:
                stray += 1
    return files, size, blocks, stray


def wait_up(port, want, proc, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited with %d" % proc.returncode)
        try:
            if http_status(port, timeout=2)[0] == want:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError("server did not come up on port %d" % port)


# -- the receivers ------------------------------------------------------

class Receiver:
    """One receiver with an empty store, started and removed as a unit."""

    kind = None
    record = re.compile(r"[0-9a-f]{64}\.json")

    def __init__(self, jwks_url, jwks_file, runs_dir):
        self.jwks_url = jwks_url
        self.jwks_file = jwks_file
        runs_dir.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile_dir(runs_dir, self.kind))
        self.port = free_port()
        self.proc = None

    def workers(self):
        return children_of(self.proc.pid)

    def server_pids(self):
        return [self.proc.pid] + self.workers()

    def cpu(self):
        return sum(cpu_seconds(p) for p in self.server_pids())

    def stored(self):
        return store_usage(self.store_dir, self.record)

    def stop(self):
        if self.proc is not None:
            kids = self.workers()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            for pid in kids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.proc = None

    def remove(self):
        """Stops the receiver; its store goes when the benchmark ends."""
        self.stop()
        _spent.append(self.tmp)


# ext4 without a journal skips, at a scan each, every inode freed in the
# last five minutes whose inode table block is dirty (creating a file
# dirties it) when it looks for a free inode to allocate: a run after
# another run's store was removed paid several hundred microseconds of
# kernel CPU per notice file for that removal.  So stores are removed
# only when the whole benchmark is over, and the next benchmark on such
# a file system waits until that removal is five minutes old.
_spent = []
RECENTLY_DELETED = 300


def removal_mark():
    return RUNS_DIR.parent / (RUNS_DIR.name + ".removed")


def remove_spent():
    # Only a removal that freed inodes makes the next benchmark wait: an
    # empty runs directory left behind costs nothing.
    freed = False
    for path in _spent:
        freed = freed or (path.is_dir() and any(path.iterdir()))
        shutil.rmtree(path, ignore_errors=True)
    _spent.clear()
    if freed:
        removal_mark().touch()


def wait_past_removals():
    if "no journal" not in _fs_of(RUNS_DIR.parent):
        return
    try:
        age = time.time() - removal_mark().stat().st_mtime
    except OSError:
        return
    if 0 <= age < RECENTLY_DELETED:
        log("waiting %.0f s: the last benchmark's stores were removed %.0f "
            "s ago, and ext4 without a journal makes new files costly for "
            "%d s after a removal" % (RECENTLY_DELETED - age, age,
                                      RECENTLY_DELETED))
        time.sleep(RECENTLY_DELETED - age)


def tempfile_dir(parent, prefix):
    path = parent / ("%s-%s" % (prefix, secrets.token_hex(4)))
    path.mkdir(mode=0o700)
    return path


class Lighttpd(Receiver):
    """lighttpd with a FastCGI program on a socket, FCGI_PROCS processes."""

    def __init__(self, program, *a, procs=None, **kw):
        super().__init__(*a, **kw)
        self.program = program
        self.procs = procs or FCGI_PROCS
        self.conf = self.tmp / "pns.conf"
        self.data_dir = self.tmp / "data"
        self.store_dir = self.data_dir / "notices"
        self.env = env()
        self.env["PNS_CONFIG"] = str(self.conf)

    def pnsctl(self, *args):
        res = subprocess.run([str(PNSCTL)] + list(args), env=self.env,
                             capture_output=True, text=True, timeout=120)
        if res.returncode != 0:
            raise RuntimeError("pnsctl %s: %s%s" % (" ".join(args),
                                                   res.stdout, res.stderr))
        return res.stdout

    def setup_store(self, extra_conf=""):
        # Only what a deployment must set: everything else at its
        # default (log_level info: one log line per stored notice).
        self.conf.write_text(
            "# Written by bench/bench.py for one benchmark run.\n"
            "base_url = http://127.0.0.1:%d/cgi-bin\n"
            "data_dir = %s\n%s" % (self.port, self.data_dir, extra_conf))
        self.pnsctl("init")
        self.pnsctl("platform", "add", "--issuer", ISSUER,
                    "--client-id", CLIENT_ID,
                    "--auth-url", "http://127.0.0.1:1/auth",
                    "--token-url", "http://127.0.0.1:1/token",
                    "--jwks-url", self.jwks_url, "--deployment", DEPLOYMENT)

    def start(self):
        (self.tmp / "www").mkdir(exist_ok=True)
        (self.tmp / "uploads").mkdir(exist_ok=True)
        tpl = string.Template((HERE / "lighttpd.conf.in").read_text())
        conf = self.tmp / "lighttpd.conf"
        conf.write_text(tpl.substitute(
            port=self.port, docroot=self.tmp / "www",
            errorlog=self.tmp / "error.log", uploads=self.tmp / "uploads",
            socket=self.tmp / "fcgi.sock", bin_path=self.program,
            pns_config=self.conf, procs=self.procs, threads=FCGI_THREADS))
        with open(self.tmp / "stderr.log", "ab") as err:
            self.proc = subprocess.Popen(
                ["lighttpd", "-D", "-f", str(conf)], env=self.env,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=err)
        wait_up(self.port, 405 if self.kind == "fcgi" else 200, self.proc)

    def workers(self):
        name = Path(self.program).name.encode()
        out = []
        for pid in children_of(self.proc.pid):
            try:
                if name in Path("/proc/%d/cmdline" % pid).read_bytes():
                    out.append(pid)
            except OSError:
                pass
        return out

    def error_log(self):
        text = ""
        for name in ("stderr.log", "error.log"):
            try:
                text += (self.tmp / name).read_text(errors="replace")
            except OSError:
                pass
        return text


class Fcgi(Lighttpd):
    kind = "fcgi"

    def __init__(self, *a, extra_conf="", **kw):
        super().__init__(str(FCGI), *a, **kw)
        self.setup_store(extra_conf)


class Ceiling(Lighttpd):
    kind = "ceiling"

    def __init__(self, *a, **kw):
        super().__init__(str(CEILING), *a, **kw)
        self.data_dir.mkdir()
        self.store_dir.mkdir()


class Floor(Lighttpd):
    """bench/floor.c: its directory (PNS_CONFIG) holds the notices'
    public key and gets one file of records per process."""
    kind = "floor"

    def __init__(self, *a, **kw):
        super().__init__(str(FLOOR), *a, **kw)
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        self.conf = self.tmp / "floor"
        self.store_dir = self.conf / "notices"
        self.store_dir.mkdir(parents=True)
        jwk = json.loads(self.jwks_file.read_text())["keys"][0]

        def num(field):
            return int.from_bytes(integ("pns_platform").b64url_decode(
                jwk[field]), "big")
        pub = rsa.RSAPublicNumbers(num("e"), num("n")).public_key()
        (self.conf / "key.pem").write_bytes(pub.public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo))

    def stored(self):
        """Records are the lines of the processes' files, up to the
        zeroes written ahead."""
        files = size = 0
        for path in self.store_dir.iterdir():
            data = path.read_bytes().rstrip(b"\0")
            files += data.count(b"\n")
            size += len(data)
        return files, size, size, 0


class Node(Receiver):
    kind = "node"

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.store_dir = self.tmp / "notices"
        self.store_dir.mkdir(mode=0o700)
        self.config = self.tmp / "peer.json"
        self.config.write_text(json.dumps({
            "port": self.port, "issuer": ISSUER, "client_id": CLIENT_ID,
            "deployments": [DEPLOYMENT], "jwks_file": str(self.jwks_file),
            "data_dir": str(self.store_dir), "leeway": LEEWAY,
            "workers": PROCS, "max_body_bytes": 1048576}))

    def start(self):
        with open(self.tmp / "stderr.log", "ab") as err:
            self.proc = subprocess.Popen(
                ["node", str(NODE_PEER / "server.mjs"), str(self.config)],
                cwd=str(NODE_PEER), env=env(), stdin=subprocess.DEVNULL,
                stdout=err, stderr=err)
        wait_up(self.port, 405, self.proc)
        # Both workers must be listening, not just the first one.
        deadline = time.monotonic() + 30
        while len(self.workers()) < PROCS and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)

    def error_log(self):
        try:
            return (self.tmp / "stderr.log").read_text(errors="replace")
        except OSError:
            return ""


# -- one run ------------------------------------------------------------

def warm_up(rcv):
    """A few notices one by one before the clock starts: the key set
    fetch, lazy loading and the JIT are not what is measured."""
    if rcv.kind == "ceiling":
        for _ in range(WARMUP):
            http_status(rcv.port, "POST", b'{"notices":[]}',
                        {"Content-Type": "application/json"})
        return
    for tok in (POOL_DIR / "warmup.txt").read_text().split():
        body = json.dumps({"notices": [{"jwt": tok}]}).encode()
        status, answer = http_status(rcv.port, "POST", body,
                                     {"Content-Type": "application/json"})
        if status != 200 or b'"accepted"' not in answer:
            raise RuntimeError("%s warm-up: %d %r\n%s" % (
                rcv.kind, status, answer[:300], rcv.error_log()[-2000:]))


def run_wrk(port, tokens, batch, conc, duration, cycle=False):
    threads = 1 if conc < 2 else 2
    cmd = ["wrk", "-t", str(threads), "-c", str(conc), "-d",
           "%ds" % duration, "--timeout", "30s",
           "-s", str(HERE / "notices.lua"),
           "http://127.0.0.1:%d%s" % (port, PATH),
           "--", str(tokens), str(batch), str(threads)] + (
               ["cycle"] if cycle else [])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env())
    guard = threading.Timer(duration + 600, proc.kill)
    guard.start()
    lines, exhausted = [], 0
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("BENCH-EXHAUSTED"):
            exhausted += 1
            # wrk's SIGINT ends the run as its duration would.
            if exhausted == threads:
                proc.send_signal(signal.SIGINT)
    err = proc.stderr.read()
    proc.wait()
    guard.cancel()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    out_text = "".join(lines)
    if proc.returncode != 0:
        raise RuntimeError("wrk failed: %s%s" % (out_text, err))
    for line in lines:
        if line.startswith("BENCH-JSON "):
            out = json.loads(line[len("BENCH-JSON "):])
            out["wrk_cpu_s"] = ((after.ru_utime + after.ru_stime) -
                                (before.ru_utime + before.ru_stime))
            return out
    raise RuntimeError("wrk printed no result:\n" + out_text + err)


def one_run(kind, batch, conc, args, jwks_url, tokens, extra=None):
    cls = {"fcgi": Fcgi, "node": Node, "ceiling": Ceiling,
           "floor": Floor}[kind]
    rcv = cls(jwks_url, POOL_DIR / "jwks.json", RUNS_DIR, **(extra or {}))
    try:
        rcv.start()
        warm_up(rcv)
        base_files = rcv.stored()[0]
        busy0, cpu0, t0 = busy_seconds(), rcv.cpu(), time.monotonic()
        w = run_wrk(rcv.port, tokens, batch, conc, args.duration,
                    cycle=kind == "ceiling")
        time.sleep(0.2)     # let requests cut off by wrk's stop finish
        cpu = rcv.cpu() - cpu0
        busy = busy_seconds() - busy0
        wall = time.monotonic() - t0
        workers = rcv.workers()
        mems = [mem_kib(p) for p in workers]
        files, size, blocks, stray = rcv.stored()
        log_text = rcv.error_log()
        log_tail = log_text[-3000:]
    finally:
        rcv.remove()
    stored = files - base_files
    # Notices each FastCGI process accepted, from its log lines (info).
    counts = {}
    for m in re.finditer(r"notices\.fcgi\[(\d+)\] info: notice accepted",
                         log_text):
        counts[int(m.group(1))] = counts.get(int(m.group(1)), 0) + 1
    per_proc = [{"pid": p, "rss_kib": m[0], "hwm_kib": m[1],
                 "anon_kib": m[2], "file_kib": m[3], "pss_kib": m[4],
                 "notices": counts.get(p)} for p, m in zip(workers, mems)]
    window = (w["window_us"] or w["duration_us"]) / 1e6
    notices = w["accepted"] if kind != "ceiling" else w["responses"] * batch
    r = {
        "target": kind, "batch": batch, "conc": conc,
        "window_s": window, "req_s": w["responses"] / window,
        "notices_s": notices / window,
        "p50_ms": w["latency_us"]["p50"] / 1000,
        "p90_ms": w["latency_us"]["p90"] / 1000,
        "p99_ms": w["latency_us"]["p99"] / 1000,
        "p999_ms": w["latency_us"]["p999"] / 1000,
        "max_ms": w["latency_us"]["max"] / 1000,
        "server_cpu_s": cpu, "wrk_cpu_s": w["run_cpu_s"],
        # Whatever else ran: kernel threads writing our files back, but
        # also any other program, which makes the run less trustworthy.
        "other_pct": 100 * max(busy - cpu - w["wrk_cpu_s"], 0) / wall,
        "cpu_us_per_notice": 1e6 * cpu / notices if notices else 0,
        "rss_kib": max((m[0] for m in mems), default=0),
        "hwm_kib": max((m[1] for m in mems), default=0),
        "procs": len(mems), "per_proc": per_proc,
        "acked": w["accepted"], "duplicate": w["duplicate"],
        "stored": stored, "sent_notices": w["sent"] * batch,
        "bytes_per_notice": size / files if files else 0,
        "disk_per_notice": blocks / files if files else 0,
        "files_per_notice": 1.0 if files else 0, "stray_files": stray,
        "status_other": w["status_other"], "errors": w["errors"],
        "exhausted": w["threads_exhausted"],
    }
    # The store holds every acknowledged notice, and nothing beyond what
    # was sent (requests cut off when wrk stopped may be stored unacked).
    problems = []
    if kind != "ceiling":
        if stored < w["accepted"]:
            problems.append("stored %d < acknowledged %d" %
                            (stored, w["accepted"]))
        if stored > w["sent"] * batch:
            problems.append("stored %d > sent %d" % (stored,
                                                     w["sent"] * batch))
        if w["duplicate"]:
            problems.append("%d duplicates" % w["duplicate"])
        if stray:
            problems.append("%d stray files" % stray)
    if w["status_other"]:
        problems.append("%d non-200 answers" % w["status_other"])
    errs = sum(w["errors"].values())
    if errs:
        problems.append("%d socket errors/timeouts" % errs)
    # Wrong answers or a store that disagrees fail the benchmark; a
    # noisy machine or a pool used up only qualify the figures.
    r["failed"] = bool(problems)
    if r["other_pct"] > NOISY:
        problems.append("noisy: other programs used %.0f%% of a core" %
                        r["other_pct"])
    if w["threads_exhausted"]:
        problems.append("notice pool ran out after %.1f s (raise "
                        "--notices)" % window)
    r["check"] = "ok" if not problems else "; ".join(problems)
    if r["failed"]:
        r["log_tail"] = log_tail
    return r


# -- openssl speed --------------------------------------------------------

def openssl_speed(seconds):
    """RSA-2048 verifications per second on all cores, as
    `openssl speed -multi N rsa2048` counts them.  Measured before and
    after the runs (a virtual machine's cores are not always its own)
    and averaged."""
    ncpu = os.cpu_count() or 2
    cmd = ["openssl", "speed", "-multi", str(ncpu), "-seconds",
           str(seconds), "rsa2048"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    for line in res.stdout.splitlines():
        m = re.match(r"rsa\s+2048 bits\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)",
                     line)
        if m:
            return {"cmd": " ".join(cmd), "sign_s": float(m.group(1)),
                    "verify_s": float(m.group(2)), "cores": ncpu}
    raise RuntimeError("cannot read openssl speed output:\n" + res.stdout)


# -- report ---------------------------------------------------------------

COLS = [
    ("target", "%-7s", "target"), ("batch", "%5d", "batch"),
    ("conc", "%4d", "conc"), ("req_s", "%8.0f", "req/s"),
    ("notices_s", "%9.0f", "notices/s"), ("p50_ms", "%7.2f", "p50 ms"),
    ("p99_ms", "%7.2f", "p99 ms"), ("p999_ms", "%8.2f", "p99.9 ms"),
    ("cpu_us_per_notice", "%8.0f", "cpu us/n"),
    ("wrk_cpu_pct", "%5.0f", "wrk%"), ("other_pct", "%6.0f", "other%"),
    ("rss_kib", "%7d", "RSS KiB"), ("hwm_kib", "%7d", "HWM KiB"),
    ("bytes_per_notice", "%6.0f", "B/n"),
    ("disk_per_notice", "%6.0f", "disk/n"),
    ("acked", "%8d", "acked"), ("stored", "%8d", "stored"),
]


def table(results):
    widths = []
    for key, fmt, title in COLS:
        w = len(fmt % (0 if fmt[-1] in "df" else ""))
        widths.append(max(w, len(title)))
    lines = ["  ".join(t.rjust(w) if i > 0 else t.ljust(w)
                       for i, ((_, _, t), w) in enumerate(zip(COLS, widths)))]
    for r in results:
        r = dict(r)
        r["wrk_cpu_pct"] = 100 * r["wrk_cpu_s"] / r["window_s"]
        cells = []
        for i, ((key, fmt, _), w) in enumerate(zip(COLS, widths)):
            v = r.get(key, 0)
            if r["target"] == "ceiling" and key in (
                    "cpu_us_per_notice", "bytes_per_notice",
                    "disk_per_notice", "acked", "stored"):
                cell = "-"
            else:
                cell = fmt % v
            cells.append(cell.ljust(w) if i == 0 else cell.rjust(w))
        line = "  ".join(cells)
        if r["check"] != "ok":
            line += "  !! " + r["check"]
        lines.append(line)
    return "\n".join(lines)


def memory_text(memory):
    lines = []
    for m in memory:
        lines.append("memory of notices.fcgi after a run of %d notices (%d "
                     "per POST, %d connections, %.0f notices/s over %.0f s)"
                     % (m["stored"], m["batch"], m["conc"], m["notices_s"],
                        m["window_s"]))
        for p in m["per_proc"]:
            lines.append("  pid %-8d %8s notices  RSS %6d KiB  peak %6d KiB"
                         "  (own %d KiB, program and library pages %d KiB; "
                         "PSS %d KiB)" % (
                             p["pid"], p["notices"], p["rss_kib"],
                             p["hwm_kib"], p["anon_kib"], p["file_kib"],
                             p.get("pss_kib", 0)))
    return "\n".join(lines) + "\n" if lines else ""


def find(results, target, batch, conc):
    for r in results:
        if r.get("memory_run"):
            continue
        if (r["target"], r["batch"], r["conc"]) == (target, batch, conc):
            return r
    return None


RATIOS = (("fcgi", "node"), ("fcgi", "ceiling"), ("node", "ceiling"),
          ("floor", "node"), ("fcgi", "floor"))


def ratios(results, configs):
    fmt = "%-12s" + " %13s" * len(RATIOS)
    lines = [fmt % (("batch/conc",) + tuple("%s/%s" % p for p in RATIOS))]
    for batch, conc in configs:
        def q(a, b):
            a = find(results, a, batch, conc)
            b = find(results, b, batch, conc)
            return ("%.2fx" % (a["req_s"] / b["req_s"])
                    if a and b and b["req_s"] else "-")
        lines.append(fmt % (("%d/%d" % (batch, conc),) +
                            tuple(q(a, b) for a, b in RATIOS)))
    return "\n".join(lines)


def throughput_goals(line, table_runs, speed, target, name):
    b1 = [r for r in table_runs if r["batch"] == 1]
    pairs = [(find(table_runs, target, 1, r["conc"]), r) for r in b1
             if r["target"] == "node"]
    pairs = [(f, n) for f, n in pairs if f and n and n["notices_s"]]
    if pairs:
        worst = min(pairs, key=lambda p: p[0]["notices_s"] / p[1]["notices_s"])
        ratio = worst[0]["notices_s"] / worst[1]["notices_s"]
        line(ratio >= GOAL_RATIO_NODE,
             "1 notice/POST: %s >= %.0fx the Node peer at every "
             "concurrency (lowest: %.2fx at %d connections)" % (
                 name, GOAL_RATIO_NODE, ratio, worst[0]["conc"]))
    fc = [r for r in b1 if r["target"] == target]
    if fc:
        good = [r for r in fc if r["p99_ms"] <= GOAL_P99_MS]
        best = max(good or fc, key=lambda r: r["notices_s"])
        line(bool(good) and best["notices_s"] >= GOAL_RATE,
             "1 notice/POST: %s >= %d notices/s with p99 <= %.0f ms "
             "(best: %.0f notices/s, p99 %.2f ms at %d connections)" % (
                 name, GOAL_RATE, GOAL_P99_MS, best["notices_s"],
                 best["p99_ms"], best["conc"]))
    batched = [r for r in table_runs if r["target"] == target and
               r["batch"] > 1]
    if batched and speed:
        best = max(batched, key=lambda r: r["notices_s"])
        share = best["notices_s"] / speed["verify_s"]
        line(share >= GOAL_BATCH_SHARE,
             "%d notices/POST: %s >= %.0f%% of openssl's %.0f verify/s on "
             "%d cores (best: %.0f notices/s = %.1f%% at %d connections)" % (
                 best["batch"], name, 100 * GOAL_BATCH_SHARE,
                 speed["verify_s"], speed["cores"], best["notices_s"],
                 100 * share, best["conc"]))


def goals(results, speed):
    out = []

    def line(ok, text):
        mark = "n/a " if ok is None else ("MET " if ok else "NOT ")
        out.append("  [%s] %s" % (mark, text))

    # Throughput goals on the table's runs; the --memory run only counts
    # for memory.  The floor's figures beside them tell whether a goal
    # is within reach on this machine at all.
    table_runs = [r for r in results if not r.get("memory_run")]
    for target, name in (("fcgi", "notices.fcgi"),
                         ("floor", "the work floor")):
        throughput_goals(line, table_runs, speed, target, name)
    # The issue's figures are for one notice per POST unless they say
    # otherwise, its memory figure included: that decides; batches are
    # shown beside it.
    procs = {}
    for r in results:
        if r["target"] == "fcgi":
            procs.setdefault(r["batch"] == 1, []).extend(
                r.get("per_proc", []))
    for ps in procs.values():
        for p in ps:
            if p["notices"] is None:    # no log lines: share evenly
                p["notices"] = 0
    far = {single: [p for p in ps if p["notices"] >= GOAL_RSS_AFTER]
           for single, ps in procs.items()}
    if far.get(True):
        worst = max(far[True], key=lambda p: p["rss_kib"])
        text = ("RSS of a notices.fcgi process <= %d KiB after %d notices, "
                "1 per POST (largest: %d KiB after %d notices; peak %d KiB; "
                "of it own %d KiB; PSS %d KiB)" % (
                    GOAL_RSS_KIB, GOAL_RSS_AFTER, worst["rss_kib"],
                    worst["notices"], worst["hwm_kib"], worst["anon_kib"],
                    worst.get("pss_kib", 0)))
        if far.get(False):
            b = max(far[False], key=lambda p: p["rss_kib"])
            text += ("; after batches: %d KiB, own %d KiB" % (
                b["rss_kib"], b["anon_kib"]))
        line(worst["rss_kib"] <= GOAL_RSS_KIB, text)
    elif procs.get(True):
        most = max(procs[True], key=lambda p: p["notices"])
        line(None, "RSS after %d notices per process, 1 per POST: no "
             "process got that far (%d KiB after %d notices; peak %d KiB; "
             "--memory runs until it does)" % (
                 GOAL_RSS_AFTER, most["rss_kib"], most["notices"],
                 most["hwm_kib"]))
    line(None, "CPU of lti.cgi per launch: not part of this run (measured "
         "by --launch N)")
    return "\n".join(out)


def svg_chart(results, configs, speed, path):
    """Grouped bars of notices/s (log scale), one panel per batch size."""
    colours = {"fcgi": "#1f6feb", "node": "#8c959f", "ceiling": "#d4a72c",
               "floor": "#8250df"}
    names = {"fcgi": "notices.fcgi", "node": "Node peer",
             "ceiling": "read-and-answer ceiling",
             "floor": "work floor (verify + durable write only)"}
    batches = sorted({b for b, _ in configs})
    pw, ph, left, top, bottom = 420, 300, 70, 50, 60
    width = left + len(batches) * (pw + 40) + 20
    height = top + ph + bottom
    vals = [r["notices_s"] for r in results if r["notices_s"] > 0]
    if speed:
        vals.append(speed["verify_s"])
    lo = 10 ** int(math.floor(math.log10(max(min(vals), 1))))
    hi = 10 ** int(math.ceil(math.log10(max(vals))))

    def y(v):
        v = max(v, lo)
        return top + ph - ph * (math.log10(v) - math.log10(lo)) / (
            math.log10(hi) - math.log10(lo))

    s = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
         'font-family="sans-serif" font-size="11">' % (width, height),
         '<rect width="100%" height="100%" fill="white"/>',
         '<text x="%d" y="20" font-size="14" font-weight="bold">Notices '
         'stored per second (log scale), higher is better</text>' % left]
    for bi, batch in enumerate(batches):
        x0 = left + bi * (pw + 40)
        s.append('<text x="%d" y="%d" font-size="12">%d notice%s per POST'
                 '</text>' % (x0, top - 8, batch, "" if batch == 1 else "s"))
        d = lo
        while d <= hi:
            s.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" '
                     'stroke="#ddd"/>' % (x0, x0 + pw, y(d), y(d)))
            s.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>' % (
                x0 - 4, y(d) + 4, "{:,}".format(d)))
            d *= 10
        s.append('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#333"/>' % (
            x0, x0 + pw, top + ph, top + ph))
        concs = [c for b, c in configs if b == batch]
        gw = pw / max(len(concs), 1)
        bw = (gw - 20) / len(TARGETS)
        for ci, conc in enumerate(concs):
            gx = x0 + ci * gw + 10
            for ti, t in enumerate(TARGETS):
                r = find(results, t, batch, conc)
                if not r or r["notices_s"] <= 0:
                    continue
                bx = gx + ti * bw
                yy = y(r["notices_s"])
                s.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" '
                         'fill="%s"><title>%s: %.0f notices/s, p99 %.2f ms'
                         '</title></rect>' % (
                             bx, yy, bw - 2, top + ph - yy, colours[t],
                             names[t], r["notices_s"], r["p99_ms"]))
                s.append('<text x="%.1f" y="%.1f" text-anchor="middle" '
                         'font-size="9">%s</text>' % (
                             bx + (bw - 2) / 2, yy - 3,
                             _short(r["notices_s"])))
            s.append('<text x="%.1f" y="%d" text-anchor="middle">%d conn'
                     '</text>' % (gx + (gw - 20) / 2, top + ph + 15, conc))
        if batch == 1:
            s.append(_hline(x0, pw, y(GOAL_RATE), "#2da44e",
                            "goal %s/s" % "{:,}".format(GOAL_RATE)))
        elif speed:
            s.append(_hline(x0, pw, y(speed["verify_s"]), "#cf222e",
                            "openssl verify/s, %d cores" % speed["cores"]))
            s.append(_hline(x0, pw, y(GOAL_BATCH_SHARE * speed["verify_s"]),
                            "#2da44e", "goal %.0f%%" % (100 * GOAL_BATCH_SHARE)))
    lx = left
    for t in TARGETS:
        s.append('<rect x="%d" y="%d" width="12" height="12" fill="%s"/>'
                 '<text x="%d" y="%d">%s</text>' % (
                     lx, height - 26, colours[t], lx + 16, height - 16,
                     names[t]))
        lx += 30 + 7 * len(names[t])
    s.append("</svg>")
    path.write_text("\n".join(s) + "\n")


def _short(v):
    if v >= 1e6:
        return "%.1fM" % (v / 1e6)
    if v >= 1e4:
        return "%.0fk" % (v / 1e3)
    if v >= 1e3:
        return "%.1fk" % (v / 1e3)
    return "%.0f" % v


def _hline(x0, pw, yy, colour, label):
    return ('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="%s" '
            'stroke-dasharray="5,3"/><text x="%d" y="%.1f" fill="%s" '
            'font-size="10">%s</text>' % (
                x0, x0 + pw, yy, yy, colour, x0 + 4, yy - 3, colour, label))


def machine():
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        osname = re.search(r'PRETTY_NAME="([^"]+)"',
                           Path("/etc/os-release").read_text()).group(1)
    except (OSError, AttributeError):
        osname = "?"
    ver = {}
    for name, cmd in (("lighttpd", ["lighttpd", "-v"]),
                      ("node", ["node", "--version"]),
                      ("wrk", ["wrk", "-v"]),
                      ("openssl", ["openssl", "version"])):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True)
            ver[name] = (r.stdout + r.stderr).splitlines()[0].strip()
        except (OSError, IndexError):
            ver[name] = "?"
    try:
        jose = json.loads((NODE_PEER / "node_modules" / "jose" /
                           "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        jose = "?"
    try:
        rev = subprocess.run(["git", "-C", str(ROOT), "describe", "--always",
                              "--dirty"], capture_output=True,
                             text=True).stdout.strip() or "?"
    except OSError:
        rev = "?"
    return ("pns %s; %s, %d cores (%s), kernel %s\n%s; %s; node %s with "
            "jose %s; %s; %s" % (
                rev, osname, os.cpu_count() or 0, cpu, os.uname().release,
                ver["lighttpd"].split(" - ")[0],
                ver["wrk"].split(" Copyright")[0], ver["node"], jose,
                ver["openssl"].split(" (Library")[0],
                "data on " + _fs_of(RUNS_DIR.parent)))


def _fs_of(path):
    try:
        r = subprocess.run(["df", "-T", str(path)], capture_output=True,
                           text=True)
        f = r.stdout.splitlines()[1].split()
        what = "%s (%s)" % (f[1], f[0])
        task = Path("/sys/fs/ext4/%s/journal_task" % os.path.basename(f[0]))
        if f[1] == "ext4" and task.exists():
            what = "%s, %s" % (what, "no journal" if "none" in
                               task.read_text() else "journal")
        return what
    except (OSError, IndexError):
        return "?"


# -- store growth ---------------------------------------------------------

def prefill(rcv, count, template):
    """Writes count filler records straight into the store layout of
    pns_nstore.h (random keys, no fsync each: only their number
    matters; the caller syncs them all at once)."""
    shards = rcv.store_dir
    for i in range(count):
        key = secrets.token_hex(32)
        with open(shards / key[:2] / (key + ".json"), "w") as f:
            f.write(template.replace("KEY", key))
        if i and i % 100000 == 0:
            log("    %d filler notices written" % i)


# What `pnsctl notices list` holds per record: its (received_at, key)
# index, not the records (about 11 KiB each when it loaded them all).
# Measured with /usr/bin/time -f %M over stores of 3,000, 12,000,
# 100,000 and 1,000,000 notices: the peak grew by 0.08 to 0.11 KiB per
# notice (110 MiB for the million), up to twice that while the index
# array doubles.  A listing that would need
# more than half the memory available is not attempted.
LIST_KIB = 0.2


def mem_available_kib():
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1])
    return 0


def listing_fits(records):
    return records * LIST_KIB < mem_available_kib() / 2


def store_growth(args, jwks_url):
    """Store of 100 / 10,000 / 1,000,000 notices and 1 / 100 / 1,000
    platforms: new-notice rate, duplicate rate and listing time."""
    sizes = [int(x) for x in args.growth_sizes.split(",")]
    platforms = [int(x) for x in args.growth_platforms.split(",")]
    out = []
    tokens = pool_file(args.notices)
    template = None
    for size, nplat in [(s, 1) for s in sizes] + [
            (sizes[0], p) for p in platforms if p != 1]:
        log("store growth: %d stored notices, %d platforms" % (size, nplat))
        rcv = Fcgi(jwks_url, POOL_DIR / "jwks.json", RUNS_DIR)
        try:
            for i in range(1, nplat):
                rcv.pnsctl("platform", "add", "--issuer",
                           "https://platform-%d.example" % i,
                           "--client-id", "client-%d" % i,
                           "--auth-url", "https://platform-%d.example/a" % i,
                           "--token-url", "https://platform-%d.example/t" % i,
                           "--jwks-url", "https://platform-%d.example/j" % i,
                           "--deployment", "1:d%d" % i)
            rcv.start()
            warm_up(rcv)
            if template is None:
                sample = next(p for p in rcv.store_dir.rglob("*.json"))
                rec = json.loads(sample.read_text())
                rec["key"] = "KEY"
                template = json.dumps(rec, separators=(",", ":"))
            t0 = time.monotonic()
            prefill(rcv, size, template)
            # On disk before the clock starts: the group commit's syncfs
            # would otherwise write the whole filler back during the
            # run (seconds for a million records), which is not what a
            # store that size costs once its notices are old.
            os.sync()
            fill_s = time.monotonic() - t0
            time.sleep(0.05)
            filled_ns = time.time_ns()
            w = run_wrk(rcv.port, tokens, 1, args.growth_conc, args.duration)
            window = (w["window_us"] or w["duration_us"]) / 1e6
            new = {"notices_s": w["accepted"] / window,
                   "p99_ms": w["latency_us"]["p99"] / 1000}
            # The same notices again: every one a duplicate now.
            # Only the records written after the filler are real.
            dup_file = rcv.tmp / "dups.txt"
            with open(dup_file, "w") as f:
                for shard in os.scandir(rcv.store_dir):
                    for e in os.scandir(shard.path):
                        if e.stat().st_mtime_ns <= filled_ns:
                            continue
                        rec = json.loads(Path(e.path).read_text())
                        f.write(rec["jwt"] + "\n")
            w2 = run_wrk(rcv.port, dup_file, 1, args.growth_conc,
                         args.duration)
            window2 = (w2["window_us"] or w2["duration_us"]) / 1e6
            dup = {"notices_s": w2["duplicate"] / window2,
                   "p99_ms": w2["latency_us"]["p99"] / 1000}
            total = rcv.stored()[0]
            if not listing_fits(total):
                log("  new %.0f/s p99 %.2f ms, duplicates %.0f/s p99 %.2f "
                    "ms" % (new["notices_s"], new["p99_ms"],
                            dup["notices_s"], dup["p99_ms"]))
                log("  listing skipped: %d records would need about %.1f "
                    "GiB (%.1f KiB each) of the %.1f GiB available" % (
                        total, total * LIST_KIB / 2**20, LIST_KIB,
                        mem_available_kib() / 2**20))
                mems = [mem_kib(p) for p in rcv.workers()]
                out.append({"stored": size, "platforms": nplat,
                            "total": total, "fill_s": fill_s, "new": new,
                            "dup": dup, "list_s": None, "list_ok": None,
                            "list_mib": None, "rss_kib": max(
                                (m[0] for m in mems), default=0)})
                continue
            # The lister's own peak memory: started from this process, it
            # would count this one's too (see harness.peak_rss).  The
            # interpreter that starts it adds some 20 ms to the time.
            t0 = time.monotonic()
            status, kib, _ = integ("harness").peak_rss(
                [PNSCTL, "notices", "list", "--json"], rcv.env, os.devnull)
            list_s = time.monotonic() - t0
            list_mib = kib / 1024
            mems = [mem_kib(p) for p in rcv.workers()]
        finally:
            rcv.remove()
        out.append({"stored": size, "platforms": nplat, "total": total,
                    "fill_s": fill_s, "new": new, "dup": dup,
                    "list_s": list_s, "list_ok": status == 0,
                    "list_mib": list_mib,
                    "rss_kib": max((m[0] for m in mems), default=0)})
        log("  new %.0f/s p99 %.2f ms, duplicates %.0f/s p99 %.2f ms, "
            "list of %d in %.2f s, %.0f MiB" % (
                new["notices_s"], new["p99_ms"], dup["notices_s"],
                dup["p99_ms"], total, list_s, list_mib))
    lines = ["%9s %9s %9s %8s %9s %8s %9s %8s %8s" % (
        "prefilled", "platforms", "new n/s", "p99 ms", "dup n/s", "p99 ms",
        "listed", "list s", "list MiB")]
    for g in out:
        if g["list_s"] is None:
            listing = "%9d %8s %8s  (listing skipped: memory)" % (
                g["total"], "-", "-")
        else:
            listing = "%9d %8.2f %8.0f%s" % (
                g["total"], g["list_s"], g["list_mib"],
                "" if g["list_ok"] else "  !! pnsctl failed")
        lines.append("%9d %9d %9.0f %8.2f %9.0f %8.2f %s" % (
            g["stored"], g["platforms"], g["new"]["notices_s"],
            g["new"]["p99_ms"], g["dup"]["notices_s"], g["dup"]["p99_ms"],
            listing))
    return out, "\n".join(lines)


# -- launches ---------------------------------------------------------------

def launch_cpu(count):
    """CPU of lti.cgi per launch: /login and /launch, each a CGI process
    that lighttpd forks and reaps, so their CPU time is what lighttpd's
    children-CPU counters (cutime, cstime) gain.  The long-lived FastCGI
    children are never reaped during the measurement and so not counted.
    The platform, the browser's requests and the TLS-free loopback are
    tests/integ's (test_launch.py's flow, lti_platform.py)."""
    T = integ("test_launch")
    T.setUpModule()
    try:
        dep = T.PF.new_deployment()
        # The first launch of a deployment registers its notice handlers
        # (waiting on the platform): not what a launch usually costs.
        T.post_launch(T.start_flow(dep=dep))
        lighttpd = T.SRV.proc.pid

        def children_cpu():
            f = Path("/proc/%d/stat" % lighttpd).read_text().rsplit(
                ")", 1)[1].split()
            return (int(f[13]) + int(f[14])) / CLK_TCK

        # Logins alone first, to tell the two CGI requests apart.
        c0 = children_cpu()
        for _ in range(count):
            T.start_flow(dep=dep)
        login = children_cpu() - c0
        ok = 0
        c0, t0 = children_cpu(), time.monotonic()
        for _ in range(count):
            resp = T.post_launch(T.start_flow(dep=dep))
            ok += resp.status == 200
        wall = time.monotonic() - t0
        cpu = children_cpu() - c0
    finally:
        T.tearDownModule()
    return {"launches": count, "ok": ok, "cpu_ms": 1000 * cpu / count,
            "login_ms": 1000 * login / count, "wall_ms": 1000 * wall / count}


# -- main -----------------------------------------------------------------

def median_run(runs, kind, batch, conc):
    """The run of that configuration with the median notices/s (the
    lower one of the middle two), so its latencies go with its rate."""
    mine = sorted((r for r in runs if (r["target"], r["batch"], r["conc"]) ==
                   (kind, batch, conc)), key=lambda r: r["notices_s"])
    return mine[(len(mine) - 1) // 2]


def parse_configs(text, batch):
    return [(batch, int(c)) for c in text.split(",") if c]


def main():
    global FCGI_PROCS, FCGI_THREADS, RUNS_DIR
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=int,
                    default=int(os.environ.get("BENCH_DURATION", "10")),
                    help="seconds of each wrk run (env BENCH_DURATION; "
                    "default 10)")
    # 5% over 100,000 per process: lighttpd does not split the notices
    # of a --memory run exactly, and one process short of 100,000 would
    # leave the memory goal unjudged.
    ap.add_argument("--notices", type=int,
                    default=int(os.environ.get("BENCH_NOTICES", "210000")),
                    help="distinct signed notices in the pool (env "
                    "BENCH_NOTICES; default 210000); a run that uses them "
                    "all stops early and says so")
    ap.add_argument("--conc", default="1,8,64",
                    help="connections for 1 notice per POST (default 1,8,64)")
    ap.add_argument("--batch", type=int, default=100,
                    help="notices per POST of the batch runs (default 100)")
    ap.add_argument("--batch-conc", default="2,8",
                    help="connections for the batch runs (default 2,8)")
    ap.add_argument("--repeat", type=int,
                    default=int(os.environ.get("BENCH_REPEAT", "1")),
                    help="rounds of the whole matrix; the table shows each "
                    "configuration's median run (env BENCH_REPEAT; "
                    "default 1)")
    ap.add_argument("--memory", action="store_true",
                    help="after the matrix, run notices.fcgi until the "
                    "whole pool is stored, once with 1 notice per POST and "
                    "once with batches, and report each process's memory "
                    "(the pool should hold 100,000 notices per process)")
    ap.add_argument("--memory-seconds", type=int, default=900,
                    help="longest each --memory run may take (default 900)")
    ap.add_argument("--launch", type=int, metavar="N", default=0,
                    help="instead of the comparison: CPU of lti.cgi per "
                    "launch over N launches (with tests/integ's platform)")
    ap.add_argument("--fcgi-procs", type=int, default=FCGI_PROCS,
                    help="FastCGI processes of notices.fcgi and the "
                    "ceiling under lighttpd (default %d)" % FCGI_PROCS)
    ap.add_argument("--threads", type=int, default=FCGI_THREADS,
                    help="threads per notices.fcgi process (PNS_THREADS, "
                    "default %d): how many requests one process has in "
                    "flight, and so how many one group commit can cover"
                    % FCGI_THREADS)
    ap.add_argument("--runs-dir", type=Path, default=None,
                    help="where the receivers' data directories go (default "
                    "bench/results/runs); for comparing file systems, e.g. a "
                    "journaled ext4 against the one bench/ is on")
    ap.add_argument("--targets", default=",".join(TARGETS),
                    help="receivers to run (default %s)" % ",".join(TARGETS))
    ap.add_argument("--speed-seconds", type=int, default=4,
                    help="seconds of each openssl speed test (default 4)")
    ap.add_argument("--store-growth", action="store_true",
                    help="instead of the comparison: notices.fcgi with a "
                    "pre-filled store and many platforms")
    ap.add_argument("--growth-sizes", default="100,10000,1000000")
    ap.add_argument("--growth-platforms", default="1,100,1000")
    ap.add_argument("--growth-conc", type=int, default=8)
    ap.add_argument("--fresh-pool", action="store_true",
                    help="sign a new pool even if a recent one exists")
    args = ap.parse_args()
    FCGI_PROCS = max(1, args.fcgi_procs)
    FCGI_THREADS = max(1, args.threads)
    if args.runs_dir is not None:
        RUNS_DIR = args.runs_dir.resolve() / "pns-bench-runs"
    targets = [t for t in args.targets.split(",") if t]
    for t in targets:
        if t not in TARGETS:
            ap.error("unknown target %s" % t)

    snapshot_programs()
    if not (args.store_growth or args.launch):
        for t in ("ceiling", "floor"):
            if t in targets:
                build_helper(t)
    if "node" in targets and not (args.store_growth or args.launch):
        install_node_peer()

    RESULTS.mkdir(exist_ok=True)
    if RUNS_DIR.exists():       # left by a benchmark that was killed
        _spent.append(RUNS_DIR)
        remove_spent()
    # Expected length of this benchmark: each run is its wrk time plus
    # about 10 s of set-up, warm-up, waiting and removal.
    if args.store_growth:
        needed = 600 + 3 * (args.duration + 30) * (
            len(args.growth_sizes.split(",")) +
            len(args.growth_platforms.split(",")))
    else:
        needed = (len(parse_configs(args.conc, 1) + parse_configs(
            args.batch_conc, args.batch)) * len(targets) * args.repeat *
            (args.duration + 10) + 4 * args.speed_seconds + 60 +
            (2 * args.memory_seconds if args.memory else 0))
    if needed > POOL_LIFETIME:
        log("warning: this benchmark may take %d s, longer than its "
            "notices live (%d s): the last runs may see them expire" % (
                needed, POOL_LIFETIME))
    tokens = jwks_url = None
    if args.launch:
        pass            # launches bring their own platform
    elif args.fresh_pool or not pool_ready(args.notices, min(
            needed, POOL_LIFETIME - 60)):
        make_pool(args.notices)
    else:
        log("reusing the notice pool in %s" % POOL_DIR)
    if not args.launch:
        tokens = pool_file(args.notices)
        jwks = serve_jwks(json.loads((POOL_DIR / "jwks.json").read_text()))
        jwks_url = "http://127.0.0.1:%d/jwks" % jwks.server_address[1]
    wait_past_removals()
    started = datetime.datetime.now(datetime.timezone.utc)
    about = machine()
    noise = machine_noise()
    if noise > NOISY / 100:
        log("warning: other programs use %.0f%% of a core right now: the "
            "figures will be noisy" % (100 * noise))
    about += "\nother programs at the start: %.0f%% of a core" % (100 * noise)

    if args.launch:
        log("%d launches through lti.cgi ..." % args.launch)
        lc = launch_cpu(args.launch)
        report = ("pns launch benchmark\n%s UTC\n%s\n\n"
                  "%d launches (login + launch, handlers already "
                  "registered), %d answered 200\n"
                  "lti.cgi CPU per launch: %.2f ms (goal <= 5 ms beyond "
                  "waiting on the platform): /login %.2f ms, /launch "
                  "%.2f ms\n"
                  "wall time per launch, platform and client included: "
                  "%.2f ms\n" % (started.strftime("%Y-%m-%d %H:%M"), about,
                                  lc["launches"], lc["ok"], lc["cpu_ms"],
                                  lc["login_ms"],
                                  lc["cpu_ms"] - lc["login_ms"],
                                  lc["wall_ms"]))
        (RESULTS / "launch.txt").write_text(report)
        print("\n" + report)
        log("written: %s" % (RESULTS / "launch.txt"))
        return 0 if lc["ok"] == lc["launches"] else 1

    if args.store_growth:
        growth, text = store_growth(args, jwks_url)
        report = ("pns notice receiver benchmark: store growth\n%s UTC\n%s\n"
                  "%d s per wrk run, %d connections, 1 notice per POST\n\n"
                  "%s\n" % (started.strftime("%Y-%m-%d %H:%M"), about,
                            args.duration, args.growth_conc, text))
        (RESULTS / "growth.txt").write_text(report)
        (RESULTS / "growth.json").write_text(json.dumps(growth, indent=1))
        print("\n" + report)
        log("written: %s" % (RESULTS / "growth.txt"))
        return 0

    log("openssl speed -multi %d rsa2048 ..." % (os.cpu_count() or 2))
    speed_before = openssl_speed(args.speed_seconds)
    log("  %.0f verify/s, %.0f sign/s" % (speed_before["verify_s"],
                                          speed_before["sign_s"]))

    configs = parse_configs(args.conc, 1) + parse_configs(args.batch_conc,
                                                          args.batch)
    runs = []
    order = list(targets)
    for rep in range(args.repeat):
        for batch, conc in configs:
            for kind in order:
                log("%-7s %3d notice%s/POST, %3d connections, %d s%s ..." % (
                    kind, batch, " " if batch == 1 else "s", conc,
                    args.duration, ", round %d" % (rep + 1)
                    if args.repeat > 1 else ""))
                r = one_run(kind, batch, conc, args, jwks_url, tokens)
                runs.append(r)
                log("  %8.0f notices/s  p50 %.2f ms  p99 %.2f ms  %s" % (
                    r["notices_s"], r["p50_ms"], r["p99_ms"], r["check"]))
                if r.get("log_tail"):
                    log(r["log_tail"])
            # Alternate who goes first, so drift of the machine (page
            # cache, other tenants) does not favour the same receiver.
            order = order[1:] + order[:1]
    results = [median_run(runs, kind, batch, conc)
               for batch, conc in configs for kind in targets]

    memory = []
    need = PROCS * GOAL_RSS_AFTER
    if args.memory and args.notices < need:
        log("  warning: --notices %d is under %d: fewer than %d per "
            "process" % (args.notices, need, GOAL_RSS_AFTER))
    # Each run lasts until every notice of the pool is stored (a run
    # stops when the pool is used up): one per POST, the issue's case,
    # then batches, whose parsed trees leave a larger heap behind.
    for batch, conc in ((1, 64), (args.batch, 8)) if args.memory else ():
        log("fcgi    memory: %d notices/POST, %d connections, until %d "
            "notices are stored ..." % (batch, conc, args.notices))
        margs = argparse.Namespace(**vars(args))
        margs.duration = args.memory_seconds
        m = one_run("fcgi", batch, conc, margs, jwks_url, tokens)
        m["memory_run"] = True
        runs.append(m)
        memory.append(m)
        for p in m["per_proc"]:
            log("  pid %d: %s notices, RSS %d KiB, peak %d KiB" % (
                p["pid"], p["notices"], p["rss_kib"], p["hwm_kib"]))

    log("openssl speed again ...")
    speed_after = openssl_speed(args.speed_seconds)
    # Other programs can only slow openssl down: the faster of the two
    # is the better estimate of what the cores can do.
    speed = dict(max(speed_before, speed_after, key=lambda x: x["verify_s"]))
    speed["verify_runs"] = [speed_before["verify_s"], speed_after["verify_s"]]
    report = "\n".join([
        "pns notice receiver benchmark",
        "%s UTC" % started.strftime("%Y-%m-%d %H:%M"),
        about,
        "%d s per wrk run%s; every notice distinct, RS256, Canvas-shaped; "
        "%d receiver processes; load generator on the same machine" % (
            args.duration, ", median of %d rounds" % args.repeat
            if args.repeat > 1 else "", PROCS),
        "openssl speed: %.0f RSA-2048 verify/s (the faster of %.0f before "
        "the runs and %.0f after), %.0f sign/s (%s)" % (
            speed["verify_s"], speed["verify_runs"][0],
            speed["verify_runs"][1], speed["sign_s"], speed["cmd"]),
        "",
        table(results),
        "",
        "columns: notices/s = notices answered accepted per second (ceiling:"
        " bodies read x batch); p50/p99/p99.9 = request latency seen by wrk;",
        "cpu us/n = CPU of the receiver's processes (lighttpd + FastCGI, or"
        " node primary + workers) per notice; wrk% = load generator CPU;",
        "other% = CPU of everything else on the machine during the run, "
        "in % of one core (kernel writeback included; high = noisy run);",
        "RSS/HWM = resident / peak resident memory of one receiver process "
        "(largest) at the end of the run; B/n, disk/n = bytes per stored",
        "notice file (size, allocated); acked = answered accepted, stored ="
        " notice files counted in the store (1 file per notice; floor:",
        "records in its files, which are zeroed ahead, so B/n = disk/n).",
        "",
        memory_text(memory),
        "ratios of requests/s",
        ratios(results, configs),
        "",
        "goals of the issue",
        goals(results + memory, speed),
        "",
    ])
    (RESULTS / "latest.txt").write_text(report)
    (RESULTS / "latest.json").write_text(json.dumps(
        {"started": started.isoformat(), "machine": about, "speed": speed,
         "duration": args.duration, "repeat": args.repeat,
         "results": results, "runs": runs}, indent=1))
    svg_chart(results, configs, speed, RESULTS / "latest.svg")
    print("\n" + report)
    log("written: %s, %s, %s" % (RESULTS / "latest.txt",
                                 RESULTS / "latest.json",
                                 RESULTS / "latest.svg"))
    bad = [r for r in runs if r["failed"]]
    return 1 if bad else 0


def snapshot_programs():
    FCGI.parent.mkdir(parents=True, exist_ok=True)
    for src, dst in ((BUILT_FCGI, FCGI), (BUILT_PNSCTL, PNSCTL),
                     (BUILT_CGI, CGI)):
        if not os.access(src, os.X_OK):
            sys.exit("%s is not built: run make" % src)
        data = src.read_bytes()
        if b"__asan_init" in data or b"__ubsan_handle" in data:
            sys.exit("%s is a sanitizer build (make SANITIZE=1): run make "
                     "first" % src)
        tmp = dst.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.chmod(0o755)
        tmp.replace(dst)


def machine_noise(seconds=2.0):
    """Cores' worth of CPU used by other programs right now."""
    b0, t0 = busy_seconds(), time.monotonic()
    time.sleep(seconds)
    return (busy_seconds() - b0) / (time.monotonic() - t0)


def build_helper(name):
    """bench/ceiling or bench/floor, from its .c beside it."""
    src, out = HERE / (name + ".c"), HERE / name
    if out.exists() and out.stat().st_mtime >= src.stat().st_mtime:
        return
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "fcgi"],
                           capture_output=True, text=True).stdout.split()
    extra = ["-lcrypto", "-pthread"] if name == "floor" else []
    cmd = [os.environ.get("CC", "cc"), "-std=c11", "-O2", "-Wall", "-Wextra",
           "-Werror", "-o", str(out), str(src)] + (
               flags or ["-lfcgi"]) + extra
    log(" ".join(cmd))
    subprocess.run(cmd, check=True)


def install_node_peer():
    if (NODE_PEER / "node_modules" / "jose").is_dir():
        return
    log("npm ci (bench/node-peer) ...")
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"],
                   cwd=str(NODE_PEER), check=True)


if __name__ == "__main__":
    try:
        rc = main()
    finally:
        remove_spent()
    sys.exit(rc)

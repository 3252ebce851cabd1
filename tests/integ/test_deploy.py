# SPDX-License-Identifier: ISC
"""Deployment tests: docs/deploy.md followed as written, under a real
Apache (Debian's apache2, mod_fcgid, mod_cgid) and a real lighttpd, the
programs running as a user that is not root.

For each way of docs/deploy.md (a server with root under Apache, the same
under lighttpd, shared hosting with SetEnv in .htaccess, shared hosting
with no variable at all, and the SetEnv way again on a host that runs the
programs through Debian's real suexec) the suite

* makes a stand-in Debian server inside a throwaway root: a copy of the
  machine's /etc/apache2 or /etc/lighttpd whose paths, port (a free one
  on 127.0.0.1) and run user (pns-test) are changed, started as Debian's
  package leaves it running;
* runs the sh blocks of that way, in order, in a fresh copy of the source
  tree, with only the values of the Settings block changed, and the
  stand-ins of tests/integ/standin/ first on PATH for the two commands
  that would act on the machine itself (apt-get, systemctl);
* then acts as a platform and an instructor would: login, launch,
  automatic registration of the notice handlers with the test platform
  (lti_platform.py), its hello-world notice, a batch of other notices,
  and the document's own pnsctl commands listing them.

Through both servers with root, 2,000 notices posted by 16 concurrent
clients, while notices.fcgi processes are killed and launches and pnsctl
run beside them, are each stored exactly once; SIGTERM and the servers'
own stop end every notices.fcgi cleanly.

Runs as root, as CI does: it makes the pns-test user and starts the
servers as their packages do.  From the repository root:
    /usr/bin/python3 tests/integ/test_deploy.py [T03Apache ...]
The last line of output is "integration: N passed, M failed".
PNS_KEEP_TMP=1 keeps each throwaway root (its path is printed).
"""

import http.client
import json
import os
import pwd
import queue
import re
import shlex
import shutil
import signal
import socketserver
import stat
import string
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import uuid
from pathlib import Path


# The launch suite's helpers (login, launch, the registration and
# hello-world checks) are used as they are, with its harness, platform
# and LTI platform.  They find the tool through its module globals SRV,
# PF and lti_path, which each deployment below points at itself.
import test_launch as T  # noqa: E402
P, H, L = T.P, T.H, T.L

DOC = H.ROOT / "docs" / "deploy.md"
STANDIN = H.HERE / "standin"
RUN_USER = "pns-test"

# Headings of docs/deploy.md the ways are made of.
ROOT_WAY = "A server with root"
SHARED_WAY = "Shared hosting (Apache, .htaccess only)"
SETTINGS = "Settings"
APACHE_STEP = "Apache"
LIGHTTPD_STEP = "lighttpd"
SETENV_STEP = "4a. .htaccess, with SetEnv"
NOVAR_STEP = "4b. .htaccess, where no variable can be set"
AFTER_LAUNCH = "After the first launch"
# What 4b asks of the settings, and what the host must allow.
NOVAR_WEB = "$PNS_HOME/www"
HOST_OVERRIDES = "AllowOverride AuthConfig FileInfo Options=ExecCGI"

# The ways: the doc's section, the steps left out, the server.
WAYS = {
    "apache": (ROOT_WAY, {LIGHTTPD_STEP, AFTER_LAUNCH}, "apache"),
    "lighttpd": (ROOT_WAY, {APACHE_STEP, AFTER_LAUNCH}, "lighttpd"),
    "shared-setenv": (SHARED_WAY, {NOVAR_STEP, AFTER_LAUNCH}, "hosting"),
    "shared-novar": (SHARED_WAY, {SETENV_STEP, AFTER_LAUNCH}, "hosting"),
    "shared-suexec": (SHARED_WAY, {NOVAR_STEP, AFTER_LAUNCH}, "suexec"),
}

# Debian's suexec (apache2-suexec-pristine) runs only programs under the
# document root it was built with, for Apache's own user.
SUEXEC = Path("/usr/lib/apache2/suexec")
SUEXEC_DOCROOT = Path("/var/www")
APACHE_USER = "www-data"

# The part of the source tree a build and docs/deploy.md use.
SOURCE_PARTS = ["Makefile", "src", "include", "cgi-bin", "etc",
                "apache-conf", "lighttpd-conf", "scripts"]

# max_body_bytes where each way leaves it: the sample's default, and the
# value docs/deploy.md sets on shared hosting (mod_fcgid's default
# FcgidMaxRequestLen).
ROOT_BODY_LIMIT = 1048576
SHARED_BODY_LIMIT = 131072

LOAD_NOTICES = 2000
LOAD_CLIENTS = 16
LOAD_SECONDS = 240
# Registered with pnsctl for the load, so one set of tokens serves both
# servers.
LOAD_DEPLOYMENT = "7:load-" + uuid.uuid4().hex
BATCH = 12

# A line of ours in an error log, wherever the server puts it in its own.
LOG_LINE_RE = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (notices\.fcgi|lti\.cgi|pnsctl)"
    r"\[\d+\] (error|warn|info|debug): ")
OUR_PROGRAM_RE = re.compile(r"\b(notices\.fcgi|lti\.cgi|pnsctl)\[\d+\]")
# An absolute path of the machine itself: outside Settings, the
# document's commands may only use variables and the source tree.
SYSTEM_PATH_RE = re.compile(
    r"(?<![\w.$}-])/(?:etc|var|run|usr|home|srv|opt|lib|tmp|root)\b")
SETTING_RE = re.compile(r"^(export )?([A-Z][A-Z0-9_]*)=(\S*)$")

PF = None               # the test platform, for every way
DEPLOYMENTS = []        # every Deployment made, for the logs
_LOAD_TOKENS = []


def wait_until(pred, timeout=10.0, step=0.05):
    """Polls pred until it is true or timeout passes; its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


# -- docs/deploy.md ----------------------------------------------------


class Block:
    """One ```sh block: its section (h2), step (h3), text, first line."""

    def __init__(self, h2, h3, text, line):
        self.h2, self.h3, self.text, self.line = h2, h3, text, line

    def __repr__(self):
        return "<docs/deploy.md:%d %s / %s>" % (self.line, self.h2, self.h3)


def doc_blocks():
    """Every ```sh block of docs/deploy.md, in order."""
    blocks, h2, h3, fence = [], None, None, None
    for n, line in enumerate(DOC.read_text().splitlines(), 1):
        if fence is not None:
            if line.strip() == "```":
                if fence[1] is not None:
                    blocks.append(Block(h2, h3, "\n".join(fence[1]),
                                        fence[0]))
                fence = None
            elif fence[1] is not None:
                fence[1].append(line)
        elif line.startswith("```"):
            fence = (n + 1, [] if line.strip() == "```sh" else None)
        elif line.startswith("## "):
            h2, h3 = line[3:].strip(), None
        elif line.startswith("### "):
            h3 = line[4:].strip()
    return blocks


def doc_prose(h2, h3):
    """The text of one step of docs/deploy.md, up to the next heading."""
    out, here, section = [], False, None
    for line in DOC.read_text().splitlines():
        if line.startswith("## "):
            here = False
            section = line[3:].strip()
        elif line.startswith("### "):
            here = section == h2 and line[4:].strip() == h3
        elif here:
            out.append(line)
    return "\n".join(out)


def way_blocks(way):
    """The Settings block and the command blocks of one way, in order.
    Raises if a heading the way is made of has gone from the document."""
    section, skip, _ = WAYS[way]
    blocks = [b for b in doc_blocks() if b.h2 == section]
    steps = {b.h3 for b in blocks}
    missing = (skip | {SETTINGS}) - steps
    if missing:
        raise AssertionError("docs/deploy.md, %s: no sh block under %s" %
                             (section, sorted(missing)))
    if blocks[0].h3 != SETTINGS or [b.h3 for b in blocks].count(
            SETTINGS) != 1:
        raise AssertionError("docs/deploy.md, %s: the one Settings block "
                             "must come first" % section)
    return blocks[0], [b for b in blocks[1:] if b.h3 not in skip]


def after_launch_blocks(way):
    section = WAYS[way][0]
    return [b for b in doc_blocks()
            if b.h2 == section and b.h3 == AFTER_LAUNCH]


def setting_names(block):
    names = []
    for line in block.text.splitlines():
        m = SETTING_RE.match(line)
        if m is None:
            raise AssertionError("%r: not NAME=value: %r" % (block, line))
        names.append(m.group(2))
    return names


def substitute(block, values):
    """The Settings block with the values of the names in values (shell
    text) changed; every such name must be there."""
    out, seen = [], set()
    for line in block.text.splitlines():
        m = SETTING_RE.match(line)
        if m.group(2) in values:
            line = "%s%s=%s" % (m.group(1) or "", m.group(2),
                                values[m.group(2)])
            seen.add(m.group(2))
        out.append(line)
    if set(values) - seen:
        raise AssertionError("%r lacks %s" % (block,
                                              sorted(set(values) - seen)))
    return "\n".join(out)


def system_paths(block):
    return SYSTEM_PATH_RE.findall(block.text)


# -- the machine --------------------------------------------------------


def run_user():
    """(uid, gid) of RUN_USER, made as a system user when missing."""
    if os.geteuid() != 0:
        raise RuntimeError("test_deploy.py runs as root: it makes the %s "
                           "user and starts the servers as Debian does"
                           % RUN_USER)
    try:
        pw = pwd.getpwnam(RUN_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--user-group",
                        "--no-create-home", "--home-dir", "/nonexistent",
                        "--shell", "/usr/sbin/nologin", RUN_USER],
                       check=True, capture_output=True)
        pw = pwd.getpwnam(RUN_USER)
    return pw.pw_uid, pw.pw_gid


def chown_tree(path, uid, gid):
    for dirpath, dirnames, filenames in os.walk(path):
        os.lchown(dirpath, uid, gid)
        for name in dirnames + filenames:
            os.lchown(os.path.join(dirpath, name), uid, gid)


def copy_source(dest):
    """The source tree as a fresh checkout has it (tracked files and new
    ones not ignored, as they are in the working tree), without anything
    built."""
    try:
        out = subprocess.run(
            ["git", "-c", "safe.directory=*", "-C", str(H.ROOT), "ls-files",
             "-z", "-co", "--exclude-standard", "--"] + SOURCE_PARTS,
            capture_output=True, check=True).stdout
        files = [H.ROOT / rel.decode() for rel in out.split(b"\0") if rel]
    except (OSError, subprocess.CalledProcessError):
        # Not a git checkout: the same parts, less what make builds.
        files = [p for part in SOURCE_PARTS for p in
                 [H.ROOT / part] + list((H.ROOT / part).rglob("*"))
                 if p not in (H.FCGI, H.LTI_CGI) and
                 "__pycache__" not in p.parts]
    for src in files:
        if src.is_file():
            dst = dest / src.relative_to(H.ROOT)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)


def proc_exe(pid):
    try:
        return os.readlink("/proc/%d/exe" % pid)
    except OSError:
        return None


def proc_args(pid):
    """The arguments of a process after its name, [] if none or gone."""
    try:
        return Path("/proc/%d/cmdline" % pid).read_bytes().split(b"\0")[1:-1]
    except OSError:
        return []


def holding_request(pid):
    """Whether a notices.fcgi process has a request in hand: one of its
    threads is somewhere else than waiting for a connection (accept) or
    for a signal (the main thread, rt_sigtimedwait).  One whose threads
    cannot be read counts as holding one."""
    calls = H.thread_syscalls(pid)
    if calls is None:
        return True
    idle = H.ACCEPT_SYSCALLS | {H.SIGWAIT_SYSCALL}
    return any(nr not in idle for nr in calls)


def pids_where(pred):
    out = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit() and pred(int(entry)):
            out.add(int(entry))
    return out


def proc_ids(pid):
    """({real, effective, saved, fs uid}, {... gid}) of a process."""
    uids = gids = None
    for line in Path("/proc/%d/status" % pid).read_text().splitlines():
        if line.startswith("Uid:"):
            uids = set(map(int, line.split()[1:]))
        elif line.startswith("Gid:"):
            gids = set(map(int, line.split()[1:]))
    return uids, gids


def pid_with_local_port(port, pids):
    """Which of pids holds the TCP socket whose local port is port."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if int(f[1].rsplit(":", 1)[1], 16) == port:
                inodes.add("socket:[%s]" % f[9])
    for pid in pids:
        try:
            fds = os.listdir("/proc/%d/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink("/proc/%d/fd/%s" % (pid, fd)) in inodes:
                    return pid
            except OSError:
                pass
    return None


class Machine:
    """What the stand-in servers share: a main process with a pid file,
    and logs."""

    pid_file = None
    logs = ()

    def main_pid(self):
        try:
            return int(self.pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def error_log(self):
        text = ""
        for path in self.logs:
            try:
                text += path.read_text(errors="replace")
            except OSError:
                pass
        return text


class ApacheMachine(Machine):
    """Debian's Apache as its packages leave it, in a throwaway root: a
    copy of /etc/apache2 (APACHE_CONFDIR) whose envvars name RUN_USER and
    put the run, lock and log directories in the root, whose ports.conf
    listens on 127.0.0.1 only, and whose mod_fcgid keeps its sockets in
    the root.  With a site (a shared host), that site replaces Debian's
    default one and the host enables mod_cgid as hosts do."""

    def __init__(self, root, port, uid, gid, site=None, suexec=False):
        self.root, self.port, self.site = root, port, site
        self.suexec = suexec
        # Behind suexec Apache runs as its own user, the programs as the
        # account's; without it Apache runs as the account's user.
        run_as = APACHE_USER if suexec else RUN_USER
        if suexec:
            pw = pwd.getpwnam(APACHE_USER)
            uid, gid = pw.pw_uid, pw.pw_gid
        self.confdir = root / "etc" / "apache2"
        self.run_dir = root / "run" / "apache2"
        self.log_dir = root / "var" / "log" / "apache2"
        self.pid_file = self.run_dir / "apache2.pid"
        self.logs = [self.log_dir / "error.log"]
        shutil.copytree("/etc/apache2", self.confdir, symlinks=True)
        fcgid = root / "var" / "lib" / "apache2" / "fcgid"
        for d in (self.run_dir, root / "run" / "lock" / "apache2",
                  self.log_dir, fcgid):
            d.mkdir(parents=True, exist_ok=True)
        os.chown(fcgid, uid, gid)
        (self.confdir / "envvars").write_text(
            "# The throwaway root's (tests/integ/test_deploy.py).\n"
            "export APACHE_RUN_USER=%s\nexport APACHE_RUN_GROUP=%s\n"
            "export APACHE_PID_FILE=%s\nexport APACHE_RUN_DIR=%s\n"
            "export APACHE_LOCK_DIR=%s\nexport APACHE_LOG_DIR=%s\n"
            "export LANG=C\n" % (run_as, run_as, self.pid_file,
                                 self.run_dir, root / "run" / "lock" /
                                 "apache2", self.log_dir))
        (self.confdir / "ports.conf").write_text(
            "Listen 127.0.0.1:%d\n" % port)
        default = self.confdir / "sites-available" / "000-default.conf"
        if site is None:
            text = default.read_text()
            if text.count("<VirtualHost *:80>") != 1:
                raise RuntimeError("%s: no <VirtualHost *:80>" % default)
            default.write_text(text.replace("<VirtualHost *:80>",
                                            "<VirtualHost *:%d>" % port))
        else:
            default.write_text(site)
        (self.confdir / "conf-available" / "zz-test-root.conf").write_text(
            "# The throwaway root's (tests/integ/test_deploy.py).\n"
            "ServerName 127.0.0.1\n<IfModule mod_fcgid.c>\n"
            "    FcgidIPCDir %s\n    FcgidProcessTableFile %s\n"
            "</IfModule>\n" % (fcgid / "sock", fcgid / "shm"))
        (self.confdir / "conf-enabled" / "zz-test-root.conf").symlink_to(
            "../conf-available/zz-test-root.conf")

    def env(self):
        return {"APACHE_CONFDIR": str(self.confdir)}

    def ctl(self, env, *args, extra=None):
        return subprocess.run(["/usr/sbin/apachectl"] + list(args),
                              env=dict(env, **self.env(), **(extra or {})),
                              capture_output=True, text=True, timeout=120)

    def prepare(self, env):
        if self.site is not None:
            # What the host did for all its accounts.
            mods = ["cgid", "fcgid"] + (["suexec"] if self.suexec else [])
            res = subprocess.run(["a2enmod"] + mods,
                                 env=dict(env, **self.env()),
                                 capture_output=True, text=True,
                                 timeout=60)
            if res.returncode != 0:
                raise RuntimeError("a2enmod: %s%s" % (res.stdout,
                                                      res.stderr))

    def start(self, env):
        """apache2.service's ExecStart, with its Environment."""
        res = self.ctl(env, "start",
                       extra={"APACHE_STARTED_BY_SYSTEMD": "true"})
        if res.returncode != 0:
            raise RuntimeError("apachectl start: %s%s\n%s" % (
                res.stdout, res.stderr, self.error_log()))

    def running(self):
        pid = self.main_pid()
        return pid is not None and proc_exe(pid) == "/usr/sbin/apache2"

    def tell(self, env, how):
        """apachectl how: graceful and restart keep Apache running,
        graceful-stop and stop end it (waited for)."""
        if how in ("graceful-stop", "stop"):
            self.stop(env, how)
        else:
            self.ctl(env, how)

    def stop(self, env, how="graceful-stop"):
        """apache2.service's ExecStop (or apachectl stop), waiting for
        the main process as systemd does."""
        pid = self.main_pid()
        if not self.running():
            return
        self.ctl(env, how)
        if not wait_until(lambda: proc_exe(pid) is None, timeout=60):
            os.kill(pid, signal.SIGKILL)


class LighttpdMachine(Machine):
    """Debian's lighttpd as its package leaves it, in a throwaway root: a
    copy of /etc/lighttpd whose lighttpd.conf names RUN_USER, puts its
    files in the root and listens on 127.0.0.1 only, run the way
    lighttpd.service runs it (lighttpd -D, its pid as MAINPID)."""

    def __init__(self, root, port, uid, gid):
        self.root, self.port = root, port
        self.confdir = root / "etc" / "lighttpd"
        self.conf = self.confdir / "lighttpd.conf"
        self.pid_file = root / "run" / "lighttpd.pid"
        self.log_dir = root / "var" / "log" / "lighttpd"
        self.stderr = root / "lighttpd-stderr.log"
        self.logs = [self.stderr, self.log_dir / "error.log"]
        self.proc = None
        shutil.copytree("/etc/lighttpd", self.confdir, symlinks=True)
        docroot = root / "var" / "www" / "html"
        uploads = root / "var" / "cache" / "lighttpd" / "uploads"
        sockets = root / "run" / "lighttpd"
        for d in (docroot, uploads, sockets, self.log_dir):
            d.mkdir(parents=True, exist_ok=True)
        for d in (uploads, sockets, self.log_dir):
            os.chown(d, uid, gid)
        sockets.chmod(0o750)
        text = self.conf.read_text()
        for pattern, repl in (
                (r'^server\.document-root\s*=.*$',
                 'server.document-root = "%s"' % docroot),
                (r'^server\.upload-dirs\s*=.*$',
                 'server.upload-dirs = ( "%s" )' % uploads),
                (r'^server\.errorlog\s*=.*$',
                 'server.errorlog = "%s"' % (self.log_dir / "error.log")),
                (r'^server\.pid-file\s*=.*$',
                 'server.pid-file = "%s"' % self.pid_file),
                (r'^server\.username\s*=.*$',
                 'server.username = "%s"' % RUN_USER),
                (r'^server\.groupname\s*=.*$',
                 'server.groupname = "%s"' % RUN_USER),
                (r'^server\.port\s*=.*$',
                 'server.port = %d\nserver.bind = "127.0.0.1"' % port),
                # Debian adds an IPv6 listener; this one is loopback only.
                (r'^include_shell "/usr/share/lighttpd/use-ipv6\.pl.*$', ''),
                (r'^include "/etc/lighttpd/conf-enabled/\*\.conf"$',
                 'include "%s/conf-enabled/*.conf"' % self.confdir)):
            text, n = re.subn(pattern, repl, text, flags=re.M)
            if n != 1:
                raise RuntimeError("%s: %d lines match %s" % (
                    "/etc/lighttpd/lighttpd.conf", n, pattern))
        if '"/etc/lighttpd' in text:
            raise RuntimeError("/etc/lighttpd left in " + str(self.conf))
        self.conf.write_text(text)

    def env(self):
        return {"PNS_TEST_LIGHTTPD_PIDFILE": str(self.pid_file)}

    def prepare(self, env):
        pass

    def start(self, env):
        """lighttpd.service's ExecStartPre and ExecStart."""
        res = subprocess.run(["/usr/sbin/lighttpd", "-tt", "-f",
                              str(self.conf)], env=env, capture_output=True,
                             text=True, timeout=60)
        if res.returncode != 0:
            raise RuntimeError("lighttpd -tt: " + res.stdout + res.stderr)
        with open(self.stderr, "ab") as err:
            self.proc = subprocess.Popen(
                ["/usr/sbin/lighttpd", "-D", "-f", str(self.conf)], env=env,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=err)
        if not wait_until(lambda: self.main_pid() == self.proc.pid or
                          self.proc.poll() is not None, timeout=30):
            raise RuntimeError("lighttpd wrote no pid file")
        if self.proc.poll() is not None:
            raise RuntimeError("lighttpd exited: " + self.error_log())

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def tell(self, env, how):
        """SIGUSR1 restarts lighttpd gracefully; any other signal ends
        it (waited for)."""
        if how == signal.SIGUSR1:
            self.proc.send_signal(how)
        else:
            self.stop(env, how)

    def stop(self, env, how=signal.SIGTERM):
        """systemd's stop of lighttpd.service: SIGTERM to the main
        process (or the signal given), then wait for it."""
        if not self.running():
            return
        self.proc.send_signal(how)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)


class Deployment(H.Server):
    """The tool as one way of docs/deploy.md leaves it, in a throwaway
    root.  H.Server's requests and pnsctl queries work on it unchanged;
    its own lighttpd, temporary directory and pns.conf are replaced by
    what the document makes (H.Server.__init__ is not called)."""

    def __init__(self, way):
        self.way = way
        self.section, _, self.server = WAYS[way]
        self.as_root = self.section == ROOT_WAY
        self.novar = way == "shared-novar"
        self.wrapper, self.cgi_wrapper, self.slow = [], [], 1
        self.extra_config = {}
        self.uid, self.gid = run_user()
        self.root = Path(tempfile.mkdtemp(prefix="pns-deploy-%s-" % way))
        self.root.chmod(0o755)
        self.tmp = self.root
        self.port = H.free_port()
        self.proc = None
        self.final_error_log = ""
        self.env = {k: v for k, v in os.environ.items()
                    if k not in H._PROXY_VARS and k != "PNS_CONFIG"}
        self.env["no_proxy"] = self.env["NO_PROXY"] = "127.0.0.1,localhost"
        self.env["LANG"] = "C"
        self.src = self.root / "src"
        self.home = None
        self.outside = None     # the account's home where suexec wants it
        if self.as_root:
            prefix = self.root / "usr" / "local"
            self.prefix = prefix
            self.data_dir = self.root / "var" / "lib" / "pns"
            self.conf = prefix / "etc" / "pns" / "pns.conf"
            self.cgi_dir = prefix / "lib" / "pns" / "cgi-bin"
            self.pnsctl_bin = prefix / "bin" / "pnsctl"
            self.url_prefix = "/pns"
            self.docroot = None
            self.body_limit = ROOT_BODY_LIMIT
        elif self.server == "suexec":
            self.outside = Path(tempfile.mkdtemp(prefix="pns-deploy-",
                                                 dir=SUEXEC_DOCROOT))
            self.outside.chmod(0o755)
            self.home = self.outside / RUN_USER
        else:
            self.home = self.root / "home" / RUN_USER
        if not self.as_root:
            pns_home = self.home / "pns"
            self.data_dir = pns_home / "data"
            self.conf = pns_home / "pns.conf"
            self.pnsctl_bin = pns_home / "bin" / "pnsctl"
            if self.novar:
                self.docroot = self.cgi_dir = pns_home / "www"
                self.url_prefix = ""
            else:
                self.docroot = self.home / "public_html"
                self.cgi_dir = self.docroot / "pns"
                self.url_prefix = "/pns"
            self.body_limit = SHARED_BODY_LIMIT
        self.fcgi_path = self.cgi_dir / "notices.fcgi"
        self.machine = None

    # -- what H.Server's helpers and test_launch's use -----------------

    @property
    def base_url(self):
        return "http://127.0.0.1:%d%s" % (self.port, self.url_prefix)

    @property
    def path(self):
        return self.url_prefix + "/notices.fcgi"

    def handler_path(self, dep_id):
        return self.path + "/" + urllib.parse.quote(dep_id, safe="")

    def lti_path(self, route=""):
        return self.url_prefix + "/lti.cgi" + route

    def pnsctl(self, *args, check=True):
        """The installed pnsctl, as the programs' user: as root it could
        leave files in data_dir that the programs cannot write."""
        env = dict(self.env)
        if not self.as_root:
            env["PNS_CONFIG"] = str(self.conf)
        res = subprocess.run([str(self.pnsctl_bin)] + [str(a) for a in args],
                             env=env, capture_output=True, text=True,
                             timeout=60, user=self.uid, group=self.gid,
                             extra_groups=[])
        if check and res.returncode != 0:
            raise RuntimeError("pnsctl %s: exit %d\n%s%s" % (
                " ".join(map(str, args)), res.returncode, res.stdout,
                res.stderr))
        return res

    def fcgi_pids(self, helpers=False):
        """The notices.fcgi processes of this deployment: the FastCGI
        servers, and with helpers the short-lived processes they start,
        lti.cgi beside them (--http-get, --dispatch)."""
        fcgi, cgi = str(self.fcgi_path), str(self.cgi_dir / "lti.cgi")
        modes = ([b"--http-get"], [b"--dispatch"])

        def wanted(pid):
            exe = proc_exe(pid)
            if exe == fcgi:
                return not proc_args(pid)
            return helpers and exe == cgi and proc_args(pid)[:1] in modes
        return pids_where(wanted)

    def error_log(self):
        return self.machine.error_log() if self.machine else ""

    # -- following docs/deploy.md ---------------------------------------

    def settings(self):
        q = shlex.quote
        values = {"BASE_URL": q(self.base_url), "ISSUER": q(PF.issuer),
                  "CLIENT_ID": q(PF.client_id), "AUTH_URL": q(PF.auth_url),
                  "TOKEN_URL": q(PF.token_url), "JWKS_URL": q(PF.jwks_url)}
        if self.as_root:
            values.update(PREFIX=q(str(self.prefix)), PNS_USER=RUN_USER,
                          DATA_DIR=q(str(self.data_dir)),
                          APACHE_CONFDIR=q(str(self.root / "etc" /
                                               "apache2")),
                          LIGHTTPD_CONFDIR=q(str(self.root / "etc" /
                                                 "lighttpd")))
            kept = set()
        else:
            # PNS_HOME and WEB stay as written, under $HOME.
            kept = {"PNS_HOME", "WEB"}
            if self.novar:
                values["WEB"] = NOVAR_WEB
                kept.discard("WEB")
        return values, kept

    def doc_env(self):
        env = dict(self.env)
        env["PATH"] = "%s:%s" % (self.root / "standin",
                                 env.get("PATH", "/usr/bin:/bin"))
        # make install's directory for lighttpd's socket (/run).
        env["RUNSTATEDIR"] = str(self.root / "run")
        if self.home is not None:
            env["HOME"] = str(self.home)
        env.update(self.machine.env())
        return env

    def run_doc(self, name, blocks, login=False):
        """Runs the Settings block (values changed) and blocks, in order,
        in the source copy: as root on a server with root, as the
        account's user on shared hosting; login: in a login shell, as a
        later session would.  Returns the result."""
        settings, _ = way_blocks(self.way)
        values, _ = self.settings()
        for b in blocks:
            if system_paths(b):
                raise AssertionError("%r names %s: only Settings may name "
                                     "the machine's paths" %
                                     (b, system_paths(b)))
        script = self.root / (name + ".sh")
        script.write_text(substitute(settings, values) + "\n" +
                          "\n".join(b.text for b in blocks) + "\n")
        script.chmod(0o644)
        user = {} if self.as_root else {"user": self.uid, "group": self.gid,
                                        "extra_groups": []}
        shell = ["sh", "-l"] if login else ["sh"]
        res = subprocess.run(shell + ["-eu", str(script)], cwd=self.src,
                             env=self.doc_env(), capture_output=True,
                             text=True, timeout=600, **user)
        (self.root / (name + ".log")).write_text(res.stdout + res.stderr)
        if res.returncode != 0:
            raise RuntimeError(
                "docs/deploy.md, %s (%s): exit %d\n%s\n%s\n%s" % (
                    self.way, name, res.returncode, res.stdout[-3000:],
                    res.stderr[-3000:], self.error_log()[-3000:]))
        return res

    def deploy(self):
        """The stand-in machine, then the way's steps, then a check that
        notices.fcgi answers."""
        copy_source(self.src)
        shutil.copytree(STANDIN, self.root / "standin")
        if self.server == "lighttpd":
            self.machine = LighttpdMachine(self.root, self.port, self.uid,
                                           self.gid)
        elif self.server == "apache":
            self.machine = ApacheMachine(self.root, self.port, self.uid,
                                         self.gid)
        else:
            # The hosting account: its home, its web directory.
            self.home.mkdir(parents=True)
            self.home.chmod(0o711)
            self.docroot.mkdir(parents=True)
            tpl = string.Template((H.HERE / "apache-hosting.conf.in")
                                  .read_text())
            site = tpl.substitute(port=self.port, docroot=self.docroot,
                                  home=self.home)
            if self.server == "suexec":
                # The host runs each account's programs as its user.
                site = site.replace(
                    "    DocumentRoot", "    SuexecUserGroup %s %s\n"
                    "    DocumentRoot" % (RUN_USER, RUN_USER), 1)
            self.machine = ApacheMachine(
                self.root, self.port, self.uid, self.gid, site=site,
                suexec=self.server == "suexec")
            chown_tree(self.home, self.uid, self.gid)
            chown_tree(self.src, self.uid, self.gid)
        env = self.doc_env()
        self.machine.prepare(env)
        self.machine.start(env)
        _, blocks = way_blocks(self.way)
        self.run_doc("deploy", blocks)
        if not wait_until(self._answers, timeout=30):
            raise RuntimeError("notices.fcgi does not answer:\n" +
                               self.error_log()[-3000:])

    def _answers(self):
        try:
            return self.request("GET", timeout=5).status == 405
        except OSError:
            return False

    def stop_lighttpd(self):
        """H.Server.stop's first step (it then keeps the log and removes
        the root): stops this root's server, whichever it is, and ends
        what is left of its processes."""
        if self.machine is not None:
            try:
                self.machine.stop(self.env)
            except (OSError, subprocess.SubprocessError):
                pass
        mine = tuple(str(d) + "/" for d in (self.root, self.outside)
                     if d is not None)
        for pid in pids_where(lambda p: (proc_exe(p) or "").startswith(mine)
                              or ("-d %s/etc/apache2" % self.root) in
                              _cmdline(p)):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def stop(self):
        super().stop()
        if self.outside is not None and not os.environ.get("PNS_KEEP_TMP"):
            shutil.rmtree(self.outside, ignore_errors=True)


def _cmdline(pid):
    try:
        return Path("/proc/%d/cmdline" % pid).read_bytes().replace(
            b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


# -- notices --------------------------------------------------------------


def notice_id(token):
    return P.decode_unverified(token)[P.CLAIM_NOTICE]["id"]


def notices_body(tokens):
    return {"notices": [{"jwt": t} for t in tokens]}


def load_tokens():
    """The load's notices, minted once for every server."""
    if not _LOAD_TOKENS:
        for i in range(LOAD_NOTICES):
            _LOAD_TOKENS.append(PF.mint(
                notice_type=L.CONTEXT_COPY if i % 3 == 0 else L.HELLO_WORLD,
                claims={P.CLAIM_DEPLOYMENT: LOAD_DEPLOYMENT}))
    return _LOAD_TOKENS


class Poster:
    """Posts each token, one per request, from several threads, again
    and again until it is acknowledged (200 with "accepted" or
    "duplicate" for its id), as a platform retries; keeps every answer."""

    MAX_TRIES = 40
    # A request left unanswered this long is given up and sent again.
    TIMEOUT = 15

    def __init__(self, srv, tokens, clients, seconds):
        self.srv, self.tokens, self.clients = srv, tokens, clients
        self.ids = [notice_id(t) for t in tokens]
        self.answers = [[] for _ in tokens]
        self.todo = queue.Queue()
        for i in range(len(tokens)):
            self.todo.put(i)
        self.lock = threading.Lock()
        self.acked = 0
        self.requests = 0
        self.halt = threading.Event()
        self.deadline = time.monotonic() + seconds
        self.threads = []

    def start(self):
        self.threads = [threading.Thread(target=self._client, daemon=True)
                        for _ in range(self.clients)]
        for t in self.threads:
            t.start()
        return self

    def running(self):
        return any(t.is_alive() for t in self.threads)

    def join(self):
        for t in self.threads:
            t.join(timeout=max(1, self.deadline - time.monotonic() + 60))

    def _client(self):
        path = self.srv.handler_path(LOAD_DEPLOYMENT)
        while not self.halt.is_set() and time.monotonic() < self.deadline:
            try:
                i = self.todo.get_nowait()
            except queue.Empty:
                return
            answer = self._post(i, path)
            with self.lock:
                self.requests += 1
                self.answers[i].append(answer)
                if answer in ("accepted", "duplicate"):
                    self.acked += 1
                    continue
            if len(self.answers[i]) < self.MAX_TRIES:
                self.todo.put(i)
                time.sleep(0.05)

    def _post(self, i, path):
        try:
            r = self.srv.post(notices_body([self.tokens[i]]), path=path,
                              timeout=self.TIMEOUT)
        except (OSError, http.client.HTTPException) as e:
            return "error %s" % type(e).__name__
        entries = (r.json or {}).get("notices") if r.status == 200 else None
        if entries and entries[0].get("id") == self.ids[i] and \
                entries[0].get("status") in ("accepted", "duplicate"):
            return entries[0]["status"]
        return "http %d" % r.status

    def acked_ids(self):
        return {self.ids[i] for i, a in enumerate(self.answers)
                if "accepted" in a or "duplicate" in a}


class SlowKeys:
    """A key set URL that answers after delay seconds and says, by the
    asking socket's port, who asked."""

    def __init__(self, platform, delay):
        self.asked = queue.Queue()
        keys = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                keys.asked.put(self.client_address[1])
                self.request.recv(65536)
                time.sleep(delay)
                body = P.json_bytes(platform.jwks())
                self.request.sendall(
                    b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n" % len(body) + body)

        self.server, self.thread = P.serve(Handler)

    @property
    def url(self):
        return "http://127.0.0.1:%d/jwks" % self.server.server_address[1]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


# -- module fixture -------------------------------------------------------


def setUpModule():
    global PF
    run_user()
    PF = L.LtiPlatform(T.ISSUER, T.CLIENT_ID).start()
    T.PF = PF
    # test_launch's login helper takes the path of lti.cgi from here.
    T.lti_path = lambda route="": T.SRV.lti_path(route)


def tearDownModule():
    for d in DEPLOYMENTS:
        if d.machine is not None and d.machine.running():
            d.stop()
    if PF is not None:
        PF.stop()


# -- the document and the files it installs -------------------------------


class T01Document(unittest.TestCase):
    """docs/deploy.md, the shipped configurations and the stand-ins agree
    with each other and with docs/config.md."""

    def test_every_way_is_there(self):
        for way in WAYS:
            with self.subTest(way=way):
                settings, blocks = way_blocks(way)
                self.assertTrue(blocks)
                self.assertTrue(after_launch_blocks(way))
                names = setting_names(settings)
                self.assertEqual(len(names), len(set(names)), names)
                values, kept = Deployment.settings(_Probe(way))
                self.assertEqual(set(names), set(values) | kept)

    def test_commands_name_no_machine_path_outside_settings(self):
        settings = [b for b in doc_blocks() if b.h3 == SETTINGS]
        self.assertTrue(settings)
        # The twin: the Settings blocks do name such paths.
        self.assertTrue(any(system_paths(b) for b in settings))
        for b in doc_blocks():
            if b.h3 != SETTINGS:
                self.assertEqual(system_paths(b), [], b)

    def test_novar_way_and_host_overrides_stated(self):
        self.assertIn("WEB=" + NOVAR_WEB, doc_prose(SHARED_WAY, NOVAR_STEP))
        self.assertIn("WEB=" + NOVAR_WEB,
                      doc_prose(SHARED_WAY, SETTINGS).replace("`", ""))
        doc = DOC.read_text()
        self.assertIn("    " + HOST_OVERRIDES + "\n", doc)
        tpl = (H.HERE / "apache-hosting.conf.in").read_text()
        self.assertEqual([ln.strip() for ln in tpl.splitlines()
                          if ln.strip().startswith("AllowOverride")],
                         [HOST_OVERRIDES])
        self.assertIn(HOST_OVERRIDES, (H.ROOT / "apache-conf" / "htaccess")
                      .read_text())

    def test_sample_config_has_every_key_with_its_default(self):
        table = config_table()
        self.assertIn("max_body_bytes", table)
        sample = {}
        for line in (H.ROOT / "etc" / "pns.conf").read_text().splitlines():
            m = re.match(r"^#?(\w+) = (.*)$", line)
            if m:
                self.assertNotIn(m.group(1), sample, "twice: " + line)
                sample[m.group(1)] = m.group(2)
        self.assertEqual(set(sample), set(table))
        for key, default in table.items():
            if default.startswith("`"):
                self.assertEqual(sample[key], default.strip("`"), key)
        self.assertEqual(int(sample["max_body_bytes"]), ROOT_BODY_LIMIT)

    def test_sample_config_lines_are_valid(self):
        """As shipped, with its defaults uncommented, and with its
        examples uncommented too (deliver_command and deliver_url, of
        which one at most may be set, each in its turn)."""
        text = (H.ROOT / "etc" / "pns.conf").read_text()
        table = config_table()
        defaults = {k for k, v in table.items() if v.startswith("`")}

        def uncomment(keys):
            return re.sub(r"(?m)^#([\w.]+) = ", lambda m: (
                "%s = " % m.group(1) if m.group(1).split(".")[0] in keys
                else m.group(0)), text)

        examples = set(table) - defaults
        variants = [text, uncomment(defaults),
                    uncomment(defaults | examples - {"deliver_command"}),
                    uncomment(defaults | {"deliver_command"})]
        self.assertEqual(len(set(variants)), 4)
        with tempfile.TemporaryDirectory() as tmp:
            conf = Path(tmp) / "pns.conf"

            def check(config):
                conf.write_text(config)
                return subprocess.run(
                    [str(H.PNSCTL), "check-config"], capture_output=True,
                    text=True, timeout=30, env=dict(os.environ,
                                                    PNS_CONFIG=str(conf)))

            for config in variants:
                res = check(config)
                self.assertEqual((res.returncode, res.stdout),
                                 (0, "configuration OK\n"), res.stderr)
            # The twins: a value out of range, and both targets at once,
            # are refused, by file:line.
            for bad in (variants[1].replace("clock_leeway = 10",
                                            "clock_leeway = 301"),
                        uncomment(defaults | examples)):
                self.assertNotIn(bad, variants)
                res = check(bad)
                self.assertNotEqual(res.returncode, 0)
                self.assertIn("%s:" % conf, res.stderr)

    def test_server_limits_match_the_body_limits(self):
        apache = (H.ROOT / "apache-conf" / "pns-apache.conf").read_text()
        self.assertIn("FcgidMaxRequestLen %d\n" % ROOT_BODY_LIMIT, apache)
        self.assertIn('<If "%%{HTTP:Content-Length} -gt %d">'
                      % ROOT_BODY_LIMIT, apache)
        lighttpd = (H.ROOT / "lighttpd-conf" / "pns-lighttpd.conf") \
            .read_text()
        self.assertIn("server.max-request-size = %d\n"
                      % (ROOT_BODY_LIMIT // 1024), lighttpd)
        htaccess = (H.ROOT / "apache-conf" / "htaccess").read_text()
        self.assertIn('<If "%%{HTTP:Content-Length} -gt %d">'
                      % SHARED_BODY_LIMIT, htaccess)
        self.assertIn("max_body_bytes = %d" % SHARED_BODY_LIMIT,
                      "\n".join(b.text for b in doc_blocks()
                                if b.h2 == SHARED_WAY))

    def test_stand_ins_do_what_debian_units_do(self):
        units = {"apache2": ("ExecStart=/usr/sbin/apachectl start",
                             "ExecStop=/usr/sbin/apachectl graceful-stop",
                             "Environment=APACHE_STARTED_BY_SYSTEMD=true"),
                 "lighttpd": ("ExecReload=/bin/kill -USR1 $MAINPID",)}
        for unit, lines in units.items():
            text = Path("/lib/systemd/system/%s.service" % unit).read_text()
            for line in lines:
                self.assertIn(line + "\n", text, unit)

        def standin(*args):
            return subprocess.run([str(STANDIN / args[0])] + list(args[1:]),
                                  capture_output=True, text=True,
                                  timeout=30).returncode

        self.assertNotEqual(standin("systemctl", "start", "nginx"), 0)
        self.assertNotEqual(standin("apt-get", "install", "-y",
                                    "pns-no-such-package"), 0)
        self.assertNotEqual(standin("apt-get", "remove", "dpkg"), 0)
        self.assertEqual(standin("apt-get", "install", "-y", "dpkg",
                                 "apache2", "lighttpd"), 0)


def config_table():
    """{key: default column} of docs/config.md's table (the per-type
    delivery keys, a pattern, aside)."""
    table = {}
    for line in (H.ROOT / "docs" / "config.md").read_text().splitlines():
        m = re.match(r"^\| `(\w+)`\s*\|\s*(.*?)\s*\|", line)
        if m:
            table[m.group(1)] = m.group(2)
    return table


class _Probe:
    """What Deployment.settings needs, without a deployment."""

    def __init__(self, way):
        self.as_root = WAYS[way][0] == ROOT_WAY
        self.novar = way == "shared-novar"
        self.base_url = "http://127.0.0.1:1/pns"
        self.prefix = self.data_dir = self.root = Path("/x")


class T02Install(unittest.TestCase):
    """make install honours PREFIX and DESTDIR, and keeps a pns.conf."""

    def test_prefix_and_destdir(self):
        with tempfile.TemporaryDirectory(prefix="pns-install-") as tmp:
            src, dest = Path(tmp) / "src", Path(tmp) / "dest"
            copy_source(src)
            prefix = "/opt/pns-test"

            def install():
                return subprocess.run(
                    ["make", "install", "PREFIX=" + prefix,
                     "DESTDIR=" + str(dest)], cwd=src, capture_output=True,
                    text=True, timeout=600)

            res = install()
            self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
            top = dest / prefix.lstrip("/")
            want = {"bin/pnsctl": 0o755,
                    "lib/pns/cgi-bin/notices.fcgi": 0o755,
                    "lib/pns/cgi-bin/lti.cgi": 0o755,
                    "etc/pns/pns.conf": 0o644,
                    "share/pns/pns.conf.sample": 0o644,
                    "share/pns/pns-apache.conf": 0o644,
                    "share/pns/pns-lighttpd.conf": 0o644,
                    "share/pns/htaccess": 0o644}
            got = {str(p.relative_to(top)): stat.S_IMODE(p.stat().st_mode)
                   for p in top.rglob("*") if p.is_file()}
            self.assertEqual(got, want)
            # Nothing outside DESTDIR/PREFIX.
            self.assertEqual([p.name for p in dest.iterdir()], ["opt"])
            for name in ("pns-apache.conf", "pns-lighttpd.conf"):
                text = (top / "share" / "pns" / name).read_text()
                self.assertIn(prefix + "/lib/pns/cgi-bin", text)
                self.assertIn(prefix + "/etc/pns/pns.conf", text)
                self.assertNotIn("/usr/local", text)
                self.assertNotIn(str(dest), text)
            # The compiled-in place of pns.conf follows PREFIX too.
            res = subprocess.run([str(top / "bin" / "pnsctl"), "help"],
                                 capture_output=True, text=True, timeout=30,
                                 env={"PATH": "/usr/bin:/bin"})
            self.assertIn(prefix + "/etc/pns/pns.conf", res.stderr)
            self.assertNotIn("/usr/local", res.stderr)
            # A configured pns.conf survives the next install; the
            # sample is renewed.
            conf = top / "etc" / "pns" / "pns.conf"
            conf.write_text("base_url = https://kept.example\n")
            (top / "share" / "pns" / "pns.conf.sample").write_text("old\n")
            res = install()
            self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
            self.assertEqual(conf.read_text(),
                             "base_url = https://kept.example\n")
            self.assertEqual(
                (top / "share" / "pns" / "pns.conf.sample").read_text(),
                (H.ROOT / "etc" / "pns.conf").read_text())


# -- the ways -------------------------------------------------------------


class Way(T.LaunchTest):
    """One way of docs/deploy.md, followed at class set-up; its tests run
    in the order of their names."""

    WAY = None
    srv = None
    dep = None          # the deployment launched by test_01
    hello = None        # its hello-world notice

    @classmethod
    def setUpClass(cls):
        cls.srv = Deployment(cls.WAY)
        DEPLOYMENTS.append(cls.srv)
        try:
            cls.srv.deploy()
        except BaseException:
            cls.srv.stop()
            raise
        T.SRV = cls.srv
        PF.tool_base_url = cls.srv.base_url

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def setUp(self):
        T.SRV = self.srv
        PF.tool_base_url = self.srv.base_url

    # -- helpers --------------------------------------------------------

    def launched(self):
        """The deployment test_01 launched, or a new one launched now."""
        if type(self).dep is None:
            dep = PF.new_deployment()
            self.launch_ok(dep=dep)
            self.assert_registered(dep)
            type(self).hello = self.assert_hello_stored(dep)[0]
            type(self).dep = dep
        return type(self).dep

    def post(self, tokens, dep_id, **kw):
        return self.srv.post(notices_body(tokens),
                             path=self.srv.handler_path(dep_id), **kw)

    def assert_answers(self, resp, tokens, status="accepted"):
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.json, {"notices": [
            {"status": status, "id": notice_id(t)} for t in tokens]})

    def stored_ids(self):
        return [n["id"] for n in self.srv.notices()]

    # -- every way ------------------------------------------------------

    def test_01_launch_registers_handlers_and_hello_world_arrives(self):
        dep = PF.new_deployment()
        f, resp = self.launch_ok(dep=dep)
        self.assertIn(dep.deployment_id, T.known_deployments())
        handlers = self.assert_registered(dep)
        for url in handlers.values():
            self.assertTrue(url.startswith(self.srv.base_url +
                                           "/notices.fcgi/"), url)
        stored = self.assert_hello_stored(dep)
        self.assertEqual(len(stored), 1, stored)
        type(self).dep, type(self).hello = dep, stored[0]

    def test_02_batch_stored_and_listed_by_the_documented_commands(self):
        dep = self.launched()
        types = [L.HELLO_WORLD, L.CONTEXT_COPY] * (BATCH // 2)
        tokens = [PF.mint(notice_type=t, claims={
            P.CLAIM_DEPLOYMENT: dep.deployment_id}) for t in types]
        self.assert_answers(self.post(tokens, dep.deployment_id), tokens)
        stored = {n["id"]: n for n in self.srv.notices()}
        for token, ntype in zip(tokens, types):
            n = stored.get(notice_id(token))
            self.assertIsNotNone(n, notice_id(token))
            self.assertEqual((n["type"], n["deployment_id"], n["iss"]),
                             (ntype, dep.deployment_id, PF.issuer))
        # The document's own commands show them, and the handlers.
        # On shared hosting, at a later ssh login (~/.profile is read).
        out = self.srv.run_doc("after-launch", after_launch_blocks(
            self.WAY), login=not self.srv.as_root).stdout
        for nid in [self.hello["id"]] + [notice_id(t) for t in tokens]:
            self.assertEqual(out.count(nid), 1, nid)
        self.assertIn(self.srv.base_url + "/notices.fcgi/", out)
        # The twin: a notice never sent is not listed.
        self.assertNotIn(str(uuid.uuid4()), out)

    def test_03_programs_run_as_the_user_not_root(self):
        self.launched()
        # A login not yet launched leaves its state in data_dir.
        T.start_flow(dep=PF.new_deployment())
        self.assertNotEqual(self.srv.uid, 0)
        pids = self.srv.fcgi_pids()
        self.assertTrue(pids, "no notices.fcgi process")
        for pid in pids:
            uids, gids = proc_ids(pid)
            self.assertEqual((uids, gids), ({self.srv.uid}, {self.srv.gid}),
                             "notices.fcgi %d" % pid)
        # lti.cgi's files (login states, handler records) and
        # notices.fcgi's (notices) are the user's, 0600 in 0700 dirs.
        data = self.srv.data_dir
        made = {}
        for path in [data] + list(data.rglob("*")):
            st = path.lstat()
            self.assertEqual((st.st_uid, st.st_gid),
                             (self.srv.uid, self.srv.gid), path)
            want = 0o700 if stat.S_ISDIR(st.st_mode) else 0o600
            self.assertEqual(oct(stat.S_IMODE(st.st_mode)), oct(want), path)
            if stat.S_ISREG(st.st_mode):
                top = path.relative_to(data).parts[0]
                made[top] = made.get(top, 0) + 1
        for top in ("state", "handlers", "notices"):
            self.assertTrue(made.get(top), "nothing in %s/: %r" % (top,
                                                                    made))
        # pns.conf may hold secrets: the programs' user reads it, no one
        # else but its owner.
        st = self.srv.conf.stat()
        if self.srv.as_root:
            want = (0, self.srv.gid, 0o640)
        else:
            want = (self.srv.uid, self.srv.gid, 0o600)
        self.assertEqual((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)),
                         want)
        # data_dir is outside the document root and the programs' dir.
        for web in (self.srv.docroot, self.srv.cgi_dir):
            if web is not None:
                self.assertFalse(str(data).startswith(str(web) + "/"), web)

    def test_04_one_log_line_per_event_on_stderr(self):
        dep = self.launched()
        marker = "PNS-INJECTED-" + uuid.uuid4().hex
        nid = "first line\n%s second line\r\x1b[0m" % marker
        token = PF.mint(notice_id=nid, claims={
            P.CLAIM_DEPLOYMENT: dep.deployment_id})
        self.assert_answers(self.post([token], dep.deployment_id), [token])
        self.assertIn(nid, self.stored_ids())
        # A refused launch is one line from lti.cgi.
        rejected = re.compile(r"lti\.cgi\[\d+\] info: launch rejected: "
                              r"expired\b")
        before = len(rejected.findall(self.srv.error_log()))
        now = int(time.time())
        self.assert_code(T.post_launch(self.flow(claims={
            "exp": now - 3600, "iat": now - 7200})), "expired")

        def logged():
            log = self.srv.error_log()
            done = marker in log and len(rejected.findall(log)) > before
            return done and log

        log = wait_until(logged, timeout=10)
        self.assertTrue(log, "the notice or the launch is not in the log:"
                        "\n" + self.srv.error_log()[-3000:])
        self.assertEqual(len(rejected.findall(log)), before + 1)
        lines = [ln for ln in log.splitlines() if marker in ln]
        self.assertEqual(len(lines), 1, lines)
        self.assertIn('notice accepted: id "first line\\x0a%s second '
                      'line\\x0d\\x1b[0m"' % marker, lines[0])
        self.assertIsNotNone(LOG_LINE_RE.search(lines[0]), lines[0])
        ours = [ln for ln in log.splitlines() if OUR_PROGRAM_RE.search(ln)]
        self.assertTrue(ours)
        for line in ours:
            self.assertIsNotNone(LOG_LINE_RE.search(line), line)

    def test_05_body_limit(self):
        dep = self.launched()
        limit = self.srv.body_limit

        def body_of(token, size):
            raw = json.dumps(notices_body([token])).encode()
            return raw[:-1] + b" " * (size - len(raw)) + b"}"

        inside, outside = (PF.mint(claims={
            P.CLAIM_DEPLOYMENT: dep.deployment_id}) for _ in range(2))
        path = self.srv.handler_path(dep.deployment_id)
        resp = self.srv.post(body_of(inside, limit), path=path)
        self.assert_answers(resp, [inside])
        resp = self.srv.post(body_of(outside, limit + 1), path=path)
        self.assertEqual(resp.status, 413, resp)
        ids = self.stored_ids()
        self.assertIn(notice_id(inside), ids)
        self.assertNotIn(notice_id(outside), ids)

    def test_06_only_the_programs_are_served(self):
        web = self.srv.cgi_dir
        probes = []
        if not self.srv.as_root:
            # What must never be served, were it to land here.
            shutil.copy2(self.srv.conf, web / "pns.conf")
            (web / "data").mkdir()
            shutil.copy2(self.srv.conf, web / "data" / "backup")
            chown_tree(web, self.srv.uid, self.srv.gid)
            probes = ["/pns.conf", "/data/backup", "/.htaccess", "/"]
        else:
            probes = ["/", "/pns.conf"]
        try:
            for probe in probes:
                resp = self.srv.request("GET", self.srv.url_prefix + probe)
                self.assertIn(resp.status, (403, 404), probe)
                self.assertNotIn(b"base_url", resp.body, probe)
        finally:
            for leftover in (web / "pns.conf", web / "data" / "backup"):
                if not self.srv.as_root and leftover.exists():
                    leftover.unlink()
            if not self.srv.as_root and (web / "data").exists():
                (web / "data").rmdir()
        # The twin: both programs are.
        self.assertEqual(self.srv.request("GET").status, 405)
        resp = self.srv.request("GET", self.srv.lti_path("/jwks"))
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(list(resp.json), ["keys"])


class RootWay(Way):
    """A server with root: the load, the faults and the stop signals."""

    def test_07_load_with_killed_processes_launches_and_pnsctl(self):
        srv = self.srv
        srv.add_platform(PF.issuer, PF.client_id, PF.jwks_url,
                         [LOAD_DEPLOYMENT], auth_url=PF.auth_url,
                         token_url=PF.token_url)
        tokens = load_tokens()
        poster = Poster(srv, tokens, LOAD_CLIENTS, LOAD_SECONDS)
        side = {"launches": [], "added": [], "listings": [], "errors": []}
        extra = ["8:added-%d-%s" % (i, uuid.uuid4().hex) for i in range(3)]
        load_ids = set(poster.ids)

        def launches():
            for _ in range(3):
                dep = PF.new_deployment()
                try:
                    f = T.start_flow(dep=dep)
                    side["launches"].append((dep, T.post_launch(f)))
                except Exception as e:  # noqa: BLE001 -- reported below
                    side["errors"].append("launch: %r" % e)

        def adds():
            for dep_id in extra:
                res = srv.pnsctl("platform", "add", "--issuer", PF.issuer,
                                 "--client-id", PF.client_id,
                                 "--auth-url", PF.auth_url,
                                 "--token-url", PF.token_url,
                                 "--jwks-url", PF.jwks_url,
                                 "--deployment", dep_id, check=False)
                side["added"].append(res.returncode)
                time.sleep(0.2)

        def listings():
            while poster.running():
                res = srv.pnsctl("notices", "list", "--json", check=False)
                try:
                    n = len([x for x in json.loads(res.stdout)
                             if x["id"] in load_ids])
                except ValueError:
                    n = None
                side["listings"].append((res.returncode, n))
                time.sleep(0.1)

        t0 = time.monotonic()
        poster.start()
        helpers = [threading.Thread(target=fn, daemon=True)
                   for fn in (launches, adds, listings)]
        for t in helpers:
            t.start()
        killed = []
        while poster.running():
            done = poster.acked
            # Each kill waits for a process with a request in hand: an
            # idle one (mod_fcgid keeps spares) would cut nothing.
            if not killed and done >= LOAD_NOTICES // 4:
                busy = sorted(p for p in srv.fcgi_pids()
                              if holding_request(p))
                if busy:
                    os.kill(busy[0], signal.SIGKILL)
                    killed.append({busy[0]})
            elif len(killed) == 1 and done >= LOAD_NOTICES * 3 // 5:
                pids = srv.fcgi_pids()
                if any(holding_request(p) for p in pids):
                    for pid in pids:
                        os.kill(pid, signal.SIGKILL)
                    killed.append(pids)
            time.sleep(0.01)
        poster.join()
        for t in helpers:
            t.join(timeout=120)
        elapsed = time.monotonic() - t0

        answers = poster.answers
        failed = sum(1 for a in answers for x in a
                     if x not in ("accepted", "duplicate"))
        resent_dup = [i for i, a in enumerate(answers)
                      if "accepted" not in a and "duplicate" in a]
        print("\n    %s: %d notices, %d requests, %d unacknowledged (%d "
              "processes killed), %d stored before a process died and "
              "re-sent as duplicates, %.1f s" % (
                  self.WAY, LOAD_NOTICES, poster.requests, failed,
                  sum(map(len, killed)), len(resent_dup), elapsed),
              end=" ", flush=True)

        # Each notice was acknowledged and is stored exactly once.
        self.assertEqual(poster.acked_ids(), load_ids,
                         "%d notices never acknowledged" % (
                             len(load_ids - poster.acked_ids())))
        stored = [i for i in self.stored_ids() if i in load_ids]
        self.assertEqual(len(stored), len(set(stored)), "stored twice")
        self.assertEqual(set(stored), poster.acked_ids())
        # One "accepted" at most per notice; one that never got one was
        # stored by a process that died before answering, and a re-send
        # found it.
        for i, a in enumerate(answers):
            self.assertLessEqual(a.count("accepted"), 1, a)
            if i in resent_dup:
                self.assertNotEqual(a[0], "duplicate", a)
        # The kills hit requests in flight, and the pool came back.
        self.assertEqual(len(killed), 2, killed)
        self.assertGreater(failed, 0, "no request was cut by the kills")
        self.assertTrue(srv.fcgi_pids() - set().union(*killed))
        for pid in set().union(*killed):
            self.assertIsNone(proc_exe(pid), pid)
        # With the load over, the processes wait for connections: the
        # test of a request in hand can tell them from busy ones.
        self.assertTrue(wait_until(lambda: not any(
            holding_request(p) for p in srv.fcgi_pids())),
            "a process still holds a request after the load")

        # Beside them: launches, pnsctl writing and reading.
        self.assertEqual(side["errors"], [])
        self.assertEqual(len(side["launches"]), 3)
        known = T.known_deployments(PF.client_id, PF.issuer)
        for dep, resp in side["launches"]:
            self.assert_ok(resp)
            self.assertIn(dep.deployment_id, known)
        self.assertEqual(side["added"], [0] * len(extra))
        for dep_id in extra + [LOAD_DEPLOYMENT]:
            self.assertIn(dep_id, known)
        self.assertTrue(side["listings"])
        counts = [n for rc, n in side["listings"]]
        self.assertEqual([rc for rc, n in side["listings"]],
                         [0] * len(counts))
        self.assertNotIn(None, counts)
        self.assertEqual(counts, sorted(counts), "a listing lost notices")
        # Every hello-world notice the platform had acknowledged is
        # stored once; one cut by a kill was not acknowledged.
        ids = self.stored_ids()
        for dep, _ in side["launches"]:
            for d in PF.deliveries_for(dep):
                if d["status"] == 200:
                    self.assertEqual(ids.count(d["notice_id"]), 1, d)

    def sigterm_in_flight(self):
        """SIGTERM to the notices.fcgi process that is, at that moment,
        waiting for a platform's key set in a request; the outcome is
        kept for the two tests that judge it."""
        cls = type(self)
        if getattr(cls, "_sigterm", None) is not None:
            return cls._sigterm
        slow_pf = P.TestPlatform("https://slow-keys.pns-test.example",
                                 "slow-keys-client", "9:slow-keys")
        keys = SlowKeys(slow_pf, delay=2.0)
        out = {"token": slow_pf.mint()}
        try:
            self.srv.add_platform(slow_pf.issuer, slow_pf.client_id,
                                  keys.url, [slow_pf.deployment_id])

            def send():
                try:
                    out["resp"] = self.post([out["token"]],
                                            slow_pf.deployment_id)
                except (OSError, http.client.HTTPException) as e:
                    out["resp"] = e

            sender = threading.Thread(target=send, daemon=True)
            sender.start()
            port = keys.asked.get(timeout=30)
            # The fetch itself runs in a child (--http-get) whose socket
            # it is; the request waits in the child's parent.
            pid = pid_with_local_port(port, self.srv.fcgi_pids(True))
            if pid is not None and proc_args(pid):
                pid = H.proc_ppid(pid)
            out["pid"] = pid
            out["server"] = pid in self.srv.fcgi_pids()
            if pid is not None:
                os.kill(pid, signal.SIGTERM)
            sender.join(timeout=60)
            out["exited"] = pid is not None and wait_until(
                lambda: proc_exe(pid) is None, timeout=20)
            # As a platform would: again until answered (lighttpd may
            # answer 500 once, trying the backend that just exited).
            for _ in range(20):
                out["resend"] = self.post([out["token"]],
                                          slow_pf.deployment_id)
                if out["resend"].status == 200:
                    break
                time.sleep(0.2)
        finally:
            keys.stop()
        cls._sigterm = out
        return out

    def test_08_sigterm_ends_a_busy_process_cleanly(self):
        out = self.sigterm_in_flight()
        pid, token = out["pid"], out["token"]
        self.assertIsNotNone(pid, "no notices.fcgi held the key fetch")
        self.assertTrue(out["server"], "%d is not a FastCGI process" % pid)
        self.assertTrue(out["exited"], "notices.fcgi %d still runs" % pid)
        log = wait_until(lambda: "notices.fcgi[%d] info: stopping" % pid
                         in self.srv.error_log() and self.srv.error_log(),
                         timeout=10)
        self.assertTrue(log, "notices.fcgi %d did not stop cleanly" % pid)
        # Stored once: the re-send is a duplicate, whatever the first
        # request was told.
        self.assert_answers(out["resend"], [token], status="duplicate")
        self.assertEqual(self.stored_ids().count(notice_id(token)), 1)

    def test_09_sigterm_answers_the_request_in_flight(self):
        out = self.sigterm_in_flight()
        # The notice was verified and stored while SIGTERM was pending;
        # its answer must reach the platform before the process exits,
        # or the platform is told to retry what the tool has.
        resp = out.get("resp")
        self.assertIsInstance(resp, H.Response, resp)
        self.assert_answers(resp, [out["token"]])

    def test_10_server_signals_end_every_process_cleanly(self):
        srv = self.srv
        srv.add_platform(PF.issuer, PF.client_id, PF.jwks_url,
                         [LOAD_DEPLOYMENT], auth_url=PF.auth_url,
                         token_url=PF.token_url)
        for how, ends in self.SIGNALS:
            with self.subTest(how=how):
                if not srv.machine.running():
                    srv.machine.start(srv.doc_env())
                    self.assertTrue(wait_until(srv._answers, timeout=30))
                self.check_signal(how, ends)

    def check_signal(self, how, ends):
        """While notices arrive, the server is told how to restart or
        stop: every notices.fcgi that served exits by its own stop path,
        and what was acknowledged is stored once."""
        srv = self.srv
        tokens = [PF.mint(claims={P.CLAIM_DEPLOYMENT: LOAD_DEPLOYMENT})
                  for _ in range(150)]
        tmp_before = len(list(srv.data_dir.rglob(".tmp-*")))
        poster = Poster(srv, tokens, 4, 120).start()
        seen = set()
        wait_until(lambda: seen.update(srv.fcgi_pids()) or
                   poster.acked >= 30, timeout=30)
        seen.update(srv.fcgi_pids())
        self.assertTrue(seen)
        signaller = threading.Thread(target=srv.machine.tell,
                                     args=(srv.doc_env(), how), daemon=True)
        signaller.start()
        while signaller.is_alive():
            seen.update(srv.fcgi_pids())
            time.sleep(0.01)
        gone = wait_until(lambda: not seen & srv.fcgi_pids(), timeout=30)
        self.assertTrue(gone, seen & srv.fcgi_pids())
        if ends:
            poster.halt.set()
        poster.join()
        self.assertEqual(srv.machine.running(), not ends)
        # Each process that served exited by its own stop path (one
        # started as the signal came may be ended before it serves).
        log = srv.error_log()
        served = {pid for pid in seen if "notices.fcgi[%d] " % pid in log}
        self.assertTrue(served)
        for pid in served:
            self.assertTrue("notices.fcgi[%d] info: stopping" % pid in log,
                            "notices.fcgi %d served, then did not stop "
                            "cleanly" % pid)
        # What was acknowledged is stored, once; nothing half-written.
        acked = poster.acked_ids()
        if not ends:
            self.assertEqual(len(acked), len(tokens), "not all served "
                             "after: %r" % [(poster.ids[i], a) for i, a in
                                            enumerate(poster.answers)
                                            if "accepted" not in a and
                                            "duplicate" not in a][:3])
        self.assertGreaterEqual(len(acked), 30)
        ids = self.stored_ids()
        for nid in acked:
            self.assertEqual(ids.count(nid), 1, nid)
        self.assertEqual(len(list(srv.data_dir.rglob(".tmp-*"))),
                         tmp_before)


class T03Apache(RootWay):
    """A server with root, Apache: mod_fcgid, mod_cgid, Debian's layout."""

    WAY = "apache"
    # apachectl's: graceful (SIGUSR1) and restart (SIGHUP) keep Apache,
    # graceful-stop (SIGWINCH, the unit's ExecStop) and stop (SIGTERM)
    # end it.
    SIGNALS = [("graceful", False), ("restart", False),
               ("graceful-stop", True), ("stop", True)]


class T04Lighttpd(RootWay):
    """A server with root, lighttpd: bin-path processes, mod_cgi."""

    WAY = "lighttpd"
    # SIGUSR1 (the unit's reload) restarts gracefully; SIGINT stops
    # gracefully, SIGTERM (the unit's stop) at once.
    SIGNALS = [(signal.SIGUSR1, False), (signal.SIGINT, True),
               (signal.SIGTERM, True)]


class T05SharedSetEnv(Way):
    """Shared hosting, the configuration named by SetEnv in .htaccess."""

    WAY = "shared-setenv"

    def test_07_setenv_names_the_configuration(self):
        web = self.srv.cgi_dir
        # Neither place beside the programs holds a pns.conf...
        for near in (web / "pns.conf", web.parent / "pns.conf"):
            self.assertFalse(near.exists(), near)
        # ...and .htaccess names the one the flow used.
        lines = (web / ".htaccess").read_text().splitlines()
        self.assertIn("SetEnv PNS_CONFIG %s" % self.srv.conf, lines)
        resp = self.srv.request("GET", self.srv.lti_path("/config.json"))
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.json["oidc_initiation_url"],
                         self.srv.base_url + "/lti.cgi/login")


class T06SharedNoVariable(Way):
    """Shared hosting where nothing can be set: pns.conf one directory
    up from the programs, outside the document root."""

    WAY = "shared-novar"

    def test_07_configuration_found_one_directory_up(self):
        web = self.srv.cgi_dir
        self.assertEqual(self.srv.conf, web.parent / "pns.conf")
        self.assertFalse((web / "pns.conf").exists())
        text = (web / ".htaccess").read_text()
        self.assertFalse([ln for ln in text.splitlines()
                          if ln.startswith("SetEnv")], text)

        def config_json():
            return self.srv.request("GET", self.srv.lti_path("/config.json"))

        resp = config_json()
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.json["oidc_initiation_url"],
                         self.srv.base_url + "/lti.cgi/login")
        # Without it, lti.cgi has no configuration; with it back, it has.
        away = self.srv.conf.with_name("pns.conf.away")
        self.srv.conf.rename(away)
        try:
            self.assertNotEqual(config_json().status, 200)
        finally:
            away.rename(self.srv.conf)
        self.assertEqual(config_json().status, 200)


class T07SharedSuexec(Way):
    """Shared hosting as most hosts run it: Apache as its own user, each
    account's programs run by suexec as the account's user.  suexec
    passes a program only the variables on its own list, so a SetEnv of
    .htaccess never reaches lti.cgi (mod_fcgid hands it to notices.fcgi
    with each request instead).  The documented build puts the path of
    pns.conf into the programs; before it did, every launch on such a
    host failed with lti.cgi looking for a pns.conf it could not find."""

    WAY = "shared-suexec"

    def test_07_programs_run_as_the_account_behind_suexec(self):
        self.assertTrue(SUEXEC.exists(), SUEXEC)
        web = self.srv.cgi_dir
        lines = (web / ".htaccess").read_text().splitlines()
        self.assertIn("SetEnv PNS_CONFIG %s" % self.srv.conf, lines)
        for near in (web / "pns.conf", web.parent / "pns.conf"):
            self.assertFalse(near.exists(), near)
        resp = self.srv.request("GET", self.srv.lti_path("/config.json"))
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.json["oidc_initiation_url"],
                         self.srv.base_url + "/lti.cgi/login")
        # Apache's children run as its user, never the account's (mod_cgid's
        # daemon keeps root as its saved uid, to start suexec); test_03
        # checks that notices.fcgi, started by suexec, is the account's.
        apache = pwd.getpwnam(APACHE_USER).pw_uid
        self.assertNotEqual(apache, self.srv.uid)
        main = self.srv.machine.main_pid()
        children = pids_where(lambda p: H.proc_ppid(p) == main and
                              proc_exe(p) == "/usr/sbin/apache2")
        self.assertTrue(children)
        for pid in children:
            uids = proc_ids(pid)[0]
            self.assertIn(apache, uids, pid)
            self.assertNotIn(self.srv.uid, uids, pid)


ORDER = [T01Document, T02Install, T03Apache, T04Lighttpd, T05SharedSetEnv,
         T06SharedNoVariable, T07SharedSuexec]


def main():
    return H.run_suites(sys.modules[__name__], ORDER,
                        lambda: H.Logs(DEPLOYMENTS))


if __name__ == "__main__":
    sys.exit(main())

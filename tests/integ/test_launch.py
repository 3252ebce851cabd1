# SPDX-License-Identifier: ISC
"""Integration tests of lti.cgi against docs/launch.md.

A real lighttpd serves cgi-bin/lti.cgi as a plain CGI (mod_cgi) beside
cgi-bin/notices.fcgi; an independent test platform (lti_platform.py, on
top of pns_platform.py) plays the browser's other side: the OIDC
authorization endpoint, the OAuth 2 token endpoint and Canvas's
notice-handlers API, which sends a hello-world notice after each
subscription, as Canvas does.

Each rejected launch is checked for its status, for the code of
docs/launch.md in the page, and for leaving no trace (no deployment
learned, no token requested, nothing registered), and has a twin that the
same setup accepts, so a test cannot pass because everything is refused.

Run from the repository root:  /usr/bin/python3 tests/integ/test_launch.py
(a subset: ... test_launch.py T05Rejected T06State.test_replay)
The last line of output is "integration: N passed, M failed".
"""

import base64
import calendar
import hashlib
import html
import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time
import unittest
import urllib.parse
import uuid

import harness as H
import lti_platform as L
import pns_platform as P

DELETE = P.DELETE
HELLO = L.HELLO_WORLD
COPY = L.CONTEXT_COPY
# notice_types in the harness's pns.conf, in order.
TOOL_TYPES = H.NOTICE_TYPES.split()

ISSUER = "https://lti.pns-test.example"
CLIENT_ID = "pns-launch-client-1"
OTHER_CLIENT = "pns-launch-client-2"     # same issuer, same keys
SINGLE_ISSUER = "https://single.pns-test.example"
SINGLE_CLIENT = "single-registration"
UNKNOWN_ISSUER = "https://unregistered.pns-test.example"
# Registered with a key set URL that answers 404.
BROKEN_ISSUER = "https://broken-keys.pns-test.example"
BROKEN_CLIENT = "broken-keys-client"

STATE_TTL = 60          # the least state_ttl docs/config.md allows
# Seconds after a failed registration before a launch tries it again
# (docs/launch.md).
RETRY_AFTER = 300
TOOL_TITLE = "PNS integration tool"

# Set up once for the module (see setUpModule).
PF = None               # the test platform
SRV = None              # lighttpd + lti.cgi + notices.fcgi
EARLY = None            # a login made at set-up, posted after state_ttl
_STRAY = None

STATE_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")     # 32 bytes, base64url
# A path segment character (RFC 3986 pchar) or a percent-encoded octet.
SEGMENT_RE = re.compile(r"^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})+$")


def stray_key():
    global _STRAY
    if _STRAY is None:
        _STRAY = P.TestPlatform.stray_key()
    return _STRAY


def slow(seconds):
    return seconds * SRV.slow


def base_url():
    return SRV.base_url


def lti_path(route=""):
    return "/cgi-bin/lti.cgi" + route


def target():
    """The target_link_uri of every launch: the tool's launch URL."""
    return base_url() + "/lti.cgi/launch"


def handler_url(dep_id):
    """A handler URL for the deployment (every character but the
    unreserved ones percent-encoded), as the platform self-tests use it."""
    return base_url() + "/notices.fcgi/" + urllib.parse.quote(dep_id,
                                                              safe="")


def handler_problem(url, dep_id):
    """Why url is not {base_url}/notices.fcgi/<percent-encoded dep_id>,
    or None.  docs/launch.md does not say which characters are encoded:
    any label made of path-segment characters and %XX octets that decodes
    to the deployment id will do (so ':' may stay as it is)."""
    prefix = base_url() + "/notices.fcgi/"
    if not isinstance(url, str) or not url.startswith(prefix):
        return "%r does not start with %r" % (url, prefix)
    label = url[len(prefix):]
    if not SEGMENT_RE.match(label):
        return "%r is not one percent-encoded path segment" % label
    try:
        decoded = urllib.parse.unquote(label, errors="strict")
    except UnicodeDecodeError:
        return "%r does not decode as UTF-8" % label
    if decoded != dep_id:
        return "%r decodes to %r, not %r" % (label, decoded, dep_id)
    return None


def wait_until(pred, timeout=10.0, step=0.1):
    """Polls pred (bounded); returns its last value."""
    deadline = time.monotonic() + slow(timeout)
    while True:
        value = pred()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


def fresh_client(tag):
    """A registration of its own (own token cache in the tool)."""
    cid = "pns-%s-%s" % (tag, uuid.uuid4().hex[:8])
    PF.add_client(cid)
    SRV.add_platform(ISSUER, cid, PF.jwks_url, [], auth_url=PF.auth_url,
                     token_url=PF.token_url)
    return cid


def known_deployments(client_id=CLIENT_ID, issuer=ISSUER):
    for p in SRV.platforms():
        if p["issuer"] == issuer and p["client_id"] == client_id:
            return set(p["deployments"])
    raise KeyError((issuer, client_id))


def handler_record(dep):
    """The `pnsctl handlers list --json` entry of this deployment, or
    None.  docs/pnsctl.md lists what it holds (PNS URL, handler URL, types
    registered and when, last error); the member names are pnsctl's."""
    recs = [r for r in SRV.handlers()
            if r.get("deployment_id") == dep.deployment_id]
    assert len(recs) <= 1, recs
    return recs[0] if recs else None


def record_path(dep):
    """The tool's registration record of dep in data_dir/handlers: named
    by the SHA-256 of issuer, client_id and deployment_id, each ended by
    a NUL.  Tests age a record by hand rather than wait for minutes."""
    name = hashlib.sha256(b"".join(
        f.encode() + b"\0" for f in (ISSUER, dep.client_id,
                                     dep.deployment_id))).hexdigest()
    return SRV.data_dir / "handlers" / (name + ".json")


def age_record(dep, key, age):
    """Sets the record's time key to age seconds ago."""
    path = record_path(dep)
    rec = json.loads(path.read_text())
    rec[key] = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                             time.gmtime(time.time() - age))
    path.write_text(json.dumps(rec))


def as_set(value):
    """A list of types, whether a JSON array or a space-separated string."""
    if isinstance(value, str):
        return set(value.split())
    return set(value or ())


def stored_hello(dep):
    return [n for n in SRV.notices()
            if n["deployment_id"] == dep.deployment_id and
            n["type"] == HELLO]


def platform_request(method, url, body=None, headers=None):
    """A request to the test platform, as the browser (or a test) makes
    it; returns harness Response."""
    parts = urllib.parse.urlsplit(url)
    assert parts.hostname == "127.0.0.1", url
    conn = http.client.HTTPConnection("127.0.0.1", parts.port, timeout=30)
    try:
        path = parts.path + ("?" + parts.query if parts.query else "")
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return H.Response(r.status, r.getheaders(), r.read())
    finally:
        conn.close()


def page_text(resp):
    return resp.body.decode("utf-8", "replace")


def page_row(text, label):
    """The value of the launch page's table row named label."""
    m = re.search(r"<tr><th>%s</th><td>(.*?)</td></tr>" % re.escape(label),
                  text)
    assert m is not None, "no row %r in the page" % label
    return html.unescape(m.group(1))


def iso_seconds(s):
    """Seconds since the epoch of an ISO 8601 UTC time (fraction ignored)."""
    return calendar.timegm(time.strptime(s[:19], "%Y-%m-%dT%H:%M:%S"))


class Flow:
    """One browser's way through login and the platform's auth endpoint,
    up to the form it is about to post to /launch."""

    def __repr__(self):
        return "<Flow %s state=%s>" % (self.login_hint, self.state)


def do_login(params, method="GET", raw_query=None):
    if method == "GET":
        query = raw_query if raw_query is not None else \
            urllib.parse.urlencode(params)
        return SRV.request("GET", lti_path("/login") + "?" + query)
    body = raw_query if raw_query is not None else \
        urllib.parse.urlencode(params)
    return SRV.request("POST", lti_path("/login"), body=body.encode(),
                       headers={"Content-Type":
                                "application/x-www-form-urlencoded"})


def parse_set_cookie(value):
    """(name, value, {attribute lowercased: value or True})."""
    parts = [p.strip() for p in value.split(";")]
    name, _, val = parts[0].partition("=")
    attrs = {}
    for p in parts[1:]:
        k, eq, v = p.partition("=")
        attrs[k.strip().lower()] = v.strip() if eq else True
    return name.strip(), val.strip(), attrs


def start_flow(dep=None, client_id=None, login_method="GET",
               message_hint=True, login=None, **spec):
    """Login at the tool, then the auth request at the platform; returns
    a Flow (raises AssertionError with details when a step fails).
    login: changes to the login parameters."""
    dep = dep or PF.new_deployment(client_id)
    hint = PF.prepare_launch(target(), dep, client_id=client_id, **spec)
    f = Flow()
    f.dep, f.login_hint = dep, hint
    f.client_id = client_id or dep.client_id
    f.login_params = P.apply_overrides(
        PF.login_params(hint, message_hint=message_hint), login)
    f.login = do_login(f.login_params, login_method)
    if f.login.status != 302:
        raise AssertionError("login: %r\n%s" % (f.login,
                                                SRV.error_log()[-2000:]))
    f.location = f.login.header("Location")
    f.auth_params = dict(urllib.parse.parse_qsl(
        urllib.parse.urlsplit(f.location).query, keep_blank_values=True))
    cookies = [v for k, v in f.login.headers if k.lower() == "set-cookie"]
    f.set_cookie = cookies
    f.cookie_state = None
    for c in cookies:
        name, val, _ = parse_set_cookie(c)
        if name.startswith(H.STATE_COOKIE):
            # Named after the state it holds.
            assert name == H.STATE_COOKIE + val, c
            f.cookie_state = val
    f.auth = platform_request("GET", f.location)
    if f.auth.status != 200:
        raise AssertionError("auth: %r %r" % (f.auth, PF.auth_requests[-1:]))
    f.form_method, f.action, fields = L.parse_form(f.auth.body)
    f.fields = dict(fields)
    f.id_token = f.fields["id_token"]
    f.state = f.fields["state"]
    f.nonce = f.auth_params.get("nonce")
    return f


def post_launch(flow, cookie=True, fields=None, body=None,
                content_type="application/x-www-form-urlencoded"):
    """POSTs the platform's form to the tool, as the browser would: with
    the login's state cookie (cookie=True), a Cookie header given, or
    none."""
    headers = {}
    if content_type is not None:
        headers["Content-Type"] = content_type
    if cookie is True:
        headers["Cookie"] = H.state_cookie(flow.cookie_state)
    elif cookie:
        headers["Cookie"] = cookie
    if body is None:
        body = urllib.parse.urlencode(fields if fields is not None
                                      else flow.fields)
    if isinstance(body, str):
        body = body.encode()
    path = urllib.parse.urlsplit(flow.action).path
    return SRV.request("POST", path, body=body, headers=headers)


def launch_together(flows):
    """POSTs the flows' launches at once, one thread each (bounded);
    returns (responses, seconds each took)."""
    results = [None] * len(flows)
    elapsed = [None] * len(flows)
    barrier = threading.Barrier(len(flows))

    def go(i):
        barrier.wait(timeout=30)
        t0 = time.monotonic()
        results[i] = post_launch(flows[i])
        elapsed[i] = time.monotonic() - t0

    threads = [threading.Thread(target=go, args=(i,))
               for i in range(len(flows))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=slow(60))
    return results, elapsed


def setUpModule():
    global PF, SRV, EARLY
    for path in (H.LTI_CGI, H.FCGI, H.PNSCTL):
        if not os.access(path, os.X_OK):
            raise RuntimeError("%s is not built (run make)" % path)
    PF = L.LtiPlatform(ISSUER, CLIENT_ID).start()
    PF.add_client(OTHER_CLIENT)
    PF.add_client(BROKEN_CLIENT)
    SRV = H.Server(extra_config={"state_ttl": STATE_TTL,
                                 "tool_title": TOOL_TITLE})
    try:
        SRV.init()
        for cid in (CLIENT_ID, OTHER_CLIENT):
            SRV.add_platform(ISSUER, cid, PF.jwks_url, [],
                             auth_url=PF.auth_url, token_url=PF.token_url)
        SRV.add_platform(SINGLE_ISSUER, SINGLE_CLIENT, PF.jwks_url, [],
                         auth_url=PF.auth_url, token_url=PF.token_url)
        SRV.add_platform(BROKEN_ISSUER, BROKEN_CLIENT,
                         PF.url("/no-such-key-set"), [],
                         auth_url=PF.auth_url, token_url=PF.token_url)
        SRV.start()
        PF.tool_base_url = SRV.base_url
        # A login whose state expires while the suite runs (T99).
        EARLY = start_flow(pns=False)
        EARLY.started = time.monotonic()
    except BaseException:
        tearDownModule()
        raise


def tearDownModule():
    if SRV is not None:
        SRV.stop()
    if PF is not None:
        PF.stop()


class LaunchTest(unittest.TestCase):
    """Helpers shared by the tests."""

    maxDiff = None

    def tearDown(self):
        PF.reset_faults()

    def flow(self, **kw):
        try:
            return start_flow(**kw)
        except AssertionError as e:
            self.fail(str(e))

    def assert_page(self, resp, status):
        self.assertEqual(resp.status, status,
                         "%r\n%s" % (resp, SRV.error_log()[-3000:]))
        ctype = resp.header("Content-Type") or ""
        self.assertEqual(ctype.split(";")[0].strip().lower(), "text/html",
                         resp)
        return page_text(resp)

    def assert_ok(self, resp):
        """A 200 launch page."""
        return self.assert_page(resp, 200)

    def assert_code(self, resp, code, status=401):
        """A refusal with this status whose page names code (or one of
        the codes, where the contract leaves a choice)."""
        codes = (code,) if isinstance(code, str) else code
        text = self.assert_page(resp, status)
        self.assertRegex(text, r"(?<![A-Za-z_])(%s)(?![A-Za-z_])"
                         % "|".join(map(re.escape, codes)),
                         "code %s not in the page:\n%s"
                         % ("/".join(codes), text[:2000]))
        return text

    def launch(self, **kw):
        """A whole launch (login, auth, POST /launch); (flow, response)."""
        f = self.flow(**kw)
        return f, post_launch(f)

    def launch_ok(self, **kw):
        f, resp = self.launch(**kw)
        self.assert_ok(resp)
        return f, resp

    def snapshot(self, dep, client_id=CLIENT_ID, issuer=ISSUER):
        return {"known": known_deployments(client_id, issuer),
                "tokens": PF.token_count,
                "puts": len(PF.puts_for(dep)),
                "all_puts": len(PF.puts)}

    def assert_no_trace(self, before, dep, client_id=CLIENT_ID,
                        issuer=ISSUER):
        """A failed launch learned no deployment, asked for no token and
        registered nothing."""
        known = known_deployments(client_id, issuer)
        self.assertEqual(known, before["known"],
                         "a failed launch made a deployment known")
        self.assertNotIn(dep.deployment_id, known)
        self.assertEqual(PF.token_count, before["tokens"],
                         "a failed launch requested a token")
        self.assertEqual(len(PF.puts), before["all_puts"],
                         "a failed launch registered handlers")
        self.assertIsNone(handler_record(dep),
                          "a failed launch left a handler record")

    def reject(self, code, status=401, dep=None, client_id=CLIENT_ID,
               issuer=ISSUER, **spec):
        """Launches with spec and checks the refusal leaves no trace."""
        dep = dep or PF.new_deployment(client_id)
        before = self.snapshot(dep, client_id, issuer)
        f, resp = self.launch(dep=dep, client_id=client_id, **spec)
        text = self.assert_code(resp, code, status)
        self.assert_no_trace(before, dep, client_id, issuer)
        return f, text

    def accept(self, client_id=CLIENT_ID, **spec):
        """The twin: the same kind of launch is accepted and its
        deployment becomes known."""
        f, resp = self.launch_ok(client_id=client_id, **spec)
        self.assertIn(f.dep.deployment_id, known_deployments(client_id))
        return f, resp

    def assert_registered(self, dep, types=None):
        """The platform holds our handler for each type, set by PUTs the
        platform answered 200."""
        types = TOOL_TYPES if types is None else types
        wait_until(lambda: set(PF.handlers_of(dep)) == set(types),
                   timeout=5)
        got = PF.handlers_of(dep)
        self.assertEqual(set(got), set(types), PF.puts_for(dep))
        for t, url in got.items():
            self.assertIsNone(handler_problem(url, dep.deployment_id), t)
        return got

    def tool_wants(self, types):
        """Rewrites pns.conf with these notice_types until the test ends
        (lti.cgi, a plain CGI, reads it at each launch)."""
        def restore(old=H.NOTICE_TYPES):
            H.NOTICE_TYPES = old
            SRV.write_config()
        H.NOTICE_TYPES = " ".join(types)
        SRV.write_config()
        self.addCleanup(restore)

    def assert_types(self, dep, resp, types):
        """The record and the launch page both say these types are
        registered."""
        rec = handler_record(dep)
        self.assertEqual(as_set(rec["types"]), set(types), rec)
        self.assertEqual(as_set(page_row(page_text(resp),
                                         "Registered types")), set(types))
        return rec

    def assert_hello_stored(self, dep):
        """The hello-world notice the platform sent after the PUT reached
        notices.fcgi, was accepted and is stored."""
        deliveries = wait_until(lambda: PF.deliveries_for(dep), timeout=10)
        self.assertTrue(deliveries, "no hello-world notice was sent")
        d = deliveries[-1]
        self.assertEqual(d["status"], 200, d)
        self.assertEqual(d["answer"], {"notices": [
            {"status": "accepted", "id": d["notice_id"]}]}, d)
        stored = wait_until(lambda: stored_hello(dep), timeout=10)
        self.assertTrue(stored, "hello-world notice not stored")
        self.assertIn(d["notice_id"], [n["id"] for n in stored])
        return stored


class T01Platform(LaunchTest):
    """The test platform itself, so that a failure elsewhere points at
    lti.cgi and not at the test."""

    def tool_like_assertion(self, key, client_id=CLIENT_ID, claims=None,
                            header=None, aud=None):
        now = int(time.time())
        payload = P.apply_overrides({
            "iss": client_id, "sub": client_id,
            "aud": aud or PF.token_url, "iat": now, "exp": now + 300,
            "jti": str(uuid.uuid4())}, claims)
        hdr = P.apply_overrides({"alg": "RS256", "typ": "JWT",
                                 "kid": key.kid}, header)
        data = P.signing_input(hdr, payload)
        return P.compact(hdr, payload, P.sign_rsa(key.private, data))

    def token_request(self, assertion, **form):
        fields = {"grant_type": "client_credentials",
                  "client_assertion_type": L.ASSERTION_TYPE,
                  "client_assertion": assertion,
                  "scope": L.SCOPE_NOTICEHANDLERS}
        fields.update(form)
        fields = {k: v for k, v in fields.items() if v is not DELETE}
        return platform_request(
            "POST", PF.token_url, body=urllib.parse.urlencode(fields),
            headers={"Content-Type": "application/x-www-form-urlencoded"})

    def with_test_tool_key(self):
        key = stray_key()
        PF.tool_jwks_fetch = lambda: {"keys": [key.jwk()]}
        return key

    def test_auth_answers_a_verifiable_form(self):
        f = self.flow()
        self.assertEqual(f.form_method, "post")
        self.assertEqual(f.action, target())
        self.assertEqual(set(f.fields), {"id_token", "state"})
        jwks = json.loads(platform_request("GET", PF.jwks_url).body)
        claims = P.verify_with_jwks(f.id_token, jwks, CLIENT_ID)
        self.assertEqual(claims["nonce"], f.auth_params["nonce"])
        self.assertEqual(f.state, f.auth_params["state"])
        self.assertEqual(claims[L.CLAIM_MESSAGE_TYPE],
                         "LtiResourceLinkRequest")
        self.assertEqual(claims[L.CLAIM_DEPLOYMENT], f.dep.deployment_id)
        self.assertEqual(claims[L.CLAIM_PNS]["platform_notification_"
                                             "service_url"],
                         PF.pns_url(f.dep))
        self.assertEqual(claims["exp"] - claims["iat"], 3600)

    def test_auth_refuses_bad_requests(self):
        dep = PF.new_deployment()
        hint = PF.prepare_launch(target(), dep)
        good = {"scope": "openid", "response_type": "id_token",
                "response_mode": "form_post", "prompt": "none",
                "client_id": CLIENT_ID, "redirect_uri": target(),
                "login_hint": hint, "state": "s" * 43, "nonce": "n" * 43}

        def auth(params):
            return platform_request("GET", PF.auth_url + "?" +
                                    urllib.parse.urlencode(params))

        self.assertEqual(auth(good).status, 200)
        bad = [{"scope": "openid profile"}, {"response_type": "code"},
               {"response_mode": "query"}, {"prompt": "login"},
               {"client_id": "nobody"},
               {"redirect_uri": base_url() + "/lti.cgi/elsewhere"}]
        for name in ("scope", "response_type", "response_mode", "prompt",
                     "client_id", "redirect_uri", "login_hint", "state",
                     "nonce"):
            bad.append({name: DELETE})
        for change in bad:
            with self.subTest(change=change):
                self.assertEqual(auth(P.apply_overrides(good, change))
                                 .status, 400)
        repeated = urllib.parse.urlencode(good) + "&nonce=x"
        self.assertEqual(platform_request(
            "GET", PF.auth_url + "?" + repeated).status, 400)

    def test_token_endpoint_checks_the_assertion(self):
        key = self.with_test_tool_key()
        r = self.token_request(self.tool_like_assertion(key))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(set(r.json), {"access_token", "token_type",
                                       "expires_in", "scope"})
        self.assertEqual((r.json["token_type"], r.json["expires_in"]),
                         ("Bearer", 3600))
        now = int(time.time())
        bad = [
            ({}, {"grant_type": "password"}),
            ({}, {"client_assertion_type": "urn:other"}),
            ({}, {"scope": "https://purl.imsglobal.org/spec/lti-ags/"
                           "scope/score"}),
            ({"aud": "http://127.0.0.1:1/token"}, {}),
            ({"iss": "someone-else"}, {}),
            ({"sub": "nobody", "iss": "nobody"}, {}),
            ({"exp": now + 600}, {}),
            ({"iat": now - 400, "exp": now - 100}, {}),
            ({"iat": now + 120, "exp": now + 300}, {}),
            ({"jti": DELETE}, {}),
            ({"exp": now - 5, "iat": now - 60}, {}),
        ]
        for claims, form in bad:
            with self.subTest(claims=claims, form=form):
                r = self.token_request(self.tool_like_assertion(
                    key, claims=claims), **form)
                self.assertIn(r.status, (400, 401), r)
        # No kid; signed by a key the tool does not publish; jti reused.
        r = self.token_request(self.tool_like_assertion(
            key, header={"kid": DELETE}))
        self.assertEqual(r.status, 400, r)
        other = P.TestPlatform.stray_key()
        r = self.token_request(self.tool_like_assertion(
            other, header={"kid": key.kid}))
        self.assertEqual(r.status, 400, r)
        once = self.tool_like_assertion(key)
        self.assertEqual(self.token_request(once).status, 200)
        self.assertEqual(self.token_request(once).status, 400)

    def test_token_endpoint_fault_modes(self):
        key = self.with_test_tool_key()
        PF.set_token_mode("500")
        self.assertEqual(self.token_request(
            self.tool_like_assertion(key)).status, 500)
        PF.set_token_mode("refuse")
        with self.assertRaises(ConnectionRefusedError):
            self.token_request(self.tool_like_assertion(key))
        PF.set_token_mode("ok")
        self.assertEqual(self.token_request(
            self.tool_like_assertion(key)).status, 200)

    def test_notice_handlers_api(self):
        key = self.with_test_tool_key()
        token = self.token_request(self.tool_like_assertion(key)) \
            .json["access_token"]
        dep = PF.new_deployment()
        # notices.fcgi must know the deployment to accept the hello world.
        SRV.add_platform(ISSUER, CLIENT_ID, PF.jwks_url, [dep.deployment_id],
                         auth_url=PF.auth_url, token_url=PF.token_url)
        url = PF.pns_url(dep)
        auth = {"Authorization": "Bearer " + token,
                "Content-Type": "application/json"}

        def put(obj, headers=auth, u=url):
            return platform_request("PUT", u, body=json.dumps(obj),
                                    headers=headers)

        handler = handler_url(dep.deployment_id)
        self.assertEqual(put({"notice_type": HELLO, "handler": handler},
                             headers={"Content-Type": "application/json"})
                         .status, 401)
        self.assertEqual(put({"notice_type": HELLO, "handler": handler},
                             headers=dict(auth, Authorization="Bearer x"))
                         .status, 401)
        self.assertEqual(put({"notice_type": HELLO, "handler": handler},
                             u=PF.pns_url(99999)).status, 404)
        r = put({"notice_type": "LtiNoSuchNotice", "handler": handler})
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json["errors"]["type"], "bad_request")
        for foreign in ("http://evil.example/notices.fcgi/x", "not a url",
                        "ftp://127.0.0.1/x"):
            r = put({"notice_type": HELLO, "handler": foreign})
            self.assertEqual(r.status, 400, foreign)
            self.assertEqual(set(r.json["errors"]), {"type", "message"})
        self.assertEqual(put({"notice_type": HELLO}).status, 400)
        self.assertEqual(PF.handlers_of(dep), {})
        r = platform_request("GET", url, headers=auth)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json["deployment_id"], dep.deployment_id)
        self.assertEqual(r.json["client_id"], CLIENT_ID)
        self.assertEqual({h["handler"] for h in r.json["notice_handlers"]},
                         {""})
        # Subscribing hello world sends one, which notices.fcgi stores.
        r = put({"notice_type": HELLO, "handler": handler})
        self.assertEqual((r.status, r.json), (200, {"notice_type": HELLO,
                                                    "handler": handler}))
        self.assert_hello_stored(dep)
        self.assertEqual(put({"notice_type": COPY, "handler": handler})
                         .status, 200)
        catalog = platform_request("GET", url, headers=auth).json
        self.assertEqual({h["notice_type"]: h["handler"]
                          for h in catalog["notice_handlers"]},
                         {HELLO: handler, COPY: handler,
                          L.ASSET_SUBMISSION: ""})
        self.assertEqual(put({"notice_type": COPY, "handler": ""}).status,
                         200)
        self.assertEqual(PF.handlers_of(dep), {HELLO: handler})
        # Another registration's token may not touch this deployment.
        PF.tool_jwks_fetch = lambda: {"keys": [key.jwk()]}
        other = self.token_request(self.tool_like_assertion(
            key, client_id=OTHER_CLIENT)).json["access_token"]
        self.assertEqual(put({"notice_type": COPY, "handler": handler},
                             headers=dict(auth, Authorization="Bearer " +
                                          other)).status, 403)

    def test_put_fault_switches(self):
        key = self.with_test_tool_key()
        token = self.token_request(self.tool_like_assertion(key)) \
            .json["access_token"]
        dep = PF.new_deployment()
        body = json.dumps({"notice_type": COPY,
                           "handler": handler_url(dep.deployment_id)})
        headers = {"Authorization": "Bearer " + token,
                   "Content-Type": "application/json"}
        for status in (400, 401, 500):
            PF.put_fault = {"status": status}
            r = platform_request("PUT", PF.pns_url(dep), body=body,
                                 headers=headers)
            self.assertEqual(r.status, status)
        PF.put_fault = {"hang": 1.0, "count": 1}
        t0 = time.monotonic()
        self.assertEqual(platform_request("PUT", PF.pns_url(dep), body=body,
                                          headers=headers).status, 200)
        self.assertGreaterEqual(time.monotonic() - t0, 1.0)
        t0 = time.monotonic()
        self.assertEqual(platform_request("PUT", PF.pns_url(dep), body=body,
                                          headers=headers).status, 200)
        self.assertLess(time.monotonic() - t0, 1.0)
        # An unsubscribe fault spares subscriptions.
        PF.put_fault = {"status": 500, "unsubscribe": True}
        self.assertEqual(platform_request("PUT", PF.pns_url(dep), body=body,
                                          headers=headers).status, 200)
        gone = json.dumps({"notice_type": COPY, "handler": ""})
        self.assertEqual(platform_request("PUT", PF.pns_url(dep), body=gone,
                                          headers=headers).status, 500)
        self.assertEqual(set(PF.handlers_of(dep)), {COPY})
        PF.put_fault = None
        self.assertEqual(platform_request("PUT", PF.pns_url(dep), body=gone,
                                          headers=headers).status, 200)
        self.assertEqual(PF.handlers_of(dep), {})
        self.assertEqual([p["status"] for p in PF.puts_for(dep)],
                         [400, 401, 500, 200, 200, 200, 500, 200])


class T02Login(LaunchTest):
    """/login: the redirect to the platform and the state cookie."""

    def login_ok(self, params, method="GET"):
        resp = do_login(params, method)
        self.assertEqual(resp.status, 302, resp)
        loc = resp.header("Location")
        self.assertIsNotNone(loc)
        parts = urllib.parse.urlsplit(loc)
        self.assertEqual(urllib.parse.urlunsplit(parts[:3] + ("", "")),
                         PF.auth_url)
        pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        names = [n for n, _ in pairs]
        self.assertEqual(len(names), len(set(names)), loc)
        return resp, dict(pairs)

    def params(self, **change):
        dep = PF.new_deployment()
        hint = PF.prepare_launch(target(), dep)
        return P.apply_overrides(PF.login_params(hint), change)

    def check_redirect(self, resp, q, params):
        want = {"scope": "openid", "response_type": "id_token",
                "response_mode": "form_post", "prompt": "none",
                "client_id": params.get("client_id", CLIENT_ID),
                "redirect_uri": base_url() + "/lti.cgi/launch",
                "login_hint": params["login_hint"]}
        if "lti_message_hint" in params:
            want["lti_message_hint"] = params["lti_message_hint"]
        self.assertEqual(set(q), set(want) | {"state", "nonce"}, q)
        for k, v in want.items():
            self.assertEqual(q[k], v, k)
        self.assertRegex(q["state"], STATE_RE)
        self.assertRegex(q["nonce"], STATE_RE)
        self.assertNotEqual(q["state"], q["nonce"])
        cookies = [v for k, v in resp.headers if k.lower() == "set-cookie"]
        ours = [parse_set_cookie(c) for c in cookies
                if parse_set_cookie(c)[0] == H.STATE_COOKIE + q["state"]]
        self.assertEqual(len(ours), 1, cookies)
        _, value, attrs = ours[0]
        self.assertEqual(value, q["state"])
        self.assertEqual(attrs.get("path"), "/cgi-bin/lti.cgi", cookies)
        # docs/launch.md writes Max-Age=600 beside state_ttl (600): the
        # cookie may follow the configured state_ttl or stay at 600.
        self.assertIn(attrs.get("max-age"), ("600", str(STATE_TTL)),
                      cookies)
        self.assertIs(attrs.get("httponly"), True, cookies)
        self.assertIs(attrs.get("secure"), True, cookies)
        self.assertEqual(str(attrs.get("samesite")).lower(), "none",
                         cookies)
        self.assertEqual(set(attrs), {"path", "max-age", "httponly",
                                      "secure", "samesite"}, cookies)

    def test_get_redirects_with_all_parameters_and_cookie(self):
        params = self.params()
        resp, q = self.login_ok(params)
        self.check_redirect(resp, q, params)

    def test_post_form_login(self):
        params = self.params()
        resp, q = self.login_ok(params, method="POST")
        self.check_redirect(resp, q, params)

    def test_without_optional_parameters(self):
        params = self.params(lti_message_hint=DELETE,
                             lti_deployment_id=DELETE)
        resp, q = self.login_ok(params)
        self.check_redirect(resp, q, params)
        self.assertNotIn("lti_message_hint", q)

    def test_state_and_nonce_fresh_each_time(self):
        seen = set()
        for _ in range(4):
            _, q = self.login_ok(self.params())
            seen.update((q["state"], q["nonce"]))
        self.assertEqual(len(seen), 8)

    def test_issuer_with_one_registration_needs_no_client_id(self):
        params = self.params(iss=SINGLE_ISSUER, client_id=DELETE)
        resp, q = self.login_ok(params)
        self.assertEqual(q["client_id"], SINGLE_CLIENT)

    def test_issuer_with_several_registrations_needs_client_id(self):
        self.assertEqual(do_login(self.params(client_id=DELETE)).status,
                         400)
        _, q = self.login_ok(self.params(client_id=OTHER_CLIENT))
        self.assertEqual(q["client_id"], OTHER_CLIENT)

    def assert_login_refused(self, params=None, raw=None, method="GET"):
        resp = do_login(params, method=method, raw_query=raw)
        self.assertEqual(resp.status, 400, resp)
        self.assertEqual((resp.header("Content-Type") or "").split(";")[0],
                         "text/html", resp)
        self.assertIsNone(resp.header("Location"))
        return resp

    def test_unknown_platform(self):
        self.assert_login_refused(self.params(iss=UNKNOWN_ISSUER))
        self.assert_login_refused(self.params(client_id="no-such-client"))
        self.assert_login_refused(self.params(iss=SINGLE_ISSUER))
        self.login_ok(self.params())

    def test_missing_required_parameter(self):
        for name in ("iss", "login_hint", "target_link_uri"):
            with self.subTest(missing=name):
                self.assert_login_refused(self.params(**{name: DELETE}))
                self.assert_login_refused(self.params(**{name: DELETE}),
                                          method="POST")
        self.login_ok(self.params())

    def test_empty_required_parameter(self):
        # Present but empty is as good as missing: an empty login_hint
        # forwarded to the platform only moves the failure there.
        for name in ("iss", "login_hint", "target_link_uri"):
            with self.subTest(empty=name):
                self.assert_login_refused(self.params(**{name: ""}))

    def test_repeated_parameter(self):
        for name in ("iss", "login_hint", "target_link_uri", "client_id",
                     "lti_message_hint", "lti_deployment_id"):
            with self.subTest(repeated=name):
                params = self.params()
                raw = urllib.parse.urlencode(params) + "&" + \
                    urllib.parse.urlencode({name: params[name]})
                self.assert_login_refused(raw=raw)
                self.assert_login_refused(raw=raw, method="POST")
        self.login_ok(self.params())

    def test_target_link_uri_outside_base_url(self):
        port = SRV.port
        for uri in ("https://evil.example/cgi-bin/lti.cgi/launch",
                    "http://127.0.0.1:%d/other/lti.cgi/launch" % port,
                    "http://127.0.0.1:%d/cgi-bin-evil/lti.cgi/launch" % port,
                    "http://127.0.0.1:%d/cgi-bin/lti.cgi/launch" % (port + 1),
                    "http://127.0.0.2:%d/cgi-bin/lti.cgi/launch" % port,
                    "javascript:alert(1)"):
            with self.subTest(uri=uri):
                self.assert_login_refused(self.params(target_link_uri=uri))
        self.login_ok(self.params(target_link_uri=target()))


class T03Launch(LaunchTest):
    """A whole launch, end to end, and what it leaves behind."""

    def test_end_to_end(self):
        cid = fresh_client("e2e")
        dep = PF.new_deployment(cid)
        # Before the launch the deployment is unknown to notices.fcgi.
        r = SRV.post({"notices": [{"jwt": PF.hello_world_token(dep)}]})
        self.assertEqual(r.json["notices"][0].get("error"),
                         "unknown_deployment", r)
        self.assertNotIn(dep.deployment_id, known_deployments(cid))

        f = self.flow(dep=dep, client_id=cid)
        self.assertEqual(f.cookie_state, f.auth_params["state"])
        self.assertEqual(f.state, f.cookie_state)
        t0 = time.monotonic()
        resp = post_launch(f)
        elapsed = time.monotonic() - t0
        text = self.assert_ok(resp)
        self.assertIn("Ada Lovelace", text)
        self.assertIn("Notices 101", text)
        self.assertLess(elapsed, slow(SRV.http_timeout))

        # The deployment is known ...
        self.assertIn(dep.deployment_id, known_deployments(cid))
        # ... one token was asked for, with a sound client assertion ...
        tokens = PF.tokens_for(cid)
        self.assertEqual(len(tokens), 1, tokens)
        tok = tokens[0]
        self.assertTrue(tok.get("ok"), tok)
        self.assertEqual(tok["form"]["scope"], L.SCOPE_NOTICEHANDLERS)
        claims, header = tok["claims"], tok["header"]
        self.assertEqual((claims["iss"], claims["sub"]), (cid, cid))
        self.assertEqual(claims["aud"], PF.token_url)
        self.assertEqual(claims["exp"] - claims["iat"], 300)
        self.assertLessEqual(abs(claims["iat"] - time.time()), 30)
        self.assertGreaterEqual(len(str(claims["jti"])), 16)
        self.assertEqual(header["alg"], "RS256")
        jwks = json.loads(SRV.request("GET", lti_path("/jwks")).body)
        self.assertIn(header["kid"], [k["kid"] for k in jwks["keys"]])
        # ... and each wanted type was PUT once, with that token.
        puts = PF.puts_for(dep)
        self.assertEqual(sorted(p["json"]["notice_type"] for p in puts),
                         sorted(TOOL_TYPES), puts)
        for p in puts:
            self.assertEqual(p["status"], 200, p)
            self.assertEqual(p["authorization"],
                             "Bearer " + tok["access_token"])
            self.assertEqual(p["content_type"].split(";")[0].strip(),
                             "application/json")
            self.assertIsNone(handler_problem(p["json"]["handler"],
                                              dep.deployment_id))
            self.assertEqual(p["path"],
                             urllib.parse.urlsplit(PF.pns_url(dep)).path)
        self.assert_registered(dep)
        stored = self.assert_hello_stored(dep)
        self.assertEqual(stored[0]["client_id"], cid)
        self.assertEqual(stored[0]["iss"], ISSUER)
        # The tool's record of the registration, and the launch page an
        # instructor sees.
        rec = handler_record(dep)
        self.assertIsNotNone(rec, SRV.handlers())
        self.assertEqual(as_set(rec["types"]), set(TOOL_TYPES), rec)
        self.assertEqual(rec["handler"], puts[0]["json"]["handler"])
        self.assertEqual(rec["pns_url"], PF.pns_url(dep))
        self.assertFalse(rec["last_error"], rec)
        self.assertTrue(rec["registered_at"], rec)
        for t in TOOL_TYPES:
            self.assertIn(t, text)

        # A second launch: nothing to do, and the page says when the
        # hello-world notice arrived.
        n_tokens, n_puts = PF.token_count, len(PF.puts)
        _, resp2 = self.launch_ok(dep=dep, client_id=cid)
        self.assertEqual(len(PF.puts), n_puts, PF.puts[n_puts:])
        self.assertEqual(PF.token_count, n_tokens)
        shown = page_row(self.assert_ok(resp2), "Last notice received")
        self.assertRegex(shown, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertLessEqual(abs(iso_seconds(shown) -
                                 iso_seconds(stored[0]["received_at"])), 2)
        # Another deployment of the same registration: its own PUTs, with
        # the cached token.
        dep2 = PF.new_deployment(cid)
        self.launch_ok(dep=dep2, client_id=cid)
        self.assertEqual(PF.token_count, n_tokens)
        self.assertEqual(len(PF.tokens_for(cid)), 1)
        self.assert_registered(dep2)
        for p in PF.puts_for(dep2):
            self.assertEqual(p["authorization"],
                             "Bearer " + tok["access_token"])
        self.assert_hello_stored(dep2)
        # Notices for the learned deployment are accepted from now on.
        r = SRV.post({"notices": [{"jwt": PF.hello_world_token(dep)}]})
        self.assertEqual(r.json["notices"][0]["status"], "accepted", r)

    def test_handler_url_percent_encodes_the_deployment_id(self):
        # Characters that would change the URL if left as they are.
        dep = PF.new_deployment(deployment_id="%d:a/b c?d#e%%f&g=h+i" %
                                int(time.time()))
        self.launch_ok(dep=dep)
        puts = PF.puts_for(dep)
        self.assertTrue(puts)
        for p in puts:
            self.assertIsNone(handler_problem(p["json"]["handler"],
                                              dep.deployment_id))
            self.assertEqual(p["status"], 200, p)
        self.assert_registered(dep)
        self.assert_hello_stored(dep)

    def test_canvas_shaped_deployment_id(self):
        dep = PF.new_deployment()
        self.assertRegex(dep.deployment_id, r"^\d+:[0-9a-f]{32}$")
        self.launch_ok(dep=dep)
        for p in PF.puts_for(dep):
            self.assertIsNone(handler_problem(p["json"]["handler"],
                                              dep.deployment_id))
        self.assert_hello_stored(dep)

    def test_launch_page_escapes_names(self):
        name = "Ada <script>alert(1)</script> & \"Co\""
        f, resp = self.launch_ok(name=name, claims={L.CLAIM_CONTEXT: {
            "id": "ctx", "label": "<b>L</b>", "title": "<i>T</i> & co"}})
        text = page_text(resp)
        self.assertNotIn("<script>alert(1)", text)
        self.assertNotIn("<i>T</i>", text)
        self.assertIn(name, html.unescape(text))

    def test_cookie_among_others(self):
        f = self.flow()
        resp = post_launch(f, cookie="theme=dark; %s; z=1"
                           % H.state_cookie(f.cookie_state))
        self.assert_ok(resp)
        self.assertIn(f.dep.deployment_id, known_deployments())

    def test_two_logins_in_one_browser(self):
        # Two placements of the tool on one page log in at once, in one
        # browser.  The state cookie had one name for every login, so the
        # second login's replaced the first's, and the first launch failed
        # with bad_state though nothing was wrong.  Each login now has a
        # cookie of its own, named after its state: each launch finds its
        # own among the others and clears only it.
        a, b, c = self.flow(), self.flow(), self.flow()
        jar = "%s; %s" % (H.state_cookie(a.cookie_state),
                          H.state_cookie(b.cookie_state))
        for f in (a, b):
            resp = post_launch(f, cookie=jar)
            self.assert_ok(resp)
            cookies = [parse_set_cookie(v) for k, v in resp.headers
                       if k.lower() == "set-cookie"]
            self.assertEqual([(n, v, attrs.get("max-age"))
                              for n, v, attrs in cookies],
                             [(H.STATE_COOKIE + f.cookie_state, "", "0")])
        # The twin: the other logins' cookies do not stand for a third.
        self.assert_code(post_launch(c, cookie=jar), "bad_state")

    def test_form_content_type_with_charset(self):
        f = self.flow()
        self.assert_ok(post_launch(
            f, content_type="application/x-www-form-urlencoded; "
            "charset=UTF-8"))

    def test_launch_without_context(self):
        self.accept(claims={L.CLAIM_CONTEXT: DELETE, "name": DELETE})

    def test_launch_page_escapes_deployment_id(self):
        dep = PF.new_deployment(deployment_id="%d:<b>dep</b>&amp;" %
                                int(time.time() * 1000))
        f, resp = self.accept(dep=dep)
        text = page_text(resp)
        self.assertNotIn("<b>dep</b>", text)
        self.assertIn(dep.deployment_id, html.unescape(text))
        self.assert_hello_stored(dep)

    def test_post_login_then_launch(self):
        f = self.flow(login_method="POST")
        self.assert_ok(post_launch(f))

    def test_learner_launch(self):
        # Learners launch too (and the launch registers), but the page
        # shows the handler status to instructors and administrators only.
        f, resp = self.accept(roles=[L.ROLE_LEARNER])
        text = page_text(resp)
        self.assertIn("Ada Lovelace", text)
        self.assert_registered(f.dep)
        for t in TOOL_TYPES:
            self.assertNotIn(t, text)

    def test_administrator_launch(self):
        f, resp = self.accept(roles=[L.ROLE_ADMIN])
        for t in TOOL_TYPES:
            self.assertIn(t, page_text(resp))

    def test_deep_linking_launch(self):
        self.accept(claims={
            L.CLAIM_MESSAGE_TYPE: "LtiDeepLinkingRequest",
            L.CLAIM_RESOURCE_LINK: DELETE,
            L.CLAIM_DL_SETTINGS: {
                "deep_link_return_url": PF.url("/deep_links"),
                "accept_types": ["ltiResourceLink"],
                "accept_presentation_document_targets": ["iframe"]}})

    def test_anonymous_launch_without_sub(self):
        self.accept(claims={"sub": DELETE})

    def test_aud_array_with_azp(self):
        self.accept(claims={"aud": ["https://other.example", CLIENT_ID],
                            "azp": CLIENT_ID})
        self.accept(claims={"aud": [CLIENT_ID], "azp": DELETE})
        self.accept(claims={"azp": DELETE})

    def test_within_clock_leeway(self):
        now = int(time.time())
        skew = H.CLOCK_LEEWAY // 2
        self.accept(claims={"exp": now - skew, "iat": now - 3600})
        self.accept(claims={"iat": now + skew})

    def test_key_rotation_is_picked_up(self):
        # Past the refetch interval, so that the tool may refetch.
        self.launch_ok()
        time.sleep(H.JWKS_REFETCH_INTERVAL + 1)
        kid = PF.add_key()
        f, _ = self.accept(kid=kid)
        self.assertEqual(P.jwt.get_unverified_header(f.id_token)["kid"], kid)


class T04Routes(LaunchTest):
    """/jwks, /config.json, unknown routes and methods."""

    def test_jwks_shape(self):
        r = SRV.request("GET", lti_path("/jwks"))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Content-Type").split(";")[0],
                         "application/json")
        self.assertEqual(set(r.json), {"keys"})
        self.assertGreaterEqual(len(r.json["keys"]), 1)
        for k in r.json["keys"]:
            self.assertEqual((k["kty"], k["alg"], k["use"]),
                             ("RSA", "RS256", "sig"))
            self.assertTrue(k["kid"])
            self.assertNotIn("d", k)        # never the private part
            n = base64.urlsafe_b64decode(k["n"] + "=" * (-len(k["n"]) % 4))
            self.assertEqual(len(n) * 8, 2048)
            self.assertEqual(k["e"], "AQAB")
            self.assertTrue(set(k) >= {"kty", "alg", "use", "kid", "n",
                                       "e"})
            P.jwt.PyJWK(k)                  # a usable RSA key
        shown = json.loads(SRV.pnsctl("key", "show").stdout)
        self.assertEqual(r.json, shown)

    def test_config_json(self):
        r = SRV.request("GET", lti_path("/config.json"))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Content-Type").split(";")[0],
                         "application/json")
        c = r.json
        self.assertEqual(c["title"], TOOL_TITLE)
        self.assertEqual(c["description"], "Receives LTI Platform "
                         "Notification Service notices.")
        self.assertEqual(c["oidc_initiation_url"],
                         base_url() + "/lti.cgi/login")
        self.assertEqual(c["public_jwk_url"], base_url() + "/lti.cgi/jwks")
        self.assertTrue(c["target_link_uri"].startswith(base_url() + "/"),
                        c)
        self.assertIn(L.SCOPE_NOTICEHANDLERS, c["scopes"])
        # The advertised target is one a login accepts.
        dep = PF.new_deployment()
        hint = PF.prepare_launch(c["target_link_uri"], dep)
        self.assertEqual(do_login(PF.login_params(hint)).status, 302)

    def test_unknown_routes_404(self):
        for method, route in (("GET", ""), ("GET", "/"), ("GET", "/nope"),
                              ("POST", "/nope"), ("GET", "/login/extra"),
                              ("GET", "/jwks/x"), ("GET", "/JWKS")):
            with self.subTest(method=method, route=route):
                r = SRV.request(method, lti_path(route), body=b"" if
                                method == "POST" else None)
                self.assertEqual(r.status, 404, r)

    def test_known_route_other_method_405(self):
        cases = (("GET", "/launch", {"POST"}),
                 ("PUT", "/launch", {"POST"}),
                 ("POST", "/jwks", {"GET"}),
                 ("DELETE", "/jwks", {"GET"}),
                 ("POST", "/config.json", {"GET"}),
                 ("PUT", "/login", {"GET", "POST"}),
                 ("DELETE", "/login", {"GET", "POST"}))
        for method, route, allowed in cases:
            with self.subTest(method=method, route=route):
                r = SRV.request(method, lti_path(route),
                                body=b"" if method in ("POST", "PUT")
                                else None)
                self.assertEqual(r.status, 405, r)
                allow = {m.strip() for m in
                         (r.header("Allow") or "").split(",")}
                self.assertTrue(allowed <= allow, (allow, r))
                self.assertNotIn(method, allow)


class T05Rejected(LaunchTest):
    """Bad id_tokens: each refused with its code, leaving no trace; each
    with a twin that is accepted."""

    def test_no_kid(self):
        self.reject("no_kid", header={"kid": DELETE})
        self.accept()

    def test_unknown_kid(self):
        # unknown_kid is final only once the key set was fetched for the
        # token; another test may have fetched it within the refetch
        # interval, which would make the answer unknown_kid_retry (503).
        time.sleep(H.JWKS_REFETCH_INTERVAL + 1)
        self.reject("unknown_kid", sign_with=stray_key(),
                    kid="never-published-" + uuid.uuid4().hex)
        self.accept(kid=PF.kid)

    def test_signed_by_another_key(self):
        self.reject("bad_signature", sign_with=stray_key(), kid=PF.kid)
        self.accept()

    def test_alg_confusion(self):
        self.reject("bad_alg", forge="hs256")
        self.reject("bad_alg", header={"alg": "RS512"})
        self.reject(("malformed", "bad_alg"), forge="none")
        self.accept(header={"alg": "RS256"})

    def test_not_a_jwt(self):
        self.reject("malformed", token=P.TestPlatform.garbage())
        self.reject("malformed", token="a.b")
        self.accept()

    def test_wrong_aud(self):
        # aud names the client: no registration for (iss, someone-else).
        self.reject("unknown_platform", claims={"aud": "someone-else",
                                                "azp": DELETE})
        self.accept(claims={"azp": DELETE})

    def test_bad_aud_shapes(self):
        for aud in (DELETE, "", 42, [], [CLIENT_ID, 5]):
            with self.subTest(aud=aud):
                self.reject("bad_aud", claims={"aud": aud, "azp": DELETE})
        self.accept(claims={"aud": CLIENT_ID})

    def test_several_aud_without_azp(self):
        aud = [CLIENT_ID, "https://other.example"]
        self.reject("bad_azp", claims={"aud": aud, "azp": DELETE})
        self.accept(claims={"aud": aud, "azp": CLIENT_ID})

    def test_wrong_azp(self):
        aud = [CLIENT_ID, "https://other.example"]
        self.reject("bad_azp", claims={"aud": aud, "azp": "third"})
        self.reject("bad_azp", claims={"aud": CLIENT_ID, "azp": "third"})
        self.accept(claims={"aud": CLIENT_ID, "azp": CLIENT_ID})

    def test_expired(self):
        now = int(time.time())
        self.reject("expired", claims={"exp": now - 3600, "iat": now - 7200})
        self.reject("expired", claims={"exp": now - 3 * H.CLOCK_LEEWAY})
        self.reject("expired", claims={"exp": DELETE})
        self.accept(claims={"exp": now + 60})

    def test_iat_in_the_future(self):
        now = int(time.time())
        self.reject("iat_future", claims={"iat": now + 3600,
                                          "exp": now + 7200})
        self.reject("iat_future", claims={"iat": DELETE})
        self.accept(claims={"iat": now})

    def test_wrong_version(self):
        for version in ("1.2.0", "1.3", 1.3, DELETE):
            with self.subTest(version=version):
                self.reject("bad_version", claims={L.CLAIM_VERSION: version})
        self.accept(claims={L.CLAIM_VERSION: "1.3.0"})

    def test_missing_message_type(self):
        self.reject("bad_message_type",
                    claims={L.CLAIM_MESSAGE_TYPE: DELETE})
        self.reject("bad_message_type",
                    claims={L.CLAIM_MESSAGE_TYPE: "LtiSubmissionReviewRequest"})
        self.reject("bad_message_type",
                    claims={L.CLAIM_MESSAGE_TYPE: "ltiresourcelinkrequest"})
        self.accept(claims={L.CLAIM_MESSAGE_TYPE: "LtiResourceLinkRequest"})

    def test_missing_deployment_id(self):
        self.reject("missing_claim", claims={L.CLAIM_DEPLOYMENT: DELETE})
        self.reject("missing_claim", claims={L.CLAIM_DEPLOYMENT: ""})
        self.accept()

    def test_missing_resource_link_id(self):
        self.reject("missing_claim",
                    claims={L.CLAIM_RESOURCE_LINK: {"title": "no id"}})
        self.reject("missing_claim", claims={L.CLAIM_RESOURCE_LINK: DELETE})
        self.accept(claims={L.CLAIM_RESOURCE_LINK: {"id": "rl-1"}})

    def test_missing_roles(self):
        self.reject("missing_claim", claims={L.CLAIM_ROLES: DELETE})
        self.reject("missing_claim", claims={L.CLAIM_ROLES: L.ROLE_LEARNER})
        self.reject("missing_claim", claims={L.CLAIM_ROLES: [1]})
        self.accept(claims={L.CLAIM_ROLES: []})

    def test_empty_sub(self):
        self.reject("missing_claim", claims={"sub": ""})
        self.accept(claims={"sub": "u-1"})

    def test_deep_linking_without_settings(self):
        dl = {L.CLAIM_MESSAGE_TYPE: "LtiDeepLinkingRequest",
              L.CLAIM_RESOURCE_LINK: DELETE}
        self.reject("missing_claim", claims=dl)
        self.reject("missing_claim", claims=dict(dl, **{
            L.CLAIM_DL_SETTINGS: {"accept_types": ["ltiResourceLink"]}}))
        self.accept(claims=dict(dl, **{L.CLAIM_DL_SETTINGS: {
            "deep_link_return_url": PF.url("/deep_links")}}))

    def test_unknown_issuer(self):
        self.reject("unknown_platform", claims={"iss": UNKNOWN_ISSUER})
        self.accept(claims={"iss": ISSUER})

    def test_token_for_another_registration(self):
        # Signed by the platform for OTHER_CLIENT, after a login for
        # CLIENT_ID: the verified token is not for this login's platform.
        before_other = known_deployments(OTHER_CLIENT)
        self.reject("platform_mismatch",
                    claims={"aud": OTHER_CLIENT, "azp": OTHER_CLIENT})
        self.assertEqual(known_deployments(OTHER_CLIENT), before_other)
        self.accept(client_id=OTHER_CLIENT)

    def test_bad_nonce(self):
        self.reject("bad_nonce", nonce="not-the-nonce-" + uuid.uuid4().hex)
        self.reject("bad_nonce", claims={"nonce": DELETE})
        self.accept()

    def test_nonce_not_a_string(self):
        self.reject("bad_nonce", claims={"nonce": 12345})
        self.accept()

    def test_platform_keys_unavailable(self):
        # A registered platform whose key set cannot be fetched: the
        # launch cannot be verified, and docs/launch.md calls that
        # transient (503), not the launch's fault.
        self.reject("jwks_unavailable", status=503, client_id=BROKEN_CLIENT,
                    issuer=BROKEN_ISSUER, login={"iss": BROKEN_ISSUER},
                    claims={"iss": BROKEN_ISSUER})
        self.accept()

    def test_oversized_body(self):
        # docs/config.md: a POST body over max_body_bytes gets 413 (unread).
        dep = PF.new_deployment()
        before = self.snapshot(dep)
        f = self.flow(dep=dep)
        pad = "x" * (H.MAX_BODY_BYTES + 1)
        with self.subTest(route="/launch"):
            r = post_launch(f, body=urllib.parse.urlencode(
                dict(f.fields, pad=pad)))
            self.assertEqual(r.status, 413, r)
        self.assert_no_trace(before, dep)
        with self.subTest(route="/login"):
            r = SRV.request("POST", lti_path("/login"), body=(
                urllib.parse.urlencode(f.login_params) + "&pad=" +
                pad).encode(), headers={
                    "Content-Type": "application/x-www-form-urlencoded"})
            self.assertEqual(r.status, 413, r)
        # The twin: a launch body just under the limit is accepted.
        f = self.flow()
        body = urllib.parse.urlencode(f.fields) + "&pad="
        body += "x" * (H.MAX_BODY_BYTES - len(body))
        self.assertEqual(len(body), H.MAX_BODY_BYTES)
        self.assert_ok(post_launch(f, body=body))

    def test_bad_target_link_uri(self):
        self.reject("bad_target_link_uri", claims={
            L.CLAIM_TARGET_LINK_URI: base_url() + "/lti.cgi/elsewhere"})
        self.reject("bad_target_link_uri",
                    claims={L.CLAIM_TARGET_LINK_URI: DELETE})
        self.accept()

    def test_bad_request(self):
        for fields in ({"state": "x"}, {"id_token": "x"}, {}):
            with self.subTest(fields=fields):
                dep = PF.new_deployment()
                before = self.snapshot(dep)
                f = self.flow(dep=dep)
                body = dict(f.fields)
                for k in ("id_token", "state"):
                    if k not in fields:
                        body.pop(k)
                self.assert_code(post_launch(f, fields=body),
                                 "bad_request", 400)
                self.assert_no_trace(before, dep)
        dep = PF.new_deployment()
        before = self.snapshot(dep)
        f = self.flow(dep=dep)
        self.assert_code(post_launch(f, body=json.dumps(f.fields),
                                     content_type="application/json"),
                         "bad_request", 400)
        self.assert_no_trace(before, dep)
        self.accept()


class T06State(LaunchTest):
    """The state: bound to the browser by its cookie, used once."""

    def test_replay(self):
        f = self.flow()
        self.assert_ok(post_launch(f))
        n_puts, n_tokens = len(PF.puts), PF.token_count
        self.assert_code(post_launch(f), "bad_state")
        self.assertEqual((len(PF.puts), PF.token_count), (n_puts, n_tokens))

    def test_replayed_id_token_under_a_new_state(self):
        # The old token (and its nonce) posted with a fresh login's state.
        first = self.flow()
        self.assert_ok(post_launch(first))
        dep = PF.new_deployment()
        before = self.snapshot(dep)
        second = self.flow(dep=dep)
        fields = dict(second.fields, id_token=first.id_token)
        self.assert_code(post_launch(second, fields=fields), "bad_nonce")
        self.assert_no_trace(before, dep)

    def test_missing_cookie(self):
        dep = PF.new_deployment()
        before = self.snapshot(dep)
        f = self.flow(dep=dep)
        self.assert_code(post_launch(f, cookie=None), "bad_state")
        self.assert_code(post_launch(self.flow(dep=dep),
                                     cookie="other=1"), "bad_state")
        self.assert_no_trace(before, dep)
        self.accept()

    def test_mismatched_state(self):
        dep = PF.new_deployment()
        before = self.snapshot(dep)
        a, b = self.flow(dep=dep), self.flow()
        self.assert_code(post_launch(a, cookie=H.state_cookie(
                                     b.cookie_state)), "bad_state")
        self.assert_no_trace(before, dep)
        self.accept()

    def test_state_the_platform_changed(self):
        # The platform answers with another (valid-looking) state.
        dep = PF.new_deployment()
        before = self.snapshot(dep)
        f = self.flow(dep=dep, state="A" * 43)
        self.assert_code(post_launch(f), "bad_state")
        self.assert_no_trace(before, dep)

    def test_unknown_state(self):
        dep = PF.new_deployment()
        before = self.snapshot(dep)
        f = self.flow(dep=dep)
        forged = "B" * 43
        fields = dict(f.fields, state=forged)
        self.assert_code(post_launch(f, cookie=H.state_cookie(forged),
                                     fields=fields), "bad_state")
        self.assert_no_trace(before, dep)

    def test_state_consumed_by_a_failed_launch(self):
        now = int(time.time())
        dep = PF.new_deployment()
        before = self.snapshot(dep)
        f = self.flow(dep=dep, claims={"exp": now - 3600,
                                       "iat": now - 7200})
        self.assert_code(post_launch(f), "expired")
        # The same state with a good token for its nonce: too late.
        good = PF.sign_launch(f.login_hint, f.nonce, claims=None)
        self.assert_code(post_launch(f, fields=dict(f.fields,
                                                    id_token=good)),
                         "bad_state")
        self.assert_no_trace(before, dep)
        # The twin: that token shape is fine on a live state.
        self.accept()


class T07Registration(LaunchTest):
    """Which types are registered, when registration happens again, and
    concurrent launches."""

    def test_only_types_the_platform_supports(self):
        dep = PF.new_deployment()
        f, _ = self.launch_ok(dep=dep, claims={
            L.CLAIM_PNS: PF.pns_claim(dep, types=[COPY,
                                                  L.ASSET_SUBMISSION])})
        self.assertEqual([p["json"]["notice_type"]
                          for p in PF.puts_for(dep)], [COPY])
        self.assert_registered(dep, [COPY])
        time.sleep(0.5)
        self.assertEqual(PF.deliveries_for(dep), [])

    def test_supported_types_that_are_not_strings_are_passed_over(self):
        # notice_types_supported is the platform's array, and nothing
        # says its elements are strings.  lti.cgi compared each element
        # with strcmp as if it were: a null there, in a correctly signed
        # launch, was a NULL pointer and the launch died with SIGSEGV
        # (a 500, after its state was used up), every time that platform
        # launched that deployment.  Elements that are not clean strings
        # (null, numbers, objects, arrays, a string with a NUL inside)
        # name no type; the strings around them still count.
        dep = PF.new_deployment()
        odd = [None, 7, {"type": COPY}, [COPY], COPY + "\u0000", True]
        _, resp = self.launch_ok(dep=dep, claims={
            L.CLAIM_PNS: PF.pns_claim(dep, types=odd[:1] + [HELLO] +
                                      odd[1:])})
        self.assertEqual([p["json"]["notice_type"]
                          for p in PF.puts_for(dep)], [HELLO])
        self.assert_registered(dep, [HELLO])
        rec = handler_record(dep)
        self.assertEqual(as_set(rec["types"]), {HELLO}, rec)
        self.assertFalse(rec["last_error"], rec)
        self.assertIn(HELLO, page_text(resp))
        # The twin: the same oddities beside both types as strings, and
        # both are registered.
        self.launch_ok(dep=dep, claims={
            L.CLAIM_PNS: PF.pns_claim(dep, types=odd + [COPY, HELLO])})
        self.assertEqual(sorted(p["json"]["notice_type"]
                                for p in PF.puts_for(dep)),
                         sorted([HELLO, HELLO, COPY]))
        self.assert_registered(dep)
        self.assertEqual(as_set(handler_record(dep)["types"]),
                         set(TOOL_TYPES))

    def test_no_pns_claim_no_registration(self):
        dep = PF.new_deployment()
        n_tokens = PF.token_count
        _, resp = self.launch_ok(dep=dep, pns=False)
        # No handler, so no notice yet (the twin is test_end_to_end).
        self.assertEqual(page_row(self.assert_ok(resp),
                                  "Last notice received"), "none yet")
        self.assertIn(dep.deployment_id, known_deployments())
        self.assertEqual(PF.puts_for(dep), [])
        self.assertEqual(PF.token_count, n_tokens)

    def test_wanted_types_changed_registers_again(self):
        dep = PF.new_deployment()
        self.launch_ok(dep=dep, claims={
            L.CLAIM_PNS: PF.pns_claim(dep, types=[HELLO])})
        self.assertEqual([p["json"]["notice_type"]
                          for p in PF.puts_for(dep)], [HELLO])
        self.assert_hello_stored(dep)
        self.launch_ok(dep=dep)
        self.assertIn(COPY, [p["json"]["notice_type"]
                             for p in PF.puts_for(dep)])
        self.assert_registered(dep)
        n = len(PF.puts_for(dep))
        self.launch_ok(dep=dep)
        self.assertEqual(len(PF.puts_for(dep)), n)

    def test_type_no_longer_wanted_is_unsubscribed(self):
        # A registration PUT the types wanted and overwrote the record's
        # types with them, but never withdrew a type registered before
        # and wanted no more: with LtiContextCopyNotice taken out of
        # notice_types, the platform kept sending it while the record
        # and the launch page said it was not registered.  A launch now
        # PUTs an empty handler (how Canvas unsubscribes) for each
        # registered type that the platform still supports and the
        # configuration no longer wants.
        dep = PF.new_deployment()
        self.launch_ok(dep=dep)
        self.assert_registered(dep)
        n = len(PF.puts_for(dep))
        # The twin: an unchanged launch sends nothing, no empty handler.
        _, resp = self.launch_ok(dep=dep)
        self.assertEqual(PF.puts_for(dep)[n:], [])
        self.assert_types(dep, resp, TOOL_TYPES)
        self.tool_wants([HELLO])
        _, resp = self.launch_ok(dep=dep)
        later = [(p["json"], p["status"]) for p in PF.puts_for(dep)[n:]]
        self.assertIn(({"notice_type": COPY, "handler": ""}, 200), later)
        self.assertEqual([j for j, _ in later if j["notice_type"] == COPY],
                         [{"notice_type": COPY, "handler": ""}], later)
        self.assertEqual(set(PF.handlers_of(dep)), {HELLO})
        rec = self.assert_types(dep, resp, [HELLO])
        self.assertFalse(rec["last_error"], rec)
        # Done with: the next launch sends nothing.
        n = len(PF.puts_for(dep))
        self.launch_ok(dep=dep)
        self.assertEqual(PF.puts_for(dep)[n:], [])

    def test_type_the_claim_leaves_out_stays_registered(self):
        # The other way a type drops out of what a launch registers: the
        # claim's notice_types_supported leaves it out.  That list varies
        # with the launch (Canvas's Asset Processor deep-linking launches
        # list LtiAssetProcessorSubmissionNotice alone), so it says
        # nothing of the subscriptions other launches made, which the
        # tool still wants: no empty handler is sent.  The record used to
        # drop the type all the same, and the page said it was not
        # registered while the platform still sent it; it now stays.
        dep = PF.new_deployment()
        self.launch_ok(dep=dep)
        n = len(PF.puts_for(dep))
        hello_only = {L.CLAIM_PNS: PF.pns_claim(dep, types=[HELLO])}
        _, resp = self.launch_ok(dep=dep, claims=hello_only)
        self.assertEqual([p["json"]["handler"] != ""
                          for p in PF.puts_for(dep)[n:]], [True])
        self.assert_registered(dep)
        self.assert_types(dep, resp, TOOL_TYPES)
        # Nothing left to do for the same launch.
        n = len(PF.puts_for(dep))
        self.launch_ok(dep=dep, claims=hello_only)
        self.assertEqual(PF.puts_for(dep)[n:], [])
        # The twin: once the tool no longer wants the type, a launch
        # whose claim lists it unsubscribes it.
        self.tool_wants([HELLO])
        _, resp = self.launch_ok(dep=dep)
        self.assertIn({"notice_type": COPY, "handler": ""},
                      [p["json"] for p in PF.puts_for(dep)[n:]])
        self.assertEqual(set(PF.handlers_of(dep)), {HELLO})
        self.assert_types(dep, resp, [HELLO])

    def test_pns_url_changed_registers_again(self):
        dep = PF.new_deployment()
        self.launch_ok(dep=dep)
        n = len(PF.puts_for(dep))
        self.assertEqual(n, len(TOOL_TYPES))
        moved = PF.pns_url(dep) + "?v=2"
        self.launch_ok(dep=dep, claims={L.CLAIM_PNS: PF.pns_claim(
            dep, url=moved)})
        later = PF.puts_for(dep)[n:]
        self.assertEqual(sorted(p["json"]["notice_type"] for p in later),
                         sorted(TOOL_TYPES))
        for p in later:
            self.assertEqual(p["path"], urllib.parse.urlsplit(moved).path +
                             "?v=2")
            self.assertEqual(p["status"], 200)

    def test_registration_older_than_handler_refresh_registers_again(self):
        # handler_refresh (86400 s by default) bounds how long a launch
        # trusts a registration that nothing changed since: a platform
        # may have dropped handlers it never told us about.  The record
        # is aged by hand, a minute inside the window (its twin: nothing
        # is sent) and then a minute past it (all types again).
        dep = PF.new_deployment()
        self.launch_ok(dep=dep)
        n = len(PF.puts_for(dep))
        self.assertEqual(n, len(TOOL_TYPES))
        for age, sent in ((86400 - 60, 0), (86400 + 60, len(TOOL_TYPES))):
            age_record(dep, "registered_at", age)
            self.launch_ok(dep=dep)
            later = PF.puts_for(dep)[n:]
            self.assertEqual(len(later), sent, (age, later))
            n += sent
        self.assertEqual(sorted(p["json"]["notice_type"] for p in later),
                         sorted(TOOL_TYPES))
        self.assert_registered(dep)

    def test_token_cached_only_while_valid_for_a_minute(self):
        # Cached "until 60 seconds before it expires": a token that lives
        # 30 s is never reused, one that lives an hour is.
        cid = fresh_client("short")
        PF.token_expires_in = 30
        for i in range(2):
            self.launch_ok(client_id=cid)
            self.assertEqual(len(PF.tokens_for(cid)), i + 1)
        PF.token_expires_in = 3600
        for _ in range(2):
            self.launch_ok(client_id=cid)
            self.assertEqual(len(PF.tokens_for(cid)), 3)

    def test_concurrent_launches_register_once(self):
        dep = PF.new_deployment()
        flows = [self.flow(dep=dep) for _ in range(3)]
        # Each PUT takes a second: the launches overlap.
        PF.put_fault = {"delay": 1.0}
        results, _ = launch_together(flows)
        for r in results:
            self.assertIsNotNone(r)
            self.assert_ok(r)
        types = [p["json"]["notice_type"] for p in PF.puts_for(dep)]
        self.assertEqual(sorted(types), sorted(TOOL_TYPES), types)
        PF.put_fault = None
        self.assert_registered(dep)


class T08Faults(LaunchTest):
    """A failed registration never fails the launch: the page says so,
    the record keeps the error, and a launch RETRY_AFTER seconds later
    retries."""

    MARGIN = 4

    def failing_launch(self, cid, dep):
        f = self.flow(dep=dep, client_id=cid)
        t0 = time.monotonic()
        resp = post_launch(f)
        elapsed = time.monotonic() - t0
        text = self.assert_ok(resp)
        self.assertLess(elapsed, SRV.http_timeout + slow(self.MARGIN))
        self.assertIn(dep.deployment_id, known_deployments(cid))
        # The record keeps the error, and the page shows it.
        rec = handler_record(dep)
        self.assertIsNotNone(rec, SRV.handlers())
        self.assertTrue(rec["last_error"], rec)
        self.assertIn(rec["last_error"], html.unescape(text),
                      "the page does not show the failure")
        # What the platform said is shown, never as markup.
        self.assertNotIn("<script>", text)
        return text, rec

    def retry_succeeds(self, cid, dep):
        # After a failure the same registration waits RETRY_AFTER
        # seconds (T08Faults.test_failed_registration_waits): past it.
        age_record(dep, "attempted_at", RETRY_AFTER + 60)
        n = len(PF.puts_for(dep))
        self.launch_ok(dep=dep, client_id=cid)
        self.assertGreater(len(PF.puts_for(dep)), n, "no retry")
        for p in PF.puts_for(dep)[n:]:
            self.assertEqual(p["status"], 200, p)
        self.assert_registered(dep)
        self.assert_hello_stored(dep)
        rec = handler_record(dep)
        self.assertFalse(rec["last_error"], rec)
        self.assertEqual(as_set(rec["types"]), set(TOOL_TYPES), rec)

    def check_token_fault(self, mode):
        cid = fresh_client("tok" + mode)
        dep = PF.new_deployment(cid)
        PF.set_token_mode(mode)
        n_tokens = PF.token_count
        self.failing_launch(cid, dep)
        self.assertEqual(PF.puts_for(dep), [])
        if mode != "refuse":
            self.assertGreater(PF.token_count, n_tokens)
        if mode == "hang":
            # Let the platform finish the request the tool gave up on.
            wait_until(lambda: all(t.get("done") for t in
                                   PF.token_requests[n_tokens:]),
                       timeout=PF.token_hang + 30)
        PF.set_token_mode("ok")
        before = len([t for t in PF.tokens_for(cid) if t.get("ok")])
        self.retry_succeeds(cid, dep)
        self.assertEqual(len([t for t in PF.tokens_for(cid)
                              if t.get("ok")]), before + 1)

    def test_token_endpoint_refuses_connections(self):
        self.check_token_fault("refuse")

    def test_token_endpoint_500(self):
        self.check_token_fault("500")

    def test_token_endpoint_400(self):
        self.check_token_fault("400")

    def test_token_endpoint_hangs(self):
        PF.token_hang = SRV.http_timeout + 3
        self.check_token_fault("hang")

    def test_token_answer_not_json(self):
        self.check_token_fault("badjson")

    def test_token_answer_not_bearer(self):
        self.check_token_fault("notbearer")

    def test_put_answered_with_the_whole_catalog(self):
        # The older Canvas controller answers a PUT with the catalog: a
        # 200 all the same.
        dep = PF.new_deployment()
        PF.put_answers_catalog = True
        f, resp = self.launch_ok(dep=dep)
        self.assert_registered(dep)
        rec = handler_record(dep)
        self.assertFalse(rec["last_error"], rec)
        self.assertEqual(as_set(rec["types"]), set(TOOL_TYPES))

    def check_put_fault(self, status):
        cid = fresh_client("put%d" % status)
        dep = PF.new_deployment(cid)
        PF.put_fault = {"status": status}
        self.failing_launch(cid, dep)
        self.assertTrue(PF.puts_for(dep))
        self.assertEqual(PF.handlers_of(dep), {})
        self.assertEqual(PF.deliveries_for(dep), [])
        PF.put_fault = None
        self.retry_succeeds(cid, dep)

    def test_put_400(self):
        self.check_put_fault(400)

    def test_put_401(self):
        self.check_put_fault(401)

    def test_put_500(self):
        self.check_put_fault(500)

    def test_failed_unsubscribe_stays_registered(self):
        # An unsubscribe the platform refuses fails the registration like
        # any PUT: the record and the page show the error, and the type
        # stays registered, as it is at the platform, rather than
        # vanish from the record while the platform goes on sending it.
        # The same registration waits RETRY_AFTER, then unsubscribes.
        dep = PF.new_deployment()
        self.launch_ok(dep=dep)
        self.assert_registered(dep)
        self.tool_wants([HELLO])
        PF.put_fault = {"status": 500, "unsubscribe": True}
        n = len(PF.puts_for(dep))
        text, rec = self.failing_launch(CLIENT_ID, dep)
        self.assertIn(({"notice_type": COPY, "handler": ""}, 500),
                      [(p["json"], p["status"])
                       for p in PF.puts_for(dep)[n:]])
        self.assertEqual(set(PF.handlers_of(dep)), set(TOOL_TYPES))
        self.assertEqual(as_set(rec["types"]), set(TOOL_TYPES), rec)
        self.assertEqual(as_set(page_row(text, "Registered types")),
                         set(TOOL_TYPES))
        # Inside the wait, nothing is sent.
        n = len(PF.puts_for(dep))
        self.launch_ok(dep=dep)
        self.assertEqual(PF.puts_for(dep)[n:], [])
        # The twin: the platform answering again, past the wait, the
        # type is unsubscribed.
        PF.put_fault = None
        age_record(dep, "attempted_at", RETRY_AFTER + 60)
        _, resp = self.launch_ok(dep=dep)
        self.assertIn(({"notice_type": COPY, "handler": ""}, 200),
                      [(p["json"], p["status"])
                       for p in PF.puts_for(dep)[n:]])
        self.assertEqual(set(PF.handlers_of(dep)), {HELLO})
        rec = self.assert_types(dep, resp, [HELLO])
        self.assertFalse(rec["last_error"], rec)

    def test_pns_url_over_http_for_a_https_platform(self):
        # The tool sends its notice-handler access token, a bearer
        # credential, to the PNS URL the launch names, and checked only
        # that it was http or https: a launch naming an http URL had the
        # token of a platform reached over https sent in clear text.
        # Where the platform's token endpoint is https, the PNS URL must
        # be too.  (Nothing listens at this token endpoint: the twin's
        # registration fails there, which shows it got past the check.)
        cid = "pns-tls-%s" % uuid.uuid4().hex[:8]
        PF.add_client(cid)
        SRV.add_platform(ISSUER, cid, PF.jwks_url, [], auth_url=PF.auth_url,
                         token_url="https://127.0.0.1:1/token")
        dep = PF.new_deployment(cid)
        tokens = PF.token_count
        f, resp = self.launch(dep=dep, client_id=cid)
        text = self.assert_ok(resp)
        self.assertIn("is not https", html.unescape(text))
        self.assertIsNone(handler_record(dep), SRV.handlers())
        self.assertEqual(PF.puts_for(dep), [])
        self.assertEqual(PF.token_count, tokens)
        # The twin: an https PNS URL is taken, and the registration goes
        # on to the token endpoint.
        f, resp = self.launch(dep=dep, client_id=cid, claims={
            L.CLAIM_PNS: PF.pns_claim(dep, url="https://127.0.0.1:1/pns")})
        self.assert_ok(resp)
        rec = handler_record(dep)
        self.assertIsNotNone(rec, SRV.handlers())
        self.assertIn("access token", rec["last_error"])
        self.assertEqual(PF.puts_for(dep), [])

    def test_unknown_pns_deployment_404(self):
        dep = PF.new_deployment()
        ghost = PF.pns_url(999999)
        f, resp = self.launch(dep=dep, claims={
            L.CLAIM_PNS: PF.pns_claim(dep, url=ghost)})
        text = self.assert_ok(resp)
        rec = handler_record(dep)
        self.assertTrue(rec["last_error"], rec)
        self.assertIn(rec["last_error"], html.unescape(text))
        self.assertTrue([p for p in PF.puts if p["number"] == 999999])
        self.retry_succeeds(CLIENT_ID, dep)

    def test_slow_platform(self):
        cid = fresh_client("slow")
        dep = PF.new_deployment(cid)
        hang = SRV.http_timeout + 3
        PF.put_fault = {"hang": hang, "count": 1}
        t0 = time.monotonic()
        self.failing_launch(cid, dep)
        # Let the platform finish the hung request before the retry.
        wait_until(lambda: all(p["status"] is not None
                               for p in PF.puts_for(dep)),
                   timeout=hang + 5)
        self.assertGreaterEqual(time.monotonic() - t0, hang)
        PF.put_fault = None
        age_record(dep, "attempted_at", RETRY_AFTER + 60)
        n = len(PF.puts_for(dep))
        self.launch_ok(dep=dep, client_id=cid)
        self.assertGreater(len(PF.puts_for(dep)), n, "no retry")
        self.assert_registered(dep)


    def test_concurrent_launches_while_token_endpoint_hangs(self):
        # docs/launch.md promises that a slow platform delays a launch
        # by at most http_timeout.  Launches of one deployment used to
        # queue on its lock without limit, each set its deadline before
        # queueing, and each found the failure of the one before and
        # asked the hung token endpoint again: with http_timeout 5 and 8
        # launches at once they took 5, 6, ... 12 s, so a platform that
        # stops answering (or a peer that stalls it) made every teacher
        # wait longer the more launched.  Now one launch registers and
        # the others show the stored status at once.
        cid = fresh_client("herd")
        dep = PF.new_deployment(cid)
        flows = [self.flow(dep=dep, client_id=cid) for _ in range(8)]
        PF.token_hang = SRV.http_timeout + 3
        PF.set_token_mode("hang")
        n_tokens = PF.token_count
        results, elapsed = launch_together(flows)
        texts = [self.assert_ok(r) for r in results]
        self.assertLess(max(elapsed), SRV.http_timeout + slow(1.5), elapsed)
        # One launch asked for a token; the others neither called nor
        # waited for it.
        self.assertEqual(PF.token_count - n_tokens, 1, elapsed)
        self.assertLess(sorted(elapsed)[-2], slow(SRV.http_timeout / 2),
                        elapsed)
        self.assertTrue([t for t in texts if "updating the registration "
                         "now" in t], elapsed)
        self.assertEqual(PF.puts_for(dep), [])
        self.assertTrue(handler_record(dep)["last_error"])
        wait_until(lambda: all(t.get("done") for t in
                               PF.token_requests[n_tokens:]),
                   timeout=PF.token_hang + 30)
        # The twin: with the endpoint answering again (and the wait after
        # a failure over) the same launches register, once.
        PF.set_token_mode("ok")
        age_record(dep, "attempted_at", RETRY_AFTER + 60)
        self.retry_succeeds(cid, dep)
        self.assertEqual(PF.token_count - n_tokens, 2)

    def test_deployments_sharing_a_hung_token_endpoint(self):
        # The deployments of one registration share its access token: a
        # cache and a lock in data_dir/tokens.  A launch waited for that
        # lock without limit, then asked the token endpoint itself: with
        # the endpoint hung, launches of three deployments at once took
        # http_timeout, twice and three times that.  Each now waits for
        # the lock only as long as its own deadline allows.
        cid = fresh_client("shared")
        deps = [PF.new_deployment(cid) for _ in range(3)]
        flows = [self.flow(dep=d, client_id=cid) for d in deps]
        PF.token_hang = SRV.http_timeout + 3
        PF.set_token_mode("hang")
        n_tokens = PF.token_count
        results, elapsed = launch_together(flows)
        for r in results:
            self.assert_ok(r)
        self.assertLess(max(elapsed), SRV.http_timeout + slow(1.5), elapsed)
        for d in deps:
            self.assertTrue(handler_record(d)["last_error"], d)
            self.assertEqual(PF.puts_for(d), [])
        wait_until(lambda: all(t.get("done") for t in
                               PF.token_requests[n_tokens:]),
                   timeout=PF.token_hang + 30)
        # The twin: with the endpoint answering, each deployment
        # registers, and the token fetched for the first serves all.
        PF.set_token_mode("ok")
        before = len([t for t in PF.tokens_for(cid) if t.get("ok")])
        for d in deps:
            self.retry_succeeds(cid, d)
        self.assertEqual(len([t for t in PF.tokens_for(cid)
                              if t.get("ok")]), before + 1)

    def test_failed_registration_waits_before_the_next_attempt(self):
        # During an outage every launch asked for a token and PUT again,
        # and waited up to http_timeout for the answer: the platform got
        # a call per launch while it was down, and every launch was slow.
        # After a failure the same registration now waits RETRY_AFTER
        # seconds (the record is aged by hand); a launch inside the
        # window shows the stored error without calling the platform.
        cid = fresh_client("backoff")
        dep = PF.new_deployment(cid)
        PF.set_token_mode("500")
        _, rec = self.failing_launch(cid, dep)
        n = PF.token_count
        for age in (0, RETRY_AFTER - 60):
            age_record(dep, "attempted_at", age)
            _, later = self.failing_launch(cid, dep)
            self.assertEqual(PF.token_count, n, age)
            self.assertEqual(later["last_error"], rec["last_error"])
        # The twin: past the window the launch tries again (and fails,
        # the platform being still down).
        age_record(dep, "attempted_at", RETRY_AFTER + 60)
        self.failing_launch(cid, dep)
        self.assertEqual(PF.token_count, n + 1)
        # Another registration (here, fewer types) is not held off.
        hello_only = {L.CLAIM_PNS: PF.pns_claim(dep, types=[HELLO])}
        f = self.flow(dep=dep, client_id=cid, claims=hello_only)
        self.assert_ok(post_launch(f))
        self.assertEqual(PF.token_count, n + 2)
        self.assertEqual(handler_record(dep)["wanted"], HELLO)
        self.assertEqual(PF.puts_for(dep), [])
        # The administrator's way past the wait (docs/pnsctl.md): once
        # the platform is back, pnsctl handlers sync clears the error and
        # the next launch registers at once.
        PF.set_token_mode("ok")
        res = SRV.pnsctl("handlers", "sync", dep.deployment_id, check=False)
        self.assertEqual(res.returncode, 0, res)
        self.assertFalse(handler_record(dep)["last_error"])
        self.launch_ok(dep=dep, client_id=cid, claims=hello_only)
        self.assert_registered(dep, [HELLO])
        self.assertFalse(handler_record(dep)["last_error"])


class T09Pnsctl(LaunchTest):
    """pnsctl handlers remove / sync against the same platform API, and
    what a later launch does about it (docs/pnsctl.md)."""

    def test_remove_then_launch_registers_again(self):
        dep = PF.new_deployment()
        self.launch_ok(dep=dep)
        self.assert_registered(dep)
        n = len(PF.puts_for(dep))
        res = SRV.pnsctl("handlers", "remove", dep.deployment_id, COPY,
                         check=False)
        self.assertEqual(res.returncode, 0, res)
        last = PF.puts_for(dep)[n:]
        self.assertEqual([(p["json"], p["status"]) for p in last],
                         [({"notice_type": COPY, "handler": ""}, 200)])
        self.assertEqual(set(PF.handlers_of(dep)), {HELLO})
        self.assertNotIn(COPY, as_set(handler_record(dep)["types"]))
        # notice_types still lists it: the next launch subscribes again.
        self.launch_ok(dep=dep)
        self.assert_registered(dep)

    def test_sync_reads_the_catalog(self):
        dep = PF.new_deployment()
        self.launch_ok(dep=dep)
        self.assert_registered(dep)
        # The platform loses one subscription behind the tool's back.
        with PF._lock:
            dep.handlers.pop(HELLO)
        n_gets = len(PF.gets)
        res = SRV.pnsctl("handlers", "sync", dep.deployment_id, check=False)
        self.assertEqual(res.returncode, 0, res)
        self.assertGreater(len(PF.gets), n_gets)
        self.assertEqual(as_set(handler_record(dep)["types"]), {COPY})

    # flock(2) by its x86-64 number in /proc/PID/syscall.
    FLOCK = "73"

    def pnsctl_while_a_launch_registers(self, command, *rest):
        """Runs pnsctl handlers COMMAND DEPLOYMENT REST... for a
        deployment registered for hello world alone while a launch
        registers both types: pnsctl reads the records while the launch
        holds the deployment's lock (its first PUT answered late), waits
        for it, and goes on once the launch has written its record.
        Returns the deployment and what pnsctl printed."""
        # The kernels this runs on (Debian's) have /proc/PID/syscall; a
        # check that cannot see pnsctl wait fails rather than passes.
        self.assertIsNotNone(H.thread_syscalls(os.getpid()),
                             "no /proc/PID/syscall to see pnsctl wait")
        dep = PF.new_deployment()
        self.launch_ok(dep=dep, claims={
            L.CLAIM_PNS: PF.pns_claim(dep, types=[HELLO])})
        n = len(PF.puts_for(dep))
        f = self.flow(dep=dep)
        PF.put_fault = {"delay": 2.0, "count": 1}
        launch = []
        t = threading.Thread(target=lambda: launch.append(post_launch(f)))
        t.start()
        proc = None
        try:
            self.assertTrue(wait_until(lambda: len(PF.puts_for(dep)) > n),
                            "the launch sent no PUT")
            proc = subprocess.Popen(
                [str(H.PNSCTL), "handlers", command, dep.deployment_id] +
                list(rest), env=SRV.env,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            waits = wait_until(lambda: self.FLOCK in (
                H.thread_syscalls(proc.pid) or ()), timeout=5)
            # pnsctl read the records before it waited, and the launch
            # had not written its own yet: pnsctl's copy is stale.
            self.assertTrue(waits, "pnsctl did not wait for the lock")
            self.assertEqual(handler_record(dep)["wanted"], HELLO)
        finally:
            t.join(timeout=slow(30))
            out, err = proc.communicate(timeout=60) if proc else ("", "")
        self.assert_ok(launch[0])
        self.assertEqual(proc.returncode, 0, out + err)
        return dep, out

    def test_remove_works_from_the_record_under_the_lock(self):
        # pnsctl handlers remove wrote back the record it had read before
        # it took the deployment's lock, less the type removed: a launch
        # that registered in between was undone in the record (here:
        # LtiContextCopyNotice registered, and the record said nothing
        # was).  It now reads the record again under the lock.
        dep, _ = self.pnsctl_while_a_launch_registers("remove", HELLO)
        self.assertEqual(set(PF.handlers_of(dep)), {COPY})
        rec = handler_record(dep)
        self.assertEqual(as_set(rec["types"]), {COPY}, rec)
        self.assertEqual(as_set(rec["wanted"]), set(TOOL_TYPES), rec)

    def test_sync_works_from_the_record_under_the_lock(self):
        # The same for pnsctl handlers sync: it wrote back the launch's
        # predecessor (here, its wanted types), so that the next launch,
        # finding another registration recorded, registered everything
        # again.  The twin of both: test_sync_reads_the_catalog and
        # test_remove_then_launch_registers_again, with no launch
        # in between.
        dep, out = self.pnsctl_while_a_launch_registers("sync")
        rec = handler_record(dep)
        self.assertEqual(as_set(rec["types"]), set(TOOL_TYPES), rec)
        self.assertEqual(as_set(out.split("registered types", 1)[1]),
                         set(TOOL_TYPES), out)
        self.assertEqual(as_set(rec["wanted"]), set(TOOL_TYPES), rec)
        n = len(PF.puts_for(dep))
        self.launch_ok(dep=dep)
        self.assertEqual(PF.puts_for(dep)[n:], [])

    def test_unknown_deployment(self):
        res = SRV.pnsctl("handlers", "remove", "no-such-deployment", COPY,
                         check=False)
        self.assertNotEqual(res.returncode, 0, res)
        res = SRV.pnsctl("handlers", "sync", "no-such-deployment",
                         check=False)
        self.assertNotEqual(res.returncode, 0, res)


class T98Moved(LaunchTest):
    """Runs late: the tool moves to another base_url (here, another
    port), so every handler URL changes."""

    def test_handler_url_changed_registers_again(self):
        dep = PF.new_deployment()
        self.launch_ok(dep=dep)
        old_handler = self.assert_registered(dep)[HELLO]
        n = len(PF.puts_for(dep))
        SRV.stop_lighttpd()
        SRV.port = H.free_port()
        SRV.write_config()
        SRV.start()
        PF.tool_base_url = SRV.base_url
        self.launch_ok(dep=dep)
        later = PF.puts_for(dep)[n:]
        self.assertEqual(sorted(p["json"]["notice_type"] for p in later),
                         sorted(TOOL_TYPES), later)
        new_handler = self.assert_registered(dep)[HELLO]
        self.assertNotEqual(new_handler, old_handler)
        self.assertEqual(handler_record(dep)["handler"], new_handler)


class T99Expiry(LaunchTest):
    """Runs last: the login made at set-up has outlived state_ttl."""

    def test_expired_state(self):
        remaining = EARLY.started + STATE_TTL + 2 - time.monotonic()
        if remaining > 0:
            time.sleep(remaining)
        before = {"known": known_deployments(), "tokens": PF.token_count,
                  "all_puts": len(PF.puts)}
        self.assert_code(post_launch(EARLY), "bad_state")
        self.assert_no_trace(before, EARLY.dep)
        # The twin: a fresh login works.
        self.accept()

    def test_still_serving(self):
        self.assertIsNone(SRV.proc.poll(), "lighttpd exited")
        self.accept()


ORDER = [T01Platform, T02Login, T03Launch, T04Routes, T05Rejected,
         T06State, T07Registration, T08Faults, T09Pnsctl, T98Moved,
         T99Expiry]


def main():
    return H.run_suites(sys.modules[__name__], ORDER, lambda: SRV)


if __name__ == "__main__":
    sys.exit(main())

# SPDX-License-Identifier: ISC
"""Integration tests of LTI Dynamic Registration (docs/register.md).

A real lighttpd serves cgi-bin/lti.cgi; the independent test platform
(lti_platform.py) plays Canvas: an OpenID configuration that wants the
registration token, a registration endpoint that checks the tool's
registration (the noticehandlers scope, and its jwks_uri serving the
tool's key) and answers with a client_id and a deployment, then the
launch, the notice-handlers API and the hello-world notice.

The platform's issuer is http://127.0.0.1, the host its OpenID
configuration is served from (the ports differ, as the issuer is an
identifier and not a server), so the suite runs with
registration_allow_http = yes; the refusal of http without it is one of
the tests.

Every refusal is checked for its status, for the code of docs/register.md
in the page, for storing nothing (`pnsctl platform list --json`) and, for
the refusals of the door itself, for making no request at all; each has
a twin that the same setup accepts.  The configuration is rewritten
between tests: lti.cgi reads it at every request.

Run from the repository root:  /usr/bin/python3 tests/integ/test_register.py
(a subset: ... test_register.py T03Door T04Platform.test_issuer_mismatch)
The last line of output is "integration: N passed, M failed".
"""

import base64
import contextlib
import hashlib
import html
import http.client
import json
import os
import re
import sys
import time
import unittest
import urllib.parse

import harness as H
import lti_platform as L
import pns_platform as P

DELETE = P.DELETE
HELLO = L.HELLO_WORLD
TOOL_TYPES = H.NOTICE_TYPES.split()
ISSUER = "http://127.0.0.1"
SEED_CLIENT = "pns-dr-seed"
SECRET = "0123456789abcdef0123456789abcdef"
TOOL_TITLE = "PNS registration tool"
CLOSE = 'postMessage({subject:"org.imsglobal.lti.close"},"*")'

# The suite's configuration; tests change it for a while (configured()).
BASE_CONFIG = {"tool_title": TOOL_TITLE, "registration": "on",
               "registration_issuer_hosts": "127.0.0.1",
               "registration_allow_http": "yes"}

RP = None               # the test platform
SRV = None              # lighttpd + lti.cgi + notices.fcgi


def slow(seconds):
    return seconds * SRV.slow


def lti_path(route=""):
    return "/cgi-bin/lti.cgi" + route


def target():
    return SRV.base_url + "/lti.cgi/launch"


def wait_until(pred, timeout=10.0, step=0.1):
    deadline = time.monotonic() + slow(timeout)
    while True:
        value = pred()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


def page_text(resp):
    return resp.body.decode("utf-8", "replace")


def page_row(text, label):
    m = re.search(r"<tr><th>%s</th><td>(.*?)</td></tr>" % re.escape(label),
                  text)
    assert m is not None, "no row %r in the page" % label
    return html.unescape(m.group(1))


def platform_request(method, url, body=None, headers=None):
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


@contextlib.contextmanager
def configured(**changes):
    """pns.conf with changes (None removes a key) for the block."""
    saved = dict(SRV.extra_config)
    for key, value in changes.items():
        if value is None:
            SRV.extra_config.pop(key, None)
        else:
            SRV.extra_config[key] = value
    SRV.write_config()
    try:
        yield
    finally:
        SRV.extra_config = saved
        SRV.write_config()


def register(token=True, oc_url=None, secret=None, raw_query=None,
             method="GET"):
    """GET /register as the platform's frame opens it."""
    params = {"openid_configuration": oc_url or RP.openid_configuration_url}
    if token is True:
        params["registration_token"] = RP.new_registration_token()
    elif token:
        params["registration_token"] = token
    if secret is not None:
        params["secret"] = secret
    query = raw_query if raw_query is not None else \
        urllib.parse.urlencode(params)
    return SRV.request(method, lti_path("/register") + "?" + query)


def stored(client_id, issuer=ISSUER):
    """The `pnsctl platform list --json` records of (issuer, client_id)."""
    return [p for p in SRV.platforms()
            if p["issuer"] == issuer and p["client_id"] == client_id]


def launch(dep, client_id):
    """A whole launch (login, the platform's auth, POST /launch) of the
    deployment with this client_id; returns the /launch response."""
    hint = RP.prepare_launch(target(), dep, client_id=client_id)
    params = RP.login_params(hint)
    login = SRV.request("GET", lti_path("/login") + "?" +
                        urllib.parse.urlencode(params))
    assert login.status == 302, (login, SRV.error_log()[-2000:])
    state = None
    for k, v in login.headers:
        if k.lower() == "set-cookie" and v.startswith(H.STATE_COOKIE):
            state = v.split(";", 1)[0].split("=", 1)[1]
    auth = platform_request("GET", login.header("Location"))
    assert auth.status == 200, (auth, RP.auth_requests[-1:])
    _, action, fields = L.parse_form(auth.body)
    return SRV.request(
        "POST", urllib.parse.urlsplit(action).path,
        body=urllib.parse.urlencode(dict(fields)).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded",
                 "Cookie": H.state_cookie(state)})


def setUpModule():
    global RP, SRV
    for path in (H.LTI_CGI, H.FCGI, H.PNSCTL):
        if not os.access(path, os.X_OK):
            raise RuntimeError("%s is not built (run make)" % path)
    RP = L.LtiPlatform(ISSUER, SEED_CLIENT).start()
    RP.start_registration()
    SRV = H.Server(extra_config=BASE_CONFIG)
    try:
        SRV.init()
        SRV.start()
        RP.tool_base_url = SRV.base_url
    except BaseException:
        tearDownModule()
        raise


def tearDownModule():
    if SRV is not None:
        SRV.stop()
    if RP is not None:
        RP.stop_registration()
        RP.stop()


class RegisterTest(unittest.TestCase):
    """Helpers shared by the tests."""

    maxDiff = None

    def tearDown(self):
        RP.reset_faults()
        RP.reset_registration_faults()

    def snapshot(self):
        return {"platforms": SRV.platforms(),
                "oc_requests": len(RP.oc_requests),
                "registrations": len(RP.registrations)}

    def assert_page(self, resp, status):
        self.assertEqual(resp.status, status,
                         "%r\n%s" % (resp, SRV.error_log()[-3000:]))
        ctype = resp.header("Content-Type") or ""
        self.assertEqual(ctype.split(";")[0].strip().lower(), "text/html",
                         resp)
        return page_text(resp)

    def assert_refused(self, resp, code, status, before, fetched=True,
                       posted=False):
        """A refusal page naming code; nothing stored; the platform asked
        for its configuration only when fetched, and for a registration
        only when posted."""
        text = self.assert_page(resp, status)
        self.assertRegex(text, r"<code>%s</code>" % re.escape(code),
                         text[:2000])
        self.assertIn("Nothing was stored", text)
        self.assertNotIn("<script", text)
        self.assertEqual(SRV.platforms(), before["platforms"],
                         "a refused registration stored something")
        if not fetched:
            self.assertEqual(len(RP.oc_requests), before["oc_requests"],
                             "the door let a request through")
        if not posted:
            self.assertEqual(len(RP.registrations), before["registrations"],
                             "a registration was posted")
        return text

    def refuse(self, code, status, fetched=True, posted=False, **kw):
        before = self.snapshot()
        resp = register(**kw)
        return self.assert_refused(resp, code, status, before, fetched,
                                   posted)

    def accept(self, **kw):
        """The twin: a registration that is stored; returns (response,
        the platform's record of it, the stored platform)."""
        n = len(RP.registrations)
        resp = register(**kw)
        text = self.assert_page(resp, 200)
        self.assertGreater(len(RP.registrations), n, "nothing was posted")
        rec = RP.registrations[-1]
        self.assertEqual((rec["status"], rec["errors"]), (200, []), rec)
        self.assertEqual(page_row(text, "Client ID"), rec["client_id"])
        got = stored(rec["client_id"])
        self.assertEqual(len(got), 1, SRV.platforms())
        return resp, rec, got[0]


class T01Platform(RegisterTest):
    """The test platform itself, so that a failure elsewhere points at
    lti.cgi and not at the test."""

    def test_openid_configuration_wants_the_token(self):
        r = platform_request("GET", RP.openid_configuration_url)
        self.assertEqual(r.status, 401)
        token = RP.new_registration_token()
        r = platform_request("GET", RP.openid_configuration_url,
                             headers={"Authorization": "Bearer " + token})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["issuer"], ISSUER)
        self.assertEqual(r.json["registration_endpoint"], RP.registration_url)
        self.assertIn(L.SCOPE_NOTICEHANDLERS, r.json["scopes_supported"])
        self.assertEqual(r.json[L.PLATFORM_CONFIGURATION]
                         ["product_family_code"], "canvas")

    def test_registration_endpoint_checks_the_request(self):
        token = RP.new_registration_token()
        r = platform_request("POST", RP.registration_url, body=b"{}",
                             headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 401)
        r = platform_request("POST", RP.registration_url, body=b"{}",
                             headers={"Content-Type": "application/json",
                                      "Authorization": "Bearer " + token})
        self.assertEqual(r.status, 422, r)
        errors = " ".join(r.json["errors"])
        for word in ("application_type", "grant_types", "redirect_uris",
                     "jwks_uri", "token_endpoint_auth_method", "scope"):
            self.assertIn(word, errors)


class T02Register(RegisterTest):
    """Register, then launch with the new client_id: the handlers are
    registered by the launch and the hello-world notice arrives."""

    def test_register_launch_notice(self):
        before = len(RP.oc_requests)
        resp, rec, plat = self.accept()
        text = page_text(resp)
        # The configuration and the registration both carried the token.
        token = rec["authorization"].split(" ", 1)[1]
        self.assertEqual(RP.oc_requests[before]["authorization"],
                         "Bearer " + token)
        self.assertTrue(RP.registration_tokens[token])
        # What the tool asked for.
        body = rec["json"]
        base = SRV.base_url
        self.assertEqual(body["application_type"], "web")
        self.assertEqual(body["response_types"], ["id_token"])
        self.assertEqual(sorted(body["grant_types"]),
                         ["client_credentials", "implicit"])
        self.assertEqual(body["initiate_login_uri"], base + "/lti.cgi/login")
        self.assertEqual(body["redirect_uris"], [base + "/lti.cgi/launch"])
        self.assertEqual(body["jwks_uri"], base + "/lti.cgi/jwks")
        self.assertEqual(body["client_name"], TOOL_TITLE)
        self.assertEqual(body["token_endpoint_auth_method"],
                         "private_key_jwt")
        self.assertEqual(body["scope"], L.SCOPE_NOTICEHANDLERS)
        tc = body[L.TOOL_CONFIGURATION]
        self.assertEqual(tc["domain"], "127.0.0.1")
        self.assertEqual(tc["target_link_uri"], base + "/lti.cgi/launch")
        self.assertEqual([m["type"] for m in tc["messages"]],
                         ["LtiResourceLinkRequest"])
        # The key set the platform fetched is the tool's.
        tool_jwks = json.loads(SRV.pnsctl("key", "show").stdout)
        self.assertEqual([k["kid"] for k in rec["tool_jwks"]["keys"]],
                         [k["kid"] for k in tool_jwks["keys"]])
        # What the tool stored.
        dep = rec["deployment"]
        self.assertEqual(plat["registered_by"], "dynamic")
        self.assertTrue(plat["registered_at"])
        self.assertEqual(plat["auth_url"], RP.auth_url)
        self.assertEqual(plat["token_url"], RP.token_url)
        self.assertEqual(plat["jwks_url"], RP.jwks_url)
        self.assertEqual(plat["deployments"], [dep.deployment_id])
        self.assertEqual(page_row(text, "Deployment"), dep.deployment_id)
        self.assertEqual(page_row(text, "Record"), "new")
        listing = SRV.pnsctl("platform", "list").stdout
        line = [x for x in listing.splitlines()
                if ("\t%s\t" % rec["client_id"]) in x]
        self.assertEqual(len(line), 1, listing)
        self.assertIn("dynamic " + plat["registered_at"], line[0])

        # Launch with the new client_id: handlers, then the notice.
        r = launch(dep, rec["client_id"])
        self.assertEqual(r.status, 200, "%r\n%s" % (r, SRV.error_log()
                                                    [-3000:]))
        wait_until(lambda: set(RP.handlers_of(dep)) == set(TOOL_TYPES))
        self.assertEqual(set(RP.handlers_of(dep)), set(TOOL_TYPES),
                         RP.puts_for(dep))
        got = wait_until(lambda: [
            n for n in SRV.notices()
            if n["deployment_id"] == dep.deployment_id and
            n["type"] == HELLO and n["client_id"] == rec["client_id"]])
        self.assertTrue(got, "no hello-world notice stored")
        self.assertEqual(got[0]["iss"], ISSUER)

    def test_confirmation_page_closes_by_its_script_only(self):
        resp, rec, _ = self.accept()
        text = page_text(resp)
        scripts = re.findall(r"<script>(.*?)</script>", text, re.S)
        self.assertEqual(len(scripts), 1, text)
        script = scripts[0]
        self.assertIn(CLOSE, script)
        # Nothing from the platform in the script.
        for value in (rec["client_id"], ISSUER, rec["deployment"]
                      .deployment_id):
            self.assertNotIn(value, script)
        # No warnings: it closes at once.
        self.assertNotIn('id="warnings"', text)
        csp = resp.header("Content-Security-Policy")
        m = re.search(r"script-src 'sha256-([A-Za-z0-9+/=]+)'", csp or "")
        self.assertIsNotNone(m, csp)
        digest = base64.b64encode(hashlib.sha256(script.encode())
                                  .digest()).decode()
        self.assertEqual(m.group(1), digest)
        self.assertIn("default-src 'none'", csp)
        # Other pages keep the policy without scripts.
        other = SRV.request("GET", lti_path("/jwks"))
        self.assertNotIn("script-src",
                         other.header("Content-Security-Policy"))

    def test_no_deployment_in_the_answer(self):
        RP.registration_deployment = False
        resp, rec, plat = self.accept()
        self.assertEqual(plat["deployments"], [])
        self.assertIn("first launch", page_row(page_text(resp),
                                               "Deployment"))
        # The launch makes it known, as for any platform.
        dep = rec["deployment"]
        r = launch(dep, rec["client_id"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(stored(rec["client_id"])[0]["deployments"],
                         [dep.deployment_id])

    def test_register_again_updates_the_record(self):
        _, first, plat = self.accept()
        cid = first["client_id"]
        time.sleep(1.1)
        RP.next_client_id = cid
        resp, again, plat2 = self.accept()
        self.assertEqual(again["client_id"], cid)
        self.assertEqual(len(stored(cid)), 1)
        self.assertEqual(page_row(page_text(resp), "Record"),
                         "updated (registered again)")
        self.assertEqual(plat2["registered_at"], plat["registered_at"])
        self.assertGreater(plat2["updated_at"], plat["registered_at"])
        self.assertEqual(set(plat2["deployments"]),
                         {first["deployment"].deployment_id,
                          again["deployment"].deployment_id})
        listing = SRV.pnsctl("platform", "list").stdout
        self.assertIn("updated " + plat2["updated_at"], listing)

    def test_manual_record_becomes_dynamic(self):
        cid = "pns-dr-manual-1"
        SRV.add_platform(ISSUER, cid, RP.jwks_url, ["manual-dep"],
                         auth_url="http://127.0.0.1:1/auth",
                         token_url="http://127.0.0.1:1/token")
        self.assertEqual(stored(cid)[0]["registered_by"], "manual")
        RP.next_client_id = cid
        _, rec, plat = self.accept()
        self.assertEqual(len(stored(cid)), 1)
        self.assertEqual(plat["registered_by"], "dynamic")
        self.assertEqual(plat["auth_url"], RP.auth_url)
        self.assertEqual(set(plat["deployments"]),
                         {"manual-dep", rec["deployment"].deployment_id})

    def test_scope_not_offered(self):
        # A platform without the notice-handlers scope: registered with
        # no scope, and the page says what that means (no auto-close).
        RP.oc_overrides = {"scopes_supported": [
            s for s in L.DR_SCOPES_SUPPORTED
            if s != L.SCOPE_NOTICEHANDLERS]}
        resp, rec, _ = self.accept()
        self.assertEqual(rec["json"]["scope"], "")
        text = page_text(resp)
        self.assertIn('id="warnings"', text)
        self.assertIn("notice-handlers scope", text)
        # The twin: offered, asked for.
        RP.oc_overrides = None
        _, rec, _ = self.accept()
        self.assertEqual(rec["json"]["scope"], L.SCOPE_NOTICEHANDLERS)

    def test_no_scope_list(self):
        RP.oc_overrides = {"scopes_supported": DELETE}
        _, rec, _ = self.accept()
        self.assertEqual(rec["json"]["scope"], L.SCOPE_NOTICEHANDLERS)

    def test_notice_types_not_supported(self):
        RP.oc_platform_overrides = {"notice_types_supported":
                                    ["LtiSomethingElseNotice"]}
        resp, _, _ = self.accept()
        text = page_text(resp)
        self.assertIn('id="warnings"', text)
        self.assertIn("none of the notice types", text)
        RP.oc_platform_overrides = {"notice_types_supported": DELETE}
        resp, _, _ = self.accept()
        self.assertNotIn('id="warnings"', page_text(resp))


class T03Door(RegisterTest):
    """The configuration's door: off, not set up, allow-list, secret,
    https; every refusal is made before any request goes out."""

    def test_registration_off(self):
        for value in ("off", None):
            with self.subTest(registration=value), \
                    configured(registration=value):
                self.refuse("registration_off", 403, fetched=False)
        with configured(registration="on"):
            self.accept()

    def test_on_without_allow_list_or_secret(self):
        with configured(registration_issuer_hosts=None):
            self.refuse("registration_not_configured", 503, fetched=False)
        with configured(registration_issuer_hosts=None,
                        registration_secret=SECRET):
            self.accept(secret=SECRET)

    def test_issuer_not_on_the_allow_list(self):
        with configured(registration_issuer_hosts="platform.example"):
            self.refuse("issuer_not_allowed", 403, fetched=False)
        # Exact host match: localhost is not 127.0.0.1.
        local = RP.openid_configuration_url.replace("127.0.0.1",
                                                    "localhost")
        self.refuse("issuer_not_allowed", 403, fetched=False, oc_url=local)
        with configured(registration_issuer_hosts="platform.example "
                        "127.0.0.1"):
            self.accept()

    def test_secret(self):
        with configured(registration_issuer_hosts=None,
                        registration_secret=SECRET):
            self.refuse("bad_secret", 403, fetched=False)
            for wrong in (SECRET[:-1] + "0", SECRET[:-1], SECRET + "0",
                          SECRET.upper(), ""):
                with self.subTest(secret=wrong):
                    self.refuse("bad_secret", 403, fetched=False,
                                secret=wrong)
            self.accept(secret=SECRET)

    def test_secret_and_allow_list_both_apply(self):
        with configured(registration_secret=SECRET):
            self.refuse("bad_secret", 403, fetched=False)
            local = RP.openid_configuration_url.replace("127.0.0.1",
                                                        "localhost")
            self.refuse("issuer_not_allowed", 403, fetched=False,
                        secret=SECRET, oc_url=local)
            self.accept(secret=SECRET)

    def test_http_needs_allow_http(self):
        for value in ("no", None):
            with self.subTest(registration_allow_http=value), \
                    configured(registration_allow_http=value):
                self.refuse("insecure_url", 403, fetched=False)
        self.accept()

    def test_bad_requests(self):
        self.refuse("bad_request", 400, fetched=False,
                    raw_query="registration_token=x")
        url = urllib.parse.quote(RP.openid_configuration_url, safe="")
        self.refuse("bad_request", 400, fetched=False,
                    raw_query="openid_configuration=%s&openid_configuration"
                    "=%s" % (url, url))
        for bad in ("ftp://127.0.0.1/x", "127.0.0.1/x",
                    RP.openid_configuration_url.replace(
                        "127.0.0.1", "platform.example@127.0.0.1"),
                    RP.openid_configuration_url.replace(
                        "/api", "\\@platform.example/api")):
            with self.subTest(url=bad):
                self.refuse("bad_request", 400, fetched=False, oc_url=bad)
        self.refuse("bad_request", 400, fetched=False,
                    token="two words")
        self.accept()

    def test_only_get(self):
        r = SRV.request("POST", lti_path("/register"), body=b"x=1",
                        headers={"Content-Type":
                                 "application/x-www-form-urlencoded"})
        self.assertEqual(r.status, 405)
        self.assertEqual(r.header("Allow"), "GET")

    def test_head_registers_nothing(self):
        # A HEAD request (a link checker, a prefetch) must not set off a
        # registration: it is refused before anything is fetched.
        before = self.snapshot()
        r = register(method="HEAD")
        self.assertEqual(r.status, 405)
        self.assertEqual(r.header("Allow"), "GET")
        self.assertEqual(SRV.platforms(), before["platforms"])
        self.assertEqual(len(RP.oc_requests), before["oc_requests"])
        self.assertEqual(len(RP.registrations), before["registrations"])
        # Routes without side effects still answer HEAD.
        self.assertEqual(SRV.request("HEAD", lti_path("/jwks")).status, 200)
        self.accept()

    def test_refusals_are_logged(self):
        with configured(registration_issuer_hosts=None,
                        registration_secret=SECRET):
            self.refuse("bad_secret", 403, fetched=False, secret="nope")
        self.assertTrue(wait_until(
            lambda: "registration refused: bad_secret" in SRV.error_log(),
            timeout=5), SRV.error_log()[-2000:])
        # The secret given is never logged.
        self.assertNotIn("secret=nope", SRV.error_log())


class T04Platform(RegisterTest):
    """What the platform says: its configuration and its answer."""

    def test_issuer_mismatch(self):
        for issuer in ("http://localhost", "http://127.0.0.2",
                       "http://platform.example"):
            with self.subTest(issuer=issuer):
                RP.oc_overrides = {"issuer": issuer}
                self.refuse("issuer_mismatch", 502)
        RP.oc_overrides = None
        self.accept()

    def test_missing_endpoints(self):
        for name in ("issuer", "authorization_endpoint", "token_endpoint",
                     "jwks_uri", "registration_endpoint",
                     L.PLATFORM_CONFIGURATION):
            with self.subTest(missing=name):
                RP.oc_overrides = {name: DELETE}
                self.refuse("bad_openid_configuration", 502)
        RP.oc_overrides = None
        self.accept()

    def test_unusable_configuration(self):
        bad = [
            {"token_endpoint": "not a url"},
            {"jwks_uri": 42},
            {"issuer": "http://127.0.0.1/?x=1"},
            {"token_endpoint_auth_methods_supported":
             ["client_secret_basic"]},
            {"id_token_signing_alg_values_supported": ["HS256"]},
            {"scopes_supported": "all of them"},
        ]
        for change in bad:
            with self.subTest(change=change):
                RP.oc_overrides = change
                self.refuse("bad_openid_configuration", 502)
        RP.oc_overrides = None
        RP.oc_platform_overrides = {"messages_supported": [
            {"type": "LtiDeepLinkingRequest"}]}
        self.refuse("bad_openid_configuration", 502)
        RP.oc_platform_overrides = None
        self.accept()

    def test_configuration_garbage(self):
        RP.oc_raw = b"<html><body>Maintenance</body></html>"
        self.refuse("bad_openid_configuration", 502)
        RP.oc_raw = b'{"issuer": "http://127.0.0.1"'
        self.refuse("bad_openid_configuration", 502)
        RP.oc_raw, RP.oc_status = b"oops", 500
        self.refuse("platform_unreachable", 502)
        RP.oc_raw, RP.oc_status = None, 200
        self.accept()

    def test_configuration_needs_the_token(self):
        # Canvas answers 401 without the registration token.
        self.refuse("platform_unreachable", 502, token=False)
        self.accept()

    def test_unreachable(self):
        url = "http://127.0.0.1:%d/api/lti/security/openid-configuration" \
            % H.free_port()
        self.refuse("platform_unreachable", 502, oc_url=url)
        self.accept()

    def test_platform_refuses(self):
        for status in (400, 401, 422, 500):
            with self.subTest(status=status):
                RP.registration_fault = {"status": status}
                text = self.refuse("registration_refused", 502, posted=True)
                # Its error body is shown, as text.
                self.assertIn(html.escape(L.FAULT_MESSAGE, quote=False)
                              .replace("'", "&#39;"), text)
                self.assertIn("HTTP %d" % status, text)
        RP.registration_fault = None
        self.accept()

    def test_platform_answers_garbage(self):
        bad = [{"raw": b"<html>registered, probably</html>"},
               {"raw": b"[]"},
               {"answer": {"client_id": DELETE}},
               {"answer": {"client_id": 10000000000042}},
               {"answer": {"client_id": ""}},
               {"answer": {L.TOOL_CONFIGURATION: "x"}},
               {"answer": {L.TOOL_CONFIGURATION: {"deployment_id": 7}}}]
        for fault in bad:
            with self.subTest(fault=fault):
                RP.registration_fault = fault
                self.refuse("bad_registration_response", 502, posted=True)
        RP.registration_fault = None
        self.accept()

    def test_platform_too_slow(self):
        RP.registration_fault = {"hang": SRV.http_timeout + 2}
        t0 = time.monotonic()
        self.refuse("platform_unreachable", 502, posted=True)
        self.assertLess(time.monotonic() - t0, SRV.http_timeout + slow(4))
        time.sleep(3)
        RP.registration_fault = None
        self.accept()


ORDER = [T01Platform, T02Register, T03Door, T04Platform]


def main():
    return H.run_suites(sys.modules[__name__], ORDER, lambda: SRV)


if __name__ == "__main__":
    sys.exit(main())

# SPDX-License-Identifier: ISC
"""A test LTI 1.3 platform for launches and notice-handler registration.

It extends platform.TestPlatform (keys, JWKS, notice tokens) with what a
tool meets when it is launched and registers its notice handlers, shaped
after Canvas (see /work/shared/reference/pns-protocol.md, 2.1, 2.2, 2.7
and 4) and written, like pns_platform.py, with Debian's python3-jwt and
python3-cryptography only, independently of the C code under test:

* an OIDC authorization endpoint (GET or POST /auth) that checks the
  request the tool's /login redirected the browser to and answers with an
  auto-submitting HTML form (form_post) carrying a signed
  LtiResourceLinkRequest id_token and the state;
* an OAuth 2 token endpoint (client_credentials with an RFC 7523 client
  assertion, verified against the TOOL's key set fetched from its /jwks),
  on its own port so that it can be taken down (connection refused) and
  brought back on the same port;
* Canvas's notice-handlers API per deployment (GET catalog, PUT one
  handler per type, "" unsubscribes), which, like Canvas, sends a freshly
  signed LtiHelloWorldNotice to the handler right after a successful PUT
  subscribing that type.

Every request is recorded so tests can count and inspect them, and every
part can be told to misbehave for one test (fault switches).

Several registrations (client ids) share the platform's issuer and keys,
as Canvas developer keys share https://canvas.instructure.com: a tool
caches one access token per registration, so a test that must see a
fresh token request uses a registration of its own.
"""

import html
import html.parser
import http.client
import json
import secrets
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler

import jwt

import pns_platform as P

DELETE = P.DELETE
apply_overrides = P.apply_overrides

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
CLAIM_VERSION = LTI + "version"
CLAIM_MESSAGE_TYPE = LTI + "message_type"
CLAIM_DEPLOYMENT = LTI + "deployment_id"
CLAIM_TARGET_LINK_URI = LTI + "target_link_uri"
CLAIM_RESOURCE_LINK = LTI + "resource_link"
CLAIM_ROLES = LTI + "roles"
CLAIM_CONTEXT = LTI + "context"
CLAIM_TOOL_PLATFORM = LTI + "tool_platform"
CLAIM_LAUNCH_PRESENTATION = LTI + "launch_presentation"
CLAIM_PNS = LTI + "platformnotificationservice"
CLAIM_DL_SETTINGS = \
    "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"

SCOPE_NOTICEHANDLERS = \
    "https://purl.imsglobal.org/spec/lti/scope/noticehandlers"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

ROLE_INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
ROLE_LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
ROLE_ADMIN = \
    "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"

HELLO_WORLD = P.HELLO_WORLD
CONTEXT_COPY = P.CONTEXT_COPY
ASSET_SUBMISSION = "LtiAssetProcessorSubmissionNotice"
# What the platform knows (Lti::Pns::NoticeTypes::ALL) and advertises.
ALL_NOTICE_TYPES = [HELLO_WORLD, CONTEXT_COPY, ASSET_SUBMISSION]

TOKEN_PATH = "/login/oauth2/token"
# What a faulty platform says, with markup: a tool that shows the error on
# an HTML page must escape it.
FAULT_MESSAGE = "fault injected by the test <script>alert('pns')</script>"
TOKEN_LIFETIME = 3600
ID_TOKEN_LIFETIME = 3600


class FormParser(html.parser.HTMLParser):
    """The first <form> of a page: its method, action and input fields,
    as a browser would submit them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = []
        self._in_form = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"method": (attrs.get("method") or "get")
                               .lower(), "action": attrs.get("action"),
                               "fields": []})
            self._in_form = True
        elif tag == "input" and self._in_form and attrs.get("name"):
            self.forms[-1]["fields"].append((attrs["name"],
                                             attrs.get("value") or ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False


def parse_form(page):
    """(method, action, fields) of the first form in an HTML page."""
    parser = FormParser()
    parser.feed(page if isinstance(page, str) else page.decode("utf-8"))
    parser.close()
    if not parser.forms:
        raise ValueError("no form in the page")
    form = parser.forms[0]
    return form["method"], form["action"], form["fields"]


def _read_body(handler):
    """The request body, by Content-Length or chunked (what libcurl sends
    when it streams an upload)."""
    te = (handler.headers.get("Transfer-Encoding") or "").lower()
    if "chunked" in te:
        chunks = []
        while True:
            line = handler.rfile.readline(1024)
            size = int(line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                # Trailers, up to the empty line.
                while handler.rfile.readline(1024) not in (b"\r\n", b"\n",
                                                           b""):
                    pass
                break
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline(16)
        return b"".join(chunks)
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def _single_params(query):
    """A query or form string as {name: value}, and the names given more
    than once."""
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    out, repeated = {}, set()
    for name, value in pairs:
        if name in out:
            repeated.add(name)
        out[name] = value
    return out, repeated


class Deployment:
    """One installation of the tool (a Canvas ContextExternalTool): its
    number in the PNS URL, its deployment_id and its handlers."""

    def __init__(self, number, deployment_id, client_id):
        self.number = number
        self.deployment_id = deployment_id
        self.client_id = client_id
        self.handlers = {}          # notice type -> handler URL

    def __repr__(self):
        return "<Deployment %s %r>" % (self.number, self.deployment_id)


class LtiPlatform(P.TestPlatform):
    """The test platform with an OIDC auth endpoint, a token endpoint and
    the notice-handlers API.  tool_base_url (the tool's base_url) must be
    set before a launch: the token endpoint fetches the tool's keys from
    {tool_base_url}/lti.cgi/jwks, and handler URLs must be on its host."""

    def __init__(self, issuer, client_id):
        super().__init__(issuer, client_id, deployment_id=None)
        self.tool_base_url = None
        self.clients = {client_id}
        self.notice_types_supported = list(ALL_NOTICE_TYPES)
        self._deployments = {}      # number -> Deployment
        self._next_number = 100
        self._launch_specs = {}     # login_hint -> spec
        # Records.
        self.auth_requests = []     # dicts: params, errors, status
        self.token_requests = []    # dicts: form, header, claims, error
        self.puts = []              # dicts, see _pns_put
        self.gets = []
        self.deliveries = []        # hello-world notices sent
        self._jtis = set()
        self._tokens = {}           # access token -> (client_id, exp)
        # Fault switches (reset()).
        self.token_mode = "ok"      # ok, 500, 400, refuse
        self.token_expires_in = TOKEN_LIFETIME
        self.token_hang = 0
        self.put_answers_catalog = False
        self.put_fault = None       # None, {"status": n}, {"hang": s,
        #                             "count": k}, {"delay": s}; with
        #                             "unsubscribe": True, only PUTs of
        #                             handler "" fail
        self.send_hello_world = True
        self.tool_jwks_fetch = None  # callable replacing the fetch
        self._token_server = None
        self._token_thread = None
        self._token_port = None

    # -- registrations and deployments --------------------------------

    def add_client(self, client_id):
        with self._lock:
            self.clients.add(client_id)
        return client_id

    def new_deployment(self, client_id=None, deployment_id=None):
        """A new installation of the tool for client_id (default: the
        platform's own); its deployment_id looks like Canvas's
        "<number>:<hex>" unless given."""
        with self._lock:
            self._next_number += 1
            number = self._next_number
            dep = Deployment(number, deployment_id or "%d:%s" % (
                number, uuid.uuid4().hex), client_id or self.client_id)
            self._deployments[number] = dep
            return dep

    def deployment(self, number):
        with self._lock:
            return self._deployments.get(number)

    def pns_url(self, dep):
        number = dep.number if isinstance(dep, Deployment) else dep
        return self.url("/api/lti/notice-handlers/%s" % number)

    def pns_claim(self, dep, types=None, url=None):
        return {
            "service_versions": ["1.0"],
            "platform_notification_service_url": url or self.pns_url(dep),
            "scope": [SCOPE_NOTICEHANDLERS],
            "notice_types_supported": list(
                self.notice_types_supported if types is None else types),
        }

    def handlers_of(self, dep):
        with self._lock:
            return dict(dep.handlers)

    # -- records ------------------------------------------------------

    def puts_for(self, dep):
        with self._lock:
            return [p for p in self.puts if p["number"] == dep.number]

    def deliveries_for(self, dep):
        with self._lock:
            return [d for d in self.deliveries
                    if d["deployment_id"] == dep.deployment_id]

    @property
    def token_count(self):
        with self._lock:
            return len(self.token_requests)

    def tokens_for(self, client_id):
        with self._lock:
            return [t for t in self.token_requests
                    if t.get("client_id") == client_id]

    def reset_faults(self):
        self.set_token_mode("ok")
        with self._lock:
            self.put_fault = None
            self.token_expires_in = TOKEN_LIFETIME
            self.put_answers_catalog = False
            self.send_hello_world = True
            self.tool_jwks_fetch = None

    # -- launches -----------------------------------------------------

    def prepare_launch(self, target_link_uri, deployment, client_id=None,
                       login_hint=None, claims=None, header=None, kid=None,
                       sign_with=None, nonce=None, state=None, token=None,
                       pns=True, roles=None, name="Ada Lovelace",
                       forge=None):
        """Describes the launch the next auth request with this
        login_hint answers; returns the login_hint.

        claims:     overrides of the id_token claims (DELETE removes)
        header:     overrides of the JWS header (DELETE removes)
        kid:        key to sign with (default current); sign_with: a _Key
                    to sign with instead (the header keeps its kid)
        nonce:      put this nonce in the token instead of echoing it
        state:      answer with this state instead of echoing it
        token:      the id_token verbatim (garbage, forged...)
        pns:        include the platformnotificationservice claim
        forge:      "hs256" (HMAC keyed with the public key PEM, the
                    key-confusion forgery) or "none" (unsigned)
        """
        login_hint = login_hint or "user-" + uuid.uuid4().hex[:12]
        spec = {"target_link_uri": target_link_uri, "deployment": deployment,
                "client_id": client_id or deployment.client_id,
                "claims": claims, "header": header, "kid": kid,
                "sign_with": sign_with, "nonce": nonce, "state": state,
                "token": token, "pns": pns,
                "roles": [ROLE_INSTRUCTOR] if roles is None else roles,
                "name": name, "forge": forge, "issued": []}
        with self._lock:
            self._launch_specs[login_hint] = spec
        return login_hint

    def issued_tokens(self, login_hint):
        """The id_tokens answered for this login_hint, in order."""
        with self._lock:
            return list(self._launch_specs[login_hint]["issued"])

    def login_params(self, login_hint, client_id=None, deployment=None,
                     message_hint=True, target_link_uri=None):
        """The third-party initiated login the platform sends the tool."""
        with self._lock:
            spec = self._launch_specs[login_hint]
        params = {"iss": self.issuer,
                  "login_hint": login_hint,
                  "target_link_uri": target_link_uri or
                  spec["target_link_uri"],
                  "client_id": client_id or spec["client_id"],
                  "lti_deployment_id": (deployment or
                                        spec["deployment"]).deployment_id}
        if message_hint:
            params["lti_message_hint"] = "hint-" + uuid.uuid4().hex
        return params

    def id_token_claims(self, spec, nonce):
        now = int(time.time())
        dep = spec["deployment"]
        client_id = spec["client_id"]
        claims = {
            "iss": self.issuer,
            "aud": client_id,
            "azp": client_id,
            "sub": "535fa085f22b4655f48cd5a36a9215f64c062838",
            "exp": now + ID_TOKEN_LIFETIME,
            "iat": now,
            "nonce": nonce,
            "name": spec["name"],
            "given_name": "Ada",
            "family_name": "Lovelace",
            "email": "ada@example.edu",
            CLAIM_VERSION: "1.3.0",
            CLAIM_MESSAGE_TYPE: "LtiResourceLinkRequest",
            CLAIM_DEPLOYMENT: dep.deployment_id,
            CLAIM_TARGET_LINK_URI: spec["target_link_uri"],
            CLAIM_RESOURCE_LINK: {"id": "rl-" + uuid.uuid4().hex,
                                  "title": "Notices"},
            CLAIM_ROLES: list(spec["roles"]),
            CLAIM_CONTEXT: {"id": "c1d2e3f4a5b6", "label": "NOT101",
                            "title": "Notices 101",
                            "type": ["http://purl.imsglobal.org/vocab/"
                                     "lis/v2/course#CourseOffering"]},
            CLAIM_TOOL_PLATFORM: {"guid": "pns-test-platform",
                                  "name": "PNS test platform",
                                  "product_family_code": "canvas"},
            CLAIM_LAUNCH_PRESENTATION: {"document_target": "iframe",
                                        "locale": "en"},
        }
        if spec["pns"]:
            claims[CLAIM_PNS] = self.pns_claim(dep)
        return apply_overrides(claims, spec["claims"])

    def sign_launch(self, login_hint, nonce, **changes):
        """A token for the launch prepared under login_hint, with changes
        to its spec (claims=None gives the plain, valid token) and the
        nonce given."""
        with self._lock:
            spec = dict(self._launch_specs[login_hint])
        spec.update(changes)
        return self.make_id_token(spec, nonce)

    def make_id_token(self, spec, nonce):
        if spec["token"] is not None:
            return spec["token"]
        if spec.get("forge") == "hs256":
            hdr = apply_overrides({"typ": "JWT", "alg": "HS256",
                                   "kid": self.kid}, spec["header"])
            payload = self.id_token_claims(spec, nonce)
            data = P.signing_input(hdr, payload)
            mac = P.hmac.new(self.public_pem(), data,
                             P.hashlib.sha256).digest()
            return P.compact(hdr, payload, mac)
        if spec.get("forge") == "none":
            hdr = {"typ": "JWT", "alg": "none", "kid": self.kid}
            return P.compact(hdr, self.id_token_claims(spec, nonce), b"")
        key = spec["sign_with"] or self.key(spec["kid"])
        hdr = apply_overrides(self.header(kid=spec["kid"] or key.kid),
                              spec["header"])
        payload = self.id_token_claims(spec, spec["nonce"] if
                                       spec["nonce"] is not None else nonce)
        data = P.signing_input(hdr, payload)
        return P.compact(hdr, payload, P.sign_rsa(key.private, data))

    def _auth(self, params, repeated):
        """Checks an authentication request (OIDC core 3.1.2.1 as LTI
        1.3 profiles it); returns (status, content type, body)."""
        errors = ["%s given more than once" % n for n in sorted(repeated)]
        expect = {"scope": "openid", "response_type": "id_token",
                  "response_mode": "form_post", "prompt": "none"}
        for name, value in expect.items():
            if params.get(name) != value:
                errors.append("%s must be %r, got %r" % (
                    name, value, params.get(name)))
        for name in ("client_id", "redirect_uri", "login_hint", "state",
                     "nonce"):
            if not params.get(name):
                errors.append("%s missing" % name)
        if params.get("client_id") and \
                params["client_id"] not in self.clients:
            errors.append("unknown client_id %r" % params["client_id"])
        want_redirect = (self.tool_base_url or "") + "/lti.cgi/launch"
        if params.get("redirect_uri") and \
                params["redirect_uri"] != want_redirect:
            errors.append("redirect_uri %r is not the registered %r" % (
                params["redirect_uri"], want_redirect))
        with self._lock:
            spec = self._launch_specs.get(params.get("login_hint"))
        if params.get("login_hint") and spec is None:
            errors.append("unknown login_hint")
        record = {"params": params, "errors": errors}
        with self._lock:
            self.auth_requests.append(record)
        if errors:
            record["status"] = 400
            return 400, "application/json", P.json_bytes(
                {"error": "invalid_request", "errors": errors})
        token = self.make_id_token(spec, params["nonce"])
        state = spec["state"] if spec["state"] is not None else \
            params["state"]
        with self._lock:
            spec["issued"].append({"id_token": token, "state": state,
                                   "auth_params": params})
        record["status"] = 200
        page = (
            "<!DOCTYPE html>\n<html><head><title>Launching</title></head>\n"
            "<body onload=\"document.forms[0].submit()\">\n"
            "<form method=\"post\" action=\"%s\">\n"
            "<input type=\"hidden\" name=\"id_token\" value=\"%s\">\n"
            "<input type=\"hidden\" name=\"state\" value=\"%s\">\n"
            "<noscript><button type=\"submit\">Continue</button></noscript>\n"
            "</form>\n</body></html>\n" % (
                html.escape(params["redirect_uri"]), html.escape(token),
                html.escape(state)))
        return 200, "text/html; charset=utf-8", page.encode()

    # -- token endpoint -------------------------------------------------

    @property
    def token_url(self):
        return "http://127.0.0.1:%d%s" % (self._token_port, TOKEN_PATH)

    def fetch_tool_jwks(self):
        if self.tool_jwks_fetch is not None:
            return self.tool_jwks_fetch()
        url = urllib.parse.urlsplit(self.tool_base_url + "/lti.cgi/jwks")
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        try:
            conn.request("GET", url.path)
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200:
                raise ValueError("tool JWKS answered %d" % resp.status)
            return json.loads(body)
        finally:
            conn.close()

    def _token(self, form_raw, content_type):
        """Answers a client_credentials request; returns (status, obj).
        Its record gets "done" once the answer is decided."""
        form, repeated = _single_params(form_raw.decode("utf-8", "replace"))
        record = {"form": form, "content_type": content_type,
                  "time": time.time()}
        with self._lock:
            self.token_requests.append(record)
            mode = self.token_mode
        try:
            return self._token_answer(record, form, repeated, mode,
                                      content_type)
        finally:
            record["done"] = True

    def _token_answer(self, record, form, repeated, mode, content_type):
        if mode == "500":
            record["error"] = "fault 500"
            return 500, {"error": "server_error"}
        if mode == "400":
            record["error"] = "fault 400"
            return 400, {"error": "invalid_client",
                         "error_description": FAULT_MESSAGE}
        if mode == "hang":
            time.sleep(self.token_hang)
            record["late"] = True
        if mode == "badjson":
            record["error"] = "fault badjson"
            return 200, b"<html>this is not JSON</html>"
        if mode == "notbearer":
            record["error"] = "fault notbearer"
            return 200, {"access_token": "x", "token_type": "MAC",
                         "expires_in": 3600}

        def fail(msg, status=400, error="invalid_request"):
            record["error"] = msg
            return status, {"error": error, "error_description": msg}

        if not (content_type or "").lower().startswith(
                "application/x-www-form-urlencoded"):
            return fail("content type %r" % content_type)
        if repeated:
            return fail("repeated parameters %r" % sorted(repeated))
        if form.get("grant_type") != "client_credentials":
            return fail("grant_type %r" % form.get("grant_type"),
                        error="unsupported_grant_type")
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            return fail("client_assertion_type %r"
                        % form.get("client_assertion_type"))
        assertion = form.get("client_assertion")
        if not assertion:
            return fail("client_assertion missing")
        scopes = (form.get("scope") or "").split()
        if SCOPE_NOTICEHANDLERS not in scopes:
            return fail("scope %r lacks noticehandlers" % form.get("scope"),
                        error="invalid_scope")
        try:
            header = jwt.get_unverified_header(assertion)
            record["header"] = header
            record["unverified"] = jwt.decode(
                assertion, options={"verify_signature": False})
        except jwt.PyJWTError as e:
            return fail("assertion not a JWT: %s" % e, error="invalid_grant")
        if header.get("alg") != "RS256":
            return fail("alg %r" % header.get("alg"), error="invalid_grant")
        kid = header.get("kid")
        if not kid:
            return fail("no kid in the assertion", error="invalid_grant")
        try:
            jwks = self.fetch_tool_jwks()
            record["tool_jwks"] = jwks
            keys = [k for k in jwks.get("keys", []) if k.get("kid") == kid]
            if len(keys) != 1:
                return fail("kid %r not in the tool's key set" % kid,
                            error="invalid_client")
            key = jwt.PyJWK(keys[0]).key
        except (OSError, ValueError, KeyError, jwt.PyJWTError) as e:
            return fail("tool key set: %s" % e, error="invalid_client")
        try:
            # No leeway: the tool signs its assertion now.
            claims = jwt.decode(
                assertion, key, algorithms=["RS256"],
                audience=self.token_url,
                options={"require": ["iss", "sub", "aud", "exp", "iat",
                                     "jti"]})
        except jwt.PyJWTError as e:
            return fail("assertion: %s: %s" % (type(e).__name__, e),
                        error="invalid_grant")
        record["claims"] = claims
        now = time.time()
        client_id = claims["sub"]
        record["client_id"] = client_id
        if claims["iss"] != client_id:
            return fail("iss %r != sub %r" % (claims["iss"], client_id),
                        error="invalid_grant")
        if client_id not in self.clients:
            return fail("unknown client %r" % client_id,
                        error="invalid_client")
        if not isinstance(claims["iat"], (int, float)) or \
                not isinstance(claims["exp"], (int, float)):
            return fail("iat/exp not numbers", error="invalid_grant")
        if claims["exp"] - claims["iat"] > 300:
            return fail("exp - iat = %s > 300" % (claims["exp"] -
                                                  claims["iat"]),
                        error="invalid_grant")
        if claims["iat"] < now - 300:
            return fail("iat older than 5 minutes", error="invalid_grant")
        if claims["iat"] > now + 30:
            return fail("iat more than 30 s in the future",
                        error="invalid_grant")
        with self._lock:
            if claims["jti"] in self._jtis:
                return fail("jti %r reused" % claims["jti"],
                            error="invalid_grant")
            self._jtis.add(claims["jti"])
            access = secrets.token_urlsafe(32)
            lifetime = self.token_expires_in
            self._tokens[access] = (client_id, now + lifetime)
        record["access_token"] = access
        record["ok"] = True
        return 200, {"access_token": access, "token_type": "Bearer",
                     "expires_in": lifetime,
                     "scope": SCOPE_NOTICEHANDLERS}

    def set_token_mode(self, mode):
        """ok, 500, 400 (every request refused), refuse (nothing
        listens on the token port: connection refused), hang (answers,
        correctly, after token_hang seconds), badjson (200 that is not
        JSON), notbearer (200 with another token_type)."""
        assert mode in ("ok", "500", "400", "refuse", "hang", "badjson",
                        "notbearer"), mode
        with self._lock:
            self.token_mode = mode
        if mode == "refuse":
            self._stop_token_server()
        elif self._token_server is None and self._token_port is not None:
            self._start_token_server(self._token_port)

    # -- notice-handlers API ------------------------------------------

    def _bearer(self, headers):
        """(client_id, error) for the request's access token."""
        auth = headers.get("Authorization") or ""
        if not auth:
            return None, "Missing access token"
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None, "Missing access token"
        with self._lock:
            entry = self._tokens.get(token.strip())
        if entry is None:
            return None, "Invalid access token"
        if entry[1] < time.time():
            return None, "Access token expired"
        return entry[0], None

    @staticmethod
    def _error(status, kind, message):
        return status, {"errors": {"type": kind, "message": message}}

    def _pns_get(self, number, headers):
        client_id, err = self._bearer(headers)
        with self._lock:
            self.gets.append({"number": number, "error": err})
        if err:
            return self._error(401, "unauthorized", err)
        dep = self.deployment(number)
        if dep is None:
            return self._error(404, "not_found", "not found")
        if dep.client_id != client_id:
            return self._error(403, "forbidden", "permission denied")
        with self._lock:
            handlers = dict(dep.handlers)
        return 200, {"client_id": dep.client_id,
                     "deployment_id": dep.deployment_id,
                     "notice_handlers": [
                         {"notice_type": t, "handler": handlers.get(t, "")}
                         for t in self.notice_types_supported]}

    def _pns_put(self, number, headers, body, path):
        """Returns (status, obj, after) where after runs once the answer
        has been written (the hello-world delivery)."""
        record = {"number": number, "path": path, "time": time.time(),
                  "authorization": headers.get("Authorization"),
                  "content_type": headers.get("Content-Type"),
                  "body": body, "json": None, "status": None}
        try:
            record["json"] = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            pass
        with self._lock:
            self.puts.append(record)
            fault = self.put_fault
            if fault and fault.get("unsubscribe") and not (
                    isinstance(record["json"], dict) and
                    record["json"].get("handler") == ""):
                fault = None
            if fault and fault.get("count") is not None:
                if fault["count"] <= 0:
                    fault = None
                else:
                    self.put_fault = dict(fault, count=fault["count"] - 1)

        def answer(status, obj, after=None):
            record["status"] = status
            record["answer"] = obj
            return status, obj, after

        if fault and "status" in fault:
            return answer(*self._error(
                fault["status"], {400: "bad_request", 401: "unauthorized",
                                  500: "internal_server_error"}.get(
                                      fault["status"], "error"),
                FAULT_MESSAGE))
        if fault and ("hang" in fault or "delay" in fault):
            # A slow platform: the answer (and its effects) come late.
            time.sleep(fault.get("hang", fault.get("delay")))
            record["late"] = True
        client_id, err = self._bearer(headers)
        if err:
            return answer(*self._error(401, "unauthorized", err))
        dep = self.deployment(number)
        if dep is None:
            return answer(*self._error(404, "not_found", "not found"))
        if dep.client_id != client_id:
            return answer(*self._error(403, "forbidden",
                                       "permission denied"))
        if not (record["content_type"] or "").lower().startswith(
                "application/json"):
            return answer(*self._error(
                400, "bad_request", "handler must be a valid URL or an "
                "empty string"))
        obj = record["json"]
        if not isinstance(obj, dict):
            return answer(*self._error(400, "bad_request",
                                       "body is not a JSON object"))
        ntype = obj.get("notice_type")
        if ntype not in ALL_NOTICE_TYPES:
            return answer(*self._error(
                400, "bad_request", "Validation failed: Notice type "
                "unknown, must be one of %s" % ALL_NOTICE_TYPES))
        handler = obj.get("handler")
        if not isinstance(handler, str):
            return answer(*self._error(
                400, "bad_request",
                "handler must be a valid URL or an empty string"))
        if "max_batch_size" in obj:
            mbs = obj["max_batch_size"]
            if mbs is not None and (not isinstance(mbs, int) or
                                    isinstance(mbs, bool) or mbs < 10):
                return answer(*self._error(
                    400, "bad_request", "Validation failed: Max batch "
                    "size must be an integer greater than or equal to 10"))
        if handler == "":
            with self._lock:
                dep.handlers.pop(ntype, None)
            return answer(200, {"notice_type": ntype, "handler": ""})
        problem = self.handler_problem(handler)
        if problem:
            return answer(*self._error(400, "bad_request",
                                       "Validation failed: " + problem))
        with self._lock:
            dep.handlers[ntype] = handler
        after = None
        if ntype == HELLO_WORLD and self.send_hello_world:
            def after():
                self.deliver_hello_world(dep, handler)
        if self.put_answers_catalog:
            # The older Canvas controller answered with the whole catalog.
            return answer(*self._pns_get(number, headers), after)
        return answer(200, {"notice_type": ntype, "handler": handler}, after)

    def handler_problem(self, handler):
        """Why a handler URL is refused (Canvas: a valid URL whose host is
        the tool's domain), or None."""
        try:
            url = urllib.parse.urlsplit(handler)
            host = url.hostname
            url.port  # noqa: B018 -- raises on a bad port
        except ValueError:
            return "Url is not a valid URL"
        if url.scheme not in ("http", "https") or not host or \
                any(c in handler for c in " \t\r\n<>\"{}|\\^`"):
            return "Url is not a valid URL"
        tool_host = urllib.parse.urlsplit(self.tool_base_url or "").hostname
        if host != tool_host:
            return "Url should match tool's domain or redirect uri"
        return None

    def hello_world_token(self, dep):
        return self.mint(claims={"iss": self.issuer, "aud": dep.client_id,
                                 "azp": dep.client_id,
                                 P.CLAIM_DEPLOYMENT: dep.deployment_id})

    def deliver_hello_world(self, dep, handler):
        """POSTs a fresh LtiHelloWorldNotice to the handler (what Canvas
        does right after the PUT) and records the answer."""
        token = self.hello_world_token(dep)
        record = {"deployment_id": dep.deployment_id, "handler": handler,
                  "notice_id": P.decode_unverified(token)[P.CLAIM_NOTICE]
                  ["id"], "status": None, "answer": None, "error": None,
                  "time": time.time()}
        try:
            url = urllib.parse.urlsplit(handler)
            path = url.path + ("?" + url.query if url.query else "")
            conn = http.client.HTTPConnection(url.hostname, url.port or 80,
                                              timeout=30)
            try:
                conn.request("POST", path, body=P.json_bytes(
                    {"notices": [{"jwt": token}]}),
                    headers={"Content-Type": "application/json"})
                resp = conn.getresponse()
                record["status"] = resp.status
                body = resp.read()
                try:
                    record["answer"] = json.loads(body)
                except ValueError:
                    record["answer"] = body[:500]
            finally:
                conn.close()
        except OSError as e:
            record["error"] = repr(e)
        with self._lock:
            self.deliveries.append(record)

    # -- servers ------------------------------------------------------

    def start(self):
        platform = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.1 so that "Expect: 100-continue" (libcurl, bodies
            # over 1 KiB) is answered at once; every answer closes the
            # connection, so no client waits on a keep-alive.
            protocol_version = "HTTP/1.1"

            def reply(self, status, obj, ctype="application/json"):
                body = obj if isinstance(obj, bytes) else P.json_bytes(obj)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(body)
                    self.wfile.flush()
                except OSError:
                    pass        # the client gave up (timeout tests)
                self.close_connection = True

            def route(self):
                path = urllib.parse.urlsplit(self.path).path
                if path.startswith("/api/lti/notice-handlers/"):
                    rest = path[len("/api/lti/notice-handlers/"):]
                    return "pns", int(rest) if rest.isdigit() else -1
                return path, None

            def do_GET(self):
                path, number = self.route()
                if path == "/jwks":
                    with platform._lock:
                        platform._fetches += 1
                        doc = {"keys": [k.jwk() for k in platform._keys]}
                    self.reply(200, doc)
                elif path == "/auth":
                    params, rep = _single_params(
                        urllib.parse.urlsplit(self.path).query)
                    self.reply(*self._auth_reply(params, rep))
                elif path == "pns":
                    status, obj = platform._pns_get(number, self.headers)
                    self.reply(status, obj)
                else:
                    self.reply(404, {"error": "not found"})

            def _auth_reply(self, params, rep):
                status, ctype, body = platform._auth(params, rep)
                return status, body, ctype

            def do_POST(self):
                path, _ = self.route()
                body = _read_body(self)
                if path == "/auth":
                    params, rep = _single_params(
                        body.decode("utf-8", "replace"))
                    self.reply(*self._auth_reply(params, rep))
                else:
                    self.reply(404, {"error": "not found"})

            def do_PUT(self):
                path, number = self.route()
                body = _read_body(self)
                if path != "pns":
                    self.reply(404, {"error": "not found"})
                    return
                status, obj, after = platform._pns_put(
                    number, self.headers, body, self.path)
                self.reply(status, obj)
                if after is not None:
                    threading.Thread(target=after, daemon=True).start()

            def log_message(self, fmt, *args):
                pass

        self._server, self._thread = P.serve(Handler)
        self._start_token_server(0)
        return self

    def _start_token_server(self, port):
        platform = self

        class TokenHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = _read_body(self)
                if urllib.parse.urlsplit(self.path).path != TOKEN_PATH:
                    status, obj = 404, {"error": "not found"}
                else:
                    status, obj = platform._token(
                        body, self.headers.get("Content-Type"))
                data = obj if isinstance(obj, bytes) else P.json_bytes(obj)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Cache-Control", "no-store")
                    self.send_header("Content-Length", str(len(data)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass
                self.close_connection = True

            def log_message(self, fmt, *args):
                pass

        server, thread = P.serve(TokenHandler, port)
        self._token_server, self._token_thread = server, thread
        self._token_port = server.server_address[1]

    def _stop_token_server(self):
        if self._token_server is not None:
            self._token_server.shutdown()
            self._token_server.server_close()
            self._token_thread.join(timeout=5)
            self._token_server = None

    def stop(self):
        self._stop_token_server()
        super().stop()

    @property
    def auth_url(self):
        return self.url("/auth")

    # -- dynamic registration -------------------------------------------
    #
    # LTI Dynamic Registration as Canvas offers it (doc/api/registration.md
    # of canvas-lms): an OpenID configuration at
    # /api/lti/security/openid-configuration that asks for the
    # registration token as a bearer, and a registration endpoint at
    # /api/lti/registrations that takes the tool's registration with the
    # same token and answers with it, its client_id and, in the tool
    # configuration, the deployment made for it.  Both are served by a
    # server of their own (start_registration), so that nothing the
    # launch suite relies on changes.

    def start_registration(self):
        """Starts the registration server; its state and fault switches
        (reset_registration_faults) live from here on."""
        platform = self
        self.registration_tokens = {}   # token -> used (bool)
        self.oc_requests = []           # dicts: authorization, status
        self.registrations = []         # dicts, see _register
        self.next_client_id = None      # answer with this client_id once
        self._next_client = 10000000000100
        self.reset_registration_faults()

        class RegistrationHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def reply(self, status, obj, ctype="application/json"):
                body = obj if isinstance(obj, bytes) else P.json_bytes(obj)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(body)
                    self.wfile.flush()
                except OSError:
                    pass
                self.close_connection = True

            def do_GET(self):
                path = urllib.parse.urlsplit(self.path).path
                if path == OPENID_CONFIGURATION_PATH:
                    self.reply(*platform._openid_configuration_reply(
                        self.headers))
                else:
                    self.reply(404, {"error": "not found"})

            def do_POST(self):
                path = urllib.parse.urlsplit(self.path).path
                body = _read_body(self)
                if path == REGISTRATION_PATH:
                    self.reply(*platform._register(self.headers, body))
                else:
                    self.reply(404, {"error": "not found"})

            def log_message(self, fmt, *args):
                pass

        self._reg_server, self._reg_thread = P.serve(RegistrationHandler)
        return self

    def stop_registration(self):
        if getattr(self, "_reg_server", None) is not None:
            self._reg_server.shutdown()
            self._reg_server.server_close()
            self._reg_thread.join(timeout=5)
            self._reg_server = None

    def reset_registration_faults(self):
        """oc_overrides: members of the OpenID configuration to change
        (DELETE removes); oc_platform_overrides: the same inside its
        lti-platform-configuration; oc_raw: bytes answered instead (with
        oc_status); oc_requires_token: refuse a request without a known
        registration token, as Canvas does; registration_fault: None,
        {"status": n, "body": obj-or-bytes} (a refusal), {"raw": bytes}
        (a 200 answer that is not the registration), {"answer": {..}}
        (members of the answer to change, DELETE removes) or {"hang": s}."""
        with self._lock:
            self.oc_overrides = None
            self.oc_platform_overrides = None
            self.oc_raw = None
            self.oc_status = 200
            self.oc_requires_token = True
            self.registration_fault = None
            self.registration_deployment = True

    @property
    def registration_port(self):
        return self._reg_server.server_address[1]

    def registration_server_url(self, path):
        return "http://127.0.0.1:%d%s" % (self.registration_port, path)

    @property
    def openid_configuration_url(self):
        return self.registration_server_url(OPENID_CONFIGURATION_PATH)

    @property
    def registration_url(self):
        return self.registration_server_url(REGISTRATION_PATH)

    def new_registration_token(self):
        """A registration token, as Canvas puts in the URL it opens."""
        token = secrets.token_urlsafe(32)
        with self._lock:
            self.registration_tokens[token] = False
        return token

    def openid_configuration(self):
        """The OpenID configuration in Canvas's shape, with the
        overrides of the moment applied."""
        host = urllib.parse.urlsplit(self.issuer).hostname
        doc = {
            "issuer": self.issuer,
            "authorization_endpoint": self.auth_url,
            "registration_endpoint": self.registration_url,
            "jwks_uri": self.jwks_url,
            "token_endpoint": self.token_url,
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
            "scopes_supported": list(DR_SCOPES_SUPPORTED),
            "response_types_supported": ["id_token"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "claims_supported": ["sub", "picture", "email", "name",
                                 "given_name", "family_name", "locale"],
            "subject_types_supported": ["public"],
            "authorization_server": host,
            PLATFORM_CONFIGURATION: apply_overrides({
                "product_family_code": "canvas",
                "version": "vCloud",
                "messages_supported": [
                    {"type": "LtiResourceLinkRequest",
                     "placements": ["account_navigation",
                                    "course_navigation", "link_selection"]},
                    {"type": "LtiDeepLinkingRequest",
                     "placements": ["assignment_selection",
                                    "editor_button", "link_selection"]},
                ],
                "notice_types_supported": list(self.notice_types_supported),
                "variables": ["ResourceLink.id", "Context.id",
                              "Canvas.environment.test"],
                CANVAS_LTI + "account_name": "PNS Test University",
                CANVAS_LTI + "account_lti_guid":
                    "pns-test-guid:canvas-lms",
            }, self.oc_platform_overrides),
        }
        return apply_overrides(doc, self.oc_overrides)

    def _token_known(self, headers):
        auth = headers.get("Authorization") or ""
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer":
            return None
        with self._lock:
            return token if token in self.registration_tokens else None

    def _openid_configuration_reply(self, headers):
        record = {"authorization": headers.get("Authorization"),
                  "time": time.time()}
        with self._lock:
            self.oc_requests.append(record)
            raw, status = self.oc_raw, self.oc_status
        if self.oc_requires_token and self._token_known(headers) is None:
            record["status"] = 401
            return 401, {"errorMessage": "Invalid registration token"}
        record["status"] = status
        if raw is not None:
            return status, raw, "text/html"
        return status, self.openid_configuration()

    def _registration_problems(self, obj, scopes_supported):
        """Why the tool's registration is refused (Canvas's checks of
        Lti::IMS::Registration and the 1EdTech schema), as a list."""
        errors = []
        if not isinstance(obj, dict):
            return ["body is not a JSON object"]

        def is_url(v):
            if not isinstance(v, str):
                return False
            u = urllib.parse.urlsplit(v)
            return u.scheme in ("http", "https") and bool(u.hostname)

        if obj.get("application_type") != "web":
            errors.append("application_type: Must be 'web'")
        for name, need in (("grant_types", ["client_credentials",
                                            "implicit"]),
                           ("response_types", ["id_token"])):
            got = obj.get(name)
            if not isinstance(got, list) or any(n not in got for n in need):
                errors.append("%s: Must include %s" % (name,
                                                       ", ".join(need)))
        uris = obj.get("redirect_uris")
        if not isinstance(uris, list) or not uris or \
                not all(is_url(u) for u in uris):
            errors.append("redirect_uris: Must only contain valid URIs")
        for name in ("initiate_login_uri", "jwks_uri"):
            if not is_url(obj.get(name)):
                errors.append("%s: must be a URL" % name)
        if not isinstance(obj.get("client_name"), str) or \
                not obj["client_name"]:
            errors.append("client_name: can't be blank")
        if obj.get("token_endpoint_auth_method") != "private_key_jwt":
            errors.append("token_endpoint_auth_method: Must be "
                          "'private_key_jwt'")
        scope = obj.get("scope")
        if not isinstance(scope, str):
            errors.append("scope: must be a string")
        else:
            invalid = [s for s in scope.split() if s not in scopes_supported]
            if invalid:
                errors.append("scopes: Invalid scopes: %s"
                              % ", ".join(invalid))
            if SCOPE_NOTICEHANDLERS in scopes_supported and \
                    SCOPE_NOTICEHANDLERS not in scope.split():
                errors.append("scope: the notice-handlers scope is missing")
        tc = obj.get(TOOL_CONFIGURATION)
        if not isinstance(tc, dict):
            errors.append("%s: must be an object" % TOOL_CONFIGURATION)
            return errors
        login_host = urllib.parse.urlsplit(
            obj.get("initiate_login_uri") or "").hostname
        domain = tc.get("domain")
        if not isinstance(domain, str) or not domain or "/" in domain:
            errors.append("domain: must be a host name")
        elif domain != login_host:
            errors.append("domain %r is not the host of the login URL"
                          % domain)
        if not is_url(tc.get("target_link_uri")):
            errors.append("target_link_uri: must be a URL")
        claims = tc.get("claims")
        if not isinstance(claims, list) or \
                not all(isinstance(c, str) for c in claims):
            errors.append("claims: must be a list of strings")
        messages = tc.get("messages")
        if not isinstance(messages, list) or not any(
                isinstance(m, dict) and
                m.get("type") == "LtiResourceLinkRequest"
                for m in messages):
            errors.append("messages: no LtiResourceLinkRequest")
        return errors

    def _fetch_tool_jwks_from(self, url):
        u = urllib.parse.urlsplit(url)
        conn = http.client.HTTPConnection(u.hostname, u.port or 80,
                                          timeout=30)
        try:
            conn.request("GET", u.path + ("?" + u.query if u.query else ""))
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200:
                raise ValueError("answered %d" % resp.status)
            return json.loads(body)
        finally:
            conn.close()

    def _register(self, headers, body):
        """Answers a registration request; returns (status, obj)."""
        record = {"time": time.time(),
                  "authorization": headers.get("Authorization"),
                  "content_type": headers.get("Content-Type"),
                  "body": body, "json": None, "status": None,
                  "errors": [], "tool_jwks": None, "answer": None}
        try:
            record["json"] = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            pass
        with self._lock:
            self.registrations.append(record)
            fault = self.registration_fault

        def answer(status, obj):
            record["status"] = status
            record["answer"] = obj
            return status, obj

        if fault and "hang" in fault:
            time.sleep(fault["hang"])
        if fault and "status" in fault:
            return answer(fault["status"], fault.get(
                "body", {"errorMessage": FAULT_MESSAGE}))
        if fault and "raw" in fault:
            return answer(200, fault["raw"])
        token = self._token_known(headers)
        if token is None:
            return answer(401, {"errorMessage": "JWT did not include "
                                "expected contents"})
        with self._lock:
            if self.registration_tokens[token]:
                return answer(401, {"errorMessage": "registration token "
                                    "already used"})
        if not (record["content_type"] or "").lower().startswith(
                "application/json"):
            record["errors"].append("content type %r"
                                    % record["content_type"])
        # The scopes the platform has: those it lists, or, when its
        # configuration lists none, all it knows.
        supported = self.openid_configuration().get("scopes_supported")
        if not isinstance(supported, list):
            supported = DR_SCOPES_SUPPORTED
        record["errors"] += self._registration_problems(record["json"],
                                                        supported)
        if not record["errors"]:
            # As Canvas does when it makes the developer key: the tool's
            # key set must be there and usable.
            try:
                jwks = self._fetch_tool_jwks_from(record["json"]["jwks_uri"])
                record["tool_jwks"] = jwks
                keys = [k for k in jwks.get("keys", [])
                        if k.get("kty") == "RSA" and k.get("kid") and
                        k.get("alg", "RS256") == "RS256"]
                if not keys:
                    raise ValueError("no RS256 key with a kid")
                jwt.PyJWK(keys[0])
            except (OSError, ValueError, KeyError, AttributeError,
                    jwt.PyJWTError) as e:
                record["errors"].append("jwks_uri: %s" % e)
        if record["errors"]:
            return answer(422, {"errors": record["errors"]})
        with self._lock:
            self.registration_tokens[token] = True
            if self.next_client_id is not None:
                client_id, self.next_client_id = self.next_client_id, None
            else:
                self._next_client += 1
                client_id = str(self._next_client)
        self.add_client(client_id)
        dep = self.new_deployment(client_id)
        record["client_id"] = client_id
        record["deployment"] = dep
        reg = record["json"]
        tool_conf = dict(reg[TOOL_CONFIGURATION])
        if self.registration_deployment:
            tool_conf["deployment_id"] = dep.deployment_id
        tool_conf[CANVAS_LTI + "registration_config_url"] = \
            self.url("/api/lti/registrations/%s/view" % client_id)
        obj = {"client_id": client_id,
               "application_type": reg["application_type"],
               "grant_types": reg["grant_types"],
               "initiate_login_uri": reg["initiate_login_uri"],
               "redirect_uris": reg["redirect_uris"],
               "response_types": reg["response_types"],
               "client_name": reg["client_name"],
               "jwks_uri": reg["jwks_uri"],
               "logo_uri": reg.get("logo_uri"),
               "token_endpoint_auth_method":
                   reg["token_endpoint_auth_method"],
               "scope": reg["scope"],
               TOOL_CONFIGURATION: tool_conf}
        if fault and "answer" in fault:
            obj = apply_overrides(obj, fault["answer"])
        return answer(200, obj)


OPENID_CONFIGURATION_PATH = "/api/lti/security/openid-configuration"
REGISTRATION_PATH = "/api/lti/registrations"
PLATFORM_CONFIGURATION = \
    "https://purl.imsglobal.org/spec/lti-platform-configuration"
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
CANVAS_LTI = "https://canvas.instructure.com/lti/"
# What Canvas lists (LTI Advantage and its own scopes), notice handlers
# included.
DR_SCOPES_SUPPORTED = [
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
    "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
    SCOPE_NOTICEHANDLERS,
    "https://canvas.instructure.com/lti/public_jwk/scope/update",
    "https://canvas.instructure.com/lti/account_lookup/scope/show",
]

# SPDX-License-Identifier: ISC
"""A test LTI 1.3 platform that sends Platform Notification Service notices.

It is deliberately independent of the C code under test: keys, the JWKS
document and every token are produced here with Debian's python3-jwt and
python3-cryptography (and the standard library), so that a mistake shared
by the receiver and its own helpers cannot hide itself.

What it offers:

* RSA-2048 signing keys generated at runtime (no private key is ever
  written to disk) and a JWKS served at http://127.0.0.1:<port>/jwks by a
  ThreadingHTTPServer running in a daemon thread;
* a count of JWKS fetches, so tests can assert when the receiver refetches;
* key rotation at runtime (a new key is published next to the old ones);
* Canvas-shaped notice tokens, every claim and header overridable or
  removable, so each bad variant is one call away;
* raw builders for tokens no JWT library will produce: alg none, HS256
  keyed with the public key PEM, huge headers, truncated or garbage
  strings, deeply nested payloads.

Run with /usr/bin/python3 (Debian's interpreter, which has both modules).
"""

import base64
import copy
import datetime
import hashlib
import hmac
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from jwt.algorithms import RSAAlgorithm

CLAIM_VERSION = "https://purl.imsglobal.org/spec/lti/claim/version"
CLAIM_DEPLOYMENT = "https://purl.imsglobal.org/spec/lti/claim/deployment_id"
CLAIM_NOTICE = "https://purl.imsglobal.org/spec/lti/claim/notice"
CLAIM_CONTEXT = "https://purl.imsglobal.org/spec/lti/claim/context"
CLAIM_ORIGIN_CONTEXTS = \
    "https://purl.imsglobal.org/spec/lti/claim/origin_contexts"
CLAIM_HELLO_WORLD = "https://www.instructure.com/hello_world"

HELLO_WORLD = "LtiHelloWorldNotice"
CONTEXT_COPY = "LtiContextCopyNotice"

# Marks a claim or header member to remove in an override.
DELETE = object()

# Canvas notices live one hour (exp = iat + 3600).
LIFETIME = 3600


def b64url(data):
    """base64url without padding (RFC 7515 section 2)."""
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text):
    """Inverse of b64url, tolerating missing padding."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def json_bytes(obj):
    """Compact JSON, as platforms send it.  bytes pass through untouched,
    which is how callers inject segments that are not JSON at all."""
    if isinstance(obj, (bytes, bytearray)):
        return bytes(obj)
    return json.dumps(obj, separators=(",", ":")).encode()


def iso_now():
    """ISO-8601 UTC timestamp with a Z, as in Canvas's notice claim."""
    return datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def apply_overrides(base, overrides):
    """Returns a copy of base with overrides applied; a DELETE value
    removes the member instead of setting it."""
    out = copy.deepcopy(base)
    for name, value in (overrides or {}).items():
        if value is DELETE:
            out.pop(name, None)
        else:
            out[name] = value
    return out


def signing_input(header, payload):
    """The ASCII bytes a JWS signature covers: b64(header).b64(payload)."""
    return (b64url(json_bytes(header)) + "." +
            b64url(json_bytes(payload))).encode("ascii")


def sign_rsa(private_key, data, hash_name="RS256"):
    """RSASSA-PKCS1-v1_5 signature (RS256 / RS384 / RS512)."""
    algo = {"RS256": hashes.SHA256(), "RS384": hashes.SHA384(),
            "RS512": hashes.SHA512()}[hash_name]
    return private_key.sign(data, padding.PKCS1v15(), algo)


def compact(header, payload, signature):
    """Joins the three segments of a compact JWS.  header and payload may
    be dicts (serialised as JSON) or bytes (used verbatim)."""
    return signing_input(header, payload).decode("ascii") + "." + \
        b64url(signature)



def serve(handler, port=0):
    """A loopback ThreadingHTTPServer for handler, serving in a daemon
    thread (polled every 0.1 s, so shutdown is prompt)."""
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever,
                              kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    return server, thread

class _Key:
    """One signing key of the platform."""

    def __init__(self, kid):
        self.kid = kid
        self.private = rsa.generate_private_key(public_exponent=65537,
                                                key_size=2048)
        self.public = self.private.public_key()

    def jwk(self):
        """The public JWK as Canvas publishes it: kty, kid, alg, use, n, e."""
        jwk = json.loads(RSAAlgorithm.to_jwk(self.public))
        jwk.update({"kid": self.kid, "alg": "RS256", "use": "sig"})
        return jwk

    def public_pem(self):
        return self.public.public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo)


class TestPlatform:
    """A platform (issuer, client_id, deployment) with its key server.

    One platform object may mint tokens for several registrations (other
    issuers or client ids) that point their jwks_url at this server; mint()
    takes the claims to change for that.
    """

    def __init__(self, issuer, client_id, deployment_id):
        self.issuer = issuer
        self.client_id = client_id
        self.deployment_id = deployment_id
        self._lock = threading.Lock()
        self._keys = []                 # published, oldest first
        self._fetches = 0
        self._server = None
        self._thread = None
        self.add_key()

    # -- keys ---------------------------------------------------------

    def add_key(self):
        """Creates and publishes a new key (rotation); returns its kid.
        The old keys stay published, as Canvas keeps past/present/future
        keys in its set.  Signing defaults to the newest key."""
        kid = "%s_%s" % (iso_now(), uuid.uuid4())
        key = _Key(kid)
        with self._lock:
            self._keys.append(key)
        return kid

    @property
    def kid(self):
        """kid of the current (newest) key."""
        with self._lock:
            return self._keys[-1].kid

    def key(self, kid=None):
        """The _Key with this kid (default: current)."""
        with self._lock:
            if kid is None:
                return self._keys[-1]
            for key in self._keys:
                if key.kid == kid:
                    return key
        raise KeyError(kid)

    def public_pem(self, kid=None):
        return self.key(kid).public_pem()

    def jwks(self):
        with self._lock:
            return {"keys": [k.jwk() for k in self._keys]}

    @staticmethod
    def stray_key():
        """A key the platform never publishes: signatures made with it
        must not verify whatever kid they claim."""
        return _Key("stray-" + str(uuid.uuid4()))

    # -- key server ---------------------------------------------------

    @property
    def fetch_count(self):
        """How many times /jwks has been served."""
        with self._lock:
            return self._fetches

    def start(self):
        """Serves the JWKS on an ephemeral 127.0.0.1 port."""
        platform = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.0 semantics: one exchange per connection, so a client
            # never waits on a keep-alive the test does not care about.
            protocol_version = "HTTP/1.0"

            def do_GET(self):
                if self.path.split("?", 1)[0] != "/jwks":
                    self.send_error(404)
                    return
                with platform._lock:
                    platform._fetches += 1
                    doc = {"keys": [k.jwk() for k in platform._keys]}
                body = json_bytes(doc)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                # What Canvas sends; the receiver's own policy must win.
                self.send_header("Cache-Control", "max-age=864000")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, fmt, *args):
                # Fetches are counted, not logged: keeps test output clean.
                pass

        self._server, self._thread = serve(Handler)
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    @property
    def port(self):
        return self._server.server_address[1]

    def url(self, path="/jwks"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    @property
    def jwks_url(self):
        return self.url("/jwks")

    # -- notices ------------------------------------------------------

    def claims(self, notice_type=HELLO_WORLD, notice_id=None, now=None):
        """The claims Canvas puts in a notice of this type (see the PNS
        reference, section 2.5), freshly timed and with a new notice id."""
        now = int(time.time()) if now is None else now
        claims = {
            CLAIM_VERSION: "1.3.0",
            CLAIM_NOTICE: {
                "id": notice_id or str(uuid.uuid4()),
                "timestamp": iso_now(),
                "type": notice_type,
            },
            "aud": self.client_id,
            "azp": self.client_id,
            CLAIM_DEPLOYMENT: self.deployment_id,
            "exp": now + LIFETIME,
            "iat": now,
            "iss": self.issuer,
            "nonce": str(uuid.uuid4()),
        }
        if notice_type == CONTEXT_COPY:
            claims[CLAIM_CONTEXT] = {
                "id": hashlib.sha1(uuid.uuid4().bytes).hexdigest(),
                "label": "zzz", "title": "zzz",
                "type": ["http://purl.imsglobal.org/vocab/lis/v2/"
                         "course#CourseOffering"],
            }
            claims[CLAIM_ORIGIN_CONTEXTS] = [
                hashlib.sha1(uuid.uuid4().bytes).hexdigest()]
        else:
            claims[CLAIM_CONTEXT] = {
                "id": hashlib.sha1(self.client_id.encode()).hexdigest(),
                "title": "Fake Academy", "type": ["Account"],
            }
            if notice_type == HELLO_WORLD:
                claims[CLAIM_HELLO_WORLD] = {
                    "title": "Hello World!",
                    "message": "Congratulations! You have successfully "
                               "subscribed to LtiHelloWorldNotice in Canvas.",
                }
        return claims

    def header(self, kid=None, alg="RS256"):
        return {"typ": "JWT", "alg": alg, "kid": kid or self.kid}

    def mint(self, claims=None, header=None, notice_type=HELLO_WORLD,
             notice_id=None, kid=None, sign_with=None, alg="RS256",
             payload=None):
        """A signed notice token.

        claims:    overrides merged into the Canvas claims (DELETE removes)
        header:    overrides merged into the header (DELETE removes)
        kid:       key to sign with and name in the header (default current)
        sign_with: a _Key to sign with instead (the header keeps kid)
        alg:       RS256, RS384 or RS512 (header alg follows unless
                   overridden)
        payload:   bytes used verbatim as the payload segment
        """
        key = sign_with or self.key(kid)
        hdr = apply_overrides(self.header(kid=kid or key.kid, alg=alg),
                              header)
        if payload is None:
            payload = apply_overrides(
                self.claims(notice_type=notice_type, notice_id=notice_id),
                claims)
        data = signing_input(hdr, payload)
        return compact(hdr, payload, sign_rsa(key.private, data, alg))

    def mint_with_claims(self, **kw):
        """mint(), also returning the exact claims signed."""
        token = self.mint(**kw)
        return token, decode_unverified(token)

    # -- raw builders for what libraries refuse to produce --------------

    def alg_none(self, claims=None, signature=b""):
        """An unsecured JWS (alg none).  With a signature given, the token
        keeps a non-empty third segment, as an attacker replaying a real
        signature would send it."""
        hdr = {"typ": "JWT", "alg": "none", "kid": self.kid}
        payload = apply_overrides(self.claims(), claims)
        return compact(hdr, payload, signature)

    def hs256_with_public_pem(self, claims=None, kid=None):
        """The classic key-confusion forgery: HS256 keyed with the RSA
        public key PEM, which a careless verifier would feed to HMAC.
        Built by hand because PyJWT refuses PEM keys as HMAC secrets."""
        hdr = {"typ": "JWT", "alg": "HS256", "kid": kid or self.kid}
        payload = apply_overrides(self.claims(), claims)
        data = signing_input(hdr, payload)
        mac = hmac.new(self.public_pem(kid), data, hashlib.sha256).digest()
        return compact(hdr, payload, mac)

    def huge_header(self, size=100 * 1024):
        """A correctly signed token whose kid is size bytes long."""
        return self.mint(header={"kid": "k" * size})

    def deeply_nested_payload(self, depth=100000):
        """A correctly signed token whose payload is depth '[' brackets:
        a parser that recurses would overflow its stack."""
        return self.mint(payload=b"[" * depth)

    @staticmethod
    def truncated(token, keep=0.5):
        """The token cut short (by default inside its payload segment)."""
        return token[:int(len(token) * keep)]

    @staticmethod
    def garbage():
        return "this is not a JWT, just some words!"


def decode_unverified(token):
    """The payload of a token, without checking anything (PyJWT)."""
    return jwt.decode(token, options={"verify_signature": False})


def verify_with_jwks(token, jwks, audience):
    """Verifies a token against a JWKS document with PyJWT alone: used to
    check the platform itself is sound before blaming the receiver."""
    kid = jwt.get_unverified_header(token)["kid"]
    keyset = jwt.PyJWKSet.from_dict(jwks)
    for k in keyset.keys:
        if k.key_id == kid:
            return jwt.decode(token, k.key, algorithms=["RS256"],
                              audience=audience)
    raise KeyError(kid)

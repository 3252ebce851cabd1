# SPDX-License-Identifier: ISC
"""Integration tests of the notice receiver against docs/receiver.md.

A real lighttpd runs cgi-bin/notices.fcgi (two FastCGI processes sharing
one data directory); an independent test platform (pns_platform.py) signs
notices and serves its keys.  Every rejection is checked for its exact
error code and for leaving the store untouched, and has a twin that the
same setup accepts, so a test cannot pass because everything is refused.

Run from the repository root:  /usr/bin/python3 tests/integ/test_notices.py
The last line of output is "integration: N passed, M failed".
"""

import hashlib
import hmac
import http.client
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid
from pathlib import Path

import harness as H
import pns_platform as P

DELETE = P.DELETE
CLAIM_VERSION = P.CLAIM_VERSION
CLAIM_NOTICE = P.CLAIM_NOTICE
CLAIM_DEPLOYMENT = P.CLAIM_DEPLOYMENT

# The test platform's own registration.
ISSUER = "https://platform.pns-test.example"
CLIENT_ID = "pns-test-client-1"
DEPLOYMENT = "1:" + uuid.uuid5(uuid.NAMESPACE_URL, ISSUER).hex
SECOND_DEPLOYMENT = "2:second-deployment"

# Canvas, as in the seed notice, registered with the test platform's keys.
CANVAS_ISSUER = "https://canvas.instructure.com"
CANVAS_CLIENT_ID = "10000000000068"
CANVAS_DEPLOYMENT = "106:8865aa05b4b79b64a91a86042e43af5ea8ae79eb"
CANVAS_SEED = str(H.ROOT / "tests" / "fixtures" / "canvas_hello_world.jwt")
SEED_NOTICE_ID = "1258e850-8446-43bf-9460-d249a6000904"
SEED_KID = "2025-02-01T01:16:43Z_3018685d-05b7-43cb-b865-027eec352714"

# A platform whose key set URL answers 404: its notices cannot be checked.
BROKEN_ISSUER = "https://broken-keys.pns-test.example"

# The refusals that make the answer 503 (docs/receiver.md).
TRANSIENT = ("unknown_kid_retry", "jwks_unavailable", "storage")

# Set up once for the module (see setUpModule).
PF = None           # the test platform
SRV = None          # lighttpd + notices.fcgi
START_PIDS = set()  # notices.fcgi processes when the suite began
_STRAY = None


def stray_key():
    """One key the platform never publishes, made once (RSA keygen is
    slow enough to matter across many tests)."""
    global _STRAY
    if _STRAY is None:
        _STRAY = P.TestPlatform.stray_key()
    return _STRAY


def canvas_claims(**extra):
    """Claim overrides turning a test-platform notice into one from the
    Canvas registration."""
    claims = {"iss": CANVAS_ISSUER, "aud": CANVAS_CLIENT_ID,
              "azp": CANVAS_CLIENT_ID, CLAIM_DEPLOYMENT: CANVAS_DEPLOYMENT}
    claims.update(extra)
    return claims


def notice_id(token):
    return P.decode_unverified(token)[CLAIM_NOTICE]["id"]


def setUpModule():
    global PF, SRV, START_PIDS
    for path in (H.FCGI, H.LTI_CGI, H.PNSCTL):
        if not os.access(path, os.X_OK):
            raise RuntimeError("%s is not built (run make)" % path)
    PF = P.TestPlatform(ISSUER, CLIENT_ID, DEPLOYMENT).start()
    SRV = H.Server()
    try:
        SRV.init()
        SRV.add_platform(ISSUER, CLIENT_ID, PF.jwks_url,
                         [DEPLOYMENT, SECOND_DEPLOYMENT])
        SRV.add_platform(CANVAS_ISSUER, CANVAS_CLIENT_ID, PF.jwks_url,
                         [CANVAS_DEPLOYMENT])
        SRV.add_platform(BROKEN_ISSUER, CLIENT_ID,
                         PF.url("/no-such-key-set"), [DEPLOYMENT])
        SRV.start()
        START_PIDS = SRV.fcgi_pids()
        # Crash detection and the cross-process tests rely on both.
        if len(START_PIDS) != 2:
            raise RuntimeError("expected 2 notices.fcgi processes, found %r"
                               % START_PIDS)
    except BaseException:
        # tearDownModule does not run when setUpModule fails.
        tearDownModule()
        raise


def tearDownModule():
    if SRV is not None:
        SRV.stop()
    if PF is not None:
        PF.stop()


class ReceiverTest(unittest.TestCase):
    """Helpers shared by every test: posting and checking the store."""

    maxDiff = None

    def snapshot(self):
        """The store keys, to prove a request stored nothing."""
        return sorted(n["key"] for n in SRV.notices())

    def stored_with_id(self, nid):
        return [n for n in SRV.notices() if n["id"] == nid]

    def post_entries(self, entries, status=200, path=None):
        """POSTs {"notices": entries} and returns the per-entry answers,
        after checking the HTTP status (None: the one that goes with the
        answers, 503 if one is a transient refusal, else 200) and the
        shape of the answer."""
        resp = SRV.post({"notices": entries}, path=path)
        if status is None:
            status = 503 if any(a.get("error") in TRANSIENT
                                for a in (resp.json or {}).get(
                                    "notices", [])) else 200
        self.assertEqual(resp.status, status, resp)
        self.assertIsNotNone(resp.json, resp)
        self.assertEqual(len(resp.json["notices"]), len(entries), resp)
        return resp.json["notices"]

    def assert_rejected(self, entry, codes, status=200):
        """One entry is rejected with one of codes (a string, or a tuple
        where the contract leaves a choice), no id is echoed, and the store
        does not change."""
        codes = (codes,) if isinstance(codes, str) else codes
        before = self.snapshot()
        answer = self.post_entries([entry], status=status)[0]
        self.assertEqual(answer.get("status"), "rejected", answer)
        self.assertIn(answer.get("error"), codes, answer)
        self.assertEqual(set(answer), {"status", "error"}, answer)
        self.assertEqual(self.snapshot(), before, "a rejection stored data")
        return answer["error"]

    def assert_unknown_kid(self, entry):
        """entry is refused unknown_kid, which is final only once the key
        set was fetched for it.  Another test may have fetched the set
        within jwks_refetch_interval: then the answer is unknown_kid_retry
        in a 503, and the entry is sent again past the interval, as a
        platform that retries would."""
        before = self.snapshot()
        resp = SRV.post({"notices": [entry]})
        if resp.status == 503:
            self.assertEqual(resp.json["notices"],
                             [{"status": "rejected",
                               "error": "unknown_kid_retry"}], resp)
            time.sleep(H.JWKS_REFETCH_INTERVAL + 1.5)
            resp = SRV.post({"notices": [entry]})
        # Not sent again after a final answer: the fetch it cost would
        # hold the next attempt's back.
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.json["notices"],
                         [{"status": "rejected", "error": "unknown_kid"}],
                         resp)
        self.assertEqual(self.snapshot(), before, "a rejection stored data")

    def assert_accepted(self, token, entry=None, path=None):
        """The token is accepted, its notice id echoed, and it is stored
        exactly once.  Returns the stored record."""
        nid = notice_id(token)
        answer = self.post_entries([entry if entry is not None else
                                    {"jwt": token}], path=path)[0]
        self.assertEqual(answer, {"status": "accepted", "id": nid})
        stored = self.stored_with_id(nid)
        self.assertEqual(len(stored), 1, stored)
        return stored[0]

    def assert_body_refused(self, body, status, content_type=None):
        """A whole request refused with status; nothing stored."""
        before = self.snapshot()
        kw = {} if content_type is None else {"content_type": content_type}
        resp = SRV.post(body, **kw)
        self.assertEqual(resp.status, status, resp)
        self.assertEqual(self.snapshot(), before, "a refused body stored data")
        return resp


class T01Platform(unittest.TestCase):
    """The test platform itself, checked with PyJWT alone, so that a
    failure elsewhere points at the receiver and not at the test."""

    def fetch_jwks(self):
        conn = http.client.HTTPConnection("127.0.0.1", PF.port, timeout=10)
        try:
            conn.request("GET", "/jwks")
            r = conn.getresponse()
            self.assertEqual(r.status, 200)
            return json.loads(r.read())
        finally:
            conn.close()

    def test_minted_token_verifies_with_pyjwt_and_served_jwks(self):
        before = PF.fetch_count
        jwks = self.fetch_jwks()
        self.assertEqual(PF.fetch_count, before + 1)
        for key in jwks["keys"]:
            self.assertEqual((key["kty"], key["alg"], key["use"]),
                             ("RSA", "RS256", "sig"))
        token = PF.mint(notice_type=P.CONTEXT_COPY)
        claims = P.verify_with_jwks(token, jwks, CLIENT_ID)
        self.assertEqual(claims["iss"], ISSUER)
        self.assertEqual(claims["exp"], claims["iat"] + 3600)
        self.assertEqual(claims[CLAIM_VERSION], "1.3.0")
        self.assertEqual(claims[CLAIM_NOTICE]["type"], P.CONTEXT_COPY)
        self.assertEqual(len(claims[P.CLAIM_ORIGIN_CONTEXTS]), 1)
        self.assertRegex(claims[CLAIM_NOTICE]["timestamp"],
                         r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        header = json.loads(P.b64url_decode(token.split(".")[0]))
        self.assertEqual(header, {"typ": "JWT", "alg": "RS256",
                                  "kid": PF.kid})

    def test_forged_tokens_are_what_they_claim(self):
        # HS256 keyed with the public PEM really is a valid HMAC under it,
        # so the receiver refusing it proves algorithm pinning.
        token = PF.hs256_with_public_pem()
        head, payload, sig = token.split(".")
        mac = hmac.new(PF.public_pem(), (head + "." + payload).encode(),
                       hashlib.sha256).digest()
        self.assertEqual(P.b64url_decode(sig), mac)
        self.assertEqual(json.loads(P.b64url_decode(head))["alg"], "HS256")
        self.assertTrue(PF.alg_none().endswith("."))
        # A stray key's signature does not verify against the JWKS.
        forged = PF.mint(sign_with=stray_key(), kid=PF.kid)
        with self.assertRaises(P.jwt.InvalidSignatureError):
            P.verify_with_jwks(forged, self.fetch_jwks(), CLIENT_ID)

    def test_seed_canvas_token_decodes_to_expected_claims(self):
        # The twin of T10Canvas.test_seed_token_rejected: the fixture is a
        # genuine, well-formed Canvas hello-world notice.
        with open(CANVAS_SEED) as f:
            token = f.read().strip()
        header = P.jwt.get_unverified_header(token)
        self.assertEqual(header, {"typ": "JWT", "alg": "RS256",
                                  "kid": SEED_KID})
        claims = P.decode_unverified(token)
        self.assertEqual(claims[CLAIM_NOTICE], {
            "id": SEED_NOTICE_ID, "timestamp": "2025-03-19T11:11:17Z",
            "type": P.HELLO_WORLD})
        self.assertEqual(claims["iss"], CANVAS_ISSUER)
        self.assertEqual(claims["aud"], CANVAS_CLIENT_ID)
        self.assertEqual(claims["azp"], CANVAS_CLIENT_ID)
        self.assertEqual(claims[CLAIM_DEPLOYMENT], CANVAS_DEPLOYMENT)
        self.assertEqual(claims[CLAIM_VERSION], "1.3.0")
        self.assertEqual(claims["exp"] - claims["iat"], 3600)
        self.assertLess(claims["exp"], time.time())
        self.assertIn(P.CLAIM_HELLO_WORLD, claims)


class T02Accept(ReceiverTest):
    """Valid notices in every documented shape are accepted and stored."""

    def test_listing_is_safe_for_a_terminal(self):
        # A platform signs whatever notice id and type it likes.  The text
        # form of `pnsctl notices list` printed them raw, so a notice id
        # with a newline forged an extra line of the listing and one with
        # an escape sequence reached the administrator's terminal as a
        # command.  Text output now escapes them; --json keeps them exact.
        nid = "evil-%s\nforged line\x1b[31mred\x07" % uuid.uuid4()
        resp = SRV.post({"notices": [{"jwt": PF.mint(notice_id=nid,
                                                     notice_type="Odd\x1bType")}]})
        self.assertEqual(resp.json["notices"][0]["status"], "accepted", resp)
        text = SRV.pnsctl("notices", "list").stdout
        self.assertNotIn("\x1b", text)
        self.assertNotIn("\x07", text)
        self.assertNotIn("\nforged line", text)
        mine = [line for line in text.splitlines() if "evil-" in line]
        self.assertEqual(len(mine), 1, text)
        self.assertIn("forged line", mine[0])
        # The twin: the machine-readable form carries the id unchanged.
        self.assertEqual(len(self.stored_with_id(nid)), 1)

    def test_hello_world_accepted_listed_and_shown(self):
        token, claims = PF.mint_with_claims()
        nid = claims[CLAIM_NOTICE]["id"]
        resp = SRV.post({"notices": [{"jwt": token}]},
                        path=SRV.path + "/" + DEPLOYMENT)
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.header("Content-Type").split(";")[0],
                         "application/json")
        self.assertEqual(resp.json, {"notices": [
            {"status": "accepted", "id": nid}]})

        stored = self.stored_with_id(nid)
        self.assertEqual(len(stored), 1, stored)
        rec = stored[0]
        self.assertEqual(rec["type"], P.HELLO_WORLD)
        self.assertEqual(rec["timestamp"], claims[CLAIM_NOTICE]["timestamp"])
        self.assertEqual(rec["iss"], ISSUER)
        self.assertEqual(rec["client_id"], CLIENT_ID)
        self.assertEqual(rec["deployment_id"], DEPLOYMENT)
        self.assertRegex(rec["received_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d")
        self.assertRegex(rec["key"], r"^[0-9a-f]{64}$")
        self.assertEqual(rec["claims"], claims)
        self.assertNotIn("jwt", rec)  # the listing leaves the token out

        for ident in (nid, rec["key"]):
            show = SRV.pnsctl("notices", "show", ident)
            shown = json.loads(show.stdout)
            self.assertEqual(shown["jwt"], token)
            self.assertEqual(shown["key"], rec["key"])
            self.assertEqual(shown["id"], nid)
            self.assertEqual(shown["claims"], claims)

    def test_show_unknown_id_fails(self):
        # Twin of the show above: an id never stored is an error (exit 1).
        res = SRV.pnsctl("notices", "show", str(uuid.uuid4()), check=False)
        self.assertEqual(res.returncode, 1, res)

    def test_context_copy_accepted_with_origin_contexts(self):
        token, claims = PF.mint_with_claims(notice_type=P.CONTEXT_COPY)
        rec = self.assert_accepted(token)
        self.assertEqual(rec["type"], P.CONTEXT_COPY)
        self.assertEqual(rec["claims"][P.CLAIM_ORIGIN_CONTEXTS],
                         claims[P.CLAIM_ORIGIN_CONTEXTS])

    def test_bare_string_entry_accepted(self):
        token = PF.mint()
        self.assert_accepted(token, entry=token)

    def test_handler_path_is_only_a_label(self):
        # The deployment in the URL is not trusted nor required.
        self.assert_accepted(PF.mint(), path=SRV.path)
        self.assert_accepted(PF.mint(), path=SRV.path + "/another-label")

    def test_empty_notice_list_answered(self):
        before = self.snapshot()
        self.assertEqual(self.post_entries([]), [])
        self.assertEqual(self.snapshot(), before)

    def test_unknown_claims_ignored_and_sub_not_required(self):
        token = PF.mint(claims={"sub": DELETE,
                                "https://example.com/extra": {"a": [1, 2]}})
        self.assert_accepted(token)

    def test_typ_header_not_required(self):
        self.assert_accepted(PF.mint(header={"typ": DELETE}))

    def test_within_clock_leeway_accepted(self):
        now = int(time.time())
        skew = H.CLOCK_LEEWAY // 2
        self.assert_accepted(PF.mint(claims={"exp": now - skew,
                                             "iat": now - 3600}))
        self.assert_accepted(PF.mint(claims={"iat": now + skew}))

    def test_aud_single_element_array_accepted(self):
        self.assert_accepted(PF.mint(claims={"aud": [CLIENT_ID]}))
        self.assert_accepted(PF.mint(claims={"aud": [CLIENT_ID],
                                             "azp": DELETE}))

    def test_aud_several_with_azp_accepted(self):
        self.assert_accepted(PF.mint(claims={
            "aud": ["https://other.example", CLIENT_ID],
            "azp": CLIENT_ID}))

    def test_string_aud_without_azp_accepted(self):
        self.assert_accepted(PF.mint(claims={"azp": DELETE}))

    def test_iso8601_timestamp_variants_accepted(self):
        # Twins of the bad timestamps: ISO-8601 with fractions and offsets
        # (Canvas writes offsets in asset timestamps).
        for ts in ("2025-03-19T11:11:17.123Z", "2025-07-30T03:26:44-06:00",
                   "2025-07-30T03:26:44+02:00"):
            with self.subTest(ts=ts):
                token = PF.mint(claims={CLAIM_NOTICE: {
                    "id": str(uuid.uuid4()), "timestamp": ts,
                    "type": P.HELLO_WORLD}})
                self.assertEqual(self.assert_accepted(token)["timestamp"], ts)

    def test_second_deployment_accepted(self):
        self.assert_accepted(PF.mint(claims={
            CLAIM_DEPLOYMENT: SECOND_DEPLOYMENT}))

    def test_deployment_added_while_running(self):
        # A deployment registered after the processes started is seen by
        # them: before, unknown_deployment; after, accepted.
        late = "3:late-" + uuid.uuid4().hex
        self.assert_rejected(PF.mint(claims={CLAIM_DEPLOYMENT: late}),
                             "unknown_deployment")
        SRV.add_platform(ISSUER, CLIENT_ID, PF.jwks_url, [late])
        self.assert_accepted(PF.mint(claims={CLAIM_DEPLOYMENT: late}))

    def test_canvas_shaped_notice_accepted(self):
        # The Canvas registration works with a key it can verify: this is
        # what makes the seed token's rejection meaningful.
        token = PF.mint(claims=canvas_claims())
        rec = self.assert_accepted(token)
        self.assertEqual((rec["iss"], rec["client_id"], rec["deployment_id"]),
                         (CANVAS_ISSUER, CANVAS_CLIENT_ID, CANVAS_DEPLOYMENT))


class T03Dedup(ReceiverTest):
    """A notice is stored once per (iss, client_id, notice id)."""

    def test_posted_twice(self):
        token = PF.mint()
        nid = notice_id(token)
        self.assert_accepted(token)
        self.assertEqual(self.post_entries([{"jwt": token}]),
                         [{"status": "duplicate", "id": nid}])
        self.assertEqual(len(self.stored_with_id(nid)), 1)

    def test_twice_in_one_batch(self):
        token = PF.mint()
        nid = notice_id(token)
        self.assertEqual(self.post_entries([{"jwt": token}, token]), [
            {"status": "accepted", "id": nid},
            {"status": "duplicate", "id": nid}])
        self.assertEqual(len(self.stored_with_id(nid)), 1)

    def test_same_id_in_a_different_token(self):
        # Platforms that retry re-sign: the notice id, not the token,
        # identifies the notice.
        nid = str(uuid.uuid4())
        first = PF.mint(notice_id=nid)
        second = PF.mint(notice_id=nid)
        self.assertNotEqual(first, second)
        self.assert_accepted(first)
        self.assertEqual(self.post_entries([second]),
                         [{"status": "duplicate", "id": nid}])
        self.assertEqual(len(self.stored_with_id(nid)), 1)

    def test_same_id_from_another_platform_is_another_notice(self):
        nid = str(uuid.uuid4())
        self.assertEqual(self.post_entries([PF.mint(notice_id=nid)]),
                         [{"status": "accepted", "id": nid}])
        self.assertEqual(
            self.post_entries([PF.mint(notice_id=nid,
                                       claims=canvas_claims())]),
            [{"status": "accepted", "id": nid}])
        stored = self.stored_with_id(nid)
        self.assertEqual(sorted(n["iss"] for n in stored),
                         sorted([ISSUER, CANVAS_ISSUER]))

    def test_retry_after_a_crash_left_the_name_alone(self):
        # A power failure can leave a notice's name in the store without
        # its record: ext4 writes a new file's name and inode before it
        # allocates the file's blocks, so after the restart the name holds
        # nothing, zeros or a cut text.  The crash came before the sync,
        # so the notice was never acknowledged and the platform sends it
        # again; the receiver used to answer that retry "duplicate",
        # acknowledging a notice whose record was gone.  The leftovers are
        # made here by hand, on notices stored through the receiver.
        other = self.assert_accepted(PF.mint())["id"]
        for leftover in (b"", b"\0" * 2711, b'{"key":"'):
            token = PF.mint()
            nid = notice_id(token)
            key = self.assert_accepted(token)["key"]
            path = SRV.data_dir / "notices" / key[:2] / (key + ".json")
            self.assertTrue(path.is_file(), path)
            path.write_bytes(leftover)
            # Until the retry, pnsctl lists the other notices and names
            # the leftover.
            res = SRV.pnsctl("notices", "list", "--json")
            listed = [n["id"] for n in json.loads(res.stdout)]
            self.assertNotIn(nid, listed)
            self.assertIn(other, listed)
            self.assertIn("%s: skipped, not a whole record" % key, res.stderr)
            retry = PF.mint(notice_id=nid)     # platforms re-sign retries
            self.assertEqual(self.post_entries([retry]),
                             [{"status": "accepted", "id": nid}], leftover)
            stored = self.stored_with_id(nid)
            self.assertEqual(len(stored), 1, stored)
            self.assertNotIn("skipped", SRV.pnsctl("notices", "list").stderr)
            record = path.read_bytes()
            self.assertEqual(json.loads(record)["jwt"], retry)
            # The twin: a whole record makes the next retry a duplicate,
            # and stays as it is.
            self.assertEqual(self.post_entries([token]),
                             [{"status": "duplicate", "id": nid}])
            self.assertEqual(path.read_bytes(), record)
        self.assertIn("replacing what a crash left", SRV.error_log())

    def test_concurrent_posts_of_one_notice(self):
        """Two clients post the same notice id at the same moment (the two
        FastCGI processes take one each): exactly one is accepted."""
        rounds = 20
        for _ in range(rounds):
            nid = str(uuid.uuid4())
            tokens = [PF.mint(notice_id=nid), PF.mint(notice_id=nid)]
            barrier = threading.Barrier(len(tokens), timeout=30)
            answers = [None] * len(tokens)

            def client(i):
                barrier.wait()
                try:
                    answers[i] = SRV.post({"notices": [tokens[i]]})
                except Exception as exc:  # reported by the assertion below
                    answers[i] = exc

            threads = [threading.Thread(target=client, args=(i,))
                       for i in range(len(tokens))]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=120)
            self.assertFalse(any(t.is_alive() for t in threads), "hung")
            statuses = []
            for a in answers:
                self.assertIsInstance(a, H.Response, a)
                self.assertEqual(a.status, 200, a)
                entry = a.json["notices"][0]
                self.assertEqual(entry.get("id"), nid, entry)
                statuses.append(entry["status"])
            self.assertEqual(sorted(statuses), ["accepted", "duplicate"],
                             "notice %s" % nid)
            self.assertEqual(len(self.stored_with_id(nid)), 1, nid)

    def prune(self, days="1"):
        """pnsctl notices prune --older-than days; its summary line."""
        return SRV.pnsctl("notices", "prune", "--older-than",
                          days).stdout.strip()

    def test_replay_after_prune_is_still_a_duplicate(self):
        # A replay of a stored notice's token used to be accepted again
        # once `pnsctl notices prune` had run: prune forgot any notice
        # received more than DAYS (at least 1) days ago, on the belief
        # that its token had expired by then.  But the receiver takes any
        # token whose exp is ahead, and nothing keeps a platform from
        # signing one that lives for weeks (Canvas's live an hour).  So a
        # token with exp 30 days ahead, stored and pruned two days later,
        # was accepted, stored and queued for delivery a second time.
        # Prune now keeps a notice while its token could still be
        # accepted, and says how many it kept for that.
        now = int(time.time())
        token = PF.mint(claims={"iat": now, "exp": now + 30 * 86400})
        nid = notice_id(token)
        key = self.assert_accepted(token)["key"]
        SRV.age_notice(key, 2, token_too=False)
        summary = self.prune()
        self.assertEqual(self.post_entries([{"jwt": token}]),
                         [{"status": "duplicate", "id": nid}])
        self.assertEqual(len(self.stored_with_id(nid)), 1)
        self.assertTrue(SRV.notice_file(key).is_file())
        self.assertEqual(summary,
                         "0 notice(s) removed, 0 older ones kept (pending "
                         "or failed), 1 kept while their token is still "
                         "valid")
        # Kept, not forgotten: a later prune keeps it again.
        self.assertRegex(self.prune(), r" 1 kept while their token is still "
                         r"valid$")
        self.assertTrue(SRV.notice_file(key).is_file())
        # What prune judges is the exp stored with the notice: moved a
        # month back, the notice goes (and leaves no old notice behind
        # for the other tests' prunes to count).
        SRV.age_notice(key, 31)
        self.assertRegex(self.prune(), r"^1 notice\(s\) removed, .* 0 kept ")
        self.assertFalse(SRV.notice_file(key).exists())

    def test_expired_token_pruned_and_its_id_forgotten(self):
        # The twin: prune still forgets a notice once its token cannot be
        # accepted any more, that is once exp and the clock leeway have
        # both gone by.  The token is signed to expire soon (within the
        # leeway already, which the receiver accepts) so that the wait
        # stays a few seconds.
        now = int(time.time())
        exp = now - H.CLOCK_LEEWAY + 5
        nid = str(uuid.uuid4())
        token = PF.mint(notice_id=nid, claims={"iat": now - 60, "exp": exp})
        key = self.assert_accepted(token)["key"]
        SRV.age_notice(key, 2, token_too=False)
        # Past exp, not yet past the leeway: it could still be replayed.
        self.assertEqual(self.prune(),
                         "0 notice(s) removed, 0 older ones kept (pending "
                         "or failed), 1 kept while their token is still "
                         "valid")
        time.sleep(max(0.0, exp + H.CLOCK_LEEWAY + 1.2 - time.time()))
        self.assertEqual(self.prune(),
                         "1 notice(s) removed, 0 older ones kept (pending "
                         "or failed), 0 kept while their token is still "
                         "valid")
        self.assertFalse(SRV.notice_file(key).exists())
        self.assertEqual(self.stored_with_id(nid), [])
        # The token itself can no longer come in; its id, forgotten, is
        # a new notice when a new token carries it.
        self.assert_rejected(token, "expired")
        self.assert_accepted(PF.mint(notice_id=nid))

    def test_record_without_exp_kept_and_named(self):
        # The receiver stores no token without a numeric exp, so a record
        # without one was changed after it was stored; when a token of its
        # id stops being accepted cannot be known, so prune keeps it and
        # names it, rather than forget an id that may be replayed.  Its
        # twin: the same record given back an exp long past goes.
        key = self.assert_accepted(PF.mint())["key"]
        SRV.age_notice(key, 2)
        path = SRV.notice_file(key)
        text = path.read_text()
        exp = '"exp":%d,' % json.loads(text)["claims"]["exp"]
        self.assertEqual(text.count(exp), 1)
        for bad in ('"exp":"soon",', '"exp":null,', ""):
            with self.subTest(exp=bad):
                path.write_text(text.replace(exp, bad))
                res = SRV.pnsctl("notices", "prune", "--older-than", "1")
                self.assertEqual(res.stdout.strip(),
                                 "0 notice(s) removed, 0 older ones kept "
                                 "(pending or failed), 0 kept while their "
                                 "token is still valid")
                self.assertIn("pnsctl: notice %s: kept, its claims have no "
                              "exp to tell when its token expires" % key,
                              res.stderr)
                self.assertTrue(path.is_file())
        path.write_text(text)
        self.assertEqual(self.prune(),
                         "1 notice(s) removed, 0 older ones kept (pending "
                         "or failed), 0 kept while their token is still "
                         "valid")
        self.assertFalse(path.exists())


class T04Batch(ReceiverTest):
    """One bad notice never blocks the others; answers keep input order."""

    def test_mixed_batch(self):
        good = [PF.mint(), PF.mint(notice_type=P.CONTEXT_COPY), PF.mint()]
        ids = [notice_id(t) for t in good]
        now = int(time.time())
        entries = [
            {"jwt": good[0]},
            {"jwt": PF.alg_none(signature=b"\x01" * 256)},
            good[1],                                        # bare string
            {"jwt": PF.mint(claims={"exp": now - 3600,
                                    "iat": now - 7200})},
            {},
            {"jwt": good[2]},
            {"jwt": P.TestPlatform.garbage()},
            {"jwt": good[0]},                               # repeated
        ]
        before = len(SRV.notices())
        self.assertEqual(self.post_entries(entries), [
            {"status": "accepted", "id": ids[0]},
            {"status": "rejected", "error": "bad_alg"},
            {"status": "accepted", "id": ids[1]},
            {"status": "rejected", "error": "expired"},
            {"status": "rejected", "error": "malformed"},
            {"status": "accepted", "id": ids[2]},
            {"status": "rejected", "error": "malformed"},
            {"status": "duplicate", "id": ids[0]},
        ])
        self.assertEqual(len(SRV.notices()), before + 3)
        for nid in ids:
            self.assertEqual(len(self.stored_with_id(nid)), 1, nid)

    def test_unfetchable_keys_make_503_and_retry_sees_duplicates(self):
        # jwks_unavailable is transient: the batch answers 503 so that a
        # platform retries, and the notice verified meanwhile comes back as
        # a duplicate on the retry.
        good = PF.mint()
        nid = notice_id(good)
        broken = PF.mint(claims={"iss": BROKEN_ISSUER})
        for expected in ("accepted", "duplicate"):
            answers = self.post_entries([good, broken], status=503)
            self.assertEqual(answers, [
                {"status": expected, "id": nid},
                {"status": "rejected", "error": "jwks_unavailable"}])
        self.assertEqual(len(self.stored_with_id(nid)), 1)
        self.assertEqual(self.stored_with_id(notice_id(broken)), [])

    def test_unfetchable_keys_alone(self):
        self.assert_rejected(PF.mint(claims={"iss": BROKEN_ISSUER}),
                             "jwks_unavailable", status=503)
        self.assert_accepted(PF.mint(claims={"iss": ISSUER}))


class T05Algorithm(ReceiverTest):
    """alg is pinned to RS256 before any key is touched."""

    def test_alg_none_with_signature(self):
        self.assert_rejected(PF.alg_none(signature=b"\x01" * 256), "bad_alg")
        self.assert_accepted(PF.mint())

    def test_alg_none_unsigned(self):
        # "header.payload." has an empty third segment: receiver.md names
        # alg none under bad_alg and an empty token under malformed; either
        # refusal is within the contract.
        self.assert_rejected(PF.alg_none(), ("bad_alg", "malformed"))
        self.assert_accepted(PF.mint())

    def test_hs256_keyed_with_public_key_pem(self):
        self.assert_rejected(PF.hs256_with_public_pem(), "bad_alg")
        self.assert_accepted(PF.mint())

    def test_rs512_with_the_right_key(self):
        self.assert_rejected(PF.mint(alg="RS512"), "bad_alg")
        self.assert_accepted(PF.mint(alg="RS256"))

    def test_other_alg_values(self):
        for alg in ("RS384", "rs256", "RS256 ", "ES256", "PS256", ""):
            with self.subTest(alg=alg):
                self.assert_rejected(PF.mint(header={"alg": alg}), "bad_alg")
        self.assert_rejected(PF.mint(header={"alg": DELETE}), "bad_alg")
        self.assert_rejected(PF.mint(header={"alg": ["RS256"]}), "bad_alg")
        self.assert_accepted(PF.mint(header={"alg": "RS256"}))


class T06Header(ReceiverTest):
    """The JOSE header: JSON object, no crit, a kid."""

    def with_header(self, raw_header):
        """A token with this exact header segment and a valid payload and
        signature for it."""
        payload = PF.claims()
        data = (P.b64url(raw_header) + "." +
                P.b64url(P.json_bytes(payload))).encode()
        return data.decode() + "." + P.b64url(
            P.sign_rsa(PF.key().private, data))

    def test_no_kid(self):
        self.assert_rejected(PF.mint(header={"kid": DELETE}), "no_kid")
        self.assert_accepted(PF.mint(header={"kid": PF.kid}))

    def test_header_not_json(self):
        self.assert_rejected(self.with_header(b"not json at all"),
                             "bad_header")
        self.assert_accepted(self.with_header(P.json_bytes(PF.header())))

    def test_header_not_an_object(self):
        self.assert_rejected(self.with_header(b'["RS256"]'), "bad_header")
        self.assert_rejected(self.with_header(b'"RS256"'), "bad_header")

    def test_crit_present(self):
        self.assert_rejected(PF.mint(header={"crit": ["exp"]}), "bad_header")
        self.assert_accepted(PF.mint(header={"cty": "JWT+x"}))

    def test_huge_header(self):
        self.assert_rejected(PF.huge_header(100 * 1024),
                             ("malformed", "bad_header"))
        self.assertEqual(SRV.fcgi_pids(), START_PIDS, "a process died")
        self.assert_accepted(PF.mint())


class T07Claims(ReceiverTest):
    """Each claim rule on its own, each next to an accepted twin."""

    def test_payload_not_an_object(self):
        for payload in (b"[1,2,3]", b'"claims"', b"42", b"not json",
                        b"{\"iss\":"):
            with self.subTest(payload=payload):
                self.assert_rejected(PF.mint(payload=payload), "bad_claims")
        self.assert_accepted(PF.mint(payload=P.json_bytes(PF.claims())))

    def test_deeply_nested_payload(self):
        self.assert_rejected(PF.deeply_nested_payload(100000), "bad_claims")
        self.assertEqual(SRV.fcgi_pids(), START_PIDS, "a process died")
        self.assert_accepted(PF.mint())

    def test_iss_missing(self):
        self.assert_rejected(PF.mint(claims={"iss": DELETE}), "bad_claims")
        self.assert_accepted(PF.mint(claims={"iss": ISSUER}))

    def test_wrong_iss(self):
        self.assert_rejected(PF.mint(claims={
            "iss": "https://impostor.example"}), "unknown_platform")
        self.assert_accepted(PF.mint())

    def test_wrong_aud(self):
        # aud names the client; no platform is registered for (iss, it).
        self.assert_rejected(PF.mint(claims={"aud": "someone-else",
                                             "azp": DELETE}),
                             "unknown_platform")
        self.assert_accepted(PF.mint(claims={"azp": DELETE}))

    def test_bad_aud_shapes(self):
        for aud in (DELETE, "", 42, [], [CLIENT_ID, 5], None, {"a": 1}):
            with self.subTest(aud=aud):
                self.assert_rejected(PF.mint(claims={"aud": aud,
                                                     "azp": DELETE}),
                                     "bad_aud")
        self.assert_accepted(PF.mint(claims={"aud": CLIENT_ID}))

    def test_several_aud_without_azp(self):
        aud = [CLIENT_ID, "https://other.example"]
        self.assert_rejected(PF.mint(claims={"aud": aud, "azp": DELETE}),
                             "bad_azp")
        self.assert_accepted(PF.mint(claims={"aud": aud, "azp": CLIENT_ID}))

    def test_azp_not_among_audiences(self):
        aud = [CLIENT_ID, "https://other.example"]
        self.assert_rejected(PF.mint(claims={"aud": aud, "azp": "third"}),
                             "bad_azp")
        self.assert_rejected(PF.mint(claims={"aud": CLIENT_ID,
                                             "azp": "third"}), "bad_azp")
        self.assert_accepted(PF.mint(claims={"aud": CLIENT_ID,
                                             "azp": CLIENT_ID}))

    def test_expired(self):
        now = int(time.time())
        self.assert_rejected(PF.mint(claims={"exp": now - 3600,
                                             "iat": now - 7200}), "expired")
        self.assert_rejected(PF.mint(claims={
            "exp": now - 3 * H.CLOCK_LEEWAY}), "expired")
        self.assert_rejected(PF.mint(claims={"exp": DELETE}), "expired")
        self.assert_rejected(PF.mint(claims={"exp": "tomorrow"}), "expired")
        self.assert_accepted(PF.mint(claims={"exp": now + 60}))

    def test_iat_in_the_future(self):
        now = int(time.time())
        self.assert_rejected(PF.mint(claims={"iat": now + 3600,
                                             "exp": now + 7200}),
                             "iat_future")
        self.assert_rejected(PF.mint(claims={
            "iat": now + 3 * H.CLOCK_LEEWAY}), "iat_future")
        self.assert_rejected(PF.mint(claims={"iat": DELETE}), "iat_future")
        self.assert_accepted(PF.mint(claims={"iat": now}))

    def test_wrong_version(self):
        for version in ("1.2.0", "1.3", "", 1.3, DELETE):
            with self.subTest(version=version):
                self.assert_rejected(PF.mint(claims={CLAIM_VERSION: version}),
                                     "bad_version")
        self.assert_accepted(PF.mint(claims={CLAIM_VERSION: "1.3.0"}))

    def test_bad_notice_claim(self):
        def notice(**fields):
            base = {"id": str(uuid.uuid4()), "timestamp": P.iso_now(),
                    "type": P.HELLO_WORLD}
            return P.apply_overrides(base, fields)

        variants = {
            "missing": DELETE,
            "a string": "notice",
            "an array": [notice()],
            "id missing": notice(id=DELETE),
            "id a number": notice(id=12345),
            "id null": notice(id=None),
            "type missing": notice(type=DELETE),
            "type a number": notice(type=7),
            "timestamp missing": notice(timestamp=DELETE),
            "timestamp words": notice(timestamp="yesterday"),
            "timestamp empty": notice(timestamp=""),
            "timestamp a number": notice(timestamp=1742382677),
            "timestamp not ISO": notice(timestamp="19/03/2025 11:11:17"),
            "timestamp out of range": notice(
                timestamp="2025-13-45T25:61:61Z"),
        }
        for name, value in variants.items():
            with self.subTest(variant=name):
                self.assert_rejected(PF.mint(claims={CLAIM_NOTICE: value}),
                                     "bad_notice")
        self.assert_accepted(PF.mint(claims={CLAIM_NOTICE: notice()}))

    def test_unknown_deployment(self):
        self.assert_rejected(PF.mint(claims={
            CLAIM_DEPLOYMENT: "999:not-registered"}), "unknown_deployment")
        self.assert_rejected(PF.mint(claims={CLAIM_DEPLOYMENT: DELETE}),
                             "unknown_deployment")
        # Canvas's deployment is registered, but for another platform.
        self.assert_rejected(PF.mint(claims={
            CLAIM_DEPLOYMENT: CANVAS_DEPLOYMENT}), "unknown_deployment")
        self.assert_accepted(PF.mint(claims={CLAIM_DEPLOYMENT: DEPLOYMENT}))


class T08Signature(ReceiverTest):
    """The signature, checked with the key the kid names."""

    def test_signed_by_another_key_with_known_kid(self):
        self.assert_rejected(PF.mint(sign_with=stray_key(), kid=PF.kid),
                             "bad_signature")
        self.assert_accepted(PF.mint(kid=PF.kid))

    def test_payload_swapped_under_a_valid_signature(self):
        a, b = PF.mint().split("."), PF.mint().split(".")
        self.assert_rejected(".".join([a[0], b[1], a[2]]), "bad_signature")
        self.assert_accepted(".".join(b))

    def test_signature_one_byte_short(self):
        head, payload, sig = PF.mint().split(".")
        short = P.b64url(P.b64url_decode(sig)[:-1])
        self.assert_rejected(".".join([head, payload, short]),
                             "bad_signature")
        self.assert_accepted(".".join([head, payload, sig]))

    def test_unknown_kid(self):
        self.assert_unknown_kid(PF.mint(header={"kid": "no-such-kid-" +
                                                uuid.uuid4().hex}))
        self.assert_accepted(PF.mint())


class T09Malformed(ReceiverTest):
    """Entries that are not compact JWS at all."""

    def test_truncated(self):
        token = PF.mint()
        # Cut inside the payload: two segments left.
        self.assert_rejected(P.TestPlatform.truncated(token), "malformed")
        # Cut inside the signature: it is short, or not base64url at all.
        self.assert_rejected(token[:-7], ("malformed", "bad_signature"))
        self.assert_accepted(token)

    def test_garbage(self):
        token = PF.mint()
        for junk in (P.TestPlatform.garbage(), "a.b.c", "..", "a.b",
                     token + ".extra", token.replace(".", "..", 1),
                     "é.é.é", token[:40] + "\u0000" + token[40:],
                     "*" * 1000):
            with self.subTest(junk=junk[:60]):
                self.assert_rejected(junk, "malformed")
        self.assert_accepted(token)

    def test_segment_not_base64url(self):
        # A character outside the base64url alphabet in any one segment
        # makes the token "not a compact JWS (three base64url segments)",
        # whichever segment it is in.
        for where in range(3):
            for bad in (" ", "*", "+", "="):
                with self.subTest(segment=where, char=bad):
                    parts = PF.mint().split(".")
                    parts[where] = parts[where][:10] + bad + parts[where][10:]
                    self.assert_rejected(".".join(parts), "malformed")
        self.assert_accepted(PF.mint())

    def test_entries_that_are_not_tokens(self):
        for entry in ("", {"jwt": ""}, {}, {"token": PF.mint()},
                      {"jwt": 5}, {"jwt": None}, 42, None, [], [PF.mint()]):
            with self.subTest(entry=str(entry)[:60]):
                self.assert_rejected(entry, "malformed")
        self.assert_accepted(PF.mint())


class T10Canvas(ReceiverTest):
    """The real Canvas hello-world notice from the PNS documentation."""

    def test_seed_token_rejected(self):
        with open(CANVAS_SEED) as f:
            token = f.read().strip()
        fetches = PF.fetch_count
        # Expired (March 2025) and signed by a Canvas key we do not serve;
        # expiry is checked first and needs no key.
        self.assert_rejected(token, "expired")
        self.assert_rejected({"jwt": token}, "expired")
        self.assertEqual(PF.fetch_count, fetches, "expired token fetched keys")
        self.assertEqual(self.stored_with_id(SEED_NOTICE_ID), [])

    def test_seed_kid_on_a_fresh_token(self):
        # Current claims but Canvas's kid: its key is not in our set.
        self.assert_unknown_kid(PF.mint(claims=canvas_claims(),
                                        header={"kid": SEED_KID}))
        self.assert_accepted(PF.mint(claims=canvas_claims()))

    def test_seed_claims_resigned_by_the_test_platform(self):
        # The seed's own claims, re-timed and signed with our key, are
        # accepted: the rejection above is about time and key only.
        with open(CANVAS_SEED) as f:
            seed = P.decode_unverified(f.read().strip())
        now = int(time.time())
        seed.update({"iat": now, "exp": now + 3600})
        seed[CLAIM_NOTICE] = dict(seed[CLAIM_NOTICE], id=str(uuid.uuid4()))
        rec = self.assert_accepted(PF.mint(payload=P.json_bytes(seed)))
        self.assertEqual(rec["claims"], seed)


class T11KeyRotation(ReceiverTest):
    """Keys rotate: an unknown kid triggers a refetch, at most once per
    jwks_refetch_interval."""

    interval = H.JWKS_REFETCH_INTERVAL

    def wait_past_refetch_interval(self):
        # Earlier tests may have fetched just now; whole seconds matter.
        time.sleep(self.interval + 1.5)

    def test_rotation_then_refetch_limit(self):
        self.assert_accepted(PF.mint())     # the current set is cached
        self.wait_past_refetch_interval()
        new_kid = PF.add_key()
        before = PF.fetch_count
        self.assert_accepted(PF.mint(kid=new_kid))
        self.assertEqual(PF.fetch_count, before + 1,
                         "a new kid must cost exactly one fetch")

        # The new key is now cached: no fetch for it, none for old keys.
        after_rotation = PF.fetch_count
        self.assert_accepted(PF.mint(kid=new_kid))
        self.assertEqual(PF.fetch_count, after_rotation)

        # Unknown kids, repeated: one refetch per interval at most.  A
        # kid missing after a refetch is final (200); one the interval
        # kept from being refetched is to be retried (503).
        self.wait_past_refetch_interval()
        start = time.monotonic()
        before = PF.fetch_count
        same = "rotated-away-" + uuid.uuid4().hex
        kids = [same, same, same] + ["never-" + uuid.uuid4().hex
                                     for _ in range(3)]
        finals = []
        for kid in kids:
            code = self.assert_rejected(
                PF.mint(header={"kid": kid}),
                ("unknown_kid", "unknown_kid_retry"),
                status=None)
            finals.append(code == "unknown_kid")
        windows = int((time.monotonic() - start) // self.interval)
        rise = PF.fetch_count - before
        self.assertGreaterEqual(rise, 1, "unknown kid never refetched")
        self.assertLessEqual(rise, 1 + windows,
                             "%d fetches for %d unknown kids" %
                             (rise, len(kids)))
        self.assertTrue(finals[0], "first unknown kid past the interval")
        self.assertEqual(finals.count(True), rise,
                         "unknown_kid without a fetch for it")
        self.assert_accepted(PF.mint(kid=new_kid))
        # The keys published before the rotation are still good.
        for key in PF.jwks()["keys"]:
            self.assert_accepted(PF.mint(kid=key["kid"]))

    def test_made_up_kid_does_not_drop_a_rotated_key(self):
        # A token with the public iss and aud and a made-up kid makes the
        # tool refetch the key set, and no fetch follows for the rest of
        # jwks_refetch_interval.  A genuine notice signed with a key the
        # platform rotated in just then used to be answered unknown_kid
        # in a 200, a final refusal: Canvas does not retry, so the notice
        # was lost, and whoever repeats a made-up kid once per interval
        # keeps that window open.  Not refetched for it, the kid is only
        # missing from a copy that may predate the rotation: the answer
        # is now 503 with unknown_kid_retry, still without a fetch (the
        # rate limit stands), and the retry past the interval fetches
        # the new key and accepts the notice.
        self.assert_accepted(PF.mint())
        self.wait_past_refetch_interval()
        before = PF.fetch_count
        # The twin: a kid still missing right after a refetch is final.
        self.assert_rejected(PF.mint(header={"kid": "made-up-" +
                                             uuid.uuid4().hex}),
                             "unknown_kid")
        self.assertEqual(PF.fetch_count, before + 1)
        token = PF.mint(kid=PF.add_key())
        # The interval runs from the last attempt, the mtime of the key
        # set's stamp in whole seconds: restarted here, so that the post
        # comes inside it however slow the machine (valgrind) is.
        now = time.time()
        stamps = list((SRV.data_dir / "jwks").glob("*.attempt"))
        self.assertTrue(stamps)
        for stamp in stamps:
            os.utime(stamp, (now, now))
        resp = SRV.post({"notices": [token]})
        self.assertEqual(resp.status, 503, resp)
        self.assertEqual(resp.json["notices"],
                         [{"status": "rejected",
                           "error": "unknown_kid_retry"}])
        self.assertEqual(PF.fetch_count, before + 1,
                         "the refetch interval was not kept")
        self.assertEqual(self.stored_with_id(notice_id(token)), [])
        # The platform retries past the interval.
        self.wait_past_refetch_interval()
        self.assert_accepted(token)
        self.assertEqual(PF.fetch_count, before + 2)

    def test_made_up_kid_twice_in_one_batch_is_final(self):
        # The refetch made for the first of two notices naming the same
        # missing kid came after the whole batch arrived, so the second
        # is unknown for good too.  Were it unknown_kid_retry, the batch
        # would be answered 503 on every retry, for ever.  The good
        # notice beside them is accepted.
        self.wait_past_refetch_interval()
        before = PF.fetch_count
        kid = "made-up-" + uuid.uuid4().hex
        good = PF.mint()
        answers = self.post_entries([PF.mint(header={"kid": kid}), good,
                                     PF.mint(header={"kid": kid})])
        self.assertEqual(answers, [
            {"status": "rejected", "error": "unknown_kid"},
            {"status": "accepted", "id": notice_id(good)},
            {"status": "rejected", "error": "unknown_kid"}])
        self.assertEqual(PF.fetch_count, before + 1)


class T12Http(ReceiverTest):
    """Request-level answers: method, content type, length, body."""

    def test_get_not_allowed(self):
        for method in ("GET", "PUT", "DELETE"):
            with self.subTest(method=method):
                resp = SRV.request(method, body=b"" if method != "GET"
                                   else None)
                self.assertEqual(resp.status, 405, resp)
                self.assertEqual(resp.header("Allow"), "POST")
        self.assert_accepted(PF.mint())

    def test_wrong_content_type(self):
        body = {"notices": [PF.mint()]}
        for ct in ("text/plain", "application/x-www-form-urlencoded",
                   "application/jsonp", "application/json-patch+json",
                   "multipart/form-data; boundary=x", ""):
            with self.subTest(content_type=ct):
                self.assert_body_refused(body, 415, content_type=ct)
        # No Content-Type header at all (assert_body_refused's None means
        # "the default", so post directly).
        before = self.snapshot()
        resp = SRV.post(body, content_type=None)
        self.assertEqual(resp.status, 415, resp)
        self.assertEqual(self.snapshot(), before)
        # The twin: the same body as application/json is accepted.
        resp = SRV.post(body)
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.json["notices"][0]["status"], "accepted")

    def test_json_content_type_with_parameters(self):
        for ct in ("application/json; charset=utf-8", "Application/JSON",
                   "application/json;charset=UTF-8"):
            with self.subTest(content_type=ct):
                token = PF.mint()
                resp = SRV.post({"notices": [token]}, content_type=ct)
                self.assertEqual(resp.status, 200, resp)
                self.assertEqual(resp.json["notices"][0],
                                 {"status": "accepted",
                                  "id": notice_id(token)})

    def test_no_content_length(self):
        # lighttpd refuses a POST without a length itself (411) before the
        # program sees it; the program's own 411 is in T13PlainCgi.
        before = self.snapshot()
        status, head, _ = SRV.raw(
            b"POST " + SRV.path.encode() + b" HTTP/1.1\r\n"
            b"Host: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Connection: close\r\n\r\n")
        self.assertEqual(status, 411, head)
        self.assertEqual(self.snapshot(), before)

    def test_chunked_body_accepted(self):
        # Twin of the 411: a body without Content-Length but chunked has a
        # length once lighttpd has read it.
        token = PF.mint()
        resp = SRV.post({"notices": [token]}, chunked=True)
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.json["notices"],
                         [{"status": "accepted", "id": notice_id(token)}])

    def test_oversized_body(self):
        token = PF.mint()
        body = json.dumps({"notices": [token]}).encode()
        body += b" " * (H.MAX_BODY_BYTES + 1 - len(body))
        resp = self.assert_body_refused(body, 413)
        # The program's answer (JSON), not lighttpd's HTML page.
        self.assertIsNotNone(resp.json, resp)
        self.assertEqual(self.stored_with_id(notice_id(token)), [])

    def test_body_of_exactly_max_size_accepted(self):
        token = PF.mint()
        body = json.dumps({"notices": [token]}).encode()
        body += b" " * (H.MAX_BODY_BYTES - len(body))
        self.assertEqual(len(body), H.MAX_BODY_BYTES)
        resp = SRV.post(body)
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(len(self.stored_with_id(notice_id(token))), 1)

    def test_body_not_json(self):
        token = PF.mint()
        for body in (b"notices=" + token.encode(), b"", b"{",
                     b'{"notices": [' + json.dumps(token).encode(),
                     token.encode(), b"\xff\xfe{}"):
            with self.subTest(body=body[:40]):
                self.assert_body_refused(body, 400)
        self.assertEqual(self.stored_with_id(notice_id(token)), [])
        self.assert_accepted(token)

    def test_no_notices_array(self):
        token = PF.mint()
        for body in ([{"jwt": token}], {"notice": [{"jwt": token}]},
                     {"notices": {"jwt": token}}, {"notices": token},
                     {"notices": None}, {}, "notices", 42, None):
            with self.subTest(body=str(body)[:40]):
                self.assert_body_refused(json.dumps(body), 400)
        self.assertEqual(self.stored_with_id(notice_id(token)), [])
        self.assert_accepted(token)

    def test_deeply_nested_body(self):
        for body in (b"[" * 100000, b'{"notices":' + b"[" * 100000,
                     b'{"a":' * 50000):
            with self.subTest(body=body[:12]):
                self.assert_body_refused(body, 400)
        self.assertEqual(SRV.fcgi_pids(), START_PIDS, "a process died")

    def test_nesting_limit_around_a_valid_notice(self):
        # Deeper than 16 refuses the whole body, even a good notice in it;
        # the same notice next to shallow extra members is accepted.
        token = PF.mint()
        deep = json.loads("[" * 40 + "]" * 40)
        self.assert_body_refused({"notices": [{"jwt": token}],
                                  "extra": deep}, 400)
        self.assertEqual(self.stored_with_id(notice_id(token)), [])
        shallow = json.loads("[" * 6 + "]" * 6)
        resp = SRV.post({"notices": [{"jwt": token}], "extra": shallow})
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(len(self.stored_with_id(notice_id(token))), 1)

    def test_body_of_many_small_values(self):
        # A body used to be parsed whole before any entry was looked at,
        # and json-c builds 70 to 900 bytes of tree for each value however
        # short its text; then every entry cost an outcome and a node of
        # the answer.  A megabyte of {"notices":[{},{},...]}, sent by
        # anyone, took a FastCGI process to 700 MB (and was answered 503,
        # asking for the same body again): a few at once could exhaust
        # the host.  No body of notices looks like that (a signed token is
        # hundreds of bytes), so one with more values than one per 128
        # bytes is refused unparsed, and costs next to nothing.
        def peak_kib():
            return max(int(re.search(
                rb"VmHWM:\s+(\d+)", Path("/proc/%d/status" % pid)
                .read_bytes()).group(1)) for pid in SRV.fcgi_pids())
        before = peak_kib()
        for unit in (b"{}", b"0", b"[]", b'""', b'{"jwt":0}', b"[[[]]]"):
            n = (H.MAX_BODY_BYTES - 16) // (len(unit) + 1)
            body = b'{"notices":[' + b",".join([unit] * n) + b"]}"
            with self.subTest(unit=unit):
                resp = self.assert_body_refused(body, 400)
                self.assertEqual(resp.json, {"error": "bad_body"}, resp)
        # Sanitizer and valgrind builds keep freed memory aside, hence the
        # margin; the parse alone used to take 180 MB for this size.
        self.assertLess(peak_kib() - before, 32 * 1024)
        # The twin: real notices among junk entries, within the bound,
        # are answered one by one as before.
        tokens = [PF.mint() for _ in range(20)]
        answers = self.post_entries([{"jwt": t} for t in tokens] +
                                    [0] * 100)
        self.assertEqual(answers[:20], [{"status": "accepted",
                                         "id": notice_id(t)}
                                        for t in tokens])
        self.assertEqual(answers[20:], [{"status": "rejected",
                                         "error": "malformed"}] * 100)


class T13PlainCgi(ReceiverTest):
    """notices.fcgi started without a FastCGI socket is a plain CGI: the
    one place a test can give it what lighttpd never passes on (no
    CONTENT_LENGTH, a body shorter than announced, a huge announced
    length with nothing behind it)."""

    def run_cgi(self, env, stdin_data=None, hold_stdin=False, timeout=None):
        """Runs the program as a CGI; returns (status, body bytes).  With
        hold_stdin the request body is a pipe never written nor closed, so
        an answer proves the program did not wait to read it."""
        cmd = SRV.wrapper + [str(H.FCGI)]
        base = {k: v for k, v in SRV.env.items()}
        base.update({"GATEWAY_INTERFACE": "CGI/1.1",
                     "SERVER_PROTOCOL": "HTTP/1.1",
                     "REMOTE_ADDR": "127.0.0.1",
                     "REQUEST_METHOD": "POST",
                     "CONTENT_TYPE": "application/json"})
        base.update(env)
        base = {k: v for k, v in base.items() if v is not None}
        timeout = timeout or 30 * SRV.slow
        if hold_stdin:
            r, w = os.pipe()
            try:
                proc = subprocess.Popen(cmd, env=base, stdin=r,
                                        stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE)
                os.close(r)
                r = None
                try:
                    out, _ = proc.communicate(timeout=timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.communicate()
                    self.fail("the CGI waited for a body it must not read")
            finally:
                if r is not None:
                    os.close(r)
                os.close(w)
        else:
            proc = subprocess.run(cmd, env=base, input=stdin_data or b"",
                                  capture_output=True, timeout=timeout)
            out = proc.stdout
        head, _, body = out.partition(b"\r\n\r\n")
        m = re.match(rb"Status: (\d{3})", head)
        self.assertIsNotNone(m, out[:300])
        return int(m.group(1)), body

    def test_no_content_length(self):
        before = self.snapshot()
        status, _ = self.run_cgi({"CONTENT_LENGTH": None}, b"{}")
        self.assertEqual(status, 411)
        self.assertEqual(self.snapshot(), before)

    def test_content_length_twin_accepted(self):
        token = PF.mint()
        body = json.dumps({"notices": [token]}).encode()
        status, out = self.run_cgi({"CONTENT_LENGTH": str(len(body))}, body)
        self.assertEqual(status, 200, out)
        self.assertEqual(json.loads(out)["notices"],
                         [{"status": "accepted", "id": notice_id(token)}])
        self.assertEqual(len(self.stored_with_id(notice_id(token))), 1)

    def test_body_shorter_than_announced(self):
        token = PF.mint()
        body = json.dumps({"notices": [token]}).encode()
        before = self.snapshot()
        status, out = self.run_cgi({"CONTENT_LENGTH": str(len(body) + 100)},
                                   body)
        self.assertEqual(status, 400, out)
        self.assertEqual(self.snapshot(), before)

    def test_oversized_length_answered_unread(self):
        before = self.snapshot()
        status, out = self.run_cgi(
            {"CONTENT_LENGTH": str(H.MAX_BODY_BYTES + 1)}, hold_stdin=True)
        self.assertEqual(status, 413, out)
        status, out = self.run_cgi(
            {"CONTENT_LENGTH": "99999999999999999999999"}, hold_stdin=True)
        self.assertEqual(status, 413, out)
        self.assertEqual(self.snapshot(), before)

    def test_method_and_type_checked_first(self):
        status, _ = self.run_cgi({"REQUEST_METHOD": "GET",
                                  "CONTENT_LENGTH": None}, hold_stdin=True)
        self.assertEqual(status, 405)
        status, _ = self.run_cgi({"CONTENT_TYPE": "text/plain",
                                  "CONTENT_LENGTH": "2"}, hold_stdin=True)
        self.assertEqual(status, 415)


class T14Volume(ReceiverTest):
    """A thousand requests through the same two long-lived processes:
    per-request state must be reset each time (nothing from one request
    may leak into the next), and under `make valgrind` the processes'
    exit reports show whether anything leaked over that many requests."""

    ROUNDS = 500

    def test_many_requests(self):
        before = len(SRV.notices())
        accepted = 0
        for i in range(self.ROUNDS):
            token = PF.mint()
            nid = notice_id(token)
            # A new notice, its repeat, garbage and a forged one, each in
            # a request of its own.
            self.assertEqual(self.post_entries([{"jwt": token}])[0],
                             {"status": "accepted", "id": nid})
            accepted += 1
            self.assertEqual(self.post_entries([token])[0],
                             {"status": "duplicate", "id": nid})
            self.assertEqual(self.post_entries(["%d.x.y" % i])[0]["error"],
                             "malformed")
            forged = PF.mint(header={"alg": "HS256"})
            self.assertEqual(self.post_entries([forged])[0]["error"],
                             "bad_alg")
        self.assertEqual(len(SRV.notices()), before + accepted)


class T15FetchInChild(ReceiverTest):
    """notices.fcgi has its key set fetches made by a child process,
    lti.cgi beside it started with --http-get: notices.fcgi is linked
    statically and cannot load libcurl, and libcurl, loaded for a fetch,
    goes away with that child instead of staying resident in the FastCGI
    process for the rest of its life."""

    def wait_past_refetch_interval(self):
        time.sleep(H.JWKS_REFETCH_INTERVAL + 1.5)

    @staticmethod
    def maps(pid):
        with open("/proc/%d/maps" % pid) as f:
            return f.read()

    def test_fetch_leaves_no_libcurl_mapped(self):
        # Guards the memory goal: a FastCGI process that fetched a key
        # set must not keep libcurl.  The fetch must really happen (a
        # new kid, past the refetch interval), and the maps must be
        # readable: the program itself is there.
        self.wait_past_refetch_interval()
        new_kid = PF.add_key()
        before = PF.fetch_count
        self.assert_accepted(PF.mint(kid=new_kid))
        self.assertEqual(PF.fetch_count, before + 1, "no key set fetch")
        pids = SRV.fcgi_pids()
        self.assertEqual(len(pids), 2, pids)
        for pid in pids:
            maps = self.maps(pid)
            self.assertIn(H.FCGI.name, maps)
            self.assertFalse("libcurl" in maps,
                             "notices.fcgi %d has libcurl mapped" % pid)
            # The fetching child was reaped: no zombie, nothing left.
            self.assertEqual(H.child_processes(pid), [])

    @staticmethod
    def has_interpreter(path):
        """True if the ELF program at path names a program interpreter
        (PT_INTERP): it is linked dynamically."""
        with open(path, "rb") as f:
            elf = f.read(1 << 16)
        assert elf[:4] == b"\x7fELF" and elf[4] == 2, path   # ELF64
        phoff = int.from_bytes(elf[32:40], "little")
        size = int.from_bytes(elf[54:56], "little")
        count = int.from_bytes(elf[56:58], "little")
        types = [int.from_bytes(elf[phoff + i * size:phoff + i * size + 4],
                                "little") for i in range(count)]
        assert 1 in types, "no PT_LOAD read from %s" % path
        return 3 in types

    def test_receiver_static_as_built(self):
        # Guards the memory goal: the notices.fcgi make builds is linked
        # statically, so that it maps no shared libc, except with
        # SANITIZE=1, whose run-time needs the loader.  Its twin, lti.cgi
        # (which loads libcurl), names an interpreter in either build.
        shipped = H.ROOT / "cgi-bin" / "notices.fcgi"
        variant = (H.ROOT / "build" / "variant").read_text().strip()
        self.assertIn(variant, ("std", "san"))
        self.assertEqual(self.has_interpreter(shipped), variant == "san")
        self.assertTrue(self.has_interpreter(H.LTI_CGI))

    def test_missing_helper_said_at_start(self):
        # A notices.fcgi copied without lti.cgi would only fail at its
        # first key set fetch or delivery; it says so when it starts.
        # Its twin, with lti.cgi beside it, says nothing of the kind.
        # Both answer the request (GET: 405).
        env = dict(SRV.env, GATEWAY_INTERFACE="CGI/1.1",
                   REQUEST_METHOD="GET", REMOTE_ADDR="127.0.0.1")
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "notices.fcgi"
            shutil.copy(H.FCGI, copy)
            helper = Path(tmp) / "lti.cgi"
            for beside in (False, True):
                if beside:
                    helper.symlink_to(H.LTI_CGI)
                res = subprocess.run([str(copy)], env=env, timeout=30,
                                     stdin=subprocess.DEVNULL,
                                     capture_output=True)
                self.assertTrue(res.stdout.startswith(b"Status: 405"),
                                res.stdout[:80])
                said = ("cannot run %s: No such file" % helper).encode()
                self.assertEqual(said in res.stderr, not beside,
                                 res.stderr.decode(errors="replace"))

    def test_fetch_error_reaches_the_log_intact(self):
        # Guards the child's report: the error of a fetch made in the
        # child is logged by the receiver as libcurl's GET would give it
        # in process.  Its twin, the working key set, is accepted.
        self.wait_past_refetch_interval()
        self.assert_rejected(PF.mint(claims={"iss": BROKEN_ISSUER}),
                             "jwks_unavailable", status=503)
        self.assertIn("fetching key set %s: HTTP status 404" %
                      PF.url("/no-such-key-set"), SRV.error_log())
        self.assert_accepted(PF.mint(claims={"iss": ISSUER}))

    def test_child_mode_refused_under_a_web_server(self):
        # Guards against an open proxy: Apache's mod_cgi turns a query
        # string without '=' into arguments, so a request could start
        # the child mode and have the receiver GET any URL and echo the
        # answer.  With GATEWAY_INTERFACE set the mode does nothing; its
        # twin, started as notices.fcgi starts it, fetches.
        args = [str(H.LTI_CGI), "--http-get", PF.jwks_url, "5", "65536"]
        env = {"PATH": "/usr/bin:/bin"}
        before = PF.fetch_count
        res = subprocess.run(args, env=dict(env, GATEWAY_INTERFACE="CGI/1.1"),
                             capture_output=True, timeout=30)
        self.assertEqual(res.returncode, 2)
        self.assertEqual(res.stdout, b"")
        self.assertEqual(PF.fetch_count, before)
        res = subprocess.run(args, env=env, capture_output=True, timeout=30)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(PF.fetch_count, before + 1)
        self.assertTrue(res.stdout.startswith(b"00 "), res.stdout[:40])
        self.assertEqual(json.loads(res.stdout[24:]), PF.jwks())


class T16LargeStore(unittest.TestCase):
    """pnsctl loaded every whole stored record at once (about 11 KiB of
    memory each once parsed: claims and raw token) and sorted them
    before listing, so `notices list`, `notices show ID` and `status`
    needed memory in proportion to whole records: 12 GiB for a million
    notices.  They now walk the store a record at a time, the listing
    keeping only (received_at, key) per notice to order them.

    A store of N notices, then of 4N, is written straight into the
    layout of pns_nstore.h (as bench/bench.py's prefill does); each
    command's listing must be complete and in order, and its peak memory
    must grow by far less than a whole record per added notice.  That a
    notice removed between the listing's two passes is skipped is
    checked by nstore_foreach_received in tests/unit/check_store.c,
    where the removal can be made to fall between them."""

    N = 3000
    # KiB of peak memory per added notice: old code ~11, now ~0.1.
    MAX_KIB_PER_NOTICE = 1.0

    @classmethod
    def setUpClass(cls):
        # A store of its own: the other classes' notices stay small and
        # this one's thousands slow no one else's listings.
        cls.srv = H.Server()
        cls.rng = random.Random(16)
        cls.written = []        # (received_at, key, id, type)
        try:
            cls.srv.init()
            cls.srv.add_platform(ISSUER, CLIENT_ID, PF.jwks_url, [DEPLOYMENT])
        except BaseException:
            cls.srv.stop()
            raise
        # Five types, so that the order status names them in shows
        # (pnsctl lists whatever type was stored; three are made up).
        cls.samples = {t: PF.mint_with_claims(notice_type=t)
                       for t in (P.HELLO_WORLD, P.CONTEXT_COPY, "LtiANotice",
                                 "LtiBNotice", "LtiCNotice")}

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def fill(self, count):
        """Adds count notices, real tokens and claims under made-up keys
        and ids; many share a received_at, so the key must break ties."""
        types = sorted(self.samples)
        for i in range(count):
            key = "%064x" % self.rng.getrandbits(256)
            nid = str(uuid.UUID(int=self.rng.getrandbits(128)))
            ntype = types[i % len(types)]
            token, claims = self.samples[ntype]
            at = "2020-01-01T00:%02d:%02d.000000Z" % (
                self.rng.randrange(60), self.rng.randrange(60))
            rec = {"key": key, "id": nid, "type": ntype,
                   "timestamp": claims[CLAIM_NOTICE]["timestamp"],
                   "iss": ISSUER, "client_id": CLIENT_ID,
                   "deployment_id": DEPLOYMENT, "received_at": at,
                   "claims": claims, "jwt": token}
            path = self.srv.data_dir / "notices" / key[:2] / (key + ".json")
            path.write_text(json.dumps(rec, separators=(",", ":")))
            self.written.append((at, key, nid, ntype))

    def peak(self, *args):
        """Runs pnsctl args; returns (stdout, peak resident KiB)."""
        out = self.srv.tmp / "pnsctl.out"
        status, kib, stderr = H.peak_rss([H.PNSCTL] + list(args),
                                         self.srv.env, out, timeout=600)
        self.assertEqual(status, 0, "pnsctl %s: %s" % (args, stderr))
        return out.read_text(), kib

    def check_all(self):
        """Each command over the whole store, checked; their peaks."""
        peaks = {}
        text, peaks["list"] = self.peak("notices", "list", "--json")
        listed = json.loads(text)
        # Complete and ordered: oldest first, the key breaking ties.
        self.assertEqual([(n["received_at"], n["key"]) for n in listed],
                         sorted((w[0], w[1]) for w in self.written))
        self.assertFalse([n for n in listed if "jwt" in n])
        self.assertEqual({n["delivery"]["status"] for n in listed},
                         {"stored"})
        text, peaks["status"] = self.peak("status", "--json")
        row, = json.loads(text)["deployments"]
        self.assertEqual(row["notices_by_type"], {
            t: sum(1 for w in self.written if w[3] == t)
            for t in self.samples})
        self.assertEqual(row["notices_by_status"],
                         {"stored": len(self.written)})
        # The text names the types as the listing first shows them.
        firsts = list(dict.fromkeys(n["type"] for n in listed))
        self.assertIn("notices by type: %s\n" % " ".join(
            "%s %d" % (t, row["notices_by_type"][t]) for t in firsts),
            self.srv.pnsctl("status").stdout)
        at, key, nid, _ = self.rng.choice(self.written)
        text, peaks["show"] = self.peak("notices", "show", nid)
        shown = json.loads(text)
        self.assertEqual((shown["key"], shown["received_at"]), (key, at))
        return peaks

    def test_memory_does_not_grow_with_whole_records(self):
        self.fill(self.N)
        small = self.check_all()
        self.fill(3 * self.N)
        large = self.check_all()
        for cmd in small:
            per_notice = (large[cmd] - small[cmd]) / (3 * self.N)
            self.assertLess(per_notice, self.MAX_KIB_PER_NOTICE,
                            "%s: %d KiB with %d notices, %d KiB with %d" % (
                                cmd, small[cmd], self.N, large[cmd],
                                4 * self.N))


class T99Alive(ReceiverTest):
    """Runs last: after every bad input above, the same processes still
    answer a valid notice."""

    def test_still_serving(self):
        self.assertIsNone(SRV.proc.poll(), "lighttpd exited")
        self.assert_accepted(PF.mint())
        self.assertEqual(SRV.fcgi_pids(), START_PIDS,
                         "notices.fcgi processes died and were respawned")


class T17MallocTuning(unittest.TestCase):
    """glibc's per-thread cache of freed blocks (tcache) held 0.45 MiB of
    a notices.fcgi process after single notices and 1.9 MiB after
    batches.  glibc reads its setting only from the environment at start,
    so a FastCGI notices.fcgi starts itself once more with
    GLIBC_TUNABLES=glibc.malloc.tcache_count=0, keeping any other
    setting and never overriding one the administrator made.

    Each test starts the program as lighttpd does, a listening socket on
    its standard input, waits until its threads wait in accept() (past
    any restart), and reads the environment the kernel holds for it:
    that of the last exec.  glibc splits the variable's value in place
    as it reads it, so settings are looked for in the raw bytes."""

    SETTING = b"glibc.malloc.tcache_count=0"
    MARK = b"PNS_MALLOC_TUNED=1"

    def started_env(self, extra):
        with tempfile.TemporaryDirectory() as tmp:
            sock = socket.socket(socket.AF_UNIX)
            sock.bind(str(Path(tmp) / "fcgi.sock"))
            sock.listen(8)
            env = dict({"PATH": "/usr/bin:/bin"}, **extra)
            proc = subprocess.Popen([str(H.FCGI)], stdin=sock.fileno(),
                                    env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            sock.close()
            try:
                deadline = time.monotonic() + 30
                while not self.accepting(proc.pid):
                    self.assertIsNone(proc.poll(), "notices.fcgi exited")
                    self.assertLess(time.monotonic(), deadline,
                                    "notices.fcgi never reached accept()")
                    time.sleep(0.05)
                return Path("/proc/%d/environ" % proc.pid).read_bytes()
            finally:
                proc.terminate()
                proc.wait(timeout=30)

    @staticmethod
    def accepting(pid):
        return bool(set(H.thread_syscalls(pid) or ()) & H.ACCEPT_SYSCALLS)

    def test_restarts_with_the_cache_off(self):
        env = self.started_env({})
        self.assertIn(b"\0GLIBC_TUNABLES=" + self.SETTING + b"\0", env)
        self.assertIn(self.MARK, env)

    def test_setting_of_the_administrator_kept(self):
        # The twin: a value naming the tunable already is the
        # administrator's choice, and the program does not restart.
        env = self.started_env(
            {"GLIBC_TUNABLES": "glibc.malloc.tcache_count=3"})
        self.assertIn(b"\0GLIBC_TUNABLES=glibc.malloc.tcache_count=3\0",
                      env)
        self.assertNotIn(self.SETTING, env)
        self.assertNotIn(self.MARK, env)

    def test_other_settings_kept(self):
        env = self.started_env({"GLIBC_TUNABLES": "glibc.malloc.arena_max=1"})
        self.assertIn(b"\0GLIBC_TUNABLES=glibc.malloc.arena_max=1", env)
        self.assertIn(self.SETTING, env)


ORDER = [T01Platform, T02Accept, T03Dedup, T04Batch, T05Algorithm,
         T06Header, T07Claims, T08Signature, T09Malformed, T10Canvas,
         T11KeyRotation, T12Http, T13PlainCgi, T14Volume, T15FetchInChild,
         T16LargeStore, T17MallocTuning, T99Alive]


def main():
    return H.run_suites(sys.modules[__name__], ORDER, lambda: SRV)


if __name__ == "__main__":
    sys.exit(main())

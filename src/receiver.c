/* SPDX-License-Identifier: ISC */
/*
 * The notice handler endpoint; docs/receiver.md is the contract.  Each
 * notice is judged on its own.  Verified notices are stored before the
 * answer is built, and made durable by one group commit per request
 * (pns_commit.h), so that "accepted" and "duplicate" are only said of
 * notices that are on disk.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "pns_copies.h"
#include "pns_deliver.h"
#include "pns_handlers.h"
#include "pns_json.h"
#include "pns_log.h"
#include "pns_nstore.h"
#include "pns_receiver.h"
#include "banned.h"

#define BODY_DEPTH	16	/* {"notices":[{"jwt":"..."}]} needs 3 */
#define RESP_MAX	(4 * 1024 * 1024)
/*
 * Bytes of body per JSON value, at least.  json-c builds 70 to 900 bytes
 * of tree for each value whatever its length in the text, and each entry
 * costs an outcome and a line of the answer: a body of empty objects
 * would cost hundreds of times its length.  The leanest entry a platform
 * sends, {"jwt":"..."} around an RS256 token, has three values in over
 * 500 bytes (the signature alone is 342 characters), so a body with more
 * values than one per 128 bytes cannot be one of notices.
 */
#define VALUE_BYTES	128
/* Rejections logged one by one per request; the rest are counted, so a
 * body of a hundred thousand bad entries cannot flood the error log. */
#define LOG_REJECTS	8

struct reason {
	int		 status;
	const char	*text;
};

static const struct reason reasons[] = {
	{ 200, "OK" },
	{ 400, "Bad Request" },
	{ 405, "Method Not Allowed" },
	{ 411, "Length Required" },
	{ 413, "Content Too Large" },
	{ 415, "Unsupported Media Type" },
	{ 500, "Internal Server Error" },
	{ 503, "Service Unavailable" },
};

const char *
pns_http_reason(int status)
{
	size_t	i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].status == status)
			return reasons[i].text;
	return "Unknown";
}

void
pns_http_resp_init(struct pns_http_resp *r)
{
	r->status = 500;
	r->allow = NULL;
	pns_buf_init(&r->body, RESP_MAX);
}

void
pns_http_resp_reset(struct pns_http_resp *r)
{
	r->status = 500;
	r->allow = NULL;
	pns_buf_reset(&r->body);
}

void
pns_http_resp_release(struct pns_http_resp *r)
{
	pns_buf_release(&r->body);
}

void
pns_receiver_init(struct pns_receiver *rc, const struct pns_config *cfg,
    struct pns_commit *commit)
{
	rc->cfg = cfg;
	rc->commit = commit;
	rc->requests = 0;
	rc->queued = 0;
	memset(rc->stamped, 0, sizeof(rc->stamped));
	pns_verifier_init(&rc->verifier, cfg);
	pns_notice_init(&rc->notice);
}

void
pns_receiver_release(struct pns_receiver *rc)
{
	pns_notice_release(&rc->notice);
	pns_verifier_release(&rc->verifier);
}

static void
fail(struct pns_http_resp *resp, int status, const char *code)
{
	resp->status = status;
	pns_buf_reset(&resp->body);
	(void)pns_buf_printf(&resp->body, NULL, "{\"error\":\"%s\"}\n", code);
}

/* application/json, any case, optionally followed by ';' parameters. */
static int
is_json_type(const char *ct)
{
	static const char	want[] = "application/json";
	size_t			n = sizeof(want) - 1;

	if (ct == NULL || strncasecmp(ct, want, n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

int
pns_receiver_precheck(const struct pns_receiver *rc,
    const struct pns_http_req *req, size_t *len, struct pns_http_resp *resp)
{
	const char	*errstr;
	long long	 n;

	*len = 0;
	if (req->method == NULL || strcmp(req->method, "POST") != 0) {
		fail(resp, 405, "method_not_allowed");
		resp->allow = "POST";
		return 1;
	}
	if (!is_json_type(req->content_type)) {
		fail(resp, 415, "unsupported_media_type");
		return 1;
	}
	if (req->content_length == NULL || *req->content_length == '\0') {
		fail(resp, 411, "length_required");
		return 1;
	}
	n = pns_strtonum(req->content_length, 0, LLONG_MAX, &errstr);
	if (errstr != NULL && strcmp(errstr, "too large") != 0) {
		fail(resp, 400, "bad_content_length");
		return 1;
	}
	if (errstr != NULL || n > rc->cfg->max_body_bytes) {
		fail(resp, 413, "body_too_large");
		return 1;
	}
	*len = (size_t)n;
	return 0;
}

/* Verified notices only: their strings are signed, but still escaped. */
static void
log_outcome(const struct pns_http_req *req, const struct pns_notice *n,
    const char *what)
{
	char	id[96], type[64], iss[128], remote[64];
	const char *ra = req->remote_addr != NULL ? req->remote_addr : "-";

	pns_log(PNS_LOG_INFO, "notice %s: id \"%s\" type \"%s\" iss \"%s\" "
	    "from %s", what,
	    pns_log_escape(n->id, strlen(n->id), id, sizeof(id)),
	    pns_log_escape(n->type, strlen(n->type), type, sizeof(type)),
	    pns_log_escape(n->claims.iss, strlen(n->claims.iss), iss,
	    sizeof(iss)),
	    pns_log_escape(ra, strlen(ra), remote, sizeof(remote)));
}

/* The token of one entry: {"jwt": "..."} or a bare string. */
static const char *
entry_token(struct json_object *entry, size_t *len)
{
	struct json_object	*v = entry;

	if (json_object_is_type(entry, json_type_object) &&
	    !json_object_object_get_ex(entry, "jwt", &v))
		return NULL;
	if (!json_object_is_type(v, json_type_string))
		return NULL;
	*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

struct outcome {
	enum pns_verdict	verdict;
	int			duplicate;
	char			id[PNS_NOTICE_ID_MAX];
};

/* Sets a stamp of the deployment h unless this thread set it this second. */
static void
stamp(struct pns_receiver *rc, enum pns_stamp which, const char *h,
    time_t now, const struct pns_notice *n)
{
	if (now == rc->stamped[which].at &&
	    strcmp(h, rc->stamped[which].key) == 0)
		return;
	pns_handlers_stamp(rc->cfg, which, n->claims.iss, n->claims.client_id,
	    n->deployment_id);
	memcpy(rc->stamped[which].key, h, sizeof(rc->stamped[which].key));
	rc->stamped[which].at = now;
}

/*
 * What a stored notice sets off.  The queue entry is part of storing it:
 * without one it is not acknowledged.  A duplicate is queued too, in
 * case the first copy was stored by a process that died before queueing
 * it (pns_deliver_enqueue does nothing for one queued or done).  The
 * rest is derived from the stored notice, so a failure is only logged.
 */
static void
after_store(struct pns_receiver *rc, const struct pns_notice *n,
    struct outcome *out)
{
	struct pns_target	 t;
	struct pns_err		 err;
	const char		*f[3];
	char			 h[65];
	time_t			 now;

	pns_err_clear(&err);
	pns_deliver_target(rc->cfg, n->type, &t);
	if (t.kind != PNS_TARGET_NONE) {
		if (pns_deliver_enqueue(rc->cfg, n->key, !out->duplicate,
		    &err) == -1) {
			pns_log(PNS_LOG_ERROR, "queueing notice: %s", err.msg);
			out->verdict = PNS_V_STORAGE;
			return;
		}
		rc->queued++;
	}
	if (out->duplicate)
		return;
	f[0] = n->claims.iss;
	f[1] = n->claims.client_id;
	f[2] = n->deployment_id;
	pns_hash_fields(h, 3, f);
	now = time(NULL);
	stamp(rc, PNS_STAMP_SEEN, h, now, n);
	if (strcmp(n->type, PNS_TYPE_HELLO) == 0)
		stamp(rc, PNS_STAMP_VERIFIED, h, now, n);
	else if (strcmp(n->type, PNS_TYPE_COPY) == 0 &&
	    pns_copies_record(rc->cfg, n, &err) == -1)
		pns_log(PNS_LOG_ERROR, "recording context copy: %s", err.msg);
}

static void
judge(struct pns_receiver *rc, struct json_object *entry, time_t now,
    const char *received_at, struct outcome *out)
{
	struct pns_notice	*n = &rc->notice;
	struct pns_err		 err;
	const char		*tok;
	size_t			 len = 0;
	int			 rc2;

	out->duplicate = 0;
	out->id[0] = '\0';
	if ((tok = entry_token(entry, &len)) == NULL || len == 0 ||
	    strlen(tok) != len) {
		out->verdict = PNS_V_MALFORMED;
		return;
	}
	out->verdict = pns_notice_verify(&rc->verifier, tok, len, now, n);
	if (out->verdict != PNS_V_OK) {
		pns_notice_release(n);
		return;
	}
	pns_err_clear(&err);
	rc2 = pns_nstore_put(rc->cfg, n, received_at, &err);
	if (rc2 == -1) {
		pns_log(PNS_LOG_ERROR, "storing notice: %s", err.msg);
		out->verdict = PNS_V_STORAGE;
	} else {
		out->duplicate = rc2 == 1;
		memcpy(out->id, n->id, strlen(n->id) + 1);
		after_store(rc, n, out);
	}
}

/* One entry of the answer, after a comma unless it is the first. */
static int
answer_entry(struct pns_buf *b, const struct outcome *out, int comma)
{
	struct json_object	*id;
	int			 rc;

	if (out->verdict != PNS_V_OK)
		return pns_buf_printf(b, NULL, "%s{\"status\":\"rejected\","
		    "\"error\":\"%s\"}", comma ? "," : "",
		    pns_verdict_str(out->verdict));
	/* The id is the platform's: json-c escapes it. */
	if ((id = json_object_new_string(out->id)) == NULL)
		return -1;
	rc = pns_buf_printf(b, NULL, "%s{\"status\":\"%s\",\"id\":%s}",
	    comma ? "," : "", out->duplicate ? "duplicate" : "accepted",
	    json_object_to_json_string_ext(id, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(id);
	return rc;
}

static void
received_now(char out[32])
{
	struct timespec	ts;
	struct tm	tm;
	char		base[24];

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	if (gmtime_r(&ts.tv_sec, &tm) == NULL ||
	    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		base[0] = '\0';
	(void)snprintf(out, 32, "%s.%06ldZ", base, ts.tv_nsec / 1000);
}

void
pns_receiver_handle(struct pns_receiver *rc, const struct pns_http_req *req,
    const char *body, size_t len, time_t now, struct pns_http_resp *resp)
{
	struct json_object	*doc = NULL, *list;
	struct outcome		*outs = NULL;
	struct pns_err		 err;
	char			 received_at[32], remote[64];
	size_t			 i, n, rejects = 0, limit;
	int			 transient = 0, stored = 0, ok;

	rc->requests++;
	pns_verifier_round(&rc->verifier);
	(void)pns_log_escape(req->remote_addr ? req->remote_addr : "-",
	    strlen(req->remote_addr ? req->remote_addr : "-"), remote,
	    sizeof(remote));
	pns_err_clear(&err);
	limit = len / VALUE_BYTES + 16;
	if (pns_json_count_values(body, len, limit) > limit) {
		pns_log(PNS_LOG_INFO, "notice body refused unparsed: %zu bytes "
		    "of more than %zu JSON values, from %s", len, limit,
		    remote);
		fail(resp, 400, "bad_body");
		goto out;
	}
	if (pns_json_parse(body, len, BODY_DEPTH, &doc, &err) == -1 ||
	    (list = pns_json_arr(doc, "notices")) == NULL) {
		fail(resp, 400, "bad_body");
		goto out;
	}
	n = json_object_array_length(list);
	if ((outs = calloc(n ? n : 1, sizeof(*outs))) == NULL) {
		fail(resp, 503, "out_of_memory");
		goto out;
	}
	received_now(received_at);
	for (i = 0; i < n; i++) {
		judge(rc, json_object_array_get_idx(list, i), now,
		    received_at, &outs[i]);
		stored |= outs[i].verdict == PNS_V_OK;
		if (outs[i].verdict == PNS_V_OK)
			log_outcome(req, &rc->notice, outs[i].duplicate ?
			    "duplicate" : "accepted");
		else if (rejects++ < LOG_REJECTS)
			pns_log(PNS_LOG_INFO, "notice rejected: %s from %s",
			    pns_verdict_str(outs[i].verdict), remote);
		pns_notice_release(&rc->notice);
	}
	if (rejects > LOG_REJECTS)
		pns_log(PNS_LOG_INFO, "%zu more notices rejected from %s",
		    rejects - LOG_REJECTS, remote);
	/* Until it is durable nothing stored may be acknowledged. */
	if (stored && pns_commit_wait(rc->commit, &err) == -1) {
		pns_log(PNS_LOG_ERROR, "syncing notice store: %s", err.msg);
		for (i = 0; i < n; i++)
			if (outs[i].verdict == PNS_V_OK)
				outs[i].verdict = PNS_V_STORAGE;
	}

	/* Written entry by entry: no tree of the whole answer is built. */
	pns_buf_reset(&resp->body);
	ok = pns_buf_adds(&resp->body, "{\"notices\":[", NULL) == 0;
	for (i = 0; i < n; i++) {
		if (outs[i].verdict != PNS_V_OK)
			transient |= pns_verdict_transient(outs[i].verdict);
		ok = ok && answer_entry(&resp->body, &outs[i], i > 0) == 0;
	}
	if (ok && pns_buf_adds(&resp->body, "]}\n", NULL) == 0)
		resp->status = transient ? 503 : 200;
	else
		fail(resp, 503, "response_too_large");
out:
	json_object_put(doc);
	free(outs);
}

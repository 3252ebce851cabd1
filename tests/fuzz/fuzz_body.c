/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness over the whole notice endpoint body path:
 * pns_receiver_handle parses the body, every entry's token, the claims,
 * looks up the platform and its cached key set, and answers.  A
 * platform is registered in a temporary data_dir with a key set on disk,
 * so tokens that get far enough reach the key lookup and the signature
 * check without any network.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "pns_log.h"
#include "pns_receiver.h"

static struct pns_config	cfg;
static struct pns_commit	commit;
static struct pns_receiver	rcv;
static struct pns_http_resp	resp;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	pns_log_init("fuzz", PNS_LOG_ERROR);
	fuzz_store(&cfg);
	if (pns_commit_init(&commit, &cfg, NULL) == -1)
		abort();
	pns_receiver_init(&rcv, &cfg, &commit);
	pns_http_resp_init(&resp);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pns_http_req	req = { "POST", "application/json", "0", "fuzz" };

	pns_http_resp_reset(&resp);
	/* A fixed clock: the seeds' exp and iat stay meaningful. */
	pns_receiver_handle(&rcv, &req, (const char *)data, size,
	    FUZZ_NOW, &resp);
	if (resp.status != 200 && resp.status != 400 && resp.status != 503)
		abort();
	return 0;
}

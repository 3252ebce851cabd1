/* SPDX-License-Identifier: ISC */
/* libFuzzer harness over compact JWS parsing and the claim checks. */
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "pns_jws.h"
#include "pns_notice.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pns_notice	n;
	struct pns_claims	c;

	pns_notice_init(&n);
	if (pns_jws_parse(&n.jws, (const char *)data, size) == PNS_V_OK) {
		(void)pns_claims_check(n.jws.payload, FUZZ_NOW, 10, &c);
		(void)pns_notice_check_claims(&n);
	}
	pns_notice_release(&n);
	return 0;
}

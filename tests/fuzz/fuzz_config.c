/* SPDX-License-Identifier: ISC */
/* libFuzzer harness over the configuration parser. */
#include <stdint.h>
#include <string.h>

#include "pns_config.h"
#include "pns_log.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pns_config	cfg;
	struct pns_err		err;

	pns_config_defaults(&cfg);
	pns_err_clear(&err);
	if (pns_config_parse(&cfg, (const char *)data, size, "fuzz", &err) == 0)
		(void)pns_config_wants_type(&cfg, "LtiHelloWorldNotice");
	return 0;
}

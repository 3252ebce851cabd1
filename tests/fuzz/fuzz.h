/* SPDX-License-Identifier: ISC */
/* Shared set-up of the fuzz harnesses (fuzz_store.c). */
#ifndef PNS_FUZZ_H
#define PNS_FUZZ_H

#include <time.h>

#include "pns_config.h"

/* 2025-03-19T11:11:40Z: inside the lifetime of the seed notices. */
#define FUZZ_NOW	((time_t)1742382700)
#define FUZZ_SEED_KID	"2025-02-01T01:16:43Z_3018685d-05b7-43cb-b865-027eec352714"

/*
 * Fills cfg for a new temporary data_dir with the Canvas platform of the
 * seed notice registered and a key set on disk that has a fresh key under
 * the seed's kid, so seeds get as far as the signature check and fail
 * there.  Aborts on failure.
 */
void	fuzz_store(struct pns_config *cfg);

#endif

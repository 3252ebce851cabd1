/* SPDX-License-Identifier: ISC */
/*
 * Libraries opened on first use (pns_dl.h): a found library fills its
 * table and runs its initialiser once; a missing library, a missing
 * function or a failing initialiser fail every load with a message that
 * names the library, and leave the caller's error contract intact.
 */
#include <sys/types.h>

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pns_dl.h"
#include "unit.h"

struct libcfn {
	size_t	(*strlen)(const char *);
	pid_t	(*getpid)(void);
};

static const struct pns_dl_sym good_syms[] = {
	{ "strlen", offsetof(struct libcfn, strlen) },
	{ "getpid", offsetof(struct libcfn, getpid) },
};

static const struct pns_dl_sym bad_syms[] = {
	{ "strlen", offsetof(struct libcfn, strlen) },
	{ "pns_no_such_function", offsetof(struct libcfn, getpid) },
};

static int	inits;

static int
count_init(char *msg, size_t size)
{
	(void)msg;
	(void)size;
	inits++;
	return 0;
}

static int
refuse_init(char *msg, size_t size)
{
	(void)snprintf(msg, size, "refused by its initialiser");
	return -1;
}

START_TEST(dl_loads_once)
{
	struct libcfn	t;
	struct pns_dl	dl = PNS_DL_INIT("libc.so.6", PNS_ENET, good_syms, &t,
			    count_init);
	struct pns_err	err;

	memset(&t, 0, sizeof(t));
	inits = 0;
	pns_err_clear(&err);
	ck_assert_int_eq(pns_dl_load(&dl, &err), 0);
	ck_assert_int_eq(err.code, PNS_OK);
	ck_assert_ptr_nonnull(t.strlen);
	ck_assert_uint_eq(t.strlen("four"), 4);
	ck_assert_int_eq(t.getpid(), getpid());
	/* Later loads find it loaded: the initialiser ran once. */
	ck_assert_int_eq(pns_dl_load(&dl, &err), 0);
	ck_assert_int_eq(inits, 1);
}
END_TEST

START_TEST(dl_missing_library)
{
	struct libcfn	t;
	struct pns_dl	dl = PNS_DL_INIT("libpns-no-such.so.0", PNS_ECRYPTO,
			    good_syms, &t, count_init);
	struct pns_err	err;
	int		i;

	memset(&t, 0, sizeof(t));
	inits = 0;
	for (i = 0; i < 2; i++) {
		pns_err_clear(&err);
		ck_assert_int_eq(pns_dl_load(&dl, &err), -1);
		ck_assert_int_eq(err.code, PNS_ECRYPTO);
		ck_assert_ptr_nonnull(strstr(err.msg,
		    "cannot load libpns-no-such.so.0: "));
	}
	ck_assert_ptr_null(t.strlen);
	ck_assert_int_eq(inits, 0);
}
END_TEST

START_TEST(dl_missing_function)
{
	struct libcfn	t;
	struct pns_dl	dl = PNS_DL_INIT("libc.so.6", PNS_ENET, bad_syms, &t,
			    count_init);
	struct pns_err	err;

	memset(&t, 0, sizeof(t));
	inits = 0;
	pns_err_clear(&err);
	ck_assert_int_eq(pns_dl_load(&dl, &err), -1);
	ck_assert_int_eq(err.code, PNS_ENET);
	ck_assert_ptr_nonnull(strstr(err.msg, "cannot load libc.so.6: "));
	ck_assert_ptr_nonnull(strstr(err.msg, "pns_no_such_function"));
	/* A half-found library is never initialised. */
	ck_assert_int_eq(inits, 0);
}
END_TEST

START_TEST(dl_failed_initialiser)
{
	struct libcfn	t;
	struct pns_dl	dl = PNS_DL_INIT("libc.so.6", PNS_ENET, good_syms, &t,
			    refuse_init);
	struct pns_err	err;

	pns_err_clear(&err);
	ck_assert_int_eq(pns_dl_load(&dl, &err), -1);
	ck_assert_str_eq(err.msg,
	    "cannot load libc.so.6: refused by its initialiser");
	/* The first message wins: a caller's earlier error stays. */
	pns_err_clear(&err);
	(void)pns_err_set(&err, PNS_EINVAL, "earlier");
	ck_assert_int_eq(pns_dl_load(&dl, &err), -1);
	ck_assert_str_eq(err.msg, "earlier");
}
END_TEST

static Suite *
dl_suite(void)
{
	Suite	*s = suite_create("dl");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, dl_loads_once);
	tcase_add_test(tc, dl_missing_library);
	tcase_add_test(tc, dl_missing_function);
	tcase_add_test(tc, dl_failed_initialiser);
	suite_add_tcase(s, tc);
	return s;
}

TEST_MAIN(dl_suite)

/* SPDX-License-Identifier: ISC */
/*
 * Shared scaffolding of the Check suites: each check_<module>.c defines
 * its suite function and ends with TEST_MAIN(suite_fn).  Suites run in
 * Check's fork mode, so a crash fails one test and not the run.
 */
#ifndef PNS_UNIT_H
#define PNS_UNIT_H

#include <stdlib.h>

#include <check.h>

#ifndef FIXTURES
#define FIXTURES "tests/fixtures"
#endif

/*
 * Runs suite (and frees it); returns main's exit status.  With forked,
 * each test has a process of its own even when CK_FORK=no asks for one
 * process (as "make valgrind" does, valgrind following the forks): for
 * suites whose tests change what a process cannot undo.
 */
static inline int
unit_run_mode(Suite *suite, int forked)
{
	SRunner	*sr = srunner_create(suite);
	int	 failed;

	if (forked)
		srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

static inline int
unit_run(Suite *suite)
{
	return unit_run_mode(suite, 0);
}

#define TEST_MAIN(suite_fn)						\
int									\
main(void)								\
{									\
	return unit_run(suite_fn());					\
}

#endif

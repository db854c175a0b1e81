/* SPDX-License-Identifier: MIT */
/*
 * harness.h - the shared unit-test harness.  Each test program calls the
 * CHECK macros; a failure prints the file, line, case and "got ..., want
 * ...".  test_done() prints "N passed, N failed" as the last line and
 * returns the exit status (non-zero on any failure).  tests/run.sh adds the
 * counts of all programs.
 */
#ifndef TESTS_HARNESS_H
#define TESTS_HARNESS_H

#include <stdio.h>
#include <string.h>

static int test_passed;
static int test_failed;

/* test_check - record one check; print a diagnostic on failure. */
static inline int
test_check(int ok, const char *file, int line, const char *what)
{
	if (ok) {
		test_passed++;
	} else {
		test_failed++;
		fprintf(stderr, "FAIL %s:%d: %s\n", file, line, what);
	}
	return ok;
}

/* test_check_str - compare strings (NULL allowed). */
static inline int
test_check_str(const char *got, const char *want, const char *file, int line,
               const char *what)
{
	int ok;

	if (got == NULL || want == NULL)
		ok = got == want;
	else
		ok = strcmp(got, want) == 0;
	if (ok) {
		test_passed++;
	} else {
		test_failed++;
		fprintf(stderr, "FAIL %s:%d: %s: got \"%s\", want \"%s\"\n",
		        file, line, what, got == NULL ? "(null)" : got,
		        want == NULL ? "(null)" : want);
	}
	return ok;
}

/* test_check_long - compare integers. */
static inline int
test_check_long(long got, long want, const char *file, int line,
                const char *what)
{
	if (got == want) {
		test_passed++;
		return 1;
	}
	test_failed++;
	fprintf(stderr, "FAIL %s:%d: %s: got %ld, want %ld\n", file, line, what,
	        got, want);
	return 0;
}

#define CHECK(cond, what) test_check((cond) != 0, __FILE__, __LINE__, (what))
#define CHECK_STR(got, want, what)                                             \
	test_check_str((got), (want), __FILE__, __LINE__, (what))
#define CHECK_INT(got, want, what)                                             \
	test_check_long((long)(got), (long)(want), __FILE__, __LINE__, (what))

/* test_done - print the summary line; exit status for main. */
static inline int
test_done(void)
{
	printf("%d passed, %d failed\n", test_passed, test_failed);
	return test_failed == 0 ? 0 : 1;
}

#endif

/* SPDX-License-Identifier: MIT */
/*
 * test_utf8.c - common/utf8.c: validation, and utf8_sanitise's promises
 * (valid UTF-8 out, controls removed or kept by flag, CRLF to LF, the cap
 * never splitting a character) on fixed cases.
 */
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "tests/harness.h"

static void
test_sanitise(void)
{
	static const struct {
		const char *in;
		size_t max;
		int flags;
		const char *want;
	} cases[] = {
	    {"plain ascii", 100, 0, "plain ascii"},
	    {"a\r\nb", 100, 0, "a b"},
	    {"a\r\nb\rc", 100, UTF8_KEEP_NEWLINES, "a\nb\nc"},
	    {"t\tab", 100, 0, "t ab"},
	    {"t\tab", 100, UTF8_KEEP_TABS, "t\tab"},
	    {"bell\x07\x1b[0m", 100, 0, "bell[0m"},
	    {"bad\xff\xfe"
	     "bytes",
	     100, 0,
	     "bad\xef\xbf\xbd\xef\xbf\xbd"
	     "bytes"},
	    {"中文字", 7, 0, "中文"},
	    {"abcdef", 3, 0, "abc"},
	    {"c1\xc2\x85"
	     "x",
	     100, 0, "c1x"},
	    {"ls\xe2\x80\xa8"
	     "x",
	     100, 0, "lsx"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = utf8_sanitise(cases[i].in, strlen(cases[i].in),
		                          cases[i].max, cases[i].flags);

		if (!CHECK(out != NULL, "sanitise returns"))
			continue;
		CHECK_STR(out, cases[i].want, cases[i].in);
		CHECK(utf8_valid(out, strlen(out)), "output valid");
		free(out);
	}
}

static void
test_valid(void)
{
	CHECK(utf8_valid("中文", 6), "valid CJK");
	CHECK(!utf8_valid("\xc0\xaf", 2), "overlong refused");
	CHECK(!utf8_valid("\xed\xa0\x80", 3), "surrogate refused");
	CHECK(!utf8_valid("\xf4\x90\x80\x80", 4), "above U+10FFFF refused");
	CHECK(!utf8_valid("\xe4\xb8", 2), "truncated refused");
}

int
main(void)
{
	test_sanitise();
	test_valid();
	return test_done();
}

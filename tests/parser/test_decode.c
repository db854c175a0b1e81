/* SPDX-License-Identifier: MIT */
/*
 * test_decode.c - decode_base64 against fixed cases and, on random input
 * drawn mostly from the base64 alphabet plus junk, against libetpan's own
 * decoder, which it replaces for speed and must match byte for byte;
 * decode_qp against fixed cases, malformed escapes at the end included.
 */
#include <stdlib.h>
#include <string.h>

#include <libetpan/libetpan.h>

#include "parser/decode.h"
#include "tests/harness.h"

static void
test_fixed(void)
{
	static const struct {
		const char *in;
		const char *want;
	} cases[] = {
	    {"", ""},
	    {"QQ==", "A"},
	    {"QUI=", "AB"},
	    {"QUJD", "ABC"},
	    {"QU\r\nJD\r\n", "ABC"},
	    {"Q!U*J D", "ABC"},
	    {"5byg5LiJ", "张三"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned char *out = NULL;
		size_t n = 0;

		if (!CHECK_INT(decode_base64(cases[i].in, strlen(cases[i].in),
		                             &out, &n),
		               0, "decode"))
			continue;
		CHECK_INT(n, strlen(cases[i].want), cases[i].in);
		CHECK_STR((const char *)out, cases[i].want, cases[i].in);
		free(out);
	}
}

static void
test_against_libetpan(void)
{
	static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	                            "qrstuvwxyz0123456789+/=\r\n !-_*";
	unsigned int seed = 12345;
	int t, mismatches = 0, compared = 0;

	for (t = 0; t < 20000; t++) {
		char in[96];
		size_t n, i, idx = 0, al = 0, bl = 0;
		char *a = NULL;
		unsigned char *b = NULL;

		seed = seed * 1103515245u + 12345u;
		n = (seed >> 16) % sizeof(in);
		for (i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			in[i] = (seed >> 16) % 10 == 0
			            ? (char)((seed >> 20) & 0xff)
			            : alpha[(seed >> 18) % (sizeof(alpha) - 1)];
		}
		if (mailmime_part_parse(in, n, &idx, MAILMIME_MECHANISM_BASE64,
		                        &a, &al) != MAILIMF_NO_ERROR)
			continue;
		if (decode_base64(in, n, &b, &bl) != 0) {
			mmap_string_unref(a);
			continue;
		}
		compared++;
		if (al != bl || memcmp(a, b, al) != 0)
			mismatches++;
		mmap_string_unref(a);
		free(b);
	}
	CHECK(compared > 10000, "enough random cases compared");
	CHECK_INT(mismatches, 0, "same bytes as libetpan on random input");
}

/* test_qp - quoted-printable, including the inputs libetpan over-reads */
static void
test_qp(void)
{
	static const struct {
		const char *in;
		const char *want;
	} cases[] = {
	    {"", ""},
	    {"plain", "plain"},
	    {"=E5=BC=A0=e4=b8=89", "张三"},
	    {"soft=\r\nbreak", "softbreak"},
	    {"soft=  \nbreak", "softbreak"},
	    {"a=3D=3d", "a=="},
	    {"keep\r\nline", "keep\r\nline"},
	    {"bad=ZZ", "bad=ZZ"},
	    {"end=A", "end=A"},
	    {"end=", "end"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned char *out = NULL;
		size_t n = 0, len = strlen(cases[i].in);
		char *copy = malloc(len + 1);

		/* an exact-size heap copy, so ASan/valgrind see over-reads */
		if (copy == NULL)
			continue;
		memcpy(copy, cases[i].in, len);
		if (CHECK_INT(decode_qp(copy, len, &out, &n), 0, "decode_qp")) {
			CHECK_INT(n, strlen(cases[i].want), cases[i].in);
			CHECK_STR((const char *)out, cases[i].want,
			          cases[i].in);
		}
		free(out);
		free(copy);
	}
}

int
main(void)
{
	test_fixed();
	test_qp();
	test_against_libetpan();
	return test_done();
}

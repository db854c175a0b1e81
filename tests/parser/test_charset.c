/* SPDX-License-Identifier: MIT */
/*
 * test_charset.c - unit tests for parser/charset.c: label canonicalisation
 * (GB family as GB18030, US-ASCII as auto), the auto rule, Big5, Latin-1,
 * ISO-2022-JP, bad and truncated input, unknown charsets, the descriptor
 * cache and state reset, and bounded output that must stay valid UTF-8.
 * Expected text is UTF-8; legacy bytes were computed with Python codecs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/utf8.h"
#include "parser/charset.h"
#include "tests/harness.h"

#define BYTES(s) (s), (sizeof(s) - 1)

struct conv_case {
	const char *cs;
	const char *in;
	size_t len;
	const char *want;
	int status;
};

static const struct conv_case conv_cases[] = {
    /* 0 */ {NULL, BYTES("hello"), "hello", CHARSET_OK},
    {"", BYTES("\xe4\xb8\xad\xe6\x96\x87"), "中文", CHARSET_OK},
    {NULL, BYTES("\xd6\xd0\xce\xc4"), "中文", CHARSET_OK},
    {"gbk", BYTES("\xd6\xd0\xce\xc4"), "中文", CHARSET_OK},
    {"GB2312", BYTES("\xd6\xd0\xce\xc4"), "中文", CHARSET_OK},
    /* 5 */ {"x-gbk", BYTES("\xb2\xe2\xca\xd4"), "测试", CHARSET_OK},
    {"CP936", BYTES("\xb2\xe2\xca\xd4"), "测试", CHARSET_OK},
    {"ms936", BYTES("\xb2\xe2\xca\xd4"), "测试", CHARSET_OK},
    {"EUC-CN", BYTES("\xb2\xe2\xca\xd4"), "测试", CHARSET_OK},
    {"csGB2312", BYTES("\xb2\xe2\xca\xd4"), "测试", CHARSET_OK},
    /* 10 */ {"GB_2312-80", BYTES("\xb2\xe2\xca\xd4"), "测试", CHARSET_OK},
    {"chinese", BYTES("\xb2\xe2\xca\xd4"), "测试", CHARSET_OK},
    {"gb18030", BYTES("\x95\x32\x82\x36"), "\xf0\xa0\x80\x80", CHARSET_OK},
    {"GB18030", BYTES("\x94\x39\xfc\x36"), "😀", CHARSET_OK},
    /* GB2312 label, GB18030-only 4-byte sequence: superset wins */
    {"gb2312", BYTES("\x95\x32\x82\x36"), "\xf0\xa0\x80\x80", CHARSET_OK},
    /* 15 */ {"gbk", BYTES("\xa2\xe3"), "€", CHARSET_OK},
    {"big5", BYTES("\xc1\x63\xc5\xe9\xa4\xa4\xa4\xe5"), "繁體中文", CHARSET_OK},
    {"BIG-5", BYTES("\xa4\xa4\xa4\xe5"), "中文", CHARSET_OK},
    {"ISO-8859-1", BYTES("Caf\xe9"), "Café", CHARSET_OK},
    {"iso-2022-jp", BYTES("\x1b\x24\x42\x46\x7c\x4b\x5c\x38\x6c\x1b\x28\x42"),
     "日本語", CHARSET_OK},
    /* 20 */ {"utf-8", BYTES("\xe4\xb8\xad\xe6\x96\x87"), "中文", CHARSET_OK},
    {"UTF8", BYTES("a\xff\x62"), "a\xef\xbf\xbd\x62", CHARSET_LOSSY},
    {"utf-8", BYTES("\xe4\xb8"), "\xef\xbf\xbd", CHARSET_LOSSY},
    {"utf-8", BYTES("\xe4\xb8\x41\xed\xa0\x80"),
     "\xef\xbf\xbd\x41\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", CHARSET_LOSSY},
    {"us-ascii", BYTES("abc"), "abc", CHARSET_OK},
    /* 25 */ {"US-ASCII", BYTES("\xd6\xd0\xce\xc4"), "中文", CHARSET_OK},
    {"ANSI_X3.4-1968", BYTES("\xe4\xb8\xad"), "中", CHARSET_OK},
    {"x-unknown-cs", BYTES("abc"), "abc", CHARSET_UNKNOWN},
    {"x-unknown-cs", BYTES("\xd6\xd0\xce\xc4"), "中文", CHARSET_UNKNOWN},
    {"utf-8//TRANSLIT", BYTES("abc"), "abc", CHARSET_UNKNOWN},
    /* 30 */ {"gbk", BYTES("\x81\x20"), "\xef\xbf\xbd ", CHARSET_LOSSY},
    {"gbk", BYTES("\xd6\xd0\xce"), "中\xef\xbf\xbd", CHARSET_LOSSY},
    {NULL, BYTES("\x80"), "\xef\xbf\xbd", CHARSET_LOSSY},
    {" \"GBK\" ", BYTES("\xd6\xd0\xce\xc4"), "中文", CHARSET_OK},
    {"windows-1252", BYTES("\x80"), "€", CHARSET_OK},
    /* 35 */ {"UTF-16LE", BYTES("\x2d\x4e\x87\x65"), "中文", CHARSET_OK},
    {"gbk", BYTES("plain ascii"), "plain ascii", CHARSET_OK},
    {"koi8-r", BYTES("\xf0\xd2\xc9\xd7\xc5\xd4"), "Привет", CHARSET_OK},
    {"x-unknown-cs", BYTES("\x80"), "\xef\xbf\xbd", CHARSET_UNKNOWN},
    {"gbk", BYTES(""), "", CHARSET_OK},
};

/* convert - run one conversion into a fresh unbounded buffer */
static int
convert(struct charset_conv *cc, const char *cs, const char *in, size_t len,
        struct buf *out)
{
	buf_init(out, 0);
	return charset_to_utf8(cc, cs, in, len, out);
}

/* test_table - every conversion case */
static void
test_table(struct charset_conv *cc)
{
	char what[64];
	struct buf out;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(conv_cases) / sizeof(conv_cases[0]); i++) {
		const struct conv_case *c = &conv_cases[i];

		rc = convert(cc, c->cs, c->in, c->len, &out);
		(void)snprintf(what, sizeof(what), "conv case %zu text", i);
		CHECK_STR(out.data == NULL ? "" : out.data, c->want, what);
		(void)snprintf(what, sizeof(what), "conv case %zu status", i);
		CHECK_INT(rc, c->status, what);
		(void)snprintf(what, sizeof(what), "conv case %zu valid", i);
		CHECK(utf8_valid(out.data, out.len), what);
		buf_free(&out);
	}
}

/* test_nul - embedded NUL bytes survive the UTF-8 fast path */
static void
test_nul(struct charset_conv *cc)
{
	struct buf out;
	int rc;

	rc = convert(cc, NULL, "a\0b", 3, &out);
	CHECK_INT(rc, CHARSET_OK, "nul status");
	CHECK_INT(out.len, 3, "nul length");
	CHECK(out.len == 3 && memcmp(out.data, "a\0b", 3) == 0, "nul bytes");
	buf_free(&out);
}

struct auto_case {
	const char *cs;
	int want;
};

static const struct auto_case auto_cases[] = {
    {NULL, 1},
    {"", 1},
    {"us-ascii", 1},
    {"ASCII", 1},
    {"x-nonexistent", 1},
    {"bad name/", 1},
    {"utf-8", 0},
    {"UTF8", 0},
    {"gbk", 0},
    {"ISO-8859-1", 0},
    {"big5", 0},
};

/* test_is_auto - which labels mean "guess" */
static void
test_is_auto(struct charset_conv *cc)
{
	char what[64];
	size_t i;

	for (i = 0; i < sizeof(auto_cases) / sizeof(auto_cases[0]); i++) {
		(void)snprintf(what, sizeof(what), "is_auto case %zu", i);
		CHECK_INT(charset_is_auto(cc, auto_cases[i].cs),
		          auto_cases[i].want, what);
	}
}

/* test_cache - more charsets than slots, in rotation, stay correct */
static void
test_cache(struct charset_conv *cc)
{
	static const struct conv_case rot[] = {
	    {"gbk", BYTES("\xd6\xd0"), "中", CHARSET_OK},
	    {"big5", BYTES("\xa4\xa4"), "中", CHARSET_OK},
	    {"iso-8859-1", BYTES("\xe9"), "é", CHARSET_OK},
	    {"iso-8859-2", BYTES("\xb1"), "ą", CHARSET_OK},
	    {"iso-8859-5", BYTES("\xb0"), "А", CHARSET_OK},
	    {"iso-8859-7", BYTES("\xe1"), "α", CHARSET_OK},
	    {"koi8-r", BYTES("\xc1"), "а", CHARSET_OK},
	    {"windows-1251", BYTES("\xe0"), "а", CHARSET_OK},
	    {"shift_jis", BYTES("\x82\xa0"), "あ", CHARSET_OK},
	    {"iso-8859-15", BYTES("\xa4"), "€", CHARSET_OK},
	    {"x-nope-1", BYTES("ok"), "ok", CHARSET_UNKNOWN},
	    {"iso-2022-jp", BYTES("\x1b\x24\x42\x24\x22\x1b\x28\x42"), "あ",
	     CHARSET_OK},
	};
	char what[64];
	struct buf out;
	size_t round, i;
	int rc;

	for (round = 0; round < 3; round++) {
		for (i = 0; i < sizeof(rot) / sizeof(rot[0]); i++) {
			rc =
			    convert(cc, rot[i].cs, rot[i].in, rot[i].len, &out);
			(void)snprintf(what, sizeof(what),
			               "cache round %zu case %zu", round, i);
			CHECK_STR(out.data == NULL ? "" : out.data, rot[i].want,
			          what);
			CHECK_INT(rc, rot[i].status, what);
			buf_free(&out);
		}
	}
}

/* test_state_reset - a stateful decoder starts fresh on every call */
static void
test_state_reset(struct charset_conv *cc)
{
	struct buf out;
	int rc;

	/* shifted into JIS X 0208 and never shifted back */
	rc = convert(cc, "iso-2022-jp", BYTES("\x1b\x24\x42\x24\x22"), &out);
	CHECK_STR(out.data, "あ", "reset: shifted text");
	CHECK_INT(rc, CHARSET_OK, "reset: shifted status");
	buf_free(&out);
	rc = convert(cc, "iso-2022-jp", BYTES("AB"), &out);
	CHECK_STR(out.data, "AB", "reset: next call is ASCII again");
	CHECK_INT(rc, CHARSET_OK, "reset: next status");
	buf_free(&out);
}

/* test_bounded - every output limit yields a valid prefix */
static void
test_bounded(struct charset_conv *cc)
{
	char what[96];
	struct buf full, out;
	size_t i, max;
	int rc;

	for (i = 0; i < sizeof(conv_cases) / sizeof(conv_cases[0]); i++) {
		const struct conv_case *c = &conv_cases[i];

		(void)convert(cc, c->cs, c->in, c->len, &full);
		for (max = 1; max <= full.len + 1; max++) {
			buf_init(&out, max);
			rc = charset_to_utf8(cc, c->cs, c->in, c->len, &out);
			(void)snprintf(what, sizeof(what),
			               "bounded case %zu max %zu", i, max);
			CHECK(out.len <= max && utf8_valid(out.data, out.len) &&
			          (out.len == 0 ||
			           memcmp(out.data, full.data, out.len) == 0),
			      what);
			if (max < full.len)
				CHECK_INT(rc, CHARSET_FULL, what);
			else
				CHECK(rc != CHARSET_FULL && out.len == full.len,
				      what);
			buf_free(&out);
		}
		buf_free(&full);
	}
}

/* test_random - random bytes in many charsets always give valid UTF-8 */
static void
test_random(struct charset_conv *cc)
{
	static const char *const css[] = {NULL,        "utf-8",       "gbk",
	                                  "big5",      "iso-2022-jp", "utf-16",
	                                  "shift_jis", "x-nope"};
	unsigned char in[257];
	unsigned long seed = 12345;
	char what[64];
	struct buf out;
	size_t iter, i, len, bad = 0;
	int rc;

	for (iter = 0; iter < 4000; iter++) {
		len = iter % sizeof(in);
		for (i = 0; i < len; i++) {
			seed = seed * 1103515245 + 12345;
			in[i] = (unsigned char)(seed >> 16);
		}
		buf_init(&out, iter % 7 == 0 ? 1 + iter % 50 : 0);
		rc = charset_to_utf8(cc, css[iter % 8], in, len, &out);
		if (rc == CHARSET_NOMEM || !utf8_valid(out.data, out.len))
			bad++;
		buf_free(&out);
	}
	(void)snprintf(what, sizeof(what), "random: %zu bad outputs", bad);
	CHECK(bad == 0, what);
}

/* test_free - free accepts NULL and clears the pointer */
static void
test_free(void)
{
	struct charset_conv *cc = NULL;

	charset_conv_free(&cc);
	charset_conv_free(NULL);
	cc = charset_conv_new();
	CHECK(cc != NULL, "new");
	charset_conv_free(&cc);
	CHECK(cc == NULL, "free clears pointer");
}

/* main - run every group with one converter */
int
main(void)
{
	struct charset_conv *cc;

	cc = charset_conv_new();
	if (cc == NULL) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	test_table(cc);
	test_nul(cc);
	test_is_auto(cc);
	test_cache(cc);
	test_state_reset(cc);
	test_bounded(cc);
	test_random(cc);
	charset_conv_free(&cc);
	test_free();
	return test_done();
}

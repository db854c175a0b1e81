/* SPDX-License-Identifier: MIT */
/*
 * test_rfc2047.c - unit tests for parser/rfc2047.c: B and Q words in
 * UTF-8, GBK, GB2312, GB18030, Big5, Latin-1 and ISO-2022-JP, raw 8-bit
 * text, characters split across words, folded and missing whitespace,
 * malformed words, unknown charsets, the word limit at and past its value,
 * bounded output, and rfc2047_encode round trips.  Legacy bytes and base64
 * were computed with Python codecs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/utf8.h"
#include "parser/charset.h"
#include "parser/limits.h"
#include "parser/rfc2047.h"
#include "tests/harness.h"

struct dec_case {
	const char *in;
	const char *want;
	int status;
};

static const struct dec_case dec_cases[] = {
    /* 0 */ {"=?UTF-8?B?5Lit5paH?=", "中文", CHARSET_OK},
    {"=?utf-8?q?=E4=B8=AD=E6=96=87?=", "中文", CHARSET_OK},
    {"=?UTF-8?Q?a_b=3Fc?=", "a b?c", CHARSET_OK},
    {"=?GBK?B?1tDOxA==?=", "中文", CHARSET_OK},
    {"=?gb2312?B?1tDOxA==?=", "中文", CHARSET_OK},
    /* 5 */ {"=?GB18030?B?lTKCNg==?=", "\xf0\xa0\x80\x80", CHARSET_OK},
    {"=?gb2312?B?lDn8Ng==?=", "😀", CHARSET_OK},
    {"=?big5?B?wWPF6aSkpOU=?=", "繁體中文", CHARSET_OK},
    {"=?ISO-8859-1?Q?Caf=E9?=", "Café", CHARSET_OK},
    {"=?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=", "日本語", CHARSET_OK},
    /* 10: raw 8-bit */
    {"中文 subject", "中文 subject", CHARSET_OK},
    {"\xd6\xd0\xce\xc4 subject", "中文 subject", CHARSET_OK},
    /* UTF-8 character split across two B words */
    {"=?UTF-8?B?5Lg=?= =?UTF-8?B?reaWhw==?=", "中文", CHARSET_OK},
    /* GBK character split across two Q words */
    {"=?GBK?Q?=D6?= =?GBK?Q?=D0=CE=C4?=", "中文", CHARSET_OK},
    {"=?UTF-8?B?5Lg=?=\r\n =?UTF-8?B?reaWhw==?=", "中文", CHARSET_OK},
    /* 15 */ {"=?UTF-8?B?5Lg=?=\r\n\t=?UTF-8?B?reaWhw==?=", "中文", CHARSET_OK},
    {"=?UTF-8?B?5Lg=?==?UTF-8?B?reaWhw==?=", "中文", CHARSET_OK},
    {"=?utf-8?B?5Lg=?= =?UTF-8?b?reaWhw==?=", "中文", CHARSET_OK},
    {"Re: =?UTF-8?B?5Lit5paH?= order 123", "Re: 中文 order 123", CHARSET_OK},
    {"=?UTF-8?Q?a?= x =?UTF-8?Q?b?=", "a x b", CHARSET_OK},
    /* 20 */
    {"=?GBK?B?1tDOxA==?= =?UTF-8?B?5Lit5paH?=", "中文中文", CHARSET_OK},
    /* malformed words stay literal */
    {"=?UTF-8?X?abc?=", "=?UTF-8?X?abc?=", CHARSET_OK},
    {"=?UTF-8?B?5Lit5p*H?=", "=?UTF-8?B?5Lit5p*H?=", CHARSET_OK},
    {"=?UTF-8?B?5?=", "=?UTF-8?B?5?=", CHARSET_OK},
    {"=?UTF-8?B?YWI?=", "ab", CHARSET_OK},
    /* 25 */ {"=?GBK?B?1tDOxA?=", "中文", CHARSET_OK},
    {"=?UTF-8?B?5Lit5paH", "=?UTF-8?B?5Lit5paH", CHARSET_OK},
    {"=??B?YWI=?=", "=??B?YWI=?=", CHARSET_OK},
    {"x=?UTF-8?B?\?=y", "xy", CHARSET_OK},
    {"=?x-unknown?B?5Lit5paH?=", "中文", CHARSET_LOSSY},
    /* 30 */ {"=?x-unknown?Q?=D6=D0?=", "中", CHARSET_LOSSY},
    {"=?UTF-8*en?Q?hello?=", "hello", CHARSET_OK},
    {"=?UTF-8?Q?a=ZZb=?=", "a=ZZb=", CHARSET_OK},
    {"=?UTF-8?Q?a?= =?bogus", "a =?bogus", CHARSET_OK},
    {"=?UTF-8?Q?a\r\n b?=", "=?UTF-8?Q?a\r\n b?=", CHARSET_OK},
    /* 35 */ {"=?UTF-8?Q?what?_now?=", "what? now", CHARSET_OK},
    {"=?=?UTF-8?Q?x?=", "=?x", CHARSET_OK},
    {"=?UTF-8?B?5Lit 5paH?=", "中文", CHARSET_OK},
    {"\xd6\xd0 =?UTF-8?B?5paH?=", "中 文", CHARSET_OK},
    {"  =?UTF-8?Q?a?=  ", "  a  ", CHARSET_OK},
    /* 40 */ {"=?GBK?Q?=81=20?=", "\xef\xbf\xbd ", CHARSET_LOSSY},
    {"=?UTF-8?B?5Lit?==?GBK?B?zsQ=?=", "中文", CHARSET_OK},
    {"=?UTF-8?Q?=E4=B8?= x", "\xef\xbf\xbd x", CHARSET_LOSSY},
    {"", "", CHARSET_OK},
    {"=", "=", CHARSET_OK},
    /* 45 */ {"=?", "=?", CHARSET_OK},
    {"=?UTF-8?B?", "=?UTF-8?B?", CHARSET_OK},
    {"=?UTF-8?B?YWI=x?=", "=?UTF-8?B?YWI=x?=", CHARSET_OK},
    {"a =?utf-8?q?b?= =?utf-8?q?c?= d", "a bc d", CHARSET_OK},
    {"=?utf-8?q?=E4=B8=AD?= =?gbk?q?=CE=C4?= =?utf-8?q?=21?=", "中文!",
     CHARSET_OK},
};

/* decode - decode s into a fresh unbounded buffer */
static int
decode(struct charset_conv *cc, const char *s, size_t max_words,
       struct buf *out)
{
	buf_init(out, 0);
	return rfc2047_decode(cc, s, strlen(s), max_words, out);
}

/* test_table - every decoding case */
static void
test_table(struct charset_conv *cc)
{
	char what[64];
	struct buf out;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(dec_cases) / sizeof(dec_cases[0]); i++) {
		rc = decode(cc, dec_cases[i].in, 0, &out);
		(void)snprintf(what, sizeof(what), "decode case %zu text", i);
		CHECK_STR(out.data == NULL ? "" : out.data, dec_cases[i].want,
		          what);
		(void)snprintf(what, sizeof(what), "decode case %zu status", i);
		CHECK_INT(rc, dec_cases[i].status, what);
		(void)snprintf(what, sizeof(what), "decode case %zu valid", i);
		CHECK(utf8_valid(out.data, out.len), what);
		buf_free(&out);
	}
}

/* words - n copies of "=?UTF-8?Q?a?=" separated by spaces */
static char *
words(size_t n)
{
	struct buf b;
	size_t i;

	buf_init(&b, 0);
	for (i = 0; i < n; i++) {
		if (buf_append_str(&b, i == 0 ? "" : " ") != 0 ||
		    buf_append_str(&b, "=?UTF-8?Q?a?=") != 0) {
			buf_free(&b);
			return NULL;
		}
	}
	return buf_steal(&b);
}

/* expect_words - decoded form of words(n) when max of them are decoded */
static char *
expect_words(size_t n, size_t max)
{
	struct buf b;
	size_t i;
	int rc = 0;

	buf_init(&b, 0);
	for (i = 0; i < n && i < max; i++)
		rc |= buf_append_str(&b, "a");
	for (; i < n; i++)
		rc |= buf_append_str(&b, " =?UTF-8?Q?a?=");
	if (rc != 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

/* test_limit - the word limit at its value and one past */
static void
test_limit(struct charset_conv *cc)
{
	static const struct {
		size_t n, max_words, decoded;
	} cases[] = {
	    {3, 3, 3},
	    {4, 3, 3},
	    {1, 1, 1},
	    {2, 1, 1},
	    {PARSER_WORDS_MAX, 0, PARSER_WORDS_MAX},
	    {PARSER_WORDS_MAX + 1, 0, PARSER_WORDS_MAX},
	};
	char what[64], *in, *want;
	struct buf out;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		in = words(cases[i].n);
		want = expect_words(cases[i].n, cases[i].decoded);
		(void)snprintf(what, sizeof(what), "limit case %zu", i);
		if (CHECK(in != NULL && want != NULL, what) == 0) {
			free(in);
			free(want);
			continue;
		}
		CHECK_INT(decode(cc, in, cases[i].max_words, &out), CHARSET_OK,
		          what);
		CHECK_STR(out.data, want, what);
		buf_free(&out);
		free(in);
		free(want);
	}
}

/* test_long_word - words up to 1000 bytes decode, longer stay literal */
static void
test_long_word(struct charset_conv *cc)
{
	static const size_t sizes[] = {75, 1000, 1001};
	char what[64];
	struct buf in, want, out;
	size_t i, k, text;
	int rc;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		text = sizes[i] - strlen("=?UTF-8?Q?\?=");
		buf_init(&in, 0);
		buf_init(&want, 0);
		rc = buf_append_str(&in, "=?UTF-8?Q?");
		for (k = 0; k < text; k++) {
			rc |= buf_append_byte(&in, 'x');
			rc |= buf_append_byte(&want, 'x');
		}
		rc |= buf_append_str(&in, "?=");
		(void)snprintf(what, sizeof(what), "long word %zu", sizes[i]);
		if (CHECK(rc == 0 && in.len == sizes[i], what)) {
			(void)decode(cc, in.data, 0, &out);
			CHECK_STR(out.data,
			          sizes[i] <= 1000 ? want.data : in.data, what);
			buf_free(&out);
		}
		buf_free(&in);
		buf_free(&want);
	}
}

/* test_bounded - every output limit yields a valid prefix */
static void
test_bounded(struct charset_conv *cc)
{
	char what[96];
	struct buf full, out;
	size_t i, max;
	int rc;

	for (i = 0; i < sizeof(dec_cases) / sizeof(dec_cases[0]); i++) {
		const char *in = dec_cases[i].in;

		(void)decode(cc, in, 0, &full);
		for (max = 1; max <= full.len + 1; max++) {
			buf_init(&out, max);
			rc = rfc2047_decode(cc, in, strlen(in), 0, &out);
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

/* test_random - random token soup never gives invalid UTF-8 */
static void
test_random(struct charset_conv *cc)
{
	static const char *const toks[] = {
	    "=?",
	    "?=",
	    "?B?",
	    "?Q?",
	    "utf-8",
	    "gbk",
	    "=E4",
	    "=B8",
	    "5Lit",
	    "==",
	    " ",
	    "\r\n ",
	    "\xd6",
	    "\xff",
	    "_",
	    "*en",
	    "=?UTF-8?B?5Lg=?=",
	    "a",
	    "?",
	};
	const size_t ntoks = sizeof(toks) / sizeof(toks[0]);
	unsigned long seed = 777;
	char what[64];
	struct buf in, out;
	size_t iter, k, ntok, bad = 0;

	for (iter = 0; iter < 3000; iter++) {
		buf_init(&in, 0);
		ntok = iter % 40;
		for (k = 0; k < ntok; k++) {
			seed = seed * 1103515245 + 12345;
			if (buf_append_str(&in, toks[(seed >> 16) % ntoks]) !=
			    0)
				bad++;
		}
		buf_init(&out, iter % 5 == 0 ? 1 + iter % 30 : 0);
		if (rfc2047_decode(cc, in.data == NULL ? "" : in.data, in.len,
		                   1 + iter % 4, &out) == CHARSET_NOMEM ||
		    !utf8_valid(out.data, out.len))
			bad++;
		buf_free(&out);
		buf_free(&in);
	}
	(void)snprintf(what, sizeof(what), "random: %zu bad outputs", bad);
	CHECK(bad == 0, what);
}

struct enc_case {
	const char *in;
	const char *want; /* NULL: only check the round trip */
	const char *back; /* decoded form; NULL: same as in */
};

static const struct enc_case enc_cases[] = {
    /* 0 */ {"Ticket CM-20231105-001 received",
             "Ticket CM-20231105-001 received", NULL},
    {"", "", NULL},
    {"中文", "=?UTF-8?B?5Lit5paH?=", NULL},
    {"a =?x?Q?y?= b", NULL, NULL},
    {"line\r\nBcc: evil@example.com", NULL, "lineBcc: evil@example.com"},
    /* 5 */ {"tab\there\x7f\x01", NULL, "tabhere"},
    {"您的工单已受理：CM-20231105-001（订单号 12345678）", NULL, NULL},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa中", NULL, NULL},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa中", NULL, NULL},
    {"😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀", NULL, NULL},
    /* 10 */ {"Café \xc2\x85next", NULL, "Café next"},
    {"\r\n", "", ""},
    {"bad \xff byte", NULL, "bad \xef\xbf\xbd byte"},
    {"一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十"
     "一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十",
     NULL, NULL},
};

/* check_lines - each line <= 76 bytes, ASCII, CRLF only as "\r\n " */
static int
check_lines(const char *s, size_t len)
{
	size_t i, line = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == '\r') {
			if (i + 2 >= len || s[i + 1] != '\n' || s[i + 2] != ' ')
				return 0;
			i++;
			line = 0;
			continue;
		}
		if (s[i] == '\n' || (unsigned char)s[i] < 0x20 ||
		    (unsigned char)s[i] > 0x7e)
			return 0;
		line++;
		if (line > 76)
			return 0;
	}
	return 1;
}

/* test_encode - expected output, line shape and round trip */
static void
test_encode(struct charset_conv *cc)
{
	char what[64];
	struct buf enc, dec;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(enc_cases) / sizeof(enc_cases[0]); i++) {
		const struct enc_case *c = &enc_cases[i];

		buf_init(&enc, 0);
		rc = rfc2047_encode(c->in, &enc);
		(void)snprintf(what, sizeof(what), "encode case %zu rc", i);
		CHECK_INT(rc, 0, what);
		(void)snprintf(what, sizeof(what), "encode case %zu text", i);
		if (c->want != NULL)
			CHECK_STR(enc.data == NULL ? "" : enc.data, c->want,
			          what);
		(void)snprintf(what, sizeof(what), "encode case %zu lines", i);
		CHECK(check_lines(enc.data, enc.len), what);
		buf_init(&dec, 0);
		if (enc.len > 0)
			(void)rfc2047_decode(cc, enc.data, enc.len, 0, &dec);
		(void)snprintf(what, sizeof(what), "encode case %zu back", i);
		CHECK_STR(dec.data == NULL ? "" : dec.data,
		          c->back != NULL ? c->back : c->in, what);
		buf_free(&dec);
		buf_free(&enc);
	}
}

/* test_encode_full - a refused append leaves out unchanged */
static void
test_encode_full(void)
{
	struct buf out;

	buf_init(&out, 40);
	CHECK_INT(buf_append_str(&out, "Subject: "), 0, "encode full: prefix");
	CHECK_INT(
	    rfc2047_encode("一二三四五六七八九十一二三四五六七八九十", &out),
	    -1, "encode full: refused");
	CHECK_STR(out.data, "Subject: ", "encode full: unchanged");
	CHECK_INT(rfc2047_encode("plain text that does not fit in 40", &out),
	          -1, "encode full: plain refused");
	CHECK_STR(out.data, "Subject: ", "encode full: plain unchanged");
	buf_free(&out);
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
	test_limit(cc);
	test_long_word(cc);
	test_bounded(cc);
	test_random(cc);
	test_encode(cc);
	test_encode_full();
	charset_conv_free(&cc);
	return test_done();
}

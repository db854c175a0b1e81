/* SPDX-License-Identifier: MIT */
/*
 * test_rfc2231.c - unit tests for parser/rfc2231.c: extended values with
 * charset and language, continuations in any order, mixed starred and
 * unstarred sections, gaps and duplicates, invalid escapes, RFC 2047 names
 * as Outlook and Foxmail send them, raw 8-bit GBK and UTF-8 names, the
 * section limit, absent parameters and bounded output.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/utf8.h"
#include "parser/charset.h"
#include "parser/limits.h"
#include "parser/rfc2231.h"
#include "tests/harness.h"

#define PARAMS_MAX 6

struct get_case {
	const char *name;
	struct rfc2231_param params[PARAMS_MAX]; /* ends at name NULL */
	const char *want;                        /* NULL when absent */
	int ret;
};

static const struct get_case get_cases[] = {
    /* 0: absent */
    {"filename", {{"charset", "utf-8"}, {NULL, NULL}}, NULL, 0},
    {"filename", {{NULL, NULL}}, NULL, 0},
    {"filename", {{"filename", "report.pdf"}}, "report.pdf", 1},
    {"filename", {{"FileName", "a.txt"}}, "a.txt", 1},
    {"FILENAME", {{"filename*", "UTF-8''%E4%B8%AD.txt"}}, "中.txt", 1},
    /* 5: extended single */
    {"filename",
     {{"filename*", "UTF-8''%E4%B8%AD%E6%96%87.txt"}},
     "中文.txt",
     1},
    {"filename", {{"filename*", "gbk''%D6%D0%CE%C4.txt"}}, "中文.txt", 1},
    {"filename",
     {{"filename*", "gb2312'zh-cn'%B1%A8%B8%E6.doc"}},
     "报告.doc",
     1},
    {"filename", {{"filename*", "%E4%B8%AD.txt"}}, "中.txt", 1},
    {"filename", {{"filename*", "''%D6%D0.txt"}}, "中.txt", 1},
    /* 10 */
    {"filename", {{"filename*", "x-bogus''%D6%D0"}}, "中", 1},
    {"filename", {{"filename*", "UTF-8''100%25%zz%4"}}, "100%%zz%4", 1},
    /* continuations out of order */
    {"filename",
     {{"filename*1*", "%E6%96%87.txt"}, {"filename*0*", "UTF-8''%E4%B8%AD"}},
     "中文.txt",
     1},
    {"filename",
     {{"filename*2*", "%87"},
      {"filename*0*", "UTF-8''%E4%B8"},
      {"filename*1*", "%AD%E6%96"}},
     "中文",
     1},
    /* mixed starred and unstarred sections */
    {"filename",
     {{"filename*0*", "UTF-8''%E4%B8%AD"}, {"filename*1", "%41.txt"}},
     "中%41.txt",
     1},
    /* 15 */
    {"filename",
     {{"filename*0", "a%20"}, {"filename*1*", "%E4%B8%AD"}},
     "a%20中",
     1},
    {"filename",
     {{"filename*0", "UTF-8''x"}, {"filename*1*", "%D6%D0"}},
     "UTF-8''x中",
     1},
    /* a gap ends the value */
    {"filename", {{"filename*0*", "UTF-8''a"}, {"filename*2*", "c"}}, "a", 1},
    {"filename",
     {{"filename*1*", "b"}, {"filename*2*", "c"}, {"filename", "x.txt"}},
     "x.txt",
     1},
    {"filename", {{"filename*1*", "b"}, {"filename*2*", "c"}}, NULL, 0},
    /* 20: duplicates: first wins */
    {"filename",
     {{"filename*0*", "UTF-8''a"}, {"filename*0*", "UTF-8''b"}},
     "a",
     1},
    {"filename", {{"filename", "one"}, {"filename", "two"}}, "one", 1},
    /* Outlook and Foxmail: RFC 2047 inside the quoted value */
    {"filename", {{"filename", "=?GB2312?B?sai45i5kb2M=?="}}, "报告.doc", 1},
    {"name",
     {{"name", "=?gbk?B?tqm1?= =?gbk?B?pc7KzOIucGRm?="}},
     "订单问题.pdf",
     1},
    {"filename",
     {{"filename", "=?gb18030?B?uL28/su1w/cuZG9jeA==?="}},
     "附件说明.docx",
     1},
    /* 25: raw 8-bit names */
    {"filename", {{"filename", "\xd6\xd0\xce\xc4.txt"}}, "中文.txt", 1},
    {"filename", {{"filename", "中文.txt"}}, "中文.txt", 1},
    /* extended wins over plain, unless it is empty */
    {"filename",
     {{"filename", "fallback.txt"}, {"filename*", "UTF-8''%E4%B8%AD.txt"}},
     "中.txt",
     1},
    {"filename", {{"filename*", "UTF-8''"}, {"filename", "x.txt"}}, "x.txt", 1},
    {"filename", {{"filename*", "UTF-8''"}}, "", 1},
    /* 30: other names do not match */
    {"filename",
     {{"filenamex", "a"},
      {"filename*x", "b"},
      {"filename*0x", "c"},
      {"filename*1234", "d"},
      {"file", "e"}},
     NULL,
     0},
    {"name", {{"filename", "a.txt"}}, NULL, 0},
    /* all unstarred sections: a plain value split up */
    {"filename",
     {{"filename*0", "=?UTF-8?B?5Lit"}, {"filename*1", "5paH?="}},
     "中文",
     1},
    {"filename",
     {{"filename*0", "long"}, {"filename*1", "name"}},
     "longname",
     1},
    {"filename",
     {{"filename*", "UTF-8''a"}, {"filename*0*", "UTF-8''b"}},
     "a",
     1},
    /* 35 */
    {"filename", {{"filename", NULL}, {"filename", "ok"}}, "ok", 1},
    {"filename", {{"filename*", "a b'c'd"}}, "a b'c'd", 1},
    {"filename", {{"filename*00*", "UTF-8''%E4%B8%AD"}}, "中", 1},
    {"filename", {{"filename*", "UTF-8''%E4%B8"}}, "\xef\xbf\xbd", 1},
};

/* nparams - entries before the terminating NULL name */
static size_t
nparams(const struct get_case *c)
{
	size_t n = 0;

	while (n < PARAMS_MAX &&
	       (c->params[n].name != NULL || c->params[n].value != NULL))
		n++;
	return n;
}

/* test_table - every lookup case */
static void
test_table(struct charset_conv *cc)
{
	char what[64];
	struct buf out;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(get_cases) / sizeof(get_cases[0]); i++) {
		const struct get_case *c = &get_cases[i];

		buf_init(&out, 0);
		rc = rfc2231_get(cc, c->params, nparams(c), c->name, &out);
		(void)snprintf(what, sizeof(what), "get case %zu ret", i);
		CHECK_INT(rc, c->ret, what);
		(void)snprintf(what, sizeof(what), "get case %zu text", i);
		if (c->want == NULL)
			CHECK_INT(out.len, 0, what);
		else
			CHECK_STR(out.data == NULL ? "" : out.data, c->want,
			          what);
		(void)snprintf(what, sizeof(what), "get case %zu valid", i);
		CHECK(utf8_valid(out.data, out.len), what);
		buf_free(&out);
	}
}

/* test_sections - the section limit at its value and one past */
static void
test_sections(struct charset_conv *cc)
{
	struct rfc2231_param params[PARSER_RFC2231_SECTIONS_MAX + 1];
	char names[PARSER_RFC2231_SECTIONS_MAX + 1][24];
	char what[64];
	struct buf out, want;
	size_t i, n;
	int rc;

	for (i = 0; i <= PARSER_RFC2231_SECTIONS_MAX; i++) {
		(void)snprintf(names[i], sizeof(names[i]), "filename*%zu*", i);
		params[i].name = names[i];
		params[i].value = i == 0 ? "UTF-8''%E4%B8%AD" : "%E4%B8%AD";
	}
	for (n = PARSER_RFC2231_SECTIONS_MAX;
	     n <= PARSER_RFC2231_SECTIONS_MAX + 1; n++) {
		buf_init(&out, 0);
		buf_init(&want, 0);
		rc = 0;
		for (i = 0; i < PARSER_RFC2231_SECTIONS_MAX; i++)
			rc |= buf_append_str(&want, "中");
		(void)snprintf(what, sizeof(what), "sections %zu", n);
		CHECK_INT(rc, 0, what);
		CHECK_INT(rfc2231_get(cc, params, n, "filename", &out), 1,
		          what);
		CHECK_STR(out.data, want.data, what);
		buf_free(&out);
		buf_free(&want);
	}
}

/* test_bounded - a small output limit still gives valid UTF-8 */
static void
test_bounded(struct charset_conv *cc)
{
	char what[96];
	struct buf full, out;
	size_t i, max;
	int rc;

	for (i = 0; i < sizeof(get_cases) / sizeof(get_cases[0]); i++) {
		const struct get_case *c = &get_cases[i];

		buf_init(&full, 0);
		(void)rfc2231_get(cc, c->params, nparams(c), c->name, &full);
		for (max = 1; max <= full.len; max++) {
			buf_init(&out, max);
			rc = rfc2231_get(cc, c->params, nparams(c), c->name,
			                 &out);
			(void)snprintf(what, sizeof(what),
			               "bounded case %zu max %zu", i, max);
			CHECK(rc == 1 && out.len <= max &&
			          utf8_valid(out.data, out.len) &&
			          (out.len == 0 ||
			           memcmp(out.data, full.data, out.len) == 0),
			      what);
			buf_free(&out);
		}
		buf_free(&full);
	}
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
	test_sections(cc);
	test_bounded(cc);
	charset_conv_free(&cc);
	return test_done();
}

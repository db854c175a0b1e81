/* SPDX-License-Identifier: MIT */
/*
 * test_subject.c - subject_normalise: full-width forms, whitespace folding,
 * reply/forward prefixes (SPEC §2), invalid input and the output limit.
 * Table-driven: each case is an input (with its length, so NUL bytes can
 * be tested) and the exact expected output.
 */
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "parser/subject.h"
#include "tests/harness.h"

struct norm_case {
	const char *in;
	size_t len; /* 0: strlen(in) */
	const char *want;
};

static const struct norm_case norm_cases[] = {
    /* the brief's example: mixed prefixes, full-width brackets */
    {"回复：RE: Fwd: 【紧急】【A123456】角色数据丢失需恢复", 0,
     "[紧急][A123456]角色数据丢失需恢复"},
    {"Re: [CM-20231105-001] 补充截图", 0, "[CM-20231105-001] 补充截图"},
    /* every prefix word, any case, ASCII or full-width colon */
    {"RE:RE:re: x", 0, "x"},
    {"Fwd: FW: Fw: fwd: FWD: x", 0, "x"},
    {"AW: aw: SV: Sv: x", 0, "x"},
    {"回复:答复：转发: 回复：退票申请", 0, "退票申请"},
    {"Re：Fwd：x", 0, "x"},
    {"ＲＥ：ｈｉ", 0, "hi"},
    /* counters and spaces before the colon */
    {"Re[2]: x", 0, "x"},
    {"Re(3): x", 0, "x"},
    {"RE [12] : x", 0, "x"},
    {"Re : x", 0, "x"},
    {"回复 ： x", 0, "x"},
    {"Re（2）： x", 0, "x"},
    {"Re:Re:Re:Re:Re:Re:Re:Re:Re:Re:Re:Re:Re:Re:Re:Re:Re:Re: deep", 0, "deep"},
    /* not prefixes */
    {"Rebate: x", 0, "Rebate: x"},
    {"Re x", 0, "Re x"},
    {"Re[]: x", 0, "Re[]: x"},
    {"Re[ab]: x", 0, "Re[ab]: x"},
    {"Re[1234567]: x", 0, "Re[1234567]: x"},
    {"x Re: y", 0, "x Re: y"},
    {"回复一下", 0, "回复一下"},
    /* only prefixes */
    {"Re:", 0, ""},
    {"Re: Fwd:", 0, ""},
    {"", 0, ""},
    {"   \t ", 0, ""},
    /* full-width forms (SPEC §2) */
    {"退票申请：订单号：SK-88123", 0, "退票申请:订单号:SK-88123"},
    {"关于【会员积分】的申诉（订单号：A1B2C3）", 0,
     "关于[会员积分]的申诉(订单号:A1B2C3)"},
    {"订单号１２３４５６", 0, "订单号123456"},
    {"order ＃99", 0, "order #99"},
    {"〔x〕〖y〗［z］【w】", 0, "[x][y][z][w]"},
    {"！～", 0, "!~"},
    {"ＡＢＣｘｙｚ", 0, "ABCxyz"},
    /* whitespace of every kind folds; ends are trimmed */
    {"  a \t\r\n b\xe3\x80\x80\xc2\xa0"
     "c  ",
     0, "a b c"},
    {"a\xe2\x80\x83\xe2\x80\xa8\xe2\x80\xafz", 0, "a z"},
    {"\xe3\x80\x80\xe3\x80\x80x\xe3\x80\x80", 0, "x"},
    /* controls count as whitespace; zero-width space and BOM vanish */
    {"a\0b", 3, "a b"},
    {"a\x01\x7f"
     "b",
     0, "a b"},
    {"\xef\xbb\xbf"
     "订\xe2\x80\x8b单号",
     0, "订单号"},
    /* invalid UTF-8 (outside the contract) becomes U+FFFD */
    {"a\xff"
     "b",
     0,
     "a\xef\xbf\xbd"
     "b"},
    {"\xe4\xb8", 0, "\xef\xbf\xbd\xef\xbf\xbd"},
    /* other scripts are untouched */
    {"Ünïcødé 日本語", 0, "Ünïcødé 日本語"},
};

/* test_table - every case of norm_cases */
static void
test_table(void)
{
	char what[64];
	struct buf b;
	size_t i, len;

	for (i = 0; i < sizeof(norm_cases) / sizeof(norm_cases[0]); i++) {
		(void)snprintf(what, sizeof(what), "case %zu", i);
		len = norm_cases[i].len != 0 ? norm_cases[i].len
		                             : strlen(norm_cases[i].in);
		buf_init(&b, 0);
		CHECK_INT(subject_normalise(norm_cases[i].in, len, &b), 0,
		          what);
		CHECK_STR(b.data == NULL ? "" : b.data, norm_cases[i].want,
		          what);
		CHECK_INT(b.len, strlen(norm_cases[i].want), what);
		buf_free(&b);
	}
}

/* test_append - the output is appended; what was there stays */
static void
test_append(void)
{
	struct buf b;

	buf_init(&b, 0);
	CHECK_INT(buf_append_str(&b, "Re: keep|"), 0, "append setup");
	CHECK_INT(subject_normalise("Re: x", 5, &b), 0, "append rc");
	CHECK_STR(b.data, "Re: keep|x", "append keeps earlier bytes");
	buf_free(&b);
}

/* test_limit - a refused append returns -1 and leaves out unchanged */
static void
test_limit(void)
{
	struct buf b;

	buf_init(&b, 6);
	CHECK_INT(buf_append_str(&b, "ab"), 0, "limit setup");
	CHECK_INT(subject_normalise("Re: hello world", 15, &b), -1, "limit rc");
	CHECK_STR(b.data, "ab", "limit leaves out unchanged");
	CHECK_INT(b.len, 2, "limit len");
	buf_free(&b);

	/* exactly at the limit, and one past it */
	buf_init(&b, 6);
	CHECK_INT(subject_normalise("  abcdef  ", 10, &b), 0, "at limit");
	CHECK_STR(b.data, "abcdef", "at limit text");
	buf_free(&b);
	buf_init(&b, 6);
	CHECK_INT(subject_normalise("abcdefg", 7, &b), -1, "one past limit");
	buf_free(&b);
}

/* test_long - a 2048-byte subject of full-width text folds to ASCII */
static void
test_long(void)
{
	char in[2048 + 1];
	struct buf b;
	size_t i;

	/* 682 x "０" (3 bytes) + "xy" = 2048 bytes */
	for (i = 0; i < 682; i++)
		memcpy(in + 3 * i, "\xef\xbc\x90", 3);
	memcpy(in + 2046, "xy", 2);
	in[2048] = '\0';
	buf_init(&b, 0);
	CHECK_INT(subject_normalise(in, 2048, &b), 0, "long rc");
	CHECK_INT(b.len, 684, "long len");
	CHECK(b.data != NULL && b.data[0] == '0' && b.data[681] == '0' &&
	          strcmp(b.data + 682, "xy") == 0,
	      "long text");
	buf_free(&b);
}

int
main(void)
{
	test_table();
	test_append();
	test_limit();
	test_long();
	return test_done();
}

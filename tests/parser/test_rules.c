/* SPDX-License-Identifier: MIT */
/*
 * test_rules.c - the subject rules (SPEC §3-§5) together with
 * subject_normalise: every documented example, full-width and reply forms,
 * order and screening numbers (subject and body), kinds, categories,
 * priorities, user patterns, bad patterns, PCRE2 limits, bounds, and the
 * interpreter path under a MemoryDenyWriteExecute-like seccomp filter.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pcre2.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "parser/limits.h"
#include "parser/rules.h"
#include "parser/subject.h"
#include "tests/harness.h"

/* A string literal and its length (NUL bytes included). */
#define L(s) (s), (sizeof(s) - 1)

/* Expected classification of one raw subject (normalised first). */
struct rcase {
	const char *subject;
	const char *body; /* NULL: none */
	const char *format;
	const char *ticket; /* NULL: none */
	const char *priority;
	const char *user_id; /* NULL: none */
	const char *orders;  /* comma-joined, "" for none */
	const char *screens; /* comma-joined, "" for none */
	const char *category;
	const char *kind; /* NULL: none */
	int is_review;
	const char *summary;
};

static const struct rcase spec_cases[] = {
    /* SPEC §3 table, in order */
    {"Re: [CM-20231105-001] 补充截图", NULL, "follow-up", "CM-20231105-001",
     "normal", NULL, "", "", "general", NULL, 0, "[CM-20231105-001] 补充截图"},
    {"[紧急][A123456]角色数据丢失需恢复", NULL, "urgent", NULL, "urgent",
     "A123456", "", "", "data_loss", NULL, 0, "角色数据丢失需恢复"},
    {"【加急】【A123456】账号被盗", NULL, "urgent", NULL, "urgent", "A123456",
     "", "", "account", NULL, 0, "账号被盗"},
    {"[urgent][A123456] complaint", NULL, "urgent", NULL, "urgent", "A123456",
     "", "", "general", NULL, 0, "complaint"},
    {"[Emergency] login broken", NULL, "urgent", NULL, "urgent", NULL, "", "",
     "account", NULL, 0, "login broken"},
    {"[URGENT] [user_01-x] help", NULL, "urgent", NULL, "urgent", "user_01-x",
     "", "", "general", NULL, 0, "help"},
    {"[紧急][A123456]", NULL, "urgent", NULL, "urgent", "A123456", "", "",
     "general", NULL, 0, "[紧急][A123456]"},
    {"退票申请:订单号123456", NULL, "refund", NULL, "normal", NULL, "123456",
     "", "ticketing_refund", NULL, 0, "退票申请:订单号123456"},
    {"退票申请：订单号：SK-88123", NULL, "refund", NULL, "normal", NULL,
     "SK-88123", "", "ticketing_refund", NULL, 0, "退票申请:订单号:SK-88123"},
    {"Refund request: order no. 123456", NULL, "refund", NULL, "normal", NULL,
     "123456", "", "ticketing_refund", NULL, 0,
     "Refund request: order no. 123456"},
    {"refund request: order #123456", NULL, "refund", NULL, "normal", NULL,
     "123456", "", "ticketing_refund", NULL, 0,
     "refund request: order #123456"},
    {"退票申请", NULL, "refund", NULL, "normal", NULL, "", "",
     "ticketing_refund", NULL, 0, "退票申请"},
    {"关于[票务]的咨询/申诉(订单号/场次号:884213)", NULL, "inquiry/appeal",
     NULL, "complaint", NULL, "884213", "", "ticketing_refund",
     "inquiry/appeal", 0, "关于[票务]的咨询/申诉(订单号/场次号:884213)"},
    {"关于【会员积分】的申诉（订单号：A1B2C3）", NULL, "inquiry/appeal", NULL,
     "complaint", NULL, "A1B2C3", "", "membership_points", "appeal", 0,
     "关于[会员积分]的申诉(订单号:A1B2C3)"},
    {"关于[放映]的咨询(场次号:20231105)", NULL, "inquiry/appeal", NULL,
     "normal", NULL, "", "20231105", "screening_seat", "inquiry", 0,
     "关于[放映]的咨询(场次号:20231105)"},
    {"关于 [账号] 的 咨询", NULL, "inquiry/appeal", NULL, "normal", NULL, "",
     "", "account", "inquiry", 0, "关于 [账号] 的 咨询"},
    {"Inquiry/appeal about [ticketing] (order no: 884213)", NULL,
     "inquiry/appeal", NULL, "complaint", NULL, "884213", "",
     "ticketing_refund", "inquiry/appeal", 0,
     "Inquiry/appeal about [ticketing] (order no: 884213)"},
    {"Appeal about [payment] (order number: 55667788)", NULL, "inquiry/appeal",
     NULL, "complaint", NULL, "55667788", "", "payment", "appeal", 0,
     "Appeal about [payment] (order number: 55667788)"},
    {"Inquiry regarding [seat] (screening no. 7788)", NULL, "inquiry/appeal",
     NULL, "normal", NULL, "", "7788", "screening_seat", "inquiry", 0,
     "Inquiry regarding [seat] (screening no. 7788)"},
    {"Enquiry about [会员]", NULL, "inquiry/appeal", NULL, "normal", NULL, "",
     "", "membership_points", "inquiry", 0, "Enquiry about [会员]"},
    {"复议:上次的处理结果", NULL, "review", NULL, "normal", NULL, "", "",
     "general", NULL, 1, "复议:上次的处理结果"},
    {"复核请求 [CM-20231105-001]", NULL, "follow-up", "CM-20231105-001",
     "normal", NULL, "", "", "general", NULL, 1, "复核请求 [CM-20231105-001]"},
    {"Review Request for my ban", NULL, "review", NULL, "normal", NULL, "", "",
     "general", NULL, 1, "Review Request for my ban"},
    {"hello there", NULL, "other", NULL, "normal", NULL, "", "", "general",
     NULL, 0, "hello there"},
    {"", NULL, "other", NULL, "normal", NULL, "", "", "general", NULL, 0, ""},

    /* reply prefixes and full-width forms, normalised first */
    {"回复：RE: Fwd: 【紧急】【A123456】角色数据丢失需恢复", NULL, "urgent",
     NULL, "urgent", "A123456", "", "", "data_loss", NULL, 0,
     "角色数据丢失需恢复"},
    {"Re: 退票申请：订单号：１２３４５６", NULL, "refund", NULL, "normal", NULL,
     "123456", "", "ticketing_refund", NULL, 0, "退票申请:订单号:123456"},
    {"转发：关于〔票务〕的咨询（订单编号：ＡＢ-７７８８）", NULL,
     "inquiry/appeal", NULL, "normal", NULL, "AB-7788", "", "ticketing_refund",
     "inquiry", 0, "关于[票务]的咨询(订单编号:AB-7788)"},
    {"ＲＥ： ［ＣＭ－２０２３１１０５－００２］　ｔｈａｎｋｓ", NULL,
     "follow-up", "CM-20231105-002", "normal", NULL, "", "", "general", NULL, 0,
     "[CM-20231105-002] thanks"},
    {"Fw: cm-20231105-003 more", NULL, "follow-up", "CM-20231105-003", "normal",
     NULL, "", "", "general", NULL, 0, "cm-20231105-003 more"},

    /* ticket id shape */
    {"CM-2023110-001 x", NULL, "other", NULL, "normal", NULL, "", "", "general",
     NULL, 0, "CM-2023110-001 x"},
    {"CM-20231105-01 x", NULL, "other", NULL, "normal", NULL, "", "", "general",
     NULL, 0, "CM-20231105-01 x"},
    {"XCM-20231105-001", NULL, "other", NULL, "normal", NULL, "", "", "general",
     NULL, 0, "XCM-20231105-001"},
    {"[CM-20231105-0012]", NULL, "follow-up", "CM-20231105-0012", "normal",
     NULL, "", "", "general", NULL, 0, "[CM-20231105-0012]"},

    /* order numbers: every label, several, duplicates, bounds */
    {"订单号:111111 订单号：222222 order no. 333333 order #444444 "
     "order id: AB-5555 订单编号 666666 Order Number 777777 订单号码8888",
     NULL, "other", NULL, "normal", NULL,
     "111111,222222,333333,444444,AB-5555,666666,777777,8888", "", "general",
     NULL, 0, NULL},
    {"订单号123456 订单号123456 ORDER NO.123456", NULL, "other", NULL, "normal",
     NULL, "123456", "", "general", NULL, 0, NULL},
    {"订单号:1234", NULL, "other", NULL, "normal", NULL, "1234", "", "general",
     NULL, 0, NULL},
    {"订单号:123", NULL, "other", NULL, "normal", NULL, "", "", "general", NULL,
     0, NULL},
    {"订单号:12345678901234567890123456789012", NULL, "other", NULL, "normal",
     NULL, "12345678901234567890123456789012", "", "general", NULL, 0, NULL},
    {"订单号:123456789012345678901234567890123", NULL, "other", NULL, "normal",
     NULL, "", "", "general", NULL, 0, NULL},
    {"订单号:ABCDEF order no. pending", NULL, "other", NULL, "normal", NULL, "",
     "", "general", NULL, 0, NULL},
    {"reorder no 12345 / order notes 12345", NULL, "other", NULL, "normal",
     NULL, "", "", "general", NULL, 0, NULL},
    {"订单号123456的问题", NULL, "other", NULL, "normal", NULL, "123456", "",
     "general", NULL, 0, NULL},
    {"订单号/场次号:5566 场次号/订单号:6677 场次号:7788 场次编号 8899", NULL,
     "other", NULL, "normal", NULL, "5566,6677", "7788,8899", "general", NULL,
     0, NULL},
    {"场次号:556677 的座位问题", NULL, "other", NULL, "normal", NULL, "",
     "556677", "screening_seat", NULL, 0, NULL},
    /* body only when the subject has none */
    {"咨询退款进度", "您好,订单号: 778899,\n另一个 order number 1234-5678。",
     "other", NULL, "normal", NULL, "778899,1234-5678", "", "ticketing_refund",
     NULL, 0, "咨询退款进度"},
    {"订单号123456", "订单号999999", "other", NULL, "normal", NULL, "123456",
     "", "general", NULL, 0, NULL},
    {"hello", "场次号 4455 and order id X9", "other", NULL, "normal", NULL, "",
     "4455", "general", NULL, 0, NULL},
    {"场次号 4455", "订单号 9876", "other", NULL, "normal", NULL, "9876",
     "4455", "general", NULL, 0, NULL},

    /* categories: every row of SPEC §4, from the subject and the body */
    {"我要改签", NULL, "other", NULL, "normal", NULL, "", "",
     "ticketing_refund", NULL, 0, NULL},
    {"问题", "购票失败", "other", NULL, "normal", NULL, "", "",
     "ticketing_refund", NULL, 0, NULL},
    {"Refund please", NULL, "other", NULL, "normal", NULL, "", "",
     "ticketing_refund", NULL, 0, NULL},
    {"影厅太冷", NULL, "other", NULL, "normal", NULL, "", "", "screening_seat",
     NULL, 0, NULL},
    {"问题", "座位坏了", "other", NULL, "normal", NULL, "", "",
     "screening_seat", NULL, 0, NULL},
    {"SEAT broken", NULL, "other", NULL, "normal", NULL, "", "",
     "screening_seat", NULL, 0, NULL},
    {"积分没了", NULL, "other", NULL, "normal", NULL, "", "",
     "membership_points", NULL, 0, NULL},
    {"问题", "会员到期", "other", NULL, "normal", NULL, "", "",
     "membership_points", NULL, 0, NULL},
    {"Points missing", NULL, "other", NULL, "normal", NULL, "", "",
     "membership_points", NULL, 0, NULL},
    {"商务合作", NULL, "other", NULL, "normal", NULL, "", "", "partnership_ads",
     NULL, 0, NULL},
    {"问题", "广告投放", "other", NULL, "normal", NULL, "", "",
     "partnership_ads", NULL, 0, NULL},
    {"音画不同步", NULL, "other", NULL, "normal", NULL, "", "",
     "equipment_service", NULL, 0, NULL},
    {"问题", "服务质量差", "other", NULL, "normal", NULL, "", "",
     "equipment_service", NULL, 0, NULL},
    {"无法登录", NULL, "other", NULL, "normal", NULL, "", "", "account", NULL,
     0, NULL},
    {"问题", "密码忘了", "other", NULL, "normal", NULL, "", "", "account", NULL,
     0, NULL},
    {"Login fails", NULL, "other", NULL, "normal", NULL, "", "", "account",
     NULL, 0, NULL},
    {"充值未到账", NULL, "other", NULL, "normal", NULL, "", "", "payment", NULL,
     0, NULL},
    {"问题", "支付失败", "other", NULL, "normal", NULL, "", "", "payment", NULL,
     0, NULL},
    {"PAYMENT failed", NULL, "other", NULL, "normal", NULL, "", "", "payment",
     NULL, 0, NULL},
    {"审核太慢", NULL, "other", NULL, "normal", NULL, "", "", "content_review",
     NULL, 0, NULL},
    {"问题", "版权问题", "other", NULL, "normal", NULL, "", "",
     "content_review", NULL, 0, NULL},
    {"进度丢失", NULL, "other", NULL, "normal", NULL, "", "", "data_loss", NULL,
     0, NULL},
    {"问题", "数据丢失了", "other", NULL, "normal", NULL, "", "", "data_loss",
     NULL, 0, NULL},
    {"hello", "nothing here", "other", NULL, "normal", NULL, "", "", "general",
     NULL, 0, NULL},
    /* first rule in table order wins, wherever the keywords are */
    {"无法登录 要退款", NULL, "other", NULL, "normal", NULL, "", "",
     "ticketing_refund", NULL, 0, NULL},
    /* the subject beats the body */
    {"积分问题", "我要退款", "other", NULL, "normal", NULL, "", "",
     "membership_points", NULL, 0, NULL},
    /* a bracket that names no keyword falls back to the subject */
    {"关于[其他]的咨询 充值", NULL, "inquiry/appeal", NULL, "normal", NULL, "",
     "", "payment", "inquiry", 0, NULL},
    /* the bracket wins over the rest of the subject */
    {"关于[会员]的咨询 退款", NULL, "inquiry/appeal", NULL, "normal", NULL, "",
     "", "membership_points", "inquiry", 0, NULL},

    /* priority */
    {"投诉:服务态度差", NULL, "other", NULL, "complaint", NULL, "", "",
     "general", NULL, 0, NULL},
    {"Complaint about staff", NULL, "other", NULL, "complaint", NULL, "", "",
     "general", NULL, 0, NULL},
    {"APPEAL: ban", NULL, "other", NULL, "complaint", NULL, "", "", "general",
     NULL, 0, NULL},
    {"申诉 账号封禁", NULL, "other", NULL, "complaint", NULL, "", "", "account",
     NULL, 0, NULL},
    {"[紧急] 投诉", NULL, "urgent", NULL, "urgent", NULL, "", "", "general",
     NULL, 0, "投诉"},
    {"紧急 but not the format", NULL, "other", NULL, "normal", NULL, "", "",
     "general", NULL, 0, NULL},
    {"hello", "投诉 in the body only", "other", NULL, "normal", NULL, "", "",
     "general", NULL, 0, NULL},

    /* user_id bounds: 3 and 32 ok, 2 and 33 stay in the summary */
    {"[urgent][abc] x", NULL, "urgent", NULL, "urgent", "abc", "", "",
     "general", NULL, 0, "x"},
    {"[urgent][abcdefghijklmnopqrstuvwxyz012345] x", NULL, "urgent", NULL,
     "urgent", "abcdefghijklmnopqrstuvwxyz012345", "", "", "general", NULL, 0,
     "x"},
    {"[urgent][ab] x", NULL, "urgent", NULL, "urgent", NULL, "", "", "general",
     NULL, 0, "[ab] x"},
    {"[urgent][abcdefghijklmnopqrstuvwxyz0123456] x", NULL, "urgent", NULL,
     "urgent", NULL, "", "", "general", NULL, 0,
     "[abcdefghijklmnopqrstuvwxyz0123456] x"},
    /* U+212A KELVIN SIGN is not an ASCII K, even caselessly */
    {"[urgent][\xe2\x84\xaa"
     "12345] x",
     NULL, "urgent", NULL, "urgent", NULL, "", "", "general", NULL, 0,
     "[\xe2\x84\xaa"
     "12345] x"},
};

/* join - the strings of l, comma-separated, into out */
static const char *
join(const struct strlist *l, char *out, size_t outlen)
{
	size_t i, n = 0, k;

	out[0] = '\0';
	for (i = 0; i < l->n; i++) {
		k = strlen(l->v[i]);
		if (n + k + 2 > outlen)
			break;
		if (i > 0)
			out[n++] = ',';
		memcpy(out + n, l->v[i], k + 1);
		n += k;
	}
	return out;
}

/* classify - normalise raw, then match it with body */
static int
classify(const struct rules *r, struct rules_scratch *sc, const char *raw,
         size_t raw_len, const char *body, size_t body_len,
         struct rules_match *m)
{
	struct buf b;
	int rc;

	buf_init(&b, 0);
	if (subject_normalise(raw, raw_len, &b) != 0) {
		buf_free(&b);
		return -1;
	}
	rc = rules_match_subject(r, sc, b.data == NULL ? "" : b.data, b.len,
	                         body, body_len, m);
	buf_free(&b);
	return rc;
}

/* check_case - classify one case and compare every field */
static void
check_case(const struct rules *r, struct rules_scratch *sc,
           const struct rcase *c, size_t idx)
{
	struct rules_match m;
	char what[96], list[1024];

	(void)snprintf(what, sizeof(what), "case %zu (%.40s)", idx, c->subject);
	if (!CHECK_INT(classify(r, sc, c->subject, strlen(c->subject), c->body,
	                        c->body == NULL ? 0 : strlen(c->body), &m),
	               RULES_OK, what))
		return;
	CHECK_STR(m.format, c->format, what);
	CHECK_STR(m.ticket_id, c->ticket, what);
	CHECK_STR(m.priority, c->priority, what);
	CHECK_STR(m.user_id, c->user_id, what);
	CHECK_STR(join(&m.order_numbers, list, sizeof(list)), c->orders, what);
	CHECK_STR(join(&m.screening_numbers, list, sizeof(list)), c->screens,
	          what);
	CHECK_STR(m.category, c->category, what);
	CHECK_STR(m.kind, c->kind, what);
	CHECK_INT(m.is_review, c->is_review, what);
	if (c->summary != NULL)
		CHECK_STR(m.summary, c->summary, what);
	else
		CHECK(m.summary != NULL && m.summary[0] != '\0', what);
	CHECK_INT(m.limit_hit, 0, what);
	rules_match_clear(&m);
	CHECK(m.format == NULL && m.summary == NULL, what);
}

/* new_rules - rules and scratch for s, or fail the test */
static int
new_rules(const struct rules_settings *s, struct rules **r,
          struct rules_scratch **sc)
{
	char err[256];

	*r = NULL;
	*sc = NULL;
	if (!CHECK_INT(rules_new(s, r, err, sizeof(err)), RULES_OK, err))
		return -1;
	*sc = rules_scratch_new(*r);
	if (!CHECK(*sc != NULL, "scratch")) {
		rules_free(r);
		return -1;
	}
	return 0;
}

/* test_spec - the table with the default settings (and NULL settings) */
static void
test_spec(const struct rules_settings *s)
{
	struct rules_scratch *sc;
	struct rules *r;
	size_t i;

	if (new_rules(s, &r, &sc) != 0)
		return;
	for (i = 0; i < sizeof(spec_cases) / sizeof(spec_cases[0]); i++)
		check_case(r, sc, &spec_cases[i], i);
	rules_scratch_free(&sc);
	rules_free(&r);
	CHECK(r == NULL && sc == NULL, "free sets NULL");
}

/* test_numbers_max - at most PARSER_NUMBERS_MAX numbers, in order */
static void
test_numbers_max(void)
{
	struct rules_scratch *sc;
	struct rules_match m;
	struct rules *r;
	struct buf b;
	size_t i;

	if (new_rules(NULL, &r, &sc) != 0)
		return;
	buf_init(&b, 0);
	for (i = 0; i < PARSER_NUMBERS_MAX + 4; i++)
		CHECK_INT(buf_printf(&b, "订单号%zu ", 100000 + i), 0, "setup");
	CHECK_INT(classify(r, sc, b.data, b.len, NULL, 0, &m), RULES_OK,
	          "max rc");
	CHECK_INT(m.order_numbers.n, PARSER_NUMBERS_MAX, "max count");
	CHECK_STR(m.order_numbers.v[0], "100000", "max first");
	CHECK_STR(m.order_numbers.v[PARSER_NUMBERS_MAX - 1], "100015",
	          "max last");
	rules_match_clear(&m);

	/* the same from the body; and the body does not fill past it */
	CHECK_INT(classify(r, sc, "hello", 5, b.data, b.len, &m), RULES_OK,
	          "max body rc");
	CHECK_INT(m.order_numbers.n, PARSER_NUMBERS_MAX, "max body count");
	rules_match_clear(&m);
	buf_free(&b);
	rules_scratch_free(&sc);
	rules_free(&r);
}

/*
 * make_body - valid UTF-8 of exactly n bytes: lead ASCII 'x' bytes, then
 * "中" up to offset at, then mid, then "中" and spaces to the end.
 */
static char *
make_body(size_t n, size_t lead, size_t at, const char *mid)
{
	size_t i = 0, k = strlen(mid);
	char *b = malloc(n);

	if (b == NULL)
		return NULL;
	for (; i < lead; i++)
		b[i] = 'x';
	for (; i + 3 <= at; i += 3)
		memcpy(b + i, "中", 3);
	memcpy(b + i, mid, k);
	for (i += k; i + 3 <= n; i += 3)
		memcpy(b + i, "中", 3);
	for (; i < n; i++)
		b[i] = ' ';
	return b;
}

/* test_body_bound - only PARSER_BODY_SCAN_MAX bytes of body are read */
static void
test_body_bound(void)
{
	static const char label[] = "订单号:123456"; /* 16 bytes */
	const size_t max = PARSER_BODY_SCAN_MAX, n = max + 64;
	struct rules_scratch *sc;
	struct rules_match m;
	struct rules *r;
	char *body;

	if (new_rules(NULL, &r, &sc) != 0)
		return;
	/* the label ends exactly at the bound (max - 16 is 3k, and the
	   bound falls on a character boundary): found */
	body = make_body(n, (max - 16) % 3, max - 16, label);
	if (CHECK(body != NULL, "malloc") &&
	    CHECK_INT(classify(r, sc, "x", 1, body, n, &m), RULES_OK, "b1")) {
		CHECK_STR(join(&m.order_numbers, (char[64]){0}, 64), "123456",
		          "label inside the bound");
		CHECK_INT(m.limit_hit, 0, "no limit hit on 64 KiB");
		CHECK_STR(m.category, "general", "no keyword in the filler");
		rules_match_clear(&m);
	}
	free(body);

	/* the bound cuts the value to "123": too short, not found */
	body = make_body(n, (max - 13) % 3, max - 13, label);
	if (CHECK(body != NULL, "malloc") &&
	    CHECK_INT(classify(r, sc, "x", 1, body, n, &m), RULES_OK, "b2")) {
		CHECK_INT(m.order_numbers.n, 0, "value cut by the bound");
		rules_match_clear(&m);
	}
	free(body);

	/* the bound falls inside a character of the label */
	body = make_body(n, (max - 7) % 3, max - 7, label);
	if (CHECK(body != NULL, "malloc") &&
	    CHECK_INT(classify(r, sc, "x", 1, body, n, &m), RULES_OK, "b3")) {
		CHECK_INT(m.order_numbers.n, 0, "label cut by the bound");
		rules_match_clear(&m);
	}
	free(body);

	/* a keyword past the bound is not seen either */
	body = make_body(n, (n - 10) % 3, n - 10, "退款");
	if (CHECK(body != NULL, "malloc") &&
	    CHECK_INT(classify(r, sc, "x", 1, body, n, &m), RULES_OK, "b4")) {
		CHECK_STR(m.category, "general", "keyword past the bound");
		rules_match_clear(&m);
	}
	free(body);
	body = make_body(n, (max - 6) % 3, max - 6, "退款");
	if (CHECK(body != NULL, "malloc") &&
	    CHECK_INT(classify(r, sc, "x", 1, body, n, &m), RULES_OK, "b5")) {
		CHECK_STR(m.category, "ticketing_refund",
		          "keyword at the bound");
		rules_match_clear(&m);
	}
	free(body);
	rules_scratch_free(&sc);
	rules_free(&r);
}

/* test_long_subject - 2048-byte subjects: no limit hit, right result */
static void
test_long_subject(void)
{
	struct rules_scratch *sc;
	struct rules_match m;
	struct rules *r;
	char s[4096];
	size_t i;

	if (new_rules(NULL, &r, &sc) != 0)
		return;
	memset(s, 'a', 2048);
	CHECK_INT(classify(r, sc, s, 2048, NULL, 0, &m), RULES_OK, "long a");
	CHECK_STR(m.format, "other", "long a format");
	CHECK_INT(strlen(m.summary), 2048, "long a summary");
	CHECK_INT(m.limit_hit, 0, "long a limits");
	rules_match_clear(&m);

	memcpy(s, "[紧急][A123456]", 17);
	for (i = 17; i + 3 <= 2048; i += 3)
		memcpy(s + i, "丢", 3);
	CHECK_INT(classify(r, sc, s, i, NULL, 0, &m), RULES_OK, "long urgent");
	CHECK_STR(m.format, "urgent", "long urgent format");
	CHECK_STR(m.user_id, "A123456", "long urgent user");
	CHECK_INT(strlen(m.summary), i - 17, "long urgent summary");
	CHECK_INT(m.limit_hit, 0, "long urgent limits");
	rules_match_clear(&m);

	/* many labels without values, and '[' without ']' */
	for (i = 0; i + 17 <= 2048; i += 17)
		memcpy(s + i, "关于[订单号:", 17);
	CHECK_INT(classify(r, sc, s, i, NULL, 0, &m), RULES_OK, "long labels");
	CHECK_INT(m.order_numbers.n, 0, "long labels numbers");
	CHECK_INT(m.limit_hit, 0, "long labels limits");
	rules_match_clear(&m);

	/* longer than PARSER_SUBJECT_MAX: cut on a character boundary */
	for (i = 0; i + 3 <= sizeof(s); i += 3)
		memcpy(s + i, "长", 3);
	CHECK_INT(rules_match_subject(r, sc, s, i, NULL, 0, &m), RULES_OK,
	          "too long");
	CHECK(strlen(m.summary) <= PARSER_SUBJECT_MAX &&
	          strlen(m.summary) % 3 == 0,
	      "too long: cut on a boundary");
	rules_match_clear(&m);
	rules_scratch_free(&sc);
	rules_free(&r);
}

/* test_user_patterns - user patterns first, then the built-ins */
static void
test_user_patterns(void)
{
	static const struct rules_pattern pats[] = {
	    {"vip", "^VIP-(?<user_id>[0-9]+)\\s*(?<summary>.*)$"},
	    {"my-refund", "^退票申请"},
	    {"ticket-hash", "^T#(?<ticket_id>[0-9]+)"},
	    {"bang", "^!(?<priority>[^!]+)!\\s*(?<summary>.*)$"},
	    {"catgroup", "^cat=(?<category>\\S+)"},
	    {"kindgroup", "^kind=(?<kind>\\S+)"},
	    {"numbers", "^N (?<order_no>\\S+) S (?<screening_no>\\S+)"},
	    {"addendum", "(?<summary>补充.*)$"},
	};
	static const struct {
		const char *subject, *format, *field, *want;
	} cases[] = {
	    {"VIP-12345 退款问题", "vip", "user_id", "12345"},
	    {"VIP-12345 退款问题", "vip", "summary", "退款问题"},
	    {"VIP-12345 退款问题", "vip", "category", "ticketing_refund"},
	    /* before the built-in refund: no refund category from the
	       format, but the keyword still gives it */
	    {"退票申请:订单号123456", "my-refund", "category",
	     "ticketing_refund"},
	    {"退票申请:订单号123456", "my-refund", "orders", "123456"},
	    {"T#42 hi", "ticket-hash", "ticket_id", "42"},
	    {"!urgent! boom", "bang", "priority", "urgent"},
	    {"!紧急! boom", "bang", "priority", "urgent"},
	    {"!加急! boom", "bang", "priority", "urgent"},
	    {"!Emergency! boom", "bang", "priority", "urgent"},
	    {"!complaint! boom", "bang", "priority", "complaint"},
	    {"!low! boom", "bang", "priority", "normal"},
	    {"!low! boom", "bang", "summary", "boom"},
	    {"cat=payment x", "catgroup", "category", "payment"},
	    {"cat=Account x", "catgroup", "category", "account"},
	    {"cat=data x", "catgroup", "category", "data_loss"},
	    {"cat=退款 x", "catgroup", "category", "ticketing_refund"},
	    {"cat=nothing x", "catgroup", "category", "general"},
	    {"kind=申诉/咨询", "kindgroup", "kind", "inquiry/appeal"},
	    {"kind=Appeal", "kindgroup", "kind", "appeal"},
	    {"kind=Appeal", "kindgroup", "priority", "complaint"},
	    {"kind=what", "kindgroup", "kind", NULL},
	    {"N A-1 S B-2", "numbers", "orders", "A-1"},
	    {"N A-1 S B-2", "numbers", "screens", "B-2"},
	    /* a user pattern before follow-up: the ticket id is still found */
	    {"Re: [CM-20231105-001] 补充截图", "addendum", "ticket_id",
	     "CM-20231105-001"},
	    {"Re: [CM-20231105-001] 补充截图", "addendum", "summary",
	     "补充截图"},
	    /* nothing of theirs matches: the built-ins run */
	    {"[紧急][A123456]x", "urgent", "user_id", "A123456"},
	};
	struct rules_settings s = {0};
	struct rules_scratch *sc;
	struct rules_match m;
	struct rules *r;
	const char *got;
	char what[96], list[256];
	size_t i;

	s.patterns = pats;
	s.n_patterns = sizeof(pats) / sizeof(pats[0]);
	if (new_rules(&s, &r, &sc) != 0)
		return;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		(void)snprintf(what, sizeof(what), "user case %zu %s", i,
		               cases[i].field);
		if (!CHECK_INT(classify(r, sc, cases[i].subject,
		                        strlen(cases[i].subject), NULL, 0, &m),
		               RULES_OK, what))
			continue;
		CHECK_STR(m.format, cases[i].format, what);
		if (strcmp(cases[i].field, "user_id") == 0)
			got = m.user_id;
		else if (strcmp(cases[i].field, "summary") == 0)
			got = m.summary;
		else if (strcmp(cases[i].field, "category") == 0)
			got = m.category;
		else if (strcmp(cases[i].field, "ticket_id") == 0)
			got = m.ticket_id;
		else if (strcmp(cases[i].field, "priority") == 0)
			got = m.priority;
		else if (strcmp(cases[i].field, "kind") == 0)
			got = m.kind;
		else if (strcmp(cases[i].field, "orders") == 0)
			got = join(&m.order_numbers, list, sizeof(list));
		else
			got = join(&m.screening_numbers, list, sizeof(list));
		CHECK_STR(got, cases[i].want, what);
		rules_match_clear(&m);
	}
	rules_scratch_free(&sc);
	rules_free(&r);
}

/* test_no_builtins - only the user patterns; the scans still run */
static void
test_no_builtins(void)
{
	static const struct rules_pattern pats[] = {
	    {"vip", "^VIP-(?<user_id>[0-9]+)"},
	};
	struct rules_settings s = {0};
	struct rules_scratch *sc;
	struct rules_match m;
	struct rules *r;

	s.patterns = pats;
	s.n_patterns = 1;
	s.no_builtins = true;
	if (new_rules(&s, &r, &sc) != 0)
		return;
	CHECK_INT(classify(r, sc, L("[紧急][A123456]x"), NULL, 0, &m), RULES_OK,
	          "nb urgent");
	CHECK_STR(m.format, "other", "nb: urgent is not a format");
	CHECK_STR(m.priority, "normal", "nb: not urgent");
	CHECK_STR(m.user_id, NULL, "nb: no user id");
	rules_match_clear(&m);
	CHECK_INT(classify(r, sc, L("[CM-20231105-001] 复核 订单号 123456"),
	                   NULL, 0, &m),
	          RULES_OK, "nb follow-up");
	CHECK_STR(m.format, "other", "nb: follow-up is not a format");
	CHECK_STR(m.ticket_id, "CM-20231105-001", "nb: ticket id found");
	CHECK_INT(m.is_review, 1, "nb: review found");
	CHECK_STR(join(&m.order_numbers, (char[64]){0}, 64), "123456",
	          "nb: numbers found");
	rules_match_clear(&m);
	CHECK_INT(classify(r, sc, "VIP-7 x", 7, NULL, 0, &m), RULES_OK,
	          "nb vip");
	CHECK_STR(m.format, "vip", "nb: user pattern");
	rules_match_clear(&m);
	rules_scratch_free(&sc);
	rules_free(&r);

	/* no patterns at all */
	s.n_patterns = 0;
	if (new_rules(&s, &r, &sc) != 0)
		return;
	CHECK_INT(classify(r, sc, "VIP-7 x", 7, NULL, 0, &m), RULES_OK,
	          "nb none");
	CHECK_STR(m.format, "other", "nb none: other");
	rules_match_clear(&m);
	rules_scratch_free(&sc);
	rules_free(&r);
}

/* test_bad_patterns - RULES_BAD_PATTERN, err names it, *r untouched */
static void
test_bad_patterns(void)
{
	static const struct rules_pattern bad[] = {
	    {"good", "^a"},
	    {"broken", "(unclosed"},
	};
	static const struct rules_pattern noname[] = {
	    {NULL, "^a"},
	};
	static const struct rules_pattern backslash_c[] = {
	    {"bytes", "a\\Cb"},
	};
	static const struct rules_pattern evil_name[] = {
	    {"x\ny", "("},
	};
	static const struct rules_category nocat[] = {
	    {NULL, "a"},
	};
	struct rules_settings s = {0};
	struct rules *r, *sentinel = (struct rules *)&s;
	char err[128], tiny[12];

	s.patterns = bad;
	s.n_patterns = 2;
	r = sentinel;
	err[0] = '\0';
	CHECK_INT(rules_new(&s, &r, err, sizeof(err)), RULES_BAD_PATTERN,
	          "bad rc");
	CHECK(r == sentinel, "bad: *rules_r untouched");
	CHECK(strncmp(err, "pattern broken: ", 16) == 0, err);
	CHECK(strstr(err, " at offset 9") != NULL, err);

	s.patterns = noname;
	s.n_patterns = 1;
	CHECK_INT(rules_new(&s, &r, err, sizeof(err)), RULES_BAD_PATTERN,
	          "noname rc");
	CHECK(strstr(err, "pattern #1") != NULL, err);

	s.patterns = backslash_c;
	CHECK_INT(rules_new(&s, &r, err, sizeof(err)), RULES_BAD_PATTERN,
	          "\\C refused");
	CHECK(strncmp(err, "pattern bytes: ", 15) == 0, err);

	/* the message is one line, and a short err is cut safely */
	s.patterns = evil_name;
	CHECK_INT(rules_new(&s, &r, err, sizeof(err)), RULES_BAD_PATTERN,
	          "evil rc");
	CHECK(strchr(err, '\n') == NULL && strncmp(err, "pattern x?y", 11) == 0,
	      err);
	CHECK_INT(rules_new(&s, &r, tiny, sizeof(tiny)), RULES_BAD_PATTERN,
	          "tiny rc");
	CHECK_INT(strlen(tiny), sizeof(tiny) - 1, "tiny err cut");
	CHECK_INT(rules_new(&s, &r, NULL, 0), RULES_BAD_PATTERN, "no err");

	s.patterns = NULL;
	s.n_patterns = 0;
	s.categories = nocat;
	s.n_categories = 1;
	CHECK_INT(rules_new(&s, &r, err, sizeof(err)), RULES_BAD_PATTERN,
	          "nocat rc");
	CHECK(strstr(err, "category #1") != NULL, err);
	CHECK(r == sentinel, "still untouched");

	rules_free(NULL);
	r = NULL;
	rules_free(&r);
	rules_scratch_free(NULL);
	rules_match_clear(&(struct rules_match){0});
}

/* test_redos - a catastrophic user pattern hits the limit, no hang */
static void
test_redos(unsigned long match_limit, size_t n_a)
{
	static const struct rules_pattern pats[] = {
	    {"redos", "^(a+)+$"},
	};
	struct rules_settings s = {0};
	struct rules_scratch *sc;
	struct rules_match m;
	struct rules *r;
	char subj[2048 + 1];
	char what[64];

	(void)snprintf(what, sizeof(what), "redos %zu limit %lu", n_a,
	               match_limit);
	s.patterns = pats;
	s.n_patterns = 1;
	s.match_limit = match_limit;
	if (new_rules(&s, &r, &sc) != 0)
		return;
	memset(subj, 'a', n_a);
	subj[n_a] = '!';
	if (CHECK_INT(rules_match_subject(r, sc, subj, n_a + 1, NULL, 0, &m),
	              RULES_OK, what)) {
		CHECK_INT(m.limit_hit, 1, what);
		CHECK_STR(m.format, "other", what);
		CHECK_INT(strlen(m.summary), n_a + 1, what);
		rules_match_clear(&m);
	}
	/* the scratch is fine afterwards */
	CHECK_INT(classify(r, sc, "aaaa", 4, NULL, 0, &m), RULES_OK, what);
	CHECK_STR(m.format, "redos", what);
	CHECK_INT(m.limit_hit, 0, what);
	rules_match_clear(&m);
	rules_scratch_free(&sc);
	rules_free(&r);
}

/* test_prefix - a configured ticket prefix is quoted and canonical */
static void
test_prefix(void)
{
	static const struct {
		const char *subject, *want;
	} cases[] = {
	    {"[T.K-20240101-0001] x", "T.K-20240101-0001"},
	    {"t.k-20240101-001", "T.K-20240101-001"},
	    {"TXK-20240101-001", NULL},
	    {"CM-20240101-001", NULL},
	};
	struct rules_settings s = {0};
	struct rules_scratch *sc;
	struct rules_match m;
	struct rules *r;
	char long_prefix[80], err[128];
	size_t i;

	s.ticket_prefix = "T.K";
	if (new_rules(&s, &r, &sc) != 0)
		return;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!CHECK_INT(classify(r, sc, cases[i].subject,
		                        strlen(cases[i].subject), NULL, 0, &m),
		               RULES_OK, cases[i].subject))
			continue;
		CHECK_STR(m.ticket_id, cases[i].want, cases[i].subject);
		CHECK_STR(m.format,
		          cases[i].want != NULL ? "follow-up" : "other",
		          cases[i].subject);
		rules_match_clear(&m);
	}
	rules_scratch_free(&sc);
	rules_free(&r);

	memset(long_prefix, 'P', sizeof(long_prefix) - 1);
	long_prefix[sizeof(long_prefix) - 1] = '\0';
	s.ticket_prefix = long_prefix;
	r = NULL;
	CHECK_INT(rules_new(&s, &r, err, sizeof(err)), RULES_BAD_PATTERN,
	          "long prefix");
	CHECK(r == NULL && strstr(err, "too long") != NULL, err);
}

/* test_categories - a configured table replaces the built-in one */
static void
test_categories(void)
{
	static const struct rules_category cats[] = {
	    {"vip", " VIP , 贵宾 ,,"},
	    {"billing", "invoice，发票"},
	    {"empty", NULL},
	};
	static const struct {
		const char *subject, *body, *want;
	} cases[] = {
	    {"贵宾问题", NULL, "vip"},
	    {"I am a vip", NULL, "vip"},
	    {"Invoice missing", NULL, "billing"},
	    {"x", "需要发票", "billing"},
	    {"我要退款", NULL, "general"},
	    {"关于[发票]的咨询", NULL, "billing"},
	    {"关于[Billing]的咨询", NULL, "billing"},
	    /* the refund format always gives ticketing_refund */
	    {"退票申请:订单号123456", NULL, "ticketing_refund"},
	};
	struct rules_settings s = {0};
	struct rules_scratch *sc;
	struct rules_match m;
	struct rules *r;
	size_t i;

	s.categories = cats;
	s.n_categories = sizeof(cats) / sizeof(cats[0]);
	if (new_rules(&s, &r, &sc) != 0)
		return;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!CHECK_INT(classify(r, sc, cases[i].subject,
		                        strlen(cases[i].subject), cases[i].body,
		                        cases[i].body == NULL
		                            ? 0
		                            : strlen(cases[i].body),
		                        &m),
		               RULES_OK, cases[i].subject))
			continue;
		CHECK_STR(m.category, cases[i].want, cases[i].subject);
		rules_match_clear(&m);
	}
	rules_scratch_free(&sc);
	rules_free(&r);
}

/* test_invalid_utf8 - outside the contract, but handled safely */
static void
test_invalid_utf8(void)
{
	struct rules_scratch *sc;
	struct rules_match m;
	struct rules *r;

	if (new_rules(NULL, &r, &sc) != 0)
		return;
	CHECK_INT(rules_match_subject(r, sc, L("订单号123456 \xff"),
	                              L("\xfe 订单号 999999"), &m),
	          RULES_OK, "bad utf8");
	CHECK_STR(join(&m.order_numbers, (char[64]){0}, 64), "123456",
	          "bad utf8 numbers");
	CHECK(m.summary != NULL && strstr(m.summary, "\xef\xbf\xbd") != NULL,
	      "bad utf8 summary sanitised");
	rules_match_clear(&m);
	CHECK_INT(
	    rules_match_subject(r, sc, L("\xff"), L("\xfe 订单号 999999"), &m),
	    RULES_OK, "bad utf8 body");
	CHECK_STR(join(&m.order_numbers, (char[64]){0}, 64), "999999",
	          "bad utf8 body numbers");
	rules_match_clear(&m);
	/* embedded NUL in the body does not stop the scan */
	CHECK_INT(rules_match_subject(r, sc, L("x"), L("a\0订单号 999999"), &m),
	          RULES_OK, "nul body");
	CHECK_STR(join(&m.order_numbers, (char[64]){0}, 64), "999999",
	          "nul body numbers");
	rules_match_clear(&m);
	rules_scratch_free(&sc);
	rules_free(&r);
}

/* test_help - the help text is there and bilingual */
static void
test_help(void)
{
	const char *h = rules_formats_help();

	CHECK(h != NULL && h == rules_formats_help(), "help static");
	CHECK(strstr(h, "[紧急][A123456]") != NULL, "help zh urgent");
	CHECK(strstr(h, "Refund request: order no.") != NULL, "help en refund");
	CHECK(strstr(h, "关于[问题类型]的咨询/申诉(订单号/场次号:xxxx)") !=
	          NULL,
	      "help zh inquiry");
	CHECK(strstr(h, "Inquiry/appeal about [") != NULL, "help en inquiry");
	CHECK(strstr(h, "复核") != NULL, "help review");
}

/*
 * mdwe_filter - refuse, as systemd's MemoryDenyWriteExecute= does, mmap
 * with PROT_WRITE|PROT_EXEC and mprotect/pkey_mprotect adding PROT_EXEC.
 */
static int
mdwe_filter(void)
{
	struct sock_filter f[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	             offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mmap, 0, 3),
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	             offsetof(struct seccomp_data, args[2])),
	    BPF_STMT(BPF_ALU | BPF_AND | BPF_K, PROT_WRITE | PROT_EXEC),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PROT_WRITE | PROT_EXEC, 4, 5),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mprotect, 1, 0),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_pkey_mprotect, 0, 3),
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	             offsetof(struct seccomp_data, args[2])),
	    BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, PROT_EXEC, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {(unsigned short)(sizeof(f) / sizeof(f[0])),
	                          f};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
}

/*
 * interpreter_child - runs in a fresh process (exec'd, so no JIT memory
 * is inherited, and not traced by valgrind, which itself needs W+X
 * memory): under the W^X filter JIT compilation fails, rules_new must
 * fall back silently and match the same way, and the interpreter's
 * limits must stop the ReDoS pattern.  Exit status 0 when all passed.
 */
static int
interpreter_child(void)
{
	pcre2_code *code;
	PCRE2_SIZE off;
	int errc;

	if (!CHECK_INT(mdwe_filter(), 0, "seccomp filter"))
		return 2;
	/* prove the filter works: JIT cannot get W+X memory */
	code = pcre2_compile((PCRE2_SPTR) "a+", PCRE2_ZERO_TERMINATED,
	                     PCRE2_UTF, &errc, &off, NULL);
	CHECK(code != NULL, "compile");
	CHECK(pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) != 0,
	      "JIT refused under the filter");
	pcre2_code_free(code);
	test_spec(NULL);
	test_redos(0, 40);
	test_redos(0, 2047);
	test_user_patterns();
	test_body_bound();
	test_long_subject();
	return test_failed == 0 ? 0 : 1;
}

/* test_interpreter - run interpreter_child in a new process */
static void
test_interpreter(const char *self)
{
	int status;
	pid_t pid;

	(void)fflush(stdout);
	(void)fflush(stderr);
	pid = fork();
	if (!CHECK(pid >= 0, "fork"))
		return;
	if (pid == 0) {
		execl(self, self, "--interpreter-child", (char *)NULL);
		_exit(127);
	}
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "interpreter run passed (its failures are printed above)");
}

int
main(int argc, char **argv)
{
	struct rules_settings s = {0};

	if (argc == 2 && strcmp(argv[1], "--interpreter-child") == 0)
		return interpreter_child();
	test_interpreter(argv[0]);
	test_spec(NULL);
	test_spec(&s);
	test_numbers_max();
	test_body_bound();
	test_long_subject();
	test_user_patterns();
	test_no_builtins();
	test_bad_patterns();
	test_redos(0, 40);
	test_redos(0, 2047);
	test_redos(1000, 25);
	test_prefix();
	test_categories();
	test_invalid_utf8();
	test_help();
	return test_done();
}

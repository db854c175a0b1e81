/* SPDX-License-Identifier: MIT */
/*
 * rules.c - subject formats (SPEC §3), categories and priorities (§4) and
 * the order number scan (§5).  Every pattern is compiled once, with JIT
 * when the platform allows it (the interpreter otherwise, silently, e.g.
 * under MemoryDenyWriteExecute), and matched through the scratch's match
 * context with match, depth and heap limits.  Category keywords are plain
 * ASCII-caseless substrings, searched in a lower-cased copy of the text.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/utf8.h"
#include "parser/limits.h"
#include "parser/rules.h"

#define RULES_COMPILE_FLAGS                                                    \
	(PCRE2_UTF | PCRE2_UCP | PCRE2_CASELESS | PCRE2_NEVER_BACKSLASH_C)

/* Longest ticket prefix accepted (the config allows far less). */
#define RULES_PREFIX_MAX 64

/*
 * Zero bytes around every text handed to pcre2_match.  JIT code scans with
 * vector loads that may read up to a vector past the subject's end (safe,
 * inside the same page); in a caller's buffer slack those bytes are
 * uninitialised and valgrind reports every such read.  Matching on a
 * padded copy keeps the parser valgrind-clean for every caller.
 */
#define RULES_PAD 64

/* First and largest size of the JIT stack of one scratch. */
#define RULES_JIT_STACK_MIN (32u * 1024)
#define RULES_JIT_STACK_MAX (PARSER_HEAP_LIMIT_KIB * 1024u)

/*
 * Pieces shared by the built-in patterns.  The input is normalised, so
 * brackets, parentheses, colons and '#' are ASCII.  Values use (?-i) so
 * that caseless matching cannot let U+212A KELVIN SIGN and friends into
 * an ASCII class.
 *
 * Order number (decision): 4-32 of [A-Za-z0-9-] containing at least one
 * digit (so "order number: pending" is not a number), not followed by
 * another value character (so 33 characters are refused, not cut).
 */
#define RX_VALUE                                                               \
	"(?-i:(?=[A-Za-z-]{0,31}[0-9])[A-Za-z0-9-]{4,32}(?![A-Za-z0-9-]))"
#define RX_LABEL_TAIL "\\s*(?:no\\.?(?![A-Za-z])|number|#|id(?![A-Za-z]))"
/*
 * Order labels.  "订单号/场次号" (the seed's title template) and
 * "场次号/订单号" give an order number, as SPEC §3 says: only a label of
 * just 场次号 gives a screening number.  订单号码 is accepted as well.
 */
#define RX_ORDER_LABEL                                                               \
	"(?:订单编号|订单号码|订单号(?:/场次号)?|场次号/订单号|" \
	"(?<![A-Za-z])order" RX_LABEL_TAIL ")"
#define RX_SCREEN_LABEL                                                        \
	"(?:场次编号|场次号|(?<![A-Za-z])screening" RX_LABEL_TAIL ")"
#define RX_SEP "\\s*:?\\s*"
#define RX_NUMBER_PAREN                                                        \
	"(?:\\s*\\(\\s*(?:" RX_ORDER_LABEL RX_SEP "(?<order_no>" RX_VALUE      \
	")|" RX_SCREEN_LABEL RX_SEP "(?<screening_no>" RX_VALUE "))\\s*\\))?"

/* Which built-in a format is; user patterns are RULES_FMT_USER. */
enum rules_fmt {
	RULES_FMT_USER = 0,
	RULES_FMT_FOLLOW_UP,
	RULES_FMT_URGENT,
	RULES_FMT_REFUND,
	RULES_FMT_INQUIRY,
	RULES_FMT_REVIEW,
};

struct rules_builtin {
	const char *name;
	enum rules_fmt fmt;
	const char *regex; /* NULL: built from the ticket prefix */
};

/*
 * The built-in formats of SPEC §3, in order.
 *
 * urgent (decision): the user-id bracket is optional, so "[紧急] 无法登录"
 * is still urgent; when present it must hold 3-32 of [A-Za-z0-9_-], else
 * it stays part of the summary.  The summary is the rest, trimmed.
 *
 * inquiry/appeal (decision): the Chinese seed template, and an English
 * form "Inquiry/appeal about [category] (order no: 884213)" where the kind
 * word is inquiry, enquiry, appeal or two of them joined by '/', followed
 * by about, regarding, concerning, on or re.  The parenthesis is optional.
 */
static const struct rules_builtin rules_builtins[] = {
    {"follow-up", RULES_FMT_FOLLOW_UP, NULL},
    {"urgent", RULES_FMT_URGENT,
     "^\\[\\s*(?<priority>紧急|加急|urgent|emergency)\\s*\\]\\s*"
     "(?:\\[\\s*(?<user_id>(?-i:[A-Za-z0-9_-]{3,32}))\\s*\\]\\s*)?"
     "(?<summary>.*)$"},
    {"refund", RULES_FMT_REFUND,
     "^(?:退票申请|refund\\s+request(?![A-Za-z]))\\s*[:-]?\\s*"
     "(?:" RX_ORDER_LABEL RX_SEP "(?<order_no>" RX_VALUE "))?"},
    {"inquiry/appeal", RULES_FMT_INQUIRY,
     "^关于\\s*\\[\\s*(?<category>[^\\[\\]]{1,64})\\]\\s*的\\s*"
     "(?<kind>咨询\\s*/\\s*申诉|申诉\\s*/\\s*咨询|咨询|申诉)" RX_NUMBER_PAREN},
    {"inquiry/appeal", RULES_FMT_INQUIRY,
     "^(?<kind>(?:inquiry|enquiry|appeal)"
     "(?:\\s*/\\s*(?:inquiry|enquiry|appeal))?)"
     "\\s+(?:about|regarding|concerning|on|re:?)\\s*"
     "\\[\\s*(?<category>[^\\[\\]]{1,64})\\]" RX_NUMBER_PAREN},
    {"review", RULES_FMT_REVIEW, "复议|复核|review\\s+request"},
};

/*
 * A labelled order or screening number at the start offset (\G): the
 * scan runs it only where a label can begin (rules_number_anchors), which
 * is many times faster on long bodies than letting PCRE2 try every 'o' and
 * 's' of English text.
 */
static const char rules_number_regex[] =
    "\\G(?:" RX_ORDER_LABEL RX_SEP "(?<order_no>" RX_VALUE
    ")|" RX_SCREEN_LABEL RX_SEP "(?<screening_no>" RX_VALUE "))";

/* Lower-case bytes every label of rules_number_regex starts with. */
static const char *const rules_number_anchors[] = {
    "订单",
    "场次",
    "order",
    "screening",
};
#define RULES_N_ANCHORS                                                        \
	(sizeof(rules_number_anchors) / sizeof(rules_number_anchors[0]))

/* The category table of SPEC §4, in order. */
static const struct rules_category rules_default_categories[] = {
    {"ticketing_refund", "退票,改签,退款,票务,购票,refund"},
    {"screening_seat", "放映,座位,影厅,seat"},
    {"membership_points", "会员,积分,points"},
    {"partnership_ads", "合作,广告"},
    {"equipment_service", "设备,音画,服务质量"},
    {"account", "账号,登录,密码,被盗,login"},
    {"payment", "充值,到账,支付,payment"},
    {"content_review", "审核,版权,侵权"},
    {"data_loss", "数据丢失,进度,恢复"},
};

/* Named groups read from the format that matched. */
enum rules_group {
	RULES_G_TICKET,
	RULES_G_PRIORITY,
	RULES_G_USER,
	RULES_G_ORDER,
	RULES_G_SCREEN,
	RULES_G_CATEGORY,
	RULES_G_KIND,
	RULES_G_SUMMARY,
	RULES_G_N,
};

static const char *const rules_group_names[RULES_G_N] = {
    "ticket_id",    "priority", "user_id", "order_no",
    "screening_no", "category", "kind",    "summary",
};

static const char *const rules_urgent_words[] = {
    "紧急",
    "加急",
    "urgent",
    "emergency",
};
static const char *const rules_complaint_words[] = {
    "投诉",
    "申诉",
    "complaint",
    "appeal",
};
static const char *const rules_review_words[] = {
    "复议",
    "复核",
    "review request",
};

struct rules_format {
	char *name;       /* owned */
	pcre2_code *code; /* owned */
	enum rules_fmt fmt;
	bool is_jit; /* JIT code exists for it */
};

struct rules_keyword {
	const char *p; /* borrowed from rules_cat.store */
	size_t n;
	size_t pick; /* rules_pick(p, n) */
};

struct rules_cat {
	char *name;               /* owned */
	char *store;              /* owned, lower-cased keyword bytes */
	struct rules_keyword *kw; /* owned array */
	size_t n_kw;
};

struct rules {
	struct rules_format *formats; /* owned, in match order */
	size_t n_formats;
	pcre2_code *ticket_re; /* owned; ticket id anywhere */
	pcre2_code *number_re; /* owned; labelled numbers anywhere */
	uint32_t number_order_group;
	uint32_t number_screen_group;
	size_t anchor_len[RULES_N_ANCHORS];
	size_t anchor_pick[RULES_N_ANCHORS];
	struct rules_cat *cats; /* owned */
	size_t n_cats;
	char *prefix;   /* owned ticket prefix */
	uint32_t pairs; /* ovector pairs the largest pattern needs */
	uint32_t match_limit;
	bool has_jit; /* at least one pattern has JIT code */
};

struct rules_scratch {
	pcre2_match_data *md;       /* owned */
	pcre2_match_context *mctx;  /* owned */
	pcre2_jit_stack *jit_stack; /* owned; NULL without JIT */
	struct buf subject;         /* padded copy of the subject */
	struct buf body;            /* padded copy of the scanned body */
	struct buf lower_subject;   /* lower-cased subject */
	struct buf lower_body;      /* lower-cased body */
};

/* A text to match: a view into a padded scratch buffer. */
struct rules_text {
	const char *p;
	size_t n;
};

/* rules_set_err - one line into err: controls out, never a split char */
static void
rules_set_err(char *err, size_t errlen, const char *what, const char *name,
              const char *msg, long off)
{
	size_t i, n;
	int k;

	if (err == NULL || errlen == 0)
		return;
	if (off >= 0)
		k = snprintf(err, errlen, "%s %s: %s at offset %ld", what, name,
		             msg, off);
	else
		k = snprintf(err, errlen, "%s %s: %s", what, name, msg);
	if (k < 0) {
		err[0] = '\0';
		return;
	}
	n = strlen(err);
	if ((size_t)k >= errlen) {
		/* Truncated: do not leave half a UTF-8 character. */
		while (n > 0 && ((unsigned char)err[n - 1] & 0xc0) == 0x80)
			n--;
		if (n > 0 && (unsigned char)err[n - 1] >= 0xc0)
			n--;
		err[n] = '\0';
	}
	for (i = 0; i < n; i++) {
		if ((unsigned char)err[i] < 0x20 || err[i] == 0x7f)
			err[i] = '?';
	}
}

/* rules_cut - length of at most max bytes of s, not splitting a char */
static size_t
rules_cut(const char *s, size_t n, size_t max)
{
	if (n <= max)
		return n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

/* rules_lower - ASCII lower case of one byte */
static char
rules_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/*
 * rules_pick - the byte of needle to look for with memchr: the rarest by
 * a rough guess (English letter frequencies; UTF-8 continuation bytes,
 * spread over 64 values, are rare even in CJK text; lead bytes are not).
 */
static size_t
rules_pick(const char *needle, size_t n)
{
	/* per-mille frequency of a..z in English text */
	static const unsigned char freq[26] = {
	    82, 15, 28, 43, 127, 22, 20, 61, 70, 2,  8, 40, 24,
	    67, 75, 19, 1,  60,  63, 91, 28, 10, 24, 2, 20, 1,
	};
	unsigned int rank, best_rank = UINT_MAX;
	size_t i, best = 0;
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)needle[i];
		if (c >= 'a' && c <= 'z')
			rank = freq[c - 'a'];
		else if (c >= 0x80 && c < 0xc0)
			rank = 3;
		else if (c >= 0xc0)
			rank = 50;
		else
			rank = 30;
		if (rank < best_rank) {
			best_rank = rank;
			best = i;
		}
	}
	return best;
}

/*
 * rules_find - first offset >= from of needle (n bytes) in hay, or
 * SIZE_MAX; pick is rules_pick(needle, n).
 */
static size_t
rules_find(const char *hay, size_t hn, size_t from, const char *needle,
           size_t n, size_t pick)
{
	const char *q, *p, *end, *s;

	if (n == 0 || n > hn || from > hn - n)
		return SIZE_MAX;
	p = hay + from + pick;
	end = hay + hn - (n - 1 - pick);
	while (p < end) {
		q = memchr(p, needle[pick], (size_t)(end - p));
		if (q == NULL)
			return SIZE_MAX;
		s = q - pick;
		if (s[0] == needle[0] && s[n - 1] == needle[n - 1] &&
		    memcmp(s, needle, n) == 0)
			return (size_t)(s - hay);
		p = q + 1;
	}
	return SIZE_MAX;
}

/* rules_has - whether needle (n bytes) occurs in hay (hn bytes) */
static bool
rules_has(const char *hay, size_t hn, const char *needle, size_t n)
{
	return rules_find(hay, hn, 0, needle, n, rules_pick(needle, n)) !=
	       SIZE_MAX;
}

/* rules_has_any - whether any of the (lower-case) words occurs in hay */
static bool
rules_has_any(const char *hay, size_t hn, const char *const *words,
              size_t n_words)
{
	size_t i;

	for (i = 0; i < n_words; i++) {
		if (rules_has(hay, hn, words[i], strlen(words[i])))
			return true;
	}
	return false;
}

/* rules_lower_into - replace b's contents with a lower-cased copy */
static int
rules_lower_into(struct buf *b, const char *s, size_t n)
{
	unsigned char *d;
	size_t i;

	buf_reset(b);
	if (buf_append(b, s, n) != 0)
		return -1;
	/* branch-free, so that the compiler can vectorise it */
	d = (unsigned char *)b->data;
	for (i = 0; i < n; i++)
		d[i] = (unsigned char)(d[i] + ((unsigned char)(d[i] - 'A') < 26u
		                                   ? 'a' - 'A'
		                                   : 0));
	return 0;
}

/* rules_compile - compile one pattern; on error fill err, return NULL */
static pcre2_code *
rules_compile(const char *name, const char *regex, char *err, size_t errlen)
{
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off;
	pcre2_code *code;
	int ec;

	code = pcre2_compile((PCRE2_SPTR)regex, PCRE2_ZERO_TERMINATED,
	                     RULES_COMPILE_FLAGS, &ec, &off, NULL);
	if (code == NULL) {
		if (pcre2_get_error_message(ec, msg, sizeof(msg)) < 0)
			(void)snprintf((char *)msg, sizeof(msg), "error %d",
			               ec);
		rules_set_err(err, errlen, "pattern", name, (const char *)msg,
		              off > LONG_MAX ? LONG_MAX : (long)off);
	}
	return code;
}

/* rules_add_code - account for one compiled pattern: JIT, ovector size */
static bool
rules_add_code(struct rules *r, pcre2_code *code)
{
	uint32_t captures = 0;
	bool is_jit;

	/* Failure (no JIT support, or W^X memory refused) is silent: the
	   interpreter runs the same pattern under the same limits. */
	is_jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
	if (is_jit)
		r->has_jit = true;
	if (pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &captures) == 0 &&
	    captures + 1 > r->pairs)
		r->pairs = captures + 1;
	return is_jit;
}

/* rules_ticket_regex - the ticket id pattern for prefix, into b */
static int
rules_ticket_regex(const char *prefix, struct buf *b)
{
	const unsigned char *p;

	if (buf_append_str(b, "(?<![A-Za-z0-9])(?<ticket_id>") != 0)
		return -1;
	/* Quote every ASCII byte that is not alphanumeric. */
	for (p = (const unsigned char *)prefix; *p != '\0'; p++) {
		if ((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= 'a' && *p <= 'z') || *p >= 0x80) {
			if (buf_append_byte(b, *p) != 0)
				return -1;
		} else if (buf_printf(b, "\\x{%02x}", *p) != 0) {
			return -1;
		}
	}
	return buf_append_str(b, "-[0-9]{8}-[0-9]{3,9})(?![0-9])");
}

/* rules_add_format - compile and append one format */
static int
rules_add_format(struct rules *r, const char *name, const char *regex,
                 enum rules_fmt fmt, char *err, size_t errlen)
{
	struct rules_format *f = &r->formats[r->n_formats];

	f->code = rules_compile(name, regex, err, errlen);
	if (f->code == NULL)
		return RULES_BAD_PATTERN;
	f->name = strdup(name);
	if (f->name == NULL) {
		pcre2_code_free(f->code);
		f->code = NULL;
		return RULES_NOMEM;
	}
	f->fmt = fmt;
	f->is_jit = rules_add_code(r, f->code);
	r->n_formats++;
	return RULES_OK;
}

/* rules_is_kw_sep - whether s starts a keyword separator; its length */
static size_t
rules_is_kw_sep(const char *s, size_t n)
{
	if (s[0] == ',')
		return 1;
	/* U+FF0C FULLWIDTH COMMA, common in Chinese config files */
	if (n >= 3 && memcmp(s, "\xef\xbc\x8c", 3) == 0)
		return 3;
	return 0;
}

/* rules_add_category - copy one keyword rule, keywords lower-cased */
static int
rules_add_category(struct rules_cat *c, const char *name, const char *keywords)
{
	size_t n, i, start, end, sep, count = 0;

	c->name = strdup(name);
	n = keywords == NULL ? 0 : strlen(keywords);
	c->store = malloc(n + 1);
	/* at most one keyword per byte, plus one */
	c->kw = calloc(n + 1, sizeof(*c->kw));
	if (c->name == NULL || c->store == NULL || c->kw == NULL)
		return RULES_NOMEM;
	for (i = 0; i < n; i++)
		c->store[i] = rules_lower(keywords[i]);
	c->store[n] = '\0';
	start = 0;
	i = 0;
	while (i <= n) {
		sep = i < n ? rules_is_kw_sep(c->store + i, n - i) : 1;
		if (sep == 0) {
			i++;
			continue;
		}
		end = i;
		while (start < end &&
		       (c->store[start] == ' ' || c->store[start] == '\t'))
			start++;
		while (end > start &&
		       (c->store[end - 1] == ' ' || c->store[end - 1] == '\t'))
			end--;
		if (end > start) {
			c->kw[count].p = c->store + start;
			c->kw[count].n = end - start;
			c->kw[count].pick =
			    rules_pick(c->kw[count].p, c->kw[count].n);
			count++;
		}
		i += sep;
		start = i;
	}
	c->n_kw = count;
	return RULES_OK;
}

/* rules_new - compile everything (see rules.h) */
int
rules_new(const struct rules_settings *s, struct rules **rules_r, char *err,
          size_t errlen)
{
	static const struct rules_settings none = {0};
	const struct rules_category *cats;
	size_t i, n_cats, n_builtins;
	struct rules *r;
	struct buf rx;
	char label[32];
	int rc = RULES_NOMEM, ec;

	if (s == NULL)
		s = &none;
	buf_init(&rx, 4096);
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		goto out;
	r->pairs = 1;
	r->match_limit = s->match_limit == 0 ? PARSER_MATCH_LIMIT
	                 : s->match_limit > UINT32_MAX
	                     ? UINT32_MAX
	                     : (uint32_t)s->match_limit;
	r->prefix =
	    strdup(s->ticket_prefix == NULL || s->ticket_prefix[0] == '\0'
	               ? "CM"
	               : s->ticket_prefix);
	if (r->prefix == NULL)
		goto out;
	if (strlen(r->prefix) > RULES_PREFIX_MAX) {
		rules_set_err(err, errlen, "ticket prefix", r->prefix,
		              "too long", -1);
		rc = RULES_BAD_PATTERN;
		goto out;
	}
	if (rules_ticket_regex(r->prefix, &rx) != 0)
		goto out;

	n_builtins = s->no_builtins
	                 ? 0
	                 : sizeof(rules_builtins) / sizeof(rules_builtins[0]);
	r->formats =
	    calloc(s->n_patterns + n_builtins + 1, sizeof(*r->formats));
	if (r->formats == NULL)
		goto out;
	for (i = 0; i < s->n_patterns; i++) {
		const struct rules_pattern *p = &s->patterns[i];

		if (p->name == NULL || p->name[0] == '\0' || p->regex == NULL) {
			(void)snprintf(label, sizeof(label), "#%zu", i + 1);
			rules_set_err(err, errlen, "pattern",
			              p->name == NULL || p->name[0] == '\0'
			                  ? label
			                  : p->name,
			              "missing name or regex", -1);
			rc = RULES_BAD_PATTERN;
			goto out;
		}
		rc = rules_add_format(r, p->name, p->regex, RULES_FMT_USER, err,
		                      errlen);
		if (rc != RULES_OK)
			goto out;
	}
	for (i = 0; i < n_builtins; i++) {
		const struct rules_builtin *b = &rules_builtins[i];

		rc = rules_add_format(r, b->name,
		                      b->regex == NULL ? rx.data : b->regex,
		                      b->fmt, err, errlen);
		if (rc != RULES_OK)
			goto out;
	}
	rc = RULES_BAD_PATTERN;
	r->ticket_re = rules_compile("ticket-id", rx.data, err, errlen);
	if (r->ticket_re == NULL)
		goto out;
	(void)rules_add_code(r, r->ticket_re);
	r->number_re =
	    rules_compile("order-number", rules_number_regex, err, errlen);
	if (r->number_re == NULL)
		goto out;
	(void)rules_add_code(r, r->number_re);
	for (i = 0; i < RULES_N_ANCHORS; i++) {
		r->anchor_len[i] = strlen(rules_number_anchors[i]);
		r->anchor_pick[i] =
		    rules_pick(rules_number_anchors[i], r->anchor_len[i]);
	}
	ec = pcre2_substring_number_from_name(r->number_re,
	                                      (PCRE2_SPTR) "order_no");
	r->number_order_group = ec > 0 ? (uint32_t)ec : 0;
	ec = pcre2_substring_number_from_name(r->number_re,
	                                      (PCRE2_SPTR) "screening_no");
	r->number_screen_group = ec > 0 ? (uint32_t)ec : 0;

	rc = RULES_NOMEM;
	cats = s->categories;
	n_cats = s->n_categories;
	if (cats == NULL) {
		cats = rules_default_categories;
		n_cats = sizeof(rules_default_categories) /
		         sizeof(rules_default_categories[0]);
	}
	r->cats = calloc(n_cats + 1, sizeof(*r->cats));
	if (r->cats == NULL)
		goto out;
	for (i = 0; i < n_cats; i++) {
		if (cats[i].name == NULL || cats[i].name[0] == '\0') {
			(void)snprintf(label, sizeof(label), "#%zu", i + 1);
			rules_set_err(err, errlen, "category", label,
			              "missing name", -1);
			rc = RULES_BAD_PATTERN;
			goto out;
		}
		r->n_cats++;
		rc = rules_add_category(&r->cats[i], cats[i].name,
		                        cats[i].keywords);
		if (rc != RULES_OK)
			goto out;
	}
	rc = RULES_OK;
	*rules_r = r;
	r = NULL;
out:
	if (rc == RULES_NOMEM)
		rules_set_err(err, errlen, "rules", "-", "out of memory", -1);
	buf_free(&rx);
	rules_free(&r);
	return rc;
}

/* rules_free - release everything (see rules.h) */
void
rules_free(struct rules **p)
{
	struct rules *r;
	size_t i;

	if (p == NULL || *p == NULL)
		return;
	r = *p;
	for (i = 0; i < r->n_formats; i++) {
		free(r->formats[i].name);
		pcre2_code_free(r->formats[i].code);
	}
	free(r->formats);
	pcre2_code_free(r->ticket_re);
	pcre2_code_free(r->number_re);
	for (i = 0; i < r->n_cats; i++) {
		free(r->cats[i].name);
		free(r->cats[i].store);
		free(r->cats[i].kw);
	}
	free(r->cats);
	free(r->prefix);
	free(r);
	*p = NULL;
}

/* rules_scratch_new - match data, context and JIT stack (see rules.h) */
struct rules_scratch *
rules_scratch_new(const struct rules *r)
{
	struct rules_scratch *sc;

	sc = calloc(1, sizeof(*sc));
	if (sc == NULL)
		return NULL;
	buf_init(&sc->subject, PARSER_SUBJECT_MAX + 2 * RULES_PAD);
	buf_init(&sc->body, PARSER_BODY_SCAN_MAX + 2 * RULES_PAD);
	buf_init(&sc->lower_subject, PARSER_SUBJECT_MAX);
	buf_init(&sc->lower_body, PARSER_BODY_SCAN_MAX);
	sc->md = pcre2_match_data_create(r->pairs, NULL);
	sc->mctx = pcre2_match_context_create(NULL);
	if (sc->md == NULL || sc->mctx == NULL)
		goto fail;
	if (pcre2_set_match_limit(sc->mctx, r->match_limit) != 0 ||
	    pcre2_set_depth_limit(sc->mctx, PARSER_DEPTH_LIMIT) != 0 ||
	    pcre2_set_heap_limit(sc->mctx, PARSER_HEAP_LIMIT_KIB) != 0)
		goto fail;
	if (r->has_jit) {
		/* Bounded like the interpreter's heap, so both give up on
		   the same runaway patterns. */
		sc->jit_stack = pcre2_jit_stack_create(
		    RULES_JIT_STACK_MIN, RULES_JIT_STACK_MAX, NULL);
		if (sc->jit_stack == NULL)
			goto fail;
		pcre2_jit_stack_assign(sc->mctx, NULL, sc->jit_stack);
	}
	return sc;
fail:
	rules_scratch_free(&sc);
	return NULL;
}

/* rules_scratch_free - release one scratch (see rules.h) */
void
rules_scratch_free(struct rules_scratch **p)
{
	struct rules_scratch *sc;

	if (p == NULL || *p == NULL)
		return;
	sc = *p;
	pcre2_match_data_free(sc->md);
	pcre2_match_context_free(sc->mctx);
	pcre2_jit_stack_free(sc->jit_stack);
	buf_free(&sc->subject);
	buf_free(&sc->body);
	buf_free(&sc->lower_subject);
	buf_free(&sc->lower_body);
	free(sc);
	*p = NULL;
}

/*
 * rules_exec - one pcre2_match from start.  1 match, 0 no match (a limit
 * hit is no match and sets m->limit_hit), -1 out of memory.  The text was
 * validated once by rules_text_prepare, hence PCRE2_NO_UTF_CHECK.
 */
static int
rules_exec(const pcre2_code *code, struct rules_scratch *sc, const char *s,
           size_t n, size_t start, struct rules_match *m)
{
	int rc;

	rc = pcre2_match(code, (PCRE2_SPTR)s, n, start, PCRE2_NO_UTF_CHECK,
	                 sc->md, sc->mctx);
	if (rc > 0)
		return 1;
	switch (rc) {
	case PCRE2_ERROR_MATCHLIMIT:
	case PCRE2_ERROR_DEPTHLIMIT:
	case PCRE2_ERROR_HEAPLIMIT:
	case PCRE2_ERROR_JIT_STACKLIMIT:
		m->limit_hit = true;
		return 0;
	case PCRE2_ERROR_NOMEMORY:
		return -1;
	default:
		/* no match; 0 (ovector too small) cannot happen: the match
		   data is sized for the largest pattern */
		return 0;
	}
}

/*
 * rules_text_prepare - copy at most max bytes of s (cut on a character
 * boundary; sanitised if not valid UTF-8) into b between RULES_PAD zero
 * bytes, and point t at the copy.
 */
static int
rules_text_prepare(struct rules_text *t, struct buf *b, const char *s, size_t n,
                   size_t max, int flags)
{
	static const char zero[RULES_PAD];
	char *clean = NULL;
	int rc = -1;

	buf_reset(b);
	if (s == NULL)
		n = 0;
	n = rules_cut(s, n, max);
	if (n > 0 && !utf8_valid(s, n)) {
		clean = utf8_sanitise(s, n, max, flags);
		if (clean == NULL)
			return -1;
		s = clean;
		n = strlen(clean);
	}
	if (buf_append(b, zero, RULES_PAD) != 0 ||
	    (n > 0 && buf_append(b, s, n) != 0) ||
	    buf_append(b, zero, RULES_PAD) != 0)
		goto out;
	t->p = b->data + RULES_PAD;
	t->n = n;
	rc = 0;
out:
	free(clean);
	return rc;
}

/* rules_trim_dup - copy of s[0..n) without surrounding spaces; "" ok */
static char *
rules_trim_dup(const char *s, size_t n)
{
	char *d;

	while (n > 0 && (s[0] == ' ' || s[0] == '\t'))
		s++, n--;
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	d = malloc(n + 1);
	if (d == NULL)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

/* rules_groups_get - copy the named groups of the last match (trimmed) */
static int
rules_groups_get(struct rules_scratch *sc, char **g)
{
	PCRE2_SIZE len, size;
	char *tmp;
	size_t i;
	int rc;

	for (i = 0; i < RULES_G_N; i++) {
		g[i] = NULL;
		rc = pcre2_substring_length_byname(
		    sc->md, (PCRE2_SPTR)rules_group_names[i], &len);
		if (rc != 0)
			continue; /* no such group, or it did not take part */
		tmp = malloc(len + 1);
		if (tmp == NULL)
			return -1;
		size = len + 1;
		rc = pcre2_substring_copy_byname(
		    sc->md, (PCRE2_SPTR)rules_group_names[i],
		    (PCRE2_UCHAR *)tmp, &size);
		if (rc != 0) {
			free(tmp);
			continue;
		}
		g[i] = rules_trim_dup(tmp, size);
		free(tmp);
		if (g[i] == NULL)
			return -1;
		if (g[i][0] == '\0') {
			free(g[i]);
			g[i] = NULL;
		}
	}
	return 0;
}

/* rules_digits - whether s[0..n) is n ASCII digits */
static bool
rules_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
	}
	return true;
}

/*
 * rules_ticket_canon - the ticket id v with its prefix spelled as
 * configured (the match is caseless: "cm-20231105-001" is CM-...).  A
 * value of another shape (a user pattern's) is copied as it is.
 */
static char *
rules_ticket_canon(const struct rules *r, const char *v)
{
	size_t n = strlen(v), plen = strlen(r->prefix), i;
	struct buf b;

	if (n < plen + 13 || v[plen] != '-' || !rules_digits(v + plen + 1, 8) ||
	    v[plen + 9] != '-' || !rules_digits(v + plen + 10, n - plen - 10))
		return strdup(v);
	for (i = 0; i < plen; i++) {
		if (rules_lower(v[i]) != rules_lower(r->prefix[i]))
			return strdup(v);
	}
	buf_init(&b, 0);
	if (buf_append_str(&b, r->prefix) != 0 ||
	    buf_append_str(&b, v + plen) != 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

/* rules_add_number - add s[0..n) to l unless present or l is full */
static int
rules_add_number(struct strlist *l, const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < l->n; i++) {
		if (strlen(l->v[i]) == n && memcmp(l->v[i], s, n) == 0)
			return 0;
	}
	if (l->n >= PARSER_NUMBERS_MAX)
		return 0;
	return strlist_add(l, s, n, 0);
}

/*
 * rules_scan_numbers - every labelled order/screening number in t, in
 * order; lower is t lower-cased (same offsets), searched for the places
 * a label can start.
 */
static int
rules_scan_numbers(const struct rules *r, struct rules_scratch *sc,
                   const struct rules_text *t, const char *lower,
                   struct rules_match *m)
{
	size_t next[RULES_N_ANCHORS], pos = 0, at, k;
	size_t og = r->number_order_group, sg = r->number_screen_group;
	PCRE2_SIZE *ov;
	int rc;

	for (k = 0; k < RULES_N_ANCHORS; k++)
		next[k] = rules_find(lower, t->n, 0, rules_number_anchors[k],
		                     r->anchor_len[k], r->anchor_pick[k]);
	for (;;) {
		if (m->order_numbers.n >= PARSER_NUMBERS_MAX &&
		    m->screening_numbers.n >= PARSER_NUMBERS_MAX)
			break;
		at = SIZE_MAX;
		for (k = 0; k < RULES_N_ANCHORS; k++) {
			if (next[k] != SIZE_MAX && next[k] < pos)
				next[k] = rules_find(
				    lower, t->n, pos, rules_number_anchors[k],
				    r->anchor_len[k], r->anchor_pick[k]);
			if (next[k] < at)
				at = next[k];
		}
		if (at == SIZE_MAX)
			break;
		/* at is a character boundary: every anchor starts with an
		   ASCII or a UTF-8 lead byte */
		rc = rules_exec(r->number_re, sc, t->p, t->n, at, m);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			pos = at + 1;
			continue;
		}
		ov = pcre2_get_ovector_pointer(sc->md);
		if (og > 0 && ov[2 * og] != PCRE2_UNSET) {
			if (rules_add_number(&m->order_numbers,
			                     t->p + ov[2 * og],
			                     ov[2 * og + 1] - ov[2 * og]) != 0)
				return -1;
		} else if (sg > 0 && ov[2 * sg] != PCRE2_UNSET) {
			if (rules_add_number(&m->screening_numbers,
			                     t->p + ov[2 * sg],
			                     ov[2 * sg + 1] - ov[2 * sg]) != 0)
				return -1;
		}
		/* a match is a label plus a value: never empty */
		pos = ov[1] > at ? ov[1] : at + 1;
	}
	return 0;
}

/* rules_category_in - index of the first rule with a keyword in lower */
static size_t
rules_category_in(const struct rules *r, const char *lower, size_t n)
{
	size_t i, k;

	for (i = 0; i < r->n_cats; i++) {
		for (k = 0; k < r->cats[i].n_kw; k++) {
			const struct rules_keyword *kw = &r->cats[i].kw[k];

			if (rules_find(lower, n, 0, kw->p, kw->n, kw->pick) !=
			    SIZE_MAX)
				return i;
		}
	}
	return SIZE_MAX;
}

/*
 * rules_category_bracket - the category for an inquiry/appeal bracket
 * (lower-cased in place): through the keywords, else (decision) a rule
 * whose name, or one of its '_' parts, equals the bracket, so that
 * "[ticketing]" and "[payment]" work with the Chinese-only keyword table.
 */
static size_t
rules_category_bracket(const struct rules *r, char *v)
{
	size_t i, n = strlen(v), k, start;
	const char *name;

	for (i = 0; i < n; i++)
		v[i] = rules_lower(v[i]);
	i = rules_category_in(r, v, n);
	if (i != SIZE_MAX)
		return i;
	for (i = 0; i < r->n_cats; i++) {
		name = r->cats[i].name;
		start = 0;
		for (k = 0;; k++) {
			if (name[k] != '_' && name[k] != '\0')
				continue;
			if (k - start == n) {
				size_t j;

				for (j = 0; j < n; j++) {
					if (rules_lower(name[start + j]) !=
					    v[j])
						break;
				}
				if (j == n)
					return i;
			}
			if (name[k] == '\0')
				break;
			start = k + 1;
		}
	}
	return SIZE_MAX;
}

/* rules_kind - "inquiry", "appeal", "inquiry/appeal" or NULL for v */
static const char *
rules_kind(char *v)
{
	static const char *const inquiry[] = {"咨询", "inquiry", "enquiry"};
	static const char *const appeal[] = {"申诉", "appeal"};
	size_t i, n = strlen(v);
	bool is_inquiry, is_appeal;

	for (i = 0; i < n; i++)
		v[i] = rules_lower(v[i]);
	is_inquiry = rules_has_any(v, n, inquiry, 3);
	is_appeal = rules_has_any(v, n, appeal, 2);
	if (is_inquiry && is_appeal)
		return "inquiry/appeal";
	if (is_inquiry)
		return "inquiry";
	if (is_appeal)
		return "appeal";
	return NULL;
}

/* rules_priority - "urgent", "complaint" or "normal" (SPEC §4) */
static const char *
rules_priority(const struct rules_format *hit, char *pv, const char *kind,
               const struct buf *lsubj)
{
	size_t i, n = pv == NULL ? 0 : strlen(pv);
	size_t nu = sizeof(rules_urgent_words) / sizeof(rules_urgent_words[0]);
	size_t nc =
	    sizeof(rules_complaint_words) / sizeof(rules_complaint_words[0]);

	for (i = 0; i < n; i++)
		pv[i] = rules_lower(pv[i]);
	if ((hit != NULL && hit->fmt == RULES_FMT_URGENT) ||
	    (pv != NULL && rules_has_any(pv, n, rules_urgent_words, nu)))
		return "urgent";
	if ((pv != NULL && rules_has_any(pv, n, rules_complaint_words, nc)) ||
	    rules_has_any(lsubj->data, lsubj->len, rules_complaint_words, nc) ||
	    (kind != NULL &&
	     rules_has_any(kind, strlen(kind), rules_complaint_words, nc)))
		return "complaint";
	return "normal";
}

/* rules_match_subject - classify one subject (see rules.h) */
int
rules_match_subject(const struct rules *r, struct rules_scratch *sc,
                    const char *subject, size_t len, const char *body,
                    size_t body_len, struct rules_match *m)
{
	struct rules_text subj = {NULL, 0}, bod = {NULL, 0};
	const struct rules_format *hit = NULL;
	char *g[RULES_G_N] = {NULL};
	const char *kind, *cat_name;
	size_t i, cat = SIZE_MAX;
	bool is_cat_open;
	int rc = RULES_NOMEM, st;

	memset(m, 0, sizeof(*m));
	/* Normally cut by the parser already; bounded here regardless. */
	if (rules_text_prepare(&subj, &sc->subject, subject, len,
	                       PARSER_SUBJECT_MAX, 0) != 0)
		goto out;
	if (rules_lower_into(&sc->lower_subject, subj.p, subj.n) != 0)
		goto out;

	for (i = 0; i < r->n_formats; i++) {
		st = rules_exec(r->formats[i].code, sc, subj.p, subj.n, 0, m);
		if (st < 0)
			goto out;
		if (st > 0) {
			hit = &r->formats[i];
			if (rules_groups_get(sc, g) != 0)
				goto out;
			break;
		}
	}
	m->format = strdup(hit != NULL ? hit->name : "other");
	if (m->format == NULL)
		goto out;

	/* Ticket id: the format's, else anywhere in the subject. */
	if (g[RULES_G_TICKET] != NULL) {
		m->ticket_id = rules_ticket_canon(r, g[RULES_G_TICKET]);
		if (m->ticket_id == NULL)
			goto out;
	} else {
		st = rules_exec(r->ticket_re, sc, subj.p, subj.n, 0, m);
		if (st < 0)
			goto out;
		if (st > 0) {
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(sc->md);
			char *v = rules_trim_dup(subj.p + ov[2], ov[3] - ov[2]);

			if (v == NULL)
				goto out;
			m->ticket_id = rules_ticket_canon(r, v);
			free(v);
			if (m->ticket_id == NULL)
				goto out;
		}
	}

	m->user_id = g[RULES_G_USER];
	g[RULES_G_USER] = NULL;
	kind = g[RULES_G_KIND] != NULL ? rules_kind(g[RULES_G_KIND]) : NULL;
	if (kind != NULL) {
		m->kind = strdup(kind);
		if (m->kind == NULL)
			goto out;
	}
	m->is_review = rules_has_any(
	    sc->lower_subject.data, sc->lower_subject.len, rules_review_words,
	    sizeof(rules_review_words) / sizeof(rules_review_words[0]));

	/* Numbers: the format's first, then all labelled ones in order. */
	if (g[RULES_G_ORDER] != NULL &&
	    rules_add_number(&m->order_numbers, g[RULES_G_ORDER],
	                     strlen(g[RULES_G_ORDER])) != 0)
		goto out;
	if (g[RULES_G_SCREEN] != NULL &&
	    rules_add_number(&m->screening_numbers, g[RULES_G_SCREEN],
	                     strlen(g[RULES_G_SCREEN])) != 0)
		goto out;
	if (rules_scan_numbers(r, sc, &subj, sc->lower_subject.data, m) != 0)
		goto out;

	/* Category: bracket, refund format, subject keywords, body ones. */
	if (g[RULES_G_CATEGORY] != NULL)
		cat = rules_category_bracket(r, g[RULES_G_CATEGORY]);
	cat_name = NULL;
	if (cat == SIZE_MAX && hit != NULL && hit->fmt == RULES_FMT_REFUND)
		cat_name = "ticketing_refund";
	if (cat == SIZE_MAX && cat_name == NULL)
		cat = rules_category_in(r, sc->lower_subject.data,
		                        sc->lower_subject.len);

	/* The body only when the subject left numbers or category open. */
	is_cat_open = cat == SIZE_MAX && cat_name == NULL;
	if (body != NULL && body_len > 0 &&
	    (m->order_numbers.n == 0 || is_cat_open)) {
		if (rules_text_prepare(
		        &bod, &sc->body, body, body_len, PARSER_BODY_SCAN_MAX,
		        UTF8_KEEP_NEWLINES | UTF8_KEEP_TABS) != 0)
			goto out;
		if (rules_lower_into(&sc->lower_body, bod.p, bod.n) != 0)
			goto out;
		if (m->order_numbers.n == 0 &&
		    rules_scan_numbers(r, sc, &bod, sc->lower_body.data, m) !=
		        0)
			goto out;
		if (is_cat_open)
			cat = rules_category_in(r, sc->lower_body.data,
			                        sc->lower_body.len);
	}
	if (cat_name == NULL)
		cat_name = cat != SIZE_MAX ? r->cats[cat].name : "general";
	m->category = strdup(cat_name);
	if (m->category == NULL)
		goto out;

	m->priority = strdup(rules_priority(hit, g[RULES_G_PRIORITY], m->kind,
	                                    &sc->lower_subject));
	if (m->priority == NULL)
		goto out;

	if (g[RULES_G_SUMMARY] != NULL) {
		m->summary = g[RULES_G_SUMMARY];
		g[RULES_G_SUMMARY] = NULL;
	} else {
		m->summary = rules_trim_dup(subj.p, subj.n);
		if (m->summary == NULL)
			goto out;
	}
	rc = RULES_OK;
out:
	for (i = 0; i < RULES_G_N; i++)
		free(g[i]);
	if (rc != RULES_OK)
		rules_match_clear(m);
	return rc;
}

/* rules_match_clear - free a match (see rules.h) */
void
rules_match_clear(struct rules_match *m)
{
	free(m->format);
	free(m->ticket_id);
	free(m->priority);
	free(m->user_id);
	strlist_clear(&m->order_numbers);
	strlist_clear(&m->screening_numbers);
	free(m->category);
	free(m->kind);
	free(m->summary);
	memset(m, 0, sizeof(*m));
}

/* rules_formats_help - static help text (see rules.h) */
const char *
rules_formats_help(void)
{
	return "邮件主题格式 / Subject formats:\n"
	       "  跟进已有工单 / Follow-up: keep the ticket number\n"
	       "    Re: [CM-20231105-001] 补充截图\n"
	       "  紧急 / Urgent: [紧急][用户ID]问题摘要 or [urgent][user-id] "
	       "summary\n"
	       "    [紧急][A123456]角色数据丢失需恢复\n"
	       "    [urgent][A123456] character data lost\n"
	       "  退票 / Refund: 退票申请:订单号xxxxxx or Refund request: "
	       "order "
	       "no. xxxxxx\n"
	       "    退票申请:订单号123456\n"
	       "    Refund request: order no. 123456\n"
	       "  咨询/申诉 / Inquiry or appeal:\n"
	       "    关于[问题类型]的咨询/申诉(订单号/场次号:xxxx)\n"
	       "    关于[票务]的咨询(订单号:884213)\n"
	       "    Inquiry/appeal about [category] (order no: 884213)\n"
	       "  复议/复核 / Review: 复议 or 复核 (or \"review request\") "
	       "with "
	       "the ticket number\n"
	       "    复核请求 [CM-20231105-001]\n"
	       "订单号 / Order numbers: 订单号, 订单编号, order no., order "
	       "number, order #, order id (4-32 letters, digits or '-').\n";
}

/* SPDX-License-Identifier: MIT */
/*
 * test_ack.c - the acknowledgment composer (daemon/ack.c): golden header
 * checks, RFC 2047 round trips through a tiny decoder of our own, header
 * injection through every echoed field, templates (placeholders, limits,
 * bad UTF-8), the formats help, References bounds and Message-IDs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "daemon/ack.h"
#include "parser/parser.h"
#include "tests/harness.h"

#define T_MAX_HDRS 40
#define T_VALUE_MAX 8192

/* A parsed message: unfolded headers and the decoded body. */
struct t_msg {
	size_t n;
	char name[T_MAX_HDRS][64];
	char value[T_MAX_HDRS][T_VALUE_MAX];
	bool is_well_formed; /* every header line "Name: v" or folded */
	bool has_bare_eol;   /* a CR or LF not in CRLF anywhere */
	size_t longest_line; /* longest header line, CRLF excluded */
	char *body;          /* decoded base64 body (malloc'd) */
	size_t body_len;
};

/* t_b64val - value of a base64 character, -1 if none */
static int
t_b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* t_b64dec - decode base64 (blanks and line ends skipped) into out */
static size_t
t_b64dec(const char *in, size_t len, char *out)
{
	unsigned long acc = 0;
	size_t i, o = 0;
	int bits = 0, v;

	for (i = 0; i < len; i++) {
		if (in[i] == '=')
			break;
		v = t_b64val(in[i]);
		if (v < 0)
			continue;
		acc = acc << 6 | (unsigned long)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)(acc >> bits & 0xff);
		}
	}
	out[o] = '\0';
	return o;
}

/*
 * t_decode_2047 - decode a header value: "=?UTF-8?B?...?=" words become
 * their text (blanks between two encoded words vanish), the rest stays
 */
static void
t_decode_2047(const char *in, char *out, size_t outlen)
{
	size_t o = 0, n;
	const char *p = in, *end;
	bool prev_enc = false;
	char tmp[T_VALUE_MAX];

	out[0] = '\0';
	while (*p != '\0' && o + 1 < outlen) {
		if (strncasecmp(p, "=?UTF-8?B?", 10) == 0 &&
		    (end = strstr(p + 10, "?=")) != NULL) {
			n = t_b64dec(p + 10, (size_t)(end - p - 10), tmp);
			if (o + n + 1 > outlen)
				break;
			memcpy(out + o, tmp, n);
			o += n;
			p = end + 2;
			prev_enc = true;
			continue;
		}
		if (*p == ' ' && prev_enc) {
			/* only drop blanks followed by another encoded word */
			const char *q = p;

			while (*q == ' ')
				q++;
			if (strncasecmp(q, "=?UTF-8?B?", 10) == 0) {
				p = q;
				continue;
			}
		}
		prev_enc = false;
		out[o++] = *p++;
	}
	out[o] = '\0';
}

/* t_parse - split a rendered message into headers and decoded body */
static void
t_parse(const char *msg, size_t len, struct t_msg *m)
{
	const char *hend, *p, *eol;
	size_t i, n;

	memset(m, 0, sizeof(*m));
	m->is_well_formed = true;
	for (i = 0; i < len; i++) {
		if (msg[i] == '\r' && (i + 1 >= len || msg[i + 1] != '\n'))
			m->has_bare_eol = true;
		if (msg[i] == '\n' && (i == 0 || msg[i - 1] != '\r'))
			m->has_bare_eol = true;
	}
	hend = strstr(msg, "\r\n\r\n");
	if (hend == NULL) {
		m->is_well_formed = false;
		return;
	}
	for (p = msg; p < hend + 2; p = eol + 2) {
		const char *colon;

		eol = strstr(p, "\r\n");
		n = (size_t)(eol - p);
		if (n > m->longest_line)
			m->longest_line = n;
		if (*p == ' ' || *p == '\t') {
			size_t have;

			if (m->n == 0) {
				m->is_well_formed = false;
				continue;
			}
			have = strlen(m->value[m->n - 1]);
			if (have + n + 1 < T_VALUE_MAX)
				memcpy(m->value[m->n - 1] + have, p, n);
			continue;
		}
		colon = memchr(p, ':', n);
		if (colon == NULL || colon == p || colon[1] != ' ' ||
		    m->n == T_MAX_HDRS) {
			m->is_well_formed = false;
			continue;
		}
		for (i = 0; p + i < colon; i++) {
			char c = p[i];

			if (!((c >= 'A' && c <= 'Z') ||
			      (c >= 'a' && c <= 'z') ||
			      (c >= '0' && c <= '9') || c == '-'))
				m->is_well_formed = false;
		}
		(void)snprintf(m->name[m->n], sizeof(m->name[0]), "%.*s",
		               (int)(colon - p), p);
		(void)snprintf(m->value[m->n], sizeof(m->value[0]), "%.*s",
		               (int)(eol - colon - 2), colon + 2);
		m->n++;
	}
	p = hend + 4;
	n = len - (size_t)(p - msg);
	m->body = malloc(n + 1);
	if (m->body != NULL)
		m->body_len = t_b64dec(p, n, m->body);
}

/* t_hdr - value of the first header called name, NULL if absent */
static const char *
t_hdr(const struct t_msg *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		if (strcasecmp(m->name[i], name) == 0)
			return m->value[i];
	}
	return NULL;
}

/* t_count - how many headers are called name */
static size_t
t_count(const struct t_msg *m, const char *name)
{
	size_t i, c = 0;

	for (i = 0; i < m->n; i++)
		c += strcasecmp(m->name[i], name) == 0;
	return c;
}

/* t_names - header names joined with ',' */
static void
t_names(const struct t_msg *m, char *out, size_t len)
{
	size_t i, o = 0;

	out[0] = '\0';
	for (i = 0; i < m->n && o < len; i++)
		o += (size_t)snprintf(out + o, len - o, "%s%s", i ? "," : "",
		                      m->name[i]);
}

static const char *const std_names =
    "Date,From,To,Subject,Message-ID,In-Reply-To,References,Auto-Submitted,"
    "X-Auto-Response-Suppress,MIME-Version,Content-Type,"
    "Content-Transfer-Encoding";

/* t_fields - a typical ack */
static void
t_fields(struct ack_fields *f)
{
	static const char *const orders[] = {"123456", "884213"};
	static const char *const atts[] = {"截图.png", "log.txt"};
	static const char *const refs[] = {"<r1@example.cn>"};

	memset(f, 0, sizeof(*f));
	f->ticket_id = "CM-20231105-001";
	f->to = "user@example.cn";
	f->from = "樱花影院客服 <support@example.com>";
	f->summary = "角色数据丢失需恢复";
	f->category = "data_loss";
	f->priority = "urgent";
	f->due_at = "2023-11-05T16:33:00+08:00";
	f->order_numbers = orders;
	f->n_order_numbers = 2;
	f->attachments = atts;
	f->n_attachments = 2;
	f->orig_message_id = "<orig@example.cn>";
	f->orig_references = refs;
	f->n_orig_references = 1;
	f->message_id = "<ticketd.1.abc@example.com>";
	f->date = 1699172580; /* 2023-11-05 08:23:00 UTC, a Sunday */
}

/* t_render - render f with template t into m; returns the status */
static int
t_render(const struct ack_fields *f, const char *t, struct t_msg *m)
{
	struct buf out;
	char err[256] = "";
	int rc;

	buf_init(&out, 1 << 20);
	rc = ack_render(f, t, &out, err, sizeof(err));
	memset(m, 0, sizeof(*m));
	if (rc == ACK_OK) {
		t_parse(out.data, out.len, m);
	} else {
		CHECK(err[0] != '\0', "failure writes err");
		CHECK_INT(out.len, 0, "failure leaves out as it was");
	}
	buf_free(&out);
	return rc;
}

/* test_golden - every header of a typical ack */
static void
test_golden(void)
{
	struct ack_fields f;
	struct t_msg *m = calloc(1, sizeof(*m));
	char names[1024], dec[T_VALUE_MAX];

	if (m == NULL)
		return;
	t_fields(&f);
	CHECK_INT(t_render(&f, NULL, m), ACK_OK, "golden renders");
	CHECK(m->is_well_formed, "golden header block well formed");
	CHECK(!m->has_bare_eol, "golden: CRLF only");
	/* "Subject: " and one encoded word of at most 75 bytes */
	CHECK(m->longest_line <= 84, "golden: short header lines");
	t_names(m, names, sizeof(names));
	CHECK_STR(names, std_names, "golden header names and order");
	CHECK_STR(t_hdr(m, "Date"), "Sun, 05 Nov 2023 08:23:00 +0000", "Date");
	CHECK(strncmp(t_hdr(m, "From"), "=?UTF-8?B?", 10) == 0,
	      "From name encoded");
	t_decode_2047(t_hdr(m, "From"), dec, sizeof(dec));
	CHECK_STR(dec, "樱花影院客服 <support@example.com>", "From decodes");
	CHECK_STR(t_hdr(m, "To"), "user@example.cn", "To");
	CHECK(strncmp(t_hdr(m, "Subject"), "=?UTF-8?B?", 10) == 0,
	      "Subject encoded");
	t_decode_2047(t_hdr(m, "Subject"), dec, sizeof(dec));
	CHECK_STR(dec,
	          "[CM-20231105-001] 已受理 / Received: 角色数据丢失需恢复",
	          "Subject round trip");
	CHECK_STR(t_hdr(m, "Message-ID"), "<ticketd.1.abc@example.com>",
	          "Message-ID");
	CHECK_STR(t_hdr(m, "In-Reply-To"), "<orig@example.cn>", "In-Reply-To");
	CHECK_STR(t_hdr(m, "References"), "<r1@example.cn> <orig@example.cn>",
	          "References");
	CHECK_STR(t_hdr(m, "Auto-Submitted"), "auto-replied", "Auto-Submitted");
	CHECK_STR(t_hdr(m, "X-Auto-Response-Suppress"), "All", "X-ARS");
	CHECK_STR(t_hdr(m, "MIME-Version"), "1.0", "MIME-Version");
	CHECK_STR(t_hdr(m, "Content-Type"), "text/plain; charset=UTF-8",
	          "Content-Type");
	CHECK_STR(t_hdr(m, "Content-Transfer-Encoding"), "base64", "CTE");
	CHECK(m->body != NULL &&
	          strstr(m->body, "工单号为 CM-20231105-001") != NULL,
	      "body: zh ticket number");
	CHECK(m->body != NULL && strstr(m->body, "keep [CM-20231105-001] in "
	                                         "the subject") != NULL,
	      "body: en keep the id");
	CHECK(m->body != NULL &&
	          strstr(m->body, "Order numbers: 123456, 884213\r\n") != NULL,
	      "body: order numbers");
	CHECK(m->body != NULL &&
	          strstr(m->body, "附件：截图.png, log.txt\r\n") != NULL,
	      "body: attachments");
	CHECK(m->body != NULL && strstr(m->body, "Subject formats") == NULL,
	      "no formats help unless asked");
	free(m->body);
	free(m);
}

/* test_from_forms - display names: encoded, atext, quoted, none */
static void
test_from_forms(void)
{
	static const struct {
		const char *from;
		int rc;
		const char *raw; /* exact From value, NULL: skip */
		const char *decoded;
	} cases[] = {
	    {"樱花影院客服 <support@example.com>", ACK_OK, NULL,
	     "樱花影院客服 <support@example.com>"},
	    {"\"樱花 客服\" <support@example.com>", ACK_OK, NULL,
	     "樱花 客服 <support@example.com>"},
	    {"Support Team <support@example.com>", ACK_OK,
	     "Support Team <support@example.com>", NULL},
	    {"Support, Inc. <support@example.com>", ACK_OK,
	     "\"Support, Inc.\" <support@example.com>", NULL},
	    {"\"Say \\\"hi\\\"\" <s@example.com>", ACK_OK,
	     "\"Say \\\\\\\"hi\\\\\\\"\" <s@example.com>", NULL},
	    {"support@example.com", ACK_OK, "support@example.com", NULL},
	    {"  <support@example.com>  ", ACK_OK, "support@example.com", NULL},
	    {"Evil\r\nBcc: x@y <support@example.com>", ACK_OK,
	     "\"Evil Bcc: x@y\" <support@example.com>", NULL},
	    {"Name <support@example.com", ACK_BAD_FIELD, NULL, NULL},
	    {"Name <a b@example.com>", ACK_BAD_FIELD, NULL, NULL},
	    {"no address", ACK_BAD_FIELD, NULL, NULL},
	    {"", ACK_BAD_FIELD, NULL, NULL},
	    {NULL, ACK_BAD_FIELD, NULL, NULL},
	};
	struct ack_fields f;
	struct t_msg *m = calloc(1, sizeof(*m));
	char dec[T_VALUE_MAX], what[64];
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		(void)snprintf(what, sizeof(what), "from case %zu", i);
		t_fields(&f);
		f.from = cases[i].from;
		if (!CHECK_INT(t_render(&f, NULL, m), cases[i].rc, what) ||
		    cases[i].rc != ACK_OK) {
			free(m->body);
			continue;
		}
		CHECK(m->is_well_formed && t_count(m, "Bcc") == 0, what);
		if (cases[i].raw != NULL)
			CHECK_STR(t_hdr(m, "From"), cases[i].raw, what);
		if (cases[i].decoded != NULL) {
			t_decode_2047(t_hdr(m, "From"), dec, sizeof(dec));
			CHECK_STR(dec, cases[i].decoded, what);
		}
		free(m->body);
	}
	free(m);
}

/* test_injection - nothing echoed can add a header */
static void
test_injection(void)
{
	static const char *const bad_atts[] = {"a\r\nBcc: evil@example.com",
	                                       "b\nX-Evil: 1", "c\rX-Evil: 2",
	                                       "d\r\n\r\nbody"};
	static const char *const bad_refs[] = {"<r\r\nBcc: evil@example.com>",
	                                       "<ok@example.cn>",
	                                       "<has space@x>",
	                                       "no-brackets@x",
	                                       "<a<b>@x>",
	                                       "<\xe4\xbd\xa0@x>"};
	static const char *const bad_orders[] = {"12\r\nBcc: e@x", "34"};
	struct ack_fields f;
	struct t_msg *m = calloc(1, sizeof(*m));
	char names[1024], dec[T_VALUE_MAX];
	size_t i;

	if (m == NULL)
		return;
	t_fields(&f);
	f.summary = "x\r\nBcc: evil@example.com\r\n\r\nbody";
	f.attachments = bad_atts;
	f.n_attachments = 4;
	f.orig_references = bad_refs;
	f.n_orig_references = 6;
	f.order_numbers = bad_orders;
	f.n_order_numbers = 2;
	f.orig_message_id = "<m@x>\r\nBcc: evil@example.com";
	f.category = "c\r\nX-Cat: 1";
	f.due_at = "d\nX-Due: 1";
	CHECK_INT(t_render(&f, NULL, m), ACK_OK, "injection renders");
	CHECK(m->is_well_formed, "one well-formed header block");
	CHECK(!m->has_bare_eol, "no bare CR or LF");
	t_names(m, names, sizeof(names));
	CHECK_STR(names,
	          "Date,From,To,Subject,Message-ID,References,Auto-Submitted,"
	          "X-Auto-Response-Suppress,MIME-Version,Content-Type,"
	          "Content-Transfer-Encoding",
	          "exactly our headers (bad Message-ID: no In-Reply-To)");
	CHECK_INT(t_count(m, "Bcc"), 0, "no Bcc");
	CHECK_STR(t_hdr(m, "References"), "<ok@example.cn>",
	          "only the valid reference kept");
	t_decode_2047(t_hdr(m, "Subject"), dec, sizeof(dec));
	CHECK_STR(
	    dec,
	    "[CM-20231105-001] 已受理 / Received: x Bcc: evil@example.com  "
	    "body",
	    "summary controls removed inside the subject");
	for (i = 0; m->body != NULL && i < m->body_len; i++) {
		if (m->body[i] == '\r' && m->body[i + 1] != '\n')
			break;
		if (m->body[i] == '\n' && (i == 0 || m->body[i - 1] != '\r'))
			break;
	}
	CHECK(m->body != NULL && i == m->body_len, "body CRLF only");
	CHECK(m->body != NULL &&
	          strstr(m->body, "附件：a Bcc: evil@example.com, b X-Evil: 1, "
	                          "cX-Evil: 2, d  body\r\n") != NULL,
	      "attachment names lose controls in the body");
	CHECK(m->body != NULL &&
	          strstr(m->body, "订单号：12 Bcc: e@x, 34\r\n") != NULL,
	      "order numbers lose controls");
	free(m->body);
	free(m);
}

/* test_recipient - To must be a plain addr-spec */
static void
test_recipient(void)
{
	static const struct {
		const char *to;
		int rc;
	} cases[] = {
	    {"user@example.cn", ACK_OK},
	    {"first.last+tag@sub.example.cn", ACK_OK},
	    {"user@example.cn\r\nBcc: evil@example.com", ACK_BAD_RECIPIENT},
	    {"user@example.cn\n", ACK_BAD_RECIPIENT},
	    {"<user@example.cn>", ACK_BAD_RECIPIENT},
	    {"User <user@example.cn>", ACK_BAD_RECIPIENT},
	    {"us er@example.cn", ACK_BAD_RECIPIENT},
	    {"a@b@example.cn", ACK_BAD_RECIPIENT},
	    {"user", ACK_BAD_RECIPIENT},
	    {"@example.cn", ACK_BAD_RECIPIENT},
	    {"user@", ACK_BAD_RECIPIENT},
	    {"a@b.cn,c@d.cn", ACK_BAD_RECIPIENT},
	    {"用户@example.cn", ACK_BAD_RECIPIENT},
	    {"", ACK_BAD_RECIPIENT},
	    {NULL, ACK_BAD_RECIPIENT},
	};
	struct ack_fields f;
	struct t_msg *m = calloc(1, sizeof(*m));
	char what[64], long_addr[300];
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		(void)snprintf(what, sizeof(what), "to case %zu", i);
		t_fields(&f);
		f.to = cases[i].to;
		CHECK_INT(t_render(&f, NULL, m), cases[i].rc, what);
		free(m->body);
		CHECK(ack_addr_valid(cases[i].to) == (cases[i].rc == ACK_OK),
		      what);
	}
	/* ACK_ADDR_MAX bytes pass, one more does not */
	memset(long_addr, 'a', sizeof(long_addr));
	memcpy(long_addr + ACK_ADDR_MAX - 6, "@x.com", 7);
	CHECK(ack_addr_valid(long_addr), "address at the limit");
	memset(long_addr, 'a', sizeof(long_addr));
	memcpy(long_addr + ACK_ADDR_MAX - 5, "@x.com", 7);
	CHECK(!ack_addr_valid(long_addr), "address one past the limit");
	free(m);
}

/* test_own_fields - our ticket id and Message-ID are checked too */
static void
test_own_fields(void)
{
	struct ack_fields f;
	struct t_msg *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return;
	t_fields(&f);
	f.ticket_id = "CM-1\r\nBcc: x@y";
	CHECK_INT(t_render(&f, NULL, m), ACK_BAD_FIELD, "bad ticket id");
	t_fields(&f);
	f.ticket_id = NULL;
	CHECK_INT(t_render(&f, NULL, m), ACK_BAD_FIELD, "no ticket id");
	t_fields(&f);
	f.message_id = "<a b@x>";
	CHECK_INT(t_render(&f, NULL, m), ACK_BAD_FIELD, "bad Message-ID");
	t_fields(&f);
	f.message_id = NULL;
	CHECK_INT(t_render(&f, NULL, m), ACK_BAD_FIELD, "no Message-ID");
	CHECK_STR(ack_status_name(ACK_BAD_RECIPIENT), "bad_recipient",
	          "status name");
	free(m);
}

/* test_template - placeholders, unknown names, line ends */
static void
test_template(void)
{
	static const char *const atts[] = {"C:\\Users\\x\\evil.exe",
	                                   "../../etc/passwd", "ok.png"};
	struct ack_fields f;
	struct t_msg *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return;
	t_fields(&f);
	f.attachments = atts;
	f.n_attachments = 3;
	CHECK_INT(
	    t_render(&f,
	             "{ticket_id}|{summary}|{category}|{priority}|{due_at}|"
	             "{order_no}|{attachments}|{unknown}|{|}|{ticket_id\n"
	             "a\rb\r\nc",
	             m),
	    ACK_OK, "custom template renders");
	CHECK_STR(m->body,
	          "CM-20231105-001|角色数据丢失需恢复|data_loss|urgent|"
	          "2023-11-05T16:33:00+08:00|123456, 884213|evil.exe, passwd, "
	          "ok.png|{unknown}|{|}|{ticket_id\r\na\r\nb\r\nc\r\n",
	          "placeholders expanded, unknown kept, CRLF everywhere");
	free(m->body);

	/* empty values print as "-" */
	memset(&f, 0, sizeof(f));
	f.ticket_id = "CM-1";
	f.to = "a@b.cn";
	f.from = "s@example.com";
	f.message_id = "<x@y>";
	CHECK_INT(t_render(&f,
	                   "{summary}{category}{priority}{due_at}"
	                   "{order_no}{attachments}\n",
	                   m),
	          ACK_OK, "empty fields render");
	CHECK_STR(m->body, "------\r\n", "empty values are -");
	free(m->body);
	{
		static const char *const blank[] = {"\r\n", "", NULL, "\x01"};

		f.order_numbers = blank;
		f.n_order_numbers = 4;
		CHECK_INT(t_render(&f, "{order_no}", m), ACK_OK,
		          "blank list items render");
		CHECK_STR(m->body, "-\r\n", "blank items skipped");
		f.order_numbers = NULL;
		f.n_order_numbers = 0;
	}
	CHECK_STR(t_hdr(m, "In-Reply-To"), NULL, "no In-Reply-To");
	CHECK_STR(t_hdr(m, "References"), NULL, "no References");
	{
		char dec[256];

		t_decode_2047(t_hdr(m, "Subject"), dec, sizeof(dec));
		CHECK_STR(dec, "[CM-1] 已受理 / Received",
		          "subject without summary");
	}
	free(m->body);

	/* show_formats: the help follows a custom template too */
	t_fields(&f);
	f.show_formats = true;
	CHECK_INT(t_render(&f, "Thanks {ticket_id}", m), ACK_OK,
	          "formats render");
	CHECK(m->body != NULL &&
	          strncmp(m->body, "Thanks CM-20231105-001\r\n\r\n", 26) == 0,
	      "template text first");
	CHECK(m->body != NULL &&
	          strstr(m->body, "邮件主题格式 / Subject formats:\r\n") !=
	              NULL,
	      "formats help appended");
	CHECK(m->body != NULL && m->body_len >= 2 &&
	          memcmp(m->body + m->body_len - 2, "\r\n", 2) == 0,
	      "body ends in CRLF");
	free(m->body);
	free(m);
}

/* t_write - write n bytes of p to path */
static int
t_write(const char *path, const void *p, size_t n)
{
	FILE *fp = fopen(path, "wb");
	int rc = 0;

	if (fp == NULL)
		return -1;
	if (n > 0 && fwrite(p, 1, n, fp) != n)
		rc = -1;
	if (fclose(fp) != 0)
		rc = -1;
	return rc;
}

/* test_template_load - built-in, files, size limit, UTF-8 */
static void
test_template_load(void)
{
	char dir[] = "/tmp/test_ack.XXXXXX", path[64], err[256];
	char *text = NULL, *big;
	int rc;

	CHECK_INT(ack_template_load(NULL, &text, err, sizeof(err)), ACK_OK,
	          "built-in (NULL)");
	CHECK_STR(text, ack_builtin_template(), "built-in text");
	CHECK(text != NULL && strstr(text, "{ticket_id}") != NULL &&
	          strstr(text, "感谢") != NULL && strstr(text, "Thank") != NULL,
	      "built-in is bilingual");
	free(text);
	CHECK_INT(ack_template_load("", &text, err, sizeof(err)), ACK_OK,
	          "built-in (\"\")");
	free(text);
	if (mkdtemp(dir) == NULL) {
		CHECK(0, "mkdtemp");
		return;
	}
	(void)snprintf(path, sizeof(path), "%s/t.txt", dir);
	big = malloc(ACK_TEMPLATE_MAX + 1);
	if (big == NULL) {
		CHECK(0, "malloc");
		return;
	}
	memset(big, 'a', ACK_TEMPLATE_MAX + 1);
	memcpy(big, "你好 {ticket_id}\n", strlen("你好 {ticket_id}\n"));

	CHECK_INT(t_write(path, big, ACK_TEMPLATE_MAX), 0, "write max");
	rc = ack_template_load(path, &text, err, sizeof(err));
	CHECK_INT(rc, ACK_OK, "template at the limit");
	CHECK(text != NULL && strlen(text) == ACK_TEMPLATE_MAX,
	      "whole template read");
	free(text);

	CHECK_INT(t_write(path, big, ACK_TEMPLATE_MAX + 1), 0, "write max+1");
	err[0] = '\0';
	rc = ack_template_load(path, &text, err, sizeof(err));
	CHECK_INT(rc, ACK_BAD_TEMPLATE, "template one past the limit");
	CHECK(strstr(err, "too large") != NULL, "err says too large");
	CHECK(text == NULL, "no text on failure");

	CHECK_INT(t_write(path, "ok \xe4\xbd\n", 6), 0, "write bad utf8");
	err[0] = '\0';
	CHECK_INT(ack_template_load(path, &text, err, sizeof(err)),
	          ACK_BAD_TEMPLATE, "invalid UTF-8 rejected");
	CHECK(strstr(err, "UTF-8") != NULL, "err says UTF-8");

	CHECK_INT(t_write(path, "a\0b", 3), 0, "write NUL");
	CHECK_INT(ack_template_load(path, &text, err, sizeof(err)),
	          ACK_BAD_TEMPLATE, "NUL rejected");

	CHECK_INT(ack_template_load(dir, &text, err, sizeof(err)),
	          ACK_BAD_TEMPLATE, "directory rejected");
	(void)unlink(path);
	err[0] = '\0';
	CHECK_INT(ack_template_load(path, &text, err, sizeof(err)),
	          ACK_BAD_TEMPLATE, "missing file rejected");
	CHECK(strstr(err, "cannot open") != NULL, "err says cannot open");
	(void)rmdir(dir);
	free(big);
}

/* test_references - bounded to the last ACK_REFERENCES_MAX */
static void
test_references(void)
{
	char ids[15][32];
	const char *refs[15];
	struct ack_fields f;
	struct t_msg *m = calloc(1, sizeof(*m));
	char want[1024];
	size_t i, o = 0;

	if (m == NULL)
		return;
	for (i = 0; i < 15; i++) {
		(void)snprintf(ids[i], sizeof(ids[i]), "<r%zu@example.cn>", i);
		refs[i] = ids[i];
	}
	t_fields(&f);
	f.orig_references = refs;
	f.n_orig_references = 15;
	CHECK_INT(t_render(&f, NULL, m), ACK_OK, "15 references render");
	for (i = 6; i < 15; i++)
		o +=
		    (size_t)snprintf(want + o, sizeof(want) - o, "%s ", ids[i]);
	(void)snprintf(want + o, sizeof(want) - o, "<orig@example.cn>");
	CHECK_STR(t_hdr(m, "References"), want, "last 9 + original");
	free(m->body);

	/* the original already last in References is not repeated */
	t_fields(&f);
	refs[0] = "<orig@example.cn>";
	f.orig_references = refs;
	f.n_orig_references = 1;
	CHECK_INT(t_render(&f, NULL, m), ACK_OK, "dup reference renders");
	CHECK_STR(t_hdr(m, "References"), "<orig@example.cn>", "no repeat");
	free(m->body);

	/* over-long ids are dropped; every line stays under 998 bytes */
	{
		static char longid[ACK_MSGID_MAX + 2];
		static char okid[ACK_MSGID_MAX + 1];
		const char *lr[10];

		memset(longid, 'a', sizeof(longid) - 1);
		longid[0] = '<';
		longid[ACK_MSGID_MAX] = '>';
		longid[ACK_MSGID_MAX + 1] = '\0';
		memset(okid, 'b', sizeof(okid) - 1);
		okid[0] = '<';
		okid[ACK_MSGID_MAX - 1] = '>';
		okid[ACK_MSGID_MAX] = '\0';
		for (i = 0; i < 10; i++)
			lr[i] = i == 0 ? longid : okid;
		t_fields(&f);
		f.orig_references = lr;
		f.n_orig_references = 10;
		f.summary =
		    "长长长长长长长长长长长长长长长长长长长长长长长长长长"
		    "长长长长长长长长长长长长长长长长长长长长长长长长长长"
		    "长长长长长长长长长长长长长长长长长长长长长长长长长长"
		    "长长长长长长长长长长长长长长长长长长长长长长长长长长";
		CHECK_INT(t_render(&f, NULL, m), ACK_OK, "long ids render");
		CHECK(m->longest_line <= 998, "header lines <= 998 bytes");
		/* "References: " and one id at most */
		CHECK_INT(m->longest_line, 12 + ACK_MSGID_MAX,
		          "one id per line");
		CHECK(strstr(t_hdr(m, "References"), longid) == NULL,
		      "over-long id dropped");
		CHECK(strstr(t_hdr(m, "References"), okid) != NULL,
		      "id at the limit kept");
		free(m->body);
	}
	free(m);
}

/* test_limits - a full output buffer fails cleanly */
static void
test_limits(void)
{
	struct ack_fields f;
	struct buf out;
	char err[128] = "";

	t_fields(&f);
	buf_init(&out, 300);
	CHECK(buf_append_str(&out, "keep") == 0, "prefill");
	CHECK_INT(ack_render(&f, NULL, &out, err, sizeof(err)), ACK_NOMEM,
	          "small buffer refused");
	CHECK_STR(out.data, "keep", "out unchanged on failure");
	CHECK(err[0] != '\0', "err set");
	buf_free(&out);
}

/* test_message_id - fresh ids, bad domains refused */
static void
test_message_id(void)
{
	char a[ACK_MSGID_BUF], b[ACK_MSGID_BUF], small[20], addr[300];
	size_t i, n;

	CHECK_INT(ack_new_message_id("example.com", a, sizeof(a)), 0, "new id");
	CHECK_INT(ack_new_message_id("example.com", b, sizeof(b)), 0,
	          "second id");
	CHECK(strcmp(a, b) != 0, "ids differ");
	n = strlen(a);
	CHECK(strncmp(a, "<ticketd.", 9) == 0 &&
	          strcmp(a + n - 13, "@example.com>") == 0,
	      "id shape");
	for (i = 1; i + 1 < n; i++) {
		if (a[i] <= ' ' || a[i] == '<' || a[i] == '>')
			break;
	}
	CHECK_INT(i, n - 1, "id has no blanks or brackets");
	CHECK_INT(ack_new_message_id("exa mple.com", a, sizeof(a)), -1,
	          "blank in domain");
	CHECK_INT(ack_new_message_id("example.com>\r\nX: y", a, sizeof(a)), -1,
	          "CRLF in domain");
	CHECK_INT(ack_new_message_id("", a, sizeof(a)), -1, "empty domain");
	CHECK_INT(ack_new_message_id("a..b", a, sizeof(a)), -1, "empty label");
	CHECK_INT(ack_new_message_id("example.com", small, sizeof(small)), -1,
	          "short buffer");

	CHECK_INT(ack_from_address("樱花影院客服 <support@example.com>", addr,
	                           sizeof(addr)),
	          0, "from address");
	CHECK_STR(addr, "support@example.com", "from address value");
	CHECK_INT(ack_from_address("support@example.com", addr, sizeof(addr)),
	          0, "bare from address");
	CHECK_STR(addr, "support@example.com", "bare from value");
	CHECK_INT(ack_from_address("x <a@b> trailing", addr, sizeof(addr)), -1,
	          "junk after address");
	CHECK_INT(ack_from_address("x <a@b>", addr, 3), -1, "short buffer");
}

/* main - run every group */
int
main(void)
{
	test_golden();
	test_from_forms();
	test_injection();
	test_recipient();
	test_own_fields();
	test_template();
	test_template_load();
	test_references();
	test_limits();
	test_message_id();
	return test_done();
}

/* SPDX-License-Identifier: MIT */
/*
 * test_parser.c - the parser's front door: header decoding, body choice,
 * the MIME walk (nesting, message/rfc822, HTML-only), every limit at the
 * limit and one past it, malformed input, and every static ack-suppression
 * rule of SPEC §7.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "parser/parser.h"
#include "tests/harness.h"

#define CRLF "\r\n"
#define PDF_CT                                                                 \
	"Content-Type: application/pdf; name=\"=?UTF-8?B?5oql5ZGKLnBkZg==?=\""

/* parse - run the parser with settings s on a C string message */
static int
parse(const struct parser_settings *s, const char *raw, size_t len,
      struct parser_msg **m, char *err, size_t errlen)
{
	struct parser *p = NULL;
	int rc;

	if (parser_new(s, &p, err, errlen) != PARSER_OK)
		return -100;
	rc = parser_parse(p, raw, len, m, err, errlen);
	parser_free(&p);
	return rc;
}

/* simple - parse with defaults, must succeed */
static struct parser_msg *
simple(const char *raw)
{
	struct parser_msg *m = NULL;
	char err[256] = "";
	int rc = parse(NULL, raw, strlen(raw), &m, err, sizeof(err));

	if (!CHECK(rc == PARSER_OK || rc == PARSER_TRUNCATED, err))
		return NULL;
	return m;
}

/* test_headers - decoded fields, ids, requester */
static void
test_headers(void)
{
	struct parser_msg *m = simple(
	    "Return-Path: <Zhang@Example.CN>" CRLF
	    "From: =?GBK?B?1cXI/Q==?= <Zhang@Example.CN>" CRLF
	    "Reply-To: \"Zhang San\" <reply@example.cn>" CRLF
	    "To: support@example.com" CRLF
	    "Subject: =?UTF-8?B?6YCA56Wo55Sz6K+3?=:" CRLF
	    " =?UTF-8?Q?=E8=AE=A2=E5=8D=95=E5=8F=B7123456?=" CRLF
	    "Message-ID: <m1@example.cn>" CRLF
	    "In-Reply-To: <ack1@example.com>" CRLF
	    "References: <a@x> <b@y>" CRLF "\t<c@z>" CRLF
	    "Date: Sun, 05 Nov 2023 16:23:00 +0800" CRLF CRLF "hello" CRLF);

	if (m == NULL)
		return;
	CHECK_STR(m->from, "zhang@example.cn", "from lower-cased");
	CHECK_STR(m->from_name, "张三", "GBK display name");
	CHECK_STR(m->reply_to, "reply@example.cn", "reply-to");
	CHECK_STR(m->requester, "reply@example.cn", "requester is Reply-To");
	CHECK_STR(m->return_path, "zhang@example.cn", "return path");
	CHECK_STR(m->subject, "退票申请: 订单号123456",
	          "folded subject keeps the space before the word");
	CHECK_STR(m->message_id, "<m1@example.cn>", "message id");
	CHECK_STR(m->in_reply_to, "<ack1@example.com>", "in-reply-to");
	CHECK_INT(m->references.n, 3, "references count");
	if (m->references.n == 3)
		CHECK_STR(m->references.v[2], "<c@z>", "folded reference");
	CHECK_STR(m->format, "refund", "refund format");
	CHECK_STR(m->category, "ticketing_refund", "refund category");
	CHECK_INT(m->order_numbers.n, 1, "one order number");
	CHECK_STR(m->body_text, "hello", "body");
	CHECK(m->ack_suppress == NULL, "ack queued");
	parser_msg_free(&m);
	CHECK(m == NULL, "free sets NULL");
}

/* test_body_choice - alternative prefers plain; HTML only is rendered */
static void
test_body_choice(void)
{
	struct parser_msg *m;

	m = simple(
	    "From: a@b.cn" CRLF "Subject: x" CRLF
	    "Content-Type: multipart/alternative; boundary=A" CRLF CRLF
	    "--A" CRLF "Content-Type: text/plain; charset=utf-8" CRLF CRLF
	    "plain text" CRLF "--A" CRLF "Content-Type: text/html" CRLF CRLF
	    "<p>html text</p>" CRLF "--A--" CRLF);
	if (m != NULL) {
		CHECK_STR(m->body_text, "plain text", "alternative -> plain");
		CHECK_INT(m->n_attachments, 0, "no attachments");
		parser_msg_free(&m);
	}
	m = simple("From: a@b.cn" CRLF "Subject: x" CRLF
	           "Content-Type: text/html; charset=gb2312" CRLF
	           "Content-Transfer-Encoding: base64" CRLF CRLF
	           /* <p>订单号：A1B2C3</p><script>x()</script>&amp;end */
	           "PHA+tqm1pbrFo7pBMUIyQzM8L3A+PHNjcmlwdD54KCk8L3NjcmlwdD4m"
	           "YW1wO2VuZA==" CRLF);
	if (m != NULL) {
		CHECK_STR(m->body_text, "订单号：A1B2C3\n&end",
		          "HTML-only rendered, script dropped, entity decoded");
		parser_msg_free(&m);
	}
}

/* test_nested - nested multiparts, message/rfc822, inline image */
static void
test_nested(void)
{
	struct parser_msg *m = simple(
	    "From: a@b.cn" CRLF "Subject: nested" CRLF
	    "Content-Type: multipart/mixed; boundary=O" CRLF CRLF "--O" CRLF
	    "Content-Type: multipart/related; boundary=R" CRLF CRLF "--R" CRLF
	    "Content-Type: text/plain" CRLF CRLF "body" CRLF "--R" CRLF
	    "Content-Type: image/png" CRLF
	    "Content-Transfer-Encoding: base64" CRLF CRLF "iVBORw0KGgo=" CRLF
	    "--R--" CRLF "--O" CRLF "Content-Type: message/rfc822" CRLF CRLF
	    "From: c@d.cn" CRLF "Subject: inner" CRLF CRLF "inner body" CRLF
	    "--O" CRLF PDF_CT CRLF "Content-Transfer-Encoding: base64" CRLF CRLF
	    "JVBERg==" CRLF "--O--" CRLF);

	if (m == NULL)
		return;
	CHECK_STR(m->body_text, "body", "outer body only");
	if (!CHECK_INT(m->n_attachments, 3, "three attachments")) {
		parser_msg_free(&m);
		return;
	}
	CHECK_STR(m->attachments[0].filename, "attachment-1",
	          "unnamed inline image");
	CHECK_STR(m->attachments[0].content_type, "image/png", "png type");
	CHECK_INT(m->attachments[0].size, 8, "png size");
	CHECK_STR(m->attachments[1].content_type, "message/rfc822", "eml");
	CHECK_STR(m->attachments[1].filename, "attachment-2.eml", "eml name");
	CHECK_STR(m->attachments[2].filename, "报告.pdf", "RFC 2047 name");
	CHECK_INT(m->attachments[2].size, 4, "pdf size");
	CHECK_STR(
	    m->attachments[2].sha256,
	    "315d429b7714cedb6ad04ac31240145257692630457f3c88253c5beceac76027",
	    "sha256 of %PDF");
	parser_msg_free(&m);
}

/* make_attachment_msg - one base64 attachment of size n */
static char *
make_attachment_msg(size_t n, const char *extra_headers)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	struct buf b;
	size_t i, col = 0;

	buf_init(&b, 0);
	(void)buf_printf(
	    &b,
	    "From: a@b.cn" CRLF "Subject: big" CRLF "%s"
	    "Content-Type: multipart/mixed; boundary=Z" CRLF CRLF "--Z" CRLF
	    "Content-Type: text/plain" CRLF CRLF "see file" CRLF "--Z" CRLF
	    "Content-Type: application/octet-stream" CRLF
	    "Content-Disposition: attachment; filename=\"../../etc/x.bin\"" CRLF
	    "Content-Transfer-Encoding: base64" CRLF CRLF,
	    extra_headers);
	/* n bytes of 'A'-pattern: every 3 bytes -> 4 chars "QUFB" */
	for (i = 0; i + 3 <= n; i += 3) {
		(void)buf_append_str(&b, "QUFB");
		col += 4;
		if (col >= 76) {
			(void)buf_append_str(&b, CRLF);
			col = 0;
		}
	}
	if (n % 3 == 1)
		(void)buf_append_str(&b, "QQ==");
	else if (n % 3 == 2)
		(void)buf_append_str(&b, "QUE=");
	(void)b64;
	(void)buf_append_str(&b, CRLF "--Z--" CRLF);
	return buf_steal(&b);
}

/* test_limits - attachment, parts, depth, header, message */
static void
test_limits(void)
{
	struct parser_settings s;
	struct parser_msg *m = NULL;
	struct buf b;
	char err[256];
	char *raw;
	size_t i;
	int rc;

	memset(&s, 0, sizeof(s));
	s.attachment_max = 3000;
	raw = make_attachment_msg(3000, "");
	rc = parse(&s, raw, strlen(raw), &m, err, sizeof(err));
	CHECK_INT(rc, PARSER_OK, "attachment at the limit");
	if (m != NULL && CHECK_INT(m->n_attachments, 1, "one attachment")) {
		CHECK_INT(m->attachments[0].skipped, PARSER_SKIP_NONE, "kept");
		CHECK_INT(m->attachments[0].size, 3000, "size");
		CHECK_STR(m->attachments[0].filename, "x.bin", "path removed");
	}
	parser_msg_free(&m);
	free(raw);
	raw = make_attachment_msg(3001, "");
	rc = parse(&s, raw, strlen(raw), &m, err, sizeof(err));
	CHECK_INT(rc, PARSER_TRUNCATED, "attachment one past the limit");
	if (m != NULL && CHECK_INT(m->n_attachments, 1, "still recorded")) {
		CHECK_INT(m->attachments[0].skipped, PARSER_SKIP_TOO_LARGE,
		          "skipped too large");
		CHECK_INT(m->attachments[0].size, 3001, "real size");
		CHECK(m->attachments[0].data == NULL, "no bytes kept");
		CHECK(m->notes.n >= 1, "a note says why");
		CHECK_STR(m->body_text, "see file", "body still there");
	}
	parser_msg_free(&m);
	free(raw);

	/* parts: max_parts leaves kept, one more skipped */
	memset(&s, 0, sizeof(s));
	s.max_parts = 5;
	for (i = 5; i <= 6; i++) {
		size_t k;

		buf_init(&b, 0);
		(void)buf_append_str(
		    &b, "From: a@b.cn" CRLF "Subject: p" CRLF
		        "Content-Type: multipart/mixed; boundary=P" CRLF CRLF);
		for (k = 0; k < i; k++)
			(void)buf_printf(&b,
			                 "--P" CRLF
			                 "Content-Type: image/gif" CRLF CRLF
			                 "GIF%zu" CRLF,
			                 k);
		(void)buf_append_str(&b, "--P--" CRLF);
		rc = parse(&s, b.data, b.len, &m, err, sizeof(err));
		CHECK_INT(rc, i == 5 ? PARSER_OK : PARSER_TRUNCATED,
		          "parts limit status");
		if (m != NULL) {
			CHECK_INT(m->n_attachments, i, "every part recorded");
			CHECK_INT(m->attachments[i - 1].skipped,
			          i == 5 ? PARSER_SKIP_NONE
			                 : PARSER_SKIP_TOO_MANY_PARTS,
			          "last part");
		}
		parser_msg_free(&m);
		buf_free(&b);
	}

	/* depth: nesting at the limit is walked, one more is skipped */
	memset(&s, 0, sizeof(s));
	s.max_depth = 3;
	for (i = 3; i <= 4; i++) {
		size_t k;

		buf_init(&b, 0);
		(void)buf_append_str(&b, "From: a@b.cn" CRLF "Subject: d" CRLF);
		for (k = 1; k < i; k++)
			(void)buf_printf(&b,
			                 "Content-Type: multipart/mixed; "
			                 "boundary=D%zu" CRLF CRLF
			                 "--D%zu" CRLF,
			                 k, k);
		(void)buf_append_str(&b, "Content-Type: image/gif" CRLF CRLF
		                         "GIF" CRLF);
		for (k = i - 1; k >= 1; k--)
			(void)buf_printf(&b, "--D%zu--" CRLF, k);
		rc = parse(&s, b.data, b.len, &m, err, sizeof(err));
		CHECK_INT(rc, i == 3 ? PARSER_OK : PARSER_TRUNCATED,
		          "depth limit status");
		if (m != NULL && CHECK_INT(m->n_attachments, 1, "one leaf"))
			CHECK_INT(m->attachments[0].skipped,
			          i == 3 ? PARSER_SKIP_NONE
			                 : PARSER_SKIP_TOO_DEEP,
			          "deep part");
		parser_msg_free(&m);
		buf_free(&b);
	}

	/* header block over the limit: truncated, still a ticket */
	memset(&s, 0, sizeof(s));
	s.header_max = 2048;
	buf_init(&b, 0);
	(void)buf_append_str(&b, "From: a@b.cn" CRLF "Subject: h" CRLF);
	for (i = 0; i < 100; i++)
		(void)buf_printf(&b, "X-Filler-%zu: %s" CRLF, i,
		                 "0123456789012345678901234567890123456789");
	(void)buf_append_str(&b, "Message-ID: <late@x>" CRLF CRLF "body" CRLF);
	rc = parse(&s, b.data, b.len, &m, err, sizeof(err));
	CHECK_INT(rc, PARSER_TRUNCATED, "header over the limit");
	if (m != NULL) {
		CHECK_STR(m->subject, "h", "early fields kept");
		CHECK(m->message_id == NULL, "fields past the limit ignored");
	}
	parser_msg_free(&m);
	buf_free(&b);

	/* message over message_max: attachment past the cut not fetched */
	memset(&s, 0, sizeof(s));
	s.message_max = 2048;
	raw = make_attachment_msg(6000, "");
	rc = parse(&s, raw, strlen(raw), &m, err, sizeof(err));
	CHECK_INT(rc, PARSER_TRUNCATED, "message over the limit");
	if (m != NULL && CHECK_INT(m->n_attachments, 1, "attachment listed"))
		CHECK_INT(m->attachments[0].skipped, PARSER_SKIP_NOT_FETCHED,
		          "not fetched");
	parser_msg_free(&m);
	free(raw);
}

/* test_malformed - defined outcomes for input that is not mail */
static void
test_malformed(void)
{
	static const struct {
		const char *raw;
		size_t len;
		int want;
	} cases[] = {
	    {"", 0, PARSER_MALFORMED},
	    {"\x01\x02\x03\xff\xfe garbage\n\n", 17, PARSER_MALFORMED},
	    {"no header here\r\n\r\nbody", 22, PARSER_MALFORMED},
	    {"From: a@b.cn\r\nContent-Type: multipart/mixed; "
	     "boundary=\"\\\"\"\r\n\r\n--\"\r\n\r\nx\r\n",
	     0, PARSER_MALFORMED},
	    {"From: a@b.cn\r\nSubject: nul\0inside\r\n\r\nbo\0dy", 40,
	     PARSER_OK},
	    {"From: a@b.cn\r\nContent-Type: multipart/mixed; boundary=X\r\n"
	     "\r\n--X\r\nContent-Type: text/plain\r\n\r\nno end",
	     0, PARSER_OK},
	    {"From: a@b.cn\r\nContent-Type: application/pdf\r\n"
	     "Content-Transfer-Encoding: base64\r\n\r\n!!!not base64***\r\n",
	     0, PARSER_OK},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct parser_msg *m = NULL;
		char err[256] = "", what[64];
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].raw);
		int rc = parse(NULL, cases[i].raw, len, &m, err, sizeof(err));

		(void)snprintf(what, sizeof(what), "malformed case %zu", i);
		if (cases[i].want == PARSER_OK)
			CHECK(rc == PARSER_OK || rc == PARSER_TRUNCATED, what);
		else
			CHECK_INT(rc, cases[i].want, what);
		if (rc == PARSER_MALFORMED) {
			CHECK(m == NULL, "no result on malformed");
			CHECK(err[0] != '\0', "a reason on malformed");
		}
		parser_msg_free(&m);
	}
}

/* test_suppression - every static rule of SPEC §7 */
static void
test_suppression(void)
{
	static const struct {
		const char *headers;
		const char *want; /* NULL: ack queued */
	} cases[] = {
	    {"From: a@b.cn\r\n", NULL},
	    {"From: a@b.cn\r\nAuto-Submitted: no\r\n", NULL},
	    {"From: a@b.cn\r\nAuto-Submitted: auto-replied\r\n",
	     "auto_submitted"},
	    {"From: a@b.cn\r\nAuto-Submitted: auto-generated\r\n",
	     "auto_submitted"},
	    {"From: a@b.cn\r\nPrecedence: bulk\r\n", "precedence"},
	    {"From: a@b.cn\r\nPrecedence: junk\r\n", "precedence"},
	    {"From: a@b.cn\r\nPrecedence: list\r\n", "precedence"},
	    {"From: a@b.cn\r\nList-Id: <x.lists.example>\r\n", "list"},
	    {"From: a@b.cn\r\nReturn-Path: <>\r\n", "null_sender"},
	    {"From: MAILER-DAEMON@b.cn\r\n", "robot_sender"},
	    {"From: postmaster@b.cn\r\n", "robot_sender"},
	    {"From: noreply@b.cn\r\n", "robot_sender"},
	    {"From: no-reply@b.cn\r\n", "robot_sender"},
	    {"From: Support <Support@Example.com>\r\n", "own_address"},
	    {"From: a@b.cn\r\nX-Auto-Response-Suppress: All\r\n",
	     "auto_response_suppress"},
	    {"From: a@b.cn\r\nX-Auto-Response-Suppress: OOF\r\n", NULL},
	    {"From: nobody\r\n", "no_sender"},
	    {"From: a@b.cn\r\nContent-Type: multipart/report; "
	     "report-type=delivery-status; boundary=R\r\n",
	     "bounce"},
	};
	static const char *const own[] = {"support@example.com"};
	struct parser_settings s;
	size_t i;

	memset(&s, 0, sizeof(s));
	s.own_addresses = own;
	s.n_own_addresses = 1;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct parser_msg *m = NULL;
		char err[256], what[64];
		struct buf b;
		int rc;

		buf_init(&b, 0);
		(void)buf_printf(
		    &b,
		    "%sSubject: s\r\n\r\n--R\r\n"
		    "Content-Type: text/plain\r\n\r\nbody\r\n--R--\r\n",
		    cases[i].headers);
		rc = parse(&s, b.data, b.len, &m, err, sizeof(err));
		(void)snprintf(what, sizeof(what), "suppression case %zu", i);
		if (CHECK(rc == PARSER_OK || rc == PARSER_TRUNCATED, what))
			CHECK_STR(m->ack_suppress, cases[i].want, what);
		parser_msg_free(&m);
		buf_free(&b);
	}
}

/* test_bounce - a DSN names the Message-ID of our ack */
static void
test_bounce(void)
{
	struct parser_msg *m = simple(
	    "From: MAILER-DAEMON@mx.example.cn" CRLF
	    "Subject: Undelivered Mail Returned to Sender" CRLF
	    "Content-Type: multipart/report; report-type=delivery-status;"
	    " boundary=B" CRLF CRLF "--B" CRLF
	    "Content-Type: text/plain" CRLF CRLF "failed" CRLF "--B" CRLF
	    "Content-Type: message/delivery-status" CRLF CRLF
	    "Reporting-MTA: dns; mx.example.cn" CRLF CRLF
	    "Final-Recipient: rfc822; gone@example.cn" CRLF
	    "Action: failed" CRLF "Status: 5.1.1" CRLF "--B" CRLF
	    "Content-Type: text/rfc822-headers" CRLF CRLF
	    "From: support@example.com" CRLF
	    "Message-ID: <ticketd.1.2@example.com>" CRLF
	    "Subject: [CM-20231105-001] ack" CRLF "--B--" CRLF);

	if (m == NULL)
		return;
	CHECK(m->is_bounce, "is a bounce");
	CHECK_STR(m->ack_suppress, "bounce", "never acked");
	if (CHECK_INT(m->bounce_refs.n, 1, "one ref"))
		CHECK_STR(m->bounce_refs.v[0], "<ticketd.1.2@example.com>",
		          "names our ack");
	parser_msg_free(&m);
}

/* test_bad_pattern - a config pattern that does not compile */
static void
test_bad_pattern(void)
{
	struct parser_pattern pat = {"broken", "([unclosed"};
	struct parser_settings s;
	struct parser *p = NULL;
	char err[256] = "";

	memset(&s, 0, sizeof(s));
	s.patterns = &pat;
	s.n_patterns = 1;
	CHECK_INT(parser_new(&s, &p, err, sizeof(err)), PARSER_BAD_CONFIG,
	          "bad pattern refused");
	CHECK(p == NULL, "no parser");
	CHECK(strstr(err, "broken") != NULL, "error names the pattern");
}

/* test_encode_header - outgoing header encoding */
static void
test_encode_header(void)
{
	struct buf b;

	buf_init(&b, 0);
	CHECK_INT(parser_encode_header("plain ascii", &b), 0, "encode ascii");
	CHECK_STR(b.data, "plain ascii", "ascii unchanged");
	buf_reset(&b);
	CHECK_INT(parser_encode_header("已受理\r\nBcc: x@y", &b), 0,
	          "encode utf-8");
	CHECK(b.data != NULL && strstr(b.data, "=?UTF-8?B?") != NULL,
	      "encoded word");
	CHECK(b.data != NULL && strstr(b.data, "Bcc") == NULL,
	      "nothing raw survives");
	buf_free(&b);
}

int
main(void)
{
	test_headers();
	test_body_choice();
	test_nested();
	test_limits();
	test_malformed();
	test_suppression();
	test_bounce();
	test_bad_pattern();
	test_encode_header();
	return test_done();
}

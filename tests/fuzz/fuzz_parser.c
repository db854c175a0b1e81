/* SPDX-License-Identifier: MIT */
/*
 * fuzz_parser.c - libFuzzer target for parser_parse, the one entry point
 * that sees raw mail.  Each input is parsed twice: by a parser with the
 * default limits plus two user patterns, and by one with tiny limits so the
 * truncation paths run too.  Every result is walked and checked against the
 * promises of parser/parser.h (valid UTF-8, no controls but the LF, CRLF
 * and TAB of body text, non-empty names, skipped parts without data, ...);
 * a broken promise aborts, so ASan and UBSan see every byte the parser
 * hands out.  Set TICKETD_FUZZ_LAX=1 to report broken promises on stderr
 * without aborting.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strlist.h"
#include "common/utf8.h"
#include "parser/parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The parsers live for the whole process (created on first use). */
static struct parser *fuzz_default;
static struct parser *fuzz_tight;
static bool fuzz_lax;

static const struct parser_pattern fuzz_patterns[] = {
    {"user-ticket", "^(?:工单|ticket)\\s*[:：#]?\\s*"
                    "(?<ticket_id>[A-Z]{2,8}-\\d{8}-\\d{3,})"},
    {"user-vip", "(?i)^\\[vip\\]\\s*\\[(?<user_id>[A-Za-z0-9_-]{3,32})\\]"
                 "\\s*(?<summary>.*)$"},
};

static const char *const fuzz_own[] = {"support@example.com"};

/* fuzz_fail - a broken promise: abort, or just say so in lax mode. */
static void
fuzz_fail(const char *what, const char *detail)
{
	static unsigned long reported;

	/* Lax mode reports the first few only: fuzzing runs millions. */
	if (fuzz_lax && reported >= 20)
		return;
	reported++;
	fprintf(stderr, "fuzz_parser: %s%s%s\n", what,
	        detail != NULL ? ": " : "", detail != NULL ? detail : "");
	if (!fuzz_lax)
		abort();
}

/* fuzz_cleanup - free both parsers at exit so leak checkers stay quiet. */
static void
fuzz_cleanup(void)
{
	parser_free(&fuzz_default);
	parser_free(&fuzz_tight);
}

/* fuzz_init - create both parsers once; abort when that fails. */
static void
fuzz_init(void)
{
	struct parser_settings s;
	char err[256];
	const char *lax;

	lax = getenv("TICKETD_FUZZ_LAX");
	fuzz_lax = lax != NULL && lax[0] != '\0' && lax[0] != '0';

	memset(&s, 0, sizeof(s));
	s.patterns = fuzz_patterns;
	s.n_patterns = sizeof(fuzz_patterns) / sizeof(fuzz_patterns[0]);
	s.own_addresses = fuzz_own;
	s.n_own_addresses = 1;
	err[0] = '\0';
	if (parser_new(&s, &fuzz_default, err, sizeof(err)) != PARSER_OK) {
		fprintf(stderr, "fuzz_parser: parser_new: %s\n", err);
		abort();
	}

	memset(&s, 0, sizeof(s));
	s.attachment_max = 512;
	s.message_max = 8192;
	s.max_parts = 4;
	s.max_depth = 3;
	s.header_max = 2048;
	s.ticket_prefix = "TK";
	if (parser_new(&s, &fuzz_tight, err, sizeof(err)) != PARSER_OK) {
		fprintf(stderr, "fuzz_parser: parser_new (tight): %s\n", err);
		abort();
	}
	if (atexit(fuzz_cleanup) != 0)
		abort();
}

/* fuzz_text - check that s is valid UTF-8 without controls (LF and TAB
   allowed when is_body); NULL is fine unless required. */
static size_t
fuzz_text(const char *s, const char *field, bool is_required, bool is_body)
{
	const unsigned char *p;
	size_t len, i, n;
	unsigned int cp;
	char what[64];

	if (s == NULL) {
		if (is_required)
			fuzz_fail("NULL string", field);
		return 0;
	}
	len = strlen(s);
	p = (const unsigned char *)s;
	for (i = 0; i < len; i += n) {
		n = utf8_decode(p + i, len - i, &cp);
		if (n == 0) {
			fuzz_fail("invalid UTF-8", field);
			return len;
		}
		/* Body text keeps its line structure: LF, CRLF and TAB. */
		if (is_body && (cp == '\n' || cp == '\t' ||
		                (cp == '\r' && p[i + 1] == '\n')))
			continue;
		if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
			(void)snprintf(what, sizeof(what),
			               "control character U+%04X at byte %zu",
			               cp, i);
			fuzz_fail(what, field);
			return len;
		}
	}
	return len;
}

/* fuzz_list - check every string of a strlist. */
static void
fuzz_list(const struct strlist *l, const char *field)
{
	size_t i;

	if (l->n > 0 && l->v == NULL)
		fuzz_fail("strlist without array", field);
	for (i = 0; i < l->n; i++)
		(void)fuzz_text(l->v[i], field, true, false);
}

/* fuzz_attachment - check one attachment's promises. */
static void
fuzz_attachment(const struct parser_attachment *a)
{
	const char *c;
	size_t i, len;
	unsigned int sum;

	if (fuzz_text(a->filename, "attachment.filename", true, false) == 0)
		fuzz_fail("empty filename", NULL);
	if (a->filename != NULL && (strchr(a->filename, '/') != NULL ||
	                            strchr(a->filename, '\\') != NULL))
		fuzz_fail("path in filename", a->filename);
	if (fuzz_text(a->content_type, "attachment.content_type", true,
	              false) == 0)
		fuzz_fail("empty content type", NULL);
	for (c = a->content_type; c != NULL && *c != '\0'; c++)
		if (*c >= 'A' && *c <= 'Z')
			fuzz_fail("upper-case content type", a->content_type);
	len = strnlen(a->sha256, sizeof(a->sha256));
	if (len == sizeof(a->sha256))
		fuzz_fail("sha256 not terminated", NULL);
	if (a->skipped == PARSER_SKIP_NONE) {
		if (len != 64)
			fuzz_fail("kept attachment without sha256", NULL);
		if (a->data == NULL && a->size > 0)
			fuzz_fail("kept attachment without data", NULL);
		/* Touch every byte so ASan checks the whole allocation. */
		sum = 0;
		for (i = 0; i < a->size; i++)
			sum += a->data[i];
		if (sum == 0xffffffffu)
			fuzz_fail("unlikely checksum", NULL);
	} else {
		if (a->data != NULL)
			fuzz_fail("skipped attachment with data", NULL);
		if (len != 0)
			fuzz_fail("skipped attachment with sha256", NULL);
		(void)fuzz_text(parser_skip_name(a->skipped), "skip name", true,
		                false);
	}
	for (i = 0; i < len; i++)
		if (!((a->sha256[i] >= '0' && a->sha256[i] <= '9') ||
		      (a->sha256[i] >= 'a' && a->sha256[i] <= 'f')))
			fuzz_fail("sha256 not lower-case hex", a->sha256);
}

/* fuzz_msg - walk a whole result. */
static void
fuzz_msg(const struct parser_msg *m)
{
	size_t i;

	(void)fuzz_text(m->from, "from", false, false);
	(void)fuzz_text(m->from_name, "from_name", false, false);
	(void)fuzz_text(m->reply_to, "reply_to", false, false);
	(void)fuzz_text(m->return_path, "return_path", false, false);
	(void)fuzz_text(m->to, "to", false, false);
	(void)fuzz_text(m->message_id, "message_id", false, false);
	(void)fuzz_text(m->in_reply_to, "in_reply_to", false, false);
	fuzz_list(&m->references, "references");
	(void)fuzz_text(m->date, "date", false, false);
	(void)fuzz_text(m->auto_submitted, "auto_submitted", false, false);
	(void)fuzz_text(m->precedence, "precedence", false, false);
	(void)fuzz_text(m->list_id, "list_id", false, false);
	(void)fuzz_text(m->x_auto_response_suppress, "x_auto_response_suppress",
	                false, false);
	(void)fuzz_text(m->content_type, "content_type", false, false);
	(void)fuzz_text(m->subject, "subject", true, false);
	(void)fuzz_text(m->subject_norm, "subject_norm", false, false);
	(void)fuzz_text(m->requester, "requester", false, false);
	(void)fuzz_text(m->format, "format", true, false);
	(void)fuzz_text(m->ticket_ref, "ticket_ref", false, false);
	(void)fuzz_text(m->priority, "priority", true, false);
	(void)fuzz_text(m->user_id, "user_id", false, false);
	fuzz_list(&m->order_numbers, "order_numbers");
	fuzz_list(&m->screening_numbers, "screening_numbers");
	(void)fuzz_text(m->category, "category", false, false);
	(void)fuzz_text(m->kind, "kind", false, false);
	(void)fuzz_text(m->summary, "summary", false, false);
	if (fuzz_text(m->body_text, "body_text", true, true) != m->body_len)
		fuzz_fail("body_len is not strlen(body_text)", NULL);
	if (m->n_attachments > 0 && m->attachments == NULL)
		fuzz_fail("attachments array missing", NULL);
	for (i = 0; i < m->n_attachments; i++)
		fuzz_attachment(&m->attachments[i]);
	(void)fuzz_text(m->ack_suppress, "ack_suppress", false, false);
	fuzz_list(&m->bounce_refs, "bounce_refs");
	fuzz_list(&m->notes, "notes");
}

/* fuzz_one - parse with p and check the outcome. */
static void
fuzz_one(struct parser *p, const uint8_t *data, size_t size)
{
	struct parser_msg *m = NULL;
	char err[256];
	int rc;

	err[0] = '\0';
	rc = parser_parse(p, data, size, &m, err, sizeof(err));
	switch (rc) {
	case PARSER_OK:
	case PARSER_TRUNCATED:
		if (m == NULL) {
			fuzz_fail("success without a result", NULL);
			return;
		}
		fuzz_msg(m);
		break;
	case PARSER_MALFORMED:
	case PARSER_NOMEM:
		if (m != NULL)
			fuzz_fail("failure with a result", NULL);
		(void)fuzz_text(err, "err", true, false);
		break;
	default:
		fuzz_fail("unexpected status", parser_status_name(rc));
		break;
	}
	(void)fuzz_text(parser_status_name(rc), "status name", true, false);
	parser_msg_free(&m);
	if (m != NULL)
		fuzz_fail("parser_msg_free did not clear the pointer", NULL);
}

/* LLVMFuzzerTestOneInput - libFuzzer entry point: one input. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fuzz_default == NULL)
		fuzz_init();
	fuzz_one(fuzz_default, data, size);
	fuzz_one(fuzz_tight, data, size);
	return 0;
}

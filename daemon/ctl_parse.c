/* SPDX-License-Identifier: MIT */
/*
 * ctl_parse.c - `ticketctl parse FILE...`: run the parser on messages and
 * print what it extracted, as a table or as JSON (SPEC §10), without
 * touching the store.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "glue.h"
#include "json.h"
#include "parser/parser.h"
#include "ticketctl.h"

/* ack_text - "queued" or "suppressed:<reason>" for a first message */
static void
ack_text(const struct parser_msg *m, char *buf, size_t len)
{
	if (m->ack_suppress != NULL)
		(void)snprintf(buf, len, "suppressed:%s", m->ack_suppress);
	else
		(void)snprintf(buf, len, "queued");
}

/* json_list - a string list as a JSON array */
static void
json_list(struct json *j, const char *key, const struct strlist *l)
{
	size_t i;

	json_key(j, key);
	json_begin_array(j);
	for (i = 0; i < l->n; i++)
		json_string(j, l->v[i]);
	json_end_array(j);
}

/* print_json - one message as a JSON object */
static void
print_json(struct json *j, const char *file, int status, const char *err,
           const struct parser_msg *m)
{
	char ack[64];
	size_t i;

	json_begin_object(j);
	json_kv_string(j, "file", file);
	json_kv_string(j, "status", parser_status_name(status));
	json_kv_string(j, "error", m == NULL ? err : NULL);
	if (m != NULL) {
		ack_text(m, ack, sizeof(ack));
		json_kv_string(j, "subject", m->subject);
		json_kv_string(j, "subject_normalised", m->subject_norm);
		json_kv_string(j, "format", m->format);
		json_kv_string(j, "ticket_ref", m->ticket_ref);
		json_kv_string(j, "priority", m->priority);
		json_kv_string(j, "category", m->category);
		json_kv_string(j, "kind", m->kind);
		json_kv_bool(j, "review", m->is_review);
		json_kv_string(j, "requester", m->requester);
		json_kv_string(j, "from", m->from);
		json_kv_string(j, "from_name", m->from_name);
		json_kv_string(j, "message_id", m->message_id);
		json_kv_string(j, "in_reply_to", m->in_reply_to);
		json_list(j, "references", &m->references);
		json_kv_string(j, "date", m->date);
		json_kv_string(j, "user_id", m->user_id);
		json_list(j, "order_numbers", &m->order_numbers);
		json_list(j, "screening_numbers", &m->screening_numbers);
		json_kv_string(j, "summary", m->summary);
		json_kv_string(j, "content_type", m->content_type);
		json_kv_string(j, "text", m->body_text);
		json_key(j, "attachments");
		json_begin_array(j);
		for (i = 0; i < m->n_attachments; i++) {
			const struct parser_attachment *a = &m->attachments[i];

			json_begin_object(j);
			json_kv_string(j, "filename", a->filename);
			json_kv_string(j, "content_type", a->content_type);
			json_kv_int(j, "size", (long long)a->size);
			json_kv_string(
			    j, "sha256",
			    a->skipped == PARSER_SKIP_NONE ? a->sha256 : NULL);
			json_kv_string(j, "skipped",
			               a->skipped == PARSER_SKIP_NONE
			                   ? NULL
			                   : parser_skip_name(a->skipped));
			json_end_object(j);
		}
		json_end_array(j);
		json_kv_string(j, "ack", ack);
		json_kv_bool(j, "bounce", m->is_bounce);
		json_list(j, "bounce_refs", &m->bounce_refs);
		json_list(j, "notes", &m->notes);
	}
	json_end_object(j);
}

/* print_list - "a, b" or "-" */
static void
print_list(const char *label, const struct strlist *l)
{
	size_t i;

	printf("  %-12s ", label);
	if (l->n == 0)
		printf("-");
	for (i = 0; i < l->n; i++)
		printf("%s%s", i > 0 ? ", " : "", l->v[i]);
	printf("\n");
}

/* print_text - one message for a human */
static void
print_text(const char *file, int status, const char *err,
           const struct parser_msg *m)
{
	char ack[64];
	size_t i;

	printf("%s: %s\n", file, parser_status_name(status));
	if (m == NULL) {
		printf("  error        %s\n", err);
		printf("  outcome      quarantine\n");
		return;
	}
	ack_text(m, ack, sizeof(ack));
#define LINE(label, v) printf("  %-12s %s\n", label, (v) != NULL ? (v) : "-")
	LINE("subject", m->subject);
	LINE("format", m->format);
	LINE("ticket_ref", m->ticket_ref);
	LINE("requester", m->requester);
	LINE("priority", m->priority);
	LINE("category", m->category);
	LINE("kind", m->kind);
	LINE("review", m->is_review ? "yes" : "no");
	LINE("user_id", m->user_id);
	print_list("orders", &m->order_numbers);
	print_list("screenings", &m->screening_numbers);
	LINE("summary", m->summary);
	LINE("ack", ack);
#undef LINE
	for (i = 0; i < m->n_attachments; i++) {
		const struct parser_attachment *a = &m->attachments[i];

		printf("  attachment   %s (%s, %zu bytes%s%s)\n", a->filename,
		       a->content_type, a->size,
		       a->skipped != PARSER_SKIP_NONE ? ", skipped: " : "",
		       a->skipped != PARSER_SKIP_NONE
		           ? parser_skip_name(a->skipped)
		           : "");
	}
	for (i = 0; i < m->notes.n; i++)
		printf("  note         %s\n", m->notes.v[i]);
}

/* ctl_parse - the subcommand */
int
ctl_parse(struct ctl *ctl, int argc, char **argv)
{
	struct parser *p = NULL;
	struct json j;
	char err[256];
	int i, nfiles = 0, rc = CTL_OK;

	for (i = 0; i < argc; i++)
		if (strcmp(argv[i], "--json") == 0)
			ctl->json = true;
		else
			nfiles++;
	if (nfiles == 0) {
		fprintf(stderr, "usage: ticketctl parse [--json] FILE...\n");
		return CTL_USAGE;
	}
	if (glue_parser_new(ctl->cfg, &p, err, sizeof(err)) != PARSER_OK) {
		fprintf(stderr, "ticketctl: %s\n", err);
		return CTL_USAGE;
	}
	if (ctl->json) {
		json_init(&j, stdout);
		json_begin_array(&j);
	}
	for (i = 0; i < argc; i++) {
		struct parser_msg *m = NULL;
		size_t len;
		int over, status;
		char *raw;

		if (strcmp(argv[i], "--json") == 0)
			continue;
		raw =
		    glue_read_file(argv[i], ctl->cfg->message_max, &len, &over);
		if (raw == NULL) {
			fprintf(stderr, "ticketctl: %s: %s\n", argv[i],
			        strerror(errno));
			rc = CTL_NOT_FOUND;
			continue;
		}
		err[0] = '\0';
		status = parser_parse(p, raw, len, &m, err, sizeof(err));
		if (ctl->json)
			print_json(&j, argv[i], status, err, m);
		else
			print_text(argv[i], status, err, m);
		parser_msg_free(&m);
		free(raw);
		if (status == PARSER_NOMEM)
			rc = CTL_FAILED;
	}
	if (ctl->json)
		json_end_array(&j);
	parser_free(&p);
	return rc;
}

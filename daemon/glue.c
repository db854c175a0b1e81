/* SPDX-License-Identifier: MIT */
/* glue.c - config -> parser, file reading (see glue.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "glue.h"

/* glue_addr_of - extract and lower-case an address */
void
glue_addr_of(const char *s, char *out, size_t outlen)
{
	const char *lt = strrchr(s, '<'), *gt;
	size_t n, i;

	out[0] = '\0';
	if (lt != NULL) {
		gt = strchr(lt, '>');
		if (gt == NULL)
			return;
		s = lt + 1;
		n = (size_t)(gt - s);
	} else {
		while (*s == ' ')
			s++;
		n = strcspn(s, " \t");
	}
	if (n == 0 || n >= outlen || memchr(s, '@', n) == NULL)
		return;
	for (i = 0; i < n; i++)
		out[i] =
		    (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] + 32) : s[i];
	out[n] = '\0';
}

/* glue_parser_new - parser from config */
int
glue_parser_new(const struct config *cfg, struct parser **parser_r, char *err,
                size_t errlen)
{
	struct parser_pattern pats[CONFIG_NAMED_MAX];
	struct parser_category cats[CONFIG_NAMED_MAX];
	struct parser_settings s;
	char own[2][256];
	const char *own_list[2];
	size_t i, n_own = 0;

	memset(&s, 0, sizeof(s));
	s.attachment_max = cfg->attachment_max;
	s.message_max = cfg->message_max;
	s.max_parts = (size_t)cfg->max_parts;
	s.max_depth = (size_t)cfg->max_depth;
	s.header_max = cfg->header_max;
	for (i = 0; i < cfg->n_patterns; i++) {
		pats[i].name = cfg->patterns[i].name;
		pats[i].regex = cfg->patterns[i].value;
	}
	s.patterns = pats;
	s.n_patterns = cfg->n_patterns;
	s.no_builtin_patterns = !cfg->builtin_patterns;
	for (i = 0; i < cfg->n_categories; i++) {
		cats[i].name = cfg->categories[i].name;
		cats[i].keywords = cfg->categories[i].value;
	}
	s.categories = cfg->n_categories > 0 ? cats : NULL;
	s.n_categories = cfg->n_categories;
	s.ticket_prefix = cfg->ticket_prefix;
	glue_addr_of(cfg->smtp_from, own[0], sizeof(own[0]));
	if (own[0][0] != '\0')
		own_list[n_own++] = own[0];
	glue_addr_of(cfg->imap_user, own[1], sizeof(own[1]));
	if (own[1][0] != '\0' && (n_own == 0 || strcmp(own[0], own[1]) != 0))
		own_list[n_own++] = own[1];
	s.own_addresses = own_list;
	s.n_own_addresses = n_own;
	return parser_new(&s, parser_r, err, errlen);
}

/* glue_store_settings - config to store settings */
void
glue_store_settings(const struct config *cfg, struct store_settings *ss)
{
	static char domain[256];
	const char *at;

	memset(ss, 0, sizeof(*ss));
	ss->state_dir = cfg->state_dir;
	ss->ticket_prefix = cfg->ticket_prefix;
	ss->timezone = cfg->ticket_timezone;
	ss->order_merge_days = (unsigned)cfg->order_merge_days;
	ss->no_order_merge = cfg->order_merge_days == 0;
	ss->due_urgent_min = (unsigned)cfg->due_urgent;
	ss->due_complaint_min = (unsigned)cfg->due_complaint;
	ss->due_normal_min = (unsigned)cfg->due_normal;
	ss->max_acks_per_sender = (unsigned)cfg->max_acks_per_sender;
	ss->no_acks = !cfg->ack_enabled;
	glue_addr_of(cfg->smtp_from, domain, sizeof(domain));
	at = strchr(domain, '@');
	ss->ack_domain = at != NULL ? at + 1 : NULL;
}

/* strv - a strlist as the const array the store takes */
static const char *const *
strv(const struct strlist *l)
{
	return (const char *const *)(void *)l->v;
}

/* glue_store_msg - parse result to filing request */
int
glue_store_msg(const struct parser_msg *pm, const void *raw, size_t len,
               const char *mailbox, uint32_t uidvalidity, uint32_t uid,
               const char *quarantine_reason, struct glue_msg *g)
{
	struct store_msg *sm = &g->sm;
	size_t i;

	memset(g, 0, sizeof(*g));
	sm->raw = raw;
	sm->raw_len = len;
	sm->mailbox = mailbox;
	sm->uidvalidity = uidvalidity;
	sm->uid = uid;
	sm->quarantine_reason = quarantine_reason;
	if (pm == NULL)
		return 0;
	sm->message_id = pm->message_id;
	sm->in_reply_to = pm->in_reply_to;
	sm->references = strv(&pm->references);
	sm->n_references = pm->references.n;
	sm->from = pm->from;
	sm->requester = pm->requester;
	sm->subject = pm->subject;
	sm->summary = pm->summary;
	sm->date = pm->date;
	sm->text = pm->body_text;
	sm->format = pm->format;
	sm->ticket_ref = pm->ticket_ref;
	sm->priority = pm->priority;
	sm->category = pm->category;
	sm->kind = pm->kind;
	sm->is_review = pm->is_review;
	sm->user_id = pm->user_id;
	sm->order_numbers = strv(&pm->order_numbers);
	sm->n_order_numbers = pm->order_numbers.n;
	sm->screening_numbers = strv(&pm->screening_numbers);
	sm->n_screening_numbers = pm->screening_numbers.n;
	sm->ack_suppress = pm->ack_suppress;
	sm->is_bounce = pm->is_bounce;
	sm->bounce_refs = strv(&pm->bounce_refs);
	sm->n_bounce_refs = pm->bounce_refs.n;
	if (pm->n_attachments > 0) {
		g->att = calloc(pm->n_attachments, sizeof(*g->att));
		if (g->att == NULL)
			return -1;
		for (i = 0; i < pm->n_attachments; i++) {
			const struct parser_attachment *a = &pm->attachments[i];

			g->att[i].filename = a->filename;
			g->att[i].content_type = a->content_type;
			g->att[i].data = a->data;
			g->att[i].size = a->size;
			g->att[i].sha256 = a->sha256;
			g->att[i].skipped = a->skipped == PARSER_SKIP_NONE
			                        ? NULL
			                        : parser_skip_name(a->skipped);
		}
		sm->attachments = g->att;
		sm->n_attachments = pm->n_attachments;
	}
	return 0;
}

/* glue_msg_clear - free the arrays */
void
glue_msg_clear(struct glue_msg *g)
{
	free(g->att);
	memset(g, 0, sizeof(*g));
}

/* glue_read_file - bounded whole-file read */
char *
glue_read_file(const char *path, size_t max, size_t *len_r, int *over_r)
{
	size_t cap = 65536, len = 0;
	char *buf, *nb;
	ssize_t n;
	int fd;

	*over_r = 0;
	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	buf = malloc(cap);
	if (buf == NULL)
		goto fail;
	for (;;) {
		if (len == cap) {
			if (cap > max) {
				*over_r = 1;
				break;
			}
			cap *= 2;
			nb = realloc(buf, cap);
			if (nb == NULL)
				goto fail;
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max) {
		*over_r = 1;
		len = max + 1;
	}
	if (fd != STDIN_FILENO)
		close(fd);
	*len_r = len;
	return buf;
fail : {
	int e = errno;

	free(buf);
	if (fd != STDIN_FILENO)
		close(fd);
	errno = e;
}
	return NULL;
}

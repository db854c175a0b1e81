/* SPDX-License-Identifier: MIT */
/*
 * parser.c - the parser's front door (see parser.h): scans the top-level
 * header block itself (bounded, tolerant of 8-bit and broken fields),
 * decodes the fields ticketd uses, runs the MIME walk, the subject rules
 * and the static ack-suppression rules of SPEC §7, and assembles one
 * struct parser_msg.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libetpan/libetpan.h>

#include "common/buf.h"
#include "common/utf8.h"
#include "charset.h"
#include "limits.h"
#include "mime.h"
#include "parser.h"
#include "rfc2047.h"
#include "rules.h"
#include "subject.h"

struct parser {
	struct parser_settings s;      /* limits resolved; pointers unused */
	struct rules *rules;           /* owned */
	struct rules_scratch *scratch; /* owned */
	struct charset_conv *cc;       /* owned */
	char **own;                    /* owned copies of own addresses */
	size_t n_own;
};

/* The header fields we read: raw value pointers into the message. */
enum hdr_id {
	H_FROM,
	H_REPLY_TO,
	H_RETURN_PATH,
	H_TO,
	H_MESSAGE_ID,
	H_IN_REPLY_TO,
	H_REFERENCES,
	H_DATE,
	H_SUBJECT,
	H_AUTO_SUBMITTED,
	H_PRECEDENCE,
	H_LIST_ID,
	H_XARS,
	H_COUNT
};

static const char *const hdr_names[H_COUNT] = {"from",
                                               "reply-to",
                                               "return-path",
                                               "to",
                                               "message-id",
                                               "in-reply-to",
                                               "references",
                                               "date",
                                               "subject",
                                               "auto-submitted",
                                               "precedence",
                                               "list-id",
                                               "x-auto-response-suppress"};

struct hdr_value {
	const char *p; /* borrowed from the raw message */
	size_t len;
};

/* parser_skip_name - static names */
const char *
parser_skip_name(enum parser_skip s)
{
	switch (s) {
	case PARSER_SKIP_NONE:
		return "none";
	case PARSER_SKIP_TOO_LARGE:
		return "too_large";
	case PARSER_SKIP_TOO_MANY_PARTS:
		return "too_many_parts";
	case PARSER_SKIP_TOO_DEEP:
		return "too_deep";
	case PARSER_SKIP_UNDECODABLE:
		return "undecodable";
	case PARSER_SKIP_NOT_FETCHED:
		return "not_fetched";
	}
	return "unknown";
}

/* parser_status_name - static names */
const char *
parser_status_name(int status)
{
	switch (status) {
	case PARSER_OK:
		return "ok";
	case PARSER_TRUNCATED:
		return "truncated";
	case PARSER_MALFORMED:
		return "malformed";
	case PARSER_BAD_CONFIG:
		return "bad_config";
	case PARSER_NOMEM:
		return "nomem";
	}
	return "unknown";
}

/* parser_formats_help - the documented formats */
const char *
parser_formats_help(void)
{
	return rules_formats_help();
}

/* parser_encode_header - RFC 2047 for outgoing headers */
int
parser_encode_header(const char *value, struct buf *out)
{
	return rfc2047_encode(value, out);
}

/* parser_free - release a parser */
void
parser_free(struct parser **pp)
{
	struct parser *p;
	size_t i;

	if (pp == NULL || *pp == NULL)
		return;
	p = *pp;
	rules_scratch_free(&p->scratch);
	rules_free(&p->rules);
	charset_conv_free(&p->cc);
	for (i = 0; i < p->n_own; i++)
		free(p->own[i]);
	free(p->own);
	free(p);
	*pp = NULL;
}

/* parser_new - resolve limits and compile the rules */
int
parser_new(const struct parser_settings *s, struct parser **parser_r, char *err,
           size_t errlen)
{
	static const struct parser_settings none;
	struct rules_settings rs;
	struct rules_pattern *pats = NULL;
	struct rules_category *cats = NULL;
	struct parser *p;
	size_t i;
	int rc;

	if (s == NULL)
		s = &none;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		goto nomem;
	p->s = *s;
	p->s.attachment_max =
	    s->attachment_max ? s->attachment_max : PARSER_ATTACHMENT_MAX;
	p->s.message_max = s->message_max ? s->message_max : PARSER_MESSAGE_MAX;
	p->s.max_parts = s->max_parts ? s->max_parts : PARSER_PARTS_MAX;
	p->s.max_depth = s->max_depth ? s->max_depth : PARSER_DEPTH_MAX;
	p->s.header_max = s->header_max ? s->header_max : PARSER_HEADER_MAX;
	p->s.patterns = NULL;
	p->s.categories = NULL;
	p->s.own_addresses = NULL;
	p->s.ticket_prefix = NULL;

	memset(&rs, 0, sizeof(rs));
	if (s->n_patterns > 0) {
		pats = calloc(s->n_patterns, sizeof(*pats));
		if (pats == NULL)
			goto nomem;
		for (i = 0; i < s->n_patterns; i++) {
			pats[i].name = s->patterns[i].name;
			pats[i].regex = s->patterns[i].regex;
		}
	}
	if (s->n_categories > 0) {
		cats = calloc(s->n_categories, sizeof(*cats));
		if (cats == NULL)
			goto nomem;
		for (i = 0; i < s->n_categories; i++) {
			cats[i].name = s->categories[i].name;
			cats[i].keywords = s->categories[i].keywords;
		}
	}
	rs.patterns = pats;
	rs.n_patterns = s->n_patterns;
	rs.no_builtins = s->no_builtin_patterns;
	rs.categories = cats;
	rs.n_categories = s->n_categories;
	rs.ticket_prefix = s->ticket_prefix;
	rc = rules_new(&rs, &p->rules, err, errlen);
	free(pats);
	pats = NULL;
	free(cats);
	cats = NULL;
	if (rc == RULES_BAD_PATTERN) {
		parser_free(&p);
		return PARSER_BAD_CONFIG;
	}
	if (rc != RULES_OK)
		goto nomem;
	p->scratch = rules_scratch_new(p->rules);
	p->cc = charset_conv_new();
	if (p->scratch == NULL || p->cc == NULL)
		goto nomem;
	if (s->n_own_addresses > 0) {
		p->own = calloc(s->n_own_addresses, sizeof(*p->own));
		if (p->own == NULL)
			goto nomem;
		for (i = 0; i < s->n_own_addresses; i++) {
			size_t k;

			p->own[i] = strdup(s->own_addresses[i]);
			if (p->own[i] == NULL)
				goto nomem;
			p->n_own++;
			for (k = 0; p->own[i][k] != '\0'; k++)
				if (p->own[i][k] >= 'A' && p->own[i][k] <= 'Z')
					p->own[i][k] += 'a' - 'A';
		}
	}
	*parser_r = p;
	return PARSER_OK;
nomem:
	free(pats);
	free(cats);
	parser_free(&p);
	(void)snprintf(err, errlen, "out of memory");
	return PARSER_NOMEM;
}

/* parser_msg_free - release a result */
void
parser_msg_free(struct parser_msg **mp)
{
	struct parser_msg *m;
	size_t i;

	if (mp == NULL || *mp == NULL)
		return;
	m = *mp;
	free(m->from);
	free(m->from_name);
	free(m->reply_to);
	free(m->return_path);
	free(m->to);
	free(m->message_id);
	free(m->in_reply_to);
	strlist_clear(&m->references);
	free(m->date);
	free(m->auto_submitted);
	free(m->precedence);
	free(m->list_id);
	free(m->x_auto_response_suppress);
	free(m->content_type);
	free(m->subject);
	free(m->subject_norm);
	free(m->requester);
	free(m->format);
	free(m->ticket_ref);
	free(m->priority);
	free(m->user_id);
	strlist_clear(&m->order_numbers);
	strlist_clear(&m->screening_numbers);
	free(m->category);
	free(m->kind);
	free(m->summary);
	free(m->body_text);
	for (i = 0; i < m->n_attachments; i++) {
		free(m->attachments[i].filename);
		free(m->attachments[i].content_type);
		free(m->attachments[i].data);
	}
	free(m->attachments);
	strlist_clear(&m->bounce_refs);
	strlist_clear(&m->notes);
	free(m);
	*mp = NULL;
}

/*
 * scan_headers - find the fields we use in the top-level header block
 * (first occurrence wins).  Returns the number of well-formed fields seen;
 * sets *truncated when the block is longer than max.
 */
static size_t
scan_headers(const char *raw, size_t len, size_t max, struct hdr_value *h,
             bool *truncated)
{
	size_t i = 0, fields = 0;

	*truncated = false;
	/* An mbox "From " separator line is not a header. */
	if (len >= 5 && memcmp(raw, "From ", 5) == 0) {
		while (i < len && raw[i] != '\n')
			i++;
		i++;
	}
	while (i < len) {
		size_t start = i, name_end, end;
		int id;

		if (raw[i] == '\n' ||
		    (raw[i] == '\r' && i + 1 < len && raw[i + 1] == '\n'))
			break; /* end of the header block */
		if (i >= max) {
			*truncated = true;
			break;
		}
		/* field name */
		while (i < len && raw[i] > ' ' && raw[i] < 0x7f &&
		       raw[i] != ':')
			i++;
		name_end = i;
		/* find the end of the field: a newline not followed by WSP */
		end = i;
		for (;;) {
			while (end < len && raw[end] != '\n')
				end++;
			if (end + 1 < len &&
			    (raw[end + 1] == ' ' || raw[end + 1] == '\t')) {
				end++;
				continue;
			}
			break;
		}
		if (name_end > start && name_end < len &&
		    raw[name_end] == ':') {
			fields++;
			for (id = 0; id < H_COUNT; id++) {
				size_t nl = strlen(hdr_names[id]);

				if (nl == name_end - start &&
				    strncasecmp(raw + start, hdr_names[id],
				                nl) == 0 &&
				    h[id].p == NULL) {
					h[id].p = raw + name_end + 1;
					h[id].len = end - name_end - 1;
					if (end > max) {
						h[id].len =
						    max > name_end + 1
						        ? max - name_end - 1
						        : 0;
						*truncated = true;
					}
				}
			}
		} else if (fields == 0 && i == start) {
			return 0; /* first line is no header field */
		}
		i = end < len ? end + 1 : len;
	}
	return fields;
}

/* unfold_trim - copy of a raw value with CR/LF removed and ends trimmed */
static int
unfold_trim(const char *p, size_t len, struct buf *b)
{
	size_t i, s;

	for (i = 0; i < len; i++)
		if (p[i] != '\r' && p[i] != '\n' &&
		    buf_append_byte(b, (unsigned char)p[i]) != 0)
			return -1;
	/* trim */
	while (b->len > 0 &&
	       (b->data[b->len - 1] == ' ' || b->data[b->len - 1] == '\t'))
		b->data[--b->len] = '\0';
	s = 0;
	while (s < b->len && (b->data[s] == ' ' || b->data[s] == '\t'))
		s++;
	if (s > 0) {
		memmove(b->data, b->data + s, b->len - s + 1);
		b->len -= s;
	}
	return 0;
}

/* decode_field - RFC 2047 decode, sanitise and cap a header value */
static char *
decode_field(struct parser *p, const struct hdr_value *h, size_t max)
{
	struct buf raw, dec;
	char *out;

	if (h->p == NULL)
		return NULL;
	buf_init(&raw, 0);
	buf_init(&dec, 4 * max + 64);
	if (unfold_trim(h->p, h->len, &raw) != 0 ||
	    rfc2047_decode(p->cc, raw.data != NULL ? raw.data : "", raw.len, 0,
	                   &dec) == CHARSET_NOMEM) {
		buf_free(&raw);
		buf_free(&dec);
		return NULL;
	}
	buf_free(&raw);
	out = utf8_sanitise(dec.data != NULL ? dec.data : "", dec.len, max, 0);
	buf_free(&dec);
	return out;
}

/* plain_field - unfolded, sanitised, capped header value (no decoding) */
static char *
plain_field(const struct hdr_value *h, size_t max)
{
	struct buf raw;
	char *out;

	if (h->p == NULL)
		return NULL;
	buf_init(&raw, 0);
	if (unfold_trim(h->p, h->len, &raw) != 0) {
		buf_free(&raw);
		return NULL;
	}
	out = utf8_sanitise(raw.data != NULL ? raw.data : "", raw.len, max, 0);
	buf_free(&raw);
	return out;
}

/* lower_ascii - lower-case ASCII letters in place */
static void
lower_ascii(char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* valid_addr - an addr-spec we are willing to answer: one '@', no junk */
static bool
valid_addr(const char *a)
{
	const char *at = strchr(a, '@');
	size_t i;

	if (at == NULL || at == a || at[1] == '\0' || strchr(at + 1, '@'))
		return false;
	if (strlen(a) > 254)
		return false;
	for (i = 0; a[i] != '\0'; i++) {
		unsigned char c = (unsigned char)a[i];

		if (c <= ' ' || c == '<' || c == '>' || c == '(' || c == ')' ||
		    c == ',' || c == ';' || c == '"' || c == '\\' || c == 0x7f)
			return false;
	}
	return true;
}

/*
 * parse_mailbox - first mailbox of an address header: addr-spec (lower-
 * case) and decoded display name.  libetpan's RFC 5322 parser first; a
 * tolerant "<...>" / "x@y" scan when it fails.
 */
static void
parse_mailbox(struct parser *p, const struct hdr_value *h, char **addr_r,
              char **name_r)
{
	struct mailimf_mailbox_list *ml = NULL;
	struct buf raw;
	size_t idx = 0;
	char *addr = NULL, *name = NULL;

	*addr_r = NULL;
	if (name_r != NULL)
		*name_r = NULL;
	if (h->p == NULL)
		return;
	buf_init(&raw, PARSER_FIELD_MAX * 4);
	if (unfold_trim(h->p, h->len, &raw) != 0 || raw.data == NULL) {
		buf_free(&raw);
		return;
	}
	if (mailimf_mailbox_list_parse(raw.data, raw.len, &idx, &ml) ==
	        MAILIMF_NO_ERROR &&
	    ml != NULL && ml->mb_list != NULL &&
	    clist_begin(ml->mb_list) != NULL) {
		struct mailimf_mailbox *mb =
		    clist_content(clist_begin(ml->mb_list));

		if (mb != NULL && mb->mb_addr_spec != NULL)
			addr = utf8_sanitise(mb->mb_addr_spec,
			                     strlen(mb->mb_addr_spec), 254, 0);
		if (mb != NULL && mb->mb_display_name != NULL &&
		    name_r != NULL) {
			struct hdr_value dn = {mb->mb_display_name,
			                       strlen(mb->mb_display_name)};

			name = decode_field(p, &dn, 256);
		}
	}
	if (ml != NULL)
		mailimf_mailbox_list_free(ml);
	if (addr == NULL || !valid_addr(addr)) {
		const char *lt = memchr(raw.data, '<', raw.len);
		const char *gt =
		    lt != NULL
		        ? memchr(lt, '>', raw.len - (size_t)(lt - raw.data))
		        : NULL;

		free(addr);
		addr = NULL;
		if (lt != NULL && gt != NULL && gt > lt + 1)
			addr = utf8_sanitise(lt + 1, (size_t)(gt - lt - 1), 254,
			                     0);
		else if (lt == NULL)
			addr = utf8_sanitise(raw.data, raw.len, 254, 0);
		if (addr != NULL && !valid_addr(addr)) {
			free(addr);
			addr = NULL;
		}
	}
	buf_free(&raw);
	lower_ascii(addr);
	*addr_r = addr;
	if (name_r != NULL)
		*name_r = name;
	else
		free(name);
}

/* parse_ids - every <...> token of a header value, bounded */
static int
parse_ids(const struct hdr_value *h, struct strlist *l, size_t max)
{
	size_t i = 0;

	if (h->p == NULL)
		return 0;
	while (i < h->len) {
		const char *lt = memchr(h->p + i, '<', h->len - i), *gt;
		size_t k, n;
		bool ok = true;

		if (lt == NULL)
			break;
		gt = memchr(lt, '>', h->len - (size_t)(lt - h->p));
		if (gt == NULL)
			break;
		n = (size_t)(gt - lt) + 1;
		for (k = 1; k + 1 < n; k++)
			if ((unsigned char)lt[k] <= ' ' ||
			    (unsigned char)lt[k] >= 0x7f || lt[k] == '<')
				ok = false;
		if (ok && n > 2 && n <= PARSER_FIELD_MAX &&
		    strlist_add_unique(l, lt, n, max) != 0 && l->n < max)
			return -1;
		i = (size_t)(gt - h->p) + 1;
	}
	return 0;
}

/* value_in - whether the value's first token is one of words */
static bool
value_in(const char *v, const char *const *words, size_t n)
{
	char tok[32];
	size_t i = 0, k;

	if (v == NULL)
		return false;
	while (*v == ' ' || *v == '\t')
		v++;
	while (v[i] != '\0' && v[i] != ' ' && v[i] != ';' && v[i] != '\t' &&
	       i < sizeof(tok) - 1) {
		tok[i] = v[i];
		i++;
	}
	tok[i] = '\0';
	for (k = 0; k < n; k++)
		if (strcasecmp(tok, words[k]) == 0)
			return true;
	return false;
}

/* has_word_ci - whether a comma/space separated list holds word */
static bool
has_word_ci(const char *list, const char *word)
{
	size_t n = strlen(word);
	const char *s = list;

	while (*s != '\0') {
		while (*s == ' ' || *s == ',' || *s == '\t')
			s++;
		if (strncasecmp(s, word, n) == 0 &&
		    (s[n] == '\0' || s[n] == ',' || s[n] == ' ' ||
		     s[n] == '\t'))
			return true;
		while (*s != '\0' && *s != ',' && *s != ' ' && *s != '\t')
			s++;
	}
	return false;
}

/* robot_sender - MAILER-DAEMON, postmaster, noreply and kin */
static bool
robot_sender(const char *addr)
{
	static const char *const robots[] = {
	    "mailer-daemon", "postmaster", "noreply",     "no-reply",
	    "no_reply",      "donotreply", "do-not-reply"};
	const char *at = strchr(addr, '@');
	size_t n = at != NULL ? (size_t)(at - addr) : strlen(addr), k;

	for (k = 0; k < sizeof(robots) / sizeof(robots[0]); k++)
		if (strlen(robots[k]) == n &&
		    strncasecmp(addr, robots[k], n) == 0)
			return true;
	return false;
}

/* ack_rule - the first static reason to suppress the ack, or NULL */
static const char *
ack_rule(const struct parser *p, const struct parser_msg *m)
{
	static const char *const bulk[] = {"bulk", "junk", "list"};
	size_t i;

	if (m->auto_submitted != NULL &&
	    !value_in(m->auto_submitted, (const char *const[]){"no"}, 1))
		return "auto_submitted";
	if (value_in(m->precedence, bulk, 3))
		return "precedence";
	if (m->list_id != NULL)
		return "list";
	if (m->is_bounce)
		return "bounce";
	if (m->return_path != NULL && m->return_path[0] == '\0')
		return "null_sender";
	if (m->x_auto_response_suppress != NULL &&
	    (has_word_ci(m->x_auto_response_suppress, "all") ||
	     has_word_ci(m->x_auto_response_suppress, "autoreply")))
		return "auto_response_suppress";
	if (m->requester == NULL)
		return "no_sender";
	if (robot_sender(m->requester) ||
	    (m->from != NULL && robot_sender(m->from)))
		return "robot_sender";
	for (i = 0; i < p->n_own; i++)
		if (strcmp(m->requester, p->own[i]) == 0 ||
		    (m->from != NULL && strcmp(m->from, p->own[i]) == 0))
			return "own_address";
	return NULL;
}

/* return_path - "" for <>, else the address inside the brackets */
static char *
return_path(const struct hdr_value *h)
{
	char *v = plain_field(h, 256), *lt, *gt, *out;

	if (v == NULL)
		return NULL;
	lt = strchr(v, '<');
	gt = lt != NULL ? strchr(lt, '>') : NULL;
	if (lt != NULL && gt != NULL) {
		*gt = '\0';
		out = strdup(lt + 1);
		free(v);
		if (out != NULL) {
			char *s = out;

			while (*s == ' ')
				s++;
			if (*s == '\0')
				out[0] = '\0';
			lower_ascii(out);
		}
		return out;
	}
	lower_ascii(v);
	return v;
}

/* add_note - append a formatted note */
static int
add_note(struct parser_msg *m, const char *s)
{
	if (strlist_add(&m->notes, s, strlen(s), 64) != 0 && m->notes.n < 64)
		return -1;
	return 0;
}

/* dup_or - strdup of s, or of dflt when s is NULL */
static char *
dup_or(const char *s, const char *dflt)
{
	return strdup(s != NULL ? s : dflt);
}

/* classify - subject rules and the fields they give */
static int
classify(struct parser *p, struct parser_msg *m)
{
	struct rules_match rm;
	struct buf norm, body;
	size_t i;
	int rc = -1;

	memset(&rm, 0, sizeof(rm));
	buf_init(&norm, PARSER_SUBJECT_MAX * 2);
	if (subject_normalise(m->subject, strlen(m->subject), &norm) != 0 &&
	    !norm.is_full) {
		buf_free(&norm);
		return -1;
	}
	m->subject_norm = buf_steal(&norm);
	if (m->subject_norm == NULL)
		return -1;
	/* the body is scanned in its normalised form too, so that
	   "订单号：SK-1" with a full-width colon is found there as well */
	buf_init(&body, PARSER_BODY_SCAN_MAX * 2);
	{
		size_t blen = m->body_len;

		if (blen > PARSER_BODY_SCAN_MAX) {
			blen = PARSER_BODY_SCAN_MAX;
			while (blen > 0 && ((unsigned char)m->body_text[blen] &
			                    0xc0) == 0x80)
				blen--;
		}
		if (subject_normalise(m->body_text, blen, &body) != 0 &&
		    !body.is_full)
			goto out;
	}
	if (rules_match_subject(
	        p->rules, p->scratch, m->subject_norm, strlen(m->subject_norm),
	        body.data != NULL ? body.data : "", body.len, &rm) != RULES_OK)
		goto out;
	if (rm.limit_hit && add_note(m, "subject pattern hit the match limit"))
		goto out;
	m->format = dup_or(rm.format, "other");
	m->priority = dup_or(rm.priority, "normal");
	m->category = dup_or(rm.category, "general");
	m->summary = dup_or(rm.summary, "");
	if (m->format == NULL || m->priority == NULL || m->category == NULL ||
	    m->summary == NULL)
		goto out;
	if ((rm.ticket_id != NULL &&
	     (m->ticket_ref = strdup(rm.ticket_id)) == NULL) ||
	    (rm.user_id != NULL && (m->user_id = strdup(rm.user_id)) == NULL) ||
	    (rm.kind != NULL && (m->kind = strdup(rm.kind)) == NULL))
		goto out;
	m->is_review = rm.is_review;
	for (i = 0; i < rm.order_numbers.n; i++)
		if (strlist_add(&m->order_numbers, rm.order_numbers.v[i],
		                strlen(rm.order_numbers.v[i]), 0) != 0)
			goto out;
	for (i = 0; i < rm.screening_numbers.n; i++)
		if (strlist_add(&m->screening_numbers,
		                rm.screening_numbers.v[i],
		                strlen(rm.screening_numbers.v[i]), 0) != 0)
			goto out;
	rc = 0;
out:
	rules_match_clear(&rm);
	buf_free(&body);
	return rc;
}

/* parser_parse - the whole job */
int
parser_parse(struct parser *p, const void *vraw, size_t len,
             struct parser_msg **msg_r, char *err, size_t errlen)
{
	return parser_parse_prefix(p, vraw, len, len, msg_r, err, errlen);
}

/* parser_parse_prefix - the whole job on a possibly partial message */
int
parser_parse_prefix(struct parser *p, const void *vraw, size_t len,
                    size_t full_size, struct parser_msg **msg_r, char *err,
                    size_t errlen)
{
	const char *raw = vraw;
	struct hdr_value h[H_COUNT];
	struct mime_limits lim;
	struct mime_result mr;
	struct parser_msg *m;
	size_t cut = 0, i;
	bool hdr_truncated;
	int rc, status = PARSER_OK;

	*msg_r = NULL;
	if (len == 0) {
		(void)snprintf(err, errlen, "empty message");
		return PARSER_MALFORMED;
	}
	if (len > p->s.message_max) {
		len = p->s.message_max;
		cut = len;
	} else if (full_size > len) {
		cut = len;
	}
	memset(h, 0, sizeof(h));
	if (scan_headers(raw, len, p->s.header_max, h, &hdr_truncated) == 0) {
		(void)snprintf(err, errlen, "no header fields");
		return PARSER_MALFORMED;
	}
	if (mime_boundary_is_hostile(raw, len)) {
		(void)snprintf(
		    err, errlen,
		    "MIME boundary starting with a quote (libetpan cannot "
		    "parse it safely)");
		return PARSER_MALFORMED;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		goto nomem;
	lim.attachment_max = p->s.attachment_max;
	lim.max_parts = p->s.max_parts;
	lim.max_depth = p->s.max_depth;
	lim.body_max = PARSER_BODY_MAX;
	memset(&mr, 0, sizeof(mr));
	rc = mime_walk(p->cc, &lim, raw, len, cut, &mr, &m->notes, err, errlen);
	if (rc == PARSER_MALFORMED || rc == PARSER_NOMEM) {
		mime_result_clear(&mr);
		parser_msg_free(&m);
		return rc;
	}
	if (rc == PARSER_TRUNCATED)
		status = PARSER_TRUNCATED;
	m->body_text =
	    utf8_sanitise(mr.text.data != NULL ? mr.text.data : "", mr.text.len,
	                  PARSER_BODY_MAX, UTF8_KEEP_NEWLINES | UTF8_KEEP_TABS);
	if (m->body_text != NULL) {
		size_t n = strlen(m->body_text);

		/* trailing blank lines and blanks carry nothing */
		while (n > 0 && (m->body_text[n - 1] == '\n' ||
		                 m->body_text[n - 1] == ' ' ||
		                 m->body_text[n - 1] == '\t'))
			m->body_text[--n] = '\0';
		m->body_len = n;
	}
	m->content_type = mr.top_type;
	mr.top_type = NULL;
	m->attachments = mr.att;
	m->n_attachments = mr.n_att;
	mr.att = NULL;
	mr.n_att = 0;
	m->is_bounce = mr.is_report;
	m->bounce_refs = mr.bounce_refs;
	memset(&mr.bounce_refs, 0, sizeof(mr.bounce_refs));
	mime_result_clear(&mr);
	if (m->body_text == NULL)
		goto nomem;

	if (hdr_truncated) {
		status = PARSER_TRUNCATED;
		if (add_note(m, "header block cut at the limit") != 0)
			goto nomem;
	}
	if (cut != 0) {
		status = PARSER_TRUNCATED;
		if (add_note(m, "message over message_max: parsed its head "
		                "only") != 0)
			goto nomem;
	}

	parse_mailbox(p, &h[H_FROM], &m->from, &m->from_name);
	parse_mailbox(p, &h[H_REPLY_TO], &m->reply_to, NULL);
	m->return_path = return_path(&h[H_RETURN_PATH]);
	m->to = decode_field(p, &h[H_TO], PARSER_FIELD_MAX);
	m->date = plain_field(&h[H_DATE], 128);
	m->auto_submitted = plain_field(&h[H_AUTO_SUBMITTED], 128);
	m->precedence = plain_field(&h[H_PRECEDENCE], 128);
	m->list_id = decode_field(p, &h[H_LIST_ID], 256);
	m->x_auto_response_suppress = plain_field(&h[H_XARS], 128);
	{
		struct strlist ids = STRLIST_INIT;

		if (parse_ids(&h[H_MESSAGE_ID], &ids, 1) != 0)
			goto nomem;
		if (ids.n > 0) {
			m->message_id = ids.v[0];
			ids.n = 0;
		}
		strlist_clear(&ids);
		if (m->message_id == NULL && h[H_MESSAGE_ID].p != NULL) {
			char *v = plain_field(&h[H_MESSAGE_ID], 250);

			if (v != NULL && v[0] != '\0' &&
			    strchr(v, ' ') == NULL) {
				struct buf b;

				buf_init(&b, 256);
				if (buf_printf(&b, "<%s>", v) == 0)
					m->message_id = buf_steal(&b);
				buf_free(&b);
			}
			free(v);
		}
		if (parse_ids(&h[H_IN_REPLY_TO], &ids, 1) != 0)
			goto nomem;
		if (ids.n > 0) {
			m->in_reply_to = ids.v[0];
			ids.n = 0;
		}
		strlist_clear(&ids);
		if (parse_ids(&h[H_REFERENCES], &m->references,
		              PARSER_REFS_MAX) != 0)
			goto nomem;
	}
	if (m->is_bounce) {
		/* a report names the message it is about in its headers too */
		if (m->in_reply_to != NULL &&
		    strlist_add_unique(&m->bounce_refs, m->in_reply_to,
		                       strlen(m->in_reply_to),
		                       PARSER_REFS_MAX) != 0 &&
		    m->bounce_refs.n < PARSER_REFS_MAX)
			goto nomem;
		for (i = 0; i < m->references.n; i++)
			if (strlist_add_unique(&m->bounce_refs,
			                       m->references.v[i],
			                       strlen(m->references.v[i]),
			                       PARSER_REFS_MAX) != 0 &&
			    m->bounce_refs.n < PARSER_REFS_MAX)
				goto nomem;
	}
	if (m->reply_to != NULL)
		m->requester = strdup(m->reply_to);
	else if (m->from != NULL)
		m->requester = strdup(m->from);

	m->subject = decode_field(p, &h[H_SUBJECT], PARSER_SUBJECT_MAX);
	if (m->subject == NULL)
		m->subject = strdup("");
	if (m->subject == NULL)
		goto nomem;
	if (h[H_SUBJECT].len > PARSER_SUBJECT_MAX * 4 &&
	    add_note(m, "subject cut at the limit") != 0)
		goto nomem;
	if (classify(p, m) != 0)
		goto nomem;
	m->ack_suppress = ack_rule(p, m);
	*msg_r = m;
	return status;
nomem:
	parser_msg_free(&m);
	(void)snprintf(err, errlen, "out of memory");
	return PARSER_NOMEM;
}

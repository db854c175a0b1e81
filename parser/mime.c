/* SPDX-License-Identifier: MIT */
/*
 * mime.c - walk libetpan's MIME tree (see mime.h).  libetpan parses; this
 * file decides what is body text and what is an attachment, names
 * attachments (RFC 2231 / RFC 2047 through rfc2231.c), decodes them, hashes
 * them, and enforces the limits.  The walk recurses at most max_depth
 * levels; libetpan's tree points into the caller's raw buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <libetpan/libetpan.h>

#include "common/utf8.h"
#include "decode.h"
#include "html.h"
#include "limits.h"
#include "mime.h"
#include "mimetree.h"
#include "rfc2231.h"

/* Parameters of one part, flattened for rfc2231_get. */
#define MIME_PARAMS_MAX 64

struct walk {
	struct charset_conv *cc;
	const struct mime_limits *lim;
	const char *raw;
	size_t len;
	size_t cut_at;
	struct mime_result *r;
	struct strlist *notes;
	struct buf html;      /* HTML bodies, used when no plain text */
	size_t leaves;        /* leaves seen */
	size_t skipped_quiet; /* skipped leaves not recorded */
	bool nomem;
};

/* note - append a note line (best effort) */
static void
note(struct walk *w, const char *what)
{
	if (strlist_add(w->notes, what, strlen(what), 64) != 0 &&
	    w->notes->n < 64)
		w->nomem = true;
}

/* lower_append - append s lower-cased, without blanks or 8-bit bytes */
static int
lower_append(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (c <= ' ' || c >= 0x7f)
			continue;
		if (buf_append_byte(b, c) != 0)
			return -1;
	}
	return 0;
}

/* content_type - "type/subtype", lower-case, into b */
static int
content_type(const struct mailmime_content *ct, struct buf *b)
{
	const char *type = "text";

	if (ct == NULL || ct->ct_type == NULL)
		return buf_append_str(b, "text/plain");
	if (ct->ct_type->tp_type == MAILMIME_TYPE_DISCRETE_TYPE &&
	    ct->ct_type->tp_data.tp_discrete_type != NULL) {
		const struct mailmime_discrete_type *d =
		    ct->ct_type->tp_data.tp_discrete_type;

		switch (d->dt_type) {
		case MAILMIME_DISCRETE_TYPE_TEXT:
			type = "text";
			break;
		case MAILMIME_DISCRETE_TYPE_IMAGE:
			type = "image";
			break;
		case MAILMIME_DISCRETE_TYPE_AUDIO:
			type = "audio";
			break;
		case MAILMIME_DISCRETE_TYPE_VIDEO:
			type = "video";
			break;
		case MAILMIME_DISCRETE_TYPE_APPLICATION:
			type = "application";
			break;
		default:
			type = d->dt_extension != NULL ? d->dt_extension
			                               : "application";
			break;
		}
	} else if (ct->ct_type->tp_type == MAILMIME_TYPE_COMPOSITE_TYPE &&
	           ct->ct_type->tp_data.tp_composite_type != NULL) {
		const struct mailmime_composite_type *c =
		    ct->ct_type->tp_data.tp_composite_type;

		if (c->ct_type == MAILMIME_COMPOSITE_TYPE_MESSAGE)
			type = "message";
		else if (c->ct_type == MAILMIME_COMPOSITE_TYPE_MULTIPART)
			type = "multipart";
		else
			type =
			    c->ct_token != NULL ? c->ct_token : "application";
	}
	if (lower_append(b, type) != 0 || buf_append_byte(b, '/') != 0 ||
	    lower_append(b, ct->ct_subtype != NULL ? ct->ct_subtype
	                                           : "octet-stream") != 0)
		return -1;
	return 0;
}

/* ct_param - a Content-Type parameter value (borrowed) or NULL */
static const char *
ct_param(const struct mailmime_content *ct, const char *name)
{
	clistiter *it;

	if (ct == NULL || ct->ct_parameters == NULL)
		return NULL;
	for (it = clist_begin(ct->ct_parameters); it != NULL;
	     it = clist_next(it)) {
		const struct mailmime_parameter *p = clist_content(it);

		if (p != NULL && p->pa_name != NULL && p->pa_value != NULL &&
		    strcasecmp(p->pa_name, name) == 0)
			return p->pa_value;
	}
	return NULL;
}

/* part_disposition - the Content-Disposition of a part, or NULL */
static const struct mailmime_disposition *
part_disposition(const struct mailmime *m)
{
	clistiter *it;

	if (m->mm_mime_fields == NULL || m->mm_mime_fields->fld_list == NULL)
		return NULL;
	for (it = clist_begin(m->mm_mime_fields->fld_list); it != NULL;
	     it = clist_next(it)) {
		const struct mailmime_field *f = clist_content(it);

		if (f != NULL && f->fld_type == MAILMIME_FIELD_DISPOSITION)
			return f->fld_data.fld_disposition;
	}
	return NULL;
}

/* collect_params - flatten disposition or content-type params */
static size_t
collect_params(const struct mailmime *m, bool from_disposition,
               struct rfc2231_param *out)
{
	size_t n = 0;
	clistiter *it;

	if (from_disposition) {
		const struct mailmime_disposition *d = part_disposition(m);

		if (d == NULL || d->dsp_parms == NULL)
			return 0;
		for (it = clist_begin(d->dsp_parms);
		     it != NULL && n < MIME_PARAMS_MAX; it = clist_next(it)) {
			const struct mailmime_disposition_parm *p =
			    clist_content(it);

			if (p == NULL)
				continue;
			if (p->pa_type == MAILMIME_DISPOSITION_PARM_FILENAME &&
			    p->pa_data.pa_filename != NULL) {
				out[n].name = "filename";
				out[n++].value = p->pa_data.pa_filename;
			} else if (p->pa_type ==
			               MAILMIME_DISPOSITION_PARM_PARAMETER &&
			           p->pa_data.pa_parameter != NULL &&
			           p->pa_data.pa_parameter->pa_name != NULL &&
			           p->pa_data.pa_parameter->pa_value != NULL) {
				out[n].name = p->pa_data.pa_parameter->pa_name;
				out[n++].value =
				    p->pa_data.pa_parameter->pa_value;
			}
		}
		return n;
	}
	if (m->mm_content_type == NULL ||
	    m->mm_content_type->ct_parameters == NULL)
		return 0;
	for (it = clist_begin(m->mm_content_type->ct_parameters);
	     it != NULL && n < MIME_PARAMS_MAX; it = clist_next(it)) {
		const struct mailmime_parameter *p = clist_content(it);

		if (p != NULL && p->pa_name != NULL && p->pa_value != NULL) {
			out[n].name = p->pa_name;
			out[n++].value = p->pa_value;
		}
	}
	return n;
}

/*
 * raw_content_type - libetpan 1.9.4's MIME parser turns 8-bit bytes in
 * Content-Type parameters into '?', while its field parser keeps them: so
 * find the part's own Content-Type line and parse it again.  Returns a
 * content (caller frees with mailmime_content_free) or NULL.
 */
static struct mailmime_content *
raw_content_type(const struct mailmime *m)
{
	const char *p = m->mm_mime_start;
	size_t len = m->mm_length, i = 0, idx = 0;
	struct mailmime_content *ct = NULL;

	if (p == NULL)
		return NULL;
	if (len > PARSER_HEADER_MAX)
		len = PARSER_HEADER_MAX;
	while (i < len) {
		size_t eol = i, end;

		if (p[i] == '\n' ||
		    (p[i] == '\r' && i + 1 < len && p[i + 1] == '\n'))
			break;
		while (eol < len && p[eol] != '\n')
			eol++;
		end = eol;
		while (end + 1 < len &&
		       (p[end + 1] == ' ' || p[end + 1] == '\t')) {
			end++;
			while (end < len && p[end] != '\n')
				end++;
		}
		if (end - i > 13 &&
		    strncasecmp(p + i, "content-type:", 13) == 0) {
			if (mailmime_content_parse(p + i + 13, end - i - 13,
			                           &idx,
			                           &ct) != MAILIMF_NO_ERROR)
				ct = NULL;
			return ct;
		}
		i = end + 1;
	}
	return NULL;
}

/*
 * part_filename - the decoded raw filename of a part into b: filename* /
 * filename from Content-Disposition, else name* / name from Content-Type.
 * Returns 1 found, 0 none, -1 no memory.
 */
static int
part_filename(struct walk *w, const struct mailmime *m, struct buf *b)
{
	struct rfc2231_param params[MIME_PARAMS_MAX];
	const char *name;
	size_t n;
	int rc;

	n = collect_params(m, true, params);
	rc = rfc2231_get(w->cc, params, n, "filename", b);
	if (rc != 0)
		return rc;
	name = ct_param(m->mm_content_type, "name");
	if (name != NULL && strchr(name, '?') != NULL &&
	    strstr(name, "=?") == NULL) {
		struct mailmime_content *raw = raw_content_type(m);

		if (raw != NULL) {
			struct mailmime fake;

			memset(&fake, 0, sizeof(fake));
			fake.mm_content_type = raw;
			n = collect_params(&fake, false, params);
			rc = rfc2231_get(w->cc, params, n, "name", b);
			mailmime_content_free(raw);
			return rc;
		}
	}
	n = collect_params(m, false, params);
	return rfc2231_get(w->cc, params, n, "name", b);
}

/* sanitise_filename - path parts, controls and blanks removed; capped */
static char *
sanitise_filename(const char *name, size_t len)
{
	const char *base = name;
	size_t i, blen;
	char *clean, *start, *end;

	for (i = 0; i < len; i++)
		if (name[i] == '/' || name[i] == '\\')
			base = name + i + 1;
	blen = len - (size_t)(base - name);
	clean = utf8_sanitise(base, blen, PARSER_FILENAME_MAX, 0);
	if (clean == NULL)
		return NULL;
	start = clean;
	while (*start == ' ')
		start++;
	end = start + strlen(start);
	while (end > start && end[-1] == ' ')
		end--;
	*end = '\0';
	if (start != clean)
		memmove(clean, start, (size_t)(end - start) + 1);
	if (strcmp(clean, ".") == 0 || strcmp(clean, "..") == 0)
		clean[0] = '\0';
	return clean;
}

/* new_att - append an attachment slot to the result */
static struct parser_attachment *
new_att(struct walk *w)
{
	struct mime_result *r = w->r;
	struct parser_attachment *a;

	if (r->n_att == r->cap_att) {
		size_t ncap = r->cap_att == 0 ? 4 : r->cap_att * 2;

		a = realloc(r->att, ncap * sizeof(*a));
		if (a == NULL) {
			w->nomem = true;
			return NULL;
		}
		r->att = a;
		r->cap_att = ncap;
	}
	a = &r->att[r->n_att++];
	memset(a, 0, sizeof(*a));
	return a;
}

/* name_att - set filename and content type of a fresh attachment */
static int
name_att(struct walk *w, struct parser_attachment *a, const struct mailmime *m,
         const char *ctype, const char *suffix)
{
	struct buf b;
	int rc;

	buf_init(&b, 4 * PARSER_FILENAME_MAX);
	rc = part_filename(w, m, &b);
	if (rc < 0) {
		buf_free(&b);
		return -1;
	}
	a->filename = sanitise_filename(b.data != NULL ? b.data : "", b.len);
	buf_free(&b);
	if (a->filename == NULL)
		return -1;
	if (a->filename[0] == '\0') {
		char gen[48];

		free(a->filename);
		(void)snprintf(gen, sizeof(gen), "attachment-%zu%s",
		               w->r->n_att, suffix);
		a->filename = strdup(gen);
		if (a->filename == NULL)
			return -1;
	}
	a->content_type = strdup(ctype);
	return a->content_type == NULL ? -1 : 0;
}

/* hash_att - SHA-256 hex of the decoded bytes */
static int
hash_att(struct parser_attachment *a)
{
	unsigned char d[32];
	static const char hex[] = "0123456789abcdef";
	size_t i;

	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, a->data != NULL ? a->data : d,
	                     a->size, d) != 0)
		return -1;
	for (i = 0; i < 32; i++) {
		a->sha256[2 * i] = hex[d[i] >> 4];
		a->sha256[2 * i + 1] = hex[d[i] & 15];
	}
	a->sha256[64] = '\0';
	return 0;
}

/* skip_att - record a skipped attachment with a note */
static void
skip_att(struct walk *w, struct parser_attachment *a, enum parser_skip why,
         size_t size)
{
	char line[160];

	free(a->data);
	a->data = NULL;
	a->size = size;
	a->sha256[0] = '\0';
	a->skipped = why;
	w->r->is_truncated = true;
	(void)snprintf(line, sizeof(line),
	               "attachment %zu skipped: %s (%zu bytes)", w->r->n_att,
	               parser_skip_name(why), size);
	note(w, line);
}

/*
 * decode_data - decode a part body; sets *out_r (malloc'd) and *len_r.
 * Returns 0, or -1 when the transfer encoding could not be decoded.
 */
static int
decode_data(const struct mailmime_data *d, unsigned char **out_r, size_t *len_r)
{
	char *dec = NULL;
	size_t dlen = 0, idx = 0;
	unsigned char *copy;

	*out_r = NULL;
	*len_r = 0;
	if (d == NULL || d->dt_type != MAILMIME_DATA_TEXT)
		return -1;
	if (d->dt_data.dt_text.dt_length == 0) {
		*out_r = malloc(1);
		return *out_r == NULL ? -1 : 0;
	}
	if (d->dt_encoding == MAILMIME_MECHANISM_BASE64)
		return decode_base64(d->dt_data.dt_text.dt_data,
		                     d->dt_data.dt_text.dt_length, out_r,
		                     len_r);
	if (d->dt_encoding == MAILMIME_MECHANISM_QUOTED_PRINTABLE)
		return decode_qp(d->dt_data.dt_text.dt_data,
		                 d->dt_data.dt_text.dt_length, out_r, len_r);
	if (mailmime_part_parse(
	        d->dt_data.dt_text.dt_data, d->dt_data.dt_text.dt_length, &idx,
	        d->dt_encoding, &dec, &dlen) != MAILIMF_NO_ERROR)
		return -1;
	copy = malloc(dlen + 1);
	if (copy == NULL) {
		mmap_string_unref(dec);
		return -1;
	}
	memcpy(copy, dec, dlen);
	copy[dlen] = '\0';
	mmap_string_unref(dec);
	*out_r = copy;
	*len_r = dlen;
	return 0;
}

/* estimate_decoded - upper bound of the decoded size of a body */
static size_t
estimate_decoded(const struct mailmime_data *d)
{
	size_t len = d->dt_data.dt_text.dt_length;

	if (d->dt_encoding == MAILMIME_MECHANISM_BASE64)
		return len / 4 * 3 + 3;
	return len;
}

/* past_cut - whether the part's bytes extend past the fetched region */
static bool
past_cut(const struct walk *w, const struct mailmime_data *d)
{
	const char *end;

	if (w->cut_at == 0 || d == NULL || d->dt_type != MAILMIME_DATA_TEXT)
		return false;
	end = d->dt_data.dt_text.dt_data + d->dt_data.dt_text.dt_length;
	return end >= w->raw + w->cut_at;
}

/* store_att - decode, bound and hash the body of an attachment part */
static void
store_att(struct walk *w, struct parser_attachment *a,
          const struct mailmime_data *d)
{
	size_t est;

	if (d == NULL || d->dt_type != MAILMIME_DATA_TEXT) {
		skip_att(w, a, PARSER_SKIP_UNDECODABLE, 0);
		return;
	}
	est = estimate_decoded(d);
	if (past_cut(w, d)) {
		skip_att(w, a, PARSER_SKIP_NOT_FETCHED, est);
		return;
	}
	/* Far over the limit: do not spend time decoding. */
	if (est / 2 > w->lim->attachment_max) {
		skip_att(w, a, PARSER_SKIP_TOO_LARGE, est);
		return;
	}
	if (decode_data(d, &a->data, &a->size) != 0) {
		skip_att(w, a, PARSER_SKIP_UNDECODABLE,
		         d->dt_data.dt_text.dt_length);
		return;
	}
	if (a->size > w->lim->attachment_max) {
		skip_att(w, a, PARSER_SKIP_TOO_LARGE, a->size);
		return;
	}
	if (hash_att(a) != 0)
		skip_att(w, a, PARSER_SKIP_UNDECODABLE, a->size);
}

/* id_printable - a Message-ID body of printable ASCII without '<' */
static bool
id_printable(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)p[i] <= ' ' || (unsigned char)p[i] >= 0x7f ||
		    p[i] == '<')
			return false;
	return true;
}

/* scan_message_ids - add Message-ID header values in a header block */
static void
scan_message_ids(struct walk *w, const char *p, size_t len)
{
	size_t i = 0;

	if (len > 64 * 1024)
		len = 64 * 1024;
	while (i < len) {
		size_t eol = i;

		while (eol < len && p[eol] != '\n')
			eol++;
		if (eol - i == 0 || (eol - i == 1 && p[i] == '\r'))
			break; /* end of the header block */
		if (eol - i > 11 &&
		    strncasecmp(p + i, "message-id:", 11) == 0) {
			const char *lt = memchr(p + i, '<', eol - i);
			const char *gt;

			if (lt != NULL) {
				gt = memchr(lt, '>', (size_t)(p + eol - lt));
				if (gt != NULL && gt - lt > 1 &&
				    gt - lt < 998 &&
				    id_printable(lt + 1,
				                 (size_t)(gt - lt - 1)) &&
				    strlist_add_unique(&w->r->bounce_refs, lt,
				                       (size_t)(gt - lt) + 1,
				                       PARSER_REFS_MAX) != 0 &&
				    w->r->bounce_refs.n < PARSER_REFS_MAX)
					w->nomem = true;
			}
		}
		i = eol + 1;
	}
}

/* add_text - decode a text leaf into the plain or the HTML buffer */
static void
add_text(struct walk *w, const struct mailmime *m, bool is_html)
{
	const struct mailmime_data *d = m->mm_data.mm_single;
	struct buf *dst = is_html ? &w->html : &w->r->text;
	unsigned char *dec;
	size_t dlen;
	int rc;

	if (d == NULL || past_cut(w, d))
		return;
	if (decode_data(d, &dec, &dlen) != 0) {
		note(w, "text part undecodable");
		w->r->is_truncated = true;
		return;
	}
	if (dst->len > 0 && buf_append_str(dst, "\n") != 0)
		w->r->is_truncated = true;
	rc = charset_to_utf8(w->cc, ct_param(m->mm_content_type, "charset"),
	                     dec, dlen, dst);
	free(dec);
	if (rc == CHARSET_NOMEM)
		w->nomem = true;
	else if (rc == CHARSET_FULL || dst->is_full) {
		if (!w->r->is_truncated)
			note(w, "body text cut at the limit");
		w->r->is_truncated = true;
	}
}

static void walk_part(struct walk *w, const struct mailmime *m, size_t depth,
                      bool text_ok, bool in_report);

/* leaf_count - count a leaf against max_parts; false when over */
static bool
leaf_count(struct walk *w)
{
	w->leaves++;
	if (w->leaves <= w->lim->max_parts)
		return true;
	if (w->leaves == w->lim->max_parts + 1) {
		note(w, "parts past the limit skipped");
		w->r->is_truncated = true;
	}
	return false;
}

/* skip_subtree - record a part we do not walk (too deep / too many) */
static void
skip_subtree(struct walk *w, const struct mailmime *m, enum parser_skip why)
{
	struct parser_attachment *a;
	struct buf ct;

	if (w->r->n_att >= 2 * w->lim->max_parts) {
		w->skipped_quiet++;
		w->r->is_truncated = true;
		return;
	}
	a = new_att(w);
	if (a == NULL)
		return;
	buf_init(&ct, 256);
	if (content_type(m->mm_content_type, &ct) != 0 ||
	    name_att(w, a, m,
	             ct.data != NULL ? ct.data : "application/octet-stream",
	             "") != 0)
		w->nomem = true;
	buf_free(&ct);
	skip_att(w, a, why, m->mm_length);
}

/* walk_leaf - a single part: body text or attachment */
static void
walk_leaf(struct walk *w, const struct mailmime *m, bool text_ok,
          bool in_report)
{
	const struct mailmime_disposition *disp = part_disposition(m);
	struct buf ct, name;
	bool is_attachment, is_text;
	struct parser_attachment *a;
	int has_name;

	if (!leaf_count(w)) {
		skip_subtree(w, m, PARSER_SKIP_TOO_MANY_PARTS);
		return;
	}
	buf_init(&ct, 256);
	if (content_type(m->mm_content_type, &ct) != 0 || ct.data == NULL) {
		buf_free(&ct);
		w->nomem = true;
		return;
	}
	is_text = strncmp(ct.data, "text/", 5) == 0;
	if (in_report &&
	    (strcmp(ct.data, "text/rfc822-headers") == 0 ||
	     strcmp(ct.data, "message/rfc822-headers") == 0) &&
	    m->mm_data.mm_single != NULL &&
	    m->mm_data.mm_single->dt_type == MAILMIME_DATA_TEXT)
		scan_message_ids(
		    w, m->mm_data.mm_single->dt_data.dt_text.dt_data,
		    m->mm_data.mm_single->dt_data.dt_text.dt_length);
	if (strcmp(ct.data, "message/delivery-status") == 0)
		w->r->is_report = true;

	buf_init(&name, 4 * PARSER_FILENAME_MAX);
	has_name = part_filename(w, m, &name);
	buf_free(&name);
	if (has_name < 0) {
		buf_free(&ct);
		w->nomem = true;
		return;
	}
	is_attachment = (disp != NULL && disp->dsp_type != NULL &&
	                 disp->dsp_type->dsp_type ==
	                     MAILMIME_DISPOSITION_TYPE_ATTACHMENT) ||
	                has_name == 1 || !is_text;
	if (!is_attachment) {
		if (text_ok && strcmp(ct.data, "text/plain") == 0)
			add_text(w, m, false);
		else if (text_ok && strcmp(ct.data, "text/html") == 0)
			add_text(w, m, true);
		buf_free(&ct);
		return;
	}
	a = new_att(w);
	if (a == NULL || name_att(w, a, m, ct.data, "") != 0) {
		w->nomem = true;
		buf_free(&ct);
		return;
	}
	buf_free(&ct);
	store_att(w, a, m->mm_data.mm_single);
}

/* walk_message - a nested message/rfc822: one .eml attachment */
static void
walk_message(struct walk *w, const struct mailmime *m, bool in_report)
{
	struct parser_attachment *a;

	if (!leaf_count(w)) {
		skip_subtree(w, m, PARSER_SKIP_TOO_MANY_PARTS);
		return;
	}
	if (in_report && m->mm_body != NULL &&
	    m->mm_body->dt_type == MAILMIME_DATA_TEXT)
		scan_message_ids(w, m->mm_body->dt_data.dt_text.dt_data,
		                 m->mm_body->dt_data.dt_text.dt_length);
	a = new_att(w);
	if (a == NULL || name_att(w, a, m, "message/rfc822", ".eml") != 0) {
		w->nomem = true;
		return;
	}
	store_att(w, a, m->mm_body);
}

/* alt_choice - index of the alternative that gives the body text */
static int
alt_choice(const struct mailmime *m)
{
	clistiter *it;
	int i = 0, last = -1, html = -1;

	for (it = clist_begin(m->mm_data.mm_multipart.mm_mp_list); it != NULL;
	     it = clist_next(it), i++) {
		const struct mailmime *c = clist_content(it);
		struct buf ct;
		bool plain = false, is_html = false;

		if (c == NULL)
			continue;
		last = i;
		buf_init(&ct, 256);
		if (content_type(c->mm_content_type, &ct) == 0 &&
		    ct.data != NULL) {
			plain = strcmp(ct.data, "text/plain") == 0;
			is_html = strcmp(ct.data, "text/html") == 0 ||
			          strcmp(ct.data, "multipart/related") == 0;
		}
		buf_free(&ct);
		if (plain)
			return i;
		if (is_html && html < 0)
			html = i;
	}
	return html >= 0 ? html : last;
}

/* walk_part - dispatch on the libetpan node type */
static void
walk_part(struct walk *w, const struct mailmime *m, size_t depth, bool text_ok,
          bool in_report)
{
	clistiter *it;
	struct buf ct;
	bool is_alt = false;
	int choice = -1, i = 0;

	if (m == NULL || w->nomem)
		return;
	if (depth > w->lim->max_depth) {
		if (!leaf_count(w)) {
			skip_subtree(w, m, PARSER_SKIP_TOO_MANY_PARTS);
			return;
		}
		note(w, "MIME nesting past the depth limit");
		skip_subtree(w, m, PARSER_SKIP_TOO_DEEP);
		return;
	}
	switch (m->mm_type) {
	case MAILMIME_SINGLE:
		walk_leaf(w, m, text_ok, in_report);
		return;
	case MAILMIME_MESSAGE:
		walk_message(w, m, in_report);
		return;
	case MAILMIME_MULTIPLE:
		break;
	default:
		return;
	}
	buf_init(&ct, 256);
	if (content_type(m->mm_content_type, &ct) == 0 && ct.data != NULL) {
		is_alt = strcmp(ct.data, "multipart/alternative") == 0;
		if (strcmp(ct.data, "multipart/report") == 0) {
			w->r->is_report = true;
			in_report = true;
		}
	}
	buf_free(&ct);
	if (is_alt)
		choice = alt_choice(m);
	for (it = clist_begin(m->mm_data.mm_multipart.mm_mp_list); it != NULL;
	     it = clist_next(it), i++)
		walk_part(w, clist_content(it), depth + 1,
		          text_ok && (!is_alt || i == choice), in_report);
}

/*
 * mime_boundary_is_hostile - detect boundary="\"..." (and boundary=""):
 * find each '"' (rare in bodies, so memchr skips most bytes) followed by
 * '\' or '"', then look back over blanks for '=' and the word boundary.
 */
bool
mime_boundary_is_hostile(const char *raw, size_t len)
{
	const char *p = raw, *end = raw + len;

	while (p < end) {
		const char *q = memchr(p, '"', (size_t)(end - p));
		const char *b;

		if (q == NULL || q + 1 >= end)
			return false;
		p = q + 1;
		if (q[1] != '\\' && q[1] != '"')
			continue;
		b = q;
		while (b > raw && (b[-1] == ' ' || b[-1] == '\t' ||
		                   b[-1] == '\r' || b[-1] == '\n'))
			b--;
		if (b == raw || b[-1] != '=')
			continue;
		b--;
		while (b > raw && (b[-1] == ' ' || b[-1] == '\t' ||
		                   b[-1] == '\r' || b[-1] == '\n'))
			b--;
		if (b - raw >= 8 && strncasecmp(b - 8, "boundary", 8) == 0)
			return true;
	}
	return false;
}

/* mime_walk - parse and walk */
int
mime_walk(struct charset_conv *cc, const struct mime_limits *lim,
          const char *raw, size_t len, size_t cut_at, struct mime_result *r,
          struct strlist *notes, char *err, size_t errlen)
{
	struct mailmime *top = NULL;
	const struct mailmime *body;
	struct walk w;
	struct buf ct;

	memset(&w, 0, sizeof(w));
	w.cc = cc;
	w.lim = lim;
	w.raw = raw;
	w.len = len;
	w.cut_at = cut_at;
	w.r = r;
	w.notes = notes;
	buf_init(&r->text, lim->body_max);
	buf_init(&w.html, lim->body_max);

	/* libetpan's field parsers, our own multipart splitter: two levels
	   more than the walk goes, so the walk sees what is too deep */
	if (mimetree_parse(raw, len, lim->max_depth + 2, &top) != 0 ||
	    top == NULL) {
		(void)snprintf(err, errlen, "MIME structure unparseable");
		buf_free(&w.html);
		return PARSER_NOMEM;
	}
	body = top;
	if (top->mm_type == MAILMIME_MESSAGE)
		body = top->mm_data.mm_message.mm_msg_mime;
	buf_init(&ct, 256);
	if (body != NULL && content_type(body->mm_content_type, &ct) == 0 &&
	    ct.data != NULL)
		r->top_type = buf_steal(&ct);
	else
		r->top_type = strdup("text/plain");
	buf_free(&ct);
	if (body != NULL) {
		if (body->mm_type == MAILMIME_MESSAGE) {
			/* message/rfc822 as the whole body: attach it */
			walk_message(&w, body, false);
		} else {
			walk_part(&w, body, 1, true, false);
		}
	}
	mailmime_free(top);

	if (!w.nomem && r->text.len == 0 && w.html.len > 0) {
		if (html_to_text(w.html.data, w.html.len, &r->text) != 0)
			r->is_truncated = true;
		r->is_text_from_html = true;
	}
	buf_free(&w.html);
	if (w.skipped_quiet > 0) {
		char line[96];

		(void)snprintf(line, sizeof(line),
		               "%zu more parts skipped without a record",
		               w.skipped_quiet);
		note(&w, line);
	}
	if (w.nomem || r->top_type == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		return PARSER_NOMEM;
	}
	return r->is_truncated ? PARSER_TRUNCATED : PARSER_OK;
}

/* mime_result_clear - free a result */
void
mime_result_clear(struct mime_result *r)
{
	size_t i;

	buf_free(&r->text);
	free(r->top_type);
	for (i = 0; i < r->n_att; i++) {
		free(r->att[i].filename);
		free(r->att[i].content_type);
		free(r->att[i].data);
	}
	free(r->att);
	strlist_clear(&r->bounce_refs);
	memset(r, 0, sizeof(*r));
}

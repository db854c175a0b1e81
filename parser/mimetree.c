/* SPDX-License-Identifier: MIT */
/*
 * mimetree.c - the MIME tree builder (see mimetree.h).  The shape of the
 * tree is what libetpan's own parser makes: the top node is a message
 * (MAILMIME_MESSAGE) whose mm_msg_mime is the body part; multiparts list
 * their parts; message/rfc822 parts hold the enclosed message; each node's
 * mm_mime_start/mm_length cover the part with its headers and mm_body its
 * body, still transfer-encoded.
 */
/* memmem() is a GNU extension in glibc */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libetpan/libetpan.h>

#include "mimetree.h"

/* Longest boundary accepted (RFC 2046 allows 70; be generous). */
#define BOUNDARY_MAX 200

struct tree_ctx {
	size_t max_depth;
};

static int build(struct tree_ctx *c, const char *part, size_t plen,
                 size_t body_off, bool is_digest_part,
                 struct mailmime_content *ct, struct mailmime_fields *mf,
                 size_t depth, struct mailmime **out);

/* detach_content_type - take the Content-Type out of the field list */
static struct mailmime_content *
detach_content_type(struct mailmime_fields *mf)
{
	clistiter *it;

	if (mf == NULL || mf->fld_list == NULL)
		return NULL;
	for (it = clist_begin(mf->fld_list); it != NULL; it = clist_next(it)) {
		struct mailmime_field *f = clist_content(it);

		if (f != NULL && f->fld_type == MAILMIME_FIELD_TYPE) {
			struct mailmime_content *ct = f->fld_data.fld_content;

			f->fld_data.fld_content = NULL;
			clist_delete(mf->fld_list, it);
			mailmime_field_free(f);
			return ct;
		}
	}
	return NULL;
}

/*
 * boundary_of - the boundary parameter, unquoted, into buf; 0 when there
 * is a usable one.
 */
static int
boundary_of(const struct mailmime_content *ct, char *buf, size_t buflen)
{
	clistiter *it;
	const char *v = NULL;
	size_t n;

	if (ct->ct_parameters == NULL)
		return -1;
	for (it = clist_begin(ct->ct_parameters); it != NULL;
	     it = clist_next(it)) {
		const struct mailmime_parameter *p = clist_content(it);

		if (p != NULL && p->pa_name != NULL && p->pa_value != NULL &&
		    strcasecmp(p->pa_name, "boundary") == 0) {
			v = p->pa_value;
			break;
		}
	}
	if (v == NULL)
		return -1;
	n = strlen(v);
	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		v++;
		n -= 2;
	}
	if (n == 0 || n >= buflen || n > BOUNDARY_MAX)
		return -1;
	memcpy(buf, v, n);
	buf[n] = '\0';
	return 0;
}

/*
 * find_delim - the next delimiter line "--boundary" at a line start at or
 * after from.  Sets *line_r (start of "--"), *next_r (first byte after the
 * line) and *is_close_r.  Returns 0, or -1 when there is none.
 */
static int
find_delim(const char *s, size_t len, size_t from, const char *dash_b,
           size_t dlen, size_t *line_r, size_t *next_r, bool *is_close_r)
{
	size_t pos = from;

	while (pos + dlen <= len) {
		const char *hit = memmem(s + pos, len - pos, dash_b, dlen);
		size_t at, k;

		if (hit == NULL)
			return -1;
		at = (size_t)(hit - s);
		pos = at + 1;
		if (at > 0 && s[at - 1] != '\n')
			continue;
		k = at + dlen;
		*is_close_r = k + 1 < len && s[k] == '-' && s[k + 1] == '-';
		if (*is_close_r)
			k += 2;
		/* transport padding, then the end of the line */
		while (k < len && (s[k] == ' ' || s[k] == '\t'))
			k++;
		if (k < len && s[k] == '\r')
			k++;
		if (k < len && s[k] != '\n' && !*is_close_r)
			continue; /* "--boundary" followed by more: text */
		if (*is_close_r) {
			while (k < len && s[k] != '\n')
				k++;
		}
		if (k < len)
			k++;
		*line_r = at;
		*next_r = k;
		return 0;
	}
	return -1;
}

/* part_end - strip the line break that belongs to the next delimiter */
static size_t
part_end(const char *s, size_t start, size_t line)
{
	size_t e = line;

	if (e > start && s[e - 1] == '\n')
		e--;
	if (e > start && s[e - 1] == '\r')
		e--;
	return e;
}

/* build_part - parse one part's headers and build it */
static int
build_part(struct tree_ctx *c, const char *p, size_t plen, bool is_digest,
           size_t depth, clist *list)
{
	struct mailimf_fields *fields = NULL;
	struct mailmime_fields *mf = NULL;
	struct mailmime *node = NULL;
	size_t tok = 0;
	int r;

	r = mailimf_optional_fields_parse(p, plen, &tok, &fields);
	if (r != MAILIMF_NO_ERROR && r != MAILIMF_ERROR_PARSE)
		return -1;
	(void)mailimf_crlf_parse(p, plen, &tok);
	if (fields != NULL) {
		r = mailmime_fields_parse(fields, &mf);
		mailimf_fields_free(fields);
		if (r != MAILIMF_NO_ERROR && r != MAILIMF_ERROR_PARSE)
			return -1;
	}
	if (build(c, p, plen, tok, is_digest, NULL, mf, depth, &node) != 0)
		return -1;
	if (clist_append(list, node) < 0) {
		mailmime_free(node);
		return -1;
	}
	return 0;
}

/* split - the parts of a multipart body into list */
static int
split(struct tree_ctx *c, const char *s, size_t len, const char *boundary,
      bool is_digest, size_t depth, clist *list)
{
	char dash_b[BOUNDARY_MAX + 3];
	size_t dlen, line, next, start, nparts = 0;
	bool is_close = false;

	dlen = (size_t)snprintf(dash_b, sizeof(dash_b), "--%s", boundary);
	if (find_delim(s, len, 0, dash_b, dlen, &line, &next, &is_close) != 0)
		return 0; /* no delimiter: no parts */
	while (!is_close) {
		size_t nline, nnext;
		bool nclose = false;

		start = next;
		if (nparts >= MIMETREE_PARTS_MAX ||
		    find_delim(s, len, start, dash_b, dlen, &nline, &nnext,
		               &nclose) != 0) {
			/* unterminated (or too many): the rest is a part */
			if (start < len &&
			    build_part(c, s + start, len - start, is_digest,
			               depth, list) != 0)
				return -1;
			return 0;
		}
		if (build_part(c, s + start, part_end(s, start, nline) - start,
		               is_digest, depth, list) != 0)
			return -1;
		nparts++;
		next = nnext;
		is_close = nclose;
	}
	return 0;
}

/*
 * build - one node: part (plen bytes, headers included) whose body starts
 * at body_off; ct and mf are owned (either may be NULL) and always
 * consumed.
 */
static int
build(struct tree_ctx *c, const char *part, size_t plen, size_t body_off,
      bool is_digest_part, struct mailmime_content *ct,
      struct mailmime_fields *mf, size_t depth, struct mailmime **out)
{
	struct mailimf_fields *msg_fields = NULL;
	struct mailmime *msg_mime = NULL, *node;
	struct mailmime_data *body = NULL;
	clist *list = NULL;
	char boundary[BOUNDARY_MAX + 1];
	const char *b = part + body_off;
	size_t blen = plen - body_off;
	int type = MAILMIME_SINGLE, encoding;

	if (ct == NULL)
		ct = detach_content_type(mf);
	if (ct == NULL)
		ct = is_digest_part ? mailmime_get_content_message()
		                    : mailmime_get_content_text();
	if (ct == NULL)
		goto fail;
	encoding = mf != NULL ? mailmime_transfer_encoding_get(mf)
	                      : MAILMIME_MECHANISM_8BIT;
	if (ct->ct_type != NULL &&
	    ct->ct_type->tp_type == MAILMIME_TYPE_COMPOSITE_TYPE &&
	    ct->ct_type->tp_data.tp_composite_type != NULL &&
	    depth < c->max_depth) {
		int comp = ct->ct_type->tp_data.tp_composite_type->ct_type;

		if (comp == MAILMIME_COMPOSITE_TYPE_MULTIPART &&
		    boundary_of(ct, boundary, sizeof(boundary)) == 0)
			type = MAILMIME_MULTIPLE;
		else if (comp == MAILMIME_COMPOSITE_TYPE_MESSAGE &&
		         ct->ct_subtype != NULL &&
		         strcasecmp(ct->ct_subtype, "rfc822") == 0 &&
		         encoding != MAILMIME_MECHANISM_BASE64 &&
		         encoding != MAILMIME_MECHANISM_QUOTED_PRINTABLE)
			type = MAILMIME_MESSAGE;
	}
	body =
	    mailmime_data_new(MAILMIME_DATA_TEXT, encoding, 1, b, blen, NULL);
	if (body == NULL)
		goto fail;
	if (type == MAILMIME_MULTIPLE) {
		bool is_digest = ct->ct_subtype != NULL &&
		                 strcasecmp(ct->ct_subtype, "digest") == 0;

		list = clist_new();
		if (list == NULL || split(c, b, blen, boundary, is_digest,
		                          depth + 1, list) != 0)
			goto fail;
	} else if (type == MAILMIME_MESSAGE) {
		struct mailmime_fields *sub = NULL;
		size_t tok = 0;
		int r;

		r = mailimf_envelope_and_optional_fields_parse(b, blen, &tok,
		                                               &msg_fields);
		if (r != MAILIMF_NO_ERROR && r != MAILIMF_ERROR_PARSE)
			goto fail;
		(void)mailimf_crlf_parse(b, blen, &tok);
		if (msg_fields != NULL) {
			r = mailmime_fields_parse(msg_fields, &sub);
			if (r != MAILIMF_NO_ERROR && r != MAILIMF_ERROR_PARSE)
				goto fail;
		}
		if (build(c, b, blen, tok, false, NULL, sub, depth + 1,
		          &msg_mime) != 0)
			goto fail;
	}
	node = mailmime_new(type, part, plen, mf, ct, body, NULL, NULL, list,
	                    msg_fields, msg_mime);
	if (node == NULL)
		goto fail;
	*out = node;
	return 0;
fail:
	if (msg_mime != NULL)
		mailmime_free(msg_mime);
	if (msg_fields != NULL)
		mailimf_fields_free(msg_fields);
	if (list != NULL) {
		clistiter *it;

		for (it = clist_begin(list); it != NULL; it = clist_next(it))
			mailmime_free(clist_content(it));
		clist_free(list);
	}
	if (body != NULL)
		mailmime_data_free(body);
	if (ct != NULL)
		mailmime_content_free(ct);
	if (mf != NULL)
		mailmime_fields_free(mf);
	return -1;
}

/* mimetree_parse - the whole message */
int
mimetree_parse(const char *raw, size_t len, size_t max_depth,
               struct mailmime **tree_r)
{
	struct tree_ctx c = {max_depth};
	struct mailmime_content *ct = mailmime_get_content_message();
	struct mailmime_fields *mf = mailmime_fields_new_empty();

	if (ct == NULL || mf == NULL) {
		if (ct != NULL)
			mailmime_content_free(ct);
		if (mf != NULL)
			mailmime_fields_free(mf);
		return -1;
	}
	/* the top is a message whatever its encoding header says */
	return build(&c, raw, len, 0, false, ct, mf, 0, tree_r);
}

/* SPDX-License-Identifier: MIT */
/*
 * html.c - HTML to plain text (see html.h).  A single forward scan with no
 * recursion and no allocation beyond the output buffer, so hostile markup
 * costs linear time.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/utf8.h"
#include "html.h"

/* Elements whose content is not text. */
static const char *const skip_elems[] = {"script", "style",    "head",
                                         "title",  "template", "noscript"};

/* Elements that start a new line. */
static const char *const block_elems[] = {
    "p",  "div",     "br",      "tr",     "li",     "h1", "h2",         "h3",
    "h4", "h5",      "h6",      "table",  "ul",     "ol", "blockquote", "pre",
    "hr", "section", "article", "header", "footer", "dd", "dt"};

struct entity {
	const char *name;
	unsigned int cp;
};

static const struct entity entities[] = {
    {"amp", '&'},      {"lt", '<'},       {"gt", '>'},        {"quot", '"'},
    {"apos", '\''},    {"nbsp", ' '},     {"copy", 0xa9},     {"reg", 0xae},
    {"yen", 0xa5},     {"middot", 0xb7},  {"hellip", 0x2026}, {"mdash", 0x2014},
    {"ndash", 0x2013}, {"ldquo", 0x201c}, {"rdquo", 0x201d},  {"lsquo", 0x2018},
    {"rsquo", 0x2019}, {"times", 0xd7},
};

struct html_state {
	struct buf *out;
	bool pending_space;
	int newlines; /* trailing newlines already in out */
	bool failed;
};

/* emit_cp - append one code point, folding blanks */
static void
emit_cp(struct html_state *st, unsigned int cp)
{
	char enc[4];

	if (cp == ' ' || cp == '\t' || cp == '\r' || cp == '\n' || cp == 0xa0) {
		if (st->out->len > 0 && st->newlines == 0)
			st->pending_space = true;
		return;
	}
	if (cp < 0x20 || cp == 0x7f)
		return;
	if (st->pending_space) {
		if (buf_append_byte(st->out, ' ') != 0)
			st->failed = true;
		st->pending_space = false;
	}
	if (buf_append(st->out, enc, utf8_encode(cp, enc)) != 0)
		st->failed = true;
	st->newlines = 0;
}

/* emit_newline - line break, at most one blank line in a row */
static void
emit_newline(struct html_state *st)
{
	st->pending_space = false;
	if (st->out->len == 0 || st->newlines >= 2)
		return;
	if (buf_append_byte(st->out, '\n') != 0)
		st->failed = true;
	st->newlines++;
}

/* name_in - whether the tag name (len bytes) is in the list */
static bool
name_in(const char *name, size_t len, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strlen(list[i]) == len &&
		    strncasecmp(list[i], name, len) == 0)
			return true;
	return false;
}

/* decode_entity - at in[i] == '&': code point and length, 0 if none */
static size_t
decode_entity(const char *in, size_t len, size_t i, unsigned int *cp_r)
{
	size_t j = i + 1, k;
	unsigned long v = 0;

	if (j < len && in[j] == '#') {
		bool hex = false;

		j++;
		if (j < len && (in[j] == 'x' || in[j] == 'X')) {
			hex = true;
			j++;
		}
		k = j;
		while (j < len && j - k < 8) {
			char c = in[j];
			int d;

			if (c >= '0' && c <= '9')
				d = c - '0';
			else if (hex && c >= 'a' && c <= 'f')
				d = c - 'a' + 10;
			else if (hex && c >= 'A' && c <= 'F')
				d = c - 'A' + 10;
			else
				break;
			v = v * (hex ? 16 : 10) + (unsigned long)d;
			j++;
		}
		if (j == k)
			return 0;
		if (j < len && in[j] == ';')
			j++;
		if (v == 0 || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
			v = 0xfffd;
		*cp_r = (unsigned int)v;
		return j - i;
	}
	for (k = 0; k < sizeof(entities) / sizeof(entities[0]); k++) {
		size_t n = strlen(entities[k].name);

		if (j + n < len && strncmp(in + j, entities[k].name, n) == 0 &&
		    in[j + n] == ';') {
			*cp_r = entities[k].cp;
			return n + 2;
		}
	}
	return 0;
}

/* html_to_text - render */
int
html_to_text(const char *in, size_t len, struct buf *out)
{
	struct html_state st = {out, false, 0, false};
	const char *skip_until = NULL; /* closing tag name being skipped */
	size_t skip_len = 0;
	size_t i = 0, n;
	unsigned int cp;

	while (i < len && !st.failed) {
		if (in[i] == '<') {
			size_t j = i + 1, name_start, name_len;
			bool closing = false;

			if (len - i >= 4 && memcmp(in + i, "<!--", 4) == 0) {
				const char *end = NULL;
				size_t k;

				for (k = i + 4; k + 3 <= len; k++)
					if (memcmp(in + k, "-->", 3) == 0) {
						end = in + k;
						break;
					}
				i = end == NULL ? len : (size_t)(end - in) + 3;
				continue;
			}
			if (j < len && in[j] == '/') {
				closing = true;
				j++;
			}
			name_start = j;
			while (j < len && ((in[j] >= 'a' && in[j] <= 'z') ||
			                   (in[j] >= 'A' && in[j] <= 'Z') ||
			                   (in[j] >= '0' && in[j] <= '9')))
				j++;
			name_len = j - name_start;
			if (name_len == 0 && !closing &&
			    (j >= len || (in[j] != '!' && in[j] != '?'))) {
				/* a lone '<' is text */
				if (skip_until == NULL)
					emit_cp(&st, '<');
				i++;
				continue;
			}
			while (j < len && in[j] != '>')
				j++;
			if (skip_until != NULL) {
				if (closing && name_len == skip_len &&
				    strncasecmp(in + name_start, skip_until,
				                name_len) == 0)
					skip_until = NULL;
			} else if (!closing &&
			           name_in(in + name_start, name_len,
			                   skip_elems,
			                   sizeof(skip_elems) /
			                       sizeof(skip_elems[0]))) {
				size_t k;

				for (k = 0; k < sizeof(skip_elems) /
				                    sizeof(skip_elems[0]);
				     k++)
					if (strlen(skip_elems[k]) == name_len &&
					    strncasecmp(skip_elems[k],
					                in + name_start,
					                name_len) == 0)
						skip_until = skip_elems[k];
				skip_len = name_len;
				if (j > 0 && in[j - 1] == '/')
					skip_until = NULL;
			} else if (name_in(in + name_start, name_len,
			                   block_elems,
			                   sizeof(block_elems) /
			                       sizeof(block_elems[0]))) {
				emit_newline(&st);
			} else if (name_len == 2 &&
			           strncasecmp(in + name_start, "td", 2) == 0) {
				emit_cp(&st, ' ');
				st.pending_space = st.out->len > 0;
			}
			i = j < len ? j + 1 : len;
			continue;
		}
		if (skip_until != NULL) {
			i++;
			continue;
		}
		if (in[i] == '&') {
			n = decode_entity(in, len, i, &cp);
			if (n > 0) {
				emit_cp(&st, cp);
				i += n;
				continue;
			}
		}
		n = utf8_decode((const unsigned char *)in + i, len - i, &cp);
		if (n == 0) {
			cp = 0xfffd;
			n = 1;
		}
		emit_cp(&st, cp);
		i += n;
	}
	/* drop trailing newlines */
	while (out->len > 0 && out->data[out->len - 1] == '\n')
		out->data[--out->len] = '\0';
	return st.failed ? -1 : 0;
}

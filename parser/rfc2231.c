/* SPDX-License-Identifier: MIT */
/*
 * rfc2231.c - MIME parameter values (see rfc2231.h).  Sections of an
 * extended value are collected by number; only the run contiguous from 0
 * is used (a gap ends the value), the first of duplicate sections wins,
 * and "name*" alone wins over numbered sections.  Starred sections are
 * percent-decoded and the bytes joined before one conversion; an extended
 * value that decodes to nothing falls back to the plain one.  Numbered
 * sections that are all unstarred are treated like one plain value.
 */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "limits.h"
#include "rfc2047.h"
#include "rfc2231.h"

/* Bytes of the charset in "charset'lang'"; longer means "no prefix". */
#define RFC2231_CHARSET_MAX 64
/* Digits of a section number (sections stop at 64 anyway). */
#define RFC2231_DIGITS_MAX 3

struct rfc2231_section {
	const char *value; /* borrowed; NULL when absent */
	bool is_starred;   /* percent-encoded */
};

/* rfc2231_hex - value of a hex digit, or -1 */
static int
rfc2231_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* rfc2231_unpercent - append s with valid %XX decoded to b */
static int
rfc2231_unpercent(const char *s, struct buf *b)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *run = p;
	unsigned char c;
	int hi, lo;

	for (; *p != '\0'; p++) {
		if (*p != '%')
			continue;
		hi = rfc2231_hex(p[1]);
		lo = hi < 0 ? -1 : rfc2231_hex(p[2]);
		if (lo < 0)
			continue; /* invalid escape stays literal */
		if (buf_append(b, run, (size_t)(p - run)) != 0)
			return -1;
		c = (unsigned char)(hi << 4 | lo);
		if (buf_append(b, &c, 1) != 0)
			return -1;
		p += 2;
		run = p + 1;
	}
	return buf_append(b, run, (size_t)(p - run));
}

/* rfc2231_charset - split "charset'lang'" off v into cs; rest of value */
static const char *
rfc2231_charset(const char *v, char cs[RFC2231_CHARSET_MAX + 1])
{
	const char *q1, *q2;
	size_t i, n;
	unsigned char c;

	cs[0] = '\0';
	q1 = strchr(v, '\'');
	if (q1 == NULL)
		return v;
	q2 = strchr(q1 + 1, '\'');
	n = (size_t)(q1 - v);
	if (q2 == NULL || n > RFC2231_CHARSET_MAX)
		return v;
	/* a filename with quotes is not mistaken for a prefix */
	for (i = 0; i < n; i++) {
		c = (unsigned char)v[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.' || c == ':' || c == '+'))
			return v;
	}
	memcpy(cs, v, n);
	cs[n] = '\0';
	return q2 + 1;
}

/* rfc2231_has_words - whether n bytes of p contain "=?" */
static bool
rfc2231_has_words(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i++) {
		if (p[i] == '=' && p[i + 1] == '?')
			return true;
	}
	return false;
}

/* rfc2231_plain - decode a plain value: encoded words or raw bytes */
static int
rfc2231_plain(struct charset_conv *cc, const char *p, size_t n, struct buf *out)
{
	if (n == 0)
		return CHARSET_OK;
	if (rfc2231_has_words(p, n))
		return rfc2047_decode(cc, p, n, 0, out);
	return charset_to_utf8(cc, NULL, p, n, out);
}

/* rfc2231_join - decode nsec contiguous sections as one value */
static int
rfc2231_join(struct charset_conv *cc, const struct rfc2231_section *sec,
             size_t nsec, struct buf *out)
{
	char cs[RFC2231_CHARSET_MAX + 1];
	struct buf bytes;
	const char *v;
	size_t i, total = 0;
	bool has_star = false;
	int rc = CHARSET_NOMEM;

	cs[0] = '\0';
	for (i = 0; i < nsec; i++)
		total += strlen(sec[i].value);
	buf_init(&bytes, total);
	for (i = 0; i < nsec; i++) {
		v = sec[i].value;
		if (!sec[i].is_starred) {
			if (buf_append_str(&bytes, v) != 0)
				goto out;
			continue;
		}
		if (i == 0)
			v = rfc2231_charset(v, cs);
		if (rfc2231_unpercent(v, &bytes) != 0)
			goto out;
		has_star = true;
	}
	if (!has_star)
		rc = rfc2231_plain(cc, bytes.data, bytes.len, out);
	else
		rc = charset_to_utf8(cc, cs, bytes.data, bytes.len, out);
out:
	buf_free(&bytes);
	return rc;
}

/* rfc2231_section_of - section number and star of suffix "*N" / "*N*" */
static bool
rfc2231_section_of(const char *s, size_t *num_r, bool *is_starred_r)
{
	size_t num = 0, nd = 0;

	if (*s != '*')
		return false;
	for (s++; *s >= '0' && *s <= '9'; s++) {
		nd++;
		if (nd > RFC2231_DIGITS_MAX)
			return false;
		num = num * 10 + (size_t)(*s - '0');
	}
	if (nd == 0)
		return false;
	*is_starred_r = *s == '*';
	if (*is_starred_r)
		s++;
	if (*s != '\0')
		return false;
	*num_r = num;
	return true;
}

/* rfc2231_get - find and decode parameter name */
int
rfc2231_get(struct charset_conv *cc, const struct rfc2231_param *params,
            size_t n, const char *name, struct buf *out)
{
	struct rfc2231_section sec[PARSER_RFC2231_SECTIONS_MAX];
	struct rfc2231_section single = {NULL, true};
	const char *plain = NULL, *suffix;
	size_t i, nlen, num, nsec, saved = out->len;
	bool is_starred, has_ext = false;
	int rc;

	memset(sec, 0, sizeof(sec));
	nlen = strlen(name);
	for (i = 0; i < n; i++) {
		if (params[i].name == NULL || params[i].value == NULL ||
		    strncasecmp(params[i].name, name, nlen) != 0)
			continue;
		suffix = params[i].name + nlen;
		if (*suffix == '\0') {
			if (plain == NULL)
				plain = params[i].value;
		} else if (strcmp(suffix, "*") == 0) {
			if (single.value == NULL)
				single.value = params[i].value;
		} else if (rfc2231_section_of(suffix, &num, &is_starred) &&
		           num < PARSER_RFC2231_SECTIONS_MAX &&
		           sec[num].value == NULL) {
			sec[num].value = params[i].value;
			sec[num].is_starred = is_starred;
		}
	}
	rc = CHARSET_OK;
	if (single.value != NULL) {
		has_ext = true;
		rc = rfc2231_join(cc, &single, 1, out);
	} else if (sec[0].value != NULL) {
		nsec = 1;
		while (nsec < PARSER_RFC2231_SECTIONS_MAX &&
		       sec[nsec].value != NULL)
			nsec++;
		has_ext = true;
		rc = rfc2231_join(cc, sec, nsec, out);
	}
	if (rc == CHARSET_NOMEM)
		return -1;
	/* an extended value cut by the limit is not "empty" */
	if (has_ext &&
	    (out->len > saved || rc == CHARSET_FULL || plain == NULL))
		return 1;
	if (plain == NULL)
		return 0;
	rc = rfc2231_plain(cc, plain, strlen(plain), out);
	return rc == CHARSET_NOMEM ? -1 : 1;
}

/* SPDX-License-Identifier: MIT */
/* utf8.c - UTF-8 validation, decoding and sanitising (see utf8.h). */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "utf8.h"

/* utf8_decode - one code point, strictly */
size_t
utf8_decode(const unsigned char *p, size_t len, unsigned int *cp_r)
{
	unsigned int cp;
	size_t n, i;

	if (len == 0)
		return 0;
	if (p[0] < 0x80) {
		*cp_r = p[0];
		return 1;
	} else if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*cp_r = cp;
	return n;
}

/* utf8_valid - whole-buffer check */
bool
utf8_valid(const void *vp, size_t len)
{
	const unsigned char *p = vp;
	size_t i = 0, n;
	unsigned int cp;

	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		n = utf8_decode(p + i, len - i, &cp);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

/* utf8_encode - code point to bytes */
size_t
utf8_encode(unsigned int cp, char *out)
{
	unsigned char *o = (unsigned char *)out;

	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return 1;
	} else if (cp < 0x800) {
		o[0] = (unsigned char)(0xc0 | (cp >> 6));
		o[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	} else if (cp < 0x10000) {
		o[0] = (unsigned char)(0xe0 | (cp >> 12));
		o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (unsigned char)(0xf0 | (cp >> 18));
	o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/* utf8_sanitise - valid, control-free, length-capped copy */
char *
utf8_sanitise(const char *s, size_t len, size_t max_bytes, int flags)
{
	const unsigned char *p = (const unsigned char *)s;
	struct buf b;
	size_t i = 0, n;
	unsigned int cp;
	char enc[4];

	buf_init(&b, max_bytes);
	while (i < len) {
		/* runs of printable ASCII are copied whole */
		if (p[i] >= 0x20 && p[i] < 0x7f) {
			size_t run = i + 1;

			while (run < len && p[run] >= 0x20 && p[run] < 0x7f)
				run++;
			if (run - i > b.max - b.len)
				run = i + (b.max - b.len);
			if (run == i)
				break;
			if (buf_append(&b, p + i, run - i) != 0) {
				buf_free(&b);
				return NULL;
			}
			i = run;
			continue;
		}
		n = utf8_decode(p + i, len - i, &cp);
		if (n == 0) {
			cp = 0xfffd;
			n = 1;
		}
		i += n;
		if (cp == '\r') {
			if ((flags & UTF8_KEEP_NEWLINES) == 0)
				continue;
			if (i < len && p[i] == '\n')
				continue;
			cp = '\n';
		}
		if (cp == '\n' && (flags & UTF8_KEEP_NEWLINES) == 0)
			cp = ' ';
		if (cp == '\t' && (flags & UTF8_KEEP_TABS) == 0)
			cp = ' ';
		if ((cp < 0x20 && cp != '\n' && cp != '\t') || cp == 0x7f ||
		    (cp >= 0x80 && cp < 0xa0) || cp == 0x2028 || cp == 0x2029)
			continue;
		if (buf_append(&b, enc, utf8_encode(cp, enc)) != 0) {
			if (b.is_full)
				break;
			buf_free(&b);
			return NULL;
		}
	}
	return buf_steal(&b);
}

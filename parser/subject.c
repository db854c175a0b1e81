/* SPDX-License-Identifier: MIT */
/*
 * subject.c - subject normalisation before matching (SPEC §2): full-width
 * forms become ASCII, whitespace folds to single spaces, and reply/forward
 * prefixes are stripped from the front.  One pass maps and folds straight
 * into the caller's buffer, then the prefix bytes are cut from the front,
 * so out needs room for the folded text (for valid UTF-8 never more than
 * the input).  Invalid UTF-8 (outside the contract) becomes U+FFFD and
 * controls count as whitespace: the output is valid UTF-8 without them.
 */
#include <stdbool.h>
#include <string.h>

#include "common/utf8.h"
#include "parser/subject.h"

/* Code point that is dropped instead of copied. */
#define SUBJECT_DROP 0xffffffffu

/* Digits accepted in a "[n]" / "(n)" reply counter. */
#define SUBJECT_COUNTER_MAX 6

/* A reply/forward prefix word, matched case-insensitively (ASCII). */
struct subject_prefix {
	const char *word;
	size_t len;
};

static const struct subject_prefix subject_prefixes[] = {
    {"re", 2},
    {"fwd", 3},
    {"fw", 2},
    {"aw", 2},
    {"sv", 2},
    {"\xe5\x9b\x9e\xe5\xa4\x8d", 6}, /* 回复 */
    {"\xe7\xad\x94\xe5\xa4\x8d", 6}, /* 答复 */
    {"\xe8\xbd\xac\xe5\x8f\x91", 6}, /* 转发 */
};

/* subject_is_space - whether cp folds into a single space */
static bool
subject_is_space(unsigned int cp)
{
	/* C0/C1 controls and DEL too: the output must not carry them. */
	if (cp < 0x21 || (cp >= 0x7f && cp <= 0xa0))
		return true;
	switch (cp) {
	case 0x1680:
	case 0x2028:
	case 0x2029:
	case 0x202f:
	case 0x205f:
	case 0x3000:
		return true;
	default:
		break;
	}
	return cp >= 0x2000 && cp <= 0x200a;
}

/* subject_map - full-width and bracket forms to ASCII, or SUBJECT_DROP */
static unsigned int
subject_map(unsigned int cp)
{
	if (cp >= 0xff01 && cp <= 0xff5e)
		return cp - 0xfee0;
	switch (cp) {
	case 0x3010: /* 【 */
	case 0x3014: /* 〔 */
	case 0x3016: /* 〖 */
		return '[';
	case 0x3011: /* 】 */
	case 0x3015: /* 〕 */
	case 0x3017: /* 〗 */
		return ']';
	case 0x200b: /* zero-width space: invisible, would split words */
	case 0xfeff: /* byte order mark */
		return SUBJECT_DROP;
	default:
		break;
	}
	return cp;
}

/* subject_lower - ASCII lower case of one byte */
static unsigned char
subject_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* subject_word_at - whether the prefix word w starts at s (ASCII caseless) */
static bool
subject_word_at(const char *s, size_t n, const struct subject_prefix *w)
{
	size_t i;

	if (n < w->len)
		return false;
	for (i = 0; i < w->len; i++) {
		if (subject_lower((unsigned char)s[i]) !=
		    (unsigned char)w->word[i])
			return false;
	}
	return true;
}

/*
 * subject_prefix_end - the end of one prefix "WORD [n] :" plus the spaces
 * after it, starting at s[i]; 0 if there is none there.  The text is
 * already folded, so a space is one ' ' byte.
 */
static size_t
subject_prefix_end(const char *s, size_t n, size_t i)
{
	size_t k, j, digits;
	char close;

	for (k = 0; k < sizeof(subject_prefixes) / sizeof(subject_prefixes[0]);
	     k++) {
		if (!subject_word_at(s + i, n - i, &subject_prefixes[k]))
			continue;
		j = i + subject_prefixes[k].len;
		if (j < n && s[j] == ' ')
			j++;
		if (j < n && (s[j] == '[' || s[j] == '(')) {
			close = s[j] == '[' ? ']' : ')';
			j++;
			digits = 0;
			while (j < n && s[j] >= '0' && s[j] <= '9' &&
			       digits < SUBJECT_COUNTER_MAX) {
				j++;
				digits++;
			}
			if (digits == 0 || j >= n || s[j] != close)
				continue;
			j++;
			if (j < n && s[j] == ' ')
				j++;
		}
		if (j >= n || s[j] != ':')
			continue;
		j++;
		if (j < n && s[j] == ' ')
			j++;
		return j;
	}
	return 0;
}

/* subject_normalise - map, fold and strip into out (see subject.h) */
int
subject_normalise(const char *in, size_t len, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t start = out->len, i = 0, n, skip, end;
	bool is_pending = false, has_text = false;
	unsigned int cp;
	char enc[4];

	while (i < len) {
		n = utf8_decode(p + i, len - i, &cp);
		if (n == 0) {
			cp = 0xfffd;
			n = 1;
		}
		i += n;
		cp = subject_map(cp);
		if (cp == SUBJECT_DROP)
			continue;
		if (subject_is_space(cp)) {
			is_pending = has_text;
			continue;
		}
		if (is_pending && buf_append_byte(out, ' ') != 0)
			goto fail;
		is_pending = false;
		has_text = true;
		if (buf_append(out, enc, utf8_encode(cp, enc)) != 0)
			goto fail;
	}

	/* Strip reply/forward prefixes from what was just written. */
	skip = 0;
	while (skip < out->len - start) {
		end = subject_prefix_end(out->data + start, out->len - start,
		                         skip);
		if (end == 0)
			break;
		skip = end;
	}
	if (skip > 0) {
		memmove(out->data + start, out->data + start + skip,
		        out->len - start - skip);
		out->len -= skip;
		out->data[out->len] = '\0';
	}
	return 0;

fail:
	/* Leave out as it was before the call. */
	out->len = start;
	if (out->data != NULL)
		out->data[start] = '\0';
	return -1;
}

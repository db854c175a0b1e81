/* SPDX-License-Identifier: MIT */
/*
 * rfc2047.c - RFC 2047 encoded words in header values (see rfc2047.h).  A
 * hand-written scanner finds "=?cs[*lang]?B|Q?text?=" anywhere in the
 * value, also glued to text or to another word as broken mailers send
 * them; runs of adjacent words in one charset are decoded to bytes and
 * converted once, so characters split across words survive.  Text outside
 * words is read as UTF-8 if valid, else GB18030.  Scanning is linear: the
 * positions of the next "?=" and line break are remembered.
 */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "common/utf8.h"
#include "limits.h"
#include "rfc2047.h"

/* Bytes from "=?" to "?=" accepted; RFC 2047 says 75, mailers send more. */
#define RFC2047_WORD_MAX 1000
/* Bytes of the charset label of a word (without *lang). */
#define RFC2047_CHARSET_MAX 64
/* Bytes of "charset*lang" together. */
#define RFC2047_CSLANG_MAX 128
/* Raw bytes per outgoing word: 60 base64 characters, 72-byte words. */
#define RFC2047_CHUNK 45

static const char rfc2047_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* One encoded word found in the input. */
struct rfc2047_word {
	const char *cs; /* borrowed: charset label, not terminated */
	size_t cs_len;
	char enc;         /* 'B' or 'Q' */
	const char *text; /* borrowed: encoded text */
	size_t text_len;
	size_t end; /* offset just past "?=" */
};

struct rfc2047_state {
	struct charset_conv *cc; /* borrowed */
	struct buf *out;         /* borrowed */
	struct buf pend; /* owned: bytes of adjacent same-charset words */
	char cs[RFC2047_CHARSET_MAX + 1]; /* charset of pend */
	bool has_pend;
	int status;      /* worst charset_status so far */
	size_t end_from; /* no "?=" starts in [end_from, next_end) */
	size_t next_end; /* offset of a "?=", or len */
	size_t next_nl;  /* offset of the next CR or LF, or len */
	bool has_end, has_nl;
};

/* rfc2047_b64_value - value of a base64 character, or -1 */
static int
rfc2047_b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* rfc2047_hex_value - value of a hex digit, or -1 */
static int
rfc2047_hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* rfc2047_b_valid - whether B text decodes (padding may be missing) */
static bool
rfc2047_b_valid(const char *t, size_t len)
{
	size_t i, nsym = 0;
	bool is_pad = false;
	unsigned char c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)t[i];
		if (c == ' ' || c == '\t')
			continue;
		if (c == '=') {
			is_pad = true;
			continue;
		}
		if (is_pad || rfc2047_b64_value(c) < 0)
			return false;
		nsym++;
	}
	return nsym % 4 != 1;
}

/* rfc2047_b_decode - append the bytes of valid B text to b */
static int
rfc2047_b_decode(const char *t, size_t len, struct buf *b)
{
	unsigned char q[3];
	unsigned long acc = 0;
	size_t i, nsym = 0;
	int v;

	for (i = 0; i < len; i++) {
		v = rfc2047_b64_value((unsigned char)t[i]);
		if (v < 0)
			continue; /* blanks and padding, already checked */
		acc = (acc << 6) | (unsigned long)v;
		nsym++;
		if (nsym % 4 == 0) {
			q[0] = (unsigned char)(acc >> 16);
			q[1] = (unsigned char)(acc >> 8);
			q[2] = (unsigned char)acc;
			if (buf_append(b, q, 3) != 0)
				return -1;
			acc = 0;
		}
	}
	if (nsym % 4 == 2) {
		q[0] = (unsigned char)(acc >> 4);
		return buf_append(b, q, 1);
	}
	if (nsym % 4 == 3) {
		q[0] = (unsigned char)(acc >> 10);
		q[1] = (unsigned char)(acc >> 2);
		return buf_append(b, q, 2);
	}
	return 0;
}

/* rfc2047_q_decode - append the bytes of Q text to b */
static int
rfc2047_q_decode(const char *t, size_t len, struct buf *b)
{
	size_t i;
	int hi, lo;
	unsigned char c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)t[i];
		if (c == '_') {
			c = ' ';
		} else if (c == '=' && i + 2 < len) {
			hi = rfc2047_hex_value((unsigned char)t[i + 1]);
			lo = rfc2047_hex_value((unsigned char)t[i + 2]);
			if (hi >= 0 && lo >= 0) {
				c = (unsigned char)(hi << 4 | lo);
				i += 2;
			}
		}
		if (buf_append(b, &c, 1) != 0)
			return -1;
	}
	return 0;
}

/*
 * rfc2047_find_end - offset of the first "?=" at or after from, or len.
 * Remembers that no "?=" starts in [end_from, next_end), so each byte is
 * scanned about once even though candidate words overlap.
 */
static size_t
rfc2047_find_end(struct rfc2047_state *st, const char *in, size_t len,
                 size_t from)
{
	const char *q;
	size_t i;

	if (st->has_end && from >= st->end_from && from <= st->next_end)
		return st->next_end;
	if (st->has_end && from < st->end_from) {
		for (i = from; i < st->end_from; i++) {
			if (in[i] == '?' && i + 1 < len && in[i + 1] == '=') {
				st->next_end = i;
				break;
			}
		}
		st->end_from = from;
		return st->next_end;
	}
	st->has_end = true;
	st->end_from = from;
	st->next_end = len;
	i = from;
	while (i + 1 < len) {
		q = memchr(in + i, '?', len - 1 - i);
		if (q == NULL)
			break;
		i = (size_t)(q - in);
		if (in[i + 1] == '=') {
			st->next_end = i;
			break;
		}
		i++;
	}
	return st->next_end;
}

/* rfc2047_find_nl - first CR or LF at or after from (which only grows) */
static size_t
rfc2047_find_nl(struct rfc2047_state *st, const char *in, size_t len,
                size_t from)
{
	size_t i;

	if (st->has_nl && st->next_nl >= from)
		return st->next_nl;
	st->next_nl = len;
	for (i = from; i < len; i++) {
		if (in[i] == '\r' || in[i] == '\n') {
			st->next_nl = i;
			break;
		}
	}
	st->has_nl = true;
	return st->next_nl;
}

/* rfc2047_parse_word - whether a decodable word starts at in[p] ("=?") */
static bool
rfc2047_parse_word(struct rfc2047_state *st, const char *in, size_t len,
                   size_t p, struct rfc2047_word *w)
{
	size_t q = p + 2, cs_start = p + 2, star = 0, text, end;
	unsigned char c;

	for (; q < len && in[q] != '?'; q++) {
		c = (unsigned char)in[q];
		if (c <= ' ' || c >= 0x7f || q - cs_start >= RFC2047_CSLANG_MAX)
			return false;
		if (c == '*' && star == 0)
			star = q;
	}
	/* "charset*lang" (RFC 2231 section 5): the language is ignored */
	w->cs_len = (star != 0 ? star : q) - cs_start;
	if (w->cs_len == 0 || w->cs_len > RFC2047_CHARSET_MAX)
		return false;
	if (q + 3 > len || in[q + 2] != '?')
		return false;
	c = (unsigned char)in[q + 1];
	if (c == 'b' || c == 'B')
		w->enc = 'B';
	else if (c == 'q' || c == 'Q')
		w->enc = 'Q';
	else
		return false;
	text = q + 3;
	end = rfc2047_find_end(st, in, len, text);
	if (end == len || end + 2 - p > RFC2047_WORD_MAX ||
	    rfc2047_find_nl(st, in, len, p) < end)
		return false;
	w->cs = in + cs_start;
	w->text = in + text;
	w->text_len = end - text;
	w->end = end + 2;
	if (w->enc == 'B' && !rfc2047_b_valid(w->text, w->text_len))
		return false;
	return true;
}

/* rfc2047_note - remember the worst status; whether to go on */
static bool
rfc2047_note(struct rfc2047_state *st, int rc)
{
	if (rc == CHARSET_UNKNOWN)
		rc = CHARSET_LOSSY; /* guessed charset: maybe wrong text */
	if (rc > st->status)
		st->status = rc;
	return rc != CHARSET_FULL && rc != CHARSET_NOMEM;
}

/* rfc2047_flush - convert the pending word bytes to out */
static bool
rfc2047_flush(struct rfc2047_state *st)
{
	int rc;

	if (!st->has_pend)
		return true;
	st->has_pend = false;
	rc = charset_to_utf8(st->cc, st->cs, st->pend.data, st->pend.len,
	                     st->out);
	buf_reset(&st->pend);
	return rfc2047_note(st, rc);
}

/* rfc2047_literal - convert text outside words (flushes pending words) */
static bool
rfc2047_literal(struct rfc2047_state *st, const char *p, size_t n)
{
	if (!rfc2047_flush(st))
		return false;
	return rfc2047_note(st, charset_to_utf8(st->cc, NULL, p, n, st->out));
}

/* rfc2047_is_lwsp - whether n bytes are only blanks and line breaks */
static bool
rfc2047_is_lwsp(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
			return false;
	}
	return true;
}

/* rfc2047_add_word - queue a word's bytes, merging with the same charset */
static bool
rfc2047_add_word(struct rfc2047_state *st, const struct rfc2047_word *w)
{
	int rc;

	if (st->has_pend && (strlen(st->cs) != w->cs_len ||
	                     strncasecmp(st->cs, w->cs, w->cs_len) != 0)) {
		if (!rfc2047_flush(st))
			return false;
	}
	if (!st->has_pend) {
		memcpy(st->cs, w->cs, w->cs_len);
		st->cs[w->cs_len] = '\0';
		st->has_pend = true;
	}
	if (w->enc == 'B')
		rc = rfc2047_b_decode(w->text, w->text_len, &st->pend);
	else
		rc = rfc2047_q_decode(w->text, w->text_len, &st->pend);
	if (rc != 0)
		return rfc2047_note(st, CHARSET_NOMEM);
	return true;
}

/* rfc2047_decode - decode encoded words and raw 8-bit text to UTF-8 */
int
rfc2047_decode(struct charset_conv *cc, const char *in, size_t len,
               size_t max_words, struct buf *out)
{
	struct rfc2047_state st;
	struct rfc2047_word w;
	const char *q;
	size_t i = 0, lit = 0, p, nwords = 0;

	if (len == 0)
		return CHARSET_OK;
	memset(&st, 0, sizeof(st));
	st.cc = cc;
	st.out = out;
	st.status = CHARSET_OK;
	/* decoded words are never longer than their encoded form */
	buf_init(&st.pend, len);
	if (max_words == 0)
		max_words = PARSER_WORDS_MAX;
	while (nwords < max_words && i + 1 < len) {
		q = memchr(in + i, '=', len - 1 - i);
		if (q == NULL)
			break;
		p = (size_t)(q - in);
		if (in[p + 1] != '?' ||
		    !rfc2047_parse_word(&st, in, len, p, &w)) {
			i = p + 1;
			continue;
		}
		/* blanks between two words vanish (RFC 2047 6.2) */
		if (!st.has_pend || !rfc2047_is_lwsp(in + lit, p - lit)) {
			if (!rfc2047_literal(&st, in + lit, p - lit))
				goto out;
		}
		if (!rfc2047_add_word(&st, &w))
			goto out;
		nwords++;
		i = lit = w.end;
	}
	if (rfc2047_flush(&st))
		(void)rfc2047_literal(&st, in + lit, len - lit);
out:
	buf_free(&st.pend);
	return st.status;
}

/* rfc2047_is_plain - printable ASCII without "=?": needs no encoding */
static bool
rfc2047_is_plain(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p != '\0'; p++) {
		if (*p < 0x20 || *p > 0x7e)
			return false;
		if (p[0] == '=' && p[1] == '?')
			return false;
	}
	return true;
}

/* rfc2047_emit - append one "=?UTF-8?B?...?=" word of n <= 45 bytes */
static int
rfc2047_emit(const unsigned char *p, size_t n, bool is_first, struct buf *out)
{
	char word[3 + 10 + 60 + 2];
	size_t i, o = 0;
	unsigned long acc;

	if (!is_first) {
		memcpy(word, "\r\n ", 3);
		o = 3;
	}
	memcpy(word + o, "=?UTF-8?B?", 10);
	o += 10;
	for (i = 0; i + 3 <= n; i += 3) {
		acc = (unsigned long)p[i] << 16 | (unsigned long)p[i + 1] << 8 |
		      p[i + 2];
		word[o++] = rfc2047_b64[acc >> 18 & 0x3f];
		word[o++] = rfc2047_b64[acc >> 12 & 0x3f];
		word[o++] = rfc2047_b64[acc >> 6 & 0x3f];
		word[o++] = rfc2047_b64[acc & 0x3f];
	}
	if (n - i == 1) {
		acc = (unsigned long)p[i] << 16;
		word[o++] = rfc2047_b64[acc >> 18 & 0x3f];
		word[o++] = rfc2047_b64[acc >> 12 & 0x3f];
		word[o++] = '=';
		word[o++] = '=';
	} else if (n - i == 2) {
		acc = (unsigned long)p[i] << 16 | (unsigned long)p[i + 1] << 8;
		word[o++] = rfc2047_b64[acc >> 18 & 0x3f];
		word[o++] = rfc2047_b64[acc >> 12 & 0x3f];
		word[o++] = rfc2047_b64[acc >> 6 & 0x3f];
		word[o++] = '=';
	}
	word[o++] = '?';
	word[o++] = '=';
	return buf_append(out, word, o);
}

/* rfc2047_encode - value as printable ASCII or UTF-8 B words */
int
rfc2047_encode(const char *value, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)value;
	unsigned char chunk[RFC2047_CHUNK];
	char enc[4];
	size_t len, i = 0, n = 0, k, saved = out->len;
	bool is_first = true;
	unsigned int cp;

	if (rfc2047_is_plain(value))
		return buf_append_str(out, value);
	len = strlen(value);
	while (i < len) {
		k = utf8_decode(p + i, len - i, &cp);
		if (k == 0) {
			cp = 0xfffd;
			k = 1;
		}
		i += k;
		/* CR and LF must never reach an outgoing header */
		if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0))
			continue;
		k = utf8_encode(cp, enc);
		if (n + k > sizeof(chunk)) {
			if (rfc2047_emit(chunk, n, is_first, out) != 0)
				goto fail;
			is_first = false;
			n = 0;
		}
		memcpy(chunk + n, enc, k);
		n += k;
	}
	if (n > 0 && rfc2047_emit(chunk, n, is_first, out) != 0)
		goto fail;
	return 0;
fail:
	out->len = saved;
	if (out->data != NULL)
		out->data[saved] = '\0';
	return -1;
}

/* SPDX-License-Identifier: MIT */
/*
 * charset.c - conversion of header and body text to UTF-8 (see charset.h).
 * Labels are canonicalised case-insensitively (the GB family becomes
 * GB18030, US-ASCII becomes "auto"); iconv descriptors are cached per
 * converter in a small LRU table, reset before each use, and negative
 * answers are cached too.  Valid UTF-8 is copied without iconv.  Big5 uses
 * glibc "BIG5": of the codes Python's 'big5' codec (the differential-test
 * oracle) knows, it maps every ideograph alike and differs only on about 260
 * symbols and the Eten kana rows C6A1-C7FC.
 */
#include <errno.h>
#include <iconv.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "charset.h"

/* Descriptors kept per converter: a message rarely uses more than two. */
#define CHARSET_SLOTS 8
/* Longest label looked up; longer ones are unknown (iconv names are short). */
#define CHARSET_NAME_MAX 64
/* Bytes of UTF-8 produced per iconv call (on the stack). */
#define CHARSET_CHUNK 4096

#define CHARSET_NO_CD ((iconv_t)-1)
#define CHARSET_FFFD "\xef\xbf\xbd"

/* What a label asks for. */
enum charset_kind {
	CHARSET_KIND_AUTO,  /* UTF-8 if valid, else GB18030 */
	CHARSET_KIND_UTF8,  /* UTF-8, bad bytes become U+FFFD */
	CHARSET_KIND_ICONV, /* a name for iconv */
	CHARSET_KIND_BAD,   /* cannot be a charset name: unknown */
};

struct charset_slot {
	char name[CHARSET_NAME_MAX + 1]; /* canonical; "" = free */
	iconv_t cd;          /* owned; CHARSET_NO_CD when iconv lacks name */
	unsigned long stamp; /* last use, for LRU replacement */
};

struct charset_conv {
	struct charset_slot slot[CHARSET_SLOTS];
	unsigned long clock;
};

struct charset_alias {
	const char *label; /* lower case */
	enum charset_kind kind;
	const char *name; /* iconv name for CHARSET_KIND_ICONV */
};

static const struct charset_alias charset_aliases[] = {
    {"gb18030", CHARSET_KIND_ICONV, "GB18030"},
    {"gb2312", CHARSET_KIND_ICONV, "GB18030"},
    {"gbk", CHARSET_KIND_ICONV, "GB18030"},
    {"x-gbk", CHARSET_KIND_ICONV, "GB18030"},
    {"cp936", CHARSET_KIND_ICONV, "GB18030"},
    {"ms936", CHARSET_KIND_ICONV, "GB18030"},
    {"windows-936", CHARSET_KIND_ICONV, "GB18030"},
    {"euc-cn", CHARSET_KIND_ICONV, "GB18030"},
    {"euccn", CHARSET_KIND_ICONV, "GB18030"},
    {"x-euc-cn", CHARSET_KIND_ICONV, "GB18030"},
    {"csgb2312", CHARSET_KIND_ICONV, "GB18030"},
    {"gb_2312-80", CHARSET_KIND_ICONV, "GB18030"},
    {"chinese", CHARSET_KIND_ICONV, "GB18030"},
    {"big5", CHARSET_KIND_ICONV, "BIG5"},
    {"big-5", CHARSET_KIND_ICONV, "BIG5"},
    {"cn-big5", CHARSET_KIND_ICONV, "BIG5"},
    {"csbig5", CHARSET_KIND_ICONV, "BIG5"},
    {"x-x-big5", CHARSET_KIND_ICONV, "BIG5"},
    {"utf-8", CHARSET_KIND_UTF8, NULL},
    {"utf8", CHARSET_KIND_UTF8, NULL},
    {"us-ascii", CHARSET_KIND_AUTO, NULL},
    {"ascii", CHARSET_KIND_AUTO, NULL},
    {"ansi_x3.4-1968", CHARSET_KIND_AUTO, NULL},
    {"iso646-us", CHARSET_KIND_AUTO, NULL},
    {"csascii", CHARSET_KIND_AUTO, NULL},
    {"us", CHARSET_KIND_AUTO, NULL},
};

/* charset_conv_new - converter with an empty descriptor cache */
struct charset_conv *
charset_conv_new(void)
{
	struct charset_conv *cc;
	size_t i;

	cc = calloc(1, sizeof(*cc));
	if (cc == NULL)
		return NULL;
	for (i = 0; i < CHARSET_SLOTS; i++)
		cc->slot[i].cd = CHARSET_NO_CD;
	return cc;
}

/* charset_conv_free - close every cached descriptor */
void
charset_conv_free(struct charset_conv **p)
{
	struct charset_conv *cc;
	size_t i;

	if (p == NULL || *p == NULL)
		return;
	cc = *p;
	for (i = 0; i < CHARSET_SLOTS; i++) {
		if (cc->slot[i].cd != CHARSET_NO_CD)
			(void)iconv_close(cc->slot[i].cd);
	}
	free(cc);
	*p = NULL;
}

/* charset_is_name_char - byte allowed in a charset label we look up */
static bool
charset_is_name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
	       c == ':' || c == '+';
}

/* charset_canon - classify label cs; the iconv name goes to name */
static enum charset_kind
charset_canon(const char *cs, char name[CHARSET_NAME_MAX + 1])
{
	size_t len, i;
	unsigned char c;

	if (cs == NULL)
		return CHARSET_KIND_AUTO;
	while (*cs == ' ' || *cs == '\t' || *cs == '"')
		cs++;
	len = strlen(cs);
	while (len > 0 && (cs[len - 1] == ' ' || cs[len - 1] == '\t' ||
	                   cs[len - 1] == '"'))
		len--;
	if (len == 0)
		return CHARSET_KIND_AUTO;
	if (len > CHARSET_NAME_MAX)
		return CHARSET_KIND_BAD;
	for (i = 0; i < len; i++) {
		c = (unsigned char)cs[i];
		/* no "//" suffixes or other syntax reaches iconv_open */
		if (!charset_is_name_char(c))
			return CHARSET_KIND_BAD;
		name[i] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
	}
	name[len] = '\0';
	for (i = 0; i < sizeof(charset_aliases) / sizeof(charset_aliases[0]);
	     i++) {
		if (strcmp(name, charset_aliases[i].label) != 0)
			continue;
		if (charset_aliases[i].name != NULL)
			memcpy(name, charset_aliases[i].name,
			       strlen(charset_aliases[i].name) + 1);
		return charset_aliases[i].kind;
	}
	return CHARSET_KIND_ICONV;
}

/* charset_lookup - cached descriptor for name; CHARSET_NO_CD if unknown */
static iconv_t
charset_lookup(struct charset_conv *cc, const char *name)
{
	struct charset_slot *s, *victim = NULL;
	iconv_t cd;
	size_t i;

	cc->clock++;
	for (i = 0; i < CHARSET_SLOTS; i++) {
		s = &cc->slot[i];
		if (s->name[0] != '\0' && strcmp(s->name, name) == 0) {
			s->stamp = cc->clock;
			return s->cd;
		}
		if (victim == NULL || s->name[0] == '\0' ||
		    (victim->name[0] != '\0' && s->stamp < victim->stamp))
			victim = s;
	}
	cd = iconv_open("UTF-8", name);
	/* only "no such conversion" is worth remembering */
	if (cd == CHARSET_NO_CD && errno != EINVAL)
		return CHARSET_NO_CD;
	if (victim->cd != CHARSET_NO_CD)
		(void)iconv_close(victim->cd);
	memcpy(victim->name, name, strlen(name) + 1);
	victim->cd = cd;
	victim->stamp = cc->clock;
	return cd;
}

/* charset_put - append complete UTF-8 text, cut on a character boundary */
static int
charset_put(struct buf *out, const char *p, size_t n)
{
	size_t max = out->max == 0 ? SIZE_MAX - 1 : out->max;
	size_t room = max - out->len;

	if (n > room) {
		n = room;
		while (n > 0 && ((unsigned char)p[n] & 0xc0) == 0x80)
			n--;
		if (n > 0 && buf_append(out, p, n) != 0)
			return CHARSET_NOMEM;
		out->is_full = true;
		return CHARSET_FULL;
	}
	if (buf_append(out, p, n) != 0)
		return CHARSET_NOMEM;
	return CHARSET_OK;
}

/* charset_bad_utf8_len - bytes one U+FFFD replaces (the maximal subpart) */
static size_t
charset_bad_utf8_len(const unsigned char *p, size_t len)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t need, i;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		need = 1;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		need = 2;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		need = 3;
	else
		return 1;
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (len < 2 || p[1] < lo || p[1] > hi)
		return 1;
	i = 2;
	while (i < len && i <= need && (p[i] & 0xc0) == 0x80)
		i++;
	return i;
}

/* charset_utf8 - copy UTF-8, replacing each bad sequence by U+FFFD */
static int
charset_utf8(const unsigned char *p, size_t len, struct buf *out)
{
	size_t i = 0, start = 0, n;
	unsigned int cp;
	int rc;

	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		n = utf8_decode(p + i, len - i, &cp);
		if (n > 0) {
			i += n;
			continue;
		}
		rc = charset_put(out, (const char *)p + start, i - start);
		if (rc != CHARSET_OK)
			return rc;
		rc = charset_put(out, CHARSET_FFFD, 3);
		if (rc != CHARSET_OK)
			return rc;
		i += charset_bad_utf8_len(p + i, len - i);
		start = i;
	}
	rc = charset_put(out, (const char *)p + start, i - start);
	if (rc != CHARSET_OK)
		return rc;
	return start > 0 ? CHARSET_LOSSY : CHARSET_OK;
}

/* charset_iconv - convert through cd in stack-sized chunks */
static int
charset_iconv(iconv_t cd, const char *in, size_t len, struct buf *out)
{
	char tmp[CHARSET_CHUNK];
	/* iconv's prototype lacks const; it never writes the input */
	char *ip = (char *)(uintptr_t)in;
	char *op;
	size_t ileft = len, oleft, r;
	int rc, err, status = CHARSET_OK;

	(void)iconv(cd, NULL, NULL, NULL, NULL);
	while (ileft > 0) {
		op = tmp;
		oleft = sizeof(tmp);
		r = iconv(cd, &ip, &ileft, &op, &oleft);
		err = errno;
		if (op > tmp) {
			rc = charset_put(out, tmp, (size_t)(op - tmp));
			if (rc != CHARSET_OK)
				return rc;
		}
		if (r != (size_t)-1)
			break;
		if (err == E2BIG && op > tmp)
			continue;
		rc = charset_put(out, CHARSET_FFFD, 3);
		if (rc != CHARSET_OK)
			return rc;
		status = CHARSET_LOSSY;
		if (err == EINVAL)
			break; /* truncated tail: one U+FFFD for it */
		ip++;
		ileft--;
	}
	op = tmp;
	oleft = sizeof(tmp);
	if (iconv(cd, NULL, NULL, &op, &oleft) != (size_t)-1 && op > tmp) {
		rc = charset_put(out, tmp, (size_t)(op - tmp));
		if (rc != CHARSET_OK)
			return rc;
	}
	return status;
}

/* charset_auto - UTF-8 if valid, else GB18030 */
static int
charset_auto(struct charset_conv *cc, const char *in, size_t len,
             struct buf *out)
{
	iconv_t cd;

	if (utf8_valid(in, len))
		return charset_put(out, in, len);
	cd = charset_lookup(cc, "GB18030");
	if (cd == CHARSET_NO_CD)
		return charset_utf8((const unsigned char *)in, len, out);
	return charset_iconv(cd, in, len, out);
}

/* charset_is_ascii - whether len bytes are all below 0x80 */
static bool
charset_is_ascii(const char *in, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if ((unsigned char)in[i] >= 0x80)
			return false;
	}
	return true;
}

/* charset_ascii_compat - ASCII bytes mean ASCII in this canonical name */
static bool
charset_ascii_compat(const char *name)
{
	return strcmp(name, "GB18030") == 0 || strcmp(name, "BIG5") == 0 ||
	       strncmp(name, "iso-8859-", 9) == 0 ||
	       strncmp(name, "windows-125", 11) == 0 ||
	       strncmp(name, "cp125", 5) == 0;
}

/* charset_to_utf8 - convert len bytes in charset cs, appending to out */
int
charset_to_utf8(struct charset_conv *cc, const char *cs, const void *in,
                size_t len, struct buf *out)
{
	char name[CHARSET_NAME_MAX + 1];
	enum charset_kind kind;
	iconv_t cd;
	int rc;

	if (len == 0)
		return CHARSET_OK;
	kind = charset_canon(cs, name);
	if (kind == CHARSET_KIND_AUTO)
		return charset_auto(cc, in, len, out);
	if (kind == CHARSET_KIND_UTF8)
		return charset_utf8(in, len, out);
	if (kind == CHARSET_KIND_ICONV) {
		if (charset_ascii_compat(name) && charset_is_ascii(in, len))
			return charset_put(out, in, len);
		cd = charset_lookup(cc, name);
		if (cd != CHARSET_NO_CD)
			return charset_iconv(cd, in, len, out);
	}
	rc = charset_auto(cc, in, len, out);
	return rc > CHARSET_UNKNOWN ? rc : CHARSET_UNKNOWN;
}

/* charset_is_auto - whether cs means "guess" */
int
charset_is_auto(struct charset_conv *cc, const char *cs)
{
	char name[CHARSET_NAME_MAX + 1];
	enum charset_kind kind;

	kind = charset_canon(cs, name);
	if (kind == CHARSET_KIND_AUTO || kind == CHARSET_KIND_BAD)
		return 1;
	if (kind == CHARSET_KIND_UTF8)
		return 0;
	return charset_lookup(cc, name) == CHARSET_NO_CD;
}

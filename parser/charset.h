/* SPDX-License-Identifier: MIT */
/*
 * charset.h - conversion of any charset iconv knows to UTF-8 (private to
 * parser/).  Owns the iconv descriptors, cached per converter object so a
 * message with many parts does not reopen them; one converter per thread.
 *
 * Charset policy (SPEC §2): GB2312, GBK, CP936, EUC-CN and their aliases
 * are decoded as GB18030 (a superset); a missing or empty charset means
 * "UTF-8 if the bytes are valid UTF-8, else GB18030"; US-ASCII is decoded
 * as UTF-8 if valid, else as auto.  Undecodable bytes become U+FFFD, so the
 * output is always valid UTF-8.
 */
#ifndef PARSER_CHARSET_H
#define PARSER_CHARSET_H

#include <stddef.h>

#include "common/buf.h"

enum charset_status {
	CHARSET_OK = 0,
	CHARSET_LOSSY,   /* converted, some bytes became U+FFFD */
	CHARSET_UNKNOWN, /* iconv does not know cs: converted as auto */
	CHARSET_FULL,    /* out hit its limit: output cut, still valid */
	CHARSET_NOMEM,
};

struct charset_conv;

/* charset_conv_new - a converter; NULL only when out of memory. */
struct charset_conv *charset_conv_new(void);

/* charset_conv_free - close cached descriptors; accepts NULL; sets *p NULL. */
void charset_conv_free(struct charset_conv **p);

/*
 * charset_to_utf8 - append the UTF-8 form of len bytes of in, which are in
 * charset cs (borrowed; NULL or "" = auto), to out.  Never appends a partial
 * character.  Returns a charset_status; only CHARSET_NOMEM means nothing
 * usable was appended.
 */
int charset_to_utf8(struct charset_conv *cc, const char *cs, const void *in,
                    size_t len, struct buf *out);

/*
 * charset_is_auto - whether cs (borrowed, may be NULL) means "guess":
 * NULL, empty, us-ascii, or unknown to iconv.
 */
int charset_is_auto(struct charset_conv *cc, const char *cs);

#endif

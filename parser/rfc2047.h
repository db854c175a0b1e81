/* SPDX-License-Identifier: MIT */
/*
 * rfc2047.h - decoding of header values: RFC 2047 encoded words (B and Q,
 * any charset iconv knows, with optional *language) and raw 8-bit text
 * (UTF-8 if valid, else GB18030).  Private to parser/.
 *
 * Unlike libetpan 1.9.4, adjacent encoded words in the same charset are
 * decoded to bytes and joined before conversion, so a multibyte character
 * split across two words comes out whole.  Whitespace between two adjacent
 * encoded words is dropped (RFC 2047 §6.2).  Malformed words stay literal.
 * At most max_words words are decoded (0 = PARSER_WORDS_MAX); the rest of
 * the value stays literal.
 */
#ifndef PARSER_RFC2047_H
#define PARSER_RFC2047_H

#include <stddef.h>

#include "common/buf.h"
#include "charset.h"

/*
 * rfc2047_decode - append the decoded UTF-8 form of the len bytes of in
 * (borrowed) to out.  Does not unfold or trim: callers fold whitespace.
 * Returns a charset_status (CHARSET_OK, _LOSSY, _FULL or _NOMEM).
 */
int rfc2047_decode(struct charset_conv *cc, const char *in, size_t len,
                   size_t max_words, struct buf *out);

/*
 * rfc2047_encode - append value (UTF-8, borrowed) to out as one or more
 * "=?UTF-8?B?...?=" words separated by CRLF SP, each at most 75 bytes and
 * never splitting a character; plain printable ASCII is appended as is.
 * Used for outgoing headers.  Returns 0, or -1 when out refused the bytes.
 */
int rfc2047_encode(const char *value, struct buf *out);

#endif

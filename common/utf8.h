/* SPDX-License-Identifier: MIT */
/*
 * utf8.h - UTF-8 validation and sanitising shared by the parser, the store
 * and the daemon.  Nothing here allocates except utf8_sanitise, whose result
 * the caller frees with free().
 */
#ifndef COMMON_UTF8_H
#define COMMON_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/*
 * utf8_valid - whether len bytes are well-formed UTF-8 (no overlongs, no
 * surrogates, nothing above U+10FFFF).  An embedded NUL is valid UTF-8.
 */
bool utf8_valid(const void *p, size_t len);

/*
 * utf8_decode - decode one code point at p (at most len bytes).  Returns
 * its length in bytes and stores it in *cp_r, or returns 0 when the bytes
 * there are not well-formed UTF-8.
 */
size_t utf8_decode(const unsigned char *p, size_t len, unsigned int *cp_r);

/* utf8_encode - write cp as UTF-8 into out (4 bytes room); returns length. */
size_t utf8_encode(unsigned int cp, char *out);

enum {
	UTF8_KEEP_NEWLINES = 1 << 0, /* keep LF (CR and CRLF become LF) */
	UTF8_KEEP_TABS = 1 << 1,     /* keep TAB (else it becomes a space) */
};

/*
 * utf8_sanitise - copy of at most max_bytes of s that is valid UTF-8 (bad
 * bytes become U+FFFD) with C0/C1 controls and DEL removed, except those
 * kept by flags; never cuts a character in half.  Caller frees.  NULL only
 * when out of memory.
 */
char *utf8_sanitise(const char *s, size_t len, size_t max_bytes, int flags);

#endif

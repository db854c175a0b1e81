/* SPDX-License-Identifier: MIT */
/*
 * subject.h - subject normalisation before matching (SPEC §2), private to
 * parser/.  Input is the decoded subject, valid UTF-8.
 */
#ifndef PARSER_SUBJECT_H
#define PARSER_SUBJECT_H

#include <stddef.h>

#include "common/buf.h"

/*
 * subject_normalise - append to out the normalised form of in:
 *  - full-width forms compared as ASCII: U+FF01..U+FF5E become U+0021..
 *    U+007E (so ０-９ are digits, ：（）［］＃ are ASCII), U+3000 is a
 *    space, 【】〔〕〖〗 become [];
 *  - whitespace runs (any Unicode space, TAB, CR, LF) fold to one space,
 *    and the ends are trimmed;
 *  - any number of reply/forward prefixes are stripped from the front:
 *    Re, RE, Fwd, Fw, FW, AW, SV, 回复, 答复, 转发 (case-insensitive),
 *    optionally followed by "[n]" or "(n)", then ':' (after the mapping
 *    above, so the full-width colon counts).
 * Returns 0, or -1 when out refused the bytes.
 */
int subject_normalise(const char *in, size_t len, struct buf *out);

#endif

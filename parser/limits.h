/* SPDX-License-Identifier: MIT */
/*
 * limits.h - every bound the parser enforces on untrusted mail, with the
 * default of SPEC.md §6 where it names one.  Each limit can be overridden
 * through struct parser_settings (0 = this default).
 */
#ifndef PARSER_LIMITS_H
#define PARSER_LIMITS_H

/* Decoded size of one attachment; larger ones are recorded as skipped. */
#define PARSER_ATTACHMENT_MAX (10u * 1024 * 1024)
/* Raw size of a whole message; larger ones are parsed header-only. */
#define PARSER_MESSAGE_MAX (25u * 1024 * 1024)
/* MIME leaves walked; later leaves are recorded as skipped. */
#define PARSER_PARTS_MAX 50
/* Nesting of multiparts and message/rfc822; deeper parts are skipped. */
#define PARSER_DEPTH_MAX 16
/* Bytes in one header block (top level or a part's); past it, the rest of
   the header block is ignored and the message is marked truncated. */
#define PARSER_HEADER_MAX (256u * 1024)
/* Bytes of a decoded subject kept; longer subjects are cut (on a character
   boundary) before matching, so regexes see bounded input. */
#define PARSER_SUBJECT_MAX 2048
/* Bytes of decoded body text kept for the ticket. */
#define PARSER_BODY_MAX (1024u * 1024)
/* Bytes of body text searched for order numbers. */
#define PARSER_BODY_SCAN_MAX (64u * 1024)
/* Encoded words decoded in one header value; the rest stays literal. */
#define PARSER_WORDS_MAX 256
/* Order / screening numbers kept per message (seed: batches of 5). */
#define PARSER_NUMBERS_MAX 16
/* Message-IDs kept from References. */
#define PARSER_REFS_MAX 64
/* Bytes of a sanitised attachment filename. */
#define PARSER_FILENAME_MAX 255
/* Bytes of any other single decoded header value kept. */
#define PARSER_FIELD_MAX 998
/* RFC 2231 continuation sections accepted for one parameter. */
#define PARSER_RFC2231_SECTIONS_MAX 64
/* PCRE2 match limit (backtracking steps) for one match call. */
#define PARSER_MATCH_LIMIT 100000
/* PCRE2 depth limit (interpreter only). */
#define PARSER_DEPTH_LIMIT 2000
/* PCRE2 heap limit in KiB (interpreter only). */
#define PARSER_HEAP_LIMIT_KIB 4096

#endif

/* SPDX-License-Identifier: MIT */
/*
 * decode.h - fast Content-Transfer-Encoding decoding (private to
 * parser/).  libetpan 1.9.4 decodes base64 one byte at a time into an
 * mmap_string (about 50 MB/s); attachments dominate support mail, so the
 * common encoding is decoded here instead, byte for byte as libetpan
 * would: characters outside the alphabet, '=' included, are skipped, and a
 * lone trailing character still gives one byte (tests/parser/test_decode.c
 * compares the two on random input).
 */
#ifndef PARSER_DECODE_H
#define PARSER_DECODE_H

#include <stddef.h>

/*
 * decode_base64 - decode len bytes of base64 text at in (borrowed) into a
 * malloc'd buffer (*out_r, NUL-terminated, caller frees) of *len_r bytes.
 * Returns 0, or -1 when out of memory.
 */
int decode_base64(const char *in, size_t len, unsigned char **out_r,
                  size_t *len_r);

/*
 * decode_qp - decode len bytes of quoted-printable text at in (borrowed)
 * into a malloc'd buffer as decode_base64 does.  "=XX" (either case)
 * gives its byte, "=" before a line end (blanks allowed between) joins
 * the lines, any other "=" stays literal, line ends are kept as they are.
 * libetpan's decoder reads past the data on a trailing "=X"; this one
 * never reads past len.  Returns 0, or -1 when out of memory.
 */
int decode_qp(const char *in, size_t len, unsigned char **out_r, size_t *len_r);

#endif

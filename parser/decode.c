/* SPDX-License-Identifier: MIT */
/*
 * decode.c - base64 and quoted-printable body decoding (see decode.h).  One
 * table lookup per input byte, output written straight into a buffer sized from
 * the input, so the cost is linear with no reallocation.
 */
#include <stdlib.h>

#include "decode.h"

/* Values of the base64 alphabet; 64 = skip, 65 = padding. */
static const unsigned char b64_value[256] = {
#define X 64
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  62, X,  X,  X,  63, 52, 53, 54, 55, 56, 57, 58, 59, 60,
    61, X,  X,  X,  65, X,  X,  X,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
    11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, X,  X,  X,  X,
    X,  X,  26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42,
    43, 44, 45, 46, 47, 48, 49, 50, 51, X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,
#undef X
};

/* decode_base64 - skip everything outside the alphabet, '=' included */
int
decode_base64(const char *in, size_t len, unsigned char **out_r, size_t *len_r)
{
	const unsigned char *p = (const unsigned char *)in;
	unsigned char *out;
	unsigned int acc = 0;
	size_t i, o = 0;
	int bits = 0;

	out = malloc(len / 4 * 3 + 4);
	if (out == NULL)
		return -1;
	i = 0;
	while (i < len) {
		unsigned char v;

		/* fast path: four alphabet characters at a quantum boundary */
		if (bits == 0 && len - i >= 4) {
			unsigned int a = b64_value[p[i]],
			             b = b64_value[p[i + 1]];
			unsigned int c = b64_value[p[i + 2]];
			unsigned int d = b64_value[p[i + 3]];

			if ((a | b | c | d) < 64) {
				out[o] = (unsigned char)(a << 2 | b >> 4);
				out[o + 1] = (unsigned char)(b << 4 | c >> 2);
				out[o + 2] = (unsigned char)(c << 6 | d);
				o += 3;
				i += 4;
				continue;
			}
		}
		v = b64_value[p[i++]];
		if (v >= 64)
			continue;
		acc = (acc << 6) | v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* like libetpan, a lone trailing character still yields a byte */
	if (bits == 6)
		out[o++] = (unsigned char)(acc << 2);
	out[o] = '\0';
	*out_r = out;
	*len_r = o;
	return 0;
}

/* hex_value - a hex digit's value, or -1 */
static int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* decode_qp - quoted-printable, bounded by len */
int
decode_qp(const char *in, size_t len, unsigned char **out_r, size_t *len_r)
{
	const unsigned char *p = (const unsigned char *)in;
	unsigned char *out;
	size_t i = 0, o = 0;

	out = malloc(len + 1);
	if (out == NULL)
		return -1;
	while (i < len) {
		if (p[i] != '=') {
			out[o++] = p[i++];
			continue;
		}
		if (i + 2 < len && hex_value(p[i + 1]) >= 0 &&
		    hex_value(p[i + 2]) >= 0) {
			out[o++] = (unsigned char)(hex_value(p[i + 1]) << 4 |
			                           hex_value(p[i + 2]));
			i += 3;
			continue;
		}
		{
			/* soft line break: '=' then blanks then a line end */
			size_t k = i + 1;

			while (k < len && (p[k] == ' ' || p[k] == '\t'))
				k++;
			if (k < len && p[k] == '\r')
				k++;
			if (k < len && p[k] == '\n') {
				i = k + 1;
				continue;
			}
			if (k == len) {
				i = k;
				continue;
			}
		}
		out[o++] = p[i++];
	}
	out[o] = '\0';
	*out_r = out;
	*len_r = o;
	return 0;
}

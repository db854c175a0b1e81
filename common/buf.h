/* SPDX-License-Identifier: MIT */
/*
 * buf.h - bounded growable byte buffer.
 *
 * Every size that comes from untrusted input goes through a buf: it is
 * created with a maximum, and growth checks size_t overflow and the maximum
 * before allocating.  The contents are always NUL-terminated (the NUL is not
 * counted in len), so text can be handed to C string functions, but embedded
 * NUL bytes are kept.  Functions return 0 on success and -1 when the limit
 * would be exceeded or memory ran out; the buffer is unchanged on failure.
 */
#ifndef COMMON_BUF_H
#define COMMON_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
	char *data;   /* owned; NULL until the first append */
	size_t len;   /* bytes used, excluding the trailing NUL */
	size_t cap;   /* bytes allocated */
	size_t max;   /* maximum len; 0 means SIZE_MAX - 1 */
	bool is_full; /* set when an append was refused by the limit */
};

/* buf_init - empty buffer that will never hold more than max bytes. */
void buf_init(struct buf *b, size_t max);

/* buf_append - append len bytes (may contain NUL). 0, or -1 if refused. */
int buf_append(struct buf *b, const void *p, size_t len);

/* buf_append_str - append a NUL-terminated string. */
int buf_append_str(struct buf *b, const char *s);

/* buf_append_byte - append one byte. */
int buf_append_byte(struct buf *b, unsigned char c);

/* buf_printf - append formatted text; -1 if refused or on format error. */
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * buf_steal - hand the contents to the caller (caller frees with free());
 * never NULL unless out of memory: an empty buffer gives "".  The buffer is
 * left empty and reusable with the same limit.
 */
char *buf_steal(struct buf *b);

/* buf_reset - drop the contents, keep the allocation. */
void buf_reset(struct buf *b);

/* buf_free - release the storage; the buf may be reused after buf_init. */
void buf_free(struct buf *b);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * mimetree.h - builds libetpan's MIME tree (struct mailmime) for a raw
 * message with our own multipart splitter (private to parser/).  libetpan
 * 1.9.4's mailmime_parse() looks for boundaries one byte at a time (about
 * 300 MB/s), drops every part of a multipart whose closing delimiter is
 * missing, and corrupts its heap on a boundary starting with a quote.  This
 * module keeps libetpan's header-field and parameter parsers and its tree
 * types, but finds delimiter lines with memmem(), takes the last part of an
 * unterminated multipart up to the end, and bounds nesting.
 */
#ifndef PARSER_MIMETREE_H
#define PARSER_MIMETREE_H

#include <stddef.h>

struct mailmime;

/* Parts kept per multipart; the rest of the body is one more part. */
#define MIMETREE_PARTS_MAX 10000

/*
 * mimetree_parse - the tree of len bytes at raw (borrowed: the tree points
 * into it, keep it alive until mailmime_free).  Nesting deeper than
 * max_depth levels is not split: such a part is a leaf.  Returns 0 and sets
 * *tree_r (free with mailmime_free), or -1 when out of memory or the
 * message has no usable structure.
 */
int mimetree_parse(const char *raw, size_t len, size_t max_depth,
                   struct mailmime **tree_r);

#endif

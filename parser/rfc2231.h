/* SPDX-License-Identifier: MIT */
/*
 * rfc2231.h - MIME parameter values as mail clients really send them
 * (private to parser/): RFC 2231 extended values ("name*=cs'lang'%E5..."),
 * continuations ("name*0*=", "name*1=", ...) in any order, plain values,
 * and RFC 2047 encoded words inside quoted values (Outlook, Foxmail).
 * libetpan 1.9.4 hands these over undecoded; this module decodes them.
 */
#ifndef PARSER_RFC2231_H
#define PARSER_RFC2231_H

#include <stddef.h>

#include "common/buf.h"
#include "charset.h"

/* One raw parameter as libetpan parsed it (already unquoted); borrowed. */
struct rfc2231_param {
	const char *name;  /* e.g. "filename*0*", any case */
	const char *value; /* still percent-encoded when starred */
};

/*
 * rfc2231_get - look up parameter name (e.g. "filename", borrowed) in the n
 * params and append its decoded UTF-8 value to out.  The extended form
 * (name* or name*0, name*1, ... sorted by section number, starred sections
 * percent-decoded, charset from the first section, joined as bytes and
 * converted once) wins over the plain form; a plain value is RFC 2047
 * decoded when it holds encoded words, and raw 8-bit bytes are read as
 * UTF-8 if valid, else GB18030.  At most PARSER_RFC2231_SECTIONS_MAX
 * sections are used.
 * Returns 1 when found (out appended), 0 when absent, -1 out of memory.
 */
int rfc2231_get(struct charset_conv *cc, const struct rfc2231_param *params,
                size_t n, const char *name, struct buf *out);

#endif

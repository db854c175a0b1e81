/* SPDX-License-Identifier: MIT */
/*
 * html.h - plain-text rendering of HTML bodies (private to parser/), for
 * messages that have no text/plain part (SPEC §5).  Not a browser: tags are
 * dropped, block elements and <br> become line breaks, script/style/head
 * content is skipped, character references are decoded, blank runs fold.
 */
#ifndef PARSER_HTML_H
#define PARSER_HTML_H

#include <stddef.h>

#include "common/buf.h"

/*
 * html_to_text - append the text of len bytes of UTF-8 HTML (borrowed) to
 * out.  Returns 0, or -1 when out refused bytes (what fit is kept).
 */
int html_to_text(const char *in, size_t len, struct buf *out);

#endif

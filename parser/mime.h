/* SPDX-License-Identifier: MIT */
/*
 * mime.h - the MIME tree walk (private to parser/): runs libetpan's MIME
 * parser on a raw message and turns its tree into body text and a bounded
 * list of attachments (SPEC §5, §6), enforcing the part, depth and size
 * limits libetpan itself does not have.  Also notes whether the message is
 * a delivery report and which Message-IDs the report names (SPEC §7).
 */
#ifndef PARSER_MIME_H
#define PARSER_MIME_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/strlist.h"
#include "charset.h"
#include "parser.h"

struct mime_limits {
	size_t attachment_max; /* decoded bytes of one attachment */
	size_t max_parts;      /* leaves walked */
	size_t max_depth;      /* nesting of multiparts and messages */
	size_t body_max;       /* bytes of body text kept */
};

/* What the walk found; mime_result_clear frees it. */
struct mime_result {
	struct buf text; /* body text, UTF-8, LF line ends */
	bool is_text_from_html;
	char *top_type; /* owned, "type/subtype" of the top part */
	struct parser_attachment *att; /* owned array */
	size_t n_att;
	size_t cap_att;
	bool is_report;             /* multipart/report or delivery-status */
	struct strlist bounce_refs; /* ids named by a report */
	bool is_truncated;          /* some limit was hit */
};

/*
 * mime_walk - parse len bytes at raw (borrowed) and fill *r (zeroed by the
 * caller first).  cut_at (0 = none) is the offset past which the raw bytes
 * were not fetched: attachments there are recorded as NOT_FETCHED.  Notes
 * about limits and repairs are appended to notes.  Returns PARSER_OK,
 * PARSER_TRUNCATED, PARSER_MALFORMED (err set) or PARSER_NOMEM.
 */
int mime_walk(struct charset_conv *cc, const struct mime_limits *lim,
              const char *raw, size_t len, size_t cut_at, struct mime_result *r,
              struct strlist *notes, char *err, size_t errlen);

/* mime_result_clear - free everything in r. */
void mime_result_clear(struct mime_result *r);

/*
 * mime_boundary_is_hostile - whether the raw message declares a boundary
 * that libetpan 1.9.4 mishandles (a quoted value starting with '"'), which
 * corrupts its heap; such messages are refused before parsing.
 */
bool mime_boundary_is_hostile(const char *raw, size_t len);

#endif

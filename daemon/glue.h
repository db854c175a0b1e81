/* SPDX-License-Identifier: MIT */
/*
 * glue.h - the joints between config, parser and store that ticketd and
 * ticketctl share, so both file a message exactly alike: a parser built
 * from the config, and (with the store) a parsed message turned into a
 * filing request.
 */
#ifndef DAEMON_GLUE_H
#define DAEMON_GLUE_H

#include <stddef.h>

#include "config.h"
#include "parser/parser.h"
#include "store/store.h"

/*
 * glue_parser_new - a parser with the config's limits, patterns,
 * categories, ticket prefix and own addresses (the From of acks and the
 * IMAP user).  Returns a parser_status; err names a bad pattern.
 */
int glue_parser_new(const struct config *cfg, struct parser **parser_r,
                    char *err, size_t errlen);

/*
 * glue_addr_of - the addr-spec in "Name <addr>" or "addr" (borrowed s),
 * lower-cased into out; "" when there is none.
 */
void glue_addr_of(const char *s, char *out, size_t outlen);

/*
 * glue_store_settings - store settings from the config; every pointer in
 * *ss borrows from cfg, which must outlive the store.
 */
void glue_store_settings(const struct config *cfg, struct store_settings *ss);

/* Arrays a filing request points into; glue_msg_clear frees them. */
struct glue_msg {
	struct store_msg sm;             /* what store_file takes */
	struct store_attachment_in *att; /* owned array */
};

/*
 * glue_store_msg - fill g->sm from a parse result pm (borrowed, NULL for a
 * message that could not be parsed: then quarantine_reason must be set)
 * and the raw bytes (borrowed).  Everything borrows from pm and raw, which
 * must outlive g.  Returns 0, or -1 when out of memory.
 */
int glue_store_msg(const struct parser_msg *pm, const void *raw, size_t len,
                   const char *mailbox, uint32_t uidvalidity, uint32_t uid,
                   const char *quarantine_reason, struct glue_msg *g);

/* glue_msg_clear - free what glue_store_msg allocated. */
void glue_msg_clear(struct glue_msg *g);

/*
 * glue_read_file - read at most max bytes of path ("-" = stdin) into a
 * malloc'd buffer; *len_r is the length, *over_r set when the input was
 * longer than max.  NULL with errno set on failure.
 */
char *glue_read_file(const char *path, size_t max, size_t *len_r, int *over_r);

#endif

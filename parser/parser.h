/* SPDX-License-Identifier: MIT */
/*
 * parser.h - the parser's public interface: one raw RFC 5322 message in,
 * one bounded, UTF-8, structured description of a support message out
 * (SPEC.md §2-§7).  This is the only header other directories include.
 *
 * The parser is pure: no I/O, no globals, no logging, no exit.  A struct
 * parser holds the compiled subject rules and limits and is read-only while
 * parsing; each thread needs its own (rules are cheap to compile).  Every
 * string in a result is valid UTF-8 with no control characters except the
 * newlines and tabs of body text.
 */
#ifndef PARSER_PARSER_H
#define PARSER_PARSER_H

#include <stdbool.h>
#include <stddef.h>

#include "common/strlist.h"

enum parser_status {
	PARSER_OK = 0,
	PARSER_TRUNCATED,  /* a limit was hit: result usable, see notes */
	PARSER_MALFORMED,  /* not a message at all: quarantine */
	PARSER_BAD_CONFIG, /* parser_new: a pattern did not compile */
	PARSER_NOMEM,
};

/* Why an attachment's bytes were not kept. */
enum parser_skip {
	PARSER_SKIP_NONE = 0,
	PARSER_SKIP_TOO_LARGE,      /* over attachment_max */
	PARSER_SKIP_TOO_MANY_PARTS, /* past max_parts */
	PARSER_SKIP_TOO_DEEP,       /* past max_depth */
	PARSER_SKIP_UNDECODABLE,    /* transfer encoding could not decode */
	PARSER_SKIP_NOT_FETCHED,    /* message over message_max: not fetched */
};

/* A user subject pattern from the config. */
struct parser_pattern {
	const char *name;  /* borrowed during parser_new */
	const char *regex; /* borrowed during parser_new */
};

/* A category keyword rule from the config. */
struct parser_category {
	const char *name;     /* borrowed during parser_new */
	const char *keywords; /* comma-separated; borrowed */
};

/* Settings; 0/NULL everywhere means the default of parser/limits.h. */
struct parser_settings {
	size_t attachment_max;
	size_t message_max;
	size_t max_parts;
	size_t max_depth;
	size_t header_max;
	const struct parser_pattern *patterns; /* tried before built-ins */
	size_t n_patterns;
	bool no_builtin_patterns;
	const struct parser_category *categories; /* NULL: SPEC §4 table */
	size_t n_categories;
	const char *ticket_prefix; /* NULL: "CM" */
	/* our own addresses (lower-case); mail from them is never acked */
	const char *const *own_addresses;
	size_t n_own_addresses;
};

struct parser_attachment {
	char *filename;      /* owned; sanitised, never empty */
	char *content_type;  /* owned; lower-case "type/subtype" */
	unsigned char *data; /* owned decoded bytes; NULL when skipped */
	size_t size;         /* decoded size (skipped: best estimate) */
	char sha256[65];     /* lower-case hex; "" when skipped */
	enum parser_skip skipped;
};

struct parser_msg {
	/* Header fields, decoded and sanitised; NULL when absent. */
	char *from;                /* addr-spec of the first From mailbox */
	char *from_name;           /* its display name */
	char *reply_to;            /* addr-spec of the first Reply-To mailbox */
	char *return_path;         /* addr-spec; "" for Return-Path: <> */
	char *to;                  /* the whole To value, decoded */
	char *message_id;          /* with angle brackets */
	char *in_reply_to;         /* first id, with angle brackets */
	struct strlist references; /* ids with angle brackets */
	char *date;                /* the Date value as sent (untrusted) */
	char *auto_submitted;
	char *precedence;
	char *list_id;
	char *x_auto_response_suppress;
	char *content_type; /* top-level "type/subtype", lower-case */

	char *subject;      /* decoded original ("" when absent) */
	char *subject_norm; /* normalised (SPEC §2) */
	char *requester;    /* Reply-To, else From; lower-case; may be NULL */

	/* The subject match (SPEC §3, §4). */
	char *format;     /* pattern name, "other" when none matched */
	char *ticket_ref; /* ticket id in the subject, or NULL */
	char *priority;   /* "urgent" | "complaint" | "normal" */
	char *user_id;
	struct strlist order_numbers;
	struct strlist screening_numbers;
	char *category;
	char *kind; /* "inquiry" | "appeal" | "inquiry/appeal" */
	bool is_review;
	char *summary;

	char *body_text; /* UTF-8 text (HTML rendered); never NULL */
	size_t body_len;

	struct parser_attachment *attachments; /* owned array */
	size_t n_attachments;

	/* Static reason the ack would be suppressed (SPEC §7), or NULL. */
	const char *ack_suppress;
	bool is_bounce;             /* a DSN / multipart/report */
	struct strlist bounce_refs; /* Message-IDs a DSN names */

	/* One short line per limit hit or repair, for the log. */
	struct strlist notes;
};

struct parser;

/*
 * parser_new - compile the rules.  Returns PARSER_OK and sets *parser_r,
 * PARSER_BAD_CONFIG with err naming the bad pattern, or PARSER_NOMEM.
 * Free with parser_free.
 */
int parser_new(const struct parser_settings *s, struct parser **parser_r,
               char *err, size_t errlen);

/* parser_free - accepts NULL; sets *p to NULL. */
void parser_free(struct parser **p);

/*
 * parser_parse - parse len bytes at raw (borrowed; may contain NUL).  On
 * PARSER_OK or PARSER_TRUNCATED *msg_r is set (caller frees with
 * parser_msg_free).  On PARSER_MALFORMED or PARSER_NOMEM *msg_r is NULL and
 * err holds one sanitised line.  A message over message_max is parsed from
 * its first message_max bytes only, with every attachment recorded as
 * PARSER_SKIP_NOT_FETCHED when its bytes lie past that point.
 */
int parser_parse(struct parser *p, const void *raw, size_t len,
                 struct parser_msg **msg_r, char *err, size_t errlen);

/*
 * parser_parse_prefix - like parser_parse for a message of full_size bytes
 * of which only the first len are at raw (an oversized message fetched as
 * header and body prefix, SPEC §6): attachments reaching the end of the
 * prefix are recorded as PARSER_SKIP_NOT_FETCHED with the size seen in
 * the prefix, and the status is PARSER_TRUNCATED.  full_size <= len is plain
 * parser_parse.
 */
int parser_parse_prefix(struct parser *p, const void *raw, size_t len,
                        size_t full_size, struct parser_msg **msg_r, char *err,
                        size_t errlen);

/* parser_msg_free - accepts NULL; sets *m to NULL. */
void parser_msg_free(struct parser_msg **m);

/* parser_skip_name - static name of a skip reason ("too_large", ...). */
const char *parser_skip_name(enum parser_skip s);

/* parser_status_name - static name of a status ("ok", "malformed", ...). */
const char *parser_status_name(int status);

/* parser_formats_help - static bilingual text listing the formats. */
const char *parser_formats_help(void);

/*
 * parser_encode_header - append value (UTF-8) to out as an RFC 2047
 * header value with controls removed (for outgoing acks).  out is a
 * struct buf from common/buf.h.  Returns 0 or -1.
 */
struct buf;
int parser_encode_header(const char *value, struct buf *out);

#endif

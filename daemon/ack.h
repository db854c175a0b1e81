/* SPDX-License-Identifier: MIT */
/*
 * ack.h - the acknowledgment (auto-reply) of a new ticket, SPEC §7: a
 * complete RFC 5322 message with CRLF line ends, ready for smtp_send().
 * Composition is pure (no I/O, no logging); only ack_template_load reads a
 * file.  Every value echoed from the incoming message loses CR, LF and
 * other controls, is length-capped, and reaches headers only RFC 2047
 * encoded, so the customer can never add a header.  Functions return an
 * enum ack_status and, on failure, write one sanitised line to err.
 */
#ifndef DAEMON_ACK_H
#define DAEMON_ACK_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct buf;

/* Largest template file accepted, in bytes. */
#define ACK_TEMPLATE_MAX (64 * 1024)
/* Most References entries written (the newest ones are kept). */
#define ACK_REFERENCES_MAX 10
/* Longest Message-ID echoed; longer ones are dropped. */
#define ACK_MSGID_MAX 250
/* Longest addr-spec accepted (RFC 5321 path limit less the brackets). */
#define ACK_ADDR_MAX 254
/* Longest summary echoed (bytes; cut on a character boundary). */
#define ACK_SUMMARY_MAX 300
/* Longest attachment name / order number echoed in the body. */
#define ACK_ITEM_MAX 255
/* Most order numbers / attachment names listed in the body. */
#define ACK_LIST_MAX 50
/* Room ack_new_message_id needs, NUL included. */
#define ACK_MSGID_BUF (ACK_MSGID_MAX + 1)

enum ack_status {
	ACK_OK = 0,
	ACK_BAD_RECIPIENT, /* To is not a plain addr-spec: fail for good */
	ACK_BAD_FIELD,     /* our own input is unusable (from, id, ...) */
	ACK_BAD_TEMPLATE,  /* template unreadable, too large, not UTF-8 */
	ACK_NOMEM,         /* out of memory or the output buffer is full */
};

/*
 * What one ack says.  Every pointer is borrowed for the ack_render call
 * and may be NULL (or its count 0) unless marked "required".
 */
struct ack_fields {
	const char *ticket_id; /* required: e.g. "CM-20231105-001" */
	const char *to;        /* required: requester's addr-spec */
	const char *from;      /* required: [smtp] from, "Name <addr>" */
	const char *summary;   /* parsed summary (untrusted) */
	const char *category;
	const char *priority;
	const char *due_at;               /* ISO 8601 text */
	const char *const *order_numbers; /* untrusted */
	size_t n_order_numbers;
	const char *const *attachments; /* names, untrusted */
	size_t n_attachments;
	const char *orig_message_id;        /* "<id>", untrusted */
	const char *const *orig_references; /* "<id>" each, untrusted */
	size_t n_orig_references;
	bool show_formats;      /* no documented format matched: add help */
	const char *message_id; /* required: the ack's own "<id>" */
	time_t date;            /* Date header (written in UTC) */
};

/*
 * ack_template_load - the body template.  path NULL or "" gives a copy of
 * the built-in bilingual (zh/en) text; otherwise the regular file at path
 * (borrowed), at most ACK_TEMPLATE_MAX bytes of valid UTF-8 without NUL
 * bytes.  On ACK_OK *text_r is set (caller frees with free()).  Returns
 * ACK_BAD_TEMPLATE (err says why: unreadable, too large, invalid UTF-8) or
 * ACK_NOMEM.
 */
int ack_template_load(const char *path, char **text_r, char *err,
                      size_t errlen);

/* ack_builtin_template - the static built-in template text. */
const char *ack_builtin_template(void);

/*
 * ack_render - append the whole message for f to out (caller's buf; its
 * limit applies).  template (borrowed) is the body text with placeholders
 * {ticket_id} {summary} {category} {priority} {due_at} {order_no}
 * {attachments}; unknown {names} are left as they are; NULL means the
 * built-in text.  Lists are joined with ", "; empty values print as "-".
 * When f->show_formats the subject-format help follows the template text.
 *
 * Headers: Date, From, To, Subject "[<id>] 已受理 / Received: <summary>"
 * (RFC 2047 UTF-8 B words when not plain ASCII), Message-ID, In-Reply-To,
 * References (the original's references plus its Message-ID, the last
 * ACK_REFERENCES_MAX), Auto-Submitted: auto-replied,
 * X-Auto-Response-Suppress: All, MIME-Version, Content-Type text/plain
 * UTF-8 and Content-Transfer-Encoding base64 (lines of 76: no line-length
 * or 8BITMIME concerns, whatever the template holds).  No header line
 * exceeds 998 bytes.  Original Message-IDs that are not "<...>" without
 * blanks, or longer than ACK_MSGID_MAX, are dropped.
 *
 * Returns ACK_OK; ACK_BAD_RECIPIENT when f->to is not a plain addr-spec
 * (the caller marks the ack failed for good); ACK_BAD_FIELD for a missing
 * or malformed ticket id, From or Message-ID; ACK_NOMEM.  On failure out
 * is left as it was.
 */
int ack_render(const struct ack_fields *f, const char *template,
               struct buf *out, char *err, size_t errlen);

/*
 * ack_new_message_id - write "<ticketd.TIMESTAMP.RANDOM@domain>" into buf
 * (len >= ACK_MSGID_BUF is always enough), RANDOM being 128 bits from
 * getrandom(2) (or /dev/urandom) in hex.  domain (borrowed) must be a
 * plain domain (letters, digits, '-', '.').  Returns 0, or -1 for a bad
 * domain, no randomness, or a short buf.
 */
int ack_new_message_id(const char *domain, char *buf, size_t len);

/*
 * ack_from_address - the addr-spec of a From value such as
 * "Name <addr>" or "addr" (borrowed) into buf.  Returns 0, or -1 when
 * there is no valid plain addr-spec or buf is too short.  The domain part
 * starts after the last '@' (for ack_new_message_id).
 */
int ack_from_address(const char *from, char *buf, size_t len);

/*
 * ack_addr_valid - whether s is a plain ASCII addr-spec: one '@', non-empty
 * local part and domain, no blanks, controls, quotes or "()<>,;:[]\\",
 * at most ACK_ADDR_MAX bytes.
 */
bool ack_addr_valid(const char *s);

/* ack_status_name - static name of a status ("ok", "bad_recipient", ...). */
const char *ack_status_name(int status);

#endif

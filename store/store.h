/* SPDX-License-Identifier: MIT */
/*
 * store.h - the ticket store: every SQL statement, the schema and its
 * migrations, transactions, the outbox, and the content-addressed files
 * (raw messages and attachments by SHA-256) under the state directory.
 * This is the only header other directories include (SPEC.md §1, §5, §7,
 * §9-§11).  Nothing here logs: functions return an enum store_status and,
 * when given, write one sanitised line into err (left alone on success).
 *
 * Ownership: every pointer passed in is borrowed for the duration of the
 * call unless stated otherwise.  Result structs hold owned strings that the
 * matching *_clear or *_free function releases.  A struct store is used by
 * one thread at a time; several processes may share one state directory
 * (SQLite WAL + BEGIN IMMEDIATE, ids allocated inside the transaction).
 *
 * Times are time_t in the database.  Calendar dates (the YYYYMMDD of ticket
 * ids) and the ISO-8601 strings of results are computed in the configured
 * time zone: while a call formats times the store sets the process's TZ to
 * it and restores it afterwards, so the caller should not use localtime()
 * from another thread meanwhile.  Setting TZ for the whole process to the
 * same zone at start makes that switch a no-op.
 */
#ifndef STORE_STORE_H
#define STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/strlist.h"

enum store_status {
	STORE_OK = 0,
	STORE_BUSY,      /* database locked past the timeout: retry */
	STORE_DUPLICATE, /* store_file: already filed (see result) */
	STORE_NOT_FOUND, /* no such ticket, ack, message, attachment */
	STORE_INVALID,   /* bad argument (status name, settings) */
	STORE_FAILED,    /* I/O or database error: fatal for the op */
	STORE_NOMEM,
};

/* Bytes for a ticket id with its NUL ("CM-20231105-001"; prefix <= 16). */
#define STORE_TICKET_ID_MAX 48
/* Bytes for an ISO-8601 time with offset and NUL. */
#define STORE_TIME_MAX 32
/* Longest ticket prefix accepted ([A-Za-z0-9], 1-16 characters). */
#define STORE_PREFIX_MAX 16

/* Defaults (SPEC.md §4, §5, §7). */
#define STORE_DEFAULT_PREFIX "CM"
#define STORE_DEFAULT_MERGE_DAYS 7
#define STORE_DEFAULT_DUE_URGENT 10     /* minutes */
#define STORE_DEFAULT_DUE_COMPLAINT 120 /* minutes */
#define STORE_DEFAULT_DUE_NORMAL 30     /* minutes */
#define STORE_DEFAULT_MAX_ACKS 5        /* per address in 24 hours */
#define STORE_DEFAULT_BUSY_MS 5000
#define STORE_DEFAULT_BUSY_RETRIES 3
/* An address whose ack bounced gets no ack for this long. */
#define STORE_BOUNCE_BLOCK_SECS (30 * 86400)
/* Outbox retry: 1 minute doubling to 1 hour, give up after 3 days. */
#define STORE_RETRY_FIRST_SECS 60
#define STORE_RETRY_MAX_SECS 3600
#define STORE_RETRY_GIVE_UP_SECS (3 * 86400)

/* Clock hook for tests: returns "now". */
typedef time_t store_now_fn(void *arg);

/* Settings for store_open; 0/NULL means the default. */
struct store_settings {
	const char *state_dir;        /* required; created (0700) if missing */
	const char *ticket_prefix;    /* NULL: "CM" */
	const char *timezone;         /* NULL or "": the process's TZ */
	unsigned order_merge_days;    /* 0: 7 */
	bool no_order_merge;          /* config order_merge_days = 0 */
	unsigned due_urgent_min;      /* 0: 10 */
	unsigned due_complaint_min;   /* 0: 120 */
	unsigned due_normal_min;      /* 0: 30 */
	unsigned max_acks_per_sender; /* 0: 5 */
	bool no_acks;                 /* [ack] enabled = no */
	/* Domain of the Message-IDs generated for acks; NULL: host name. */
	const char *ack_domain;
	unsigned busy_timeout_ms; /* 0: 5000 */
	unsigned busy_retries;    /* whole-transaction retries; 0: 3 */
	store_now_fn *now_fn;     /* NULL: time() */
	void *now_arg;            /* borrowed; passed to now_fn */
};

struct store;

/*
 * store_open - open (creating if needed) ticketd.db, raw/ and attachments/
 * under s->state_dir, apply pending migrations (PRAGMA user_version, each
 * in its own BEGIN IMMEDIATE ... COMMIT) and set the per-connection
 * pragmas: journal_mode=WAL, synchronous=FULL (a commit must be on disk
 * before the daemon flags the message on the IMAP server, LIBRARIES.md §6),
 * foreign_keys=ON and the busy timeout.  s and its strings are copied.
 * Returns STORE_OK and sets *st_r (free with store_close), STORE_INVALID
 * for bad settings (prefix, time zone), STORE_BUSY, STORE_FAILED or
 * STORE_NOMEM.
 */
int store_open(const struct store_settings *s, struct store **st_r, char *err,
               size_t errlen);

/* store_close - finalize, close; accepts NULL; sets *st to NULL.  An open
   batch is rolled back. */
void store_close(struct store **st);

/* store_status_name - static name of a status ("ok", "busy", ...). */
const char *store_status_name(int status);

/* store_now - the store's clock (the now_fn hook, else time()). */
time_t store_now(const struct store *st);

/*
 * store_format_time - t as ISO-8601 with offset in the configured zone
 * ("2023-11-05T16:23:00+08:00") into buf (STORE_TIME_MAX bytes); "" for
 * t == 0.  Returns buf.
 */
char *store_format_time(const struct store *st, time_t t, char *buf);

/* ---- Filing ---- */

/* One attachment of a message to file.  All fields borrowed. */
struct store_attachment_in {
	const char *filename;     /* sanitised by the parser; never a path */
	const char *content_type; /* "type/subtype" */
	const void *data;         /* decoded bytes; NULL when skipped */
	size_t size;              /* decoded size (skipped: best estimate) */
	/* lower-case hex SHA-256 of data, or NULL/"": the store computes it
	   and in any case checks it (a mismatch is STORE_INVALID) */
	const char *sha256;
	const char *skipped; /* reason ("too_large"...), NULL when kept */
};

/*
 * A message to file.  Every pointer is borrowed for the call; strings are
 * UTF-8 without control characters (as the parser produces them), NULL
 * when absent.  Message-IDs keep their angle brackets.
 */
struct store_msg {
	const void *raw; /* the whole raw message (may hold NUL) */
	size_t raw_len;
	const char *mailbox; /* NULL: not from IMAP (ticketctl ingest) */
	uint32_t uidvalidity;
	uint32_t uid; /* 0: not from IMAP */
	const char *message_id;
	const char *in_reply_to;
	const char *const *references;
	size_t n_references;
	const char *from;       /* sender addr-spec */
	const char *requester;  /* Reply-To, else From */
	const char *subject;    /* decoded original */
	const char *summary;    /* NULL: the subject */
	const char *date;       /* Date header as sent (untrusted) */
	const char *text;       /* body text */
	const char *format;     /* §3 pattern name that matched, "other" */
	const char *ticket_ref; /* ticket id found in the subject */
	const char *priority;   /* "urgent" "complaint" "normal"; NULL normal */
	const char *category;   /* NULL: "general" */
	const char *kind; /* "inquiry" "appeal" "inquiry/appeal" or NULL */
	bool is_review;
	const char *user_id;
	const char *const *order_numbers;
	size_t n_order_numbers;
	const char *const *screening_numbers;
	size_t n_screening_numbers;
	const struct store_attachment_in *attachments;
	size_t n_attachments;
	/* static reason the parser found for not acking (SPEC §7), or NULL */
	const char *ack_suppress;
	bool is_bounce;                 /* a DSN / multipart/report */
	const char *const *bounce_refs; /* Message-IDs the DSN names */
	size_t n_bounce_refs;
	/* non-NULL: file as a quarantine record with this reason */
	const char *quarantine_reason;
	/* message row of a quarantine record being re-filed, or 0; that row
	   is ignored by duplicate detection and marked reprocessed */
	int64_t reprocess_of;
};

enum store_outcome {
	STORE_OUTCOME_NONE = 0,
	STORE_OUTCOME_NEW,        /* a new ticket */
	STORE_OUTCOME_FOLLOWUP,   /* appended to an existing ticket */
	STORE_OUTCOME_QUARANTINE, /* quarantine record, raw kept */
	/* a record without ticket: a DSN naming one of our acks (the bounce
	   is recorded against the ack's recipient) */
	STORE_OUTCOME_SUPPRESSED,
};

/* How a follow-up found its ticket. */
enum store_match {
	STORE_MATCH_NONE = 0,
	STORE_MATCH_SUBJECT,     /* ticket id in the subject */
	STORE_MATCH_IN_REPLY_TO, /* In-Reply-To names a message */
	STORE_MATCH_REFERENCES,  /* References names a message */
	STORE_MATCH_ACK,         /* In-Reply-To/References names our ack */
	STORE_MATCH_ORDER,       /* same requester and order number */
};

/* What store_file did (or, for STORE_DUPLICATE, what was done before). */
struct store_result {
	enum store_outcome outcome;
	enum store_match match;              /* follow-ups only */
	char ticket_id[STORE_TICKET_ID_MAX]; /* "" when none */
	char status[12];     /* the ticket's status after filing, or "" */
	int64_t message_row; /* the messages row (dup: the earlier one) */
	int64_t ack_id;      /* queued ack, or 0 */
	bool is_ack_queued;
	/* new ticket without ack: "rate_limit", "bounced", "disabled",
	   "no_requester" or the parser's reason; "" otherwise */
	char ack_suppress[64];
	bool is_third_party; /* follow-up from someone else */
	bool is_reopened;    /* follow-up moved the ticket back to open */
	bool is_duplicate;
	size_t n_bounces;    /* bounces recorded (SUPPRESSED outcome) */
	char raw_sha256[65]; /* name of the raw file */
};

/*
 * store_file - file one message (SPEC.md §1, §5, §7).  The raw message and
 * kept attachments are written as content-addressed files, durable before
 * the commit that references them (fsynced now; in a batch, at
 * store_commit), and checked again under the write lock; then, in one
 * transaction: duplicate detection (same mailbox+UIDVALIDITY+UID, or the
 * same Message-ID with the same raw SHA-256 or the same parsed content:
 * from, subject, date, text, attachments), quarantine, bounce (a DSN
 * naming our ack: bounce recorded, ack failed, SUPPRESSED record),
 * follow-up (ticket id in the subject; In-Reply-To, then References newest
 * first, naming a message or an ack of the ticket; same requester and a
 * shared order number on an unclosed ticket last filed to within
 * order_merge_days; anonymised tickets are never continued), else a new
 * ticket with the next id of the day (never reused) and its ack queued
 * unless suppressed (disabled, parser's reason, no requester, bounced in
 * the last 30 days, max_acks_per_sender queued or sent in 24 hours); and
 * the mailbox position.  A follow-up moves pending/resolved back to open;
 * a review follow-up reopens any status but new; closed stays closed
 * otherwise.  The ack's Message-ID is generated here
 * (<ack.ID.RANDOM@ack_domain>) so replies to it thread before it is sent.
 * Outside a batch store_file begins and commits itself, retrying the whole
 * transaction on SQLITE_BUSY; inside one it uses a savepoint, so a failure
 * undoes only this message.  r (borrowed) is filled; it is meaningful on
 * STORE_OK and STORE_DUPLICATE only.  Returns STORE_OK; STORE_DUPLICATE (r
 * describes the earlier filing; only the mailbox position may advance);
 * STORE_INVALID (an attachment's sha256 does not match its data, no raw);
 * STORE_BUSY; STORE_FAILED; STORE_NOMEM.
 */
int store_file(struct store *st, const struct store_msg *m,
               struct store_result *r, char *err, size_t errlen);

/*
 * store_prepare - the part of store_file that needs no lock: hashes the raw
 * message and its attachments (checking the caller's), writes them as temp
 * files without fsync, and hashes the parsed content; into p, which the
 * caller clears with store_prep_clear.  A batch's parsing child prepares
 * every message while the previous batch still holds the write lock, then
 * files them with store_file_prepared (m must be the same, unchanged).  The
 * temp files become durable under their names at store_commit (or before
 * the transaction of store_file_prepared outside a batch); store_rollback
 * and store_close remove them.  Returns STORE_OK, STORE_INVALID,
 * STORE_FAILED or STORE_NOMEM; p is cleared on failure.
 */
struct store_prep {
	const struct store_msg *m; /* what was prepared (borrowed) */
	char raw_hex[65];
	char content_hex[65];
	char (*att_hex)[65]; /* owned; "" for skipped attachments */
};
int store_prepare(struct store *st, const struct store_msg *m,
                  struct store_prep *p, char *err, size_t errlen);
int store_file_prepared(struct store *st, const struct store_msg *m,
                        struct store_prep *p, struct store_result *r, char *err,
                        size_t errlen);
void store_prep_clear(struct store_prep *p);

/*
 * store_begin, store_commit, store_rollback - a batch: the daemon files a
 * fetched batch in one transaction (BEGIN IMMEDIATE, so the write lock is
 * held until the end).  Inside a batch, files are written as temp files
 * without fsync; store_commit syncs them with one syncfs(2), renames them,
 * syncs again and only then commits (about ten times faster than an fsync
 * per file; `make bench`).  store_rollback removes them.  store_begin
 * returns STORE_BUSY when the lock is not obtained in time, STORE_INVALID
 * when a batch is already open.  store_commit returns STORE_FAILED (and
 * rolls back) when the batch was lost to an earlier error or the files
 * could not be synced; the batch is closed in every case.
 */
int store_begin(struct store *st, char *err, size_t errlen);
int store_commit(struct store *st, char *err, size_t errlen);
int store_rollback(struct store *st, char *err, size_t errlen);

/*
 * store_uid_outcomes - for each of the n UIDs of mailbox (at uidvalidity),
 * the enum store_outcome it was filed with, or STORE_OUTCOME_NONE when it
 * was never filed; into outcomes[n] (caller's).  One read transaction.
 */
int store_uid_outcomes(struct store *st, const char *mailbox,
                       uint32_t uidvalidity, const uint32_t *uids, size_t n,
                       int *outcomes, char *err, size_t errlen);

/*
 * store_mailbox_get - the saved position of mailbox.  STORE_NOT_FOUND
 * (both outputs 0) when never saved.
 */
int store_mailbox_get(struct store *st, const char *mailbox,
                      uint32_t *uidvalidity_r, uint32_t *last_uid_r, char *err,
                      size_t errlen);

/*
 * store_mailbox_set - save the position (e.g. last_uid 0 after a
 * UIDVALIDITY change).  store_file advances it by itself.
 */
int store_mailbox_set(struct store *st, const char *mailbox,
                      uint32_t uidvalidity, uint32_t last_uid, char *err,
                      size_t errlen);

/* ---- Outbox ---- */

/* One ack to send, with everything the template needs. */
struct store_ack {
	int64_t id;
	char ticket_id[STORE_TICKET_ID_MAX];
	char *to;          /* owned */
	char *message_id;  /* owned; our ack's Message-ID, <...@...> */
	char *in_reply_to; /* owned; the original's Message-ID or NULL */
	struct strlist references; /* owned; original's refs + its id */
	char *subject;             /* owned; the original's subject or NULL */
	char *summary;             /* owned */
	char *category;            /* owned */
	char *priority;            /* owned */
	char *kind;                /* owned or NULL */
	char *format; /* owned or NULL; "other": show the formats */
	struct strlist order_numbers; /* owned */
	struct strlist attachments;   /* owned; filenames */
	time_t created_at;            /* ticket's */
	time_t due_at;
	char due_at_iso[STORE_TIME_MAX];
	char created_at_iso[STORE_TIME_MAX];
	unsigned attempts;
};

/* store_ack_clear - free the owned fields; the struct can be reused. */
void store_ack_clear(struct store_ack *a);

/*
 * store_outbox_next - the oldest queued ack due at now (0: the store's
 * clock) into *a (cleared first; store_ack_clear after use).  Returns
 * STORE_OK, STORE_NOT_FOUND when none is due, or an error.
 */
int store_outbox_next(struct store *st, time_t now, struct store_ack *a,
                      char *err, size_t errlen);

/* store_outbox_sent - mark ack id sent.  STORE_NOT_FOUND if no such ack. */
int store_outbox_sent(struct store *st, int64_t id, char *err, size_t errlen);

/*
 * store_outbox_failed - record a failed attempt with error (one line,
 * borrowed, may be NULL).  permanent (5xx): the ack fails now.  Else it is
 * retried after 1 minute doubling to 1 hour, and fails once 3 days have
 * passed since it was queued; *is_given_up_r (may be NULL) tells whether
 * it is now failed.  STORE_NOT_FOUND if no such queued ack.
 */
int store_outbox_failed(struct store *st, int64_t id, bool permanent,
                        const char *error, bool *is_given_up_r, char *err,
                        size_t errlen);

/*
 * store_outbox_retry - requeue failed ack id (0: every failed ack) for
 * now, with a fresh backoff and 3-day window; *count_r (may be NULL) gets
 * the number requeued.  STORE_NOT_FOUND when id names no failed ack.
 */
/*
 * store_outbox_defer - make every queued ack due no earlier than until
 * (the SMTP server is down as a whole: the acks behind the one that failed
 * wait with it, so they still go out in order of creation).  *count_r (may
 * be NULL) gets the number of acks moved.  Returns STORE_OK, STORE_BUSY or
 * STORE_FAILED.
 */
int store_outbox_defer(struct store *st, time_t until, size_t *count_r,
                       char *err, size_t errlen);

int store_outbox_retry(struct store *st, int64_t id, size_t *count_r, char *err,
                       size_t errlen);

/* One outbox row for listing. */
struct store_outbox_row {
	int64_t id;
	char ticket_id[STORE_TICKET_ID_MAX];
	char *to;         /* owned */
	char *message_id; /* owned */
	char status[8];   /* "queued" "sent" "failed" */
	unsigned attempts;
	time_t next_attempt_at;
	char next_attempt_at_iso[STORE_TIME_MAX];
	char *last_error; /* owned or NULL */
	time_t created_at;
	time_t sent_at; /* 0 if not sent */
};

/*
 * store_outbox_list - every ack (only failed ones when is_failed_only),
 * oldest first, into *rows_r (caller frees with store_outbox_list_free)
 * and *n_r.
 */
int store_outbox_list(struct store *st, bool is_failed_only,
                      struct store_outbox_row **rows_r, size_t *n_r, char *err,
                      size_t errlen);

/* store_outbox_list_free - accepts NULL; sets *rows to NULL. */
void store_outbox_list_free(struct store_outbox_row **rows, size_t n);

/* ---- Tickets ---- */

/* A ticket without its messages (list, overdue). */
struct store_ticket_summary {
	char id[STORE_TICKET_ID_MAX];
	char status[12];
	char *priority; /* owned */
	char *category; /* owned */
	char *kind;     /* owned or NULL */
	bool is_review;
	char *requester;                  /* owned or NULL */
	char *user_id;                    /* owned or NULL */
	char *summary;                    /* owned */
	struct strlist order_numbers;     /* owned */
	struct strlist screening_numbers; /* owned */
	time_t created_at;
	char created_at_iso[STORE_TIME_MAX];
	time_t due_at;
	char due_at_iso[STORE_TIME_MAX];
	time_t closed_at; /* 0 when not closed */
	bool is_overdue;  /* still "new" past due_at */
	bool is_anonymised;
	/* "queued" "sent" "failed" "suppressed:<reason>" "none"; owned */
	char *ack;
	size_t n_messages;
};

/* Filters for store_ticket_list; NULL/0/false: no filter. */
struct store_filter {
	const char *status;
	const char *priority;
	const char *category;
	bool is_overdue;       /* only overdue tickets */
	time_t since;          /* created_at >= since */
	const char *requester; /* exact, case-insensitive */
	const char *order_no;  /* holds this order number */
	size_t limit;          /* at most this many, newest first; 0 all */
};

/*
 * store_ticket_list - tickets matching f (may be NULL), newest first, into
 * *v_r (caller frees with store_ticket_list_free) and *n_r.  STORE_INVALID
 * for an unknown status or priority name.
 */
int store_ticket_list(struct store *st, const struct store_filter *f,
                      struct store_ticket_summary **v_r, size_t *n_r, char *err,
                      size_t errlen);

/* store_ticket_list_free - accepts NULL; sets *v to NULL. */
void store_ticket_list_free(struct store_ticket_summary **v, size_t n);

struct store_attachment {
	unsigned number;    /* 1-based across the ticket (export N) */
	char *filename;     /* owned */
	char *content_type; /* owned */
	uint64_t size;
	char sha256[65]; /* "" when skipped */
	char *skipped;   /* owned reason, NULL when kept */
};

struct store_message {
	int64_t row;
	char *outcome;    /* owned: "ticket" or "followup" */
	char *message_id; /* owned or NULL */
	char *from;       /* owned or NULL */
	char *subject;    /* owned or NULL */
	char *date;       /* owned or NULL: the Date header */
	char *text;       /* owned or NULL */
	bool is_third_party;
	time_t filed_at;
	char filed_at_iso[STORE_TIME_MAX];
	char raw_sha256[65]; /* "" when anonymised */
	uint64_t raw_size;
	struct store_attachment *attachments; /* owned array */
	size_t n_attachments;
};

struct store_ticket {
	struct store_ticket_summary t;
	struct store_message *messages; /* owned array, filing order */
	size_t n_messages;
};

/*
 * store_ticket_get - ticket id with its messages and attachments into
 * *t_r (caller frees with store_ticket_free).  STORE_NOT_FOUND if none.
 */
int store_ticket_get(struct store *st, const char *id,
                     struct store_ticket **t_r, char *err, size_t errlen);

/* store_ticket_free - accepts NULL; sets *t to NULL. */
void store_ticket_free(struct store_ticket **t);

/*
 * store_ticket_set_status - set the status ("new" "open" "pending"
 * "resolved" "closed"; closed sets closed_at, any other clears it).
 * STORE_INVALID for another name, STORE_NOT_FOUND for no such ticket.
 */
int store_ticket_set_status(struct store *st, const char *id,
                            const char *status, char *err, size_t errlen);

/* Where attachment N of a ticket lives. */
struct store_blob_ref {
	char *path;         /* owned: absolute or state_dir-relative file */
	char *filename;     /* owned */
	char *content_type; /* owned */
	uint64_t size;
};

/* store_blob_ref_clear - free the owned fields. */
void store_blob_ref_clear(struct store_blob_ref *b);

/*
 * store_attachment_path - attachment number n (1-based, as in
 * store_attachment.number) of ticket id into *b (store_blob_ref_clear after
 * use).  STORE_NOT_FOUND when there is no such attachment or it was
 * skipped (err says so).
 */
int store_attachment_path(struct store *st, const char *id, unsigned n,
                          struct store_blob_ref *b, char *err, size_t errlen);

/*
 * store_message_raw_path - the raw file of messages row `row` into *path_r
 * (caller frees).  STORE_NOT_FOUND when no row or it was anonymised.
 */
int store_message_raw_path(struct store *st, int64_t row, char **path_r,
                           char *err, size_t errlen);

/* ---- Quarantine ---- */

struct store_quarantine_row {
	int64_t row;      /* messages row: the id for --reprocess */
	char *reason;     /* owned */
	char *message_id; /* owned or NULL */
	char *from;       /* owned or NULL */
	char *subject;    /* owned or NULL */
	char *mailbox;    /* owned or NULL */
	uint32_t uid;
	time_t filed_at;
	char filed_at_iso[STORE_TIME_MAX];
	bool is_reprocessed;
};

/*
 * store_quarantine_list - quarantine records, oldest first (reprocessed
 * ones too when is_all) into *rows_r (store_quarantine_list_free).
 */
int store_quarantine_list(struct store *st, bool is_all,
                          struct store_quarantine_row **rows_r, size_t *n_r,
                          char *err, size_t errlen);

/* store_quarantine_list_free - accepts NULL; sets *rows to NULL. */
void store_quarantine_list_free(struct store_quarantine_row **rows, size_t n);

/*
 * store_quarantine_get_raw - the raw file path of quarantine record `row`
 * into *path_r (caller frees).  Re-file it with store_file and
 * reprocess_of = row: that marks the record reprocessed in the same
 * transaction.  STORE_NOT_FOUND when row is no quarantine record.
 */
int store_quarantine_get_raw(struct store *st, int64_t row, char **path_r,
                             char *err, size_t errlen);

/* store_quarantine_mark - mark record `row` reprocessed by hand. */
int store_quarantine_mark(struct store *st, int64_t row, char *err,
                          size_t errlen);

/* ---- Statistics, overdue ---- */

struct store_count {
	char *name; /* owned */
	uint64_t count;
};

struct store_stats {
	uint64_t tickets;
	uint64_t messages;
	uint64_t by_status[5];           /* new open pending resolved closed */
	uint64_t by_priority[3];         /* urgent complaint normal */
	struct store_count *by_category; /* owned array */
	size_t n_categories;
	uint64_t overdue;
	uint64_t outbox_queued, outbox_sent, outbox_failed;
	uint64_t quarantined; /* not yet reprocessed */
	uint64_t suppressed;  /* records without ticket (bounces) */
};

/* The names indexing by_status and by_priority. */
extern const char *const store_ticket_status_names[5];
extern const char *const store_priority_names[3];

/* store_stats - counts into *s (store_stats_clear after use). */
int store_stats(struct store *st, struct store_stats *s, char *err,
                size_t errlen);

/* store_stats_clear - free the owned fields. */
void store_stats_clear(struct store_stats *s);

/* ---- Integrity check ---- */

/* Problem lines store_check keeps; the count goes on past them. */
#define STORE_CHECK_MAX 20
/* Bytes of one problem line with its NUL; longer lines are cut. */
#define STORE_CHECK_LINE_MAX 256

/* What store_check found. */
struct store_check {
	/* owned; the first n_kept problems, one sanitised line each
	   (no control characters, < STORE_CHECK_LINE_MAX bytes) */
	char *problems[STORE_CHECK_MAX];
	size_t n_kept;
	uint64_t n_problems;    /* every problem found, kept or not */
	uint64_t files_checked; /* referenced files examined (is_files) */
};

/*
 * store_check - read-only integrity check (ticketctl check): PRAGMA
 * integrity_check and PRAGMA foreign_key_check (each line they report is a
 * problem; SQLite stops integrity_check after 100) and, with is_files,
 * every raw file named by a message and every attachment file named by an
 * attachment row: it must exist under the state directory and its content
 * must hash (SHA-256, read in chunks) to its name ("raw <hex>: missing",
 * "attachment <hex>: content does not match its name").  Runs in one read
 * transaction; a purge running at the same time may make the files it
 * removes show as missing.  r (borrowed) is filled; free its lines with
 * store_check_clear.  Returns STORE_OK when the check ran, whatever it
 * found (problems are in r); STORE_INVALID inside a batch (store_begin);
 * STORE_BUSY, STORE_FAILED or STORE_NOMEM (r left empty) when it could
 * not run.
 */
int store_check(struct store *st, bool is_files, struct store_check *r,
                char *err, size_t errlen);

/* store_check_clear - free the problem lines; r can be reused. */
void store_check_clear(struct store_check *r);

/*
 * store_overdue_unlogged - tickets still "new" past due_at at now (0: the
 * store's clock) that were not reported yet; marks them reported in the
 * same transaction, so each is returned once.  *v_r: free with
 * store_ticket_list_free.
 */
int store_overdue_unlogged(struct store *st, time_t now,
                           struct store_ticket_summary **v_r, size_t *n_r,
                           char *err, size_t errlen);

/* ---- Retention ---- */

struct store_purge_report {
	uint64_t tickets;  /* deleted or anonymised */
	uint64_t messages; /* their messages + old records */
	uint64_t files;    /* files removed (or that would be) */
	uint64_t bytes;    /* their size */
};

/*
 * store_purge - tickets closed more than days ago (and quarantine and
 * bounce records filed more than days ago) are deleted, or with anonymise
 * kept with requester, addresses, subjects, texts, Date headers and
 * attachments removed; then every raw or attachment file no longer
 * referenced is removed (also stale temp files and orphans a crash left).
 * dry_run reports without changing anything.  Files go while the write
 * lock is held, before the commit (a crash in between leaves rows that
 * were being purged without their files).  rep (borrowed) is filled.
 */
int store_purge(struct store *st, unsigned days, bool dry_run, bool anonymise,
                struct store_purge_report *rep, char *err, size_t errlen);

#endif

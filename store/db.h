/* SPDX-License-Identifier: MIT */
/*
 * db.h - private to store/: the struct store itself, the cache of prepared
 * statements (every SQL text of the store is in db.c, indexed by enum
 * db_q), transactions with busy retries, error mapping and time zone
 * handling.  Functions return enum store_status values and fill err like
 * the public API; nothing here logs.
 */
#ifndef STORE_DB_H
#define STORE_DB_H

#include <sqlite3.h>
#include <stdarg.h>

#include "store/blob.h"
#include "store/store.h"

/* Every statement the store runs; the SQL is in db.c. */
enum db_q {
	Q_BEGIN,
	Q_BEGIN_READ,
	Q_COMMIT,
	Q_ROLLBACK,
	Q_SAVEPOINT,
	Q_RELEASE,
	Q_ROLLBACK_TO,
	Q_DUP_UID,
	Q_DUP_MSGID,
	Q_DUP_RAW,
	Q_TICKET_HEAD,
	Q_MSG_BY_MSGID,
	Q_ACK_BY_MSGID,
	Q_ORDER_MERGE,
	Q_TICKET_FOLLOWUP,
	Q_DAY_SEQ,
	Q_TICKET_INSERT,
	Q_NUMBER_INSERT,
	Q_MSG_INSERT,
	Q_ATT_INSERT,
	Q_QUAR_INSERT,
	Q_QUAR_MARK,
	Q_ACK_FOR_BOUNCE,
	Q_BOUNCE_INSERT,
	Q_ACK_BOUNCED,
	Q_BOUNCE_CHECK,
	Q_RATE_COUNT,
	Q_ACK_INSERT,
	Q_MBOX_GET,
	Q_MBOX_ADVANCE,
	Q_MBOX_PUT,
	Q_OUTBOX_NEXT,
	Q_MSG_THREAD,
	Q_NUMBERS,
	Q_ATT_NAMES,
	Q_ACK_SENT,
	Q_ACK_GET,
	Q_ACK_LATER,
	Q_ACK_FAIL,
	Q_ACK_REQUEUE,
	Q_ACK_REQUEUE_ALL,
	Q_ACK_DEFER_ALL,
	Q_OUTBOX_LIST,
	Q_TICKET_LIST,
	Q_TICKET_GET,
	Q_TICKET_MSGS,
	Q_MSG_ATTS,
	Q_SET_STATUS,
	Q_ATT_NTH,
	Q_MSG_RAW,
	Q_QUAR_LIST,
	Q_QUAR_RAW,
	Q_STATS_STATUS,
	Q_STATS_PRIORITY,
	Q_STATS_CATEGORY,
	Q_STATS_ACKS,
	Q_STATS_MISC,
	Q_OVERDUE_LIST,
	Q_OVERDUE_MARK,
	Q_PURGE_TICKETS,
	Q_PURGE_COUNT_MSGS,
	Q_PURGE_DELETE,
	Q_ANON_TICKET,
	Q_ANON_MSGS,
	Q_ANON_ATTS,
	Q_ANON_ACKS,
	Q_PURGE_RECORDS,
	Q_PURGE_BOUNCES,
	Q_RAW_REFERENCED,
	Q_ATT_REFERENCED,
	Q_COUNT
};

/* Priorities, indexing due_min and store_priority_names. */
enum db_priority { DB_URGENT, DB_COMPLAINT, DB_NORMAL };

struct store {
	sqlite3 *db;
	char *state_dir;     /* owned; absolute */
	char *raw_dir;       /* owned; state_dir/raw */
	char *att_dir;       /* owned; state_dir/attachments */
	char *prefix;        /* owned */
	char *tz;            /* owned; NULL: the process's zone */
	char *ack_domain;    /* owned */
	unsigned merge_days; /* 0: disabled */
	unsigned due_min[3];
	unsigned max_acks;
	bool no_acks;
	unsigned busy_ms;
	unsigned busy_retries;
	store_now_fn *now_fn;
	void *now_arg;
	sqlite3_stmt *stmt[Q_COUNT]; /* owned; prepared on first use */
	bool in_batch;
	bool is_batch_lost;       /* SQLite rolled the batch back */
	struct blob_batch staged; /* blobs of the open batch */
};

/* A transaction body for db_run: returns a store status. */
typedef int db_txn_fn(struct store *st, void *ctx, char *err, size_t errlen);

/*
 * db_run - run fn in a transaction: BEGIN IMMEDIATE (is_write) or a
 * deferred read transaction, COMMIT when fn returns STORE_OK or
 * STORE_DUPLICATE, else ROLLBACK.  SQLITE_BUSY anywhere reruns the whole
 * transaction up to busy_retries times, then STORE_BUSY.  Inside a batch
 * it runs fn under a savepoint instead.  Any other status (including a
 * negative value, "roll back but not an error") is rolled back and
 * returned as is.
 */
int db_run(struct store *st, bool is_write, db_txn_fn *fn, void *ctx, char *err,
           size_t errlen);

/* db_simple - step the cached no-argument statement q (BEGIN, COMMIT). */
int db_simple(struct store *st, enum db_q q, char *err, size_t errlen);

/* db_rollback_quietly - ROLLBACK when a transaction is open. */
void db_rollback_quietly(struct store *st);

/* db_open - open the database, set pragmas, migrate. */
int db_open(struct store *st, const char *path, char *err, size_t errlen);

/* db_close - finalize every statement and close. */
void db_close(struct store *st);

/*
 * db_stmt - the cached statement q, prepared on first use; NULL on error
 * (status in *status_r, err filled).  Reset it with db_done.
 */
sqlite3_stmt *db_stmt(struct store *st, enum db_q q, int *status_r, char *err,
                      size_t errlen);

/* db_done - reset s and clear its bindings (accepts NULL). */
void db_done(sqlite3_stmt *s);

/* db_fail - map SQLite code rc to a status; err = "what: message". */
int db_fail(struct store *st, int rc, const char *what, char *err,
            size_t errlen);

/* db_errf - write one sanitised line into err (if errlen > 0). */
void db_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* db_bind_text - bind s (NULL binds NULL); static lifetime required
   until db_done. */
int db_bind_text(sqlite3_stmt *s, int i, const char *v);

/* db_col_dup - copy of text column i (NULL stays NULL); *is_nomem set on
   allocation failure. */
char *db_col_dup(sqlite3_stmt *s, int i, bool *is_nomem);

/* db_col_copy - copy text column i into buf of n bytes ("" for NULL). */
void db_col_copy(sqlite3_stmt *s, int i, char *buf, size_t n);

/* db_step_done - step s expecting SQLITE_DONE; status, err filled. */
int db_step_done(struct store *st, sqlite3_stmt *s, const char *what, char *err,
                 size_t errlen);

/* Time zone switch around calendar computations (see store.h). */
struct db_tz {
	char *saved; /* owned copy of the previous TZ, or NULL */
	bool had_tz; /* TZ was set before */
	bool is_switched;
};

/* db_tz_enter - switch to the store's zone; -1 when out of memory. */
int db_tz_enter(const struct store *st, struct db_tz *g);

/* db_tz_leave - restore the previous zone. */
void db_tz_leave(struct db_tz *g);

/* db_iso - ISO-8601 of t in the current zone ("" for 0). */
void db_iso(time_t t, char *buf);

/* db_lower - lower-case ASCII copy of s (NULL for NULL); *is_nomem. */
char *db_lower(const char *s, bool *is_nomem);

/* db_priority - index of a priority name; -1 if unknown. */
int db_priority(const char *name);

/* db_status_valid - whether name is a ticket status. */
bool db_status_valid(const char *name);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * db.c - the SQLite side of the store: schema and migrations, the text of
 * every statement (prepared once with SQLITE_PREPARE_PERSISTENT and cached
 * in struct store), transactions with whole-transaction retries on
 * SQLITE_BUSY, error mapping, and the time zone switch used for calendar
 * dates.  Nothing here logs.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"

/* Schema version 1.  Times are seconds since the epoch. */
static const char schema_v1[] =
    "CREATE TABLE tickets ("
    " id TEXT PRIMARY KEY NOT NULL,"
    " day TEXT NOT NULL,"
    " seq INTEGER NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN"
    "  ('new','open','pending','resolved','closed')),"
    " priority TEXT NOT NULL,"
    " category TEXT NOT NULL,"
    " kind TEXT,"
    " review INTEGER NOT NULL DEFAULT 0,"
    " requester TEXT,"
    " user_id TEXT,"
    " summary TEXT NOT NULL,"
    " format TEXT,"
    " created_at INTEGER NOT NULL,"
    " due_at INTEGER NOT NULL,"
    " overdue_logged INTEGER NOT NULL DEFAULT 0,"
    " last_filed_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL,"
    " closed_at INTEGER,"
    " anonymised INTEGER NOT NULL DEFAULT 0,"
    " ack_state TEXT,"
    " UNIQUE (day, seq)"
    ") STRICT;"
    "CREATE INDEX tickets_status_due ON tickets(status, due_at);"
    "CREATE INDEX tickets_requester ON tickets(requester);"
    "CREATE INDEX tickets_created ON tickets(created_at);"
    "CREATE INDEX tickets_closed ON tickets(status, closed_at);"
    "CREATE TABLE ticket_numbers ("
    " id INTEGER PRIMARY KEY,"
    " ticket_id TEXT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,"
    " kind TEXT NOT NULL CHECK (kind IN ('order','screening')),"
    " value TEXT NOT NULL,"
    " UNIQUE (ticket_id, kind, value)"
    ") STRICT;"
    "CREATE INDEX ticket_numbers_value ON ticket_numbers(value, kind);"
    "CREATE TABLE messages ("
    " id INTEGER PRIMARY KEY,"
    " ticket_id TEXT REFERENCES tickets(id) ON DELETE CASCADE,"
    " outcome TEXT NOT NULL CHECK (outcome IN"
    "  ('ticket','followup','quarantine','suppressed')),"
    " message_id TEXT,"
    " in_reply_to TEXT,"
    " references_hdr TEXT,"
    " raw_sha256 TEXT,"
    " content_sha256 TEXT,"
    " raw_size INTEGER NOT NULL,"
    " mailbox TEXT,"
    " uidvalidity INTEGER,"
    " uid INTEGER,"
    " from_addr TEXT,"
    " subject TEXT,"
    " date_hdr TEXT,"
    " text TEXT,"
    " is_third_party INTEGER NOT NULL DEFAULT 0,"
    " suppress_reason TEXT,"
    " filed_at INTEGER NOT NULL"
    ") STRICT;"
    "CREATE UNIQUE INDEX messages_uid ON messages(mailbox, uidvalidity, uid)"
    " WHERE uid IS NOT NULL;"
    "CREATE INDEX messages_msgid ON messages(message_id)"
    " WHERE message_id IS NOT NULL;"
    "CREATE INDEX messages_ticket ON messages(ticket_id);"
    "CREATE INDEX messages_raw ON messages(raw_sha256);"
    "CREATE INDEX messages_records ON messages(filed_at)"
    " WHERE ticket_id IS NULL;"
    "CREATE TABLE attachments ("
    " message_row INTEGER NOT NULL REFERENCES messages(id)"
    "  ON DELETE CASCADE,"
    " idx INTEGER NOT NULL,"
    " filename TEXT NOT NULL,"
    " content_type TEXT NOT NULL,"
    " size INTEGER NOT NULL,"
    " sha256 TEXT,"
    " skipped TEXT,"
    " PRIMARY KEY (message_row, idx)"
    ") STRICT;"
    "CREATE INDEX attachments_sha ON attachments(sha256)"
    " WHERE sha256 IS NOT NULL;"
    "CREATE TABLE acks ("
    " id INTEGER PRIMARY KEY,"
    " ticket_id TEXT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,"
    " message_row INTEGER REFERENCES messages(id) ON DELETE SET NULL,"
    " to_addr TEXT NOT NULL,"
    " message_id TEXT NOT NULL UNIQUE,"
    " status TEXT NOT NULL CHECK (status IN ('queued','sent','failed')),"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_attempt_at INTEGER NOT NULL,"
    " last_error TEXT,"
    " created_at INTEGER NOT NULL,"
    " window_start INTEGER NOT NULL,"
    " sent_at INTEGER"
    ") STRICT;"
    "CREATE INDEX acks_due ON acks(status, next_attempt_at);"
    "CREATE INDEX acks_to ON acks(to_addr, created_at);"
    "CREATE INDEX acks_ticket ON acks(ticket_id);"
    "CREATE INDEX acks_message ON acks(message_row);"
    "CREATE TABLE quarantine ("
    " message_row INTEGER PRIMARY KEY REFERENCES messages(id)"
    "  ON DELETE CASCADE,"
    " reason TEXT NOT NULL,"
    " reprocessed INTEGER NOT NULL DEFAULT 0,"
    " reprocessed_at INTEGER"
    ") STRICT;"
    "CREATE TABLE mailbox_state ("
    " mailbox TEXT PRIMARY KEY NOT NULL,"
    " uidvalidity INTEGER NOT NULL,"
    " last_uid INTEGER NOT NULL"
    ") STRICT;"
    "CREATE TABLE bounces ("
    " id INTEGER PRIMARY KEY,"
    " addr TEXT NOT NULL,"
    " at INTEGER NOT NULL,"
    " ack_message_id TEXT"
    ") STRICT;"
    "CREATE INDEX bounces_addr ON bounces(addr, at);"
    "CREATE TABLE day_seq ("
    " day TEXT PRIMARY KEY NOT NULL,"
    " last_seq INTEGER NOT NULL"
    ") STRICT;";

/*
 * Schema version 2: the rate-limit count (Q_RATE_COUNT) reads the index
 * alone instead of one table row per ack of the sender.
 */
static const char schema_v2[] =
    "DROP INDEX acks_to;"
    "CREATE INDEX acks_to ON acks(to_addr, created_at, status);";

/* Migrations: element i brings user_version from i to i + 1. */
static const char *const migrations[] = {
    schema_v1,
    schema_v2,
};
#define N_MIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))

/* The columns of a ticket summary, shared by list, get and overdue. */
#define TICKET_COLS                                                            \
	"SELECT t.id, t.status, t.priority, t.category, t.kind, t.review,"     \
	" t.requester, t.user_id, t.summary, t.created_at, t.due_at,"          \
	" t.closed_at, t.anonymised,"                                          \
	" coalesce((SELECT a.status FROM acks a WHERE a.ticket_id = t.id"      \
	"  ORDER BY a.id DESC LIMIT 1), t.ack_state, 'none'),"                 \
	" (SELECT count(*) FROM messages m WHERE m.ticket_id = t.id),"         \
	" (SELECT group_concat(value, char(31)) FROM (SELECT value FROM"       \
	"  ticket_numbers n WHERE n.ticket_id = t.id AND n.kind = 'order'"     \
	"  ORDER BY n.id)),"                                                   \
	" (SELECT group_concat(value, char(31)) FROM (SELECT value FROM"       \
	"  ticket_numbers n WHERE n.ticket_id = t.id AND n.kind = 'screening'" \
	"  ORDER BY n.id))"                                                    \
	" FROM tickets t "

static const char *const sql_text[Q_COUNT] = {
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_BEGIN_READ] = "BEGIN",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_SAVEPOINT] = "SAVEPOINT store_file",
    [Q_RELEASE] = "RELEASE store_file",
    [Q_ROLLBACK_TO] = "ROLLBACK TO store_file",
    [Q_DUP_UID] = "SELECT id, outcome, ticket_id FROM messages"
                  " WHERE mailbox = ?1 AND uidvalidity = ?2 AND uid = ?3"
                  " AND id != ?4 LIMIT 1",
    [Q_DUP_MSGID] = "SELECT id, outcome, ticket_id FROM messages"
                    " WHERE message_id = ?1 AND (raw_sha256 = ?2"
                    " OR content_sha256 = ?3) AND id != ?4"
                    " ORDER BY outcome = 'quarantine', id LIMIT 1",
    /* no Message-ID: the very same bytes are the same message */
    [Q_DUP_RAW] = "SELECT id, outcome, ticket_id FROM messages"
                  " WHERE (message_id IS NULL OR message_id = '')"
                  " AND raw_sha256 = ?1 AND id != ?2"
                  " ORDER BY outcome = 'quarantine', id LIMIT 1",
    [Q_TICKET_HEAD] = "SELECT status, requester, anonymised FROM tickets"
                      " WHERE id = ?1",
    [Q_MSG_BY_MSGID] = "SELECT m.ticket_id FROM messages m JOIN tickets t"
                       " ON t.id = m.ticket_id WHERE m.message_id = ?1"
                       " AND t.anonymised = 0 ORDER BY m.id DESC LIMIT 1",
    [Q_ACK_BY_MSGID] = "SELECT a.ticket_id FROM acks a JOIN tickets t"
                       " ON t.id = a.ticket_id WHERE a.message_id = ?1"
                       " AND t.anonymised = 0",
    /* CROSS JOIN keeps the order number (nearly unique) as the outer
       loop: the planner would otherwise walk all of a busy requester's
       tickets */
    [Q_ORDER_MERGE] = "SELECT t.id FROM ticket_numbers n CROSS JOIN tickets t"
                      " ON t.id = n.ticket_id WHERE n.kind = 'order'"
                      " AND n.value = ?1 AND t.requester = ?2"
                      " AND t.status != 'closed' AND t.anonymised = 0"
                      " AND t.last_filed_at >= ?3"
                      " ORDER BY t.last_filed_at DESC, t.id DESC LIMIT 1",
    [Q_TICKET_FOLLOWUP] = "UPDATE tickets SET status = ?2,"
                          " review = max(review, ?3),"
                          " closed_at = CASE WHEN ?2 = 'closed'"
                          "  THEN closed_at ELSE NULL END,"
                          " last_filed_at = ?4, updated_at = ?4"
                          " WHERE id = ?1",
    [Q_DAY_SEQ] = "INSERT INTO day_seq (day, last_seq) VALUES (?1, 1)"
                  " ON CONFLICT (day) DO UPDATE SET last_seq = last_seq + 1"
                  " RETURNING last_seq",
    [Q_TICKET_INSERT] =
        "INSERT INTO tickets (id, day, seq, status, priority, category,"
        " kind, review, requester, user_id, summary, format, created_at,"
        " due_at, last_filed_at, updated_at, ack_state) VALUES (?1, ?2, ?3,"
        " 'new', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?12, ?12, ?14)",
    [Q_NUMBER_INSERT] = "INSERT OR IGNORE INTO ticket_numbers"
                        " (ticket_id, kind, value) VALUES (?1, ?2, ?3)",
    [Q_MSG_INSERT] =
        "INSERT INTO messages (ticket_id, outcome, message_id, in_reply_to,"
        " references_hdr, raw_sha256, content_sha256, raw_size, mailbox,"
        " uidvalidity, uid, from_addr, subject, date_hdr, text,"
        " is_third_party, suppress_reason, filed_at) VALUES (?1, ?2, ?3, ?4,"
        " ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
    [Q_ATT_INSERT] = "INSERT INTO attachments (message_row, idx, filename,"
                     " content_type, size, sha256, skipped)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [Q_QUAR_INSERT] = "INSERT INTO quarantine (message_row, reason)"
                      " VALUES (?1, ?2)",
    [Q_QUAR_MARK] = "UPDATE quarantine SET reprocessed = 1,"
                    " reprocessed_at = ?2 WHERE message_row = ?1",
    [Q_ACK_FOR_BOUNCE] = "SELECT id, to_addr, ticket_id FROM acks"
                         " WHERE message_id = ?1",
    [Q_BOUNCE_INSERT] = "INSERT INTO bounces (addr, at, ack_message_id)"
                        " VALUES (?1, ?2, ?3)",
    [Q_ACK_BOUNCED] = "UPDATE acks SET status = 'failed',"
                      " last_error = 'bounced' WHERE id = ?1",
    [Q_BOUNCE_CHECK] = "SELECT 1 FROM bounces WHERE addr = ?1 AND at > ?2"
                       " LIMIT 1",
    /* counting stops at the limit (?3): a busy sender costs no more */
    [Q_RATE_COUNT] = "SELECT count(*) FROM (SELECT 1 FROM acks"
                     " WHERE to_addr = ?1 AND created_at > ?2"
                     " AND status IN ('queued', 'sent') LIMIT ?3)",
    [Q_ACK_INSERT] = "INSERT INTO acks (ticket_id, message_row, to_addr,"
                     " message_id, status, attempts, next_attempt_at,"
                     " created_at, window_start) VALUES (?1, ?2, ?3, ?4,"
                     " 'queued', 0, ?5, ?5, ?5)",
    [Q_MBOX_GET] = "SELECT uidvalidity, last_uid FROM mailbox_state"
                   " WHERE mailbox = ?1",
    [Q_MBOX_ADVANCE] =
        "INSERT INTO mailbox_state (mailbox, uidvalidity, last_uid)"
        " VALUES (?1, ?2, ?3) ON CONFLICT (mailbox) DO UPDATE SET"
        " last_uid = CASE WHEN uidvalidity = excluded.uidvalidity"
        "  THEN max(last_uid, excluded.last_uid) ELSE excluded.last_uid END,"
        " uidvalidity = excluded.uidvalidity",
    [Q_MBOX_PUT] = "INSERT INTO mailbox_state (mailbox, uidvalidity,"
                   " last_uid) VALUES (?1, ?2, ?3) ON CONFLICT (mailbox)"
                   " DO UPDATE SET uidvalidity = excluded.uidvalidity,"
                   " last_uid = excluded.last_uid",
    [Q_OUTBOX_NEXT] =
        "SELECT a.id, a.ticket_id, a.to_addr, a.message_id, a.attempts,"
        " a.message_row, t.summary, t.category, t.priority, t.kind,"
        " t.format, t.created_at, t.due_at FROM acks a JOIN tickets t"
        " ON t.id = a.ticket_id WHERE a.status = 'queued'"
        " AND a.next_attempt_at <= ?1 ORDER BY a.next_attempt_at, a.id"
        " LIMIT 1",
    [Q_MSG_THREAD] = "SELECT message_id, references_hdr, subject"
                     " FROM messages WHERE id = ?1",
    [Q_NUMBERS] = "SELECT value FROM ticket_numbers WHERE ticket_id = ?1"
                  " AND kind = ?2 ORDER BY id",
    [Q_ATT_NAMES] = "SELECT filename FROM attachments WHERE message_row = ?1"
                    " ORDER BY idx",
    [Q_ACK_SENT] = "UPDATE acks SET status = 'sent', sent_at = ?2,"
                   " attempts = attempts + 1, last_error = NULL"
                   " WHERE id = ?1",
    [Q_ACK_GET] = "SELECT attempts, window_start FROM acks WHERE id = ?1"
                  " AND status = 'queued'",
    [Q_ACK_LATER] = "UPDATE acks SET attempts = ?2, next_attempt_at = ?3,"
                    " last_error = ?4 WHERE id = ?1",
    [Q_ACK_FAIL] = "UPDATE acks SET status = 'failed', attempts = ?2,"
                   " last_error = ?3 WHERE id = ?1",
    [Q_ACK_REQUEUE] = "UPDATE acks SET status = 'queued', attempts = 0,"
                      " next_attempt_at = ?2, window_start = ?2"
                      " WHERE id = ?1 AND status = 'failed'",
    [Q_ACK_REQUEUE_ALL] = "UPDATE acks SET status = 'queued', attempts = 0,"
                          " next_attempt_at = ?1, window_start = ?1"
                          " WHERE status = 'failed'",
    [Q_ACK_DEFER_ALL] = "UPDATE acks SET next_attempt_at = ?1"
                        " WHERE status = 'queued' AND next_attempt_at < ?1",
    [Q_OUTBOX_LIST] = "SELECT id, ticket_id, to_addr, message_id, status,"
                      " attempts, next_attempt_at, last_error, created_at,"
                      " sent_at FROM acks WHERE ?1 = 0 OR status = 'failed'"
                      " ORDER BY id",
    [Q_TICKET_LIST] = TICKET_COLS
    "WHERE (?1 IS NULL OR t.status = ?1)"
    " AND (?2 IS NULL OR t.priority = ?2)"
    " AND (?3 IS NULL OR t.category = ?3)"
    " AND (?4 = 0 OR (t.status = 'new' AND t.due_at < ?5))"
    " AND (?6 = 0 OR t.created_at >= ?6)"
    " AND (?7 IS NULL OR t.requester = ?7)"
    " AND (?8 IS NULL OR EXISTS (SELECT 1 FROM ticket_numbers n"
    "  WHERE n.ticket_id = t.id AND n.kind = 'order' AND n.value = ?8))"
    " ORDER BY t.created_at DESC, t.day DESC, t.seq DESC LIMIT ?9",
    [Q_TICKET_GET] = TICKET_COLS "WHERE t.id = ?1",
    [Q_TICKET_MSGS] = "SELECT id, outcome, message_id, from_addr, subject,"
                      " date_hdr, text, is_third_party, filed_at,"
                      " raw_sha256, raw_size FROM messages"
                      " WHERE ticket_id = ?1 ORDER BY id",
    [Q_MSG_ATTS] = "SELECT idx, filename, content_type, size, sha256,"
                   " skipped FROM attachments WHERE message_row = ?1"
                   " ORDER BY idx",
    [Q_SET_STATUS] = "UPDATE tickets SET status = ?2, closed_at = CASE"
                     " WHEN ?2 != 'closed' THEN NULL"
                     " WHEN status = 'closed' THEN closed_at ELSE ?3 END,"
                     " updated_at = ?3 WHERE id = ?1",
    [Q_ATT_NTH] = "SELECT a.filename, a.content_type, a.size, a.sha256,"
                  " a.skipped FROM attachments a JOIN messages m"
                  " ON m.id = a.message_row WHERE m.ticket_id = ?1"
                  " ORDER BY m.id, a.idx LIMIT 1 OFFSET ?2",
    [Q_MSG_RAW] = "SELECT raw_sha256 FROM messages WHERE id = ?1",
    [Q_QUAR_LIST] = "SELECT q.message_row, q.reason, m.message_id,"
                    " m.from_addr, m.subject, m.mailbox, m.uid, m.filed_at,"
                    " q.reprocessed FROM quarantine q JOIN messages m"
                    " ON m.id = q.message_row"
                    " WHERE ?1 = 1 OR q.reprocessed = 0"
                    " ORDER BY q.message_row",
    [Q_QUAR_RAW] = "SELECT m.raw_sha256 FROM quarantine q JOIN messages m"
                   " ON m.id = q.message_row WHERE q.message_row = ?1",
    [Q_STATS_STATUS] = "SELECT status, count(*) FROM tickets"
                       " GROUP BY status",
    [Q_STATS_PRIORITY] = "SELECT priority, count(*) FROM tickets"
                         " GROUP BY priority",
    [Q_STATS_CATEGORY] = "SELECT category, count(*) FROM tickets"
                         " GROUP BY category ORDER BY 2 DESC, 1",
    [Q_STATS_ACKS] = "SELECT status, count(*) FROM acks GROUP BY status",
    [Q_STATS_MISC] =
        "SELECT (SELECT count(*) FROM tickets),"
        " (SELECT count(*) FROM messages),"
        " (SELECT count(*) FROM quarantine WHERE reprocessed = 0),"
        " (SELECT count(*) FROM messages WHERE outcome = 'suppressed'),"
        " (SELECT count(*) FROM tickets WHERE status = 'new'"
        "  AND due_at < ?1)",
    [Q_OVERDUE_LIST] = TICKET_COLS "WHERE t.status = 'new' AND t.due_at < ?1"
                                   " AND t.overdue_logged = 0"
                                   " ORDER BY t.due_at, t.id",
    [Q_OVERDUE_MARK] = "UPDATE tickets SET overdue_logged = 1"
                       " WHERE status = 'new' AND due_at < ?1"
                       " AND overdue_logged = 0",
    [Q_PURGE_TICKETS] = "SELECT id FROM tickets WHERE status = 'closed'"
                        " AND closed_at <= ?1 AND (?2 = 0 OR anonymised = 0)"
                        " ORDER BY closed_at",
    [Q_PURGE_COUNT_MSGS] = "SELECT count(*) FROM messages"
                           " WHERE ticket_id = ?1",
    [Q_PURGE_DELETE] = "DELETE FROM tickets WHERE id = ?1",
    [Q_ANON_TICKET] = "UPDATE tickets SET requester = NULL, user_id = NULL,"
                      " summary = '(anonymised)', anonymised = 1,"
                      " updated_at = ?2 WHERE id = ?1",
    [Q_ANON_MSGS] = "UPDATE messages SET from_addr = NULL, subject = NULL,"
                    " date_hdr = NULL, text = NULL, raw_sha256 = NULL,"
                    " content_sha256 = NULL, references_hdr = NULL,"
                    " in_reply_to = NULL WHERE ticket_id = ?1",
    [Q_ANON_ATTS] = "DELETE FROM attachments WHERE message_row IN"
                    " (SELECT id FROM messages WHERE ticket_id = ?1)",
    [Q_ANON_ACKS] = "UPDATE acks SET to_addr = '', status = CASE"
                    " WHEN status = 'queued' THEN 'failed' ELSE status END,"
                    " last_error = coalesce(last_error, 'anonymised')"
                    " WHERE ticket_id = ?1",
    [Q_PURGE_RECORDS] = "DELETE FROM messages WHERE ticket_id IS NULL"
                        " AND filed_at <= ?1",
    [Q_PURGE_BOUNCES] = "DELETE FROM bounces WHERE at <= ?1",
    [Q_RAW_REFERENCED] = "SELECT 1 FROM messages WHERE raw_sha256 = ?1"
                         " LIMIT 1",
    [Q_ATT_REFERENCED] = "SELECT 1 FROM attachments WHERE sha256 = ?1"
                         " LIMIT 1",
};

/* db_errf - write one sanitised line into err (if errlen > 0). */
void
db_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	size_t i;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	for (i = 0; err[i] != '\0'; i++) {
		if ((unsigned char)err[i] < 0x20 || err[i] == 0x7f)
			err[i] = ' ';
	}
}

/* db_fail - map SQLite code rc to a status; err = "what: message". */
int
db_fail(struct store *st, int rc, const char *what, char *err, size_t errlen)
{
	const char *msg;

	msg = st != NULL && st->db != NULL ? sqlite3_errmsg(st->db)
	                                   : sqlite3_errstr(rc);
	db_errf(err, errlen, "%s: %s", what, msg);
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return STORE_BUSY;
	case SQLITE_NOMEM:
		return STORE_NOMEM;
	default:
		return STORE_FAILED;
	}
}

/* db_stmt - the cached statement q, prepared on first use. */
sqlite3_stmt *
db_stmt(struct store *st, enum db_q q, int *status_r, char *err, size_t errlen)
{
	int rc;

	if (st->stmt[q] != NULL)
		return st->stmt[q];
	rc = sqlite3_prepare_v3(st->db, sql_text[q], -1,
	                        SQLITE_PREPARE_PERSISTENT, &st->stmt[q], NULL);
	if (rc != SQLITE_OK) {
		st->stmt[q] = NULL;
		*status_r = db_fail(st, rc, "prepare", err, errlen);
		return NULL;
	}
	return st->stmt[q];
}

/* db_done - reset s and clear its bindings. */
void
db_done(sqlite3_stmt *s)
{
	if (s == NULL)
		return;
	(void)sqlite3_reset(s);
	(void)sqlite3_clear_bindings(s);
}

/* db_bind_text - bind v, or NULL. */
int
db_bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL)
		return sqlite3_bind_null(s, i);
	return sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

/* db_col_dup - malloc'd copy of text column i, NULL for SQL NULL. */
char *
db_col_dup(sqlite3_stmt *s, int i, bool *is_nomem)
{
	const unsigned char *t;
	int n;
	char *p;

	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		return NULL;
	t = sqlite3_column_text(s, i);
	n = sqlite3_column_bytes(s, i);
	if (t == NULL) {
		*is_nomem = true;
		return NULL;
	}
	p = malloc((size_t)n + 1);
	if (p == NULL) {
		*is_nomem = true;
		return NULL;
	}
	memcpy(p, t, (size_t)n);
	p[n] = '\0';
	return p;
}

/* db_col_copy - copy text column i into buf ("" for NULL), truncated. */
void
db_col_copy(sqlite3_stmt *s, int i, char *buf, size_t n)
{
	const unsigned char *t;

	buf[0] = '\0';
	t = sqlite3_column_text(s, i);
	if (t != NULL)
		(void)snprintf(buf, n, "%s", (const char *)t);
}

/* db_step_done - step a statement that returns no rows. */
int
db_step_done(struct store *st, sqlite3_stmt *s, const char *what, char *err,
             size_t errlen)
{
	int rc;

	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		rc = db_fail(st, rc, what, err, errlen);
		db_done(s);
		return rc;
	}
	db_done(s);
	return STORE_OK;
}

/* db_simple - step one cached no-argument statement (BEGIN, COMMIT...). */
int
db_simple(struct store *st, enum db_q q, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int status = STORE_FAILED;

	s = db_stmt(st, q, &status, err, errlen);
	if (s == NULL)
		return status;
	return db_step_done(st, s, sql_text[q], err, errlen);
}

/* db_rollback_quietly - ROLLBACK if a transaction is open. */
void
db_rollback_quietly(struct store *st)
{
	char ignored[8];

	if (sqlite3_get_autocommit(st->db) == 0)
		(void)db_simple(st, Q_ROLLBACK, ignored, sizeof(ignored));
}

/* run_in_batch - run fn under a savepoint inside the caller's batch. */
static int
run_in_batch(struct store *st, db_txn_fn *fn, void *ctx, char *err,
             size_t errlen)
{
	char ignored[8];
	int status = STORE_FAILED;
	int rc;

	if (st->is_batch_lost) {
		db_errf(err, errlen,
		        "batch was rolled back by an earlier "
		        "error");
		return STORE_FAILED;
	}
	status = db_simple(st, Q_SAVEPOINT, err, errlen);
	if (status != STORE_OK)
		goto check;
	status = fn(st, ctx, err, errlen);
	if (status == STORE_OK || status == STORE_DUPLICATE) {
		rc = db_simple(st, Q_RELEASE, err, errlen);
		if (rc != STORE_OK)
			status = rc;
	} else {
		(void)db_simple(st, Q_ROLLBACK_TO, ignored, sizeof(ignored));
		(void)db_simple(st, Q_RELEASE, ignored, sizeof(ignored));
	}
check:
	/* Some errors (I/O, full disk) make SQLite drop the transaction. */
	if (sqlite3_get_autocommit(st->db) != 0)
		st->is_batch_lost = true;
	return status;
}

/* db_run - fn in its own transaction, retried on SQLITE_BUSY. */
int
db_run(struct store *st, bool is_write, db_txn_fn *fn, void *ctx, char *err,
       size_t errlen)
{
	unsigned attempt;
	int status = STORE_FAILED;

	if (st->in_batch)
		return run_in_batch(st, fn, ctx, err, errlen);
	for (attempt = 0; attempt <= st->busy_retries; attempt++) {
		status = db_simple(st, is_write ? Q_BEGIN : Q_BEGIN_READ, err,
		                   errlen);
		if (status == STORE_BUSY) {
			db_rollback_quietly(st);
			continue;
		}
		if (status != STORE_OK)
			return status;
		status = fn(st, ctx, err, errlen);
		if (status == STORE_OK || status == STORE_DUPLICATE) {
			int rc = db_simple(st, Q_COMMIT, err, errlen);

			if (rc == STORE_OK)
				return status;
			db_rollback_quietly(st);
			if (rc != STORE_BUSY)
				return rc;
			continue;
		}
		db_rollback_quietly(st);
		if (status != STORE_BUSY)
			return status;
	}
	db_errf(err, errlen, "database busy after %u attempts",
	        st->busy_retries + 1);
	return STORE_BUSY;
}

/* exec_sql - sqlite3_exec for DDL and pragmas; status and err. */
static int
exec_sql(struct store *st, const char *sql, const char *what, char *err,
         size_t errlen)
{
	int rc;

	rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return db_fail(st, rc, what, err, errlen);
	return STORE_OK;
}

/* user_version - read PRAGMA user_version into *v. */
static int
user_version(struct store *st, int *v, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int rc;

	rc = sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return db_fail(st, rc, "user_version", err, errlen);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		rc = db_fail(st, rc, "user_version", err, errlen);
		(void)sqlite3_finalize(s);
		return rc;
	}
	*v = sqlite3_column_int(s, 0);
	(void)sqlite3_finalize(s);
	return STORE_OK;
}

/* migrate_once - apply the next migration, if any; *is_done when none. */
static int
migrate_once(struct store *st, bool *is_done, char *err, size_t errlen)
{
	char pragma[64];
	int status = STORE_FAILED;
	int v = 0;

	*is_done = false;
	status =
	    exec_sql(st, "BEGIN IMMEDIATE", "begin migration", err, errlen);
	if (status != STORE_OK)
		return status;
	/* Read the version under the write lock: two processes opening a
	   fresh store at once must not both migrate. */
	status = user_version(st, &v, err, errlen);
	if (status != STORE_OK)
		goto fail;
	if (v < 0 || (size_t)v > N_MIGRATIONS) {
		db_errf(err, errlen,
		        "database schema version %d is not known to this "
		        "program (up to %zu)",
		        v, N_MIGRATIONS);
		status = STORE_FAILED;
		goto fail;
	}
	if ((size_t)v == N_MIGRATIONS) {
		*is_done = true;
		return exec_sql(st, "COMMIT", "commit", err, errlen);
	}
	status = exec_sql(st, migrations[v], "migration", err, errlen);
	if (status != STORE_OK)
		goto fail;
	(void)snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d",
	               v + 1);
	status = exec_sql(st, pragma, "migration", err, errlen);
	if (status != STORE_OK)
		goto fail;
	status = exec_sql(st, "COMMIT", "commit migration", err, errlen);
	if (status != STORE_OK)
		goto fail;
	return STORE_OK;
fail:
	db_rollback_quietly(st);
	return status;
}

/* set_wal - switch to WAL and check that SQLite agreed. */
static int
set_wal(struct store *st, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	const unsigned char *mode;
	int status = STORE_FAILED;
	int rc;

	rc = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1, &s,
	                        NULL);
	if (rc != SQLITE_OK)
		return db_fail(st, rc, "journal_mode", err, errlen);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		status = db_fail(st, rc, "journal_mode", err, errlen);
		(void)sqlite3_finalize(s);
		return status;
	}
	mode = sqlite3_column_text(s, 0);
	status = STORE_OK;
	if (mode == NULL || strcmp((const char *)mode, "wal") != 0) {
		db_errf(err, errlen,
		        "journal_mode: WAL refused (got %s); the state "
		        "directory must be on a local file system",
		        mode == NULL ? "nothing" : (const char *)mode);
		status = STORE_FAILED;
	}
	(void)sqlite3_finalize(s);
	return status;
}

/* db_open - open the database, set the pragmas, migrate. */
int
db_open(struct store *st, const char *path, char *err, size_t errlen)
{
	unsigned attempt;
	bool is_done;
	int v = 0;
	int status = STORE_FAILED;
	int rc;

	rc = sqlite3_open_v2(path, &st->db,
	                     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	                         SQLITE_OPEN_NOMUTEX,
	                     NULL);
	if (rc != SQLITE_OK) {
		if (st->db == NULL) {
			db_errf(err, errlen, "open %s: out of memory", path);
			return STORE_NOMEM;
		}
		status = db_fail(st, rc, "open", err, errlen);
		return status;
	}
	rc = sqlite3_busy_timeout(st->db, (int)st->busy_ms);
	if (rc != SQLITE_OK)
		return db_fail(st, rc, "busy_timeout", err, errlen);
	status = STORE_BUSY;
	for (attempt = 0; attempt <= st->busy_retries; attempt++) {
		status = set_wal(st, err, errlen);
		if (status != STORE_BUSY)
			break;
	}
	if (status != STORE_OK)
		return status;
	status =
	    exec_sql(st, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
	             "pragma", err, errlen);
	if (status != STORE_OK)
		return status;
	/* Up to date: no write lock, which another connection may hold for
	   a whole batch (a parsing child opens the store meanwhile). */
	status = user_version(st, &v, err, errlen);
	if (status == STORE_OK && (size_t)v == N_MIGRATIONS)
		return STORE_OK;
	for (attempt = 0; attempt <= st->busy_retries + N_MIGRATIONS;
	     attempt++) {
		status = migrate_once(st, &is_done, err, errlen);
		if (status == STORE_BUSY)
			continue;
		if (status != STORE_OK || is_done)
			return status;
	}
	return status;
}

/* db_close - finalize every statement and close the connection. */
void
db_close(struct store *st)
{
	size_t i;

	if (st->db == NULL)
		return;
	db_rollback_quietly(st);
	for (i = 0; i < Q_COUNT; i++) {
		if (st->stmt[i] != NULL) {
			(void)sqlite3_finalize(st->stmt[i]);
			st->stmt[i] = NULL;
		}
	}
	(void)sqlite3_close(st->db);
	st->db = NULL;
}

/* db_tz_enter - set TZ to the store's zone, remembering the old one. */
int
db_tz_enter(const struct store *st, struct db_tz *g)
{
	const char *cur;

	memset(g, 0, sizeof(*g));
	cur = getenv("TZ");
	if (st->tz == NULL || (cur != NULL && strcmp(cur, st->tz) == 0)) {
		tzset();
		return 0;
	}
	if (cur != NULL) {
		g->saved = strdup(cur);
		if (g->saved == NULL)
			return -1;
		g->had_tz = true;
	}
	if (setenv("TZ", st->tz, 1) != 0) {
		free(g->saved);
		g->saved = NULL;
		return -1;
	}
	g->is_switched = true;
	tzset();
	return 0;
}

/* db_tz_leave - put the previous TZ back. */
void
db_tz_leave(struct db_tz *g)
{
	if (!g->is_switched)
		return;
	if (g->had_tz)
		(void)setenv("TZ", g->saved, 1);
	else
		(void)unsetenv("TZ");
	tzset();
	free(g->saved);
	g->saved = NULL;
	g->is_switched = false;
}

/* db_iso - "2023-11-05T16:23:00+08:00" for t in the current zone. */
void
db_iso(time_t t, char *buf)
{
	struct tm tm;
	unsigned year, mon, day, hh, mm, ss, oh, om;
	long off;
	char sign;

	buf[0] = '\0';
	if (t == 0 || localtime_r(&t, &tm) == NULL)
		return;
	off = tm.tm_gmtoff;
	sign = off < 0 ? '-' : '+';
	if (off < 0)
		off = -off;
	off %= 86400;
	/* Unsigned and reduced so the compiler can bound the length. */
	year = (unsigned)(tm.tm_year + 1900) % 10000u;
	mon = (unsigned)(tm.tm_mon + 1) % 100u;
	day = (unsigned)tm.tm_mday % 100u;
	hh = (unsigned)tm.tm_hour % 100u;
	mm = (unsigned)tm.tm_min % 100u;
	ss = (unsigned)tm.tm_sec % 100u;
	oh = (unsigned)(off / 3600) % 100u;
	om = (unsigned)(off % 3600 / 60) % 100u;
	(void)snprintf(buf, STORE_TIME_MAX,
	               "%04u-%02u-%02uT%02u:%02u:%02u%c%02u:%02u", year, mon,
	               day, hh, mm, ss, sign, oh, om);
}

/* db_lower - lower-case ASCII copy. */
char *
db_lower(const char *s, bool *is_nomem)
{
	char *p;
	size_t i;

	if (s == NULL)
		return NULL;
	p = strdup(s);
	if (p == NULL) {
		*is_nomem = true;
		return NULL;
	}
	for (i = 0; p[i] != '\0'; i++)
		p[i] = (char)tolower((unsigned char)p[i]);
	return p;
}

/* db_priority - index of a priority name, -1 if unknown. */
int
db_priority(const char *name)
{
	size_t i;

	if (name == NULL)
		return -1;
	for (i = 0; i < 3; i++) {
		if (strcmp(name, store_priority_names[i]) == 0)
			return (int)i;
	}
	return -1;
}

/* db_status_valid - whether name is one of the five statuses. */
bool
db_status_valid(const char *name)
{
	size_t i;

	if (name == NULL)
		return false;
	for (i = 0; i < 5; i++) {
		if (strcmp(name, store_ticket_status_names[i]) == 0)
			return true;
	}
	return false;
}

/* SPDX-License-Identifier: MIT */
/*
 * outbox.c - the ack outbox (SPEC.md §7): the next due ack with everything
 * its template needs, sent/failed bookkeeping with exponential backoff
 * (1 minute doubling to 1 hour, give up after 3 days), requeueing of failed
 * acks, and the listing for `ticketctl outbox`.
 */
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "store/db.h"

/* Bytes of an SMTP error kept with an ack. */
#define OUTBOX_ERROR_MAX 512

/* store_ack_clear - free the owned fields and zero the struct. */
void
store_ack_clear(struct store_ack *a)
{
	if (a == NULL)
		return;
	free(a->to);
	free(a->message_id);
	free(a->in_reply_to);
	strlist_clear(&a->references);
	free(a->subject);
	free(a->summary);
	free(a->category);
	free(a->priority);
	free(a->kind);
	free(a->format);
	strlist_clear(&a->order_numbers);
	strlist_clear(&a->attachments);
	memset(a, 0, sizeof(*a));
}

/* add_words - add the space-separated words of s to l. */
static int
add_words(struct strlist *l, const char *s)
{
	const char *p = s;
	size_t n;

	while (p != NULL && *p != '\0') {
		while (*p == ' ')
			p++;
		n = strcspn(p, " ");
		if (n > 0 && strlist_add(l, p, n, 0) != 0)
			return -1;
		p += n;
	}
	return 0;
}

/* column_list - every row's first column of statement s into l. */
static int
column_list(struct store *st, sqlite3_stmt *s, struct strlist *l, char *err,
            size_t errlen)
{
	const unsigned char *t;
	int status = STORE_OK;
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		t = sqlite3_column_text(s, 0);
		if (t == NULL)
			continue;
		if (strlist_add(l, (const char *)t, strlen((const char *)t),
		                0) != 0) {
			status = STORE_NOMEM;
			break;
		}
	}
	if (status == STORE_OK && rc != SQLITE_DONE)
		status = db_fail(st, rc, "list", err, errlen);
	db_done(s);
	return status;
}

struct next_ctx {
	time_t now;
	struct store_ack *a;
};

/* thread_info - the original message's ids and subject, attachments. */
static int
thread_info(struct store *st, struct store_ack *a, int64_t row, char *err,
            size_t errlen)
{
	sqlite3_stmt *s;
	bool is_nomem = false;
	char *refs = NULL;
	int status = STORE_FAILED;
	int rc;

	s = db_stmt(st, Q_MSG_THREAD, &status, err, errlen);
	if (s == NULL)
		return status;
	(void)sqlite3_bind_int64(s, 1, row);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		a->in_reply_to = db_col_dup(s, 0, &is_nomem);
		refs = db_col_dup(s, 1, &is_nomem);
		a->subject = db_col_dup(s, 2, &is_nomem);
	} else if (rc != SQLITE_DONE) {
		status = db_fail(st, rc, "ack thread", err, errlen);
		db_done(s);
		return status;
	}
	db_done(s);
	status = STORE_NOMEM;
	if (is_nomem || add_words(&a->references, refs) != 0)
		goto out;
	if (a->in_reply_to != NULL &&
	    strlist_add(&a->references, a->in_reply_to, strlen(a->in_reply_to),
	                0) != 0)
		goto out;
	s = db_stmt(st, Q_ATT_NAMES, &status, err, errlen);
	if (s == NULL)
		goto out;
	(void)sqlite3_bind_int64(s, 1, row);
	status = column_list(st, s, &a->attachments, err, errlen);
out:
	free(refs);
	return status;
}

/* next_txn - read the next due ack. */
static int
next_txn(struct store *st, void *ctx, char *err, size_t errlen)
{
	struct next_ctx *c = ctx;
	struct store_ack *a = c->a;
	sqlite3_stmt *s;
	bool is_nomem = false;
	int64_t row;
	int status = STORE_FAILED;
	int rc;

	store_ack_clear(a);
	s = db_stmt(st, Q_OUTBOX_NEXT, &status, err, errlen);
	if (s == NULL)
		return status;
	(void)sqlite3_bind_int64(s, 1, c->now);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		status = rc == SQLITE_DONE
		             ? STORE_NOT_FOUND
		             : db_fail(st, rc, "outbox", err, errlen);
		db_done(s);
		return status;
	}
	a->id = sqlite3_column_int64(s, 0);
	db_col_copy(s, 1, a->ticket_id, sizeof(a->ticket_id));
	a->to = db_col_dup(s, 2, &is_nomem);
	a->message_id = db_col_dup(s, 3, &is_nomem);
	a->attempts = (unsigned)sqlite3_column_int(s, 4);
	row = sqlite3_column_int64(s, 5);
	a->summary = db_col_dup(s, 6, &is_nomem);
	a->category = db_col_dup(s, 7, &is_nomem);
	a->priority = db_col_dup(s, 8, &is_nomem);
	a->kind = db_col_dup(s, 9, &is_nomem);
	a->format = db_col_dup(s, 10, &is_nomem);
	a->created_at = (time_t)sqlite3_column_int64(s, 11);
	a->due_at = (time_t)sqlite3_column_int64(s, 12);
	db_done(s);
	if (is_nomem)
		return STORE_NOMEM;
	if (row != 0) {
		status = thread_info(st, a, row, err, errlen);
		if (status != STORE_OK)
			return status;
	}
	s = db_stmt(st, Q_NUMBERS, &status, err, errlen);
	if (s == NULL)
		return status;
	(void)db_bind_text(s, 1, a->ticket_id);
	(void)db_bind_text(s, 2, "order");
	return column_list(st, s, &a->order_numbers, err, errlen);
}

/* store_outbox_next - the oldest due queued ack. */
int
store_outbox_next(struct store *st, time_t now, struct store_ack *a, char *err,
                  size_t errlen)
{
	struct next_ctx c;
	struct db_tz g;
	int status;

	memset(a, 0, sizeof(*a));
	c.now = now != 0 ? now : store_now(st);
	c.a = a;
	status = db_run(st, false, next_txn, &c, err, errlen);
	if (status != STORE_OK) {
		store_ack_clear(a);
		return status;
	}
	if (db_tz_enter(st, &g) != 0) {
		store_ack_clear(a);
		return STORE_NOMEM;
	}
	db_iso(a->due_at, a->due_at_iso);
	db_iso(a->created_at, a->created_at_iso);
	db_tz_leave(&g);
	return STORE_OK;
}

struct ack_ctx {
	int64_t id;
	time_t now;
	bool permanent;
	const char *error;
	bool is_given_up;
	size_t count;
};

/* sent_txn - mark one ack sent. */
static int
sent_txn(struct store *st, void *ctx, char *err, size_t errlen)
{
	struct ack_ctx *c = ctx;
	sqlite3_stmt *s;
	int status = STORE_FAILED;

	s = db_stmt(st, Q_ACK_SENT, &status, err, errlen);
	if (s == NULL)
		return status;
	(void)sqlite3_bind_int64(s, 1, c->id);
	(void)sqlite3_bind_int64(s, 2, c->now);
	status = db_step_done(st, s, "ack sent", err, errlen);
	if (status == STORE_OK && sqlite3_changes(st->db) == 0) {
		db_errf(err, errlen, "no ack %lld", (long long)c->id);
		status = STORE_NOT_FOUND;
	}
	return status;
}

/* store_outbox_sent - mark ack id sent. */
int
store_outbox_sent(struct store *st, int64_t id, char *err, size_t errlen)
{
	struct ack_ctx c;

	memset(&c, 0, sizeof(c));
	c.id = id;
	c.now = store_now(st);
	return db_run(st, true, sent_txn, &c, err, errlen);
}

/* failed_txn - count a failed attempt; retry later or give up. */
static int
failed_txn(struct store *st, void *ctx, char *err, size_t errlen)
{
	struct ack_ctx *c = ctx;
	sqlite3_stmt *s;
	int64_t attempts, window, delay, k;
	int status = STORE_FAILED;
	int rc;

	c->is_given_up = false;
	s = db_stmt(st, Q_ACK_GET, &status, err, errlen);
	if (s == NULL)
		return status;
	(void)sqlite3_bind_int64(s, 1, c->id);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		if (rc == SQLITE_DONE) {
			db_errf(err, errlen, "no queued ack %lld",
			        (long long)c->id);
			status = STORE_NOT_FOUND;
		} else {
			status = db_fail(st, rc, "ack", err, errlen);
		}
		db_done(s);
		return status;
	}
	attempts = sqlite3_column_int64(s, 0) + 1;
	window = sqlite3_column_int64(s, 1);
	db_done(s);
	if (c->permanent || c->now - window >= STORE_RETRY_GIVE_UP_SECS) {
		s = db_stmt(st, Q_ACK_FAIL, &status, err, errlen);
		if (s == NULL)
			return status;
		(void)sqlite3_bind_int64(s, 1, c->id);
		(void)sqlite3_bind_int64(s, 2, attempts);
		(void)db_bind_text(s, 3, c->error);
		c->is_given_up = true;
		return db_step_done(st, s, "ack failed", err, errlen);
	}
	/* attempt 1 waits 1 minute, each further one twice as long */
	delay = STORE_RETRY_FIRST_SECS;
	for (k = 1; k < attempts && delay < STORE_RETRY_MAX_SECS; k++)
		delay *= 2;
	if (delay > STORE_RETRY_MAX_SECS)
		delay = STORE_RETRY_MAX_SECS;
	s = db_stmt(st, Q_ACK_LATER, &status, err, errlen);
	if (s == NULL)
		return status;
	(void)sqlite3_bind_int64(s, 1, c->id);
	(void)sqlite3_bind_int64(s, 2, attempts);
	(void)sqlite3_bind_int64(s, 3, c->now + delay);
	(void)db_bind_text(s, 4, c->error);
	return db_step_done(st, s, "ack retry", err, errlen);
}

/* store_outbox_failed - record a failed attempt. */
int
store_outbox_failed(struct store *st, int64_t id, bool permanent,
                    const char *error, bool *is_given_up_r, char *err,
                    size_t errlen)
{
	struct ack_ctx c;
	char *clean = NULL;
	int status;

	memset(&c, 0, sizeof(c));
	if (is_given_up_r != NULL)
		*is_given_up_r = false;
	if (error != NULL) {
		clean =
		    utf8_sanitise(error, strlen(error), OUTBOX_ERROR_MAX, 0);
		if (clean == NULL)
			return STORE_NOMEM;
		/* CR LF at the end of an SMTP reply became spaces */
		while (clean[0] != '\0' && clean[strlen(clean) - 1] == ' ')
			clean[strlen(clean) - 1] = '\0';
	}
	c.id = id;
	c.now = store_now(st);
	c.permanent = permanent;
	c.error = clean;
	status = db_run(st, true, failed_txn, &c, err, errlen);
	if (status == STORE_OK && is_given_up_r != NULL)
		*is_given_up_r = c.is_given_up;
	free(clean);
	return status;
}

/* retry_txn - requeue one or every failed ack. */
static int
retry_txn(struct store *st, void *ctx, char *err, size_t errlen)
{
	struct ack_ctx *c = ctx;
	sqlite3_stmt *s;
	int status = STORE_FAILED;

	c->count = 0;
	s = db_stmt(st, c->id != 0 ? Q_ACK_REQUEUE : Q_ACK_REQUEUE_ALL, &status,
	            err, errlen);
	if (s == NULL)
		return status;
	if (c->id != 0) {
		(void)sqlite3_bind_int64(s, 1, c->id);
		(void)sqlite3_bind_int64(s, 2, c->now);
	} else {
		(void)sqlite3_bind_int64(s, 1, c->now);
	}
	status = db_step_done(st, s, "ack requeue", err, errlen);
	if (status != STORE_OK)
		return status;
	c->count = (size_t)sqlite3_changes(st->db);
	if (c->id != 0 && c->count == 0) {
		db_errf(err, errlen, "no failed ack %lld", (long long)c->id);
		return STORE_NOT_FOUND;
	}
	return STORE_OK;
}

/* defer_txn - push every queued ack to at least c->now. */
static int
defer_txn(struct store *st, void *ctx, char *err, size_t errlen)
{
	struct ack_ctx *c = ctx;
	sqlite3_stmt *s;
	int status = STORE_FAILED;

	s = db_stmt(st, Q_ACK_DEFER_ALL, &status, err, errlen);
	if (s == NULL)
		return status;
	(void)sqlite3_bind_int64(s, 1, c->now);
	status = db_step_done(st, s, "ack defer", err, errlen);
	if (status == STORE_OK)
		c->count = (size_t)sqlite3_changes(st->db);
	return status;
}

/* store_outbox_defer - no queued ack is due before until. */
int
store_outbox_defer(struct store *st, time_t until, size_t *count_r, char *err,
                   size_t errlen)
{
	struct ack_ctx c;
	int status;

	memset(&c, 0, sizeof(c));
	c.now = until;
	status = db_run(st, true, defer_txn, &c, err, errlen);
	if (count_r != NULL)
		*count_r = status == STORE_OK ? c.count : 0;
	return status;
}

/* store_outbox_retry - requeue failed acks. */
int
store_outbox_retry(struct store *st, int64_t id, size_t *count_r, char *err,
                   size_t errlen)
{
	struct ack_ctx c;
	int status;

	memset(&c, 0, sizeof(c));
	c.id = id;
	c.now = store_now(st);
	status = db_run(st, true, retry_txn, &c, err, errlen);
	if (count_r != NULL)
		*count_r = status == STORE_OK ? c.count : 0;
	return status;
}

struct list_ctx {
	bool is_failed_only;
	struct store_outbox_row *rows;
	size_t n, cap;
};

/* store_outbox_list_free - free rows and their strings. */
void
store_outbox_list_free(struct store_outbox_row **rows, size_t n)
{
	size_t i;

	if (rows == NULL || *rows == NULL)
		return;
	for (i = 0; i < n; i++) {
		free((*rows)[i].to);
		free((*rows)[i].message_id);
		free((*rows)[i].last_error);
	}
	free(*rows);
	*rows = NULL;
}

/* list_txn - read the outbox. */
static int
list_txn(struct store *st, void *ctx, char *err, size_t errlen)
{
	struct list_ctx *c = ctx;
	struct store_outbox_row *r;
	sqlite3_stmt *s;
	bool is_nomem = false;
	int status = STORE_FAILED;
	int rc;

	store_outbox_list_free(&c->rows, c->n);
	c->n = c->cap = 0;
	s = db_stmt(st, Q_OUTBOX_LIST, &status, err, errlen);
	if (s == NULL)
		return status;
	(void)sqlite3_bind_int(s, 1, c->is_failed_only ? 1 : 0);
	status = STORE_OK;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (c->n == c->cap) {
			size_t cap = c->cap == 0 ? 16 : c->cap * 2;
			void *p = realloc(c->rows, cap * sizeof(*c->rows));

			if (p == NULL) {
				status = STORE_NOMEM;
				break;
			}
			c->rows = p;
			c->cap = cap;
		}
		r = &c->rows[c->n++];
		memset(r, 0, sizeof(*r));
		r->id = sqlite3_column_int64(s, 0);
		db_col_copy(s, 1, r->ticket_id, sizeof(r->ticket_id));
		r->to = db_col_dup(s, 2, &is_nomem);
		r->message_id = db_col_dup(s, 3, &is_nomem);
		db_col_copy(s, 4, r->status, sizeof(r->status));
		r->attempts = (unsigned)sqlite3_column_int(s, 5);
		r->next_attempt_at = (time_t)sqlite3_column_int64(s, 6);
		r->last_error = db_col_dup(s, 7, &is_nomem);
		r->created_at = (time_t)sqlite3_column_int64(s, 8);
		r->sent_at = (time_t)sqlite3_column_int64(s, 9);
		if (is_nomem) {
			status = STORE_NOMEM;
			break;
		}
	}
	if (status == STORE_OK && rc != SQLITE_DONE)
		status = db_fail(st, rc, "outbox list", err, errlen);
	db_done(s);
	return status;
}

/* store_outbox_list - every ack, or the failed ones. */
int
store_outbox_list(struct store *st, bool is_failed_only,
                  struct store_outbox_row **rows_r, size_t *n_r, char *err,
                  size_t errlen)
{
	struct list_ctx c;
	struct db_tz g;
	size_t i;
	int status;

	memset(&c, 0, sizeof(c));
	c.is_failed_only = is_failed_only;
	*rows_r = NULL;
	*n_r = 0;
	status = db_run(st, false, list_txn, &c, err, errlen);
	if (status == STORE_OK && db_tz_enter(st, &g) != 0)
		status = STORE_NOMEM;
	if (status != STORE_OK) {
		store_outbox_list_free(&c.rows, c.n);
		return status;
	}
	for (i = 0; i < c.n; i++)
		db_iso(c.rows[i].next_attempt_at,
		       c.rows[i].next_attempt_at_iso);
	db_tz_leave(&g);
	*rows_r = c.rows;
	*n_r = c.n;
	return STORE_OK;
}

/* SPDX-License-Identifier: MIT */
/*
 * query.c - what ticketctl and the daemon read from the store: ticket
 * lists with filters, one ticket with its messages and attachments, status
 * changes, attachment and raw file paths, quarantine records, statistics
 * and the once-only overdue report.  Times in results are also given as
 * ISO-8601 strings in the configured zone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/blob.h"
#include "store/db.h"

/* grow - make room for one more element of size sz in *v. */
static int
grow(void **v, size_t *cap, size_t n, size_t sz)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap == 0 ? 16 : *cap * 2;
	if (ncap > SIZE_MAX / sz)
		return -1;
	p = realloc(*v, ncap * sz);
	if (p == NULL)
		return -1;
	*v = p;
	*cap = ncap;
	return 0;
}

/* split_list - add the unit-separator-joined values of column i to l. */
static int
split_list(sqlite3_stmt *s, int i, struct strlist *l)
{
	const char *p = (const char *)sqlite3_column_text(s, i);
	size_t n;

	while (p != NULL && *p != '\0') {
		n = strcspn(p, "\x1f");
		if (n > 0 && strlist_add(l, p, n, 0) != 0)
			return -1;
		p += n;
		if (*p == '\x1f')
			p++;
	}
	return 0;
}

/* summary_clear - free a summary's owned fields. */
static void
summary_clear(struct store_ticket_summary *t)
{
	free(t->priority);
	free(t->category);
	free(t->kind);
	free(t->requester);
	free(t->user_id);
	free(t->summary);
	free(t->ack);
	strlist_clear(&t->order_numbers);
	strlist_clear(&t->screening_numbers);
	memset(t, 0, sizeof(*t));
}

/* read_summary - one row of TICKET_COLS into t (zeroed first). */
static int
read_summary(sqlite3_stmt *s, time_t now, struct store_ticket_summary *t)
{
	bool is_nomem = false;

	memset(t, 0, sizeof(*t));
	db_col_copy(s, 0, t->id, sizeof(t->id));
	db_col_copy(s, 1, t->status, sizeof(t->status));
	t->priority = db_col_dup(s, 2, &is_nomem);
	t->category = db_col_dup(s, 3, &is_nomem);
	t->kind = db_col_dup(s, 4, &is_nomem);
	t->is_review = sqlite3_column_int(s, 5) != 0;
	t->requester = db_col_dup(s, 6, &is_nomem);
	t->user_id = db_col_dup(s, 7, &is_nomem);
	t->summary = db_col_dup(s, 8, &is_nomem);
	t->created_at = (time_t)sqlite3_column_int64(s, 9);
	t->due_at = (time_t)sqlite3_column_int64(s, 10);
	t->closed_at = (time_t)sqlite3_column_int64(s, 11);
	t->is_anonymised = sqlite3_column_int(s, 12) != 0;
	t->ack = db_col_dup(s, 13, &is_nomem);
	t->n_messages = (size_t)sqlite3_column_int64(s, 14);
	t->is_overdue = strcmp(t->status, "new") == 0 && t->due_at < now;
	if (is_nomem || split_list(s, 15, &t->order_numbers) != 0 ||
	    split_list(s, 16, &t->screening_numbers) != 0) {
		summary_clear(t);
		return STORE_NOMEM;
	}
	return STORE_OK;
}

/* format_summary - the ISO strings of t (inside a time zone switch). */
static void
format_summary(struct store_ticket_summary *t)
{
	db_iso(t->created_at, t->created_at_iso);
	db_iso(t->due_at, t->due_at_iso);
}

/* store_ticket_list_free - free an array of summaries. */
void
store_ticket_list_free(struct store_ticket_summary **v, size_t n)
{
	size_t i;

	if (v == NULL || *v == NULL)
		return;
	for (i = 0; i < n; i++)
		summary_clear(&(*v)[i]);
	free(*v);
	*v = NULL;
}

struct list_ctx {
	const struct store_filter *f;
	char *requester; /* owned, lower-case */
	time_t now;
	struct store_ticket_summary *v;
	size_t n, cap;
};

/* read_summaries - every row of s into c->v. */
static int
read_summaries(struct store *st, sqlite3_stmt *s, struct list_ctx *c, char *err,
               size_t errlen)
{
	int status = STORE_OK;
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (grow((void **)&c->v, &c->cap, c->n, sizeof(*c->v)) != 0) {
			status = STORE_NOMEM;
			break;
		}
		status = read_summary(s, c->now, &c->v[c->n]);
		if (status != STORE_OK)
			break;
		c->n++;
	}
	if (status == STORE_OK && rc != SQLITE_DONE)
		status = db_fail(st, rc, "ticket list", err, errlen);
	db_done(s);
	return status;
}

/* list_txn - run the filtered list. */
static int
list_txn(struct store *st, void *ctx, char *err, size_t errlen)
{
	struct list_ctx *c = ctx;
	const struct store_filter *f = c->f;
	sqlite3_stmt *s;
	int status = STORE_FAILED;

	store_ticket_list_free(&c->v, c->n);
	c->n = c->cap = 0;
	s = db_stmt(st, Q_TICKET_LIST, &status, err, errlen);
	if (s == NULL)
		return status;
	(void)db_bind_text(s, 1, f->status);
	(void)db_bind_text(s, 2, f->priority);
	(void)db_bind_text(s, 3, f->category);
	(void)sqlite3_bind_int(s, 4, f->is_overdue ? 1 : 0);
	(void)sqlite3_bind_int64(s, 5, c->now);
	(void)sqlite3_bind_int64(s, 6, f->since);
	(void)db_bind_text(s, 7, c->requester);
	(void)db_bind_text(s, 8, f->order_no);
	(void)sqlite3_bind_int64(
	    s, 9,
	    f->limit == 0 || f->limit > INT64_MAX ? -1 : (int64_t)f->limit);
	return read_summaries(st, s, c, err, errlen);
}

/* finish_list - format times and hand the array over. */
static int
finish_list(struct store *st, struct list_ctx *c,
            struct store_ticket_summary **v_r, size_t *n_r)
{
	struct db_tz g;
	size_t i;

	if (db_tz_enter(st, &g) != 0) {
		store_ticket_list_free(&c->v, c->n);
		return STORE_NOMEM;
	}
	for (i = 0; i < c->n; i++)
		format_summary(&c->v[i]);
	db_tz_leave(&g);
	*v_r = c->v;
	*n_r = c->n;
	return STORE_OK;
}

/* store_ticket_list - tickets matching f, newest first. */
int
store_ticket_list(struct store *st, const struct store_filter *f,
                  struct store_ticket_summary **v_r, size_t *n_r, char *err,
                  size_t errlen)
{
	static const struct store_filter none;
	struct list_ctx c;
	bool is_nomem = false;
	int status;

	*v_r = NULL;
	*n_r = 0;
	if (f == NULL)
		f = &none;
	if (f->status != NULL && !db_status_valid(f->status)) {
		db_errf(err, errlen, "unknown status \"%.32s\"", f->status);
		return STORE_INVALID;
	}
	if (f->priority != NULL && db_priority(f->priority) < 0) {
		db_errf(err, errlen, "unknown priority \"%.32s\"", f->priority);
		return STORE_INVALID;
	}
	memset(&c, 0, sizeof(c));
	c.f = f;
	c.now = store_now(st);
	c.requester = db_lower(f->requester, &is_nomem);
	if (is_nomem)
		return STORE_NOMEM;
	status = db_run(st, false, list_txn, &c, err, errlen);
	free(c.requester);
	if (status != STORE_OK) {
		store_ticket_list_free(&c.v, c.n);
		return status;
	}
	return finish_list(st, &c, v_r, n_r);
}

/* store_ticket_free - free a ticket with its messages. */
void
store_ticket_free(struct store_ticket **tp)
{
	struct store_ticket *t;
	size_t i, j;

	if (tp == NULL || *tp == NULL)
		return;
	t = *tp;
	summary_clear(&t->t);
	for (i = 0; i < t->n_messages; i++) {
		struct store_message *m = &t->messages[i];

		free(m->outcome);
		free(m->message_id);
		free(m->from);
		free(m->subject);
		free(m->date);
		free(m->text);
		for (j = 0; j < m->n_attachments; j++) {
			free(m->attachments[j].filename);
			free(m->attachments[j].content_type);
			free(m->attachments[j].skipped);
		}
		free(m->attachments);
	}
	free(t->messages);
	free(t);
	*tp = NULL;
}

/* read_attachments - the attachments of message m; numbers continue
   from *number. */
static int
read_attachments(struct store *st, struct store_message *m, unsigned *number,
                 char *err, size_t errlen)
{
	struct store_attachment *a;
	sqlite3_stmt *s;
	bool is_nomem = false;
	size_t cap = 0;
	int status = STORE_FAILED;
	int rc;

	s = db_stmt(st, Q_MSG_ATTS, &status, err, errlen);
	if (s == NULL)
		return status;
	(void)sqlite3_bind_int64(s, 1, m->row);
	status = STORE_OK;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (grow((void **)&m->attachments, &cap, m->n_attachments,
		         sizeof(*a)) != 0) {
			status = STORE_NOMEM;
			break;
		}
		a = &m->attachments[m->n_attachments++];
		memset(a, 0, sizeof(*a));
		a->number = ++*number;
		a->filename = db_col_dup(s, 1, &is_nomem);
		a->content_type = db_col_dup(s, 2, &is_nomem);
		a->size = (uint64_t)sqlite3_column_int64(s, 3);
		db_col_copy(s, 4, a->sha256, sizeof(a->sha256));
		a->skipped = db_col_dup(s, 5, &is_nomem);
		if (is_nomem) {
			status = STORE_NOMEM;
			break;
		}
	}
	if (status == STORE_OK && rc != SQLITE_DONE)
		status = db_fail(st, rc, "attachments", err, errlen);
	db_done(s);
	return status;
}

/* read_message - one row of Q_TICKET_MSGS into m. */
static int
read_message(sqlite3_stmt *s, struct store_message *m)
{
	bool is_nomem = false;

	memset(m, 0, sizeof(*m));
	m->row = sqlite3_column_int64(s, 0);
	m->outcome = db_col_dup(s, 1, &is_nomem);
	m->message_id = db_col_dup(s, 2, &is_nomem);
	m->from = db_col_dup(s, 3, &is_nomem);
	m->subject = db_col_dup(s, 4, &is_nomem);
	m->date = db_col_dup(s, 5, &is_nomem);
	m->text = db_col_dup(s, 6, &is_nomem);
	m->is_third_party = sqlite3_column_int(s, 7) != 0;
	m->filed_at = (time_t)sqlite3_column_int64(s, 8);
	db_col_copy(s, 9, m->raw_sha256, sizeof(m->raw_sha256));
	m->raw_size = (uint64_t)sqlite3_column_int64(s, 10);
	return is_nomem ? STORE_NOMEM : STORE_OK;
}

struct get_ctx {
	const char *id;
	time_t now;
	struct store_ticket *t;
};

/* get_messages - the messages of the ticket with their attachments. */
static int
get_messages(struct store *st, struct store_ticket *t, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	unsigned number = 0;
	size_t cap = 0, i;
	int status = STORE_FAILED;
	int rc;

	s = db_stmt(st, Q_TICKET_MSGS, &status, err, errlen);
	if (s == NULL)
		return status;
	(void)db_bind_text(s, 1, t->t.id);
	status = STORE_OK;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (grow((void **)&t->messages, &cap, t->n_messages,
		         sizeof(*t->messages)) != 0) {
			status = STORE_NOMEM;
			break;
		}
		status = read_message(s, &t->messages[t->n_messages++]);
		if (status != STORE_OK)
			break;
	}
	if (status == STORE_OK && rc != SQLITE_DONE)
		status = db_fail(st, rc, "messages", err, errlen);
	db_done(s);
	for (i = 0; status == STORE_OK && i < t->n_messages; i++)
		status =
		    read_attachments(st, &t->messages[i], &number, err, errlen);
	return status;
}

/* get_txn - read one ticket. */
static int
get_txn(struct store *st, void *ctx, char *err, size_t errlen)
{
	struct get_ctx *c = ctx;
	sqlite3_stmt *s;
	int status = STORE_FAILED;
	int rc;

	store_ticket_free(&c->t);
	c->t = calloc(1, sizeof(*c->t));
	if (c->t == NULL)
		return STORE_NOMEM;
	s = db_stmt(st, Q_TICKET_GET, &status, err, errlen);
	if (s == NULL)
		return status;
	(void)db_bind_text(s, 1, c->id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		status = read_summary(s, c->now, &c->t->t);
	} else if (rc == SQLITE_DONE) {
		db_errf(err, errlen, "no ticket %.64s", c->id);
		status = STORE_NOT_FOUND;
	} else {
		status = db_fail(st, rc, "ticket", err, errlen);
	}
	db_done(s);
	if (status != STORE_OK)
		return status;
	return get_messages(st, c->t, err, errlen);
}

/* store_ticket_get - one ticket with messages and attachments. */
int
store_ticket_get(struct store *st, const char *id, struct store_ticket **t_r,
                 char *err, size_t errlen)
{
	struct get_ctx c;
	struct db_tz g;
	size_t i;
	int status;

	*t_r = NULL;
	if (id == NULL)
		return STORE_INVALID;
	memset(&c, 0, sizeof(c));
	c.id = id;
	c.now = store_now(st);
	status = db_run(st, false, get_txn, &c, err, errlen);
	if (status == STORE_OK && db_tz_enter(st, &g) != 0)
		status = STORE_NOMEM;
	if (status != STORE_OK) {
		store_ticket_free(&c.t);
		return status;
	}
	format_summary(&c.t->t);
	for (i = 0; i < c.t->n_messages; i++)
		db_iso(c.t->messages[i].filed_at,
		       c.t->messages[i].filed_at_iso);
	db_tz_leave(&g);
	*t_r = c.t;
	return STORE_OK;
}

struct status_ctx {
	const char *id;
	const char *status;
	time_t now;
};

/* status_txn - change one ticket's status. */
static int
status_txn(struct store *st, void *ctx, char *err, size_t errlen)
{
	struct status_ctx *c = ctx;
	sqlite3_stmt *s;
	int status = STORE_FAILED;

	s = db_stmt(st, Q_SET_STATUS, &status, err, errlen);
	if (s == NULL)
		return status;
	(void)db_bind_text(s, 1, c->id);
	(void)db_bind_text(s, 2, c->status);
	(void)sqlite3_bind_int64(s, 3, c->now);
	status = db_step_done(st, s, "set status", err, errlen);
	if (status == STORE_OK && sqlite3_changes(st->db) == 0) {
		db_errf(err, errlen, "no ticket %.64s", c->id);
		status = STORE_NOT_FOUND;
	}
	return status;
}

/* store_ticket_set_status - set a ticket's status. */
int
store_ticket_set_status(struct store *st, const char *id, const char *status,
                        char *err, size_t errlen)
{
	struct status_ctx c;

	if (id == NULL || !db_status_valid(status)) {
		db_errf(err, errlen,
		        "unknown status \"%.32s\" (new open pending resolved "
		        "closed)",
		        status == NULL ? "" : status);
		return STORE_INVALID;
	}
	c.id = id;
	c.status = status;
	c.now = store_now(st);
	return db_run(st, true, status_txn, &c, err, errlen);
}

/* store_blob_ref_clear - free the owned fields. */
void
store_blob_ref_clear(struct store_blob_ref *b)
{
	if (b == NULL)
		return;
	free(b->path);
	free(b->filename);
	free(b->content_type);
	memset(b, 0, sizeof(*b));
}

struct att_ctx {
	const char *id;
	unsigned n;
	struct store_blob_ref *b;
	char sha[BLOB_HEX_MAX];
};

/* att_txn - look attachment n of the ticket up. */
static int
att_txn(struct store *st, void *ctx, char *err, size_t errlen)
{
	struct att_ctx *c = ctx;
	sqlite3_stmt *s;
	bool is_nomem = false;
	char skipped[64];
	int status = STORE_FAILED;
	int rc;

	store_blob_ref_clear(c->b);
	s = db_stmt(st, Q_ATT_NTH, &status, err, errlen);
	if (s == NULL)
		return status;
	(void)db_bind_text(s, 1, c->id);
	(void)sqlite3_bind_int64(s, 2, (int64_t)c->n - 1);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		if (rc == SQLITE_DONE) {
			db_errf(err, errlen, "%.64s has no attachment %u",
			        c->id, c->n);
			status = STORE_NOT_FOUND;
		} else {
			status = db_fail(st, rc, "attachment", err, errlen);
		}
		db_done(s);
		return status;
	}
	c->b->filename = db_col_dup(s, 0, &is_nomem);
	c->b->content_type = db_col_dup(s, 1, &is_nomem);
	c->b->size = (uint64_t)sqlite3_column_int64(s, 2);
	db_col_copy(s, 3, c->sha, sizeof(c->sha));
	db_col_copy(s, 4, skipped, sizeof(skipped));
	db_done(s);
	if (is_nomem)
		return STORE_NOMEM;
	if (!blob_hex_valid(c->sha)) {
		db_errf(err, errlen, "attachment %u of %.64s was not kept: %s",
		        c->n, c->id, skipped[0] != '\0' ? skipped : "removed");
		return STORE_NOT_FOUND;
	}
	return STORE_OK;
}

/* store_attachment_path - where attachment n of ticket id lives. */
int
store_attachment_path(struct store *st, const char *id, unsigned n,
                      struct store_blob_ref *b, char *err, size_t errlen)
{
	struct att_ctx c;
	int status;

	memset(b, 0, sizeof(*b));
	if (id == NULL || n == 0) {
		db_errf(err, errlen, "attachments are numbered from 1");
		return STORE_NOT_FOUND;
	}
	memset(&c, 0, sizeof(c));
	c.id = id;
	c.n = n;
	c.b = b;
	status = db_run(st, false, att_txn, &c, err, errlen);
	if (status == STORE_OK) {
		b->path = blob_path(st->att_dir, c.sha);
		if (b->path == NULL)
			status = STORE_NOMEM;
	}
	if (status != STORE_OK)
		store_blob_ref_clear(b);
	return status;
}

struct raw_ctx {
	enum db_q q;
	int64_t row;
	char sha[BLOB_HEX_MAX];
};

/* raw_txn - the raw file hash of a message row. */
static int
raw_txn(struct store *st, void *ctx, char *err, size_t errlen)
{
	struct raw_ctx *c = ctx;
	sqlite3_stmt *s;
	int status = STORE_FAILED;
	int rc;

	c->sha[0] = '\0';
	s = db_stmt(st, c->q, &status, err, errlen);
	if (s == NULL)
		return status;
	(void)sqlite3_bind_int64(s, 1, c->row);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		db_col_copy(s, 0, c->sha, sizeof(c->sha));
	status = rc == SQLITE_ROW || rc == SQLITE_DONE
	             ? STORE_OK
	             : db_fail(st, rc, "raw message", err, errlen);
	db_done(s);
	if (status == STORE_OK && !blob_hex_valid(c->sha)) {
		db_errf(err, errlen, "no raw message for %lld",
		        (long long)c->row);
		status = STORE_NOT_FOUND;
	}
	return status;
}

/* raw_path - run raw_txn with q and build the path. */
static int
raw_path(struct store *st, enum db_q q, int64_t row, char **path_r, char *err,
         size_t errlen)
{
	struct raw_ctx c;
	int status;

	*path_r = NULL;
	memset(&c, 0, sizeof(c));
	c.q = q;
	c.row = row;
	status = db_run(st, false, raw_txn, &c, err, errlen);
	if (status != STORE_OK)
		return status;
	*path_r = blob_path(st->raw_dir, c.sha);
	return *path_r == NULL ? STORE_NOMEM : STORE_OK;
}

/* store_message_raw_path - the raw file of a messages row. */
int
store_message_raw_path(struct store *st, int64_t row, char **path_r, char *err,
                       size_t errlen)
{
	return raw_path(st, Q_MSG_RAW, row, path_r, err, errlen);
}

/* store_quarantine_get_raw - the raw file of a quarantine record. */
int
store_quarantine_get_raw(struct store *st, int64_t row, char **path_r,
                         char *err, size_t errlen)
{
	return raw_path(st, Q_QUAR_RAW, row, path_r, err, errlen);
}

struct quar_ctx {
	bool is_all;
	int64_t row;
	time_t now;
	struct store_quarantine_row *rows;
	size_t n, cap;
};

/* store_quarantine_list_free - free the rows. */
void
store_quarantine_list_free(struct store_quarantine_row **rows, size_t n)
{
	size_t i;

	if (rows == NULL || *rows == NULL)
		return;
	for (i = 0; i < n; i++) {
		free((*rows)[i].reason);
		free((*rows)[i].message_id);
		free((*rows)[i].from);
		free((*rows)[i].subject);
		free((*rows)[i].mailbox);
	}
	free(*rows);
	*rows = NULL;
}

/* quar_list_txn - read the quarantine records. */
static int
quar_list_txn(struct store *st, void *ctx, char *err, size_t errlen)
{
	struct quar_ctx *c = ctx;
	struct store_quarantine_row *r;
	sqlite3_stmt *s;
	bool is_nomem = false;
	int status = STORE_FAILED;
	int rc;

	store_quarantine_list_free(&c->rows, c->n);
	c->n = c->cap = 0;
	s = db_stmt(st, Q_QUAR_LIST, &status, err, errlen);
	if (s == NULL)
		return status;
	(void)sqlite3_bind_int(s, 1, c->is_all ? 1 : 0);
	status = STORE_OK;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (grow((void **)&c->rows, &c->cap, c->n, sizeof(*r)) != 0) {
			status = STORE_NOMEM;
			break;
		}
		r = &c->rows[c->n++];
		memset(r, 0, sizeof(*r));
		r->row = sqlite3_column_int64(s, 0);
		r->reason = db_col_dup(s, 1, &is_nomem);
		r->message_id = db_col_dup(s, 2, &is_nomem);
		r->from = db_col_dup(s, 3, &is_nomem);
		r->subject = db_col_dup(s, 4, &is_nomem);
		r->mailbox = db_col_dup(s, 5, &is_nomem);
		r->uid = (uint32_t)sqlite3_column_int64(s, 6);
		r->filed_at = (time_t)sqlite3_column_int64(s, 7);
		r->is_reprocessed = sqlite3_column_int(s, 8) != 0;
		if (is_nomem) {
			status = STORE_NOMEM;
			break;
		}
	}
	if (status == STORE_OK && rc != SQLITE_DONE)
		status = db_fail(st, rc, "quarantine", err, errlen);
	db_done(s);
	return status;
}

/* store_quarantine_list - the quarantine records. */
int
store_quarantine_list(struct store *st, bool is_all,
                      struct store_quarantine_row **rows_r, size_t *n_r,
                      char *err, size_t errlen)
{
	struct quar_ctx c;
	struct db_tz g;
	size_t i;
	int status;

	*rows_r = NULL;
	*n_r = 0;
	memset(&c, 0, sizeof(c));
	c.is_all = is_all;
	status = db_run(st, false, quar_list_txn, &c, err, errlen);
	if (status == STORE_OK && db_tz_enter(st, &g) != 0)
		status = STORE_NOMEM;
	if (status != STORE_OK) {
		store_quarantine_list_free(&c.rows, c.n);
		return status;
	}
	for (i = 0; i < c.n; i++)
		db_iso(c.rows[i].filed_at, c.rows[i].filed_at_iso);
	db_tz_leave(&g);
	*rows_r = c.rows;
	*n_r = c.n;
	return STORE_OK;
}

/* quar_mark_txn - mark one record reprocessed. */
static int
quar_mark_txn(struct store *st, void *ctx, char *err, size_t errlen)
{
	struct quar_ctx *c = ctx;
	sqlite3_stmt *s;
	int status = STORE_FAILED;

	s = db_stmt(st, Q_QUAR_MARK, &status, err, errlen);
	if (s == NULL)
		return status;
	(void)sqlite3_bind_int64(s, 1, c->row);
	(void)sqlite3_bind_int64(s, 2, c->now);
	status = db_step_done(st, s, "quarantine", err, errlen);
	if (status == STORE_OK && sqlite3_changes(st->db) == 0) {
		db_errf(err, errlen, "no quarantine record %lld",
		        (long long)c->row);
		status = STORE_NOT_FOUND;
	}
	return status;
}

/* store_quarantine_mark - mark a record reprocessed by hand. */
int
store_quarantine_mark(struct store *st, int64_t row, char *err, size_t errlen)
{
	struct quar_ctx c;

	memset(&c, 0, sizeof(c));
	c.row = row;
	c.now = store_now(st);
	return db_run(st, true, quar_mark_txn, &c, err, errlen);
}

/* store_stats_clear - free the category counts. */
void
store_stats_clear(struct store_stats *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n_categories; i++)
		free(s->by_category[i].name);
	free(s->by_category);
	memset(s, 0, sizeof(*s));
}

struct stats_ctx {
	time_t now;
	struct store_stats *s;
	size_t cap;
};

/* name_index - index of name in names[n], or -1. */
static int
name_index(const char *const *names, size_t n, const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < n; i++) {
		if (strcmp(names[i], name) == 0)
			return (int)i;
	}
	return -1;
}

/* grouped - run a (name, count) query; fixed names go to fixed[], the
   rest (categories) to the dynamic list when fixed is NULL. */
static int
grouped(struct store *st, enum db_q q, struct stats_ctx *c,
        const char *const *names, size_t n_names, uint64_t *fixed, char *err,
        size_t errlen)
{
	struct store_stats *out = c->s;
	sqlite3_stmt *s;
	bool is_nomem = false;
	const char *name;
	int status = STORE_FAILED;
	int rc, i;

	s = db_stmt(st, q, &status, err, errlen);
	if (s == NULL)
		return status;
	status = STORE_OK;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		name = (const char *)sqlite3_column_text(s, 0);
		if (fixed != NULL) {
			i = name_index(names, n_names, name);
			if (i >= 0)
				fixed[i] = (uint64_t)sqlite3_column_int64(s, 1);
			continue;
		}
		if (grow((void **)&out->by_category, &c->cap, out->n_categories,
		         sizeof(*out->by_category)) != 0) {
			status = STORE_NOMEM;
			break;
		}
		out->by_category[out->n_categories].name =
		    db_col_dup(s, 0, &is_nomem);
		out->by_category[out->n_categories].count =
		    (uint64_t)sqlite3_column_int64(s, 1);
		out->n_categories++;
		if (is_nomem) {
			status = STORE_NOMEM;
			break;
		}
	}
	if (status == STORE_OK && rc != SQLITE_DONE)
		status = db_fail(st, rc, "stats", err, errlen);
	db_done(s);
	return status;
}

/* stats_txn - all the counts in one read transaction. */
static int
stats_txn(struct store *st, void *ctx, char *err, size_t errlen)
{
	static const char *const ack_names[3] = {"queued", "sent", "failed"};
	struct stats_ctx *c = ctx;
	struct store_stats *out = c->s;
	uint64_t acks[3] = {0, 0, 0};
	sqlite3_stmt *s;
	int status = STORE_FAILED;
	int rc;

	store_stats_clear(out);
	c->cap = 0;
	status = grouped(st, Q_STATS_STATUS, c, store_ticket_status_names, 5,
	                 out->by_status, err, errlen);
	if (status == STORE_OK)
		status = grouped(st, Q_STATS_PRIORITY, c, store_priority_names,
		                 3, out->by_priority, err, errlen);
	if (status == STORE_OK)
		status = grouped(st, Q_STATS_CATEGORY, c, NULL, 0, NULL, err,
		                 errlen);
	if (status == STORE_OK)
		status = grouped(st, Q_STATS_ACKS, c, ack_names, 3, acks, err,
		                 errlen);
	if (status != STORE_OK)
		return status;
	out->outbox_queued = acks[0];
	out->outbox_sent = acks[1];
	out->outbox_failed = acks[2];
	s = db_stmt(st, Q_STATS_MISC, &status, err, errlen);
	if (s == NULL)
		return status;
	(void)sqlite3_bind_int64(s, 1, c->now);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		out->tickets = (uint64_t)sqlite3_column_int64(s, 0);
		out->messages = (uint64_t)sqlite3_column_int64(s, 1);
		out->quarantined = (uint64_t)sqlite3_column_int64(s, 2);
		out->suppressed = (uint64_t)sqlite3_column_int64(s, 3);
		out->overdue = (uint64_t)sqlite3_column_int64(s, 4);
		status = STORE_OK;
	} else {
		status = db_fail(st, rc, "stats", err, errlen);
	}
	db_done(s);
	return status;
}

/* store_stats - counts for ticketctl stats and STATUS=. */
int
store_stats(struct store *st, struct store_stats *s, char *err, size_t errlen)
{
	struct stats_ctx c;
	int status;

	memset(s, 0, sizeof(*s));
	c.now = store_now(st);
	c.s = s;
	c.cap = 0;
	status = db_run(st, false, stats_txn, &c, err, errlen);
	if (status != STORE_OK)
		store_stats_clear(s);
	return status;
}

/* overdue_txn - list the newly overdue tickets and mark them. */
static int
overdue_txn(struct store *st, void *ctx, char *err, size_t errlen)
{
	struct list_ctx *c = ctx;
	sqlite3_stmt *s;
	int status = STORE_FAILED;

	store_ticket_list_free(&c->v, c->n);
	c->n = c->cap = 0;
	s = db_stmt(st, Q_OVERDUE_LIST, &status, err, errlen);
	if (s == NULL)
		return status;
	(void)sqlite3_bind_int64(s, 1, c->now);
	status = read_summaries(st, s, c, err, errlen);
	if (status != STORE_OK || c->n == 0)
		return status;
	s = db_stmt(st, Q_OVERDUE_MARK, &status, err, errlen);
	if (s == NULL)
		return status;
	(void)sqlite3_bind_int64(s, 1, c->now);
	return db_step_done(st, s, "overdue mark", err, errlen);
}

/* store_overdue_unlogged - tickets newly overdue, each reported once. */
int
store_overdue_unlogged(struct store *st, time_t now,
                       struct store_ticket_summary **v_r, size_t *n_r,
                       char *err, size_t errlen)
{
	struct list_ctx c;
	int status;

	*v_r = NULL;
	*n_r = 0;
	memset(&c, 0, sizeof(c));
	c.now = now != 0 ? now : store_now(st);
	status = db_run(st, true, overdue_txn, &c, err, errlen);
	if (status != STORE_OK) {
		store_ticket_list_free(&c.v, c.n);
		return status;
	}
	return finish_list(st, &c, v_r, n_r);
}

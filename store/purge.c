/* SPDX-License-Identifier: MIT */
/*
 * purge.c - retention (SPEC.md §9): tickets closed past the retention
 * period are deleted or anonymised, old quarantine/bounce records dropped,
 * and every content-addressed file no row references any more is removed,
 * all under the write lock so that a concurrent filer re-creates a file it
 * needs (it checks its files under the same lock).
 */
#include <stdlib.h>
#include <string.h>

#include "store/blob.h"
#include "store/db.h"

/* Returned by purge_txn for a dry run: roll back, report success. */
#define PURGE_ROLLBACK (-1)

struct purge_ctx {
	time_t now;
	time_t cutoff;
	bool dry_run;
	bool anonymise;
	struct store_purge_report rep;
};

struct ref_ctx {
	struct store *st;
	enum db_q q;
};

/* is_referenced - blob_ref_fn: does any row name this hash? */
static int
is_referenced(void *ctx, const char *hex)
{
	struct ref_ctx *c = ctx;
	sqlite3_stmt *s;
	char ignored[8];
	int status = STORE_FAILED;
	int rc;

	s = db_stmt(c->st, c->q, &status, ignored, sizeof(ignored));
	if (s == NULL)
		return -1;
	(void)db_bind_text(s, 1, hex);
	rc = sqlite3_step(s);
	db_done(s);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : -1;
}

/* run_id - step statement q bound to a ticket id (and now). */
static int
run_id(struct store *st, enum db_q q, const char *id, time_t now, char *err,
       size_t errlen)
{
	sqlite3_stmt *s;
	int status = STORE_FAILED;

	s = db_stmt(st, q, &status, err, errlen);
	if (s == NULL)
		return status;
	(void)db_bind_text(s, 1, id);
	if (sqlite3_bind_parameter_count(s) >= 2)
		(void)sqlite3_bind_int64(s, 2, now);
	return db_step_done(st, s, "purge", err, errlen);
}

/* purge_ticket - delete or anonymise one ticket. */
static int
purge_ticket(struct store *st, struct purge_ctx *c, const char *id, char *err,
             size_t errlen)
{
	static const enum db_q anon[] = {Q_ANON_TICKET, Q_ANON_MSGS,
	                                 Q_ANON_ATTS, Q_ANON_ACKS};
	sqlite3_stmt *s;
	size_t i;
	int status = STORE_FAILED;
	int rc;

	s = db_stmt(st, Q_PURGE_COUNT_MSGS, &status, err, errlen);
	if (s == NULL)
		return status;
	(void)db_bind_text(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		c->rep.messages += (uint64_t)sqlite3_column_int64(s, 0);
	db_done(s);
	if (rc != SQLITE_ROW)
		return db_fail(st, rc, "purge count", err, errlen);
	c->rep.tickets++;
	if (!c->anonymise)
		return run_id(st, Q_PURGE_DELETE, id, c->now, err, errlen);
	for (i = 0; i < sizeof(anon) / sizeof(anon[0]); i++) {
		status = run_id(st, anon[i], id, c->now, err, errlen);
		if (status != STORE_OK)
			return status;
	}
	return STORE_OK;
}

/* old_tickets - ids of the tickets to purge. */
static int
old_tickets(struct store *st, struct purge_ctx *c, struct strlist *ids,
            char *err, size_t errlen)
{
	const unsigned char *t;
	sqlite3_stmt *s;
	int status = STORE_FAILED;
	int rc;

	s = db_stmt(st, Q_PURGE_TICKETS, &status, err, errlen);
	if (s == NULL)
		return status;
	(void)sqlite3_bind_int64(s, 1, c->cutoff);
	(void)sqlite3_bind_int(s, 2, c->anonymise ? 1 : 0);
	status = STORE_OK;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		t = sqlite3_column_text(s, 0);
		if (t != NULL && strlist_add(ids, (const char *)t,
		                             strlen((const char *)t), 0) != 0) {
			status = STORE_NOMEM;
			break;
		}
	}
	if (status == STORE_OK && rc != SQLITE_DONE)
		status = db_fail(st, rc, "purge list", err, errlen);
	db_done(s);
	return status;
}

/* run_cutoff - step statement q bound to one time; *changes_r. */
static int
run_cutoff(struct store *st, enum db_q q, time_t t, uint64_t *changes_r,
           char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int status = STORE_FAILED;

	s = db_stmt(st, q, &status, err, errlen);
	if (s == NULL)
		return status;
	(void)sqlite3_bind_int64(s, 1, t);
	status = db_step_done(st, s, "purge", err, errlen);
	if (status == STORE_OK && changes_r != NULL)
		*changes_r += (uint64_t)sqlite3_changes(st->db);
	return status;
}

/* purge_txn - the whole purge in one write transaction. */
static int
purge_txn(struct store *st, void *ctx, char *err, size_t errlen)
{
	struct purge_ctx *c = ctx;
	struct strlist ids = STRLIST_INIT;
	struct ref_ctx rc_raw = {st, Q_RAW_REFERENCED};
	struct ref_ctx rc_att = {st, Q_ATT_REFERENCED};
	size_t i;
	int status;

	memset(&c->rep, 0, sizeof(c->rep));
	status = old_tickets(st, c, &ids, err, errlen);
	for (i = 0; status == STORE_OK && i < ids.n; i++)
		status = purge_ticket(st, c, ids.v[i], err, errlen);
	strlist_clear(&ids);
	if (status == STORE_OK)
		status = run_cutoff(st, Q_PURGE_RECORDS, c->cutoff,
		                    &c->rep.messages, err, errlen);
	if (status == STORE_OK)
		status = run_cutoff(st, Q_PURGE_BOUNCES,
		                    c->now - STORE_BOUNCE_BLOCK_SECS, NULL, err,
		                    errlen);
	if (status == STORE_OK)
		status = blob_sweep(st->raw_dir, is_referenced, &rc_raw,
		                    c->dry_run, c->now, &c->rep.files,
		                    &c->rep.bytes, err, errlen);
	if (status == STORE_OK)
		status = blob_sweep(st->att_dir, is_referenced, &rc_att,
		                    c->dry_run, c->now, &c->rep.files,
		                    &c->rep.bytes, err, errlen);
	if (status == STORE_OK && c->dry_run)
		return PURGE_ROLLBACK;
	return status;
}

/* store_purge - apply the retention period. */
int
store_purge(struct store *st, unsigned days, bool dry_run, bool anonymise,
            struct store_purge_report *rep, char *err, size_t errlen)
{
	struct purge_ctx c;
	int status;

	memset(rep, 0, sizeof(*rep));
	memset(&c, 0, sizeof(c));
	c.now = store_now(st);
	c.cutoff = c.now - (time_t)days * 86400;
	c.dry_run = dry_run;
	c.anonymise = anonymise;
	status = db_run(st, true, purge_txn, &c, err, errlen);
	if (status == PURGE_ROLLBACK)
		status = STORE_OK;
	if (status == STORE_OK)
		*rep = c.rep;
	return status;
}

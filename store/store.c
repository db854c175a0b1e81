/* SPDX-License-Identifier: MIT */
/*
 * store.c - opening the store and filing messages: duplicate detection,
 * quarantine and bounce records, follow-up matching, ticket ids allocated
 * inside the filing transaction, ack decisions (static reason, rate limit,
 * bounce block), batches and the mailbox position.  Raw messages and
 * attachments are written as content-addressed files before the commit
 * that references them, and checked again under the write lock.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#include "store/blob.h"
#include "store/db.h"

const char *const store_ticket_status_names[5] = {
    "new", "open", "pending", "resolved", "closed",
};
const char *const store_priority_names[3] = {
    "urgent",
    "complaint",
    "normal",
};

/* store_status_name - static name of a status. */
const char *
store_status_name(int status)
{
	switch (status) {
	case STORE_OK:
		return "ok";
	case STORE_BUSY:
		return "busy";
	case STORE_DUPLICATE:
		return "duplicate";
	case STORE_NOT_FOUND:
		return "not_found";
	case STORE_INVALID:
		return "invalid";
	case STORE_FAILED:
		return "failed";
	case STORE_NOMEM:
		return "nomem";
	default:
		return "unknown";
	}
}

/* store_now - the store's clock. */
time_t
store_now(const struct store *st)
{
	if (st->now_fn != NULL)
		return st->now_fn(st->now_arg);
	return time(NULL);
}

/* store_format_time - ISO-8601 with offset in the configured zone. */
char *
store_format_time(const struct store *st, time_t t, char *buf)
{
	struct db_tz g;

	buf[0] = '\0';
	if (db_tz_enter(st, &g) != 0)
		return buf;
	db_iso(t, buf);
	db_tz_leave(&g);
	return buf;
}

/* tz_valid - a zone name the C library will understand. */
static bool
tz_valid(const char *tz)
{
	const char *name = tz;
	const char *dir;
	char path[PATH_MAX];
	struct stat sb;
	size_t i, n;
	int len;

	n = strlen(tz);
	if (n == 0 || n > 64 || strstr(tz, "..") != NULL)
		return false;
	for (i = 0; i < n; i++) {
		if ((unsigned char)tz[i] <= 0x20 ||
		    (unsigned char)tz[i] >= 0x7f)
			return false;
	}
	if (name[0] == ':')
		name++;
	if (name[0] == '/')
		return stat(name, &sb) == 0 && S_ISREG(sb.st_mode);
	dir = getenv("TZDIR");
	if (dir == NULL || dir[0] == '\0')
		dir = "/usr/share/zoneinfo";
	len = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (len > 0 && (size_t)len < sizeof(path) && stat(path, &sb) == 0 &&
	    S_ISREG(sb.st_mode))
		return true;
	/* A POSIX TZ string: "CST-8", "<+08>-8", "EST5EDT,M3.2.0,M11.1.0". */
	i = 0;
	if (name[0] == '<') {
		while (name[i] != '\0' && name[i] != '>')
			i++;
		if (name[i] != '>' || i < 4)
			return false;
		i++;
	} else {
		while (isalpha((unsigned char)name[i]))
			i++;
		if (i < 3)
			return false;
	}
	if (name[i] == '+' || name[i] == '-')
		i++;
	return isdigit((unsigned char)name[i]) != 0;
}

/* prefix_valid - 1-16 ASCII letters and digits. */
static bool
prefix_valid(const char *p)
{
	size_t i;

	for (i = 0; p[i] != '\0'; i++) {
		if (!isalnum((unsigned char)p[i]) || i >= STORE_PREFIX_MAX)
			return false;
	}
	return i > 0;
}

/* domain_valid - a host name for Message-IDs. */
static bool
domain_valid(const char *d)
{
	size_t i;

	for (i = 0; d[i] != '\0'; i++) {
		if (!isalnum((unsigned char)d[i]) && d[i] != '.' && d[i] != '-')
			return false;
		if (i >= 253)
			return false;
	}
	return i > 0;
}

/* join_path - malloc'd "a/b". */
static char *
join_path(const char *a, const char *b)
{
	size_t n = strlen(a) + 1 + strlen(b) + 1;
	char *p;

	p = malloc(n);
	if (p != NULL)
		(void)snprintf(p, n, "%s/%s", a, b);
	return p;
}

/* make_dir - mkdir 0700 unless it exists. */
static int
make_dir(const char *path, char *err, size_t errlen)
{
	struct stat sb;

	if (mkdir(path, 0700) == 0)
		return STORE_OK;
	if (errno == EEXIST && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
		return STORE_OK;
	db_errf(err, errlen, "mkdir %s: %s", path,
	        errno == EEXIST ? "not a directory" : strerror(errno));
	return STORE_FAILED;
}

/* copy_settings - validate s and copy it into st. */
static int
copy_settings(struct store *st, const struct store_settings *s, char *err,
              size_t errlen)
{
	const char *prefix = s->ticket_prefix;
	char host[256];

	if (prefix == NULL || prefix[0] == '\0')
		prefix = STORE_DEFAULT_PREFIX;
	if (!prefix_valid(prefix)) {
		db_errf(err, errlen,
		        "ticket prefix must be 1-%d letters or digits",
		        STORE_PREFIX_MAX);
		return STORE_INVALID;
	}
	if (s->timezone != NULL && s->timezone[0] != '\0' &&
	    !tz_valid(s->timezone)) {
		db_errf(err, errlen, "unknown time zone \"%.64s\"",
		        s->timezone);
		return STORE_INVALID;
	}
	if (s->ack_domain != NULL && !domain_valid(s->ack_domain)) {
		db_errf(err, errlen, "bad ack domain \"%.64s\"", s->ack_domain);
		return STORE_INVALID;
	}
	if (s->ack_domain != NULL) {
		st->ack_domain = strdup(s->ack_domain);
	} else {
		if (gethostname(host, sizeof(host)) != 0 || !domain_valid(host))
			(void)snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		st->ack_domain = strdup(host);
	}
	st->prefix = strdup(prefix);
	if (s->timezone != NULL && s->timezone[0] != '\0')
		st->tz = strdup(s->timezone);
	if (st->prefix == NULL || st->ack_domain == NULL ||
	    (s->timezone != NULL && s->timezone[0] != '\0' && st->tz == NULL))
		return STORE_NOMEM;
	st->merge_days = s->no_order_merge          ? 0
	                 : s->order_merge_days != 0 ? s->order_merge_days
	                                            : STORE_DEFAULT_MERGE_DAYS;
	st->due_min[DB_URGENT] = s->due_urgent_min != 0
	                             ? s->due_urgent_min
	                             : STORE_DEFAULT_DUE_URGENT;
	st->due_min[DB_COMPLAINT] = s->due_complaint_min != 0
	                                ? s->due_complaint_min
	                                : STORE_DEFAULT_DUE_COMPLAINT;
	st->due_min[DB_NORMAL] = s->due_normal_min != 0
	                             ? s->due_normal_min
	                             : STORE_DEFAULT_DUE_NORMAL;
	st->max_acks = s->max_acks_per_sender != 0 ? s->max_acks_per_sender
	                                           : STORE_DEFAULT_MAX_ACKS;
	st->no_acks = s->no_acks;
	st->busy_ms = s->busy_timeout_ms != 0 ? s->busy_timeout_ms
	                                      : STORE_DEFAULT_BUSY_MS;
	if (st->busy_ms > INT_MAX)
		st->busy_ms = INT_MAX;
	st->busy_retries =
	    s->busy_retries != 0 ? s->busy_retries : STORE_DEFAULT_BUSY_RETRIES;
	st->now_fn = s->now_fn;
	st->now_arg = s->now_arg;
	return STORE_OK;
}

/* store_open - open or create the store under s->state_dir. */
int
store_open(const struct store_settings *s, struct store **st_r, char *err,
           size_t errlen)
{
	struct store *st;
	char *dbpath = NULL;
	char *real;
	int status = STORE_FAILED;

	*st_r = NULL;
	if (s == NULL || s->state_dir == NULL || s->state_dir[0] == '\0') {
		db_errf(err, errlen, "no state directory");
		return STORE_INVALID;
	}
	if (strlen(s->state_dir) > PATH_MAX - 128) {
		db_errf(err, errlen, "state directory path too long");
		return STORE_INVALID;
	}
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return STORE_NOMEM;
	status = copy_settings(st, s, err, errlen);
	if (status != STORE_OK)
		goto fail;
	status = make_dir(s->state_dir, err, errlen);
	if (status != STORE_OK)
		goto fail;
	real = realpath(s->state_dir, NULL);
	if (real == NULL) {
		db_errf(err, errlen, "realpath %s: %s", s->state_dir,
		        strerror(errno));
		status = STORE_FAILED;
		goto fail;
	}
	st->state_dir = real;
	st->raw_dir = join_path(real, "raw");
	st->att_dir = join_path(real, "attachments");
	dbpath = join_path(real, "ticketd.db");
	status = STORE_NOMEM;
	if (st->raw_dir == NULL || st->att_dir == NULL || dbpath == NULL)
		goto fail;
	status = make_dir(st->raw_dir, err, errlen);
	if (status == STORE_OK)
		status = make_dir(st->att_dir, err, errlen);
	if (status == STORE_OK)
		status = blob_prepare(st->raw_dir, err, errlen);
	if (status == STORE_OK)
		status = blob_prepare(st->att_dir, err, errlen);
	if (status != STORE_OK)
		goto fail;
	status = db_open(st, dbpath, err, errlen);
	if (status != STORE_OK)
		goto fail;
	free(dbpath);
	*st_r = st;
	return STORE_OK;
fail:
	free(dbpath);
	store_close(&st);
	return status;
}

/* store_close - release everything; accepts NULL. */
void
store_close(struct store **stp)
{
	struct store *st;

	if (stp == NULL || *stp == NULL)
		return;
	st = *stp;
	db_close(st);
	blob_batch_discard(&st->staged);
	free(st->state_dir);
	free(st->raw_dir);
	free(st->att_dir);
	free(st->prefix);
	free(st->tz);
	free(st->ack_domain);
	free(st);
	*stp = NULL;
}

/* ---- Filing ---- */

/* Everything store_file computes before its transaction. */
struct file_ctx {
	const struct store_msg *m;
	struct store_result *r;
	time_t now;
	char day[16];         /* YYYYMMDD in the configured zone */
	struct store_prep *p; /* hashes; files written or staged */
	char *requester;      /* owned, lower-case */
	char *from;           /* owned, lower-case */
	char *refs;           /* owned, space-separated References */
	const char *summary;
	int prio;
};

/* str_empty - NULL or "". */
static bool
str_empty(const char *s)
{
	return s == NULL || s[0] == '\0';
}

/* hash_field - feed one field and a separator into the content hash. */
static int
hash_field(gnutls_hash_hd_t h, const char *s)
{
	if (s != NULL && gnutls_hash(h, s, strlen(s)) < 0)
		return -1;
	return gnutls_hash(h, "\0", 1) < 0 ? -1 : 0;
}

/* content_hash - SHA-256 over the parsed content of m: a re-delivery with
   other transport headers has the same one. */
static int
content_hash(const struct store_msg *m, struct store_prep *p)
{
	unsigned char md[32];
	gnutls_hash_hd_t h;
	size_t i;
	int rc = 0;

	if (gnutls_hash_init(&h, GNUTLS_DIG_SHA256) < 0)
		return -1;
	rc |= hash_field(h, m->from);
	rc |= hash_field(h, m->subject);
	rc |= hash_field(h, m->date);
	rc |= hash_field(h, m->text);
	for (i = 0; i < m->n_attachments; i++) {
		rc |= hash_field(h, m->attachments[i].filename);
		rc |= hash_field(h, p->att_hex[i]);
	}
	gnutls_hash_deinit(h, md);
	if (rc != 0)
		return -1;
	blob_hex(md, p->content_hex);
	return 0;
}

/* join_refs - References as one space-separated string (or NULL). */
static int
join_refs(struct file_ctx *c)
{
	const struct store_msg *m = c->m;
	size_t i, n = 1;
	char *p;

	if (m->n_references == 0)
		return 0;
	for (i = 0; i < m->n_references; i++) {
		if (m->references[i] != NULL)
			n += strlen(m->references[i]) + 1;
	}
	c->refs = malloc(n);
	if (c->refs == NULL)
		return -1;
	p = c->refs;
	for (i = 0; i < m->n_references; i++) {
		size_t len;

		if (str_empty(m->references[i]))
			continue;
		len = strlen(m->references[i]);
		if (p != c->refs)
			*p++ = ' ';
		memcpy(p, m->references[i], len);
		p += len;
	}
	*p = '\0';
	return 0;
}

/* put_blob - stage the blob (synced at store_commit) or write it durably
   now; staged in a batch, and always by store_prepare. */
static int
put_blob(struct store *st, bool is_staged, const char *base, const char *hex,
         const void *p, size_t len, char *err, size_t errlen)
{
	if (is_staged)
		return blob_stage(&st->staged, base, hex, p, len, err, errlen);
	return blob_put(base, hex, p, len, err, errlen);
}

/* prep_fill - hash the raw message and attachments, check the caller's
   hashes, write (or stage) the files, and hash the parsed content. */
static int
prep_fill(struct store *st, const struct store_msg *m, bool is_staged,
          struct store_prep *p, char *err, size_t errlen)
{
	size_t i;
	int status = STORE_FAILED;

	store_prep_clear(p);
	if (m == NULL || m->raw == NULL) {
		db_errf(err, errlen, "no raw message");
		return STORE_INVALID;
	}
	if (blob_sha256(m->raw, m->raw_len, p->raw_hex) != 0) {
		db_errf(err, errlen, "sha256 failed");
		return STORE_FAILED;
	}
	if (m->n_attachments > 0) {
		p->att_hex = calloc(m->n_attachments, sizeof(*p->att_hex));
		if (p->att_hex == NULL)
			return STORE_NOMEM;
	}
	for (i = 0; i < m->n_attachments; i++) {
		const struct store_attachment_in *a = &m->attachments[i];

		if (a->skipped != NULL)
			continue;
		if (a->data == NULL && a->size > 0) {
			db_errf(err, errlen, "attachment %zu: no data", i + 1);
			return STORE_INVALID;
		}
		if (blob_sha256(a->data != NULL ? a->data : "", a->size,
		                p->att_hex[i]) != 0) {
			db_errf(err, errlen, "sha256 failed");
			return STORE_FAILED;
		}
		if (!str_empty(a->sha256) &&
		    strcmp(a->sha256, p->att_hex[i]) != 0) {
			db_errf(
			    err, errlen,
			    "attachment %zu: sha256 does not match its data",
			    i + 1);
			return STORE_INVALID;
		}
	}
	status = put_blob(st, is_staged, st->raw_dir, p->raw_hex, m->raw,
	                  m->raw_len, err, errlen);
	for (i = 0; status == STORE_OK && i < m->n_attachments; i++) {
		const struct store_attachment_in *a = &m->attachments[i];

		if (a->skipped == NULL)
			status =
			    put_blob(st, is_staged, st->att_dir, p->att_hex[i],
			             a->data != NULL ? a->data : "", a->size,
			             err, errlen);
	}
	if (status != STORE_OK)
		return status;
	if (content_hash(m, p) != 0) {
		db_errf(err, errlen, "sha256 failed");
		return STORE_FAILED;
	}
	p->m = m;
	return STORE_OK;
}

/* store_prepare - the work of store_file that needs no lock (store.h). */
int
store_prepare(struct store *st, const struct store_msg *m, struct store_prep *p,
              char *err, size_t errlen)
{
	int status = prep_fill(st, m, true, p, err, errlen);

	if (status != STORE_OK)
		store_prep_clear(p);
	return status;
}

/* store_prep_clear - free what a prep holds. */
void
store_prep_clear(struct store_prep *p)
{
	free(p->att_hex);
	memset(p, 0, sizeof(*p));
}

/* recheck_blobs - under the write lock, make sure no purge removed a file
   that existed (and was therefore not rewritten) before we began. */
static int
recheck_blobs(struct store *st, struct file_ctx *c, char *err, size_t errlen)
{
	const struct store_msg *m = c->m;
	size_t i;
	int status = STORE_OK;

	if (blob_exists(st->raw_dir, c->p->raw_hex, m->raw_len) != 1)
		status = put_blob(st, st->in_batch, st->raw_dir, c->p->raw_hex,
		                  m->raw, m->raw_len, err, errlen);
	for (i = 0; status == STORE_OK && i < m->n_attachments; i++) {
		const struct store_attachment_in *a = &m->attachments[i];

		if (a->skipped != NULL ||
		    blob_exists(st->att_dir, c->p->att_hex[i], a->size) == 1)
			continue;
		status = put_blob(
		    st, st->in_batch, st->att_dir, c->p->att_hex[i],
		    a->data != NULL ? a->data : "", a->size, err, errlen);
	}
	return status;
}

/* outcome_of - enum of a messages.outcome value. */
static enum store_outcome
outcome_of(const char *s)
{
	if (s == NULL)
		return STORE_OUTCOME_NONE;
	if (strcmp(s, "ticket") == 0)
		return STORE_OUTCOME_NEW;
	if (strcmp(s, "followup") == 0)
		return STORE_OUTCOME_FOLLOWUP;
	if (strcmp(s, "quarantine") == 0)
		return STORE_OUTCOME_QUARANTINE;
	return STORE_OUTCOME_SUPPRESSED;
}

/* dup_row - read one duplicate hit into the result. */
static int
dup_row(struct store *st, sqlite3_stmt *s, struct file_ctx *c, char *err,
        size_t errlen)
{
	int rc;

	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		db_done(s);
		return STORE_OK;
	}
	if (rc != SQLITE_ROW) {
		rc = db_fail(st, rc, "duplicate check", err, errlen);
		db_done(s);
		return rc;
	}
	c->r->message_row = sqlite3_column_int64(s, 0);
	c->r->outcome = outcome_of((const char *)sqlite3_column_text(s, 1));
	db_col_copy(s, 2, c->r->ticket_id, sizeof(c->r->ticket_id));
	c->r->is_duplicate = true;
	db_done(s);
	return STORE_DUPLICATE;
}

/* find_duplicate - the same message filed before? */
static int
find_duplicate(struct store *st, struct file_ctx *c, char *err, size_t errlen)
{
	const struct store_msg *m = c->m;
	sqlite3_stmt *s;
	int status = STORE_FAILED;

	if (m->mailbox != NULL && m->uid > 0) {
		s = db_stmt(st, Q_DUP_UID, &status, err, errlen);
		if (s == NULL)
			return status;
		(void)db_bind_text(s, 1, m->mailbox);
		(void)sqlite3_bind_int64(s, 2, m->uidvalidity);
		(void)sqlite3_bind_int64(s, 3, m->uid);
		(void)sqlite3_bind_int64(s, 4, m->reprocess_of);
		status = dup_row(st, s, c, err, errlen);
		if (status != STORE_OK)
			return status;
	}
	if (str_empty(m->message_id)) {
		s = db_stmt(st, Q_DUP_RAW, &status, err, errlen);
		if (s == NULL)
			return status;
		(void)db_bind_text(s, 1, c->p->raw_hex);
		(void)sqlite3_bind_int64(s, 2, m->reprocess_of);
		return dup_row(st, s, c, err, errlen);
	}
	s = db_stmt(st, Q_DUP_MSGID, &status, err, errlen);
	if (s == NULL)
		return status;
	(void)db_bind_text(s, 1, m->message_id);
	(void)db_bind_text(s, 2, c->p->raw_hex);
	(void)db_bind_text(s, 3, c->p->content_hex);
	(void)sqlite3_bind_int64(s, 4, m->reprocess_of);
	return dup_row(st, s, c, err, errlen);
}

/* insert_message - the messages row; *row_r gets its id. */
static int
insert_message(struct store *st, struct file_ctx *c, const char *ticket_id,
               const char *outcome, bool is_third_party, const char *suppress,
               int64_t *row_r, char *err, size_t errlen)
{
	const struct store_msg *m = c->m;
	sqlite3_stmt *s;
	int status = STORE_FAILED;

	s = db_stmt(st, Q_MSG_INSERT, &status, err, errlen);
	if (s == NULL)
		return status;
	(void)db_bind_text(s, 1, ticket_id);
	(void)db_bind_text(s, 2, outcome);
	(void)db_bind_text(s, 3,
	                   str_empty(m->message_id) ? NULL : m->message_id);
	(void)db_bind_text(s, 4,
	                   str_empty(m->in_reply_to) ? NULL : m->in_reply_to);
	(void)db_bind_text(s, 5, c->refs);
	(void)db_bind_text(s, 6, c->p->raw_hex);
	(void)db_bind_text(s, 7, c->p->content_hex);
	(void)sqlite3_bind_int64(s, 8, (sqlite3_int64)m->raw_len);
	(void)db_bind_text(s, 9, m->mailbox);
	if (m->uid > 0) {
		(void)sqlite3_bind_int64(s, 10, m->uidvalidity);
		(void)sqlite3_bind_int64(s, 11, m->uid);
	}
	(void)db_bind_text(s, 12, c->from);
	(void)db_bind_text(s, 13, m->subject);
	(void)db_bind_text(s, 14, m->date);
	(void)db_bind_text(s, 15, m->text);
	(void)sqlite3_bind_int(s, 16, is_third_party ? 1 : 0);
	(void)db_bind_text(s, 17, suppress);
	(void)sqlite3_bind_int64(s, 18, c->now);
	status = db_step_done(st, s, "insert message", err, errlen);
	if (status != STORE_OK)
		return status;
	*row_r = sqlite3_last_insert_rowid(st->db);
	c->r->message_row = *row_r;
	return STORE_OK;
}

/* insert_attachments - one row per attachment of the message. */
static int
insert_attachments(struct store *st, struct file_ctx *c, int64_t row, char *err,
                   size_t errlen)
{
	const struct store_msg *m = c->m;
	sqlite3_stmt *s;
	size_t i;
	int status = STORE_FAILED;

	for (i = 0; i < m->n_attachments; i++) {
		const struct store_attachment_in *a = &m->attachments[i];
		char name[32];
		const char *fn = a->filename;

		if (str_empty(fn)) {
			(void)snprintf(name, sizeof(name), "attachment-%zu",
			               i + 1);
			fn = name;
		}
		s = db_stmt(st, Q_ATT_INSERT, &status, err, errlen);
		if (s == NULL)
			return status;
		(void)sqlite3_bind_int64(s, 1, row);
		(void)sqlite3_bind_int64(s, 2, (sqlite3_int64)i + 1);
		(void)db_bind_text(s, 3, fn);
		(void)db_bind_text(s, 4,
		                   str_empty(a->content_type)
		                       ? "application/octet-stream"
		                       : a->content_type);
		(void)sqlite3_bind_int64(s, 5, (sqlite3_int64)a->size);
		(void)db_bind_text(
		    s, 6, a->skipped != NULL ? NULL : c->p->att_hex[i]);
		(void)db_bind_text(s, 7, a->skipped);
		status = db_step_done(st, s, "insert attachment", err, errlen);
		if (status != STORE_OK)
			return status;
	}
	return STORE_OK;
}

/* insert_numbers - order and screening numbers of m on ticket id. */
static int
insert_numbers(struct store *st, const struct store_msg *m, const char *id,
               char *err, size_t errlen)
{
	static const char *const kinds[2] = {"order", "screening"};
	const char *const *v[2] = {m->order_numbers, m->screening_numbers};
	size_t n[2] = {m->n_order_numbers, m->n_screening_numbers};
	sqlite3_stmt *s;
	size_t k, i;
	int status = STORE_FAILED;

	for (k = 0; k < 2; k++) {
		for (i = 0; i < n[k]; i++) {
			if (str_empty(v[k][i]))
				continue;
			s = db_stmt(st, Q_NUMBER_INSERT, &status, err, errlen);
			if (s == NULL)
				return status;
			(void)db_bind_text(s, 1, id);
			(void)db_bind_text(s, 2, kinds[k]);
			(void)db_bind_text(s, 3, v[k][i]);
			status =
			    db_step_done(st, s, "insert number", err, errlen);
			if (status != STORE_OK)
				return status;
		}
	}
	return STORE_OK;
}

/* finish_filing - mailbox position and reprocess mark, for every
   outcome. */
static int
finish_filing(struct store *st, struct file_ctx *c, bool is_dup, char *err,
              size_t errlen)
{
	const struct store_msg *m = c->m;
	sqlite3_stmt *s;
	int status = STORE_FAILED;

	if (m->mailbox != NULL && m->uid > 0) {
		s = db_stmt(st, Q_MBOX_ADVANCE, &status, err, errlen);
		if (s == NULL)
			return status;
		(void)db_bind_text(s, 1, m->mailbox);
		(void)sqlite3_bind_int64(s, 2, m->uidvalidity);
		(void)sqlite3_bind_int64(s, 3, m->uid);
		status = db_step_done(st, s, "mailbox position", err, errlen);
		if (status != STORE_OK)
			return status;
	}
	if (m->reprocess_of > 0 && !is_dup) {
		s = db_stmt(st, Q_QUAR_MARK, &status, err, errlen);
		if (s == NULL)
			return status;
		(void)sqlite3_bind_int64(s, 1, m->reprocess_of);
		(void)sqlite3_bind_int64(s, 2, c->now);
		status = db_step_done(st, s, "mark reprocessed", err, errlen);
		if (status != STORE_OK)
			return status;
	}
	return STORE_OK;
}

/* file_quarantine - a quarantine record with the raw message kept. */
static int
file_quarantine(struct store *st, struct file_ctx *c, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int64_t row;
	int status = STORE_FAILED;

	status = insert_message(st, c, NULL, "quarantine", false, NULL, &row,
	                        err, errlen);
	if (status != STORE_OK)
		return status;
	s = db_stmt(st, Q_QUAR_INSERT, &status, err, errlen);
	if (s == NULL)
		return status;
	(void)sqlite3_bind_int64(s, 1, row);
	(void)db_bind_text(s, 2, c->m->quarantine_reason);
	status = db_step_done(st, s, "insert quarantine", err, errlen);
	if (status != STORE_OK)
		return status;
	c->r->outcome = STORE_OUTCOME_QUARANTINE;
	return STORE_OK;
}

/* bounce_one - record a bounce if ref names one of our acks. */
static int
bounce_one(struct store *st, struct file_ctx *c, const char *ref, char *err,
           size_t errlen)
{
	sqlite3_stmt *s;
	int64_t ack_id;
	char *to = NULL;
	bool is_nomem = false;
	int status = STORE_FAILED;
	int rc;

	s = db_stmt(st, Q_ACK_FOR_BOUNCE, &status, err, errlen);
	if (s == NULL)
		return status;
	(void)db_bind_text(s, 1, ref);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		db_done(s);
		return STORE_OK;
	}
	if (rc != SQLITE_ROW) {
		status = db_fail(st, rc, "bounce lookup", err, errlen);
		db_done(s);
		return status;
	}
	ack_id = sqlite3_column_int64(s, 0);
	to = db_col_dup(s, 1, &is_nomem);
	if (c->r->ticket_id[0] == '\0')
		db_col_copy(s, 2, c->r->ticket_id, sizeof(c->r->ticket_id));
	db_done(s);
	if (is_nomem)
		return STORE_NOMEM;
	s = db_stmt(st, Q_BOUNCE_INSERT, &status, err, errlen);
	if (s == NULL)
		goto out;
	(void)db_bind_text(s, 1, to);
	(void)sqlite3_bind_int64(s, 2, c->now);
	(void)db_bind_text(s, 3, ref);
	status = db_step_done(st, s, "insert bounce", err, errlen);
	if (status != STORE_OK)
		goto out;
	s = db_stmt(st, Q_ACK_BOUNCED, &status, err, errlen);
	if (s == NULL)
		goto out;
	(void)sqlite3_bind_int64(s, 1, ack_id);
	status = db_step_done(st, s, "fail bounced ack", err, errlen);
	if (status == STORE_OK)
		c->r->n_bounces++;
out:
	free(to);
	return status;
}

/* file_bounce - a DSN naming our acks: bounces recorded, a suppressed
   record filed; *is_done when that happened. */
static int
file_bounce(struct store *st, struct file_ctx *c, bool *is_done, char *err,
            size_t errlen)
{
	const struct store_msg *m = c->m;
	int64_t row;
	size_t i;
	int status = STORE_FAILED;

	*is_done = false;
	for (i = 0; i < m->n_bounce_refs; i++) {
		if (str_empty(m->bounce_refs[i]))
			continue;
		status = bounce_one(st, c, m->bounce_refs[i], err, errlen);
		if (status != STORE_OK)
			return status;
	}
	if (c->r->n_bounces == 0) {
		c->r->ticket_id[0] = '\0';
		return STORE_OK;
	}
	status = insert_message(st, c, NULL, "suppressed", false, "bounce",
	                        &row, err, errlen);
	if (status != STORE_OK)
		return status;
	c->r->outcome = STORE_OUTCOME_SUPPRESSED;
	*is_done = true;
	return STORE_OK;
}

/* lookup_id - run a one-column lookup bound to key; copy the ticket id
   into id (sized STORE_TICKET_ID_MAX).  STORE_OK found, STORE_NOT_FOUND. */
static int
lookup_id(struct store *st, enum db_q q, const char *key, char *id, char *err,
          size_t errlen)
{
	sqlite3_stmt *s;
	int status = STORE_FAILED;
	int rc;

	s = db_stmt(st, q, &status, err, errlen);
	if (s == NULL)
		return status;
	(void)db_bind_text(s, 1, key);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		db_col_copy(s, 0, id, STORE_TICKET_ID_MAX);
		status = id[0] != '\0' ? STORE_OK : STORE_NOT_FOUND;
	} else if (rc == SQLITE_DONE) {
		status = STORE_NOT_FOUND;
	} else {
		status = db_fail(st, rc, "follow-up lookup", err, errlen);
	}
	db_done(s);
	return status;
}

/* Ticket fields a follow-up needs. */
struct ticket_head {
	char status[12];
	char requester[320];
	bool has_requester;
	bool is_anonymised;
};

/* ticket_head - status and requester of ticket id. */
static int
ticket_head(struct store *st, const char *id, struct ticket_head *h, char *err,
            size_t errlen)
{
	sqlite3_stmt *s;
	int status = STORE_FAILED;
	int rc;

	memset(h, 0, sizeof(*h));
	s = db_stmt(st, Q_TICKET_HEAD, &status, err, errlen);
	if (s == NULL)
		return status;
	(void)db_bind_text(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		db_col_copy(s, 0, h->status, sizeof(h->status));
		h->has_requester = sqlite3_column_type(s, 1) != SQLITE_NULL;
		db_col_copy(s, 1, h->requester, sizeof(h->requester));
		h->is_anonymised = sqlite3_column_int(s, 2) != 0;
		status = STORE_OK;
	} else if (rc == SQLITE_DONE) {
		status = STORE_NOT_FOUND;
	} else {
		status = db_fail(st, rc, "ticket lookup", err, errlen);
	}
	db_done(s);
	return status;
}

/* by_ref - In-Reply-To / References: a message of a ticket or our ack. */
static int
by_ref(struct store *st, const char *ref, enum store_match as, char *id,
       enum store_match *match_r, char *err, size_t errlen)
{
	int status = STORE_FAILED;

	if (str_empty(ref))
		return STORE_NOT_FOUND;
	status = lookup_id(st, Q_MSG_BY_MSGID, ref, id, err, errlen);
	if (status == STORE_OK) {
		*match_r = as;
		return STORE_OK;
	}
	if (status != STORE_NOT_FOUND)
		return status;
	status = lookup_id(st, Q_ACK_BY_MSGID, ref, id, err, errlen);
	if (status == STORE_OK)
		*match_r = STORE_MATCH_ACK;
	return status;
}

/* by_order - the requester's open ticket with one of m's order numbers,
   last filed to within merge_days. */
static int
by_order(struct store *st, struct file_ctx *c, char *id, char *err,
         size_t errlen)
{
	const struct store_msg *m = c->m;
	sqlite3_stmt *s;
	size_t i;
	int status = STORE_FAILED;
	int rc;

	if (st->merge_days == 0 || str_empty(c->requester))
		return STORE_NOT_FOUND;
	for (i = 0; i < m->n_order_numbers; i++) {
		if (str_empty(m->order_numbers[i]))
			continue;
		s = db_stmt(st, Q_ORDER_MERGE, &status, err, errlen);
		if (s == NULL)
			return status;
		(void)db_bind_text(s, 1, m->order_numbers[i]);
		(void)db_bind_text(s, 2, c->requester);
		(void)sqlite3_bind_int64(
		    s, 3, c->now - (time_t)st->merge_days * 86400);
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			db_col_copy(s, 0, id, STORE_TICKET_ID_MAX);
			db_done(s);
			return STORE_OK;
		}
		if (rc != SQLITE_DONE) {
			status = db_fail(st, rc, "order lookup", err, errlen);
			db_done(s);
			return status;
		}
		db_done(s);
	}
	return STORE_NOT_FOUND;
}

/* find_followup - the ticket m continues, if any (SPEC §5). */
static int
find_followup(struct store *st, struct file_ctx *c, char *id,
              enum store_match *match_r, char *err, size_t errlen)
{
	const struct store_msg *m = c->m;
	struct ticket_head h;
	size_t i;
	int status = STORE_FAILED;

	*match_r = STORE_MATCH_NONE;
	if (!str_empty(m->ticket_ref) &&
	    strlen(m->ticket_ref) < STORE_TICKET_ID_MAX) {
		status = ticket_head(st, m->ticket_ref, &h, err, errlen);
		if (status == STORE_OK && !h.is_anonymised) {
			(void)snprintf(id, STORE_TICKET_ID_MAX, "%s",
			               m->ticket_ref);
			*match_r = STORE_MATCH_SUBJECT;
			return STORE_OK;
		}
		if (status != STORE_OK && status != STORE_NOT_FOUND)
			return status;
	}
	status = by_ref(st, m->in_reply_to, STORE_MATCH_IN_REPLY_TO, id,
	                match_r, err, errlen);
	if (status != STORE_NOT_FOUND)
		return status;
	/* The newest reference is the most likely parent. */
	for (i = m->n_references; i > 0; i--) {
		status =
		    by_ref(st, m->references[i - 1], STORE_MATCH_REFERENCES, id,
		           match_r, err, errlen);
		if (status != STORE_NOT_FOUND)
			return status;
	}
	status = by_order(st, c, id, err, errlen);
	if (status == STORE_OK)
		*match_r = STORE_MATCH_ORDER;
	return status;
}

/* file_followup - append m to ticket id. */
static int
file_followup(struct store *st, struct file_ctx *c, const char *id, char *err,
              size_t errlen)
{
	const struct store_msg *m = c->m;
	struct store_result *r = c->r;
	struct ticket_head h;
	const char *status_new;
	sqlite3_stmt *s;
	int64_t row;
	int status = STORE_FAILED;

	status = ticket_head(st, id, &h, err, errlen);
	if (status != STORE_OK)
		return status;
	status_new = h.status;
	if (m->is_review && strcmp(h.status, "new") != 0)
		status_new = "open"; /* a review reopens, even closed */
	else if (strcmp(h.status, "pending") == 0 ||
	         strcmp(h.status, "resolved") == 0)
		status_new = "open";
	r->is_reopened = strcmp(status_new, h.status) != 0;
	r->is_third_party =
	    h.has_requester && h.requester[0] != '\0' &&
	    !(c->requester != NULL && strcmp(c->requester, h.requester) == 0) &&
	    !(c->from != NULL && strcmp(c->from, h.requester) == 0);
	(void)snprintf(r->status, sizeof(r->status), "%s", status_new);
	(void)snprintf(r->ticket_id, sizeof(r->ticket_id), "%s", id);
	s = db_stmt(st, Q_TICKET_FOLLOWUP, &status, err, errlen);
	if (s == NULL)
		return status;
	(void)db_bind_text(s, 1, id);
	(void)db_bind_text(s, 2, r->status);
	(void)sqlite3_bind_int(s, 3, m->is_review ? 1 : 0);
	(void)sqlite3_bind_int64(s, 4, c->now);
	status = db_step_done(st, s, "update ticket", err, errlen);
	if (status != STORE_OK)
		return status;
	status = insert_numbers(st, m, id, err, errlen);
	if (status != STORE_OK)
		return status;
	status = insert_message(st, c, id, "followup", r->is_third_party, NULL,
	                        &row, err, errlen);
	if (status != STORE_OK)
		return status;
	r->outcome = STORE_OUTCOME_FOLLOWUP;
	return insert_attachments(st, c, row, err, errlen);
}

/*
 * count_since - the first column of query q bound to (addr, since), and
 * to limit when the query takes a third parameter.
 */
static int
count_since(struct store *st, enum db_q q, const char *addr, time_t since,
            int64_t limit, int64_t *n_r, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int status = STORE_FAILED;
	int rc;

	*n_r = 0;
	s = db_stmt(st, q, &status, err, errlen);
	if (s == NULL)
		return status;
	(void)db_bind_text(s, 1, addr);
	(void)sqlite3_bind_int64(s, 2, since);
	if (sqlite3_bind_parameter_count(s) >= 3)
		(void)sqlite3_bind_int64(s, 3, limit);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*n_r = sqlite3_column_int64(s, 0);
	status = rc == SQLITE_ROW || rc == SQLITE_DONE
	             ? STORE_OK
	             : db_fail(st, rc, "ack check", err, errlen);
	db_done(s);
	return status;
}

/* ack_decision - why the new ticket gets no ack, or NULL (SPEC §7). */
static int
ack_decision(struct store *st, struct file_ctx *c, const char **reason_r,
             char *err, size_t errlen)
{
	int64_t n;
	int status = STORE_FAILED;

	*reason_r = NULL;
	if (st->no_acks) {
		*reason_r = "disabled";
		return STORE_OK;
	}
	if (!str_empty(c->m->ack_suppress)) {
		*reason_r = c->m->ack_suppress;
		return STORE_OK;
	}
	if (str_empty(c->requester)) {
		*reason_r = "no_requester";
		return STORE_OK;
	}
	status =
	    count_since(st, Q_BOUNCE_CHECK, c->requester,
	                c->now - STORE_BOUNCE_BLOCK_SECS, 1, &n, err, errlen);
	if (status != STORE_OK)
		return status;
	if (n > 0) {
		*reason_r = "bounced";
		return STORE_OK;
	}
	status = count_since(st, Q_RATE_COUNT, c->requester, c->now - 86400,
	                     (int64_t)st->max_acks, &n, err, errlen);
	if (status != STORE_OK)
		return status;
	if (n >= (int64_t)st->max_acks)
		*reason_r = "rate_limit";
	return STORE_OK;
}

/* ack_message_id - a fresh "<ack.ID.RANDOM@domain>" into buf. */
static int
ack_message_id(struct store *st, const char *id, char *buf, size_t n)
{
	unsigned char rnd[8];
	int len;

	if (gnutls_rnd(GNUTLS_RND_NONCE, rnd, sizeof(rnd)) < 0)
		return -1;
	len = snprintf(buf, n, "<ack.%s.%02x%02x%02x%02x%02x%02x%02x%02x@%s>",
	               id, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5],
	               rnd[6], rnd[7], st->ack_domain);
	return len > 0 && (size_t)len < n ? 0 : -1;
}

/* next_id - allocate the next ticket id of the day into id. */
static int
next_id(struct store *st, struct file_ctx *c, char *id, int64_t *seq_r,
        char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int status = STORE_FAILED;
	int rc;

	s = db_stmt(st, Q_DAY_SEQ, &status, err, errlen);
	if (s == NULL)
		return status;
	(void)db_bind_text(s, 1, c->day);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		status = db_fail(st, rc, "ticket sequence", err, errlen);
		db_done(s);
		return status;
	}
	*seq_r = sqlite3_column_int64(s, 0);
	db_done(s);
	(void)snprintf(id, STORE_TICKET_ID_MAX, "%s-%s-%03lld", st->prefix,
	               c->day, (long long)*seq_r);
	return STORE_OK;
}

/* queue_ack - the outbox row for a new ticket. */
static int
queue_ack(struct store *st, struct file_ctx *c, const char *id, int64_t row,
          char *err, size_t errlen)
{
	char msgid[STORE_TICKET_ID_MAX + 300];
	sqlite3_stmt *s;
	int status = STORE_FAILED;

	if (ack_message_id(st, id, msgid, sizeof(msgid)) != 0) {
		db_errf(err, errlen, "cannot make an ack Message-ID");
		return STORE_FAILED;
	}
	s = db_stmt(st, Q_ACK_INSERT, &status, err, errlen);
	if (s == NULL)
		return status;
	(void)db_bind_text(s, 1, id);
	(void)sqlite3_bind_int64(s, 2, row);
	(void)db_bind_text(s, 3, c->requester);
	(void)db_bind_text(s, 4, msgid);
	(void)sqlite3_bind_int64(s, 5, c->now);
	status = db_step_done(st, s, "queue ack", err, errlen);
	if (status != STORE_OK)
		return status;
	c->r->ack_id = sqlite3_last_insert_rowid(st->db);
	c->r->is_ack_queued = true;
	return STORE_OK;
}

/* file_new - a new ticket with its first message and maybe an ack. */
static int
file_new(struct store *st, struct file_ctx *c, char *err, size_t errlen)
{
	const struct store_msg *m = c->m;
	struct store_result *r = c->r;
	char ack_state[96];
	const char *reason;
	sqlite3_stmt *s;
	int64_t seq = 0, row = 0;
	int status = STORE_FAILED;

	status = ack_decision(st, c, &reason, err, errlen);
	if (status != STORE_OK)
		return status;
	status = next_id(st, c, r->ticket_id, &seq, err, errlen);
	if (status != STORE_OK)
		return status;
	if (reason != NULL) {
		(void)snprintf(r->ack_suppress, sizeof(r->ack_suppress), "%s",
		               reason);
		(void)snprintf(ack_state, sizeof(ack_state), "suppressed:%s",
		               r->ack_suppress);
	}
	s = db_stmt(st, Q_TICKET_INSERT, &status, err, errlen);
	if (s == NULL)
		return status;
	(void)db_bind_text(s, 1, r->ticket_id);
	(void)db_bind_text(s, 2, c->day);
	(void)sqlite3_bind_int64(s, 3, seq);
	(void)db_bind_text(s, 4, store_priority_names[c->prio]);
	(void)db_bind_text(s, 5,
	                   str_empty(m->category) ? "general" : m->category);
	(void)db_bind_text(s, 6, str_empty(m->kind) ? NULL : m->kind);
	(void)sqlite3_bind_int(s, 7, m->is_review ? 1 : 0);
	(void)db_bind_text(s, 8, str_empty(c->requester) ? NULL : c->requester);
	(void)db_bind_text(s, 9, str_empty(m->user_id) ? NULL : m->user_id);
	(void)db_bind_text(s, 10, c->summary);
	(void)db_bind_text(s, 11, m->format);
	(void)sqlite3_bind_int64(s, 12, c->now);
	(void)sqlite3_bind_int64(s, 13,
	                         c->now + (time_t)st->due_min[c->prio] * 60);
	(void)db_bind_text(s, 14, reason != NULL ? ack_state : NULL);
	status = db_step_done(st, s, "insert ticket", err, errlen);
	if (status != STORE_OK)
		return status;
	status = insert_numbers(st, m, r->ticket_id, err, errlen);
	if (status != STORE_OK)
		return status;
	status = insert_message(st, c, r->ticket_id, "ticket", false, NULL,
	                        &row, err, errlen);
	if (status != STORE_OK)
		return status;
	status = insert_attachments(st, c, row, err, errlen);
	if (status != STORE_OK)
		return status;
	r->outcome = STORE_OUTCOME_NEW;
	(void)snprintf(r->status, sizeof(r->status), "new");
	if (reason != NULL)
		return STORE_OK;
	return queue_ack(st, c, r->ticket_id, row, err, errlen);
}

/* file_txn - the body of the filing transaction. */
static int
file_txn(struct store *st, void *ctx, char *err, size_t errlen)
{
	struct file_ctx *c = ctx;
	struct store_result *r = c->r;
	char id[STORE_TICKET_ID_MAX];
	enum store_match match;
	bool is_done;
	int status = STORE_FAILED;

	/* A retry starts from a clean result. */
	memset(r, 0, sizeof(*r));
	(void)snprintf(r->raw_sha256, sizeof(r->raw_sha256), "%s",
	               c->p->raw_hex);
	status = recheck_blobs(st, c, err, errlen);
	if (status != STORE_OK)
		return status;
	status = find_duplicate(st, c, err, errlen);
	if (status == STORE_DUPLICATE) {
		status = finish_filing(st, c, true, err, errlen);
		return status == STORE_OK ? STORE_DUPLICATE : status;
	}
	if (status != STORE_OK)
		return status;
	if (c->m->quarantine_reason != NULL) {
		status = file_quarantine(st, c, err, errlen);
		goto finish;
	}
	if (c->m->is_bounce) {
		status = file_bounce(st, c, &is_done, err, errlen);
		if (status != STORE_OK || is_done)
			goto finish;
	}
	status = find_followup(st, c, id, &match, err, errlen);
	if (status == STORE_OK) {
		r->match = match;
		status = file_followup(st, c, id, err, errlen);
	} else if (status == STORE_NOT_FOUND) {
		status = file_new(st, c, err, errlen);
	}
finish:
	if (status != STORE_OK)
		return status;
	return finish_filing(st, c, false, err, errlen);
}

/* file_day - the YYYYMMDD of now in the configured zone. */
static int
file_day(struct store *st, struct file_ctx *c)
{
	struct db_tz g;
	struct tm tm;
	int rc = 0;

	if (db_tz_enter(st, &g) != 0)
		return -1;
	if (localtime_r(&c->now, &tm) == NULL ||
	    strftime(c->day, sizeof(c->day), "%Y%m%d", &tm) != 8)
		rc = -1;
	db_tz_leave(&g);
	return rc;
}

/* file_with - file m whose hashes and files are in p. */
static int
file_with(struct store *st, const struct store_msg *m, struct store_prep *p,
          struct store_result *r, char *err, size_t errlen)
{
	const char *dirs[2] = {st->raw_dir, st->att_dir};
	struct file_ctx c;
	bool is_nomem = false;
	int status = STORE_FAILED;

	memset(&c, 0, sizeof(c));
	c.m = m;
	c.r = r;
	c.p = p;
	c.now = store_now(st);
	c.prio = db_priority(m->priority);
	if (c.prio < 0)
		c.prio = DB_NORMAL;
	c.summary = !str_empty(m->summary)   ? m->summary
	            : !str_empty(m->subject) ? m->subject
	                                     : "(no subject)";
	c.requester = db_lower(m->requester, &is_nomem);
	c.from = db_lower(m->from, &is_nomem);
	status = STORE_NOMEM;
	if (is_nomem || join_refs(&c) != 0)
		goto out;
	if (file_day(st, &c) != 0) {
		db_errf(err, errlen, "cannot compute the date");
		status = STORE_FAILED;
		goto out;
	}
	/* staged files outside a batch: durable before this commit */
	if (!st->in_batch) {
		status = blob_batch_flush(&st->staged, dirs, 2, err, errlen);
		if (status != STORE_OK)
			goto out;
	}
	status = db_run(st, true, file_txn, &c, err, errlen);
out:
	free(c.requester);
	free(c.from);
	free(c.refs);
	return status;
}

/* store_file - file one message (see store.h). */
int
store_file(struct store *st, const struct store_msg *m, struct store_result *r,
           char *err, size_t errlen)
{
	struct store_prep p;
	int status;

	memset(r, 0, sizeof(*r));
	memset(&p, 0, sizeof(p));
	status = prep_fill(st, m, st->in_batch, &p, err, errlen);
	if (status == STORE_OK)
		status = file_with(st, m, &p, r, err, errlen);
	store_prep_clear(&p);
	return status;
}

/* store_file_prepared - store_file after store_prepare (see store.h). */
int
store_file_prepared(struct store *st, const struct store_msg *m,
                    struct store_prep *p, struct store_result *r, char *err,
                    size_t errlen)
{
	memset(r, 0, sizeof(*r));
	if (m == NULL || p == NULL || p->m != m) {
		db_errf(err, errlen, "message was not prepared");
		return STORE_INVALID;
	}
	return file_with(st, m, p, r, err, errlen);
}

/* ---- Batches ---- */

/* store_begin - open a batch transaction. */
int
store_begin(struct store *st, char *err, size_t errlen)
{
	unsigned attempt;
	int status = STORE_BUSY;

	if (st->in_batch) {
		db_errf(err, errlen, "a batch is already open");
		return STORE_INVALID;
	}
	for (attempt = 0; attempt <= st->busy_retries; attempt++) {
		status = db_simple(st, Q_BEGIN, err, errlen);
		if (status != STORE_BUSY)
			break;
		db_rollback_quietly(st);
	}
	if (status != STORE_OK)
		return status;
	st->in_batch = true;
	st->is_batch_lost = false;
	return STORE_OK;
}

/* store_commit - commit the batch. */
int
store_commit(struct store *st, char *err, size_t errlen)
{
	const char *dirs[2] = {st->raw_dir, st->att_dir};
	int status = STORE_FAILED;

	if (!st->in_batch) {
		db_errf(err, errlen, "no batch is open");
		return STORE_INVALID;
	}
	st->in_batch = false;
	if (st->is_batch_lost) {
		db_rollback_quietly(st);
		blob_batch_discard(&st->staged);
		db_errf(err, errlen,
		        "batch was rolled back by an earlier "
		        "error");
		return STORE_FAILED;
	}
	/* The batch's files are durable under their names before the
	   commit that references them. */
	status = blob_batch_flush(&st->staged, dirs, 2, err, errlen);
	if (status == STORE_OK)
		status = db_simple(st, Q_COMMIT, err, errlen);
	if (status != STORE_OK)
		db_rollback_quietly(st);
	blob_batch_discard(&st->staged);
	return status;
}

/* store_rollback - abandon the batch. */
int
store_rollback(struct store *st, char *err, size_t errlen)
{
	if (!st->in_batch) {
		db_errf(err, errlen, "no batch is open");
		return STORE_INVALID;
	}
	st->in_batch = false;
	db_rollback_quietly(st);
	blob_batch_discard(&st->staged);
	return STORE_OK;
}

/* ---- Mailbox position ---- */

struct mbox_ctx {
	const char *mailbox;
	uint32_t uidvalidity, last_uid;
	bool is_found;
};

/* mbox_get_txn - read the position. */
static int
mbox_get_txn(struct store *st, void *ctx, char *err, size_t errlen)
{
	struct mbox_ctx *c = ctx;
	sqlite3_stmt *s;
	int status = STORE_FAILED;
	int rc;

	s = db_stmt(st, Q_MBOX_GET, &status, err, errlen);
	if (s == NULL)
		return status;
	(void)db_bind_text(s, 1, c->mailbox);
	rc = sqlite3_step(s);
	status = STORE_OK;
	if (rc == SQLITE_ROW) {
		c->uidvalidity = (uint32_t)sqlite3_column_int64(s, 0);
		c->last_uid = (uint32_t)sqlite3_column_int64(s, 1);
		c->is_found = true;
	} else if (rc != SQLITE_DONE) {
		status = db_fail(st, rc, "mailbox position", err, errlen);
	}
	db_done(s);
	return status;
}

/* store_mailbox_get - the saved position of mailbox. */
int
store_mailbox_get(struct store *st, const char *mailbox,
                  uint32_t *uidvalidity_r, uint32_t *last_uid_r, char *err,
                  size_t errlen)
{
	struct mbox_ctx c = {mailbox, 0, 0, false};
	int status = STORE_FAILED;

	*uidvalidity_r = 0;
	*last_uid_r = 0;
	status = db_run(st, false, mbox_get_txn, &c, err, errlen);
	if (status != STORE_OK)
		return status;
	if (!c.is_found)
		return STORE_NOT_FOUND;
	*uidvalidity_r = c.uidvalidity;
	*last_uid_r = c.last_uid;
	return STORE_OK;
}

/* What store_uid_outcomes looks up. */
struct uids_ctx {
	const char *mailbox;
	uint32_t uidvalidity;
	const uint32_t *uids;
	size_t n;
	int *outcomes;
};

/* uids_txn - the outcome of each UID, in one read transaction. */
static int
uids_txn(struct store *st, void *ctx, char *err, size_t errlen)
{
	struct uids_ctx *c = ctx;
	sqlite3_stmt *s;
	int status = STORE_FAILED;
	size_t i;
	int rc;

	s = db_stmt(st, Q_DUP_UID, &status, err, errlen);
	if (s == NULL)
		return status;
	for (i = 0; i < c->n; i++) {
		(void)db_bind_text(s, 1, c->mailbox);
		(void)sqlite3_bind_int64(s, 2, c->uidvalidity);
		(void)sqlite3_bind_int64(s, 3, c->uids[i]);
		(void)sqlite3_bind_int64(s, 4, 0);
		rc = sqlite3_step(s);
		c->outcomes[i] = STORE_OUTCOME_NONE;
		if (rc == SQLITE_ROW) {
			c->outcomes[i] =
			    outcome_of((const char *)sqlite3_column_text(s, 1));
		} else if (rc != SQLITE_DONE) {
			status = db_fail(st, rc, "message by UID", err, errlen);
			db_done(s);
			return status;
		}
		db_done(s);
	}
	return STORE_OK;
}

/* store_uid_outcomes - how each UID of mailbox was filed (see store.h). */
int
store_uid_outcomes(struct store *st, const char *mailbox, uint32_t uidvalidity,
                   const uint32_t *uids, size_t n, int *outcomes, char *err,
                   size_t errlen)
{
	struct uids_ctx c = {mailbox, uidvalidity, uids, n, outcomes};

	if (n == 0)
		return STORE_OK;
	return db_run(st, false, uids_txn, &c, err, errlen);
}

/* mbox_set_txn - write the position. */
static int
mbox_set_txn(struct store *st, void *ctx, char *err, size_t errlen)
{
	struct mbox_ctx *c = ctx;
	sqlite3_stmt *s;
	int status = STORE_FAILED;

	s = db_stmt(st, Q_MBOX_PUT, &status, err, errlen);
	if (s == NULL)
		return status;
	(void)db_bind_text(s, 1, c->mailbox);
	(void)sqlite3_bind_int64(s, 2, c->uidvalidity);
	(void)sqlite3_bind_int64(s, 3, c->last_uid);
	return db_step_done(st, s, "mailbox position", err, errlen);
}

/* store_mailbox_set - save the position of mailbox. */
int
store_mailbox_set(struct store *st, const char *mailbox, uint32_t uidvalidity,
                  uint32_t last_uid, char *err, size_t errlen)
{
	struct mbox_ctx c = {mailbox, uidvalidity, last_uid, false};

	if (str_empty(mailbox)) {
		db_errf(err, errlen, "no mailbox name");
		return STORE_INVALID;
	}
	return db_run(st, true, mbox_set_txn, &c, err, errlen);
}

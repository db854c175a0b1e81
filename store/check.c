/* SPDX-License-Identifier: MIT */
/*
 * check.c - the read-only integrity check behind `ticketctl check`: SQLite's
 * own PRAGMA integrity_check and foreign_key_check, and optionally every
 * content-addressed file a row names, re-hashed in chunks so a large file
 * is never read whole.  The statements are one-shot and private to this
 * file (like db.c's user_version); problems are collected as bounded,
 * sanitised lines, nothing is changed and nothing logs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#include "store/blob.h"
#include "store/db.h"

/* Bytes read at a time while hashing a file. */
#define CHECK_CHUNK 65536

/* Every distinct file a row names: kind 0 raw, 1 attachment. */
static const char sql_files[] =
    "SELECT 0, raw_sha256 FROM messages WHERE raw_sha256 IS NOT NULL"
    " UNION SELECT 1, sha256 FROM attachments WHERE sha256 IS NOT NULL"
    " ORDER BY 1, 2";

struct check_ctx {
	bool is_files;
	struct store_check *r;
	unsigned char *buf; /* owned; CHECK_CHUNK bytes, files only */
};

static int add_problem(struct store_check *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* add_problem - count one problem; keep its line while there is room. */
static int
add_problem(struct store_check *r, const char *fmt, ...)
{
	char line[STORE_CHECK_LINE_MAX];
	va_list ap;
	size_t i;
	int n;

	r->n_problems++;
	if (r->n_kept >= STORE_CHECK_MAX)
		return STORE_OK;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		(void)snprintf(line, sizeof(line), "(unprintable problem)");
	else if ((size_t)n >= sizeof(line)) {
		/* cut: drop a UTF-8 sequence left incomplete at the end */
		i = sizeof(line) - 1;
		while (i > 0 && ((unsigned char)line[i - 1] & 0xc0) == 0x80)
			i--;
		if (i > 0 && (unsigned char)line[i - 1] >= 0xc0)
			i--;
		line[i] = '\0';
	}
	for (i = 0; line[i] != '\0'; i++) {
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = ' ';
	}
	r->problems[r->n_kept] = strdup(line);
	if (r->problems[r->n_kept] == NULL)
		return STORE_NOMEM;
	r->n_kept++;
	return STORE_OK;
}

/*
 * sql_error - an SQLite error while checking: a damaged database is a
 * finding (recorded, the check goes on), anything else stops the check.
 */
static int
sql_error(struct store *st, struct store_check *r, int rc, const char *what,
          char *err, size_t errlen)
{
	int code = rc & 0xff;

	if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB)
		return add_problem(r, "%s: %s", what, sqlite3_errmsg(st->db));
	return db_fail(st, rc, what, err, errlen);
}

/* check_integrity - PRAGMA integrity_check: every line but "ok". */
static int
check_integrity(struct store *st, struct store_check *r, char *err,
                size_t errlen)
{
	const unsigned char *t;
	sqlite3_stmt *s = NULL;
	int status = STORE_OK;
	int rc;

	rc = sqlite3_prepare_v2(st->db, "PRAGMA integrity_check", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return sql_error(st, r, rc, "integrity_check", err, errlen);
	while (status == STORE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		t = sqlite3_column_text(s, 0);
		if (t == NULL)
			status = STORE_NOMEM;
		else if (strcmp((const char *)t, "ok") != 0)
			status = add_problem(r, "integrity_check: %s",
			                     (const char *)t);
	}
	if (status == STORE_OK && rc != SQLITE_DONE)
		status = sql_error(st, r, rc, "integrity_check", err, errlen);
	(void)sqlite3_finalize(s);
	return status;
}

/* check_foreign_keys - PRAGMA foreign_key_check: one line per bad row. */
static int
check_foreign_keys(struct store *st, struct store_check *r, char *err,
                   size_t errlen)
{
	const unsigned char *table, *parent;
	sqlite3_stmt *s = NULL;
	int status = STORE_OK;
	int rc;

	rc = sqlite3_prepare_v2(st->db, "PRAGMA foreign_key_check", -1, &s,
	                        NULL);
	if (rc != SQLITE_OK)
		return sql_error(st, r, rc, "foreign_key_check", err, errlen);
	while (status == STORE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		table = sqlite3_column_text(s, 0);
		parent = sqlite3_column_text(s, 2);
		if (sqlite3_column_type(s, 1) == SQLITE_NULL)
			status = add_problem(
			    r, "foreign key: a %s row names a missing %s row",
			    table != NULL ? (const char *)table : "?",
			    parent != NULL ? (const char *)parent : "?");
		else
			status = add_problem(
			    r,
			    "foreign key: %s row %lld names a missing %s row",
			    table != NULL ? (const char *)table : "?",
			    (long long)sqlite3_column_int64(s, 1),
			    parent != NULL ? (const char *)parent : "?");
	}
	if (status == STORE_OK && rc != SQLITE_DONE)
		status = sql_error(st, r, rc, "foreign_key_check", err, errlen);
	(void)sqlite3_finalize(s);
	return status;
}

/*
 * hash_fd - SHA-256 of what is left in fd, read in CHECK_CHUNK pieces into
 * buf; 0, -1 with errno set on a read error, -2 when gnutls failed.
 */
static int
hash_fd(int fd, unsigned char *buf, char hex[BLOB_HEX_MAX])
{
	unsigned char md[32];
	gnutls_hash_hd_t h;
	ssize_t n;

	if (gnutls_hash_init(&h, GNUTLS_DIG_SHA256) < 0)
		return -2;
	for (;;) {
		n = read(fd, buf, CHECK_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int saved = errno;

			gnutls_hash_deinit(h, NULL);
			errno = saved;
			return -1;
		}
		if (n == 0)
			break;
		if (gnutls_hash(h, buf, (size_t)n) < 0) {
			gnutls_hash_deinit(h, NULL);
			return -2;
		}
	}
	gnutls_hash_deinit(h, md);
	blob_hex(md, hex);
	return 0;
}

/* check_file - one referenced file: there, a regular file, right hash. */
static int
check_file(struct store *st, struct check_ctx *c, int kind, const char *hex,
           char *err, size_t errlen)
{
	const char *name = kind == 0 ? "raw" : "attachment";
	char got[BLOB_HEX_MAX];
	struct stat sb;
	char *path;
	int status = STORE_OK;
	int fd, rc;

	c->r->files_checked++;
	if (!blob_hex_valid(hex))
		return add_problem(c->r, "%s %.80s: not a SHA-256 name", name,
		                   hex);
	path = blob_path(kind == 0 ? st->raw_dir : st->att_dir, hex);
	if (path == NULL)
		return STORE_NOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			status = add_problem(c->r, "%s %s: missing", name, hex);
		else
			status = add_problem(c->r, "%s %s: cannot open: %s",
			                     name, hex, strerror(errno));
		free(path);
		return status;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		status =
		    add_problem(c->r, "%s %s: not a regular file", name, hex);
		goto out;
	}
	rc = hash_fd(fd, c->buf, got);
	if (rc == -2) {
		db_errf(err, errlen, "SHA-256 of %s failed", path);
		status = STORE_FAILED;
	} else if (rc == -1) {
		status = add_problem(c->r, "%s %s: cannot read: %s", name, hex,
		                     strerror(errno));
	} else if (strcmp(got, hex) != 0) {
		status = add_problem(
		    c->r, "%s %s: content does not match its name", name, hex);
	}
out:
	(void)close(fd);
	free(path);
	return status;
}

/* check_files - every distinct raw and attachment file a row names. */
static int
check_files(struct store *st, struct check_ctx *c, char *err, size_t errlen)
{
	const unsigned char *hex;
	sqlite3_stmt *s = NULL;
	int status = STORE_OK;
	int rc;

	rc = sqlite3_prepare_v2(st->db, sql_files, -1, &s, NULL);
	if (rc != SQLITE_OK)
		return sql_error(st, c->r, rc, "file list", err, errlen);
	while (status == STORE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		hex = sqlite3_column_text(s, 1);
		if (hex == NULL)
			status = STORE_NOMEM;
		else
			status = check_file(st, c, sqlite3_column_int(s, 0),
			                    (const char *)hex, err, errlen);
	}
	if (status == STORE_OK && rc != SQLITE_DONE)
		status = sql_error(st, c->r, rc, "file list", err, errlen);
	(void)sqlite3_finalize(s);
	return status;
}

/* check_txn - the whole check inside one read transaction. */
static int
check_txn(struct store *st, struct check_ctx *c, char *err, size_t errlen)
{
	int status;

	store_check_clear(c->r);
	status = check_integrity(st, c->r, err, errlen);
	if (status == STORE_OK)
		status = check_foreign_keys(st, c->r, err, errlen);
	if (status == STORE_OK && c->is_files)
		status = check_files(st, c, err, errlen);
	if (status == STORE_NOMEM)
		db_errf(err, errlen, "check: out of memory");
	return status;
}

/* store_check - integrity_check, foreign keys and (is_files) the files. */
int
store_check(struct store *st, bool is_files, struct store_check *r, char *err,
            size_t errlen)
{
	struct check_ctx c;
	unsigned attempt;
	int status;

	memset(r, 0, sizeof(*r));
	if (st->in_batch) {
		db_errf(err, errlen, "check: not inside a batch");
		return STORE_INVALID;
	}
	memset(&c, 0, sizeof(c));
	c.is_files = is_files;
	c.r = r;
	if (is_files) {
		c.buf = malloc(CHECK_CHUNK);
		if (c.buf == NULL) {
			db_errf(err, errlen, "check: out of memory");
			return STORE_NOMEM;
		}
	}
	/* Not db_run: nothing is written, so the transaction is only a
	   snapshot and ends in a ROLLBACK; a COMMIT would fail on a damaged
	   database and lose what the check found. */
	status = STORE_BUSY;
	for (attempt = 0; status == STORE_BUSY && attempt <= st->busy_retries;
	     attempt++) {
		status = db_simple(st, Q_BEGIN_READ, err, errlen);
		if (status == STORE_OK)
			status = check_txn(st, &c, err, errlen);
		db_rollback_quietly(st);
	}
	free(c.buf);
	if (status != STORE_OK)
		store_check_clear(r);
	return status;
}

/* store_check_clear - free the kept lines and zero the counts. */
void
store_check_clear(struct store_check *r)
{
	size_t i;

	for (i = 0; i < r->n_kept && i < STORE_CHECK_MAX; i++)
		free(r->problems[i]);
	memset(r, 0, sizeof(*r));
}

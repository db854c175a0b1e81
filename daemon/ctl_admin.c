/* SPDX-License-Identifier: MIT */
/*
 * ctl_admin.c - ticketctl's housekeeping commands: `attachment ID N -o
 * FILE` (export a stored blob, verifying its SHA-256 while copying),
 * `outbox` (list acks, requeue failed ones), `purge` (retention: delete or
 * anonymise tickets closed long ago, SPEC §9), `stats` (counts by
 * status, priority, category, overdue, outbox and quarantine) and `check`
 * (SQLite's integrity and foreign key checks, and with --files every
 * stored file against its SHA-256 name).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "json.h"
#include "store/store.h"
#include "ticketctl.h"

/* Most days `purge --older-than` accepts (100 years). */
#define PURGE_DAYS_MAX 36500
/* Copy buffer of `attachment`. */
#define COPY_CHUNK 65536
/* Exit status of `check` when it found problems (the value of "not
   found": the command ran, the store is not as it should be). */
#define CHECK_EXIT_PROBLEMS 1

/* ---- attachment ---- */

/* expected_sha - the recorded SHA-256 of attachment n of ticket id */
static int
expected_sha(struct store *st, const char *id, unsigned n, char sha[65],
             char *err, size_t errlen)
{
	struct store_ticket *tk = NULL;
	size_t i, k;
	int rc;

	rc = store_ticket_get(st, id, &tk, err, errlen);
	if (rc != STORE_OK)
		return rc;
	rc = STORE_NOT_FOUND;
	(void)snprintf(err, errlen, "ticket %s has no attachment %u", id, n);
	for (i = 0; i < tk->n_messages; i++)
		for (k = 0; k < tk->messages[i].n_attachments; k++) {
			const struct store_attachment *a =
			    &tk->messages[i].attachments[k];

			if (a->number != n)
				continue;
			if (a->skipped != NULL || a->sha256[0] == '\0') {
				(void)snprintf(err, errlen,
				               "attachment %u "
				               "of %s was skipped, not stored",
				               n, id);
			} else {
				(void)snprintf(sha, 65, "%s", a->sha256);
				rc = STORE_OK;
			}
		}
	store_ticket_free(&tk);
	return rc;
}

/* write_all - the whole buffer to fd */
static int
write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/*
 * copy_verify - copy src to dst, hashing; 0 when the SHA-256 is sha and
 * the size is size, else -1 with why set.
 */
static int
copy_verify(int src, int dst, const char *sha, uint64_t size, char *why,
            size_t whylen)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char digest[32];
	char got[65];
	gnutls_hash_hd_t h;
	uint64_t total = 0;
	char *buf;
	size_t i;
	int rc = -1;

	if (gnutls_hash_init(&h, GNUTLS_DIG_SHA256) != 0) {
		(void)snprintf(why, whylen, "cannot start SHA-256");
		return -1;
	}
	buf = malloc(COPY_CHUNK);
	if (buf == NULL)
		ctl_oom();
	for (;;) {
		ssize_t r = read(src, buf, COPY_CHUNK);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			(void)snprintf(why, whylen, "read: %s",
			               strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		(void)gnutls_hash(h, buf, (size_t)r);
		total += (uint64_t)r;
		if (write_all(dst, buf, (size_t)r) != 0) {
			(void)snprintf(why, whylen, "write: %s",
			               strerror(errno));
			goto out;
		}
	}
	rc = 0;
out:
	gnutls_hash_deinit(h, digest);
	free(buf);
	if (rc != 0)
		return rc;
	for (i = 0; i < 32; i++) {
		got[2 * i] = hex[digest[i] >> 4];
		got[2 * i + 1] = hex[digest[i] & 15];
	}
	got[64] = '\0';
	if (strcmp(got, sha) != 0 || total != size) {
		(void)snprintf(why, whylen,
		               "stored file is corrupt: SHA-256 "
		               "%s, %llu bytes; recorded %s, %llu bytes",
		               got, (unsigned long long)total, sha,
		               (unsigned long long)size);
		return -1;
	}
	return 0;
}

/*
 * export_file - copy src into a new file out (0600) through a temporary
 * file beside it, renamed over out only once verified; without force the
 * name is first claimed with O_EXCL, so an existing file is never touched.
 */
static int
export_file(int src, const char *out, bool force, const char *sha,
            uint64_t size)
{
	char *tmp = NULL, why[256] = "";
	const char *slash = strrchr(out, '/');
	size_t dlen = slash == NULL ? 1 : (size_t)(slash - out) + 1;
	bool is_claimed = false;
	int fd = -1, rc = CTL_FAILED;

	tmp = malloc(dlen + 32);
	if (tmp == NULL)
		ctl_oom();
	(void)snprintf(tmp, dlen + 32, "%.*s/.ticketctl-XXXXXX",
	               slash == NULL ? 1 : (int)(dlen - 1),
	               slash == NULL ? "." : out);
	if (!force) {
		int c =
		    open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

		if (c < 0) {
			fprintf(stderr, "ticketctl: attachment: %s: %s%s\n",
			        out, strerror(errno),
			        errno == EEXIST ? " (use -f to replace it)"
			                        : "");
			free(tmp);
			return CTL_FAILED;
		}
		(void)close(c);
		is_claimed = true;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		fprintf(stderr, "ticketctl: attachment: %s: %s\n", tmp,
		        strerror(errno));
		tmp[0] = '\0';
		goto out;
	}
	if (copy_verify(src, fd, sha, size, why, sizeof(why)) != 0) {
		fprintf(stderr, "ticketctl: attachment: %s\n", why);
		goto out;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		fd = -1;
		fprintf(stderr, "ticketctl: attachment: %s: %s\n", tmp,
		        strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, out) != 0) {
		fprintf(stderr, "ticketctl: attachment: %s: %s\n", out,
		        strerror(errno));
		goto out;
	}
	tmp[0] = '\0';
	is_claimed = false;
	rc = CTL_OK;
out:
	if (fd >= 0)
		(void)close(fd);
	if (tmp[0] != '\0')
		(void)unlink(tmp);
	if (is_claimed)
		(void)unlink(out);
	free(tmp);
	return rc;
}

/* attachment_usage - the synopsis of `attachment` */
static int
attachment_usage(void)
{
	fprintf(stderr, "usage: ticketctl attachment ID N -o FILE|- [-f]\n");
	return CTL_USAGE;
}

/* ctl_attachment - `attachment ID N -o FILE`: export a stored blob */
int
ctl_attachment(struct ctl *ctl, int argc, char **argv)
{
	struct store_blob_ref b;
	struct store *st = NULL;
	const char *id = NULL, *num = NULL, *out = NULL, *path;
	char err[256] = "", sha[65] = "", *joined = NULL;
	bool force = false;
	uint64_t n;
	int i, m, src = -1, rc;

	memset(&b, 0, sizeof(b));
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			continue; /* the output is the file itself */
		if (strcmp(argv[i], "-f") == 0 ||
		    strcmp(argv[i], "--force") == 0)
			force = true;
		else if ((m = ctl_opt(argc, argv, &i, "-o", &out)) != 0 ||
		         (m = ctl_opt(argc, argv, &i, "--output", &out)) != 0) {
			if (m < 0)
				return attachment_usage();
		} else if (argv[i][0] == '-')
			return attachment_usage();
		else if (id == NULL)
			id = argv[i];
		else if (num == NULL)
			num = argv[i];
		else
			return attachment_usage();
	}
	if (id == NULL || num == NULL || out == NULL || out[0] == '\0')
		return attachment_usage();
	if (ctl_parse_u64(num, 1000000, &n) != 0 || n == 0) {
		fprintf(stderr, "ticketctl: attachment: bad number %s\n", num);
		return CTL_USAGE;
	}
	rc = ctl_store_open(ctl, &st);
	if (rc != CTL_OK)
		return rc;
	rc = expected_sha(st, id, (unsigned)n, sha, err, sizeof(err));
	if (rc == STORE_OK)
		rc = store_attachment_path(st, id, (unsigned)n, &b, err,
		                           sizeof(err));
	if (rc != STORE_OK) {
		fprintf(stderr, "ticketctl: attachment: %s\n",
		        rc == STORE_NOT_FOUND && err[0] == '\0'
		            ? "no such ticket or attachment"
		            : err);
		rc = ctl_exit_of(rc);
		goto out;
	}
	path = b.path;
	if (path[0] != '/') {
		size_t len = strlen(ctl->cfg->state_dir) + strlen(path) + 2;

		joined = malloc(len);
		if (joined == NULL)
			ctl_oom();
		(void)snprintf(joined, len, "%s/%s", ctl->cfg->state_dir, path);
		path = joined;
	}
	src = open(path, O_RDONLY | O_CLOEXEC);
	if (src < 0) {
		fprintf(stderr, "ticketctl: attachment: %s: %s\n", path,
		        strerror(errno));
		rc = errno == ENOENT ? CTL_NOT_FOUND : CTL_FAILED;
		goto out;
	}
	if (strcmp(out, "-") == 0) {
		rc = copy_verify(src, STDOUT_FILENO, sha, b.size, err,
		                 sizeof(err)) == 0
		         ? CTL_OK
		         : CTL_FAILED;
		if (rc != CTL_OK)
			fprintf(stderr, "ticketctl: attachment: %s\n", err);
	} else {
		rc = export_file(src, out, force, sha, b.size);
		if (rc == CTL_OK) {
			fprintf(stderr, "%s: attachment %llu (", id,
			        (unsigned long long)n);
			ctl_cell(stderr, b.filename, ctl_width(b.filename),
			         true);
			fprintf(stderr,
			        ", %llu bytes, sha256 verified) "
			        "written to %s\n",
			        (unsigned long long)b.size, out);
		}
	}
out:
	if (src >= 0)
		(void)close(src);
	free(joined);
	store_blob_ref_clear(&b);
	store_close(&st);
	return rc;
}

/* outbox_table - acks as a table */
static void
outbox_table(const struct store_outbox_row *rows, size_t n)
{
	size_t k, wto = 2, wtk = 6, used, werr = 10, cols;

	if (n == 0) {
		printf("outbox empty\n");
		return;
	}
	for (k = 0; k < n; k++) {
		size_t w = ctl_width(rows[k].to);

		if (w > wto)
			wto = w;
		w = ctl_width(rows[k].ticket_id);
		if (w > wtk)
			wtk = w;
	}
	if (wto > 30)
		wto = 30;
	if (wtk > 24)
		wtk = 24;
	/* ID TICKET STATUS TRIES NEXT TO ERROR */
	used = 6 + wtk + 6 + 5 + 16 + wto + 2 * 6;
	cols = ctl_term_cols();
	if (cols > used + werr)
		werr = cols - used - 1;
	ctl_cell(stdout, "ID", 6, false);
	ctl_cell(stdout, "TICKET", wtk, false);
	ctl_cell(stdout, "STATUS", 6, false);
	ctl_cell(stdout, "TRIES", 5, false);
	ctl_cell(stdout, "NEXT", 16, false);
	ctl_cell(stdout, "TO", wto, false);
	ctl_cell(stdout, "ERROR", werr, true);
	printf("\n");
	for (k = 0; k < n; k++) {
		const struct store_outbox_row *r = &rows[k];
		char id[24], tries[16], next[STORE_TIME_MAX], *t;

		(void)snprintf(id, sizeof(id), "%lld", (long long)r->id);
		(void)snprintf(tries, sizeof(tries), "%u", r->attempts);
		(void)snprintf(next, sizeof(next), "%.16s",
		               strcmp(r->status, "queued") == 0
		                   ? r->next_attempt_at_iso
		                   : "");
		t = strchr(next, 'T');
		if (t != NULL)
			*t = ' ';
		ctl_cell(stdout, id, 6, false);
		ctl_cell(stdout, r->ticket_id, wtk, false);
		ctl_cell(stdout, r->status, 6, false);
		ctl_cell(stdout, tries, 5, false);
		ctl_cell(stdout, next, 16, false);
		ctl_cell(stdout, r->to, wto, false);
		ctl_cell(stdout, r->last_error, werr, true);
		printf("\n");
	}
}

/* outbox_json - acks as a JSON array */
static void
outbox_json(const struct store_outbox_row *rows, size_t n)
{
	struct json j;
	size_t k;

	json_init(&j, stdout);
	json_begin_array(&j);
	for (k = 0; k < n; k++) {
		const struct store_outbox_row *r = &rows[k];

		json_begin_object(&j);
		json_kv_int(&j, "id", (long long)r->id);
		json_kv_string(&j, "ticket_id", r->ticket_id);
		json_kv_string(&j, "to", r->to);
		json_kv_string(&j, "message_id", r->message_id);
		json_kv_string(&j, "status", r->status);
		json_kv_int(&j, "attempts", (long long)r->attempts);
		ctl_json_time(&j, "next_attempt_at",
		              strcmp(r->status, "queued") == 0
		                  ? r->next_attempt_at_iso
		                  : NULL);
		json_kv_string(&j, "last_error", r->last_error);
		json_end_object(&j);
	}
	json_end_array(&j);
}

/* outbox_usage - the synopsis of `outbox` */
static int
outbox_usage(void)
{
	fprintf(stderr, "usage: ticketctl outbox [--json] [--failed] "
	                "[--retry ID | --all]\n");
	return CTL_USAGE;
}

/* ctl_outbox - `outbox [--failed] [--retry ID|--all]` */
int
ctl_outbox(struct ctl *ctl, int argc, char **argv)
{
	struct store_outbox_row *rows = NULL;
	struct store *st = NULL;
	const char *retry = NULL;
	char err[256] = "";
	bool is_failed = false, is_all = false;
	uint64_t id = 0;
	size_t n = 0;
	int i, m, rc;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			ctl->json = true;
		else if (strcmp(argv[i], "--failed") == 0)
			is_failed = true;
		else if (strcmp(argv[i], "--all") == 0)
			is_all = true;
		else if (strcmp(argv[i], "--retry") == 0 && i + 1 < argc &&
		         strcmp(argv[i + 1], "--all") == 0)
			continue; /* "--retry --all": --all comes next */
		else if ((m = ctl_opt(argc, argv, &i, "--retry", &retry)) !=
		         0) {
			if (m < 0)
				return outbox_usage();
			if (ctl_parse_u64(retry, INT64_MAX, &id) != 0 ||
			    id == 0) {
				fprintf(stderr,
				        "ticketctl: outbox: bad id "
				        "%s\n",
				        retry);
				return CTL_USAGE;
			}
		} else
			return outbox_usage();
	}
	if (retry != NULL && is_all)
		return outbox_usage();
	rc = ctl_store_open(ctl, &st);
	if (rc != CTL_OK)
		return rc;
	if (retry != NULL || is_all) {
		size_t count = 0;

		rc = store_outbox_retry(st, (int64_t)id, &count, err,
		                        sizeof(err));
		store_close(&st);
		if (rc == STORE_NOT_FOUND) {
			fprintf(stderr,
			        "ticketctl: outbox: no failed ack "
			        "%s\n",
			        retry != NULL ? retry : "");
			return CTL_NOT_FOUND;
		}
		if (rc != STORE_OK) {
			fprintf(stderr, "ticketctl: outbox: %s\n", err);
			return ctl_exit_of(rc);
		}
		if (ctl->json) {
			struct json j;

			json_init(&j, stdout);
			json_begin_object(&j);
			json_kv_int(&j, "requeued", (long long)count);
			json_end_object(&j);
		} else {
			printf("requeued %zu ack%s\n", count,
			       count == 1 ? "" : "s");
		}
		return CTL_OK;
	}
	rc = store_outbox_list(st, is_failed, &rows, &n, err, sizeof(err));
	if (rc != STORE_OK) {
		fprintf(stderr, "ticketctl: outbox: %s\n", err);
		store_close(&st);
		return ctl_exit_of(rc);
	}
	if (ctl->json)
		outbox_json(rows, n);
	else
		outbox_table(rows, n);
	store_outbox_list_free(&rows, n);
	store_close(&st);
	return CTL_OK;
}

/* purge_usage - the synopsis of `purge` */
static int
purge_usage(void)
{
	fprintf(stderr, "usage: ticketctl purge [--json] --older-than DAYS "
	                "[--dry-run] [--anonymise]\n");
	return CTL_USAGE;
}

/* ctl_purge - `purge --older-than DAYS [--dry-run] [--anonymise]` */
int
ctl_purge(struct ctl *ctl, int argc, char **argv)
{
	struct store_purge_report rep;
	struct store *st = NULL;
	const char *days_s = NULL;
	char err[256] = "";
	bool dry_run = false, anonymise = false;
	uint64_t days = 0;
	int i, m, rc;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			ctl->json = true;
		else if (strcmp(argv[i], "--dry-run") == 0 ||
		         strcmp(argv[i], "-n") == 0)
			dry_run = true;
		else if (strcmp(argv[i], "--anonymise") == 0 ||
		         strcmp(argv[i], "--anonymize") == 0)
			anonymise = true;
		else if ((m = ctl_opt(argc, argv, &i, "--older-than",
		                      &days_s)) != 0) {
			if (m < 0)
				return purge_usage();
		} else
			return purge_usage();
	}
	if (days_s == NULL)
		return purge_usage();
	if (ctl_parse_u64(days_s, PURGE_DAYS_MAX, &days) != 0) {
		fprintf(stderr,
		        "ticketctl: purge: bad --older-than %s (days, "
		        "0-%d)\n",
		        days_s, PURGE_DAYS_MAX);
		return CTL_USAGE;
	}
	rc = ctl_store_open(ctl, &st);
	if (rc != CTL_OK)
		return rc;
	memset(&rep, 0, sizeof(rep));
	rc = store_purge(st, (unsigned)days, dry_run, anonymise, &rep, err,
	                 sizeof(err));
	store_close(&st);
	if (rc != STORE_OK) {
		fprintf(stderr, "ticketctl: purge: %s\n", err);
		return ctl_exit_of(rc);
	}
	if (ctl->json) {
		struct json j;

		json_init(&j, stdout);
		json_begin_object(&j);
		json_kv_bool(&j, "dry_run", dry_run);
		json_kv_bool(&j, "anonymise", anonymise);
		json_kv_int(&j, "older_than_days", (long long)days);
		json_kv_int(&j, "tickets", (long long)rep.tickets);
		json_kv_int(&j, "messages", (long long)rep.messages);
		json_kv_int(&j, "files", (long long)rep.files);
		json_kv_int(&j, "bytes", (long long)rep.bytes);
		json_end_object(&j);
	} else {
		printf("%s%s %llu ticket%s closed more than %llu day%s ago, "
		       "%llu message%s, %llu file%s (%llu bytes)\n",
		       dry_run ? "would have " : "",
		       anonymise ? "anonymised" : "purged",
		       (unsigned long long)rep.tickets,
		       rep.tickets == 1 ? "" : "s", (unsigned long long)days,
		       days == 1 ? "" : "s", (unsigned long long)rep.messages,
		       rep.messages == 1 ? "" : "s",
		       (unsigned long long)rep.files, rep.files == 1 ? "" : "s",
		       (unsigned long long)rep.bytes);
	}
	return CTL_OK;
}

/* stats_json - the counts as one JSON object */
static void
stats_json(const struct store_stats *s)
{
	struct json j;
	size_t k;

	json_init(&j, stdout);
	json_begin_object(&j);
	json_kv_int(&j, "tickets", (long long)s->tickets);
	json_kv_int(&j, "messages", (long long)s->messages);
	json_key(&j, "by_status");
	json_begin_object(&j);
	for (k = 0; k < 5; k++)
		json_kv_int(&j, store_ticket_status_names[k],
		            (long long)s->by_status[k]);
	json_end_object(&j);
	json_key(&j, "by_priority");
	json_begin_object(&j);
	for (k = 0; k < 3; k++)
		json_kv_int(&j, store_priority_names[k],
		            (long long)s->by_priority[k]);
	json_end_object(&j);
	json_key(&j, "by_category");
	json_begin_object(&j);
	for (k = 0; k < s->n_categories; k++)
		json_kv_int(&j, s->by_category[k].name,
		            (long long)s->by_category[k].count);
	json_end_object(&j);
	json_kv_int(&j, "overdue", (long long)s->overdue);
	json_key(&j, "outbox");
	json_begin_object(&j);
	json_kv_int(&j, "queued", (long long)s->outbox_queued);
	json_kv_int(&j, "sent", (long long)s->outbox_sent);
	json_kv_int(&j, "failed", (long long)s->outbox_failed);
	json_end_object(&j);
	json_kv_int(&j, "quarantined", (long long)s->quarantined);
	json_kv_int(&j, "suppressed", (long long)s->suppressed);
	json_end_object(&j);
}

/* stats_line - "  name   count" */
static void
stats_line(const char *name, uint64_t count)
{
	printf("  ");
	ctl_cell(stdout, name, 20, false);
	printf("%llu\n", (unsigned long long)count);
}

/* stats_table - the counts for a human */
static void
stats_table(const struct store_stats *s)
{
	size_t k;

	printf("tickets %llu, messages %llu\n", (unsigned long long)s->tickets,
	       (unsigned long long)s->messages);
	printf("by status\n");
	for (k = 0; k < 5; k++)
		stats_line(store_ticket_status_names[k], s->by_status[k]);
	printf("by priority\n");
	for (k = 0; k < 3; k++)
		stats_line(store_priority_names[k], s->by_priority[k]);
	printf("by category\n");
	for (k = 0; k < s->n_categories; k++)
		stats_line(s->by_category[k].name, s->by_category[k].count);
	printf("other\n");
	stats_line("overdue", s->overdue);
	stats_line("outbox queued", s->outbox_queued);
	stats_line("outbox sent", s->outbox_sent);
	stats_line("outbox failed", s->outbox_failed);
	stats_line("quarantined", s->quarantined);
	stats_line("suppressed", s->suppressed);
}

/* ctl_stats - `stats` */
int
ctl_stats(struct ctl *ctl, int argc, char **argv)
{
	struct store_stats s;
	struct store *st = NULL;
	char err[256] = "";
	int i, rc;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") != 0) {
			fprintf(stderr, "usage: ticketctl stats [--json]\n");
			return CTL_USAGE;
		}
		ctl->json = true;
	}
	rc = ctl_store_open(ctl, &st);
	if (rc != CTL_OK)
		return rc;
	memset(&s, 0, sizeof(s));
	rc = store_stats(st, &s, err, sizeof(err));
	store_close(&st);
	if (rc != STORE_OK) {
		fprintf(stderr, "ticketctl: stats: %s\n", err);
		store_stats_clear(&s);
		return ctl_exit_of(rc);
	}
	if (ctl->json)
		stats_json(&s);
	else
		stats_table(&s);
	store_stats_clear(&s);
	return CTL_OK;
}

/* check_json - the result of `check` as one JSON object */
static void
check_json(const struct store_check *r)
{
	struct json j;
	size_t k;

	json_init(&j, stdout);
	json_begin_object(&j);
	json_kv_bool(&j, "ok", r->n_problems == 0);
	json_key(&j, "problems");
	json_begin_array(&j);
	for (k = 0; k < r->n_kept; k++)
		json_string(&j, r->problems[k]);
	json_end_array(&j);
	json_kv_int(&j, "problem_count", (long long)r->n_problems);
	json_kv_int(&j, "files_checked", (long long)r->files_checked);
	json_end_object(&j);
}

/* check_text - the result of `check` for a human */
static void
check_text(const struct store_check *r, bool is_files)
{
	size_t k;

	if (r->n_problems == 0) {
		printf("ok: integrity_check, foreign keys");
		if (is_files)
			printf(", %llu file%s",
			       (unsigned long long)r->files_checked,
			       r->files_checked == 1 ? "" : "s");
		printf("\n");
		return;
	}
	for (k = 0; k < r->n_kept; k++) {
		char *line = ctl_xclean(r->problems[k], false);

		printf("%s\n", line);
		free(line);
	}
	printf("%llu problem%s found", (unsigned long long)r->n_problems,
	       r->n_problems == 1 ? "" : "s");
	if (r->n_problems > r->n_kept)
		printf(" (the first %zu shown)", r->n_kept);
	if (is_files)
		printf(", %llu file%s checked",
		       (unsigned long long)r->files_checked,
		       r->files_checked == 1 ? "" : "s");
	printf("\n");
}

/* ctl_check - `check [--files]`: integrity of the database and files */
int
ctl_check(struct ctl *ctl, int argc, char **argv)
{
	struct store_check r;
	struct store *st = NULL;
	char err[256] = "";
	bool is_files = false;
	int i, rc;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			ctl->json = true;
		else if (strcmp(argv[i], "--files") == 0)
			is_files = true;
		else {
			fprintf(stderr,
			        "usage: ticketctl check [--json] [--files]\n");
			return CTL_USAGE;
		}
	}
	rc = ctl_store_open(ctl, &st);
	if (rc != CTL_OK)
		return rc;
	memset(&r, 0, sizeof(r));
	rc = store_check(st, is_files, &r, err, sizeof(err));
	store_close(&st);
	if (rc != STORE_OK) {
		fprintf(stderr, "ticketctl: check: %s\n", err);
		store_check_clear(&r);
		return ctl_exit_of(rc);
	}
	if (ctl->json)
		check_json(&r);
	else
		check_text(&r, is_files);
	rc = r.n_problems == 0 ? CTL_OK : CHECK_EXIT_PROBLEMS;
	store_check_clear(&r);
	return rc;
}

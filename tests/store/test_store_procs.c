/* SPDX-License-Identifier: MIT */
/*
 * test_store_procs.c - the store under several processes: two children
 * filing into one state directory at once (no duplicate ticket ids, no
 * error surfaced), and crash safety: a child filing a deterministic stream
 * of messages is SIGKILLed at random points and restarted from the start,
 * as the daemon would be (odd runs in batches of 10); in the end every
 * message is filed exactly once and every stored file's SHA-256 matches
 * its name.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#include "store/store.h"
#include "tests/harness.h"

#define CONC_CHILDREN 2
#define CONC_MESSAGES 300
#define CRASH_MESSAGES 300
#define CRASH_ROUNDS 12
#define ATT_SIZE (20 * 1024)

/* rm_entry - nftw callback removing one entry. */
static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(path);
}

/* rmtree - remove a test state directory. */
static void
rmtree(const char *dir)
{
	(void)nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* open_store - open dir with real time; NULL on failure (printed). */
static struct store *
open_store(const char *dir)
{
	struct store_settings s;
	struct store *st = NULL;
	char err[256];
	int rc;

	memset(&s, 0, sizeof(s));
	s.state_dir = dir;
	s.timezone = "Asia/Shanghai";
	s.ack_domain = "example.com";
	s.busy_timeout_ms = 10000;
	rc = store_open(&s, &st, err, sizeof(err));
	if (rc != STORE_OK) {
		fprintf(stderr, "store_open: %s: %s\n", store_status_name(rc),
		        err);
		return NULL;
	}
	return st;
}

/* A generated message and the buffers behind its pointers. */
struct gen {
	char raw[4096];
	char msgid[64];
	char from[64];
	char subject[64];
	char irt[64];
	unsigned char att[ATT_SIZE];
	struct store_attachment_in a[1];
	struct store_msg m;
};

/* gen_msg - message i of stream tag, deterministic. */
static void
gen_msg(struct gen *g, const char *tag, int i, bool has_uid)
{
	size_t k;
	int n;

	memset(&g->m, 0, sizeof(g->m));
	(void)snprintf(g->msgid, sizeof(g->msgid), "<%s-%d@example.cn>", tag,
	               i);
	(void)snprintf(g->from, sizeof(g->from), "user%d@example.cn", i % 7);
	(void)snprintf(g->subject, sizeof(g->subject), "%s message %d", tag, i);
	n = snprintf(g->raw, sizeof(g->raw),
	             "Message-ID: %s\r\nFrom: %s\r\nSubject: %s\r\n\r\n",
	             g->msgid, g->from, g->subject);
	for (k = 0; k < (size_t)(i % 17) + 10 && n < 3500; k++)
		n += snprintf(
		    g->raw + n, sizeof(g->raw) - (size_t)n,
		    "line %zu of message %d, some text to fill it up\r\n", k,
		    i);
	g->m.raw = g->raw;
	g->m.raw_len = strlen(g->raw);
	g->m.message_id = g->msgid;
	g->m.from = g->from;
	g->m.requester = g->from;
	g->m.subject = g->subject;
	g->m.text = g->raw;
	g->m.format = "other";
	if (has_uid && i % 2 == 0) {
		g->m.mailbox = "INBOX";
		g->m.uidvalidity = 1;
		g->m.uid = (uint32_t)i + 1;
	}
	if (i % 5 == 4) {
		(void)snprintf(g->irt, sizeof(g->irt), "<%s-%d@example.cn>",
		               tag, i - 1);
		g->m.in_reply_to = g->irt;
	}
	if (i % 3 == 0) {
		/* four distinct contents: shared files are deduplicated */
		for (k = 0; k < ATT_SIZE; k++)
			g->att[k] = (unsigned char)(k * 31 + (size_t)(i % 4));
		memset(g->a, 0, sizeof(g->a));
		g->a[0].filename = "photo.jpg";
		g->a[0].content_type = "image/jpeg";
		g->a[0].data = g->att;
		g->a[0].size = ATT_SIZE;
		g->m.attachments = g->a;
		g->m.n_attachments = 1;
	}
}

/* file_stream - child body: file messages [0, n) of tag, one transaction
   each (batch 0) or in batches; exit status 0 when every one was filed or
   recognised as a duplicate. */
static int
file_stream(const char *dir, const char *tag, int n, bool has_uid, int batch)
{
	struct store_result r;
	struct store *st;
	struct gen *g;
	char err[256];
	int i, rc, status = 0;

	g = malloc(sizeof(*g));
	st = open_store(dir);
	if (st == NULL || g == NULL) {
		free(g);
		store_close(&st);
		return 2;
	}
	for (i = 0; i < n && status == 0; i++) {
		if (batch > 0 && i % batch == 0 &&
		    store_begin(st, err, sizeof(err)) != STORE_OK) {
			fprintf(stderr, "%s %d: begin: %s\n", tag, i, err);
			status = 4;
			break;
		}
		gen_msg(g, tag, i, has_uid);
		rc = store_file(st, &g->m, &r, err, sizeof(err));
		if (rc != STORE_OK && rc != STORE_DUPLICATE) {
			fprintf(stderr, "%s %d: %s: %s\n", tag, i,
			        store_status_name(rc), err);
			status = 3;
		}
		if (batch > 0 && status == 0 &&
		    (i % batch == batch - 1 || i == n - 1) &&
		    store_commit(st, err, sizeof(err)) != STORE_OK) {
			fprintf(stderr, "%s %d: commit: %s\n", tag, i, err);
			status = 4;
		}
	}
	store_close(&st);
	free(g);
	return status;
}

/* collect - message ids and ticket ids of every ticket. */
static int
collect(struct store *st, char ***mids_r, size_t *n_mids_r, char ***ids_r,
        size_t *n_ids_r)
{
	struct store_ticket_summary *v = NULL;
	struct store_ticket *t = NULL;
	char err[256];
	size_t n = 0, i, j, k = 0, cap = 0;
	char **mids = NULL;
	char **ids;

	if (store_ticket_list(st, NULL, &v, &n, err, sizeof(err)) != STORE_OK)
		return -1;
	ids = calloc(n + 1, sizeof(*ids));
	for (i = 0; ids != NULL && i < n; i++) {
		ids[i] = strdup(v[i].id);
		if (store_ticket_get(st, v[i].id, &t, err, sizeof(err)) !=
		    STORE_OK)
			continue;
		for (j = 0; j < t->n_messages; j++) {
			if (k == cap) {
				cap = cap == 0 ? 256 : cap * 2;
				mids = realloc(mids, cap * sizeof(*mids));
				if (mids == NULL)
					exit(2);
			}
			mids[k++] = strdup(t->messages[j].message_id != NULL
			                       ? t->messages[j].message_id
			                       : "");
		}
		store_ticket_free(&t);
	}
	store_ticket_list_free(&v, n);
	*ids_r = ids;
	*n_ids_r = n;
	*mids_r = mids;
	*n_mids_r = k;
	return 0;
}

/* cmp_str - qsort comparator for char *. */
static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* n_repeats - entries equal to their predecessor after sorting. */
static size_t
n_repeats(char **v, size_t n)
{
	size_t i, d = 0;

	qsort(v, n, sizeof(*v), cmp_str);
	for (i = 1; i < n; i++) {
		if (strcmp(v[i - 1], v[i]) == 0)
			d++;
	}
	return d;
}

/* free_list - free an array of strings. */
static void
free_list(char **v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

/* check_files - every blob under dir/sub hashes to its name. */
static void
check_files(const char *dir, const char *sub, size_t *n_files_r)
{
	char base[512], fan[1024], path[1536], hex[65];
	unsigned char md[32];
	struct dirent *e, *f;
	DIR *d, *d2;
	size_t i, bad = 0;
	FILE *fp;

	*n_files_r = 0;
	(void)snprintf(base, sizeof(base), "%s/%s", dir, sub);
	d = opendir(base);
	if (!CHECK(d != NULL, "blob dir"))
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		(void)snprintf(fan, sizeof(fan), "%s/%s", base, e->d_name);
		d2 = opendir(fan);
		if (d2 == NULL)
			continue;
		while ((f = readdir(d2)) != NULL) {
			static unsigned char buf[1 << 20];
			size_t len;

			if (f->d_name[0] == '.')
				continue; /* ., .., temp files */
			(void)snprintf(path, sizeof(path), "%s/%s", fan,
			               f->d_name);
			fp = fopen(path, "rb");
			if (fp == NULL) {
				bad++;
				continue;
			}
			len = fread(buf, 1, sizeof(buf), fp);
			fclose(fp);
			(void)gnutls_hash_fast(GNUTLS_DIG_SHA256, buf, len, md);
			for (i = 0; i < 32; i++)
				(void)snprintf(hex + 2 * i, 3, "%02x", md[i]);
			if (strcmp(hex, f->d_name) != 0 ||
			    strncmp(f->d_name, e->d_name, 2) != 0) {
				fprintf(stderr, "bad blob %s\n", path);
				bad++;
			}
			(*n_files_r)++;
		}
		closedir(d2);
	}
	closedir(d);
	CHECK_INT(bad, 0, "every file hashes to its name");
}

/* test_concurrent - two processes filing at once. */
static void
test_concurrent(void)
{
	char tmpl[] = "/tmp/ticketd-conc-XXXXXX";
	pid_t pids[CONC_CHILDREN];
	struct store_stats s;
	struct store *st;
	char **mids = NULL, **ids = NULL;
	size_t n_mids = 0, n_ids = 0, n_files;
	char err[256], tag[16];
	int i, wst;

	if (mkdtemp(tmpl) == NULL) {
		CHECK(0, "mkdtemp");
		return;
	}
	fflush(NULL);
	for (i = 0; i < CONC_CHILDREN; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			(void)snprintf(tag, sizeof(tag), "conc%d", i);
			_exit(file_stream(tmpl, tag, CONC_MESSAGES, false,
			                  i == 1 ? 10 : 0));
		}
		CHECK(pids[i] > 0, "fork");
	}
	for (i = 0; i < CONC_CHILDREN; i++) {
		if (pids[i] <= 0)
			continue;
		CHECK(waitpid(pids[i], &wst, 0) == pids[i], "waitpid");
		CHECK(WIFEXITED(wst) && WEXITSTATUS(wst) == 0,
		      "child filed everything without error");
	}
	st = open_store(tmpl);
	if (!CHECK(st != NULL, "open after"))
		return;
	CHECK_INT(store_stats(st, &s, err, sizeof(err)), STORE_OK, "stats");
	CHECK_INT(s.messages, CONC_CHILDREN * CONC_MESSAGES, "all filed");
	store_stats_clear(&s);
	CHECK_INT(collect(st, &mids, &n_mids, &ids, &n_ids), 0, "collect");
	CHECK_INT(n_repeats(ids, n_ids), 0, "no duplicate ticket ids");
	CHECK_INT(n_mids, CONC_CHILDREN * CONC_MESSAGES, "messages on tickets");
	CHECK_INT(n_repeats(mids, n_mids), 0, "each message once");
	free_list(ids, n_ids);
	free_list(mids, n_mids);
	store_close(&st);
	check_files(tmpl, "raw", &n_files);
	CHECK_INT(n_files, CONC_CHILDREN * CONC_MESSAGES, "one raw file each");
	check_files(tmpl, "attachments", &n_files);
	CHECK_INT(n_files, 4, "attachments deduplicated");
	rmtree(tmpl);
}

/* test_crash - SIGKILL at random points, restart from the beginning. */
static void
test_crash(void)
{
	char tmpl[] = "/tmp/ticketd-crash-XXXXXX";
	struct store_stats s;
	struct store *st;
	struct timespec ts;
	char **mids = NULL, **ids = NULL;
	size_t n_mids = 0, n_ids = 0, n_files;
	uint32_t uv, last;
	char err[256];
	int round, wst, killed = 0;
	pid_t pid;

	if (mkdtemp(tmpl) == NULL) {
		CHECK(0, "mkdtemp");
		return;
	}
	srand((unsigned)getpid());
	for (round = 0; round <= CRASH_ROUNDS; round++) {
		fflush(NULL);
		pid = fork();
		if (pid == 0)
			_exit(file_stream(tmpl, "crash", CRASH_MESSAGES, true,
			                  round % 2 == 1 ? 10 : 0));
		if (!CHECK(pid > 0, "fork"))
			break;
		if (round < CRASH_ROUNDS) {
			/* later rounds run longer: each first re-files (as
			   duplicates) what the earlier ones filed */
			ts.tv_sec = 0;
			ts.tv_nsec =
			    (long)(2 + rand() % (20 + 40 * round)) * 1000000L;
			(void)nanosleep(&ts, NULL);
			if (kill(pid, SIGKILL) == 0)
				killed++;
		}
		CHECK(waitpid(pid, &wst, 0) == pid, "waitpid");
		if (WIFEXITED(wst))
			CHECK_INT(WEXITSTATUS(wst), 0, "run ended cleanly");
		else
			CHECK(round < CRASH_ROUNDS && WIFSIGNALED(wst),
			      "killed by us");
		if (getenv("TICKETD_TEST_VERBOSE") != NULL) {
			st = open_store(tmpl);
			if (st != NULL &&
			    store_stats(st, &s, err, sizeof(err)) == STORE_OK) {
				printf("round %d: %llu filed\n", round,
				       (unsigned long long)s.messages);
				store_stats_clear(&s);
			}
			store_close(&st);
		}
	}
	CHECK(killed > 0, "some runs were killed");
	st = open_store(tmpl);
	if (!CHECK(st != NULL, "open after"))
		return;
	CHECK_INT(store_stats(st, &s, err, sizeof(err)), STORE_OK, "stats");
	CHECK_INT(s.messages, CRASH_MESSAGES, "every message filed once");
	store_stats_clear(&s);
	CHECK_INT(collect(st, &mids, &n_mids, &ids, &n_ids), 0, "collect");
	CHECK_INT(n_mids, CRASH_MESSAGES, "all on tickets");
	CHECK_INT(n_repeats(mids, n_mids), 0, "no message twice");
	CHECK_INT(n_repeats(ids, n_ids), 0, "no duplicate ids");
	free_list(ids, n_ids);
	free_list(mids, n_mids);
	CHECK_INT(store_mailbox_get(st, "INBOX", &uv, &last, err, sizeof(err)),
	          STORE_OK, "position");
	CHECK_INT(last, CRASH_MESSAGES - 1, "last uid");
	store_close(&st);
	check_files(tmpl, "raw", &n_files);
	CHECK_INT(n_files, CRASH_MESSAGES, "one raw file per message");
	check_files(tmpl, "attachments", &n_files);
	CHECK_INT(n_files, 4, "four attachment contents");
	printf("crash: %d runs killed\n", killed);
	rmtree(tmpl);
}

/* main - run both tests. */
int
main(void)
{
	test_concurrent();
	test_crash();
	return test_done();
}

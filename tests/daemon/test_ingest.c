/* SPDX-License-Identifier: MIT */
/*
 * test_ingest.c - daemon/ingest.c end to end against a real store in a
 * temp state directory: batches filed whole and in item order, the gate
 * that keeps an early-started batch from filing before the one ahead of
 * it, crash isolation (a parser crash is forced by wrapping
 * parser_parse_prefix with the linker's --wrap, see the Makefile), and
 * ingest_abort before and after the gate.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/config.h"
#include "daemon/glue.h"
#include "daemon/ingest.h"
#include "daemon/log.h"
#include "parser/parser.h"
#include "store/store.h"
#include "tests/harness.h"

/* A message holding this header kills the parsing child. */
#define CRASH_MARKER "X-Test-Crash: yes"
#define MSG_MAX 4096
#define BATCH_MAX 8
/* How long the test waits for a child to reach the gate. */
#define GATE_WAIT_MS 200
/* Upper bound on the whole program: a hang fails loudly (SIGALRM). */
#define WATCHDOG_S 120

/* The linker's --wrap: ingest.c's call lands here. */
int __real_parser_parse_prefix(struct parser *p, const void *raw, size_t len,
                               size_t full_size, struct parser_msg **msg_r,
                               char *err, size_t errlen);
int __wrap_parser_parse_prefix(struct parser *p, const void *raw, size_t len,
                               size_t full_size, struct parser_msg **msg_r,
                               char *err, size_t errlen);

/* One state directory with its config, parser and parent store. */
struct env {
	char dir[256];
	struct config *cfg;
	struct parser *parser;
	struct store *store;
};

/* A batch of generated messages and their items. */
struct batch {
	size_t n;
	char raw[BATCH_MAX][MSG_MAX];
	struct ingest_item items[BATCH_MAX];
};

/* Files found under a directory tree. */
struct tree_count {
	size_t files; /* regular files, temp files included */
	size_t tmp;   /* ".tmp-" files */
};

/* What the store counts. */
struct counts {
	uint64_t tickets;
	uint64_t messages;
	uint64_t quarantined; /* not yet reprocessed */
};

static unsigned msg_seq;

/* has_bytes - whether needle occurs in the len bytes at hay */
static bool
has_bytes(const void *hay, size_t len, const char *needle)
{
	const char *h = hay;
	size_t nl = strlen(needle), i;

	if (h == NULL || nl == 0 || len < nl)
		return false;
	for (i = 0; i + nl <= len; i++)
		if (memcmp(h + i, needle, nl) == 0)
			return true;
	return false;
}

/* __wrap_parser_parse_prefix - crash on the marker, else the real parse */
int
__wrap_parser_parse_prefix(struct parser *p, const void *raw, size_t len,
                           size_t full_size, struct parser_msg **msg_r,
                           char *err, size_t errlen)
{
	if (has_bytes(raw, len, CRASH_MARKER)) {
		/* SIGKILL, not SIGSEGV: under make asan the sanitizer would
		   catch a SEGV and exit 1, which reads as a store failure */
		(void)raise(SIGKILL);
		abort();
	}
	return __real_parser_parse_prefix(p, raw, len, full_size, msg_r, err,
	                                  errlen);
}

/* sleep_ms - sleep, resuming after signals */
static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* walk - count (and with is_remove delete) everything under path */
static void
walk(const char *path, bool is_remove, struct tree_count *c)
{
	DIR *d = opendir(path);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char sub[1024];
		struct stat sb;
		int n;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		n = snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		if (n < 0 || (size_t)n >= sizeof(sub))
			continue;
		if (lstat(sub, &sb) != 0)
			continue;
		if (S_ISDIR(sb.st_mode)) {
			walk(sub, is_remove, c);
			if (is_remove)
				(void)rmdir(sub);
			continue;
		}
		if (c != NULL) {
			c->files++;
			if (strncmp(e->d_name, ".tmp-", 5) == 0)
				c->tmp++;
		}
		if (is_remove)
			(void)unlink(sub);
	}
	(void)closedir(d);
}

/* count_blobs - files under <dir>/raw and <dir>/attachments */
static void
count_blobs(const struct env *e, struct tree_count *raw, struct tree_count *att)
{
	char path[512];

	memset(raw, 0, sizeof(*raw));
	memset(att, 0, sizeof(*att));
	(void)snprintf(path, sizeof(path), "%s/raw", e->dir);
	walk(path, false, raw);
	(void)snprintf(path, sizeof(path), "%s/attachments", e->dir);
	walk(path, false, att);
}

/* env_open - temp state dir, config, parser and parent store */
static bool
env_open(struct env *e)
{
	const char *tmp = getenv("TMPDIR");
	char conf[512], text[1024], err[256];
	FILE *f;
	int rc;

	memset(e, 0, sizeof(*e));
	if (tmp == NULL || tmp[0] != '/')
		tmp = "/tmp";
	(void)snprintf(e->dir, sizeof(e->dir), "%s/ticketd-test-ingest-XXXXXX",
	               tmp);
	if (!CHECK(mkdtemp(e->dir) != NULL, "mkdtemp"))
		return false;
	(void)snprintf(conf, sizeof(conf), "%s/ticketd.conf", e->dir);
	(void)snprintf(text, sizeof(text),
	               "[smtp]\nfrom = Support <support@example.com>\n"
	               "[store]\nstate_dir = %s\n"
	               "[ticket]\nprefix = TK\n",
	               e->dir);
	f = fopen(conf, "w");
	if (!CHECK(f != NULL, "write config"))
		return false;
	(void)fputs(text, f);
	if (!CHECK(fclose(f) == 0, "close config"))
		return false;
	if (!CHECK_INT(config_load(conf, &e->cfg, stderr), 0, "config_load"))
		return false;
	rc = glue_parser_new(e->cfg, &e->parser, err, sizeof(err));
	if (!CHECK_INT(rc, PARSER_OK, "glue_parser_new"))
		return false;
	{
		struct store_settings ss;

		glue_store_settings(e->cfg, &ss);
		rc = store_open(&ss, &e->store, err, sizeof(err));
	}
	if (!CHECK_INT(rc, STORE_OK, "store_open")) {
		fprintf(stderr, "store_open: %s\n", err);
		return false;
	}
	return true;
}

/* env_close - free everything and remove the state dir */
static void
env_close(struct env *e)
{
	store_close(&e->store);
	parser_free(&e->parser);
	config_free(&e->cfg);
	if (e->dir[0] != '\0' &&
	    strstr(e->dir, "ticketd-test-ingest-") != NULL) {
		walk(e->dir, true, NULL);
		(void)rmdir(e->dir);
	}
	memset(e, 0, sizeof(*e));
}

/* batch_make - n messages; crash_at / attach_at are 1-based, 0 for none */
static void
batch_make(struct batch *b, size_t n, size_t crash_at, size_t attach_at)
{
	static const char *const froms[] = {
	    "Li Wei <li.wei@example.cn>",
	    "anna@example.org",
	    "\"Bob Chen\" <bob.chen@example.net>",
	};
	size_t i;

	memset(b, 0, sizeof(*b));
	b->n = n;
	for (i = 0; i < n; i++) {
		unsigned k = ++msg_seq;
		bool is_crash = i + 1 == crash_at;
		bool is_attach = i + 1 == attach_at;
		int len;

		len = snprintf(
		    b->raw[i], MSG_MAX,
		    "From: %s\r\n"
		    "To: support@example.com\r\n"
		    "Subject: Refund request: order no. %u\r\n"
		    "Date: Mon, 06 Nov 2023 10:%02u:00 +0800\r\n"
		    "Message-ID: <ingest-%u.%ld@test.example>\r\n"
		    "%s"
		    "MIME-Version: 1.0\r\n"
		    "%s"
		    "\r\n"
		    "%s",
		    froms[k % 3], 7000 + k, k % 60, k, (long)getpid(),
		    is_crash ? CRASH_MARKER "\r\n" : "",
		    is_attach ? "Content-Type: multipart/mixed; "
		                "boundary=\"b1\"\r\n"
		              : "Content-Type: text/plain; charset=utf-8\r\n",
		    is_attach
		        ? "--b1\r\n"
		          "Content-Type: text/plain; charset=utf-8\r\n\r\n"
		          "Please refund, receipt attached.\r\n"
		          "--b1\r\n"
		          "Content-Type: application/octet-stream; "
		          "name=\"receipt.txt\"\r\n"
		          "Content-Disposition: attachment; "
		          "filename=\"receipt.txt\"\r\n"
		          "Content-Transfer-Encoding: base64\r\n\r\n"
		          "SGVsbG8sIHRoaXMgaXMgYSB0ZXN0IGF0dGFjaG1lbnQuCg==\r\n"
		          "--b1--\r\n"
		        : "Please refund my ticket.\r\n");
		if (len < 0 || len >= MSG_MAX)
			len = 0;
		b->items[i].data = b->raw[i];
		b->items[i].len = (size_t)len;
		b->items[i].parse_status = -1;
	}
}

/* id_split - day part and numeric suffix of "TK-YYYYMMDD-NNN" */
static bool
id_split(const char *id, char *day, size_t daylen, unsigned long *num)
{
	const char *a = strchr(id, '-');
	const char *z = strrchr(id, '-');
	char *end;

	if (a == NULL || z == NULL || z <= a || z[1] == '\0')
		return false;
	(void)snprintf(day, daylen, "%.*s", (int)(z - a - 1), a + 1);
	errno = 0;
	*num = strtoul(z + 1, &end, 10);
	return errno == 0 && *end == '\0';
}

/* id_cmp - order of two ticket ids (day, then number); 0 if unparsable */
static int
id_cmp(const char *x, const char *y)
{
	char dx[32], dy[32];
	unsigned long nx, ny;
	int c;

	if (!id_split(x, dx, sizeof(dx), &nx) ||
	    !id_split(y, dy, sizeof(dy), &ny))
		return 0;
	c = strcmp(dx, dy);
	if (c != 0)
		return c;
	return nx < ny ? -1 : nx > ny ? 1 : 0;
}

/* stats_of - the tickets, messages and quarantined counts of the store */
static bool
stats_of(struct env *e, struct counts *c)
{
	struct store_stats s;
	char err[256];
	int rc;

	memset(c, 0, sizeof(*c));
	memset(&s, 0, sizeof(s));
	rc = store_stats(e->store, &s, err, sizeof(err));
	if (rc == STORE_OK) {
		c->tickets = s.tickets;
		c->messages = s.messages;
		c->quarantined = s.quarantined;
	}
	store_stats_clear(&s);
	return CHECK_INT(rc, STORE_OK, "store_stats");
}

/* no_children - whether every child has been reaped */
static bool
no_children(void)
{
	pid_t p;

	errno = 0;
	p = waitpid(-1, NULL, WNOHANG);
	return p == -1 && errno == ECHILD;
}

/* check_all_new - every item of b (except skip, 1-based) is a NEW ticket */
static void
check_all_new(const struct batch *b, size_t skip, const char *what)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		char msg[160];

		if (i + 1 == skip)
			continue;
		(void)snprintf(msg, sizeof(msg), "%s: item %zu outcome NEW",
		               what, i + 1);
		CHECK_INT(b->items[i].outcome, STORE_OUTCOME_NEW, msg);
		(void)snprintf(msg, sizeof(msg), "%s: item %zu has a ticket",
		               what, i + 1);
		CHECK(b->items[i].ticket_id[0] != '\0', msg);
	}
}

/* ids_before - every ticket of a (but a_skip) precedes every one of b */
static void
ids_before(const struct batch *a, size_t a_skip, const struct batch *b,
           const char *what)
{
	size_t i, j;
	bool ok = true;

	for (i = 0; i < a->n; i++) {
		if (i + 1 == a_skip)
			continue;
		for (j = 0; j < b->n; j++)
			if (id_cmp(a->items[i].ticket_id,
			           b->items[j].ticket_id) >= 0) {
				fprintf(stderr, "  %s: %s not before %s\n",
				        what, a->items[i].ticket_id,
				        b->items[j].ticket_id);
				ok = false;
			}
	}
	CHECK(ok, what);
}

/* test_batch_order - one batch: all new, ids consecutive in item order */
static void
test_batch_order(void)
{
	static struct batch b;
	struct counts s;
	struct env e;
	char err[256] = "";
	size_t i;
	int rc;

	if (!env_open(&e))
		goto out;
	batch_make(&b, 4, 0, 0);
	rc = ingest_batch(e.cfg, e.parser, e.store, "INBOX", 1, b.items, b.n,
	                  err, sizeof(err));
	if (!CHECK_INT(rc, INGEST_OK, "batch: ingest_batch"))
		fprintf(stderr, "  err: %s\n", err);
	check_all_new(&b, 0, "batch");
	for (i = 0; i + 1 < b.n; i++) {
		char d0[32], d1[32], msg[128];
		unsigned long n0 = 0, n1 = 0;
		bool ok0 = id_split(b.items[i].ticket_id, d0, sizeof(d0), &n0);
		bool ok1 =
		    id_split(b.items[i + 1].ticket_id, d1, sizeof(d1), &n1);

		(void)snprintf(msg, sizeof(msg),
		               "batch: id %zu (%s) then %zu (%s) consecutive",
		               i + 1, b.items[i].ticket_id, i + 2,
		               b.items[i + 1].ticket_id);
		CHECK(ok0 && ok1 && n1 == n0 + 1, msg);
	}
	CHECK(strncmp(b.items[0].ticket_id, "TK-", 3) == 0,
	      "batch: the config's prefix");
	CHECK_INT(b.items[0].parse_status, PARSER_OK, "batch: parse status");
	CHECK(strstr(b.items[1].message_id, "@test.example>") != NULL,
	      "batch: message id reported");
	if (stats_of(&e, &s)) {
		CHECK_INT(s.tickets, 4, "batch: 4 tickets");
		CHECK_INT(s.quarantined, 0, "batch: none quarantined");
	}
	CHECK(no_children(), "batch: child reaped");
out:
	env_close(&e);
}

/*
 * start_b_then_a - start job B, give its child time enough to file
 * everything were it not gated, start job A, wait again; false (nothing
 * left running) when a start failed
 */
static bool
start_b_then_a(struct env *e, struct batch *b, struct ingest_job *jb,
               struct batch *a, struct ingest_job *ja, const char *what)
{
	char err[256] = "", msg[64];

	ingest_job_init(jb, e->cfg, e->parser, "INBOX", 1, b->items, b->n);
	ingest_job_init(ja, e->cfg, e->parser, "INBOX", 1, a->items, a->n);
	(void)snprintf(msg, sizeof(msg), "%s: start B", what);
	if (!CHECK_INT(ingest_start(jb, err, sizeof(err)), INGEST_OK, msg))
		return false;
	sleep_ms(GATE_WAIT_MS);
	(void)snprintf(msg, sizeof(msg), "%s: start A", what);
	if (!CHECK_INT(ingest_start(ja, err, sizeof(err)), INGEST_OK, msg)) {
		ingest_abort(jb);
		return false;
	}
	sleep_ms(GATE_WAIT_MS);
	return true;
}

/* test_gate_order - B started first still files after A */
static void
test_gate_order(void)
{
	static struct batch a, b;
	struct ingest_job ja, jb;
	struct counts s;
	struct env e;
	char err[256] = "";
	int rc;

	if (!env_open(&e))
		goto out;
	batch_make(&b, 3, 0, 0);
	batch_make(&a, 3, 0, 0);
	if (!start_b_then_a(&e, &b, &jb, &a, &ja, "gate"))
		goto out;
	if (stats_of(&e, &s))
		CHECK_INT(s.messages, 0, "gate: nothing filed before the go");
	rc = ingest_finish(&ja, e.store, err, sizeof(err));
	CHECK_INT(rc, INGEST_OK, "gate: finish A");
	rc = ingest_finish(&jb, e.store, err, sizeof(err));
	CHECK_INT(rc, INGEST_OK, "gate: finish B");
	check_all_new(&a, 0, "gate A");
	check_all_new(&b, 0, "gate B");
	ids_before(&a, 0, &b, "gate: A's tickets before B's");
	CHECK(no_children(), "gate: children reaped");
out:
	env_close(&e);
}

/* capture_begin - send the log to a memory stream */
static FILE *
capture_begin(char **buf, size_t *len)
{
	FILE *f = open_memstream(buf, len);

	if (f != NULL)
		log_set_stream(f);
	return f;
}

/* capture_end - restore the log; the captured text stays in *buf */
static void
capture_end(FILE *f)
{
	log_set_stream(NULL);
	if (f != NULL)
		(void)fclose(f);
}

/* test_crash_isolation - the crashing message is quarantined alone */
static void
test_crash_isolation(void)
{
	static struct batch b;
	struct store_quarantine_row *rows = NULL;
	struct counts s;
	struct env e;
	char err[256] = "", *logbuf = NULL;
	size_t nrows = 0, loglen = 0;
	FILE *logf;
	int rc;

	if (!env_open(&e))
		goto out;
	batch_make(&b, 5, 3, 0);
	logf = capture_begin(&logbuf, &loglen);
	rc = ingest_batch(e.cfg, e.parser, e.store, "INBOX", 1, b.items, b.n,
	                  err, sizeof(err));
	capture_end(logf);
	if (!CHECK_INT(rc, INGEST_OK, "crash: ingest_batch"))
		fprintf(stderr, "  err: %s\n", err);
	check_all_new(&b, 3, "crash");
	CHECK_INT(b.items[2].outcome, STORE_OUTCOME_QUARANTINE,
	          "crash: item 3 quarantined");
	CHECK(strstr(b.items[2].reason, "parser crashed") != NULL,
	      "crash: item 3 reason names the crash");
	CHECK(strstr(b.items[2].reason, "signal 9") != NULL,
	      "crash: item 3 reason names the signal");
	CHECK_INT(b.items[2].parse_status, -1, "crash: item 3 not parsed");
	CHECK(b.items[2].ticket_id[0] == '\0', "crash: item 3 no ticket");
	CHECK(logbuf != NULL && strstr(logbuf, "action=isolate") != NULL,
	      "crash: isolation logged");
	free(logbuf);
	if (stats_of(&e, &s)) {
		CHECK_INT(s.tickets, 4, "crash: 4 tickets");
		CHECK_INT(s.quarantined, 1, "crash: 1 quarantined");
	}
	rc = store_quarantine_list(e.store, false, &rows, &nrows, err,
	                           sizeof(err));
	if (CHECK_INT(rc, STORE_OK, "crash: quarantine list") &&
	    CHECK_INT(nrows, 1, "crash: one quarantine record")) {
		CHECK(rows[0].reason != NULL &&
		          strstr(rows[0].reason, "parser crashed") != NULL,
		      "crash: record's reason");
		CHECK_INT(rows[0].uid, 0, "crash: record's uid");
	}
	store_quarantine_list_free(&rows, nrows);
	CHECK(no_children(), "crash: children reaped");
out:
	env_close(&e);
}

/* test_crash_while_waiting - A crashes and is isolated; B still after */
static void
test_crash_while_waiting(void)
{
	static struct batch a, b;
	struct ingest_job ja, jb;
	struct counts s;
	struct env e;
	char err[256] = "", *logbuf = NULL;
	size_t loglen = 0;
	FILE *logf;
	int rc;

	if (!env_open(&e))
		goto out;
	batch_make(&b, 2, 0, 0);
	batch_make(&a, 3, 2, 0);
	if (!start_b_then_a(&e, &b, &jb, &a, &ja, "wait"))
		goto out;
	logf = capture_begin(&logbuf, &loglen);
	rc = ingest_finish(&ja, e.store, err, sizeof(err));
	capture_end(logf);
	free(logbuf);
	CHECK_INT(rc, INGEST_OK, "wait: finish A");
	rc = ingest_finish(&jb, e.store, err, sizeof(err));
	CHECK_INT(rc, INGEST_OK, "wait: finish B");
	check_all_new(&a, 2, "wait A");
	check_all_new(&b, 0, "wait B");
	CHECK_INT(a.items[1].outcome, STORE_OUTCOME_QUARANTINE,
	          "wait: A's item 2 quarantined");
	ids_before(&a, 2, &b, "wait: A's good tickets before B's");
	if (stats_of(&e, &s)) {
		CHECK_INT(s.tickets, 4, "wait: 4 tickets");
		CHECK_INT(s.quarantined, 1, "wait: 1 quarantined");
	}
	CHECK(no_children(), "wait: children reaped");
out:
	env_close(&e);
}

/* test_abort_at_gate - a stopped child files nothing, leaves no file */
static void
test_abort_at_gate(void)
{
	static struct batch b;
	struct tree_count raw, att;
	struct ingest_job job;
	struct counts s;
	struct env e;
	char err[256] = "";
	int waited;

	if (!env_open(&e))
		goto out;
	batch_make(&b, 3, 0, 2);
	ingest_job_init(&job, e.cfg, e.parser, "INBOX", 1, b.items, b.n);
	if (!CHECK_INT(ingest_start(&job, err, sizeof(err)), INGEST_OK,
	               "abort: start"))
		goto out;
	sleep_ms(GATE_WAIT_MS);
	/* the child is at the gate once its temp files are all there (the
	   valgrind-run child may need longer than GATE_WAIT_MS) */
	for (waited = 0; waited < 10000; waited += 50) {
		count_blobs(&e, &raw, &att);
		if (raw.tmp >= 3 && att.tmp >= 1)
			break;
		sleep_ms(50);
	}
	CHECK_INT(raw.tmp, 3, "abort: 3 raw temp files before the abort");
	CHECK_INT(att.tmp, 1, "abort: 1 attachment temp file before");
	ingest_abort(&job);
	CHECK_INT(job.pid, -1, "abort: job over");
	CHECK(no_children(), "abort: child reaped");
	count_blobs(&e, &raw, &att);
	CHECK_INT(raw.tmp, 0, "abort: no raw temp file left");
	CHECK_INT(att.tmp, 0, "abort: no attachment temp file left");
	CHECK_INT(raw.files, 0, "abort: no raw file");
	CHECK_INT(att.files, 0, "abort: no attachment file");
	if (stats_of(&e, &s)) {
		CHECK_INT(s.messages, 0, "abort: no message filed");
		CHECK_INT(s.tickets, 0, "abort: no ticket");
		CHECK_INT(s.quarantined, 0, "abort: nothing quarantined");
	}
	CHECK_INT(b.items[0].outcome, STORE_OUTCOME_NONE,
	          "abort: no outcome reported");
out:
	env_close(&e);
}

/*
 * test_parse_ahead - a child parses at most INGEST_AHEAD_MAX raw bytes
 * before the gate (three 12 MiB messages of four: three temp files while
 * it waits), and files the rest after it, all in item order
 */
static void
test_parse_ahead(void)
{
	enum { N = 4, BIG = 12 * 1024 * 1024 };
	struct ingest_item items[N];
	struct tree_count raw, att;
	struct ingest_job job;
	struct counts s;
	struct env e;
	char *bufs[N] = {NULL, NULL, NULL, NULL};
	char err[256] = "";
	size_t i, at_gate = 0;
	int waited;

	if (!env_open(&e))
		goto out;
	memset(items, 0, sizeof(items));
	for (i = 0; i < N; i++) {
		int h;

		bufs[i] = malloc(BIG);
		if (!CHECK(bufs[i] != NULL, "ahead: memory"))
			goto out;
		h = snprintf(bufs[i], BIG,
		             "From: big%zu@example.cn\r\n"
		             "Subject: Refund request: order no. %zu\r\n"
		             "Message-ID: <ahead-%zu.%ld@test.example>\r\n"
		             "Content-Type: text/plain; charset=utf-8\r\n\r\n",
		             i, 8000 + i, i, (long)getpid());
		if (h < 0 || h >= BIG)
			goto out;
		/* lines of text; the parser keeps the first text_max bytes */
		memset(bufs[i] + h, 'x', BIG - (size_t)h);
		for (waited = h + 76; waited + 1 < BIG; waited += 78) {
			bufs[i][waited] = '\r';
			bufs[i][waited + 1] = '\n';
		}
		items[i].data = bufs[i];
		items[i].len = BIG;
		items[i].parse_status = -1;
	}
	ingest_job_init(&job, e.cfg, e.parser, "INBOX", 1, items, N);
	if (!CHECK_INT(ingest_start(&job, err, sizeof(err)), INGEST_OK,
	               "ahead: start"))
		goto out;
	for (waited = 0; waited < 20000; waited += 50) {
		count_blobs(&e, &raw, &att);
		if (raw.tmp >= 3)
			break;
		sleep_ms(50);
	}
	sleep_ms(GATE_WAIT_MS); /* a fourth would show by now */
	count_blobs(&e, &raw, &att);
	at_gate = raw.tmp;
	CHECK_INT(at_gate, 3, "ahead: three prepared at the gate, not four");
	if (!CHECK_INT(ingest_finish(&job, e.store, err, sizeof(err)),
	               INGEST_OK, "ahead: finish"))
		fprintf(stderr, "  err: %s\n", err);
	for (i = 0; i < N; i++) {
		char msg[96];

		(void)snprintf(msg, sizeof(msg), "ahead: item %zu NEW", i + 1);
		CHECK_INT(items[i].outcome, STORE_OUTCOME_NEW, msg);
	}
	for (i = 0; i + 1 < N; i++)
		CHECK(id_cmp(items[i].ticket_id, items[i + 1].ticket_id) < 0,
		      "ahead: ids in item order");
	count_blobs(&e, &raw, &att);
	CHECK_INT(raw.files, N, "ahead: four raw files");
	CHECK_INT(raw.tmp, 0, "ahead: no temp file left");
	if (stats_of(&e, &s))
		CHECK_INT(s.tickets, N, "ahead: four tickets");
	CHECK(no_children(), "ahead: child reaped");
out:
	for (i = 0; i < N; i++)
		free(bufs[i]);
	env_close(&e);
}

/* test_abort_after_go - aborting a child let go neither hangs nor leaks */
static void
test_abort_after_go(void)
{
	static struct batch b, c;
	struct ingest_job job;
	struct env e;
	char err[256] = "";
	int rc;

	if (!env_open(&e))
		goto out;
	batch_make(&b, 3, 0, 0);
	ingest_job_init(&job, e.cfg, e.parser, "INBOX", 1, b.items, b.n);
	if (!CHECK_INT(ingest_start(&job, err, sizeof(err)), INGEST_OK,
	               "go+abort: start"))
		goto out;
	ingest_go(&job);
	ingest_abort(&job);
	CHECK_INT(job.pid, -1, "go+abort: job over");
	CHECK(no_children(), "go+abort: child reaped");
	/* a killed filing child leaves the store usable */
	batch_make(&c, 1, 0, 0);
	rc = ingest_batch(e.cfg, e.parser, e.store, "INBOX", 1, c.items, c.n,
	                  err, sizeof(err));
	if (!CHECK_INT(rc, INGEST_OK, "go+abort: next batch"))
		fprintf(stderr, "  err: %s\n", err);
	check_all_new(&c, 0, "go+abort: next batch");
	CHECK(no_children(), "go+abort: next child reaped");
out:
	env_close(&e);
}

int
main(void)
{
	struct rlimit rl = {0, 0};

	(void)signal(SIGPIPE, SIG_IGN);
	(void)setrlimit(RLIMIT_CORE, &rl); /* the crash tests dump no core */
	(void)alarm(WATCHDOG_S);
	log_init("test_ingest", LOG_SINK_STDERR, LOG_LEVEL_WARNING);

	test_batch_order();
	test_gate_order();
	test_crash_isolation();
	test_crash_while_waiting();
	test_abort_at_gate();
	test_abort_after_go();
	test_parse_ahead();
	return test_done();
}

/* SPDX-License-Identifier: MIT */
/*
 * ingest.c - parse-and-file in a sandboxed child (see ingest.h).  The
 * child reports each outcome as a fixed-size record on a pipe after its
 * commit, then an end marker; anything short of that means the batch was
 * not filed by this child.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "glue.h"
#include "ingest.h"
#include "log.h"

/* Child exit codes. */
enum {
	CHILD_EXIT_OK = 0,
	CHILD_EXIT_STORE = 70,   /* store failed: nothing filed */
	CHILD_EXIT_BUSY = 71,    /* store busy past its retries */
	CHILD_EXIT_NOMEM = 72,   /* out of memory while parsing */
	CHILD_EXIT_STOPPED = 73, /* told to stop at the gate: nothing filed */
};

/* What the parent learns from one child. */
enum child_result {
	CHILD_OK,
	CHILD_CRASHED, /* signal, timeout, nomem: parse problem */
	CHILD_STORE_FAILED,
	CHILD_BUSY,
};

#define END_MARKER UINT32_MAX

struct record {
	uint32_t index;
	struct ingest_item item; /* only the out fields are used */
};

/* copy_str - bounded copy that always terminates */
static void
copy_str(char *dst, size_t len, const char *src)
{
	(void)snprintf(dst, len, "%s", src != NULL ? src : "");
}

/* write_all - write len bytes, retrying on EINTR */
static int
write_all(int fd, const void *p, size_t len)
{
	const char *c = p;

	while (len > 0) {
		ssize_t n = write(fd, c, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

/* limit_child - memory and CPU limits for the parsing child */
static void
limit_child(void)
{
	struct rlimit rl;

	rl.rlim_cur = INGEST_CPU_LIMIT_S;
	rl.rlim_max = INGEST_CPU_LIMIT_S + 5;
	(void)setrlimit(RLIMIT_CPU, &rl);
#if !defined(__SANITIZE_ADDRESS__) && !defined(TICKETD_SANITIZE)
	{
		/* the address space it inherits, plus a fixed allowance */
		unsigned long pages = 0;
		FILE *f = fopen("/proc/self/statm", "r");

		if (f != NULL) {
			if (fscanf(f, "%lu", &pages) != 1)
				pages = 0;
			fclose(f);
		}
		if (pages > 0) {
			rl.rlim_cur =
			    (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) +
			    INGEST_MEM_EXTRA;
			rl.rlim_max = rl.rlim_cur;
			(void)setrlimit(RLIMIT_AS, &rl);
		}
	}
#endif
}

/* fill_item - outcome fields from a store result and a parse */
static void
fill_item(struct ingest_item *it, const struct store_result *r,
          const struct parser_msg *pm)
{
	it->outcome = r->outcome;
	it->is_duplicate = r->is_duplicate;
	it->is_third_party = r->is_third_party;
	it->is_reopened = r->is_reopened;
	it->match = r->match;
	copy_str(it->ticket_id, sizeof(it->ticket_id), r->ticket_id);
	if (r->is_ack_queued)
		copy_str(it->ack, sizeof(it->ack), "queued");
	else if (r->ack_suppress[0] != '\0')
		(void)snprintf(it->ack, sizeof(it->ack), "suppressed:%s",
		               r->ack_suppress);
	else
		it->ack[0] = '\0';
	if (pm != NULL) {
		size_t i;

		copy_str(it->from, sizeof(it->from), pm->from);
		copy_str(it->message_id, sizeof(it->message_id),
		         pm->message_id);
		copy_str(it->category, sizeof(it->category), pm->category);
		copy_str(it->priority, sizeof(it->priority), pm->priority);
		it->n_attachments = pm->n_attachments;
		for (i = 0; i < pm->n_attachments; i++)
			if (pm->attachments[i].skipped != PARSER_SKIP_NONE)
				it->n_skipped++;
		if (pm->notes.n > 0)
			copy_str(it->reason, sizeof(it->reason),
			         pm->notes.v[0]);
	}
}

/* One message in the child between its parse and its filing. */
struct child_msg {
	struct parser_msg *pm;
	struct glue_msg g;
	struct store_prep prep;
	char perr[160];
};

/* wait_gate - block until the parent says go; false: it said stop */
static bool
wait_gate(int gate)
{
	char c = 0;
	ssize_t r;

	do
		r = read(gate, &c, 1);
	while (r < 0 && errno == EINTR);
	return r == 1 && c == 'g';
}

/* report - one record per item, then the end marker */
static void
report(const struct ingest_item *items, size_t n, int fd)
{
	struct record rec;
	size_t i;

	for (i = 0; i < n; i++) {
		memset(&rec, 0, sizeof(rec));
		rec.index = (uint32_t)i;
		rec.item = items[i];
		if (write_all(fd, &rec, sizeof(rec)) != 0)
			return; /* filed; the parent sees no end and refiles */
	}
	memset(&rec, 0, sizeof(rec));
	rec.index = END_MARKER;
	(void)write_all(fd, &rec, sizeof(rec));
}

/* child_parse - parse item it into c; exits the child on no memory */
static void
child_parse(const struct ingest_job *job, struct ingest_item *it,
            struct child_msg *c)
{
	int ps;

	ps = parser_parse_prefix(job->parser, it->data, it->len, it->full_size,
	                         &c->pm, c->perr, sizeof(c->perr));
	if (ps == PARSER_NOMEM)
		_exit(CHILD_EXIT_NOMEM);
	it->parse_status = ps;
	if (glue_store_msg(c->pm, it->data, it->len, job->mailbox,
	                   job->uidvalidity, it->uid,
	                   c->pm == NULL ? c->perr : NULL, &c->g) != 0)
		_exit(CHILD_EXIT_NOMEM);
	c->g.sm.reprocess_of = it->reprocess_of;
}

/* child_file - file c (prepared or not) and free it; exits on failure */
static void
child_file(struct store *st, struct ingest_item *it, struct child_msg *c,
           bool is_prepared)
{
	struct store_result r;
	char err[256];
	int rc;

	memset(&r, 0, sizeof(r));
	rc = is_prepared ? store_file_prepared(st, &c->g.sm, &c->prep, &r, err,
	                                       sizeof(err))
	                 : store_file(st, &c->g.sm, &r, err, sizeof(err));
	if (rc == STORE_BUSY)
		_exit(CHILD_EXIT_BUSY);
	if (rc == STORE_NOMEM)
		_exit(CHILD_EXIT_NOMEM);
	if (rc != STORE_OK && rc != STORE_DUPLICATE)
		_exit(CHILD_EXIT_STORE);
	fill_item(it, &r, c->pm);
	if (c->pm == NULL)
		copy_str(it->reason, sizeof(it->reason), c->perr);
	store_prep_clear(&c->prep);
	glue_msg_clear(&c->g);
	parser_msg_free(&c->pm);
}

/*
 * child_main - parse the items and prepare their files while the previous
 * batch may still hold the write lock (up to INGEST_AHEAD_MAX raw bytes,
 * so a batch of big messages does not pile up in memory); wait at the
 * gate; file the prepared ones, then parse and file the rest one by one,
 * all in one transaction; report; exit.
 */
static _Noreturn void
child_main(const struct ingest_job *job, int fd, int gate)
{
	struct store_settings ss;
	struct store *st = NULL;
	struct child_msg *cm;
	char err[256];
	size_t i, n = job->n, ahead = 0, bytes = 0;
	int rc;

	limit_child();
	cm = calloc(n, sizeof(*cm));
	if (cm == NULL)
		_exit(CHILD_EXIT_NOMEM);
	glue_store_settings(job->cfg, &ss);
	if (store_open(&ss, &st, err, sizeof(err)) != STORE_OK)
		_exit(CHILD_EXIT_STORE);
	while (ahead < n && (ahead == 0 || bytes < INGEST_AHEAD_MAX)) {
		struct child_msg *c = &cm[ahead];

		child_parse(job, &job->items[ahead], c);
		rc = store_prepare(st, &c->g.sm, &c->prep, err, sizeof(err));
		if (rc == STORE_NOMEM)
			_exit(CHILD_EXIT_NOMEM);
		if (rc != STORE_OK)
			_exit(CHILD_EXIT_STORE);
		bytes += job->items[ahead].len;
		ahead++;
	}
	if (!wait_gate(gate)) {
		store_close(&st); /* removes the prepared temp files */
		_exit(CHILD_EXIT_STOPPED);
	}
	if (store_begin(st, err, sizeof(err)) != STORE_OK)
		_exit(CHILD_EXIT_BUSY);
	for (i = 0; i < n; i++) {
		if (i >= ahead)
			child_parse(job, &job->items[i], &cm[i]);
		child_file(st, &job->items[i], &cm[i], i < ahead);
	}
	if (store_commit(st, err, sizeof(err)) != STORE_OK)
		_exit(CHILD_EXIT_STORE);
	store_close(&st);
	free(cm);
	report(job->items, n, fd);
	_exit(CHILD_EXIT_OK);
}

/* now_s - monotonic seconds */
static double
now_s(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ingest_start - fork the child of job; it waits at the gate (ingest.h) */
int
ingest_start(struct ingest_job *job, char *err, size_t errlen)
{
	int fds[2], gate[2];
	pid_t pid;

	job->pid = -1;
	job->fd = -1;
	job->gate = -1;
	if (pipe(fds) != 0) {
		(void)snprintf(err, errlen, "pipe: %s", strerror(errno));
		return INGEST_STORE_FAILED;
	}
	if (pipe(gate) != 0) {
		(void)snprintf(err, errlen, "pipe: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return INGEST_STORE_FAILED;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		(void)snprintf(err, errlen, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		close(gate[0]);
		close(gate[1]);
		return INGEST_STORE_FAILED;
	}
	if (pid == 0) {
		close(fds[0]);
		close(gate[1]);
		child_main(job, fds[1], gate[0]);
	}
	close(fds[1]);
	close(gate[0]);
	job->pid = pid;
	job->fd = fds[0];
	job->gate = gate[1];
	return INGEST_OK;
}

/* open_gate - tell the waiting child to go on ('g') or stop ('s') */
static void
open_gate(struct ingest_job *job, char c)
{
	if (job->gate < 0)
		return;
	(void)write_all(job->gate, &c, 1);
	close(job->gate);
	job->gate = -1;
}

/* ingest_go - let the child file (ingest.h) */
void
ingest_go(struct ingest_job *job)
{
	open_gate(job, 'g');
}

/* reap - wait for the child; its exit status */
static int
reap(struct ingest_job *job)
{
	int status = 0;

	if (job->fd >= 0) {
		close(job->fd);
		job->fd = -1;
	}
	if (job->pid > 0) {
		while (waitpid(job->pid, &status, 0) < 0 && errno == EINTR)
			;
		job->pid = -1;
	}
	return status;
}

/* ingest_abort - stop a child that was not let go, and reap it */
void
ingest_abort(struct ingest_job *job)
{
	if (job->pid > 0 && job->gate < 0)
		(void)kill(job->pid, SIGKILL); /* already filing: too late */
	open_gate(job, 's');
	(void)reap(job);
}

/* take_record - copy a child's outcome into its item, keeping the inputs */
static void
take_record(struct ingest_item *it, const struct record *rec)
{
	const char *data = it->data;
	size_t len = it->len, full = it->full_size;
	int64_t rep = it->reprocess_of;
	uint32_t uid = it->uid;

	*it = rec->item;
	it->data = data;
	it->len = len;
	it->full_size = full;
	it->reprocess_of = rep;
	it->uid = uid;
}

/*
 * collect_child - read the started child's report (letting it go first)
 * and reap it; copies outcomes into the items on success.  *why gets a
 * reason when it did not succeed.
 */
static enum child_result
collect_child(struct ingest_job *job, char *why, size_t whylen)
{
	struct record rec;
	size_t got = 0, have = 0, n = job->n;
	bool ended = false, timed_out = false;
	double deadline;
	int status;

	ingest_go(job);
	deadline = now_s() + INGEST_TIMEOUT_BASE_S +
	           (double)n * INGEST_TIMEOUT_PER_MSG_S;
	while (!ended) {
		struct pollfd pfd = {job->fd, POLLIN, 0};
		double left = deadline - now_s();
		ssize_t r;
		int pr;

		if (left <= 0) {
			timed_out = true;
			(void)kill(job->pid, SIGKILL);
			break;
		}
		pr = poll(&pfd, 1, (int)(left * 1000) + 1);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			continue;
		r = read(job->fd, (char *)&rec + have, sizeof(rec) - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		have += (size_t)r;
		if (have < sizeof(rec))
			continue;
		have = 0;
		if (rec.index == END_MARKER) {
			ended = true;
		} else if (rec.index < n) {
			take_record(&job->items[rec.index], &rec);
			got++;
		}
	}
	status = reap(job);
	if (timed_out) {
		(void)snprintf(why, whylen, "parser timed out");
		return CHILD_CRASHED;
	}
	if (WIFSIGNALED(status)) {
		(void)snprintf(why, whylen, "parser crashed (signal %d)",
		               WTERMSIG(status));
		return CHILD_CRASHED;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == CHILD_EXIT_NOMEM) {
		(void)snprintf(why, whylen, "parser ran out of memory");
		return CHILD_CRASHED;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == CHILD_EXIT_BUSY) {
		(void)snprintf(why, whylen, "store busy");
		return CHILD_BUSY;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != CHILD_EXIT_OK) {
		(void)snprintf(why, whylen, "store failed in the filing child");
		return CHILD_STORE_FAILED;
	}
	if (!ended || got != n) {
		/* filed, but the report was lost: refile to learn outcomes */
		(void)snprintf(why, whylen, "child report incomplete");
		return CHILD_BUSY;
	}
	return CHILD_OK;
}

/* quarantine_in_parent - file a message that kills its parser */
static int
quarantine_in_parent(const struct config *cfg, struct store *store,
                     const char *mailbox, uint32_t uidvalidity,
                     struct ingest_item *it, const char *why, char *err,
                     size_t errlen)
{
	struct store *own = NULL;
	struct store_result r;
	struct glue_msg g;
	int rc;

	if (store == NULL) {
		struct store_settings ss;

		glue_store_settings(cfg, &ss);
		if (store_open(&ss, &own, err, errlen) != STORE_OK)
			return INGEST_STORE_FAILED;
		store = own;
	}
	(void)glue_store_msg(NULL, it->data, it->len, mailbox, uidvalidity,
	                     it->uid, why, &g);
	g.sm.reprocess_of = it->reprocess_of;
	memset(&r, 0, sizeof(r));
	rc = store_file(store, &g.sm, &r, err, errlen);
	glue_msg_clear(&g);
	store_close(&own);
	if (rc != STORE_OK && rc != STORE_DUPLICATE)
		return INGEST_STORE_FAILED;
	it->parse_status = -1;
	fill_item(it, &r, NULL);
	copy_str(it->reason, sizeof(it->reason), why);
	return INGEST_OK;
}

/* ingest_finish - collect a started job, with retries and crash
   isolation (ingest.h) */
int
ingest_finish(struct ingest_job *job, struct store *store, char *err,
              size_t errlen)
{
	char why[160] = "";
	int tries = 0;
	size_t i;

	for (;;) {
		enum child_result cr = collect_child(job, why, sizeof(why));

		if (cr == CHILD_OK)
			return INGEST_OK;
		if (cr == CHILD_STORE_FAILED) {
			(void)snprintf(err, errlen, "%s", why);
			return INGEST_STORE_FAILED;
		}
		if (cr == CHILD_CRASHED)
			break;
		if (++tries > 3) {
			(void)snprintf(err, errlen, "%s", why);
			return INGEST_STORE_FAILED;
		}
		(void)usleep(200000u * (unsigned)tries);
		if (ingest_start(job, err, errlen) != INGEST_OK)
			return INGEST_STORE_FAILED;
	}
	if (job->n == 1)
		return quarantine_in_parent(job->cfg, store, job->mailbox,
		                            job->uidvalidity, &job->items[0],
		                            why, err, errlen);
	log_warning("batch action=isolate messages=%zu reason=\"%s\"", job->n,
	            why);
	for (i = 0; i < job->n; i++) {
		int rc = ingest_batch(job->cfg, job->parser, store,
		                      job->mailbox, job->uidvalidity,
		                      &job->items[i], 1, err, errlen);

		if (rc != INGEST_OK)
			return rc;
	}
	return INGEST_OK;
}

/* ingest_batch - start and finish one job */
int
ingest_batch(const struct config *cfg, struct parser *parser,
             struct store *store, const char *mailbox, uint32_t uidvalidity,
             struct ingest_item *items, size_t n, char *err, size_t errlen)
{
	struct ingest_job job;

	if (n == 0)
		return INGEST_OK;
	ingest_job_init(&job, cfg, parser, mailbox, uidvalidity, items, n);
	if (ingest_start(&job, err, errlen) != INGEST_OK)
		return INGEST_STORE_FAILED;
	return ingest_finish(&job, store, err, errlen);
}

/* ingest_job_init - a job not yet started */
void
ingest_job_init(struct ingest_job *job, const struct config *cfg,
                struct parser *parser, const char *mailbox,
                uint32_t uidvalidity, struct ingest_item *items, size_t n)
{
	memset(job, 0, sizeof(*job));
	job->cfg = cfg;
	job->parser = parser;
	job->mailbox = mailbox;
	job->uidvalidity = uidvalidity;
	job->items = items;
	job->n = n;
	job->pid = -1;
	job->fd = -1;
	job->gate = -1;
}

/* outcome_name - action= value of an outcome */
static const char *
outcome_name(const struct ingest_item *it)
{
	if (it->is_duplicate)
		return "duplicate";
	switch (it->outcome) {
	case STORE_OUTCOME_NEW:
		return "created";
	case STORE_OUTCOME_FOLLOWUP:
		return "appended";
	case STORE_OUTCOME_QUARANTINE:
		return "quarantined";
	case STORE_OUTCOME_SUPPRESSED:
		return "suppressed";
	}
	return "unknown";
}

/* ingest_log_item - one line per filed message */
void
ingest_log_item(const struct ingest_item *it)
{
	char q1[LOG_VALUE_MAX + 8], q2[LOG_VALUE_MAX + 8],
	    q3[LOG_VALUE_MAX + 8];
	const char *action = outcome_name(it);

	if (it->outcome == STORE_OUTCOME_QUARANTINE) {
		log_warning("uid=%u action=%s message_id=%s reason=%s", it->uid,
		            action, log_quote(it->message_id, q1, sizeof(q1)),
		            log_quote(it->reason, q2, sizeof(q2)));
		return;
	}
	log_info("ticket=%s action=%s uid=%u from=%s category=%s priority=%s "
	         "attachments=%zu skipped=%zu ack=%s%s%s message_id=%s",
	         it->ticket_id[0] != '\0' ? it->ticket_id : "-", action,
	         it->uid, log_quote(it->from, q1, sizeof(q1)),
	         it->category[0] != '\0' ? it->category : "-",
	         it->priority[0] != '\0' ? it->priority : "-",
	         it->n_attachments, it->n_skipped,
	         it->ack[0] != '\0' ? it->ack : "none",
	         it->is_third_party ? " third_party=yes" : "",
	         it->is_reopened ? " reopened=yes" : "",
	         log_quote(it->message_id, q2, sizeof(q2)));
	if (it->n_skipped > 0 ||
	    (it->reason[0] != '\0' && it->parse_status == PARSER_TRUNCATED))
		log_warning("ticket=%s action=truncated uid=%u note=%s",
		            it->ticket_id, it->uid,
		            log_quote(it->reason, q3, sizeof(q3)));
}

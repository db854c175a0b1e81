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
	CHILD_EXIT_STORE = 70, /* store failed: nothing filed */
	CHILD_EXIT_BUSY = 71,  /* store busy past its retries */
	CHILD_EXIT_NOMEM = 72, /* out of memory while parsing */
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

/* child_main - parse and file every item, report, exit */
static _Noreturn void
child_main(const struct config *cfg, struct parser *parser, const char *mailbox,
           uint32_t uidvalidity, struct ingest_item *items, size_t n, int fd)
{
	struct store_settings ss;
	struct store *st = NULL;
	char err[256];
	size_t i;
	int rc;

	limit_child();
	glue_store_settings(cfg, &ss);
	if (store_open(&ss, &st, err, sizeof(err)) != STORE_OK)
		_exit(CHILD_EXIT_STORE);
	if (n > 1 && store_begin(st, err, sizeof(err)) != STORE_OK)
		_exit(CHILD_EXIT_STORE);
	for (i = 0; i < n; i++) {
		struct ingest_item *it = &items[i];
		struct parser_msg *pm = NULL;
		struct store_result r;
		struct glue_msg g;
		char perr[160] = "";
		int ps;

		ps =
		    parser_parse_prefix(parser, it->data, it->len,
		                        it->full_size, &pm, perr, sizeof(perr));
		if (ps == PARSER_NOMEM)
			_exit(CHILD_EXIT_NOMEM);
		it->parse_status = ps;
		if (glue_store_msg(pm, it->data, it->len, mailbox, uidvalidity,
		                   it->uid, pm == NULL ? perr : NULL, &g) != 0)
			_exit(CHILD_EXIT_NOMEM);
		g.sm.reprocess_of = it->reprocess_of;
		memset(&r, 0, sizeof(r));
		rc = store_file(st, &g.sm, &r, err, sizeof(err));
		glue_msg_clear(&g);
		if (rc == STORE_BUSY)
			_exit(CHILD_EXIT_BUSY);
		if (rc != STORE_OK && rc != STORE_DUPLICATE)
			_exit(CHILD_EXIT_STORE);
		fill_item(it, &r, pm);
		if (pm == NULL)
			copy_str(it->reason, sizeof(it->reason), perr);
		parser_msg_free(&pm);
	}
	if (n > 1 && store_commit(st, err, sizeof(err)) != STORE_OK)
		_exit(CHILD_EXIT_STORE);
	store_close(&st);
	for (i = 0; i < n; i++) {
		struct record rec;

		memset(&rec, 0, sizeof(rec));
		rec.index = (uint32_t)i;
		rec.item = items[i];
		if (write_all(fd, &rec, sizeof(rec)) != 0)
			_exit(CHILD_EXIT_OK); /* filed; parent retries */
	}
	{
		struct record end;

		memset(&end, 0, sizeof(end));
		end.index = END_MARKER;
		(void)write_all(fd, &end, sizeof(end));
	}
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

/*
 * run_child - one child over items; copies outcomes into items on success.
 * *why gets a reason when the child crashed.
 */
static enum child_result
run_child(const struct config *cfg, struct parser *parser, const char *mailbox,
          uint32_t uidvalidity, struct ingest_item *items, size_t n, char *why,
          size_t whylen)
{
	struct record rec;
	size_t got = 0, have = 0;
	bool ended = false, timed_out = false;
	double deadline;
	int fds[2], status = 0;
	pid_t pid;

	if (pipe(fds) != 0) {
		(void)snprintf(why, whylen, "pipe: %s", strerror(errno));
		return CHILD_STORE_FAILED;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		(void)snprintf(why, whylen, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return CHILD_STORE_FAILED;
	}
	if (pid == 0) {
		close(fds[0]);
		child_main(cfg, parser, mailbox, uidvalidity, items, n, fds[1]);
	}
	close(fds[1]);
	deadline = now_s() + INGEST_TIMEOUT_BASE_S +
	           (double)n * INGEST_TIMEOUT_PER_MSG_S;
	while (!ended) {
		struct pollfd pfd = {fds[0], POLLIN, 0};
		double left = deadline - now_s();
		ssize_t r;
		int pr;

		if (left <= 0) {
			timed_out = true;
			(void)kill(pid, SIGKILL);
			break;
		}
		pr = poll(&pfd, 1, (int)(left * 1000) + 1);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			continue;
		r = read(fds[0], (char *)&rec + have, sizeof(rec) - have);
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
			struct ingest_item *it = &items[rec.index];
			const char *data = it->data;
			size_t len = it->len, full = it->full_size;
			int64_t rep = it->reprocess_of;
			uint32_t uid = it->uid;

			*it = rec.item;
			it->data = data;
			it->len = len;
			it->full_size = full;
			it->reprocess_of = rep;
			it->uid = uid;
			got++;
		}
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
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

/* ingest_batch - the whole batch, with crash isolation */
int
ingest_batch(const struct config *cfg, struct parser *parser,
             struct store *store, const char *mailbox, uint32_t uidvalidity,
             struct ingest_item *items, size_t n, char *err, size_t errlen)
{
	char why[160] = "";
	int tries = 0;
	size_t i;

	if (n == 0)
		return INGEST_OK;
	for (;;) {
		enum child_result cr =
		    run_child(cfg, parser, mailbox, uidvalidity, items, n, why,
		              sizeof(why));

		if (cr == CHILD_OK)
			return INGEST_OK;
		if (cr == CHILD_STORE_FAILED) {
			(void)snprintf(err, errlen, "%s", why);
			return INGEST_STORE_FAILED;
		}
		if (cr == CHILD_BUSY) {
			if (++tries > 3) {
				(void)snprintf(err, errlen, "%s", why);
				return INGEST_STORE_FAILED;
			}
			(void)usleep(200000u * (unsigned)tries);
			continue;
		}
		break; /* crashed */
	}
	if (n == 1)
		return quarantine_in_parent(cfg, store, mailbox, uidvalidity,
		                            &items[0], why, err, errlen);
	log_warning("batch action=isolate messages=%zu reason=\"%s\"", n, why);
	for (i = 0; i < n; i++) {
		int rc = ingest_batch(cfg, parser, store, mailbox, uidvalidity,
		                      &items[i], 1, err, errlen);

		if (rc != INGEST_OK)
			return rc;
	}
	return INGEST_OK;
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

/* SPDX-License-Identifier: MIT */
/*
 * ingest.h - filing raw messages exactly alike for ticketd (a fetched IMAP
 * batch) and ticketctl ingest (files or a pipe).  Parsing runs in a forked
 * child under memory and CPU limits, and the child files the whole batch in
 * one store transaction; the parent only collects one outcome per message.
 * A child that crashes or hangs (libetpan 1.9.4 has inputs that do either)
 * has committed nothing: the batch is retried one message per child, and
 * the message that still kills its child is filed as a quarantine record by
 * the parent, which never parses.  SIGPIPE must be ignored by the caller.
 */
#ifndef DAEMON_INGEST_H
#define DAEMON_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "parser/parser.h"
#include "store/store.h"

enum ingest_status {
	INGEST_OK = 0,       /* every item has an outcome */
	INGEST_STORE_FAILED, /* nothing filed: back off, do not flag */
	INGEST_NOMEM,
};

/* Wall-clock seconds a child may take: base plus per message. */
#define INGEST_TIMEOUT_BASE_S 30
#define INGEST_TIMEOUT_PER_MSG_S 2
/* CPU seconds a child may use (RLIMIT_CPU). */
#define INGEST_CPU_LIMIT_S 60
/* Address space a child may add to what it inherits (RLIMIT_AS). */
#define INGEST_MEM_EXTRA (512u * 1024 * 1024)

/* Raw bytes a child parses ahead, before it may file (memory bound). */
#define INGEST_AHEAD_MAX (32u * 1024 * 1024)

/* One message in, one outcome out. */
struct ingest_item {
	/* in (borrowed) */
	uint32_t uid; /* 0 when not from IMAP */
	const char *data;
	size_t len;
	size_t full_size;     /* > len: data is a prefix (oversized) */
	int64_t reprocess_of; /* quarantine record being re-filed, or 0 */
	/* out */
	int outcome; /* enum store_outcome */
	bool is_duplicate;
	bool is_third_party;
	bool is_reopened;
	int match;        /* enum store_match */
	int parse_status; /* enum parser_status; -1 when not parsed */
	char ticket_id[STORE_TICKET_ID_MAX];
	char ack[80];     /* "queued", "suppressed:<why>" or "" */
	char reason[160]; /* quarantine reason or parse notes */
	char from[128];
	char message_id[128];
	char category[32];
	char priority[16];
	size_t n_attachments;
	size_t n_skipped;
};

/*
 * ingest_batch - parse and file n items (borrowed) from mailbox (NULL when
 * not from IMAP) in one transaction, filling each item's outcome.  cfg and
 * parser are borrowed; the child opens its own store connection from cfg.
 * store (borrowed, the caller's connection) is used only to file a
 * quarantine record for a message that crashed its child.  err gets one
 * line on failure.  The same as ingest_job_init, ingest_start and
 * ingest_finish.
 */
int ingest_batch(const struct config *cfg, struct parser *parser,
                 struct store *store, const char *mailbox, uint32_t uidvalidity,
                 struct ingest_item *items, size_t n, char *err, size_t errlen);

/*
 * A batch in flight, for a caller that overlaps batches (ticketd): the
 * child of batch N+1 parses and writes its files while batch N is still
 * being filed, and waits at a gate; only ingest_finish (or ingest_go)
 * lets it take the write lock, so batches are filed whole and in order.
 * Everything is borrowed and must outlive the job.
 */
struct ingest_job {
	const struct config *cfg;
	struct parser *parser;
	const char *mailbox;
	uint32_t uidvalidity;
	struct ingest_item *items;
	size_t n;
	/* private */
	pid_t pid;
	int fd;   /* the child's report */
	int gate; /* write 'g' to let it file, 's' to stop it */
};

/* ingest_job_init - a job over items, not yet started. */
void ingest_job_init(struct ingest_job *job, const struct config *cfg,
                     struct parser *parser, const char *mailbox,
                     uint32_t uidvalidity, struct ingest_item *items, size_t n);

/*
 * ingest_start - fork the job's child, which parses and prepares every
 * message and then waits.  INGEST_OK, or INGEST_STORE_FAILED (no child).
 */
int ingest_start(struct ingest_job *job, char *err, size_t errlen);

/* ingest_go - let a started child file now (ingest_finish does it too). */
void ingest_go(struct ingest_job *job);

/*
 * ingest_finish - let the child file, wait for it, and handle a busy store
 * (up to three new children), a crash (one child per message; a message
 * that still kills its child is filed by the parent as a quarantine
 * record, in store) or a store failure (INGEST_STORE_FAILED: nothing of
 * this batch was filed).  The job is over afterwards.
 */
int ingest_finish(struct ingest_job *job, struct store *store, char *err,
                  size_t errlen);

/*
 * ingest_abort - end a started job without filing: a child still at the
 * gate is told to stop (it removes its temp files); one already let go is
 * killed, which its transaction survives as a rollback.
 */
void ingest_abort(struct ingest_job *job);

/* ingest_log_item - the log line of one outcome (SPEC §9). */
void ingest_log_item(const struct ingest_item *it);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * ticketd.c - the daemon: options, signals, config (re)loading, and the
 * single-threaded service loop that connects to IMAP, files new mail in
 * fetched batches (daemon/ingest.c), flags and moves it only after the
 * commit, drains the ack outbox over SMTP, logs overdue tickets, and waits
 * with IDLE (or polls).  Signal handlers only set flags; the loop acts.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "ack.h"
#include "common/buf.h"
#include "config.h"
#include "glue.h"
#include "imap.h"
#include "ingest.h"
#include "log.h"
#include "smtp.h"
#include "version.h"

#define DEFAULT_CONFIG "/etc/ticketd/ticketd.conf"
/* Reconnect backoff: first wait and cap, seconds. */
#define BACKOFF_FIRST_S 1
#define BACKOFF_MAX_S 300
/* Acks sent per loop turn before new mail is looked at again. */
#define OUTBOX_TURN_MAX 50
/* Pause after the store failed to file a batch (disk full), seconds. */
#define STORE_RETRY_S 30
/* Longest single wait, so outbox retries and overdue checks run. */
#define WAIT_MAX_MS (60 * 1000)

static volatile sig_atomic_t got_term;
static volatile sig_atomic_t got_hup;

/* The daemon's state: everything built from one config. */
struct daemon {
	struct config *cfg;    /* owned */
	struct parser *parser; /* owned */
	struct store *store;   /* owned */
	struct smtp *smtp;     /* owned; NULL without [smtp] url */
	char *template;        /* owned ack template text */
	char *imap_password;   /* owned, wiped on free */
	char *smtp_password;   /* owned, wiped on free */
	char from_addr[256];
	struct imap *imap; /* owned; NULL while disconnected */
	unsigned backoff_s;
	time_t next_connect;
	bool is_ready_sent;
	uint64_t watchdog_usec;
	time_t last_poll;
	time_t store_retry_at; /* no filing before this (disk full) */
	unsigned long filed, acked, quarantined, failed_acks;
};

/* on_signal - set a flag */
static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
}

/* wipe_free - free a secret */
static void
wipe_free(char **p)
{
	if (*p != NULL) {
		explicit_bzero(*p, strlen(*p));
		free(*p);
		*p = NULL;
	}
}

/* daemon_clear - free everything but the IMAP handle */
static void
daemon_clear(struct daemon *d)
{
	smtp_free(&d->smtp);
	store_close(&d->store);
	parser_free(&d->parser);
	config_free(&d->cfg);
	free(d->template);
	d->template = NULL;
	wipe_free(&d->imap_password);
	wipe_free(&d->smtp_password);
}

/*
 * daemon_build - load path into a fresh state in *d.  Returns 0, or an
 * EX_* code after logging why; *d is untouched on failure.
 */
static int
daemon_build(const char *path, struct daemon *d)
{
	struct daemon n;
	struct store_settings ss;
	char err[512];
	FILE *mem;
	char *errs = NULL;
	size_t errs_len = 0;
	int rc;

	memset(&n, 0, sizeof(n));
	mem = open_memstream(&errs, &errs_len);
	if (mem == NULL)
		return EX_OSERR;
	rc = config_load(path, &n.cfg, mem);
	fclose(mem);
	if (rc != 0) {
		char *line, *save = NULL;

		for (line = strtok_r(errs, "\n", &save); line != NULL;
		     line = strtok_r(NULL, "\n", &save))
			log_err("config action=rejected error=\"%s\"", line);
		free(errs);
		return EX_CONFIG;
	}
	free(errs);
	if (glue_parser_new(n.cfg, &n.parser, err, sizeof(err)) != PARSER_OK) {
		log_err("config action=rejected file=%s error=\"%s\"", path,
		        err);
		goto config_fail;
	}
	if (n.cfg->imap_host[0] != '\0') {
		n.imap_password =
		    config_read_secret(n.cfg, "imap", err, sizeof(err));
		if (n.imap_password == NULL && err[0] != '\0') {
			log_err("config action=rejected error=\"imap password: "
			        "%s\"",
			        err);
			goto config_fail;
		}
	}
	if (n.cfg->smtp_url[0] != '\0') {
		struct smtp_settings sm;

		n.smtp_password =
		    config_read_secret(n.cfg, "smtp", err, sizeof(err));
		if (n.smtp_password == NULL && err[0] != '\0') {
			log_err("config action=rejected error=\"smtp password: "
			        "%s\"",
			        err);
			goto config_fail;
		}
		if (ack_from_address(n.cfg->smtp_from, n.from_addr,
		                     sizeof(n.from_addr)) != 0) {
			log_err(
			    "config action=rejected error=\"[smtp] from has "
			    "no usable address\"");
			goto config_fail;
		}
		memset(&sm, 0, sizeof(sm));
		sm.url = n.cfg->smtp_url;
		sm.user = n.cfg->smtp_user;
		sm.password = n.smtp_password;
		sm.ca_file = n.cfg->smtp_ca_file;
		sm.timeout_s = n.cfg->smtp_timeout;
		sm.from_addr = n.from_addr;
		if (smtp_new(&sm, &n.smtp, err, sizeof(err)) != SMTP_OK) {
			log_err("config action=rejected error=\"smtp: %s\"",
			        err);
			goto config_fail;
		}
	}
	if (ack_template_load(n.cfg->ack_template, &n.template, err,
	                      sizeof(err)) != ACK_OK) {
		log_err("config action=rejected error=\"ack template: %s\"",
		        err);
		goto config_fail;
	}
	glue_store_settings(n.cfg, &ss);
	if (store_open(&ss, &n.store, err, sizeof(err)) != STORE_OK) {
		log_err("store action=open_failed dir=%s error=\"%s\"",
		        n.cfg->state_dir, err);
		daemon_clear(&n);
		return EX_CANTCREAT;
	}
	n.imap = d->imap;
	n.backoff_s = BACKOFF_FIRST_S;
	n.is_ready_sent = d->is_ready_sent;
	n.watchdog_usec = d->watchdog_usec;
	n.filed = d->filed;
	n.acked = d->acked;
	n.quarantined = d->quarantined;
	n.failed_acks = d->failed_acks;
	daemon_clear(d);
	*d = n;
	return 0;
config_fail:
	daemon_clear(&n);
	return EX_CONFIG;
}

/* watchdog_ping - WATCHDOG=1, from every unit of work that may take long */
static void
watchdog_ping(const struct daemon *d)
{
	if (d->watchdog_usec > 0)
		(void)sd_notify(0, "WATCHDOG=1");
}

/* notify_status - STATUS= with the counters */
static void
notify_status(const struct daemon *d)
{
	char when[32] = "never";
	struct tm tm;

	if (d->last_poll != 0 && localtime_r(&d->last_poll, &tm) != NULL)
		(void)strftime(when, sizeof(when), "%H:%M:%S", &tm);
	(void)sd_notifyf(
	    0,
	    "STATUS=filed %lu, acked %lu, ack failures %lu, quarantined %lu, "
	    "imap %s, last poll %s",
	    d->filed, d->acked, d->failed_acks, d->quarantined,
	    d->imap != NULL ? "connected" : "disconnected", when);
}

/*
 * disconnect - drop the IMAP handle and schedule a reconnect; a later
 * retry time already set (a store failure waits longer) is kept
 */
static void
disconnect(struct daemon *d, const char *why)
{
	unsigned jitter;
	time_t now = time(NULL);

	imap_logout_free(&d->imap);
	jitter =
	    d->backoff_s > 1 ? (unsigned)rand() % (d->backoff_s / 2 + 1) : 0;
	if (d->next_connect < now + (time_t)(d->backoff_s + jitter))
		d->next_connect = now + (time_t)(d->backoff_s + jitter);
	log_warning("imap action=disconnected reason=\"%s\" retry_in=%lds", why,
	            (long)(d->next_connect - now));
	d->backoff_s =
	    d->backoff_s * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : d->backoff_s * 2;
	notify_status(d);
}

/* do_connect - connect and select, or schedule a retry */
static void
do_connect(struct daemon *d)
{
	struct imap_settings s;
	char err[512], q[LOG_VALUE_MAX + 8];
	int rc;

	memset(&s, 0, sizeof(s));
	s.host = d->cfg->imap_host;
	s.port = (unsigned)(d->cfg->imap_port != 0 ? d->cfg->imap_port
	                    : d->cfg->imap_tls == CONFIG_TLS_IMPLICIT ? 993
	                                                              : 143);
	s.tls = (enum config_tls)d->cfg->imap_tls;
	s.user = d->cfg->imap_user;
	s.password = d->imap_password != NULL ? d->imap_password : "";
	s.ca_file = d->cfg->imap_ca_file;
	s.timeout_s = d->cfg->imap_timeout;
	s.mailbox = d->cfg->imap_mailbox;
	rc = imap_connect(&s, &d->imap, err, sizeof(err));
	if (rc != IMAP_OK) {
		d->imap = NULL;
		if (rc == IMAP_PERMFAIL && d->backoff_s < 60)
			d->backoff_s = 60;
		log_err("imap action=connect_failed host=%s status=%s error=%s",
		        d->cfg->imap_host, imap_status_name(rc),
		        log_quote(err, q, sizeof(q)));
		disconnect(d, "connect failed");
		return;
	}
	d->backoff_s = BACKOFF_FIRST_S;
	log_notice("imap action=connected host=%s mailbox=%s uidvalidity=%u "
	           "idle=%s move=%s",
	           d->cfg->imap_host, d->cfg->imap_mailbox,
	           imap_uidvalidity(d->imap),
	           imap_has_idle(d->imap) ? "yes" : "no",
	           imap_has_move(d->imap) ? "yes" : "no");
	if (!d->is_ready_sent) {
		(void)sd_notify(0, "READY=1");
		d->is_ready_sent = true;
	}
	notify_status(d);
}

/*
 * move_filed - move filed mail to processed_folder and quarantined mail to
 * quarantine_folder, each when its folder is set; IMAP status, err filled
 */
static int
move_filed(struct daemon *d, const uint32_t *done, size_t nd,
           const uint32_t *quar, size_t nq, char *err, size_t errlen)
{
	bool left_deleted = false;
	int rc = IMAP_OK;

	if (nd > 0 && d->cfg->imap_processed_folder[0] != '\0')
		rc = imap_move(d->imap, done, nd, d->cfg->imap_processed_folder,
		               &left_deleted, err, errlen);
	if (rc == IMAP_OK && nq > 0 &&
	    d->cfg->imap_quarantine_folder[0] != '\0')
		rc =
		    imap_move(d->imap, quar, nq, d->cfg->imap_quarantine_folder,
		              &left_deleted, err, errlen);
	if (left_deleted)
		log_warning("imap action=left_deleted reason=\"server has no "
		            "UIDPLUS; messages stay flagged \\\\Deleted\"");
	return rc;
}

/* after_filing - flag and move a filed batch on the server */
static int
after_filing(struct daemon *d, struct ingest_item *items, size_t n)
{
	uint32_t *done, *quar;
	size_t nd = 0, nq = 0, i;
	char err[512], q[LOG_VALUE_MAX + 8];
	bool seen_only = false;
	int rc = IMAP_OK;

	done = calloc(n, sizeof(*done));
	quar = calloc(n, sizeof(*quar));
	if (done == NULL || quar == NULL) {
		free(done);
		free(quar);
		return IMAP_NOMEM;
	}
	for (i = 0; i < n; i++) {
		if (items[i].outcome == STORE_OUTCOME_QUARANTINE)
			quar[nq++] = items[i].uid;
		else
			done[nd++] = items[i].uid;
	}
	rc = imap_flag(d->imap, done, nd, &seen_only, err, sizeof(err));
	if (rc == IMAP_OK && nq > 0)
		rc = imap_flag(d->imap, quar, nq, &seen_only, err, sizeof(err));
	if (rc == IMAP_OK)
		rc = move_filed(d, done, nd, quar, nq, err, sizeof(err));
	if (rc != IMAP_OK)
		log_err("imap action=flag_failed messages=%zu error=%s", n,
		        log_quote(err, q, sizeof(q)));
	else
		log_debug("imap action=flagged messages=%zu quarantined=%zu",
		          nd, nq);
	free(done);
	free(quar);
	return rc;
}

/* One fetched batch on its way: fetched, parsing, filing, flagging. */
struct batch {
	struct imap_msg *msgs;
	struct ingest_item *items;
	size_t n;
	struct ingest_job job;
};

/* batch_free - free b's messages and items */
static void
batch_free(struct batch *b)
{
	free(b->items);
	imap_msgs_free(&b->msgs, b->n);
	memset(b, 0, sizeof(*b));
}

/* batch_fetch - fetch uids into b (b->n is 0 when none came) */
static int
batch_fetch(struct daemon *d, const uint32_t *uids, size_t cnt,
            uint32_t uidvalidity, struct batch *b)
{
	char err[512], q[LOG_VALUE_MAX + 8];
	size_t nm = 0, i;
	int rc;

	memset(b, 0, sizeof(*b));
	rc = imap_fetch(d->imap, uids, cnt, d->cfg->message_max, &b->msgs, &nm,
	                err, sizeof(err));
	if (rc != IMAP_OK) {
		log_err("imap action=fetch_failed error=%s",
		        log_quote(err, q, sizeof(q)));
		return rc;
	}
	if (nm == 0)
		return IMAP_OK;
	b->items = calloc(nm, sizeof(*b->items));
	if (b->items == NULL) {
		imap_msgs_free(&b->msgs, nm);
		return IMAP_NOMEM;
	}
	for (i = 0; i < nm; i++) {
		b->items[i].uid = b->msgs[i].uid;
		b->items[i].data = b->msgs[i].data;
		b->items[i].len = b->msgs[i].len;
		b->items[i].full_size =
		    b->msgs[i].is_oversized ? b->msgs[i].size : b->msgs[i].len;
	}
	b->n = nm;
	ingest_job_init(&b->job, d->cfg, d->parser, d->cfg->imap_mailbox,
	                uidvalidity, b->items, nm);
	return IMAP_OK;
}

/* store_failed - log a batch that was not filed and pause filing */
static void
store_failed(struct daemon *d, size_t n, const char *err)
{
	char q[LOG_VALUE_MAX + 8];

	log_err("store action=file_failed messages=%zu error=%s", n,
	        log_quote(err, q, sizeof(q)));
	/* nothing flagged: the same mail is fetched again, on the same
	   connection, after a pause */
	d->store_retry_at = time(NULL) + STORE_RETRY_S;
}

/*
 * batch_finish - wait until b is filed, let the next batch's child (then,
 * may be NULL) file, log b's outcomes, and flag and move b unless !do_flag
 * (*flag_rc gets the IMAP status).  False when b was not filed: then is
 * stopped too, both are freed and filing pauses.
 */
static bool
batch_finish(struct daemon *d, struct batch *b, struct batch *then,
             bool do_flag, int *flag_rc)
{
	char err[512];
	size_t i;

	*flag_rc = IMAP_OK;
	if (ingest_finish(&b->job, d->store, err, sizeof(err)) != INGEST_OK) {
		store_failed(d, b->n, err);
		if (then != NULL && then->n > 0) {
			ingest_abort(&then->job);
			batch_free(then);
		}
		batch_free(b);
		return false;
	}
	if (then != NULL && then->n > 0)
		ingest_go(&then->job);
	for (i = 0; i < b->n; i++) {
		ingest_log_item(&b->items[i]);
		if (b->items[i].outcome == STORE_OUTCOME_QUARANTINE)
			d->quarantined++;
		else if (!b->items[i].is_duplicate)
			d->filed++;
	}
	watchdog_ping(d);
	if (do_flag)
		*flag_rc = after_filing(d, b->items, b->n);
	batch_free(b);
	notify_status(d);
	return true;
}

/*
 * move_leftovers - move messages that were filed and flagged but are still
 * in the mailbox (the move failed, or ticketd stopped between the flag and
 * the move) to the folder their outcome calls for.  Only with
 * processed_folder set: otherwise filed mail stays in the mailbox anyway.
 * Only ticketd sets $Ticketed, and only after the commit.
 */
static int
move_leftovers(struct daemon *d, uint32_t uidvalidity)
{
	uint32_t *uids = NULL, *done = NULL, *quar = NULL;
	size_t n = 0, nd = 0, nq = 0, i;
	char err[512], q[LOG_VALUE_MAX + 8];
	int *outcomes = NULL;
	int rc;

	if (d->cfg->imap_processed_folder[0] == '\0' ||
	    !imap_has_keywords(d->imap))
		return IMAP_OK;
	rc = imap_search_ticketed(d->imap, &uids, &n, err, sizeof(err));
	if (rc != IMAP_OK) {
		log_err("imap action=search_failed error=%s",
		        log_quote(err, q, sizeof(q)));
		return rc;
	}
	if (n == 0)
		return IMAP_OK;
	outcomes = calloc(n, sizeof(*outcomes));
	done = calloc(n, sizeof(*done));
	quar = calloc(n, sizeof(*quar));
	if (outcomes == NULL || done == NULL || quar == NULL) {
		rc = IMAP_NOMEM;
		goto out;
	}
	if (store_uid_outcomes(d->store, d->cfg->imap_mailbox, uidvalidity,
	                       uids, n, outcomes, err,
	                       sizeof(err)) != STORE_OK) {
		/* the store is not readable now: the next sync tries again */
		log_err("store action=lookup_failed error=%s",
		        log_quote(err, q, sizeof(q)));
		goto out;
	}
	/* A UID the store does not know was a duplicate (filed before under
	   another UID, so its own is not recorded): it belongs with the
	   processed mail. */
	for (i = 0; i < n; i++) {
		if (outcomes[i] == STORE_OUTCOME_QUARANTINE)
			quar[nq++] = uids[i];
		else
			done[nd++] = uids[i];
	}
	if (d->cfg->imap_quarantine_folder[0] == '\0')
		nq = 0; /* they stay where they are: count only what moves */
	rc = move_filed(d, done, nd, quar, nq, err, sizeof(err));
	if (rc != IMAP_OK)
		log_err("imap action=flag_failed messages=%zu error=%s", n,
		        log_quote(err, q, sizeof(q)));
	else
		log_notice("imap action=moved_leftovers messages=%zu "
		           "quarantined=%zu",
		           nd, nq);
out:
	free(uids);
	free(outcomes);
	free(done);
	free(quar);
	return rc;
}

/*
 * sync_mailbox - file every new message; IMAP_OK or a failure status.
 * Batches overlap: while batch N is filed by its child, the parent fetches
 * batch N+1 and starts its child (which parses and waits), then flags and
 * moves N while N+1 is filed.  Each batch is still filed whole, in order,
 * and flagged only after its commit.
 */
static int
sync_mailbox(struct daemon *d)
{
	uint32_t *uids = NULL, uidvalidity, stored_v = 0, last = 0;
	struct batch cur, next;
	size_t n = 0, off;
	char err[512], q[LOG_VALUE_MAX + 8];
	bool is_flag_ok = true;
	int rc, frc;

	memset(&cur, 0, sizeof(cur));
	uidvalidity = imap_uidvalidity(d->imap);
	if (store_mailbox_get(d->store, d->cfg->imap_mailbox, &stored_v, &last,
	                      err, sizeof(err)) != STORE_OK)
		stored_v = 0;
	if (stored_v != 0 && stored_v != uidvalidity) {
		log_warning("imap action=uidvalidity_changed mailbox=%s old=%u "
		            "new=%u",
		            d->cfg->imap_mailbox, stored_v, uidvalidity);
		last = 0;
	} else if (stored_v == 0) {
		last = 0;
	}
	/*
	 * With $Ticketed available, search the whole mailbox: a message that
	 * was filed but not flagged (killed between the commit and the STORE,
	 * or the STORE failed) is at or below the saved last UID; the store
	 * recognises it by its UID and it is flagged and moved now.
	 */
	if (imap_has_keywords(d->imap))
		last = 0;
	rc = imap_search_new(d->imap, last, &uids, &n, err, sizeof(err));
	if (rc != IMAP_OK) {
		log_err("imap action=search_failed error=%s",
		        log_quote(err, q, sizeof(q)));
		return rc;
	}
	d->last_poll = time(NULL);
	for (off = 0; off < n && got_term == 0;
	     off += (size_t)d->cfg->imap_batch) {
		size_t cnt = n - off < (size_t)d->cfg->imap_batch
		                 ? n - off
		                 : (size_t)d->cfg->imap_batch;

		rc = batch_fetch(d, uids + off, cnt, uidvalidity, &next);
		if (rc != IMAP_OK)
			break;
		if (next.n == 0)
			continue;
		if (ingest_start(&next.job, err, sizeof(err)) != INGEST_OK) {
			store_failed(d, next.n, err);
			batch_free(&next);
			break;
		}
		if (cur.n > 0) {
			if (!batch_finish(d, &cur, &next, is_flag_ok, &frc))
				goto out; /* both dropped: refetched later */
			if (frc != IMAP_OK) {
				rc = frc;
				is_flag_ok = false;
			}
		} else {
			ingest_go(&next.job);
		}
		cur = next;
		if (!is_flag_ok)
			break;
	}
	/* the batch in hand is filed (also on SIGTERM), then flagged if the
	   connection still works */
	if (cur.n > 0) {
		bool do_flag = is_flag_ok && !imap_is_dead(d->imap);

		if (batch_finish(d, &cur, NULL, do_flag, &frc) && do_flag &&
		    rc == IMAP_OK)
			rc = frc;
	}
	if (rc == IMAP_OK && got_term == 0)
		rc = move_leftovers(d, uidvalidity);
out:
	free(uids);
	return rc;
}

/* send_one - render and send one ack; returns false to stop draining */
static bool
send_one(struct daemon *d, struct store_ack *a)
{
	struct ack_fields f;
	struct smtp_result r;
	struct buf msg;
	char err[512], q1[LOG_VALUE_MAX + 8], q2[LOG_VALUE_MAX + 8];
	bool given_up = false;
	int rc;

	memset(&f, 0, sizeof(f));
	f.ticket_id = a->ticket_id;
	f.to = a->to;
	f.from = d->cfg->smtp_from;
	f.summary = a->summary;
	f.category = a->category;
	f.priority = a->priority;
	f.due_at = a->due_at_iso;
	f.order_numbers = (const char *const *)(void *)a->order_numbers.v;
	f.n_order_numbers = a->order_numbers.n;
	f.attachments = (const char *const *)(void *)a->attachments.v;
	f.n_attachments = a->attachments.n;
	f.orig_message_id = a->in_reply_to;
	f.orig_references = (const char *const *)(void *)a->references.v;
	f.n_orig_references = a->references.n;
	f.show_formats = a->format == NULL || strcmp(a->format, "other") == 0;
	f.message_id = a->message_id;
	f.date = time(NULL);
	buf_init(&msg, 1024 * 1024);
	rc = ack_render(&f, d->template, &msg, err, sizeof(err));
	if (rc != ACK_OK) {
		log_err("ticket=%s action=ack_failed to=%s error=%s",
		        a->ticket_id, log_quote(a->to, q1, sizeof(q1)),
		        log_quote(err, q2, sizeof(q2)));
		(void)store_outbox_failed(d->store, a->id, true, err, &given_up,
		                          err, sizeof(err));
		buf_free(&msg);
		d->failed_acks++;
		return true;
	}
	memset(&r, 0, sizeof(r));
	rc = smtp_send(d->smtp, a->to, msg.data, msg.len, &r);
	buf_free(&msg);
	if (rc == SMTP_SENT) {
		if (store_outbox_sent(d->store, a->id, err, sizeof(err)) !=
		    STORE_OK)
			log_err("ticket=%s action=ack_record_failed error=%s",
			        a->ticket_id, log_quote(err, q1, sizeof(q1)));
		log_info("ticket=%s action=acked to=%s message_id=%s",
		         a->ticket_id, log_quote(a->to, q1, sizeof(q1)),
		         log_quote(a->message_id, q2, sizeof(q2)));
		d->acked++;
		return true;
	}
	(void)store_outbox_failed(d->store, a->id, rc == SMTP_PERMFAIL, r.error,
	                          &given_up, err, sizeof(err));
	d->failed_acks++;
	if (rc == SMTP_PERMFAIL || given_up)
		log_err("ticket=%s action=ack_failed to=%s code=%ld error=%s",
		        a->ticket_id, log_quote(a->to, q1, sizeof(q1)), r.code,
		        log_quote(r.error, q2, sizeof(q2)));
	else
		log_warning("ticket=%s action=ack_deferred to=%s code=%ld "
		            "attempts=%u error=%s",
		            a->ticket_id, log_quote(a->to, q1, sizeof(q1)),
		            r.code, a->attempts + 1,
		            log_quote(r.error, q2, sizeof(q2)));
	if (rc != SMTP_PERMFAIL && !given_up &&
	    (r.code == 0 || r.code == 421)) {
		/*
		 * The server as a whole is away (no connection, or 421): the
		 * acks behind this one wait as long as it does, so that they
		 * go out in order of creation once it is back.
		 */
		time_t delay = STORE_RETRY_FIRST_SECS;
		unsigned k;

		for (k = 0; k < a->attempts && delay < STORE_RETRY_MAX_SECS;
		     k++)
			delay *= 2;
		if (delay > STORE_RETRY_MAX_SECS)
			delay = STORE_RETRY_MAX_SECS;
		if (store_outbox_defer(d->store, time(NULL) + delay, NULL, err,
		                       sizeof(err)) != STORE_OK)
			log_err("outbox action=defer_failed error=%s",
			        log_quote(err, q1, sizeof(q1)));
	}
	/* a temporary failure usually hits every ack: wait for the retry */
	return rc == SMTP_PERMFAIL;
}

/*
 * drain_outbox - send due acks, a bounded number per turn; true when the
 * turn ended at its bound, so more may be due and the caller must not wait
 */
static bool
drain_outbox(struct daemon *d)
{
	int i;

	if (d->smtp == NULL)
		return false;
	for (i = 0; i < OUTBOX_TURN_MAX && got_term == 0; i++) {
		struct store_ack a;
		char err[256];
		int rc;

		memset(&a, 0, sizeof(a));
		rc = store_outbox_next(d->store, time(NULL), &a, err,
		                       sizeof(err));
		if (rc != STORE_OK) {
			store_ack_clear(&a);
			break;
		}
		watchdog_ping(d);
		if (!send_one(d, &a)) {
			store_ack_clear(&a);
			break;
		}
		store_ack_clear(&a);
	}
	notify_status(d);
	return i == OUTBOX_TURN_MAX;
}

/* log_overdue - warn once per ticket that passed its due time */
static void
log_overdue(struct daemon *d)
{
	struct store_ticket_summary *v = NULL;
	size_t n = 0, i;
	char err[256], q[LOG_VALUE_MAX + 8];

	if (store_overdue_unlogged(d->store, time(NULL), &v, &n, err,
	                           sizeof(err)) != STORE_OK)
		return;
	for (i = 0; i < n; i++)
		log_warning("ticket=%s action=overdue priority=%s due_at=%s "
		            "requester=%s",
		            v[i].id, v[i].priority, v[i].due_at_iso,
		            log_quote(v[i].requester, q, sizeof(q)));
	store_ticket_list_free(&v, n);
}

/* wait_ms - how long the loop may wait now */
static int
wait_ms(const struct daemon *d)
{
	long ms = WAIT_MAX_MS;

	if (d->watchdog_usec > 0 && (long)(d->watchdog_usec / 2000) < ms)
		ms = (long)(d->watchdog_usec / 2000);
	return (int)ms;
}

/* sleep_ms - interruptible sleep */
static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	(void)nanosleep(&ts, NULL);
}

/* service - the loop; returns the exit status */
static int
service(struct daemon *d, const char *path)
{
	time_t next_poll = 0;

	while (got_term == 0) {
		char err[512], q[LOG_VALUE_MAX + 8];
		bool has_new = false, has_more_acks;
		int rc;

		watchdog_ping(d);
		if (got_hup != 0) {
			got_hup = 0;
			(void)sd_notify(0, "RELOADING=1");
			if (daemon_build(path, d) == 0) {
				log_notice("config action=reloaded file=%s",
				           path);
				imap_logout_free(&d->imap);
				d->next_connect = 0;
			} else {
				log_err("config action=reload_failed file=%s "
				        "keeping=old",
				        path);
			}
			(void)sd_notify(0, "READY=1");
		}
		has_more_acks = drain_outbox(d);
		log_overdue(d);
		if (d->cfg->imap_host[0] == '\0') {
			if (!has_more_acks)
				sleep_ms(wait_ms(d));
			continue;
		}
		if (d->imap == NULL) {
			if (time(NULL) < d->next_connect) {
				sleep_ms(1000);
				continue;
			}
			do_connect(d);
			if (d->imap == NULL)
				continue;
			next_poll = 0;
		}
		if (time(NULL) >= next_poll &&
		    time(NULL) >= d->store_retry_at) {
			rc = sync_mailbox(d);
			if (rc != IMAP_OK || imap_is_dead(d->imap)) {
				disconnect(d, "mailbox sync failed");
				continue;
			}
			next_poll = time(NULL) + d->cfg->imap_poll_interval;
			has_more_acks = drain_outbox(d);
		}
		if (got_term != 0 || got_hup != 0)
			continue;
		if (d->cfg->imap_idle && imap_has_idle(d->imap)) {
			/* a backlog of acks: only look for new mail, no wait */
			rc = imap_idle_wait(d->imap,
			                    has_more_acks ? 0 : wait_ms(d),
			                    &has_new, err, sizeof(err));
			if (rc != IMAP_OK) {
				log_warning("imap action=idle_failed error=%s",
				            log_quote(err, q, sizeof(q)));
				disconnect(d, "idle failed");
				continue;
			}
			if (has_new)
				next_poll = 0;
		} else {
			int ms = (int)(next_poll - time(NULL)) * 1000;

			if (ms > wait_ms(d))
				ms = wait_ms(d);
			if (ms > 0 && !has_more_acks)
				sleep_ms(ms);
		}
	}
	(void)sd_notify(0, "STOPPING=1");
	log_notice("ticketd action=stopping filed=%lu acked=%lu", d->filed,
	           d->acked);
	imap_logout_free(&d->imap);
	return 0;
}

/* usage - help text */
static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: ticketd [-c FILE] [-f] [--check-config] "
	        "[--log-level LEVEL]\n"
	        "       ticketd --help | --version\n\n"
	        "  -c, --config FILE   configuration (default " DEFAULT_CONFIG
	        ")\n"
	        "  -f, --foreground    log to stderr with timestamps\n"
	        "  --check-config      validate the configuration and exit\n"
	        "  --log-level LEVEL   err|warning|notice|info|debug "
	        "(default info)\n\n"
	        "signals: SIGHUP reloads the configuration (a bad one is "
	        "rejected, the old\none stays); SIGTERM finishes the batch "
	        "in hand and exits 0.\n\n"
	        "configuration keys:\n");
	config_print_keys(f);
}

/* check_config - load, compile patterns, report */
static int
check_config(const char *path)
{
	struct config *cfg = NULL;
	struct parser *p = NULL;
	char err[256];

	if (config_load(path, &cfg, stderr) != 0)
		return EX_CONFIG;
	if (glue_parser_new(cfg, &p, err, sizeof(err)) != PARSER_OK) {
		fprintf(stderr, "%s: %s\n", path, err);
		config_free(&cfg);
		return EX_CONFIG;
	}
	parser_free(&p);
	config_free(&cfg);
	printf("%s: configuration ok\n", path);
	return 0;
}

/* main - options, signals, build, serve */
int
main(int argc, char **argv)
{
	const char *path = DEFAULT_CONFIG;
	struct daemon d;
	struct sigaction sa;
	int i, level = LOG_LEVEL_INFO, rc;
	bool is_check = false, is_fg = false;

	for (i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 ||
		     strcmp(argv[i], "--config") == 0) &&
		    i + 1 < argc) {
			path = argv[++i];
		} else if (strcmp(argv[i], "--check-config") == 0) {
			is_check = true;
		} else if (strcmp(argv[i], "-f") == 0 ||
		           strcmp(argv[i], "--foreground") == 0) {
			is_fg = true;
		} else if (strcmp(argv[i], "--log-level") == 0 &&
		           i + 1 < argc) {
			level = log_level_parse(argv[++i]);
			if (level < 0) {
				usage(stderr);
				return EX_USAGE;
			}
		} else if (strcmp(argv[i], "-h") == 0 ||
		           strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("ticketd " TICKETD_VERSION "\n");
			return 0;
		} else {
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (is_check)
		return check_config(path);
	log_init("ticketd",
	         is_fg                                 ? LOG_SINK_STDERR
	         : log_auto_sink() == LOG_SINK_JOURNAL ? LOG_SINK_JOURNAL
	                                               : LOG_SINK_SYSLOG,
	         level);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);
	srand((unsigned)time(NULL) ^ (unsigned)getpid());

	memset(&d, 0, sizeof(d));
	if (sd_watchdog_enabled(0, &d.watchdog_usec) <= 0)
		d.watchdog_usec = 0;
	rc = daemon_build(path, &d);
	if (rc != 0)
		return rc;
	log_notice("ticketd action=started version=" TICKETD_VERSION
	           " config=%s state_dir=%s",
	           path, d.cfg->state_dir);
	if (d.cfg->imap_host[0] == '\0' && !d.is_ready_sent) {
		(void)sd_notify(0, "READY=1");
		d.is_ready_sent = true;
	}
	rc = service(&d, path);
	daemon_clear(&d);
	return rc;
}

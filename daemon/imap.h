/* SPDX-License-Identifier: MIT */
/*
 * imap.h - ticketd's IMAP client (SPEC §1, §6, §8) on libetpan: connect
 * with implicit TLS, STARTTLS or (loopback tests only) plain text, verify
 * the server certificate with GnuTLS before LOGIN, select one mailbox, then
 * search, fetch, flag and move messages by UID and wait with IDLE.  It
 * knows nothing about tickets.  Private to daemon/.
 *
 * Status codes: every fallible call returns an enum imap_status.
 * IMAP_TEMPFAIL (network, timeout, BYE, a refusal that may pass later)
 * means: free the handle, reconnect with backoff.  IMAP_PERMFAIL (login
 * refused, mailbox missing, certificate rejected) means: log it and back off
 * long.  After a network, parse, BAD or BYE error the handle is dead: every
 * later call returns IMAP_TEMPFAIL at once, only imap_logout_free is
 * useful.  When err is not NULL it gets one sanitised line (never the
 * password) on failure and is left alone on success.
 *
 * Signals: SIGPIPE must be ignored (SIG_IGN) before imap_connect; the
 * library writes with plain send().  Every call blocks the asynchronous
 * signals while it talks to the server and restores the caller's mask
 * before it returns, so a SIGHUP or SIGTERM never breaks a command half
 * way; their handlers run when the call returns.  imap_idle_wait is the
 * exception: it waits with the caller's mask and returns early (IMAP_OK)
 * when a signal arrives.  Each network read or write waits at most
 * timeout_s; name resolution is the resolver's own.  One thread per handle.
 */
#ifndef DAEMON_IMAP_H
#define DAEMON_IMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

enum imap_status {
	IMAP_OK = 0,
	IMAP_TEMPFAIL, /* reconnect with backoff */
	IMAP_PERMFAIL, /* needs an admin: log, back off long */
	IMAP_NOMEM,
};

/* Default network timeout when settings.timeout_s is 0. */
#define IMAP_TIMEOUT_DEFAULT 30
/* imap_fetch's message_max when 0 is passed (SPEC §6: 25 MiB). */
#define IMAP_MESSAGE_MAX_DEFAULT ((size_t)25 * 1024 * 1024)
/* Most UIDs imap_search_new returns at once (the lowest ones first). */
#define IMAP_SEARCH_MAX 100000
/* Most UIDs in one imap_fetch call (one FETCH per round trip). */
#define IMAP_FETCH_MAX 1000
/* UIDs per STORE/MOVE command; longer lists are sent in chunks. */
#define IMAP_SET_MAX 1000
/*
 * A BODY[] literal may exceed its RFC822.SIZE by this much (servers count
 * bare LF differently) before it is treated as oversized.
 */
#define IMAP_FETCH_SLACK (64 * 1024)
/* Bodies are fetched in UID FETCH commands of about this many bytes. */
#define IMAP_FETCH_CHUNK (2 * 1024 * 1024)
/* Oversized messages: most header bytes fetched (SPEC §6 header_max). */
#define IMAP_OVERSIZED_HEADER_MAX (256 * 1024)
/* Oversized messages: most body (TEXT) bytes fetched. */
#define IMAP_OVERSIZED_TEXT_MAX (64 * 1024)
/* Longest IDLE wait: servers drop IDLE after 30 minutes (RFC 2177). */
#define IMAP_IDLE_MAX_MS (29 * 60 * 1000)

/* Connection settings; every pointer is borrowed during imap_connect. */
struct imap_settings {
	const char *host;    /* name or address; verified against the cert */
	unsigned port;       /* 1..65535 */
	enum config_tls tls; /* IMPLICIT, STARTTLS or NONE (tests only) */
	const char *user;
	const char *password; /* never logged, never copied */
	const char *ca_file;  /* PEM added to system trust; NULL/"" none */
	long timeout_s;       /* every read/write; 0 = IMAP_TIMEOUT_DEFAULT */
	const char *mailbox;  /* NULL/"" = INBOX; ASCII only */
};

struct imap;

/*
 * imap_connect - connect, verify the certificate (system trust plus
 * ca_file, host name always checked) before LOGIN, log in, learn the
 * capabilities and SELECT the mailbox (UIDVALIDITY and UIDNEXT, via STATUS
 * when SELECT lacks them).  On IMAP_OK *imap_r is a new handle the caller
 * frees with imap_logout_free; otherwise it is NULL.  IMAP_PERMFAIL: login
 * refused, certificate rejected (err has GnuTLS's reason), STARTTLS
 * missing, mailbox missing, bad settings, or SIGPIPE not ignored.
 */
int imap_connect(const struct imap_settings *s, struct imap **imap_r, char *err,
                 size_t errlen);

/* imap_uidvalidity - the selected mailbox's UIDVALIDITY (never 0). */
uint32_t imap_uidvalidity(const struct imap *imap);

/* imap_uidnext - UIDNEXT as of SELECT (0 when the server gave none). */
uint32_t imap_uidnext(const struct imap *imap);

/* imap_has_idle / imap_has_move / imap_has_uidplus - server capabilities. */
bool imap_has_idle(const struct imap *imap);
bool imap_has_move(const struct imap *imap);
bool imap_has_uidplus(const struct imap *imap);

/*
 * imap_has_keywords - PERMANENTFLAGS allows new keywords (\*), so
 * $Ticketed can be stored.  Without it imap_flag stores \Seen only and
 * the caller must rely on its stored last UID alone.
 */
bool imap_has_keywords(const struct imap *imap);

/* imap_is_dead - the handle failed and must be freed and reconnected. */
bool imap_is_dead(const struct imap *imap);

/*
 * imap_search_new - UIDs above last_uid without the $Ticketed keyword
 * (UID SEARCH UID last+1:* UNKEYWORD $Ticketed), ascending, duplicates
 * removed, at most IMAP_SEARCH_MAX of them (the lowest; search again after
 * filing them).  *uids_r is malloc'd (caller frees with free(); NULL when
 * *n_r is 0).
 */
int imap_search_new(struct imap *imap, uint32_t last_uid, uint32_t **uids_r,
                    size_t *n_r, char *err, size_t errlen);

/*
 * imap_search_ticketed - UIDs flagged $Ticketed but not \Deleted (UID
 * SEARCH KEYWORD $Ticketed UNDELETED): filed and flagged, but still in the
 * mailbox because the move failed or ticketd stopped before it.  Same
 * result rules as imap_search_new; needs imap_has_keywords.
 */
int imap_search_ticketed(struct imap *imap, uint32_t **uids_r, size_t *n_r,
                         char *err, size_t errlen);

/* One fetched message. */
struct imap_msg {
	uint32_t uid;
	size_t size; /* RFC822.SIZE as the server reported it */
	char *data;  /* owned; len bytes plus a NUL not counted */
	size_t len;
	/*
	 * The message is over message_max and data is only a prefix of it:
	 * its header block (at most IMAP_OVERSIZED_HEADER_MAX bytes) and,
	 * when the header came whole, the first IMAP_OVERSIZED_TEXT_MAX
	 * bytes of its body.  The rest stays on the server; the caller
	 * records the attachments past data as not fetched (SPEC §6).
	 */
	bool is_oversized;
};

/*
 * imap_fetch - fetch the n UIDs (borrowed; any order, at most
 * IMAP_FETCH_MAX) with BODY.PEEK[] (\Seen stays unset); message_max 0
 * means IMAP_MESSAGE_MAX_DEFAULT.  One round trip
 * asks every RFC822.SIZE; a second fetches the messages of at most
 * message_max bytes whole; a third fetches only header and body prefix of
 * the larger ones (BODY.PEEK[HEADER]<0.N> BODY.PEEK[TEXT]<0.N>, see struct
 * imap_msg).  Responses are matched by their UID item; UIDs that vanished
 * are simply missing from the result.  On IMAP_OK *msgs_r is a malloc'd
 * array of *n_r messages in ascending UID order (NULL when none) that the
 * caller frees with imap_msgs_free.  Memory: about twice the bytes fetched.
 */
int imap_fetch(struct imap *imap, const uint32_t *uids, size_t n,
               size_t message_max, struct imap_msg **msgs_r, size_t *n_r,
               char *err, size_t errlen);

/*
 * imap_msgs_free - free the n messages of a fetch result and the array.
 * Accepts NULL and *msgs == NULL; sets *msgs to NULL.
 */
void imap_msgs_free(struct imap_msg **msgs, size_t n);

/*
 * imap_flag - UID STORE +FLAGS.SILENT (\Seen $Ticketed) on the n UIDs
 * (borrowed; sent as ranges, IMAP_SET_MAX per command).  When the mailbox
 * takes no keywords only \Seen is stored, *seen_only_r (may be NULL) is set
 * and a warning is logged once per handle.  A tagged NO is IMAP_TEMPFAIL.
 */
int imap_flag(struct imap *imap, const uint32_t *uids, size_t n,
              bool *seen_only_r, char *err, size_t errlen);

/*
 * imap_move - move the n UIDs (borrowed) to folder (borrowed, ASCII):
 * UID MOVE when offered, else UID COPY, +FLAGS.SILENT (\Deleted) and UID
 * EXPUNGE of exactly those UIDs.  Without UIDPLUS the originals are left
 * \Deleted (a plain EXPUNGE would also remove other clients' deleted mail):
 * *left_deleted_r (may be NULL) is set and a warning logged once.  A
 * missing folder is created once and the command retried.  IMAP_PERMFAIL:
 * the folder is missing and cannot be created; a NO after that retry is
 * IMAP_TEMPFAIL.  The messages stay where they are on failure.
 */
int imap_move(struct imap *imap, const uint32_t *uids, size_t n,
              const char *folder, bool *left_deleted_r, char *err,
              size_t errlen);

/*
 * imap_idle_wait - wait up to timeout_ms (clamped to IMAP_IDLE_MAX_MS;
 * the caller passes less than half its watchdog interval) for new mail:
 * NOOP first (mail already announced returns at once), then IDLE, wait,
 * DONE.  *has_new_r is set when the server announced EXISTS or RECENT: run
 * imap_search_new.  The wait also ends early, with IMAP_OK and maybe
 * *has_new_r false, when a signal arrives (check your flags) or the server
 * sends anything else ("* OK Still here"): just call again.  Needs
 * imap_has_idle (else IMAP_PERMFAIL).  Any IDLE error is IMAP_TEMPFAIL and
 * kills the handle: the caller reconnects and, when IDLE keeps failing
 * (say 3 times in a row), falls back to polling with imap_noop; no counter
 * is kept here because a handle does not outlive its failure.  On a TLS
 * link, a record GnuTLS has already buffered is only seen at the next
 * wake-up (bounded by timeout_ms).
 */
int imap_idle_wait(struct imap *imap, int timeout_ms, bool *has_new_r,
                   char *err, size_t errlen);

/* imap_noop - NOOP, for polling mode and to prove the link is alive. */
int imap_noop(struct imap *imap, char *err, size_t errlen);

/*
 * imap_logout_free - LOGOUT when the handle is healthy, then close and
 * free it.  Accepts NULL and *imap == NULL; sets *imap to NULL.
 */
void imap_logout_free(struct imap **imap);

/* imap_status_name - static name of a status ("ok", "tempfail", ...). */
const char *imap_status_name(int status);

#endif

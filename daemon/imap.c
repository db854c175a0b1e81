/* SPDX-License-Identifier: MIT */
/*
 * imap.c - the IMAP client of imap.h on libetpan 1.9.4 (LIBRARIES §2).
 * libetpan neither verifies certificates nor bounds literals, and its IDLE
 * has known traps, so this file checks the chain with GnuTLS before LOGIN,
 * asks RFC822.SIZE before any body, and follows the NOOP/IDLE/poll/DONE
 * recipe of LIBRARIES §2.6.  It logs command outcomes at debug level with
 * server text quoted, and never the password.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/select.h>
#include <arpa/inet.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <libetpan/libetpan.h>

#include "imap.h"
#include "log.h"

/* Most certificates of a server chain we look at. */
#define CHAIN_MAX 16
/* The keyword that marks a filed message (SPEC §1). */
#define KEYWORD_TICKETED "$Ticketed"

struct imap {
	mailimap *m;   /* owned */
	char *host;    /* owned: SNI and certificate name */
	char *mailbox; /* owned: the selected mailbox */
	uint32_t uidvalidity;
	uint32_t uidnext;
	bool is_ip; /* host is an address literal: no SNI */
	bool is_dead;
	bool has_idle;
	bool has_move;
	bool has_uidplus;
	bool has_keywords;
	bool warned_keywords;
	bool warned_expunge;
};

/* One UID being fetched, with what the server said about it. */
struct want {
	uint32_t uid;
	bool has_size;
	bool is_oversized;
	uint32_t size;
	char *data; /* owned */
	size_t len;
	char *text; /* owned: oversized body prefix */
	size_t text_len;
	bool has_header;
	bool has_text;
};

/* imap_status_name - static name of a status */
const char *
imap_status_name(int status)
{
	switch (status) {
	case IMAP_OK:
		return "ok";
	case IMAP_TEMPFAIL:
		return "tempfail";
	case IMAP_PERMFAIL:
		return "permfail";
	case IMAP_NOMEM:
		return "nomem";
	default:
		return "unknown";
	}
}

/* sig_block - block asynchronous signals, saving the caller's mask */
static void
sig_block(sigset_t *old)
{
	sigset_t set;

	(void)sigfillset(&set);
	/* Synchronous faults must still kill us with a core. */
	(void)sigdelset(&set, SIGSEGV);
	(void)sigdelset(&set, SIGBUS);
	(void)sigdelset(&set, SIGFPE);
	(void)sigdelset(&set, SIGILL);
	(void)sigdelset(&set, SIGABRT);
	(void)sigdelset(&set, SIGTRAP);
	(void)sigdelset(&set, SIGSYS);
	(void)pthread_sigmask(SIG_BLOCK, &set, old);
}

/* sig_restore - put back the caller's signal mask */
static void
sig_restore(const sigset_t *old)
{
	(void)pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* sanitise - replace control bytes in s by spaces, in place */
static void
sanitise(char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
	}
}

/* set_err - format one sanitised line into err (if any) */
static void __attribute__((format(printf, 3, 4)))
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	sanitise(err);
}

/* response - the server's text of the last tagged reply, or "" */
static const char *
response(const struct imap *imap)
{
	if (imap->m == NULL || imap->m->imap_response == NULL)
		return "";
	return imap->m->imap_response;
}

/* is_fatal_rc - libetpan codes after which the connection is unusable */
static bool
is_fatal_rc(int r)
{
	switch (r) {
	case MAILIMAP_ERROR_BAD_STATE:
	case MAILIMAP_ERROR_STREAM:
	case MAILIMAP_ERROR_PARSE:
	case MAILIMAP_ERROR_CONNECTION_REFUSED:
	case MAILIMAP_ERROR_MEMORY:
	case MAILIMAP_ERROR_FATAL:
	case MAILIMAP_ERROR_PROTOCOL:
	case MAILIMAP_ERROR_DONT_ACCEPT_CONNECTION:
	case MAILIMAP_ERROR_STARTTLS:
	case MAILIMAP_ERROR_SSL:
	case MAILIMAP_ERROR_NEEDS_MORE_DATA:
		return true;
	default:
		return false;
	}
}

/* rc_reason - a short English reason for a libetpan code */
static const char *
rc_reason(int r)
{
	switch (r) {
	case MAILIMAP_ERROR_STREAM:
		return "connection lost or timed out";
	case MAILIMAP_ERROR_PARSE:
		return "unparsable server reply";
	case MAILIMAP_ERROR_CONNECTION_REFUSED:
		return "cannot connect";
	case MAILIMAP_ERROR_MEMORY:
		return "out of memory";
	case MAILIMAP_ERROR_FATAL:
		return "server said BYE";
	case MAILIMAP_ERROR_PROTOCOL:
		return "command rejected (BAD)";
	case MAILIMAP_ERROR_BAD_STATE:
		return "wrong protocol state";
	case MAILIMAP_ERROR_SSL:
	case MAILIMAP_ERROR_STARTTLS:
		return "TLS failed";
	default:
		return "refused";
	}
}

/* has_text - libetpan codes whose imap_response is this command's */
static bool
has_text(int r)
{
	return !is_fatal_rc(r) || r == MAILIMAP_ERROR_PROTOCOL ||
	       r == MAILIMAP_ERROR_FATAL;
}

/*
 * fail - the status for libetpan code r of command what: connection
 * errors kill the handle (TEMPFAIL), a tagged NO gives no_status.
 */
static int
fail(struct imap *imap, int r, const char *what, int no_status, char *err,
     size_t errlen)
{
	char q[LOG_VALUE_MAX + 8];
	const char *text = has_text(r) ? response(imap) : "";
	int st = no_status;

	if (is_fatal_rc(r)) {
		imap->is_dead = true;
		st = r == MAILIMAP_ERROR_MEMORY ? IMAP_NOMEM : IMAP_TEMPFAIL;
	}
	set_err(err, errlen, "IMAP %s: %s%s%.200s", what, rc_reason(r),
	        *text != '\0' ? ": " : "", text);
	log_debug("imap action=%s status=%s rc=%d response=%s", what,
	          imap_status_name(st), r, log_quote(text, q, sizeof(q)));
	return st;
}

/* ok_log - debug line for a command that succeeded */
static void
ok_log(const struct imap *imap, const char *what)
{
	char q[LOG_VALUE_MAX + 8];

	log_debug("imap action=%s status=ok response=%s", what,
	          log_quote(response(imap), q, sizeof(q)));
}

/* dead - the handle is unusable: say so */
static int
dead(char *err, size_t errlen)
{
	set_err(err, errlen, "IMAP connection is dead: reconnect");
	return IMAP_TEMPFAIL;
}

/* is_ascii_name - a mailbox name we can send as is (no modified UTF-7) */
static bool
is_ascii_name(const char *s)
{
	if (*s == '\0' || strlen(s) > 255)
		return false;
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	}
	return true;
}

/* sni_cb - libetpan TLS setup hook: send SNI for host names */
static void
sni_cb(struct mailstream_ssl_context *ctx, void *data)
{
	struct imap *imap = data;

	if (!imap->is_ip)
		(void)mailstream_ssl_set_server_name(ctx, imap->host);
}

/* chain_free - free libetpan's certificate chain */
static void
chain_free(carray *chain)
{
	unsigned i;

	if (chain == NULL)
		return;
	for (i = 0; i < carray_count(chain); i++)
		mmap_string_free(carray_get(chain, i));
	carray_free(chain);
}

/*
 * verify_cert - check the server's chain against system trust plus
 * ca_file and the host name; PERMFAIL with GnuTLS's reason otherwise.
 */
static int
verify_cert(struct imap *imap, const char *ca_file, char *err, size_t errlen)
{
	static unsigned char purpose[] = GNUTLS_KP_TLS_WWW_SERVER;
	gnutls_x509_crt_t crts[CHAIN_MAX];
	gnutls_x509_trust_list_t tl = NULL;
	gnutls_typed_vdata_st vdata[2];
	gnutls_datum_t out = {NULL, 0};
	unsigned i, n = 0, status = 0;
	carray *chain;
	int rc, st = IMAP_PERMFAIL;

	chain = mailstream_low_get_certificate_chain(
	    mailstream_get_low(imap->m->imap_stream));
	if (chain == NULL || carray_count(chain) == 0) {
		set_err(err, errlen, "TLS: server sent no certificate");
		goto out;
	}
	for (i = 0; i < carray_count(chain) && n < CHAIN_MAX; i++) {
		MMAPString *der = carray_get(chain, i);
		gnutls_datum_t d;

		if (der->len > UINT32_MAX) {
			set_err(err, errlen, "TLS: certificate too large");
			goto out;
		}
		d.data = (unsigned char *)der->str;
		d.size = (unsigned)der->len;
		if (gnutls_x509_crt_init(&crts[n]) < 0) {
			st = IMAP_NOMEM;
			set_err(err, errlen, "TLS: out of memory");
			goto out;
		}
		n++;
		rc = gnutls_x509_crt_import(crts[n - 1], &d,
		                            GNUTLS_X509_FMT_DER);
		if (rc < 0) {
			set_err(err, errlen, "TLS: bad server certificate: %s",
			        gnutls_strerror(rc));
			goto out;
		}
	}
	if (gnutls_x509_trust_list_init(&tl, 0) < 0) {
		tl = NULL;
		st = IMAP_NOMEM;
		set_err(err, errlen, "TLS: out of memory");
		goto out;
	}
	/* No system CAs is fine when ca_file names the one we need. */
	(void)gnutls_x509_trust_list_add_system_trust(tl, 0, 0);
	if (ca_file != NULL && *ca_file != '\0') {
		rc = gnutls_x509_trust_list_add_trust_file(
		    tl, ca_file, NULL, GNUTLS_X509_FMT_PEM, 0, 0);
		if (rc <= 0) {
			set_err(err, errlen,
			        "TLS: cannot load CA file %.200s: %s", ca_file,
			        rc < 0 ? gnutls_strerror(rc)
			               : "no certificates");
			goto out;
		}
	}
	memset(vdata, 0, sizeof(vdata));
	vdata[0].type = GNUTLS_DT_DNS_HOSTNAME;
	vdata[0].data = (unsigned char *)imap->host;
	vdata[1].type = GNUTLS_DT_KEY_PURPOSE_OID;
	vdata[1].data = purpose;
	rc = gnutls_x509_trust_list_verify_crt2(tl, crts, n, vdata, 2, 0,
	                                        &status, NULL);
	if (rc == 0 && status == 0) {
		st = IMAP_OK;
		goto out;
	}
	if (rc < 0) {
		set_err(err, errlen, "TLS: certificate check failed: %s",
		        gnutls_strerror(rc));
		goto out;
	}
	if (gnutls_certificate_verification_status_print(
	        status, GNUTLS_CRT_X509, &out, 0) < 0) {
		set_err(err, errlen, "TLS: certificate rejected (status 0x%x)",
		        status);
		goto out;
	}
	set_err(err, errlen, "TLS: certificate rejected for %.100s: %.300s",
	        imap->host, (const char *)out.data);
	gnutls_free(out.data);
out:
	if (tl != NULL)
		gnutls_x509_trust_list_deinit(tl, 1);
	for (i = 0; i < n; i++)
		gnutls_x509_crt_deinit(crts[i]);
	chain_free(chain);
	return st;
}

/* refresh_caps - CAPABILITY again (after STARTTLS or LOGIN) */
static int
refresh_caps(struct imap *imap, char *err, size_t errlen)
{
	struct mailimap_capability_data *cap = NULL;
	int r;

	/*
	 * libetpan 1.9.4 copies the cached capabilities after CAPABILITY and
	 * reads through NULL when none were ever cached (a server that sent
	 * none in its greeting nor untagged now): seed an empty list first.
	 */
	if (imap->m->imap_connection_info != NULL &&
	    imap->m->imap_connection_info->imap_capability == NULL) {
		clist *l = clist_new();
		struct mailimap_capability_data *empty =
		    l != NULL ? mailimap_capability_data_new(l) : NULL;

		if (empty == NULL) {
			if (l != NULL)
				clist_free(l);
			set_err(err, errlen, "IMAP: out of memory");
			return IMAP_NOMEM;
		}
		imap->m->imap_connection_info->imap_capability = empty;
	}
	r = mailimap_capability(imap->m, &cap);
	if (r != MAILIMAP_NO_ERROR)
		return fail(imap, r, "capability", IMAP_TEMPFAIL, err, errlen);
	mailimap_capability_data_free(cap);
	ok_log(imap, "capability");
	return IMAP_OK;
}

/* has_ext - cached capability test */
static bool
has_ext(struct imap *imap, const char *name)
{
	return mailimap_has_extension(imap->m, name) != 0;
}

/* keywords_allowed - PERMANENTFLAGS has \* or names $Ticketed */
static bool
keywords_allowed(const struct mailimap_selection_info *sel)
{
	clistiter *it;

	/* RFC 3501: no PERMANENTFLAGS means every flag is permanent. */
	if (sel->sel_perm_flags == NULL)
		return true;
	for (it = clist_begin(sel->sel_perm_flags); it != NULL;
	     it = clist_next(it)) {
		const struct mailimap_flag_perm *fp = clist_content(it);

		if (fp == NULL)
			continue;
		if (fp->fl_type == MAILIMAP_FLAG_PERM_ALL)
			return true;
		if (fp->fl_type == MAILIMAP_FLAG_PERM_FLAG &&
		    fp->fl_flag != NULL &&
		    fp->fl_flag->fl_type == MAILIMAP_FLAG_KEYWORD &&
		    fp->fl_flag->fl_data.fl_keyword != NULL &&
		    strcasecmp(fp->fl_flag->fl_data.fl_keyword,
		               KEYWORD_TICKETED) == 0)
			return true;
	}
	return false;
}

/* status_fill - UIDVALIDITY/UIDNEXT by STATUS when SELECT lacked them */
static int
status_fill(struct imap *imap, char *err, size_t errlen)
{
	struct mailimap_status_att_list *sl;
	struct mailimap_mailbox_data_status *st = NULL;
	clistiter *it;
	int r;

	sl = mailimap_status_att_list_new_empty();
	if (sl == NULL)
		return IMAP_NOMEM;
	if (mailimap_status_att_list_add(sl, MAILIMAP_STATUS_ATT_UIDVALIDITY) !=
	        MAILIMAP_NO_ERROR ||
	    mailimap_status_att_list_add(sl, MAILIMAP_STATUS_ATT_UIDNEXT) !=
	        MAILIMAP_NO_ERROR) {
		mailimap_status_att_list_free(sl);
		return IMAP_NOMEM;
	}
	r = mailimap_status(imap->m, imap->mailbox, sl, &st);
	mailimap_status_att_list_free(sl);
	if (r != MAILIMAP_NO_ERROR)
		return fail(imap, r, "status", IMAP_PERMFAIL, err, errlen);
	ok_log(imap, "status");
	if (st != NULL && st->st_info_list != NULL) {
		for (it = clist_begin(st->st_info_list); it != NULL;
		     it = clist_next(it)) {
			const struct mailimap_status_info *si =
			    clist_content(it);

			if (si == NULL)
				continue;
			if (si->st_att == MAILIMAP_STATUS_ATT_UIDVALIDITY &&
			    imap->uidvalidity == 0)
				imap->uidvalidity = si->st_value;
			else if (si->st_att == MAILIMAP_STATUS_ATT_UIDNEXT &&
			         imap->uidnext == 0)
				imap->uidnext = si->st_value;
		}
	}
	if (st != NULL)
		mailimap_mailbox_data_status_free(st);
	return IMAP_OK;
}

/* settings_check - reject settings we cannot use */
static int
settings_check(const struct imap_settings *s, char *err, size_t errlen)
{
	struct sigaction sa;

	if (s == NULL || s->host == NULL || *s->host == '\0' ||
	    s->user == NULL || s->password == NULL) {
		set_err(err, errlen,
		        "IMAP settings lack host, user or password");
		return IMAP_PERMFAIL;
	}
	if (s->port == 0 || s->port > 65535) {
		set_err(err, errlen, "IMAP port %u out of range", s->port);
		return IMAP_PERMFAIL;
	}
	if (s->tls != CONFIG_TLS_IMPLICIT && s->tls != CONFIG_TLS_STARTTLS &&
	    s->tls != CONFIG_TLS_NONE) {
		set_err(err, errlen, "IMAP tls mode %d unknown", (int)s->tls);
		return IMAP_PERMFAIL;
	}
	if (s->timeout_s < 0) {
		set_err(err, errlen, "IMAP timeout %ld negative", s->timeout_s);
		return IMAP_PERMFAIL;
	}
	if (s->mailbox != NULL && *s->mailbox != '\0' &&
	    !is_ascii_name(s->mailbox)) {
		set_err(err, errlen,
		        "IMAP mailbox name must be printable "
		        "ASCII");
		return IMAP_PERMFAIL;
	}
	/* libetpan writes with send(): an unignored SIGPIPE kills us. */
	if (sigaction(SIGPIPE, NULL, &sa) != 0 ||
	    ((sa.sa_flags & SA_SIGINFO) == 0 && sa.sa_handler == SIG_DFL)) {
		set_err(err, errlen,
		        "SIGPIPE must be ignored before "
		        "imap_connect");
		return IMAP_PERMFAIL;
	}
	return IMAP_OK;
}

/* handle_new - a handle with copies of host and mailbox */
static struct imap *
handle_new(const struct imap_settings *s)
{
	struct imap *imap;
	unsigned char addr[16];

	imap = calloc(1, sizeof(*imap));
	if (imap == NULL)
		return NULL;
	imap->host = strdup(s->host);
	imap->mailbox = strdup(
	    s->mailbox != NULL && *s->mailbox != '\0' ? s->mailbox : "INBOX");
	imap->m = mailimap_new(0, NULL);
	if (imap->host == NULL || imap->mailbox == NULL || imap->m == NULL) {
		if (imap->m != NULL)
			mailimap_free(imap->m);
		free(imap->host);
		free(imap->mailbox);
		free(imap);
		return NULL;
	}
	imap->is_ip = inet_pton(AF_INET, s->host, addr) == 1 ||
	              inet_pton(AF_INET6, s->host, addr) == 1;
	return imap;
}

/* open_tls - connect and secure the link per s->tls, cert verified */
static int
open_tls(struct imap *imap, const struct imap_settings *s, bool *preauth_r,
         char *err, size_t errlen)
{
	uint16_t port = (uint16_t)s->port;
	int r, st;

	if (s->tls == CONFIG_TLS_IMPLICIT)
		r = mailimap_ssl_connect_with_callback(imap->m, imap->host,
		                                       port, sni_cb, imap);
	else
		r = mailimap_socket_connect(imap->m, imap->host, port);
	if (r != MAILIMAP_NO_ERROR_AUTHENTICATED &&
	    r != MAILIMAP_NO_ERROR_NON_AUTHENTICATED) {
		if (!is_fatal_rc(r))
			r = MAILIMAP_ERROR_CONNECTION_REFUSED;
		return fail(imap, r, "connect", IMAP_TEMPFAIL, err, errlen);
	}
	*preauth_r = r == MAILIMAP_NO_ERROR_AUTHENTICATED;
	ok_log(imap, "connect");
	if (s->tls == CONFIG_TLS_STARTTLS) {
		if (*preauth_r) {
			set_err(err, errlen,
			        "IMAP server sent PREAUTH before "
			        "STARTTLS: refusing plain text");
			return IMAP_PERMFAIL;
		}
		if (!has_ext(imap, "STARTTLS")) {
			st = refresh_caps(imap, err, errlen);
			if (st != IMAP_OK)
				return st;
		}
		if (!has_ext(imap, "STARTTLS")) {
			set_err(err, errlen, "IMAP server offers no STARTTLS");
			return IMAP_PERMFAIL;
		}
		r = mailimap_socket_starttls_with_callback(imap->m, sni_cb,
		                                           imap);
		if (r != MAILIMAP_NO_ERROR)
			return fail(imap, r, "starttls", IMAP_PERMFAIL, err,
			            errlen);
		ok_log(imap, "starttls");
	}
	if (s->tls != CONFIG_TLS_NONE) {
		st = verify_cert(imap, s->ca_file, err, errlen);
		if (st != IMAP_OK) {
			log_debug("imap action=verify status=%s",
			          imap_status_name(st));
			return st;
		}
		log_debug("imap action=verify status=ok");
	}
	/* Capabilities sent before STARTTLS must not be trusted. */
	if (s->tls == CONFIG_TLS_STARTTLS)
		return refresh_caps(imap, err, errlen);
	return IMAP_OK;
}

static void sel_reset(struct imap *imap);

/* login_select - LOGIN, capabilities, SELECT, UIDVALIDITY/UIDNEXT */
static int
login_select(struct imap *imap, const struct imap_settings *s, bool preauth,
             char *err, size_t errlen)
{
	struct mailimap_selection_info *sel;
	int r, st;

	if (!preauth) {
		r = mailimap_login(imap->m, s->user, s->password);
		if (r != MAILIMAP_NO_ERROR)
			return fail(imap, r, "login", IMAP_PERMFAIL, err,
			            errlen);
		ok_log(imap, "login");
	}
	/* Many servers announce MOVE and UIDPLUS only after login. */
	if (!has_ext(imap, "MOVE") || !has_ext(imap, "UIDPLUS") ||
	    !has_ext(imap, "IDLE")) {
		st = refresh_caps(imap, err, errlen);
		if (st != IMAP_OK)
			return st;
	}
	imap->has_idle = has_ext(imap, "IDLE");
	imap->has_move = has_ext(imap, "MOVE");
	imap->has_uidplus = has_ext(imap, "UIDPLUS");
	r = mailimap_select(imap->m, imap->mailbox);
	if (r != MAILIMAP_NO_ERROR)
		return fail(imap, r, "select", IMAP_PERMFAIL, err, errlen);
	ok_log(imap, "select");
	sel = imap->m->imap_selection_info;
	if (sel == NULL) {
		imap->is_dead = true;
		set_err(err, errlen, "IMAP SELECT left no mailbox state");
		return IMAP_TEMPFAIL;
	}
	imap->uidvalidity = sel->sel_uidvalidity;
	imap->uidnext = sel->sel_uidnext;
	imap->has_keywords = keywords_allowed(sel);
	if (imap->uidvalidity == 0 || imap->uidnext == 0) {
		st = status_fill(imap, err, errlen);
		if (st != IMAP_OK)
			return st;
	}
	if (imap->uidvalidity == 0) {
		set_err(err, errlen, "IMAP server gives no UIDVALIDITY");
		return IMAP_PERMFAIL;
	}
	/* SELECT's EXISTS is the mailbox as it is, not news: the caller
	   searches after connecting anyway */
	sel_reset(imap);
	return IMAP_OK;
}

/*
 * handle_free - close and free; LOGOUT only when logout is set.  The
 * stream is closed first: mailimap_free would otherwise send LOGOUT itself
 * and wait a whole timeout on a dead or unverified link.
 */
static void
handle_free(struct imap *imap, bool logout)
{
	int r;

	if (imap->m != NULL) {
		if (logout && imap->m->imap_stream != NULL) {
			r = mailimap_logout(imap->m);
			if (r != MAILIMAP_NO_ERROR)
				(void)fail(imap, r, "logout", IMAP_TEMPFAIL,
				           NULL, 0);
			else
				ok_log(imap, "logout");
		}
		if (imap->m->imap_stream != NULL) {
			(void)mailstream_close(imap->m->imap_stream);
			imap->m->imap_stream = NULL;
		}
		mailimap_free(imap->m);
	}
	free(imap->host);
	free(imap->mailbox);
	free(imap);
}

/*
 * The EOF guard.  libetpan 1.9.4 reads a literal by calling the stream
 * until it has the announced bytes and treats a read of 0 bytes as "no
 * data yet": a server that closes the connection in the middle of a
 * literal makes it spin forever on select()+recv() returning 0 (found by
 * tests/faults).  The guard wraps the stream's low layer, after TLS and
 * the certificate check, and turns end of file into an error, so the call
 * fails with MAILIMAP_ERROR_STREAM and the handle is reconnected.
 */

/* guard_inner - the wrapped low stream */
static mailstream_low *
guard_inner(mailstream_low *s)
{
	return s->data;
}

/*
 * guard_read - end of file is an error, never "try again"; NUL bytes,
 * which IMAP4rev1 allows nowhere (CHAR8 excludes them, literals too), are
 * replaced by spaces: libetpan 1.9.4's response parser reads through NULL
 * on response text that starts with one (found by fuzz_imap).
 */
static ssize_t
guard_read(mailstream_low *s, void *buf, size_t count)
{
	ssize_t r = mailstream_low_read(guard_inner(s), buf, count);
	char *p = buf, *z;

	if (r == 0 && count > 0)
		return -1;
	if (r > 0) {
		while ((z = memchr(p, '\0',
		                   (size_t)r - (size_t)(p - (char *)buf))) !=
		       NULL)
			*z = ' ';
	}
	return r;
}

static ssize_t
guard_write(mailstream_low *s, const void *buf, size_t count)
{
	return mailstream_low_write(guard_inner(s), buf, count);
}

static int
guard_close(mailstream_low *s)
{
	return mailstream_low_close(guard_inner(s));
}

static int
guard_get_fd(mailstream_low *s)
{
	return mailstream_low_get_fd(guard_inner(s));
}

/* guard_free - free the wrapped stream, then the wrapper */
static void
guard_free(mailstream_low *s)
{
	mailstream_low_free(guard_inner(s));
	free(s);
}

static void
guard_cancel(mailstream_low *s)
{
	mailstream_low_cancel(guard_inner(s));
}

static struct mailstream_cancel *
guard_get_cancel(mailstream_low *s)
{
	return mailstream_low_get_cancel(guard_inner(s));
}

static carray *
guard_get_certificate_chain(mailstream_low *s)
{
	return mailstream_low_get_certificate_chain(guard_inner(s));
}

static int
guard_setup_idle(mailstream_low *s)
{
	return mailstream_low_setup_idle(guard_inner(s));
}

static int
guard_unsetup_idle(mailstream_low *s)
{
	return mailstream_low_unsetup_idle(guard_inner(s));
}

static int
guard_interrupt_idle(mailstream_low *s)
{
	return mailstream_low_interrupt_idle(guard_inner(s));
}

static mailstream_low_driver guard_driver = {
    guard_read,           guard_write,
    guard_close,          guard_get_fd,
    guard_free,           guard_cancel,
    guard_get_cancel,     guard_get_certificate_chain,
    guard_setup_idle,     guard_unsetup_idle,
    guard_interrupt_idle,
};

/* guard_install - wrap the handle's stream; -1 when out of memory */
static int
guard_install(struct imap *imap)
{
	mailstream_low *inner, *w;

	if (imap->m->imap_stream == NULL)
		return -1;
	inner = mailstream_get_low(imap->m->imap_stream);
	if (inner == NULL)
		return -1;
	w = mailstream_low_new(inner, &guard_driver);
	if (w == NULL)
		return -1;
	mailstream_low_set_timeout(w, mailstream_low_get_timeout(inner));
	mailstream_set_low(imap->m->imap_stream, w);
	return 0;
}

/* imap_connect - connect, verify, log in and select */
int
imap_connect(const struct imap_settings *s, struct imap **imap_r, char *err,
             size_t errlen)
{
	char qh[LOG_VALUE_MAX + 8], qm[LOG_VALUE_MAX + 8];
	struct imap *imap = NULL;
	sigset_t old;
	bool preauth = false;
	int st;

	*imap_r = NULL;
	st = settings_check(s, err, errlen);
	if (st != IMAP_OK)
		return st;
	sig_block(&old);
	imap = handle_new(s);
	if (imap == NULL) {
		set_err(err, errlen, "IMAP: out of memory");
		st = IMAP_NOMEM;
		goto out;
	}
	mailimap_set_timeout(imap->m, s->timeout_s > 0 ? (time_t)s->timeout_s
	                                               : IMAP_TIMEOUT_DEFAULT);
	st = open_tls(imap, s, &preauth, err, errlen);
	if (st != IMAP_OK)
		goto out;
	if (guard_install(imap) != 0) {
		set_err(err, errlen, "IMAP: out of memory");
		st = IMAP_NOMEM;
		goto out;
	}
	st = login_select(imap, s, preauth, err, errlen);
	if (st != IMAP_OK)
		goto out;
	log_debug("imap action=connected host=%s mailbox=%s uidvalidity=%u "
	          "uidnext=%u idle=%d move=%d uidplus=%d keywords=%d",
	          log_quote(imap->host, qh, sizeof(qh)),
	          log_quote(imap->mailbox, qm, sizeof(qm)), imap->uidvalidity,
	          imap->uidnext, imap->has_idle, imap->has_move,
	          imap->has_uidplus, imap->has_keywords);
	*imap_r = imap;
	imap = NULL;
out:
	/* No LOGOUT: the link may be half open or unverified. */
	if (imap != NULL)
		handle_free(imap, false);
	sig_restore(&old);
	return st;
}

/* imap_uidvalidity - the selected mailbox's UIDVALIDITY */
uint32_t
imap_uidvalidity(const struct imap *imap)
{
	return imap->uidvalidity;
}

/* imap_uidnext - UIDNEXT as of SELECT */
uint32_t
imap_uidnext(const struct imap *imap)
{
	return imap->uidnext;
}

/* imap_has_idle - the server offers IDLE */
bool
imap_has_idle(const struct imap *imap)
{
	return imap->has_idle;
}

/* imap_has_move - the server offers MOVE */
bool
imap_has_move(const struct imap *imap)
{
	return imap->has_move;
}

/* imap_has_uidplus - the server offers UIDPLUS (UID EXPUNGE) */
bool
imap_has_uidplus(const struct imap *imap)
{
	return imap->has_uidplus;
}

/* imap_has_keywords - $Ticketed can be stored */
bool
imap_has_keywords(const struct imap *imap)
{
	return imap->has_keywords;
}

/* imap_is_dead - the handle must be reconnected */
bool
imap_is_dead(const struct imap *imap)
{
	return imap->is_dead;
}

/* cmp_u32 - qsort order for UIDs */
static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* sort_uniq - sort v ascending and drop duplicates; returns the count */
static size_t
sort_uniq(uint32_t *v, size_t n)
{
	size_t i, o = 0;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_u32);
	for (i = 1; i < n; i++) {
		if (v[i] != v[o])
			v[++o] = v[i];
	}
	return o + 1;
}

/* set_of - a UID set of ranges from sorted, unique v; NULL on no memory */
static struct mailimap_set *
set_of(const uint32_t *v, size_t n)
{
	struct mailimap_set *set;
	size_t i = 0;

	set = mailimap_set_new_empty();
	if (set == NULL)
		return NULL;
	while (i < n) {
		size_t j = i;

		while (j + 1 < n && v[j + 1] == v[j] + 1)
			j++;
		if (mailimap_set_add_interval(set, v[i], v[j]) !=
		    MAILIMAP_NO_ERROR) {
			mailimap_set_free(set);
			return NULL;
		}
		i = j + 1;
	}
	return set;
}

/* uniq_copy - a sorted, unique malloc'd copy of uids */
static uint32_t *
uniq_copy(const uint32_t *uids, size_t n, size_t *m_r)
{
	uint32_t *v;

	v = malloc((n > 0 ? n : 1) * sizeof(*v));
	if (v == NULL)
		return NULL;
	if (n > 0)
		memcpy(v, uids, n * sizeof(*v));
	*m_r = sort_uniq(v, n);
	return v;
}

/* key_add - add k to the multiple key; frees k on failure */
static bool
key_add(struct mailimap_search_key *key, struct mailimap_search_key *k)
{
	if (k == NULL)
		return false;
	if (mailimap_search_key_multiple_add(key, k) != MAILIMAP_NO_ERROR) {
		mailimap_search_key_free(k);
		return false;
	}
	return true;
}

/* undeleted_key - UNDELETED (libetpan has no short constructor for it) */
static struct mailimap_search_key *
undeleted_key(void)
{
	/* type; bcc before body cc from keyword on since subject text to
	   unkeyword header_name header_value; larger; not or1 or2
	   sentbefore senton sentsince; smaller; uid set multiple */
	return mailimap_search_key_new(
	    MAILIMAP_SEARCH_KEY_UNDELETED, NULL, NULL, NULL, NULL, NULL, NULL,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL,
	    NULL, NULL, NULL, 0, NULL, NULL, NULL);
}

/*
 * search_key - UID last+1:* UNKEYWORD $Ticketed (is_ticketed false), or
 * KEYWORD $Ticketed UNDELETED; NULL on no memory
 */
static struct mailimap_search_key *
search_key(uint32_t last_uid, bool is_ticketed)
{
	struct mailimap_search_key *key, *k;
	struct mailimap_set *set;
	char *kw;

	key = mailimap_search_key_new_multiple_empty();
	if (key == NULL)
		return NULL;
	if (!is_ticketed) {
		set = mailimap_set_new_interval(last_uid + 1, 0);
		if (set == NULL)
			goto fail;
		k = mailimap_search_key_new_uid(set);
		if (k == NULL)
			mailimap_set_free(set);
		if (!key_add(key, k))
			goto fail;
	}
	kw = strdup(KEYWORD_TICKETED);
	if (kw == NULL)
		goto fail;
	k = is_ticketed ? mailimap_search_key_new_keyword(kw)
	                : mailimap_search_key_new_unkeyword(kw);
	if (k == NULL)
		free(kw);
	if (!key_add(key, k))
		goto fail;
	if (is_ticketed && !key_add(key, undeleted_key()))
		goto fail;
	return key;
fail:
	mailimap_search_key_free(key);
	return NULL;
}

/*
 * search_uids - UID SEARCH with search_key(last_uid, is_ticketed); UIDs
 * above last_uid, ascending, unique, at most IMAP_SEARCH_MAX, into *uids_r
 * (NULL when none).  A search for new mail resets the news first.
 */
static int
search_uids(struct imap *imap, uint32_t last_uid, bool is_ticketed,
            uint32_t **uids_r, size_t *n_r, char *err, size_t errlen)
{
	struct mailimap_search_key *key;
	clist *res = NULL;
	clistiter *it;
	uint32_t *v = NULL;
	size_t n = 0;
	sigset_t old;
	int r, st = IMAP_OK;

	*uids_r = NULL;
	*n_r = 0;
	if (imap->is_dead)
		return dead(err, errlen);
	key = search_key(last_uid, is_ticketed);
	if (key == NULL) {
		set_err(err, errlen, "IMAP: out of memory");
		return IMAP_NOMEM;
	}
	sig_block(&old);
	/* what arrives from now on is news for the next wait */
	if (!is_ticketed)
		sel_reset(imap);
	r = mailimap_uid_search(imap->m, NULL, key, &res);
	if (r != MAILIMAP_NO_ERROR) {
		st = fail(imap, r, "search", IMAP_TEMPFAIL, err, errlen);
		goto out;
	}
	ok_log(imap, "search");
	if (res == NULL || clist_count(res) <= 0)
		goto out;
	v = malloc((size_t)clist_count(res) * sizeof(*v));
	if (v == NULL) {
		st = IMAP_NOMEM;
		set_err(err, errlen, "IMAP: out of memory");
		goto out;
	}
	/* "UID n:*" matches the highest UID even when it is below n. */
	for (it = clist_begin(res); it != NULL; it = clist_next(it)) {
		const uint32_t *u = clist_content(it);

		if (u != NULL && *u > last_uid)
			v[n++] = *u;
	}
	n = sort_uniq(v, n);
	if (n > IMAP_SEARCH_MAX)
		n = IMAP_SEARCH_MAX;
	if (n == 0) {
		free(v);
		v = NULL;
	}
	*uids_r = v;
	*n_r = n;
	v = NULL;
out:
	free(v);
	if (res != NULL)
		mailimap_search_result_free(res);
	mailimap_search_key_free(key);
	sig_restore(&old);
	return st;
}

/* imap_search_new - UIDs above last_uid not yet $Ticketed */
int
imap_search_new(struct imap *imap, uint32_t last_uid, uint32_t **uids_r,
                size_t *n_r, char *err, size_t errlen)
{
	int st;

	*uids_r = NULL;
	*n_r = 0;
	if (last_uid == UINT32_MAX)
		return imap->is_dead ? dead(err, errlen) : IMAP_OK;
	st = search_uids(imap, last_uid, false, uids_r, n_r, err, errlen);
	if (st == IMAP_OK)
		log_debug("imap action=search last_uid=%u found=%zu", last_uid,
		          *n_r);
	return st;
}

/* imap_search_ticketed - UIDs flagged $Ticketed and not \Deleted */
int
imap_search_ticketed(struct imap *imap, uint32_t **uids_r, size_t *n_r,
                     char *err, size_t errlen)
{
	return search_uids(imap, 0, true, uids_r, n_r, err, errlen);
}

/* want_find - the want for uid in sorted ws, or NULL */
static struct want *
want_find(struct want *ws, size_t n, uint32_t uid)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ws[mid].uid == uid)
			return &ws[mid];
		if (ws[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* dup_bytes - malloc'd copy of len bytes plus a NUL; NULL on no memory */
static char *
dup_bytes(const char *p, size_t len)
{
	char *d;

	if (len == SIZE_MAX)
		return NULL;
	d = malloc(len + 1);
	if (d == NULL)
		return NULL;
	if (len > 0)
		memcpy(d, p, len);
	d[len] = '\0';
	return d;
}

/* Which fetch round trip a response belongs to. */
enum pass {
	PASS_SIZE,
	PASS_BODY,
	PASS_PARTS,
};

/* section_kind - 0 whole message, 1 HEADER, 2 TEXT, -1 anything else */
static int
section_kind(const struct mailimap_section *sec)
{
	const struct mailimap_section_spec *spec;

	if (sec == NULL || sec->sec_spec == NULL)
		return 0;
	spec = sec->sec_spec;
	if (spec->sec_type != MAILIMAP_SECTION_SPEC_SECTION_MSGTEXT ||
	    spec->sec_data.sec_msgtext == NULL)
		return -1;
	switch (spec->sec_data.sec_msgtext->sec_type) {
	case MAILIMAP_SECTION_MSGTEXT_HEADER:
		return 1;
	case MAILIMAP_SECTION_MSGTEXT_TEXT:
		return 2;
	default:
		return -1;
	}
}

/*
 * take_section - keep one body section for w; bodies over limit are cut
 * (libetpan already holds them: the cap is about what we pass on).
 * Returns false on no memory.
 */
static bool
take_section(struct want *w, enum pass pass,
             const struct mailimap_msg_att_body_section *bs, size_t message_max)
{
	const char *p = bs->sec_body_part;
	size_t len = p != NULL ? bs->sec_length : 0;
	int kind = section_kind(bs->sec_section);

	if (p == NULL)
		return true;
	if (pass == PASS_BODY && kind == 0 && w->data == NULL) {
		if (len > message_max && len - message_max > IMAP_FETCH_SLACK) {
			/* The server lied about the size: pass a prefix. */
			w->is_oversized = true;
			if (len > w->size)
				w->size = len > UINT32_MAX ? UINT32_MAX
				                           : (uint32_t)len;
			if (len >
			    IMAP_OVERSIZED_HEADER_MAX + IMAP_OVERSIZED_TEXT_MAX)
				len = IMAP_OVERSIZED_HEADER_MAX +
				      IMAP_OVERSIZED_TEXT_MAX;
		}
		w->data = dup_bytes(p, len);
		w->len = len;
		return w->data != NULL;
	}
	/* only for messages left out of the body pass: an answer for a UID
	   already fetched whole must not replace or leak its data */
	if (pass == PASS_PARTS && kind == 1 && !w->has_header &&
	    w->size > message_max && w->data == NULL) {
		if (len > IMAP_OVERSIZED_HEADER_MAX)
			len = IMAP_OVERSIZED_HEADER_MAX;
		w->data = dup_bytes(p, len);
		w->len = len;
		w->has_header = true;
		return w->data != NULL;
	}
	if (pass == PASS_PARTS && kind == 2 && !w->has_text &&
	    w->size > message_max && (w->data == NULL || w->has_header)) {
		if (len > IMAP_OVERSIZED_TEXT_MAX)
			len = IMAP_OVERSIZED_TEXT_MAX;
		w->text = dup_bytes(p, len);
		w->text_len = len;
		w->has_text = true;
		return w->text != NULL;
	}
	return true;
}

/*
 * take_att - fold one FETCH response into the matching want (by its UID
 * item; unsolicited FETCHes without one are ignored).  False: no memory.
 */
static bool
take_att(struct want *ws, size_t nw, enum pass pass,
         const struct mailimap_msg_att *att, size_t message_max)
{
	struct want *w = NULL;
	clistiter *it;

	if (att == NULL || att->att_list == NULL)
		return true;
	for (it = clist_begin(att->att_list); it != NULL; it = clist_next(it)) {
		const struct mailimap_msg_att_item *item = clist_content(it);

		if (item != NULL &&
		    item->att_type == MAILIMAP_MSG_ATT_ITEM_STATIC &&
		    item->att_data.att_static != NULL &&
		    item->att_data.att_static->att_type == MAILIMAP_MSG_ATT_UID)
			w = want_find(
			    ws, nw,
			    item->att_data.att_static->att_data.att_uid);
	}
	if (w == NULL)
		return true;
	for (it = clist_begin(att->att_list); it != NULL; it = clist_next(it)) {
		const struct mailimap_msg_att_item *item = clist_content(it);
		const struct mailimap_msg_att_static *sa;

		if (item == NULL ||
		    item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC ||
		    item->att_data.att_static == NULL)
			continue;
		sa = item->att_data.att_static;
		if (sa->att_type == MAILIMAP_MSG_ATT_RFC822_SIZE &&
		    pass == PASS_SIZE) {
			w->size = sa->att_data.att_rfc822_size;
			w->has_size = true;
		} else if (sa->att_type == MAILIMAP_MSG_ATT_BODY_SECTION &&
		           sa->att_data.att_body_section != NULL &&
		           pass != PASS_SIZE) {
			if (!take_section(w, pass,
			                  sa->att_data.att_body_section,
			                  message_max))
				return false;
		}
	}
	return true;
}

/* fetch_type - UID plus the items of one pass; NULL on no memory */
static struct mailimap_fetch_type *
fetch_type(enum pass pass, size_t message_max)
{
	struct mailimap_fetch_type *ft;
	struct mailimap_fetch_att *fa[3] = {NULL, NULL, NULL};
	struct mailimap_section *sec;
	uint32_t tcap;
	size_t i;

	ft = mailimap_fetch_type_new_fetch_att_list_empty();
	if (ft == NULL)
		return NULL;
	fa[0] = mailimap_fetch_att_new_uid();
	switch (pass) {
	case PASS_SIZE:
		fa[1] = mailimap_fetch_att_new_rfc822_size();
		break;
	case PASS_BODY:
		sec = mailimap_section_new(NULL);
		if (sec != NULL) {
			fa[1] = mailimap_fetch_att_new_body_peek_section(sec);
			if (fa[1] == NULL)
				mailimap_section_free(sec);
		}
		break;
	case PASS_PARTS:
		/* Never more body than message_max, even if it is tiny. */
		tcap = message_max < IMAP_OVERSIZED_TEXT_MAX
		           ? (uint32_t)message_max
		           : IMAP_OVERSIZED_TEXT_MAX;
		sec = mailimap_section_new_header();
		if (sec != NULL) {
			fa[1] =
			    mailimap_fetch_att_new_body_peek_section_partial(
			        sec, 0, IMAP_OVERSIZED_HEADER_MAX);
			if (fa[1] == NULL)
				mailimap_section_free(sec);
		}
		sec = mailimap_section_new_text();
		if (sec != NULL) {
			fa[2] =
			    mailimap_fetch_att_new_body_peek_section_partial(
			        sec, 0, tcap);
			if (fa[2] == NULL)
				mailimap_section_free(sec);
		}
		if (fa[2] == NULL)
			goto fail;
		break;
	}
	if (fa[0] == NULL || fa[1] == NULL)
		goto fail;
	for (i = 0; i < 3; i++) {
		if (fa[i] == NULL)
			continue;
		if (mailimap_fetch_type_new_fetch_att_list_add(ft, fa[i]) !=
		    MAILIMAP_NO_ERROR)
			goto fail;
		fa[i] = NULL;
	}
	return ft;
fail:
	for (i = 0; i < 3; i++) {
		if (fa[i] != NULL)
			mailimap_fetch_att_free(fa[i]);
	}
	mailimap_fetch_type_free(ft);
	return NULL;
}

/* fetch_pass - one UID FETCH of the uids in v for pass, folded into ws */
static int
fetch_pass(struct imap *imap, struct want *ws, size_t nw, const uint32_t *v,
           size_t n, enum pass pass, size_t message_max, char *err,
           size_t errlen)
{
	static const char *const names[] = {"fetch_size", "fetch_body",
	                                    "fetch_parts"};
	struct mailimap_fetch_type *ft = NULL;
	struct mailimap_set *set = NULL;
	clist *res = NULL;
	clistiter *it;
	int r, st = IMAP_OK;

	if (n == 0)
		return IMAP_OK;
	set = set_of(v, n);
	ft = fetch_type(pass, message_max);
	if (set == NULL || ft == NULL) {
		st = IMAP_NOMEM;
		set_err(err, errlen, "IMAP: out of memory");
		goto out;
	}
	r = mailimap_uid_fetch(imap->m, set, ft, &res);
	if (r != MAILIMAP_NO_ERROR) {
		/* libetpan 1.9.4 frees the list on a NO but leaves the
		   pointer set: never free it a second time */
		res = NULL;
		st = fail(imap, r, names[pass], IMAP_TEMPFAIL, err, errlen);
		goto out;
	}
	ok_log(imap, names[pass]);
	for (it = res != NULL ? clist_begin(res) : NULL; it != NULL;
	     it = clist_next(it)) {
		if (!take_att(ws, nw, pass, clist_content(it), message_max)) {
			st = IMAP_NOMEM;
			set_err(err, errlen, "IMAP: out of memory");
			goto out;
		}
	}
out:
	if (res != NULL)
		mailimap_fetch_list_free(res);
	if (ft != NULL)
		mailimap_fetch_type_free(ft);
	if (set != NULL)
		mailimap_set_free(set);
	return st;
}

/* wants_free - free the wants and their buffers */
static void
wants_free(struct want *ws, size_t n)
{
	size_t i;

	if (ws == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(ws[i].data);
		free(ws[i].text);
	}
	free(ws);
}

/* join_parts - an oversized want's data becomes header + text prefix */
static bool
join_parts(struct want *w)
{
	char *d;

	w->is_oversized = true;
	/* A cut header is not followed by the body: data stays a prefix. */
	if (!w->has_header || w->text == NULL ||
	    w->len >= IMAP_OVERSIZED_HEADER_MAX)
		return true;
	d = realloc(w->data, w->len + w->text_len + 1);
	if (d == NULL)
		return false;
	memcpy(d + w->len, w->text, w->text_len);
	w->len += w->text_len;
	d[w->len] = '\0';
	w->data = d;
	return true;
}

/* collect - move the fetched wants into a fresh imap_msg array */
static int
collect(struct want *ws, size_t nw, struct imap_msg **msgs_r, size_t *n_r)
{
	struct imap_msg *msgs;
	size_t i, n = 0;

	for (i = 0; i < nw; i++) {
		if (ws[i].data != NULL)
			n++;
	}
	if (n == 0)
		return IMAP_OK;
	msgs = calloc(n, sizeof(*msgs));
	if (msgs == NULL)
		return IMAP_NOMEM;
	n = 0;
	for (i = 0; i < nw; i++) {
		if (ws[i].data == NULL)
			continue;
		msgs[n].uid = ws[i].uid;
		msgs[n].size = ws[i].size;
		msgs[n].data = ws[i].data;
		msgs[n].len = ws[i].len;
		msgs[n].is_oversized = ws[i].is_oversized;
		ws[i].data = NULL;
		n++;
	}
	*msgs_r = msgs;
	*n_r = n;
	return IMAP_OK;
}

/* fetch_all - the three passes over the sorted unique uids in v */
static int
fetch_all(struct imap *imap, struct want *ws, uint32_t *v, size_t n,
          size_t message_max, char *err, size_t errlen)
{
	size_t i, nsmall = 0, nbig = 0;
	uint32_t *big;
	int st;

	st = fetch_pass(imap, ws, n, v, n, PASS_SIZE, message_max, err, errlen);
	if (st != IMAP_OK)
		return st;
	/* v is reused: small UIDs from the front, big ones from the back. */
	big = v + n;
	for (i = 0; i < n; i++) {
		if (!ws[i].has_size)
			continue;
		if (ws[i].size <= message_max)
			v[nsmall++] = ws[i].uid;
		else
			*--big = ws[i].uid;
	}
	nbig = (size_t)(v + n - big);
	(void)sort_uniq(big, nbig);
	/* Bodies in commands of about IMAP_FETCH_CHUNK bytes: libetpan holds
	   a whole response twice while it parses it. */
	for (i = 0; i < nsmall;) {
		size_t j = i, bytes = 0;

		while (j < nsmall && (j == i || bytes < IMAP_FETCH_CHUNK)) {
			struct want *w = want_find(ws, n, v[j]);

			bytes += w != NULL ? w->size : 0;
			j++;
		}
		st = fetch_pass(imap, ws, n, v + i, j - i, PASS_BODY,
		                message_max, err, errlen);
		if (st != IMAP_OK)
			return st;
		i = j;
	}
	st = fetch_pass(imap, ws, n, big, nbig, PASS_PARTS, message_max, err,
	                errlen);
	if (st != IMAP_OK)
		return st;
	for (i = 0; i < n; i++) {
		if (ws[i].has_size && ws[i].size > message_max &&
		    !join_parts(&ws[i])) {
			set_err(err, errlen, "IMAP: out of memory");
			return IMAP_NOMEM;
		}
	}
	return IMAP_OK;
}

/* imap_fetch - sizes, then small bodies whole, then big ones' prefixes */
int
imap_fetch(struct imap *imap, const uint32_t *uids, size_t n,
           size_t message_max, struct imap_msg **msgs_r, size_t *n_r, char *err,
           size_t errlen)
{
	struct want *ws = NULL;
	uint32_t *v = NULL;
	size_t i, m = 0;
	sigset_t old;
	int st;

	*msgs_r = NULL;
	*n_r = 0;
	if (imap->is_dead)
		return dead(err, errlen);
	if (n > IMAP_FETCH_MAX) {
		set_err(err, errlen, "IMAP fetch of %zu UIDs: most is %d", n,
		        IMAP_FETCH_MAX);
		return IMAP_PERMFAIL;
	}
	if (n == 0)
		return IMAP_OK;
	if (message_max == 0)
		message_max = IMAP_MESSAGE_MAX_DEFAULT;
	sig_block(&old);
	v = uniq_copy(uids, n, &m);
	ws = calloc(n, sizeof(*ws));
	if (v == NULL || ws == NULL) {
		st = IMAP_NOMEM;
		set_err(err, errlen, "IMAP: out of memory");
		goto out;
	}
	for (i = 0; i < m; i++)
		ws[i].uid = v[i];
	st = fetch_all(imap, ws, v, m, message_max, err, errlen);
	if (st == IMAP_OK) {
		st = collect(ws, m, msgs_r, n_r);
		if (st != IMAP_OK)
			set_err(err, errlen, "IMAP: out of memory");
	}
	if (st == IMAP_OK)
		log_debug("imap action=fetch asked=%zu got=%zu", m, *n_r);
out:
	wants_free(ws, m);
	free(v);
	sig_restore(&old);
	return st;
}

/* imap_msgs_free - free a fetch result */
void
imap_msgs_free(struct imap_msg **msgs, size_t n)
{
	size_t i;

	if (msgs == NULL || *msgs == NULL)
		return;
	for (i = 0; i < n; i++)
		free((*msgs)[i].data);
	free(*msgs);
	*msgs = NULL;
}

/* store_att - +FLAGS.SILENT of \Seen [$Ticketed] or \Deleted */
static struct mailimap_store_att_flags *
store_att(bool deleted, bool keyword)
{
	struct mailimap_flag_list *fl;
	struct mailimap_store_att_flags *sa;
	struct mailimap_flag *f;
	char *kw;

	fl = mailimap_flag_list_new_empty();
	if (fl == NULL)
		return NULL;
	f = deleted ? mailimap_flag_new_deleted() : mailimap_flag_new_seen();
	if (f == NULL)
		goto fail;
	if (mailimap_flag_list_add(fl, f) != MAILIMAP_NO_ERROR) {
		mailimap_flag_free(f);
		goto fail;
	}
	if (!deleted && keyword) {
		kw = strdup(KEYWORD_TICKETED);
		if (kw == NULL)
			goto fail;
		f = mailimap_flag_new_flag_keyword(kw);
		if (f == NULL) {
			free(kw);
			goto fail;
		}
		if (mailimap_flag_list_add(fl, f) != MAILIMAP_NO_ERROR) {
			mailimap_flag_free(f);
			goto fail;
		}
	}
	sa = mailimap_store_att_flags_new_add_flags_silent(fl);
	if (sa == NULL)
		goto fail;
	return sa;
fail:
	mailimap_flag_list_free(fl);
	return NULL;
}

/* store_chunks - UID STORE sa on v in IMAP_SET_MAX chunks */
static int
store_chunks(struct imap *imap, const uint32_t *v, size_t n,
             struct mailimap_store_att_flags *sa, const char *what, char *err,
             size_t errlen)
{
	struct mailimap_set *set;
	size_t i, k;
	int r;

	for (i = 0; i < n; i += k) {
		k = n - i < IMAP_SET_MAX ? n - i : IMAP_SET_MAX;
		set = set_of(v + i, k);
		if (set == NULL) {
			set_err(err, errlen, "IMAP: out of memory");
			return IMAP_NOMEM;
		}
		r = mailimap_uid_store(imap->m, set, sa);
		mailimap_set_free(set);
		if (r != MAILIMAP_NO_ERROR)
			return fail(imap, r, what, IMAP_TEMPFAIL, err, errlen);
		ok_log(imap, what);
	}
	return IMAP_OK;
}

/* imap_flag - \Seen and $Ticketed on the UIDs */
int
imap_flag(struct imap *imap, const uint32_t *uids, size_t n, bool *seen_only_r,
          char *err, size_t errlen)
{
	struct mailimap_store_att_flags *sa = NULL;
	uint32_t *v = NULL;
	size_t m = 0;
	sigset_t old;
	int st;

	if (seen_only_r != NULL)
		*seen_only_r = !imap->has_keywords;
	if (imap->is_dead)
		return dead(err, errlen);
	if (n == 0)
		return IMAP_OK;
	sig_block(&old);
	v = uniq_copy(uids, n, &m);
	sa = store_att(false, imap->has_keywords);
	if (v == NULL || sa == NULL) {
		st = IMAP_NOMEM;
		set_err(err, errlen, "IMAP: out of memory");
		goto out;
	}
	if (!imap->has_keywords && !imap->warned_keywords) {
		char q[LOG_VALUE_MAX + 8];

		imap->warned_keywords = true;
		log_warning("imap mailbox=%s action=flag keywords=refused "
		            "note=\"PERMANENTFLAGS allows no $Ticketed: "
		            "storing Seen only\"",
		            log_quote(imap->mailbox, q, sizeof(q)));
	}
	st = store_chunks(imap, v, m, sa, "flag", err, errlen);
out:
	if (sa != NULL)
		mailimap_store_att_flags_free(sa);
	free(v);
	sig_restore(&old);
	return st;
}

/* create_once - CREATE folder; a NO is judged by the retried command */
static int
create_once(struct imap *imap, const char *folder, char *err, size_t errlen)
{
	int r;

	r = mailimap_create(imap->m, folder);
	if (r == MAILIMAP_NO_ERROR) {
		ok_log(imap, "create");
		return IMAP_OK;
	}
	if (is_fatal_rc(r))
		return fail(imap, r, "create", IMAP_TEMPFAIL, err, errlen);
	/* Say ALREADYEXISTS: only logged. */
	(void)fail(imap, r, "create", IMAP_TEMPFAIL, NULL, 0);
	return IMAP_OK;
}

/*
 * to_folder - UID MOVE (or COPY) set to folder, creating the folder once
 * when the first attempt is refused.
 */
static int
to_folder(struct imap *imap, struct mailimap_set *set, const char *folder,
          bool *tried_create, char *err, size_t errlen)
{
	const char *what = imap->has_move ? "move" : "copy";
	int r, st;

	for (;;) {
		r = imap->has_move ? mailimap_uid_move(imap->m, set, folder)
		                   : mailimap_uid_copy(imap->m, set, folder);
		if (r == MAILIMAP_NO_ERROR) {
			ok_log(imap, what);
			return IMAP_OK;
		}
		if (is_fatal_rc(r) || *tried_create)
			break;
		(void)fail(imap, r, what, IMAP_TEMPFAIL, NULL, 0);
		*tried_create = true;
		st = create_once(imap, folder, err, errlen);
		if (st != IMAP_OK)
			return st;
	}
	/* Still TRYCREATE after CREATE: the folder cannot exist. */
	return fail(imap, r, what,
	            imap->m->imap_response_info != NULL &&
	                    imap->m->imap_response_info->rsp_trycreate
	                ? IMAP_PERMFAIL
	                : IMAP_TEMPFAIL,
	            err, errlen);
}

/* move_chunk - move the sorted unique v[0..n) (n <= IMAP_SET_MAX) */
static int
move_chunk(struct imap *imap, const uint32_t *v, size_t n, const char *folder,
           bool *tried_create, bool *left_deleted,
           struct mailimap_store_att_flags *del, char *err, size_t errlen)
{
	struct mailimap_set *set;
	int r, st;

	set = set_of(v, n);
	if (set == NULL) {
		set_err(err, errlen, "IMAP: out of memory");
		return IMAP_NOMEM;
	}
	st = to_folder(imap, set, folder, tried_create, err, errlen);
	if (st != IMAP_OK || imap->has_move)
		goto out;
	r = mailimap_uid_store(imap->m, set, del);
	if (r != MAILIMAP_NO_ERROR) {
		st = fail(imap, r, "delete", IMAP_TEMPFAIL, err, errlen);
		goto out;
	}
	ok_log(imap, "delete");
	if (!imap->has_uidplus) {
		*left_deleted = true;
		goto out;
	}
	r = mailimap_uid_expunge(imap->m, set);
	if (r != MAILIMAP_NO_ERROR) {
		st = fail(imap, r, "expunge", IMAP_TEMPFAIL, err, errlen);
		goto out;
	}
	ok_log(imap, "expunge");
out:
	mailimap_set_free(set);
	return st;
}

/* imap_move - move the UIDs to folder */
int
imap_move(struct imap *imap, const uint32_t *uids, size_t n, const char *folder,
          bool *left_deleted_r, char *err, size_t errlen)
{
	struct mailimap_store_att_flags *del = NULL;
	char q[LOG_VALUE_MAX + 8];
	uint32_t *v = NULL;
	size_t i, k, m = 0;
	bool tried_create = false, left_deleted = false;
	sigset_t old;
	int st = IMAP_OK;

	if (left_deleted_r != NULL)
		*left_deleted_r = false;
	if (imap->is_dead)
		return dead(err, errlen);
	if (folder == NULL || !is_ascii_name(folder)) {
		set_err(err, errlen,
		        "IMAP folder name must be printable ASCII");
		return IMAP_PERMFAIL;
	}
	if (n == 0)
		return IMAP_OK;
	sig_block(&old);
	v = uniq_copy(uids, n, &m);
	if (!imap->has_move)
		del = store_att(true, false);
	if (v == NULL || (!imap->has_move && del == NULL)) {
		st = IMAP_NOMEM;
		set_err(err, errlen, "IMAP: out of memory");
		goto out;
	}
	for (i = 0; i < m && st == IMAP_OK; i += k) {
		k = m - i < IMAP_SET_MAX ? m - i : IMAP_SET_MAX;
		st = move_chunk(imap, v + i, k, folder, &tried_create,
		                &left_deleted, del, err, errlen);
	}
	if (left_deleted && !imap->warned_expunge) {
		imap->warned_expunge = true;
		log_warning("imap mailbox=%s action=move expunge=skipped "
		            "note=\"no UIDPLUS: moved messages stay in the "
		            "mailbox flagged Deleted\"",
		            log_quote(imap->mailbox, q, sizeof(q)));
	}
	if (left_deleted_r != NULL)
		*left_deleted_r = left_deleted;
out:
	if (del != NULL)
		mailimap_store_att_flags_free(del);
	free(v);
	sig_restore(&old);
	return st;
}

/* sel_news - EXISTS or a non-zero RECENT arrived since the last reset */
static bool
sel_news(const struct imap *imap)
{
	const struct mailimap_selection_info *sel =
	    imap->m->imap_selection_info;

	return sel != NULL && (sel->sel_has_exists ||
	                       (sel->sel_has_recent && sel->sel_recent > 0));
}

/* sel_reset - forget EXISTS/RECENT seen so far */
static void
sel_reset(struct imap *imap)
{
	struct mailimap_selection_info *sel = imap->m->imap_selection_info;

	if (sel != NULL) {
		sel->sel_has_exists = 0;
		sel->sel_has_recent = 0;
	}
}

/*
 * idle_poll - wait for the IDLE socket with the caller's signal mask;
 * 1 readable or timed out, 0 interrupted by a signal, -1 error.
 */
static int
idle_poll(struct imap *imap, int timeout_ms, const sigset_t *old)
{
	struct timespec ts;
	fd_set rfds;
	int fd, r;

	fd = mailimap_idle_get_fd(imap->m);
	if (fd < 0 || fd >= FD_SETSIZE)
		return -1;
	FD_ZERO(&rfds);
	FD_SET(fd, &rfds);
	ts.tv_sec = timeout_ms / 1000;
	ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
	/* pselect: a signal blocked so far is delivered here, not lost. */
	r = pselect(fd + 1, &rfds, NULL, NULL, &ts, old);
	if (r >= 0)
		return 1;
	return errno == EINTR ? 0 : -1;
}

/* imap_idle_wait - NOOP, IDLE, wait, DONE */
int
imap_idle_wait(struct imap *imap, int timeout_ms, bool *has_new_r, char *err,
               size_t errlen)
{
	sigset_t old;
	int r, w = 1, st = IMAP_OK;

	*has_new_r = false;
	if (imap->is_dead)
		return dead(err, errlen);
	if (!imap->has_idle) {
		set_err(err, errlen, "IMAP server offers no IDLE: poll");
		return IMAP_PERMFAIL;
	}
	if (timeout_ms < 0)
		timeout_ms = 0;
	if (timeout_ms > IMAP_IDLE_MAX_MS)
		timeout_ms = IMAP_IDLE_MAX_MS;
	sig_block(&old);
	/*
	 * Drain what the server queued, and see whether it was news.  The
	 * flags are not reset here but when a SEARCH starts (imap_search_new):
	 * an EXISTS that arrived during the last sync is news still.
	 */
	r = mailimap_noop(imap->m);
	if (r != MAILIMAP_NO_ERROR) {
		st = fail(imap, r, "noop", IMAP_TEMPFAIL, err, errlen);
		goto out;
	}
	if (sel_news(imap)) {
		*has_new_r = true;
		log_debug("imap action=idle new=1 via=noop");
		goto out;
	}
	r = mailimap_idle(imap->m);
	if (r != MAILIMAP_NO_ERROR) {
		imap->is_dead = true;
		st = fail(imap, r, "idle", IMAP_TEMPFAIL, err, errlen);
		goto out;
	}
	/* "+ idling" and "* n EXISTS" may have come in one packet. */
	if (imap->m->imap_stream->read_buffer_len == 0)
		w = idle_poll(imap, timeout_ms, &old);
	if (w < 0) {
		imap->is_dead = true;
		set_err(err, errlen, "IMAP IDLE wait failed: %s",
		        strerror(errno));
		st = IMAP_TEMPFAIL;
		goto out;
	}
	r = mailimap_idle_done(imap->m);
	if (r != MAILIMAP_NO_ERROR) {
		imap->is_dead = true;
		st = fail(imap, r, "idle_done", IMAP_TEMPFAIL, err, errlen);
		goto out;
	}
	*has_new_r = sel_news(imap);
	log_debug("imap action=idle new=%d interrupted=%d", *has_new_r, w == 0);
out:
	sig_restore(&old);
	return st;
}

/* imap_noop - NOOP */
int
imap_noop(struct imap *imap, char *err, size_t errlen)
{
	sigset_t old;
	int r, st = IMAP_OK;

	if (imap->is_dead)
		return dead(err, errlen);
	sig_block(&old);
	r = mailimap_noop(imap->m);
	if (r != MAILIMAP_NO_ERROR)
		st = fail(imap, r, "noop", IMAP_TEMPFAIL, err, errlen);
	else
		ok_log(imap, "noop");
	sig_restore(&old);
	return st;
}

/* imap_logout_free - LOGOUT if healthy, then free */
void
imap_logout_free(struct imap **pimap)
{
	struct imap *imap;
	sigset_t old;

	if (pimap == NULL || *pimap == NULL)
		return;
	imap = *pimap;
	*pimap = NULL;
	sig_block(&old);
	handle_free(imap, !imap->is_dead);
	sig_restore(&old);
}

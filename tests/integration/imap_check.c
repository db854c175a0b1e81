/* SPDX-License-Identifier: MIT */
/*
 * imap_check.c - drives daemon/imap.c against the real Dovecot of
 * servers.sh (and a scripted fake server) for test_imap.sh.  Each
 * sub-command runs one group of checks and ends with "N passed, N
 * failed".  Servers come from the environment: IMAP_PORT, IMAPS_PORT,
 * CA_FILE (and SERVERS_PASSWORD); a missing variable is a failure, never a
 * skip.  Not named test_* on purpose: run.sh would start it without them.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/imap.h"
#include "daemon/log.h"
#include "tests/harness.h"

#define USER "support@example.com"

static const char *password = "secret";
static unsigned imap_port, imaps_port;
static const char *ca_file;
static FILE *logf_;
static long log_mark_pos;
static volatile sig_atomic_t got_alarm;

/* env_port - a port from the environment, 0 when unset or bad */
static unsigned
env_port(const char *name)
{
	const char *v = getenv(name);
	char *end;
	unsigned long n;

	if (v == NULL || *v == '\0')
		return 0;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno != 0 || *end != '\0' || n == 0 || n > 65535)
		return 0;
	return (unsigned)n;
}

/* u32_arg - parse a UID argument; 0 when bad */
static uint32_t
u32_arg(const char *v)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno != 0 || *end != '\0' || n > UINT32_MAX)
		return 0;
	return (uint32_t)n;
}

/* pair_uid - the UID of a "UID=FILE" argument; 0 when bad */
static uint32_t
pair_uid(const char *v)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno != 0 || *end != '=' || n == 0 || n > UINT32_MAX)
		return 0;
	return (uint32_t)n;
}

/* now_ms - monotonic milliseconds */
static long
now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* settings - defaults for support@example.com on one of our servers */
static struct imap_settings
settings(enum config_tls tls, const char *host)
{
	struct imap_settings s;

	memset(&s, 0, sizeof(s));
	s.host = host;
	s.port = tls == CONFIG_TLS_IMPLICIT ? imaps_port : imap_port;
	s.tls = tls;
	s.user = USER;
	s.password = password;
	s.ca_file = ca_file;
	/* Dovecot delays logins from an IP after failed ones: be patient. */
	s.timeout_s = 20;
	s.mailbox = "INBOX";
	return s;
}

/* log_mark - later log_count calls look only at lines after this point */
static void
log_mark(void)
{
	(void)fflush(logf_);
	log_mark_pos = ftell(logf_);
}

/* log_count - lines since the mark containing sub (from_start: all) */
static int
log_count(const char *sub, bool from_start)
{
	char line[LOG_LINE_MAX + 2];
	long end;
	int n = 0;

	(void)fflush(logf_);
	end = ftell(logf_);
	if (fseek(logf_, from_start ? 0 : log_mark_pos, SEEK_SET) != 0)
		return -1;
	while (ftell(logf_) < end && fgets(line, sizeof(line), logf_) != NULL) {
		if (strstr(line, sub) != NULL)
			n++;
	}
	(void)fseek(logf_, 0, SEEK_END);
	return n;
}

/* connect_ok - connect or record a failure; NULL on failure */
static struct imap *
connect_ok(const struct imap_settings *s, const char *what)
{
	struct imap *imap = NULL;
	char err[512] = "";
	int st;

	st = imap_connect(s, &imap, err, sizeof(err));
	if (!CHECK_INT(st, IMAP_OK, what))
		fprintf(stderr, "  err: %s\n", err);
	return imap;
}

/* read_file - whole file into a malloc'd buffer */
static char *
read_file(const char *path, size_t *len_r)
{
	struct stat st;
	FILE *f;
	char *buf;

	f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	if (fstat(fileno(f), &st) != 0 || st.st_size < 0) {
		(void)fclose(f);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL ||
	    fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		free(buf);
		(void)fclose(f);
		return NULL;
	}
	(void)fclose(f);
	*len_r = (size_t)st.st_size;
	return buf;
}

/* run_cmd - run argv (NULL-terminated) and wait; its exit status */
static int
run_cmd(char *const argv[])
{
	pid_t pid;
	int status;

	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* spawn_cmd - start argv in the background; its pid or -1 */
static pid_t
spawn_cmd(char *const argv[])
{
	pid_t pid = fork();

	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* cmd_connect - plain, STARTTLS, IMAPS; refusals; getters */
static void
cmd_connect(uint32_t want_uidvalidity)
{
	struct imap_settings s;
	struct imap *imap;
	char err[512];
	int st;

	/* SIGPIPE still SIG_DFL: refused before any network traffic. */
	s = settings(CONFIG_TLS_NONE, "127.0.0.1");
	imap = NULL;
	err[0] = '\0';
	(void)signal(SIGPIPE, SIG_DFL);
	st = imap_connect(&s, &imap, err, sizeof(err));
	CHECK_INT(st, IMAP_PERMFAIL, "SIGPIPE not ignored is refused");
	CHECK(strstr(err, "SIGPIPE") != NULL, "err names SIGPIPE");
	CHECK(imap == NULL, "no handle on failure");
	(void)signal(SIGPIPE, SIG_IGN);

	const struct {
		enum config_tls tls;
		const char *host;
		const char *what;
	} ok_cases[] = {
	    {CONFIG_TLS_NONE, "127.0.0.1", "plain (tls=none)"},
	    {CONFIG_TLS_STARTTLS, "localhost", "STARTTLS as localhost"},
	    {CONFIG_TLS_STARTTLS, "127.0.0.1",
	     "STARTTLS as 127.0.0.1 (IP SAN)"},
	    {CONFIG_TLS_IMPLICIT, "localhost", "IMAPS as localhost"},
	    {CONFIG_TLS_IMPLICIT, "127.0.0.1", "IMAPS as 127.0.0.1 (IP SAN)"},
	};
	for (size_t i = 0; i < sizeof(ok_cases) / sizeof(ok_cases[0]); i++) {
		s = settings(ok_cases[i].tls, ok_cases[i].host);
		log_mark();
		imap = connect_ok(&s, ok_cases[i].what);
		if (imap == NULL)
			continue;
		CHECK_INT(imap_uidvalidity(imap), want_uidvalidity,
		          "uidvalidity as mailbox.py sees it");
		CHECK(imap_uidnext(imap) > 0, "uidnext known");
		CHECK(imap_has_idle(imap), "Dovecot offers IDLE");
		CHECK(imap_has_move(imap), "Dovecot offers MOVE");
		CHECK(imap_has_uidplus(imap), "Dovecot offers UIDPLUS");
		CHECK(imap_has_keywords(imap), "INBOX takes keywords");
		CHECK(!imap_is_dead(imap), "healthy");
		CHECK_INT(log_count("action=login status=ok", false), 1,
		          "login logged at debug");
		if (ok_cases[i].tls != CONFIG_TLS_NONE)
			CHECK_INT(log_count("action=verify status=ok", false),
			          1, "certificate verified");
		CHECK_INT(imap_noop(imap, err, sizeof(err)), IMAP_OK, "noop");
		imap_logout_free(&imap);
		CHECK(imap == NULL, "logout_free clears the pointer");
	}
	imap_logout_free(&imap);

	const struct {
		enum config_tls tls;
		const char *host;
		const char *ca;
		const char *user;
		const char *pass;
		const char *mailbox;
		unsigned port;
		int want;
		const char *err_has;
		const char *what;
	} bad_cases[] = {
	    {CONFIG_TLS_IMPLICIT, "localhost", "", USER, NULL, NULL, 0,
	     IMAP_PERMFAIL, "issuer is unknown", "IMAPS, system trust only"},
	    {CONFIG_TLS_STARTTLS, "localhost", "", USER, NULL, NULL, 0,
	     IMAP_PERMFAIL, "issuer is unknown", "STARTTLS, system trust only"},
	    {CONFIG_TLS_IMPLICIT, "localhost", "/nonexistent/ca.pem", USER,
	     NULL, NULL, 0, IMAP_PERMFAIL, "CA file", "CA file missing"},
	    {CONFIG_TLS_IMPLICIT, "localhost", NULL, USER, NULL, "NoSuchBox", 0,
	     IMAP_PERMFAIL, "select", "mailbox missing"},
	    {CONFIG_TLS_NONE, "127.0.0.1", NULL, USER, NULL, "Caf\xc3\xa9", 0,
	     IMAP_PERMFAIL, "ASCII", "non-ASCII mailbox name"},
	    {CONFIG_TLS_STARTTLS, "localhost", NULL, USER, NULL, NULL, 1,
	     IMAP_TEMPFAIL, "connect", "nothing listening (port 1)"},
	    {CONFIG_TLS_IMPLICIT, "localhost", NULL, USER, NULL, NULL, 2,
	     IMAP_TEMPFAIL, "connect",
	     "IMAPS to the plain port (TLS handshake fails)"},
	};
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		s = settings(bad_cases[i].tls, bad_cases[i].host);
		if (bad_cases[i].ca != NULL)
			s.ca_file = bad_cases[i].ca;
		s.user = bad_cases[i].user;
		if (bad_cases[i].pass != NULL)
			s.password = bad_cases[i].pass;
		if (bad_cases[i].mailbox != NULL)
			s.mailbox = bad_cases[i].mailbox;
		if (bad_cases[i].port == 1)
			s.port = 1;
		else if (bad_cases[i].port == 2)
			s.port = imap_port;
		imap = NULL;
		err[0] = '\0';
		st = imap_connect(&s, &imap, err, sizeof(err));
		if (!CHECK_INT(st, bad_cases[i].want, bad_cases[i].what) ||
		    !CHECK(strstr(err, bad_cases[i].err_has) != NULL,
		           bad_cases[i].what))
			fprintf(stderr, "  case %zu err: %s\n", i, err);
		CHECK(imap == NULL, "no handle on failure");
		CHECK(strchr(err, '\n') == NULL && strchr(err, '\r') == NULL,
		      "err is one line");
		imap_logout_free(&imap);
	}
}

/*
 * cmd_authfail - refused logins.  Run late: Dovecot then slows down every
 * login from 127.0.0.1 for a while.
 */
static void
cmd_authfail(void)
{
	static const struct {
		enum config_tls tls;
		const char *user;
		const char *pass;
		const char *what;
	} cases[] = {
	    {CONFIG_TLS_NONE, USER, "wrong", "wrong password"},
	    {CONFIG_TLS_IMPLICIT, "nobody@example.com", NULL, "unknown user"},
	};
	struct imap_settings s;
	struct imap *imap;
	char err[512];
	int st;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = settings(cases[i].tls, "localhost");
		s.user = cases[i].user;
		if (cases[i].pass != NULL)
			s.password = cases[i].pass;
		imap = NULL;
		err[0] = '\0';
		log_mark();
		st = imap_connect(&s, &imap, err, sizeof(err));
		if (!CHECK_INT(st, IMAP_PERMFAIL, cases[i].what) ||
		    !CHECK(strstr(err, "login") != NULL, cases[i].what))
			fprintf(stderr, "  case %zu err: %s\n", i, err);
		CHECK(imap == NULL, "no handle on failure");
		CHECK_INT(log_count("action=login status=permfail", false), 1,
		          "refusal logged at debug");
		CHECK_INT(log_count("action=select", false), 0,
		          "no SELECT after a refused LOGIN");
	}
}

/* cmd_tls_reject - the server now shows a bad certificate */
static void
cmd_tls_reject(const char *err_has)
{
	static const enum config_tls modes[] = {CONFIG_TLS_IMPLICIT,
	                                        CONFIG_TLS_STARTTLS};
	struct imap_settings s;
	struct imap *imap;
	char err[512];
	int st;

	for (size_t i = 0; i < 2; i++) {
		s = settings(modes[i], "localhost");
		imap = NULL;
		err[0] = '\0';
		log_mark();
		st = imap_connect(&s, &imap, err, sizeof(err));
		CHECK_INT(st, IMAP_PERMFAIL, "bad certificate refused");
		if (!CHECK(strstr(err, err_has) != NULL, "GnuTLS reason"))
			fprintf(stderr, "  err: %s (want %s)\n", err, err_has);
		CHECK(imap == NULL, "no handle");
		CHECK_INT(log_count("action=login", false), 0,
		          "refused before LOGIN");
	}
}

/* cmd_search - search_new from last returns exactly want[] */
static void
cmd_search(uint32_t last, char **want, int n_want)
{
	struct imap_settings s = settings(CONFIG_TLS_STARTTLS, "localhost");
	struct imap *imap;
	uint32_t *uids = NULL;
	size_t n = 0;
	char err[512];
	int st;

	imap = connect_ok(&s, "connect for search");
	if (imap == NULL)
		return;
	st = imap_search_new(imap, last, &uids, &n, err, sizeof(err));
	CHECK_INT(st, IMAP_OK, "search_new");
	if (CHECK_INT(n, n_want, "number of new UIDs")) {
		for (size_t i = 0; i < n; i++)
			CHECK_INT(uids[i], u32_arg(want[i]), "UID, ascending");
	}
	CHECK(n > 0 || uids == NULL, "NULL when none");
	free(uids);
	st = imap_search_new(imap, UINT32_MAX, &uids, &n, err, sizeof(err));
	CHECK(st == IMAP_OK && n == 0 && uids == NULL, "nothing above max");
	imap_logout_free(&imap);
}

/* cmd_fetch - fetch uid=file pairs in one call with message_max */
static void
cmd_fetch(size_t message_max, char **pairs, int n_pairs)
{
	struct imap_settings s = settings(CONFIG_TLS_IMPLICIT, "localhost");
	struct imap *imap;
	struct imap_msg *msgs = NULL;
	uint32_t uids[IMAP_FETCH_MAX + 1];
	size_t n = 0, n_small = 0, n_big = 0;
	char err[512];
	int st;

	memset(uids, 0, sizeof(uids));
	imap = connect_ok(&s, "connect for fetch");
	if (imap == NULL || n_pairs > IMAP_FETCH_MAX - 1)
		return;
	for (int i = 0; i < n_pairs; i++) {
		/* Asked backwards: the result must come back ascending. */
		uids[n_pairs - 1 - i] = pair_uid(pairs[i]);
	}
	/* A UID that does not exist is simply absent from the result. */
	uids[n_pairs] = 4000000000u;
	log_mark();
	st = imap_fetch(imap, uids, (size_t)n_pairs + 1, message_max, &msgs, &n,
	                err, sizeof(err));
	if (!CHECK_INT(st, IMAP_OK, "fetch"))
		fprintf(stderr, "  err: %s\n", err);
	CHECK_INT(n, n_pairs, "every existing UID, the missing one absent");
	for (size_t i = 0; i < n && i < (size_t)n_pairs; i++) {
		const char *path = strchr(pairs[i], '=');
		size_t flen = 0;
		char *want = path != NULL ? read_file(path + 1, &flen) : NULL;

		if (!CHECK(want != NULL, "read the appended file"))
			continue;
		CHECK_INT(msgs[i].uid, pair_uid(pairs[i]), "uid (ascending)");
		CHECK(msgs[i].data != NULL && msgs[i].data[msgs[i].len] == '\0',
		      "data NUL-terminated");
		CHECK_INT(msgs[i].size, flen, "RFC822.SIZE is the file size");
		if (flen <= message_max) {
			n_small++;
			CHECK(!msgs[i].is_oversized, "small not oversized");
			if (!CHECK(msgs[i].len == flen &&
			               memcmp(msgs[i].data, want, flen) == 0,
			           "fetched bytes equal the appended file"))
				fprintf(stderr, "  uid %u: len %zu want %zu\n",
				        msgs[i].uid, msgs[i].len, flen);
		} else {
			size_t tcap = message_max < IMAP_OVERSIZED_TEXT_MAX
			                  ? message_max
			                  : IMAP_OVERSIZED_TEXT_MAX;
			const char *eoh = strstr(want, "\r\n\r\n");
			size_t hlen =
			    eoh != NULL ? (size_t)(eoh - want) + 4 : 0;

			n_big++;
			CHECK(msgs[i].is_oversized, "big is oversized");
			CHECK(msgs[i].len < flen, "big not downloaded whole");
			CHECK_INT(msgs[i].len, hlen + tcap,
			          "header plus the body prefix");
			CHECK(msgs[i].len <= flen &&
			          memcmp(msgs[i].data, want, msgs[i].len) == 0,
			      "oversized data is a prefix of the message");
		}
		free(want);
	}
	for (size_t i = 1; i < n; i++)
		CHECK(msgs[i - 1].uid < msgs[i].uid, "ascending UIDs");
	CHECK_INT(log_count("action=fetch_size status=ok", false), 1,
	          "one FETCH for the sizes");
	CHECK_INT(log_count("action=fetch_body status=ok", false), n_small > 0,
	          "one FETCH for all small bodies");
	CHECK_INT(log_count("action=fetch_parts status=ok", false), n_big > 0,
	          "one FETCH for all oversized prefixes");
	imap_msgs_free(&msgs, n);
	CHECK(msgs == NULL, "msgs_free clears the pointer");
	imap_msgs_free(&msgs, 0);
	st = imap_fetch(imap, uids, IMAP_FETCH_MAX + 1, message_max, &msgs, &n,
	                err, sizeof(err));
	CHECK(st == IMAP_PERMFAIL && msgs == NULL && n == 0,
	      "more than IMAP_FETCH_MAX refused");
	CHECK(!imap_is_dead(imap), "refusal keeps the handle");
	imap_logout_free(&imap);
}

/* uids_of - parse argv UIDs into v (at most max) */
static size_t
uids_of(char **args, int n, uint32_t *v, size_t max)
{
	size_t k = 0;

	for (int i = 0; i < n && k < max; i++)
		v[k++] = u32_arg(args[i]);
	return k;
}

/* cmd_flag - \Seen $Ticketed on the UIDs; search skips them after */
static void
cmd_flag(char **args, int n_args)
{
	struct imap_settings s = settings(CONFIG_TLS_NONE, "127.0.0.1");
	struct imap *imap;
	uint32_t v[256], *uids = NULL;
	size_t n, nf;
	bool seen_only = true;
	char err[512];
	int st;

	nf = uids_of(args, n_args, v, 256);
	imap = connect_ok(&s, "connect for flag");
	if (imap == NULL)
		return;
	log_mark();
	st = imap_flag(imap, v, nf, &seen_only, err, sizeof(err));
	CHECK_INT(st, IMAP_OK, "flag");
	CHECK(!seen_only, "keyword stored too");
	CHECK_INT(log_count("action=flag status=ok", false), 1,
	          "one STORE for the whole set");
	st = imap_search_new(imap, 0, &uids, &n, err, sizeof(err));
	CHECK_INT(st, IMAP_OK, "search after flag");
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < nf; j++)
			CHECK(uids[i] != v[j], "flagged UID not new any more");
	}
	free(uids);
	imap_logout_free(&imap);
}

/* cmd_move - move the UIDs to folder (created on the way) */
static void
cmd_move(const char *folder, char **args, int n_args)
{
	struct imap_settings s = settings(CONFIG_TLS_STARTTLS, "localhost");
	struct imap *imap;
	uint32_t v[256], *uids = NULL;
	size_t n, nm;
	bool left_deleted = true;
	char err[512];
	int st;

	nm = uids_of(args, n_args, v, 256);
	imap = connect_ok(&s, "connect for move");
	if (imap == NULL)
		return;
	log_mark();
	st = imap_move(imap, v, nm, folder, &left_deleted, err, sizeof(err));
	if (!CHECK_INT(st, IMAP_OK, "move"))
		fprintf(stderr, "  err: %s\n", err);
	CHECK(!left_deleted, "MOVE leaves nothing \\Deleted");
	CHECK_INT(log_count("action=move status=ok", false), 1, "one UID MOVE");
	st = imap_search_new(imap, 0, &uids, &n, err, sizeof(err));
	CHECK_INT(st, IMAP_OK, "search after move");
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < nm; j++)
			CHECK(uids[i] != v[j], "moved UID gone from INBOX");
	}
	free(uids);
	st = imap_move(imap, v, nm, "Caf\xc3\xa9", NULL, err, sizeof(err));
	CHECK_INT(st, IMAP_PERMFAIL, "non-ASCII folder refused");
	CHECK(!imap_is_dead(imap), "refusal keeps the handle");
	imap_logout_free(&imap);
}

/* on_alarm - SIGALRM handler: only a flag */
static void
on_alarm(int sig)
{
	(void)sig;
	got_alarm = 1;
}

/* cmd_idle - quiet IDLE, IDLE woken by an APPEND, IDLE cut by a signal */
static void
cmd_idle(uint32_t last, char **append_argv)
{
	struct imap_settings s = settings(CONFIG_TLS_IMPLICIT, "localhost");
	struct sigaction sa;
	struct imap *imap;
	uint32_t *uids = NULL;
	bool has_new = true;
	char err[512];
	long t0, dt;
	pid_t pid;
	int st, status, rounds;

	imap = connect_ok(&s, "connect for idle");
	if (imap == NULL)
		return;
	st = imap_idle_wait(imap, 1000, &has_new, err, sizeof(err));
	CHECK_INT(st, IMAP_OK, "quiet IDLE");
	CHECK(!has_new, "quiet IDLE: nothing new");

	pid = spawn_cmd(append_argv);
	CHECK(pid > 0, "start the background APPEND");
	t0 = now_ms();
	has_new = false;
	/* As the daemon does: an early return (a signal) just waits again. */
	rounds = 0;
	do {
		st = imap_idle_wait(imap, 20000, &has_new, err, sizeof(err));
		rounds++;
	} while (st == IMAP_OK && !has_new && now_ms() - t0 < 15000);
	dt = now_ms() - t0;
	if (!CHECK_INT(st, IMAP_OK, "IDLE with an APPEND"))
		fprintf(stderr, "  err: %s\n", err);
	CHECK(has_new, "IDLE reports new mail");
	CHECK(dt < 15000, "woken by the mail, not by the timeout");
	printf("idle: woke after %ld ms (%d wait%s)\n", dt, rounds,
	       rounds == 1 ? "" : "s");
	if (pid > 0) {
		CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		          WEXITSTATUS(status) == 0,
		      "APPEND succeeded");
	}
	size_t n = 0;
	st = imap_search_new(imap, last, &uids, &n, err, sizeof(err));
	CHECK(st == IMAP_OK && n == 1, "search finds the appended message");
	free(uids);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	(void)sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART; /* pselect is interrupted even so */
	(void)sigaction(SIGALRM, &sa, NULL);
	got_alarm = 0;
	(void)alarm(1);
	t0 = now_ms();
	do {
		has_new = true;
		st = imap_idle_wait(imap, 20000, &has_new, err, sizeof(err));
	} while (st == IMAP_OK && !got_alarm && now_ms() - t0 < 15000);
	dt = now_ms() - t0;
	CHECK_INT(st, IMAP_OK, "IDLE cut by a signal is OK");
	CHECK(got_alarm, "handler ran");
	CHECK(!has_new, "nothing new");
	CHECK(dt < 15000, "returned before the timeout");
	CHECK_INT(imap_noop(imap, err, sizeof(err)), IMAP_OK,
	          "handle healthy after the interrupted IDLE");
	(void)alarm(0);
	imap_logout_free(&imap);
}

/* cmd_down - stop the server under an open handle: TEMPFAIL, quickly */
static void
cmd_down(char **stop_argv)
{
	struct imap_settings s = settings(CONFIG_TLS_STARTTLS, "localhost");
	struct imap *imap;
	struct imap_msg *msgs = NULL;
	uint32_t uid = 1, *uids = NULL;
	size_t n = 0;
	bool flag_out = false;
	char err[512];
	long t0;
	int st;

	imap = connect_ok(&s, "connect before the server stops");
	if (imap == NULL)
		return;
	CHECK_INT(run_cmd(stop_argv), 0, "stop the servers");
	t0 = now_ms();
	err[0] = '\0';
	st = imap_noop(imap, err, sizeof(err));
	CHECK_INT(st, IMAP_TEMPFAIL, "noop after the server died");
	CHECK(imap_is_dead(imap), "handle marked dead");
	CHECK(err[0] != '\0', "err says why");
	CHECK(now_ms() - t0 < 10000, "within the timeout");
	t0 = now_ms();
	CHECK_INT(imap_search_new(imap, 0, &uids, &n, err, sizeof(err)),
	          IMAP_TEMPFAIL, "search on a dead handle");
	CHECK_INT(imap_fetch(imap, &uid, 1, 1000, &msgs, &n, err, sizeof(err)),
	          IMAP_TEMPFAIL, "fetch on a dead handle");
	CHECK_INT(imap_flag(imap, &uid, 1, &flag_out, err, sizeof(err)),
	          IMAP_TEMPFAIL, "flag on a dead handle");
	CHECK_INT(imap_move(imap, &uid, 1, "X", &flag_out, err, sizeof(err)),
	          IMAP_TEMPFAIL, "move on a dead handle");
	CHECK_INT(imap_idle_wait(imap, 1000, &flag_out, err, sizeof(err)),
	          IMAP_TEMPFAIL, "idle on a dead handle");
	CHECK(now_ms() - t0 < 1000, "dead handle answers at once");
	CHECK(strstr(err, "dead") != NULL, "err says dead");
	imap_logout_free(&imap);
	t0 = now_ms();
	st = imap_connect(&s, &imap, err, sizeof(err));
	CHECK_INT(st, IMAP_TEMPFAIL, "reconnect while down");
	CHECK(now_ms() - t0 < 10000, "refused quickly");
}

/* cmd_silent - a listener that never greets: connect times out */
static void
cmd_silent(unsigned port)
{
	struct imap_settings s = settings(CONFIG_TLS_NONE, "127.0.0.1");
	struct imap *imap = NULL;
	char err[512] = "";
	long t0, dt;
	int st;

	s.port = port;
	s.timeout_s = 2;
	t0 = now_ms();
	st = imap_connect(&s, &imap, err, sizeof(err));
	dt = now_ms() - t0;
	CHECK_INT(st, IMAP_TEMPFAIL, "silent server: TEMPFAIL");
	CHECK(imap == NULL, "no handle");
	CHECK(dt >= 1500 && dt < 8000, "after about timeout_s");
	printf("silent: gave up after %ld ms (%s)\n", dt, err);

	s.tls = CONFIG_TLS_IMPLICIT;
	s.host = "localhost";
	t0 = now_ms();
	st = imap_connect(&s, &imap, err, sizeof(err));
	dt = now_ms() - t0;
	CHECK_INT(st, IMAP_TEMPFAIL, "silent server, TLS: TEMPFAIL");
	CHECK(dt < 8000, "TLS handshake bounded too");
	printf("silent TLS: gave up after %ld ms (%s)\n", dt, err);
}

/* cmd_fake - the scripted server: no MOVE/UIDPLUS/keywords, lies, stalls */
static void
cmd_fake(unsigned port)
{
	struct imap_settings s = settings(CONFIG_TLS_NONE, "127.0.0.1");
	struct imap *imap;
	struct imap_msg *msgs = NULL;
	uint32_t uids[] = {9, 6, 5};
	size_t n = 0;
	bool seen_only = false, left_deleted = false, has_new = true;
	char err[512];
	long t0;
	int st;

	s.port = port;
	s.timeout_s = 2;
	imap = connect_ok(&s, "connect to the fake server");
	if (imap == NULL)
		return;
	CHECK_INT(imap_uidvalidity(imap), 42, "uidvalidity from SELECT");
	CHECK_INT(imap_uidnext(imap), 7, "uidnext from STATUS");
	CHECK(!imap_has_move(imap), "no MOVE");
	CHECK(!imap_has_uidplus(imap), "no UIDPLUS");
	CHECK(!imap_has_idle(imap), "no IDLE");
	CHECK(!imap_has_keywords(imap), "PERMANENTFLAGS without \\*");
	st = imap_idle_wait(imap, 100, &has_new, err, sizeof(err));
	CHECK_INT(st, IMAP_PERMFAIL, "idle without IDLE refused");
	CHECK(!imap_is_dead(imap), "and the handle lives");

	st = imap_fetch(imap, uids, 3, 1000, &msgs, &n, err, sizeof(err));
	CHECK_INT(st, IMAP_OK, "fetch amid unsolicited FETCHes");
	if (CHECK_INT(n, 2, "UIDs 5 and 6 only")) {
		CHECK_INT(msgs[0].uid, 5, "first is 5");
		CHECK(msgs[0].is_oversized, "literal far over its size: cut");
		CHECK_INT(msgs[0].len,
		          IMAP_OVERSIZED_HEADER_MAX + IMAP_OVERSIZED_TEXT_MAX,
		          "cut to the oversized maximum");
		CHECK_INT(msgs[0].size, 400000, "size is the real length");
		CHECK_INT(msgs[1].uid, 6, "second is 6");
		CHECK(!msgs[1].is_oversized, "6 is normal");
		CHECK(msgs[1].len == 120 &&
		          memcmp(msgs[1].data, "Subject: six", 12) == 0,
		      "6's bytes");
	}
	imap_msgs_free(&msgs, n);

	log_mark();
	st = imap_flag(imap, uids + 1, 2, &seen_only, err, sizeof(err));
	CHECK_INT(st, IMAP_OK, "flag without keywords");
	CHECK(seen_only, "seen_only reported");
	CHECK_INT(log_count("keywords=refused", false), 1, "warned once");
	st = imap_flag(imap, uids + 1, 2, &seen_only, err, sizeof(err));
	CHECK_INT(log_count("keywords=refused", false), 1, "only once");

	log_mark();
	st = imap_move(imap, uids + 1, 2, "Processed", &left_deleted, err,
	               sizeof(err));
	if (!CHECK_INT(st, IMAP_OK, "COPY fallback after TRYCREATE"))
		fprintf(stderr, "  err: %s\n", err);
	CHECK(left_deleted, "no UIDPLUS: left \\Deleted");
	CHECK_INT(log_count("action=create status=ok", false), 1,
	          "folder created once");
	CHECK_INT(log_count("expunge=skipped", false), 1, "warned");
	st = imap_move(imap, uids + 1, 1, "Missing", &left_deleted, err,
	               sizeof(err));
	CHECK_INT(st, IMAP_PERMFAIL, "folder that cannot be created");
	CHECK(!imap_is_dead(imap), "handle still usable");

	t0 = now_ms();
	st = imap_noop(imap, err, sizeof(err));
	CHECK_INT(st, IMAP_TEMPFAIL, "stalled server: TEMPFAIL");
	CHECK(now_ms() - t0 < 8000, "after about timeout_s");
	CHECK(imap_is_dead(imap), "dead after a timeout");
	imap_logout_free(&imap);
}

/* usage - the sub-commands */
static int
usage(void)
{
	fprintf(
	    stderr,
	    "usage: imap_check connect UIDVALIDITY | authfail | "
	    "tls-reject TEXT |\n"
	    "  search LAST [UID...] | fetch MAX UID=FILE... | flag UID... |\n"
	    "  move FOLDER UID... | idle LAST CMD... | down CMD... |\n"
	    "  silent PORT | fake PORT\n");
	printf("0 passed, 1 failed\n");
	return 2;
}

int
main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 2)
		return usage();
	cmd = argv[1];
	imap_port = env_port("IMAP_PORT");
	imaps_port = env_port("IMAPS_PORT");
	ca_file = getenv("CA_FILE");
	if (getenv("SERVERS_PASSWORD") != NULL)
		password = getenv("SERVERS_PASSWORD");
	if (imap_port == 0 || imaps_port == 0 || ca_file == NULL) {
		fprintf(stderr, "imap_check: IMAP_PORT, IMAPS_PORT and "
		                "CA_FILE must be set (tests/integration/"
		                "test_imap.sh does)\n");
		printf("0 passed, 1 failed\n");
		return 1;
	}
	logf_ = tmpfile();
	if (logf_ == NULL) {
		perror("tmpfile");
		return 1;
	}
	log_init("imap_check", LOG_SINK_STDERR, LOG_LEVEL_DEBUG);
	log_set_stream(logf_);
	if (strcmp(cmd, "connect") != 0)
		(void)signal(SIGPIPE, SIG_IGN);

	if (strcmp(cmd, "connect") == 0 && argc == 3)
		cmd_connect(u32_arg(argv[2]));
	else if (strcmp(cmd, "authfail") == 0 && argc == 2)
		cmd_authfail();
	else if (strcmp(cmd, "tls-reject") == 0 && argc == 3)
		cmd_tls_reject(argv[2]);
	else if (strcmp(cmd, "search") == 0 && argc >= 3)
		cmd_search(u32_arg(argv[2]), argv + 3, argc - 3);
	else if (strcmp(cmd, "fetch") == 0 && argc >= 4)
		cmd_fetch(u32_arg(argv[2]), argv + 3, argc - 3);
	else if (strcmp(cmd, "flag") == 0 && argc >= 3)
		cmd_flag(argv + 2, argc - 2);
	else if (strcmp(cmd, "move") == 0 && argc >= 4)
		cmd_move(argv[2], argv + 3, argc - 3);
	else if (strcmp(cmd, "idle") == 0 && argc >= 4)
		cmd_idle(u32_arg(argv[2]), argv + 3);
	else if (strcmp(cmd, "down") == 0 && argc >= 3)
		cmd_down(argv + 2);
	else if (strcmp(cmd, "silent") == 0 && argc == 3)
		cmd_silent((unsigned)u32_arg(argv[2]));
	else if (strcmp(cmd, "fake") == 0 && argc == 3)
		cmd_fake((unsigned)u32_arg(argv[2]));
	else
		return usage();

	/* The password never reaches the log, whatever happened. */
	CHECK_INT(log_count(password, true), 0, "password never logged");
	CHECK(log_count("imap action=", true) > 0, "debug lines were written");
	if (getenv("IMAP_CHECK_SHOW_LOG") != NULL) {
		char line[LOG_LINE_MAX + 2];

		rewind(logf_);
		while (fgets(line, sizeof(line), logf_) != NULL)
			fputs(line, stderr);
	}
	(void)fclose(logf_);
	return test_done();
}

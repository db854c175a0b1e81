/* SPDX-License-Identifier: MIT */
/*
 * fuzz_imap.c - libFuzzer target for a hostile IMAP server: the input is
 * a scripted server side, replayed by a thread on a 127.0.0.1 listener
 * while daemon/imap.c runs a whole session against it (connect with
 * tls=none, login, select, search, the three fetch passes, flag, move,
 * IDLE, NOOP, logout), so every byte reaches libetpan's response parser
 * through our own code.  Segments of the input are separated by 0x1e:
 * the first is the greeting, each next one answers the next command line
 * the client sends, with "<T>" replaced by that command's tag.  When the
 * client does not speak within FUZZ_WAIT_MS the next segment is sent
 * anyway (a half response keeps the client reading), and once such waits
 * add up to FUZZ_WAIT_BUDGET_MS the rest is streamed without waiting;
 * after the last segment the server closes, so no input waits for a
 * network timeout and a session costs a bounded time.  Promises
 * checked: err lines and log lines hold no control bytes, fetched data is
 * NUL-terminated, in ascending UID order, and the password never shows
 * up in err or the log unless the server itself sent it.  Set
 * TICKETD_FUZZ_VERBOSE=1 to see each session's (debug) log on stderr.
 * The system libetpan is not instrumented: coverage guides the fuzzer
 * through imap.c's paths only, while ASan still sees libetpan's frees.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "daemon/imap.h"
#include "daemon/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/* Byte that separates the server's answers in an input. */
#define FUZZ_SEP 0x1e
/* Placeholder for the tag of the command being answered. */
#define FUZZ_TAG "<T>"
/* How long the server waits for a command before it sends on anyway. */
#define FUZZ_WAIT_MS 20
/* Waiting that went unanswered, per session, before it stops waiting. */
#define FUZZ_WAIT_BUDGET_MS 200
/* How long the server waits for the client to connect at all. */
#define FUZZ_ACCEPT_MS 3000
/* Longest tag kept from a command line. */
#define FUZZ_TAG_MAX 32
/* The password the client logs in with (checked against leaks). */
#define FUZZ_PASSWORD "fuzz-Pw-7f3a9c"
/* message_max for imap_fetch: small, so the oversized pass runs too. */
#define FUZZ_MESSAGE_MAX 4096
/* Most UIDs of a search result passed on to fetch, flag and move. */
#define FUZZ_UIDS_MAX 8

/* One replay: the input and the listening socket (both borrowed). */
struct fuzz_server {
	const uint8_t *data;
	size_t size;
	int lfd;
};

static int fuzz_lfd = -1;
static unsigned fuzz_port;
/* TICKETD_FUZZ_VERBOSE=1: copy each session's log to stderr. */
static bool fuzz_verbose;
/*
 * Known libetpan 1.9.4 bugs (three NULL reads and a hang inside the
 * library; reported in /work/notes/findings/), filtered out unless
 * TICKETD_FUZZ_NO_FILTER=1 so that the fuzzer can look past them:
 *  1. mailimap_capability() walks the cached capability list after a
 *     tagged OK without checking it, so a server that never sent any
 *     capability and answers CAPABILITY with a bare OK makes it read
 *     through NULL.  Filter: an untagged CAPABILITY is added to the answer
 *     of a CAPABILITY command that lacks one.
 *  2. A greeting with a PERMANENTFLAGS or BADCHARSET list code, even a
 *     well-formed one ("* OK [PERMANENTFLAGS (\Seen)] hi"), crashes
 *     mailimap_greeting_parse().  Filter: such inputs are skipped.
 *  3. A PERMANENTFLAGS list whose first flag does not parse ("(\)",
 *     "(\ x)", "(%)", "(\0)") crashes the response parser while it
 *     cleans up.  Filter: inputs with a PERMANENTFLAGS list that is not a
 *     plain list of flags are skipped (see is_clean_permflags).
 *  4. Not a crash but a hang: when the stream ends (FIN, reset) in the
 *     middle of a literal, the literal reader loops on the failing read
 *     forever, at full CPU, whatever the timeout.  Filter: inputs in which
 *     some "{N}" could announce a literal running past the end of the
 *     script are skipped (see has_open_literal).
 */
static bool fuzz_filter = true;

/*
 * __lsan_default_suppressions - libetpan's own leaks, not ours (libetpan
 * is not built with frame pointers, so a leak's stack ends at the
 * library function that called malloc).  1.9.4's mailimap_connect returns
 * on a BYE (or otherwise refused) greeting without freeing the parsed
 * greeting (the tree hangs off the block of mailimap_greeting_new, its
 * children are indirect).  The FETCH parser drops the section spec it
 * built when the rest of a "BODY[...]" item fails to parse
 * (mailimap_section_spec_new; imap.c's own sections are freed with the
 * fetch type in fetch_pass, on every path).
 */
const char *
__lsan_default_suppressions(void)
{
	return "leak:mailimap_greeting_new\n"
	       "leak:mailimap_section_spec_new\n";
}

/* fuzz_die - a broken promise or a harness failure: abort */
static _Noreturn void
fuzz_die(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_imap: %s%s%s\n", what, detail != NULL ? ": " : "",
	        detail != NULL ? detail : "");
	abort();
}

/* fuzz_init - ignore SIGPIPE and open the listener once */
static void
fuzz_init(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	const char *v = getenv("TICKETD_FUZZ_VERBOSE");

	fuzz_verbose = v != NULL && v[0] != '\0' && v[0] != '0';
	v = getenv("TICKETD_FUZZ_NO_FILTER");
	fuzz_filter = v == NULL || v[0] == '\0' || v[0] == '0';
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		fuzz_die("signal", strerror(errno));
	fuzz_lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fuzz_lfd < 0)
		fuzz_die("socket", strerror(errno));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = 0;
	if (bind(fuzz_lfd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    listen(fuzz_lfd, 4) != 0 ||
	    getsockname(fuzz_lfd, (struct sockaddr *)&sin, &len) != 0)
		fuzz_die("listener", strerror(errno));
	fuzz_port = ntohs(sin.sin_port);
}

/* has_bytes - whether needle occurs in hay[0..len) */
static bool
has_bytes(const void *hay, size_t len, const char *needle)
{
	const char *h = hay;
	size_t nl = strlen(needle), i;

	for (i = 0; nl <= len && i <= len - nl; i++) {
		if (memcmp(h + i, needle, nl) == 0)
			return true;
	}
	return false;
}

/* send_all - write len bytes to fd; false when the client went away */
static bool
send_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/*
 * send_segment - send seg[0..len) with every FUZZ_TAG replaced by tag, in
 * one write (several small ones would meet Nagle and delayed ACKs).
 */
static bool
send_segment(int fd, const uint8_t *seg, size_t len, const char *tag)
{
	const size_t tl = sizeof(FUZZ_TAG) - 1, gl = strlen(tag);
	size_t i = 0, o = 0;
	char *out;
	bool ok;

	/* A tag is at most FUZZ_TAG_MAX bytes, the placeholder 3. */
	out = malloc(len / tl * (gl > tl ? gl : tl) + len + 1);
	if (out == NULL)
		fuzz_die("malloc", NULL);
	while (i < len) {
		if (i + tl <= len && memcmp(seg + i, FUZZ_TAG, tl) == 0) {
			memcpy(out + o, tag, gl);
			o += gl;
			i += tl;
		} else {
			out[o++] = (char)seg[i++];
		}
	}
	ok = send_all(fd, out, o);
	free(out);
	return ok;
}

/*
 * take_tag - the tag of one command line (its first word); "DONE" (the
 * end of IDLE) keeps the tag of the IDLE command.  *is_cap_r tells
 * whether the command is CAPABILITY.
 */
static void
take_tag(const char *line, size_t len, char *tag, bool *is_cap_r)
{
	static const char cap[] = " CAPABILITY\r";
	size_t n = 0;

	if (len >= 4 && memcmp(line, "DONE", 4) == 0)
		return;
	while (n < len && n < FUZZ_TAG_MAX && line[n] != ' ' &&
	       line[n] != '\r' && line[n] != '\n')
		n++;
	memcpy(tag, line, n);
	tag[n] = '\0';
	*is_cap_r = len - n >= sizeof(cap) - 1 &&
	            memcmp(line + n, cap, sizeof(cap) - 1) == 0;
}

/*
 * read_commands - wait up to FUZZ_WAIT_MS (while *budget lasts) for client
 * bytes and count the complete lines; -1 when the client closed.  Partial
 * lines stay in line/used for the next call.
 */
static int
read_commands(int fd, char *line, size_t cap, size_t *used, char *tag,
              bool *is_cap_r, int *budget)
{
	struct pollfd pfd = {fd, POLLIN, 0};
	char buf[1024];
	ssize_t n;
	int lines = 0, pr;
	size_t i;

	pr = poll(&pfd, 1, *budget > 0 ? FUZZ_WAIT_MS : 0);
	if (pr <= 0) {
		*budget -= FUZZ_WAIT_MS;
		return 0;
	}
	n = recv(fd, buf, sizeof(buf), 0);
	if (n <= 0)
		return -1;
	for (i = 0; i < (size_t)n; i++) {
		if (*used < cap)
			line[(*used)++] = buf[i];
		if (buf[i] != '\n')
			continue;
		take_tag(line, *used, tag, is_cap_r);
		*used = 0;
		lines++;
	}
	return lines;
}

/* serve - play one input as the server side of one connection */
static void
serve(int fd, const uint8_t *data, size_t size)
{
	static const char untagged_cap[] = "* CAPABILITY IMAP4rev1\r\n";
	char tag[FUZZ_TAG_MAX + 1] = "*";
	char line[256];
	size_t pos = 0, used = 0;
	bool is_cap = false;
	int budget = FUZZ_WAIT_BUDGET_MS;

	for (;;) {
		const uint8_t *seg = data + pos;
		const uint8_t *end = memchr(seg, FUZZ_SEP, size - pos);
		size_t len = end != NULL ? (size_t)(end - seg) : size - pos;
		int got;

		/* libetpan bug 1 (fuzz_filter): keep CAPABILITY fed. */
		if (is_cap && fuzz_filter &&
		    !has_bytes(seg, len, "* CAPABILITY ") &&
		    !send_all(fd, untagged_cap, sizeof(untagged_cap) - 1))
			return;
		is_cap = false;
		if (!send_segment(fd, seg, len, tag))
			return;
		if (end == NULL)
			break;
		pos += len + 1;
		/* The next answer goes out on the next command, or soon. */
		got = read_commands(fd, line, sizeof(line), &used, tag, &is_cap,
		                    &budget);
		if (got < 0)
			return;
	}
	/* Out of script: end the stream, then wait for the client's close. */
	(void)shutdown(fd, SHUT_WR);
	for (;;) {
		struct pollfd pfd = {fd, POLLIN, 0};

		if (poll(&pfd, 1, FUZZ_ACCEPT_MS) <= 0 ||
		    recv(fd, line, sizeof(line), 0) <= 0)
			break;
	}
}

/* server_main - accept one connection and serve the input on it */
static void *
server_main(void *arg)
{
	const struct fuzz_server *fs = arg;
	struct pollfd pfd = {fs->lfd, POLLIN, 0};
	int fd, one = 1;

	if (poll(&pfd, 1, FUZZ_ACCEPT_MS) <= 0)
		return NULL;
	fd = accept(fs->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	serve(fd, fs->data, fs->size);
	(void)close(fd);
	return NULL;
}

/* ci_find - first case-insensitive occurrence of needle, or NULL */
static const uint8_t *
ci_find(const uint8_t *p, size_t len, const char *needle)
{
	size_t nl = strlen(needle), i, k;

	for (i = 0; nl <= len && i <= len - nl; i++) {
		for (k = 0; k < nl; k++) {
			unsigned char a = p[i + k],
			              b = (unsigned char)needle[k];

			if (a >= 'a' && a <= 'z')
				a = (unsigned char)(a - 32);
			if (a != b)
				break;
		}
		if (k == nl)
			return p + i;
	}
	return NULL;
}

/* is_atom_char - RFC 3501 ATOM-CHAR (printable ASCII but atom-specials) */
static bool
is_atom_char(uint8_t c)
{
	return c > 0x20 && c < 0x7f && strchr("(){%*\"\\]", c) == NULL;
}

/*
 * is_clean_permflags - p (after the word PERMANENTFLAGS) is not a list, or
 * is " (" flags ")" with flags "\*", "\atom" or "atom" separated by
 * single spaces (libetpan bug 3 in fuzz_filter).
 */
static bool
is_clean_permflags(const uint8_t *p, size_t len)
{
	size_t i = 2;

	if (len < 2 || p[0] != ' ' || p[1] != '(')
		return true;
	if (i < len && p[i] == ')')
		return true;
	for (;;) {
		size_t start;

		if (i < len && p[i] == '\\') {
			i++;
			if (i < len && p[i] == '*') {
				i++;
				goto next;
			}
		}
		start = i;
		while (i < len && is_atom_char(p[i]))
			i++;
		if (i == start)
			return false;
	next:
		if (i < len && p[i] == ')')
			return true;
		if (i >= len || p[i] != ' ')
			return false;
		i++;
	}
}

/*
 * has_open_literal - some "{N}" or "{N+}" in data could start a literal
 * reaching past the end of what the server sends, counting every "<T>" as
 * a one-byte tag (libetpan bug 4 in fuzz_filter).
 */
static bool
has_open_literal(const uint8_t *data, size_t size)
{
	size_t i, tags = 0, sent;
	const uint8_t *p = data;
	size_t left = size;

	while ((p = ci_find(p, left, FUZZ_TAG)) != NULL) {
		tags++;
		p += sizeof(FUZZ_TAG) - 1;
		left = size - (size_t)(p - data);
	}
	sent = size - tags * (sizeof(FUZZ_TAG) - 2);
	for (i = 0; i < size; i++) {
		size_t j = i + 1;
		uint64_t n = 0;

		if (data[i] != '{')
			continue;
		while (j < size && data[j] >= '0' && data[j] <= '9' &&
		       n < UINT32_MAX) {
			n = n * 10 + (uint64_t)(data[j] - '0');
			j++;
		}
		if (j == i + 1)
			continue;
		if (j < size && data[j] == '+')
			j++;
		if (j < size && data[j] == '}' && j + 1 + n > sent)
			return true;
	}
	return false;
}

/* is_known_crash - the input is one of libetpan's known bugs 2, 3 and 4 */
static bool
is_known_crash(const uint8_t *data, size_t size)
{
	const uint8_t *end = memchr(data, FUZZ_SEP, size);
	size_t glen = end != NULL ? (size_t)(end - data) : size;
	const uint8_t *p = data;
	size_t left = size;

	if (has_open_literal(data, size))
		return true;
	if (ci_find(data, glen, "PERMANENTFLAGS") != NULL ||
	    ci_find(data, glen, "BADCHARSET") != NULL)
		return true;
	while ((p = ci_find(p, left, "PERMANENTFLAGS")) != NULL) {
		p += 14;
		left = size - (size_t)(p - data);
		if (!is_clean_permflags(p, left))
			return true;
	}
	return false;
}

/* check_line - err must be one line of printable text, without secrets */
static void
check_line(const char *err, size_t cap, bool pw_sent)
{
	size_t i, len = strnlen(err, cap);

	if (len == cap)
		fuzz_die("err not terminated", NULL);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)err[i];

		if (c < 0x20 || c == 0x7f)
			fuzz_die("control byte in err", err);
	}
	if (!pw_sent && strstr(err, FUZZ_PASSWORD) != NULL)
		fuzz_die("password in err", err);
}

/* check_log - the log may hold newlines between lines, no other controls */
static void
check_log(const char *log, size_t len, bool pw_sent)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)log[i];

		if ((c < 0x20 && c != '\n') || c == 0x7f)
			fuzz_die("control byte in the log", log);
	}
	if (!pw_sent && has_bytes(log, len, FUZZ_PASSWORD))
		fuzz_die("password in the log", NULL);
}

/* check_msgs - the promises of struct imap_msg */
static void
check_msgs(const struct imap_msg *msgs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (msgs[i].data == NULL || msgs[i].data[msgs[i].len] != '\0')
			fuzz_die("fetched data not NUL-terminated", NULL);
		if (i > 0 && msgs[i].uid <= msgs[i - 1].uid)
			fuzz_die("fetched UIDs not ascending", NULL);
		if (msgs[i].is_oversized &&
		    msgs[i].len >
		        IMAP_OVERSIZED_HEADER_MAX + IMAP_OVERSIZED_TEXT_MAX)
			fuzz_die("oversized prefix too long", NULL);
	}
}

/* session - one client session over everything imap.h offers */
static void
session(bool pw_sent)
{
	static const uint32_t fallback[] = {1, 2, 3};
	struct imap_settings s;
	struct imap *imap = NULL;
	struct imap_msg *msgs = NULL;
	uint32_t *uids = NULL;
	const uint32_t *use;
	size_t n = 0, nm = 0;
	bool flag_r = false, has_new = false;
	char err[512];

	memset(&s, 0, sizeof(s));
	s.host = "127.0.0.1";
	s.port = fuzz_port;
	s.tls = CONFIG_TLS_NONE;
	s.user = "support@example.com";
	s.password = FUZZ_PASSWORD;
	s.timeout_s = 1;
	s.mailbox = "INBOX";
	err[0] = '\0';
	if (imap_connect(&s, &imap, err, sizeof(err)) != IMAP_OK) {
		check_line(err, sizeof(err), pw_sent);
		return;
	}
	(void)imap_uidvalidity(imap);
	(void)imap_uidnext(imap);
	(void)imap_has_keywords(imap);
	(void)imap_has_uidplus(imap);
	if (imap_search_new(imap, 0, &uids, &n, err, sizeof(err)) != IMAP_OK)
		check_line(err, sizeof(err), pw_sent);
	use = n > 0 ? uids : fallback;
	if (n == 0)
		n = sizeof(fallback) / sizeof(fallback[0]);
	if (n > FUZZ_UIDS_MAX)
		n = FUZZ_UIDS_MAX;
	if (imap_fetch(imap, use, n, FUZZ_MESSAGE_MAX, &msgs, &nm, err,
	               sizeof(err)) == IMAP_OK)
		check_msgs(msgs, nm);
	else
		check_line(err, sizeof(err), pw_sent);
	imap_msgs_free(&msgs, nm);
	if (imap_flag(imap, use, n, &flag_r, err, sizeof(err)) != IMAP_OK)
		check_line(err, sizeof(err), pw_sent);
	if (imap_move(imap, use, n, "Processed", &flag_r, err, sizeof(err)) !=
	    IMAP_OK)
		check_line(err, sizeof(err), pw_sent);
	if (imap_has_idle(imap) &&
	    imap_idle_wait(imap, 5, &has_new, err, sizeof(err)) != IMAP_OK)
		check_line(err, sizeof(err), pw_sent);
	if (imap_noop(imap, err, sizeof(err)) != IMAP_OK)
		check_line(err, sizeof(err), pw_sent);
	(void)imap_is_dead(imap);
	imap_logout_free(&imap);
	free(uids);
}

/* LLVMFuzzerTestOneInput - one scripted server, one client session */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_server fs;
	pthread_t th;
	char *log = NULL;
	size_t log_len = 0;
	FILE *mem;
	bool pw_sent;

	if (fuzz_lfd < 0)
		fuzz_init();
	if (fuzz_filter && is_known_crash(data, size))
		return 0;
	mem = open_memstream(&log, &log_len);
	if (mem == NULL)
		fuzz_die("open_memstream", strerror(errno));
	log_init("fuzz_imap", LOG_SINK_STDERR, LOG_LEVEL_DEBUG);
	log_set_stream(mem);
	pw_sent = has_bytes(data, size, FUZZ_PASSWORD);
	fs.data = data;
	fs.size = size;
	fs.lfd = fuzz_lfd;
	if (pthread_create(&th, NULL, server_main, &fs) != 0)
		fuzz_die("pthread_create", NULL);
	session(pw_sent);
	if (pthread_join(th, NULL) != 0)
		fuzz_die("pthread_join", NULL);
	log_set_stream(NULL);
	if (fclose(mem) != 0)
		fuzz_die("fclose", NULL);
	check_log(log, log_len, pw_sent);
	if (fuzz_verbose)
		fprintf(stderr, "%s", log);
	free(log);
	return 0;
}

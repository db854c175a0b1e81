/* SPDX-License-Identifier: MIT */
/*
 * log.c - the log sinks, value quoting and the journal field extraction
 * (see log.h).  State is process-wide (one log per process), set once by
 * log_init.  Under journald each event goes out as one structured entry;
 * if journald cannot take it, the line goes to stderr with its "<N>"
 * priority prefix, which journald's stream reader understands too.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "log.h"

/* Where sd_journal_sendv() sends entries. */
#define LOG_JOURNAL_SOCKET "/run/systemd/journal/socket"

static const char *log_ident = "ticketd";
static enum log_sink log_sink = LOG_SINK_STDERR;
static int log_level = LOG_LEVEL_INFO;
static FILE *log_stream;

/* log_init - configure */
void
log_init(const char *ident, enum log_sink sink, int level)
{
	log_ident = ident;
	log_sink = sink;
	log_level = level;
	if (sink == LOG_SINK_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

/* log_auto_sink - journald if stderr is its stream */
enum log_sink
log_auto_sink(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char *end;

	if (e == NULL || e[0] < '0' || e[0] > '9')
		return LOG_SINK_STDERR;
	errno = 0;
	dev = strtoull(e, &end, 10);
	if (errno != 0 || *end != ':' || end[1] < '0' || end[1] > '9')
		return LOG_SINK_STDERR;
	ino = strtoull(end + 1, &end, 10);
	if (errno != 0 || *end != '\0')
		return LOG_SINK_STDERR;
	if (fstat(STDERR_FILENO, &st) != 0)
		return LOG_SINK_STDERR;
	return (unsigned long long)st.st_dev == dev &&
	               (unsigned long long)st.st_ino == ino
	           ? LOG_SINK_JOURNAL
	           : LOG_SINK_STDERR;
}

void
log_set_level(int level)
{
	log_level = level;
}

int
log_get_level(void)
{
	return log_level;
}

void
log_set_stream(FILE *f)
{
	log_stream = f;
}

/* log_level_parse - name to level */
int
log_level_parse(const char *name)
{
	static const struct {
		const char *name;
		int level;
	} names[] = {
	    {"err", LOG_LEVEL_ERR},         {"error", LOG_LEVEL_ERR},
	    {"warning", LOG_LEVEL_WARNING}, {"notice", LOG_LEVEL_NOTICE},
	    {"info", LOG_LEVEL_INFO},       {"debug", LOG_LEVEL_DEBUG}};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(name, names[i].name) == 0)
			return names[i].level;
	return -1;
}

/* journal_send - one structured journal entry; 0 or a negative errno */
static int
journal_send(int level, const char *line)
{
	static char facility[] = "SYSLOG_FACILITY=2"; /* LOG_MAIL */
	struct log_fields f;
	struct {
		const char *name, *value;
	} extra[5];
	char bufs[5][LOG_FIELD_MAX + 16];
	char msg[LOG_LINE_MAX + 16], pri[16], ident[128];
	struct iovec iov[9];
	size_t n = 0, i, k;
	int len;

	/* sd_journal_sendv() reports success when journald is not there */
	if (access(LOG_JOURNAL_SOCKET, F_OK) != 0)
		return -errno;
	(void)log_fields(line, &f);
	extra[0].name = "TICKET_ID";
	extra[0].value = f.ticket_id;
	extra[1].name = "IMAP_UID";
	extra[1].value = f.imap_uid;
	extra[2].name = "MESSAGE_ID";
	extra[2].value = f.message_id;
	extra[3].name = "REQUESTER";
	extra[3].value = f.requester;
	extra[4].name = "ACTION";
	extra[4].value = f.action;
	len = snprintf(msg, sizeof(msg), "MESSAGE=%s", line);
	if (len < 0)
		return -EINVAL;
	iov[n].iov_base = msg;
	iov[n++].iov_len = strnlen(msg, sizeof(msg));
	len = snprintf(pri, sizeof(pri), "PRIORITY=%d", level & 7);
	iov[n].iov_base = pri;
	iov[n++].iov_len = len > 0 ? strnlen(pri, sizeof(pri)) : 0;
	len = snprintf(ident, sizeof(ident), "SYSLOG_IDENTIFIER=%s", log_ident);
	iov[n].iov_base = ident;
	iov[n++].iov_len = len > 0 ? strnlen(ident, sizeof(ident)) : 0;
	iov[n].iov_base = facility;
	iov[n++].iov_len = strlen(facility);
	for (i = 0, k = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		if (extra[i].value[0] == '\0')
			continue;
		len = snprintf(bufs[k], sizeof(bufs[k]), "%s=%s", extra[i].name,
		               extra[i].value);
		if (len < 0)
			continue;
		iov[n].iov_base = bufs[k];
		iov[n++].iov_len = strnlen(bufs[k], sizeof(bufs[k]));
		k++;
	}
	return sd_journal_sendv(iov, (int)n);
}

/* emit - format and write one line */
static void
emit(int level, const char *suffix, const char *fmt, va_list ap)
{
	static const char *const names[] = {"emerg", "alert",   "crit",
	                                    "err",   "warning", "notice",
	                                    "info",  "debug"};
	char line[LOG_LINE_MAX];
	FILE *out = log_stream != NULL ? log_stream : stderr;
	int n;
	size_t len;

	if (level > log_level)
		return;
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return;
	len = strlen(line);
	if (suffix != NULL && len < sizeof(line) - 1)
		(void)snprintf(line + len, sizeof(line) - len, "%s", suffix);
	/* no raw newline may split an event */
	for (len = 0; line[len] != '\0'; len++)
		if (line[len] == '\n' || line[len] == '\r')
			line[len] = ' ';
	switch (log_sink) {
	case LOG_SINK_SYSLOG:
		syslog(level, "%s", line);
		break;
	case LOG_SINK_JOURNAL:
		if (log_stream == NULL && journal_send(level, line) >= 0)
			break;
		fprintf(out, "<%d>%s\n", level, line);
		fflush(out);
		break;
	case LOG_SINK_STDERR: {
		char ts[32] = "";
		struct timespec now;
		struct tm tm;

		if (clock_gettime(CLOCK_REALTIME, &now) == 0 &&
		    localtime_r(&now.tv_sec, &tm) != NULL)
			(void)strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S",
			               &tm);
		fprintf(out, "%s %s[%ld] %s: %s\n", ts, log_ident,
		        (long)getpid(), names[level & 7], line);
		fflush(out);
		break;
	}
	}
}

#define LOG_FN(fname, level)                                                   \
	void fname(const char *fmt, ...)                                       \
	{                                                                      \
		int saved = errno;                                             \
		va_list ap;                                                    \
		va_start(ap, fmt);                                             \
		emit(level, NULL, fmt, ap);                                    \
		va_end(ap);                                                    \
		errno = saved;                                                 \
	}

LOG_FN(log_err, LOG_LEVEL_ERR)
LOG_FN(log_warning, LOG_LEVEL_WARNING)
LOG_FN(log_notice, LOG_LEVEL_NOTICE)
LOG_FN(log_info, LOG_LEVEL_INFO)
LOG_FN(log_debug_, LOG_LEVEL_DEBUG)

/* errno_suffix - " error=..." for the _errno variants */
static void
errno_suffix(int e, char *buf, size_t len)
{
	char q[LOG_VALUE_MAX + 8];

	(void)snprintf(buf, len, " error=%s",
	               log_quote(strerror(e), q, sizeof(q)));
}

/* log_err_errno - err with strerror */
void
log_err_errno(const char *fmt, ...)
{
	int saved = errno;
	char sfx[LOG_VALUE_MAX + 16];
	va_list ap;

	errno_suffix(saved, sfx, sizeof(sfx));
	va_start(ap, fmt);
	emit(LOG_LEVEL_ERR, sfx, fmt, ap);
	va_end(ap);
	errno = saved;
}

/* log_warning_errno - warning with strerror */
void
log_warning_errno(const char *fmt, ...)
{
	int saved = errno;
	char sfx[LOG_VALUE_MAX + 16];
	va_list ap;

	errno_suffix(saved, sfx, sizeof(sfx));
	va_start(ap, fmt);
	emit(LOG_LEVEL_WARNING, sfx, fmt, ap);
	va_end(ap);
	errno = saved;
}

/* log_fatal - log and exit */
void
log_fatal(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(LOG_LEVEL_ERR, NULL, fmt, ap);
	va_end(ap);
	exit(status);
}

/* log_panic_ - log a bug and abort */
void
log_panic_(const char *file, int line, const char *fmt, ...)
{
	char sfx[256];
	va_list ap;

	(void)snprintf(sfx, sizeof(sfx), " panic_at=%s:%d", file, line);
	va_start(ap, fmt);
	emit(LOG_LEVEL_ERR, sfx, fmt, ap);
	va_end(ap);
	abort();
}

/* log_quote - escape and cap a value */
const char *
log_quote(const char *s, char *buf, size_t buflen)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0, limit;
	bool quote = false;

	if (buflen < 8) {
		if (buflen > 0)
			buf[0] = '\0';
		return buf;
	}
	if (s == NULL)
		s = "";
	p = (const unsigned char *)s;
	quote = *s == '\0' || strpbrk(s, " \t=\"") != NULL;
	limit = buflen - 6; /* room for "...", quotes and NUL */
	if (limit > LOG_VALUE_MAX)
		limit = LOG_VALUE_MAX;
	if (quote)
		buf[o++] = '"';
	for (; *p != '\0'; p++) {
		size_t need = (*p < 0x20 || *p == 0x7f)   ? 4
		              : (*p == '"' || *p == '\\') ? 2
		                                          : 1;

		if (o + need > limit) {
			/* do not leave half a UTF-8 character */
			while (o > 1 &&
			       ((unsigned char)buf[o - 1] & 0xc0) == 0x80)
				o--;
			if (o > 1 && (unsigned char)buf[o - 1] >= 0xc0)
				o--;
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (need == 4) {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[*p >> 4];
			buf[o++] = hex[*p & 15];
		} else if (need == 2) {
			buf[o++] = '\\';
			buf[o++] = (char)*p;
		} else {
			buf[o++] = (char)*p;
		}
	}
	if (quote)
		buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

/* field_index - log_fields member of a key (-1: none), and its rank */
static int
field_index(const char *key, size_t keylen, int *rank)
{
	static const struct {
		const char *key;
		int which, rank;
	} keys[] = {
	    {"ticket", 0, 0},    {"uid", 1, 0},  {"message_id", 2, 0},
	    {"requester", 3, 3}, {"from", 3, 2}, {"to", 3, 1},
	    {"action", 4, 0},
	};
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strlen(keys[i].key) == keylen &&
		    memcmp(keys[i].key, key, keylen) == 0) {
			*rank = keys[i].rank;
			return keys[i].which;
		}
	return -1;
}

/* utf8_cut - length <= len that does not end inside a UTF-8 character */
static size_t
utf8_cut(const char *s, size_t len, size_t full)
{
	if (len >= full)
		return full;
	/* s[len] is the first byte left out: back up over continuations */
	while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
		len--;
	return len;
}

/* log_fields - journal fields out of our own key=value line */
int
log_fields(const char *line, struct log_fields *f)
{
	const char *p = line != NULL ? line : "";
	int ranks[5] = {-1, -1, -1, -1, -1}, set = 0;
	struct {
		char *p;
		size_t cap;
	} slots[5];

	memset(f, 0, sizeof(*f));
	slots[0].p = f->ticket_id;
	slots[0].cap = sizeof(f->ticket_id);
	slots[1].p = f->imap_uid;
	slots[1].cap = sizeof(f->imap_uid);
	slots[2].p = f->message_id;
	slots[2].cap = sizeof(f->message_id);
	slots[3].p = f->requester;
	slots[3].cap = sizeof(f->requester);
	slots[4].p = f->action;
	slots[4].cap = sizeof(f->action);
	while (*p != '\0') {
		const char *key, *v;
		char val[LOG_LINE_MAX];
		size_t keylen, o = 0, len;
		int rank = 0, which;
		bool quoted;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		key = p;
		while ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		       *p == '_')
			p++;
		keylen = (size_t)(p - key);
		if (*p != '=' || keylen == 0) {
			/* a bare word such as the object: skip it */
			while (*p != '\0' && *p != ' ' && *p != '\t')
				p++;
			continue;
		}
		v = ++p;
		quoted = *v == '"';
		if (quoted)
			p++;
		while (*p != '\0') {
			char c = *p;

			if (quoted ? c == '"' : (c == ' ' || c == '\t'))
				break;
			if (c == '\\' && (p[1] == '"' || p[1] == '\\')) {
				c = p[1];
				p++;
			}
			if (o < sizeof(val) - 1)
				val[o++] = c;
			p++;
		}
		if (quoted && *p == '"')
			p++;
		val[o] = '\0';
		which = field_index(key, keylen, &rank);
		if (which < 0 || o == 0 || strcmp(val, "-") == 0)
			continue;
		/* first one wins; for the requester, the higher rank */
		if (ranks[which] >= rank)
			continue;
		if (ranks[which] < 0)
			set++;
		ranks[which] = rank;
		len = utf8_cut(val, slots[which].cap - 1, o);
		memcpy(slots[which].p, val, len);
		slots[which].p[len] = '\0';
	}
	return set;
}

/* SPDX-License-Identifier: MIT */
/*
 * log.c - the log sink and value quoting (see log.h).  State is process-
 * wide (one log per process), set once by log_init.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

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
	return getenv("JOURNAL_STREAM") != NULL ? LOG_SINK_JOURNAL
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

/* SPDX-License-Identifier: MIT */
/*
 * log.h - ticketd's log (STYLE.md §6, SPEC §9): one event per line,
 * "object action=... key=value", capped at LOG_LINE_MAX bytes.  Sinks:
 * stderr with syslog "<N>" priority prefixes under journald, stderr with a
 * human timestamp in the foreground, syslog(LOG_MAIL) otherwise.  Every
 * value from outside goes through log_quote().  errno survives each call.
 */
#ifndef DAEMON_LOG_H
#define DAEMON_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#define LOG_LINE_MAX 2048
/* Longest quoted value: longer ones are cut and end in "...". */
#define LOG_VALUE_MAX 200

enum log_sink {
	LOG_SINK_STDERR,  /* timestamped lines (ticketd -f, ticketctl) */
	LOG_SINK_JOURNAL, /* "<N>" prefixed lines for journald */
	LOG_SINK_SYSLOG,  /* syslog(3), facility LOG_MAIL */
};

/* Levels are syslog priorities. */
enum log_level {
	LOG_LEVEL_ERR = 3,
	LOG_LEVEL_WARNING = 4,
	LOG_LEVEL_NOTICE = 5,
	LOG_LEVEL_INFO = 6,
	LOG_LEVEL_DEBUG = 7,
};

/* log_init - choose sink and level; ident is borrowed for the process. */
void log_init(const char *ident, enum log_sink sink, int level);

/* log_auto_sink - JOURNAL when $JOURNAL_STREAM is set, else STDERR. */
enum log_sink log_auto_sink(void);

/* log_set_level / log_get_level - current threshold. */
void log_set_level(int level);
int log_get_level(void);

/* log_level_parse - "err|warning|notice|info|debug" to a level, or -1. */
int log_level_parse(const char *name);

/* log_set_stream - write stderr-sink lines to f instead (tests). */
void log_set_stream(FILE *f);

void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* _errno variants append " error=\"strerror(errno)\"". */
void log_err_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warning_errno(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
/* log_fatal - log at err and exit(status). */
_Noreturn void log_fatal(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* log_panic_ - our own bug: log file:line and abort. */
_Noreturn void log_panic_(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_panic(...) log_panic_(__FILE__, __LINE__, __VA_ARGS__)
/* log_debug evaluates its arguments only when debug is on. */
#define log_debug(...)                                                         \
	do {                                                                   \
		if (log_get_level() >= LOG_LEVEL_DEBUG)                        \
			log_debug_(__VA_ARGS__);                               \
	} while (0)

/*
 * log_quote - s (borrowed, may be NULL) as a log value in buf: controls,
 * backslash and quotes escaped, cut to LOG_VALUE_MAX bytes, and wrapped in
 * double quotes when it has blanks, '=' or quotes or is empty.  Returns buf.
 * Use one buf per value in a call.
 */
const char *log_quote(const char *s, char *buf, size_t buflen);

#endif

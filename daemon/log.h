/* SPDX-License-Identifier: MIT */
/*
 * log.h - ticketd's log (STYLE.md §6, SPEC §9): one event per line,
 * "object action=... key=value", capped at LOG_LINE_MAX bytes.  Sinks:
 * journald through sd_journal_sendv() with fields an admin can filter on
 * (TICKET_ID=, IMAP_UID=, MESSAGE_ID=, REQUESTER=, ACTION=, taken from the
 * line by log_fields()), falling back to stderr with syslog "<N>" prefixes;
 * stderr with a human timestamp in the foreground; syslog(LOG_MAIL)
 * otherwise.  Every value from outside goes through log_quote().  errno
 * survives each call.
 */
#ifndef DAEMON_LOG_H
#define DAEMON_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#define LOG_LINE_MAX 2048
/* Longest quoted value: longer ones are cut and end in "...". */
#define LOG_VALUE_MAX 200

/* Longest journal field value taken from a line, NUL included. */
#define LOG_FIELD_MAX (LOG_VALUE_MAX + 8)

enum log_sink {
	LOG_SINK_STDERR,  /* timestamped lines (ticketd -f, ticketctl) */
	LOG_SINK_JOURNAL, /* sd_journal_sendv; else "<N>" lines on stderr */
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

/*
 * log_auto_sink - JOURNAL when $JOURNAL_STREAM ("DEV:INODE") names the file
 * stderr is open on (so stderr really goes to journald), else STDERR.
 */
enum log_sink log_auto_sink(void);

/* log_set_level / log_get_level - current threshold. */
void log_set_level(int level);
int log_get_level(void);

/* log_level_parse - "err|warning|notice|info|debug" to a level, or -1. */
int log_level_parse(const char *name);

/*
 * log_set_stream - write stderr and "<N>" lines to f instead, bypassing
 * journald (tests); NULL restores stderr.
 */
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

/*
 * The journal fields of one event line (log_fields).  Values are the
 * line's values without their surrounding quotes, \" and \\ unescaped
 * (other escapes such as \x0a stay as written), cut to the buffer on a
 * UTF-8 boundary; "" when the key is absent, empty or "-".
 */
struct log_fields {
	char ticket_id[LOG_FIELD_MAX];  /* ticket= */
	char imap_uid[24];              /* uid= */
	char message_id[LOG_FIELD_MAX]; /* message_id= */
	char requester[LOG_FIELD_MAX];  /* requester=, else from=, else to= */
	char action[64];                /* action= */
};

/*
 * log_fields - parse the key=value pairs of line (borrowed, one of our own
 * event lines; NULL is taken as "") into *f.  A key counts only at the
 * start of a token, never inside a quoted value; the first occurrence
 * wins.  Returns how many of the five fields were set.
 */
int log_fields(const char *line, struct log_fields *f);

#endif

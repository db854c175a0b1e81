/* SPDX-License-Identifier: MIT */
/*
 * test_log.c - the log module without journald: log_fields() (the journal
 * fields taken from our own key=value lines: quoting, escapes, keys inside
 * values, first-wins, requester ranking, caps on a UTF-8 boundary),
 * log_quote() (escaping of CR, LF and other controls, quoting, the length
 * cap), the stderr and "<N>" sinks, the JOURNAL_STREAM device:inode check,
 * and the "<N>" fallback when journald is not there.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/log.h"
#include "tests/harness.h"

/* is_utf8_end - s does not end inside a UTF-8 sequence */
static int
is_utf8_end(const char *s)
{
	size_t n = strlen(s), i = n, cont = 0;

	while (i > 0 && ((unsigned char)s[i - 1] & 0xc0) == 0x80) {
		i--;
		cont++;
	}
	if (i == 0 || cont == 0)
		return i == 0 ? cont == 0 : ((unsigned char)s[i - 1] < 0xc0);
	/* s[i-1] is a lead byte followed by cont continuations */
	if (((unsigned char)s[i - 1] & 0xe0) == 0xc0)
		return cont == 1;
	if (((unsigned char)s[i - 1] & 0xf0) == 0xe0)
		return cont == 2;
	return cont == 3;
}

static const struct {
	const char *line;
	int n;
	const char *ticket, *uid, *message_id, *requester, *action;
} field_cases[] = {
    {"ticket=CM-20231105-001 action=created uid=812 from=a@b.cn "
     "category=payment priority=normal attachments=0 skipped=0 ack=queued "
     "message_id=<m1@test>",
     5, "CM-20231105-001", "812", "<m1@test>", "a@b.cn", "created"},
    {"uid=9 action=quarantined message_id=<x@y> reason=\"no header fields\"", 3,
     "", "9", "<x@y>", "", "quarantined"},
    {"ticket=CM-1 action=acked to=alice@example.cn message_id=<ack@x>", 4,
     "CM-1", "", "<ack@x>", "alice@example.cn", "acked"},
    {"ticket=CM-2 action=overdue priority=urgent due_at=2023-11-05T16:33 "
     "requester=\"Alice <a@b.cn>\"",
     3, "CM-2", "", "", "Alice <a@b.cn>", "overdue"},
    /* keys inside a quoted value are not fields */
    {"imap action=connect_failed host=h status=tempfail "
     "error=\"ticket=FAKE uid=1 from=x@y\"",
     1, "", "", "", "", "connect_failed"},
    /* nor inside an unquoted one */
    {"batch action=isolate note=from=x@y reason=\"a b\"", 1, "", "", "", "",
     "isolate"},
    /* requester: requester= beats from= beats to=, whatever the order */
    {"to=b@y from=a@x", 1, "", "", "", "a@x", ""},
    {"to=b@y requester=c@z from=a@x", 1, "", "", "", "c@z", ""},
    {"to=b@y to=d@y", 1, "", "", "", "b@y", ""},
    /* first occurrence wins */
    {"ticket=A ticket=B action=x action=y", 2, "A", "", "", "", "x"},
    /* "-" and "" are no value */
    {"ticket=- action=duplicate uid=3 from=\"\"", 2, "", "3", "", "",
     "duplicate"},
    /* escapes: \" and \\ undone, \x0a kept as written */
    {"message_id=\"<a\\\"b c@d>\" from=a\\\\b to=x", 2, "", "", "<a\"b c@d>",
     "a\\b", ""},
    {"ticket=T1 from=evil\\x0d\\x0aaction=forged", 2, "T1", "", "",
     "evil\\x0d\\x0aaction=forged", ""},
    /* an unterminated quote swallows the rest */
    {"action=x error=\"abc ticket=Y uid=2", 1, "", "", "", "", "x"},
    /* upper case and bare words are not keys */
    {"TICKET=x Ticket=y ticket action", 0, "", "", "", "", ""},
    {"", 0, "", "", "", "", ""},
    {"   \t  ", 0, "", "", "", "", ""},
    {"=x ==y action==z", 1, "", "", "", "", "=z"},
};

static void
test_fields_table(void)
{
	size_t i;

	for (i = 0; i < sizeof(field_cases) / sizeof(field_cases[0]); i++) {
		struct log_fields f;
		char what[64];
		int n;

		(void)snprintf(what, sizeof(what), "fields case %zu", i);
		n = log_fields(field_cases[i].line, &f);
		CHECK_INT(n, field_cases[i].n, what);
		CHECK_STR(f.ticket_id, field_cases[i].ticket, what);
		CHECK_STR(f.imap_uid, field_cases[i].uid, what);
		CHECK_STR(f.message_id, field_cases[i].message_id, what);
		CHECK_STR(f.requester, field_cases[i].requester, what);
		CHECK_STR(f.action, field_cases[i].action, what);
	}
}

static void
test_fields_caps(void)
{
	struct log_fields f;
	char line[LOG_LINE_MAX];
	size_t o, i;

	/* NULL line */
	CHECK_INT(log_fields(NULL, &f), 0, "NULL line");
	CHECK_STR(f.ticket_id, "", "NULL line: nothing set");

	/* ASCII over the cap: cut to the buffer */
	o = (size_t)snprintf(line, sizeof(line), "message_id=");
	for (i = 0; i < 300; i++)
		line[o++] = 'm';
	line[o] = '\0';
	CHECK_INT(log_fields(line, &f), 1, "long message_id set");
	CHECK_INT(strlen(f.message_id), LOG_FIELD_MAX - 1,
	          "long message_id capped");

	/* two-byte characters: never cut in the middle */
	o = (size_t)snprintf(line, sizeof(line), "from=");
	for (i = 0; i < 200; i++) {
		line[o++] = (char)0xc3;
		line[o++] = (char)0xa9;
	}
	line[o] = '\0';
	(void)log_fields(line, &f);
	CHECK(strlen(f.requester) <= LOG_FIELD_MAX - 1, "requester capped");
	CHECK(strlen(f.requester) >= LOG_FIELD_MAX - 3, "requester near cap");
	CHECK(is_utf8_end(f.requester), "requester cut on a UTF-8 boundary");

	/* three-byte characters and a short field (uid, 24 bytes) */
	o = (size_t)snprintf(line, sizeof(line), "uid=");
	for (i = 0; i < 20; i++) {
		line[o++] = (char)0xe5;
		line[o++] = (char)0xb7;
		line[o++] = (char)0xa5;
	}
	line[o] = '\0';
	(void)log_fields(line, &f);
	CHECK_INT(strlen(f.imap_uid), 21, "uid cut to 7 whole characters");
	CHECK(is_utf8_end(f.imap_uid), "uid cut on a UTF-8 boundary");

	/* a line longer than LOG_LINE_MAX is read without overrun */
	{
		size_t big = 3 * LOG_LINE_MAX;
		char *l = malloc(big + 32);

		if (CHECK(l != NULL, "malloc")) {
			o = (size_t)snprintf(l, 32, "action=");
			memset(l + o, 'a', big);
			l[o + big] = '\0';
			(void)log_fields(l, &f);
			CHECK_INT(strlen(f.action), sizeof(f.action) - 1,
			          "action from an over-long line capped");
			free(l);
		}
	}
}

static const struct {
	const char *in, *out;
} quote_cases[] = {
    {"plain", "plain"},
    {"a@b.cn", "a@b.cn"},
    {"", "\"\""},
    {"two words", "\"two words\""},
    {"k=v", "\"k=v\""},
    {"say \"hi\"", "\"say \\\"hi\\\"\""},
    {"back\\slash", "back\\\\slash"},
    {"line1\r\nline2", "line1\\x0d\\x0aline2"},
    {"tab\there", "\"tab\\x09here\""},
    {"bell\007del\177esc\033", "bell\\x07del\\x7fesc\\x1b"},
    {"中文主题", "中文主题"},
    {"Subject: x\r\nBcc: evil@x", "\"Subject: x\\x0d\\x0aBcc: evil@x\""},
};

static void
test_quote(void)
{
	char buf[LOG_VALUE_MAX + 8], big[4 * LOG_VALUE_MAX];
	const char *q;
	size_t i, len;

	for (i = 0; i < sizeof(quote_cases) / sizeof(quote_cases[0]); i++)
		CHECK_STR(log_quote(quote_cases[i].in, buf, sizeof(buf)),
		          quote_cases[i].out, quote_cases[i].in);
	CHECK_STR(log_quote(NULL, buf, sizeof(buf)), "\"\"", "NULL is \"\"");

	/* the cap: LOG_VALUE_MAX bytes and "..." */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	q = log_quote(big, buf, sizeof(buf));
	len = strlen(q);
	CHECK_INT(len, LOG_VALUE_MAX + 3, "long value capped");
	CHECK(strcmp(q + len - 3, "...") == 0, "capped value ends in ...");
	/* just at the cap: not cut */
	big[LOG_VALUE_MAX] = '\0';
	CHECK_INT(strlen(log_quote(big, buf, sizeof(buf))), LOG_VALUE_MAX,
	          "value of LOG_VALUE_MAX bytes kept whole");
	big[LOG_VALUE_MAX] = 'x';
	big[LOG_VALUE_MAX + 1] = '\0';
	CHECK_INT(strlen(log_quote(big, buf, sizeof(buf))), LOG_VALUE_MAX + 3,
	          "one byte more is cut");

	/* escapes are never split by the cap */
	for (i = 0; i < 100; i++)
		big[i] = '\n';
	big[100] = '\0';
	q = log_quote(big, buf, sizeof(buf));
	len = strlen(q);
	CHECK(strcmp(q + len - 3, "...") == 0, "escaped LFs capped");
	CHECK_INT((len - 3) % 4, 0, "no half escape before ...");
	CHECK(strchr(q, '\n') == NULL, "no raw LF");

	/* UTF-8 is never split by the cap */
	for (i = 0; i + 2 < sizeof(big) - 1; i += 3) {
		big[i] = (char)0xe5;
		big[i + 1] = (char)0xb7;
		big[i + 2] = (char)0xa5;
	}
	big[i] = '\0';
	q = log_quote(big, buf, sizeof(buf));
	len = strlen(q);
	CHECK(len > 3 && strcmp(q + len - 3, "...") == 0, "UTF-8 capped");
	{
		char head[LOG_VALUE_MAX + 8];

		memcpy(head, q, len - 3);
		head[len - 3] = '\0';
		CHECK(is_utf8_end(head), "UTF-8 not split before ...");
		CHECK_INT((len - 3) % 3, 0, "whole characters kept");
	}

	/* a small buffer bounds the output */
	q = log_quote("abcdefghijkl", buf, 10);
	CHECK(strlen(q) < 10, "small buffer: fits");
	CHECK(strstr(q, "...") != NULL, "small buffer: marked cut");
	q = log_quote("two words here", buf, 12);
	CHECK(strlen(q) < 12 && q[0] == '"' && q[strlen(q) - 1] == '"',
	      "small buffer: quotes kept");
	q = log_quote("abc", buf, 4);
	CHECK_STR(q, "", "tiny buffer: empty");
}

/* read_all - rewind f and read it into buf */
static const char *
read_all(FILE *f, char *buf, size_t n)
{
	size_t got;

	fflush(f);
	rewind(f);
	got = fread(buf, 1, n - 1, f);
	buf[got] = '\0';
	return buf;
}

static void
test_sinks(void)
{
	FILE *f = tmpfile();
	char out[8192];

	if (!CHECK(f != NULL, "tmpfile"))
		return;
	log_init("test_log", LOG_SINK_STDERR, LOG_LEVEL_INFO);
	log_set_stream(f);
	errno = EPIPE;
	log_info("ticket=%s action=created note=%s", "CM-1", "a\nb\rc");
	CHECK_INT(errno, EPIPE, "errno survives a log call");
	log_debug("ticket=CM-1 action=debug_hidden");
	read_all(f, out, sizeof(out));
	CHECK(strstr(out, "test_log[") != NULL, "stderr sink: ident[pid]");
	CHECK(strstr(out, " info: ticket=CM-1 action=created note=a b c\n") !=
	          NULL,
	      "stderr sink: raw CR/LF in a line become blanks");
	CHECK(strstr(out, "debug_hidden") == NULL, "debug off at info");

	/* journal sink with a stream: the "<N>" line */
	rewind(f);
	if (ftruncate(fileno(f), 0) != 0)
		CHECK(0, "ftruncate");
	log_init("test_log", LOG_SINK_JOURNAL, LOG_LEVEL_DEBUG);
	log_warning("ticket=CM-2 action=overdue");
	log_debug("x action=dbg");
	errno = ENOENT;
	log_err_errno("store action=open_failed");
	read_all(f, out, sizeof(out));
	CHECK(strstr(out, "<4>ticket=CM-2 action=overdue\n") != NULL,
	      "journal fallback line <4>");
	CHECK(strstr(out, "<7>x action=dbg\n") != NULL, "debug <7>");
	CHECK(strstr(out, "<3>store action=open_failed error=\"No such file") !=
	          NULL,
	      "errno suffix quoted");

	/* the line cap */
	rewind(f);
	if (ftruncate(fileno(f), 0) != 0)
		CHECK(0, "ftruncate");
	{
		static char long_value[3 * LOG_LINE_MAX];

		memset(long_value, 'v', sizeof(long_value) - 1);
		log_notice("x action=long v=%s", long_value);
		read_all(f, out, sizeof(out));
		CHECK(strlen(out) <= LOG_LINE_MAX + 8, "line capped");
		CHECK(out[strlen(out) - 1] == '\n', "capped line ends in LF");
	}
	log_set_stream(NULL);
	fclose(f);
}

static void
test_auto_sink(void)
{
	struct stat st;
	char v[64];

	if (unsetenv("JOURNAL_STREAM") != 0)
		CHECK(0, "unsetenv");
	CHECK_INT(log_auto_sink(), LOG_SINK_STDERR, "no JOURNAL_STREAM");
	if (!CHECK(fstat(STDERR_FILENO, &st) == 0, "fstat stderr"))
		return;
	(void)snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
	               (unsigned long long)st.st_ino);
	(void)setenv("JOURNAL_STREAM", v, 1);
	CHECK_INT(log_auto_sink(), LOG_SINK_JOURNAL, "matching dev:inode");
	(void)snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
	               (unsigned long long)st.st_ino + 1);
	(void)setenv("JOURNAL_STREAM", v, 1);
	CHECK_INT(log_auto_sink(), LOG_SINK_STDERR, "other inode");
	(void)snprintf(v, sizeof(v), "%llu:%llu",
	               (unsigned long long)st.st_dev + 1,
	               (unsigned long long)st.st_ino);
	(void)setenv("JOURNAL_STREAM", v, 1);
	CHECK_INT(log_auto_sink(), LOG_SINK_STDERR, "other device");
	(void)snprintf(v, sizeof(v), "%llu:%llux",
	               (unsigned long long)st.st_dev,
	               (unsigned long long)st.st_ino);
	(void)setenv("JOURNAL_STREAM", v, 1);
	CHECK_INT(log_auto_sink(), LOG_SINK_STDERR, "trailing garbage");
	(void)setenv("JOURNAL_STREAM", "", 1);
	CHECK_INT(log_auto_sink(), LOG_SINK_STDERR, "empty");
	(void)setenv("JOURNAL_STREAM", "1", 1);
	CHECK_INT(log_auto_sink(), LOG_SINK_STDERR, "no colon");
	(void)setenv("JOURNAL_STREAM", "-1:-1", 1);
	CHECK_INT(log_auto_sink(), LOG_SINK_STDERR, "negative");
	(void)unsetenv("JOURNAL_STREAM");
}

/*
 * test_journal_fallback - with no journald socket, the journal sink writes
 * "<N>" lines to the real stderr (checked through a temp file on fd 2).
 * Where journald runs, the entry would go to the real journal: skipped.
 */
static void
test_journal_fallback(void)
{
	char path[] = "/tmp/ticketd-test-log-XXXXXX";
	char out[4096];
	int fd, saved;
	FILE *f;

	if (access("/run/systemd/journal/socket", F_OK) == 0) {
		printf("note: journald socket present, fallback not tested\n");
		return;
	}
	fd = mkstemp(path);
	if (!CHECK(fd >= 0, "mkstemp"))
		return;
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	if (!CHECK(saved >= 0 && dup2(fd, STDERR_FILENO) >= 0, "dup2")) {
		close(fd);
		unlink(path);
		return;
	}
	log_init("test_log", LOG_SINK_JOURNAL, LOG_LEVEL_INFO);
	log_set_stream(NULL);
	log_notice("ticket=CM-3 action=created uid=5");
	fflush(stderr);
	(void)dup2(saved, STDERR_FILENO);
	close(saved);
	f = fdopen(fd, "r");
	if (CHECK(f != NULL, "fdopen")) {
		read_all(f, out, sizeof(out));
		CHECK_STR(out, "<5>ticket=CM-3 action=created uid=5\n",
		          "no journald: <N> line on stderr");
		fclose(f);
	} else {
		close(fd);
	}
	unlink(path);
}

int
main(void)
{
	test_fields_table();
	test_fields_caps();
	test_quote();
	test_sinks();
	test_auto_sink();
	test_journal_fallback();
	return test_done();
}

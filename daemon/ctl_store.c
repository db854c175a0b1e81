/* SPDX-License-Identifier: MIT */
/*
 * ctl_store.c - what ticketctl's store-facing subcommands share (opening
 * the store, option parsing, sanitised and width-aware table cells, JSON
 * lists), and the two commands that file messages: `ingest FILE...|-` (the
 * MTA pipe mode, through ingest_batch like the daemon) and `quarantine`
 * (list, and re-file one record).  Everything printed in a table that came
 * from a message goes through ctl_cell or ctl_xclean, so no control
 * character of a message ever reaches the terminal.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/utf8.h"
#include "glue.h"
#include "ingest.h"
#include "json.h"
#include "log.h"
#include "ticketctl.h"

/* Exit status of `ingest` when nothing could be filed (sysexits.h). */
#define CTL_EX_TEMPFAIL 75

/* ctl_oom - out of memory in the CLI: say so and exit */
_Noreturn void
ctl_oom(void)
{
	fprintf(stderr, "ticketctl: out of memory\n");
	exit(CTL_FAILED);
}

/* ctl_exit_of - the exit status for a failed store call */
int
ctl_exit_of(int store_status)
{
	switch (store_status) {
	case STORE_OK:
		return CTL_OK;
	case STORE_NOT_FOUND:
		return CTL_NOT_FOUND;
	case STORE_INVALID:
		return CTL_USAGE;
	default:
		return CTL_FAILED;
	}
}

/* ctl_store_open - the store named by the config */
int
ctl_store_open(struct ctl *ctl, struct store **st_r)
{
	struct store_settings ss;
	char err[256] = "";
	int rc;

	*st_r = NULL;
	if (ctl->cfg->state_dir == NULL || ctl->cfg->state_dir[0] == '\0') {
		fprintf(stderr, "ticketctl: %s: [store] state_dir is not set\n",
		        ctl->config_path);
		return CTL_USAGE;
	}
	glue_store_settings(ctl->cfg, &ss);
	rc = store_open(&ss, st_r, err, sizeof(err));
	if (rc != STORE_OK) {
		fprintf(stderr, "ticketctl: store %s: %s: %s\n",
		        ctl->cfg->state_dir, store_status_name(rc), err);
		return ctl_exit_of(rc) == CTL_USAGE ? CTL_USAGE : CTL_FAILED;
	}
	return CTL_OK;
}

/* ctl_opt - match option name (as "NAME VALUE" or "NAME=VALUE") */
int
ctl_opt(int argc, char **argv, int *i, const char *name, const char **val_r)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	if (strncmp(a, name, n) != 0)
		return 0;
	if (a[n] == '=') {
		*val_r = a + n + 1;
		return 1;
	}
	if (a[n] != '\0')
		return 0;
	if (*i + 1 >= argc) {
		fprintf(stderr, "ticketctl: %s needs a value\n", name);
		return -1;
	}
	*i += 1;
	*val_r = argv[*i];
	return 1;
}

/* ctl_parse_u64 - a decimal number in [0, max], nothing else */
int
ctl_parse_u64(const char *s, uint64_t max, uint64_t *v_r)
{
	unsigned long long v;
	char *end = NULL;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v > max)
		return -1;
	*v_r = (uint64_t)v;
	return 0;
}

/* is_hidden - format characters that reorder or hide text on a terminal */
static bool
is_hidden(unsigned int cp)
{
	return (cp >= 0x200b && cp <= 0x200f) ||
	       (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff;
}

/* cp_width - terminal columns of one code point (East Asian wide = 2) */
static size_t
cp_width(unsigned int cp)
{
	if ((cp >= 0x300 && cp <= 0x36f) || is_hidden(cp))
		return 0;
	if ((cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0x303e) ||
	    (cp >= 0x3041 && cp <= 0x33ff) || (cp >= 0x3400 && cp <= 0x4dbf) ||
	    (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0xa000 && cp <= 0xa4cf) ||
	    (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
	    (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
	    (cp >= 0xffe0 && cp <= 0xffe6) ||
	    (cp >= 0x1f300 && cp <= 0x1f64f) ||
	    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
	    (cp >= 0x20000 && cp <= 0x3fffd))
		return 2;
	return 1;
}

/*
 * next_char - the next printable character of s at *i: its bytes (bad
 * UTF-8 as U+FFFD, controls as a space, hidden format characters as
 * nothing) into out, with its width.  Returns its length in out, 0 at end.
 */
static size_t
next_char(const char *s, size_t len, size_t *i, char out[4], size_t *w_r)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned int cp;
	size_t n;

	while (*i < len) {
		n = utf8_decode(p + *i, len - *i, &cp);
		if (n == 0) {
			cp = 0xfffd;
			n = 1;
		}
		*i += n;
		if (is_hidden(cp))
			continue;
		if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) ||
		    cp == 0x2028 || cp == 0x2029)
			cp = ' ';
		*w_r = cp_width(cp);
		return utf8_encode(cp, out);
	}
	return 0;
}

/* ctl_width - display columns of s as ctl_cell prints it */
size_t
ctl_width(const char *s)
{
	size_t i = 0, len, w, total = 0;
	char c[4];

	if (s == NULL)
		return 1;
	len = strlen(s);
	while (next_char(s, len, &i, c, &w) > 0)
		total += w;
	return total;
}

/* ctl_cell - s sanitised, cut to cols columns, padded unless last */
void
ctl_cell(FILE *f, const char *s, size_t cols, bool is_last)
{
	size_t i = 0, len, w = 0, used = 0, n;
	bool is_cut;
	char c[4];

	if (s == NULL || *s == '\0')
		s = "-";
	len = strlen(s);
	is_cut = ctl_width(s) > cols;
	for (;;) {
		size_t save = i;

		n = next_char(s, len, &i, c, &w);
		if (n == 0)
			break;
		/* keep one column for the ellipsis when cutting */
		if (used + w > cols - (is_cut && cols > 0 ? 1 : 0)) {
			i = save;
			break;
		}
		fwrite(c, 1, n, f);
		used += w;
	}
	if (is_cut && cols > 0) {
		fputs("\xe2\x80\xa6", f); /* U+2026, one column */
		used++;
	}
	if (!is_last) {
		while (used < cols) {
			fputc(' ', f);
			used++;
		}
		fputs("  ", f);
	}
}

/* ctl_term_cols - width of the terminal on stdout, else $COLUMNS or 80 */
size_t
ctl_term_cols(void)
{
	struct winsize ws;
	const char *env;
	uint64_t v;

	if (isatty(STDOUT_FILENO) == 1 &&
	    ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	env = getenv("COLUMNS");
	if (env != NULL && ctl_parse_u64(env, 1000, &v) == 0 && v >= 40)
		return (size_t)v;
	return 80;
}

/* ctl_xclean - sanitised copy of s for a human (caller frees) */
char *
ctl_xclean(const char *s, bool keep_newlines)
{
	char *c;

	if (s == NULL)
		s = "";
	c = utf8_sanitise(s, strlen(s), strlen(s) * 3 + 4,
	                  keep_newlines ? UTF8_KEEP_NEWLINES | UTF8_KEEP_TABS
	                                : 0);
	if (c == NULL)
		ctl_oom();
	return c;
}

/* ctl_json_strlist - key: a string list as a JSON array */
void
ctl_json_strlist(struct json *j, const char *key, const struct strlist *l)
{
	size_t i;

	json_key(j, key);
	json_begin_array(j);
	for (i = 0; i < l->n; i++)
		json_string(j, l->v[i]);
	json_end_array(j);
}

/* ctl_json_time - key: an ISO time, null when empty */
void
ctl_json_time(struct json *j, const char *key, const char *iso)
{
	json_kv_string(j, key, iso != NULL && iso[0] != '\0' ? iso : NULL);
}

/* ---- ingest ---- */

/* outcome_word - what happened to one item, as JSON and text say it */
static const char *
outcome_word(const struct ingest_item *it)
{
	if (it->is_duplicate)
		return "duplicate";
	switch (it->outcome) {
	case STORE_OUTCOME_NEW:
		return "created";
	case STORE_OUTCOME_FOLLOWUP:
		return "appended";
	case STORE_OUTCOME_QUARANTINE:
		return "quarantined";
	case STORE_OUTCOME_SUPPRESSED:
		return "suppressed";
	default:
		return "unknown";
	}
}

/* print_item_text - "FILE: created CM-... (ack queued)" */
static void
print_item_text(const char *file, const struct ingest_item *it)
{
	const char *name = strcmp(file, "-") == 0 ? "(stdin)" : file;
	char *reason;

	ctl_cell(stdout, name, ctl_width(name), true);
	printf(": ");
	if (it->is_duplicate) {
		if (it->ticket_id[0] != '\0')
			printf("duplicate of %s\n", it->ticket_id);
		else
			printf("duplicate of an earlier %s record\n",
			       it->outcome == STORE_OUTCOME_QUARANTINE
			           ? "quarantine"
			           : "suppressed");
		return;
	}
	switch (it->outcome) {
	case STORE_OUTCOME_NEW:
		printf("created %s (ack %s)\n", it->ticket_id,
		       it->ack[0] != '\0' ? it->ack : "none");
		break;
	case STORE_OUTCOME_FOLLOWUP:
		printf("appended %s", it->ticket_id);
		if (it->is_third_party && it->is_reopened)
			printf(" (third party, reopened)");
		else if (it->is_third_party)
			printf(" (third party)");
		else if (it->is_reopened)
			printf(" (reopened)");
		printf("\n");
		break;
	case STORE_OUTCOME_QUARANTINE:
		reason = ctl_xclean(it->reason, false);
		printf("quarantined: %s\n",
		       reason[0] != '\0' ? reason : "unparsable");
		free(reason);
		break;
	case STORE_OUTCOME_SUPPRESSED:
		printf("suppressed: delivery report for one of our acks\n");
		break;
	default:
		printf("unknown outcome\n");
		break;
	}
}

/* match_name - how a follow-up found its ticket */
static const char *
match_name(int match)
{
	switch (match) {
	case STORE_MATCH_SUBJECT:
		return "subject";
	case STORE_MATCH_IN_REPLY_TO:
		return "in_reply_to";
	case STORE_MATCH_REFERENCES:
		return "references";
	case STORE_MATCH_ACK:
		return "ack";
	case STORE_MATCH_ORDER:
		return "order";
	default:
		return NULL;
	}
}

/* print_item_json - one item as a JSON object */
static void
print_item_json(struct json *j, const char *file, const struct ingest_item *it)
{
	json_begin_object(j);
	json_kv_string(j, "file", file);
	json_kv_string(j, "outcome", outcome_word(it));
	json_kv_string(j, "ticket_id",
	               it->ticket_id[0] != '\0' ? it->ticket_id : NULL);
	json_kv_bool(j, "duplicate", it->is_duplicate);
	json_kv_string(j, "ack", it->ack[0] != '\0' ? it->ack : NULL);
	json_kv_string(j, "reason", it->reason[0] != '\0' ? it->reason : NULL);
	json_kv_string(j, "match",
	               it->outcome == STORE_OUTCOME_FOLLOWUP &&
	                       !it->is_duplicate
	                   ? match_name(it->match)
	                   : NULL);
	json_kv_bool(j, "third_party", it->is_third_party);
	json_kv_bool(j, "reopened", it->is_reopened);
	json_kv_string(j, "message_id",
	               it->message_id[0] != '\0' ? it->message_id : NULL);
	json_end_object(j);
}

/* ctl_ingest - `ingest FILE...|-`: file messages as the daemon would */
int
ctl_ingest(struct ctl *ctl, int argc, char **argv)
{
	struct ingest_item *items = NULL;
	const char **names = NULL;
	char **bufs = NULL;
	struct parser *parser = NULL;
	struct store *st = NULL;
	struct json j;
	char err[256] = "";
	size_t n = 0, k;
	bool has_stdin = false;
	int i, rc = CTL_OK, missing = 0;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			ctl->json = true;
		else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr,
			        "ticketctl: ingest: unknown option "
			        "%s\n",
			        argv[i]);
			return CTL_USAGE;
		} else if (strcmp(argv[i], "-") == 0 && has_stdin) {
			fprintf(stderr, "ticketctl: ingest: - given twice\n");
			return CTL_USAGE;
		} else {
			has_stdin = has_stdin || strcmp(argv[i], "-") == 0;
			n++;
		}
	}
	if (n == 0) {
		fprintf(stderr, "usage: ticketctl ingest [--json] FILE...|-\n");
		return CTL_USAGE;
	}
	log_init("ticketctl", log_auto_sink(), LOG_LEVEL_INFO);
	/* ingest_batch talks to its child over a pipe */
	(void)signal(SIGPIPE, SIG_IGN);
	items = calloc(n, sizeof(*items));
	names = calloc(n, sizeof(*names));
	bufs = calloc(n, sizeof(*bufs));
	if (items == NULL || names == NULL || bufs == NULL)
		ctl_oom();
	n = 0;
	for (i = 0; i < argc; i++) {
		size_t len = 0;
		int over = 0;
		char *raw;

		if (strcmp(argv[i], "--json") == 0)
			continue;
		raw = glue_read_file(argv[i], ctl->cfg->message_max + 1, &len,
		                     &over);
		if (raw == NULL) {
			fprintf(stderr, "ticketctl: %s: %s\n", argv[i],
			        strerror(errno));
			/* a failed pipe read must make the MTA retry */
			if (strcmp(argv[i], "-") == 0)
				rc = CTL_EX_TEMPFAIL;
			missing++;
			continue;
		}
		if (over != 0) {
			char q[LOG_VALUE_MAX + 8];

			log_warning("file=%s action=oversized limit=%zu "
			            "note=\"filed from its first bytes, "
			            "attachments skipped\"",
			            log_quote(argv[i], q, sizeof(q)),
			            ctl->cfg->message_max);
		}
		bufs[n] = raw;
		names[n] = argv[i];
		items[n].uid = 0;
		items[n].data = raw;
		items[n].len = len;
		n++;
	}
	if (rc != CTL_OK || n == 0) {
		if (rc == CTL_OK)
			rc = CTL_NOT_FOUND;
		goto out;
	}
	if (glue_parser_new(ctl->cfg, &parser, err, sizeof(err)) != PARSER_OK) {
		fprintf(stderr, "ticketctl: %s\n", err);
		rc = CTL_EX_TEMPFAIL;
		goto out;
	}
	if (ctl_store_open(ctl, &st) != CTL_OK) {
		rc = CTL_EX_TEMPFAIL;
		goto out;
	}
	if (ingest_batch(ctl->cfg, parser, st, NULL, 0, items, n, err,
	                 sizeof(err)) != INGEST_OK) {
		log_err("action=ingest_failed files=%zu error=\"%s\"", n, err);
		fprintf(stderr, "ticketctl: ingest failed, nothing filed: %s\n",
		        err);
		rc = CTL_EX_TEMPFAIL;
		goto out;
	}
	if (ctl->json) {
		json_init(&j, stdout);
		json_begin_array(&j);
	}
	for (k = 0; k < n; k++) {
		ingest_log_item(&items[k]);
		if (ctl->json)
			print_item_json(&j, names[k], &items[k]);
		else
			print_item_text(names[k], &items[k]);
	}
	if (ctl->json)
		json_end_array(&j);
	if (missing > 0)
		rc = CTL_NOT_FOUND;
out:
	store_close(&st);
	parser_free(&parser);
	for (k = 0; bufs != NULL && k < n; k++)
		free(bufs[k]);
	free(bufs);
	free(names);
	free(items);
	if (fflush(stdout) != 0 && rc == CTL_OK)
		rc = CTL_FAILED;
	return rc;
}

/* ---- quarantine ---- */

/* quarantine_list - print the records */
static int
quarantine_list(struct ctl *ctl, struct store *st, bool is_all)
{
	struct store_quarantine_row *rows = NULL;
	char err[256] = "";
	size_t n = 0, k, cols, wfrom = 4, wreason = 6;
	int rc;

	rc = store_quarantine_list(st, is_all, &rows, &n, err, sizeof(err));
	if (rc != STORE_OK) {
		fprintf(stderr, "ticketctl: quarantine: %s\n", err);
		return ctl_exit_of(rc);
	}
	if (ctl->json) {
		struct json j;

		json_init(&j, stdout);
		json_begin_array(&j);
		for (k = 0; k < n; k++) {
			const struct store_quarantine_row *q = &rows[k];

			json_begin_object(&j);
			json_kv_int(&j, "id", (long long)q->row);
			json_kv_string(&j, "reason", q->reason);
			json_kv_string(&j, "message_id", q->message_id);
			json_kv_string(&j, "from", q->from);
			json_kv_string(&j, "subject", q->subject);
			json_kv_string(&j, "mailbox", q->mailbox);
			if (q->mailbox != NULL)
				json_kv_int(&j, "uid", (long long)q->uid);
			else
				json_kv_string(&j, "uid", NULL);
			ctl_json_time(&j, "filed_at", q->filed_at_iso);
			json_kv_bool(&j, "reprocessed", q->is_reprocessed);
			json_end_object(&j);
		}
		json_end_array(&j);
		store_quarantine_list_free(&rows, n);
		return CTL_OK;
	}
	if (n == 0) {
		printf("no quarantined messages\n");
		store_quarantine_list_free(&rows, n);
		return CTL_OK;
	}
	for (k = 0; k < n; k++) {
		size_t w = ctl_width(rows[k].from);

		if (w > wfrom)
			wfrom = w;
	}
	if (wfrom > 30)
		wfrom = 30;
	/* ID(6) FILED(16) FROM REASON: the reason gets the rest */
	cols = ctl_term_cols();
	if (cols > 6 + 16 + wfrom + 2 * 3 + wreason)
		wreason = cols - (6 + 16 + wfrom + 2 * 3);
	ctl_cell(stdout, "ID", 6, false);
	ctl_cell(stdout, "FILED", 16, false);
	ctl_cell(stdout, "FROM", wfrom, false);
	ctl_cell(stdout, is_all ? "REASON (* = reprocessed)" : "REASON",
	         wreason, true);
	printf("\n");
	for (k = 0; k < n; k++) {
		const struct store_quarantine_row *q = &rows[k];
		char id[32], filed[STORE_TIME_MAX], *t;

		(void)snprintf(id, sizeof(id), "%lld%s", (long long)q->row,
		               q->is_reprocessed ? "*" : "");
		(void)snprintf(filed, sizeof(filed), "%.16s", q->filed_at_iso);
		t = strchr(filed, 'T');
		if (t != NULL)
			*t = ' ';
		ctl_cell(stdout, id, 6, false);
		ctl_cell(stdout, filed, 16, false);
		ctl_cell(stdout, q->from, wfrom, false);
		ctl_cell(stdout, q->reason, wreason, true);
		printf("\n");
	}
	store_quarantine_list_free(&rows, n);
	return CTL_OK;
}

/*
 * quarantine_reprocess - file record `row` again through ingest_batch,
 * naming it as reprocess_of: the store then ignores the old record when
 * looking for duplicates and marks it reprocessed in the same transaction
 * that files the message again (as a ticket, a follow-up, or a new
 * quarantine record that supersedes it).
 */
static int
quarantine_reprocess(struct ctl *ctl, struct store *st, int64_t row)
{
	struct ingest_item it;
	struct parser *parser = NULL;
	char err[256] = "", *path = NULL, *raw = NULL;
	size_t len = 0;
	int over = 0, rc, ret = CTL_OK;
	bool is_marked = false;

	rc = store_quarantine_get_raw(st, row, &path, err, sizeof(err));
	if (rc != STORE_OK) {
		fprintf(stderr, "ticketctl: quarantine %lld: %s\n",
		        (long long)row,
		        err[0] != '\0' ? err : store_status_name(rc));
		return ctl_exit_of(rc);
	}
	raw = glue_read_file(path, ctl->cfg->message_max + 1, &len, &over);
	if (raw == NULL) {
		fprintf(stderr, "ticketctl: quarantine %lld: %s: %s\n",
		        (long long)row, path, strerror(errno));
		ret = errno == ENOENT ? CTL_NOT_FOUND : CTL_FAILED;
		goto out;
	}
	if (glue_parser_new(ctl->cfg, &parser, err, sizeof(err)) != PARSER_OK) {
		fprintf(stderr, "ticketctl: %s\n", err);
		ret = CTL_USAGE;
		goto out;
	}
	log_init("ticketctl", log_auto_sink(), LOG_LEVEL_INFO);
	(void)signal(SIGPIPE, SIG_IGN);
	memset(&it, 0, sizeof(it));
	it.data = raw;
	it.len = len;
	it.full_size = len;
	it.reprocess_of = row;
	if (ingest_batch(ctl->cfg, parser, st, NULL, 0, &it, 1, err,
	                 sizeof(err)) != INGEST_OK) {
		fprintf(stderr,
		        "ticketctl: quarantine %lld: ingest failed: "
		        "%s\n",
		        (long long)row, err);
		ret = CTL_FAILED;
		goto out;
	}
	ingest_log_item(&it);
	is_marked = !it.is_duplicate;
	if (ctl->json) {
		struct json j;

		json_init(&j, stdout);
		json_begin_object(&j);
		json_kv_int(&j, "id", (long long)row);
		json_kv_string(&j, "outcome", outcome_word(&it));
		json_kv_string(&j, "ticket_id",
		               it.ticket_id[0] != '\0' ? it.ticket_id : NULL);
		json_kv_bool(&j, "duplicate", it.is_duplicate);
		json_kv_string(&j, "ack", it.ack[0] != '\0' ? it.ack : NULL);
		json_kv_string(&j, "reason",
		               it.reason[0] != '\0' ? it.reason : NULL);
		json_kv_bool(&j, "reprocessed", is_marked);
		json_end_object(&j);
	} else {
		char name[32];

		(void)snprintf(name, sizeof(name), "quarantine %lld",
		               (long long)row);
		print_item_text(name, &it);
		if (it.outcome == STORE_OUTCOME_QUARANTINE && is_marked)
			printf("quarantine %lld: superseded by a new "
			       "quarantine record\n",
			       (long long)row);
		else if (is_marked)
			printf("quarantine %lld: marked reprocessed\n",
			       (long long)row);
		else
			printf("quarantine %lld: left as it is\n",
			       (long long)row);
	}
out:
	parser_free(&parser);
	free(raw);
	free(path);
	return ret;
}

/* ctl_quarantine - `quarantine [--all] [--reprocess ID]` */
int
ctl_quarantine(struct ctl *ctl, int argc, char **argv)
{
	struct store *st = NULL;
	const char *rep = NULL;
	uint64_t row = 0;
	bool is_all = false;
	int i, m, rc;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			ctl->json = true;
		} else if (strcmp(argv[i], "--all") == 0) {
			is_all = true;
		} else if ((m = ctl_opt(argc, argv, &i, "--reprocess", &rep)) !=
		           0) {
			if (m < 0)
				return CTL_USAGE;
			if (ctl_parse_u64(rep, INT64_MAX, &row) != 0 ||
			    row == 0) {
				fprintf(stderr,
				        "ticketctl: quarantine: bad "
				        "id %s\n",
				        rep);
				return CTL_USAGE;
			}
		} else {
			fprintf(stderr, "usage: ticketctl quarantine [--json] "
			                "[--all] [--reprocess ID]\n");
			return CTL_USAGE;
		}
	}
	rc = ctl_store_open(ctl, &st);
	if (rc != CTL_OK)
		return rc;
	if (rep != NULL)
		rc = quarantine_reprocess(ctl, st, (int64_t)row);
	else
		rc = quarantine_list(ctl, st, is_all);
	store_close(&st);
	return rc;
}

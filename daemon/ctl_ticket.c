/* SPDX-License-Identifier: MIT */
/*
 * ctl_ticket.c - ticketctl's ticket commands: `list` (filters, a table
 * sized to the terminal or a JSON array), `show ID` (messages and
 * attachments, or the SPEC §10 object) and `status ID STATUS`.  Message
 * values reach the terminal only through ctl_cell/ctl_xclean.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "store/store.h"
#include "ticketctl.h"

/* name_in - whether s is one of the n names */
static bool
name_in(const char *s, const char *const *names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return true;
	return false;
}

/* json_ticket_fields - the SPEC §10 fields of a ticket, inside an object */
static void
json_ticket_fields(struct json *j, const struct store_ticket_summary *t)
{
	json_kv_string(j, "id", t->id);
	json_kv_string(j, "status", t->status);
	json_kv_string(j, "priority", t->priority);
	json_kv_string(j, "category", t->category);
	json_kv_string(j, "kind", t->kind);
	json_kv_bool(j, "review", t->is_review);
	json_kv_string(j, "requester", t->requester);
	json_kv_string(j, "user_id", t->user_id);
	ctl_json_strlist(j, "order_numbers", &t->order_numbers);
	ctl_json_strlist(j, "screening_numbers", &t->screening_numbers);
	json_kv_string(j, "summary", t->summary);
	ctl_json_time(j, "created_at", t->created_at_iso);
	ctl_json_time(j, "due_at", t->due_at_iso);
	json_kv_string(j, "ack", t->ack != NULL ? t->ack : "none");
	json_kv_bool(j, "overdue", t->is_overdue);
}

/* short_time - "2023-11-05 16:33" from an ISO time */
static void
short_time(const char *iso, char *out, size_t len)
{
	char *t;

	(void)snprintf(out, len, "%.16s", iso != NULL ? iso : "");
	t = strchr(out, 'T');
	if (t != NULL)
		*t = ' ';
}

/*
 * day_start - midnight starting the calendar day y-m-d in the configured
 * time zone (the one ticket ids use), or -1.
 */
static time_t
day_start(const struct config *cfg, int y, int m, int d)
{
	const char *tz = cfg->ticket_timezone;
	char *saved = NULL;
	struct tm tm;
	time_t t;

	if (tz != NULL && tz[0] != '\0') {
		const char *old = getenv("TZ");

		if (old != NULL) {
			saved = strdup(old);
			if (saved == NULL)
				ctl_oom();
		}
		if (setenv("TZ", tz, 1) != 0)
			ctl_oom();
		tzset();
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_isdst = -1;
	t = mktime(&tm);
	if (tz != NULL && tz[0] != '\0') {
		if (saved != NULL)
			(void)setenv("TZ", saved, 1);
		else
			(void)unsetenv("TZ");
		tzset();
		free(saved);
	}
	/* mktime normalises 2023-02-31; refuse it instead */
	if (t == (time_t)-1 || tm.tm_mday != d || tm.tm_mon != m - 1)
		return -1;
	return t;
}

/* parse_since - "YYYY-MM-DD" (configured zone) or "Nd" (N days ago) */
static int
parse_since(const struct config *cfg, struct store *st, const char *s,
            time_t *t_r)
{
	size_t len = strlen(s);
	uint64_t v[3];
	char part[8];

	if (len >= 2 && len <= 6 && s[len - 1] == 'd') {
		(void)snprintf(part, sizeof(part), "%.*s", (int)(len - 1), s);
		if (ctl_parse_u64(part, 36500, &v[0]) != 0)
			return -1;
		*t_r = store_now(st) - (time_t)v[0] * 86400;
		return 0;
	}
	if (len != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	(void)snprintf(part, sizeof(part), "%.4s", s);
	if (ctl_parse_u64(part, 9999, &v[0]) != 0 || v[0] < 1970)
		return -1;
	(void)snprintf(part, sizeof(part), "%.2s", s + 5);
	if (ctl_parse_u64(part, 12, &v[1]) != 0 || v[1] < 1)
		return -1;
	(void)snprintf(part, sizeof(part), "%.2s", s + 8);
	if (ctl_parse_u64(part, 31, &v[2]) != 0 || v[2] < 1)
		return -1;
	*t_r = day_start(cfg, (int)v[0], (int)v[1], (int)v[2]);
	return *t_r == (time_t)-1 ? -1 : 0;
}

/* Table columns of `list`: header, widest allowed, narrowest when short
   of room (0: the column is dropped instead). */
enum {
	COL_ID,
	COL_STATUS,
	COL_PRIO,
	COL_CAT,
	COL_DUE,
	COL_ACK,
	COL_REQ,
	COL_SUMMARY,
	N_COLS
};
static const char *const col_names[N_COLS] = {"ID",        "STATUS", "PRIORITY",
                                              "CATEGORY",  "DUE",    "ACK",
                                              "REQUESTER", "SUMMARY"};
static const size_t col_max[N_COLS] = {24, 8, 9, 18, 17, 24, 30, 0};
static const size_t col_min[N_COLS] = {0, 0, 0, 10, 0, 8, 14, 0};
/* Other columns narrow until the summary has SUMMARY_WANT columns, and
   are dropped until it has SUMMARY_MIN. */
#define SUMMARY_WANT 40
#define SUMMARY_MIN 16
/* Columns between cells (ctl_cell). */
#define COL_GAP 2

/* list_cells - the cell texts of one ticket (due into buf) */
static void
list_cells(const struct store_ticket_summary *t, bool is_short_due,
           const char **c, char *due, size_t duelen)
{
	char when[STORE_TIME_MAX];

	short_time(t->due_at_iso, when, sizeof(when));
	/* "2023-11-05 16:33", or "11-05 16:33" when short of room */
	(void)snprintf(due, duelen, "%s%s",
	               is_short_due && strlen(when) > 5 ? when + 5 : when,
	               t->is_overdue ? "!" : "");
	c[COL_ID] = t->id;
	c[COL_STATUS] = t->status;
	c[COL_PRIO] = t->priority;
	c[COL_CAT] = t->category;
	c[COL_DUE] = due;
	c[COL_ACK] = t->ack;
	c[COL_REQ] = t->requester;
	c[COL_SUMMARY] = t->summary;
}

/* table_need - columns a row takes with a summary of sum columns */
static size_t
table_need(const size_t *w, const bool *is_shown, size_t sum)
{
	size_t k, need = sum;

	for (k = 0; k < COL_SUMMARY; k++)
		if (is_shown[k])
			need += w[k] + COL_GAP;
	return need;
}

/*
 * fit_columns - widths for a terminal of cols columns: natural widths
 * (capped); while the summary would get fewer than SUMMARY_WANT columns,
 * narrow the requester, ack and category columns and shorten the due time;
 * while it would get fewer than SUMMARY_MIN, drop the ack and requester
 * columns.  The summary gets the rest.
 */
static void
fit_columns(const struct store_ticket_summary *v, size_t n, size_t cols,
            size_t *w, bool *is_shown, bool *is_short_due_r)
{
	static const int narrow[] = {COL_ACK, COL_CAT, COL_REQ};
	static const int drop[] = {COL_ACK, COL_REQ};
	const char *c[N_COLS];
	char due[STORE_TIME_MAX + 2];
	size_t i, k, need, budget = cols > 1 ? cols - 1 : 1;

	*is_short_due_r = false;
	for (k = 0; k < N_COLS; k++) {
		w[k] = strlen(col_names[k]);
		is_shown[k] = true;
	}
	for (i = 0; i < n; i++) {
		list_cells(&v[i], false, c, due, sizeof(due));
		for (k = 0; k < COL_SUMMARY; k++) {
			size_t cw = ctl_width(c[k]);

			if (cw > w[k])
				w[k] = cw;
		}
	}
	for (k = 0; k < COL_SUMMARY; k++)
		if (w[k] > col_max[k])
			w[k] = col_max[k];
	for (i = 0; i < sizeof(narrow) / sizeof(narrow[0]); i++) {
		k = (size_t)narrow[i];
		need = table_need(w, is_shown, SUMMARY_WANT);
		if (need <= budget)
			break;
		if (w[k] > col_min[k])
			w[k] = need - budget >= w[k] - col_min[k]
			           ? col_min[k]
			           : w[k] - (need - budget);
	}
	if (table_need(w, is_shown, SUMMARY_WANT) > budget && w[COL_DUE] > 11) {
		*is_short_due_r = true;
		w[COL_DUE] -= 5;
	}
	for (i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
		if (table_need(w, is_shown, SUMMARY_MIN) > budget)
			is_shown[drop[i]] = false;
	need = table_need(w, is_shown, SUMMARY_MIN);
	w[COL_SUMMARY] =
	    budget > need ? SUMMARY_MIN + (budget - need) : SUMMARY_MIN;
}

/* list_table - tickets as a table as wide as the terminal */
static void
list_table(const struct store_ticket_summary *v, size_t n)
{
	size_t w[N_COLS], i, k;
	bool is_shown[N_COLS], is_short_due;
	const char *c[N_COLS];
	char due[STORE_TIME_MAX + 2];

	if (n == 0) {
		printf("no tickets\n");
		return;
	}
	fit_columns(v, n, ctl_term_cols(), w, is_shown, &is_short_due);
	for (k = 0; k < N_COLS; k++)
		if (is_shown[k])
			ctl_cell(stdout, col_names[k], w[k], k == COL_SUMMARY);
	printf("\n");
	for (i = 0; i < n; i++) {
		list_cells(&v[i], is_short_due, c, due, sizeof(due));
		for (k = 0; k < N_COLS; k++)
			if (is_shown[k])
				ctl_cell(stdout, c[k], w[k], k == COL_SUMMARY);
		printf("\n");
	}
}

/* list_usage - the synopsis of `list` */
static int
list_usage(void)
{
	fprintf(stderr, "usage: ticketctl list [--json] [--status S] "
	                "[--priority P] [--category C] [--overdue]\n"
	                "       [--since YYYY-MM-DD|Nd] [--requester ADDR] "
	                "[--order NO] [--limit N]\n");
	return CTL_USAGE;
}

/* ctl_list - `list [filters]` */
int
ctl_list(struct ctl *ctl, int argc, char **argv)
{
	struct store_ticket_summary *v = NULL;
	struct store_filter f;
	struct store *st = NULL;
	const char *since = NULL, *limit = NULL, *val;
	char err[256] = "";
	size_t n = 0, i;
	uint64_t lim;
	int k, m, rc;

	memset(&f, 0, sizeof(f));
	for (k = 0; k < argc; k++) {
		if (strcmp(argv[k], "--json") == 0)
			ctl->json = true;
		else if (strcmp(argv[k], "--overdue") == 0)
			f.is_overdue = true;
		else if ((m = ctl_opt(argc, argv, &k, "--status", &val)) != 0)
			f.status = val;
		else if ((m = ctl_opt(argc, argv, &k, "--priority", &val)) != 0)
			f.priority = val;
		else if ((m = ctl_opt(argc, argv, &k, "--category", &val)) != 0)
			f.category = val;
		else if ((m = ctl_opt(argc, argv, &k, "--since", &val)) != 0)
			since = val;
		else if ((m = ctl_opt(argc, argv, &k, "--requester", &val)) !=
		         0)
			f.requester = val;
		else if ((m = ctl_opt(argc, argv, &k, "--order", &val)) != 0)
			f.order_no = val;
		else if ((m = ctl_opt(argc, argv, &k, "--limit", &val)) != 0)
			limit = val;
		else
			return list_usage();
		if (m < 0)
			return list_usage();
		m = 0;
	}
	if (f.status != NULL &&
	    !name_in(f.status, store_ticket_status_names, 5)) {
		fprintf(stderr,
		        "ticketctl: list: bad status %s (new, open, "
		        "pending, resolved, closed)\n",
		        f.status);
		return CTL_USAGE;
	}
	if (f.priority != NULL &&
	    !name_in(f.priority, store_priority_names, 3)) {
		fprintf(stderr,
		        "ticketctl: list: bad priority %s (urgent, "
		        "complaint, normal)\n",
		        f.priority);
		return CTL_USAGE;
	}
	if (limit != NULL) {
		if (ctl_parse_u64(limit, 1000000, &lim) != 0 || lim == 0) {
			fprintf(stderr, "ticketctl: list: bad --limit %s\n",
			        limit);
			return CTL_USAGE;
		}
		f.limit = (size_t)lim;
	}
	rc = ctl_store_open(ctl, &st);
	if (rc != CTL_OK)
		return rc;
	if (since != NULL && parse_since(ctl->cfg, st, since, &f.since) != 0) {
		fprintf(stderr,
		        "ticketctl: list: bad --since %s (YYYY-MM-DD "
		        "or Nd)\n",
		        since);
		store_close(&st);
		return CTL_USAGE;
	}
	rc = store_ticket_list(st, &f, &v, &n, err, sizeof(err));
	if (rc != STORE_OK) {
		fprintf(stderr, "ticketctl: list: %s\n", err);
		store_close(&st);
		return ctl_exit_of(rc);
	}
	if (ctl->json) {
		struct json j;

		json_init(&j, stdout);
		json_begin_array(&j);
		for (i = 0; i < n; i++) {
			json_begin_object(&j);
			json_ticket_fields(&j, &v[i]);
			json_end_object(&j);
		}
		json_end_array(&j);
	} else {
		list_table(v, n);
	}
	store_ticket_list_free(&v, n);
	store_close(&st);
	return CTL_OK;
}

/* show_field - "  label  value" with value sanitised */
static void
show_field(const char *label, const char *value)
{
	printf("  %-12s ", label);
	ctl_cell(stdout, value, ctl_width(value), true);
	printf("\n");
}

/* show_list - "  label  a, b" or "-" */
static void
show_list(const char *label, const struct strlist *l)
{
	size_t i;

	printf("  %-12s ", label);
	if (l->n == 0)
		printf("-");
	for (i = 0; i < l->n; i++) {
		if (i > 0)
			printf(", ");
		ctl_cell(stdout, l->v[i], ctl_width(l->v[i]), true);
	}
	printf("\n");
}

/* show_text - a message body, sanitised, indented */
static void
show_text(const char *text)
{
	char *c = ctl_xclean(text, true), *line = c, *nl;

	while (*line != '\0') {
		nl = strchr(line, '\n');
		if (nl != NULL)
			*nl = '\0';
		printf("    %s\n", line);
		if (nl == NULL)
			break;
		line = nl + 1;
	}
	free(c);
}

/* show_human - a ticket for a human */
static void
show_human(const struct store_ticket *tk)
{
	const struct store_ticket_summary *t = &tk->t;
	char due[STORE_TIME_MAX + 16];
	size_t i, k;

	printf("%s\n", t->id);
	show_field("status", t->status);
	show_field("priority", t->priority);
	show_field("category", t->category);
	show_field("kind", t->kind);
	show_field("review", t->is_review ? "yes" : "no");
	show_field("requester", t->requester);
	show_field("user_id", t->user_id);
	show_list("orders", &t->order_numbers);
	show_list("screenings", &t->screening_numbers);
	show_field("summary", t->summary);
	show_field("created", t->created_at_iso);
	(void)snprintf(due, sizeof(due), "%s%s", t->due_at_iso,
	               t->is_overdue ? " (overdue)" : "");
	show_field("due", due);
	show_field("ack", t->ack);
	if (t->is_anonymised)
		show_field("anonymised", "yes");
	for (i = 0; i < tk->n_messages; i++) {
		const struct store_message *m = &tk->messages[i];
		char head[64];

		(void)snprintf(head, sizeof(head), "%zu (%s%s)", i + 1,
		               m->outcome != NULL ? m->outcome : "?",
		               m->is_third_party ? ", third party" : "");
		printf("\nmessage %s\n", head);
		show_field("message_id", m->message_id);
		show_field("from", m->from);
		show_field("subject", m->subject);
		show_field("date", m->date);
		show_field("filed", m->filed_at_iso);
		for (k = 0; k < m->n_attachments; k++) {
			const struct store_attachment *a = &m->attachments[k];

			printf("  attachment %u: ", a->number);
			ctl_cell(stdout, a->filename, ctl_width(a->filename),
			         true);
			printf(" (");
			ctl_cell(stdout, a->content_type,
			         ctl_width(a->content_type), true);
			printf(", %llu bytes", (unsigned long long)a->size);
			if (a->skipped != NULL) {
				printf(", skipped: ");
				ctl_cell(stdout, a->skipped,
				         ctl_width(a->skipped), true);
			}
			printf(")\n");
		}
		if (m->text != NULL && m->text[0] != '\0') {
			printf("  text\n");
			show_text(m->text);
		}
	}
}

/* show_json - a ticket as the SPEC §10 object */
static void
show_json(const struct store_ticket *tk)
{
	struct json j;
	size_t i, k;

	json_init(&j, stdout);
	json_begin_object(&j);
	json_ticket_fields(&j, &tk->t);
	json_key(&j, "messages");
	json_begin_array(&j);
	for (i = 0; i < tk->n_messages; i++) {
		const struct store_message *m = &tk->messages[i];

		json_begin_object(&j);
		json_kv_string(&j, "message_id", m->message_id);
		json_kv_string(&j, "from", m->from);
		json_kv_string(&j, "subject", m->subject);
		json_kv_string(&j, "date", m->date);
		json_kv_string(&j, "text", m->text);
		ctl_json_time(&j, "filed_at", m->filed_at_iso);
		json_kv_bool(&j, "third_party", m->is_third_party);
		json_key(&j, "attachments");
		json_begin_array(&j);
		for (k = 0; k < m->n_attachments; k++) {
			const struct store_attachment *a = &m->attachments[k];

			json_begin_object(&j);
			json_kv_int(&j, "number", (long long)a->number);
			json_kv_string(&j, "filename", a->filename);
			json_kv_string(&j, "content_type", a->content_type);
			json_kv_int(&j, "size", (long long)a->size);
			json_kv_string(&j, "sha256",
			               a->sha256[0] != '\0' ? a->sha256 : NULL);
			json_kv_string(&j, "skipped", a->skipped);
			json_end_object(&j);
		}
		json_end_array(&j);
		json_end_object(&j);
	}
	json_end_array(&j);
	json_end_object(&j);
}

/* ctl_show - `show ID` */
int
ctl_show(struct ctl *ctl, int argc, char **argv)
{
	struct store_ticket *tk = NULL;
	struct store *st = NULL;
	const char *id = NULL;
	char err[256] = "";
	int i, rc;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			ctl->json = true;
		} else if (argv[i][0] != '-' && id == NULL) {
			id = argv[i];
		} else {
			id = NULL;
			break;
		}
	}
	if (id == NULL) {
		fprintf(stderr, "usage: ticketctl show [--json] ID\n");
		return CTL_USAGE;
	}
	rc = ctl_store_open(ctl, &st);
	if (rc != CTL_OK)
		return rc;
	rc = store_ticket_get(st, id, &tk, err, sizeof(err));
	if (rc == STORE_NOT_FOUND) {
		fprintf(stderr, "ticketctl: show: no ticket %s\n", id);
	} else if (rc != STORE_OK) {
		fprintf(stderr, "ticketctl: show: %s\n", err);
	} else if (ctl->json) {
		show_json(tk);
	} else {
		show_human(tk);
	}
	store_ticket_free(&tk);
	store_close(&st);
	return ctl_exit_of(rc);
}

/* ctl_status - `status ID STATUS` */
int
ctl_status(struct ctl *ctl, int argc, char **argv)
{
	struct store *st = NULL;
	const char *id = NULL, *status = NULL;
	char err[256] = "";
	bool is_bad = false;
	int i, rc;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			ctl->json = true;
		else if (argv[i][0] == '-' || status != NULL)
			is_bad = true;
		else if (id == NULL)
			id = argv[i];
		else
			status = argv[i];
	}
	if (is_bad || id == NULL || status == NULL) {
		fprintf(stderr, "usage: ticketctl status ID "
		                "new|open|pending|resolved|closed\n");
		return CTL_USAGE;
	}
	if (!name_in(status, store_ticket_status_names, 5)) {
		fprintf(stderr,
		        "ticketctl: status: bad status %s (new, open, "
		        "pending, resolved, closed)\n",
		        status);
		return CTL_USAGE;
	}
	rc = ctl_store_open(ctl, &st);
	if (rc != CTL_OK)
		return rc;
	rc = store_ticket_set_status(st, id, status, err, sizeof(err));
	store_close(&st);
	if (rc == STORE_NOT_FOUND) {
		fprintf(stderr, "ticketctl: status: no ticket %s\n", id);
		return CTL_NOT_FOUND;
	}
	if (rc != STORE_OK) {
		fprintf(stderr, "ticketctl: status: %s\n", err);
		return ctl_exit_of(rc);
	}
	if (ctl->json) {
		struct json j;

		json_init(&j, stdout);
		json_begin_object(&j);
		json_kv_string(&j, "id", id);
		json_kv_string(&j, "status", status);
		json_end_object(&j);
	} else {
		printf("%s: status %s\n", id, status);
	}
	return CTL_OK;
}

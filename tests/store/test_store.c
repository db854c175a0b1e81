/* SPDX-License-Identifier: MIT */
/*
 * test_store.c - unit tests of store/: filing (new tickets, every kind of
 * follow-up, quarantine, bounces), duplicate detection, ticket ids across
 * restarts, days and purges, ack rate limit and bounce block, the outbox
 * backoff, queries, purge/anonymise and the content-addressed files.  Each
 * test uses a fresh state directory under /tmp and a fake clock.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#include <sqlite3.h>

#include "store/store.h"
#include "tests/harness.h"

/* 2023-11-05T08:23:00Z = 16:23 in Asia/Shanghai. */
#define T0 ((time_t)1699172580)
#define DAY ((time_t)86400)

static time_t fake_now = T0;
static char err[256];

/* clock_fn - the fake clock. */
static time_t
clock_fn(void *arg)
{
	(void)arg;
	return fake_now;
}

/* rm_entry - nftw callback removing one entry. */
static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(path);
}

/* rmtree - remove a test state directory. */
static void
rmtree(const char *dir)
{
	(void)nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* new_dir - a fresh state directory name (caller frees). */
static char *
new_dir(void)
{
	char tmpl[] = "/tmp/ticketd-store-XXXXXX";

	if (mkdtemp(tmpl) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
	return strdup(tmpl);
}

/* settings - defaults for tests: Shanghai time, fake clock. */
static struct store_settings
settings(const char *dir)
{
	struct store_settings s;

	memset(&s, 0, sizeof(s));
	s.state_dir = dir;
	s.timezone = "CST-8";
	s.ack_domain = "support.example.com";
	s.now_fn = clock_fn;
	return s;
}

/* open_with - open or die. */
static struct store *
open_with(const struct store_settings *s)
{
	struct store *st = NULL;
	int rc;

	rc = store_open(s, &st, err, sizeof(err));
	if (rc != STORE_OK) {
		fprintf(stderr, "store_open: %s: %s\n", store_status_name(rc),
		        err);
		exit(2);
	}
	return st;
}

/* open_dir - open with the test defaults. */
static struct store *
open_dir(const char *dir)
{
	struct store_settings s = settings(dir);

	return open_with(&s);
}

/* msg - a minimal message; raw is a literal. */
static struct store_msg
msg(const char *raw, const char *msgid, const char *from, const char *subject)
{
	struct store_msg m;

	memset(&m, 0, sizeof(m));
	m.raw = raw;
	m.raw_len = strlen(raw);
	m.message_id = msgid;
	m.from = from;
	m.requester = from;
	m.subject = subject;
	m.text = raw;
	m.format = "other";
	return m;
}

/* file_want - store_file expecting status want; returns the result. */
static struct store_result
file_want(struct store *st, const struct store_msg *m, int want, int line)
{
	struct store_result r;
	int rc;

	rc = store_file(st, m, &r, err, sizeof(err));
	if (!test_check_long(rc, want, __FILE__, line, "store_file status"))
		fprintf(stderr, "  err: %s\n", err);
	return r;
}
#define FILE_OK(st, m) file_want((st), (m), STORE_OK, __LINE__)
#define FILE_DUP(st, m) file_want((st), (m), STORE_DUPLICATE, __LINE__)

/* sha_file - hex SHA-256 of a file's content; 0, or -1. */
static int
sha_file(const char *path, char hex[65], size_t *size_r)
{
	unsigned char md[32];
	char *buf;
	FILE *f;
	long n;
	size_t i;

	f = fopen(path, "rb");
	if (f == NULL)
		return -1;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return -1;
	}
	buf = malloc((size_t)n + 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	(void)gnutls_hash_fast(GNUTLS_DIG_SHA256, buf, (size_t)n, md);
	free(buf);
	for (i = 0; i < 32; i++)
		(void)snprintf(hex + 2 * i, 3, "%02x", md[i]);
	if (size_r != NULL)
		*size_r = (size_t)n;
	return 0;
}

/* blob_file - path of a blob under dir/sub. */
static void
blob_file(const char *dir, const char *sub, const char *hex, char *out,
          size_t n)
{
	(void)snprintf(out, n, "%s/%s/%.2s/%s", dir, sub, hex, hex);
}

/* exists - whether path exists. */
static bool
exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0;
}

/* count_in - blobs (is_tmp false) or temp files under dir/raw and
   dir/attachments. */
static int
count_in(const char *dir, bool is_tmp)
{
	static const char *const subs[] = {"raw", "attachments"};
	char path[512], fan[768];
	struct dirent *e, *f;
	DIR *d, *d2;
	size_t i;
	int n = 0;

	for (i = 0; i < 2; i++) {
		(void)snprintf(path, sizeof(path), "%s/%s", dir, subs[i]);
		d = opendir(path);
		if (d == NULL)
			continue;
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			(void)snprintf(fan, sizeof(fan), "%s/%.8s", path,
			               e->d_name);
			d2 = opendir(fan);
			if (d2 == NULL)
				continue;
			while ((f = readdir(d2)) != NULL) {
				if (is_tmp ? strncmp(f->d_name, ".tmp-", 5) == 0
				           : f->d_name[0] != '.')
					n++;
			}
			closedir(d2);
		}
		closedir(d);
	}
	return n;
}

/* count_files - blobs in the store. */
static int
count_files(const char *dir)
{
	return count_in(dir, false);
}

/* count_tmp - temp files in the store. */
static int
count_tmp(const char *dir)
{
	return count_in(dir, true);
}

/* ack_of - the "ack" field of a ticket. */
static void
ack_of(struct store *st, const char *id, char *out, size_t n)
{
	struct store_ticket *t = NULL;

	out[0] = '\0';
	if (store_ticket_get(st, id, &t, err, sizeof(err)) == STORE_OK)
		(void)snprintf(out, n, "%s", t->t.ack);
	store_ticket_free(&t);
}

/* status_of - the status of a ticket. */
static void
status_of(struct store *st, const char *id, char *out, size_t n)
{
	struct store_ticket *t = NULL;

	out[0] = '\0';
	if (store_ticket_get(st, id, &t, err, sizeof(err)) == STORE_OK)
		(void)snprintf(out, n, "%s", t->t.status);
	store_ticket_free(&t);
}

/* test_new_ticket - fields, id, times, ack, raw file. */
static void
test_new_ticket(void)
{
	static const char *const orders[] = {"123456", "SK-88123"};
	char *dir = new_dir();
	struct store *st;
	struct store_result r;
	struct store_ticket *t = NULL;
	struct store_msg m;
	char path[512], hex[65], buf[64];
	size_t size;

	fake_now = T0;
	st = open_dir(dir);
	m = msg("From: a@b.cn\r\nSubject: x\r\n\r\nbody\r\n", "<m1@b.cn>",
	        "A@B.cn", "[紧急][A123456]角色数据丢失需恢复");
	m.priority = "urgent";
	m.category = "data_loss";
	m.user_id = "A123456";
	m.summary = "角色数据丢失需恢复";
	m.format = "urgent";
	m.order_numbers = orders;
	m.n_order_numbers = 2;
	r = FILE_OK(st, &m);
	CHECK_INT(r.outcome, STORE_OUTCOME_NEW, "outcome new");
	CHECK_STR(r.ticket_id, "CM-20231105-001", "first id");
	CHECK_STR(r.status, "new", "status");
	CHECK(r.is_ack_queued, "ack queued");
	CHECK(r.ack_id > 0, "ack id");
	CHECK_STR(r.ack_suppress, "", "no suppress");
	CHECK(!r.is_duplicate, "not dup");
	CHECK_INT(store_ticket_get(st, r.ticket_id, &t, err, sizeof(err)),
	          STORE_OK, "get");
	if (t != NULL) {
		CHECK_STR(t->t.priority, "urgent", "priority");
		CHECK_STR(t->t.category, "data_loss", "category");
		CHECK(t->t.kind == NULL, "kind null");
		CHECK_STR(t->t.requester, "a@b.cn", "requester lower-cased");
		CHECK_STR(t->t.user_id, "A123456", "user id");
		CHECK_STR(t->t.summary, "角色数据丢失需恢复", "summary");
		CHECK_STR(t->t.created_at_iso, "2023-11-05T16:23:00+08:00",
		          "created_at iso");
		CHECK_STR(t->t.due_at_iso, "2023-11-05T16:33:00+08:00",
		          "due 10 min");
		CHECK_STR(t->t.ack, "queued", "ack queued");
		CHECK_INT(t->t.order_numbers.n, 2, "order numbers");
		if (t->t.order_numbers.n == 2) {
			CHECK_STR(t->t.order_numbers.v[0], "123456", "order 1");
			CHECK_STR(t->t.order_numbers.v[1], "SK-88123",
			          "order 2");
		}
		CHECK_INT(t->n_messages, 1, "one message");
		if (t->n_messages == 1) {
			CHECK_STR(t->messages[0].message_id, "<m1@b.cn>",
			          "message id");
			CHECK_STR(t->messages[0].outcome, "ticket", "outcome");
			CHECK_STR(t->messages[0].raw_sha256, r.raw_sha256,
			          "raw sha");
		}
	}
	store_ticket_free(&t);
	blob_file(dir, "raw", r.raw_sha256, path, sizeof(path));
	CHECK_INT(sha_file(path, hex, &size), 0, "raw file readable");
	CHECK_STR(hex, r.raw_sha256, "raw file hash matches its name");
	CHECK_INT(size, m.raw_len, "raw size");
	/* Second ticket, normal priority: 30 min, id 002. */
	m = msg("From: c@d.cn\r\n\r\nother\r\n", "<m2@d.cn>", "c@d.cn",
	        "hello");
	r = FILE_OK(st, &m);
	CHECK_STR(r.ticket_id, "CM-20231105-002", "second id");
	CHECK_INT(store_ticket_get(st, r.ticket_id, &t, err, sizeof(err)),
	          STORE_OK, "get 2");
	if (t != NULL) {
		CHECK_STR(t->t.priority, "normal", "default priority");
		CHECK_STR(t->t.category, "general", "default category");
		CHECK_STR(t->t.summary, "hello", "summary = subject");
		CHECK_STR(t->t.due_at_iso, "2023-11-05T16:53:00+08:00",
		          "due 30 min");
	}
	store_ticket_free(&t);
	CHECK_STR(store_format_time(st, T0, buf), "2023-11-05T16:23:00+08:00",
	          "store_format_time");
	store_close(&st);
	CHECK(st == NULL, "close clears pointer");
	rmtree(dir);
	free(dir);
}

/* test_followups - every way a follow-up finds its ticket. */
static void
test_followups(void)
{
	static const char *const refs[] = {"<unrelated@x>", "<m1@b.cn>",
	                                   "<other@y>"};
	static const char *const refs_ack[1] = {NULL};
	static const char *const orders[] = {"884213"};
	static const char *const orders2[] = {"999999"};
	const char *ack_refs[1];
	char *dir = new_dir();
	struct store *st;
	struct store_result r, first, o;
	struct store_ticket *t = NULL;
	struct store_ack a;
	struct store_msg m;
	char ackid[256];

	(void)refs_ack;
	fake_now = T0;
	st = open_dir(dir);
	m = msg("raw 1", "<m1@b.cn>", "a@b.cn", "first");
	first = FILE_OK(st, &m);

	/* Subject id. */
	m = msg("raw 2", "<m2@b.cn>", "a@b.cn", "Re: [CM-20231105-001] more");
	m.ticket_ref = first.ticket_id;
	r = FILE_OK(st, &m);
	CHECK_INT(r.outcome, STORE_OUTCOME_FOLLOWUP, "subject follow-up");
	CHECK_INT(r.match, STORE_MATCH_SUBJECT, "matched by subject");
	CHECK_STR(r.ticket_id, first.ticket_id, "same ticket");
	CHECK(!r.is_ack_queued, "no ack for follow-up");
	CHECK(!r.is_third_party, "requester is not third party");

	/* In-Reply-To alone. */
	m = msg("raw 3", "<m3@b.cn>", "a@b.cn", "no id here");
	m.in_reply_to = "<m2@b.cn>";
	r = FILE_OK(st, &m);
	CHECK_INT(r.match, STORE_MATCH_IN_REPLY_TO, "by In-Reply-To");
	CHECK_STR(r.ticket_id, first.ticket_id, "irt ticket");

	/* References alone. */
	m = msg("raw 4", "<m4@b.cn>", "a@b.cn", "again");
	m.references = refs;
	m.n_references = 3;
	r = FILE_OK(st, &m);
	CHECK_INT(r.match, STORE_MATCH_REFERENCES, "by References");
	CHECK_STR(r.ticket_id, first.ticket_id, "refs ticket");

	/* Our ack's Message-ID. */
	CHECK_INT(store_outbox_next(st, 0, &a, err, sizeof(err)), STORE_OK,
	          "outbox has the ack");
	(void)snprintf(ackid, sizeof(ackid), "%s",
	               a.message_id != NULL ? a.message_id : "");
	CHECK(strncmp(ackid, "<ack.CM-20231105-001.", 21) == 0,
	      "ack Message-ID names the ticket");
	CHECK(strstr(ackid, "@support.example.com>") != NULL,
	      "ack Message-ID domain");
	CHECK_STR(a.in_reply_to, "<m1@b.cn>", "ack In-Reply-To");
	store_ack_clear(&a);
	m = msg("raw 5", "<m5@b.cn>", "a@b.cn", "reply to ack");
	ack_refs[0] = ackid;
	m.references = ack_refs;
	m.n_references = 1;
	r = FILE_OK(st, &m);
	CHECK_INT(r.match, STORE_MATCH_ACK, "by ack Message-ID");
	CHECK_STR(r.ticket_id, first.ticket_id, "ack ticket");

	/* Third party. */
	m = msg("raw 6", "<m6@evil>", "someone@else.cn", "Re: x");
	m.ticket_ref = first.ticket_id;
	r = FILE_OK(st, &m);
	CHECK(r.is_third_party, "third party flagged");
	CHECK_INT(store_ticket_get(st, first.ticket_id, &t, err, sizeof(err)),
	          STORE_OK, "get");
	if (t != NULL) {
		CHECK_INT(t->n_messages, 6, "six messages");
		if (t->n_messages == 6) {
			CHECK(t->messages[5].is_third_party, "stored flag");
			CHECK(!t->messages[1].is_third_party, "others not");
			CHECK_STR(t->messages[5].outcome, "followup",
			          "outcome followup");
		}
		CHECK_STR(t->t.status, "new", "still new");
	}
	store_ticket_free(&t);

	/* Unknown ticket id in the subject: a new ticket. */
	m = msg("raw 7", "<m7@b.cn>", "a@b.cn", "Re: [CM-20231105-099] ?");
	m.ticket_ref = "CM-20231105-099";
	r = FILE_OK(st, &m);
	CHECK_INT(r.outcome, STORE_OUTCOME_NEW, "unknown id: new ticket");

	/* Same order, same requester, within 7 days. */
	m = msg("raw o1", "<o1@p.cn>", "p@p.cn", "退票申请:订单号884213");
	m.order_numbers = orders;
	m.n_order_numbers = 1;
	o = FILE_OK(st, &m);
	CHECK_INT(o.outcome, STORE_OUTCOME_NEW, "order ticket");
	fake_now = T0 + 6 * DAY;
	m = msg("raw o2", "<o2@p.cn>", "P@p.cn", "订单号884213 again");
	m.order_numbers = orders;
	m.n_order_numbers = 1;
	r = FILE_OK(st, &m);
	CHECK_INT(r.outcome, STORE_OUTCOME_FOLLOWUP, "order merge");
	CHECK_INT(r.match, STORE_MATCH_ORDER, "by order");
	CHECK_STR(r.ticket_id, o.ticket_id, "order ticket id");
	/* Another requester with the same order: new. */
	m = msg("raw o3", "<o3@q.cn>", "q@q.cn", "订单号884213");
	m.order_numbers = orders;
	m.n_order_numbers = 1;
	r = FILE_OK(st, &m);
	CHECK_INT(r.outcome, STORE_OUTCOME_NEW, "other requester: new");
	/* Past the window (measured from the last filing): new. */
	fake_now = T0 + 6 * DAY + 7 * DAY + 60;
	m = msg("raw o4", "<o4@p.cn>", "p@p.cn", "订单号884213 later");
	m.order_numbers = orders;
	m.n_order_numbers = 1;
	r = FILE_OK(st, &m);
	CHECK_INT(r.outcome, STORE_OUTCOME_NEW, "after the window: new");
	CHECK(strcmp(r.ticket_id, o.ticket_id) != 0, "a different ticket");
	/* Closed tickets do not merge. */
	CHECK_INT(store_ticket_set_status(st, r.ticket_id, "closed", err,
	                                  sizeof(err)),
	          STORE_OK, "close");
	m = msg("raw o5", "<o5@p.cn>", "p@p.cn", "订单号884213 once more");
	m.order_numbers = orders;
	m.n_order_numbers = 1;
	o = FILE_OK(st, &m);
	CHECK_INT(o.outcome, STORE_OUTCOME_NEW, "closed: new");
	store_close(&st);

	/* order_merge_days = 0 disables merging. */
	{
		struct store_settings s = settings(dir);

		s.no_order_merge = true;
		st = open_with(&s);
	}
	m = msg("raw o6", "<o6@p.cn>", "p@p.cn", "订单号999999");
	m.order_numbers = orders2;
	m.n_order_numbers = 1;
	r = FILE_OK(st, &m);
	m = msg("raw o7", "<o7@p.cn>", "p@p.cn", "订单号999999 again");
	m.order_numbers = orders2;
	m.n_order_numbers = 1;
	r = FILE_OK(st, &m);
	CHECK_INT(r.outcome, STORE_OUTCOME_NEW, "merge disabled: new");
	store_close(&st);
	rmtree(dir);
	free(dir);
}

/* test_reopen - status changes by follow-ups and reviews. */
static void
test_reopen(void)
{
	static const struct {
		const char *before;
		bool is_review;
		const char *after;
		bool is_reopened;
	} cases[] = {
	    {"new", false, "new", false},
	    {"open", false, "open", false},
	    {"pending", false, "open", true},
	    {"resolved", false, "open", true},
	    {"closed", false, "closed", false},
	    {"resolved", true, "open", true},
	    {"closed", true, "open", true},
	};
	char *dir = new_dir();
	struct store *st;
	struct store_result first, r;
	struct store_msg m;
	struct store_ticket *t = NULL;
	char raw[64], mid[64], got[16];
	size_t i;

	fake_now = T0;
	st = open_dir(dir);
	m = msg("first", "<r0@x>", "a@x.cn", "help");
	first = FILE_OK(st, &m);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_INT(store_ticket_set_status(st, first.ticket_id,
		                                  cases[i].before, err,
		                                  sizeof(err)),
		          STORE_OK, "set status");
		(void)snprintf(raw, sizeof(raw), "follow-up %zu", i);
		(void)snprintf(mid, sizeof(mid), "<r%zu@x>", i + 1);
		m = msg(raw, mid, "a@x.cn", "Re: 复议");
		m.ticket_ref = first.ticket_id;
		m.is_review = cases[i].is_review;
		r = FILE_OK(st, &m);
		status_of(st, first.ticket_id, got, sizeof(got));
		if (!CHECK_STR(got, cases[i].after, "status after"))
			fprintf(stderr, "  case %zu\n", i);
		CHECK_STR(r.status, cases[i].after, "result status");
		CHECK_INT(r.is_reopened, cases[i].is_reopened, "reopened");
	}
	CHECK_INT(store_ticket_get(st, first.ticket_id, &t, err, sizeof(err)),
	          STORE_OK, "get");
	if (t != NULL) {
		CHECK(t->t.is_review, "review flag set");
		CHECK(t->t.closed_at == 0, "reopened: closed_at cleared");
	}
	store_ticket_free(&t);
	CHECK_INT(store_ticket_set_status(st, first.ticket_id, "done", err,
	                                  sizeof(err)),
	          STORE_INVALID, "bad status name");
	CHECK_INT(store_ticket_set_status(st, "CM-20000101-001", "open", err,
	                                  sizeof(err)),
	          STORE_NOT_FOUND, "no such ticket");
	store_close(&st);
	rmtree(dir);
	free(dir);
}

/* test_duplicates - idempotent re-filing. */
static void
test_duplicates(void)
{
	char *dir = new_dir();
	struct store *st;
	struct store_result a, r;
	struct store_msg m;
	struct store_stats s;
	uint32_t uv, last;

	fake_now = T0;
	st = open_dir(dir);
	m = msg("Received: one\r\nMessage-ID: <d1@x>\r\n\r\nbody", "<d1@x>",
	        "u@x.cn", "dup test");
	m.text = "body";
	m.mailbox = "INBOX";
	m.uidvalidity = 7;
	m.uid = 812;
	a = FILE_OK(st, &m);
	/* Same UID again. */
	r = FILE_DUP(st, &m);
	CHECK(r.is_duplicate, "dup flag");
	CHECK_STR(r.ticket_id, a.ticket_id, "dup names the ticket");
	CHECK_INT(r.message_row, a.message_row, "dup names the row");
	CHECK_INT(r.outcome, STORE_OUTCOME_NEW, "dup outcome");
	/* Same Message-ID and bytes, other UID (UIDVALIDITY change). */
	m.uidvalidity = 8;
	m.uid = 3;
	r = FILE_DUP(st, &m);
	CHECK_STR(r.ticket_id, a.ticket_id, "dup by Message-ID + hash");
	CHECK_INT(store_mailbox_get(st, "INBOX", &uv, &last, err, sizeof(err)),
	          STORE_OK, "mailbox position");
	CHECK_INT(uv, 8, "duplicate still advances uidvalidity");
	CHECK_INT(last, 3, "and last uid");
	/* Re-delivered with other transport headers: same content. */
	m = msg("Received: two\r\nMessage-ID: <d1@x>\r\n\r\nbody", "<d1@x>",
	        "u@x.cn", "dup test");
	m.text = "body";
	r = FILE_DUP(st, &m);
	CHECK_STR(r.ticket_id, a.ticket_id, "dup by Message-ID + content");
	/* Same Message-ID, different body: not a duplicate. */
	m = msg("Message-ID: <d1@x>\r\n\r\nanother body", "<d1@x>", "u@x.cn",
	        "dup test");
	r = FILE_OK(st, &m);
	CHECK(!r.is_duplicate, "different body is filed");
	CHECK(strcmp(r.ticket_id, a.ticket_id) != 0 ||
	          r.outcome == STORE_OUTCOME_FOLLOWUP,
	      "filed as something");
	/* No Message-ID, no UID: the very same bytes are a duplicate... */
	m = msg("no id", NULL, "u@x.cn", "x");
	r = FILE_OK(st, &m);
	r = FILE_DUP(st, &m);
	CHECK(r.is_duplicate, "same bytes without Message-ID: duplicate");
	/* ...other bytes are not. */
	m = msg("no id, other text", NULL, "u@x.cn", "x");
	r = FILE_OK(st, &m);
	CHECK(!r.is_duplicate, "other bytes without Message-ID: filed");
	CHECK_INT(store_stats(st, &s, err, sizeof(err)), STORE_OK, "stats");
	CHECK_INT(s.messages, 4, "four messages filed");
	store_stats_clear(&s);
	store_close(&st);
	rmtree(dir);
	free(dir);
}

/* test_ids - sequence across restarts, days and purges. */
static void
test_ids(void)
{
	char *dir = new_dir();
	struct store *st;
	struct store_result r;
	struct store_msg m;
	struct store_purge_report rep;
	char raw[32];
	int i;

	fake_now = T0;
	st = open_dir(dir);
	for (i = 0; i < 3; i++) {
		(void)snprintf(raw, sizeof(raw), "id test %d", i);
		m = msg(raw, NULL, "a@x.cn", "x");
		r = FILE_OK(st, &m);
	}
	CHECK_STR(r.ticket_id, "CM-20231105-003", "third");
	store_close(&st);
	st = open_dir(dir);
	m = msg("after restart", NULL, "a@x.cn", "x");
	r = FILE_OK(st, &m);
	CHECK_STR(r.ticket_id, "CM-20231105-004", "continues after reopen");
	/* 15:59:59 UTC is still the 5th in UTC but the 6th at +08:00. */
	fake_now = T0 + 16 * 3600;
	m = msg("next day", NULL, "a@x.cn", "x");
	r = FILE_OK(st, &m);
	CHECK_STR(r.ticket_id, "CM-20231106-001", "day in the configured zone");
	store_close(&st);
	/* 23:23 UTC on the 5th is the 6th at +08:00; in UTC, the 5th. */
	fake_now = T0 + 15 * 3600;
	{
		struct store_settings s = settings(dir);

		s.timezone = "UTC0";
		s.ticket_prefix = "SK";
		st = open_with(&s);
	}
	m = msg("utc", NULL, "a@x.cn", "x");
	r = FILE_OK(st, &m);
	CHECK_STR(r.ticket_id, "SK-20231105-005", "UTC day, own prefix");
	store_close(&st);
	/* Never reused after purge. */
	st = open_dir(dir);
	CHECK_INT(store_ticket_set_status(st, "CM-20231106-001", "closed", err,
	                                  sizeof(err)),
	          STORE_OK, "close");
	fake_now += 40 * DAY;
	CHECK_INT(store_purge(st, 30, false, false, &rep, err, sizeof(err)),
	          STORE_OK, "purge");
	CHECK_INT(rep.tickets, 1, "purged one");
	fake_now = T0 + 16 * 3600 + 60;
	m = msg("after purge", NULL, "a@x.cn", "x");
	r = FILE_OK(st, &m);
	CHECK_STR(r.ticket_id, "CM-20231106-002", "id not reused after purge");
	store_close(&st);
	rmtree(dir);
	free(dir);
}

/* test_rate_limit - the 6th ack in 24 h is suppressed. */
static void
test_rate_limit(void)
{
	char *dir = new_dir();
	struct store *st;
	struct store_result r;
	struct store_msg m;
	char raw[32], ack[64];
	int i;

	fake_now = T0;
	st = open_dir(dir);
	for (i = 0; i < 6; i++) {
		(void)snprintf(raw, sizeof(raw), "rate %d", i);
		m = msg(raw, NULL, "Flood@x.cn", "x");
		fake_now = T0 + i * 600;
		r = FILE_OK(st, &m);
		if (i < 5)
			CHECK(r.is_ack_queued, "acks 1-5 queued");
	}
	CHECK(!r.is_ack_queued, "6th not queued");
	CHECK_STR(r.ack_suppress, "rate_limit", "rate limit reason");
	ack_of(st, r.ticket_id, ack, sizeof(ack));
	CHECK_STR(ack, "suppressed:rate_limit", "ticket ack field");
	/* 24 h after the first: one slot free again. */
	fake_now = T0 + DAY + 1;
	m = msg("rate later", NULL, "flood@x.cn", "x");
	r = FILE_OK(st, &m);
	CHECK(r.is_ack_queued, "allowed after 24h");
	/* Static reasons and a missing requester. */
	m = msg("auto", NULL, "robot@x.cn", "x");
	m.ack_suppress = "auto_submitted";
	r = FILE_OK(st, &m);
	CHECK_STR(r.ack_suppress, "auto_submitted", "parser reason");
	ack_of(st, r.ticket_id, ack, sizeof(ack));
	CHECK_STR(ack, "suppressed:auto_submitted", "ack field");
	m = msg("nobody", NULL, NULL, "x");
	r = FILE_OK(st, &m);
	CHECK_STR(r.ack_suppress, "no_requester", "no requester");
	store_close(&st);
	{
		struct store_settings s = settings(dir);

		s.no_acks = true;
		st = open_with(&s);
	}
	m = msg("disabled", NULL, "z@x.cn", "x");
	r = FILE_OK(st, &m);
	CHECK_STR(r.ack_suppress, "disabled", "acks disabled");
	store_close(&st);
	{
		struct store_settings s = settings(dir);

		s.max_acks_per_sender = 1;
		st = open_with(&s);
	}
	m = msg("max1 a", NULL, "y@x.cn", "x");
	r = FILE_OK(st, &m);
	CHECK(r.is_ack_queued, "max 1: first");
	m = msg("max1 b", NULL, "y@x.cn", "x");
	r = FILE_OK(st, &m);
	CHECK_STR(r.ack_suppress, "rate_limit", "max 1: second");
	store_close(&st);
	rmtree(dir);
	free(dir);
}

/* test_bounce - a DSN naming our ack blocks the address for 30 days. */
static void
test_bounce(void)
{
	const char *refs[1];
	char *dir = new_dir();
	struct store *st;
	struct store_result first, r;
	struct store_outbox_row *rows = NULL;
	struct store_stats s;
	struct store_ack a;
	struct store_msg m;
	char ackid[256];
	size_t n = 0;

	fake_now = T0;
	st = open_dir(dir);
	m = msg("to bounce", "<b1@x>", "gone@x.cn", "x");
	first = FILE_OK(st, &m);
	CHECK_INT(store_outbox_next(st, 0, &a, err, sizeof(err)), STORE_OK,
	          "ack");
	(void)snprintf(ackid, sizeof(ackid), "%s",
	               a.message_id != NULL ? a.message_id : "");
	store_ack_clear(&a);
	/* A DSN that names nothing of ours becomes a ticket. */
	m = msg("dsn other", "<dsn0@mx>", "mailer-daemon@mx", "Undelivered");
	m.is_bounce = true;
	m.ack_suppress = "dsn";
	refs[0] = "<not-ours@x>";
	m.bounce_refs = refs;
	m.n_bounce_refs = 1;
	r = FILE_OK(st, &m);
	CHECK_INT(r.outcome, STORE_OUTCOME_NEW, "foreign DSN: ticket");
	CHECK_STR(r.ack_suppress, "dsn", "no ack to a DSN");
	/* A DSN naming our ack. */
	fake_now = T0 + 60;
	m = msg("dsn ours", "<dsn1@mx>", "mailer-daemon@mx", "Undelivered");
	m.is_bounce = true;
	m.ack_suppress = "dsn";
	refs[0] = ackid;
	m.bounce_refs = refs;
	m.n_bounce_refs = 1;
	r = FILE_OK(st, &m);
	CHECK_INT(r.outcome, STORE_OUTCOME_SUPPRESSED, "bounce record");
	CHECK_INT(r.n_bounces, 1, "one bounce");
	CHECK_STR(r.ticket_id, first.ticket_id, "names the ticket");
	CHECK_INT(store_outbox_list(st, true, &rows, &n, err, sizeof(err)),
	          STORE_OK, "failed list");
	CHECK_INT(n, 1, "the bounced ack failed");
	if (n == 1)
		CHECK_STR(rows[0].last_error, "bounced", "reason");
	store_outbox_list_free(&rows, n);
	m = msg("again", "<b2@x>", "gone@x.cn", "new problem");
	r = FILE_OK(st, &m);
	CHECK_STR(r.ack_suppress, "bounced", "blocked address");
	fake_now = T0 + 31 * DAY;
	m = msg("much later", "<b3@x>", "gone@x.cn", "new problem");
	r = FILE_OK(st, &m);
	CHECK(r.is_ack_queued, "block expires after 30 days");
	CHECK_INT(store_stats(st, &s, err, sizeof(err)), STORE_OK, "stats");
	CHECK_INT(s.suppressed, 1, "one suppressed record");
	store_stats_clear(&s);
	store_close(&st);
	rmtree(dir);
	free(dir);
}

/* test_outbox - backoff, give-up, retry, permanent, sent. */
static void
test_outbox(void)
{
	static const time_t delays[] = {60,  120,  240,  480,
	                                960, 1920, 3600, 3600};
	static const char *const orders[] = {"A1B2C3"};
	struct store_attachment_in att[1];
	char *dir = new_dir();
	struct store *st;
	struct store_result r;
	struct store_ack a;
	struct store_msg m;
	struct store_outbox_row *rows = NULL;
	size_t n = 0, count;
	bool is_given_up;
	char ack[64];
	int64_t id;
	time_t t;
	size_t i;

	fake_now = T0;
	st = open_dir(dir);
	memset(att, 0, sizeof(att));
	att[0].filename = "截图.png";
	att[0].content_type = "image/png";
	att[0].data = "PNGDATA";
	att[0].size = 7;
	m = msg("outbox", "<ob@x>", "o@x.cn", "关于【会员积分】的申诉");
	m.priority = "complaint";
	m.category = "membership_points";
	m.kind = "appeal";
	m.format = "inquiry";
	m.order_numbers = orders;
	m.n_order_numbers = 1;
	m.attachments = att;
	m.n_attachments = 1;
	r = FILE_OK(st, &m);
	CHECK_INT(store_outbox_next(st, 0, &a, err, sizeof(err)), STORE_OK,
	          "next");
	CHECK_INT(a.id, r.ack_id, "ack id");
	CHECK_STR(a.ticket_id, r.ticket_id, "ticket id");
	CHECK_STR(a.to, "o@x.cn", "to");
	CHECK_STR(a.summary, "关于【会员积分】的申诉", "summary");
	CHECK_STR(a.category, "membership_points", "category");
	CHECK_STR(a.priority, "complaint", "priority");
	CHECK_STR(a.kind, "appeal", "kind");
	CHECK_STR(a.format, "inquiry", "format");
	CHECK_STR(a.due_at_iso, "2023-11-05T18:23:00+08:00", "due 2h");
	CHECK_INT(a.order_numbers.n, 1, "order numbers");
	CHECK_INT(a.attachments.n, 1, "attachment names");
	if (a.attachments.n == 1)
		CHECK_STR(a.attachments.v[0], "截图.png", "name");
	CHECK_INT(a.references.n, 1, "references = original id");
	id = a.id;
	store_ack_clear(&a);
	t = T0;
	for (i = 0; i < sizeof(delays) / sizeof(delays[0]); i++) {
		CHECK_INT(store_outbox_failed(st, id, false,
		                              "421 try later\r\n", &is_given_up,
		                              err, sizeof(err)),
		          STORE_OK, "temporary failure");
		CHECK(!is_given_up, "not given up");
		CHECK_INT(store_outbox_next(st, t + delays[i] - 1, &a, err,
		                            sizeof(err)),
		          STORE_NOT_FOUND, "not due yet");
		CHECK_INT(
		    store_outbox_next(st, t + delays[i], &a, err, sizeof(err)),
		    STORE_OK, "due after the backoff");
		CHECK_INT(a.attempts, i + 1, "attempts");
		store_ack_clear(&a);
		t += delays[i];
		fake_now = t;
	}
	CHECK_INT(store_outbox_list(st, false, &rows, &n, err, sizeof(err)),
	          STORE_OK, "list");
	if (n == 1)
		CHECK_STR(rows[0].last_error, "421 try later",
		          "error stored without controls");
	store_outbox_list_free(&rows, n);
	fake_now = T0 + 3 * DAY;
	CHECK_INT(store_outbox_failed(st, id, false, "421", &is_given_up, err,
	                              sizeof(err)),
	          STORE_OK, "failure after 3 days");
	CHECK(is_given_up, "given up after 3 days");
	ack_of(st, r.ticket_id, ack, sizeof(ack));
	CHECK_STR(ack, "failed", "ack failed");
	CHECK_INT(store_outbox_next(st, fake_now + DAY, &a, err, sizeof(err)),
	          STORE_NOT_FOUND, "failed acks are not sent");
	CHECK_INT(
	    store_outbox_failed(st, id, false, "x", NULL, err, sizeof(err)),
	    STORE_NOT_FOUND, "not queued any more");
	CHECK_INT(store_outbox_retry(st, id, &count, err, sizeof(err)),
	          STORE_OK, "retry");
	CHECK_INT(count, 1, "one requeued");
	CHECK_INT(store_outbox_retry(st, id, &count, err, sizeof(err)),
	          STORE_NOT_FOUND, "nothing to requeue");
	CHECK_INT(store_outbox_next(st, 0, &a, err, sizeof(err)), STORE_OK,
	          "requeued is due now");
	CHECK_INT(a.attempts, 0, "fresh attempts");
	store_ack_clear(&a);
	/* Fresh 3-day window: a temporary failure now waits again. */
	CHECK_INT(store_outbox_failed(st, id, false, "421", &is_given_up, err,
	                              sizeof(err)),
	          STORE_OK, "temp after retry");
	CHECK(!is_given_up, "window restarted");
	CHECK_INT(store_outbox_failed(st, id, true, "550 no such user",
	                              &is_given_up, err, sizeof(err)),
	          STORE_OK, "permanent");
	CHECK(is_given_up, "permanent fails at once");
	CHECK_INT(store_outbox_retry(st, 0, &count, err, sizeof(err)), STORE_OK,
	          "retry all");
	CHECK_INT(count, 1, "one requeued");
	CHECK_INT(store_outbox_sent(st, id, err, sizeof(err)), STORE_OK,
	          "sent");
	ack_of(st, r.ticket_id, ack, sizeof(ack));
	CHECK_STR(ack, "sent", "ack sent");
	CHECK_INT(store_outbox_next(st, fake_now + DAY, &a, err, sizeof(err)),
	          STORE_NOT_FOUND, "nothing left");
	CHECK_INT(store_outbox_sent(st, 9999, err, sizeof(err)),
	          STORE_NOT_FOUND, "unknown ack");
	store_close(&st);
	rmtree(dir);
	free(dir);
}

/* test_attachments - kept, skipped, deduplicated, verified. */
static void
test_attachments(void)
{
	struct store_attachment_in att[3];
	char *dir = new_dir();
	struct store *st;
	struct store_result r;
	struct store_ticket *t = NULL;
	struct store_blob_ref b;
	struct store_msg m;
	char hex[65];
	size_t size;

	fake_now = T0;
	st = open_dir(dir);
	memset(att, 0, sizeof(att));
	att[0].filename = "a.txt";
	att[0].content_type = "text/plain";
	att[0].data = "hello";
	att[0].size = 5;
	att[0].sha256 =
	    "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
	att[1].filename = "big.mp4";
	att[1].content_type = "video/mp4";
	att[1].size = 30u * 1024 * 1024;
	att[1].skipped = "too_large";
	att[2].filename = NULL;
	att[2].content_type = NULL;
	att[2].data = "";
	att[2].size = 0;
	m = msg("with attachments", "<at@x>", "a@x.cn", "files");
	m.attachments = att;
	m.n_attachments = 3;
	r = FILE_OK(st, &m);
	CHECK_INT(store_ticket_get(st, r.ticket_id, &t, err, sizeof(err)),
	          STORE_OK, "get");
	if (t != NULL && t->n_messages == 1 &&
	    t->messages[0].n_attachments == 3) {
		struct store_attachment *a = t->messages[0].attachments;

		CHECK_INT(a[0].number, 1, "numbered");
		CHECK_STR(a[0].filename, "a.txt", "name");
		CHECK_STR(a[0].sha256, att[0].sha256, "sha");
		CHECK(a[0].skipped == NULL, "kept");
		CHECK_STR(a[1].sha256, "", "skipped: no sha");
		CHECK_STR(a[1].skipped, "too_large", "skip reason");
		CHECK_INT(a[1].size, 30u * 1024 * 1024, "skipped size");
		CHECK_STR(a[2].filename, "attachment-3", "empty name");
		CHECK_STR(a[2].content_type, "application/octet-stream",
		          "default type");
	} else {
		CHECK(0, "three attachments");
	}
	store_ticket_free(&t);
	CHECK_INT(
	    store_attachment_path(st, r.ticket_id, 1, &b, err, sizeof(err)),
	    STORE_OK, "path 1");
	CHECK_INT(
	    sha_file(b.path != NULL ? b.path : "/nonexistent", hex, &size), 0,
	    "attachment file");
	CHECK_STR(hex, att[0].sha256, "file hash matches");
	CHECK_STR(b.filename, "a.txt", "ref filename");
	CHECK(strstr(b.path, "a.txt") == NULL, "filename is not the path");
	store_blob_ref_clear(&b);
	CHECK_INT(
	    store_attachment_path(st, r.ticket_id, 2, &b, err, sizeof(err)),
	    STORE_NOT_FOUND, "skipped has no file");
	CHECK(strstr(err, "too_large") != NULL, "err says why");
	CHECK_INT(
	    store_attachment_path(st, r.ticket_id, 4, &b, err, sizeof(err)),
	    STORE_NOT_FOUND, "no 4th");
	CHECK_INT(
	    store_attachment_path(st, r.ticket_id, 0, &b, err, sizeof(err)),
	    STORE_NOT_FOUND, "numbered from 1");
	/* A wrong hash from the caller is refused, nothing filed. */
	att[0].sha256 =
	    "0000000000000000000000000000000000000000000000000000000000000000";
	m = msg("bad sha", "<bad@x>", "a@x.cn", "files");
	m.attachments = att;
	m.n_attachments = 1;
	(void)file_want(st, &m, STORE_INVALID, __LINE__);
	m.raw = NULL;
	(void)file_want(st, &m, STORE_INVALID, __LINE__);
	store_close(&st);
	rmtree(dir);
	free(dir);
}

/* test_quarantine - record, raw kept, reprocess. */
static void
test_quarantine(void)
{
	char *dir = new_dir();
	struct store *st;
	struct store_result q, r;
	struct store_quarantine_row *rows = NULL;
	struct store_msg m;
	struct store_stats s;
	char *path = NULL;
	char hex[65];
	size_t n = 0;

	fake_now = T0;
	st = open_dir(dir);
	m = msg("\x01\x02 garbage", NULL, NULL, NULL);
	m.text = NULL;
	m.mailbox = "INBOX";
	m.uidvalidity = 1;
	m.uid = 5;
	m.quarantine_reason = "malformed: no header";
	q = FILE_OK(st, &m);
	CHECK_INT(q.outcome, STORE_OUTCOME_QUARANTINE, "quarantined");
	CHECK_STR(q.ticket_id, "", "no ticket");
	CHECK(!q.is_ack_queued, "no ack");
	r = FILE_DUP(st, &m);
	CHECK_INT(r.outcome, STORE_OUTCOME_QUARANTINE, "dup of quarantine");
	CHECK_INT(store_quarantine_list(st, false, &rows, &n, err, sizeof(err)),
	          STORE_OK, "list");
	CHECK_INT(n, 1, "one record");
	if (n == 1) {
		CHECK_INT(rows[0].row, q.message_row, "row");
		CHECK_STR(rows[0].reason, "malformed: no header", "reason");
		CHECK_INT(rows[0].uid, 5, "uid");
		CHECK(!rows[0].is_reprocessed, "not reprocessed");
	}
	store_quarantine_list_free(&rows, n);
	CHECK_INT(store_quarantine_get_raw(st, q.message_row, &path, err,
	                                   sizeof(err)),
	          STORE_OK, "raw path");
	CHECK_INT(sha_file(path != NULL ? path : "/nonexistent", hex, NULL), 0,
	          "raw kept");
	CHECK_STR(hex, q.raw_sha256, "raw hash");
	free(path);
	CHECK_INT(store_quarantine_get_raw(st, 999, &path, err, sizeof(err)),
	          STORE_NOT_FOUND, "no such record");
	/* Reprocess after a fix: a ticket, the record marked. */
	m = msg("\x01\x02 garbage", NULL, "fixed@x.cn", "fixed");
	m.reprocess_of = q.message_row;
	r = FILE_OK(st, &m);
	CHECK_INT(r.outcome, STORE_OUTCOME_NEW, "reprocessed into a ticket");
	CHECK_INT(store_quarantine_list(st, false, &rows, &n, err, sizeof(err)),
	          STORE_OK, "list");
	CHECK_INT(n, 0, "nothing pending");
	store_quarantine_list_free(&rows, n);
	CHECK_INT(store_quarantine_list(st, true, &rows, &n, err, sizeof(err)),
	          STORE_OK, "list all");
	CHECK_INT(n, 1, "kept as reprocessed");
	if (n == 1)
		CHECK(rows[0].is_reprocessed, "reprocessed");
	store_quarantine_list_free(&rows, n);
	CHECK_INT(store_quarantine_mark(st, q.message_row, err, sizeof(err)),
	          STORE_OK, "mark");
	CHECK_INT(store_quarantine_mark(st, 12345, err, sizeof(err)),
	          STORE_NOT_FOUND, "mark unknown");
	CHECK_INT(store_stats(st, &s, err, sizeof(err)), STORE_OK, "stats");
	CHECK_INT(s.quarantined, 0, "none pending");
	store_stats_clear(&s);
	store_close(&st);
	rmtree(dir);
	free(dir);
}

/* test_batch - commit and rollback of a batch, savepoint on failure. */
static void
test_batch(void)
{
	struct store_attachment_in bad[1];
	char *dir = new_dir();
	struct store *st;
	struct store_result r;
	struct store_msg m;
	struct store_stats s;
	char raw[32];
	int i;

	fake_now = T0;
	st = open_dir(dir);
	CHECK_INT(store_begin(st, err, sizeof(err)), STORE_OK, "begin");
	CHECK_INT(store_begin(st, err, sizeof(err)), STORE_INVALID,
	          "nested begin");
	for (i = 0; i < 3; i++) {
		(void)snprintf(raw, sizeof(raw), "batch a %d", i);
		m = msg(raw, NULL, "a@x.cn", "x");
		r = FILE_OK(st, &m);
	}
	CHECK_INT(count_files(dir), 0, "staged files have no name yet");
	CHECK_INT(count_tmp(dir), 3, "staged as temp files");
	CHECK_INT(store_rollback(st, err, sizeof(err)), STORE_OK, "rollback");
	CHECK_INT(count_tmp(dir), 0, "rollback removes staged files");
	CHECK_INT(store_stats(st, &s, err, sizeof(err)), STORE_OK, "stats");
	CHECK_INT(s.tickets, 0, "rolled back");
	store_stats_clear(&s);
	CHECK_INT(store_begin(st, err, sizeof(err)), STORE_OK, "begin 2");
	for (i = 0; i < 3; i++) {
		(void)snprintf(raw, sizeof(raw), "batch b %d", i);
		m = msg(raw, NULL, "a@x.cn", "x");
		m.mailbox = "INBOX";
		m.uidvalidity = 1;
		m.uid = (uint32_t)i + 1;
		r = FILE_OK(st, &m);
	}
	CHECK_STR(r.ticket_id, "CM-20231105-003", "ids reused after rollback");
	r = FILE_DUP(st, &m);
	memset(bad, 0, sizeof(bad));
	bad[0].filename = "x";
	bad[0].data = "abc";
	bad[0].size = 3;
	bad[0].sha256 = "00";
	m = msg("bad in batch", NULL, "a@x.cn", "x");
	m.attachments = bad;
	m.n_attachments = 1;
	(void)file_want(st, &m, STORE_INVALID, __LINE__);
	CHECK_INT(store_commit(st, err, sizeof(err)), STORE_OK, "commit");
	CHECK_INT(count_files(dir), 3, "3 raw files, none for the bad one");
	CHECK_INT(count_tmp(dir), 0, "every staged file renamed");
	CHECK_INT(store_commit(st, err, sizeof(err)), STORE_INVALID,
	          "no batch");
	CHECK_INT(store_stats(st, &s, err, sizeof(err)), STORE_OK, "stats");
	CHECK_INT(s.tickets, 3, "committed");
	store_stats_clear(&s);
	store_close(&st);
	rmtree(dir);
	free(dir);
}

/* test_prepared - store_prepare outside the lock, then filing. */
static void
test_prepared(void)
{
	struct store_attachment_in att[1];
	struct store_prep p[3], q;
	struct store_settings ss;
	char *dir = new_dir();
	struct store *st, *locker, *other = NULL;
	struct store_result r;
	struct store_msg m, m2, ms[3];
	char raw[3][32], path[512], hex[65];
	size_t size;
	int i;

	fake_now = T0;
	st = open_dir(dir);
	memset(att, 0, sizeof(att));
	memset(p, 0, sizeof(p));
	memset(&q, 0, sizeof(q));
	att[0].filename = "a.txt";
	att[0].content_type = "text/plain";
	att[0].data = "hello";
	att[0].size = 5;
	m = msg("prepared one", "<p1@x>", "a@x.cn", "one");
	m.attachments = att;
	m.n_attachments = 1;
	/* outside a batch: temp files now, names at filing */
	CHECK_INT(store_prepare(st, &m, &q, err, sizeof(err)), STORE_OK,
	          "prepare");
	CHECK_INT(count_tmp(dir), 2, "raw and attachment staged");
	CHECK_INT(count_files(dir), 0, "no names before filing");
	m2 = msg("prepared two", "<p2@x>", "a@x.cn", "two");
	CHECK_INT(store_file_prepared(st, &m2, &q, &r, err, sizeof(err)),
	          STORE_INVALID, "another message than the prepared one");
	CHECK_INT(store_file_prepared(st, &m, &q, &r, err, sizeof(err)),
	          STORE_OK, "file prepared");
	CHECK_STR(r.ticket_id, "CM-20231105-001", "id");
	CHECK_STR(r.raw_sha256, q.raw_hex, "raw named by the prepared hash");
	CHECK_INT(count_tmp(dir), 0, "staged files renamed");
	CHECK_INT(count_files(dir), 2, "raw and attachment filed");
	blob_file(dir, "raw", q.raw_hex, path, sizeof(path));
	CHECK(sha_file(path, hex, &size) == 0 && strcmp(hex, q.raw_hex) == 0 &&
	          size == strlen("prepared one"),
	      "raw file content matches its name");
	store_prep_clear(&q);
	CHECK(q.att_hex == NULL && q.m == NULL, "prep cleared");

	/* prepared while another connection holds the write lock: neither
	   the open nor the prepare may need it */
	locker = open_dir(dir);
	CHECK_INT(store_begin(locker, err, sizeof(err)), STORE_OK,
	          "other connection takes the write lock");
	ss = settings(dir);
	ss.busy_timeout_ms = 50;
	ss.busy_retries = 0;
	CHECK_INT(store_open(&ss, &other, err, sizeof(err)), STORE_OK,
	          "open while locked");
	for (i = 0; i < 3 && other != NULL; i++) {
		(void)snprintf(raw[i], sizeof(raw[i]), "prepared batch %d", i);
		ms[i] = msg(raw[i], NULL, "b@x.cn", "batch");
		CHECK_INT(store_prepare(other, &ms[i], &p[i], err, sizeof(err)),
		          STORE_OK, "prepare while locked");
	}
	CHECK_INT(count_tmp(dir), 3, "three staged");
	CHECK_INT(store_commit(locker, err, sizeof(err)), STORE_OK,
	          "lock released");
	store_close(&locker);
	if (other != NULL) {
		CHECK_INT(store_begin(other, err, sizeof(err)), STORE_OK,
		          "begin after");
		for (i = 0; i < 3; i++) {
			CHECK_INT(store_file_prepared(other, &ms[i], &p[i], &r,
			                              err, sizeof(err)),
			          STORE_OK, "file in batch");
			store_prep_clear(&p[i]);
		}
		CHECK_STR(r.ticket_id, "CM-20231105-004", "ids in order");
		CHECK_INT(count_tmp(dir), 3, "named at commit only");
		CHECK_INT(store_commit(other, err, sizeof(err)), STORE_OK,
		          "commit");
		CHECK_INT(count_tmp(dir), 0, "renamed at commit");
		CHECK_INT(count_files(dir), 5, "five files");
		store_close(&other);
	}

	/* prepared and never filed: closing removes the temp files */
	m2 = msg("prepared, dropped", "<p3@x>", "a@x.cn", "dropped");
	CHECK_INT(store_prepare(st, &m2, &q, err, sizeof(err)), STORE_OK,
	          "prepare to drop");
	CHECK_INT(count_tmp(dir), 1, "staged");
	store_prep_clear(&q);
	store_close(&st);
	CHECK_INT(count_tmp(dir), 0, "close removes staged files");
	CHECK_INT(count_files(dir), 5, "nothing new named");
	rmtree(dir);
	free(dir);
}

/* test_migration - a version 1 store is brought to version 2. */
static void
test_migration(void)
{
	char *dir = new_dir();
	char path[512];
	struct store *st;
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int v = -1, cols = -1;

	st = open_dir(dir);
	store_close(&st);
	(void)snprintf(path, sizeof(path), "%s/ticketd.db", dir);
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK, "open db");
	CHECK_INT(sqlite3_exec(db,
	                       "DROP INDEX acks_to;"
	                       "CREATE INDEX acks_to ON acks(to_addr,"
	                       " created_at);"
	                       "PRAGMA user_version = 1;",
	                       NULL, NULL, NULL),
	          SQLITE_OK, "back to version 1");
	(void)sqlite3_close(db);
	db = NULL;
	st = open_dir(dir);
	store_close(&st);
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK, "reopen db");
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) ==
	        SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	(void)sqlite3_finalize(s);
	s = NULL;
	if (sqlite3_prepare_v2(db,
	                       "SELECT count(*) FROM pragma_index_info("
	                       "'acks_to')",
	                       -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		cols = sqlite3_column_int(s, 0);
	(void)sqlite3_finalize(s);
	(void)sqlite3_close(db);
	CHECK_INT(v, 2, "user_version after migration");
	CHECK_INT(cols, 3, "acks_to covers the rate-limit count");
	rmtree(dir);
	free(dir);
}

/* test_queries - list filters, stats, overdue once, mailbox. */
static void
test_queries(void)
{
	static const char *const orders[] = {"777777"};
	char *dir = new_dir();
	struct store *st;
	struct store_result r1, r2, r3;
	struct store_ticket_summary *v = NULL;
	struct store_filter f;
	struct store_stats s;
	struct store_msg m;
	uint32_t uv, last;
	size_t n = 0;

	fake_now = T0;
	st = open_dir(dir);
	m = msg("q1", NULL, "a@x.cn", "urgent one");
	m.priority = "urgent";
	m.category = "account";
	r1 = FILE_OK(st, &m);
	fake_now = T0 + 60;
	m = msg("q2", NULL, "b@x.cn", "normal one");
	m.category = "payment";
	m.order_numbers = orders;
	m.n_order_numbers = 1;
	r2 = FILE_OK(st, &m);
	fake_now = T0 + 120;
	m = msg("q3", NULL, "b@x.cn", "complaint");
	m.priority = "complaint";
	m.category = "payment";
	r3 = FILE_OK(st, &m);
	CHECK_INT(store_ticket_set_status(st, r3.ticket_id, "pending", err,
	                                  sizeof(err)),
	          STORE_OK, "pending");
	CHECK_INT(store_ticket_list(st, NULL, &v, &n, err, sizeof(err)),
	          STORE_OK, "list all");
	CHECK_INT(n, 3, "three");
	if (n == 3)
		CHECK_STR(v[0].id, r3.ticket_id, "newest first");
	store_ticket_list_free(&v, n);
	memset(&f, 0, sizeof(f));
	f.category = "payment";
	CHECK_INT(store_ticket_list(st, &f, &v, &n, err, sizeof(err)), STORE_OK,
	          "by category");
	CHECK_INT(n, 2, "two payment");
	store_ticket_list_free(&v, n);
	memset(&f, 0, sizeof(f));
	f.status = "pending";
	CHECK_INT(store_ticket_list(st, &f, &v, &n, err, sizeof(err)), STORE_OK,
	          "by status");
	CHECK_INT(n, 1, "one pending");
	store_ticket_list_free(&v, n);
	memset(&f, 0, sizeof(f));
	f.requester = "B@X.CN";
	f.priority = "normal";
	CHECK_INT(store_ticket_list(st, &f, &v, &n, err, sizeof(err)), STORE_OK,
	          "by requester + priority");
	CHECK_INT(n, 1, "one");
	if (n == 1)
		CHECK_STR(v[0].id, r2.ticket_id, "the normal one");
	store_ticket_list_free(&v, n);
	memset(&f, 0, sizeof(f));
	f.order_no = "777777";
	CHECK_INT(store_ticket_list(st, &f, &v, &n, err, sizeof(err)), STORE_OK,
	          "by order");
	CHECK_INT(n, 1, "one with the order");
	store_ticket_list_free(&v, n);
	memset(&f, 0, sizeof(f));
	f.since = T0 + 60;
	f.limit = 1;
	CHECK_INT(store_ticket_list(st, &f, &v, &n, err, sizeof(err)), STORE_OK,
	          "since + limit");
	CHECK_INT(n, 1, "limited");
	store_ticket_list_free(&v, n);
	memset(&f, 0, sizeof(f));
	f.status = "bogus";
	CHECK_INT(store_ticket_list(st, &f, &v, &n, err, sizeof(err)),
	          STORE_INVALID, "bad status filter");
	/* Overdue: urgent after 10 min (r1); normal after 30 (r2); the
	   pending complaint is not "new" so never overdue. */
	fake_now = T0 + 11 * 60;
	memset(&f, 0, sizeof(f));
	f.is_overdue = true;
	CHECK_INT(store_ticket_list(st, &f, &v, &n, err, sizeof(err)), STORE_OK,
	          "overdue");
	CHECK_INT(n, 1, "one overdue");
	if (n == 1) {
		CHECK_STR(v[0].id, r1.ticket_id, "the urgent one");
		CHECK(v[0].is_overdue, "flag");
	}
	store_ticket_list_free(&v, n);
	CHECK_INT(store_overdue_unlogged(st, 0, &v, &n, err, sizeof(err)),
	          STORE_OK, "overdue unlogged");
	CHECK_INT(n, 1, "reported once");
	store_ticket_list_free(&v, n);
	CHECK_INT(store_overdue_unlogged(st, 0, &v, &n, err, sizeof(err)),
	          STORE_OK, "again");
	CHECK_INT(n, 0, "not twice");
	store_ticket_list_free(&v, n);
	CHECK_INT(
	    store_overdue_unlogged(st, T0 + 3600, &v, &n, err, sizeof(err)),
	    STORE_OK, "later");
	CHECK_INT(n, 1, "the normal one now");
	store_ticket_list_free(&v, n);
	CHECK_INT(store_stats(st, &s, err, sizeof(err)), STORE_OK, "stats");
	CHECK_INT(s.tickets, 3, "tickets");
	CHECK_INT(s.by_status[0], 2, "new");
	CHECK_INT(s.by_status[2], 1, "pending");
	CHECK_INT(s.by_priority[0], 1, "urgent");
	CHECK_INT(s.by_priority[1], 1, "complaint");
	CHECK_INT(s.by_priority[2], 1, "normal");
	CHECK_INT(s.n_categories, 2, "categories");
	if (s.n_categories == 2) {
		CHECK_STR(s.by_category[0].name, "payment", "top category");
		CHECK_INT(s.by_category[0].count, 2, "count");
	}
	CHECK_INT(s.outbox_queued, 3, "queued acks");
	store_stats_clear(&s);
	/* Mailbox position. */
	CHECK_INT(store_mailbox_get(st, "INBOX", &uv, &last, err, sizeof(err)),
	          STORE_NOT_FOUND, "no position yet");
	CHECK_INT(store_mailbox_set(st, "INBOX", 42, 100, err, sizeof(err)),
	          STORE_OK, "set");
	CHECK_INT(store_mailbox_get(st, "INBOX", &uv, &last, err, sizeof(err)),
	          STORE_OK, "get");
	CHECK_INT(uv, 42, "uidvalidity");
	CHECK_INT(last, 100, "last uid");
	m = msg("mbox", NULL, "a@x.cn", "x");
	m.mailbox = "INBOX";
	m.uidvalidity = 42;
	m.uid = 90;
	(void)FILE_OK(st, &m);
	CHECK_INT(store_mailbox_get(st, "INBOX", &uv, &last, err, sizeof(err)),
	          STORE_OK, "get");
	CHECK_INT(last, 100, "never goes back");
	/* How UIDs were filed (the leftover moves of ticketd). */
	m = msg("mbox quarantined", NULL, "a@x.cn", "x");
	m.mailbox = "INBOX";
	m.uidvalidity = 42;
	m.uid = 91;
	m.quarantine_reason = "test";
	(void)FILE_OK(st, &m);
	{
		static const uint32_t uids[] = {90, 91, 92};
		int oc[3] = {-1, -1, -1};

		CHECK_INT(store_uid_outcomes(st, "INBOX", 42, uids, 3, oc, err,
		                             sizeof(err)),
		          STORE_OK, "uid outcomes");
		CHECK_INT(oc[0], STORE_OUTCOME_NEW, "uid 90 a ticket");
		CHECK_INT(oc[1], STORE_OUTCOME_QUARANTINE,
		          "uid 91 quarantined");
		CHECK_INT(oc[2], STORE_OUTCOME_NONE, "uid 92 never filed");
		CHECK_INT(store_uid_outcomes(st, "INBOX", 43, uids, 1, oc, err,
		                             sizeof(err)),
		          STORE_OK, "other uidvalidity");
		CHECK_INT(oc[0], STORE_OUTCOME_NONE, "not this uidvalidity");
		CHECK_INT(store_uid_outcomes(st, "Other", 42, uids, 1, oc, err,
		                             sizeof(err)),
		          STORE_OK, "other mailbox");
		CHECK_INT(oc[0], STORE_OUTCOME_NONE, "not this mailbox");
	}
	{
		struct store_ticket *t = NULL;

		CHECK_INT(store_ticket_get(st, "CM-1", &t, err, sizeof(err)),
		          STORE_NOT_FOUND, "no ticket");
		CHECK(t == NULL, "nothing returned");
	}
	store_close(&st);
	rmtree(dir);
	free(dir);
}

/* test_purge - delete and anonymise; shared files kept. */
static void
test_purge(void)
{
	struct store_attachment_in shared[2], own[1];
	char *dir = new_dir();
	struct store *st;
	struct store_result a, b, c;
	struct store_purge_report rep;
	struct store_ticket *t = NULL;
	struct store_msg m;
	char pa[512], pb[512], pshared[512], pown[512], hex[65];
	char orphan[512];
	FILE *f;

	fake_now = T0;
	st = open_dir(dir);
	memset(shared, 0, sizeof(shared));
	shared[0].filename = "logo.png";
	shared[0].content_type = "image/png";
	shared[0].data = "SHARED-BYTES";
	shared[0].size = 12;
	shared[1].filename = "own.txt";
	shared[1].content_type = "text/plain";
	shared[1].data = "ONLY-IN-A";
	shared[1].size = 9;
	m = msg("purge a", "<pa@x>", "a@x.cn", "a");
	m.attachments = shared;
	m.n_attachments = 2;
	a = FILE_OK(st, &m);
	memcpy(own, shared, sizeof(own));
	m = msg("purge b", "<pb@x>", "b@x.cn", "b");
	m.attachments = own;
	m.n_attachments = 1;
	b = FILE_OK(st, &m);
	m = msg("purge c", "<pc@x>", "c@x.cn", "c");
	c = FILE_OK(st, &m);
	blob_file(dir, "raw", a.raw_sha256, pa, sizeof(pa));
	blob_file(dir, "raw", b.raw_sha256, pb, sizeof(pb));
	CHECK_INT(sha_file(pa, hex, NULL), 0, "raw a");
	/* Hashes of the attachments. */
	{
		struct store_ticket *ta = NULL;

		CHECK_INT(
		    store_ticket_get(st, a.ticket_id, &ta, err, sizeof(err)),
		    STORE_OK, "get a");
		if (ta != NULL && ta->messages[0].n_attachments == 2) {
			blob_file(dir, "attachments",
			          ta->messages[0].attachments[0].sha256,
			          pshared, sizeof(pshared));
			blob_file(dir, "attachments",
			          ta->messages[0].attachments[1].sha256, pown,
			          sizeof(pown));
		}
		store_ticket_free(&ta);
	}
	CHECK(exists(pshared) && exists(pown), "attachment files");
	/* An orphan a crash could leave, and a stale temp file. */
	blob_file(
	    dir, "raw",
	    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	    orphan, sizeof(orphan));
	{
		char d[512];

		(void)snprintf(d, sizeof(d), "%s/raw/ff", dir);
		(void)mkdir(d, 0700);
	}
	f = fopen(orphan, "w");
	if (f != NULL) {
		fputs("orphan", f);
		fclose(f);
	}
	CHECK_INT(store_ticket_set_status(st, a.ticket_id, "closed", err,
	                                  sizeof(err)),
	          STORE_OK, "close a");
	CHECK_INT(store_ticket_set_status(st, c.ticket_id, "closed", err,
	                                  sizeof(err)),
	          STORE_OK, "close c");
	/* Too early: nothing (except the orphan) goes. */
	fake_now = T0 + 10 * DAY;
	CHECK_INT(store_purge(st, 30, true, false, &rep, err, sizeof(err)),
	          STORE_OK, "dry run");
	CHECK_INT(rep.tickets, 0, "nothing old enough");
	CHECK_INT(rep.files, 1, "the orphan would go");
	CHECK(exists(orphan), "dry run removes nothing");
	fake_now = T0 + 40 * DAY;
	CHECK_INT(store_purge(st, 30, true, false, &rep, err, sizeof(err)),
	          STORE_OK, "dry run 2");
	CHECK_INT(rep.tickets, 2, "two would go");
	CHECK_INT(rep.messages, 2, "two messages");
	CHECK_INT(rep.files, 4, "raw a, raw c, own.txt, orphan");
	CHECK_INT(store_ticket_get(st, a.ticket_id, &t, err, sizeof(err)),
	          STORE_OK, "still there after dry run");
	store_ticket_free(&t);
	CHECK(exists(pa), "raw a still there");
	/* Anonymise c, then delete a. */
	{
		struct store_purge_report r2;

		CHECK_INT(store_ticket_set_status(st, a.ticket_id, "open", err,
		                                  sizeof(err)),
		          STORE_OK, "keep a for now");
		CHECK_INT(
		    store_purge(st, 30, false, true, &r2, err, sizeof(err)),
		    STORE_OK, "anonymise");
		CHECK_INT(r2.tickets, 1, "c anonymised");
		CHECK_INT(
		    store_ticket_get(st, c.ticket_id, &t, err, sizeof(err)),
		    STORE_OK, "c kept");
		if (t != NULL) {
			CHECK(t->t.requester == NULL, "no requester");
			CHECK(t->t.is_anonymised, "flag");
			CHECK_STR(t->t.summary, "(anonymised)", "summary");
			if (t->n_messages == 1) {
				CHECK(t->messages[0].text == NULL, "no text");
				CHECK(t->messages[0].from == NULL, "no from");
				CHECK_STR(t->messages[0].raw_sha256, "",
				          "no raw");
			}
		}
		store_ticket_free(&t);
		{
			char ack[64];

			ack_of(st, c.ticket_id, ack, sizeof(ack));
			CHECK_STR(ack, "failed", "queued ack dropped");
		}
		CHECK_INT(
		    store_purge(st, 30, false, true, &r2, err, sizeof(err)),
		    STORE_OK, "anonymise again");
		CHECK_INT(r2.tickets, 0, "not twice");
		/* A follow-up naming an anonymised ticket opens a new one. */
		m = msg("late reply", "<late@x>", "c@x.cn", "Re: c");
		m.ticket_ref = c.ticket_id;
		{
			struct store_result lr = FILE_OK(st, &m);

			CHECK_INT(lr.outcome, STORE_OUTCOME_NEW,
			          "anonymised ticket not continued");
		}
	}
	CHECK(!exists(orphan), "orphan swept");
	CHECK_INT(store_ticket_set_status(st, a.ticket_id, "closed", err,
	                                  sizeof(err)),
	          STORE_OK, "close a again");
	fake_now = T0 + 80 * DAY;
	CHECK_INT(store_purge(st, 30, false, false, &rep, err, sizeof(err)),
	          STORE_OK, "purge");
	CHECK_INT(rep.tickets, 2, "a and anonymised c deleted");
	CHECK_INT(rep.files, 2, "raw a and own.txt");
	CHECK_INT(store_ticket_get(st, a.ticket_id, &t, err, sizeof(err)),
	          STORE_NOT_FOUND, "a gone");
	CHECK(!exists(pa), "raw a removed");
	CHECK(!exists(pown), "own attachment removed");
	CHECK(exists(pshared), "shared attachment kept");
	CHECK(exists(pb), "raw b kept");
	CHECK_INT(store_ticket_get(st, b.ticket_id, &t, err, sizeof(err)),
	          STORE_OK, "b kept");
	store_ticket_free(&t);
	store_close(&st);
	rmtree(dir);
	free(dir);
}

/* test_settings - bad settings are refused with a reason. */
static void
test_settings(void)
{
	static const struct {
		const char *prefix;
		const char *tz;
		int want;
	} cases[] = {
	    {NULL, NULL, STORE_OK},
	    {"CM", "Asia/Shanghai", STORE_OK},
	    {"TK2", "UTC0", STORE_OK},
	    {"", "<+08>-8", STORE_OK},
	    {"C-M", NULL, STORE_INVALID},
	    {"ABCDEFGHIJKLMNOPQ", NULL, STORE_INVALID},
	    {NULL, "Mars/Olympus", STORE_INVALID},
	    {NULL, "../../etc/passwd", STORE_INVALID},
	    {NULL, "X", STORE_INVALID},
	};
	char *dir = new_dir();
	struct store_settings s;
	struct store *st = NULL;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = settings(dir);
		s.ticket_prefix = cases[i].prefix;
		s.timezone = cases[i].tz;
		err[0] = '\0';
		rc = store_open(&s, &st, err, sizeof(err));
		if (!CHECK_INT(rc, cases[i].want, "store_open settings"))
			fprintf(stderr, "  case %zu: %s\n", i, err);
		if (rc != STORE_OK)
			CHECK(err[0] != '\0', "reason given");
		store_close(&st);
	}
	memset(&s, 0, sizeof(s));
	CHECK_INT(store_open(&s, &st, err, sizeof(err)), STORE_INVALID,
	          "no state dir");
	s.state_dir = "/proc/version/x";
	CHECK(store_open(&s, &st, err, sizeof(err)) != STORE_OK,
	      "unusable state dir");
	CHECK(st == NULL, "no store");
	CHECK_STR(store_status_name(STORE_DUPLICATE), "duplicate", "name");
	rmtree(dir);
	free(dir);
}

/* corrupt_byte - overwrite the byte at offset 0 of path with 'X'. */
static int
corrupt_byte(const char *path)
{
	FILE *f = fopen(path, "r+b");
	int rc = 0;

	if (f == NULL)
		return -1;
	if (fputc('X', f) == EOF)
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

/* test_store_check - store_check: clean, damaged files, foreign keys, cap. */
static void
test_store_check(void)
{
	static const char hello_sha[] =
	    "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
	enum { N_MSGS = 25 };
	struct store_attachment_in att[1];
	char raws[N_MSGS][65];
	char *dir = new_dir();
	char path[2048], want[STORE_CHECK_LINE_MAX], body[32];
	struct store_check c;
	struct store_result r;
	struct store_msg m;
	struct store *st;
	sqlite3 *db = NULL;
	int i, removed = 0;

	fake_now = T0;
	st = open_dir(dir);
	memset(att, 0, sizeof(att));
	att[0].filename = "a.txt";
	att[0].content_type = "text/plain";
	att[0].data = "hello";
	att[0].size = 5;
	att[0].sha256 = hello_sha;
	for (i = 0; i < N_MSGS; i++) {
		(void)snprintf(body, sizeof(body), "check message %d", i);
		m = msg(body, NULL, "a@x.cn", "check");
		if (i == 0) {
			m.attachments = att;
			m.n_attachments = 1;
		}
		r = FILE_OK(st, &m);
		(void)snprintf(raws[i], sizeof(raws[i]), "%s", r.raw_sha256);
	}

	/* A fresh store is clean; the files are counted only when asked. */
	CHECK_INT(store_check(st, false, &c, err, sizeof(err)), STORE_OK,
	          "check runs");
	CHECK_INT(c.n_problems, 0, "clean database");
	CHECK_INT(c.files_checked, 0, "no files without is_files");
	store_check_clear(&c);
	CHECK_INT(store_check(st, true, &c, err, sizeof(err)), STORE_OK,
	          "check --files runs");
	CHECK_INT(c.n_problems, 0, "clean files");
	CHECK_INT(c.n_kept, 0, "no lines");
	CHECK_INT(c.files_checked, N_MSGS + 1, "raw files + the attachment");
	store_check_clear(&c);

	/* One raw file overwritten, the attachment file deleted. */
	blob_file(dir, "raw", raws[3], path, sizeof(path));
	CHECK_INT(corrupt_byte(path), 0, "corrupt a raw file");
	blob_file(dir, "attachments", hello_sha, path, sizeof(path));
	CHECK_INT(unlink(path), 0, "delete the attachment file");
	CHECK_INT(store_check(st, true, &c, err, sizeof(err)), STORE_OK,
	          "check of a damaged store runs");
	CHECK_INT(c.n_problems, 2, "exactly two problems");
	CHECK_INT(c.n_kept, 2, "both kept");
	CHECK_INT(c.files_checked, N_MSGS + 1, "every file examined");
	if (c.n_kept == 2) {
		(void)snprintf(want, sizeof(want),
		               "raw %s: content does not match its name",
		               raws[3]);
		CHECK_STR(c.problems[0], want, "raw mismatch line");
		(void)snprintf(want, sizeof(want), "attachment %s: missing",
		               hello_sha);
		CHECK_STR(c.problems[1], want, "attachment missing line");
	}
	store_check_clear(&c);
	CHECK_INT(c.n_kept, 0, "clear empties");
	CHECK_INT(store_check(st, false, &c, err, sizeof(err)), STORE_OK,
	          "database check alone");
	CHECK_INT(c.n_problems, 0, "the database itself is fine");
	store_check_clear(&c);

	/* More problems than lines kept: the count goes on. */
	for (i = 0; i < N_MSGS; i++) {
		blob_file(dir, "raw", raws[i], path, sizeof(path));
		if (unlink(path) == 0)
			removed++;
	}
	CHECK_INT(removed, N_MSGS, "every raw file deleted");
	CHECK_INT(store_check(st, true, &c, err, sizeof(err)), STORE_OK,
	          "check of a store without files runs");
	CHECK_INT(c.n_problems, N_MSGS + 1, "every file is a problem");
	CHECK_INT(c.n_kept, STORE_CHECK_MAX, "lines capped");
	store_check_clear(&c);

	/* A row naming a missing parent (written with foreign keys off). */
	(void)snprintf(path, sizeof(path), "%s/ticketd.db", dir);
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK, "open db");
	CHECK_INT(sqlite3_exec(db,
	                       "INSERT INTO attachments (message_row, idx,"
	                       " filename, content_type, size) VALUES"
	                       " (99999, 1, 'x', 'text/plain', 1)",
	                       NULL, NULL, NULL),
	          SQLITE_OK, "orphan attachment row");
	(void)sqlite3_close(db);
	CHECK_INT(store_check(st, false, &c, err, sizeof(err)), STORE_OK,
	          "check with an orphan runs");
	CHECK_INT(c.n_problems, 1, "one foreign key problem");
	if (c.n_kept == 1)
		CHECK(strncmp(c.problems[0], "foreign key: attachments row ",
		              29) == 0 &&
		          strstr(c.problems[0], "missing messages row") != NULL,
		      "foreign key line");
	store_check_clear(&c);

	/* Not inside a batch. */
	CHECK_INT(store_begin(st, err, sizeof(err)), STORE_OK, "begin");
	CHECK_INT(store_check(st, false, &c, err, sizeof(err)), STORE_INVALID,
	          "check inside a batch");
	CHECK_INT(c.n_kept, 0, "nothing kept on error");
	CHECK_INT(store_rollback(st, err, sizeof(err)), STORE_OK, "rollback");
	store_close(&st);
	rmtree(dir);
	free(dir);
}

/* main - run every test. */
int
main(void)
{
	test_new_ticket();
	test_followups();
	test_reopen();
	test_duplicates();
	test_ids();
	test_rate_limit();
	test_bounce();
	test_outbox();
	test_attachments();
	test_quarantine();
	test_batch();
	test_prepared();
	test_migration();
	test_queries();
	test_purge();
	test_settings();
	test_store_check();
	return test_done();
}

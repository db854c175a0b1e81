/* SPDX-License-Identifier: MIT */
/*
 * test_config.c - the config reader: defaults, every value type, errors
 * as FILE:LINE (all of them reported), named sections, secrets; plus the
 * JSON writer's escaping and log_quote.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/config.h"
#include "daemon/json.h"
#include "daemon/log.h"
#include "tests/harness.h"

static char dir[] = "/tmp/ticketd-test-config-XXXXXX";

/* write_file - create dir/name with text and mode */
static const char *
write_file(const char *name, const char *text, mode_t mode)
{
	static char path[512];
	FILE *f;

	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f == NULL)
		return path;
	fputs(text, f);
	fclose(f);
	(void)chmod(path, mode);
	return path;
}

/* load - load text, capture errors into errbuf */
static int
load(const char *text, struct config **c, char *errbuf, size_t n)
{
	const char *path = write_file("t.conf", text, 0600);
	FILE *errs = fmemopen(errbuf, n, "w");
	int rc;

	memset(errbuf, 0, n);
	rc = config_load(path, c, errs);
	fclose(errs);
	return rc;
}

static void
test_defaults_and_values(void)
{
	struct config *c = NULL;
	char errs[2048];

	if (!CHECK_INT(load("", &c, errs, sizeof(errs)), 0, "empty file ok"))
		return;
	CHECK_INT(c->imap_poll_interval, 60, "poll default");
	CHECK(c->imap_idle, "idle default yes");
	CHECK_INT(c->attachment_max, 10 * 1024 * 1024, "10M default");
	CHECK_STR(c->ticket_prefix, "CM", "prefix default");
	CHECK_INT(c->max_acks_per_sender, 5, "acks default");
	config_free(&c);
	CHECK(c == NULL, "free sets NULL");

	if (!CHECK_INT(load("# comment\n[imap]\nhost = imap.example.com\n"
	                    "port = 993\ntls = starttls   # inline comment\n"
	                    "idle = no\n[limits]\nattachment_max = 2K\n"
	                    "[ticket]\nprefix = TK\norder_merge_days = 0\n"
	                    "[pattern \"refund\"]\nregex = ^退票 "
	                    "#x(?<order_no>[0-9]+)\n"
	                    "[category \"vip\"]\nkeywords = VIP, 贵宾\n",
	                    &c, errs, sizeof(errs)),
	               0, "full file ok"))
		return;
	CHECK_STR(c->imap_host, "imap.example.com", "host");
	CHECK_INT(c->imap_tls, CONFIG_TLS_STARTTLS, "tls");
	CHECK(!c->imap_idle, "idle no");
	CHECK_INT(c->attachment_max, 2048, "size suffix");
	CHECK_STR(c->ticket_prefix, "TK", "prefix");
	CHECK_INT(c->order_merge_days, 0, "merge days 0");
	if (CHECK_INT(c->n_patterns, 1, "one pattern")) {
		CHECK_STR(c->patterns[0].name, "refund", "pattern name");
		CHECK_STR(c->patterns[0].value, "^退票 #x(?<order_no>[0-9]+)",
		          "regex keeps '#'");
	}
	if (CHECK_INT(c->n_categories, 1, "one category"))
		CHECK_STR(c->categories[0].value, "VIP, 贵宾", "keywords");
	config_free(&c);
}

static void
test_errors(void)
{
	struct config *c = NULL;
	char errs[4096];
	int rc;

	rc = load("[imap]\nhots = x\nport = 70000\n[nosuch]\nk = v\n"
	          "[limits]\nmessage_max = 12Q\n[ack]\nenabled = maybe\n"
	          "stray line\n",
	          &c, errs, sizeof(errs));
	CHECK_INT(rc, -1, "bad file refused");
	CHECK(c == NULL, "no config on error");
	CHECK(strstr(errs, "t.conf:2: unknown key: hots") != NULL,
	      "unknown key with file:line");
	CHECK(strstr(errs, "t.conf:3: out of range: port") != NULL, "range");
	CHECK(strstr(errs, "t.conf:4: unknown section: nosuch") != NULL,
	      "unknown section");
	CHECK(strstr(errs, ":7: not a size") != NULL, "bad size");
	CHECK(strstr(errs, ":9: not yes or no") != NULL, "bad bool");
	CHECK(strstr(errs, ":10: expected key = value") != NULL, "stray line");
	CHECK(strstr(errs, ":5:") == NULL, "keys of a bad section not "
	                                   "reported twice");

	rc = load("[ticket]\nprefix = C-M\n[store]\nstate_dir = relative\n", &c,
	          errs, sizeof(errs));
	CHECK_INT(rc, -1, "bad prefix and relative dir");
	CHECK(strstr(errs, "prefix") != NULL && strstr(errs, "absolute"),
	      "both reported");

	rc = load("[limits]\nattachment_max = 99999999999999999999G\n", &c,
	          errs, sizeof(errs));
	CHECK_INT(rc, -1, "size overflow refused");
	rc = load("[pattern \"empty\"]\n", &c, errs, sizeof(errs));
	CHECK_INT(rc, -1, "pattern without regex refused");
	{
		char longline[CONFIG_LINE_MAX + 100];

		memset(longline, 'a', sizeof(longline) - 2);
		longline[sizeof(longline) - 2] = '\n';
		longline[sizeof(longline) - 1] = '\0';
		rc = load(longline, &c, errs, sizeof(errs));
		CHECK_INT(rc, -1, "over-long line refused");
		CHECK(strstr(errs, ":1: line too long") != NULL,
		      "long line reported");
	}
}

static void
test_secrets(void)
{
	struct config *c = NULL;
	char errs[1024], err[256];
	char *pw;
	char pwpath[512];
	char text[1024];

	(void)snprintf(pwpath, sizeof(pwpath), "%s",
	               write_file("imap.pass", "s3cret\n", 0600));
	(void)snprintf(text, sizeof(text), "[imap]\npassword_file = %s\n",
	               pwpath);
	if (!CHECK_INT(load(text, &c, errs, sizeof(errs)), 0, "pw config"))
		return;
	pw = config_read_secret(c, "imap", err, sizeof(err));
	CHECK_STR(pw, "s3cret", "password read, newline stripped");
	free(pw);
	(void)chmod(pwpath, 0644);
	pw = config_read_secret(c, "imap", err, sizeof(err));
	CHECK(pw == NULL, "world-readable password file refused");
	CHECK(strstr(err, "s3cret") == NULL, "error never shows the secret");
	config_free(&c);

	write_file("cred-imap", "fromcred", 0400);
	setenv("CREDENTIALS_DIRECTORY", dir, 1);
	if (!CHECK_INT(load("[imap]\ncredential = cred-imap\n", &c, errs,
	                    sizeof(errs)),
	               0, "credential config"))
		return;
	pw = config_read_secret(c, "imap", err, sizeof(err));
	CHECK_STR(pw, "fromcred", "credential read");
	free(pw);
	pw = config_read_secret(c, "smtp", err, sizeof(err));
	CHECK(pw == NULL && err[0] == '\0', "none configured");
	config_free(&c);
}

static void
test_json_and_quote(void)
{
	char out[512], q[64];
	struct json j;
	FILE *f = fmemopen(out, sizeof(out), "w");

	json_init(&j, f);
	json_begin_object(&j);
	json_kv_string(&j, "s", "a\"b\\c\r\n\x01\xe2\x80\xa8 中");
	json_kv_string(&j, "n", NULL);
	json_key(&j, "a");
	json_begin_array(&j);
	json_int(&j, 1);
	json_bool(&j, false);
	json_end_array(&j);
	json_end_object(&j);
	fclose(f);
	CHECK_STR(out,
	          "{\"s\":\"a\\\"b\\\\c\\r\\n\\u0001\\u2028 中\",\"n\":null,"
	          "\"a\":[1,false]}\n",
	          "json escaping");

	CHECK_STR(log_quote("plain", q, sizeof(q)), "plain", "quote plain");
	CHECK_STR(log_quote("a b", q, sizeof(q)), "\"a b\"", "quote blank");
	CHECK_STR(log_quote("x\r\nBcc: y", q, sizeof(q)),
	          "\"x\\x0d\\x0aBcc: y\"", "controls escaped");
	CHECK_STR(log_quote("", q, sizeof(q)), "\"\"", "empty quoted");
	CHECK(strlen(log_quote("01234567890123456789012345678901234567890123456"
	                       "78901234567890123456789",
	                       q, sizeof(q))) < sizeof(q),
	      "capped");
}

int
main(void)
{
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_defaults_and_values();
	test_errors();
	test_secrets();
	test_json_and_quote();
	{
		char cmd[600];

		(void)snprintf(cmd, sizeof(cmd), "%s", dir);
		(void)unlink(write_file("t.conf", "", 0600));
		(void)unlink(write_file("imap.pass", "", 0600));
		(void)unlink(write_file("cred-imap", "", 0600));
		(void)rmdir(cmd);
	}
	return test_done();
}

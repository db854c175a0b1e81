/* SPDX-License-Identifier: MIT */
/*
 * smtp_check.c - driver of tests/integration/test_smtp.sh: renders acks
 * with ack_render and sends them with smtp_send over ONE sender (so the
 * connection can be reused), following a list of steps given on the command
 * line; "run:CMD" steps let the script flip the server between sends.
 * Prints one key=value line per send for the script to check.  The
 * password is read from a file, never taken from argv.
 *
 *   smtp_check --url U --to ADDR [--ca F] [--user U --password-file F]
 *              [--tls-required] [--timeout S] STEP...
 *     STEP: send | run:SHELL-COMMAND
 *   smtp_check tls-modes URL=MODE...   check smtp_tls_mode/smtp_new
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "daemon/ack.h"
#include "daemon/smtp.h"

struct opts {
	const char *url, *to, *ca, *user, *password_file;
	long timeout;
	bool is_tls_required;
	int first_step;
};

/* usage - print the synopsis and exit 2 */
static _Noreturn void
usage(void)
{
	fprintf(stderr, "usage: smtp_check --url U --to ADDR [--ca F] "
	                "[--user U --password-file F] [--tls-required] "
	                "[--timeout S] send|run:CMD...\n"
	                "       smtp_check tls-modes URL=MODE...\n");
	exit(2);
}

/* read_password - first line of path into a malloc'd string */
static char *
read_password(const char *path)
{
	char line[512];
	FILE *fp = fopen(path, "r");
	size_t n;

	if (fp == NULL)
		return NULL;
	if (fgets(line, sizeof(line), fp) == NULL)
		line[0] = '\0';
	(void)fclose(fp);
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	return strdup(line);
}

/* run_cmd - run "/bin/sh -c cmd" and wait; its exit status or -1 */
static int
run_cmd(const char *cmd)
{
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* now_ms - monotonic milliseconds */
static long long
now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* send_one - render ack number n and send it; print the result line */
static int
send_one(struct smtp *smtp, const struct opts *o, int n)
{
	static const char *const orders[] = {"884213"};
	static const char *const atts[] = {"截图.png"};
	static const char *const refs[] = {"<thread-start@example.cn>"};
	struct ack_fields f;
	struct smtp_result r;
	struct buf out;
	char id[32], msgid[ACK_MSGID_BUF], err[256];
	long long t0;
	int rc;

	if (ack_new_message_id("example.com", msgid, sizeof(msgid)) != 0) {
		fprintf(stderr, "smtp_check: ack_new_message_id failed\n");
		return -1;
	}
	(void)snprintf(id, sizeof(id), "CM-20231105-%03d", n);
	memset(&f, 0, sizeof(f));
	f.ticket_id = id;
	f.to = o->to;
	f.from = "樱花影院客服 <support@example.com>";
	f.summary = "角色数据丢失需恢复";
	f.category = "data_loss";
	f.priority = "urgent";
	f.due_at = "2023-11-05T16:33:00+08:00";
	f.order_numbers = orders;
	f.n_order_numbers = 1;
	f.attachments = atts;
	f.n_attachments = 1;
	f.orig_message_id = "<orig-question@example.cn>";
	f.orig_references = refs;
	f.n_orig_references = 1;
	f.show_formats = n % 2 == 0;
	f.message_id = msgid;
	f.date = time(NULL);
	buf_init(&out, 1 << 20);
	rc = ack_render(&f, NULL, &out, err, sizeof(err));
	if (rc != ACK_OK) {
		fprintf(stderr, "smtp_check: ack_render: %s\n", err);
		buf_free(&out);
		return -1;
	}
	t0 = now_ms();
	(void)smtp_send(smtp, o->to, out.data, out.len, &r);
	printf("send=%d ticket=%s status=%s code=%ld curl=%d "
	       "new_connections=%ld ms=%lld message_id=%s error=%s\n",
	       n, id, smtp_status_name(r.status), r.code, r.curl_code,
	       r.new_connections, now_ms() - t0, msgid,
	       r.error[0] != '\0' ? r.error : "-");
	fflush(stdout);
	buf_free(&out);
	return 0;
}

/* tls_modes - check smtp_tls_mode and smtp_new on URL=MODE arguments */
static int
tls_modes(int argc, char **argv)
{
	static const char *const names[] = {"implicit", "starttls", "none"};
	struct smtp_settings s;
	struct smtp *smtp = NULL;
	char url[512], err[256];
	const char *want, *got;
	int i, mode, rc, bad = 0;

	for (i = 0; i < argc; i++) {
		want = strrchr(argv[i], '=');
		if (want == NULL || (size_t)(want - argv[i]) >= sizeof(url))
			usage();
		(void)snprintf(url, sizeof(url), "%.*s", (int)(want - argv[i]),
		               argv[i]);
		want++;
		mode = smtp_tls_mode(url);
		got = mode >= 0 && mode <= 2 ? names[mode] : "bad_config";
		memset(&s, 0, sizeof(s));
		s.url = url;
		s.from_addr = "support@example.com";
		err[0] = '\0';
		rc = smtp_new(&s, &smtp, err, sizeof(err));
		smtp_free(&smtp);
		/* smtp_new must agree with smtp_tls_mode */
		if ((rc == SMTP_OK) != (mode >= 0))
			got = "smtp_new-disagrees";
		if (strcmp(got, want) == 0) {
			printf("ok - tls mode %s = %s\n", url, want);
		} else {
			printf("FAIL - tls mode %s: got %s, want %s (%s)\n",
			       url, got, want, err);
			bad++;
		}
	}
	/* a bad From address is refused */
	memset(&s, 0, sizeof(s));
	s.url = "smtp://127.0.0.1:25";
	s.from_addr = "Support <support@example.com>";
	rc = smtp_new(&s, &smtp, err, sizeof(err));
	smtp_free(&smtp);
	if (rc == SMTP_BAD_CONFIG) {
		printf("ok - bad from_addr refused\n");
	} else {
		printf("FAIL - bad from_addr: got %s\n", smtp_status_name(rc));
		bad++;
	}
	return bad == 0 ? 0 : 1;
}

/* parse_opts - the options before the steps */
static void
parse_opts(int argc, char **argv, struct opts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--tls-required") == 0) {
			o->is_tls_required = true;
			continue;
		}
		if (strncmp(a, "--", 2) != 0)
			break;
		if (i + 1 >= argc)
			usage();
		if (strcmp(a, "--url") == 0)
			o->url = argv[++i];
		else if (strcmp(a, "--to") == 0)
			o->to = argv[++i];
		else if (strcmp(a, "--ca") == 0)
			o->ca = argv[++i];
		else if (strcmp(a, "--user") == 0)
			o->user = argv[++i];
		else if (strcmp(a, "--password-file") == 0)
			o->password_file = argv[++i];
		else if (strcmp(a, "--timeout") == 0)
			o->timeout = strtol(argv[++i], NULL, 10);
		else
			usage();
	}
	if (o->url == NULL || o->to == NULL || i >= argc)
		usage();
	o->first_step = i;
}

/* main - tls-modes, or the steps over one sender */
int
main(int argc, char **argv)
{
	struct smtp_settings s;
	struct smtp *smtp = NULL;
	struct opts o;
	char *password = NULL, err[256];
	int i, n = 0, rc, status = 0;

	if (argc >= 2 && strcmp(argv[1], "tls-modes") == 0)
		return tls_modes(argc - 2, argv + 2);
	parse_opts(argc, argv, &o);
	if (o.password_file != NULL) {
		password = read_password(o.password_file);
		if (password == NULL) {
			fprintf(stderr, "smtp_check: cannot read %s\n",
			        o.password_file);
			return 1;
		}
	}
	memset(&s, 0, sizeof(s));
	s.url = o.url;
	s.user = o.user;
	s.password = password;
	s.ca_file = o.ca;
	s.timeout_s = o.timeout;
	s.from_addr = "support@example.com";
	s.is_tls_required = o.is_tls_required;
	rc = smtp_new(&s, &smtp, err, sizeof(err));
	if (password != NULL) {
		explicit_bzero(password, strlen(password));
		free(password);
	}
	if (rc != SMTP_OK) {
		fprintf(stderr, "smtp_check: smtp_new: %s: %s\n",
		        smtp_status_name(rc), err);
		return 1;
	}
	for (i = o.first_step; i < argc && status == 0; i++) {
		if (strcmp(argv[i], "send") == 0) {
			if (send_one(smtp, &o, ++n) != 0)
				status = 1;
		} else if (strncmp(argv[i], "run:", 4) == 0) {
			rc = run_cmd(argv[i] + 4);
			printf("run rc=%d\n", rc);
		} else {
			fprintf(stderr, "smtp_check: bad step %s\n", argv[i]);
			status = 2;
		}
	}
	smtp_free(&smtp);
	return status;
}

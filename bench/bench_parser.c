/* SPDX-License-Identifier: MIT */
/*
 * bench_parser.c - parser throughput on typical support mail.  Builds a
 * deterministic corpus in memory (1-3 KiB text bodies mixing Chinese and
 * English, subjects as GBK or UTF-8 encoded words or plain ASCII, 30% of
 * messages with one 20-200 KiB base64 attachment), then parses it over and
 * over on one core for a few seconds and prints messages/s, MB/s and the
 * mean time per message.  No assertions: `make bench` only prints figures.
 *
 * usage: bench_parser [SECONDS [MESSAGES]]   (defaults 3 and 2000)
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "parser/parser.h"

#define BENCH_SECONDS 3.0
#define BENCH_MESSAGES 2000
#define BENCH_MESSAGES_MAX 1000000

/* Subjects already in GBK (sent as =?GBK?B?...?=). */
static const char *const bench_gbk_subjects[] = {
    /* 【加急】【A123456】账号被盗 */
    "\xa1\xbe\xbc\xd3\xbc\xb1\xa1\xbf\xa1\xbe\x41\x31\x32\x33\x34\x35\x36"
    "\xa1\xbf\xd5\xcb\xba\xc5\xb1\xbb\xb5\xc1",
    /* 退票申请：订单号：SK-88123 */
    "\xcd\xcb\xc6\xb1\xc9\xea\xc7\xeb\xa3\xba\xb6\xa9\xb5\xa5\xba\xc5\xa3"
    "\xba\x53\x4b\x2d\x38\x38\x31\x32\x33",
    /* 关于[票务]的咨询/申诉(订单号/场次号:884213) */
    "\xb9\xd8\xd3\xda\x5b\xc6\xb1\xce\xf1\x5d\xb5\xc4\xd7\xc9\xd1\xaf\x2f"
    "\xc9\xea\xcb\xdf\x28\xb6\xa9\xb5\xa5\xba\xc5\x2f\xb3\xa1\xb4\xce\xba"
    "\xc5\x3a\x38\x38\x34\x32\x31\x33\x29",
    /* 回复：[CM-20231105-001] 补充截图 */
    "\xbb\xd8\xb8\xb4\xa3\xba\x5b\x43\x4d\x2d\x32\x30\x32\x33\x31\x31\x30"
    "\x35\x2d\x30\x30\x31\x5d\x20\xb2\xb9\xb3\xe4\xbd\xd8\xcd\xbc",
    /* 会员积分没有到账 */
    "\xbb\xe1\xd4\xb1\xbb\xfd\xb7\xd6\xc3\xbb\xd3\xd0\xb5\xbd\xd5\xcb",
};

/* Subjects in UTF-8 (sent as =?UTF-8?B?...?=). */
static const char *const bench_utf8_subjects[] = {
    "[紧急][A123456]角色数据丢失需恢复",
    "关于【会员积分】的申诉（订单号：A1B2C3）",
    "退票申请:订单号123456",
    "复议：[CM-20231104-017] 处理结果",
    "影厅座位问题 seat problem, hall 3",
};

/* Subjects in plain ASCII. */
static const char *const bench_ascii_subjects[] = {
    "Refund request: order no. 123456",
    "[urgent][user_42] complaint about the screening",
    "Re: [CM-20231105-001] more screenshots",
    "Question about my membership points",
};

/* Body sentences in UTF-8. */
static const char *const bench_utf8_lines[] = {
    "您好，我在贵影院购买的电影票需要退票，订单号：123456。",
    "Hello, I was charged twice for order no. 778899, please refund.",
    "会员积分没有到账，请尽快处理，谢谢！",
    "The seat I booked (row 7, seat 8) was taken when I arrived.",
    "账号被盗了，登录不上，用户ID A123456。",
    "附件是截图，场次号：884213，影厅 5 号。",
    "Thanks for your help, looking forward to your reply.",
};

/* Body sentences in GBK. */
static const char *const bench_gbk_lines[] = {
    /* 您好，我在贵影院购买的电影票需要退票，订单号：123456。 */
    "\xc4\xfa\xba\xc3\xa3\xac\xce\xd2\xd4\xda\xb9\xf3\xd3\xb0\xd4\xba\xb9"
    "\xba\xc2\xf2\xb5\xc4\xb5\xe7\xd3\xb0\xc6\xb1\xd0\xe8\xd2\xaa\xcd\xcb"
    "\xc6\xb1\xa3\xac\xb6\xa9\xb5\xa5\xba\xc5\xa3\xba\x31\x32\x33\x34\x35"
    "\x36\xa1\xa3",
    /* 会员积分没有到账，请尽快处理，谢谢！ */
    "\xbb\xe1\xd4\xb1\xbb\xfd\xb7\xd6\xc3\xbb\xd3\xd0\xb5\xbd\xd5\xcb\xa3"
    "\xac\xc7\xeb\xbe\xa1\xbf\xec\xb4\xa6\xc0\xed\xa3\xac\xd0\xbb\xd0\xbb"
    "\xa3\xa1",
    /* 账号被盗了，登录不上，用户ID A123456。 */
    "\xd5\xcb\xba\xc5\xb1\xbb\xb5\xc1\xc1\xcb\xa3\xac\xb5\xc7\xc2\xbc\xb2"
    "\xbb\xc9\xcf\xa3\xac\xd3\xc3\xbb\xa7\x49\x44\x20\x41\x31\x32\x33\x34"
    "\x35\x36\xa1\xa3",
    "Order no. 123456, screening 884213.",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char bench_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* bench_rand - xorshift64*: deterministic, good enough for test data. */
static uint64_t
bench_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

/* bench_range - uniform-ish integer in [lo, hi]. */
static size_t
bench_range(uint64_t *s, size_t lo, size_t hi)
{
	return lo + (size_t)(bench_rand(s) % (hi - lo + 1));
}

/* bench_base64 - append len bytes as base64, in 76-column CRLF lines
   when is_lines, else as one run (for an encoded word). */
static int
bench_base64(struct buf *out, const unsigned char *p, size_t len, bool is_lines)
{
	char line[80];
	size_t i, n = 0;
	uint32_t v;

	for (i = 0; i < len; i += 3) {
		v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		line[n++] = bench_b64[(v >> 18) & 63];
		line[n++] = bench_b64[(v >> 12) & 63];
		line[n++] = i + 1 < len ? bench_b64[(v >> 6) & 63] : '=';
		line[n++] = i + 2 < len ? bench_b64[v & 63] : '=';
		if (n == 76 || i + 3 >= len) {
			if (is_lines) {
				line[n++] = '\r';
				line[n++] = '\n';
			}
			if (buf_append(out, line, n) != 0)
				return -1;
			n = 0;
		}
	}
	return 0;
}

/* bench_subject - append a Subject header in one of the three forms. */
static int
bench_subject(struct buf *out, uint64_t *s)
{
	const char *subj;
	size_t k = bench_range(s, 0, 9);

	if (buf_append_str(out, "Subject: ") != 0)
		return -1;
	if (k < 4) {
		subj = bench_gbk_subjects[bench_range(
		    s, 0, NELEM(bench_gbk_subjects) - 1)];
		if (buf_append_str(out, "=?GBK?B?") != 0)
			return -1;
	} else if (k < 8) {
		subj = bench_utf8_subjects[bench_range(
		    s, 0, NELEM(bench_utf8_subjects) - 1)];
		if (buf_append_str(out, "=?UTF-8?B?") != 0)
			return -1;
	} else {
		subj = bench_ascii_subjects[bench_range(
		    s, 0, NELEM(bench_ascii_subjects) - 1)];
		return buf_printf(out, "%s\r\n", subj);
	}
	if (bench_base64(out, (const unsigned char *)subj, strlen(subj),
	                 false) != 0)
		return -1;
	return buf_append_str(out, "?=\r\n");
}

/* bench_body - append 1-3 KiB of text lines from one sentence table. */
static int
bench_body(struct buf *out, uint64_t *s, bool is_gbk)
{
	size_t target = bench_range(s, 1024, 3072), start = out->len;
	const char *line;

	while (out->len - start < target) {
		if (is_gbk)
			line = bench_gbk_lines[bench_range(
			    s, 0, NELEM(bench_gbk_lines) - 1)];
		else
			line = bench_utf8_lines[bench_range(
			    s, 0, NELEM(bench_utf8_lines) - 1)];
		if (buf_printf(out, "%s\r\n", line) != 0)
			return -1;
	}
	return 0;
}

/* bench_message - append message number i to out. */
static int
bench_message(struct buf *out, uint64_t *s, size_t i)
{
	bool is_gbk = bench_range(s, 0, 2) == 0;
	bool has_att = bench_range(s, 0, 9) < 3;
	const char *cs = is_gbk ? "gbk" : "utf-8";
	unsigned char *data;
	size_t n, k;
	int rc;

	if (buf_printf(
	        out,
	        "Return-Path: <user%zu@example.cn>\r\n"
	        "Received: from mx.example.cn (mx.example.cn [192.0.2.1])\r\n"
	        "\tby mail.example.com with ESMTPS id %zu\r\n"
	        "\tfor <support@example.com>; Sun, 5 Nov 2023 16:23:00 "
	        "+0800\r\n"
	        "From: =?UTF-8?B?5byg5LiJ?= <user%zu@example.cn>\r\n"
	        "To: support@example.com\r\n"
	        "Date: Sun, 05 Nov 2023 16:23:00 +0800\r\n"
	        "Message-ID: <bench.%zu@example.cn>\r\n"
	        "MIME-Version: 1.0\r\n",
	        i % 97, i, i % 97, i) != 0)
		return -1;
	if (bench_subject(out, s) != 0)
		return -1;
	if (!has_att) {
		if (buf_printf(out,
		               "Content-Type: text/plain; charset=%s\r\n"
		               "Content-Transfer-Encoding: 8bit\r\n\r\n",
		               cs) != 0)
			return -1;
		return bench_body(out, s, is_gbk);
	}
	if (buf_printf(
	        out,
	        "Content-Type: multipart/mixed; boundary=\"=_b%zu\"\r\n\r\n"
	        "--=_b%zu\r\n"
	        "Content-Type: text/plain; charset=%s\r\n"
	        "Content-Transfer-Encoding: 8bit\r\n\r\n",
	        i, i, cs) != 0)
		return -1;
	if (bench_body(out, s, is_gbk) != 0)
		return -1;
	n = bench_range(s, 20 * 1024, 200 * 1024);
	data = malloc(n);
	if (data == NULL)
		return -1;
	for (k = 0; k < n; k++)
		data[k] = (unsigned char)bench_rand(s);
	rc = buf_printf(
	         out,
	         "--=_b%zu\r\n"
	         "Content-Type: image/png; name=\"screenshot-%zu.png\"\r\n"
	         "Content-Disposition: attachment;\r\n"
	         " filename*=UTF-8''%%E6%%88%%AA%%E5%%9B%%BE-%zu.png\r\n"
	         "Content-Transfer-Encoding: base64\r\n\r\n",
	         i, i, i) != 0 ||
	     bench_base64(out, data, n, true) != 0 ||
	     buf_printf(out, "--=_b%zu--\r\n", i) != 0;
	free(data);
	return rc != 0 ? -1 : 0;
}

/* bench_now - monotonic seconds. */
static double
bench_now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* bench_arg - parse a positive number argument; -1 when invalid. */
static double
bench_arg(const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v > 0))
		return -1;
	return v;
}

/* main - build the corpus, parse it for a while, print the figures. */
int
main(int argc, char **argv)
{
	struct buf *msgs = NULL;
	struct parser *p = NULL;
	struct parser_settings settings;
	struct parser_msg *m;
	double seconds = BENCH_SECONDS, n_arg, t0, t, dt;
	size_t count = BENCH_MESSAGES, i, total = 0, n_att = 0, n_fail = 0;
	unsigned long long parsed = 0, bytes = 0;
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	char err[256];
	int rc, status = 1;

	if (argc > 3 || (argc > 1 && (seconds = bench_arg(argv[1])) < 0)) {
		fprintf(stderr, "usage: %s [SECONDS [MESSAGES]]\n", argv[0]);
		return 2;
	}
	if (argc > 2) {
		n_arg = bench_arg(argv[2]);
		if (n_arg < 1 || n_arg > BENCH_MESSAGES_MAX) {
			fprintf(stderr, "bench_parser: bad message count\n");
			return 2;
		}
		count = (size_t)n_arg;
	}
	msgs = calloc(count, sizeof(*msgs));
	if (msgs == NULL) {
		fprintf(stderr, "bench_parser: out of memory\n");
		return 1;
	}
	for (i = 0; i < count; i++) {
		buf_init(&msgs[i], 0);
		if (bench_message(&msgs[i], &seed, i) != 0) {
			fprintf(stderr, "bench_parser: out of memory\n");
			goto out;
		}
		total += msgs[i].len;
	}
	memset(&settings, 0, sizeof(settings));
	if (parser_new(&settings, &p, err, sizeof(err)) != PARSER_OK) {
		fprintf(stderr, "bench_parser: parser_new: %s\n", err);
		goto out;
	}

	/* Whole passes would overshoot on a slow machine: check the clock
	   every 64 messages and stop mid-pass once the time is up. */
	t0 = bench_now();
	t = t0;
	for (i = 0;; i = (i + 1) % count) {
		m = NULL;
		rc = parser_parse(p, msgs[i].data, msgs[i].len, &m, err,
		                  sizeof(err));
		if (rc == PARSER_OK || rc == PARSER_TRUNCATED)
			n_att += m->n_attachments;
		else
			n_fail++;
		parser_msg_free(&m);
		bytes += msgs[i].len;
		parsed++;
		if (parsed % 64 == 0) {
			t = bench_now();
			if (t - t0 >= seconds)
				break;
		}
	}
	dt = t - t0;
	if (dt <= 0)
		dt = 1e-9;

	printf("parser: %zu msgs, %.1f MB, %.0f msgs/s, %.1f MB/s, "
	       "%.1f us/msg (%llu parses in %.2f s)\n",
	       count, (double)total / 1e6, (double)parsed / dt,
	       (double)bytes / 1e6 / dt, dt * 1e6 / (double)parsed, parsed, dt);
	if (n_fail > 0)
		printf("parser: %zu parses failed (not OK/TRUNCATED)\n",
		       n_fail);
	if (n_att == 0)
		printf("parser: no attachments found (unexpected)\n");
	status = 0;
out:
	parser_free(&p);
	for (i = 0; msgs != NULL && i < count; i++)
		buf_free(&msgs[i]);
	free(msgs);
	return status;
}

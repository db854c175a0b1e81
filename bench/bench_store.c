/* SPDX-License-Identifier: MIT */
/*
 * bench_store.c - store throughput: N synthetic text messages (1-3 KiB)
 * filed into a fresh store in /tmp with one transaction per message, then
 * one transaction per batch of 100, then with attachments (20-200 KiB on
 * 30% of them); and, as the baseline, the same bytes written and fsynced
 * as plain files (fsync each, or one syncfs per 100 to show what a
 * write-all-then-sync batch could gain).  Prints messages/s and MB/s.
 * Usage: bench_store [N] (default 1000).
 */
#define _GNU_SOURCE /* nftw, syncfs */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"

#define ATT_MIN (20 * 1024)
#define ATT_MAX (200 * 1024)
#define BATCH 100

/* One synthetic message. */
struct synth {
	char *raw;
	size_t raw_len;
	char msgid[64];
	char from[64];
	unsigned char *att; /* NULL: none */
	size_t att_len;
};

/* rm_entry - nftw callback removing one entry. */
static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(path);
}

/* now_s - monotonic seconds. */
static double
now_s(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* rnd - xorshift, deterministic. */
static unsigned long
rnd(unsigned long *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* make_msgs - n messages; attachments on 30% when with_att. */
static struct synth *
make_msgs(size_t n, bool with_att, unsigned long seed)
{
	struct synth *v;
	size_t i, k, len;
	int off;

	v = calloc(n, sizeof(*v));
	if (v == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		len = 1024 + rnd(&seed) % 2048;
		v[i].raw = malloc(len + 1);
		if (v[i].raw == NULL)
			exit(1);
		(void)snprintf(v[i].msgid, sizeof(v[i].msgid),
		               "<bench-%lu-%zu@example.cn>", seed, i);
		(void)snprintf(v[i].from, sizeof(v[i].from),
		               "user%zu@example.cn", i % 50);
		off = snprintf(
		    v[i].raw, len + 1,
		    "Message-ID: %s\r\nFrom: %s\r\nSubject: bench %zu\r\n\r\n",
		    v[i].msgid, v[i].from, i);
		for (k = (size_t)off; k < len; k++)
			v[i].raw[k] = (char)('a' + rnd(&seed) % 26);
		v[i].raw[len] = '\0';
		v[i].raw_len = len;
		if (with_att && rnd(&seed) % 10 < 3) {
			v[i].att_len =
			    ATT_MIN + rnd(&seed) % (ATT_MAX - ATT_MIN);
			v[i].att = malloc(v[i].att_len);
			if (v[i].att == NULL)
				exit(1);
			for (k = 0; k < v[i].att_len; k++)
				v[i].att[k] = (unsigned char)rnd(&seed);
		}
	}
	return v;
}

/* free_msgs - release the messages. */
static void
free_msgs(struct synth *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].raw);
		free(v[i].att);
	}
	free(v);
}

/* total_bytes - raw plus attachment bytes. */
static double
total_bytes(const struct synth *v, size_t n)
{
	double b = 0;
	size_t i;

	for (i = 0; i < n; i++)
		b += (double)(v[i].raw_len + v[i].att_len);
	return b;
}

/* report - one line of figures. */
static void
report(const char *what, size_t n, double bytes, double secs)
{
	printf("%-34s %6zu msgs %8.1f MB %7.2f s %9.1f msgs/s %7.2f MB/s\n",
	       what, n, bytes / 1e6, secs, (double)n / secs,
	       bytes / 1e6 / secs);
}

/* run_store - file every message; batch 0 = one transaction each. */
static int
run_store(const char *what, struct synth *v, size_t n, size_t batch)
{
	char tmpl[] = "/tmp/bench-store-XXXXXX";
	struct store_attachment_in a;
	struct store_settings s;
	struct store_result r;
	struct store_msg m;
	struct store *st = NULL;
	char err[256];
	double t0, t1;
	size_t i;
	int rc;

	if (mkdtemp(tmpl) == NULL)
		return -1;
	memset(&s, 0, sizeof(s));
	s.state_dir = tmpl;
	s.ack_domain = "example.com";
	rc = store_open(&s, &st, err, sizeof(err));
	if (rc != STORE_OK) {
		fprintf(stderr, "store_open: %s\n", err);
		return -1;
	}
	t0 = now_s();
	for (i = 0; i < n; i++) {
		if (batch > 0 && i % batch == 0 &&
		    store_begin(st, err, sizeof(err)) != STORE_OK)
			goto fail;
		memset(&m, 0, sizeof(m));
		m.raw = v[i].raw;
		m.raw_len = v[i].raw_len;
		m.mailbox = "INBOX";
		m.uidvalidity = 1;
		m.uid = (uint32_t)i + 1;
		m.message_id = v[i].msgid;
		m.from = v[i].from;
		m.requester = v[i].from;
		m.subject = "bench";
		m.text = v[i].raw;
		if (v[i].att != NULL) {
			memset(&a, 0, sizeof(a));
			a.filename = "photo.jpg";
			a.content_type = "image/jpeg";
			a.data = v[i].att;
			a.size = v[i].att_len;
			m.attachments = &a;
			m.n_attachments = 1;
		}
		rc = store_file(st, &m, &r, err, sizeof(err));
		if (rc != STORE_OK)
			goto fail;
		if (batch > 0 && (i % batch == batch - 1 || i == n - 1) &&
		    store_commit(st, err, sizeof(err)) != STORE_OK)
			goto fail;
	}
	t1 = now_s();
	report(what, n, total_bytes(v, n), t1 - t0);
	store_close(&st);
	(void)nftw(tmpl, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
fail:
	fprintf(stderr, "%s: message %zu: %s\n", what, i, err);
	store_close(&st);
	(void)nftw(tmpl, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return -1;
}

/* put_plain - write and fsync one file and its directory. */
static int
put_plain(const char *dir, const char *name, const void *p, size_t len)
{
	char path[512];
	int fd, dfd;

	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (write(fd, p, len) != (ssize_t)len || fsync(fd) != 0) {
		(void)close(fd);
		return -1;
	}
	if (close(fd) != 0)
		return -1;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	if (fsync(dfd) != 0) {
		(void)close(dfd);
		return -1;
	}
	return close(dfd);
}

/* run_plain - the baseline: the same bytes as fsynced plain files. */
static int
run_plain(const char *what, struct synth *v, size_t n)
{
	char tmpl[] = "/tmp/bench-plain-XXXXXX";
	char name[64];
	double t0, t1;
	size_t i;

	if (mkdtemp(tmpl) == NULL)
		return -1;
	t0 = now_s();
	for (i = 0; i < n; i++) {
		(void)snprintf(name, sizeof(name), "m%zu", i);
		if (put_plain(tmpl, name, v[i].raw, v[i].raw_len) != 0)
			goto fail;
		(void)snprintf(name, sizeof(name), "a%zu", i);
		if (v[i].att != NULL &&
		    put_plain(tmpl, name, v[i].att, v[i].att_len) != 0)
			goto fail;
	}
	t1 = now_s();
	report(what, n, total_bytes(v, n), t1 - t0);
	(void)nftw(tmpl, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
fail:
	fprintf(stderr, "%s: %s\n", what, strerror(errno));
	(void)nftw(tmpl, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return -1;
}

/* write_plain - write one file without syncing it. */
static int
write_plain(const char *dir, const char *name, const void *p, size_t len)
{
	char path[512];
	int fd;

	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (write(fd, p, len) != (ssize_t)len) {
		(void)close(fd);
		return -1;
	}
	return close(fd);
}

/* run_plain_batched - the alternative for batches: write 100 messages'
   files, then one syncfs(2) (what "write all, then fsync" could gain). */
static int
run_plain_batched(const char *what, struct synth *v, size_t n)
{
	char tmpl[] = "/tmp/bench-plainb-XXXXXX";
	char name[64];
	double t0, t1;
	size_t i;
	int dfd;

	if (mkdtemp(tmpl) == NULL)
		return -1;
	dfd = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	t0 = now_s();
	for (i = 0; i < n; i++) {
		(void)snprintf(name, sizeof(name), "m%zu", i);
		if (write_plain(tmpl, name, v[i].raw, v[i].raw_len) != 0)
			goto fail;
		(void)snprintf(name, sizeof(name), "a%zu", i);
		if (v[i].att != NULL &&
		    write_plain(tmpl, name, v[i].att, v[i].att_len) != 0)
			goto fail;
		if ((i % BATCH == BATCH - 1 || i == n - 1) && syncfs(dfd) != 0)
			goto fail;
	}
	t1 = now_s();
	report(what, n, total_bytes(v, n), t1 - t0);
	(void)close(dfd);
	(void)nftw(tmpl, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
fail:
	fprintf(stderr, "%s: %s\n", what, strerror(errno));
	(void)close(dfd);
	(void)nftw(tmpl, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return -1;
}

/* main - run the measurements. */
int
main(int argc, char **argv)
{
	struct synth *text, *att;
	size_t n = 1000;
	char *end;
	int rc = 0;

	if (argc > 1) {
		errno = 0;
		n = (size_t)strtoull(argv[1], &end, 10);
		if (errno != 0 || *end != '\0' || n == 0 || n > 1000000) {
			fprintf(stderr, "usage: bench_store [N]\n");
			return 2;
		}
	}
	text = make_msgs(n, false, 88172645463325252UL);
	att = make_msgs(n, true, 1442695040888963407UL);
	if (text == NULL || att == NULL)
		return 1;
	rc |= run_store("store, 1 txn per message", text, n, 0);
	rc |= run_store("store, 1 txn per 100", text, n, BATCH);
	rc |= run_store("store + attachments, 1 txn/msg", att, n, 0);
	rc |= run_store("store + attachments, 1 txn/100", att, n, BATCH);
	rc |= run_plain("plain files, text (baseline)", text, n);
	rc |= run_plain("plain files, + attachments", att, n);
	rc |= run_plain_batched("plain files, syncfs per 100", text, n);
	rc |= run_plain_batched("plain + attachments, syncfs/100", att, n);
	free_msgs(text, n);
	free_msgs(att, n);
	return rc == 0 ? 0 : 1;
}

/* SPDX-License-Identifier: MIT */
/*
 * fsync.c - the disk's limit for the end-to-end benchmark: writes one file
 * per message, with the sizes rawfetch recorded, durably, the two ways a
 * store can: "each" (temp file, fsync, rename, fsync of the directory, as
 * store/blob.c's blob_put) and "batch" (BATCH temp files unsynced, syncfs,
 * renames, syncfs, as blob_stage + blob_batch_flush inside one ticketd
 * batch).  Files go into 256 fan-out directories like the store's.  Prints
 * one key=value line per mode.  Usage: fsync DIR SIZES_FILE [BATCH]
 */
#define _GNU_SOURCE /* syncfs */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FSYNC_POOL (1024 * 1024)
#define FSYNC_FILES_MAX 1000000
#define FSYNC_FILE_MAX (1ULL << 32)
#define FSYNC_BATCH_DEFAULT 100

/* The sizes to write. */
struct plan {
	uint64_t *v; /* owned */
	size_t n;
	uint64_t total;
};

/* now_s - monotonic seconds */
static double
now_s(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* read_plan - one size per line from path; 0 or -1 */
static int
read_plan(const char *path, struct plan *p)
{
	char line[64];
	size_t cap = 0;
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		fprintf(stderr, "fsync: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *end;
		unsigned long long v;

		errno = 0;
		v = strtoull(line, &end, 10);
		if (errno != 0 || end == line || v > FSYNC_FILE_MAX ||
		    p->n >= FSYNC_FILES_MAX) {
			fprintf(stderr, "fsync: %s: bad size line\n", path);
			fclose(f);
			return -1;
		}
		if (p->n == cap) {
			size_t c = cap == 0 ? 1024 : cap * 2;
			uint64_t *nv = realloc(p->v, c * sizeof(*nv));

			if (nv == NULL) {
				fclose(f);
				return -1;
			}
			p->v = nv;
			cap = c;
		}
		p->v[p->n++] = v;
		p->total += v;
	}
	fclose(f);
	return 0;
}

/* fsync_path - fsync a file or directory by name; 0 or -1 */
static int
fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	if (close(fd) != 0)
		rc = -1;
	return rc;
}

/* syncfs_path - syncfs on the file system holding path; 0 or -1 */
static int
syncfs_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -1;
	rc = syncfs(fd);
	if (close(fd) != 0)
		rc = -1;
	return rc;
}

/* make_tree - base and its 256 fan-out directories, durably; 0 or -1 */
static int
make_tree(const char *base)
{
	char d[PATH_MAX];
	unsigned i;

	if (mkdir(base, 0700) != 0 && errno != EEXIST)
		return -1;
	for (i = 0; i < 256; i++) {
		int n = snprintf(d, sizeof(d), "%s/%02x", base, i);

		if (n < 0 || (size_t)n >= sizeof(d))
			return -1;
		if (mkdir(d, 0700) != 0 && errno != EEXIST)
			return -1;
	}
	return syncfs_path(base);
}

/* names - temp and final path of file i under base; 0 or -1 */
static int
names(const char *base, size_t i, char *tmp, char *fin, size_t len)
{
	/* spread like a hash: a multiplicative scramble of the index */
	uint64_t h = (uint64_t)(i + 1) * 0x9e3779b97f4a7c15ULL;
	int n1, n2;

	n1 = snprintf(tmp, len, "%s/%02x/.tmp-%zu", base, (unsigned)(h >> 56),
	              i);
	n2 = snprintf(fin, len, "%s/%02x/%016llx", base, (unsigned)(h >> 56),
	              (unsigned long long)h);
	if (n1 < 0 || (size_t)n1 >= len || n2 < 0 || (size_t)n2 >= len)
		return -1;
	return 0;
}

/* write_file - create path with size bytes from the pool; 0 or -1 */
static int
write_file(const char *path, const unsigned char *pool, size_t i, uint64_t size,
           bool is_sync)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	size_t off = (i * 4099) % (FSYNC_POOL / 2);

	if (fd < 0)
		return -1;
	while (size > 0) {
		size_t want =
		    size < FSYNC_POOL - off ? (size_t)size : FSYNC_POOL - off;
		ssize_t n = write(fd, pool + off, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			(void)close(fd);
			return -1;
		}
		size -= (uint64_t)n;
		off = 0;
	}
	if (is_sync && fsync(fd) != 0) {
		(void)close(fd);
		return -1;
	}
	return close(fd);
}

/* run_each - per file: write, fsync, rename, fsync the directory */
static int
run_each(const char *base, const struct plan *p, const unsigned char *pool)
{
	char tmp[PATH_MAX], fin[PATH_MAX];
	size_t i;

	for (i = 0; i < p->n; i++) {
		char *slash;

		if (names(base, i, tmp, fin, sizeof(fin)) != 0 ||
		    write_file(tmp, pool, i, p->v[i], true) != 0 ||
		    rename(tmp, fin) != 0)
			return -1;
		slash = strrchr(fin, '/');
		*slash = '\0';
		if (fsync_path(fin) != 0)
			return -1;
	}
	return 0;
}

/* run_batch - per batch: write all, syncfs, rename all, syncfs */
static int
run_batch(const char *base, const struct plan *p, const unsigned char *pool,
          size_t batch)
{
	char tmp[PATH_MAX], fin[PATH_MAX];
	size_t i, j;

	for (i = 0; i < p->n; i += batch) {
		size_t end = p->n - i < batch ? p->n : i + batch;

		for (j = i; j < end; j++) {
			if (names(base, j, tmp, fin, sizeof(fin)) != 0 ||
			    write_file(tmp, pool, j, p->v[j], false) != 0)
				return -1;
		}
		if (syncfs_path(base) != 0)
			return -1;
		for (j = i; j < end; j++) {
			if (names(base, j, tmp, fin, sizeof(fin)) != 0 ||
			    rename(tmp, fin) != 0)
				return -1;
		}
		if (syncfs_path(base) != 0)
			return -1;
	}
	return 0;
}

/* report - one key=value line */
static void
report(const char *mode, size_t batch, const struct plan *p, double secs)
{
	if (secs <= 0)
		secs = 1e-9;
	printf("fsync mode=%s batch=%zu files=%zu bytes=%llu seconds=%.3f "
	       "mb_per_s=%.1f msgs_per_s=%.0f\n",
	       mode, batch, p->n, (unsigned long long)p->total, secs,
	       (double)p->total / 1e6 / secs, (double)p->n / secs);
}

/* main - both modes over the same plan */
int
main(int argc, char **argv)
{
	struct plan p;
	unsigned char *pool = NULL;
	char each[PATH_MAX], bat[PATH_MAX];
	size_t batch = FSYNC_BATCH_DEFAULT, i;
	uint64_t x = 88172645463325252ULL;
	double t0;
	int rc = 1;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: fsync DIR SIZES_FILE [BATCH]\n");
		return 2;
	}
	if (argc == 4) {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(argv[3], &end, 10);
		if (errno != 0 || *end != '\0' || v == 0 || v > 100000) {
			fprintf(stderr, "fsync: bad BATCH %s\n", argv[3]);
			return 2;
		}
		batch = v;
	}
	memset(&p, 0, sizeof(p));
	if (read_plan(argv[2], &p) != 0)
		goto out;
	pool = malloc(FSYNC_POOL);
	if (pool == NULL)
		goto out;
	for (i = 0; i < FSYNC_POOL; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		pool[i] = (unsigned char)(x >> 32);
	}
	if (snprintf(each, sizeof(each), "%s/each", argv[1]) >=
	        (int)sizeof(each) ||
	    snprintf(bat, sizeof(bat), "%s/batch", argv[1]) >= (int)sizeof(bat))
		goto out;
	if ((mkdir(argv[1], 0700) != 0 && errno != EEXIST) ||
	    make_tree(each) != 0 || make_tree(bat) != 0) {
		fprintf(stderr, "fsync: %s: %s\n", argv[1], strerror(errno));
		goto out;
	}
	t0 = now_s();
	if (run_each(each, &p, pool) != 0) {
		fprintf(stderr, "fsync: each: %s\n", strerror(errno));
		goto out;
	}
	report("each", 1, &p, now_s() - t0);
	t0 = now_s();
	if (run_batch(bat, &p, pool, batch) != 0) {
		fprintf(stderr, "fsync: batch: %s\n", strerror(errno));
		goto out;
	}
	report("batch", batch, &p, now_s() - t0);
	rc = 0;
out:
	free(pool);
	free(p.v);
	return rc;
}

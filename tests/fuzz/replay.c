/* SPDX-License-Identifier: MIT */
/*
 * replay.c - run a libFuzzer target without libFuzzer: every file named on
 * the command line, and every file under every directory named (recursive,
 * in sorted order), is fed once to LLVMFuzzerTestOneInput.  `make test`
 * uses it to replay the seed corpus and tests/data with the normal build.
 * A crash aborts the program (after naming the input on stderr); a path
 * that cannot be read counts as one failure.  The last line is
 * "N passed, N failed".
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Inputs larger than this are not replayed (they are not corpus files). */
#define REPLAY_FILE_MAX (64u * 1024 * 1024)
/* Directory nesting followed; deeper directories count as failures. */
#define REPLAY_DEPTH_MAX 16

static unsigned long replay_passed;
static unsigned long replay_failed;
/* The input being run, for the crash message. */
static const char *volatile replay_current;

/* replay_crash - name the input that crashed, then die of the signal. */
static void
replay_crash(int sig)
{
	static const char pre[] = "replay: crashed on ";
	const char *cur = replay_current;

	if (cur != NULL) {
		(void)!write(2, pre, sizeof(pre) - 1);
		(void)!write(2, cur, strlen(cur));
		(void)!write(2, "\n", 1);
	}
	(void)raise(sig);
}

/* replay_signals - install replay_crash for the fatal signals (one shot). */
static void
replay_signals(void)
{
	static const int sigs[] = {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL};
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = replay_crash;
	sa.sa_flags = (int)SA_RESETHAND;
	(void)sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		(void)sigaction(sigs[i], &sa, NULL);
}

static int replay_path(const char *path, int depth);

/* replay_file - read one regular file and feed it to the target. */
static int
replay_file(const char *path, off_t size)
{
	FILE *f;
	unsigned char *data;
	size_t got;

	if (size < 0 || (unsigned long long)size > REPLAY_FILE_MAX) {
		fprintf(stderr, "replay: %s: too large\n", path);
		return -1;
	}
	/* One spare byte so an empty file still gets a real pointer. */
	data = malloc((size_t)size + 1);
	if (data == NULL) {
		fprintf(stderr, "replay: %s: out of memory\n", path);
		return -1;
	}
	f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		free(data);
		return -1;
	}
	got = fread(data, 1, (size_t)size, f);
	if (ferror(f) != 0 || got != (size_t)size) {
		fprintf(stderr, "replay: %s: short read\n", path);
		(void)fclose(f);
		free(data);
		return -1;
	}
	(void)fclose(f);
	replay_current = path;
	(void)LLVMFuzzerTestOneInput(data, got);
	replay_current = NULL;
	free(data);
	return 0;
}

/* replay_cmp - qsort comparator for directory entry names. */
static int
replay_cmp(const void *a, const void *b)
{
	const char *const *x = a;
	const char *const *y = b;

	return strcmp(*x, *y);
}

/* replay_dir - replay every entry of a directory in sorted order. */
static int
replay_dir(const char *path, int depth)
{
	DIR *d;
	struct dirent *e;
	char **names = NULL, **tmp, *child;
	size_t n = 0, cap = 0, i, len;
	int rc = 0;

	d = opendir(path);
	if (d == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			tmp = realloc(names, cap * sizeof(*names));
			if (tmp == NULL) {
				rc = -1;
				goto out;
			}
			names = tmp;
		}
		len = strlen(path) + strlen(e->d_name) + 2;
		child = malloc(len);
		if (child == NULL) {
			rc = -1;
			goto out;
		}
		if (snprintf(child, len, "%s/%s", path, e->d_name) < 0) {
			free(child);
			rc = -1;
			goto out;
		}
		names[n++] = child;
	}
	if (n > 0)
		qsort(names, n, sizeof(*names), replay_cmp);
	for (i = 0; i < n; i++)
		if (replay_path(names[i], depth + 1) != 0)
			replay_failed++;
out:
	if (rc != 0)
		fprintf(stderr, "replay: %s: out of memory\n", path);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	(void)closedir(d);
	return rc;
}

/* replay_path - replay a file, or a directory recursively. */
static int
replay_path(const char *path, int depth)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		if (depth >= REPLAY_DEPTH_MAX) {
			fprintf(stderr, "replay: %s: too deep\n", path);
			return -1;
		}
		return replay_dir(path, depth);
	}
	if (!S_ISREG(st.st_mode))
		return 0;
	if (replay_file(path, st.st_size) != 0)
		return -1;
	replay_passed++;
	return 0;
}

/* main - replay every argument; see the file comment. */
int
main(int argc, char **argv)
{
	int i;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	replay_signals();
	for (i = 1; i < argc; i++)
		if (replay_path(argv[i], 0) != 0)
			replay_failed++;
	printf("%lu passed, %lu failed\n", replay_passed, replay_failed);
	return replay_failed == 0 ? 0 : 1;
}

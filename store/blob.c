/* SPDX-License-Identifier: MIT */
/*
 * blob.c - content-addressed files for raw messages and attachments:
 * SHA-256 naming (gnutls), crash-safe writes (temp file in the same fan-out
 * directory, fsync, rename, fsync of the directory), deduplication by name
 * and size, and the sweep that removes unreferenced files at purge time.
 */
#define _GNU_SOURCE /* syncfs */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#include "store/blob.h"
#include "store/db.h"

/* blob_hex - lower-case hex of a SHA-256 digest. */
void
blob_hex(const unsigned char md[32], char hex[BLOB_HEX_MAX])
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < 32; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 0xf];
	}
	hex[64] = '\0';
}

/* blob_sha256 - lower-case hex SHA-256 of p. */
int
blob_sha256(const void *p, size_t len, char hex[BLOB_HEX_MAX])
{
	unsigned char md[32];

	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, p, len, md) < 0)
		return -1;
	blob_hex(md, hex);
	return 0;
}

/* blob_hex_valid - 64 lower-case hex digits. */
bool
blob_hex_valid(const char *s)
{
	size_t i;

	if (s == NULL)
		return false;
	for (i = 0; i < 64; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return s[64] == '\0';
}

/* blob_path - "<base>/<ab>/<hex>". */
char *
blob_path(const char *base, const char *hex)
{
	size_t n;
	char *p;

	n = strlen(base) + 4 + 64 + 1;
	p = malloc(n);
	if (p == NULL)
		return NULL;
	(void)snprintf(p, n, "%s/%.2s/%s", base, hex, hex);
	return p;
}

/* fsync_dir - fsync a directory so a new entry in it is durable. */
static int
fsync_dir(const char *dir)
{
	int fd;
	int rc;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	if (close(fd) != 0)
		rc = -1;
	return rc;
}

/* write_all - write len bytes, retrying short writes and EINTR. */
static int
write_all(int fd, const void *p, size_t len)
{
	const unsigned char *c = p;
	ssize_t n;

	while (len > 0) {
		n = write(fd, c, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

/* blob_exists - 1 when the blob is there with the right size. */
int
blob_exists(const char *base, const char *hex, size_t len)
{
	char path[PATH_MAX];
	struct stat sb;
	int n;

	n = snprintf(path, sizeof(path), "%s/%.2s/%s", base, hex, hex);
	if (n < 0 || (size_t)n >= sizeof(path))
		return 0;
	if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
		return 0;
	return (uint64_t)sb.st_size == (uint64_t)len ? 1 : 0;
}

/* make_fanout - create <base>/<ab> if missing (durably). */
static int
make_fanout(const char *base, const char *dir, char *err, size_t errlen)
{
	if (mkdir(dir, 0700) == 0) {
		if (fsync_dir(base) != 0) {
			db_errf(err, errlen, "fsync %s: %s", base,
			        strerror(errno));
			return STORE_FAILED;
		}
		return STORE_OK;
	}
	if (errno == EEXIST)
		return STORE_OK;
	db_errf(err, errlen, "mkdir %s: %s", dir, strerror(errno));
	return STORE_FAILED;
}

/* blob_prepare - make the 256 fan-out directories of base. */
int
blob_prepare(const char *base, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	struct stat sb;
	bool is_created = false;
	unsigned i;
	int n;

	for (i = 0; i < 256; i++) {
		n = snprintf(dir, sizeof(dir), "%s/%02x", base, i);
		if (n < 0 || (size_t)n >= sizeof(dir)) {
			db_errf(err, errlen, "blob path too long");
			return STORE_FAILED;
		}
		if (stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode))
			continue;
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			db_errf(err, errlen, "mkdir %s: %s", dir,
			        strerror(errno));
			return STORE_FAILED;
		}
		is_created = true;
	}
	if (is_created && fsync_dir(base) != 0) {
		db_errf(err, errlen, "fsync %s: %s", base, strerror(errno));
		return STORE_FAILED;
	}
	return STORE_OK;
}

/* write_tmp - write p to a fresh temp file in <base>/<ab> (fsynced when
   is_sync); *tmp_r and *path_r get the malloc'd temp and final paths. */
static int
write_tmp(const char *base, const char *hex, const void *p, size_t len,
          bool is_sync, char **tmp_r, char **path_r, char *err, size_t errlen)
{
	char dir[PATH_MAX], tmp[PATH_MAX + 80];
	unsigned char rnd[8];
	int status;
	int fd;
	int n;

	*tmp_r = NULL;
	*path_r = NULL;
	n = snprintf(dir, sizeof(dir), "%s/%.2s", base, hex);
	if (n < 0 || (size_t)n >= sizeof(dir)) {
		db_errf(err, errlen, "blob path too long");
		return STORE_FAILED;
	}
	if (gnutls_rnd(GNUTLS_RND_NONCE, rnd, sizeof(rnd)) < 0) {
		db_errf(err, errlen, "random bytes for a temp name failed");
		return STORE_FAILED;
	}
	(void)snprintf(tmp, sizeof(tmp), "%s/.tmp-%ld-%02x%02x%02x%02x%02x%02x",
	               dir, (long)getpid(), rnd[0], rnd[1], rnd[2], rnd[3],
	               rnd[4], rnd[5]);
	*tmp_r = strdup(tmp);
	*path_r = blob_path(base, hex);
	if (*tmp_r == NULL || *path_r == NULL) {
		status = STORE_NOMEM;
		goto fail;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno == ENOENT) {
		/* blob_prepare made the fan-out at open; someone removed it */
		status = make_fanout(base, dir, err, errlen);
		if (status != STORE_OK)
			goto fail;
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	}
	if (fd < 0) {
		db_errf(err, errlen, "create %s: %s", tmp, strerror(errno));
		status = STORE_FAILED;
		goto fail;
	}
	if (write_all(fd, p, len) != 0 || (is_sync && fsync(fd) != 0)) {
		db_errf(err, errlen, "write %s: %s", tmp, strerror(errno));
		(void)close(fd);
		(void)unlink(tmp);
		status = STORE_FAILED;
		goto fail;
	}
	if (close(fd) != 0) {
		db_errf(err, errlen, "close %s: %s", tmp, strerror(errno));
		(void)unlink(tmp);
		status = STORE_FAILED;
		goto fail;
	}
	return STORE_OK;
fail:
	free(*tmp_r);
	free(*path_r);
	*tmp_r = NULL;
	*path_r = NULL;
	return status;
}

/* blob_put - write the blob unless it is already there. */
int
blob_put(const char *base, const char *hex, const void *p, size_t len,
         char *err, size_t errlen)
{
	char *tmp, *path;
	char *slash;
	int status;

	if (blob_exists(base, hex, len) == 1)
		return STORE_OK;
	status = write_tmp(base, hex, p, len, true, &tmp, &path, err, errlen);
	if (status != STORE_OK)
		return status;
	if (rename(tmp, path) != 0) {
		db_errf(err, errlen, "rename %s: %s", tmp, strerror(errno));
		(void)unlink(tmp);
		status = STORE_FAILED;
		goto out;
	}
	slash = strrchr(path, '/');
	*slash = '\0';
	if (fsync_dir(path) != 0) {
		db_errf(err, errlen, "fsync %s: %s", path, strerror(errno));
		status = STORE_FAILED;
	}
out:
	free(tmp);
	free(path);
	return status;
}

/* staged_has - whether final path is already staged in b. */
static bool
staged_has(const struct blob_batch *b, const char *base, const char *hex)
{
	size_t i, n = strlen(base);

	for (i = 0; i < b->n; i++) {
		const char *p = b->v[i].path;

		if (strncmp(p, base, n) == 0 && p[n] == '/' &&
		    strcmp(p + n + 4, hex) == 0)
			return true;
	}
	return false;
}

/* blob_stage - write the blob as an unsynced temp file, renamed at
   blob_batch_flush, unless it exists or is already staged. */
int
blob_stage(struct blob_batch *b, const char *base, const char *hex,
           const void *p, size_t len, char *err, size_t errlen)
{
	char *tmp, *path;
	int status;

	if (staged_has(b, base, hex) || blob_exists(base, hex, len) == 1)
		return STORE_OK;
	if (b->n == b->cap) {
		size_t cap = b->cap == 0 ? 64 : b->cap * 2;
		void *v = realloc(b->v, cap * sizeof(*b->v));

		if (v == NULL)
			return STORE_NOMEM;
		b->v = v;
		b->cap = cap;
	}
	status = write_tmp(base, hex, p, len, false, &tmp, &path, err, errlen);
	if (status != STORE_OK)
		return status;
	b->v[b->n].tmp = tmp;
	b->v[b->n].path = path;
	b->n++;
	return STORE_OK;
}

/* sync_fs - syncfs(2) on the file system holding dir. */
static int
sync_fs(const char *dir, char *err, size_t errlen)
{
	int fd;
	int rc;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		db_errf(err, errlen, "open %s: %s", dir, strerror(errno));
		return STORE_FAILED;
	}
	rc = syncfs(fd);
	if (rc != 0)
		db_errf(err, errlen, "syncfs %s: %s", dir, strerror(errno));
	(void)close(fd);
	return rc == 0 ? STORE_OK : STORE_FAILED;
}

/* sync_dirs - sync the file systems of dirs (each device once). */
static int
sync_dirs(const char *const *dirs, size_t n, char *err, size_t errlen)
{
	struct stat sb;
	dev_t seen[4];
	size_t i, j, n_seen = 0;
	int status;

	for (i = 0; i < n; i++) {
		if (stat(dirs[i], &sb) != 0) {
			db_errf(err, errlen, "stat %s: %s", dirs[i],
			        strerror(errno));
			return STORE_FAILED;
		}
		for (j = 0; j < n_seen && seen[j] != sb.st_dev; j++)
			;
		if (j < n_seen)
			continue;
		if (n_seen < sizeof(seen) / sizeof(seen[0]))
			seen[n_seen++] = sb.st_dev;
		status = sync_fs(dirs[i], err, errlen);
		if (status != STORE_OK)
			return status;
	}
	return STORE_OK;
}

/* blob_batch_flush - make every staged blob durable under its name. */
int
blob_batch_flush(struct blob_batch *b, const char *const *dirs, size_t n_dirs,
                 char *err, size_t errlen)
{
	size_t i;
	int status;

	if (b->n == 0)
		return STORE_OK;
	/* Contents first, so a name never points at unsynced data. */
	status = sync_dirs(dirs, n_dirs, err, errlen);
	if (status != STORE_OK)
		return status;
	for (i = 0; i < b->n; i++) {
		if (rename(b->v[i].tmp, b->v[i].path) != 0) {
			db_errf(err, errlen, "rename %s: %s", b->v[i].tmp,
			        strerror(errno));
			return STORE_FAILED;
		}
		free(b->v[i].tmp);
		b->v[i].tmp = NULL;
	}
	/* Then the directory entries. */
	status = sync_dirs(dirs, n_dirs, err, errlen);
	if (status == STORE_OK)
		blob_batch_discard(b);
	return status;
}

/* blob_batch_discard - drop what is staged (temp files removed). */
void
blob_batch_discard(struct blob_batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		if (b->v[i].tmp != NULL)
			(void)unlink(b->v[i].tmp);
		free(b->v[i].tmp);
		free(b->v[i].path);
	}
	free(b->v);
	memset(b, 0, sizeof(*b));
}

/* is_hex2 - a two-digit lower-case hex fan-out name. */
static bool
is_hex2(const char *s)
{
	size_t i;

	for (i = 0; i < 2; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return s[2] == '\0';
}

/* remove_file - unlink (unless dry_run) and count path. */
static int
remove_file(const char *path, const struct stat *sb, bool dry_run,
            uint64_t *files, uint64_t *bytes, char *err, size_t errlen)
{
	if (!dry_run && unlink(path) != 0 && errno != ENOENT) {
		db_errf(err, errlen, "unlink %s: %s", path, strerror(errno));
		return STORE_FAILED;
	}
	*files += 1;
	*bytes += (uint64_t)sb->st_size;
	return STORE_OK;
}

/* sweep_dir - one fan-out directory of blob_sweep. */
static int
sweep_dir(const char *dir, const char *fan, blob_ref_fn *is_ref, void *ctx,
          bool dry_run, time_t now, uint64_t *files, uint64_t *bytes, char *err,
          size_t errlen)
{
	char path[PATH_MAX];
	struct dirent *e;
	struct stat sb;
	int status = STORE_OK;
	DIR *d;
	int n;
	int r;

	d = opendir(dir);
	if (d == NULL) {
		db_errf(err, errlen, "opendir %s: %s", dir, strerror(errno));
		return STORE_FAILED;
	}
	while (status == STORE_OK && (e = readdir(d)) != NULL) {
		bool is_tmp = strncmp(e->d_name, ".tmp-", 5) == 0;

		if (!is_tmp && (!blob_hex_valid(e->d_name) ||
		                strncmp(e->d_name, fan, 2) != 0))
			continue;
		n = snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (n < 0 || (size_t)n >= sizeof(path))
			continue;
		if (lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
			continue;
		if (is_tmp) {
			if (now - sb.st_mtime > BLOB_STALE_TMP_SECS)
				status = remove_file(path, &sb, dry_run, files,
				                     bytes, err, errlen);
			continue;
		}
		r = is_ref(ctx, e->d_name);
		if (r < 0) {
			db_errf(err, errlen, "reference check failed");
			status = STORE_FAILED;
		} else if (r == 0) {
			status = remove_file(path, &sb, dry_run, files, bytes,
			                     err, errlen);
		}
	}
	(void)closedir(d);
	return status;
}

/* blob_sweep - remove unreferenced blobs and stale temp files. */
int
blob_sweep(const char *base, blob_ref_fn *is_ref, void *ctx, bool dry_run,
           time_t now, uint64_t *files, uint64_t *bytes, char *err,
           size_t errlen)
{
	char dir[PATH_MAX];
	struct dirent *e;
	int status = STORE_OK;
	DIR *d;
	int n;

	d = opendir(base);
	if (d == NULL) {
		db_errf(err, errlen, "opendir %s: %s", base, strerror(errno));
		return STORE_FAILED;
	}
	while (status == STORE_OK && (e = readdir(d)) != NULL) {
		if (!is_hex2(e->d_name))
			continue;
		n = snprintf(dir, sizeof(dir), "%s/%s", base, e->d_name);
		if (n < 0 || (size_t)n >= sizeof(dir))
			continue;
		status = sweep_dir(dir, e->d_name, is_ref, ctx, dry_run, now,
		                   files, bytes, err, errlen);
	}
	(void)closedir(d);
	return status;
}

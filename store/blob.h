/* SPDX-License-Identifier: MIT */
/*
 * blob.h - private to store/: content-addressed files.  A blob lives at
 * <base>/<first two hex digits>/<64 hex digits of its SHA-256>; it is
 * written to a temp file in the same directory, fsynced, renamed and the
 * directory fsynced, so a name always holds complete content.  Names come
 * only from hashes, never from a message.  Functions return store
 * statuses and fill err; nothing here logs.
 */
#ifndef STORE_BLOB_H
#define STORE_BLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Bytes of a hex SHA-256 with its NUL. */
#define BLOB_HEX_MAX 65

/* Temp files older than this are a crash's leftovers (seconds). */
#define BLOB_STALE_TMP_SECS 3600

/* blob_sha256 - hex SHA-256 of len bytes into hex; -1 on failure. */
int blob_sha256(const void *p, size_t len, char hex[BLOB_HEX_MAX]);

/* blob_hex - lower-case hex of a 32-byte digest. */
void blob_hex(const unsigned char md[32], char hex[BLOB_HEX_MAX]);

/* blob_hex_valid - whether s is 64 lower-case hex digits. */
bool blob_hex_valid(const char *s);

/*
 * blob_path - malloc'd "<base>/<ab>/<hex>" (caller frees), NULL when out
 * of memory.
 */
char *blob_path(const char *base, const char *hex);

/*
 * blob_put - make sure blob hex (len bytes at p) exists under base.  A file
 * already there with the same size is kept (deduplication).  Returns
 * STORE_OK, STORE_FAILED or STORE_NOMEM.
 */
int blob_put(const char *base, const char *hex, const void *p, size_t len,
             char *err, size_t errlen);

/*
 * blob_prepare - create base and its 256 fan-out directories where
 * missing (fsyncing base once), so filing never pays for a mkdir.
 * Returns STORE_OK or STORE_FAILED.
 */
int blob_prepare(const char *base, char *err, size_t errlen);

/* A staged blob: written, not yet synced or renamed. */
struct blob_pending {
	char *tmp;  /* owned; NULL once renamed */
	char *path; /* owned; the final name */
};

/* Blobs of an open batch (struct store holds one). */
struct blob_batch {
	struct blob_pending *v; /* owned */
	size_t n, cap;
};

/*
 * blob_stage - like blob_put, but for a batch: the blob is written to a
 * temp file without fsync and only gets its name at blob_batch_flush.
 * A blob already there or already staged is not written again.
 */
int blob_stage(struct blob_batch *b, const char *base, const char *hex,
               const void *p, size_t len, char *err, size_t errlen);

/*
 * blob_batch_flush - before the batch commits: syncfs(2) the file systems
 * of dirs (the contents), rename every staged temp file to its name, and
 * syncfs again (the names).  One or two journal commits replace two
 * fsyncs per file.  On failure the remaining temp files stay staged (for
 * blob_batch_discard).  STORE_OK or STORE_FAILED.
 */
int blob_batch_flush(struct blob_batch *b, const char *const *dirs,
                     size_t n_dirs, char *err, size_t errlen);

/* blob_batch_discard - remove the staged temp files, empty the list. */
void blob_batch_discard(struct blob_batch *b);

/* blob_exists - 1 when blob hex exists with size len, 0 when not. */
int blob_exists(const char *base, const char *hex, size_t len);

/* Whether blob hex is still referenced: 1 yes, 0 no, -1 error. */
typedef int blob_ref_fn(void *ctx, const char *hex);

/*
 * blob_sweep - remove (or only count, when dry_run) every blob under base
 * that is_ref says is unreferenced, and temp files older than
 * BLOB_STALE_TMP_SECS at now; adds to *files and *bytes.  Returns
 * STORE_OK or STORE_FAILED.
 */
int blob_sweep(const char *base, blob_ref_fn *is_ref, void *ctx, bool dry_run,
               time_t now, uint64_t *files, uint64_t *bytes, char *err,
               size_t errlen);

#endif

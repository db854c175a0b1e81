/* SPDX-License-Identifier: MIT */
/*
 * strlist.h - a small owned list of C strings (order numbers, Message-IDs).
 * The list owns every string in it; strlist_add copies.  Functions return 0
 * on success, -1 when out of memory or when the list already holds max
 * entries (a bound the caller chooses; 0 means no bound).
 */
#ifndef COMMON_STRLIST_H
#define COMMON_STRLIST_H

#include <stdbool.h>
#include <stddef.h>

struct strlist {
	char **v;   /* owned array of owned strings */
	size_t n;   /* entries used */
	size_t cap; /* entries allocated */
};

#define STRLIST_INIT                                                           \
	{                                                                      \
		NULL, 0, 0                                                     \
	}

/* strlist_add - append a copy of len bytes of s (NUL appended). */
int strlist_add(struct strlist *l, const char *s, size_t len, size_t max);

/*
 * strlist_add_unique - like strlist_add, but does nothing (returns 0) when
 * an equal string is already present.
 */
int strlist_add_unique(struct strlist *l, const char *s, size_t len,
                       size_t max);

/* strlist_has - whether s is in the list. */
bool strlist_has(const struct strlist *l, const char *s);

/* strlist_clear - free every entry and the array; the list is empty. */
void strlist_clear(struct strlist *l);

#endif

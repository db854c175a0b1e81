/* SPDX-License-Identifier: MIT */
/* strlist.c - owned list of C strings (see strlist.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strlist.h"

/* strlist_add - append a copy */
int
strlist_add(struct strlist *l, const char *s, size_t len, size_t max)
{
	char *copy;

	if (max != 0 && l->n >= max)
		return -1;
	if (l->n == l->cap) {
		size_t ncap = l->cap == 0 ? 4 : l->cap * 2;
		char **nv;

		if (ncap > SIZE_MAX / sizeof(*nv))
			return -1;
		nv = realloc(l->v, ncap * sizeof(*nv));
		if (nv == NULL)
			return -1;
		l->v = nv;
		l->cap = ncap;
	}
	if (len == SIZE_MAX)
		return -1;
	copy = malloc(len + 1);
	if (copy == NULL)
		return -1;
	memcpy(copy, s, len);
	copy[len] = '\0';
	l->v[l->n++] = copy;
	return 0;
}

/* strlist_has - membership test */
bool
strlist_has(const struct strlist *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return true;
	return false;
}

/* strlist_add_unique - append unless present */
int
strlist_add_unique(struct strlist *l, const char *s, size_t len, size_t max)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strlen(l->v[i]) == len && memcmp(l->v[i], s, len) == 0)
			return 0;
	return strlist_add(l, s, len, max);
}

/* strlist_clear - free everything */
void
strlist_clear(struct strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
	l->cap = 0;
}

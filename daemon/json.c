/* SPDX-License-Identifier: MIT */
/* json.c - streaming JSON writer (see json.h). */
#include <string.h>

#include "common/utf8.h"
#include "json.h"

/* json_init - start a document on out */
void
json_init(struct json *j, FILE *out)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
}

/* sep - write the comma before a new item, if one is due */
static void
sep(struct json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->depth > 0 && j->depth <= JSON_DEPTH_MAX) {
		if (j->has_items[j->depth - 1])
			fputc(',', j->out);
		j->has_items[j->depth - 1] = true;
	}
}

/* open_level - begin an object or array */
static void
open_level(struct json *j, char c)
{
	sep(j);
	fputc(c, j->out);
	if (j->depth < JSON_DEPTH_MAX)
		j->has_items[j->depth] = false;
	j->depth++;
}

/* close_level - end an object or array */
static void
close_level(struct json *j, char c)
{
	if (j->depth > 0)
		j->depth--;
	fputc(c, j->out);
	if (j->depth == 0)
		fputc('\n', j->out);
}

void
json_begin_object(struct json *j)
{
	open_level(j, '{');
}

void
json_end_object(struct json *j)
{
	close_level(j, '}');
}

void
json_begin_array(struct json *j)
{
	open_level(j, '[');
}

void
json_end_array(struct json *j)
{
	close_level(j, ']');
}

/* put_escaped - write s as a quoted JSON string */
static void
put_escaped(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i = 0, n;
	unsigned int cp;

	fputc('"', out);
	while (i < len) {
		n = utf8_decode(p + i, len - i, &cp);
		if (n == 0) {
			fputs("\\ufffd", out);
			i++;
			continue;
		}
		if (cp == '"')
			fputs("\\\"", out);
		else if (cp == '\\')
			fputs("\\\\", out);
		else if (cp == '\n')
			fputs("\\n", out);
		else if (cp == '\r')
			fputs("\\r", out);
		else if (cp == '\t')
			fputs("\\t", out);
		else if (cp < 0x20 || cp == 0x7f || cp == 0x2028 ||
		         cp == 0x2029)
			fprintf(out, "\\u%04x", cp);
		else
			fwrite(p + i, 1, n, out);
		i += n;
	}
	fputc('"', out);
}

/* json_key - object key */
void
json_key(struct json *j, const char *key)
{
	sep(j);
	put_escaped(j->out, key);
	fputc(':', j->out);
	j->after_key = true;
}

/* json_string - string or null */
void
json_string(struct json *j, const char *s)
{
	sep(j);
	if (s == NULL)
		fputs("null", j->out);
	else
		put_escaped(j->out, s);
}

/* json_int - integer */
void
json_int(struct json *j, long long v)
{
	sep(j);
	fprintf(j->out, "%lld", v);
}

/* json_bool - true/false */
void
json_bool(struct json *j, bool v)
{
	sep(j);
	fputs(v ? "true" : "false", j->out);
}

/* json_null - null */
void
json_null(struct json *j)
{
	sep(j);
	fputs("null", j->out);
}

void
json_kv_string(struct json *j, const char *key, const char *s)
{
	json_key(j, key);
	json_string(j, s);
}

void
json_kv_int(struct json *j, const char *key, long long v)
{
	json_key(j, key);
	json_int(j, v);
}

void
json_kv_bool(struct json *j, const char *key, bool v)
{
	json_key(j, key);
	json_bool(j, v);
}

/* SPDX-License-Identifier: MIT */
/*
 * json.h - a small streaming JSON writer for ticketctl's --json output
 * (SPEC §10).  Strings are escaped (quotes, backslash, controls, U+2028/9;
 * invalid UTF-8 becomes U+FFFD), so nothing from a message can break the
 * document.  Nesting is bounded by JSON_DEPTH_MAX.
 */
#ifndef DAEMON_JSON_H
#define DAEMON_JSON_H

#include <stdbool.h>
#include <stdio.h>

#define JSON_DEPTH_MAX 16

struct json {
	FILE *out; /* borrowed */
	int depth;
	bool has_items[JSON_DEPTH_MAX]; /* a comma is due at each level */
	bool after_key;
};

void json_init(struct json *j, FILE *out);
void json_begin_object(struct json *j);
void json_end_object(struct json *j);
void json_begin_array(struct json *j);
void json_end_array(struct json *j);
/* json_key - the key of the next value (inside an object). */
void json_key(struct json *j, const char *key);
/* json_string - a string value; NULL writes null. */
void json_string(struct json *j, const char *s);
void json_int(struct json *j, long long v);
void json_bool(struct json *j, bool v);
void json_null(struct json *j);

/* json_kv_string etc. - key and value in one call. */
void json_kv_string(struct json *j, const char *key, const char *s);
void json_kv_int(struct json *j, const char *key, long long v);
void json_kv_bool(struct json *j, const char *key, bool v);

#endif

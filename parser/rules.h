/* SPDX-License-Identifier: MIT */
/*
 * rules.h - the subject formats of SPEC §3 as PCRE2 patterns with named
 * groups, the category keyword rules and priorities of §4, and the order
 * number scan of §5 (private to parser/).  A struct rules is compiled once
 * (JIT when the platform allows it, the interpreter otherwise, e.g. under
 * MemoryDenyWriteExecute) and is read-only afterwards; matching needs a
 * struct rules_scratch per thread.  All matching runs through a match
 * context with match, depth and heap limits (parser/limits.h); a limit hit
 * counts as "no match" and is reported in rules_match.limit_hit.
 *
 * Inputs are valid UTF-8, normalised by subject_normalise (full-width
 * forms already ASCII).
 */
#ifndef PARSER_RULES_H
#define PARSER_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "common/strlist.h"

enum rules_status {
	RULES_OK = 0,
	RULES_BAD_PATTERN, /* a pattern failed to compile: err says which */
	RULES_NOMEM,
};

/* A user pattern from the config ([pattern "name"] regex = ...). */
struct rules_pattern {
	const char *name;  /* borrowed during rules_new */
	const char *regex; /* borrowed during rules_new */
};

/* A category keyword rule: first match wins, subject then body. */
struct rules_category {
	const char *name;     /* borrowed during rules_new */
	const char *keywords; /* comma-separated, matched caseless */
};

struct rules_settings {
	/* user patterns, tried before the built-ins, in this order */
	const struct rules_pattern *patterns;
	size_t n_patterns;
	bool no_builtins; /* true: only the user patterns */
	/* category rules; NULL = the built-in table of SPEC §4 */
	const struct rules_category *categories;
	size_t n_categories;
	const char *ticket_prefix; /* NULL = "CM" */
	unsigned long match_limit; /* 0 = PARSER_MATCH_LIMIT */
};

/* What matching a subject found; every string owned (free with clear). */
struct rules_match {
	char *format;    /* pattern name that matched, "other" if none */
	char *ticket_id; /* a ticket id in the subject, or NULL */
	char *priority;  /* "urgent", "complaint" or "normal" */
	char *user_id;   /* NULL if none */
	struct strlist order_numbers;
	struct strlist screening_numbers;
	char *category; /* from the bracket or keywords; never NULL */
	char *kind;     /* "inquiry", "appeal", "inquiry/appeal", NULL */
	bool is_review; /* 复议 / 复核 / review request */
	char *summary;  /* never NULL; the subject if nothing better */
	bool limit_hit; /* some pattern hit a PCRE2 limit */
};

struct rules;
struct rules_scratch;

/*
 * rules_new - compile the patterns.  On RULES_BAD_PATTERN err holds
 * "pattern NAME: MESSAGE at offset N".  *rules_r is set only on RULES_OK;
 * free with rules_free.
 */
int rules_new(const struct rules_settings *s, struct rules **rules_r, char *err,
              size_t errlen);

/* rules_free - accepts NULL; sets *p to NULL. */
void rules_free(struct rules **p);

/* rules_scratch_new - match data for one thread; NULL on no memory. */
struct rules_scratch *rules_scratch_new(const struct rules *r);
void rules_scratch_free(struct rules_scratch **p);

/*
 * rules_match_subject - classify the normalised subject (len bytes, valid
 * UTF-8, borrowed).  body (borrowed, may be NULL) is scanned for order
 * numbers only when the subject has none, and for the category when the
 * subject gives none.  Fills *m (caller clears with rules_match_clear).
 * Returns RULES_OK or RULES_NOMEM.
 */
int rules_match_subject(const struct rules *r, struct rules_scratch *sc,
                        const char *subject, size_t len, const char *body,
                        size_t body_len, struct rules_match *m);

/* rules_match_clear - free the strings in m and zero it. */
void rules_match_clear(struct rules_match *m);

/*
 * rules_formats_help - a borrowed, static, bilingual description of the
 * documented subject formats, appended to acks when nothing matched.
 */
const char *rules_formats_help(void);

#endif

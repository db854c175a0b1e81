/* SPDX-License-Identifier: MIT */
/*
 * ticketctl.h - what ticketctl's subcommands share (private to daemon/).
 * Each ctl_<name>() gets the arguments after the subcommand name and
 * returns the process exit status of SPEC §10: CTL_OK, CTL_NOT_FOUND,
 * CTL_USAGE (usage or config error), or CTL_FAILED; `ingest` returns 75
 * (EX_TEMPFAIL) when the store failed, so that an MTA retries.
 */
#ifndef DAEMON_TICKETCTL_H
#define DAEMON_TICKETCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/strlist.h"
#include "config.h"

enum {
	CTL_OK = 0,
	CTL_NOT_FOUND = 1,
	CTL_USAGE = 2,
	CTL_FAILED = 3,
};

struct ctl {
	const char *config_path; /* borrowed from argv */
	bool is_config_given;    /* -c was on the command line */
	bool json;               /* --json anywhere */
	struct config *cfg;      /* owned; defaults when none given */
};

/*
 * The subcommands.  Each takes the arguments after its name (argv
 * borrowed), accepts --json among them, and returns the exit status.
 */
/* ctl_parse - `parse FILE...`: show how messages would be filed. */
int ctl_parse(struct ctl *ctl, int argc, char **argv);
/* ctl_ingest - `ingest FILE...|-`: file messages (75 when the store
   failed, so an MTA retries). */
int ctl_ingest(struct ctl *ctl, int argc, char **argv);
/* ctl_list - `list [filters]`: tickets as a table or JSON array. */
int ctl_list(struct ctl *ctl, int argc, char **argv);
/* ctl_show - `show ID`: one ticket with messages and attachments. */
int ctl_show(struct ctl *ctl, int argc, char **argv);
/* ctl_attachment - `attachment ID N -o FILE|-`: export a stored blob. */
int ctl_attachment(struct ctl *ctl, int argc, char **argv);
/* ctl_status - `status ID STATUS`: set a ticket's status. */
int ctl_status(struct ctl *ctl, int argc, char **argv);
/* ctl_outbox - `outbox [--failed] [--retry ID|--all]`. */
int ctl_outbox(struct ctl *ctl, int argc, char **argv);
/* ctl_quarantine - `quarantine [--all] [--reprocess ID]`. */
int ctl_quarantine(struct ctl *ctl, int argc, char **argv);
/* ctl_purge - `purge --older-than DAYS [--dry-run] [--anonymise]`. */
int ctl_purge(struct ctl *ctl, int argc, char **argv);
/* ctl_stats - `stats`: counts. */
int ctl_stats(struct ctl *ctl, int argc, char **argv);
/* ctl_check - `check [--files]`: integrity of the database and files. */
int ctl_check(struct ctl *ctl, int argc, char **argv);

/* Shared by the store commands (ctl_store.c). */
struct json;
struct store;

/* ctl_oom - print "out of memory" and exit CTL_FAILED. */
_Noreturn void ctl_oom(void);

/* ctl_exit_of - exit status for a store status (NOT_FOUND 1, INVALID 2,
   other failures 3). */
int ctl_exit_of(int store_status);

/*
 * ctl_store_open - open the store of ctl->cfg into *st_r (close with
 * store_close).  Prints the reason and returns CTL_USAGE (no state_dir,
 * bad settings) or CTL_FAILED; CTL_OK on success.
 */
int ctl_store_open(struct ctl *ctl, struct store **st_r);

/*
 * ctl_opt - whether argv[*i] is option name, as "NAME VALUE" (advances
 * *i) or "NAME=VALUE"; *val_r borrows from argv.  Returns 1 matched, 0
 * not this option, -1 value missing (printed).
 */
int ctl_opt(int argc, char **argv, int *i, const char *name,
            const char **val_r);

/* ctl_parse_u64 - s as a decimal number in [0, max]; 0 or -1. */
int ctl_parse_u64(const char *s, uint64_t max, uint64_t *v_r);

/* ctl_width - terminal columns of s (borrowed, UTF-8) as ctl_cell
   prints it: CJK counts 2, controls are shown as spaces. */
size_t ctl_width(const char *s);

/*
 * ctl_cell - print s (borrowed; NULL or "" print "-") to f: invalid UTF-8
 * as U+FFFD, controls as spaces, bidi and zero-width format characters
 * dropped; cut on a character boundary with an ellipsis to cols columns;
 * unless is_last, padded to cols and followed by two spaces.
 */
void ctl_cell(FILE *f, const char *s, size_t cols, bool is_last);

/* ctl_term_cols - columns of the terminal on stdout, else $COLUMNS, else
   80. */
size_t ctl_term_cols(void);

/* ctl_xclean - sanitised copy of s (UTF-8, no controls; newlines and tabs
   kept when keep_newlines).  Caller frees; exits when out of memory. */
char *ctl_xclean(const char *s, bool keep_newlines);

/* ctl_json_strlist - key and a string list (borrowed) as an array. */
void ctl_json_strlist(struct json *j, const char *key, const struct strlist *l);

/* ctl_json_time - key and an ISO time, null when iso is NULL or "". */
void ctl_json_time(struct json *j, const char *key, const char *iso);

#endif

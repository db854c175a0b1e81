/* SPDX-License-Identifier: MIT */
/*
 * config.h - ticketd.conf (SPEC §10): an INI file read through one table of
 * keys (section, name, type, default, bounds, help).  Unknown sections and
 * keys, bad values and over-long lines are errors reported as FILE:LINE:
 * message, all of them, not just the first.  A struct config is immutable
 * once loaded; SIGHUP loads a new one and swaps only if it is valid.
 */
#ifndef DAEMON_CONFIG_H
#define DAEMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Longest accepted line, like msmtp's LINEBUFSIZE. */
#define CONFIG_LINE_MAX 4096
/* Most [pattern "..."] / [category "..."] sections. */
#define CONFIG_NAMED_MAX 64

enum config_tls {
	CONFIG_TLS_IMPLICIT,
	CONFIG_TLS_STARTTLS,
	CONFIG_TLS_NONE,
};

struct config_named {
	char *name;  /* owned: the quoted section name */
	char *value; /* owned: regex or comma-separated keywords */
	int line;
};

struct config {
	char *path; /* owned: file it came from */
	/* [imap] */
	char *imap_host;
	long imap_port;
	int imap_tls; /* enum config_tls */
	char *imap_user;
	char *imap_password_file;
	char *imap_credential;
	char *imap_ca_file;
	char *imap_mailbox;
	char *imap_processed_folder;
	char *imap_quarantine_folder;
	long imap_poll_interval; /* seconds */
	bool imap_idle;
	long imap_timeout; /* seconds, every network call */
	long imap_batch;   /* messages per fetch */
	/* [smtp] */
	char *smtp_url;
	char *smtp_user;
	char *smtp_password_file;
	char *smtp_credential;
	char *smtp_ca_file;
	char *smtp_from;
	long smtp_timeout;
	/* [store] */
	char *state_dir;
	/* [ticket] */
	char *ticket_prefix;
	char *ticket_timezone;
	long order_merge_days;
	long due_urgent; /* minutes */
	long due_complaint;
	long due_normal;
	bool builtin_patterns;
	/* [ack] */
	bool ack_enabled;
	char *ack_template;
	long max_acks_per_sender;
	/* [limits] */
	size_t attachment_max;
	size_t message_max;
	long max_parts;
	long max_depth;
	size_t header_max;
	/* [pattern "name"] regex = ... ; [category "name"] keywords = ... */
	struct config_named patterns[CONFIG_NAMED_MAX];
	size_t n_patterns;
	struct config_named categories[CONFIG_NAMED_MAX];
	size_t n_categories;
};

/*
 * config_load - read path (borrowed) into a new config.  Returns 0 and sets
 * *cfg_r, or -1 after writing every error as "FILE:LINE: message" lines to
 * errs (borrowed stream).  Missing keys keep their defaults.
 */
int config_load(const char *path, struct config **cfg_r, FILE *errs);

/* config_defaults - a config holding only defaults; NULL on no memory. */
struct config *config_defaults(void);

/* config_free - accepts NULL; sets *p to NULL. */
void config_free(struct config **p);

/*
 * config_print_keys - one line per key: "[section] name (type, default):
 * help", for --help and the man-page consistency test.
 */
void config_print_keys(FILE *out);

/*
 * config_read_secret - the password for "imap" or "smtp": from the
 * systemd credential named in the config (under $CREDENTIALS_DIRECTORY),
 * else from the password file, which must be owned by us or root and not
 * readable by group or others.  One trailing newline is stripped.  Returns
 * a malloc'd string the caller wipes and frees, or NULL with err set
 * (err never holds the secret).  NULL with err "" means none configured.
 */
char *config_read_secret(const struct config *c, const char *which, char *err,
                         size_t errlen);

#endif

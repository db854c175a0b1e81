/* SPDX-License-Identifier: MIT */
/*
 * config.c - the ticketd.conf reader (see config.h).  Every key is declared
 * once in config_keys[] with its type, default, bounds and help; reading,
 * defaults, --help output and the man-page test all come from that table.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

enum key_type { K_STR, K_INT, K_BOOL, K_SIZE, K_TLS };

struct config_key {
	const char *section;
	const char *name;
	enum key_type type;
	size_t offset;
	const char *dflt;   /* textual default, parsed like a value */
	long long min, max; /* for K_INT and K_SIZE */
	const char *help;
};

#define OFF(f) offsetof(struct config, f)
#define SZ_K 1024LL
#define SZ_M (1024LL * 1024)
#define SZ_G (1024LL * 1024 * 1024)

static const struct config_key config_keys[] = {
    {"imap", "host", K_STR, OFF(imap_host), "", 0, 0,
     "IMAP server host name (empty: no IMAP, e.g. pipe delivery only)"},
    {"imap", "port", K_INT, OFF(imap_port), "0", 0, 65535,
     "IMAP port; 0 = 993 for implicit TLS, else 143"},
    {"imap", "tls", K_TLS, OFF(imap_tls), "implicit", 0, 0,
     "implicit | starttls | none (none only for loopback tests)"},
    {"imap", "user", K_STR, OFF(imap_user), "", 0, 0, "IMAP login name"},
    {"imap", "password_file", K_STR, OFF(imap_password_file), "", 0, 0,
     "file holding the IMAP password (mode 0600 or stricter)"},
    {"imap", "credential", K_STR, OFF(imap_credential), "", 0, 0,
     "systemd credential name holding the IMAP password"},
    {"imap", "ca_file", K_STR, OFF(imap_ca_file), "", 0, 0,
     "extra CA certificate file trusted for the IMAP server"},
    {"imap", "mailbox", K_STR, OFF(imap_mailbox), "INBOX", 0, 0,
     "mailbox watched for new mail"},
    {"imap", "processed_folder", K_STR, OFF(imap_processed_folder), "", 0, 0,
     "folder filed messages move to; empty: only flag them"},
    {"imap", "quarantine_folder", K_STR, OFF(imap_quarantine_folder), "", 0, 0,
     "folder unparseable messages move to; empty: only flag them"},
    {"imap", "poll_interval", K_INT, OFF(imap_poll_interval), "60", 1, 86400,
     "seconds between polls when IDLE is off or not offered"},
    {"imap", "idle", K_BOOL, OFF(imap_idle), "yes", 0, 0,
     "use IMAP IDLE when the server offers it"},
    {"imap", "timeout", K_INT, OFF(imap_timeout), "30", 1, 600,
     "seconds any IMAP network operation may take"},
    {"imap", "batch", K_INT, OFF(imap_batch), "100", 1, 5000,
     "messages fetched and filed per transaction"},
    {"smtp", "url", K_STR, OFF(smtp_url), "", 0, 0,
     "smtps://host:465 or smtp://host:587 (STARTTLS required unless "
     "host is a loopback address)"},
    {"smtp", "user", K_STR, OFF(smtp_user), "", 0, 0,
     "SMTP login name; empty: no AUTH"},
    {"smtp", "password_file", K_STR, OFF(smtp_password_file), "", 0, 0,
     "file holding the SMTP password"},
    {"smtp", "credential", K_STR, OFF(smtp_credential), "", 0, 0,
     "systemd credential name holding the SMTP password"},
    {"smtp", "ca_file", K_STR, OFF(smtp_ca_file), "", 0, 0,
     "extra CA certificate file trusted for the SMTP server"},
    {"smtp", "from", K_STR, OFF(smtp_from), "", 0, 0,
     "From of acknowledgments, e.g. Support <support@example.com>"},
    {"smtp", "timeout", K_INT, OFF(smtp_timeout), "30", 1, 600,
     "seconds one SMTP transaction may take"},
    {"store", "state_dir", K_STR, OFF(state_dir), "/var/lib/ticketd", 0, 0,
     "directory of ticketd.db, raw/ and attachments/"},
    {"ticket", "prefix", K_STR, OFF(ticket_prefix), "CM", 0, 0,
     "ticket id prefix: 1-8 letters or digits"},
    {"ticket", "timezone", K_STR, OFF(ticket_timezone), "", 0, 0,
     "time zone of ticket dates, e.g. Asia/Shanghai; empty: the process's"},
    {"ticket", "order_merge_days", K_INT, OFF(order_merge_days), "7", 0, 3650,
     "same requester + order number within N days is a follow-up; "
     "0 disables"},
    {"ticket", "due_urgent", K_INT, OFF(due_urgent), "10", 1, 525600,
     "first-response target of urgent tickets, minutes"},
    {"ticket", "due_complaint", K_INT, OFF(due_complaint), "120", 1, 525600,
     "first-response target of complaints, minutes"},
    {"ticket", "due_normal", K_INT, OFF(due_normal), "30", 1, 525600,
     "first-response target of other tickets, minutes"},
    {"ticket", "builtin_patterns", K_BOOL, OFF(builtin_patterns), "yes", 0, 0,
     "try the built-in subject formats after the [pattern] sections"},
    {"ack", "enabled", K_BOOL, OFF(ack_enabled), "yes", 0, 0,
     "acknowledge new tickets by mail"},
    {"ack", "template", K_STR, OFF(ack_template), "", 0, 0,
     "ack body template file; empty: the built-in bilingual text"},
    {"ack", "max_acks_per_sender", K_INT, OFF(max_acks_per_sender), "5", 0,
     10000, "acks to one address per 24 hours (queued ones count)"},
    {"limits", "attachment_max", K_SIZE, OFF(attachment_max), "10M", 1, SZ_G,
     "largest attachment stored; larger ones are recorded skipped"},
    {"limits", "message_max", K_SIZE, OFF(message_max), "25M", 1024, 4 * SZ_G,
     "largest message downloaded whole"},
    {"limits", "max_parts", K_INT, OFF(max_parts), "50", 1, 10000,
     "MIME parts walked per message"},
    {"limits", "max_depth", K_INT, OFF(max_depth), "16", 1, 64,
     "MIME nesting depth walked"},
    {"limits", "header_max", K_SIZE, OFF(header_max), "256K", 1024, 64 * SZ_M,
     "bytes of a header block read"},
};

#define N_KEYS (sizeof(config_keys) / sizeof(config_keys[0]))

struct load_ctx {
	const char *path;
	FILE *errs;
	int nerr;
};

/* cerr - report one error as FILE:LINE: message */
static void
cerr(struct load_ctx *c, int line, const char *msg, const char *arg)
{
	c->nerr++;
	if (arg != NULL)
		fprintf(c->errs, "%s:%d: %s: %s\n", c->path, line, msg, arg);
	else
		fprintf(c->errs, "%s:%d: %s\n", c->path, line, msg);
}

/* parse_size - "10M" style sizes, overflow-checked; -1 if bad */
static int
parse_size(const char *v, long long *out)
{
	char *end;
	unsigned long long n, mul = 1;

	if (v[0] < '0' || v[0] > '9')
		return -1;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno != 0)
		return -1;
	if (*end == 'K' || *end == 'k')
		mul = 1024;
	else if (*end == 'M' || *end == 'm')
		mul = 1024 * 1024;
	else if (*end == 'G' || *end == 'g')
		mul = 1024ULL * 1024 * 1024;
	else if (*end != '\0')
		return -1;
	if (*end != '\0' && end[1] != '\0')
		return -1;
	if (n > (unsigned long long)LLONG_MAX / mul)
		return -1;
	*out = (long long)(n * mul);
	return 0;
}

/* set_value - parse v into the field of key k; NULL or an error text */
static const char *
set_value(struct config *cfg, const struct config_key *k, const char *v)
{
	char *field = (char *)cfg + k->offset;
	long long n;
	char *end;

	switch (k->type) {
	case K_STR: {
		char *copy = strdup(v), **slot = (char **)(void *)field;

		if (copy == NULL)
			return "out of memory";
		free(*slot);
		*slot = copy;
		return NULL;
	}
	case K_INT:
		errno = 0;
		n = strtoll(v, &end, 10);
		if (errno != 0 || end == v || *end != '\0')
			return "not a number";
		if (n < k->min || n > k->max)
			return "out of range";
		*(long *)(void *)field = (long)n;
		return NULL;
	case K_SIZE:
		if (parse_size(v, &n) != 0)
			return "not a size (N, NK, NM or NG)";
		if (n < k->min || n > k->max)
			return "out of range";
		*(size_t *)(void *)field = (size_t)n;
		return NULL;
	case K_BOOL:
		if (strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0 ||
		    strcmp(v, "1") == 0 || strcasecmp(v, "on") == 0)
			*(bool *)(void *)field = true;
		else if (strcasecmp(v, "no") == 0 ||
		         strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0 ||
		         strcasecmp(v, "off") == 0)
			*(bool *)(void *)field = false;
		else
			return "not yes or no";
		return NULL;
	case K_TLS:
		if (strcmp(v, "implicit") == 0)
			*(int *)(void *)field = CONFIG_TLS_IMPLICIT;
		else if (strcmp(v, "starttls") == 0)
			*(int *)(void *)field = CONFIG_TLS_STARTTLS;
		else if (strcmp(v, "none") == 0)
			*(int *)(void *)field = CONFIG_TLS_NONE;
		else
			return "not implicit, starttls or none";
		return NULL;
	}
	return "bad key type";
}

/* config_free - release */
void
config_free(struct config **pp)
{
	struct config *c;
	size_t i;

	if (pp == NULL || *pp == NULL)
		return;
	c = *pp;
	for (i = 0; i < N_KEYS; i++)
		if (config_keys[i].type == K_STR)
			free(*(char **)(void *)((char *)c +
			                        config_keys[i].offset));
	for (i = 0; i < c->n_patterns; i++) {
		free(c->patterns[i].name);
		free(c->patterns[i].value);
	}
	for (i = 0; i < c->n_categories; i++) {
		free(c->categories[i].name);
		free(c->categories[i].value);
	}
	free(c->path);
	free(c);
	*pp = NULL;
}

/* config_defaults - every key at its default */
struct config *
config_defaults(void)
{
	struct config *c = calloc(1, sizeof(*c));
	size_t i;

	if (c == NULL)
		return NULL;
	for (i = 0; i < N_KEYS; i++)
		if (set_value(c, &config_keys[i], config_keys[i].dflt) !=
		    NULL) {
			config_free(&c);
			return NULL;
		}
	return c;
}

/* trim - strip blanks at both ends, in place */
static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
	                 e[-1] == '\n'))
		e--;
	*e = '\0';
	return s;
}

/* strip_comment - cut an unquoted " #" comment from a value */
static void
strip_comment(char *v)
{
	char *p;

	for (p = v; *p != '\0'; p++)
		if (*p == '#' && (p == v || p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			return;
		}
}

/* named_section - parse `pattern "name"`; returns kind 1/2 or 0 */
static int
named_section(char *sec, char **name_r)
{
	char *q1 = strchr(sec, '"'), *q2;
	int kind;

	if (q1 == NULL)
		return 0;
	q2 = strrchr(sec, '"');
	if (q2 == q1)
		return -1;
	*q2 = '\0';
	*name_r = q1 + 1;
	*q1 = '\0';
	sec = trim(sec);
	if (strcmp(sec, "pattern") == 0)
		kind = 1;
	else if (strcmp(sec, "category") == 0)
		kind = 2;
	else
		return -1;
	return kind;
}

/* valid_prefix - ticket prefix: 1-8 ASCII letters or digits */
static bool
valid_prefix(const char *p)
{
	size_t i;

	for (i = 0; p[i] != '\0'; i++)
		if (!((p[i] >= 'A' && p[i] <= 'Z') ||
		      (p[i] >= 'a' && p[i] <= 'z') ||
		      (p[i] >= '0' && p[i] <= '9')))
			return false;
	return i >= 1 && i <= 8;
}

/* config_load - read and validate a file */
int
config_load(const char *path, struct config **cfg_r, FILE *errs)
{
	struct load_ctx ctx = {path, errs, 0};
	struct config *cfg;
	char line[CONFIG_LINE_MAX + 2];
	char section[128] = "";
	struct config_named *named = NULL;
	int lineno = 0;
	FILE *f;

	cfg = config_defaults();
	if (cfg == NULL) {
		fprintf(errs, "%s: out of memory\n", path);
		return -1;
	}
	cfg->path = strdup(path);
	f = fopen(path, "r");
	if (f == NULL) {
		fprintf(errs, "%s: %s\n", path, strerror(errno));
		config_free(&cfg);
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *s, *eq, *key, *val;
		const char *why;
		size_t i, len = strlen(line);

		lineno++;
		if (len > CONFIG_LINE_MAX ||
		    (len == CONFIG_LINE_MAX + 1 && line[len - 1] != '\n')) {
			int ch;

			cerr(&ctx, lineno, "line too long", NULL);
			while ((ch = fgetc(f)) != EOF && ch != '\n')
				;
			continue;
		}
		s = trim(line);
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *close = strrchr(s, ']'), *name = NULL;
			int kind;

			named = NULL;
			if (close == NULL) {
				cerr(&ctx, lineno, "unterminated section", s);
				section[0] = '\0';
				continue;
			}
			*close = '\0';
			s = trim(s + 1);
			kind = named_section(s, &name);
			if (kind < 0) {
				cerr(&ctx, lineno, "unknown section", s);
				section[0] = '?';
				section[1] = '\0';
				continue;
			}
			if (kind > 0) {
				struct config_named *arr =
				    kind == 1 ? cfg->patterns : cfg->categories;
				size_t *n = kind == 1 ? &cfg->n_patterns
				                      : &cfg->n_categories;

				if (*name == '\0' || *n >= CONFIG_NAMED_MAX) {
					cerr(&ctx, lineno,
					     "empty name or too many sections",
					     NULL);
					section[0] = '?';
					section[1] = '\0';
					continue;
				}
				for (i = 0; i < *n; i++)
					if (strcmp(arr[i].name, name) == 0)
						cerr(&ctx, lineno,
						     "duplicate section name",
						     name);
				named = &arr[*n];
				named->name = strdup(name);
				named->value = NULL;
				named->line = lineno;
				(*n)++;
				(void)snprintf(section, sizeof(section), "%s",
				               kind == 1 ? "pattern"
				                         : "category");
				continue;
			}
			for (i = 0; i < N_KEYS; i++)
				if (strcmp(config_keys[i].section, s) == 0)
					break;
			if (i == N_KEYS) {
				cerr(&ctx, lineno, "unknown section", s);
				section[0] = '?';
				section[1] = '\0';
				continue;
			}
			(void)snprintf(section, sizeof(section), "%s", s);
			continue;
		}
		eq = strchr(s, '=');
		if (eq == NULL) {
			cerr(&ctx, lineno, "expected key = value", NULL);
			continue;
		}
		*eq = '\0';
		key = trim(s);
		val = eq + 1;
		if (named == NULL || strcmp(key, "regex") != 0)
			strip_comment(val);
		val = trim(val);
		if (section[0] == '?')
			continue; /* already reported */
		if (section[0] == '\0') {
			cerr(&ctx, lineno, "key outside a section", key);
			continue;
		}
		if (named != NULL) {
			const char *want = strcmp(section, "pattern") == 0
			                       ? "regex"
			                       : "keywords";

			if (strcmp(key, want) != 0) {
				cerr(&ctx, lineno, "unknown key", key);
				continue;
			}
			free(named->value);
			named->value = strdup(val);
			continue;
		}
		for (i = 0; i < N_KEYS; i++)
			if (strcmp(config_keys[i].section, section) == 0 &&
			    strcmp(config_keys[i].name, key) == 0)
				break;
		if (i == N_KEYS) {
			cerr(&ctx, lineno, "unknown key", key);
			continue;
		}
		why = set_value(cfg, &config_keys[i], val);
		if (why != NULL)
			cerr(&ctx, lineno, why, key);
	}
	if (ferror(f))
		cerr(&ctx, lineno, "read error", strerror(errno));
	fclose(f);
	{
		size_t i;

		for (i = 0; i < cfg->n_patterns; i++)
			if (cfg->patterns[i].value == NULL ||
			    cfg->patterns[i].value[0] == '\0')
				cerr(&ctx, cfg->patterns[i].line,
				     "pattern section without regex",
				     cfg->patterns[i].name);
		for (i = 0; i < cfg->n_categories; i++)
			if (cfg->categories[i].value == NULL ||
			    cfg->categories[i].value[0] == '\0')
				cerr(&ctx, cfg->categories[i].line,
				     "category section without keywords",
				     cfg->categories[i].name);
	}
	if (!valid_prefix(cfg->ticket_prefix))
		cerr(&ctx, 0, "[ticket] prefix must be 1-8 letters or digits",
		     NULL);
	if (cfg->state_dir[0] != '/')
		cerr(&ctx, 0, "[store] state_dir must be an absolute path",
		     NULL);
	if (ctx.nerr > 0) {
		config_free(&cfg);
		return -1;
	}
	*cfg_r = cfg;
	return 0;
}

/* config_print_keys - the key table as text */
void
config_print_keys(FILE *out)
{
	static const char *const tnames[] = {"string", "integer", "yes|no",
	                                     "size", "implicit|starttls|none"};
	size_t i;

	for (i = 0; i < N_KEYS; i++)
		fprintf(out, "  [%s] %s (%s, default \"%s\"): %s\n",
		        config_keys[i].section, config_keys[i].name,
		        tnames[config_keys[i].type], config_keys[i].dflt,
		        config_keys[i].help);
	fprintf(out, "  [pattern \"NAME\"] regex (PCRE2, named groups): "
	             "subject format tried before the built-ins\n");
	fprintf(out, "  [category \"NAME\"] keywords (comma-separated): "
	             "category rule tried before the built-ins\n");
}

/* read_secret_file - read a small secret file after checking its mode */
static char *
read_secret_file(const char *path, bool check_mode, char *err, size_t errlen)
{
	struct stat st;
	char buf[1024];
	ssize_t n;
	size_t len = 0;
	char *out;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	if (check_mode && ((st.st_uid != 0 && st.st_uid != geteuid()) ||
	                   (st.st_mode & 077) != 0)) {
		(void)snprintf(err, errlen,
		               "%s: must be owned by us or root with no "
		               "group/other access",
		               path);
		close(fd);
		return NULL;
	}
	while (len < sizeof(buf) - 1 &&
	       (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	if (len >= sizeof(buf) - 1) {
		explicit_bzero(buf, sizeof(buf));
		(void)snprintf(err, errlen, "%s: secret too long", path);
		return NULL;
	}
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	out = strdup(buf);
	explicit_bzero(buf, sizeof(buf));
	if (out == NULL)
		(void)snprintf(err, errlen, "out of memory");
	return out;
}

/* config_read_secret - credential or password file */
char *
config_read_secret(const struct config *c, const char *which, char *err,
                   size_t errlen)
{
	bool imap = strcmp(which, "imap") == 0;
	const char *cred = imap ? c->imap_credential : c->smtp_credential;
	const char *file = imap ? c->imap_password_file : c->smtp_password_file;
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	char path[4096];

	err[0] = '\0';
	if (cred[0] != '\0') {
		if (dir == NULL) {
			(void)snprintf(err, errlen,
			               "credential %s configured but "
			               "$CREDENTIALS_DIRECTORY is not set",
			               cred);
			return NULL;
		}
		if (strchr(cred, '/') != NULL ||
		    (size_t)snprintf(path, sizeof(path), "%s/%s", dir, cred) >=
		        sizeof(path)) {
			(void)snprintf(err, errlen, "bad credential name");
			return NULL;
		}
		return read_secret_file(path, false, err, errlen);
	}
	if (file[0] != '\0')
		return read_secret_file(file, true, err, errlen);
	return NULL;
}

/* SPDX-License-Identifier: MIT */
/*
 * ticketd.c - the daemon's entry point: options, config check.  The IMAP
 * loop and the outbox sender are added by the daemon issue; today ticketd
 * validates a configuration (--check-config) and reports its version.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "config.h"
#include "glue.h"
#include "version.h"

#define DEFAULT_CONFIG "/etc/ticketd/ticketd.conf"

/* usage - help text */
static void
usage(FILE *f)
{
	fprintf(f, "usage: ticketd [-c FILE] [-f] [--check-config] "
		   "[--log-level LEVEL]\n"
		   "       ticketd --help | --version\n\n"
		   "  -c, --config FILE   configuration (default " DEFAULT_CONFIG
		   ")\n"
		   "  -f, --foreground    log to stderr with timestamps\n"
		   "  --check-config      validate the configuration and exit\n"
		   "  --log-level LEVEL   err|warning|notice|info|debug\n\n"
		   "configuration keys:\n");
	config_print_keys(f);
}

/* check_config - load, compile patterns, report */
static int
check_config(const char *path)
{
	struct config *cfg = NULL;
	struct parser *p = NULL;
	char err[256];

	if (config_load(path, &cfg, stderr) != 0)
		return EX_CONFIG;
	if (glue_parser_new(cfg, &p, err, sizeof(err)) != PARSER_OK) {
		fprintf(stderr, "%s: %s\n", path, err);
		config_free(&cfg);
		return EX_CONFIG;
	}
	parser_free(&p);
	config_free(&cfg);
	printf("%s: configuration ok\n", path);
	return 0;
}

/* main - options */
int
main(int argc, char **argv)
{
	const char *path = DEFAULT_CONFIG;
	int i;
	bool is_check = false;

	for (i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 ||
			strcmp(argv[i], "--config") == 0) &&
		    i + 1 < argc) {
			path = argv[++i];
		} else if (strcmp(argv[i], "--check-config") == 0) {
			is_check = true;
		} else if (strcmp(argv[i], "-f") == 0 ||
		    strcmp(argv[i], "--foreground") == 0) {
			continue;
		} else if (strcmp(argv[i], "--log-level") == 0 &&
		    i + 1 < argc) {
			i++;
		} else if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("ticketd " TICKETD_VERSION "\n");
			return 0;
		} else {
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (is_check)
		return check_config(path);
	fprintf(stderr, "ticketd: the IMAP service loop is not built yet; "
			"use --check-config or ticketctl\n");
	return EX_UNAVAILABLE;
}

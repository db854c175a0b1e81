/* SPDX-License-Identifier: MIT */
/*
 * ticketctl.c - the admin's command-line tool: global options, config
 * loading and dispatch to the ctl_<name>() subcommands.  It links the
 * parser, the store and the config reader, never IMAP code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ticketctl.h"
#include "version.h"

#define DEFAULT_CONFIG "/etc/ticketd/ticketd.conf"

struct command {
	const char *name;
	int (*fn)(struct ctl *ctl, int argc, char **argv);
	bool needs_config; /* must have a readable config file */
	const char *usage;
};

static const struct command commands[] = {
    {"parse", ctl_parse, false,
     "parse FILE...              show how messages would be filed"},
    {"ingest", ctl_ingest, true,
     "ingest FILE...|-           file messages (- = stdin, MTA pipe)"},
    {"list", ctl_list, true,
     "list [--status S] [--priority P] [--category C] [--overdue]\n"
     "       [--since YYYY-MM-DD|Nd] [--requester ADDR] [--order NO]\n"
     "       [--limit N]                list tickets"},
    {"show", ctl_show, true,
     "show ID                    a ticket with messages, attachments"},
    {"attachment", ctl_attachment, true,
     "attachment ID N -o FILE|- [-f]  export attachment N (verified)"},
    {"status", ctl_status, true,
     "status ID STATUS           new|open|pending|resolved|closed"},
    {"outbox", ctl_outbox, true,
     "outbox [--failed] [--retry ID | --all]  list or requeue acks"},
    {"quarantine", ctl_quarantine, true,
     "quarantine [--all] [--reprocess ID]  list or re-file"},
    {"purge", ctl_purge, true,
     "purge --older-than DAYS [--dry-run] [--anonymise]  retention"},
    {"stats", ctl_stats, true,
     "stats                      counts by status, priority, ..."},
    {"check", ctl_check, true,
     "check [--files]            integrity of the database (and files)"},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

/* usage - print help to f */
static void
usage(FILE *f)
{
	size_t i;

	fprintf(
	    f,
	    "usage: ticketctl [-c FILE] [--json] COMMAND [ARGS...]\n"
	    "       ticketctl --help | --version\n\n"
	    "options:\n"
	    "  -c, --config FILE  configuration file (default " DEFAULT_CONFIG
	    ")\n"
	    "  --json             machine-readable output (JSON)\n"
	    "  -h, --help         this text\n"
	    "  --version          print the version\n\n"
	    "commands:\n");
	for (i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %s\n", commands[i].usage);
	fprintf(f, "\nevery command takes --json; all but parse need a "
	           "config with [store] state_dir.\n"
	           "exit status: 0 ok, 1 not found, 2 usage or config "
	           "error, 3 failure;\n"
	           "ingest exits 75 (EX_TEMPFAIL) when the store failed. "
	           "See ticketctl(1).\n");
}

/* main - parse global options, load config, run the command */
int
main(int argc, char **argv)
{
	struct ctl ctl;
	const struct command *cmd = NULL;
	int i, rc;
	size_t k;

	memset(&ctl, 0, sizeof(ctl));
	ctl.config_path = DEFAULT_CONFIG;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 ||
		    strcmp(argv[i], "--config") == 0) {
			if (i + 1 >= argc) {
				usage(stderr);
				return CTL_USAGE;
			}
			ctl.config_path = argv[++i];
			ctl.is_config_given = true;
		} else if (strcmp(argv[i], "--json") == 0) {
			ctl.json = true;
		} else if (strcmp(argv[i], "-h") == 0 ||
		           strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return CTL_OK;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("ticketctl " TICKETD_VERSION "\n");
			return CTL_OK;
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "ticketctl: unknown option %s\n",
			        argv[i]);
			usage(stderr);
			return CTL_USAGE;
		} else {
			break;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return CTL_USAGE;
	}
	for (k = 0; k < N_COMMANDS; k++)
		if (strcmp(commands[k].name, argv[i]) == 0)
			cmd = &commands[k];
	if (cmd == NULL) {
		fprintf(stderr, "ticketctl: unknown command %s\n", argv[i]);
		usage(stderr);
		return CTL_USAGE;
	}
	if (ctl.is_config_given || cmd->needs_config) {
		if (config_load(ctl.config_path, &ctl.cfg, stderr) != 0)
			return CTL_USAGE;
	} else {
		ctl.cfg = config_defaults();
		if (ctl.cfg == NULL) {
			fprintf(stderr, "ticketctl: out of memory\n");
			return CTL_FAILED;
		}
	}
	rc = cmd->fn(&ctl, argc - i - 1, argv + i + 1);
	config_free(&ctl.cfg);
	return rc;
}

/* SPDX-License-Identifier: MIT */
/*
 * ticketctl.h - what ticketctl's subcommands share (private to daemon/).
 * Each ctl_<name>() gets the arguments after the subcommand name and
 * returns the process exit status of SPEC §10: CTL_OK, CTL_NOT_FOUND,
 * CTL_USAGE (usage or config error), or CTL_FAILED.
 */
#ifndef DAEMON_TICKETCTL_H
#define DAEMON_TICKETCTL_H

#include <stdbool.h>

#include "config.h"

enum {
	CTL_OK = 0,
	CTL_NOT_FOUND = 1,
	CTL_USAGE = 2,
	CTL_FAILED = 3,
};

struct ctl {
	const char *config_path;	/* borrowed from argv */
	bool is_config_given;		/* -c was on the command line */
	bool json;			/* --json anywhere */
	struct config *cfg;		/* owned; defaults when none given */
};

/* ctl_parse - `parse FILE...`: show how messages would be filed. */
int ctl_parse(struct ctl *ctl, int argc, char **argv);

#endif

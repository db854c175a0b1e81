/* SPDX-License-Identifier: MIT */
/* version.h - the release version printed by --version. */
#ifndef DAEMON_VERSION_H
#define DAEMON_VERSION_H

#define TICKETD_VERSION "0.1.0"

#endif

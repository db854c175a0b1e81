/* SPDX-License-Identifier: MIT */
/*
 * smtp.h - send one finished message to one recipient over SMTP with
 * libcurl (LIBRARIES.md §4), reusing one connection for consecutive
 * messages.  Outcomes are what the outbox needs (SPEC §7): sent, retry
 * later (4xx, network, TLS, timeouts, refused login) or fail for good
 * (5xx, an unusable recipient).  The module never logs the password and
 * never puts it in an error text; results carry one sanitised line.
 *
 * Transport security, from the URL:
 *   smtps://host[:465]  implicit TLS;
 *   smtp://host[:587]   STARTTLS required (CURLUSESSL_ALL), except when
 *                       host is a loopback address (127.0.0.0/8, ::1,
 *                       "localhost"): then plain SMTP, no STARTTLS, for a
 *                       local MTA relay; is_tls_required forbids that.
 * Certificates and host names are always verified (system CAs, plus
 * ca_file when set).  A URL holding a user name or password is refused:
 * credentials come from the settings only.
 */
#ifndef DAEMON_SMTP_H
#define DAEMON_SMTP_H

#include <stdbool.h>
#include <stddef.h>

/* Longest error text kept in a result, NUL included. */
#define SMTP_ERROR_MAX 320
/* Longest server reply line remembered (bytes; the rest is cut). */
#define SMTP_REPLY_MAX 120
/* Default whole-transaction timeout when the settings say 0. */
#define SMTP_TIMEOUT_DEFAULT 30

enum smtp_status {
	SMTP_OK = 0,
	SMTP_SENT = SMTP_OK, /* the server took the message (250) */
	SMTP_TEMPFAIL,       /* 4xx, network, TLS, timeout: retry later */
	SMTP_PERMFAIL,       /* 5xx or an invalid recipient: give up */
	SMTP_BAD_CONFIG,     /* smtp_new: unusable URL or From address */
	SMTP_NOMEM,
};

enum smtp_tls {
	SMTP_TLS_IMPLICIT, /* smtps:// */
	SMTP_TLS_STARTTLS, /* smtp://, STARTTLS required */
	SMTP_TLS_NONE,     /* smtp:// to a loopback host */
};

/* Settings; every pointer is borrowed for the duration of smtp_new. */
struct smtp_settings {
	const char *url;       /* smtps://host:465 or smtp://host:port */
	const char *user;      /* NULL or "": no AUTH */
	const char *password;  /* NULL allowed; copied, wiped on free */
	const char *ca_file;   /* NULL or "": system CAs only */
	long timeout_s;        /* whole transaction; 0: SMTP_TIMEOUT_DEFAULT */
	const char *from_addr; /* bare addr-spec for MAIL FROM */
	bool is_tls_required;  /* refuse plain SMTP even on loopback */
};

/* What one smtp_send did. */
struct smtp_result {
	int status;                 /* enum smtp_status */
	long code;                  /* last SMTP reply code; 0 when none */
	int curl_code;              /* CURLcode of the transfer */
	long new_connections;       /* 0 when an open connection was reused */
	char error[SMTP_ERROR_MAX]; /* "" when sent; else one line */
};

struct smtp;

/*
 * smtp_new - check the settings and make a sender (one libcurl easy
 * handle; curl_global_init is reference-counted by libcurl).  Returns
 * SMTP_OK and sets *smtp_r (free with smtp_free), SMTP_BAD_CONFIG with err
 * saying why (bad URL or scheme, credentials in the URL, bad from_addr),
 * or SMTP_NOMEM.
 */
int smtp_new(const struct smtp_settings *s, struct smtp **smtp_r, char *err,
             size_t errlen);

/* smtp_free - close the connection, wipe the password; accepts NULL. */
void smtp_free(struct smtp **p);

/*
 * smtp_send - deliver len bytes of msg (borrowed: a complete RFC 5322
 * message with CRLF line ends; curl dot-stuffs it) to the one recipient
 * rcpt (borrowed addr-spec).  Fills *r and returns r->status: SMTP_SENT
 * only on curl's success; SMTP_PERMFAIL for a 5xx reply (except a refused
 * login, 535, which is our configuration: SMTP_TEMPFAIL) or an rcpt that
 * is not a plain addr-spec; SMTP_TEMPFAIL otherwise.  The next call reuses
 * the connection when the server kept it open.
 */
int smtp_send(struct smtp *smtp, const char *rcpt, const char *msg, size_t len,
              struct smtp_result *r);

/* smtp_tls_mode - the enum smtp_tls a URL (borrowed) gets, or -1. */
int smtp_tls_mode(const char *url);

/* smtp_status_name - static name of a status ("sent", "tempfail", ...). */
const char *smtp_status_name(int status);

#endif

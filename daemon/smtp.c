/* SPDX-License-Identifier: MIT */
/*
 * smtp.c - the SMTP client of the outbox sender, over one libcurl easy
 * handle kept between messages so that consecutive acks share a connection.
 * It maps curl's outcome and the last reply code to sent / retry / give up
 * (LIBRARIES.md §4), and keeps the server's last reply line, capped and
 * stripped of controls, for the error text.  The password is copied once,
 * handed to curl, and wiped on free; it never reaches an error text.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "daemon/smtp.h"

/* RFC 5321 path limit, brackets excluded. */
#define SMTP_ADDR_MAX 254
/* Shortest password masked out of error texts (shorter ones would turn
 * ordinary words into asterisks). */
#define SMTP_MASK_MIN 4

struct smtp {
	CURL *curl;      /* owned */
	char *password;  /* owned; wiped on free */
	char *mail_from; /* owned: "<addr>" */
	const char *msg; /* borrowed during smtp_send */
	size_t len, off;
	char errbuf[CURL_ERROR_SIZE];
	char reply[SMTP_REPLY_MAX + 1]; /* last 4xx/5xx line, cleaned */
};

/* smtp_seterr - one error line unless err is NULL */
static void
smtp_seterr(char *err, size_t errlen, const char *msg)
{
	if (err != NULL && errlen > 0)
		(void)snprintf(err, errlen, "%s", msg);
}

/* smtp_status_name - static name of a status */
const char *
smtp_status_name(int status)
{
	switch (status) {
	case SMTP_SENT:
		return "sent";
	case SMTP_TEMPFAIL:
		return "tempfail";
	case SMTP_PERMFAIL:
		return "permfail";
	case SMTP_BAD_CONFIG:
		return "bad_config";
	case SMTP_NOMEM:
		return "nomem";
	default:
		return "unknown";
	}
}

/* smtp_addr_valid - a plain ASCII addr-spec, nothing that could end
 * the SMTP command line or the angle-bracket path */
static bool
smtp_addr_valid(const char *s)
{
	size_t i, at = 0, n_at = 0;
	unsigned char c;

	if (s == NULL)
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= SMTP_ADDR_MAX)
			return false;
		c = (unsigned char)s[i];
		if (c == '@') {
			at = i;
			n_at++;
		} else if (c <= 0x20 || c >= 0x7f ||
		           strchr("()<>,;:\\\"[]", c) != NULL) {
			return false;
		}
	}
	return n_at == 1 && at > 0 && at + 1 < i;
}

/* smtp_is_loopback - "localhost", 127.0.0.0/8 or ::1 (also v4-mapped) */
static bool
smtp_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	char tmp[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(host);

	if (strcasecmp(host, "localhost") == 0 ||
	    strcasecmp(host, "localhost.") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	/* curl gives IPv6 hosts in brackets */
	if (n < 3 || host[0] != '[' || host[n - 1] != ']' ||
	    n - 2 >= sizeof(tmp))
		return false;
	memcpy(tmp, host + 1, n - 2);
	tmp[n - 2] = '\0';
	if (inet_pton(AF_INET6, tmp, &a6) != 1)
		return false;
	if (IN6_IS_ADDR_LOOPBACK(&a6))
		return true;
	return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
}

/*
 * smtp_url_check - scheme, host and absence of credentials of url; sets
 * *tls_r.  Returns NULL when fine, else a static reason.
 */
static const char *
smtp_url_check(const char *url, int *tls_r)
{
	CURLU *u;
	char *scheme = NULL, *host = NULL, *user = NULL, *pass = NULL;
	const char *why = NULL;

	if (url == NULL || url[0] == '\0')
		return "smtp url is empty";
	u = curl_url();
	if (u == NULL)
		return "out of memory";
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		why = "smtp url is malformed";
		goto out;
	}
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PASSWORD, &pass, 0) == CURLUE_OK) {
		why = "smtp url must not hold credentials (use user and "
		      "password_file)";
		goto out;
	}
	if (strcmp(scheme, "smtps") == 0)
		*tls_r = SMTP_TLS_IMPLICIT;
	else if (strcmp(scheme, "smtp") == 0)
		*tls_r =
		    smtp_is_loopback(host) ? SMTP_TLS_NONE : SMTP_TLS_STARTTLS;
	else
		why = "smtp url scheme must be smtp or smtps";
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_free(pass);
	curl_url_cleanup(u);
	return why;
}

/* smtp_tls_mode - transport security a URL gets */
int
smtp_tls_mode(const char *url)
{
	int tls = -1;

	if (smtp_url_check(url, &tls) != NULL)
		return -1;
	return tls;
}

/* smtp_read - CURLOPT_READFUNCTION: the next piece of the message */
static size_t
smtp_read(char *ptr, size_t size, size_t nitems, void *userdata)
{
	struct smtp *s = userdata;
	size_t room, n;

	if (size != 0 && nitems > SIZE_MAX / size)
		nitems = SIZE_MAX / size;
	room = size * nitems;
	n = s->len - s->off;
	if (n > room)
		n = room;
	memcpy(ptr, s->msg + s->off, n);
	s->off += n;
	return n;
}

/* smtp_keep_reply - remember one reply line, controls made '?' */
static void
smtp_keep_reply(struct smtp *s, const char *line, size_t len)
{
	size_t i;

	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (len > SMTP_REPLY_MAX)
		len = SMTP_REPLY_MAX;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		s->reply[i] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
	}
	s->reply[len] = '\0';
}

/*
 * smtp_debug - CURLOPT_DEBUGFUNCTION: remember the server's last 4xx or
 * 5xx reply line (the QUIT reply after it must not hide it); only
 * HEADER_IN is read, so our own commands (AUTH included) never are
 */
static int
smtp_debug(CURL *curl, curl_infotype type, char *data, size_t size,
           void *userdata)
{
	struct smtp *s = userdata;
	const char *nl;
	size_t start = 0, end;

	(void)curl;
	if (type != CURLINFO_HEADER_IN)
		return 0;
	while (start < size) {
		nl = memchr(data + start, '\n', size - start);
		end = nl != NULL ? (size_t)(nl - data) : size;
		if (data[start] == '4' || data[start] == '5')
			smtp_keep_reply(s, data + start, end - start);
		start = end + 1;
	}
	return 0;
}

/* smtp_free - release the handle, wipe the password */
void
smtp_free(struct smtp **p)
{
	struct smtp *s;

	if (p == NULL || *p == NULL)
		return;
	s = *p;
	if (s->curl != NULL) {
		curl_easy_cleanup(s->curl);
		curl_global_cleanup();
	}
	if (s->password != NULL) {
		explicit_bzero(s->password, strlen(s->password));
		free(s->password);
	}
	free(s->mail_from);
	free(s);
	*p = NULL;
}

/* smtp_new - check settings, set up the reusable easy handle */
int
smtp_new(const struct smtp_settings *set, struct smtp **smtp_r, char *err,
         size_t errlen)
{
	struct smtp *s;
	const char *why;
	size_t n;
	long timeout;
	int tls = -1;
	CURLcode cc = CURLE_OK;

	*smtp_r = NULL;
	why = smtp_url_check(set->url, &tls);
	if (why != NULL) {
		smtp_seterr(err, errlen, why);
		return SMTP_BAD_CONFIG;
	}
	if (set->is_tls_required && tls == SMTP_TLS_NONE)
		tls = SMTP_TLS_STARTTLS;
	if (!smtp_addr_valid(set->from_addr)) {
		smtp_seterr(err, errlen,
		            "smtp from address is not a plain "
		            "address");
		return SMTP_BAD_CONFIG;
	}
	timeout = set->timeout_s > 0 ? set->timeout_s : SMTP_TIMEOUT_DEFAULT;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		goto nomem;
	n = strlen(set->from_addr) + 3;
	s->mail_from = malloc(n);
	if (s->mail_from == NULL)
		goto nomem;
	(void)snprintf(s->mail_from, n, "<%s>", set->from_addr);
	if (set->password != NULL) {
		s->password = strdup(set->password);
		if (s->password == NULL)
			goto nomem;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		goto nomem;
	s->curl = curl_easy_init();
	if (s->curl == NULL) {
		curl_global_cleanup();
		goto nomem;
	}
#define SMTP_SET(opt, val)                                                     \
	do {                                                                   \
		if (cc == CURLE_OK)                                            \
			cc = curl_easy_setopt(s->curl, opt, val);              \
	} while (0)
	SMTP_SET(CURLOPT_URL, set->url);
	SMTP_SET(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	SMTP_SET(CURLOPT_USE_SSL, tls == SMTP_TLS_NONE ? (long)CURLUSESSL_NONE
	                                               : (long)CURLUSESSL_ALL);
	SMTP_SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SMTP_SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (set->ca_file != NULL && set->ca_file[0] != '\0')
		SMTP_SET(CURLOPT_CAINFO, set->ca_file);
	if (set->user != NULL && set->user[0] != '\0') {
		SMTP_SET(CURLOPT_USERNAME, set->user);
		if (s->password != NULL)
			SMTP_SET(CURLOPT_PASSWORD, s->password);
	}
	SMTP_SET(CURLOPT_MAIL_FROM, s->mail_from);
	SMTP_SET(CURLOPT_UPLOAD, 1L);
	SMTP_SET(CURLOPT_READFUNCTION, smtp_read);
	SMTP_SET(CURLOPT_READDATA, s);
	SMTP_SET(CURLOPT_NOSIGNAL, 1L);
	SMTP_SET(CURLOPT_CONNECTTIMEOUT, timeout);
	SMTP_SET(CURLOPT_TIMEOUT, timeout);
	SMTP_SET(CURLOPT_ERRORBUFFER, s->errbuf);
	/* VERBOSE only feeds smtp_debug; nothing is printed */
	SMTP_SET(CURLOPT_DEBUGFUNCTION, smtp_debug);
	SMTP_SET(CURLOPT_DEBUGDATA, s);
	SMTP_SET(CURLOPT_VERBOSE, 1L);
#undef SMTP_SET
	if (cc != CURLE_OK) {
		smtp_seterr(err, errlen, curl_easy_strerror(cc));
		smtp_free(&s);
		return cc == CURLE_OUT_OF_MEMORY ? SMTP_NOMEM : SMTP_BAD_CONFIG;
	}
	*smtp_r = s;
	return SMTP_OK;
nomem:
	smtp_free(&s);
	smtp_seterr(err, errlen, "out of memory");
	return SMTP_NOMEM;
}

/* smtp_is_auth_code - 5xx replies that blame our login, not the message */
static bool
smtp_is_auth_code(long code)
{
	return code == 530 || code == 534 || code == 535 || code == 538;
}

/* smtp_mask - replace every copy of the password in text with "***" */
static void
smtp_mask(char *text, size_t size, const char *password)
{
	char tmp[SMTP_ERROR_MAX];
	size_t plen, o = 0;
	const char *p, *hit;

	if (password == NULL)
		return;
	plen = strlen(password);
	if (plen < SMTP_MASK_MIN || strstr(text, password) == NULL)
		return;
	p = text;
	hit = strstr(p, password);
	while (hit != NULL && o < sizeof(tmp)) {
		o += (size_t)snprintf(tmp + o, sizeof(tmp) - o, "%.*s***",
		                      (int)(hit - p), p);
		p = hit + plen;
		hit = strstr(p, password);
	}
	if (o < sizeof(tmp))
		(void)snprintf(tmp + o, sizeof(tmp) - o, "%s", p);
	(void)snprintf(text, size, "%s", tmp);
}

/* smtp_error_text - one clean line: curl's reason and the server's error */
static void
smtp_error_text(struct smtp *s, CURLcode cc, struct smtp_result *r)
{
	const char *why =
	    s->errbuf[0] != '\0' ? s->errbuf : curl_easy_strerror(cc);
	size_t i;

	if (r->code >= 400 && s->reply[0] != '\0')
		(void)snprintf(r->error, sizeof(r->error),
		               "%.160s (curl %d); server said: %.120s", why,
		               (int)cc, s->reply);
	else
		(void)snprintf(r->error, sizeof(r->error), "%.160s (curl %d)",
		               why, (int)cc);
	for (i = 0; r->error[i] != '\0'; i++) {
		unsigned char c = (unsigned char)r->error[i];

		if (c < 0x20 || c == 0x7f)
			r->error[i] = ' ';
	}
	smtp_mask(r->error, sizeof(r->error), s->password);
}

/* smtp_send - one message to one recipient */
int
smtp_send(struct smtp *s, const char *rcpt, const char *msg, size_t len,
          struct smtp_result *r)
{
	struct curl_slist *rcpts = NULL;
	char path[SMTP_ADDR_MAX + 3];
	long code = 0, conns = 0;
	CURLcode cc;

	memset(r, 0, sizeof(*r));
	if (!smtp_addr_valid(rcpt)) {
		r->status = SMTP_PERMFAIL;
		(void)snprintf(r->error, sizeof(r->error),
		               "invalid recipient address");
		return r->status;
	}
	(void)snprintf(path, sizeof(path), "<%s>", rcpt);
	rcpts = curl_slist_append(NULL, path);
	if (rcpts == NULL) {
		r->status = SMTP_TEMPFAIL;
		(void)snprintf(r->error, sizeof(r->error), "out of memory");
		return r->status;
	}
	s->msg = msg;
	s->len = len;
	s->off = 0;
	s->errbuf[0] = '\0';
	s->reply[0] = '\0';
	cc = curl_easy_setopt(s->curl, CURLOPT_MAIL_RCPT, rcpts);
	if (cc == CURLE_OK)
		cc = curl_easy_perform(s->curl);
	/* always read the code: 55 is a refused command or a socket error */
	if (curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code) !=
	    CURLE_OK)
		code = 0;
	if (curl_easy_getinfo(s->curl, CURLINFO_NUM_CONNECTS, &conns) !=
	    CURLE_OK)
		conns = -1;
	(void)curl_easy_setopt(s->curl, CURLOPT_MAIL_RCPT, NULL);
	curl_slist_free_all(rcpts);
	s->msg = NULL;
	r->code = code;
	r->curl_code = (int)cc;
	r->new_connections = conns;
	if (cc == CURLE_OK)
		r->status = SMTP_SENT;
	else if (cc == CURLE_LOGIN_DENIED || smtp_is_auth_code(code))
		r->status = SMTP_TEMPFAIL;
	else if (code >= 500 && code <= 599)
		r->status = SMTP_PERMFAIL;
	else
		r->status = SMTP_TEMPFAIL;
	if (r->status != SMTP_SENT)
		smtp_error_text(s, cc, r);
	return r->status;
}

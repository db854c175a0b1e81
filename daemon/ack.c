/* SPDX-License-Identifier: MIT */
/*
 * ack.c - compose the acknowledgment of a new ticket (SPEC §7): headers
 * built by hand with CRLF line ends, values from the incoming message
 * stripped of controls and RFC 2047 encoded, the body a template with
 * placeholders sent as base64 UTF-8 text.  Nothing here does I/O except
 * ack_template_load (one bounded file read) and ack_new_message_id (the
 * kernel's random bytes).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/utf8.h"
#include "daemon/ack.h"
#include "parser/parser.h"

/* Longest display name of From, ticket id, and short field values. */
#define ACK_NAME_MAX 200
#define ACK_ID_MAX 64
#define ACK_VALUE_MAX 100
/* Largest body before base64: template, help and expanded values. */
#define ACK_BODY_MAX (8 * ACK_TEMPLATE_MAX)
/* Longest placeholder name looked at, braces excluded. */
#define ACK_PLACEHOLDER_MAX 32

static const char ack_builtin[] =
    "您好，\n"
    "\n"
    "感谢您联系我们。您的来信已受理，工单号为 {ticket_id}。\n"
    "\n"
    "问题摘要：{summary}\n"
    "分类：{category}    优先级：{priority}\n"
    "预计处理时限：{due_at}\n"
    "订单号：{order_no}\n"
    "附件：{attachments}\n"
    "\n"
    "如需补充信息，请直接回复本邮件，并在邮件主题中保留 [{ticket_id}]，"
    "以便您的回复归入同一工单。\n"
    "\n"
    "Hello,\n"
    "\n"
    "Thank you for contacting us. We have received your message and "
    "opened ticket {ticket_id}.\n"
    "\n"
    "Summary: {summary}\n"
    "Category: {category}    Priority: {priority}\n"
    "Expected response by: {due_at}\n"
    "Order numbers: {order_no}\n"
    "Attachments: {attachments}\n"
    "\n"
    "To add information, reply to this email and keep [{ticket_id}] in "
    "the subject so that your reply joins the same ticket.\n"
    "\n"
    "此邮件为系统自动回复。/ This is an automatic reply.\n";

static const char ack_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* ack_seterr - write one error line unless err is NULL */
static void
ack_seterr(char *err, size_t errlen, const char *msg, const char *arg)
{
	if (err == NULL || errlen == 0)
		return;
	if (arg != NULL)
		(void)snprintf(err, errlen, "%s: %s", msg, arg);
	else
		(void)snprintf(err, errlen, "%s", msg);
}

/* ack_builtin_template - the built-in bilingual template */
const char *
ack_builtin_template(void)
{
	return ack_builtin;
}

/* ack_status_name - static name of a status */
const char *
ack_status_name(int status)
{
	switch (status) {
	case ACK_OK:
		return "ok";
	case ACK_BAD_RECIPIENT:
		return "bad_recipient";
	case ACK_BAD_FIELD:
		return "bad_field";
	case ACK_BAD_TEMPLATE:
		return "bad_template";
	case ACK_NOMEM:
		return "nomem";
	default:
		return "unknown";
	}
}

/* ack_template_load - the built-in text or a bounded UTF-8 file */
int
ack_template_load(const char *path, char **text_r, char *err, size_t errlen)
{
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	ssize_t n;
	int fd = -1, rc = ACK_BAD_TEMPLATE;

	*text_r = NULL;
	if (path == NULL || path[0] == '\0') {
		*text_r = strdup(ack_builtin);
		return *text_r != NULL ? ACK_OK : ACK_NOMEM;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		ack_seterr(err, errlen, "cannot open ack template",
		           strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		ack_seterr(err, errlen, "ack template is not a regular file",
		           NULL);
		goto out;
	}
	/* One byte more than allowed tells "too large" from "just fits". */
	text = malloc(ACK_TEMPLATE_MAX + 2);
	if (text == NULL) {
		rc = ACK_NOMEM;
		goto out;
	}
	while (len < ACK_TEMPLATE_MAX + 1) {
		n = read(fd, text + len, ACK_TEMPLATE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ack_seterr(err, errlen, "cannot read ack template",
			           strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > ACK_TEMPLATE_MAX) {
		ack_seterr(err, errlen, "ack template too large",
		           "over 65536 bytes");
		goto out;
	}
	if (memchr(text, '\0', len) != NULL) {
		ack_seterr(err, errlen, "ack template contains a NUL byte",
		           NULL);
		goto out;
	}
	if (!utf8_valid(text, len)) {
		ack_seterr(err, errlen, "ack template is not valid UTF-8",
		           NULL);
		goto out;
	}
	text[len] = '\0';
	*text_r = text;
	text = NULL;
	rc = ACK_OK;
out:
	free(text);
	if (fd >= 0)
		(void)close(fd);
	return rc;
}

/* ack_is_special - RFC 5322 specials, quotes and blanks in an addr-spec */
static bool
ack_is_special(unsigned char c)
{
	return c <= 0x20 || c >= 0x7f || strchr("()<>,;:\\\"[]", c) != NULL;
}

/* ack_addr_valid - plain ASCII addr-spec check */
bool
ack_addr_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i, at = 0, n_at = 0;

	if (s == NULL)
		return false;
	for (i = 0; p[i] != '\0'; i++) {
		if (i >= ACK_ADDR_MAX)
			return false;
		if (p[i] == '@') {
			at = i;
			n_at++;
		} else if (ack_is_special(p[i])) {
			return false;
		}
	}
	return n_at == 1 && at > 0 && at + 1 < i;
}

/* ack_trim - bounds of s[0..len) without leading and trailing blanks */
static void
ack_trim(const char **s, size_t *len)
{
	while (*len > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
		(*len)--;
}

/*
 * ack_split_from - "Name <addr>" or "addr" into the display name bounds
 * (possibly empty) and the address copied into addr; false when malformed
 */
static bool
ack_split_from(const char *from, const char **name, size_t *name_len,
               char *addr, size_t addrlen)
{
	const char *lt, *gt, *a;
	size_t alen;

	*name = from;
	*name_len = 0;
	lt = strrchr(from, '<');
	if (lt != NULL) {
		gt = strchr(lt, '>');
		if (gt == NULL)
			return false;
		a = gt + 1;
		alen = strlen(a);
		ack_trim(&a, &alen);
		if (alen != 0)
			return false;
		a = lt + 1;
		alen = (size_t)(gt - a);
		*name_len = (size_t)(lt - from);
		ack_trim(name, name_len);
	} else {
		a = from;
		alen = strlen(from);
		ack_trim(&a, &alen);
	}
	if (alen == 0 || alen >= addrlen)
		return false;
	memcpy(addr, a, alen);
	addr[alen] = '\0';
	return ack_addr_valid(addr);
}

/* ack_from_address - the addr-spec of a From value */
int
ack_from_address(const char *from, char *buf, size_t len)
{
	const char *name;
	size_t name_len;

	if (from == NULL || len == 0)
		return -1;
	if (!ack_split_from(from, &name, &name_len, buf, len)) {
		buf[0] = '\0';
		return -1;
	}
	return 0;
}

/* ack_domain_valid - letters, digits, '-' and '.' in non-empty labels */
static bool
ack_domain_valid(const char *d)
{
	size_t i, label = 0;

	for (i = 0; d[i] != '\0'; i++) {
		if (i >= ACK_ADDR_MAX)
			return false;
		if (d[i] == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if ((d[i] >= 'a' && d[i] <= 'z') ||
		           (d[i] >= 'A' && d[i] <= 'Z') ||
		           (d[i] >= '0' && d[i] <= '9') || d[i] == '-') {
			label++;
		} else {
			return false;
		}
	}
	return label > 0;
}

/* ack_random - fill p with n random bytes: getrandom, else /dev/urandom */
static int
ack_random(unsigned char *p, size_t n)
{
	size_t got = 0;
	ssize_t r;
	int fd;

	while (got < n) {
		r = getrandom(p + got, n - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		got += (size_t)r;
	}
	if (got == n)
		return 0;
	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (got < n) {
		r = read(fd, p + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	(void)close(fd);
	return got == n ? 0 : -1;
}

/* ack_new_message_id - a fresh "<ticketd.TIME.RANDOM@domain>" */
int
ack_new_message_id(const char *domain, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[16];
	char rhex[2 * sizeof(rnd) + 1];
	size_t i;
	int n;

	if (domain == NULL || !ack_domain_valid(domain) || len == 0)
		return -1;
	if (ack_random(rnd, sizeof(rnd)) != 0)
		return -1;
	for (i = 0; i < sizeof(rnd); i++) {
		rhex[2 * i] = hex[rnd[i] >> 4];
		rhex[2 * i + 1] = hex[rnd[i] & 0x0f];
	}
	rhex[2 * sizeof(rnd)] = '\0';
	n = snprintf(buf, len, "<ticketd.%lld.%s@%s>", (long long)time(NULL),
	             rhex, domain);
	if (n < 0 || (size_t)n >= len || (size_t)n > ACK_MSGID_MAX) {
		buf[0] = '\0';
		return -1;
	}
	return 0;
}

/* ack_msgid_valid - "<...>" of printable ASCII without blanks or <> */
static bool
ack_msgid_valid(const char *s)
{
	size_t i, len;

	if (s == NULL)
		return false;
	len = strlen(s);
	if (len < 3 || len > ACK_MSGID_MAX || s[0] != '<' || s[len - 1] != '>')
		return false;
	for (i = 1; i + 1 < len; i++) {
		if (s[i] <= 0x20 || s[i] >= 0x7f || s[i] == '<' || s[i] == '>')
			return false;
	}
	return true;
}

/* ack_id_valid - our ticket id: letters, digits, '-', '_' and '.' */
static bool
ack_id_valid(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0')
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= ACK_ID_MAX)
			return false;
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		      s[i] == '_' || s[i] == '.'))
			return false;
	}
	return true;
}

/*
 * ack_clean - append s (untrusted, may be NULL) to out as valid UTF-8 with
 * every control removed and blanks trimmed, at most max bytes; dflt when
 * nothing is left
 */
static int
ack_clean(struct buf *out, const char *s, size_t max, const char *dflt)
{
	const char *p;
	size_t n;
	char *c;
	int rc;

	if (s == NULL || s[0] == '\0')
		return dflt != NULL ? buf_append_str(out, dflt) : 0;
	c = utf8_sanitise(s, strlen(s), max, 0);
	if (c == NULL)
		return -1;
	/* line ends became blanks: trim them off both ends */
	p = c;
	n = strlen(c);
	ack_trim(&p, &n);
	if (n == 0)
		rc = dflt != NULL ? buf_append_str(out, dflt) : 0;
	else
		rc = buf_append(out, p, n);
	free(c);
	return rc;
}

/* ack_basename - the part of a file name after its last '/' or '\\' */
static const char *
ack_basename(const char *s)
{
	const char *p, *base = s;

	for (p = s; *p != '\0'; p++) {
		if ((*p == '/' || *p == '\\') && p[1] != '\0')
			base = p + 1;
	}
	return base;
}

/* ack_list - append a cleaned ", "-joined list, "-" when empty */
static int
ack_list(struct buf *out, const char *const *v, size_t n, bool is_name)
{
	size_t i, shown = 0, before;
	const char *s;

	for (i = 0; v != NULL && i < n; i++) {
		if (shown == ACK_LIST_MAX)
			return buf_printf(out, " (+%zu)", n - i);
		if (v[i] == NULL)
			continue;
		s = is_name ? ack_basename(v[i]) : v[i];
		before = out->len;
		if (shown > 0 && buf_append_str(out, ", ") != 0)
			return -1;
		if (ack_clean(out, s, ACK_ITEM_MAX, NULL) != 0)
			return -1;
		if (out->len == before + (shown > 0 ? 2 : 0)) {
			/* nothing printable: drop the separator too */
			out->len = before;
			if (out->data != NULL)
				out->data[before] = '\0';
			continue;
		}
		shown++;
	}
	return shown == 0 ? buf_append_str(out, "-") : 0;
}

/* ack_placeholder - expand one known {name}; 1 if done, 0 unknown, -1 */
static int
ack_placeholder(const struct ack_fields *f, const char *name, size_t len,
                struct buf *out)
{
	int rc;

#define ACK_IS(lit) (len == sizeof(lit) - 1 && memcmp(name, lit, len) == 0)
	if (ACK_IS("ticket_id"))
		rc = buf_append_str(out, f->ticket_id);
	else if (ACK_IS("summary"))
		rc = ack_clean(out, f->summary, ACK_SUMMARY_MAX, "-");
	else if (ACK_IS("category"))
		rc = ack_clean(out, f->category, ACK_VALUE_MAX, "-");
	else if (ACK_IS("priority"))
		rc = ack_clean(out, f->priority, ACK_VALUE_MAX, "-");
	else if (ACK_IS("due_at"))
		rc = ack_clean(out, f->due_at, ACK_VALUE_MAX, "-");
	else if (ACK_IS("order_no"))
		rc = ack_list(out, f->order_numbers, f->n_order_numbers, false);
	else if (ACK_IS("attachments"))
		rc = ack_list(out, f->attachments, f->n_attachments, true);
	else
		return 0;
#undef ACK_IS
	return rc == 0 ? 1 : -1;
}

/*
 * ack_expand - template text with placeholders replaced and every line
 * end (LF, CR or CRLF) made CRLF, appended to body
 */
static int
ack_expand(const struct ack_fields *f, const char *t, struct buf *body)
{
	const char *close;
	size_t i = 0, n;
	int rc;

	while (t[i] != '\0') {
		if (t[i] == '\r' || t[i] == '\n') {
			if (t[i] == '\r' && t[i + 1] == '\n')
				i++;
			i++;
			if (buf_append(body, "\r\n", 2) != 0)
				return -1;
			continue;
		}
		if (t[i] == '{') {
			n = strcspn(t + i + 1, "{}\r\n");
			close = t + i + 1 + n;
			if (*close == '}' && n <= ACK_PLACEHOLDER_MAX) {
				rc = ack_placeholder(f, t + i + 1, n, body);
				if (rc < 0)
					return -1;
				if (rc == 1) {
					i += n + 2;
					continue;
				}
			}
		}
		if (buf_append_byte(body, (unsigned char)t[i]) != 0)
			return -1;
		i++;
	}
	return 0;
}

/* ack_body - the expanded template (+ formats help), CRLF, ends in CRLF */
static int
ack_body(const struct ack_fields *f, const char *template, struct buf *body)
{
	if (ack_expand(f, template, body) != 0)
		return -1;
	if (body->len > 0 && body->data[body->len - 1] != '\n' &&
	    buf_append(body, "\r\n", 2) != 0)
		return -1;
	if (f->show_formats) {
		if (buf_append(body, "\r\n", 2) != 0)
			return -1;
		if (ack_expand(f, parser_formats_help(), body) != 0)
			return -1;
		if (body->data[body->len - 1] != '\n' &&
		    buf_append(body, "\r\n", 2) != 0)
			return -1;
	}
	return 0;
}

/* ack_base64 - p[0..n) as base64 lines of 76 characters, CRLF each */
static int
ack_base64(const unsigned char *p, size_t n, struct buf *out)
{
	char line[80];
	size_t i, o;
	unsigned long acc;

	for (i = 0; i < n;) {
		o = 0;
		/* 57 input bytes make one 76-character line */
		for (; i < n && o < 76; i += 3) {
			acc = (unsigned long)p[i] << 16;
			if (i + 1 < n)
				acc |= (unsigned long)p[i + 1] << 8;
			if (i + 2 < n)
				acc |= p[i + 2];
			line[o++] = ack_b64[acc >> 18 & 0x3f];
			line[o++] = ack_b64[acc >> 12 & 0x3f];
			line[o++] = i + 1 < n ? ack_b64[acc >> 6 & 0x3f] : '=';
			line[o++] = i + 2 < n ? ack_b64[acc & 0x3f] : '=';
		}
		line[o++] = '\r';
		line[o++] = '\n';
		if (buf_append(out, line, o) != 0)
			return -1;
	}
	return 0;
}

/* ack_date - "Date: Sun, 05 Nov 2023 08:23:00 +0000" CRLF, C locale */
static int
ack_date(time_t t, struct buf *out)
{
	static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed",
	                                "Thu", "Fri", "Sat"};
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr",
	                                   "May", "Jun", "Jul", "Aug",
	                                   "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 ||
	    tm.tm_mon < 0 || tm.tm_mon > 11)
		return -1;
	return buf_printf(out,
	                  "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
	                  days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	                  tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* ack_is_atext_phrase - ASCII words of atext and blanks: no quoting */
static bool
ack_is_atext_phrase(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p != '\0'; p++) {
		if (*p == ' ')
			continue;
		if (*p < 0x21 || *p > 0x7e || strchr("()<>[]:;@\\,.\"", *p))
			return false;
	}
	return true;
}

/* ack_is_ascii - printable ASCII only */
static bool
ack_is_ascii(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p != '\0'; p++) {
		if (*p < 0x20 || *p > 0x7e)
			return false;
	}
	return true;
}

/* ack_line_len - bytes on the last (unfinished) line of out */
static size_t
ack_line_len(const struct buf *out)
{
	size_t i = out->len;

	while (i > 0 && out->data[i - 1] != '\n')
		i--;
	return out->len - i;
}

/* ack_phrase - a display name: as is, quoted, or RFC 2047 encoded */
static int
ack_phrase(const char *name, struct buf *out)
{
	const char *p;

	if (!ack_is_ascii(name))
		return parser_encode_header(name, out);
	if (ack_is_atext_phrase(name))
		return buf_append_str(out, name);
	if (buf_append_byte(out, '"') != 0)
		return -1;
	for (p = name; *p != '\0'; p++) {
		if ((*p == '"' || *p == '\\') &&
		    buf_append_byte(out, '\\') != 0)
			return -1;
		if (buf_append_byte(out, (unsigned char)*p) != 0)
			return -1;
	}
	return buf_append_byte(out, '"');
}

/* ack_from_header - "From: name <addr>" with the name quoted or encoded */
static int
ack_from_header(const char *from, struct buf *out, char *err, size_t errlen)
{
	char addr[ACK_ADDR_MAX + 1];
	const char *name;
	size_t name_len;
	char *clean = NULL;
	bool fold;
	int rc = ACK_NOMEM;

	if (from == NULL ||
	    !ack_split_from(from, &name, &name_len, addr, sizeof(addr))) {
		ack_seterr(
		    err, errlen,
		    "ack From is not \"Name <addr>\" with a plain address",
		    NULL);
		return ACK_BAD_FIELD;
	}
	/* "Name" in the config: drop the quotes, ack_phrase re-quotes */
	if (name_len >= 2 && name[0] == '"' && name[name_len - 1] == '"') {
		name++;
		name_len -= 2;
	}
	clean = utf8_sanitise(name, name_len, ACK_NAME_MAX, 0);
	if (clean == NULL)
		goto out;
	if (buf_append_str(out, "From: ") != 0)
		goto out;
	if (clean[0] == '\0') {
		if (buf_printf(out, "%s\r\n", addr) != 0)
			goto out;
	} else {
		if (ack_phrase(clean, out) != 0)
			goto out;
		/* fold before the address rather than pass 78 columns */
		fold = ack_line_len(out) + strlen(addr) + 3 > 78;
		if (buf_printf(out, fold ? "\r\n <%s>\r\n" : " <%s>\r\n",
		               addr) != 0)
			goto out;
	}
	rc = ACK_OK;
out:
	free(clean);
	return rc;
}

/* ack_subject - "Subject: [id] 已受理 / Received: summary", encoded */
static int
ack_subject(const struct ack_fields *f, struct buf *out)
{
	struct buf s;
	int rc = -1;

	buf_init(&s, 2 * ACK_SUMMARY_MAX + ACK_ID_MAX + 64);
	if (buf_printf(&s, "[%s] 已受理 / Received", f->ticket_id) != 0)
		goto out;
	if (f->summary != NULL && f->summary[0] != '\0') {
		if (buf_append_str(&s, ": ") != 0 ||
		    ack_clean(&s, f->summary, ACK_SUMMARY_MAX, NULL) != 0)
			goto out;
		/* a summary of controls only leaves ": " behind */
		if (s.len >= 2 && memcmp(s.data + s.len - 2, ": ", 2) == 0) {
			s.len -= 2;
			s.data[s.len] = '\0';
		}
	}
	if (buf_append_str(out, "Subject: ") != 0 ||
	    parser_encode_header(s.data, out) != 0 ||
	    buf_append(out, "\r\n", 2) != 0)
		goto out;
	rc = 0;
out:
	buf_free(&s);
	return rc;
}

/* ack_threading - In-Reply-To and References (last ACK_REFERENCES_MAX) */
static int
ack_threading(const struct ack_fields *f, struct buf *out)
{
	const char *refs[ACK_REFERENCES_MAX];
	size_t i, n = 0, total = 0;
	bool has_orig = ack_msgid_valid(f->orig_message_id);

	/* a ring of the newest valid references */
	for (i = 0; f->orig_references != NULL && i < f->n_orig_references;
	     i++) {
		if (!ack_msgid_valid(f->orig_references[i]))
			continue;
		refs[total % ACK_REFERENCES_MAX] = f->orig_references[i];
		total++;
	}
	if (has_orig) {
		if (total == 0 || strcmp(refs[(total - 1) % ACK_REFERENCES_MAX],
		                         f->orig_message_id) != 0) {
			refs[total % ACK_REFERENCES_MAX] = f->orig_message_id;
			total++;
		}
		if (buf_printf(out, "In-Reply-To: %s\r\n",
		               f->orig_message_id) != 0)
			return -1;
	}
	if (total == 0)
		return 0;
	n = total < ACK_REFERENCES_MAX ? total : ACK_REFERENCES_MAX;
	if (buf_append_str(out, "References:") != 0)
		return -1;
	/* one id per line: each line stays under 998 bytes */
	for (i = total - n; i < total; i++) {
		if (buf_printf(out, " %s\r\n", refs[i % ACK_REFERENCES_MAX]) !=
		    0)
			return -1;
	}
	return 0;
}

/* ack_render - the whole acknowledgment message */
int
ack_render(const struct ack_fields *f, const char *template, struct buf *out,
           char *err, size_t errlen)
{
	struct buf body;
	size_t saved = out->len;
	int rc = ACK_NOMEM;

	buf_init(&body, ACK_BODY_MAX);
	if (f->to == NULL || !ack_addr_valid(f->to)) {
		ack_seterr(err, errlen, "recipient is not a plain address",
		           NULL);
		rc = ACK_BAD_RECIPIENT;
		goto out;
	}
	if (!ack_id_valid(f->ticket_id)) {
		ack_seterr(err, errlen, "malformed ticket id", NULL);
		rc = ACK_BAD_FIELD;
		goto out;
	}
	if (!ack_msgid_valid(f->message_id)) {
		ack_seterr(err, errlen, "malformed ack Message-ID", NULL);
		rc = ACK_BAD_FIELD;
		goto out;
	}
	if (ack_date(f->date, out) != 0) {
		ack_seterr(err, errlen, "date out of range", NULL);
		rc = ACK_BAD_FIELD;
		goto out;
	}
	rc = ack_from_header(f->from, out, err, errlen);
	if (rc != ACK_OK)
		goto out;
	rc = ACK_NOMEM;
	if (buf_printf(out, "To: %s\r\n", f->to) != 0 ||
	    ack_subject(f, out) != 0 ||
	    buf_printf(out, "Message-ID: %s\r\n", f->message_id) != 0 ||
	    ack_threading(f, out) != 0 ||
	    buf_append_str(out, "Auto-Submitted: auto-replied\r\n"
	                        "X-Auto-Response-Suppress: All\r\n"
	                        "MIME-Version: 1.0\r\n"
	                        "Content-Type: text/plain; charset=UTF-8\r\n"
	                        "Content-Transfer-Encoding: base64\r\n"
	                        "\r\n") != 0)
		goto nomem;
	if (ack_body(f, template != NULL ? template : ack_builtin, &body) !=
	        0 ||
	    ack_base64((const unsigned char *)body.data, body.len, out) != 0)
		goto nomem;
	rc = ACK_OK;
	goto out;
nomem:
	ack_seterr(err, errlen, "ack too large or out of memory", NULL);
out:
	if (rc != ACK_OK) {
		out->len = saved;
		if (out->data != NULL)
			out->data[saved] = '\0';
	}
	buf_free(&body);
	return rc;
}

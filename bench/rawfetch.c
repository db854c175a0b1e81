/* SPDX-License-Identifier: MIT */
/*
 * rawfetch.c - the transport's limit for the end-to-end benchmark: a
 * minimal IMAP client (plain TCP to 127.0.0.1, LOGIN, SELECT, one
 * `UID FETCH 1:* BODY.PEEK[]`) that reads every byte the server sends and
 * discards it, parsing literal sizes so message bytes are counted exactly.
 * Prints one key=value line (messages, bytes, wire bytes, seconds, rates);
 * with -s FILE it also writes each message's size, one per line, for
 * bench/fsync.  No libetpan: this is the floor ticketd is measured against.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RAWFETCH_BUF (256 * 1024)
/* Bytes of a response line kept; longer lines keep their last bytes. */
#define RAWFETCH_LINE 4096
#define RAWFETCH_LINE_KEEP 64
/* Largest literal believed (the server is a test server, but still). */
#define RAWFETCH_LITERAL_MAX (1ULL << 32)
#define RAWFETCH_PASS_MAX 256

/* Buffered reader over the socket. */
struct reader {
	int fd;
	size_t off, len;
	uint64_t wire;      /* bytes read from the socket */
	unsigned char *buf; /* owned, RAWFETCH_BUF bytes */
};

/* One response line (without CRLF). */
struct line {
	char s[RAWFETCH_LINE];
	size_t len;
	bool is_cut; /* longer than the buffer: only the tail is kept */
};

/* Sizes of the literals of one FETCH. */
struct sizes {
	uint64_t *v; /* owned */
	size_t n, cap;
};

/* now_s - monotonic seconds */
static double
now_s(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* rd_fill - read more bytes when the buffer is empty; 0, or -1 on EOF */
static int
rd_fill(struct reader *r)
{
	ssize_t n;

	if (r->off < r->len)
		return 0;
	for (;;) {
		n = read(r->fd, r->buf, RAWFETCH_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "rawfetch: read: %s\n",
			        strerror(errno));
			return -1;
		}
		if (n == 0) {
			fprintf(stderr, "rawfetch: connection closed\n");
			return -1;
		}
		r->off = 0;
		r->len = (size_t)n;
		r->wire += (uint64_t)n;
		return 0;
	}
}

/* rd_line - one line up to LF into l, CRLF stripped; 0 or -1 */
static int
rd_line(struct reader *r, struct line *l)
{
	l->len = 0;
	l->is_cut = false;
	for (;;) {
		unsigned char *p, *lf;
		size_t n, take;

		if (rd_fill(r) != 0)
			return -1;
		p = r->buf + r->off;
		n = r->len - r->off;
		lf = memchr(p, '\n', n);
		take = lf != NULL ? (size_t)(lf - p) : n;
		r->off += lf != NULL ? take + 1 : take;
		while (take > 0) {
			size_t room = sizeof(l->s) - 1 - l->len, c;

			if (room == 0) {
				/* keep the tail: a literal marker ends a line
				 */
				memmove(l->s,
				        l->s + l->len - RAWFETCH_LINE_KEEP,
				        RAWFETCH_LINE_KEEP);
				l->len = RAWFETCH_LINE_KEEP;
				l->is_cut = true;
				continue;
			}
			c = take < room ? take : room;
			memcpy(l->s + l->len, p, c);
			l->len += c;
			p += c;
			take -= c;
		}
		if (lf != NULL)
			break;
	}
	if (l->len > 0 && l->s[l->len - 1] == '\r')
		l->len--;
	l->s[l->len] = '\0';
	return 0;
}

/* rd_skip - read and discard n bytes; 0 or -1 */
static int
rd_skip(struct reader *r, uint64_t n)
{
	while (n > 0) {
		size_t have;

		if (rd_fill(r) != 0)
			return -1;
		have = r->len - r->off;
		if ((uint64_t)have > n)
			have = (size_t)n;
		r->off += have;
		n -= have;
	}
	return 0;
}

/*
 * literal_size - if l ends with {N} (or {N+}), store N in *n_r and
 * return true; N is bounded by RAWFETCH_LITERAL_MAX
 */
static bool
literal_size(const struct line *l, uint64_t *n_r)
{
	size_t i;
	uint64_t v = 0;

	if (l->len < 3 || l->s[l->len - 1] != '}')
		return false;
	i = l->len - 1;
	if (i > 0 && l->s[i - 1] == '+')
		i--;
	if (i == 0 || l->s[i - 1] < '0' || l->s[i - 1] > '9')
		return false;
	while (i > 0 && l->s[i - 1] >= '0' && l->s[i - 1] <= '9')
		i--;
	if (i == 0 || l->s[i - 1] != '{')
		return false;
	for (; l->s[i] != '}' && l->s[i] != '+'; i++) {
		v = v * 10 + (uint64_t)(l->s[i] - '0');
		if (v > RAWFETCH_LITERAL_MAX)
			return false;
	}
	*n_r = v;
	return true;
}

/* sizes_add - remember one literal size; 0 or -1 on no memory */
static int
sizes_add(struct sizes *s, uint64_t n)
{
	if (s->n == s->cap) {
		size_t cap = s->cap == 0 ? 1024 : s->cap * 2;
		uint64_t *v = realloc(s->v, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = n;
	return 0;
}

/*
 * command_wait - read responses until the tagged one for tag; literals
 * are skipped (and recorded in s when it is not NULL); 0 when the tagged
 * response is OK, else -1
 */
static int
command_wait(struct reader *r, const char *tag, struct sizes *s,
             uint64_t *bytes_r)
{
	struct line *l;
	size_t tlen = strlen(tag);
	int rc = -1;

	l = malloc(sizeof(*l));
	if (l == NULL)
		return -1;
	for (;;) {
		uint64_t n;

		if (rd_line(r, l) != 0)
			break;
		if (literal_size(l, &n)) {
			if (rd_skip(r, n) != 0)
				break;
			if (bytes_r != NULL)
				*bytes_r += n;
			if (s != NULL && sizes_add(s, n) != 0) {
				fprintf(stderr, "rawfetch: out of memory\n");
				break;
			}
			continue;
		}
		if (!l->is_cut && l->len > tlen &&
		    strncmp(l->s, tag, tlen) == 0 && l->s[tlen] == ' ') {
			if (strncmp(l->s + tlen + 1, "OK", 2) == 0)
				rc = 0;
			else
				fprintf(stderr, "rawfetch: %s\n", l->s);
			break;
		}
	}
	free(l);
	return rc;
}

/* write_all - send len bytes; 0 or -1 */
static int
write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "rawfetch: write: %s\n",
			        strerror(errno));
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* quote - s as an IMAP quoted string into out; 0, or -1 if it won't fit */
static int
quote(const char *s, char *out, size_t outlen)
{
	size_t o = 0;

	if (outlen < 3)
		return -1;
	out[o++] = '"';
	for (; *s != '\0'; s++) {
		if (*s == '\r' || *s == '\n')
			return -1;
		if (o + 4 >= outlen)
			return -1;
		if (*s == '"' || *s == '\\')
			out[o++] = '\\';
		out[o++] = *s;
	}
	out[o++] = '"';
	out[o] = '\0';
	return 0;
}

/* read_password - first line of path into pw; 0 or -1 */
static int
read_password(const char *path, char *pw, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL) {
		fprintf(stderr, "rawfetch: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fgets(pw, (int)len, f) == NULL) {
		fprintf(stderr, "rawfetch: %s: empty\n", path);
		fclose(f);
		return -1;
	}
	fclose(f);
	n = strcspn(pw, "\r\n");
	pw[n] = '\0';
	return 0;
}

/* connect_local - TCP connection to 127.0.0.1:port; fd or -1 */
static int
connect_local(unsigned port)
{
	struct sockaddr_in sa;
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "rawfetch: socket: %s\n", strerror(errno));
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "rawfetch: connect 127.0.0.1:%u: %s\n", port,
		        strerror(errno));
		close(fd);
		return -1;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* write_sizes - one size per line into path; 0 or -1 */
static int
write_sizes(const char *path, const struct sizes *s)
{
	FILE *f = fopen(path, "w");
	size_t i;

	if (f == NULL) {
		fprintf(stderr, "rawfetch: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (i = 0; i < s->n; i++)
		fprintf(f, "%llu\n", (unsigned long long)s->v[i]);
	if (fclose(f) != 0) {
		fprintf(stderr, "rawfetch: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* session - log in, select, fetch everything; 0 or -1 */
static int
session(struct reader *r, const char *user, const char *pw, const char *mailbox,
        struct sizes *s, uint64_t *bytes_r, double *secs_r)
{
	char cmd[1024], qu[300], qp[2 * RAWFETCH_PASS_MAX + 4], qm[300];
	uint64_t wire0;
	double t0;
	int n, rc = -1;

	if (quote(user, qu, sizeof(qu)) != 0 ||
	    quote(pw, qp, sizeof(qp)) != 0 ||
	    quote(mailbox, qm, sizeof(qm)) != 0) {
		fprintf(stderr,
		        "rawfetch: user, password or mailbox unusable\n");
		return -1;
	}
	if (command_wait(r, "*", NULL, NULL) != 0)
		return -1;
	n = snprintf(cmd, sizeof(cmd), "a1 LOGIN %s %s\r\n", qu, qp);
	if (n < 0 || (size_t)n >= sizeof(cmd))
		goto out;
	if (write_all(r->fd, cmd, (size_t)n) != 0 ||
	    command_wait(r, "a1", NULL, NULL) != 0)
		goto out;
	n = snprintf(cmd, sizeof(cmd), "a2 SELECT %s\r\n", qm);
	if (n < 0 || (size_t)n >= sizeof(cmd))
		goto out;
	if (write_all(r->fd, cmd, (size_t)n) != 0 ||
	    command_wait(r, "a2", NULL, NULL) != 0)
		goto out;
	wire0 = r->wire;
	t0 = now_s();
	n = snprintf(cmd, sizeof(cmd), "a3 UID FETCH 1:* BODY.PEEK[]\r\n");
	if (write_all(r->fd, cmd, (size_t)n) != 0 ||
	    command_wait(r, "a3", s, bytes_r) != 0)
		goto out;
	*secs_r = now_s() - t0;
	r->wire -= wire0;
	n = snprintf(cmd, sizeof(cmd), "a4 LOGOUT\r\n");
	(void)write_all(r->fd, cmd, (size_t)n);
	rc = 0;
out:
	explicit_bzero(cmd, sizeof(cmd));
	explicit_bzero(qp, sizeof(qp));
	return rc;
}

/* usage - help text */
static void
usage(void)
{
	fprintf(stderr, "usage: rawfetch [-s SIZES_FILE] PORT USER PASSFILE "
	                "[MAILBOX]\n");
}

/* main - options, one session, the figures */
int
main(int argc, char **argv)
{
	struct reader r;
	struct sizes s;
	const char *sizes_path = NULL, *mailbox = "INBOX";
	char pw[RAWFETCH_PASS_MAX], *end;
	unsigned long port;
	uint64_t bytes = 0;
	double secs = 0;
	int i = 1, rc = 1;

	if (argc > 2 && strcmp(argv[1], "-s") == 0) {
		sizes_path = argv[2];
		i = 3;
	}
	if (argc - i < 3 || argc - i > 4) {
		usage();
		return 2;
	}
	errno = 0;
	port = strtoul(argv[i], &end, 10);
	if (errno != 0 || *end != '\0' || port == 0 || port > 65535) {
		usage();
		return 2;
	}
	if (argc - i == 4)
		mailbox = argv[i + 3];
	if (read_password(argv[i + 2], pw, sizeof(pw)) != 0)
		return 1;
	memset(&r, 0, sizeof(r));
	memset(&s, 0, sizeof(s));
	r.buf = malloc(RAWFETCH_BUF);
	if (r.buf == NULL) {
		fprintf(stderr, "rawfetch: out of memory\n");
		goto out;
	}
	r.fd = connect_local((unsigned)port);
	if (r.fd < 0)
		goto out;
	if (session(&r, argv[i + 1], pw, mailbox, &s, &bytes, &secs) != 0) {
		close(r.fd);
		goto out;
	}
	close(r.fd);
	if (secs <= 0)
		secs = 1e-9;
	printf("rawfetch messages=%zu bytes=%llu wire_bytes=%llu "
	       "seconds=%.3f mb_per_s=%.1f msgs_per_s=%.0f\n",
	       s.n, (unsigned long long)bytes, (unsigned long long)r.wire, secs,
	       (double)bytes / 1e6 / secs, (double)s.n / secs);
	if (sizes_path != NULL && write_sizes(sizes_path, &s) != 0)
		goto out;
	rc = 0;
out:
	explicit_bzero(pw, sizeof(pw));
	free(r.buf);
	free(s.v);
	return rc;
}

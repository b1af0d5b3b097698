/* util: error reporting, the growable buffer, allocation and checked parsing. */
#include "util.h"

#include "progress.h"

#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *util_progname = "dbpipe";
char buf_empty[1];

static _Thread_local struct buf *captured;

struct buf *util_capture_messages(struct buf *into)
{
	struct buf *was = captured;
	captured = into;
	return was;
}

void util_print_messages(const struct buf *lines)
{
	if (!lines->len)
		return;
	progress_done();
	fputs(lines->buf, stderr);
}

static void vreport(const char *prefix, const char *fmt, va_list ap)
{
	/* One fprintf per message, so lines from concurrent writers do not interleave. */
	struct buf msg = BUF_INIT;
	buf_vaddf(&msg, fmt, ap);
	if (captured) {
		buf_addf(captured, "%s: %s%s\n", util_progname, prefix, msg.len ? msg.buf : "");
		buf_release(&msg);
		return;
	}
	progress_done(); /* a message starts on a clean line */
	fprintf(stderr, "%s: %s%s\n", util_progname, prefix, msg.len ? msg.buf : "");
	buf_release(&msg);
}

int error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport("", fmt, ap);
	va_end(ap);
	return -1;
}

void warning(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport("warning: ", fmt, ap);
	va_end(ap);
}

void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport("", fmt, ap);
	va_end(ap);
	exit(EXIT_TROUBLE);
}

void usage_error(const char *fmt, ...)
{
	va_list ap;
	if (fmt) {
		va_start(ap, fmt);
		vreport("", fmt, ap);
		va_end(ap);
	}
	fprintf(stderr, "Try '%s --help'.\n", util_progname);
	exit(EXIT_TROUBLE);
}

static int reader_went;

void sigpipe_defer(void)
{
	signal(SIGPIPE, SIG_IGN);
}

int reader_gone(void)
{
	reader_went = 1;
	return -1;
}

void exit_if_reader_gone(void)
{
	sigset_t set;
	if (!reader_went)
		return;
	progress_done(); /* the meter's line ends, as before any message */
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(SIGPIPE);
	exit(EXIT_TROUBLE); /* not reached */
}

volatile sig_atomic_t util_interrupted;

static void on_interrupt(int sig)
{
	util_interrupted = sig;
}

void interrupt_defer(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt; /* no SA_RESTART: a blocking read returns */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

void exit_if_interrupted(void)
{
	if (util_interrupted)
		exit(128 + util_interrupted);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) {
		fprintf(stderr, "%s: out of memory\n", util_progname);
		exit(EXIT_TROUBLE);
	}
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p) {
		fprintf(stderr, "%s: out of memory\n", util_progname);
		exit(EXIT_TROUBLE);
	}
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fprintf(stderr, "%s: out of memory\n", util_progname);
		exit(EXIT_TROUBLE);
	}
	return p;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

int strcmp_ptr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

char *partial_path(const char *path)
{
	const char *suffix = ends_with(path, ".gz") ? ".gz" : ends_with(path, ".zst") ? ".zst" : "";
	struct buf p = BUF_INIT;
	buf_add(&p, path, strlen(path) - strlen(suffix));
	buf_adds(&p, ".partial");
	buf_adds(&p, suffix);
	return buf_detach(&p);
}

void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void buf_init(struct buf *b)
{
	b->len = b->alloc = 0;
	b->buf = buf_empty;
}

void buf_release(struct buf *b)
{
	if (b->alloc)
		free(b->buf);
	buf_init(b);
}

void buf_grow(struct buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	if (need <= b->alloc)
		return;
	size_t alloc = b->alloc ? b->alloc : 64;
	while (alloc < need)
		alloc *= 2;
	if (!b->alloc) {
		b->buf = xmalloc(alloc);
		b->buf[0] = '\0';
	} else {
		b->buf = xrealloc(b->buf, alloc);
	}
	b->alloc = alloc;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->alloc)
		b->buf[0] = '\0';
}

void buf_truncate(struct buf *b, size_t len)
{
	if (len < b->len) {
		b->len = len;
		b->buf[len] = '\0';
	}
}

void buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}


void buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
	va_list again;
	va_copy(again, ap);
	int n = vsnprintf(b->buf + b->len, b->alloc ? b->alloc - b->len : 0, fmt, ap);
	if (n >= 0 && b->len + (size_t)n + 1 > b->alloc) {
		buf_grow(b, (size_t)n);
		vsnprintf(b->buf + b->len, b->alloc - b->len, fmt, again);
	}
	va_end(again);
	if (n >= 0)
		b->len += (size_t)n;
}

void buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(b, fmt, ap);
	va_end(ap);
}

void buf_add_hex(struct buf *b, const void *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *u = p;
	buf_grow(b, 2 * n);
	for (size_t i = 0; i < n; i++) {
		b->buf[b->len++] = digits[u[i] >> 4];
		b->buf[b->len++] = digits[u[i] & 15];
	}
	b->buf[b->len] = '\0';
}

char *buf_detach(struct buf *b)
{
	char *s = b->alloc ? b->buf : xstrdup("");
	buf_init(b);
	return s;
}

int parse_int64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	if (!s || !*s)
		return -1;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void base64_encode(struct buf *out, const unsigned char *p, size_t n)
{
	buf_grow(out, (n + 2) / 3 * 4);
	char *o = out->buf + out->len;
	size_t i = 0;
	for (; i + 2 < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		*o++ = b64chars[v >> 18];
		*o++ = b64chars[(v >> 12) & 63];
		*o++ = b64chars[(v >> 6) & 63];
		*o++ = b64chars[v & 63];
	}
	if (i < n) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0);
		*o++ = b64chars[v >> 18];
		*o++ = b64chars[(v >> 12) & 63];
		*o++ = i + 1 < n ? b64chars[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	out->len = (size_t)(o - out->buf);
	out->buf[out->len] = '\0';
}

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

int base64_decode(struct buf *out, const char *s, size_t n)
{
	if (n % 4)
		return -1;
	buf_grow(out, n / 4 * 3);
	for (size_t i = 0; i < n; i += 4) {
		int a = b64val(s[i]), b = b64val(s[i + 1]);
		int last = i + 4 == n;
		int pad2 = last && s[i + 2] == '=' && s[i + 3] == '=';
		int pad1 = last && !pad2 && s[i + 3] == '=';
		int c = pad2 ? 0 : b64val(s[i + 2]);
		int d = pad1 || pad2 ? 0 : b64val(s[i + 3]);
		if (a < 0 || b < 0 || c < 0 || d < 0)
			return -1;
		unsigned v = (unsigned)a << 18 | (unsigned)b << 12 | (unsigned)c << 6 | (unsigned)d;
		out->buf[out->len++] = (char)(v >> 16);
		if (!pad2)
			out->buf[out->len++] = (char)(v >> 8 & 255);
		if (!pad1 && !pad2)
			out->buf[out->len++] = (char)(v & 255);
	}
	out->buf[out->len] = '\0';
	return 0;
}

int glob_match(const char *pattern, const char *name)
{
	return fnmatch(pattern, name, 0) == 0;
}

int make_parent_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash || slash == path)
		return 0;
	char *dir = xstrndup(path, (size_t)(slash - path));
	int ret = 0;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		ret = error("%s: %s", dir, strerror(errno));
	free(dir);
	return ret;
}

int hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *util_make_temp_dir(const char *prefix)
{
	const char *tmp = getenv("TMPDIR");
	struct buf d = BUF_INIT;
	buf_addf(&d, "%s/%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", prefix);
	if (!mkdtemp(d.buf)) {
		error("%s: cannot make a directory: %s", d.buf, strerror(errno));
		buf_release(&d);
		return NULL;
	}
	return buf_detach(&d);
}

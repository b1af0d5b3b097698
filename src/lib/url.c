/* url: database URLs (see url.h). */
#include "url.h"

#include <stdlib.h>
#include <string.h>

/* The %-decoded text of p[0..n), or NULL for a malformed %XX. */
static char *decode(const char *p, size_t n)
{
	struct buf b = BUF_INIT;
	buf_adds(&b, "");
	for (size_t i = 0; i < n; i++) {
		if (p[i] != '%') {
			buf_addch(&b, p[i]);
			continue;
		}
		int hi = -1, lo = -1;
		if (i + 2 >= n || (hi = hex_digit((unsigned char)p[i + 1])) < 0 ||
		    (lo = hex_digit((unsigned char)p[i + 2])) < 0) {
			buf_release(&b);
			return NULL;
		}
		buf_addch(&b, (char)(hi * 16 + lo));
		i += 2;
	}
	return buf_detach(&b);
}

/* The last '@' of the user part, or NULL: the user part ends at the last
 * '@' of the URL. */
static const char *user_end(const char *after_scheme)
{
	return strrchr(after_scheme, '@');
}

static int parse_user(const char *p, const char *at, struct url *u)
{
	const char *colon = memchr(p, ':', (size_t)(at - p));
	u->user = decode(p, (size_t)((colon ? colon : at) - p));
	if (colon)
		u->password = decode(colon + 1, (size_t)(at - colon - 1));
	if (!u->user || (colon && !u->password))
		return -1;
	if (!*u->user) {
		free(u->user);
		u->user = NULL;
	}
	return 0;
}

static int parse_port(const char *p, size_t n, struct url *u, struct buf *err)
{
	char *text = xstrndup(p, n);
	int64_t v;
	int ok = n && parse_int64(text, 1, 65535, &v) == 0;
	free(text);
	if (!ok) {
		buf_reset(err);
		buf_adds(err, "invalid port in the URL");
		return -1;
	}
	u->port = (unsigned)v;
	return 0;
}

/* host[:port] or [v6]:port in p[0..n). */
static int parse_host(const char *p, size_t n, struct url *u, struct buf *err)
{
	const char *end = p + n, *port = NULL;
	if (n && *p == '[') {
		const char *close = memchr(p, ']', n);
		if (!close || (close + 1 < end && close[1] != ':'))
			return 1;
		u->host = xstrndup(p + 1, (size_t)(close - p - 1));
		port = close + 1 < end ? close + 2 : NULL;
	} else {
		const char *colon = memchr(p, ':', n);
		const char *hend = colon ? colon : end;
		if (hend > p && !(u->host = decode(p, (size_t)(hend - p))))
			return 1;
		port = colon ? colon + 1 : NULL;
	}
	return port ? parse_port(port, (size_t)(end - port), u, err) : 0;
}

static int parse_params(const char *p, struct url *u)
{
	while (*p) {
		size_t n = strcspn(p, "&");
		const char *eq = memchr(p, '=', n);
		if (!eq)
			return -1;
		u->keys = xrealloc(u->keys, (u->nparams + 1) * sizeof(*u->keys));
		u->values = xrealloc(u->values, (u->nparams + 1) * sizeof(*u->values));
		u->keys[u->nparams] = decode(p, (size_t)(eq - p));
		u->values[u->nparams] = decode(eq + 1, (size_t)(p + n - eq - 1));
		u->nparams++;
		if (!u->keys[u->nparams - 1] || !u->values[u->nparams - 1])
			return -1;
		p += n;
		if (*p == '&')
			p++;
	}
	return 0;
}

int url_parse(const char *text, struct url *u, struct buf *err)
{
	memset(u, 0, sizeof(*u));
	const char *p = strstr(text, "://");
	if (!p)
		goto bad;
	u->scheme = xstrndup(text, (size_t)(p - text));
	p += 3;
	const char *at = user_end(p);
	if (at) {
		if (parse_user(p, at, u) < 0)
			goto bad;
		p = at + 1;
	}
	size_t hn = strcspn(p, "/?");
	int rc = parse_host(p, hn, u, err);
	if (rc < 0)
		goto fail;
	if (rc > 0)
		goto bad;
	p += hn;
	if (*p == '/') {
		size_t n = strcspn(++p, "?");
		if (n && !(u->database = decode(p, n)))
			goto bad;
		p += n;
	}
	if (*p == '?' && parse_params(p + 1, u) < 0)
		goto bad;
	return 0;
bad:
	buf_reset(err);
	buf_adds(err, "malformed URL: expected scheme://[user[:password]@][host][:port][/database][?key=value]");
fail:
	url_release(u);
	return -1;
}

const char *url_param(const struct url *u, const char *key)
{
	const char *v = NULL;
	for (size_t i = 0; i < u->nparams; i++)
		if (!strcmp(u->keys[i], key))
			v = u->values[i]; /* the last one counts */
	return v;
}

static void wipe(char *s)
{
	if (s) {
		volatile char *v = s;
		while (*v)
			*v++ = 0;
	}
	free(s);
}

void url_release(struct url *u)
{
	free(u->scheme);
	free(u->user);
	wipe(u->password);
	free(u->host);
	free(u->database);
	for (size_t i = 0; i < u->nparams; i++) {
		if (u->values[i] && u->keys[i] && !strcmp(u->keys[i], "password"))
			wipe(u->values[i]);
		else
			free(u->values[i]);
		free(u->keys[i]);
	}
	free(u->keys);
	free(u->values);
	memset(u, 0, sizeof(*u));
}

/* Append p with the value of every password= parameter masked. */
static void add_masked_params(struct buf *b, const char *p)
{
	const char *q = strchr(p, '?');
	if (!q) {
		buf_adds(b, p);
		return;
	}
	buf_add(b, p, (size_t)(q - p));
	for (p = q; *p;) {
		size_t n = strcspn(p + 1, "&") + 1; /* the separator and one key=value */
		if (!strncmp(p + 1, "password=", 9)) {
			buf_add(b, p, 10);
			buf_adds(b, "***");
		} else {
			buf_add(b, p, n);
		}
		p += n;
	}
}

char *url_mask(const char *text)
{
	struct buf b = BUF_INIT;
	const char *p = strstr(text, "://");
	if (!p || !strncmp(text, "sqlite", 6)) /* a file's path holds no password */
		return xstrdup(text);
	p += 3;
	buf_add(&b, text, (size_t)(p - text));
	const char *at = user_end(p);
	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		buf_add(&b, p, (size_t)((colon ? colon : at) - p));
		if (colon)
			buf_adds(&b, ":***");
		p = at;
	}
	add_masked_params(&b, p);
	return buf_detach(&b);
}

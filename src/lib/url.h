/* url: the one reader of database URLs,
 *   scheme://[user[:password]@][host][:port][/database][?key=value&...]
 * used to connect (MySQL) and to mask passwords in every message.
 *
 * The user part ends at the URL's last '@', so a password may hold '@',
 * ':', '/' or '?' unencoded; a host, database or parameter holding '@'
 * must write it %40.  Everything may be %-encoded. */
#ifndef DBPIPE_URL_H
#define DBPIPE_URL_H

#include <stddef.h>

#include "util.h"

struct url {
	char *scheme;            /* "mysql", "postgres" ... */
	char *user, *password;   /* decoded; NULL when absent */
	char *host;              /* decoded, an IPv6 address without its [] */
	unsigned port;           /* 0 when absent */
	char *database;          /* decoded path without its '/'; NULL when absent */
	size_t nparams;
	char **keys, **values;   /* the decoded query parameters, in order */
};

/* Parse text into u.  -1 with the reason in err (never the password). */
int url_parse(const char *text, struct url *u, struct buf *err);
/* The value of query parameter key, or NULL. */
const char *url_param(const struct url *u, const char *key);
/* Free u, overwriting the password first. */
void url_release(struct url *u);
/* text with any password (in the user part or a password= parameter)
 * replaced by "***"; text without "://" unchanged.  Caller frees. */
char *url_mask(const char *text);

#endif

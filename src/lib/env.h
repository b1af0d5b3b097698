/* env: named environments (dbpipe.conf, $XDG_CONFIG_HOME/dbpipe/config,
 * DBPIPE_<NAME>_URL) and the masking of URLs.  See dbpipe.conf(5). */
#ifndef DBPIPE_ENV_H
#define DBPIPE_ENV_H

#include <stddef.h>

#include "natural.h"

struct env {
	char *name;
	char *url;
	int protected_env;
	char **exclude;     /* table glob patterns */
	size_t nexclude;
	char *backups;      /* backup directory */
	char *prefer;       /* "source" or "target": how a merge settles conflicts; NULL: it reports them */
	int rekey;          /* dbapply --rekey by default */
	char **history;     /* more migration-history tables (glob patterns), left out of syncs */
	size_t nhistory;
	struct natural_key *natural; /* reference tables matched by a natural key */
	size_t nnatural;
	char *config;       /* the file it came from, or NULL */
};

/* Look name up.  Returns 1 and fills *out, 0 if there is no such
 * environment, -1 (message printed) if a config file is malformed. */
int env_lookup(const char *name, struct env *out);
void env_release(struct env *e);

#endif

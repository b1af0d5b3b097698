/* env: environment names from dbpipe.conf (inih) or DBPIPE_<NAME>_URL. */
#include "env.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "util.h"

struct lookup {
	const char *want;
	struct env *env;
	int found;
	const char *bad;
	struct buf why;     /* the text of bad, when made here */
};

/* 1 yes, 0 no, -1 neither: a typo must not leave prod unprotected. */
static int yes_no(const char *v)
{
	if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "on"))
		return 1;
	if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcmp(v, "0") || !strcasecmp(v, "off"))
		return 0;
	return -1;
}

/* The words of value (separated by blanks or commas) appended to *v. */
static void add_words(char ***v, size_t *n, const char *value)
{
	char *copy = xstrdup(value), *save = NULL;
	for (char *tok = strtok_r(copy, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save)) {
		*v = xrealloc(*v, (*n + 1) * sizeof(char *));
		(*v)[(*n)++] = xstrdup(tok);
	}
	free(copy);
}

static int on_entry(void *user, const char *section, const char *key, const char *value)
{
	struct lookup *l = user;
	static const char *const known[] = { "url", "protected", "exclude", "backups", "prefer",
					     "history_tables", "natural", "rekey" };
	int ok = 0;
	/* Every section is checked, not only the one asked for. */
	for (size_t i = 0; i < sizeof(known) / sizeof(*known); i++)
		ok |= !strcmp(key, known[i]);
	if (!ok) {
		l->bad = "unknown setting (known: url, protected, exclude, backups, prefer, history_tables, natural, "
			 "rekey)";
		return 0;
	}
	if ((!strcmp(key, "protected") || !strcmp(key, "rekey")) && yes_no(value) < 0) {
		l->bad = !strcmp(key, "rekey") ? "rekey takes yes or no (also true/false, on/off, 1/0)"
					      : "protected takes yes or no (also true/false, on/off, 1/0)";
		return 0;
	}
	if (!strcmp(key, "prefer") && strcmp(value, "source") && strcmp(value, "target")) {
		l->bad = "prefer takes source or target";
		return 0;
	}
	if (!strcmp(key, "natural") && !l->bad) {
		/* checked in every section; kept for the one asked for */
		struct natural_key *k = NULL;
		size_t n = 0;
		buf_reset(&l->why);
		int bad = natural_parse(value, &k, &n, &l->why) < 0;
		if (!bad && !strcmp(section, l->want)) {
			l->env->natural = xrealloc(l->env->natural, (l->env->nnatural + n + 1) * sizeof(*k));
			memcpy(l->env->natural + l->env->nnatural, k, n * sizeof(*k));
			l->env->nnatural += n;
			free(k);
		} else {
			natural_free(k, n);
			free(k);
		}
		if (bad) {
			l->bad = l->why.buf;
			return 0;
		}
		l->found |= !strcmp(section, l->want);
		return 1;
	}
	if (strcmp(section, l->want))
		return 1;
	struct env *e = l->env;
	l->found = 1;
	if (!strcmp(key, "url")) {
		free(e->url);
		e->url = xstrdup(value);
	} else if (!strcmp(key, "protected")) {
		e->protected_env = yes_no(value);
	} else if (!strcmp(key, "rekey")) {
		e->rekey = yes_no(value);
	} else if (!strcmp(key, "exclude")) {
		add_words(&e->exclude, &e->nexclude, value);
	} else if (!strcmp(key, "history_tables")) {
		add_words(&e->history, &e->nhistory, value);
	} else if (!strcmp(key, "prefer")) {
		free(e->prefer);
		e->prefer = xstrdup(value);
	} else {
		free(e->backups);
		e->backups = xstrdup(value);
	}
	return 1;
}

static int lookup_file(const char *path, const char *name, struct env *out)
{
	if (access(path, F_OK))
		return 0;
	struct lookup l = { name, out, 0, NULL, BUF_INIT };
	int rc = ini_parse(path, on_entry, &l);
	if (rc < 0) {
		buf_release(&l.why);
		return error("%s: %s", path, strerror(errno));
	}
	if (rc > 0) {
		error("%s:%d: %s", path, rc, l.bad ? l.bad : "malformed line");
		buf_release(&l.why);
		return -1;
	}
	buf_release(&l.why);
	if (l.found) {
		if (!out->url)
			return error("%s: environment [%s] has no url", path, name);
		out->config = xstrdup(path);
	}
	return l.found;
}

int env_lookup(const char *name, struct env *out)
{
	memset(out, 0, sizeof(*out));
	out->name = xstrdup(name);
	int got = lookup_file("dbpipe.conf", name, out);
	if (!got) {
		const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
		struct buf path = BUF_INIT;
		if (xdg && *xdg)
			buf_addf(&path, "%s/dbpipe/config", xdg);
		else if (home)
			buf_addf(&path, "%s/.config/dbpipe/config", home);
		if (path.len)
			got = lookup_file(path.buf, name, out);
		buf_release(&path);
	}
	if (!got) {
		struct buf var = BUF_INIT;
		buf_adds(&var, "DBPIPE_");
		for (const char *p = name; *p; p++)
			buf_addch(&var, isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_');
		buf_adds(&var, "_URL");
		const char *url = getenv(var.buf);
		buf_release(&var);
		if (url && *url) {
			out->url = xstrdup(url);
			got = 1;
		}
	}
	if (got <= 0) {
		env_release(out);
		return got;
	}
	if (!out->backups)
		out->backups = xstrdup("backups");
	return 1;
}

void env_release(struct env *e)
{
	for (size_t i = 0; i < e->nexclude; i++)
		free(e->exclude[i]);
	free(e->exclude);
	for (size_t i = 0; i < e->nhistory; i++)
		free(e->history[i]);
	free(e->history);
	free(e->prefer);
	natural_free(e->natural, e->nnatural);
	free(e->natural);
	free(e->name);
	free(e->url);
	free(e->backups);
	free(e->config);
	memset(e, 0, sizeof(*e));
}


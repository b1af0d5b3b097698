/* strmap: a map of byte strings to byte strings (open addressing, XXH3),
 * for the sets a sync keeps in memory: rows held back, natural keys.  It
 * owns copies of its keys and values; the first value put for a key stays.
 * A zeroed struct strmap is empty. */
#ifndef DBPIPE_STRMAP_H
#define DBPIPE_STRMAP_H

#include <stddef.h>

struct strmap {
	size_t n, cap;
	struct strmap_entry {
		char *key, *val;     /* NUL-terminated copies (they may hold NULs too) */
		size_t klen, vlen;
	} *e;                    /* key NULL where empty */
};

/* The entry of key, or NULL. */
const struct strmap_entry *strmap_get(const struct strmap *m, const char *key, size_t klen);
/* key -> val, unless key is there already: 1 added, 0 not. */
int strmap_put(struct strmap *m, const char *key, size_t klen, const char *val, size_t vlen);
void strmap_release(struct strmap *m);

#endif

/* json-parse: parse every line of an NDJSON file with jansson and with
 * dbpipe's own parser (lib/json.c), and print the time of each.  Built and
 * run by bench/run.sh: the measurement behind the choice of the codec. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: json-parse FILE\n");
		return 2;
	}
	FILE *f = fopen(argv[1], "r");
	if (!f) {
		perror(argv[1]);
		return 2;
	}
	/* Lines in memory first, so that only parsing is timed. */
	char *data = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&data, &len);
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, m);
	fclose(m);
	fclose(f);

	long lines = 0, bad = 0;
	double t0 = now();
	for (char *p = data, *e; p < data + len; p = e + 1) {
		e = memchr(p, '\n', (size_t)(data + len - p));
		if (!e)
			e = data + len;
		json_error_t err;
		json_t *j = json_loadb(p, (size_t)(e - p), JSON_REJECT_DUPLICATES, &err);
		bad += !j;
		json_decref(j);
		lines++;
	}
	double t1 = now();
	struct json_doc doc;
	struct buf err = BUF_INIT;
	struct jv *root;
	json_doc_init(&doc);
	for (char *p = data, *e; p < data + len; p = e + 1) {
		e = memchr(p, '\n', (size_t)(data + len - p));
		if (!e)
			e = data + len;
		bad += json_parse(&doc, p, (size_t)(e - p), 1, &root, &err) < 0;
	}
	double t2 = now();
	printf("%-58s %9.2f %12.0f\n", "JSON parse, jansson json_loadb", t1 - t0, lines / (t1 - t0));
	printf("%-58s %9.2f %12.0f\n", "JSON parse, dbpipe json_parse (lib/json.c)", t2 - t1, lines / (t2 - t1));
	json_doc_release(&doc);
	buf_release(&err);
	free(data);
	return bad ? 1 : 0;
}

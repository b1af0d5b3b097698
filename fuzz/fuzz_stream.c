/* A libFuzzer target for the stream reader: the input is a whole stream
 * file (plain, gzip or zstd), read to its end as dbapply and dbdiff read it.
 * Every input must end in a clean refusal or a clean end, never a crash,
 * a leak or undefined behaviour (ASan/UBSan are on). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "stream.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[4096];

static void remove_input(void)
{
	unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!path[0]) {
		const char *tmp = getenv("TMPDIR");
		snprintf(path, sizeof(path), "%s/dbpipe-fuzz-%ld.ndjson", tmp && *tmp ? tmp : "/tmp",
			 (long)getpid());
		atexit(remove_input);
	}
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, size, f) != size || fclose(f))
		abort();
	struct stream_reader r;
	if (stream_open(&r, path) == 0)
		while (stream_next(&r) > 0)
			;
	stream_close(&r);
	return 0;
}

/* A libFuzzer target for the JSON parser: the input is one record line,
 * parsed as the stream reader parses it (as an object and as any value). */
#include <stdint.h>

#include "json.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_doc d;
	struct buf err = BUF_INIT;
	struct jv *root;
	for (int want_object = 0; want_object < 2; want_object++) {
		json_doc_init(&d);
		json_parse(&d, (const char *)data, size, want_object, &root, &err);
		json_doc_release(&d);
	}
	buf_release(&err);
	return 0;
}

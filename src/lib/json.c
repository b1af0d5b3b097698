/* json: parsing through jansson, encoding through one escape function. */
#include "json.h"

#include <string.h>

int json_parse_line(const char *s, size_t n, json_t **out, struct buf *err)
{
	json_error_t e;
	*out = json_loadb(s, n, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &e);
	if (!*out) {
		buf_reset(err);
		buf_addf(err, "invalid JSON at column %d: %s", e.column, e.text);
		return -1;
	}
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		buf_reset(err);
		buf_adds(err, "record is not a JSON object");
		return -1;
	}
	return 0;
}

int utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str, *e = s + n;
	while (s < e) {
		unsigned c = *s;
		if (c < 0x80) {
			s++;
			continue;
		}
		size_t len;
		unsigned min;
		if ((c & 0xE0) == 0xC0) { len = 2; min = 0x80; c &= 0x1F; }
		else if ((c & 0xF0) == 0xE0) { len = 3; min = 0x800; c &= 0x0F; }
		else if ((c & 0xF8) == 0xF0) { len = 4; min = 0x10000; c &= 0x07; }
		else return 0;
		if ((size_t)(e - s) < len)
			return 0;
		for (size_t i = 1; i < len; i++) {
			if ((s[i] & 0xC0) != 0x80)
				return 0;
			c = c << 6 | (s[i] & 0x3F);
		}
		if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
			return 0;
		s += len;
	}
	return 1;
}

int json_add_string(struct buf *b, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	int ascii = 1;
	buf_grow(b, n + 2);
	b->buf[b->len++] = '"';
	size_t run = 0; /* start of the pending run of plain bytes */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		if (c >= 0x20 && c != '"' && c != '\\') {
			if (c >= 0x80)
				ascii = 0;
			continue;
		}
		buf_add(b, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"': buf_add(b, "\\\"", 2); break;
		case '\\': buf_add(b, "\\\\", 2); break;
		case '\n': buf_add(b, "\\n", 2); break;
		case '\r': buf_add(b, "\\r", 2); break;
		case '\t': buf_add(b, "\\t", 2); break;
		case '\b': buf_add(b, "\\b", 2); break;
		case '\f': buf_add(b, "\\f", 2); break;
		default: {
			char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
			buf_add(b, u, 6);
		}
		}
	}
	buf_add(b, s + run, n - run);
	buf_addch(b, '"');
	if (!ascii && !utf8_valid(str, n))
		return -1;
	return 0;
}

void json_add_key(struct buf *b, const char *key)
{
	json_add_string(b, key, strlen(key));
	buf_addch(b, ':');
}

const char *json_get_string(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* convert: a stream's values in the form the target column keeps them
 * (convert.h).  Each rule turns the canonical text of the stream's type into
 * the canonical text the target's reader gives back for its own type, or
 * refuses; none rounds, truncates or guesses. */
#include "convert.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"

/* The n of a declared char(n), varchar(n), character varying(n),
 * nvarchar(n)...; -1 for any other type. */
static long declared_length(const char *native)
{
	return strcasestr(native, "char") ? native_scale(native, 0, -1) : -1;
}

static size_t utf8_chars(const char *p, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)p[i] & 0xC0) != 0x80;
	return c;
}

/* A UUID as 32 hex digits with or without the four dashes (and in
 * braces, as PostgreSQL also reads them), into 32 lower-case digits. */
static int uuid_digits(const char *p, size_t n, char out[33])
{
	if (n >= 2 && p[0] == '{' && p[n - 1] == '}')
		p++, n -= 2;
	if (n != 32 && n != 36)
		return -1;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (n == 36 && (i == 8 || i == 13 || i == 18 || i == 23)) {
			if (p[i] != '-')
				return -1;
			continue;
		}
		if (!isxdigit((unsigned char)p[i]))
			return -1;
		out[k++] = (char)tolower((unsigned char)p[i]);
	}
	out[k] = '\0';
	return 0;
}

static void uuid_dashed(const char d[33], char out[37])
{
	size_t k = 0;
	for (size_t i = 0; i < 32; i++) {
		if (i == 8 || i == 12 || i == 16 || i == 20)
			out[k++] = '-';
		out[k++] = d[i];
	}
	out[k] = '\0';
}

static int digits_at(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)p[i]))
			return 0;
	return 1;
}

static int is_date_text(const char *p, size_t n)
{
	return n == 10 && digits_at(p, 4) && p[4] == '-' && digits_at(p + 5, 2) && p[7] == '-' &&
	       digits_at(p + 8, 2);
}

/* "HH:MM:SS" with an optional fraction of 1 to 9 digits: its length, or 0. */
static size_t time_len(const char *p, size_t n)
{
	if (n < 8 || !digits_at(p, 2) || p[2] != ':' || !digits_at(p + 3, 2) || p[5] != ':' ||
	    !digits_at(p + 6, 2))
		return 0;
	size_t len = 8;
	if (len < n && p[len] == '.') {
		size_t f = 0;
		while (len + 1 + f < n && isdigit((unsigned char)p[len + 1 + f]))
			f++;
		if (!f || f > 9)
			return 0;
		len += 1 + f;
	}
	return len;
}

/* A timestamp as text: "YYYY-MM-DD", 'T' or ' ', a time, then nothing,
 * "Z" or a zero offset.  Returns the length of its date and time, -1 when
 * it is not one, -2 when its offset is not zero. */
static long timestamp_text(const char *p, size_t n)
{
	if (n < 19 || !is_date_text(p, 10) || (p[10] != 'T' && p[10] != ' '))
		return -1;
	size_t t = time_len(p + 11, n - 11);
	if (!t)
		return -1;
	size_t len = 11 + t;
	const char *z = p + len;
	size_t zn = n - len;
	if (!zn || (zn == 1 && *z == 'Z'))
		return (long)len;
	if ((zn == 3 || zn == 6) && (*z == '+' || *z == '-') && digits_at(z + 1, 2) &&
	    (zn == 3 || (z[3] == ':' && digits_at(z + 4, 2))))
		return !strncmp(z + 1, "00", 2) && (zn == 3 || !strncmp(z + 4, "00", 2)) ? (long)len : -2;
	return -1;
}

/* A number in plain digits (float text may have an exponent: 1e+20). */
static void plain_decimal(struct buf *out, const char *s)
{
	const char *e = strpbrk(s, "eE");
	if (!e) {
		buf_adds(out, s);
		return;
	}
	int neg = *s == '-';
	s += *s == '-' || *s == '+';
	/* the mantissa's digits without its point (it may be long: a decimal
	 * may be written with an exponent too) */
	struct buf mant = BUF_INIT;
	size_t point = 0;
	int seen_point = 0;
	for (const char *q = s; q < e; q++) {
		if (*q == '.') {
			seen_point = 1;
			continue;
		}
		buf_addch(&mant, *q);
		point += !seen_point;
	}
	const char *digits = mant.len ? mant.buf : "";
	size_t nd = mant.len;
	long exp = strtol(e + 1, NULL, 10) + (long)point;
	if (neg)
		buf_addch(out, '-');
	if (exp <= 0) {
		buf_adds(out, "0.");
		for (long k = 0; k < -exp; k++)
			buf_addch(out, '0');
		buf_add(out, digits, nd);
		buf_release(&mant);
		return;
	}
	for (long k = 0; k < exp; k++)
		buf_addch(out, (size_t)k < nd ? digits[k] : '0');
	if ((size_t)exp < nd) {
		buf_addch(out, '.');
		buf_add(out, digits + exp, nd - (size_t)exp);
	}
	buf_release(&mant);
}

static int convert_type(struct row *r, size_t i, const struct column *from, const struct column *to,
			struct buf *err);

static int has_fraction(enum vtype t)
{
	return t == VT_DECIMAL || t == VT_TIME || t == VT_TIMESTAMP || t == VT_TIMESTAMPTZ;
}

/* Whether a value of `from` may need another text in `to`. */
static int column_converts(const struct column *from, const struct column *to)
{
	if (from->type != to->type)
		return 1;
	if (has_fraction(to->type) && to->scale >= 0 && (from->scale < 0 || from->scale > to->scale))
		return 1;
	/* A length the source did not declare is checked, as a strict engine
	 * would (SQLite keeps any length in a varchar(10)). */
	return to->type == VT_TEXT && declared_length(to->native) >= 0 && strcmp(from->native, to->native);
}

struct table *convert_table(const struct table *st, const struct table *proj)
{
	int any = 0;
	for (size_t i = 0; i < st->ncols; i++)
		any |= column_converts(&st->cols[i], &proj->cols[i]);
	if (!any)
		return NULL;
	struct table *t = table_copy(st);
	for (size_t i = 0; i < t->ncols; i++) {
		struct column *c = &t->cols[i];
		const struct column *d = &proj->cols[i];
		c->type = d->type;
		free(c->native);
		c->native = xstrdup(d->native);
		c->exact_text = d->exact_text;
		c->json_doc = d->json_doc;
		c->scale = d->scale;
	}
	return t;
}

static int refuse(struct buf *err, const char *p, size_t n, const char *why)
{
	buf_adds(err, "the value ");
	json_add_string(err, p, n > 80 ? 80 : n);
	buf_addf(err, "%s %s", n > 80 ? "..." : "", why);
	return -1;
}

static int convert_text(struct row *r, size_t i, const struct column *from, const struct column *to,
			struct buf *err)
{
	const char *p = row_ptr(r, i);
	size_t n = r->v[i].len;
	long len = declared_length(to->native);
	char d[33];
	if (from->type == VT_UUID && len == 32 && uuid_digits(p, n, d) == 0) {
		/* Django's UUIDField where the engine has no uuid type. */
		row_set(r, i, d, 32);
		return 0;
	}
	if (from->type == VT_BYTES && !utf8_valid(p, n))
		return refuse(err, p, n, "is not UTF-8 text");
	if (len >= 0 && strcmp(from->native, to->native) && utf8_chars(p, n) > (size_t)len) {
		buf_addf(err, "a value of %zu characters is longer than the column's %s", utf8_chars(p, n),
			 to->native);
		return -1;
	}
	return 0;
}

static int convert_timestamp(struct row *r, size_t i, enum vtype from, enum vtype to, struct buf *err)
{
	const char *p = row_ptr(r, i);
	size_t n = r->v[i].len;
	struct buf b = BUF_INIT;
	if (from == VT_DATE) {
		if (!is_date_text(p, n))
			return 0; /* BC and infinite dates: the engine reads them or says why */
		buf_add(&b, p, n);
		buf_adds(&b, "T00:00:00");
	} else {
		long len = timestamp_text(p, n);
		if (len == -2)
			return refuse(err, p, n, "has a UTC offset other than 0 (dbpipe(5): timestamps travel in UTC)");
		if (len < 0) {
			if (from == VT_TIMESTAMP || from == VT_TIMESTAMPTZ)
				return 0; /* BC, infinity: as they are */
			return refuse(err, p, n, "is not a timestamp YYYY-MM-DD HH:MM:SS[.ffffff]");
		}
		buf_add(&b, p, (size_t)len);
		b.buf[10] = 'T';
	}
	if (to == VT_TIMESTAMPTZ)
		buf_addch(&b, 'Z');
	row_set(r, i, b.buf, b.len);
	buf_release(&b);
	return 0;
}

static int convert_number(struct row *r, size_t i, enum vtype from, enum vtype to, struct buf *err)
{
	const char *p = row_ptr(r, i);
	size_t n = r->v[i].len;
	struct buf b = BUF_INIT;
	int rc = 0;
	if (to == VT_FLOAT && (from == VT_INT || from == VT_DECIMAL) && is_decimal_text(p) &&
	    !strpbrk(p, "IN")) {
		value_format_double(&b, strtod(p, NULL));
		struct buf plain = BUF_INIT;
		plain_decimal(&plain, b.buf);
		if (decimal_cmp(p, n, plain.buf, plain.len) != 0)
			rc = refuse(err, p, n, "does not fit a float exactly");
		else
			row_set(r, i, b.buf, b.len);
		buf_release(&plain);
	} else if (to == VT_DECIMAL && from == VT_FLOAT && strpbrk(p, "eE")) {
		plain_decimal(&b, p);
		row_set(r, i, b.buf, b.len);
	} else if (to == VT_INT && from == VT_BOOL) {
		row_set(r, i, p[0] == 't' ? "1" : "0", 1);
	} else if (to == VT_BOOL && from == VT_INT) {
		if (strcmp(p, "0") && strcmp(p, "1"))
			rc = refuse(err, p, n, "is not 0 or 1 (the column is a bool)");
		else
			row_set(r, i, p[0] == '1' ? "true" : "false", p[0] == '1' ? 4 : 5);
	}
	buf_release(&b);
	return rc;
}

/* Digits of a fraction beyond the column's scale: refused, or cut with
 * --lossy fraction (trailing zeros the engine drops without loss). */
static int fit_scale(struct row *r, size_t i, const struct column *to, struct convert_opts *o,
		     struct buf *err)
{
	if (!has_fraction(to->type) || to->scale < 0)
		return 0;
	if (to->type == VT_DECIMAL && strpbrk(row_ptr(r, i), "eE")) {
		struct buf plain = BUF_INIT;
		plain_decimal(&plain, row_ptr(r, i));
		row_set(r, i, plain.buf, plain.len);
		buf_release(&plain);
	}
	const char *p = row_ptr(r, i);
	size_t n = r->v[i].len;
	const char *dot = memchr(p, '.', n);
	if (!dot)
		return 0;
	size_t keep = (size_t)(dot - p) + 1 + (size_t)to->scale, end = (size_t)(dot - p) + 1;
	while (end < n && isdigit((unsigned char)p[end]))
		end++;
	int lost = 0;
	for (size_t k = keep; k < end; k++)
		lost |= p[k] != '0';
	if (!lost)
		return 0;
	if (!(o->lossy & LOSSY_FRACTION)) {
		buf_adds(err, "the value ");
		json_add_string(err, p, n);
		buf_addf(err, " has more %s than the column keeps (%d; --lossy fraction cuts them)",
			 to->type == VT_DECIMAL ? "fraction digits" : "digits of a second", to->scale);
		return -1;
	}
	struct buf b = BUF_INIT;
	buf_add(&b, p, to->scale ? keep : keep - 1);
	buf_add(&b, p + end, n - end);
	row_set(r, i, b.buf, b.len);
	buf_release(&b);
	o->cut++;
	return 0;
}

/* A JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?; integer
 * is set when it has neither fraction nor exponent. */
static int json_number(const char *p, int *integer)
{
	*integer = 1;
	p += *p == '-';
	if (*p == '0')
		p++;
	else if (isdigit((unsigned char)*p))
		while (isdigit((unsigned char)*p))
			p++;
	else
		return 0;
	if (*p == '.') {
		*integer = 0;
		if (!isdigit((unsigned char)*++p))
			return 0;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		*integer = 0;
		p += p[1] == '+' || p[1] == '-';
		if (!isdigit((unsigned char)*++p))
			return 0;
		while (isdigit((unsigned char)*p))
			p++;
	}
	return !*p;
}

/* A value into a number or bool column must be that type's canonical
 * text, or it is refused: a bit string "0101" or a decimal "12.50" into an
 * integer column would otherwise be stored as another number, or spooled
 * as broken JSON. */
static int check_number_form(struct row *r, size_t i, enum vtype to, struct buf *err)
{
	const char *p = row_ptr(r, i);
	size_t n = r->v[i].len;
	int integer;
	int64_t v;
	char canon[24];
	switch (to) {
	case VT_INT:
		if (parse_int64(p, INT64_MIN, INT64_MAX, &v) < 0)
			return refuse(err, p, n, "is not an integer of 64 bits (the column is an integer)");
		snprintf(canon, sizeof(canon), "%lld", (long long)v);
		if (strcmp(canon, p) || !json_number(p, &integer) || !integer)
			return refuse(err, p, n, "is an integer spelled otherwise (the column is an integer)");
		return 0;
	case VT_FLOAT:
		if (json_number(p, &integer) || !strcmp(p, "NaN") || !strcmp(p, "Infinity") ||
		    !strcmp(p, "-Infinity"))
			return 0;
		return refuse(err, p, n, "is not a number (the column is a float)");
	case VT_DECIMAL:
		return is_decimal_text(p) ? 0 : refuse(err, p, n, "is not a decimal number (the column is a decimal)");
	case VT_BOOL:
		if (!strcmp(p, "true") || !strcmp(p, "false"))
			return 0;
		return refuse(err, p, n, "is not true or false (the column is a bool)");
	default:
		return 0;
	}
}

int convert_value(struct row *r, size_t i, const struct column *from, const struct column *to,
		  struct convert_opts *o, struct buf *err)
{
	buf_reset(err);
	if (r->v[i].state != V_SET || !column_converts(from, to))
		return 0;
	if ((from->type != to->type || to->type == VT_TEXT) && convert_type(r, i, from, to, err) < 0)
		return -1;
	return fit_scale(r, i, to, o, err);
}

/* A value of one neutral type into a column of another. */
static int convert_type(struct row *r, size_t i, const struct column *from, const struct column *to,
			struct buf *err)
{
	const char *p = row_ptr(r, i);
	size_t n = r->v[i].len;
	char d[33], dashed[37];
	switch (to->type) {
	case VT_TEXT:
		return convert_text(r, i, from, to, err);
	case VT_UUID:
		if (uuid_digits(p, n, d) < 0)
			return refuse(err, p, n, "is not a UUID");
		uuid_dashed(d, dashed);
		row_set(r, i, dashed, 36);
		return 0;
	case VT_TIMESTAMP:
	case VT_TIMESTAMPTZ:
		return convert_timestamp(r, i, from->type, to->type, err);
	case VT_DATE:
		return is_date_text(p, n) || from->type == VT_OTHER ? 0 : refuse(err, p, n, "is not a date YYYY-MM-DD");
	case VT_TIME:
		return time_len(p, n) == n || from->type == VT_OTHER ? 0
		       : refuse(err, p, n, "is not a time HH:MM:SS[.ffffff]");
	case VT_JSON: {
		struct json_doc doc;
		struct jv *root;
		struct buf why = BUF_INIT;
		json_doc_init(&doc);
		int bad = json_parse(&doc, p, n, 0, &root, &why) < 0;
		json_doc_release(&doc);
		if (bad) {
			refuse(err, p, n, "is not a JSON document: ");
			buf_add(err, why.buf, why.len);
		}
		buf_release(&why);
		return bad ? -1 : 0;
	}
	case VT_INT:
	case VT_BOOL:
	case VT_FLOAT:
	case VT_DECIMAL:
		if (convert_number(r, i, from->type, to->type, err) < 0)
			return -1;
		return check_number_form(r, i, to->type, err);
	default:
		return 0;
	}
}

int convert_row(struct row *r, const struct table *from, const struct table *to, struct convert_opts *o,
		struct buf *err)
{
	for (size_t i = 0; i < from->ncols && i < r->n; i++) {
		if (convert_value(r, i, &from->cols[i], &to->cols[i], o, err) < 0) {
			struct buf why = BUF_INIT;
			buf_add(&why, err->buf, err->len);
			buf_reset(err);
			buf_addf(err, "column \"%s\" (%s in the stream, %s in the target): %s", from->cols[i].name,
				 from->cols[i].native, to->cols[i].native, why.buf);
			buf_release(&why);
			return -1;
		}
	}
	return 0;
}

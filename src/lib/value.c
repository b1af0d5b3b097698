/* value: canonical text of typed values, their JSON form, key order. */
#include "value.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static const char *const vtype_names[] = {
	[VT_INT] = "int", [VT_FLOAT] = "float", [VT_DECIMAL] = "decimal",
	[VT_BOOL] = "bool", [VT_TEXT] = "text", [VT_UUID] = "uuid",
	[VT_JSON] = "json", [VT_ENUM] = "enum", [VT_BYTES] = "bytes",
	[VT_DATE] = "date", [VT_TIME] = "time", [VT_TIMESTAMP] = "timestamp",
	[VT_TIMESTAMPTZ] = "timestamptz", [VT_OTHER] = "other",
};

const char *vtype_name(enum vtype t)
{
	return vtype_names[t];
}

int vtype_parse(const char *name, enum vtype *out)
{
	for (size_t i = 0; i < sizeof(vtype_names) / sizeof(*vtype_names); i++)
		if (!strcmp(name, vtype_names[i])) {
			*out = (enum vtype)i;
			return 0;
		}
	return -1;
}

void row_init(struct row *r, size_t ncols)
{
	r->n = ncols;
	r->v = xcalloc(ncols ? ncols : 1, sizeof(*r->v));
	buf_init(&r->data);
}

void row_release(struct row *r)
{
	free(r->v);
	r->v = NULL;
	r->n = 0;
	buf_release(&r->data);
}

void row_clear(struct row *r)
{
	memset(r->v, 0, r->n * sizeof(*r->v));
	buf_reset(&r->data);
}

void row_copy(struct row *dst, const struct row *src)
{
	if (dst->n != src->n) {
		dst->v = xrealloc(dst->v, (src->n ? src->n : 1) * sizeof(*dst->v));
		dst->n = src->n;
	}
	memcpy(dst->v, src->v, src->n * sizeof(*src->v));
	buf_reset(&dst->data);
	buf_add(&dst->data, src->data.buf, src->data.len);
}

void row_resize(struct row *r, size_t n)
{
	if (r->n != n) {
		r->v = xrealloc(r->v, (n ? n : 1) * sizeof(*r->v));
		r->n = n;
	}
	row_clear(r);
}

void row_copy_value(struct row *dst, const struct row *src, size_t i)
{
	if (src->v[i].state == V_SET)
		row_set(dst, i, row_ptr(src, i), src->v[i].len);
	else if (src->v[i].state == V_NULL)
		row_set_null(dst, i);
}

void row_set(struct row *r, size_t i, const char *p, size_t len)
{
	r->v[i].state = V_SET;
	r->v[i].off = r->data.len;
	r->v[i].len = len;
	buf_add(&r->data, p, len);
	buf_addch(&r->data, '\0'); /* so numeric parsers can read the value in place */
}

int row_add_part(struct buf *b, const struct row *r, long i)
{
	if (i < 0 || r->v[i].state != V_SET)
		return 0;
	buf_addf(b, "%zu:", r->v[i].len);
	buf_add(b, row_ptr(r, (size_t)i), r->v[i].len);
	return 1;
}

void row_set_null(struct row *r, size_t i)
{
	r->v[i].state = V_NULL;
	r->v[i].off = r->v[i].len = 0;
}

int format_u64(char *dst, uint64_t v)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (int i = 0; i < n; i++)
		dst[i] = tmp[n - 1 - i];
	dst[n] = '\0';
	return n;
}

int format_i64(char *dst, int64_t v)
{
	if (v < 0) {
		*dst = '-';
		return 1 + format_u64(dst + 1, (uint64_t)0 - (uint64_t)v);
	}
	return format_u64(dst, (uint64_t)v);
}

void value_format_double(struct buf *out, double d)
{
	if (isnan(d)) {
		buf_adds(out, "NaN");
		return;
	}
	if (isinf(d)) {
		buf_adds(out, d < 0 ? "-Infinity" : "Infinity");
		return;
	}
	/* The common case without printf: a value of at most 15 significant
	 * digits and 6 decimals, in %g's fixed range, is m / 10^k for the
	 * smallest k that divides back exactly (both are exact doubles, so the
	 * quotient is the correctly rounded value of the same decimal), and %g
	 * would print exactly these digits. */
	static const double p10[] = { 1, 10, 100, 1e3, 1e4, 1e5, 1e6 };
	double a = d < 0 ? -d : d;
	if (a >= 1e-4 && a < 1e15) {
		for (int k = 0; k <= 6; k++) {
			double m = nearbyint(a * p10[k]);
			if (m >= 1e15)
				break;
			if (m / p10[k] != a)
				continue;
			char digits[24], txt[40];
			int n = format_u64(digits, (uint64_t)m), o = 0;
			if (d < 0)
				txt[o++] = '-';
			if (n <= k) { /* 0.000123 */
				txt[o++] = '0';
				txt[o++] = '.';
				for (int z = n; z < k; z++)
					txt[o++] = '0';
				memcpy(txt + o, digits, (size_t)n);
				o += n;
			} else {
				memcpy(txt + o, digits, (size_t)(n - k));
				o += n - k;
				if (k) {
					txt[o++] = '.';
					memcpy(txt + o, digits + n - k, (size_t)k);
					o += k;
				}
			}
			buf_add(out, txt, (size_t)o);
			return;
		}
	}
	char tmp[40];
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	buf_adds(out, tmp);
}

int is_decimal_text(const char *s)
{
	if (!strcmp(s, "NaN") || !strcmp(s, "Infinity") || !strcmp(s, "-Infinity"))
		return 1;
	if (*s == '-' || *s == '+')
		s++;
	int digits = 0;
	while (isdigit((unsigned char)*s))
		s++, digits++;
	if (*s == '.') {
		s++;
		while (isdigit((unsigned char)*s))
			s++, digits++;
	}
	if (!digits)
		return 0;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '-' || *s == '+')
			s++;
		if (!isdigit((unsigned char)*s))
			return 0;
		while (isdigit((unsigned char)*s))
			s++;
	}
	return *s == '\0';
}

static int mismatch(struct buf *err, const char *want, const struct jv *j)
{
	buf_reset(err);
	buf_addf(err, "expected %s, found JSON %s", want, jv_type_name(j->type));
	return -1;
}

static int is_special_float(const char *s)
{
	return !strcmp(s, "NaN") || !strcmp(s, "Infinity") || !strcmp(s, "-Infinity");
}

int value_from_json(struct row *r, size_t i, enum vtype t, const struct jv *j, struct buf *err)
{
	int64_t n;
	if (j->type == J_NULL) {
		row_set_null(r, i);
		return 0;
	}
	switch (t) {
	case VT_INT:
		if (!jv_is_integer(j))
			return mismatch(err, "an integer", j);
		/* Up to 18 digits always fit in 64 bits: no conversion on the hot
		 * path.  JSON has no leading zeros or '+': canonical, but for "-0". */
		if (j->len <= 18 + (j->s[0] == '-')) {
			if (j->len == 2 && j->s[0] == '-' && j->s[1] == '0')
				row_set(r, i, "0", 1);
			else
				row_set(r, i, j->s, j->len);
			return 0;
		}
		if (jv_int64(j, &n) < 0) {
			buf_reset(err);
			buf_addf(err, "the integer %.40s does not fit in 64 bits", j->s);
			return -1;
		}
		/* JSON has no leading zeros or '+': canonical, but for "-0" */
		if (n == 0)
			row_set(r, i, "0", 1);
		else
			row_set(r, i, j->s, j->len);
		return 0;
	case VT_FLOAT:
		if (jv_is_integer(j)) {
			row_set(r, i, j->s, j->len);
			return 0;
		}
		if (j->type == J_NUMBER) {
			struct buf b = BUF_INIT;
			value_format_double(&b, strtod(j->s, NULL));
			row_set(r, i, b.buf, b.len);
			buf_release(&b);
			return 0;
		}
		if (j->type == J_STRING && is_special_float(j->s)) {
			row_set(r, i, j->s, j->len);
			return 0;
		}
		return mismatch(err, "a number or \"NaN\"/\"Infinity\"/\"-Infinity\"", j);
	case VT_DECIMAL:
		if (jv_is_integer(j)) {
			row_set(r, i, j->s, j->len);
			return 0;
		}
		if (j->type != J_STRING)
			return mismatch(err, "a decimal number as a string", j);
		if (!is_decimal_text(j->s)) {
			buf_reset(err);
			buf_addf(err, "expected a decimal number, found \"%.40s\"", j->s);
			return -1;
		}
		row_set(r, i, j->s, j->len);
		return 0;
	case VT_BOOL:
		if (j->type != J_TRUE && j->type != J_FALSE)
			return mismatch(err, "true or false", j);
		if (j->type == J_TRUE)
			row_set(r, i, "true", 4);
		else
			row_set(r, i, "false", 5);
		return 0;
	case VT_BYTES: {
		if (j->type != J_STRING)
			return mismatch(err, "base64 bytes as a string", j);
		struct buf b = BUF_INIT;
		if (base64_decode(&b, j->s, j->len) < 0) {
			buf_release(&b);
			buf_reset(err);
			buf_adds(err, "invalid base64 for a bytes value");
			return -1;
		}
		row_set(r, i, b.buf, b.len);
		buf_release(&b);
		return 0;
	}
	default:
		if (j->type != J_STRING)
			return mismatch(err, "a string", j);
		row_set(r, i, j->s, j->len);
		return 0;
	}
}

int value_to_json(struct buf *out, const struct row *r, size_t i, enum vtype t, struct buf *err)
{
	const struct value *v = &r->v[i];
	const char *p = row_ptr(r, i);
	if (v->state != V_SET) {
		buf_add(out, "null", 4);
		return 0;
	}
	switch (t) {
	case VT_INT:
	case VT_BOOL:
		buf_add(out, p, v->len);
		return 0;
	case VT_FLOAT:
		if (isalpha((unsigned char)p[v->len ? v->len - 1 : 0]) || v->len == 0)
			return json_add_string(out, p, v->len); /* NaN, Infinity */
		buf_add(out, p, v->len);
		return 0;
	case VT_BYTES:
		buf_addch(out, '"');
		base64_encode(out, (const unsigned char *)p, v->len);
		buf_addch(out, '"');
		return 0;
	default:
		if (json_add_string(out, p, v->len) < 0) {
			buf_reset(err);
			buf_adds(err, "text is not valid UTF-8");
			return -1;
		}
		return 0;
	}
}

/* Compare two decimal texts by value without converting to binary. */
int decimal_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	(void)alen;
	(void)blen;
	/* Special values order as PostgreSQL does: -Infinity < numbers < Infinity < NaN. */
	int ra = !strcmp(a, "NaN") ? 3 : !strcmp(a, "Infinity") ? 2 : !strcmp(a, "-Infinity") ? -2 : 0;
	int rb = !strcmp(b, "NaN") ? 3 : !strcmp(b, "Infinity") ? 2 : !strcmp(b, "-Infinity") ? -2 : 0;
	if (ra || rb)
		return ra < rb ? -1 : ra > rb;
	if (strpbrk(a, "eE") || strpbrk(b, "eE"))
		return -2;
	int na = *a == '-', nb = *b == '-';
	a += (*a == '-' || *a == '+');
	b += (*b == '-' || *b == '+');
	while (*a == '0')
		a++;
	while (*b == '0')
		b++;
	size_t ia = strcspn(a, "."), ib = strcspn(b, ".");
	const char *fa = a[ia] ? a + ia + 1 : "", *fb = b[ib] ? b + ib + 1 : "";
	size_t la = strlen(fa), lb = strlen(fb);
	while (la && fa[la - 1] == '0')
		la--;
	while (lb && fb[lb - 1] == '0')
		lb--;
	int zero_a = ia == 0 && la == 0, zero_b = ib == 0 && lb == 0;
	if (zero_a)
		na = 0;
	if (zero_b)
		nb = 0;
	if (na != nb)
		return na ? -1 : 1;
	int mag;
	if (ia != ib) {
		mag = ia < ib ? -1 : 1;
	} else {
		mag = memcmp(a, b, ia);
		if (!mag) {
			size_t m = la < lb ? la : lb;
			mag = memcmp(fa, fb, m);
			if (!mag)
				mag = la < lb ? -1 : la > lb;
		}
		mag = mag < 0 ? -1 : mag > 0;
	}
	return na ? -mag : mag;
}

static int double_cmp(const char *a, const char *b)
{
	double x = strtod(a, NULL), y = strtod(b, NULL);
	if (isnan(x) || isnan(y))
		return isnan(x) - isnan(y);
	return x < y ? -1 : x > y;
}

enum key_order value_key_order(enum vtype t)
{
	switch (t) {
	case VT_INT: case VT_FLOAT: case VT_DECIMAL: case VT_BOOL:
		return KEY_ORDER_NUMBER;
	case VT_BYTES: case VT_UUID:
		return KEY_ORDER_BYTES;
	case VT_TEXT: case VT_ENUM:
		return KEY_ORDER_TEXT;
	case VT_TIMESTAMP: case VT_TIMESTAMPTZ:
		return KEY_ORDER_TIMESTAMP;
	default:
		return KEY_ORDER_CANONICAL;
	}
}

int value_cmp_text(const char *pa, size_t la, int seta, const char *pb, size_t lb, int setb,
		   enum vtype t)
{
	if (!seta || !setb)
		return seta - setb;
	switch (t) {
	case VT_INT: {
		/* Canonical ints (no '+', no leading zeros, no "-0") compare by sign,
		 * then length, then digits: no conversion on the hot path. */
		int na = pa[0] == '-', nb = pb[0] == '-';
		if (na != nb)
			return na ? -1 : 1;
		int c = la != lb ? (la < lb ? -1 : 1) : memcmp(pa, pb, la);
		c = c < 0 ? -1 : c > 0;
		return na ? -c : c;
	}
	case VT_DECIMAL: {
		int c = decimal_cmp(pa, la, pb, lb);
		if (c != -2)
			return c;
		return double_cmp(pa, pb);
	}
	case VT_FLOAT:
		return double_cmp(pa, pb);
	default: {
		size_t m = la < lb ? la : lb;
		int c = memcmp(pa, pb, m);
		if (c)
			return c < 0 ? -1 : 1;
		return la < lb ? -1 : la > lb;
	}
	}
}

int value_cmp(const struct row *a, size_t ia, const struct row *b, size_t ib, enum vtype t)
{
	const struct value *va = &a->v[ia], *vb = &b->v[ib];
	return value_cmp_text(row_ptr(a, ia), va->len, va->state == V_SET, row_ptr(b, ib), vb->len,
			      vb->state == V_SET, t);
}

/* The length of a time or date-time text without what does not change the
 * instant it names: trailing zeros of the fraction (an engine that keeps six
 * digits writes .250000 for .25), and a UTC zone, which a naive value read
 * back from a column with a time zone gains (dbapply writes in UTC). */
static size_t instant_len(const char *p, size_t len)
{
	if (len && p[len - 1] == 'Z')
		len--;
	else if (len >= 6 && !memcmp(p + len - 6, "+00:00", 6))
		len -= 6;
	const char *dot = memchr(p, '.', len);
	if (dot) {
		size_t point = (size_t)(dot - p);
		while (len > point + 1 && p[len - 1] == '0')
			len--;
		if (len == point + 1)
			len = point;
	}
	return len;
}

int value_equal(const struct row *a, size_t ia, const struct row *b, size_t ib, enum vtype t)
{
	const struct value *va = &a->v[ia], *vb = &b->v[ib];
	if (va->state != vb->state)
		return 0;
	if (va->state != V_SET)
		return 1;
	/* the same text is the same value, whatever the type (most values a
	 * comparison meets): no number or time need be read */
	if (va->len == vb->len && !memcmp(row_ptr(a, ia), row_ptr(b, ib), va->len))
		return 1;
	if (t == VT_TIME || t == VT_TIMESTAMP || t == VT_TIMESTAMPTZ) {
		const char *pa = row_ptr(a, ia), *pb = row_ptr(b, ib);
		size_t la = instant_len(pa, va->len), lb = instant_len(pb, vb->len);
		return la == lb && !memcmp(pa, pb, la);
	}
	/* -0 and 0 are equal numbers but not the same value: a mirror from an
	 * engine that keeps -0 must write it (one that cannot refuses it). */
	if (t == VT_FLOAT) {
		double x = strtod(row_ptr(a, ia), NULL), y = strtod(row_ptr(b, ib), NULL);
		if (x == 0 && y == 0)
			return !signbit(x) == !signbit(y);
	}
	return value_cmp(a, ia, b, ib, t) == 0;
}

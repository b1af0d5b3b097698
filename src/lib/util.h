/* util: error reporting, the one growable buffer, checked allocation and parsing. */
#ifndef DBPIPE_UTIL_H
#define DBPIPE_UTIL_H

#include <stdarg.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Exit codes of every program (diff(1) convention). */
enum { EXIT_OK = 0, EXIT_DIFFER = 1, EXIT_TROUBLE = 2 };

#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))

/* The program name used as the prefix of every message; set once by main. */
extern const char *util_progname;

/* Print "prog: message" to stderr and return -1, so library code can write
 * `return error(...)`.  Never exits. */
int error(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* Print "prog: warning: message" to stderr. */
void warning(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* Messages of the calling thread (error, warning) are appended, as the
 * lines they would print, to into instead of going to stderr, until called
 * with NULL: a thread that works ahead (stream_read_ahead) hands them over,
 * and util_print_messages prints them in their turn. */
struct buf;
struct buf *util_capture_messages(struct buf *into); /* returns the one before */
void util_print_messages(const struct buf *lines);
/* Programs only: print "prog: message" and exit with EXIT_TROUBLE. */
_Noreturn void die(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* Programs only: print the usage error (if fmt is not NULL) and the
 * "Try --help" hint, exit 2. */
_Noreturn void usage_error(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* The reader of an output went away (`dbdump-rows db | head -1`): like cat,
 * a program then stops without a message, ended by SIGPIPE (status 141 in a
 * shell), and in every case only after its cleanup (spool files, rollback).
 * A program that writes a stream to stdout calls sigpipe_defer() first (only
 * programs do): SIGPIPE is ignored from then on, so such a write fails with
 * EPIPE instead of killing the process (the MariaDB client library ignores
 * SIGPIPE anyway).  The writer that gets EPIPE returns reader_gone(): -1, no
 * message, the fact remembered.  Last, on its way out, the program calls
 * exit_if_reader_gone(). */
void sigpipe_defer(void);
int reader_gone(void);
/* Programs only: if reader_gone() was called, end by SIGPIPE's default action
 * (also where it was ignored or blocked); otherwise return. */
void exit_if_reader_gone(void);

/* SIGINT and SIGTERM in a program that must clean up on its way out
 * (dbapply: roll back, remove its spool and partial files): after
 * interrupt_defer() they only set util_interrupted to the signal's number,
 * and interrupt blocking reads; the stream reader, dbapply's writes and its
 * commit check it and fail with "interrupted", and the program ends with
 * exit_if_interrupted(): status 128 + the number, as the shell reports a
 * death by that signal. */
extern volatile sig_atomic_t util_interrupted;
void interrupt_defer(void);
void exit_if_interrupted(void);

/* Allocation that exits on out-of-memory (the only exit allowed in the library). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* qsort's order of an array of strings (char *): strcmp's. */
int strcmp_ptr(const void *a, const void *b);
/* Whether s ends in suffix. */
int ends_with(const char *s, const char *suffix);
/* The name a file is written under until it is whole: path with
 * ".partial" before its compression suffix (x.ndjson.gz ->
 * x.ndjson.partial.gz, .zst alike: compressed the same), else at its end;
 * never the finished file's name.  Caller frees. */
char *partial_path(const char *path);
/* Free the n strings of v, and v. */
void free_strv(char **v, size_t n);
/* A new private directory $TMPDIR/PREFIX.XXXXXX (/tmp without TMPDIR),
 * for spools and copies; NULL after saying why.  The caller frees it. */
char *util_make_temp_dir(const char *prefix);
/* Grow *arr (of elements of size `size`) so that it holds at least `need`. */
#define ALLOC_GROW(arr, need, alloc)                                          \
	do {                                                                  \
		if ((need) > (alloc)) {                                       \
			(alloc) = (alloc) * 2 > (need) ? (alloc) * 2 : (need) + 8; \
			(arr) = xrealloc((arr), (alloc) * sizeof(*(arr)));    \
		}                                                             \
	} while (0)

/* The one growable buffer: `buf` is never NULL and always NUL-terminated,
 * even when len is 0.  The buffer owns its memory; buf_release frees it. */
struct buf {
	size_t len, alloc;
	char *buf;
};
extern char buf_empty[];
#define BUF_INIT { 0, 0, buf_empty }
void buf_init(struct buf *b);
void buf_release(struct buf *b);
void buf_grow(struct buf *b, size_t extra);
void buf_reset(struct buf *b);
void buf_truncate(struct buf *b, size_t len); /* to len bytes, if longer */
void buf_adds(struct buf *b, const char *s);
/* Inline: the writers call these once or more per value. */
static inline void buf_add(struct buf *b, const void *data, size_t n)
{
	if (b->len + n + 1 > b->alloc)
		buf_grow(b, n);
	if (n) /* an empty value may come as NULL (SQLite's empty blob) */
		memcpy(b->buf + b->len, data, n);
	b->len += n;
	b->buf[b->len] = '\0';
}
static inline void buf_addch(struct buf *b, char c)
{
	if (b->len + 2 > b->alloc)
		buf_grow(b, 1);
	b->buf[b->len++] = c;
	b->buf[b->len] = '\0';
}
void buf_addf(struct buf *b, const char *fmt, ...) PRINTF_LIKE(2, 3);
void buf_vaddf(struct buf *b, const char *fmt, va_list ap);
/* Append the n bytes at p as lower-case hex digits, two a byte. */
void buf_add_hex(struct buf *b, const void *p, size_t n);
/* Take the string out of the buffer; the caller frees it, b is reset. */
char *buf_detach(struct buf *b);

/* Checked number parsing: the whole string must be a number in [min,max].
 * Return 0, or -1 with nothing printed. */
int parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);
/* The value of hex digit c, or -1. */
int hex_digit(int c);

/* Base64 (RFC 4648, with padding).  decode returns -1 on invalid input. */
void base64_encode(struct buf *out, const unsigned char *p, size_t n);
int base64_decode(struct buf *out, const char *s, size_t n);

/* Create the directory that path is in, if it is missing (one level).
 * 0, or -1 with a message. */
int make_parent_dir(const char *path);

/* Shell-style glob match used by table filters (fnmatch). */
int glob_match(const char *pattern, const char *name);

#endif

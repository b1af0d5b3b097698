/* ahead: a database cursor's rows read on a thread (ahead.h). */
#include "ahead.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct rows_ahead {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	struct db *db;
	struct db_cursor *cursor; /* NULL while no thread runs */
	struct row rows[2][AHEAD_BATCH];
	size_t ncols, n[2];
	int full[2];     /* batch filled and not yet taken */
	int end, got;    /* the scan ended (after the last full batch): 0, or -1 with err */
	struct buf err;
	int stop;        /* the consumer is done with the table */
	int take;        /* the batch the consumer reads */
	size_t pos;      /* its next row */
	int taking;      /* the consumer holds batch take */
};

static void *ahead_main(void *arg)
{
	struct rows_ahead *h = arg;
	for (int b = 0;; b ^= 1) {
		pthread_mutex_lock(&h->lock);
		while (h->full[b] && !h->stop)
			pthread_cond_wait(&h->changed, &h->lock);
		int stop = h->stop;
		pthread_mutex_unlock(&h->lock);
		if (stop)
			return NULL;
		size_t n = 0;
		int got = 1;
		while (n < AHEAD_BATCH && (got = h->db->ops->scan_next(h->cursor, &h->rows[b][n])) > 0)
			n++;
		pthread_mutex_lock(&h->lock);
		h->n[b] = n;
		h->full[b] = 1;
		if (got <= 0) {
			h->end = 1;
			h->got = got;
			if (got < 0)
				buf_adds(&h->err, h->db->err.buf);
		}
		pthread_cond_broadcast(&h->changed);
		pthread_mutex_unlock(&h->lock);
		if (got <= 0)
			return NULL;
	}
}

int rows_ahead_start(struct rows_ahead **hp, struct db *db, struct db_cursor *cursor, size_t ncols)
{
	struct rows_ahead *h = *hp;
	if (!h) {
		h = *hp = xcalloc(1, sizeof(*h));
		pthread_mutex_init(&h->lock, NULL);
		pthread_cond_init(&h->changed, NULL);
		buf_init(&h->err);
		for (int b = 0; b < 2; b++)
			for (size_t i = 0; i < AHEAD_BATCH; i++)
				row_init(&h->rows[b][i], 0);
	}
	rows_ahead_stop(h);
	if (h->ncols != ncols) {
		for (int b = 0; b < 2; b++)
			for (size_t i = 0; i < AHEAD_BATCH; i++)
				row_resize(&h->rows[b][i], ncols);
		h->ncols = ncols;
	}
	h->db = db;
	h->n[0] = h->n[1] = 0;
	h->full[0] = h->full[1] = h->end = h->got = h->stop = h->take = h->taking = 0;
	h->pos = 0;
	buf_reset(&h->err);
	h->cursor = cursor;
	int rc = pthread_create(&h->thread, NULL, ahead_main, h);
	if (rc) {
		h->cursor = NULL;
		return error("%s: cannot start a reading thread: %s", db->shown_url, strerror(rc));
	}
	return 0;
}

int rows_ahead_next(struct rows_ahead *h, const struct row **r)
{
	if (h->taking && h->pos == h->n[h->take]) {
		/* batch used up: hand it back to the thread */
		pthread_mutex_lock(&h->lock);
		h->full[h->take] = 0;
		h->take ^= 1;
		h->taking = 0;
		pthread_cond_broadcast(&h->changed);
		pthread_mutex_unlock(&h->lock);
	}
	if (!h->taking) {
		pthread_mutex_lock(&h->lock);
		while (!h->full[h->take] && !h->end)
			pthread_cond_wait(&h->changed, &h->lock);
		int ready = h->full[h->take];
		pthread_mutex_unlock(&h->lock);
		if (!ready || !h->n[h->take])
			return h->got < 0 ? -1 : 0;
		h->taking = 1;
		h->pos = 0;
	}
	*r = &h->rows[h->take][h->pos++];
	return 1;
}

const char *rows_ahead_error(const struct rows_ahead *h)
{
	return h->err.buf ? h->err.buf : "";
}

void rows_ahead_stop(struct rows_ahead *h)
{
	if (!h || !h->cursor)
		return;
	pthread_mutex_lock(&h->lock);
	h->stop = 1;
	pthread_cond_broadcast(&h->changed);
	pthread_mutex_unlock(&h->lock);
	pthread_join(h->thread, NULL);
	h->cursor = NULL;
}

void rows_ahead_free(struct rows_ahead *h)
{
	if (!h)
		return;
	rows_ahead_stop(h);
	for (int b = 0; b < 2; b++)
		for (size_t i = 0; i < AHEAD_BATCH; i++)
			row_release(&h->rows[b][i]);
	buf_release(&h->err);
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->changed);
	free(h);
}

/*
 * buf: a growable byte buffer with a hard cap.
 *
 * Every growable thing in dstackp2pfs has a named cap; a buf refuses to grow
 * past its cap (-E2BIG) instead of truncating.  Not thread-safe.
 */
#ifndef DP_BUF_H
#define DP_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *data;	/* owned; NUL-terminated past len when len > 0 */
	size_t len;
	size_t alloc;
	size_t max;	/* cap on len */
};

/* Start an empty buffer that may hold at most max bytes. Allocates nothing. */
void buf_init(struct buf *b, size_t max);

/* Free the storage and reset to empty (keeps the cap). */
void buf_release(struct buf *b);

/* Forget the content, keep the storage. */
void buf_reset(struct buf *b);

/*
 * Make room for n more bytes.  Returns 0, -E2BIG if len + n would pass the
 * cap, -ENOMEM.  The buffer is unchanged on failure.
 */
int buf_reserve(struct buf *b, size_t n);

/* Append n bytes.  Returns 0, -E2BIG, -ENOMEM; unchanged on failure. */
int buf_append(struct buf *b, const void *p, size_t n);

/* Append one byte.  Same returns as buf_append(). */
int buf_putc(struct buf *b, uint8_t c);

/* Append a NUL-terminated string without its NUL.  Same returns. */
int buf_puts(struct buf *b, const char *s);

/* Append formatted text (no NUL counted).  Same returns, -EINVAL on a bad format. */
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Append the whole content of the file at path.  Returns 0, -E2BIG when the
 * file holds more than the cap allows (the buffer then holds a prefix: the
 * caller discards it), -ENOMEM, or the -errno of open()/read().
 */
int buf_read_file(struct buf *b, const char *path);

/*
 * Hand the storage to the caller: *ret_data (NUL-terminated, may be NULL when
 * empty) and *ret_len.  The buffer is left empty.
 */
void buf_steal(struct buf *b, uint8_t **ret_data, size_t *ret_len);

#endif

/* core/buf.h: growable byte buffers and bounds-checked readers.
 *
 * Everything that is saved (model sections, encoder state, normalisation
 * statistics) is written with pr_buf_put_* into a pr_buf and read back with
 * pr_cur_get_*, which never read past the end: a truncated or corrupted blob
 * becomes PR_E_FORMAT naming what was being read, never a crash. Integers
 * and floats are stored little-endian in their native width (polyrec targets
 * little-endian hosts; the model file header records the byte order). */
#ifndef PR_CORE_BUF_H
#define PR_CORE_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef struct pr_buf {
    uint8_t *data;
    size_t len, cap;
    int oom; /* sticky: set when any put failed to allocate */
} pr_buf;

void pr_buf_init(pr_buf *b);
void pr_buf_free(pr_buf *b);
void pr_buf_put(pr_buf *b, const void *p, size_t n);
void pr_buf_put_u32(pr_buf *b, uint32_t v);
void pr_buf_put_i64(pr_buf *b, int64_t v);
void pr_buf_put_f32(pr_buf *b, float v);
void pr_buf_put_f64(pr_buf *b, double v);
void pr_buf_put_str(pr_buf *b, const char *s);                 /* u32 length + bytes */
void pr_buf_put_f32s(pr_buf *b, const float *x, int64_t n);     /* i64 count + data */
void pr_buf_put_i32s(pr_buf *b, const int32_t *x, int64_t n);   /* i64 count + data */

typedef struct pr_cur {
    const uint8_t *p, *end;
    const char *what; /* names the blob in error messages */
} pr_cur;

void pr_cur_init(pr_cur *c, const void *data, size_t n, const char *what);
int pr_cur_get(pr_cur *c, void *out, size_t n, pr_error *err);
int pr_cur_get_u32(pr_cur *c, uint32_t *v, pr_error *err);
int pr_cur_get_i64(pr_cur *c, int64_t *v, pr_error *err);
int pr_cur_get_f32(pr_cur *c, float *v, pr_error *err);
int pr_cur_get_f64(pr_cur *c, double *v, pr_error *err);
/* *s is a new heap string owned by the caller; limit bounds its length. */
int pr_cur_get_str(pr_cur *c, char **s, size_t limit, pr_error *err);
/* Arrays: *x is a new heap array owned by the caller; *n its count. A count
 * larger than the bytes left is PR_E_FORMAT before anything is allocated. */
int pr_cur_get_f32s(pr_cur *c, float **x, int64_t *n, pr_error *err);
int pr_cur_get_i32s(pr_cur *c, int32_t **x, int64_t *n, pr_error *err);
/* Borrow an array in place (no copy; valid while the blob is). Alignment of
 * the returned pointer is whatever the blob gives: use memcpy-safe access or
 * the _get_ variants when unsure. */
int pr_cur_view_f32s(pr_cur *c, const float **x, int64_t *n, pr_error *err);
static inline size_t pr_cur_left(const pr_cur *c) { return (size_t)(c->end - c->p); }

#endif

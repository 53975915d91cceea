/* core/buf.c: byte buffers and checked cursors (see buf.h). */
#include "buf.h"

#include <stdlib.h>
#include <string.h>

void pr_buf_init(pr_buf *b) { memset(b, 0, sizeof *b); }

void pr_buf_free(pr_buf *b) {
    free(b->data);
    memset(b, 0, sizeof *b);
}

void pr_buf_put(pr_buf *b, const void *p, size_t n) {
    if (b->oom) return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) cap *= 2;
        uint8_t *d = realloc(b->data, cap);
        if (!d) {
            b->oom = 1;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
}

void pr_buf_put_u32(pr_buf *b, uint32_t v) { pr_buf_put(b, &v, sizeof v); }
void pr_buf_put_i64(pr_buf *b, int64_t v) { pr_buf_put(b, &v, sizeof v); }
void pr_buf_put_f32(pr_buf *b, float v) { pr_buf_put(b, &v, sizeof v); }
void pr_buf_put_f64(pr_buf *b, double v) { pr_buf_put(b, &v, sizeof v); }

void pr_buf_put_str(pr_buf *b, const char *s) {
    uint32_t n = s ? (uint32_t)strlen(s) : 0;
    pr_buf_put_u32(b, n);
    pr_buf_put(b, s, n);
}

void pr_buf_put_f32s(pr_buf *b, const float *x, int64_t n) {
    pr_buf_put_i64(b, n);
    pr_buf_put(b, x, (size_t)n * sizeof *x);
}

void pr_buf_put_i32s(pr_buf *b, const int32_t *x, int64_t n) {
    pr_buf_put_i64(b, n);
    pr_buf_put(b, x, (size_t)n * sizeof *x);
}

void pr_cur_init(pr_cur *c, const void *data, size_t n, const char *what) {
    c->p = data;
    c->end = c->p + n;
    c->what = what ? what : "blob";
}

int pr_cur_get(pr_cur *c, void *out, size_t n, pr_error *err) {
    if (pr_cur_left(c) < n)
        return pr_err(err, PR_E_FORMAT, "%s: truncated (wanted %zu bytes, %zu left)", c->what, n,
                      pr_cur_left(c));
    memcpy(out, c->p, n);
    c->p += n;
    return 0;
}

int pr_cur_get_u32(pr_cur *c, uint32_t *v, pr_error *err) { return pr_cur_get(c, v, sizeof *v, err); }
int pr_cur_get_i64(pr_cur *c, int64_t *v, pr_error *err) { return pr_cur_get(c, v, sizeof *v, err); }
int pr_cur_get_f32(pr_cur *c, float *v, pr_error *err) { return pr_cur_get(c, v, sizeof *v, err); }
int pr_cur_get_f64(pr_cur *c, double *v, pr_error *err) { return pr_cur_get(c, v, sizeof *v, err); }

int pr_cur_get_str(pr_cur *c, char **s, size_t limit, pr_error *err) {
    uint32_t n = 0;
    int rc = pr_cur_get_u32(c, &n, err);
    if (rc) return rc;
    if (n > limit || n > pr_cur_left(c))
        return pr_err(err, PR_E_FORMAT, "%s: string of %u bytes is too long or truncated", c->what, n);
    char *d = malloc((size_t)n + 1);
    if (!d) return pr_err(err, PR_E_NOMEM, "%s", c->what);
    memcpy(d, c->p, n);
    d[n] = '\0';
    c->p += n;
    *s = d;
    return 0;
}

static int get_count(pr_cur *c, int64_t *n, size_t elem, pr_error *err) {
    int rc = pr_cur_get_i64(c, n, err);
    if (rc) return rc;
    if (*n < 0 || (uint64_t)*n > pr_cur_left(c) / elem)
        return pr_err(err, PR_E_FORMAT, "%s: array of %lld elements is truncated or corrupt",
                      c->what, (long long)*n);
    return 0;
}

int pr_cur_get_f32s(pr_cur *c, float **x, int64_t *n, pr_error *err) {
    int rc = get_count(c, n, sizeof **x, err);
    if (rc) return rc;
    *x = pr_malloc((size_t)*n, sizeof **x);
    if (!*x) return pr_err(err, PR_E_NOMEM, "%s", c->what);
    return pr_cur_get(c, *x, (size_t)*n * sizeof **x, err);
}

int pr_cur_get_i32s(pr_cur *c, int32_t **x, int64_t *n, pr_error *err) {
    int rc = get_count(c, n, sizeof **x, err);
    if (rc) return rc;
    *x = pr_malloc((size_t)*n, sizeof **x);
    if (!*x) return pr_err(err, PR_E_NOMEM, "%s", c->what);
    return pr_cur_get(c, *x, (size_t)*n * sizeof **x, err);
}

int pr_cur_view_f32s(pr_cur *c, const float **x, int64_t *n, pr_error *err) {
    int rc = get_count(c, n, sizeof **x, err);
    if (rc) return rc;
    *x = (const float *)c->p;
    c->p += (size_t)*n * sizeof **x;
    return 0;
}

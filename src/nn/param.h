/* nn/param.h: named parameter tensors in one flat float block, with a mirror
 * gradient block (llm.c's layout).
 *
 * A model declares its tensors once, in order, and gets back offsets:
 *
 *     pr_params P; pr_params_init(&P);
 *     int64_t W1 = pr_params_add(&P, "fuse.W1", 64, 192);   // (64, 192)
 *     int64_t b1 = pr_params_add(&P, "fuse.b1", 1, 64);     // (1, 64): vectors are one row
 *     if ((rc = pr_params_alloc(&P, err)) < 0) goto done;   // reports any bad add
 *     float *W = P.w + W1, *dW = P.g + W1;
 *
 * Then one loop serves every optimizer, one write every checkpoint and one
 * array every gradient check. Invariants:
 *   - every tensor is 2-D (rows, cols), rows, cols >= 1; a vector is (1, n);
 *   - offsets are multiples of PR_PARAM_ALIGN floats (64 bytes), so every
 *     tensor is aligned for BLAS; the padding between tensors is zero in w and
 *     g and no optimizer, norm or save ever reads it;
 *   - names are unique, non-empty and shorter than PR_PARAM_NAME_MAX;
 *   - after pr_params_alloc no tensor can be added (the block never moves).
 * Errors in pr_params_add are sticky (like pr_buf's oom): the add returns a
 * negative PR_E_* code and pr_params_alloc reports the first one with its
 * message, so a model can declare all its tensors and check once.
 *
 * Flags: PR_PARAM_SPARSE marks a tensor (an embedding table) whose gradient
 * and update a model manages itself (row-sparse, lazy Adam): dense optimizers,
 * pr_params_zero_grad and the dense gradient norm skip it; save, load and the
 * gradient check include it. PR_PARAM_NO_DECAY exempts a tensor (biases) from
 * the optimizer's weight decay. */
#ifndef PR_NN_PARAM_H
#define PR_NN_PARAM_H

#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/rng.h"

#define PR_PARAM_NAME_MAX 64
#define PR_PARAM_ALIGN 16 /* floats */

enum { PR_PARAM_SPARSE = 1, PR_PARAM_NO_DECAY = 2 };

typedef struct pr_param {
    char name[PR_PARAM_NAME_MAX];
    int64_t rows, cols; /* shape; size rows * cols */
    int64_t off;        /* first float in the block */
    int flags;          /* PR_PARAM_* */
} pr_param;

typedef struct pr_params {
    pr_param *t; /* (n) tensors in declaration order, owned */
    int n, cap;
    int64_t n_params;           /* floats in the block, padding included */
    float *w, *g;               /* (n_params) each, owned, 64-byte aligned, zeroed by alloc */
    int64_t dense_lo, dense_hi; /* span [lo, hi) covering every non-sparse tensor */
    pr_error first_err;         /* sticky error of pr_params_add (code 0: none) */
} pr_params;

void pr_params_init(pr_params *p);
void pr_params_deinit(pr_params *p); /* frees the block and the table; p is reusable */

/* Declare a tensor (rows, cols); returns its offset, or a negative PR_E_*
 * code that pr_params_alloc will report (duplicate or bad name, bad shape,
 * out of memory, already allocated). */
int64_t pr_params_add(pr_params *p, const char *name, int64_t rows, int64_t cols);
int64_t pr_params_add_ex(pr_params *p, const char *name, int64_t rows, int64_t cols, int flags);
/* Record an error in p's sticky slot (layers use it for their own argument
 * checks, so it surfaces at pr_params_alloc like a bad add); returns code. */
int pr_params_fail(pr_params *p, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Allocate w and g (zeroed). Fails with the first add error, or PR_E_NOMEM. */
int pr_params_alloc(pr_params *p, pr_error *err);

const pr_param *pr_params_find(const pr_params *p, const char *name); /* NULL if absent */
/* The tensor that holds flat index idx, or NULL for padding / out of range. */
const pr_param *pr_params_at(const pr_params *p, int64_t idx);
static inline int64_t pr_param_size(const pr_param *t) { return t->rows * t->cols; }

/* g = 0 over every non-sparse tensor. */
void pr_params_zero_grad(pr_params *p);
/* sqrt(sum g^2) over every non-sparse tensor, accumulated in double. */
double pr_params_grad_norm(const pr_params *p);

/* ---- initialisers (deterministic for a given rng state) ------------------ */

void pr_init_uniform(float *w, int64_t n, float lo, float hi, pr_rng *r);
void pr_init_normal(float *w, int64_t n, float std, pr_rng *r);
/* Xavier/Glorot uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out)). */
void pr_init_xavier(float *w, int64_t n, int64_t fan_in, int64_t fan_out, pr_rng *r);
/* The same on the tensor at offset off, with fan_in = cols and fan_out = rows
 * (the (out, in) layout of nn/linear.h). Unknown offsets are a bug (assert). */
void pr_params_xavier(pr_params *p, int64_t off, pr_rng *r);
void pr_params_normal(pr_params *p, int64_t off, float std, pr_rng *r);
void pr_params_zeros(pr_params *p, int64_t off);

/* ---- save / load ---------------------------------------------------------- */

/* Append every tensor (name, shape, values) to b. PR_E_NOMEM if b ran out. */
int pr_params_save(const pr_params *p, pr_buf *b);
/* Read a blob written by pr_params_save into an allocated layout. Tensors are
 * matched by name; every tensor of p must appear once with the same shape,
 * else PR_E_FORMAT naming the tensor. The blob is validated completely before
 * anything is copied, so on error p->w is unchanged. */
int pr_params_load(pr_params *p, pr_cur *c, pr_error *err);

#endif

/* nn/embedding.h: embedding tables with row-sparse gradients and optimizers.
 *
 * A minibatch of recommendation data touches a few thousand rows of tables
 * with up to millions of rows, so gradients are kept per *slot* (one slot per
 * lookup: a sample's user, its positive item, its negative item) and reduced
 * per row at step time:
 *   1. group slots by row (serial, O(slots), stable in slot order);
 *   2. in parallel over touched rows: sum the row's slot gradients in slot
 *      order, then apply the optimizer to that row only.
 * The sum order depends only on the batch, never on the thread count, so a
 * run is bit-identical for any --threads, not just 1.
 *
 * Optimizers: SGD; "adam" = lazy (row-sparse) Adam, which updates a row's
 * moments only when the row has a gradient (like torch.optim.SparseAdam), at
 * O(rows touched) per step; "adam-dense" = PyTorch's dense Adam over the
 * whole table every step (rows without gradient still decay their moments and
 * keep moving), at O(n * d) per step: what MMRec does, kept for parity. */
#ifndef PR_NN_EMBEDDING_H
#define PR_NN_EMBEDDING_H

#include <stdint.h>

#include "core/err.h"
#include "core/pool.h"

#define PR_EMBED_MAX_D 1024 /* widest row the step kernels accept */

enum { PR_EMB_SGD = 0, PR_EMB_ADAM = 1, PR_EMB_ADAM_DENSE = 2 };

typedef struct pr_embed_opt {
    int kind;           /* PR_EMB_* */
    float lr, beta1, beta2, eps;
    float weight_decay; /* added to the gradient of touched rows (L2) */
    int64_t t;          /* steps taken (for Adam's bias correction) */
} pr_embed_opt;

int pr_embed_opt_parse(const char *name, int *kind, pr_error *err); /* "sgd" | "adam" | "adam-dense" */
void pr_embed_opt_init(pr_embed_opt *o, int kind, float lr);

/* Per-batch slot gradients for one table. */
typedef struct pr_rowgrad {
    int d;
    int64_t cap, n;     /* slots allocated / used this batch */
    int32_t *row;       /* (cap) table row of each slot */
    float *g;           /* (cap, d) gradient of each slot */
    /* grouping scratch, sized to the table */
    int32_t n_rows;
    int32_t *first, *last, *next; /* first/last (n_rows), next (cap) */
    uint32_t *mark, stamp;        /* (n_rows) */
    int32_t *touched, n_touched;  /* (min(cap, n_rows)) */
    float *dense;                 /* (n_rows, d) for adam-dense, else NULL */
} pr_rowgrad;

int pr_rowgrad_init(pr_rowgrad *r, int32_t n_rows, int d, int64_t cap, int dense);
void pr_rowgrad_deinit(pr_rowgrad *r);

typedef struct pr_embed {
    int32_t n;
    int d;
    float *W;           /* (n, d) borrowed: a view into the model's flat params */
    float *m, *v;       /* (n, d) Adam moments, owned, NULL for SGD */
} pr_embed;

int pr_embed_init(pr_embed *e, float *W, int32_t n, int d, int opt_kind);
void pr_embed_deinit(pr_embed *e);

/* Apply the slots of r (r->n of them, row/g filled by the model) to e with o.
 * o->t must already count this step (the caller increments it once per batch
 * for all tables). Groups slots, then updates touched rows in parallel. */
void pr_embed_step(pr_embed *e, pr_rowgrad *r, const pr_embed_opt *o, pr_pool *pool);
/* Dense sum of the slots (n, d): for gradient checks. */
void pr_rowgrad_to_dense(const pr_rowgrad *r, float *out);

#endif

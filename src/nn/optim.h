/* nn/optim.h: dense optimizers over a flat parameter block.
 *
 * Update rules, per parameter w with gradient g at step t = 1, 2, ...
 * (the formulas of torch.optim, so runs can be compared with PyTorch):
 *   SGD    g' = g + wd w;  buf = mu buf + g';  w -= lr buf   (mu = 0: w -= lr g')
 *   Adam   g' = g + wd w;  m = b1 m + (1-b1) g';  v = b2 v + (1-b2) g'^2
 *          w -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
 *   AdamW  w *= 1 - lr wd (decoupled decay, Loshchilov & Hutter 2019), then
 *          Adam with wd = 0 in g'.
 * Optional global-norm clipping (clip_norm > 0) scales the whole gradient by
 * clip_norm / (norm + 1e-6) when the norm exceeds clip_norm (PyTorch's
 * clip_grad_norm_), before the update.
 *
 * State (m, v) covers one span [lo, hi) of the block, allocated once at init:
 * steps never allocate. pr_optim_init_params takes the span of the dense
 * (non PR_PARAM_SPARSE) tensors of a layout, so a huge embedding table with
 * its own lazy row-sparse Adam costs no dense state when it is declared
 * before (or after) all dense tensors. The learning rate may be changed
 * between steps (o->cfg.lr) for schedules. Single-threaded: dense layers are
 * small next to the embedding tables. */
#ifndef PR_NN_OPTIM_H
#define PR_NN_OPTIM_H

#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "nn/param.h"

enum { PR_OPT_SGD = 0, PR_OPT_ADAM = 1, PR_OPT_ADAMW = 2 };

typedef struct pr_optim_cfg {
    int kind;           /* PR_OPT_* */
    float lr;           /* learning rate */
    float momentum;     /* SGD momentum mu (0: plain SGD) */
    float beta1, beta2; /* Adam moments (0.9, 0.999) */
    float eps;          /* Adam denominator epsilon (1e-8) */
    float weight_decay; /* SGD/Adam: L2 added to the gradient; AdamW: decoupled */
    float clip_norm;    /* > 0: clip the global gradient norm to this */
} pr_optim_cfg;

typedef struct pr_optim {
    pr_optim_cfg cfg;
    int64_t lo, hi;   /* flat indices covered by the state */
    float *m, *v;     /* (hi - lo) each, owned; NULL when the rule has no such state */
    int64_t t;        /* steps taken */
    double last_norm; /* gradient norm before clipping at the last step (when clipping) */
} pr_optim;

/* PyTorch's defaults for kind: SGD lr 1e-2; Adam lr 1e-3, betas (0.9, 0.999),
 * eps 1e-8, wd 0; AdamW the same with wd 1e-2. */
void pr_optim_cfg_defaults(pr_optim_cfg *c, int kind);
/* "sgd", "adam", "adamw" -> PR_OPT_*, or -1. */
int pr_optim_parse(const char *name);

/* State for indices [lo, hi) of a block. PR_E_ARG for bad hyper-parameters
 * (lr <= 0, betas outside [0, 1), ...), PR_E_NOMEM. */
int pr_optim_init(pr_optim *o, const pr_optim_cfg *cfg, int64_t lo, int64_t hi, pr_error *err);
/* State for the dense span of an allocated layout. */
int pr_optim_init_params(pr_optim *o, const pr_optim_cfg *cfg, const pr_params *p, pr_error *err);
void pr_optim_deinit(pr_optim *o);

/* One step over the whole span [lo, hi) of the block w with gradient g (both
 * block bases). Clipping, if on, scales g in place. */
void pr_optim_step(pr_optim *o, float *w, float *g);
/* One step over the dense tensors of p (skipping sparse tensors and padding;
 * PR_PARAM_NO_DECAY tensors get no weight decay). */
void pr_optim_step_params(pr_optim *o, pr_params *p);

/* Global-norm clipping of g (n): returns the norm before clipping. */
double pr_clip_grad_norm(float *g, int64_t n, double max_norm);
/* The same over the dense tensors of p. */
double pr_clip_grad_norm_params(pr_params *p, double max_norm);

/* Checkpoints: kind, t, span and moments. Load requires the same kind and
 * span (PR_E_FORMAT otherwise) and leaves o unchanged on error. */
int pr_optim_save(const pr_optim *o, pr_buf *b);
int pr_optim_load(pr_optim *o, pr_cur *c, pr_error *err);

#endif

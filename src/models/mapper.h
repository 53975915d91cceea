/* models/mapper.h: the content-to-embedding mapper, an item tower for any
 * model, including ID-only ones such as BPR-MF (cold start for new items).
 *
 * After the main model is trained, a regression is fitted from an item's
 * content x (its preprocessed modality vectors, concatenated) to the item's
 * learned row of V and its bias, on the warm items (those with training
 * interactions and some content): the DeepMusic / DropoutNet-style baseline
 * (van den Oord et al., NIPS 2013; Volkovs et al., NIPS 2017). A new item is
 * then placed at mapper(x), and scored with the users' vectors as any item.
 *
 *   input   x = [x_1 - mean_1, ..., x_M - mean_M]  (D = sum of modality dims);
 *           a missing modality contributes zeros (= its training mean), the
 *           same at fit and at encode time
 *   ridge   [V | b] ~ x W + y_mean,  W = (X^T X + lambda' I)^-1 X^T (Y - y_mean)
 *           lambda' = reg * trace(X^T X) / D (so reg is free of feature scale);
 *           solved in double by Cholesky (LAPACK), primal (D x D) when
 *           D <= n, dual ((n x n), W = X^T (X X^T + lambda' I)^-1 Y) otherwise:
 *           the same solution, the cheaper system
 *   mlp     [V | b] ~ MLP(x) * y_scale + y_mean, one ReLU hidden layer
 *           (nn/mlp.h), mean squared error, Adam, early stopping on 10% of
 *           the warm items held out
 *   scale   the mapped vector v is multiplied by `scale`: regression shrinks
 *           toward the mean item, so a new item's |v| is smaller than a warm
 *           item's, and it loses whenever it competes with warm items. The
 *           default (scale = 0 in the options) calibrates on the training
 *           items alone: scale = mean |V_i| / mean |mapper(x_i)| over the
 *           warm items, so mapped vectors get the learned vectors' norms.
 *           A fixed value, or one tuned on validation by the caller, may be
 *           given instead (never tuned on test).
 *
 * Costs: ridge O(n D min(n, D) + min(n, D)^3) once, then O(n D d) per target
 * matrix (pr_ridge caches the factorisation, for validation during training);
 * encode O(D d). MLP: O(epochs n D hidden).
 *
 * The tower is stored in the model file's "tower" section under the name
 * "mapper" (see pr_mapper_save) and read back through pr_tower_find("mapper"). */
#ifndef PR_MODELS_MAPPER_H
#define PR_MODELS_MAPPER_H

#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/pool.h"
#include "features/store.h"
#include "models/model.h"

enum { PR_MAPPER_NONE = 0, PR_MAPPER_RIDGE = 1, PR_MAPPER_MLP = 2 };

typedef struct pr_mapper_opts {
    int kind;        /* PR_MAPPER_* */
    double reg;      /* ridge: relative weight (0.03) */
    int hidden;      /* mlp: hidden units (256) */
    int epochs;      /* mlp: maximum epochs (300) */
    float lr;        /* mlp: Adam learning rate (1e-3) */
    float wd;        /* mlp: weight decay (1e-4) */
    float scale;     /* multiplier of mapped vectors; 0 = norm matching (default) */
    uint64_t seed;
} pr_mapper_opts;

void pr_mapper_opts_default(pr_mapper_opts *o);
/* From --param keys: mapper=none|ridge|mlp, mapper_reg=R|auto,
 * mapper_scale=S|norm|auto, mapper_hidden=H, mapper_epochs=N. *reg_auto
 * and *scale_auto are set to 1 when the value is "auto" (the caller tunes
 * them on validation); "norm" is scale 0. kind is left as given when
 * "mapper" is absent. */
int pr_mapper_opts_from_config(const pr_config *c, pr_mapper_opts *o, int *reg_auto,
                               int *scale_auto, pr_error *err);

/* x[m] = item i's row of modality m, or NULL when the item lacks it; returns
 * how many modalities are present. x has room for PR_MAX_MODALITIES. */
int pr_features_row(const pr_features *f, int32_t i, const float **x);

/* Fit a mapper from the content of items rows[0..n) to their rows of s->V
 * (and s->b when present). *out is a new tower owned by the caller (free it
 * with (*out)->ops->free). Errors: PR_E_ARG (no features, too few rows),
 * PR_E_NUMERIC (singular system, non-finite result), PR_E_NOMEM. */
int pr_mapper_fit(const pr_features *f, const pr_snapshot *s, const int32_t *rows, int64_t n,
                  const pr_mapper_opts *o, pr_pool *pool, pr_tower **out, pr_error *err);
/* mean |V[i]| / mean |tower(x_i)| over items rows[0..n) of s: the factor
 * that gives mapped vectors the norms of learned ones. NAN when undefined. */
double pr_tower_norm_ratio(const pr_tower *t, const pr_features *f, const pr_snapshot *s,
                           const int32_t *rows, int64_t n);
/* Change the output scale of a fitted mapper tower. */
void pr_mapper_set_scale(pr_tower *t, float scale);
float pr_mapper_scale(const pr_tower *t);
/* The model file's "tower" section: "mapper" then the state. */
int pr_mapper_save(const pr_tower *t, pr_buf *b);
extern const pr_tower_ops pr_mapper_tower_ops;

/* ---- ridge with a cached factorisation ----------------------------------- */

typedef struct pr_ridge pr_ridge;

/* Centre the rows of X (n, D) (only read here) and factorise the
 * regularised system. *out owned by the caller (pr_ridge_free). */
int pr_ridge_new(const float *X, int64_t n, int D, double reg, pr_ridge **out, pr_error *err);
/* W (D, dy), xmean (D), ymean (dy) for targets Y (n, dy), rows aligned with X. */
int pr_ridge_solve(const pr_ridge *r, const float *Y, int dy, float *W, float *xmean,
                   float *ymean, pr_error *err);
int pr_ridge_is_dual(const pr_ridge *r);
void pr_ridge_free(pr_ridge *r);

/* ---- any tower ------------------------------------------------------------- */

/* A model's own tower, through its tower_save and the registered loader
 * (the same bytes the model file holds). PR_E_NOTFOUND when it has none. */
int pr_tower_from_model(const pr_model *m, pr_tower **out, pr_error *err);
/* Rows of s for the items with which[i] set, through the tower, from the
 * items' content in f (f's modalities in the tower's order and dims).
 * Items without any content get a zero row (and bias 0); *n_placed (may be
 * NULL) counts the others. */
int pr_tower_place(const pr_tower *t, const pr_features *f, const uint8_t *which,
                   pr_snapshot *s, int32_t *n_placed, pr_error *err);

/* ---- training-time placement ----------------------------------------------- */

/* A model that behaves as inner in every way, except that its snapshot places
 * the items without training interactions through a ridge mapper fitted on
 * the warm items of that very snapshot: validation on a cold-item split then
 * measures what the mapper will deliver, so early stopping works for ID-only
 * models. Takes ownership of inner (freed with the wrapper, also on error).
 * inner->feat must hold the content. */
int pr_mapper_model_new(pr_model *inner, const pr_mapper_opts *o, pr_model **out, pr_error *err);
/* The same for a content model: its snapshot's cold items are placed through
 * its own item tower (what add-item will compute), not through whatever its
 * training left in their rows. Takes ownership of inner. */
int pr_tower_model_new(pr_model *inner, pr_model **out, pr_error *err);
/* The "tower" section (model name, then the tower state) that belongs to the
 * snapshot `best` that such a wrapper handed out: training keeps the best
 * epoch's snapshot but goes on training, so the model's current tower may be
 * from a later epoch and would place new items inconsistently with the kept
 * catalogue. Appends to section. PR_E_NOTFOUND when it is not known. */
int pr_tower_model_best(const pr_model *m, const pr_snapshot *best, pr_buf *section, pr_error *err);

#endif

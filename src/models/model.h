/* models/model.h: the one interface every recommender implements.
 *
 * However a model trains, it ends in an embedding snapshot: U (n_users, d),
 * V (n_items, d) and optional item biases b, scored as s(u,i) = U[u].V[i] + b[i].
 * Evaluation, recommendation, similar items and cold start are written once
 * against the snapshot. Gradient models implement forward/backward/step and
 * are driven by train/loop.c; closed-form models (MostPop, ItemKNN) implement
 * fit and are called once. A model that cannot be expressed as a dot product
 * (ItemKNN) leaves snapshot NULL and provides score instead.
 *
 * Parameters of gradient models live in one flat block `params` with named
 * views into it and a mirror `grads` (llm.c): generic optimizers, checkpoints
 * and gradient checks then work on any model. Models whose batches touch only
 * a few rows (embedding tables) keep row-sparse gradients and their own step. */
#ifndef PR_MODELS_MODEL_H
#define PR_MODELS_MODEL_H

#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/pool.h"
#include "data/dataset.h"
#include "features/store.h"

/* ---- hyper-parameters ---------------------------------------------------- */

#define PR_CONFIG_MAX_KV 64

/* Common hyper-parameters with MMRec's defaults, plus free key=value pairs for
 * model-specific ones (read with pr_config_f / pr_config_i / pr_config_s). */
typedef struct pr_config {
    int d;               /* embedding size (64) */
    int epochs;          /* maximum epochs (1000 with early stopping) */
    int batch;           /* samples per minibatch (2048) */
    float lr;            /* learning rate (1e-3) */
    float reg;           /* L2 weight (1e-5 for BPR-MF) */
    int patience;        /* validations without improvement before stopping (20) */
    int eval_every;      /* validate every N epochs (1) */
    int threads;         /* worker threads (0 = all cores) */
    uint64_t seed;       /* everything random derives from it (999, MMRec's) */
    char optim[16];      /* "adam" | "sgd" */
    char stop_metric[24];/* early-stopping metric on validation ("recall@20") */
    int n_kv;
    struct { char key[32]; char val[96]; } kv[PR_CONFIG_MAX_KV];
} pr_config;

void pr_config_defaults(pr_config *c);
/* Set "key=value": known keys set the fields above, others go to kv. */
int pr_config_set(pr_config *c, const char *key, const char *val, pr_error *err);
double pr_config_f(const pr_config *c, const char *key, double dflt);
long pr_config_i(const pr_config *c, const char *key, long dflt);
const char *pr_config_s(const pr_config *c, const char *key, const char *dflt);
/* Keys a model reads must be declared so unknown ones can be reported (the
 * CLI calls pr_config_check after init). */

/* ---- minibatches and the snapshot ---------------------------------------- */

/* B (user, positive item, negative item) triples; n_neg negatives per positive
 * stored as j[s * n_neg + k]. Owned by the sampler. */
typedef struct pr_batch {
    int B, n_neg;
    const int32_t *u, *i, *j;
    int epoch;
} pr_batch;

struct pr_parts;

typedef struct pr_snapshot {
    int32_t n_users, n_items;
    int d;
    float *U; /* (n_users, d) owned */
    float *V; /* (n_items, d) owned */
    float *b; /* (n_items) owned, or NULL */
    /* owned, or NULL: V and b split by part (ID, each modality, ...) so that
     * every score splits exactly (models/parts.h). Whoever changes a row of
     * V or b must change its parts too, or drop them. */
    struct pr_parts *parts;
} pr_snapshot;

int pr_snapshot_alloc(pr_snapshot *s, int32_t n_users, int32_t n_items, int d, int with_bias);
void pr_snapshot_free(pr_snapshot *s);     /* frees the parts too */
int pr_snapshot_copy(pr_snapshot *dst, const pr_snapshot *src); /* parts included */

/* ---- the model ------------------------------------------------------------ */

typedef struct pr_model pr_model;
struct pr_epoch_plan; /* train/sampler.h */

typedef struct pr_model_ops {
    const char *name;     /* registry name: "mostpop", "itemknn", "bprmf", ... */
    const char *help;     /* one line and its model-specific keys */
    int needs_features;   /* 1: fails without item features */
    /* Allocate and initialise. d, f and pool are borrowed and outlive the model. */
    int (*init)(pr_model **out, const pr_dataset *d, const pr_features *f, const pr_config *c,
                pr_pool *pool, pr_error *err);
    /* Gradient models: mean loss of the batch (stores what backward needs). */
    double (*forward)(pr_model *m, const pr_batch *b);
    /* Gradients of the last forward's loss with respect to params. */
    void (*backward)(pr_model *m, const pr_batch *b);
    /* Apply the gradients; NULL = generic Adam/SGD over the flat block. */
    void (*step)(pr_model *m, const pr_batch *b);
    /* Optional fused epoch: draws the negatives and applies the updates in one
     * pass over the plan's permutation, one pool hand-off per epoch (hogwild
     * SGD). Returns 1 and the epoch's mean loss when it ran, 0 when the
     * model's configuration trains through forward/backward/step. */
    int (*run_epoch)(pr_model *m, const struct pr_epoch_plan *p, double *loss);
    /* Called before each epoch (e.g. graph propagation caches); may be NULL. */
    int (*epoch_begin)(pr_model *m, int epoch, pr_error *err);
    /* Closed-form models: fit on the training matrix. NULL for gradient models. */
    int (*fit)(pr_model *m, pr_error *err);
    /* Final user and item vectors (a fresh copy owned by out). */
    int (*snapshot)(pr_model *m, pr_snapshot *out, pr_error *err);
    /* Split s's V and b by part (models/parts.h): sets s->parts. s must be
     * the snapshot the model's current state gave. The result must depend
     * only on params (and the data and features): the training loop calls
     * it after training with the kept epoch's params swapped in. May leave
     * s->parts NULL when the model cannot split (returns 0). NULL: no split. */
    int (*parts)(pr_model *m, pr_snapshot *s, pr_error *err);
    /* Non-dot-product models: scores (n, n_items) for users[0..n); NULL otherwise. */
    int (*score)(const pr_model *m, const int32_t *users, int n, float *out);
    /* Write the dense gradient of the last backward into g (n_params), for
     * gradient checks of models whose gradients are row-sparse; NULL when
     * backward already fills m->grads densely. */
    void (*dense_grad)(pr_model *m, float *g);
    /* Item tower, for items that arrive after training (cold start): write what
     * maps an item's (preprocessed) content vectors to its row of V and its bias
     * into b; NULL for models without content. Read back by tower_load of the
     * pr_tower_ops with the same name. */
    int (*tower_save)(const pr_model *m, pr_buf *b);
    void (*free)(pr_model *m);
} pr_model_ops;

/* ---- item towers at serving time ---------------------------------------- */

typedef struct pr_tower pr_tower;

typedef struct pr_tower_ops {
    const char *name;     /* the model's registry name */
    int (*load)(pr_tower **out, pr_cur *c, pr_error *err);
    /* x[m] is the item's vector for modality m (in the order the model was
     * trained with, dims as trained), or NULL when the item lacks it. Writes
     * v (d) and *bias (0 when the model has none). Thread-safe. */
    int (*encode)(const pr_tower *t, const float *const *x, float *v, float *bias, pr_error *err);
    /* Per-modality share of the item vector (for explanations): w (n_mod + 1),
     * w[0] the ID part; NULL when not meaningful. */
    int (*weights)(const pr_tower *t, const float *const *x, float *w, pr_error *err);
    /* encode's v and bias split by part (models/parts.h): P (n_parts, d) and
     * pb (n_parts), n_parts = pr_tower_n_parts(t), part 0 (the ID) zero,
     * 1 + m modality m, then "base" when part_flags has PR_PARTS_BASE; the
     * sums equal encode's output to float rounding. NULL: no split. */
    int (*parts)(const pr_tower *t, const float *const *x, float *P, float *pb, pr_error *err);
    void (*free)(pr_tower *t);
} pr_tower_ops;

struct pr_tower {
    const pr_tower_ops *ops;
    int d, n_mod;
    int dims[PR_MAX_MODALITIES];
    char names[PR_MAX_MODALITIES][32];
    int part_flags; /* PR_PARTS_* of what parts() gives (models/parts.h), set by load */
};

const pr_tower_ops *pr_tower_find(const char *name);

/* Base struct: every model's struct starts with it. */
struct pr_model {
    const pr_model_ops *ops;
    const pr_dataset *data;
    const pr_features *feat;
    const pr_config *cfg;
    pr_pool *pool;
    float *params, *grads; /* flat block and its gradient mirror (may be NULL) */
    int64_t n_params;
};

const pr_model_ops *pr_model_find(const char *name);
/* ops->init, then sets (*out)->ops: what callers use to create a model. */
int pr_model_new(const pr_model_ops *ops, const pr_dataset *d, const pr_features *f,
                 const pr_config *c, pr_pool *pool, pr_model **out, pr_error *err);
/* NULL-terminated list of every registered model. */
const pr_model_ops *const *pr_model_list(void);

#endif

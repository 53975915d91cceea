/* models/content.h: machinery shared by the content (multimodal) models.
 *
 * VBPR, concatenation fusion and attention fusion all turn an item's feature
 * vectors (one per modality, features/store.h) into part of its row of V, and
 * train on minibatches of (u, i, j) triples. What they share lives here:
 *
 *   pr_content       a borrowed, validated view of the feature store: the
 *                    modalities' matrices side by side, as if one (n_items, D)
 *                    matrix with modality m in columns [off[m], off[m]+dim[m]).
 *   gathers          copy the rows a batch touches into one (R, D) buffer
 *                    (never the whole catalogue): the only per-batch cost that
 *                    grows with the feature width besides the projections.
 *   pr_batch_items   the distinct items of a batch and, per sample, where its
 *                    positive and negative sit among them (serial, O(B)).
 *   pr_moddrop       modality dropout: per (step, item) draws from a counter
 *                    hash, so masks depend neither on threads nor on order.
 *   (pr_par_gemm, core/mat.h: one GEMM split over the pool by output rows)
 *                    calling single-threaded BLAS on its block.
 *   tower blobs      the common head of every content model's tower (d,
 *                    modality names and widths) and the tower base object.
 *   keys             validated model-specific hyper-parameters.
 *   fused towers     the training engine of concatenation and attention
 *                    fusion (below), and cold snapshots for any content model.
 *
 * Parameters of every content model live in one nn/param.h block: embedding
 * tables flagged PR_PARAM_SPARSE (row-sparse slots and optimizers of
 * nn/embedding.h), dense weights trained by nn/optim.h (projections in
 * nn/linear.h's (out, in) layout; VBPR's E as (D, d + 1), one row per input
 * feature). */
#ifndef PR_MODELS_CONTENT_H
#define PR_MODELS_CONTENT_H

#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/mat.h"
#include "core/pool.h"
#include "core/rng.h"
#include "features/store.h"
#include "models/model.h"
#include "nn/attn.h"
#include "nn/embedding.h"
#include "nn/mlp.h"
#include "nn/optim.h"
#include "nn/param.h"

/* ---- the feature view ---------------------------------------------------- */

typedef struct pr_content {
    int n_mod;
    int D;                                     /* sum of dims */
    int32_t n_items;
    int dim[PR_MAX_MODALITIES], off[PR_MAX_MODALITIES];
    const float *X[PR_MAX_MODALITIES];         /* (n_items, dim[m]) borrowed */
    const uint8_t *missing[PR_MAX_MODALITIES]; /* (n_items) borrowed, or NULL */
    char name[PR_MAX_MODALITIES][32];
} pr_content;

/* Borrow f (it must outlive c). PR_E_ARG names the model (`who`) and the
 * modality when f is empty, a modality has no rows for every item
 * (n_items differs from the dataset's) or a width is not positive. */
int pr_content_init(pr_content *c, const pr_features *f, int32_t n_items, const char *who,
                    pr_error *err);

static inline int pr_content_has(const pr_content *c, int m, int32_t item) {
    return !c->missing[m] || !c->missing[m][item];
}

/* X (n, ldx >= D): row r = [x_0(items[r]), ..., x_{M-1}(items[r])]. keep
 * (n, M + 1) may be NULL; keep[r (M+1) + 1 + m] == 0 zeroes modality m of
 * row r (column 0 is the ID flag, unused here). */
void pr_content_gather(const pr_content *c, const int32_t *items, int64_t n, const uint8_t *keep,
                       float *X, int64_t ldx);
/* X (n, ldx) row r = content(a[r]) - content(b[r]), with masks keep_a, keep_b
 * as above (either may be NULL). */
void pr_content_gather_diff(const pr_content *c, const int32_t *a, const int32_t *b, int64_t n,
                            const uint8_t *keep_a, const uint8_t *keep_b, float *X, int64_t ldx);

/* ---- distinct items of a batch ------------------------------------------- */

typedef struct pr_batch_items {
    int32_t n_items;   /* catalogue size */
    int cap;           /* largest batch */
    int32_t n;         /* distinct items of the last batch */
    int32_t *items;    /* (2 cap) distinct items, in order of first appearance */
    int32_t *pos, *neg;/* (cap) sample s: its positive is items[pos[s]], its negative items[neg[s]] */
    int32_t *cnt;      /* (2 cap) occurrences of items[r] in the batch */
    int32_t *slot;     /* (n_items) scratch */
    uint32_t *mark, stamp;
} pr_batch_items;

int pr_batch_items_init(pr_batch_items *u, int32_t n_items, int cap);
void pr_batch_items_deinit(pr_batch_items *u);
/* Index the positives and first negatives of bt (bt->B <= cap). */
void pr_batch_items_build(pr_batch_items *u, const pr_batch *bt);

/* ---- modality dropout ---------------------------------------------------- */

/* During training, drop an item's ID embedding with probability p_id and each
 * of its content modalities with probability p_mod (DropoutNet, Volkovs et
 * al., NIPS 2017), so the tower learns to stand on content alone. A dropped
 * part is zeroed, not rescaled: a cold item at serving time looks exactly
 * like a training item whose ID was dropped. */
typedef struct pr_moddrop {
    float p_id, p_mod;
    uint64_t seed;
} pr_moddrop;

static inline int pr_moddrop_on(const pr_moddrop *d) { return d->p_id > 0 || d->p_mod > 0; }
/* keep (n, M + 1) for items[0..n) at training step `step`: keep[r (M+1)] the
 * ID, keep[r (M+1) + 1 + m] modality m (0 when dropped or missing). At least
 * one part of every item survives: when all are dropped, the ID is kept. The
 * draw for (seed, step, item) is the same wherever the item appears. d NULL
 * or off: IDs kept, modalities kept where present. */
void pr_moddrop_draw(const pr_moddrop *d, const pr_content *c, const int32_t *items, int64_t n,
                     int64_t step, uint8_t *keep);

/* threaded GEMM: pr_par_gemm in core/mat.h */


/* ---- initialisation ------------------------------------------------------ */

/* Xavier normal, std = sqrt(2 / (fan_in + fan_out)) (PyTorch's fans). */
void pr_init_xavier_normal(float *W, int64_t n, int64_t fan_in, int64_t fan_out, pr_rng *r);

/* ---- model-specific keys ------------------------------------------------- */

/* Read an integer / float key (dflt when absent) and check it lies in
 * [lo, hi]; PR_E_ARG names the model and the key otherwise. */
int pr_key_int(const pr_config *c, const char *who, const char *key, long dflt, long lo, long hi,
               int *out, pr_error *err);
int pr_key_float(const pr_config *c, const char *who, const char *key, double dflt, double lo,
                 double hi, float *out, pr_error *err);
/* One of a NUL-terminated list of names; *out the index. */
int pr_key_choice(const pr_config *c, const char *who, const char *key, const char *const *names,
                  int *out, pr_error *err);

/* ---- towers -------------------------------------------------------------- */

#define PR_TOWER_MAGIC 0x52575450u /* "PTWR" */
#define PR_TOWER_VERSION 1

/* Every content tower blob starts with: magic, version, model name, d,
 * n_mod, then per modality its name and width; the model's own fields follow. */
void pr_tower_head_save(pr_buf *b, const char *model, int d, const pr_content *c);
/* Read the head into t (ops left alone); PR_E_FORMAT names what is wrong,
 * including a blob written by another model. */
int pr_tower_head_load(pr_tower *t, pr_cur *cur, const char *model, pr_error *err);
/* Check the x handed to encode/weights: NULL or finite rows are accepted;
 * returns PR_E_NUMERIC naming the modality of the first non-finite value. */
int pr_tower_check_input(const pr_tower *t, const float *const *x, pr_error *err);

/* Read back a float array of exactly n values (PR_E_FORMAT otherwise). */
int pr_cur_get_f32s_n(pr_cur *c, float **x, int64_t n, const char *what, pr_error *err);

/* ---- fused item towers: concatenation and attention fusion ---------------
 *
 * Both models score s(u,i) = p_u . e_i (width dout, d unless the fusion
 * says otherwise) with an item tower over M1 = 1 + M parts of width d: h_0 = e_id(i) (an embedding row) and h_m = W_m x_m(i)
 * (a projection of modality m, W_m (d, D_m), no bias: a missing or dropped
 * modality is an exact zero). The fusion maps the parts H (R, M1, d) and
 * their mask (R, M1) (1 = present and kept) to e_i (R, d); masked parts
 * reach it as zeros. What differs between the models is only the fusion
 * (pr_fusion_ops); the training engine below is shared:
 *
 *   loss = mean_s softplus(-(p_u . e_i - p_u . e_j)) + reg mean_s (|p_u|^2 + |e_id(i)|^2 + |e_id(j)|^2)
 *   (+ wd/2 |dense weights|^2 through the optimizer's weight decay)
 *
 * Per batch: the distinct items (R <= 2B rows) are gathered once, projected
 * with threaded GEMMs (2 R D d flops, the dominant cost for wide features)
 * and fused once; each sample then costs two dot products. Backward mirrors
 * it: dE is accumulated per item in sample order, the fusion backward gives
 * dH, item rows get one slot each, and dW_m = dH_m^T X_m is one threaded
 * GEMM per modality. User and item tables use the row-sparse optimizers of
 * nn/embedding.h; projections and fusion weights nn/optim.h (Adam for
 * optim=adam|adam-dense). Deterministic for a fixed thread count.
 * Snapshot: U = p, V = e over the catalogue with every ID kept, b = NULL.
 * Keys (both models): drop_id, drop_mod (modality dropout), wd. */

typedef struct pr_fusion pr_fusion;

typedef struct pr_fusion_ops {
    const char *name; /* the model's registry name */
    int fixed_out;    /* 1: e_i always has the parts' width (dout = d) */
    float wd, drop_mod; /* defaults of the keys wd and drop_mod (chosen on validation) */
    /* Read the fusion's keys into f->arch and set f->dout (model init only). */
    int (*keys)(pr_fusion *f, const pr_config *c, pr_error *err);
    /* Declare the fusion's tensors for f->M1 parts of width f->d. */
    int (*declare)(pr_fusion *f, pr_params *p, pr_error *err);
    void (*init_params)(const pr_fusion *f, pr_params *p, pr_rng *r);
    int64_t (*act_size)(const pr_fusion *f, int R);
    /* E (R, dout) from H (R, M1, d) and mask (R, M1); train enables dropout from r. */
    void (*forward)(const pr_fusion *f, const float *w, const float *H, const uint8_t *mask,
                    float *E, float *act, int R, int train, pr_rng *r);
    /* dH (R, M1, d) (overwritten) from dE (R, dout); parameter gradients += into g. */
    void (*backward)(const pr_fusion *f, const float *w, float *g, const float *H,
                     const uint8_t *mask, float *act, const float *dE, float *dH, int R);
    /* Share of each part in e_i after a forward: wts (R, M1), rows sum to 1 (0 if empty). */
    void (*weights)(const pr_fusion *f, const float *H, const uint8_t *mask, const float *act,
                    int R, float *wts);
    /* e_i split by part (models/parts.h): P (R, n_parts, dout), n_parts = M1,
     * + 1 ("base") with PR_PARTS_BASE in part_flags; the parts of a row sum
     * to what forward gives for it. E (R, dout) and act (R rows) are scratch.
     * NULL: no split. */
    int (*parts)(const pr_fusion *f, const float *w, const float *H, const uint8_t *mask, float *E,
                 float *act, int R, float *P, pr_error *err);
    int part_flags; /* PR_PARTS_BASE, PR_PARTS_SHAPLEY (models/parts.h) */
} pr_fusion_ops;

/* Architecture keys, saved with the tower (only some apply to each fusion). */
typedef struct pr_fusion_arch {
    int layers, hidden, act; /* concat: MLP depth, hidden width, PR_ACT_* */
    float dropout;           /* concat: dropout after hidden layers */
    int residual;            /* concat: e_i = e_id + MLP(..) */
    int k;                   /* attention: width of the scoring layer */
} pr_fusion_arch;

struct pr_fusion {
    const pr_fusion_ops *ops;
    int d, M1;    /* part width, parts */
    int dout;     /* width of e_i (and p_u); set by keys() */
    pr_fusion_arch arch;
    pr_mlp mlp;   /* concat */
    pr_attn attn; /* attention */
};

/* Model ops shared by the fused models (each model file fills its own
 * pr_model_ops with these and an init that calls pr_fused_init). */
int pr_fused_init(pr_model **out, const pr_fusion_ops *fops, const pr_dataset *d,
                  const pr_features *f, const pr_config *c, pr_pool *pool, pr_error *err);
double pr_fused_forward(pr_model *m, const pr_batch *b);
void pr_fused_backward(pr_model *m, const pr_batch *b);
void pr_fused_step(pr_model *m, const pr_batch *b);
void pr_fused_dense_grad(pr_model *m, float *g);
int pr_fused_snapshot(pr_model *m, pr_snapshot *out, pr_error *err);
/* s->parts for the snapshot of the current state (models/parts.h): the
 * fusion's parts() over the catalogue, in blocks of at most 256 items
 * (concat: 2^M1 MLP passes each). Leaves s->parts NULL when the fusion
 * cannot split (no parts(), or more parts than PR_SHAPLEY_MAX). */
int pr_fused_parts(pr_model *m, pr_snapshot *s, pr_error *err);
int pr_fused_tower_save(const pr_model *m, pr_buf *b);
void pr_fused_free(pr_model *m);
/* Part weights wts (n, M1) of trained items (ID included): which modality
 * drives each item, for explanations. PR_E_ARG for a model that is not fused. */
int pr_fused_item_weights(pr_model *m, const int32_t *items, int n, float *wts, pr_error *err);
/* Fused vectors V (n, d) of trained items, with or without their ID part
 * (with_id = 0: what the tower gives from the item's content alone). */
int pr_fused_item_vectors(pr_model *m, const int32_t *items, int n, int with_id, float *V,
                          pr_error *err);

/* ---- cold start, for any content model ------------------------------------ */

/* The model's snapshot with every item's row of V (and bias) replaced by what
 * its saved tower gives from the item's content alone (through tower_save,
 * pr_tower_find and encode: the path a new item takes at serving time).
 * Evaluating it measures how well the tower stands on content. */
int pr_content_cold_snapshot(pr_model *m, pr_snapshot *out, pr_error *err);

/* Tower ops shared by the fused models; `tops` is the caller's pr_tower_ops. */
int pr_fused_tower_load(pr_tower **out, pr_cur *c, const pr_tower_ops *tops,
                        const pr_fusion_ops *fops, pr_error *err);
int pr_fused_tower_encode(const pr_tower *t, const float *const *x, float *v, float *bias,
                          pr_error *err);
int pr_fused_tower_weights(const pr_tower *t, const float *const *x, float *w, pr_error *err);
int pr_fused_tower_parts(const pr_tower *t, const float *const *x, float *P, float *pb, pr_error *err);
void pr_fused_tower_free(pr_tower *t);

#endif

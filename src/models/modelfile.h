/* models/modelfile.h: the model file and the runtime that serves it.
 *
 * One self-contained file (core/secfile.h) holds everything needed to
 * recommend without the training data: id maps, each user's training items
 * (to exclude them and for item-history scoring), the embedding snapshot
 * (U, V, b) or the sparse item-item matrix of ItemKNN, hyper-parameters and
 * training metadata as "key=value" lines. Sections:
 *   meta   text: model=, format=1, hyper-parameters, metrics, timings
 *   users, items   id maps (data/idmap.h blobs)
 *   train  CSR of training interactions (users x items)
 *   snap   {n_users, n_items, d, has_bias} then U, V, b as raw float32
 *   knn    CSR with values: item-item similarities (ItemKNN)
 *   pipe   content pipeline state: per modality its encoder and preprocessing
 *   tower  the item tower (content -> V row) for new items: the model's own,
 *          or the content mapper (models/mapper.h) fitted after training
 *   added  items appended after training (add-item): id and unix time each
 *   partw  part weights of the items (fused models only): u32 n_items,
 *          u32 n_parts, n_parts names ("id", then each modality), then i64
 *          count and (n_items, n_parts) float32; add-item appends the new
 *          items' rows (the tower's weights of their content)
 *   parts  the item vectors and biases split by part, so that each score
 *          splits exactly (models/parts.h has the layout): written from
 *          snap->parts; add-item appends the new items' rows (the tower's
 *          split). Files without it still load; explain says the split is
 *          unavailable.
 * The runtime maps the file read-only; U, V and b are used in place.
 *
 * Adding items (pr_modelfile_add_items) writes a whole new file beside the
 * old one and renames it over (core/secfile.h), so a reader or a crash sees
 * the old model or the new one, never a mix; unchanged sections are copied
 * from the mapping as they are. Cost: O(file size) per call, dominated by
 * checksums, the write and fsync: add many items in one call when you can.
 * Writers are serialised by an exclusive flock on the model file. */
#ifndef PR_MODELS_MODELFILE_H
#define PR_MODELS_MODELFILE_H

#include "core/buf.h"
#include "core/secfile.h"
#include "data/dataset.h"
#include "eval/scorer.h"
#include "features/pipeline.h"
#include "models/model.h"

/* Write a trained model. snap may be empty (score-only models); meta is extra
 * "key=value\n" text appended after the standard keys. */
int pr_modelfile_save(const char *path, const pr_model *m, const pr_snapshot *snap,
                      const pr_pipeline *pipe, const char *meta, pr_error *err);

/* The same, with the "tower" section given: tower holds the whole section
 * (tower name string, then its state; e.g. pr_mapper_save). NULL: the
 * model's own tower, if it has one. */
int pr_modelfile_save_tower(const char *path, const pr_model *m, const pr_snapshot *snap,
                            const pr_pipeline *pipe, const char *meta, const pr_buf *tower,
                            pr_error *err);

/* The same, with the "partw" section given (NULL: none). */
int pr_modelfile_save_ex(const char *path, const pr_model *m, const pr_snapshot *snap,
                         const pr_pipeline *pipe, const char *meta, const pr_buf *tower,
                         const pr_buf *parts, pr_error *err);

/* Part weights of the items a model was trained on: w (n_items, n_parts),
 * row i the share of each part in item i's vector (rows sum to 1). */
typedef struct pr_part_weights {
    int32_t n_items;
    int n_parts;
    char names[PR_MAX_MODALITIES + 1][32];
    float *w; /* owned */
} pr_part_weights;

/* Append the "partw" section's blob for w (n_items, n_parts) to b. */
void pr_part_weights_save(pr_buf *b, int32_t n_items, int n_parts, const char names[][32],
                          const float *w);
void pr_part_weights_free(pr_part_weights *p);

/* Append n new items to the model file at path: ids[n] (new, distinct),
 * V rows (n, d) and biases b (n; NULL = 0) as an item tower computed them.
 * Atomic (new file + rename): on any error the file is unchanged. Errors:
 * PR_E_ARG (id already an item, repeated, empty or too long; a non-finite
 * value), PR_E_STATE (the model has no item vectors, e.g. ItemKNN), the
 * format and I/O errors of opening and writing. An open pr_recsys keeps
 * serving the old contents: reopen to see the new items. */
int pr_modelfile_add_items(const char *path, int n, const char *const *ids, const float *V,
                           const float *b, pr_error *err);

/* What explanations need of the new items, from the item tower. */
typedef struct pr_added_parts {
    int n_parts;     /* per item in P and pb: pr_tower_n_parts(tower) */
    int flags;       /* the tower's part_flags (PR_PARTS_SHAPLEY is recorded) */
    const float *P;  /* (n, n_parts, d) the split of each V row (models/parts.h), or NULL */
    const float *pb; /* (n, n_parts) the split of each bias, or NULL (no biases) */
    int n_wparts;    /* per item in w */
    const float *w;  /* (n, n_wparts) part weights (tower weights()), or NULL */
} pr_added_parts;

/* The same, also appending the new items' rows to the "parts" and "partw"
 * sections where the file has them and they cover every old item (x or its
 * arrays NULL: the sections stay as they are, and the new items have no
 * split). Extra errors: PR_E_STATE (x's part counts differ from the file's),
 * PR_E_ARG (an item's parts do not sum to its vector, a weight outside
 * [0, 1]), PR_E_FORMAT (a malformed section). */
int pr_modelfile_add_items_ex(const char *path, int n, const char *const *ids, const float *V,
                              const float *b, const pr_added_parts *x, pr_error *err);

typedef struct pr_recsys {
    pr_secfile file;
    char model[32];
    pr_idmap *users, *items;   /* owned */
    pr_csr *train;             /* owned */
    pr_csr *knn;               /* owned, ItemKNN only */
    const float *U, *V, *b;    /* borrowed from the mapping */
    int32_t n_users, n_items;
    int d;
    char *meta;                /* NUL-terminated copy */
    pr_pipeline pipe;          /* content pipeline (n_mod = 0 without content) */
    pr_tower *tower;           /* owned, NULL when the model has none */
    pr_scorer scorer;
} pr_recsys;

int pr_recsys_open(pr_recsys *r, const char *path, pr_error *err);
void pr_recsys_close(pr_recsys *r);
/* Top-k items for user u, training items excluded; returns how many. */
int pr_recsys_recommend(const pr_recsys *r, int32_t u, int k, int32_t *idx, float *val);
/* Top-k items for a user the model has never seen, from the items hist[0..n)
 * (indices; an anonymous session or a new user's first interactions): the
 * user vector is folded in with V fixed (models/foldin.h; o NULL = the file's
 * "foldin_reg" or the defaults), ItemKNN sums the history's similarity rows.
 * The history items are excluded. Returns how many, or a negative code. */
struct pr_foldin_opts;
/* The fold-in options fit chose for this model (meta keys foldin,
 * foldin_reg, foldin_target, foldin_prior; defaults otherwise); prior (d floats, owned
 * by the caller) receives the mean user vector that o->prior then borrows. */
void pr_recsys_foldin_opts(const pr_recsys *r, struct pr_foldin_opts *o, float *prior);
int pr_recsys_recommend_history(const pr_recsys *r, const int32_t *hist, int n, int k,
                                const struct pr_foldin_opts *o, int32_t *idx, float *val,
                                pr_error *err);
/* Top-k items most similar to item i (cosine of V rows, or ItemKNN similarity). */
int pr_recsys_similar(const pr_recsys *r, int32_t i, int k, int32_t *idx, float *val);
/* Value of a meta key into buf (empty when absent). */
const char *pr_recsys_meta(const pr_recsys *r, const char *key, char *buf, size_t n);

/* Read the "partw" section of r: PR_E_NOTFOUND when the file has none (the
 * model has no part weights), PR_E_FORMAT when it is malformed. */
int pr_recsys_part_weights(const pr_recsys *r, pr_part_weights *out, pr_error *err);

/* The "parts" section of r (models/parts.h), borrowed from the mapping
 * (valid while r is open): PR_E_NOTFOUND when the file has none,
 * PR_E_FORMAT naming the field when it is malformed. */
struct pr_parts_view;
int pr_recsys_parts(const pr_recsys *r, struct pr_parts_view *out, pr_error *err);
/* Item i's score for the user vector u (r->d; a row of U or a folded-in
 * user) split by part: c (v->n_parts) with sum c = u . V[i] + b[i] to float
 * rounding. PR_E_NOTFOUND when i has no stored split (added after the
 * section, by a tower without one), PR_E_NOMEM. */
int pr_recsys_split(const pr_recsys *r, const struct pr_parts_view *v, const float *u, int32_t i, double *c);
/* The user vector u (d) that recommend_history scores with, for the items
 * hist[0..n) (o NULL: the file's fold-in options). PR_E_STATE for ItemKNN. */
int pr_recsys_history_user(const pr_recsys *r, const int32_t *hist, int n, const struct pr_foldin_opts *o,
                           float *u, pr_error *err);

int pr_csr_save(const pr_csr *m, pr_buf *b);
int pr_csr_load(pr_csr **out, pr_cur *c, pr_error *err);

#endif

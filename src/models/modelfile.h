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
 *   tower  the model's item tower (content -> V row), for new items
 * The runtime maps the file read-only; U, V and b are used in place. */
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
/* Top-k items most similar to item i (cosine of V rows, or ItemKNN similarity). */
int pr_recsys_similar(const pr_recsys *r, int32_t i, int k, int32_t *idx, float *val);
/* Value of a meta key into buf (empty when absent). */
const char *pr_recsys_meta(const pr_recsys *r, const char *key, char *buf, size_t n);

int pr_csr_save(const pr_csr *m, pr_buf *b);
int pr_csr_load(pr_csr **out, pr_cur *c, pr_error *err);

#endif

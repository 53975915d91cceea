/* features/knn_graph.h: item-item k-nearest-neighbour graphs from content.
 *
 * The modality graphs of LATTICE (Zhang et al., MM 2021) and FREEDOM (Zhou &
 * Shen, MM 2023): for each item, its k most cosine-similar items by one
 * modality's features, normalised, then fused across modalities with weights.
 *
 * The PyTorch toolboxes form the dense items x items similarity matrix and
 * run out of memory at tens of thousands of items. Here similarities are
 * computed in tiles of (row block x column block) through GEMM (pr_gemm), and
 * every row keeps a running top-k that each column tile is merged into, so
 * memory is O(items x k) for the result plus one tile per thread
 * (row_block x col_block floats, 8 MiB by default), whatever the catalogue
 * size. Time is O(items^2 x dim) flops, which BLAS runs near peak.
 *
 * Determinism: rows are split statically over the pool; each row's top-k is
 * merged in column order with ties broken toward the lower item index, the
 * order of a stable descending sort (core/topk.h), so a row's neighbours do
 * not depend on the thread count.
 *
 * Conventions (MMRec's): similarity = cosine of the raw feature rows; an item
 * is its own nearest neighbour unless opts.self = 0; items whose feature row
 * is zero (missing) have no neighbours and are nobody's neighbour. The graph's
 * values are the similarities; normalise with pr_csr_normalize (core/spmm.h):
 * FREEDOM uses binary weights with the symmetric form (every row then holds
 * 1/k), LATTICE the similarities with the symmetric form. */
#ifndef PR_FEATURES_KNN_GRAPH_H
#define PR_FEATURES_KNN_GRAPH_H

#include <stdint.h>

#include "core/buf.h"
#include "core/csr.h"
#include "core/err.h"
#include "core/pool.h"

#define PR_KNN_MAX_K 1024     /* largest k */
#define PR_KNN_MAX_GRAPHS 16  /* most graphs one pr_csr_fuse call takes */

typedef struct pr_knn_opts {
    int k;                /* neighbours per item (MMRec: 10) */
    int self;             /* 1: an item may be its own neighbour (MMRec), 0: never */
    const uint8_t *cand;  /* (n) 1 = may be a neighbour; NULL = every item with features */
    int row_block;        /* rows per GEMM tile (0 = 256) */
    int col_block;        /* columns per GEMM tile (0 = 8192) */
} pr_knn_opts;

void pr_knn_opts_default(pr_knn_opts *o); /* k 10, self 1, all candidates */

/* The k-NN graph of the rows of X (n, dim): S (n x n CSR), row i holding the
 * (up to) k candidates j with the largest cos(X_i, X_j) as values, columns
 * sorted ascending. X is borrowed. *out is owned by the caller. Errors:
 * PR_E_ARG (k < 1, dim < 1), PR_E_NOMEM. */
int pr_knn_build(const float *X, int32_t n, int dim, const pr_knn_opts *o, pr_pool *pool,
                 pr_csr **out, pr_error *err);
/* Brute force: the dense similarity row of each item in double and
 * pr_topk_naive over it. O(n^2 dim) time, O(n) memory. Test reference. */
int pr_knn_build_naive(const float *X, int32_t n, int dim, const pr_knn_opts *o, pr_csr **out,
                       pr_error *err);

/* out = sum_m w[m] G[m] over the union of the patterns (all G[m] of the same
 * shape, rows sorted). *out is owned by the caller. */
int pr_csr_fuse(const pr_csr *const *G, const float *w, int n_g, pr_csr **out, pr_error *err);

/* Rows of X scaled to unit L2 norm (zero rows stay zero): a new (n, dim)
 * array owned by the caller, or NULL on OOM. */
float *pr_rows_l2(const float *X, int32_t n, int dim);

/* One query (cold start): the up-to-k rows of Xn (n, dim, unit rows from
 * pr_rows_l2) most cosine-similar to x (dim; any norm), among cand (NULL =
 * every nonzero row). Writes idx/sim in descending similarity; returns the
 * count (0 when x is zero), or PR_E_NOMEM. */
int pr_knn_query(const float *Xn, int32_t n, int dim, const uint8_t *cand, const float *x, int k,
                 int32_t *idx, float *sim);

/* ---- cold items: content neighbours -> a vector ----------------------------- */

/* What a graph model gives an item that arrives after training: its k
 * nearest training items by content, per modality, and a weighted mean of
 * those items' rows of a table T (the model's item ID embeddings, or its
 * final item vectors), as the model's own item-item graph would aggregate
 * them:
 *   v = sum_m w_m sum_{j in knn_m(x_m)} a_mj T[j] / sum_{m present} w_m
 * with a_mj = 1/k (FREEDOM's binary graph, MMGCN) or the cosine similarity
 * normalised to sum 1 over the neighbours (LATTICE), then optionally L2
 * normalised. A modality the item lacks is left out (the weights of the
 * others renormalised). Candidates are the rows with features; non-candidate
 * rows (cold items at training time) are stored as zeros. Owns its arrays. */
typedef struct pr_knn_tower {
    int n_mod, d, k;
    int32_t n;                          /* rows of T and of each Xn */
    int sim_weighted, l2_out;
    int dims[PR_KNN_MAX_GRAPHS];
    char names[PR_KNN_MAX_GRAPHS][32];
    float w[PR_KNN_MAX_GRAPHS];         /* modality weights */
    float *Xn[PR_KNN_MAX_GRAPHS];       /* (n, dims[m]) unit feature rows, zero = not a candidate */
    float *T;                           /* (n, d) */
} pr_knn_tower;

/* Build from features X[m] (n, dims[m]) (borrowed, copied as unit rows),
 * candidate mask cand (n, NULL = all) and T (n, d) (copied). */
int pr_knn_tower_init(pr_knn_tower *t, int n_mod, const char *const *names, const float *const *X,
                      const int *dims, const float *w, int32_t n, const uint8_t *cand, const float *T, int d,
                      int k, int sim_weighted, int l2_out, pr_error *err);
void pr_knn_tower_deinit(pr_knn_tower *t);
/* v (d) from x[m] (dims[m]) or NULL when the item lacks modality m. An item
 * with no modality, or no candidate neighbour, gets v = 0. Thread-safe. */
int pr_knn_tower_encode(const pr_knn_tower *t, const float *const *x, float *v, pr_error *err);
/* Serialise / restore (bounds-checked: a corrupt blob is PR_E_FORMAT). */
int pr_knn_tower_save(const pr_knn_tower *t, pr_buf *b);
int pr_knn_tower_load(pr_knn_tower *t, pr_cur *c, pr_error *err);

#endif

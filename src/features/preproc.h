/* features/preproc.h: feature preprocessing fitted on training items, and
 * compact (float16 / int8) storage of feature matrices.
 *
 * A pr_preproc is a pipeline of steps given by a spec string, applied left to
 * right, each fitted on the output of the steps before it:
 *   "l2"      x / ||x||_2 (a zero row stays zero); nothing fitted
 *   "center"  x - mean                        (mean per column)
 *   "zscore"  (x - mean) / std                (population std; a constant
 *                                              column is only centred)
 *   "pca=K"   (x - mean) W, W (d, K) the top-K principal directions of the
 *             fitting rows, by randomized truncated SVD of the centred rows
 *             (features/svd.h: oversampling 10, 3 power iterations, QR at
 *             every step), deterministic by seed. K is clamped to
 *             min(rows, d) with a log line.
 * e.g. "zscore,pca=64,l2". fit() sees only the rows it is given (training
 * items, never missing ones); apply() transforms any row, one at a time in a
 * fixed order of operations, so a new item is transformed bit-identically to
 * the same vector at training time, whatever the batch or thread count.
 * save()/load() carry everything fitted (means, stds, bases).
 *
 * Compact storage keeps a (n, d) matrix as float16 (IEEE half, round to
 * nearest even; core/npy.h) or int8 with one scale per row (symmetric:
 * scale = max|x| / 127, q = round(x / scale)); bytes per item: f32 4d,
 * f16 2d, int8 d + 4. */
#ifndef PR_FEATURES_PREPROC_H
#define PR_FEATURES_PREPROC_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/pool.h"
#include "features/store.h"

typedef struct pr_preproc pr_preproc;

/* New unfitted pipeline for d_in-dimensional rows. *out owned by the caller.
 * Errors: PR_E_ARG naming the bad step. An empty spec is the identity. */
int pr_preproc_new(const char *spec, int d_in, uint64_t seed, pr_preproc **out, pr_error *err);
void pr_preproc_free(pr_preproc *p); /* NULL is a no-op */

/* Fit on rows[0..n_rows) of X (n, d_in) (rows NULL: all n rows). X is borrowed.
 * Errors: PR_E_ARG (no rows, bad index), PR_E_NUMERIC (non-finite input). */
int pr_preproc_fit(pr_preproc *p, const float *X, int64_t n, const int32_t *rows,
                   int64_t n_rows, pr_pool *pool, pr_error *err);
/* Fit on the given items of a modality, skipping those flagged missing. */
int pr_preproc_fit_modality(pr_preproc *p, const pr_modality *m, const int32_t *items,
                            int64_t n_items, pr_pool *pool, pr_error *err);

int pr_preproc_dim(const pr_preproc *p);  /* output dimension (after fit or load) */
int pr_preproc_d_in(const pr_preproc *p);
int pr_preproc_fitted(const pr_preproc *p);
const char *pr_preproc_spec(const pr_preproc *p);

/* out (n, dim) = transform of X (n, d_in); rows with missing[i] set (missing
 * may be NULL) are zero-filled. out must not alias X. PR_E_STATE if unfitted. */
int pr_preproc_apply(const pr_preproc *p, const float *X, int64_t n, const uint8_t *missing,
                     float *out, pr_pool *pool, pr_error *err);
/* Transform a modality in place (its X is replaced, dim may change). */
int pr_preproc_apply_modality(const pr_preproc *p, pr_modality *m, pr_pool *pool, pr_error *err);

int pr_preproc_save(const pr_preproc *p, pr_buf *b);
int pr_preproc_load(pr_preproc **out, pr_cur *c, pr_error *err);

/* ---- PCA (used by the "pca" step; public for tests and other users) ---- */

/* mean (d), W (d, k) principal directions (columns), var (k) explained
 * variance per component (S^2 / (n - 1)); total_var (may be NULL) the sum of
 * the column variances. X (n, d) is borrowed. k <= min(n, d). */
int pr_pca_fit(const float *X, int64_t n, int d, int k, uint64_t seed, pr_pool *pool,
               float *mean, float *W, float *var, double *total_var, pr_error *err);

/* ---- compact storage ---- */

enum { PR_STORE_F32 = 0, PR_STORE_F16 = 1, PR_STORE_I8 = 2 };

typedef struct pr_compact {
    int kind;        /* PR_STORE_* */
    int64_t n;
    int d;
    float *f32;      /* (n, d) when kind == F32 */
    uint16_t *f16;   /* (n, d) when kind == F16 */
    int8_t *q;       /* (n, d) when kind == I8 */
    float *scale;    /* (n) when kind == I8 */
} pr_compact;

/* Encode X (n, d) (borrowed) into c (its arrays owned by c). Non-finite
 * values are PR_E_NUMERIC naming the row. */
int pr_compact_encode(const float *X, int64_t n, int d, int kind, pr_compact *c, pr_error *err);
void pr_compact_row(const pr_compact *c, int64_t i, float *out); /* out (d) */
void pr_compact_decode(const pr_compact *c, float *X);           /* X (n, d) */
void pr_compact_free(pr_compact *c);
size_t pr_compact_bytes_per_item(int kind, int d);
int pr_compact_kind(const char *name); /* "f32" "f16" "int8" -> PR_STORE_*, or -1 */
int pr_compact_save(const pr_compact *c, pr_buf *b);
/* Initialises c (it must not hold arrays: free them first); on error c is empty. */
int pr_compact_load(pr_compact *c, pr_cur *cur, pr_error *err);

#endif

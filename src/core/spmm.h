/* core/spmm.h: sparse graph operators for the graph recommenders.
 *
 * Three things, all on CSR (core/csr.h) and never on a dense n x n matrix:
 *
 *   1. SpMM: Y (n_rows, d) = alpha * A (n_rows, n_cols) . X (n_cols, d) + beta * Y.
 *      Threaded over rows of A with a *static* split balanced by nonzeros
 *      (thread ith owns the rows whose first nonzero falls in the ith nnz
 *      slice). Each output row is written by one thread, summing its row in
 *      index order, so the result is race-free and bit-identical for any
 *      thread count. The backward of Y = A X is dX = A^T dY: the transpose is
 *      made once (pr_csr_transpose) and run through the same kernel, so the
 *      backward is a gather too (no atomics, no per-thread copies of dX).
 *      Cost: 2 * nnz * d flops, memory traffic ~ nnz * (8 + 4 d) bytes.
 *
 *   2. The user-item graph: the square (n_users + n_items) bipartite
 *      adjacency [[0, R], [R^T, 0]] of a users x items matrix R, optionally
 *      with self loops and with a subset of R's edges (FREEDOM's pruning),
 *      normalised symmetrically D^-1/2 A D^-1/2 (LightGCN, He et al. SIGIR
 *      2020) or by rows D^-1 A (LATTICE's NGCF-style graph). Users are rows
 *      [0, n_users), items rows [n_users, n_users + n_items). Degree-0 nodes
 *      get zero rows (MMRec adds 1e-7 to degrees; the difference is below
 *      float rounding for every node with an edge).
 *
 *   3. Layer-mean propagation (LightGCN's readout), forward and backward:
 *      E_out = 1/(L+1) sum_{l=0..L} A^l E_0, and its gradient
 *      dE_0 = 1/(L+1) sum_l (A^T)^l dE_out, each by Horner's rule in L SpMMs
 *      with two (n, d) buffers: the propagation is linear, so no layer
 *      activations need to be stored for the backward pass. */
#ifndef PR_CORE_SPMM_H
#define PR_CORE_SPMM_H

#include <stdint.h>

#include "core/csr.h"
#include "core/err.h"
#include "core/pool.h"

/* Y (A->n_rows, d) = alpha * A . X (A->n_cols, d) + beta * Y. Y must not alias
 * X. beta == 0 ignores Y's old contents (NaN-safe). A->val NULL = all ones.
 * pool may be NULL (runs inline). */
void pr_spmm(pr_pool *pool, const pr_csr *A, const float *X, int d, float alpha, float beta,
             float *Y);
/* The same contract in plain loops with double accumulation: test reference. */
void pr_spmm_naive(const pr_csr *A, const float *X, int d, float alpha, float beta, float *Y);
/* dX (A->n_cols, d) += A^T . dY (A->n_rows, d) by scattering row by row:
 * the serial reference for the backward (the fast path runs pr_spmm on the
 * transpose). */
void pr_spmm_t_naive(const pr_csr *A, const float *dY, int d, float *dX);

/* ---- the user-item graph ------------------------------------------------- */

enum { PR_NORM_NONE = 0, PR_NORM_SYM = 1, PR_NORM_ROW = 2 };

/* Allocate the bipartite adjacency of R (users x items) with room for all of
 * R's edges in both directions, plus n self loops when self_loops is set.
 * The structure is filled by pr_adj_fill. *out is owned by the caller. */
int pr_adj_new(const pr_csr *R, int self_loops, pr_csr **out, pr_error *err);
/* Fill A (from pr_adj_new with the same R and self_loops) with the edges of R
 * whose keep[k] is nonzero (keep (R->nnz) indexes R's nonzeros; NULL keeps
 * all), each in both directions, unit weights, plus self loops, normalised by
 * norm (PR_NORM_*; degrees count the kept edges and the self loop). Rows stay
 * sorted; A->nnz becomes the number of entries written. No allocation. */
void pr_adj_fill(const pr_csr *R, const uint8_t *keep, int self_loops, int norm, pr_csr *A);
/* Both in one call: the normalised bipartite graph of all of R's edges. */
int pr_adj_build(const pr_csr *R, int self_loops, int norm, pr_csr **out, pr_error *err);

/* Degree-sensitive edge sampling (FREEDOM, Zhou & Shen 2023): keep[e] = 1
 * for n_keep of R's nonzeros drawn without replacement with probability
 * proportional to 1/sqrt(deg_u deg_i) (degrees in R), so edges between popular
 * nodes are dropped first; keep[e] = 0 for the rest. Efraimidis & Spirakis'
 * keys log(r_e) / w_e, r_e uniform from PCG32 stream (seed, stream): the law
 * of torch.multinomial(w, n_keep, replacement=False), in O(nnz log nnz).
 * keep (R->nnz) is the caller's. Errors: PR_E_NOMEM. */
int pr_adj_sample_edges(const pr_csr *R, int64_t n_keep, uint64_t seed, uint64_t stream, uint8_t *keep,
                        pr_error *err);

/* Normalise the values of a square or rectangular CSR in place: SYM scales
 * A_ij by (r_i r_j)^-1/2 with r the row sums of values (for symmetric
 * patterns the usual D^-1/2 A D^-1/2; for k-NN graphs MMRec's choice of row
 * sums on both sides; SYM needs a square A), ROW by 1/r_i. Rows summing to
 * <= 0 become zero. A->val must be set; with binary set every value is first
 * replaced by 1. Errors: PR_E_ARG (SYM of a non-square A), PR_E_NOMEM. */
int pr_csr_normalize(pr_csr *A, int norm, int binary, pr_error *err);

/* ---- layer-mean propagation ---------------------------------------------- */

/* out (n, d) = 1/(L+1) sum_{l=0..L} A^l X (n, d), A square (n, n). tmp is
 * (2, n, d) scratch; out must not alias X or tmp. For the backward pass call it with A^T
 * (A itself when it is symmetric) and dOut: dX = 1/(L+1) sum_l (A^T)^l dOut. */
void pr_spmm_layer_mean(pr_pool *pool, const pr_csr *A, int L, const float *X, int d, float *tmp,
                        float *out);

#endif

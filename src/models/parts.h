/* models/parts.h: item vectors split by part, so that scores split exactly.
 *
 * Every dot-product model scores s(u,i) = U[u] . V[i] + b[i]. Where an
 * item's vector and bias are sums over parts,
 *     V[i] = sum_q P[i][q],   b[i] = sum_q pb[i][q],
 * every score splits exactly, for any user vector u (trained or folded in):
 *     s(u,i) = sum_q c_q,   c_q = u . P[i][q] + pb[i][q]
 * at the cost of n_parts dot products per item shown: retrieval stays one
 * GEMM over V, the split is computed for the k items it returns.
 *
 * Parts, in this order: q = 0 the ID (the item's learned embedding), q = 1..M
 * the content modalities, then q = M + 1 "base" where the model or tower has
 * a constant of its own (PR_PARTS_BASE). A model without IDs (content-kNN)
 * keeps slot 0, always zero, and leaves PR_PARTS_ID out. What each model
 * gives (docs/models-multimodal.md, "Score split"):
 *   attention   e_i = sum_m a_m(i) h_m: part m = a_m(i) h_m. Exact.
 *   VBPR        V = [g_i, E f_i], b = b_i + b' f_i, E f = sum_m E_m f_m over
 *               the modalities' column blocks: ID = ([g_i, 0], b_i),
 *               modality m = ([0, E_m f_m], b'_m f_m). Exact.
 *   concat      e_i = [h_0 .. h_M] (residual=1) + MLP([h_0 .. h_M]): the
 *               residual block of each part is exact; the MLP term is split
 *               by Shapley values over the parts (below), its value with no
 *               part present, MLP(0), is "base".
 *   mapper      ridge: y = sum_m xc_m W_m + ymean, exact per modality block,
 *               ymean the base; MLP mapper: Shapley as for concat. Items the
 *               model learned (BPR-MF, LightGCN) are wholly ID.
 *   content-kNN V = [c_1 .. c_M], one block per modality. Exact.
 *
 * Shapley values (Shapley 1953) of a term g(S) over n players, S the set of
 * parts present, an absent part entering as zeros (what modality dropout
 * trains and what a missing modality is):
 *     phi_q = sum_{S not containing q} |S|! (n - |S| - 1)! / n! (g(S + q) - g(S))
 * Efficiency makes the split exact, sum_q phi_q = g(all) - g(none), and g(none)
 * goes to "base"; a part that is absent gets exactly 0; for an additive g the
 * phi_q are its terms. Vector-valued g (the item vector) gives vector phi_q,
 * and u . phi_q is then the Shapley value of the score term u . g, so the
 * split is the same for every user. Cost 2^n evaluations of g per item,
 * n <= PR_SHAPLEY_MAX.
 *
 * Model file section "parts" (models/modelfile.h): u32 version, n_items,
 * n_parts, d, flags, has_bias; n_parts names; i64 count and float32 rows
 * (n_items, (n_parts - 1) (d + has_bias)): per item the vectors of parts 1 ..
 * n_parts - 1, then their biases. Part 0 is not stored: it is V[i] - sum of
 * the others (and b[i] - sum), so the parts sum to the stored V and b by
 * construction and the section costs n_parts - 1 times V. Items past
 * n_items (added by a tower without parts) have no split. */
#ifndef PR_MODELS_PARTS_H
#define PR_MODELS_PARTS_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "features/store.h"
#include "models/model.h"

#define PR_MAX_PARTS (PR_MAX_MODALITIES + 2)
#define PR_SHAPLEY_MAX 10

enum {
    PR_PARTS_ID = 1,      /* part 0 is a learned ID embedding (else always zero) */
    PR_PARTS_BASE = 2,    /* a last part "base": a constant of the model or tower */
    PR_PARTS_SHAPLEY = 4, /* some term is split by Shapley values, not exactly */
};

typedef struct pr_parts {
    int32_t n_items;
    int n_parts, d, flags;
    char names[PR_MAX_PARTS][32]; /* "id", the modalities, "base" */
    float *P;  /* (n_items, n_parts, d) owned */
    float *pb; /* (n_items, n_parts) owned, or NULL when there are no biases */
} pr_parts;

/* n_parts of a layout: 1 + n_mod, + 1 with PR_PARTS_BASE. */
static inline int pr_parts_count(int n_mod, int flags) { return 1 + n_mod + ((flags & PR_PARTS_BASE) != 0); }
static inline int pr_tower_n_parts(const pr_tower *t) { return pr_parts_count(t->n_mod, t->part_flags); }

/* Zeroed parts for n_items items of width d; mod_names (n_mod) the
 * modalities. NULL on allocation failure or more than PR_MAX_MODALITIES. */
pr_parts *pr_parts_new(int32_t n_items, int d, int n_mod, const char (*mod_names)[32], int with_bias,
                       int flags);
void pr_parts_free(pr_parts *p); /* NULL is a no-op */
pr_parts *pr_parts_copy(const pr_parts *p);
static inline float *pr_parts_row(const pr_parts *p, int32_t i) { return p->P + (int64_t)i * p->n_parts * p->d; }

/* s->parts (replacing any) with every item wholly in its ID part: for models
 * whose item vectors are learned per item. The layout has n_mod modality
 * parts (zero) and flags, for a tower that will place some items later. */
int pr_parts_set_id(pr_snapshot *s, int n_mod, const char (*mod_names)[32], int flags, pr_error *err);

/* Largest |sum_q P[i][q][k] - V[i][k]| (and the same for biases) relative to
 * sum_q |P[i][q][k]| + |V[i][k]| + 1e-3, over every item and coordinate: 0
 * for an exact split, float rounding (~1e-7) in practice. */
double pr_parts_error(const pr_parts *p, const float *V, const float *b);

/* c (n_parts) = u . P[q] + pb[q] (pb NULL: no biases), in double. */
void pr_parts_split(int n_parts, int d, const float *P, const float *pb, const float *u, double *c);

/* Shapley values phi (n, dim) of n players from the values F (2^n, dim) of
 * every coalition (row s: the players whose bit is set in s). In double
 * inside. PR_E_RANGE when n is not in [1, PR_SHAPLEY_MAX]. */
int pr_shapley(int n, const float *F, int dim, float *phi);

/* Rows of p for the items with which[i] set, through t->ops->parts from the
 * items' content in f; items without content get zero rows (as
 * pr_tower_place gives them a zero V row). PR_E_STATE when t gives no parts
 * or another layout (n_parts, d). */
int pr_tower_parts_rows(const pr_tower *t, const pr_features *f, const uint8_t *which, pr_parts *p,
                        pr_error *err);

/* ---- the model file's "parts" section ------------------------------------- */

/* Append p's section blob to b. */
int pr_parts_save(const pr_parts *p, pr_buf *b);

/* A parsed section, borrowing its rows from the blob (the file mapping). */
typedef struct pr_parts_view {
    int32_t n_items;
    int n_parts, d, flags, has_bias;
    char names[PR_MAX_PARTS][32];
    const uint8_t *rows; /* (n_items, row_floats) float32, not necessarily aligned */
    int64_t row_floats;  /* (n_parts - 1) (d + has_bias) */
} pr_parts_view;

/* Parse the blob (data, n) of a file whose snapshot has max_items items of
 * width d, with biases or not. PR_E_FORMAT naming `what` and the field
 * for a malformed blob. */
int pr_parts_view_parse(pr_parts_view *v, const void *data, size_t n, int32_t max_items, int d,
                        int has_bias, const char *what, pr_error *err);
/* Item i's parts P (n_parts, d) and pb (n_parts; written when has_bias,
 * else zeros) from the stored rows and its V row and bias: part 0 is the
 * remainder, 0 where that is below float rounding (an item placed by a
 * tower has no ID part). PR_E_NOTFOUND when i has no stored parts. */
int pr_parts_view_item(const pr_parts_view *v, int32_t i, const float *V_row, float b, float *P,
                       float *pb);
/* The blob of v with n more items appended: P (n, n_parts, d), pb (n,
 * n_parts) or NULL (zeros); flags are added to v's (PR_PARTS_SHAPLEY when
 * the new rows were split so). */
int pr_parts_view_append(const pr_parts_view *v, int n, const float *P, const float *pb, int flags,
                         pr_buf *b);

#endif

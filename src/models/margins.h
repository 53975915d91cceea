/* models/margins.h: the BPR margins of a batch over a joint table of user
 * and item rows (graph models: E = [U; I], n_users rows first), threaded
 * over samples; each sample writes only its own slots, so the sums the
 * caller takes in sample order do not depend on the thread count. */
#ifndef PR_MODELS_MARGINS_H
#define PR_MODELS_MARGINS_H

#include <stdint.h>

#include "core/pool.h"
#include "models/model.h"

/* For sample s of bt (u, i, j its first negative):
 *   x[s] = E[u] . (E[nu + i] - E[nu + j]),  ls[4 s] = softplus(-x[s]),
 *   ls[4 s + 1 .. 3] = |N[u]|^2, |N[nu + i]|^2, |N[nu + j]|^2
 * with N the table the regulariser acts on (E itself, or the ego rows).
 * E, N (nu + n_items, d); x (B); ls (4 B). */
void pr_bpr_margins(pr_pool *pool, const pr_batch *bt, const float *E, const float *N, int32_t nu, int d, float *x,
                    double *ls);

#endif

/* models/itemknn.h: item-based nearest neighbours, shared with the runtime.
 * The fitted model is a sparse item-item similarity matrix S (row j lists the
 * top-k neighbours i of item j with sim(j, i)); a user's score for item i is
 * the sum of sim(j, i) over the items j in the user's history. */
#ifndef PR_MODELS_ITEMKNN_H
#define PR_MODELS_ITEMKNN_H

#include "core/csr.h"

/* out (n, n_items) = hist rows of users . S, with hist = train (users x items). */
int pr_itemknn_score(const pr_csr *S, const pr_csr *hist, const int32_t *users, int n, float *out);

struct pr_model;
/* The fitted S of an itemknn model (borrowed). */
const pr_csr *pr_itemknn_matrix(const struct pr_model *m);

#endif

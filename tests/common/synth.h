/* tests/common/synth.h: synthetic datasets with planted structure. */
#ifndef PR_TESTS_SYNTH_H
#define PR_TESTS_SYNTH_H

#include "data/dataset.h"

/* Users and items fall into n_clusters groups; a user's interactions are drawn
 * from her group's items with probability p_in, else uniformly. Each user's
 * interactions are split 80/10/10 into train/valid/test (at least one each).
 * Item popularity inside a group is skewed (Zipf-like) so MostPop is a real
 * baseline. */
pr_dataset *synth_clusters(int32_t n_users, int32_t n_items, int n_clusters, int per_user,
                           double p_in, uint64_t seed);
/* Build a dataset from coordinate lists (labels 0/1/2), ids "u0".. / "i0".. */
pr_dataset *synth_from_coo(int32_t n_users, int32_t n_items, int64_t n, const int32_t *u,
                           const int32_t *i, const int8_t *label);
void synth_free(pr_dataset *d);

#endif

/* tests/common/synth_features.h: planted-structure data WITH item features.
 *
 * Users and items fall into n_clusters groups (user u in u % C, item i in a
 * random group). A user's interactions are drawn uniformly from her group's
 * items with probability p_in, else uniformly from all items: no popularity
 * skew, so with few interactions per item the ID embeddings alone learn
 * slowly while an item's content can tell its group at once. Each user's
 * interactions are split 80/10/10 (at least one valid and one test).
 *
 * Two modalities, "image" (dims[0]) and "text" (dims[1]):
 *   x_m(i) = signal * c_m[group(i)] + noise * N(0, I) / sqrt(dim)
 * with random unit centroids c_m per group; signal = 0 makes the content
 * pure noise. A share p_missing of items lacks the text modality (zero row,
 * missing flag set). The feature store is built by hand (no loader). */
#ifndef PR_TESTS_SYNTH_FEATURES_H
#define PR_TESTS_SYNTH_FEATURES_H

#include "data/dataset.h"
#include "features/store.h"

typedef struct synth_mm_opts {
    int32_t n_users, n_items;
    int n_clusters, per_user;
    double p_in;
    int dims[2];
    double signal, noise, p_missing;
    uint64_t seed;
} synth_mm_opts;

typedef struct synth_mm {
    pr_dataset *d;
    pr_features *f;
    int32_t *group; /* (n_items) the planted group of each item */
} synth_mm;

void synth_mm_defaults(synth_mm_opts *o);
/* Returns 0, or -1 on allocation failure. */
int synth_mm_make(const synth_mm_opts *o, synth_mm *out);
void synth_mm_free(synth_mm *s);
/* A features struct with the same shapes filled by hand (free with synth_features_free). */
pr_features *synth_features_alloc(int32_t n_items, int n_mod, const int *dims, const char *const *names);
void synth_features_free(pr_features *f);

#endif

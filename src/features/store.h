/* features/store.h: item feature vectors, one matrix per named modality.
 *
 * A modality is a float32 matrix (n_items, dim) aligned to the dataset's item
 * id map (row i = dense item i) with a per-item missing mask. Vectors come
 * from .npy files (MMRec's image_feat.npy: row r = the item whose external id
 * is the decimal string of r), delimited text (item id then values), or an
 * encoder run over raw content. */
#ifndef PR_FEATURES_STORE_H
#define PR_FEATURES_STORE_H

#include <stdint.h>

#include "core/err.h"
#include "data/idmap.h"

#define PR_MAX_MODALITIES 16

typedef struct pr_modality {
    char name[32];        /* "image", "text", "audio", or user-defined such as "video" */
    int32_t n_items;
    int dim;
    float *X;             /* (n_items, dim), owned */
    uint8_t *missing;     /* (n_items) 1 = no vector for the item (row is zero), owned */
} pr_modality;

typedef struct pr_features {
    int n_mod;
    pr_modality mod[PR_MAX_MODALITIES];
} pr_features;

pr_features *pr_features_new(void);
void pr_features_free(pr_features *f);
/* Add a modality that takes ownership of X and missing (missing may be NULL = none missing). */
int pr_features_add(pr_features *f, const char *name, int32_t n_items, int dim, float *X,
                    uint8_t *missing, pr_error *err);
const pr_modality *pr_features_get(const pr_features *f, const char *name);

#endif

/* models/centred.h: content kNN's item vector, shared by contentknn and
 * metricknn (models and item towers).
 *
 *   c_i = [w_1 xc_1 / |xc_1|, ..., w_M xc_M / |xc_M|],  xc_m = x_m(i) - mean_m
 * with mean_m the mean of modality m over the warm items (those with training
 * interactions) that have it. A missing modality, or one equal to the mean,
 * is a zero block. Mean-centring matters: raw text or image vectors share a
 * large common direction that makes every item look alike. */
#ifndef PR_MODELS_CENTRED_H
#define PR_MODELS_CENTRED_H

#include <stdint.h>

#include "core/err.h"
#include "features/store.h"

/* c (sum of dims) from the blocks x[m] (NULL = missing), mean (sum of dims),
 * weights w (n_mod). */
void pr_centred_embed(int n_mod, const int *dims, const float *w, const float *mean, const float *const *x,
                      float *c);
/* mean (sum of dims): per modality, over the items with warm[i] != 0 that
 * have it (0 where none has). PR_E_NOMEM. */
int pr_centred_means(const pr_features *f, const uint8_t *warm, float *mean, pr_error *err);

#endif

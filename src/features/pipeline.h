/* features/pipeline.h: from a catalogue's content to the model's item vectors.
 *
 * A pipeline holds, per modality (in a fixed order), where its vectors come
 * from and how they are transformed:
 *   source   an encoder run over raw content (image path, text, audio path of
 *            an ITEMS file), or vectors computed elsewhere (.npy / delimited);
 *   preproc  a pr_preproc spec ("l2", "zscore,pca=64", ...) fitted on the
 *            training items only.
 * build() produces the feature store aligned to the dataset's item ids and
 * the fitted state; save()/load() carry the state inside the model file, so
 * encode_item() turns one new item's raw content (or raw vector) into
 * exactly the vectors the model was trained on: the input of the item tower. */
#ifndef PR_FEATURES_PIPELINE_H
#define PR_FEATURES_PIPELINE_H

#include "core/pool.h"
#include "core/secfile.h"
#include "data/dataset.h"
#include "features/encoder.h"
#include "features/preproc.h"
#include "features/store.h"

typedef struct pr_pipeline_mod {
    char name[32];          /* modality name */
    int kind;               /* PR_MOD_* of the raw content for encoded modalities, -1 for given vectors */
    pr_encoder *enc;        /* owned, NULL for given vectors */
    pr_preproc *pre;        /* owned, NULL = identity */
    int d_raw, dim;         /* encoder / file output dim, and dim after preproc */
} pr_pipeline_mod;

typedef struct pr_pipeline {
    int n_mod;
    pr_pipeline_mod mod[PR_MAX_MODALITIES];
} pr_pipeline;

/* What to build: any number of "MOD=PATH" feature files, an ITEMS file whose
 * image/text/audio columns are encoded ("MOD=NAME[:ARGS]" picks an encoder,
 * else the default), and "MOD=SPEC" preprocessing. */
typedef struct pr_pipeline_spec {
    const char *items;               /* ITEMS path or NULL */
    const char *features[PR_MAX_MODALITIES];
    int n_features;
    const char *encoders[PR_MAX_MODALITIES];
    int n_encoders;
    const char *preproc[PR_MAX_MODALITIES];
    int n_preproc;
    uint64_t seed;
} pr_pipeline_spec;

/* Build features for d's items; *feat and the pipeline state are owned by the
 * caller. Encoders and preprocessing are fitted on items with training
 * interactions. */
int pr_pipeline_build(const pr_pipeline_spec *s, const pr_dataset *d, pr_pool *pool,
                      pr_pipeline *p, pr_features **feat, pr_error *err);
void pr_pipeline_deinit(pr_pipeline *p);

/* Sections "pipe" (modality table) and "pipe.N" (encoder + preproc state). */
int pr_pipeline_save(const pr_pipeline *p, pr_secwriter *w);
/* A model without content has no "pipe" section: p->n_mod = 0. */
int pr_pipeline_load(pr_pipeline *p, const pr_secfile *f, pr_error *err);

/* One new item: raw content per modality kind (image/audio path, text; NULL
 * when absent) or a raw vector for given-vector modalities (vec[m], d_raw
 * floats, NULL when absent). out[m] receives dim floats and present[m] 1 when
 * the modality could be computed, 0 when absent. Errors (a corrupt image)
 * fail the whole item: a bad item must not enter the model half-known. */
typedef struct pr_item_content {
    const char *image, *text, *audio;
    const float *vec[PR_MAX_MODALITIES];  /* by modality index; d_raw floats */
} pr_item_content;

int pr_pipeline_encode_item(const pr_pipeline *p, const pr_item_content *c, float **out,
                            uint8_t *present, pr_error *err);

#endif

/* features/store.h: item feature vectors, one matrix per named modality.
 *
 * A modality is a float32 matrix (n_items, dim) aligned to the dataset's item
 * id map (row i = dense item i) with a per-item missing mask. Vectors come
 * from .npy files (MMRec's image_feat.npy: row r = the item whose external id
 * is the decimal string of r), delimited text (item id then values), or an
 * encoder run over raw content.
 *
 * Invariants: every modality has a missing mask (never NULL once added), a
 * missing item's row is all zeros, and every stored value is finite (loaders
 * reject NaN/Inf naming the row or line). Code that consumes features must
 * honour the mask (skip missing rows when fitting, keep them zero when
 * transforming). */
#ifndef PR_FEATURES_STORE_H
#define PR_FEATURES_STORE_H

#include <stdint.h>

#include "core/buf.h"
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

/* What a loader saw: rows (or lines) read, rows whose id is not in the item
 * map (ignored), and items of the map that got no vector (missing). */
typedef struct pr_features_report {
    int64_t rows, ignored;
    int32_t missing;
} pr_features_report;

pr_features *pr_features_new(void);
void pr_features_free(pr_features *f); /* NULL is a no-op */
/* Add a modality that takes ownership of X and missing in every case (they
 * are freed on error). missing may be NULL (= none missing); rows flagged
 * missing are zeroed. Errors: PR_E_ARG (name empty, too long or taken; bad
 * shape; too many modalities), PR_E_NUMERIC (a non-finite value), PR_E_NOMEM. */
int pr_features_add(pr_features *f, const char *name, int32_t n_items, int dim, float *X,
                    uint8_t *missing, pr_error *err);
const pr_modality *pr_features_get(const pr_features *f, const char *name);

/* Load a modality from a .npy file. With items, row r belongs to the item
 * whose id is the decimal string of r (MMRec); rows with no such item are
 * ignored and counted, items without a row are missing. items NULL: the
 * matrix is taken as is (n_items = rows). rep may be NULL. */
int pr_features_load_npy(pr_features *f, const char *name, const char *path,
                         const pr_idmap *items, pr_features_report *rep, pr_error *err);
/* Load from delimited text: one line per item, `ITEM_ID<TAB or ,>v1,v2,...`
 * (values separated by commas, tabs or spaces). An optional header line whose
 * first field is item/id/item_id is skipped; blank lines and lines starting
 * with '#' too. Errors name the line: ragged rows, bad or non-finite numbers,
 * a repeated item. Ids not in items are ignored and counted; items required. */
int pr_features_load_text(pr_features *f, const char *name, const char *path,
                          const pr_idmap *items, pr_features_report *rep, pr_error *err);
/* By extension: ".npy" -> npy, anything else -> delimited text. Logs the
 * report (rows, ignored, missing) through pr_log. */
int pr_features_load(pr_features *f, const char *name, const char *path, const pr_idmap *items,
                     pr_error *err);

/* Write a modality as .npy, atomically. With items, in MMRec's convention:
 * row r = the item whose id is the decimal r (every id must be a canonical
 * non-negative decimal, else PR_E_ARG), rows = max id + 1; rows with no item
 * or a missing item are zeros. items NULL: row i = dense item i. */
int pr_features_save_npy(const pr_features *f, const char *name, const char *path,
                         const pr_idmap *items, pr_error *err);
/* Write `ID\tv1,v2,...` lines (%.9g: floats round-trip exactly), skipping
 * missing items, atomically: the missing mask survives a reload. */
int pr_features_save_text(const pr_features *f, const char *name, const char *path,
                          const pr_idmap *items, pr_error *err);

/* All modalities into / out of a byte buffer (e.g. a model file section). */
int pr_features_save(const pr_features *f, pr_buf *b);
int pr_features_load_buf(pr_features **out, pr_cur *c, pr_error *err);

#endif

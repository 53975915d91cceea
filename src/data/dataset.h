/* data/dataset.h: interactions as read, and the train/valid/test dataset.
 *
 * Reading (interactions.c) turns a file into pr_interactions: parallel arrays
 * of dense user and item indices with optional rating, timestamp and split
 * label, plus the two id maps. Filtering (filter.c: implicit threshold,
 * duplicate merge, k-core) and splitting (split.c) turn those into a
 * pr_dataset: three CSR matrices users x items over the same id maps. Users
 * and items that appear only in valid/test (cold items) still have ids, rows
 * and columns; their train row or column is empty.
 *
 * Formats (docs/formats-interactions.md): delimited text with or without a
 * header (TSV, CSV with RFC-4180 quotes, ';', '|', space, MovieLens-1M "::"),
 * MovieLens ratings.csv / u.data, MMRec/RecBole `.inter` with x_label. */
#ifndef PR_DATA_DATASET_H
#define PR_DATA_DATASET_H

#include <stdint.h>

#include "core/csr.h"
#include "core/err.h"
#include "data/idmap.h"

enum { PR_FMT_AUTO = 0, PR_FMT_TSV, PR_FMT_CSV, PR_FMT_MOVIELENS, PR_FMT_MMREC };
enum { PR_LABEL_TRAIN = 0, PR_LABEL_VALID = 1, PR_LABEL_TEST = 2, PR_LABEL_NONE = -1 };

/* Largest accepted |rating|: anything beyond is a corrupt column, not a rating. */
#define PR_RATING_MAX 1e6

typedef struct pr_interactions {
    int64_t n, cap;
    int32_t *user, *item;  /* (n) dense indices into users / items */
    float *rating;         /* (n) or NULL when the file has no rating column */
    int64_t *ts;           /* (n) or NULL when the file has no timestamp */
    int8_t *label;         /* (n) PR_LABEL_* or NULL when the file has no split column */
    pr_idmap *users, *items; /* owned */
    int64_t skipped;       /* malformed lines skipped under skip_bad */
    /* as read (informational; set by pr_interactions_read) */
    int format;            /* PR_FMT_* that was used (never AUTO after a read) */
    int header;            /* 1 when the first line was a header */
    char delim;            /* field delimiter used (':' stands for "::") */
} pr_interactions;

typedef struct pr_read_opts {
    int format;            /* PR_FMT_* */
    int skip_bad;          /* skip malformed lines (and count them) instead of failing */
    char delim;            /* 0 = detect; ':' means the MovieLens-1M "::" separator */
    int header;            /* 0 = detect, 1 = the first line is a header, -1 = there is none */
    int64_t max_ids;       /* distinct users (and items) allowed; 0 = PR_ID_MAX_COUNT */
} pr_read_opts;

/* Read an interaction file (o may be NULL: all defaults). Errors name file,
 * line and field: "ratings.csv:1042: field 'rating': not a number ('x4')".
 * The file is mapped whole and parsed by hand; ids are added to the maps in
 * order of first appearance. *out is owned by the caller. */
int pr_interactions_read(const char *path, const pr_read_opts *o, pr_interactions **out,
                         pr_error *err);
/* An empty set with empty id maps and no arrays; NULL on OOM. */
pr_interactions *pr_interactions_new(void);
void pr_interactions_free(pr_interactions *x); /* NULL is a no-op */
/* Room for at least cap rows; allocates the rating / ts / label arrays when the
 * matching with_* is set (they stay NULL otherwise). */
int pr_interactions_reserve(pr_interactions *x, int64_t cap, int with_rating, int with_ts,
                            int with_label);
/* Append one row by external ids (adding them to the maps). rating, ts and label
 * are stored only where their arrays exist. For hand-built data and online logs. */
int pr_interactions_push(pr_interactions *x, const char *user, const char *item, float rating,
                         int64_t ts, int label, pr_error *err);
/* "auto" "tsv" "csv" "movielens" "mmrec" <-> PR_FMT_*; parse returns -1 when unknown. */
int pr_format_parse(const char *name);
const char *pr_format_name(int fmt);

typedef struct pr_filter_opts {
    float min_rating;      /* keep rating >= min_rating as positives; NAN = keep all */
    int kcore;             /* iteratively drop users and items with < kcore positives; 0 = off */
} pr_filter_opts;

/* Apply the threshold, merge duplicate (user, item) pairs (keeping the earliest
 * timestamp, and the lowest split label), k-core filter, and re-index ids densely.
 * Replaces *x with the filtered result. A file without ratings passes the
 * threshold whole. Nothing left is PR_E_RANGE; on error *x is unchanged. */
int pr_interactions_filter(pr_interactions **x, const pr_filter_opts *o, pr_error *err);

enum { PR_SPLIT_COLUMN = 0, PR_SPLIT_RANDOM, PR_SPLIT_LOO, PR_SPLIT_TEMPORAL_GLOBAL,
       PR_SPLIT_TEMPORAL_USER, PR_SPLIT_COLD_ITEMS, PR_SPLIT_DEFAULT };

typedef struct pr_split_opts {
    int kind;              /* PR_SPLIT_*; DEFAULT = the file's column if present, else RANDOM */
    double ratio[3];       /* train/valid/test for RANDOM and TEMPORAL_* (sum 1) */
    double cold_share;     /* share of items held out for COLD_ITEMS */
    uint64_t seed;
} pr_split_opts;

/* "default", "column", "random[:0.8,0.1,0.1]", "loo", "temporal[:0.8,0.1,0.1]"
 * (global cut), "temporal-user[:0.8,0.1,0.1]", "cold-items[:0.2]". Ratios may be
 * given in any positive scale ("8,1,1") and are normalised to sum 1. Fills kind,
 * ratio and cold_share; o->seed is left as it was. */
int pr_split_parse(const char *spec, pr_split_opts *o, pr_error *err);
const char *pr_split_name(int kind);

/* Rows of a user with n interactions that go to train / valid / test under the
 * per-user ratio rule of RANDOM and TEMPORAL_USER (see split.c). */
void pr_split_user_counts(int64_t n, const double ratio[3], int64_t cnt[3]);

typedef struct pr_dataset {
    int32_t n_users, n_items;
    pr_csr *train, *valid, *test;   /* users x items, binary */
    pr_idmap *users, *items;        /* owned */
    uint8_t *cold_item;             /* (n_items) 1 when the item has no train interaction, or NULL */
    int split;                      /* PR_SPLIT_* that was applied (never DEFAULT) */
} pr_dataset;

/* Build the dataset; takes ownership of x's id maps and frees x, on success
 * and on error alike. A (user, item) pair lands in one matrix only: train
 * first, then valid, then test (duplicates never leak across). cold_item is
 * always set. *out is owned by the caller. */
int pr_dataset_split(pr_interactions *x, const pr_split_opts *o, pr_dataset **out, pr_error *err);
void pr_dataset_free(pr_dataset *d);

#endif

/* data/dataset.h: interactions as read, and the train/valid/test dataset.
 *
 * Reading (interactions.c) turns a file into pr_interactions: parallel arrays
 * of dense user and item indices with optional rating, timestamp and split
 * label, plus the two id maps. Filtering (implicit threshold, duplicate merge,
 * k-core) and splitting (split.c) turn those into a pr_dataset: three CSR
 * matrices users x items over the same id maps. Items that appear only in
 * valid/test (cold items) still have ids and columns; their train column is
 * empty. */
#ifndef PR_DATA_DATASET_H
#define PR_DATA_DATASET_H

#include <stdint.h>

#include "core/csr.h"
#include "core/err.h"
#include "data/idmap.h"

enum { PR_FMT_AUTO = 0, PR_FMT_TSV, PR_FMT_CSV, PR_FMT_MOVIELENS, PR_FMT_MMREC };
enum { PR_LABEL_TRAIN = 0, PR_LABEL_VALID = 1, PR_LABEL_TEST = 2, PR_LABEL_NONE = -1 };

typedef struct pr_interactions {
    int64_t n, cap;
    int32_t *user, *item;  /* (n) dense indices into users / items */
    float *rating;         /* (n) or NULL when the file has no rating column */
    int64_t *ts;           /* (n) or NULL when the file has no timestamp */
    int8_t *label;         /* (n) PR_LABEL_* or NULL when the file has no split column */
    pr_idmap *users, *items;
    int64_t skipped;       /* malformed lines skipped under skip_bad */
} pr_interactions;

typedef struct pr_read_opts {
    int format;            /* PR_FMT_* */
    int skip_bad;          /* skip malformed lines (and count them) instead of failing */
    char delim;            /* 0 = detect */
} pr_read_opts;

/* Read an interaction file. Errors name file, line and field:
 * "ratings.csv:1042: field 'rating': not a number ('x4')". */
int pr_interactions_read(const char *path, const pr_read_opts *o, pr_interactions **out,
                         pr_error *err);
pr_interactions *pr_interactions_new(void);
void pr_interactions_free(pr_interactions *x);

typedef struct pr_filter_opts {
    float min_rating;      /* keep rating >= min_rating as positives; NAN = keep all */
    int kcore;             /* iteratively drop users and items with < kcore positives; 0 = off */
} pr_filter_opts;

/* Apply the threshold, merge duplicate (user, item) pairs (keeping the earliest
 * timestamp, and the lowest split label), k-core filter, and re-index ids densely.
 * Replaces *x with the filtered result. */
int pr_interactions_filter(pr_interactions **x, const pr_filter_opts *o, pr_error *err);

enum { PR_SPLIT_COLUMN = 0, PR_SPLIT_RANDOM, PR_SPLIT_LOO, PR_SPLIT_TEMPORAL_GLOBAL,
       PR_SPLIT_TEMPORAL_USER, PR_SPLIT_COLD_ITEMS, PR_SPLIT_DEFAULT };

typedef struct pr_split_opts {
    int kind;              /* PR_SPLIT_*; DEFAULT = the file's column if present, else RANDOM */
    double ratio[3];       /* train/valid/test for RANDOM and TEMPORAL_* */
    double cold_share;     /* share of items held out for COLD_ITEMS */
    uint64_t seed;
} pr_split_opts;

/* "column", "random:0.8,0.1,0.1", "loo", "temporal:0.8,0.1,0.1" (global cut),
 * "temporal-user:0.8,0.1,0.1", "cold-items:0.2". */
int pr_split_parse(const char *spec, pr_split_opts *o, pr_error *err);

typedef struct pr_dataset {
    int32_t n_users, n_items;
    pr_csr *train, *valid, *test;   /* users x items, binary */
    pr_idmap *users, *items;        /* owned */
    uint8_t *cold_item;             /* (n_items) 1 when the item has no train interaction, or NULL */
} pr_dataset;

/* Build the dataset; takes ownership of x's id maps (x is freed). */
int pr_dataset_split(pr_interactions *x, const pr_split_opts *o, pr_dataset **out, pr_error *err);
void pr_dataset_free(pr_dataset *d);

#endif

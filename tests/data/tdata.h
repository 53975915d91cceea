/* tests/data/tdata.h: helpers for the data tests: small files under
 * build/test-data/ and hand-built interaction sets. Header-only (static), so
 * each test program gets its own copy. */
#ifndef PR_TESTS_TDATA_H
#define PR_TESTS_TDATA_H

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "data/dataset.h"

/* Write n bytes to build/test-data/<name>; returns the path (static storage,
 * valid until the next call). */
static inline const char *t_write_n(const char *name, const char *data, size_t n) {
    static char path[512];
    mkdir("build", 0755);
    mkdir("build/test-data", 0755);
    snprintf(path, sizeof path, "build/test-data/%s", name);
    FILE *f = fopen(path, "wb");
    if (!f) return path;
    fwrite(data, 1, n, f);
    fclose(f);
    return path;
}

static inline const char *t_write(const char *name, const char *text) {
    return t_write_n(name, text, strlen(text));
}

/* Write text to build/test-data/<name> and read it with o (NULL: defaults). */
static inline int t_read_text(const char *name, const char *text, const pr_read_opts *o,
                              pr_interactions **x, pr_error *err) {
    *x = NULL;
    memset(err, 0, sizeof *err);
    return pr_interactions_read(t_write(name, text), o, x, err);
}

/* Hand-built set from "user item [rating [ts [label]]]" triples given as
 * parallel arrays; rating/ts/label arrays may be NULL. */
static inline pr_interactions *t_build(int n, const char *const *users, const char *const *items,
                                       const float *rating, const int64_t *ts, const int *label) {
    pr_interactions *x = pr_interactions_new();
    pr_error err;
    if (!x || pr_interactions_reserve(x, n, rating != NULL, ts != NULL, label != NULL)) return x;
    for (int k = 0; k < n; k++)
        pr_interactions_push(x, users[k], items[k], rating ? rating[k] : 1.0f, ts ? ts[k] : 0,
                             label ? label[k] : PR_LABEL_TRAIN, &err);
    return x;
}

#endif

/* bench/baby_shaped.h: the synthetic interaction set the benchmarks share,
 * shaped like Amazon Baby (19,445 users, 7,050 items, ~119k training pairs at
 * scale 1): users with >= 5 interactions and a long tail (~8.3 on average),
 * item popularity skewed, 80/10/10 per user. n_users = 19445 s, n_items =
 * 7050 s. Header-only: each benchmark is one program. No id maps (benchmarks
 * never print ids); free with pr_dataset_free. */
#ifndef PR_BENCH_BABY_SHAPED_H
#define PR_BENCH_BABY_SHAPED_H

#include <math.h>
#include <stdlib.h>

#include "core/csr.h"
#include "core/rng.h"
#include "data/dataset.h"

enum { BABY_USERS = 19445, BABY_ITEMS = 7050 };

static pr_dataset *bench_baby_shaped(double s, uint64_t seed) {
    int32_t nu = (int32_t)(BABY_USERS * s), ni = (int32_t)(BABY_ITEMS * s);
    pr_rng r;
    pr_rng_init(&r, seed, 1);
    int64_t cap = (int64_t)nu * 60, n = 0;
    int32_t *u = malloc((size_t)cap * 4), *it = malloc((size_t)cap * 4);
    int8_t *lab = malloc((size_t)cap);
    for (int32_t x = 0; x < nu; x++) {
        int len = 5 + (int)(-3.3 * log(1.0 - pr_rng_double(&r)));
        for (int k = 0; k < len && n < cap; k++) {
            double z = pr_rng_double(&r);
            u[n] = x;
            it[n] = (int32_t)(ni * z * z);
            lab[n] = k < len * 8 / 10 ? 0 : (k < len * 9 / 10 ? 1 : 2);
            n++;
        }
    }
    pr_dataset *d = calloc(1, sizeof *d);
    d->n_users = nu;
    d->n_items = ni;
    pr_csr **dst[3] = {&d->train, &d->valid, &d->test};
    int32_t *ru = malloc((size_t)n * 4), *ri = malloc((size_t)n * 4);
    for (int l = 0; l < 3; l++) {
        int64_t m = 0;
        for (int64_t k = 0; k < n; k++)
            if (lab[k] == l) { ru[m] = u[k]; ri[m++] = it[k]; }
        pr_csr_from_coo(nu, ni, m, ru, ri, NULL, dst[l], NULL);
    }
    free(u); free(it); free(lab); free(ru); free(ri);
    return d;
}

#endif

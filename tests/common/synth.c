/* tests/common/synth.c: planted-structure datasets for model tests. */
#include "synth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"

void synth_free(pr_dataset *d) { pr_dataset_free(d); }

pr_dataset *synth_from_coo(int32_t n_users, int32_t n_items, int64_t n, const int32_t *u,
                           const int32_t *i, const int8_t *label) {
    pr_dataset *d = calloc(1, sizeof *d);
    d->n_users = n_users;
    d->n_items = n_items;
    d->users = pr_idmap_new();
    d->items = pr_idmap_new();
    char buf[32];
    for (int32_t k = 0; k < n_users; k++) pr_idmap_add(d->users, buf, (size_t)snprintf(buf, sizeof buf, "u%d", k));
    for (int32_t k = 0; k < n_items; k++) pr_idmap_add(d->items, buf, (size_t)snprintf(buf, sizeof buf, "i%d", k));
    int32_t *ru = malloc((size_t)n * sizeof *ru), *ri = malloc((size_t)n * sizeof *ri);
    pr_csr **dst[3] = {&d->train, &d->valid, &d->test};
    for (int lab = 0; lab < 3; lab++) {
        int64_t m = 0;
        for (int64_t k = 0; k < n; k++)
            if (label[k] == lab) { ru[m] = u[k]; ri[m] = i[k]; m++; }
        pr_csr_from_coo(n_users, n_items, m, ru, ri, NULL, dst[lab], NULL);
    }
    free(ru);
    free(ri);
    return d;
}

pr_dataset *synth_clusters(int32_t n_users, int32_t n_items, int n_clusters, int per_user,
                           double p_in, uint64_t seed) {
    pr_rng r;
    pr_rng_init(&r, seed, 11);
    int64_t n = (int64_t)n_users * per_user;
    int32_t *u = malloc((size_t)n * sizeof *u), *it = malloc((size_t)n * sizeof *it);
    int8_t *lab = malloc((size_t)n);
    int32_t per_cluster = n_items / n_clusters;
    uint8_t *taken = calloc((size_t)n_items, 1);
    int64_t w = 0;
    for (int32_t x = 0; x < n_users; x++) {
        int c = x % n_clusters;
        memset(taken, 0, (size_t)n_items);
        for (int k = 0; k < per_user; k++) {
            int32_t item;
            do {
                if (pr_rng_double(&r) < p_in) {
                    /* Zipf-ish inside the cluster: low offsets are popular */
                    double z = pr_rng_double(&r);
                    int32_t off = (int32_t)(per_cluster * z * z);
                    item = c * per_cluster + (off < per_cluster ? off : per_cluster - 1);
                } else {
                    item = (int32_t)pr_rng_below(&r, (uint32_t)n_items);
                }
            } while (taken[item]);
            taken[item] = 1;
            u[w] = x;
            it[w] = item;
            lab[w] = k < per_user * 8 / 10 ? 0 : (k < per_user * 9 / 10 ? 1 : 2);
            if (k == per_user - 1) lab[w] = 2;
            if (k == per_user - 2 && per_user < 10) lab[w] = 1;
            w++;
        }
    }
    pr_dataset *d = synth_from_coo(n_users, n_items, w, u, it, lab);
    free(u);
    free(it);
    free(lab);
    free(taken);
    return d;
}

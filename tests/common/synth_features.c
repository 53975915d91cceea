/* tests/common/synth_features.c: planted data with item features (see the header). */
#include "synth_features.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synth.h"
#include "core/rng.h"

void synth_mm_defaults(synth_mm_opts *o) {
    memset(o, 0, sizeof *o);
    o->n_users = 300;
    o->n_items = 600;
    o->n_clusters = 40;
    o->per_user = 10;
    o->p_in = 0.9;
    o->dims[0] = 24;
    o->dims[1] = 12;
    o->signal = 1.0;
    o->noise = 0.5;
    o->p_missing = 0.1;
    o->seed = 5;
}

pr_features *synth_features_alloc(int32_t n_items, int n_mod, const int *dims, const char *const *names) {
    pr_features *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->n_mod = n_mod;
    for (int m = 0; m < n_mod; m++) {
        pr_modality *x = &f->mod[m];
        snprintf(x->name, sizeof x->name, "%s", names[m]);
        x->n_items = n_items;
        x->dim = dims[m];
        x->X = calloc((size_t)n_items * dims[m], sizeof *x->X);
        x->missing = calloc((size_t)n_items, 1);
        if (!x->X || !x->missing) {
            synth_features_free(f);
            return NULL;
        }
    }
    return f;
}

void synth_features_free(pr_features *f) {
    if (!f) return;
    for (int m = 0; m < f->n_mod; m++) {
        free(f->mod[m].X);
        free(f->mod[m].missing);
    }
    free(f);
}

static void fill_features(const synth_mm_opts *o, const int32_t *group, pr_features *f, pr_rng *r) {
    for (int m = 0; m < 2; m++) {
        int dim = o->dims[m];
        float *cent = malloc((size_t)o->n_clusters * dim * sizeof *cent);
        for (int c = 0; c < o->n_clusters; c++) {
            double n2 = 0;
            for (int k = 0; k < dim; k++) {
                cent[c * dim + k] = pr_rng_normal(r);
                n2 += cent[c * dim + k] * cent[c * dim + k];
            }
            for (int k = 0; k < dim; k++) cent[c * dim + k] /= (float)sqrt(n2);
        }
        pr_modality *x = &f->mod[m];
        float sd = (float)(o->noise / sqrt((double)dim));
        for (int32_t i = 0; i < o->n_items; i++) {
            float *row = x->X + (int64_t)i * dim;
            for (int k = 0; k < dim; k++)
                row[k] = (float)o->signal * cent[group[i] * dim + k] + sd * pr_rng_normal(r);
            if (m == 1 && pr_rng_double(r) < o->p_missing) {
                x->missing[i] = 1;
                memset(row, 0, (size_t)dim * sizeof *row);
            }
        }
        free(cent);
    }
}

int synth_mm_make(const synth_mm_opts *o, synth_mm *out) {
    memset(out, 0, sizeof *out);
    pr_rng r;
    pr_rng_init(&r, o->seed, 23);
    int64_t n = (int64_t)o->n_users * o->per_user;
    int32_t *u = malloc((size_t)n * sizeof *u), *it = malloc((size_t)n * sizeof *it);
    int8_t *lab = malloc((size_t)n);
    uint8_t *taken = calloc((size_t)o->n_items, 1);
    int32_t *members = malloc((size_t)o->n_items * sizeof *members), *start = calloc((size_t)o->n_clusters + 1, sizeof *start);
    out->group = malloc((size_t)o->n_items * sizeof *out->group);
    if (!u || !it || !lab || !taken || !members || !start || !out->group) goto fail;
    for (int32_t i = 0; i < o->n_items; i++) out->group[i] = (int32_t)pr_rng_below(&r, (uint32_t)o->n_clusters);
    /* members of each group, contiguous: start[c] .. start[c+1] */
    for (int32_t i = 0; i < o->n_items; i++) start[out->group[i] + 1]++;
    for (int c = 0; c < o->n_clusters; c++) start[c + 1] += start[c];
    int32_t *fill = calloc((size_t)o->n_clusters, sizeof *fill);
    if (!fill) goto fail;
    for (int32_t i = 0; i < o->n_items; i++) members[start[out->group[i]] + fill[out->group[i]]++] = i;
    free(fill);
    int64_t w = 0;
    for (int32_t x = 0; x < o->n_users; x++) {
        int c = x % o->n_clusters;
        int32_t size = start[c + 1] - start[c];
        memset(taken, 0, (size_t)o->n_items);
        for (int k = 0; k < o->per_user; k++) {
            int32_t item, tries = 0;
            do {
                if (size > o->per_user && pr_rng_double(&r) < o->p_in)
                    item = members[start[c] + (int32_t)pr_rng_below(&r, (uint32_t)size)];
                else
                    item = (int32_t)pr_rng_below(&r, (uint32_t)o->n_items);
            } while (taken[item] && ++tries < 1000);
            taken[item] = 1;
            u[w] = x;
            it[w] = item;
            lab[w] = k < o->per_user * 8 / 10 ? 0 : (k < o->per_user * 9 / 10 ? 1 : 2);
            if (k == o->per_user - 1) lab[w] = 2;
            if (k == o->per_user - 2) lab[w] = 1;
            w++;
        }
    }
    out->d = synth_from_coo(o->n_users, o->n_items, w, u, it, lab);
    const char *names[2] = {"image", "text"};
    out->f = synth_features_alloc(o->n_items, 2, o->dims, names);
    if (!out->d || !out->f) goto fail;
    fill_features(o, out->group, out->f, &r);
    free(u);
    free(it);
    free(lab);
    free(taken);
    free(members);
    free(start);
    return 0;
fail:
    free(u);
    free(it);
    free(lab);
    free(taken);
    free(members);
    free(start);
    synth_mm_free(out);
    return -1;
}

void synth_mm_free(synth_mm *s) {
    if (s->d) synth_free(s->d);
    synth_features_free(s->f);
    free(s->group);
    memset(s, 0, sizeof *s);
}

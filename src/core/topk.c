/* core/topk.c: heap-based top-K (see topk.h). */
#include "topk.h"

#include <math.h>
#include <stdlib.h>

#include "err.h"

/* a ranks below b: lower score, or equal score and higher index */
static inline int worse(float sa, int32_t ia, float sb, int32_t ib) {
    return sa < sb || (sa == sb && ia > ib);
}

static void sift_down(int32_t *idx, float *val, int n, int i) {
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && worse(val[l], idx[l], val[m], idx[m])) m = l;
        if (r < n && worse(val[r], idx[r], val[m], idx[m])) m = r;
        if (m == i) return;
        float tv = val[i]; val[i] = val[m]; val[m] = tv;
        int32_t ti = idx[i]; idx[i] = idx[m]; idx[m] = ti;
        i = m;
    }
}

static void sift_up(int32_t *idx, float *val, int i) {
    while (i > 0) {
        int p = (i - 1) / 2;
        if (!worse(val[i], idx[i], val[p], idx[p])) return;
        float tv = val[i]; val[i] = val[p]; val[p] = tv;
        int32_t ti = idx[i]; idx[i] = idx[p]; idx[p] = ti;
        i = p;
    }
}

/* Once the heap is full only a score strictly above its minimum can enter
 * (an equal score comes from a higher index, so it ranks below). Most items
 * fail that test, so blocks of 16 are first checked in a branch-free loop the
 * compiler vectorises, and only blocks with a candidate are walked one by one. */
int pr_topk(const float *scores, int32_t n, int k, int32_t *idx, float *val) {
    if (k <= 0) return 0;
    int h = 0;
    int32_t i = 0;
    for (; i < n && h < k; i++) {
        float s = scores[i];
        if (s == -INFINITY || s != s) continue; /* masked or NaN */
        idx[h] = i;
        val[h] = s;
        sift_up(idx, val, h++);
    }
    while (i < n) {
        float thr = val[0];
        int32_t end = i + 16 <= n ? i + 16 : n;
        int any = 0;
        for (int32_t j = i; j < end; j++) any |= scores[j] > thr;
        if (any) {
            for (int32_t j = i; j < end; j++) {
                float s = scores[j];
                if (s > val[0]) { /* NaN and -INFINITY never pass */
                    idx[0] = j;
                    val[0] = s;
                    sift_down(idx, val, h, 0);
                }
            }
        }
        i = end;
    }
    /* heap-sort in place: pop the worst to the back */
    for (int end = h - 1; end > 0; end--) {
        float tv = val[0]; val[0] = val[end]; val[end] = tv;
        int32_t ti = idx[0]; idx[0] = idx[end]; idx[end] = ti;
        sift_down(idx, val, end, 0);
    }
    return h;
}

typedef struct { float s; int32_t i; } pair;

static int pair_cmp(const void *a, const void *b) {
    const pair *x = a, *y = b;
    if (x->s != y->s) return x->s > y->s ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

int pr_topk_naive(const float *scores, int32_t n, int k, int32_t *idx, float *val) {
    pair *p = pr_malloc((size_t)n, sizeof *p);
    if (!p) return PR_E_NOMEM;
    int m = 0;
    for (int32_t i = 0; i < n; i++)
        if (scores[i] != -INFINITY && scores[i] == scores[i]) p[m++] = (pair){scores[i], i};
    qsort(p, (size_t)m, sizeof *p, pair_cmp);
    int out = m < k ? m : k;
    for (int j = 0; j < out; j++) { idx[j] = p[j].i; val[j] = p[j].s; }
    free(p);
    return out;
}

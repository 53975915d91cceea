/* core/topk.c: partial top-K selection, a threshold path and a heap path (see topk.h). */
#include "topk.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* The heap path, for large k: once the heap is full only a score strictly
 * above its minimum can enter (an equal score comes from a higher index, so
 * it ranks below). Blocks of 16 are first checked in a branch-free loop the
 * compiler vectorises; only blocks with a candidate are walked one by one. */
static int topk_heap(const float *scores, int32_t n, int k, int32_t *idx, float *val) {
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

/* The threshold path, for small k (the evaluator's K = 10..50). Deal the
 * row's blocks of 16 round-robin into k groups and take each group's maximum:
 * those are k distinct items, so the smallest of them is a lower bound on the
 * k-th best score. Round-robin rather than contiguous chunks because item
 * order carries structure in real data (ids in order of first appearance
 * run from old, popular items to new ones): a contiguous chunk of weak
 * items would drag the bound down. On a random order only ~3.4 k items reach
 * the bound, so a branch-free vectorised max pass, a block-skipping pass
 * that appends the candidates, and a quickselect over a few dozen items
 * replace the ~k ln(n / k) mispredicted heap insertions of the heap path.
 * When the candidate buffer fills, a quickselect keeps the k best and the
 * threshold rises past the k-th of them. Same result as the heap, ties
 * included: (score, index) pairs are distinct, so "better" is a strict
 * total order. */
enum { CAND_CAP = 1024, MAX_GROUPS = 64 };

typedef struct { float s; int32_t i; } cand;

static inline int better(cand a, cand b) { return a.s > b.s || (a.s == b.s && a.i < b.i); }

/* Reorder c[0..n) so that c[0..k) are its k best (in no order), 0 < k <= n. */
static void select_best(cand *c, int n, int k) {
    int lo = 0, hi = n - 1, want = k - 1;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        cand a = c[lo], b = c[mid], d = c[hi], p; /* pivot: median of three */
        if (better(a, b)) p = better(b, d) ? b : (better(a, d) ? d : a);
        else p = better(a, d) ? a : (better(b, d) ? d : b);
        int i = lo, j = hi;
        while (i <= j) {
            while (better(c[i], p)) i++;
            while (better(p, c[j])) j--;
            if (i <= j) {
                cand t = c[i]; c[i] = c[j]; c[j] = t;
                i++;
                j--;
            }
        }
        if (want <= j) hi = j;
        else if (want >= i) lo = i;
        else return;
    }
}

/* Sixteen floats as one GNU C vector (AVX-512: one register; the compiler
 * splits it on narrower targets). Needed here because GCC does not vectorise
 * a float max written in plain C (x > m ? x : m keeps NaN and signed-zero
 * semantics it will not reorder), and these two passes are the whole cost. */
typedef float f32x16 __attribute__((vector_size(64), aligned(4)));
typedef int32_t i32x16 __attribute__((vector_size(64), aligned(4)));

static inline f32x16 load16(const float *p) {
    f32x16 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline int any_lane(i32x16 m) {
    int32_t a = 0;
    for (int l = 0; l < 16; l++) a |= m[l];
    return a != 0;
}

/* min over k groups of blocks (block b in group b mod k; the tail joins
 * group 0) of the group's maximum; -FLT_MAX at least, so that the test
 * s >= bound also rejects -INFINITY (masked) and NaN. Needs n >= 16 k. */
static float group_max_bound(const float *scores, int32_t n, int k) {
    f32x16 acc[MAX_GROUPS];
    int32_t nb = n / 16;
    for (int c = 0; c < k; c++) acc[c] = load16(scores + 16 * c);
    for (int32_t b = k, c = 0; b < nb; b++) {
        f32x16 x = load16(scores + 16 * b);
        i32x16 gt = x > acc[c]; /* NaN never greater: ignored */
        acc[c] = (f32x16)(((i32x16)x & gt) | ((i32x16)acc[c] & ~gt));
        if (++c == k) c = 0;
    }
    float bound = INFINITY;
    for (int c = 0; c < k; c++) {
        float mx = -INFINITY;
        for (int l = 0; l < 16; l++) mx = acc[c][l] > mx ? acc[c][l] : mx;
        if (c == 0)
            for (int32_t j = 16 * nb; j < n; j++) mx = scores[j] > mx ? scores[j] : mx;
        bound = mx < bound ? mx : bound;
    }
    return bound > -FLT_MAX ? bound : -FLT_MAX;
}

/* Append (score, index) of the items of [i, end) that reach thr; returns m. */
static int append_candidates(const float *scores, int32_t i, int32_t end, float thr, cand *buf, int m) {
    for (int32_t j = i; j < end; j++) {
        buf[m] = (cand){scores[j], j};
        m += scores[j] >= thr;
    }
    return m;
}

/* A full buffer: keep its k best and raise *thr just past the k-th of them
 * (every item seen so far that reached the old threshold is in the buffer, and
 * an unseen item that ties the k-th has a higher index, so it ranks below). */
static int keep_best(cand *buf, int m, int k, float *thr) {
    select_best(buf, m, k);
    float worst = buf[0].s;
    for (int q = 1; q < k; q++) worst = buf[q].s < worst ? buf[q].s : worst;
    float next = nextafterf(worst, INFINITY);
    *thr = next > *thr ? next : *thr;
    return k;
}

static int topk_threshold(const float *scores, int32_t n, int k, int32_t *idx, float *val) {
    cand buf[CAND_CAP];
    float thr = group_max_bound(scores, n, k);
    int m = 0;
    int32_t i = 0;
    for (; i + 64 <= n; i += 64) { /* 64 at a time, then the 16-blocks that hold a candidate */
        f32x16 t = {0};
        t += thr;
        i32x16 m0 = load16(scores + i) >= t, m1 = load16(scores + i + 16) >= t,
               m2 = load16(scores + i + 32) >= t, m3 = load16(scores + i + 48) >= t;
        if (!any_lane(m0 | m1 | m2 | m3)) continue;
        if (m + 64 > CAND_CAP) m = keep_best(buf, m, k, &thr);
        if (any_lane(m0)) m = append_candidates(scores, i, i + 16, thr, buf, m);
        if (any_lane(m1)) m = append_candidates(scores, i + 16, i + 32, thr, buf, m);
        if (any_lane(m2)) m = append_candidates(scores, i + 32, i + 48, thr, buf, m);
        if (any_lane(m3)) m = append_candidates(scores, i + 48, i + 64, thr, buf, m);
    }
    if (m + 64 > CAND_CAP) m = keep_best(buf, m, k, &thr);
    m = append_candidates(scores, i, n, thr, buf, m);
    int h = m < k ? m : k;
    if (m > h) select_best(buf, m, h);
    for (int a = 1; a < h; a++) { /* insertion sort of the h winners */
        cand x = buf[a];
        int b = a - 1;
        for (; b >= 0 && better(x, buf[b]); b--) buf[b + 1] = buf[b];
        buf[b + 1] = x;
    }
    for (int a = 0; a < h; a++) {
        idx[a] = buf[a].i;
        val[a] = buf[a].s;
    }
    return h;
}

int pr_topk(const float *scores, int32_t n, int k, int32_t *idx, float *val) {
    if (k <= 0) return 0;
    if (k <= MAX_GROUPS && n >= 16 * k) return topk_threshold(scores, n, k, idx, val);
    return topk_heap(scores, n, k, idx, val);
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

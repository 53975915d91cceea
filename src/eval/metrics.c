/* eval/metrics.c: per-user ranking metrics (definitions in metrics.h). */
#include "metrics.h"

#include "core/err.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const pr_metric_names[PR_M_COUNT] = {"recall", "precision", "ndcg", "hit", "map", "mrr"};

void pr_metrics_init(pr_metrics *m, const int *ks, int n_k) {
    memset(m, 0, sizeof *m);
    m->n_k = n_k > PR_MAX_KS ? PR_MAX_KS : n_k;
    for (int i = 0; i < m->n_k; i++) m->ks[i] = ks[i];
}

static int is_relevant(int32_t item, const int32_t *rel, int64_t n) {
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        int64_t mid = (lo + hi) >> 1;
        if (rel[mid] < item) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && rel[lo] == item;
}

void pr_metrics_add_user(pr_metrics *m, const int32_t *ranked, int n_ranked,
                         const int32_t *relevant, int64_t n_relevant) {
    if (n_relevant <= 0) return;
    m->users++;
    int kmax = m->ks[m->n_k - 1];
    double hits = 0, dcg = 0, ap = 0, rr = 0;
    int ki = 0;
    for (int r = 0; r < kmax; r++) {
        if (r < n_ranked && is_relevant(ranked[r], relevant, n_relevant)) {
            hits += 1;
            dcg += 1.0 / log2((double)r + 2.0);
            ap += hits / (double)(r + 1);
            if (rr == 0) rr = 1.0 / (double)(r + 1);
        }
        while (ki < m->n_k && m->ks[ki] == r + 1) {
            int k = m->ks[ki];
            int64_t ideal = n_relevant < k ? n_relevant : k;
            double idcg = 0;
            for (int64_t j = 0; j < ideal; j++) idcg += 1.0 / log2((double)j + 2.0);
            double *s = m->sum[ki];
            s[PR_M_RECALL] += hits / (double)n_relevant;
            s[PR_M_PRECISION] += hits / (double)k;
            s[PR_M_NDCG] += dcg / idcg;
            s[PR_M_HIT] += hits > 0;
            s[PR_M_MAP] += ap / (double)ideal;
            s[PR_M_MRR] += rr;
            ki++;
        }
    }
}

void pr_metrics_merge(pr_metrics *into, const pr_metrics *from) {
    for (int k = 0; k < into->n_k; k++) {
        for (int j = 0; j < PR_M_COUNT; j++) into->sum[k][j] += from->sum[k][j];
        into->arp_sum[k] += from->arp_sum[k];
    }
    into->auc_sum += from->auc_sum;
    into->auc_users += from->auc_users;
    into->users += from->users;
}

void pr_metrics_finish(pr_metrics *m) {
    double n = m->users > 0 ? (double)m->users : 1.0;
    for (int k = 0; k < m->n_k; k++) {
        for (int j = 0; j < PR_M_COUNT; j++) m->sum[k][j] /= n;
        m->arp_sum[k] /= n;
    }
    m->auc_sum = m->auc_users > 0 ? m->auc_sum / (double)m->auc_users : NAN;
}

double pr_metrics_get(const pr_metrics *m, const char *name) {
    if (strcmp(name, "auc") == 0) return m->auc_sum;
    if (strcmp(name, "users") == 0) return (double)m->users;
    const char *at = strchr(name, '@');
    if (!at) return NAN;
    int k = atoi(at + 1);
    size_t len = (size_t)(at - name);
    for (int ki = 0; ki < m->n_k; ki++) {
        if (m->ks[ki] != k) continue;
        for (int j = 0; j < PR_M_COUNT; j++)
            if (strlen(pr_metric_names[j]) == len && strncmp(name, pr_metric_names[j], len) == 0)
                return m->sum[ki][j];
        if (len == 8 && strncmp(name, "coverage", 8) == 0) return m->coverage[ki];
        if (len == 3 && strncmp(name, "arp", 3) == 0) return m->arp_sum[ki];
    }
    return NAN;
}

static int float_cmp(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* AUC counts, for each unmasked positive p and unmasked negative n, 1 when
 * s(p) > s(n) and 1/2 on a tie. Test lists are short (a handful of items per
 * user), so for up to AUC_SHORT positives each positive makes one branch-free
 * pass over the whole score row counting scores below and equal to it (the
 * compiler vectorises it), and the counts are then corrected for the masked
 * items (-INFINITY, below every finite score) and for the positives
 * themselves. Longer lists sort the positives and make one pass with binary
 * search: O(n_items log |T|). */
#define AUC_SHORT 16

static double auc_short(const float *scores, int32_t n_items, const float *pos, int64_t n_pos,
                        int64_t n_masked) {
    double correct = 0;
    for (int64_t t = 0; t < n_pos; t++) {
        float p = pos[t];
        int64_t below = 0, ties = 0;
        for (int32_t i = 0; i < n_items; i++) {
            below += scores[i] < p;
            ties += scores[i] == p;
        }
        below -= n_masked;
        for (int64_t q = 0; q < n_pos; q++) { /* remove the positives (p itself is one tie) */
            below -= pos[q] < p;
            ties -= pos[q] == p;
        }
        correct += (double)below + 0.5 * (double)ties;
    }
    return correct;
}

double pr_auc_user(const float *scores, int32_t n_items, const int32_t *relevant,
                   int64_t n_relevant) {
    float stack[256], *pos = n_relevant <= 256 ? stack : pr_malloc((size_t)n_relevant, sizeof *pos);
    if (!pos) return NAN;
    int64_t n_pos = 0, n_masked = 0;
    for (int64_t t = 0; t < n_relevant; t++)
        if (scores[relevant[t]] != -INFINITY) pos[n_pos++] = scores[relevant[t]];
    for (int32_t i = 0; i < n_items; i++) n_masked += scores[i] == -INFINITY;
    int64_t n_neg = n_items - n_masked - n_pos;
    double correct = 0;
    if (n_pos > 0 && n_neg > 0 && n_pos <= AUC_SHORT) {
        correct = auc_short(scores, n_items, pos, n_pos, n_masked);
    } else if (n_pos > 0 && n_neg > 0) {
        qsort(pos, (size_t)n_pos, sizeof *pos, float_cmp);
        int64_t r = 0;
        for (int32_t i = 0; i < n_items; i++) {
            if (r < n_relevant && relevant[r] == i) { r++; continue; }
            float s = scores[i];
            if (s == -INFINITY || s > pos[n_pos - 1]) continue; /* masked, or above every positive */
            int64_t lo = 0, hi = n_pos; /* first positive >= s */
            while (lo < hi) { int64_t mid = (lo + hi) >> 1; if (pos[mid] < s) lo = mid + 1; else hi = mid; }
            int64_t gt = lo;
            while (gt < n_pos && pos[gt] == s) gt++;
            correct += (double)(n_pos - gt) + 0.5 * (double)(gt - lo);
        }
    }
    if (pos != stack) free(pos);
    if (n_neg <= 0 || n_pos == 0) return NAN;
    return correct / ((double)n_neg * (double)n_pos);
}

static int int_cmp(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

int pr_parse_ks(const char *s, int *ks, int max) {
    int n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > 1000 || n >= max) return -1;
        ks[n++] = (int)v;
        p = end;
        if (*p == ',') p++;
        else if (*p) return -1;
    }
    if (n == 0) return -1;
    qsort(ks, (size_t)n, sizeof *ks, int_cmp);
    int u = 0;
    for (int i = 0; i < n; i++)
        if (i == 0 || ks[i] != ks[u - 1]) ks[u++] = ks[i];
    return u;
}

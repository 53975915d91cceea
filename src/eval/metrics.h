/* eval/metrics.h: top-K ranking metrics, defined as MMRec/RecBole define them.
 *
 * For one user with relevant set T (|T| >= 1) and a ranked list r_1..r_K of
 * recommended items (training items masked), with hit_k = [r_k in T]:
 *   Recall@K    = sum_k hit_k / |T|
 *   Precision@K = sum_k hit_k / K
 *   Hit@K       = 1 if any hit_k else 0
 *   NDCG@K      = DCG / IDCG, DCG = sum_k hit_k / log2(k + 1),
 *                 IDCG = sum_{k=1..min(|T|,K)} 1 / log2(k + 1)   (binary gain)
 *   MAP@K       = sum_k hit_k * Precision@k / min(|T|, K)
 *   MRR@K       = 1 / (rank of the first hit), 0 without a hit in the top K
 *   AUC         = share of (t in T, n not in T, n unmasked) pairs with s(t) > s(n),
 *                 ties counting one half (over the whole catalogue, not the top K)
 * Each metric is averaged over the users that have at least one relevant item.
 * Catalogue metrics over all evaluated users' lists:
 *   Coverage@K  = distinct items recommended in any top K / n_items
 *   ARP@K       = mean over users of the mean training popularity (interaction
 *                 count) of their top-K items: a popularity-bias measure. */
#ifndef PR_EVAL_METRICS_H
#define PR_EVAL_METRICS_H

#include <stdint.h>

#define PR_MAX_KS 8

enum { PR_M_RECALL, PR_M_PRECISION, PR_M_NDCG, PR_M_HIT, PR_M_MAP, PR_M_MRR, PR_M_COUNT };

/* Sums over users (double), turned into means by pr_metrics_finish. */
typedef struct pr_metrics {
    int n_k;
    int ks[PR_MAX_KS];               /* ascending */
    double sum[PR_MAX_KS][PR_M_COUNT];
    double auc_sum;
    int64_t auc_users;
    double arp_sum[PR_MAX_KS];
    double coverage[PR_MAX_KS];      /* set by the evaluator */
    int64_t users;
    int with_auc;
} pr_metrics;

extern const char *const pr_metric_names[PR_M_COUNT]; /* "recall", "precision", ... */

void pr_metrics_init(pr_metrics *m, const int *ks, int n_k);
/* Add one user: ranked (n_ranked items, best first), relevant sorted ascending. */
void pr_metrics_add_user(pr_metrics *m, const int32_t *ranked, int n_ranked,
                         const int32_t *relevant, int64_t n_relevant);
void pr_metrics_merge(pr_metrics *into, const pr_metrics *from);
/* Divide sums by user counts. */
void pr_metrics_finish(pr_metrics *m);
/* Value of "recall@20", "ndcg@10", "auc", "coverage@20", "arp@20"...; NAN when unknown. */
double pr_metrics_get(const pr_metrics *m, const char *name);
/* AUC of one user from the full score row: relevant sorted ascending; masked
 * items carry -INFINITY and are left out. Returns NAN when there are no negatives. */
double pr_auc_user(const float *scores, int32_t n_items, const int32_t *relevant,
                   int64_t n_relevant);

/* Parse "10,20" into ks (ascending, unique, 1..1000). Returns count or negative. */
int pr_parse_ks(const char *s, int *ks, int max);

#endif

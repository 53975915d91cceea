/* core/topk.h: partial top-K selection over a score row.
 *
 * O(n) for K <= 64 (a lower bound on the K-th score from K group maxima,
 * then a quickselect over the few items above it), a size-K min-heap for
 * larger K: never a full sort.
 * Ties are broken toward the lower index, so results are deterministic and
 * match a stable descending sort (pr_topk_naive, the test reference).
 * Entries whose score is -INFINITY (masked items) are never returned; fewer
 * than K results come back when fewer than K items are unmasked. */
#ifndef PR_CORE_TOPK_H
#define PR_CORE_TOPK_H

#include <stdint.h>

/* Select the k best of scores[0..n). Writes up to k (index, score) pairs in
 * descending score order and returns how many were written. */
int pr_topk(const float *scores, int32_t n, int k, int32_t *idx, float *val);
int pr_topk_naive(const float *scores, int32_t n, int k, int32_t *idx, float *val);

#endif

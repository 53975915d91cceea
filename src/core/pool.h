/* core/pool.h: one persistent thread pool, ggml-style static work splits.
 *
 * pr_pool_run(pool, fn, ctx) calls fn(ctx, ith, nth) once for every ith in
 * [0, nth) and returns when all calls are done; the calling thread runs ith 0.
 * Jobs take a static slice of their work from (ith, nth), so which thread does
 * what depends only on nth: results are reproducible for a fixed thread count.
 * A pool of 1 thread runs everything inline. Not re-entrant: a job must not
 * call pr_pool_run on the same pool. */
#ifndef PR_CORE_POOL_H
#define PR_CORE_POOL_H

#include <stdint.h>

typedef struct pr_pool pr_pool;
typedef void (*pr_pool_fn)(void *ctx, int ith, int nth);

/* n_threads <= 0 means the number of online CPUs. Returns NULL on failure. */
pr_pool *pr_pool_new(int n_threads);
void pr_pool_free(pr_pool *p); /* NULL is a no-op */
int pr_pool_size(const pr_pool *p);
/* p may be NULL: fn then runs inline as (ctx, 0, 1). */
void pr_pool_run(pr_pool *p, pr_pool_fn fn, void *ctx);

/* The [begin, end) slice of n items that thread ith of nth owns. */
static inline void pr_split(int64_t n, int ith, int nth, int64_t *begin, int64_t *end) {
    int64_t per = (n + nth - 1) / nth;
    int64_t b = per * ith, e = b + per;
    *begin = b < n ? b : n;
    *end = e < n ? e : n;
}

int pr_cpu_count(void);

#endif

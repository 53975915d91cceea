/* core/rng.h: small, fast, reproducible random numbers.
 *
 * PCG32 (O'Neill 2014): 64-bit state, a stream selector, 32-bit output. Each
 * thread gets its own stream seeded from (seed, ith), so `--threads 1 --seed S`
 * is bit-identical run to run and threads never share state. */
#ifndef PR_CORE_RNG_H
#define PR_CORE_RNG_H

#include <stdint.h>

typedef struct pr_rng {
    uint64_t state, inc;
} pr_rng;

void pr_rng_init(pr_rng *r, uint64_t seed, uint64_t stream);

static inline uint32_t pr_rng_u32(pr_rng *r) {
    uint64_t old = r->state;
    r->state = old * 6364136223846793005ULL + r->inc;
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
}

/* Uniform integer in [0, n), n >= 1: Lemire's multiply-shift with rejection,
 * unbiased and one multiply in the common case. */
static inline uint32_t pr_rng_below(pr_rng *r, uint32_t n) {
    uint64_t m = (uint64_t)pr_rng_u32(r) * n;
    uint32_t lo = (uint32_t)m;
    if (lo < n) {
        uint32_t t = (uint32_t)(-n) % n;
        while (lo < t) {
            m = (uint64_t)pr_rng_u32(r) * n;
            lo = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

/* Uniform float in [0, 1) with 24 random bits. */
static inline float pr_rng_float(pr_rng *r) {
    return (float)(pr_rng_u32(r) >> 8) * (1.0f / 16777216.0f);
}

/* Uniform double in [0, 1) with 53 random bits. */
static inline double pr_rng_double(pr_rng *r) {
    uint64_t hi = pr_rng_u32(r) >> 5, lo = pr_rng_u32(r) >> 6;
    return (double)(hi * 67108864ULL + lo) * (1.0 / 9007199254740992.0);
}

/* Standard normal by Box-Muller (one of the pair is discarded: simplicity over speed,
 * used only for initialisation). */
float pr_rng_normal(pr_rng *r);

/* x[0..n) = std * N(0, 1), using both values of each Box-Muller pair. */
void pr_rng_normal_fill(pr_rng *r, float *x, int64_t n, float std);

#endif

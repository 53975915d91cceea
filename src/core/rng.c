/* core/rng.c: seeding, normals and shuffles for PCG32 (see rng.h). */
#include "rng.h"

#include <math.h>

void pr_rng_init(pr_rng *r, uint64_t seed, uint64_t stream) {
    r->state = 0;
    r->inc = (stream << 1u) | 1u;
    pr_rng_u32(r);
    r->state += seed;
    pr_rng_u32(r);
}

float pr_rng_normal(pr_rng *r) {
    double u1 = pr_rng_double(r), u2 = pr_rng_double(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

void pr_rng_normal_fill(pr_rng *r, float *x, int64_t n, float std) {
    for (int64_t i = 0; i < n; i += 2) {
        double u1 = pr_rng_double(r), u2 = pr_rng_double(r);
        if (u1 < 1e-300) u1 = 1e-300;
        double rad = sqrt(-2.0 * log(u1)), th = 6.283185307179586 * u2;
        x[i] = (float)(std * rad * cos(th));
        if (i + 1 < n) x[i + 1] = (float)(std * rad * sin(th));
    }
}

/* features/fft.h: a small iterative radix-2 complex FFT for audio frames.
 *
 * X[k] = sum_n x[n] exp(-2 pi i k n / N), unnormalised, in place, N a power
 * of two (2 .. 2^20). A plan holds the bit-reversal permutation and the N/2
 * twiddles, so a transform is N/2 log2 N butterflies with no trig calls and
 * no allocation. A plan is read-only after init: threads may share one.
 * Double precision: audio features take logs of band energies 100+ dB below
 * a frame's peak (synthetic or very clean audio), where a float32 transform's
 * rounding noise (~1e-7 of the peak amplitude) would show. */
#ifndef PR_FEATURES_FFT_H
#define PR_FEATURES_FFT_H

#include <stdint.h>

#include "core/err.h"

typedef struct pr_fft {
    int n, log2n;
    double *wr, *wi; /* (n/2) twiddles exp(-2 pi i k / n) */
    int32_t *rev;   /* (n) bit-reversed index */
} pr_fft;

int pr_fft_init(pr_fft *f, int n, pr_error *err); /* PR_E_ARG unless n is a power of 2 in 2..2^20 */
void pr_fft_deinit(pr_fft *f);                   /* safe on a zeroed or failed plan */
void pr_fft_forward(const pr_fft *f, double *re, double *im); /* re, im (n), in place */

/* Smallest power of two >= n (n >= 1). */
int pr_fft_size_for(int n);

#endif

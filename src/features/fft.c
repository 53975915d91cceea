/* features/fft.c: iterative radix-2 decimation-in-time FFT (see fft.h).
 *
 * Cooley-Tukey 1965: permute the input into bit-reversed order, then log2 N
 * stages; stage s combines pairs of length-(m/2) transforms into length-m
 * ones with the twiddle exp(-2 pi i j / m) = w[j * (N / m)]. */
#include "fft.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int pr_fft_size_for(int n) {
    int p = 1;
    while (p < n && p < (1 << 30)) p <<= 1;
    return p;
}

int pr_fft_init(pr_fft *f, int n, pr_error *err) {
    memset(f, 0, sizeof *f);
    if (n < 2 || n > (1 << 20) || (n & (n - 1)))
        return pr_err(err, PR_E_ARG, "fft: size %d is not a power of two in 2..2^20", n);
    f->n = n;
    while ((1 << f->log2n) < n) f->log2n++;
    f->wr = pr_malloc((size_t)n / 2, sizeof(double));
    f->wi = pr_malloc((size_t)n / 2, sizeof(double));
    f->rev = pr_malloc((size_t)n, sizeof(int32_t));
    if (!f->wr || !f->wi || !f->rev) {
        pr_fft_deinit(f);
        return pr_err(err, PR_E_NOMEM, "fft: size %d", n);
    }
    for (int k = 0; k < n / 2; k++) {
        double a = -2.0 * M_PI * (double)k / (double)n;
        f->wr[k] = cos(a);
        f->wi[k] = sin(a);
    }
    for (int i = 0; i < n; i++) {
        int r = 0;
        for (int b = 0; b < f->log2n; b++) r |= ((i >> b) & 1) << (f->log2n - 1 - b);
        f->rev[i] = r;
    }
    return 0;
}

void pr_fft_deinit(pr_fft *f) {
    free(f->wr);
    free(f->wi);
    free(f->rev);
    memset(f, 0, sizeof *f);
}

void pr_fft_forward(const pr_fft *f, double *re, double *im) {
    int n = f->n;
    for (int i = 0; i < n; i++) {
        int j = f->rev[i];
        if (j > i) {
            double t = re[i]; re[i] = re[j]; re[j] = t;
            t = im[i]; im[i] = im[j]; im[j] = t;
        }
    }
    for (int m = 2; m <= n; m <<= 1) {
        int half = m / 2, stride = n / m;
        for (int k = 0; k < n; k += m)
            for (int j = 0; j < half; j++) {
                double wr = f->wr[j * stride], wi = f->wi[j * stride];
                int a = k + j, b = a + half;
                double tr = wr * re[b] - wi * im[b], ti = wr * im[b] + wi * re[b];
                re[b] = re[a] - tr;
                im[b] = im[a] - ti;
                re[a] += tr;
                im[a] += ti;
            }
    }
}

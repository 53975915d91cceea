/* models/centred.c: mean-centred, per-modality unit-length content vectors
 * (see centred.h). */
#include "models/centred.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void pr_centred_embed(int n_mod, const int *dims, const float *w, const float *mean, const float *const *x,
                      float *c) {
    int off = 0;
    for (int m = 0; m < n_mod; m++) {
        double nrm = 0;
        for (int k = 0; k < dims[m]; k++) {
            c[off + k] = x[m] ? x[m][k] - mean[off + k] : 0.0f;
            nrm += (double)c[off + k] * c[off + k];
        }
        float s = nrm > 0 ? w[m] / (float)sqrt(nrm) : 0.0f;
        for (int k = 0; k < dims[m]; k++) c[off + k] *= s;
        off += dims[m];
    }
}

int pr_centred_means(const pr_features *f, const uint8_t *warm, float *mean, pr_error *err) {
    int off = 0;
    for (int mo = 0; mo < f->n_mod; mo++) {
        const pr_modality *md = &f->mod[mo];
        double *acc = pr_calloc((size_t)md->dim, sizeof *acc);
        if (!acc) return pr_err(err, PR_E_NOMEM, "content means: %d dims", md->dim);
        int64_t cnt = 0;
        for (int32_t i = 0; i < md->n_items; i++) {
            if (!warm[i] || (md->missing && md->missing[i])) continue;
            for (int k = 0; k < md->dim; k++) acc[k] += md->X[(int64_t)i * md->dim + k];
            cnt++;
        }
        for (int k = 0; k < md->dim; k++) mean[off + k] = cnt ? (float)(acc[k] / (double)cnt) : 0.0f;
        free(acc);
        off += md->dim;
    }
    return 0;
}

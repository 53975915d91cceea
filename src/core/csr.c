/* core/csr.c: CSR construction by counting sort, transpose and lookup. */
#include "csr.h"

#include <stdlib.h>
#include <string.h>

pr_csr *pr_csr_new(int32_t n_rows, int32_t n_cols, int64_t nnz, int with_val) {
    pr_csr *m = pr_calloc(1, sizeof *m);
    if (!m) return NULL;
    m->n_rows = n_rows;
    m->n_cols = n_cols;
    m->nnz = nnz;
    m->indptr = pr_calloc((size_t)n_rows + 1, sizeof *m->indptr);
    m->indices = pr_malloc((size_t)nnz, sizeof *m->indices);
    m->val = with_val ? pr_malloc((size_t)nnz, sizeof *m->val) : NULL;
    if (!m->indptr || !m->indices || (with_val && !m->val)) {
        pr_csr_free(m);
        return NULL;
    }
    return m;
}

void pr_csr_free(pr_csr *m) {
    if (!m) return;
    free(m->indptr);
    free(m->indices);
    free(m->val);
    free(m);
}

typedef struct { int32_t c; float v; } entry;

static int entry_cmp(const void *a, const void *b) {
    int32_t x = ((const entry *)a)->c, y = ((const entry *)b)->c;
    return (x > y) - (x < y);
}

int pr_csr_from_coo(int32_t n_rows, int32_t n_cols, int64_t nnz, const int32_t *rows,
                    const int32_t *cols, const float *val, pr_csr **out, pr_error *err) {
    int64_t *ptr = pr_calloc((size_t)n_rows + 1, sizeof *ptr);
    entry *e = pr_malloc((size_t)nnz, sizeof *e);
    pr_csr *m = NULL;
    int rc = 0;
    if (!ptr || !e) { rc = pr_err(err, PR_E_NOMEM, "csr: %lld entries", (long long)nnz); goto done; }
    for (int64_t k = 0; k < nnz; k++) {
        if (rows[k] < 0 || rows[k] >= n_rows || cols[k] < 0 || cols[k] >= n_cols) {
            rc = pr_err(err, PR_E_RANGE, "csr: entry %lld (%d,%d) outside %dx%d", (long long)k,
                        rows[k], cols[k], n_rows, n_cols);
            goto done;
        }
        ptr[rows[k] + 1]++;
    }
    for (int32_t r = 0; r < n_rows; r++) ptr[r + 1] += ptr[r];
    {
        int64_t *fill = pr_malloc((size_t)n_rows, sizeof *fill);
        if (!fill) { rc = pr_err(err, PR_E_NOMEM, "csr"); goto done; }
        memcpy(fill, ptr, (size_t)n_rows * sizeof *fill);
        for (int64_t k = 0; k < nnz; k++) e[fill[rows[k]]++] = (entry){cols[k], val ? val[k] : 1.0f};
        free(fill);
    }
    /* sort each row, merge duplicates, count the unique entries */
    int64_t uniq = 0;
    for (int32_t r = 0; r < n_rows; r++) {
        entry *row = e + ptr[r];
        int64_t len = ptr[r + 1] - ptr[r];
        qsort(row, (size_t)len, sizeof *row, entry_cmp);
        for (int64_t k = 0; k < len; k++)
            if (k == 0 || row[k].c != row[k - 1].c) uniq++;
    }
    if (!(m = pr_csr_new(n_rows, n_cols, uniq, val != NULL))) { rc = pr_err(err, PR_E_NOMEM, "csr"); goto done; }
    int64_t w = 0;
    for (int32_t r = 0; r < n_rows; r++) {
        m->indptr[r] = w;
        for (int64_t k = ptr[r]; k < ptr[r + 1]; k++) {
            if (k > ptr[r] && e[k].c == e[k - 1].c) {
                if (m->val) m->val[w - 1] += e[k].v;
                continue;
            }
            m->indices[w] = e[k].c;
            if (m->val) m->val[w] = e[k].v;
            w++;
        }
    }
    m->indptr[n_rows] = w;
    *out = m;
    m = NULL;
done:
    free(ptr);
    free(e);
    pr_csr_free(m);
    return rc;
}

int pr_csr_transpose(const pr_csr *m, pr_csr **out, pr_error *err) {
    pr_csr *t = pr_csr_new(m->n_cols, m->n_rows, m->nnz, m->val != NULL);
    int64_t *fill = pr_malloc((size_t)m->n_cols + 1, sizeof *fill);
    if (!t || !fill) {
        pr_csr_free(t);
        free(fill);
        return pr_err(err, PR_E_NOMEM, "csr transpose");
    }
    for (int64_t k = 0; k < m->nnz; k++) t->indptr[m->indices[k] + 1]++;
    for (int32_t c = 0; c < m->n_cols; c++) t->indptr[c + 1] += t->indptr[c];
    memcpy(fill, t->indptr, ((size_t)m->n_cols + 1) * sizeof *fill);
    /* rows visited in order, so each transposed row comes out sorted */
    for (int32_t r = 0; r < m->n_rows; r++)
        for (int64_t k = m->indptr[r]; k < m->indptr[r + 1]; k++) {
            int64_t dst = fill[m->indices[k]]++;
            t->indices[dst] = r;
            if (t->val) t->val[dst] = m->val[k];
        }
    free(fill);
    *out = t;
    return 0;
}

int pr_csr_has(const pr_csr *m, int32_t r, int32_t c) {
    return pr_sorted_has(m->indices + m->indptr[r], m->indptr[r + 1] - m->indptr[r], c);
}

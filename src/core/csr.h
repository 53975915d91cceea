/* core/csr.h: compressed sparse rows, the shape of every interaction matrix.
 *
 * Row r's column indices are indices[indptr[r] .. indptr[r+1]), sorted
 * ascending and unique; `val` is optional (NULL means all ones). Rows are
 * users and columns items unless stated otherwise. */
#ifndef PR_CORE_CSR_H
#define PR_CORE_CSR_H

#include <stdint.h>

#include "err.h"

typedef struct pr_csr {
    int32_t n_rows, n_cols;
    int64_t nnz;
    int64_t *indptr;  /* (n_rows + 1) */
    int32_t *indices; /* (nnz) */
    float *val;       /* (nnz) or NULL */
} pr_csr;

/* Build from coordinate lists (any order, duplicates merged by summing val).
 * rows/cols/val are borrowed; val may be NULL. *out is owned by the caller. */
int pr_csr_from_coo(int32_t n_rows, int32_t n_cols, int64_t nnz, const int32_t *rows,
                    const int32_t *cols, const float *val, pr_csr **out, pr_error *err);
pr_csr *pr_csr_new(int32_t n_rows, int32_t n_cols, int64_t nnz, int with_val);
void pr_csr_free(pr_csr *m);
int pr_csr_transpose(const pr_csr *m, pr_csr **out, pr_error *err);
/* 1 if (r, c) is stored (binary search over the sorted row). */
/* Is c among the sorted pos[0..n)? Rows are short (a few to a few hundred
 * entries): a branch-free scan up to 32 entries, a binary search beyond.
 * Inline: the negative sampler calls it once per draw. */
static inline int pr_sorted_has(const int32_t *pos, int64_t n, int32_t c) {
    if (n <= 32) {
        int hit = 0;
        for (int64_t q = 0; q < n; q++) hit |= pos[q] == c;
        return hit;
    }
    int64_t a = 0, b = n;
    while (a < b) {
        int64_t mid = (a + b) >> 1;
        if (pos[mid] < c) a = mid + 1;
        else b = mid;
    }
    return a < n && pos[a] == c;
}
int pr_csr_has(const pr_csr *m, int32_t r, int32_t c);
static inline int64_t pr_csr_row_len(const pr_csr *m, int32_t r) {
    return m->indptr[r + 1] - m->indptr[r];
}

#endif

/* bench/compact_roundtrip.c: store a feature matrix as f32 / f16 / int8 and
 * write back what a model would read, so bench/compact.sh can measure the
 * Recall@20 that compact storage costs next to the memory it saves.
 * usage: compact_roundtrip IN.npy KIND OUT.npy   (prints bytes per item) */
#include <stdio.h>
#include <stdlib.h>

#include "core/npy.h"
#include "features/preproc.h"

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s IN.npy f32|f16|int8 OUT.npy\n", argv[0]);
        return 2;
    }
    pr_error err;
    float *X = NULL;
    int64_t n, d;
    int kind = pr_compact_kind(argv[2]);
    if (kind < 0 || pr_npy_read(argv[1], &X, &n, &d, &err)) {
        fprintf(stderr, "%s\n", kind < 0 ? "bad kind" : err.msg);
        return 1;
    }
    pr_compact c;
    if (pr_compact_encode(X, n, (int)d, kind, &c, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    pr_compact_decode(&c, X);
    if (pr_npy_write(argv[3], X, n, d, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    printf("%zu\n", pr_compact_bytes_per_item(kind, (int)d));
    pr_compact_free(&c);
    free(X);
    return 0;
}

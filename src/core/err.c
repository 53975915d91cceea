/* core/err.c: error records and checked allocation (see err.h). */
#include "err.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pr_err(pr_error *err, int code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

int pr_err_wrap(pr_error *err, const char *fmt, ...) {
    if (!err) return PR_E_STATE;
    char prefix[256], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    size_t n = strlen(prefix);
    if (n >= sizeof err->msg) n = sizeof err->msg - 1;
    memcpy(err->msg, prefix, n);
    snprintf(err->msg + n, sizeof err->msg - n, "%.*s", (int)(sizeof err->msg - n - 1), old);
    return err->code;
}

const char *pr_err_name(int code) {
    switch (code) {
    case PR_OK: return "ok";
    case PR_E_IO: return "i/o error";
    case PR_E_NOMEM: return "out of memory";
    case PR_E_PARSE: return "parse error";
    case PR_E_ARG: return "bad argument";
    case PR_E_FORMAT: return "bad format";
    case PR_E_RANGE: return "out of range";
    case PR_E_NOTFOUND: return "not found";
    case PR_E_NUMERIC: return "numeric error";
    case PR_E_STATE: return "invalid state";
    default: return "error";
    }
}

void *pr_malloc(size_t n, size_t size) {
    if (size && n > SIZE_MAX / size) return NULL;
    size_t bytes = n * size;
    return malloc(bytes ? bytes : 1);
}

void *pr_calloc(size_t n, size_t size) {
    return calloc(n ? n : 1, size ? size : 1);
}

void *pr_realloc(void *p, size_t n, size_t size) {
    if (size && n > SIZE_MAX / size) return NULL;
    size_t bytes = n * size;
    return realloc(p, bytes ? bytes : 1);
}

void *pr_alloc_aligned(size_t n, size_t size) {
    if (size && n > SIZE_MAX / size - 64) return NULL;
    size_t bytes = (n * size + 63) & ~(size_t)63;
    return aligned_alloc(64, bytes ? bytes : 64);
}

void pr_free_aligned(void *p) { free(p); }

char *pr_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

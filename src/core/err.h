/* core/err.h: the one error convention of polyrec.
 *
 * Every fallible function returns 0 on success or a negative PR_E_* code, and
 * fills a caller-owned pr_error with a message that names the file, line and
 * field when it is about input ("ml.csv:1042: field 'rating': not a number").
 * Only cli/main.c prints errors and exits; library code never calls exit(). */
#ifndef PR_CORE_ERR_H
#define PR_CORE_ERR_H

#include <stddef.h>

enum {
    PR_OK = 0,
    PR_E_IO = -1,       /* open/read/write/rename failed                 */
    PR_E_NOMEM = -2,    /* allocation failed                              */
    PR_E_PARSE = -3,    /* malformed input: names file, line and field    */
    PR_E_ARG = -4,      /* bad argument or option value                   */
    PR_E_FORMAT = -5,   /* wrong magic, version, checksum or shape        */
    PR_E_RANGE = -6,    /* value or size beyond a stated limit            */
    PR_E_NOTFOUND = -7, /* unknown id, model name or key                  */
    PR_E_NUMERIC = -8,  /* NaN or Inf where a finite number is required   */
    PR_E_STATE = -9,    /* operation not valid in the object's state      */
};

typedef struct pr_error {
    int code;
    char msg[1024];
} pr_error;

/* Fill err (which may be NULL) and return code, so callers can write
 * `return pr_err(err, PR_E_IO, "%s: %s", path, strerror(errno));`. */
int pr_err(pr_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix an existing message with context ("model.bin: "), keeping the code. */
int pr_err_wrap(pr_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

const char *pr_err_name(int code);

/* Allocation helpers that never return NULL silently: they return NULL and
 * the caller maps it to PR_E_NOMEM. Overflow in n*size is checked. */
void *pr_malloc(size_t n, size_t size);
void *pr_calloc(size_t n, size_t size);
void *pr_realloc(void *p, size_t n, size_t size);
/* 64-byte aligned allocation for BLAS-facing matrices; free with pr_free_aligned. */
void *pr_alloc_aligned(size_t n, size_t size);
void pr_free_aligned(void *p);
char *pr_strdup(const char *s);

#define PR_MIN(a, b) ((a) < (b) ? (a) : (b))
#define PR_MAX(a, b) ((a) > (b) ? (a) : (b))

#endif

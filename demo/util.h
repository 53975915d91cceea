/* demo/util.h: small helpers shared by the demo programs (shopgen, shopeval,
 * report): flag parsing, key=value files, TSV tables, and reading numbers and
 * strings out of the CLI's JSON output.
 *
 * Header-only because the Makefile builds each demo/NAME.c into its own program
 * linked with the library and nothing else. Everything returns 0 or a
 * negative PR_E_* code with err filled, like the library; only main() of a
 * demo program prints and exits. The JSON helpers are not a JSON parser: they
 * find `"key": value` in output that polyrec itself wrote (flat objects, no
 * escaped quotes in the keys looked up), which is all the demo needs. */
#ifndef PR_DEMO_UTIL_H
#define PR_DEMO_UTIL_H

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/err.h"
#include "core/fileio.h"

/* ---- flags --------------------------------------------------------------- */

/* Flags are "--name value" pairs (or a bare "--name" for booleans listed in
 * `bools`). Every flag must appear in `known` (NULL-terminated); returns
 * PR_E_ARG naming the first unknown or value-less flag. */
static inline int dm_args_check(int argc, char **argv, const char *const *known,
                                const char *const *bools, pr_error *err) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) return pr_err(err, PR_E_ARG, "unexpected argument '%s'", a);
        int ok = 0, is_bool = 0;
        for (int k = 0; known[k]; k++) ok |= !strcmp(a + 2, known[k]);
        for (int k = 0; bools && bools[k]; k++) is_bool |= !strcmp(a + 2, bools[k]);
        if (!ok && !is_bool) return pr_err(err, PR_E_ARG, "unknown flag '%s'", a);
        if (is_bool) continue;
        if (i + 1 >= argc) return pr_err(err, PR_E_ARG, "%s needs a value", a);
        i++;
    }
    return 0;
}

/* Value of "--name" (the last one given), or dflt. */
static inline const char *dm_arg(int argc, char **argv, const char *name, const char *dflt) {
    const char *v = dflt;
    for (int i = 1; i + 1 < argc; i++)
        if (!strncmp(argv[i], "--", 2) && !strcmp(argv[i] + 2, name)) v = argv[++i];
    return v;
}

static inline int dm_flag(int argc, char **argv, const char *name) {
    for (int i = 1; i < argc; i++)
        if (!strncmp(argv[i], "--", 2) && !strcmp(argv[i] + 2, name)) return 1;
    return 0;
}

/* Integer flag in [lo, hi]. */
static inline int dm_arg_int(int argc, char **argv, const char *name, long dflt, long lo, long hi,
                             long *out, pr_error *err) {
    const char *s = dm_arg(argc, argv, name, NULL);
    if (!s) {
        *out = dflt;
        return 0;
    }
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi)
        return pr_err(err, PR_E_ARG, "--%s: '%s' is not an integer in [%ld, %ld]", name, s, lo, hi);
    *out = v;
    return 0;
}

/* ---- files ----------------------------------------------------------------- */

/* mkdir -p. */
static inline int dm_mkdirs(const char *path, pr_error *err) {
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return pr_err(err, PR_E_RANGE, "%s: path too long", path);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return pr_err(err, PR_E_IO, "%s: %s", buf, strerror(errno));
            *p = c;
            if (!c) break;
        }
    }
    return 0;
}

static inline int dm_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* Value of `key` in "key=value" lines (text), copied into buf; NULL when absent. */
static inline const char *dm_kv(const char *text, const char *key, char *buf, size_t n) {
    size_t kl = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, key, kl) != 0 || p[kl] != '=') continue;
        const char *v = p + kl + 1, *e = strchr(v, '\n');
        size_t len = e ? (size_t)(e - v) : strlen(v);
        if (len >= n) len = n - 1;
        memcpy(buf, v, len);
        buf[len] = '\0';
        return buf;
    }
    return NULL;
}

/* ---- TSV tables ------------------------------------------------------------ */

/* A tab-separated file with a header line, read whole. Cells point into one
 * owned buffer; no quoting (the demo writes these files itself). */
typedef struct dm_table {
    char *text;       /* owned file contents, cut into cells in place */
    int n_cols;
    int64_t n_rows;   /* data rows, header excluded */
    char **head;      /* (n_cols) */
    char **cell;      /* (n_rows, n_cols) */
} dm_table;

static inline void dm_table_free(dm_table *t) {
    if (!t) return;
    free(t->text);
    free(t->head);
    free(t->cell);
    memset(t, 0, sizeof *t);
}

/* Errors name the file and line: a row with the wrong number of fields. */
static inline int dm_table_read(const char *path, dm_table *t, pr_error *err) {
    memset(t, 0, sizeof *t);
    size_t size;
    int rc = pr_read_file(path, &t->text, &size, err);
    if (rc) return rc;
    int64_t lines = 0;
    for (size_t k = 0; k < size; k++) lines += t->text[k] == '\n';
    char *p = t->text;
    int64_t line = 0, row = -1;
    while (*p) {
        char *e = strchr(p, '\n');
        if (e) *e = '\0';
        size_t len = strlen(p);
        if (len && p[len - 1] == '\r') p[--len] = '\0';
        line++;
        if (len) {
            int nf = 1;
            for (char *q = p; *q; q++) nf += *q == '\t';
            if (row < 0) {
                t->n_cols = nf;
                t->head = pr_malloc((size_t)nf, sizeof *t->head);
                t->cell = pr_malloc((size_t)(lines + 1) * nf, sizeof *t->cell);
                if (!t->head || !t->cell) {
                    dm_table_free(t);
                    return pr_err(err, PR_E_NOMEM, "%s", path);
                }
            } else if (nf != t->n_cols) {
                int n_cols = t->n_cols;
                dm_table_free(t);
                return pr_err(err, PR_E_PARSE, "%s:%lld: %d fields, the header has %d", path,
                              (long long)line, nf, n_cols);
            }
            char **dst = row < 0 ? t->head : t->cell + row * t->n_cols;
            for (int f = 0; f < nf; f++) {
                dst[f] = p;
                char *tab = strchr(p, '\t');
                if (tab) {
                    *tab = '\0';
                    p = tab + 1;
                }
            }
            row++;
        }
        if (!e) break;
        p = e + 1;
    }
    if (row < 0) {
        dm_table_free(t);
        return pr_err(err, PR_E_PARSE, "%s: empty file", path);
    }
    t->n_rows = row;
    return 0;
}

/* Column index by header name, or -1. */
static inline int dm_table_col(const dm_table *t, const char *name) {
    for (int c = 0; c < t->n_cols; c++)
        if (!strcmp(t->head[c], name)) return c;
    return -1;
}

static inline const char *dm_cell(const dm_table *t, int64_t r, int c) {
    return c < 0 ? "" : t->cell[r * t->n_cols + c];
}

/* ---- JSON written by polyrec ------------------------------------------------ */

/* Number after `"key": ` at or after `from`; NAN when absent or null. */
static inline double dm_json_num(const char *from, const char *key) {
    char pat[96];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *p = from ? strstr(from, pat) : NULL;
    if (!p) return NAN;
    p += strlen(pat);
    char *end;
    double v = strtod(p, &end);
    return end == p ? NAN : v;
}

/* String after `"key": "` at or after `from`, copied into buf (the escapes
 * \" and \\ undone); returns a pointer just past it in `from`, or NULL. */
static inline const char *dm_json_str(const char *from, const char *key, char *buf, size_t n) {
    char pat[96];
    snprintf(pat, sizeof pat, "\"%s\": \"", key);
    const char *p = from ? strstr(from, pat) : NULL;
    if (!p || n == 0) return NULL;
    p += strlen(pat);
    size_t k = 0;
    for (; *p && *p != '"'; p++) {
        if (*p == '\\' && p[1]) p++;
        if (k + 1 < n) buf[k++] = *p;
    }
    buf[k] = '\0';
    return *p ? p + 1 : NULL;
}

#endif

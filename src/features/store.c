/* features/store.c: the feature store and its file formats (see store.h).
 *
 * Alignment is the whole job: a file names items (by row number or by id),
 * the dataset numbers items densely; each loader builds the (n_items, dim)
 * matrix in dense order, flags items that got no vector, and counts vectors
 * for items the dataset does not know. Costs: one pass over the file, one
 * hash lookup per row. */
#include "store.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/fileio.h"
#include "core/log.h"
#include "core/npy.h"

/* ------------------------------------------------------------------ */
/* the store                                                            */

pr_features *pr_features_new(void) { return pr_calloc(1, sizeof(pr_features)); }

void pr_features_free(pr_features *f) {
    if (!f) return;
    for (int i = 0; i < f->n_mod; i++) {
        free(f->mod[i].X);
        free(f->mod[i].missing);
    }
    free(f);
}

const pr_modality *pr_features_get(const pr_features *f, const char *name) {
    for (int i = 0; f && i < f->n_mod; i++)
        if (strcmp(f->mod[i].name, name) == 0) return &f->mod[i];
    return NULL;
}

int pr_features_add(pr_features *f, const char *name, int32_t n_items, int dim, float *X,
                    uint8_t *missing, pr_error *err) {
    int rc = 0;
    if (!name || !*name || strlen(name) >= sizeof f->mod[0].name)
        rc = pr_err(err, PR_E_ARG, "features: modality name '%s' is empty or longer than %zu bytes",
                    name ? name : "", sizeof f->mod[0].name - 1);
    else if (pr_features_get(f, name))
        rc = pr_err(err, PR_E_ARG, "features: modality '%s' already loaded", name);
    else if (f->n_mod >= PR_MAX_MODALITIES)
        rc = pr_err(err, PR_E_ARG, "features: more than %d modalities", PR_MAX_MODALITIES);
    else if (n_items < 0 || dim < 1 || !X)
        rc = pr_err(err, PR_E_ARG, "features: modality '%s': bad shape (%d, %d)", name, n_items, dim);
    else if (!missing && !(missing = pr_calloc((size_t)n_items, 1)))
        rc = pr_err(err, PR_E_NOMEM, "features: modality '%s'", name);
    for (int64_t i = 0; rc == 0 && i < n_items; i++) {
        float *x = X + i * dim;
        if (missing[i]) {
            memset(x, 0, sizeof *x * (size_t)dim);
            continue;
        }
        for (int j = 0; j < dim; j++)
            if (!isfinite(x[j])) {
                rc = pr_err(err, PR_E_NUMERIC, "features: modality '%s': item %lld value %d is not finite",
                            name, (long long)i, j);
                break;
            }
    }
    if (rc) {
        free(X);
        free(missing);
        return rc;
    }
    pr_modality *m = &f->mod[f->n_mod++];
    snprintf(m->name, sizeof m->name, "%s", name);
    m->n_items = n_items;
    m->dim = dim;
    m->X = X;
    m->missing = missing;
    return 0;
}

/* ------------------------------------------------------------------ */
/* .npy                                                                 */

int pr_features_load_npy(pr_features *f, const char *name, const char *path,
                         const pr_idmap *items, pr_features_report *rep, pr_error *err) {
    float *A = NULL, *X = NULL;
    uint8_t *miss = NULL;
    int64_t rows = 0, cols = 0;
    pr_features_report r = {0, 0, 0};
    int rc = pr_npy_read(path, &A, &rows, &cols, err);
    if (rc) return rc;
    if (cols < 1 || cols > (1 << 24) || rows > PR_ID_MAX_COUNT) {
        rc = pr_err(err, PR_E_FORMAT, "%s: shape (%lld, %lld) is not a feature matrix", path,
                    (long long)rows, (long long)cols);
        goto done;
    }
    for (int64_t i = 0; i < rows * cols; i++)
        if (!isfinite(A[i])) {
            rc = pr_err(err, PR_E_NUMERIC, "%s: row %lld column %lld is not finite", path,
                        (long long)(i / cols), (long long)(i % cols));
            goto done;
        }
    r.rows = rows;
    if (!items) { /* taken as is */
        rc = pr_features_add(f, name, (int32_t)rows, (int)cols, A, NULL, err);
        A = NULL;
        goto done;
    }
    int32_t n = items->n;
    X = pr_calloc((size_t)n * (size_t)cols, sizeof *X);
    miss = pr_malloc((size_t)(n ? n : 1), 1);
    if (!X || !miss) { rc = pr_err(err, PR_E_NOMEM, "%s", path); goto done; }
    memset(miss, 1, (size_t)n);
    for (int64_t row = 0; row < rows; row++) {
        char id[24];
        int len = snprintf(id, sizeof id, "%lld", (long long)row);
        int32_t it = pr_idmap_find(items, id, (size_t)len);
        if (it < 0) {
            r.ignored++;
            continue;
        }
        memcpy(X + (int64_t)it * cols, A + row * cols, sizeof *X * (size_t)cols);
        miss[it] = 0;
    }
    for (int32_t i = 0; i < n; i++) r.missing += miss[i];
    rc = pr_features_add(f, name, n, (int)cols, X, miss, err);
    X = NULL;
    miss = NULL;
done:
    if (rc == 0 && rep) *rep = r;
    free(A);
    free(X);
    free(miss);
    return rc;
}

/* ------------------------------------------------------------------ */
/* delimited text                                                       */

typedef struct {
    const char *path;
    int64_t line;
    int dim;              /* -1 until the first data line */
    float *vals;          /* (cap) parsed values of the current line */
    int cap;
} text_state;

static int is_header_id(const char *s, size_t n) {
    static const char *names[] = {"item", "id", "item_id", "itemid", "item id"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i]) == n && strncasecmp(s, names[i], n) == 0) return 1;
    return 0;
}

/* Parse "v1,v2,..." (commas, tabs or spaces) into st->vals; returns count or < 0. */
static int parse_values(text_state *st, char *p, pr_error *err) {
    int n = 0;
    for (;;) {
        while (*p == ' ') p++;
        char *end;
        errno = 0;
        float v = strtof(p, &end);
        if (end == p) {
            char shown[24];
            size_t k = strcspn(p, ",\t ");
            snprintf(shown, sizeof shown, "%.*s", (int)PR_MIN(k, (size_t)20), p);
            return pr_err(err, PR_E_PARSE, "%s:%lld: value %d: not a number ('%s')", st->path,
                          (long long)st->line, n + 1, shown);
        }
        if (!isfinite(v))
            return pr_err(err, PR_E_NUMERIC, "%s:%lld: value %d is not finite", st->path,
                          (long long)st->line, n + 1);
        if (n == st->cap) {
            int cap = st->cap ? 2 * st->cap : 256;
            float *nv = pr_realloc(st->vals, (size_t)cap, sizeof *nv);
            if (!nv) return pr_err(err, PR_E_NOMEM, "%s", st->path);
            st->vals = nv;
            st->cap = cap;
        }
        st->vals[n++] = v;
        p = end;
        const char *after = p;
        while (*p == ' ') p++;
        if (*p == '\0') return n;
        if (*p == ',' || *p == '\t') p++;
        else if (p == after) /* no separator at all, e.g. "1.5x" */
            return pr_err(err, PR_E_PARSE, "%s:%lld: after value %d: unexpected '%c'", st->path,
                          (long long)st->line, n, *p);
    }
}

int pr_features_load_text(pr_features *f, const char *name, const char *path,
                          const pr_idmap *items, pr_features_report *rep, pr_error *err) {
    if (!items) return pr_err(err, PR_E_ARG, "%s: delimited features need an item id map", path);
    FILE *fp = fopen(path, "rb");
    if (!fp) return pr_err(err, PR_E_IO, "%s: %s", path, strerror(errno));
    text_state st = {path, 0, -1, NULL, 0};
    pr_features_report r = {0, 0, 0};
    int32_t n = items->n;
    float *X = NULL;
    uint8_t *miss = pr_malloc((size_t)(n ? n : 1), 1);
    int64_t *first = pr_calloc((size_t)(n ? n : 1), sizeof *first); /* line of each item */
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    int rc = 0;
    if (!miss || !first) { rc = pr_err(err, PR_E_NOMEM, "%s", path); goto done; }
    memset(miss, 1, (size_t)n);
    while ((len = getline(&line, &lcap, fp)) >= 0) {
        st.line++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        char *s = line;
        if (st.line == 1 && (unsigned char)s[0] == 0xef && (unsigned char)s[1] == 0xbb && (unsigned char)s[2] == 0xbf) s += 3;
        if (*s == '\0' || *s == '#') continue;
        size_t idlen = strcspn(s, "\t,");
        if (s[idlen] == '\0') { rc = pr_err(err, PR_E_PARSE, "%s:%lld: expected ITEM_ID<TAB or ,>VALUES", path, (long long)st.line); goto done; }
        if (idlen == 0) { rc = pr_err(err, PR_E_PARSE, "%s:%lld: empty item id", path, (long long)st.line); goto done; }
        int cnt = parse_values(&st, s + idlen + 1, err);
        if (cnt < 0 && st.dim < 0 && r.rows == 0 && is_header_id(s, idlen)) continue; /* header */
        if (cnt < 0) { rc = cnt; goto done; }
        if (st.dim < 0) {
            st.dim = cnt;
            if (!(X = pr_calloc((size_t)n * (size_t)cnt, sizeof *X))) { rc = pr_err(err, PR_E_NOMEM, "%s", path); goto done; }
        } else if (cnt != st.dim) {
            rc = pr_err(err, PR_E_PARSE, "%s:%lld: %d values, expected %d (as on the first row)", path, (long long)st.line, cnt, st.dim);
            goto done;
        }
        r.rows++;
        int32_t it = pr_idmap_find(items, s, idlen);
        if (it < 0) {
            r.ignored++;
            continue;
        }
        if (first[it]) {
            rc = pr_err(err, PR_E_PARSE, "%s:%lld: item '%.*s' repeated (first on line %lld)", path, (long long)st.line, (int)idlen, s, (long long)first[it]);
            goto done;
        }
        first[it] = st.line;
        memcpy(X + (int64_t)it * st.dim, st.vals, sizeof *X * (size_t)st.dim);
        miss[it] = 0;
    }
    if (ferror(fp)) { rc = pr_err(err, PR_E_IO, "%s: read failed", path); goto done; }
    if (st.dim < 0) { rc = pr_err(err, PR_E_PARSE, "%s: no feature rows", path); goto done; }
    for (int32_t i = 0; i < n; i++) r.missing += miss[i];
    rc = pr_features_add(f, name, n, st.dim, X, miss, err);
    X = NULL;
    miss = NULL;
    if (rc == 0 && rep) *rep = r;
done:
    fclose(fp);
    free(line);
    free(st.vals);
    free(X);
    free(miss);
    free(first);
    return rc;
}

static int has_ext(const char *path, const char *ext) {
    size_t n = strlen(path), e = strlen(ext);
    return n >= e && strcasecmp(path + n - e, ext) == 0;
}

int pr_features_load(pr_features *f, const char *name, const char *path, const pr_idmap *items,
                     pr_error *err) {
    pr_features_report r = {0, 0, 0};
    int rc = has_ext(path, ".npy") ? pr_features_load_npy(f, name, path, items, &r, err)
                                   : pr_features_load_text(f, name, path, items, &r, err);
    if (rc) return rc;
    const pr_modality *m = pr_features_get(f, name);
    pr_log("features '%s' from %s: %lld rows, dim %d; %lld rows for unknown items ignored, "
           "%d of %d items missing",
           name, path, (long long)r.rows, m->dim, (long long)r.ignored, r.missing, m->n_items);
    return 0;
}

/* ------------------------------------------------------------------ */
/* writing                                                              */

/* A canonical non-negative decimal ("0", "17"; not "017", "+1", "1e3"). */
static int64_t decimal_id(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 10 || (n > 1 && s[0] == '0')) return -1;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v <= PR_ID_MAX_COUNT ? v : -1;
}

int pr_features_save_npy(const pr_features *f, const char *name, const char *path,
                         const pr_idmap *items, pr_error *err) {
    const pr_modality *m = pr_features_get(f, name);
    if (!m) return pr_err(err, PR_E_NOTFOUND, "%s: no modality '%s'", path, name);
    if (!items) return pr_npy_write(path, m->X, m->n_items, m->dim, err);
    if (items->n != m->n_items)
        return pr_err(err, PR_E_ARG, "%s: modality '%s' has %d items, the id map %d", path, name,
                      m->n_items, items->n);
    int64_t rows = 0;
    for (int32_t i = 0; i < items->n; i++) {
        int64_t r = decimal_id(pr_idmap_name(items, i));
        if (r < 0)
            return pr_err(err, PR_E_ARG, "%s: item id '%s' is not a decimal row number; save as text",
                          path, pr_idmap_name(items, i));
        rows = PR_MAX(rows, r + 1);
    }
    float *Y = pr_calloc((size_t)rows * (size_t)m->dim, sizeof *Y);
    if (!Y) return pr_err(err, PR_E_NOMEM, "%s", path);
    for (int32_t i = 0; i < items->n; i++)
        if (!m->missing[i])
            memcpy(Y + decimal_id(pr_idmap_name(items, i)) * m->dim, m->X + (int64_t)i * m->dim,
                   sizeof *Y * (size_t)m->dim);
    int rc = pr_npy_write(path, Y, rows, m->dim, err);
    free(Y);
    return rc;
}

int pr_features_save_text(const pr_features *f, const char *name, const char *path,
                          const pr_idmap *items, pr_error *err) {
    const pr_modality *m = pr_features_get(f, name);
    if (!m) return pr_err(err, PR_E_NOTFOUND, "%s: no modality '%s'", path, name);
    if (!items || items->n != m->n_items)
        return pr_err(err, PR_E_ARG, "%s: modality '%s' needs its item id map", path, name);
    pr_atomic a;
    int rc = pr_atomic_open(&a, path, err);
    if (rc) return rc;
    for (int32_t i = 0; i < m->n_items; i++) {
        if (m->missing[i]) continue;
        const char *id = pr_idmap_name(items, i);
        if (strpbrk(id, "\t,\r\n") || id[0] == '#' || is_header_id(id, strlen(id))) {
            pr_atomic_abort(&a);
            return pr_err(err, PR_E_ARG, "%s: item id '%s' cannot be written as delimited text", path, id);
        }
        fputs(id, a.f);
        for (int j = 0; j < m->dim; j++) fprintf(a.f, "%c%.9g", j ? ',' : '\t', (double)m->X[(int64_t)i * m->dim + j]);
        fputc('\n', a.f);
    }
    if (ferror(a.f)) {
        pr_atomic_abort(&a);
        return pr_err(err, PR_E_IO, "%s: write failed", path);
    }
    return pr_atomic_commit(&a, err);
}

/* ------------------------------------------------------------------ */
/* byte buffers                                                         */

#define FEAT_VERSION 1

int pr_features_save(const pr_features *f, pr_buf *b) {
    pr_buf_put_u32(b, FEAT_VERSION);
    pr_buf_put_u32(b, (uint32_t)f->n_mod);
    for (int i = 0; i < f->n_mod; i++) {
        const pr_modality *m = &f->mod[i];
        pr_buf_put_str(b, m->name);
        pr_buf_put_u32(b, (uint32_t)m->n_items);
        pr_buf_put_u32(b, (uint32_t)m->dim);
        pr_buf_put_f32s(b, m->X, (int64_t)m->n_items * m->dim);
        pr_buf_put_i64(b, m->n_items);
        pr_buf_put(b, m->missing, (size_t)m->n_items);
    }
    return b->oom ? PR_E_NOMEM : 0;
}

int pr_features_load_buf(pr_features **out, pr_cur *c, pr_error *err) {
    uint32_t ver = 0, n_mod = 0;
    int rc;
    pr_features *f = pr_features_new();
    if (!f) return pr_err(err, PR_E_NOMEM, "%s", c->what);
    if ((rc = pr_cur_get_u32(c, &ver, err)) || (rc = pr_cur_get_u32(c, &n_mod, err))) goto done;
    if (ver != FEAT_VERSION || n_mod > PR_MAX_MODALITIES) {
        rc = pr_err(err, PR_E_FORMAT, "%s: features: version %u with %u modalities", c->what, ver, n_mod);
        goto done;
    }
    for (uint32_t i = 0; i < n_mod; i++) {
        char *name = NULL;
        uint32_t n = 0, dim = 0;
        int64_t cnt = 0, nm = 0;
        float *X = NULL;
        uint8_t *miss = NULL;
        if ((rc = pr_cur_get_str(c, &name, 31, err))) goto done;
        if (!(rc = pr_cur_get_u32(c, &n, err)) && !(rc = pr_cur_get_u32(c, &dim, err)) &&
            !(rc = pr_cur_get_f32s(c, &X, &cnt, err)) && !(rc = pr_cur_get_i64(c, &nm, err))) {
            if (n > PR_ID_MAX_COUNT || cnt != (int64_t)n * dim || nm != (int64_t)n || pr_cur_left(c) < n)
                rc = pr_err(err, PR_E_FORMAT, "%s: features: modality '%s' is corrupt", c->what, name);
            else if (!(miss = pr_malloc(n ? n : 1, 1)))
                rc = pr_err(err, PR_E_NOMEM, "%s", c->what);
            else
                rc = pr_cur_get(c, miss, n, err);
        }
        if (rc == 0) {
            rc = pr_features_add(f, name, (int32_t)n, (int)dim, X, miss, err);
            X = NULL;
            miss = NULL;
            if (rc) pr_err_wrap(err, "%s: ", c->what);
        }
        free(name);
        free(X);
        free(miss);
        if (rc) goto done;
    }
    *out = f;
    f = NULL;
done:
    pr_features_free(f);
    return rc;
}

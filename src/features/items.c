/* features/items.c: ITEMS file reader (see items.h).
 *
 * The file is read whole and parsed in place: a quoted field is unescaped
 * into the bytes it occupied (it only shrinks), so each record is a list of
 * pointers into the buffer. One record may span lines (newlines inside
 * quotes); errors report the line the record starts on. */
#include "items.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/fileio.h"
#include "data/idmap.h"

#define ITEMS_MAX_COLS 1024

typedef struct {
    char *p, *end;
    char delim;
    int64_t line;     /* line of the next character */
    const char *path;
} rec_parser;

/* Parse one record into f[0..*nf). Returns 1 on a record, 0 at the end, < 0 on error. */
static int next_record(rec_parser *P, char **f, int *nf, int64_t *line, pr_error *err) {
    if (P->p >= P->end) return 0;
    *line = P->line;
    int n = 0;
    for (;;) {
        if (n == ITEMS_MAX_COLS)
            return pr_err(err, PR_E_PARSE, "%s:%lld: more than %d fields", P->path, (long long)*line, ITEMS_MAX_COLS);
        char *start = P->p, *w = P->p;
        if (P->p < P->end && *P->p == '"') { /* quoted: unescape in place */
            int64_t open = P->line;
            P->p++;
            for (;;) {
                if (P->p >= P->end)
                    return pr_err(err, PR_E_PARSE, "%s:%lld: unterminated quote in field %d", P->path, (long long)open, n + 1);
                char c = *P->p++;
                if (c == '"') {
                    if (P->p < P->end && *P->p == '"') P->p++;
                    else break;
                }
                if (c == '\n') P->line++;
                *w++ = c;
            }
            if (P->p < P->end && *P->p != P->delim && *P->p != '\n' && *P->p != '\r')
                return pr_err(err, PR_E_PARSE, "%s:%lld: field %d: text after a closing quote", P->path, (long long)P->line, n + 1);
        } else {
            while (P->p < P->end && *P->p != P->delim && *P->p != '\n' && *P->p != '\r') P->p++;
            w = P->p;
        }
        f[n++] = start;
        char stop = P->p < P->end ? *P->p : '\n';
        *w = '\0'; /* w <= P->p: never past the delimiter we still need to read */
        if (stop == P->delim) {
            P->p++;
            continue;
        }
        if (stop == '\r' && P->p + 1 < P->end && P->p[1] == '\n') P->p++;
        if (P->p < P->end) P->p++;
        P->line++;
        break;
    }
    *nf = n;
    return 1;
}

/* ------------------------------------------------------------------ */
/* columns                                                              */

static int name_in(const char *s, const char *const *names) {
    for (int i = 0; names[i]; i++)
        if (strcasecmp(s, names[i]) == 0) return 1;
    return 0;
}

static int ends_with_ci(const char *s, const char *suf) {
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcasecmp(s + n - m, suf) == 0;
}

static int contains_ci(const char *s, const char *sub) {
    for (size_t m = strlen(sub); *s; s++)
        if (strncasecmp(s, sub, m) == 0) return 1;
    return 0;
}

static int is_text_like(const char *s) {
    static const char *const names[] = {"text", "title", "name", "description", "desc", "summary",
                                        "overview", "plot", "genres", "tags", "keywords", "caption", NULL};
    if (name_in(s, names)) return 1;
    if (contains_ci(s, "file") || contains_ci(s, "path") || contains_ci(s, "url")) return 0;
    return ends_with_ci(s, "title") || ends_with_ci(s, "name") || ends_with_ci(s, "description");
}

typedef struct {
    int id, image, audio;
    int text[ITEMS_MAX_COLS];
    int n_text;
} columns;

static int find_col(char **h, int nh, const char *name) {
    for (int i = 0; i < nh; i++)
        if (strcasecmp(h[i], name) == 0) return i;
    return -1;
}

static int pick_named(char **h, int nh, const char *name, int *out, const char *role, const char *path, pr_error *err) {
    if (!name) return 1; /* automatic */
    if (!*name || strcmp(name, "-") == 0) { *out = -1; return 0; }
    if ((*out = find_col(h, nh, name)) < 0)
        return pr_err(err, PR_E_NOTFOUND, "%s:1: no column '%s' (asked for the %s)", path, name, role);
    return 0;
}

static int pick_columns(char **h, int nh, const pr_items_opts *o, columns *c, const char *path, pr_error *err) {
    static const char *const ids[] = {"item", "id", "item_id", "itemid", NULL};
    static const char *const imgs[] = {"image", "image_path", "img", "poster", "photo", NULL};
    static const char *const auds[] = {"audio", "audio_path", "sound", "wav", NULL};
    c->id = c->image = c->audio = -1;
    c->n_text = 0;
    int rc;
    if ((rc = pick_named(h, nh, o ? o->id_col : NULL, &c->id, "item id", path, err)) < 0) return rc;
    if (rc == 1)
        for (int i = 0; i < nh && c->id < 0; i++) if (name_in(h[i], ids)) c->id = i;
    if ((rc = pick_named(h, nh, o ? o->image_col : NULL, &c->image, "image", path, err)) < 0) return rc;
    if (rc == 1)
        for (int i = 0; i < nh && c->image < 0; i++) if (name_in(h[i], imgs)) c->image = i;
    if ((rc = pick_named(h, nh, o ? o->audio_col : NULL, &c->audio, "audio", path, err)) < 0) return rc;
    if (rc == 1)
        for (int i = 0; i < nh && c->audio < 0; i++) if (name_in(h[i], auds)) c->audio = i;
    if (c->id < 0)
        return pr_err(err, PR_E_PARSE, "%s:1: no item id column (item, id, item_id or itemid)", path);
    if (o && o->text_cols) {
        const char *s = o->text_cols;
        while (*s) {
            size_t n = strcspn(s, ",");
            char name[256];
            if (n >= sizeof name) return pr_err(err, PR_E_ARG, "%s: text column name too long", path);
            memcpy(name, s, n);
            name[n] = '\0';
            if (n) {
                int k = find_col(h, nh, name);
                if (k < 0) return pr_err(err, PR_E_NOTFOUND, "%s:1: no column '%s' (asked for the text)", path, name);
                c->text[c->n_text++] = k;
            }
            s += n + (s[n] == ',');
        }
    } else {
        for (int i = 0; i < nh; i++)
            if (i != c->id && i != c->image && i != c->audio && is_text_like(h[i])) c->text[c->n_text++] = i;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* values                                                               */

static char *trimmed(char *s) {
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) s[--n] = '\0';
    return s;
}

/* dir/rel, or rel when absolute or when dir is empty; NULL for an empty rel. */
static char *resolve(const char *dir, size_t dn, const char *rel, int *oom) {
    if (!*rel) return NULL;
    char *out;
    if (rel[0] == '/' || dn == 0) out = pr_strdup(rel);
    else {
        size_t rn = strlen(rel), sep = dir[dn - 1] != '/';
        if ((out = malloc(dn + sep + rn + 1))) {
            memcpy(out, dir, dn);
            if (sep) out[dn] = '/';
            memcpy(out + dn + sep, rel, rn + 1);
        }
    }
    if (!out) *oom = 1;
    return out;
}

static char *join_text(char **f, const columns *c, int *oom) {
    size_t total = 0;
    for (int k = 0; k < c->n_text; k++) {
        f[c->text[k]] = trimmed(f[c->text[k]]);
        total += strlen(f[c->text[k]]) + 2;
    }
    if (total == 0) return NULL;
    char *out = malloc(total + 1), *w = out;
    if (!out) {
        *oom = 1;
        return NULL;
    }
    for (int k = 0; k < c->n_text; k++) {
        const char *v = f[c->text[k]];
        size_t n = strlen(v);
        if (!n) continue;
        if (w != out) *w++ = '.', *w++ = ' ';
        memcpy(w, v, n);
        w += n;
    }
    *w = '\0';
    if (w == out) {
        free(out);
        return NULL;
    }
    return out;
}

void pr_items_free(pr_items *it) {
    if (!it) return;
    for (int64_t i = 0; i < it->n; i++) {
        free(it->id[i]);
        free(it->image[i]);
        free(it->text[i]);
        free(it->audio[i]);
    }
    free(it->id);
    free(it->image);
    free(it->text);
    free(it->audio);
    free(it);
}

static int grow(pr_items *it, int64_t *cap) {
    int64_t nc = *cap ? 2 * *cap : 1024;
    char **a = pr_realloc(it->id, (size_t)nc, sizeof *a);
    if (!a) return PR_E_NOMEM;
    it->id = a;
    if (!(a = pr_realloc(it->image, (size_t)nc, sizeof *a))) return PR_E_NOMEM;
    it->image = a;
    if (!(a = pr_realloc(it->text, (size_t)nc, sizeof *a))) return PR_E_NOMEM;
    it->text = a;
    if (!(a = pr_realloc(it->audio, (size_t)nc, sizeof *a))) return PR_E_NOMEM;
    it->audio = a;
    *cap = nc;
    return 0;
}

int pr_items_read(const char *path, const pr_items_opts *o, pr_items **out, pr_error *err) {
    char *buf = NULL, **f = NULL, **hdr = NULL;
    size_t size = 0;
    pr_items *it = NULL;
    pr_idmap *seen = NULL;
    int64_t cap = 0, *first_line = NULL, fl_cap = 0;
    int rc = pr_read_file(path, &buf, &size, err);
    if (rc) return rc;
    char *p = buf;
    if (size >= 3 && (unsigned char)p[0] == 0xef && (unsigned char)p[1] == 0xbb && (unsigned char)p[2] == 0xbf) p += 3;
    size_t hl = strcspn(p, "\n");
    char delim = memchr(p, '\t', hl) ? '\t' : ',';
    rec_parser P = {p, buf + size, delim, 1, path};
    f = pr_malloc(ITEMS_MAX_COLS, sizeof *f);
    hdr = pr_malloc(ITEMS_MAX_COLS, sizeof *hdr);
    it = pr_calloc(1, sizeof *it);
    seen = pr_idmap_new();
    if (!f || !hdr || !it || !seen) { rc = pr_err(err, PR_E_NOMEM, "%s", path); goto done; }
    int nh = 0, nf = 0;
    int64_t line = 0;
    do { /* header: the first non-blank record */
        if ((rc = next_record(&P, hdr, &nh, &line, err)) <= 0) {
            if (rc == 0) rc = pr_err(err, PR_E_PARSE, "%s: empty file (no header line)", path);
            goto done;
        }
    } while (nh == 1 && !*hdr[0]);
    rc = 0;
    for (int i = 0; i < nh; i++) hdr[i] = trimmed(hdr[i]);
    columns c;
    if ((rc = pick_columns(hdr, nh, o, &c, path, err))) goto done;
    it->has_image = c.image >= 0, it->has_text = c.n_text > 0, it->has_audio = c.audio >= 0;
    const char *slash = strrchr(path, '/');
    size_t dn = slash ? (size_t)(slash - path) : 0;
    if (slash && dn == 0) dn = 1; /* "/items.tsv": the root */
    int r;
    while ((r = next_record(&P, f, &nf, &line, err)) > 0) {
        if (nf == 1 && !*f[0]) continue; /* blank line */
        if (nf != nh) { rc = pr_err(err, PR_E_PARSE, "%s:%lld: %d fields, the header has %d", path, (long long)line, nf, nh); goto done; }
        char *id = trimmed(f[c.id]);
        if (!*id) { rc = pr_err(err, PR_E_PARSE, "%s:%lld: empty item id", path, (long long)line); goto done; }
        int32_t k = pr_idmap_add(seen, id, strlen(id));
        if (k < 0) { rc = pr_err(err, k, "%s:%lld: item id '%.40s' is too long or invalid", path, (long long)line, id); goto done; }
        if (k < it->n) {
            rc = pr_err(err, PR_E_PARSE, "%s:%lld: item '%s' repeated (first on line %lld)", path, (long long)line, id, (long long)first_line[k]);
            goto done;
        }
        if (it->n == cap && grow(it, &cap)) { rc = pr_err(err, PR_E_NOMEM, "%s", path); goto done; }
        if (it->n == fl_cap) {
            int64_t nc = fl_cap ? 2 * fl_cap : 1024, *a = pr_realloc(first_line, (size_t)nc, sizeof *a);
            if (!a) { rc = pr_err(err, PR_E_NOMEM, "%s", path); goto done; }
            first_line = a;
            fl_cap = nc;
        }
        int oom = 0;
        int64_t i = it->n;
        first_line[i] = line;
        it->id[i] = pr_strdup(id);
        it->image[i] = c.image >= 0 ? resolve(path, dn, trimmed(f[c.image]), &oom) : NULL;
        it->audio[i] = c.audio >= 0 ? resolve(path, dn, trimmed(f[c.audio]), &oom) : NULL;
        it->text[i] = join_text(f, &c, &oom);
        it->n++;
        if (oom || !it->id[i]) { rc = pr_err(err, PR_E_NOMEM, "%s", path); goto done; }
    }
    if (r < 0) { rc = r; goto done; }
    *out = it;
    it = NULL;
done:
    pr_items_free(it);
    pr_idmap_free(seen);
    free(first_line);
    free(f);
    free(hdr);
    free(buf);
    return rc;
}
